//! An SQS queue of new-log-file notifications: read, delete once handled, and fill for a
//! backfill.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use crate::ObjectRef;
use crate::notification::s3_event_notification;

/// The queue URL an `sqs://` argument names: `sqs://HOST/ACCOUNT/NAME` is
/// `https://HOST/ACCOUNT/NAME`; `sqs://https://...` (or `http://` for a local endpoint) is the
/// URL after `sqs://`.
pub fn queue_url(spec: &str) -> Result<String, String> {
    let rest = spec
        .strip_prefix("sqs://")
        .ok_or_else(|| format!("{spec:?} is not an sqs:// queue"))?;
    let url = if rest.starts_with("https://") || rest.starts_with("http://") {
        rest.to_owned()
    } else {
        format!("https://{rest}")
    };
    let path = url.split_once("://").map_or("", |(_, r)| r);
    if path.split('/').filter(|s| !s.is_empty()).count() < 3 {
        return Err(format!(
            "{spec:?}: expected sqs://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE (the queue URL)"
        ));
    }
    Ok(url)
}

/// The region in a queue URL's host: `sqs.REGION.amazonaws.com[.cn]` or the legacy
/// `REGION.queue.amazonaws.com`.
fn region_of(url: &str) -> Option<String> {
    let host = url.split_once("://")?.1.split('/').next()?;
    let region = host
        .strip_prefix("sqs.")
        .and_then(|h| h.split_once(".amazonaws.com"))
        .or_else(|| host.split_once(".queue.amazonaws.com"))?
        .0;
    let valid = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then(|| region.to_owned())
}

/// One message received.
#[derive(Debug, Clone)]
pub struct Message {
    /// SQS's message id.
    pub id: String,
    /// The body.
    pub body: String,
    /// What deleting it takes.
    receipt: String,
}

/// An SQS call that failed.
#[derive(Debug, thiserror::Error)]
#[error("{queue}: {message}")]
pub struct SqsError {
    /// The queue URL.
    pub queue: String,
    /// What SQS said.
    pub message: String,
}

/// A queue.
#[derive(Debug, Clone)]
pub struct Queue {
    client: Client,
    url: String,
}

/// The most messages one SendMessageBatch or ReceiveMessage call takes.
pub const BATCH: usize = 10;

impl Queue {
    /// The queue at `url`.
    pub fn new(client: Client, url: String) -> Queue {
        Queue { client, url }
    }

    /// The queue at `url`, with a client in the queue's region (read from an
    /// `sqs.REGION.amazonaws.com` URL; else the configured region, as for a local endpoint).
    pub fn connect(sdk: &aws_types::SdkConfig, url: String) -> Queue {
        let mut config = aws_sdk_sqs::config::Builder::from(sdk);
        if let Some(region) = region_of(&url) {
            config = config.region(aws_sdk_sqs::config::Region::new(region));
        }
        Queue::new(Client::from_conf(config.build()), url)
    }

    /// The queue URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn error(&self, e: impl std::fmt::Display) -> SqsError {
        SqsError {
            queue: self.url.clone(),
            message: e.to_string(),
        }
    }

    /// Up to ten messages, waiting up to `wait_seconds` for the first (long polling). Received
    /// messages stay invisible for the queue's visibility timeout and come back unless deleted.
    pub async fn receive(&self, wait_seconds: i32) -> Result<Vec<Message>, SqsError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait_seconds)
            .send()
            .await
            .map_err(|e| self.error(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        Ok(out
            .messages()
            .iter()
            .filter_map(|m| {
                Some(Message {
                    id: m.message_id()?.to_owned(),
                    body: m.body()?.to_owned(),
                    receipt: m.receipt_handle()?.to_owned(),
                })
            })
            .collect())
    }

    /// Deletes a handled message.
    pub async fn delete(&self, message: &Message) -> Result<(), SqsError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(&message.receipt)
            .send()
            .await
            .map_err(|e| self.error(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    /// Enqueues one S3 event notification per group of objects (as S3 itself would send
    /// them), ten messages per call. Returns how many messages were sent; an entry SQS refuses
    /// is an error naming its first object.
    pub async fn enqueue(&self, groups: &[Vec<ObjectRef>]) -> Result<usize, SqsError> {
        let mut sent = 0;
        for batch in groups.chunks(BATCH) {
            let mut request = self.client.send_message_batch().queue_url(&self.url);
            for (i, group) in batch.iter().enumerate() {
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(s3_event_notification(group))
                    .build()
                    .map_err(|e| self.error(e))?;
                request = request.entries(entry);
            }
            let out = request
                .send()
                .await
                .map_err(|e| self.error(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
            if let Some(failed) = out.failed().first() {
                let first = failed
                    .id()
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| batch.get(i)?.first())
                    .map_or_else(String::new, ToString::to_string);
                return Err(SqsError {
                    queue: self.url.clone(),
                    message: format!(
                        "the message for {first} was refused: {} {}",
                        failed.code(),
                        failed.message().unwrap_or_default()
                    ),
                });
            }
            sent += out.successful().len();
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn queue_urls() {
        assert_eq!(
            queue_url("sqs://sqs.eu-west-1.amazonaws.com/111122223333/trail-files").unwrap(),
            "https://sqs.eu-west-1.amazonaws.com/111122223333/trail-files"
        );
        assert_eq!(
            queue_url("sqs://http://127.0.0.1:5000/123456789012/q").unwrap(),
            "http://127.0.0.1:5000/123456789012/q"
        );
        for bad in [
            "sqs://",
            "sqs://queue-name",
            "https://x/1/q",
            "sqs://host/only",
        ] {
            assert!(queue_url(bad).is_err(), "{bad}");
        }
    }
}
