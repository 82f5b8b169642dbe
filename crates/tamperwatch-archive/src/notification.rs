//! New-log-file notifications.
//!
//! CloudTrail announces each log file it writes in one of these shapes, which may arrive in SQS
//! as they are or wrapped in an SNS `Notification` envelope:
//!
//! - CloudTrail's own SNS notification: `{"s3Bucket": "...", "s3ObjectKey": ["..."]}`;
//! - an S3 event notification: `{"Records": [{"eventSource": "aws:s3", "s3": {"bucket":
//!   {"name": "..."}, "object": {"key": "..."}}}]}`, keys URL-encoded (`+` for a space), and
//!   S3's `s3:TestEvent` when the notification is configured;
//! - an EventBridge S3 `Object Created` event: `{"source": "aws.s3", "detail": {"bucket":
//!   {"name": "..."}, "object": {"key": "..."}}}`, keys not encoded.
//!
//! `tamperwatch backfill` enqueues S3 event notifications, so the deployed Lambda handles a
//! backfill exactly like live traffic.

use serde::Deserialize;
use serde_json::Value;

/// One S3 object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// The bucket.
    pub bucket: String,
    /// The object key, decoded.
    pub key: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// A message that looks like a log-file notification but cannot be read as one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("log-file notification: {0}")]
pub struct NotificationError(String);

/// Whether a key names a CloudTrail log file rather than a digest file (`CloudTrail-Digest/`,
/// which holds hashes, no records) or a folder marker.
pub fn is_log_file(key: &str) -> bool {
    !key.ends_with('/') && !key.split('/').any(|segment| segment == "CloudTrail-Digest")
}

/// The log files a message announces.
///
/// `Ok(None)`: the message is not a log-file notification (it may be a CloudTrail event; read
/// it as one). `Ok(Some(objects))`: the log files it names, digest files left out; empty for
/// S3's test event. `Err`: it has a notification's shape but a part of it is wrong.
pub fn objects(message: &str) -> Result<Option<Vec<ObjectRef>>, NotificationError> {
    let Ok(value) = serde_json::from_str::<Value>(message) else {
        return Ok(None);
    };
    objects_of(&value, 0)
}

fn objects_of(value: &Value, depth: u8) -> Result<Option<Vec<ObjectRef>>, NotificationError> {
    let Some(object) = value.as_object() else {
        return Ok(None);
    };
    // SNS envelope: the notification is the string in `Message`.
    if object.get("Type").and_then(Value::as_str) == Some("Notification")
        && let Some(inner) = object.get("Message").and_then(Value::as_str)
    {
        if depth > 0 {
            return Ok(None);
        }
        let Ok(inner) = serde_json::from_str::<Value>(inner) else {
            return Ok(None);
        };
        return objects_of(&inner, depth + 1);
    }
    if object.contains_key("s3Bucket") {
        return cloudtrail_notification(value).map(Some);
    }
    if object.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Some(Vec::new()));
    }
    if object.get("source").and_then(Value::as_str) == Some("aws.s3") {
        return eventbridge_object(value).map(Some);
    }
    if let Some(records) = object.get("Records").and_then(Value::as_array)
        && records
            .first()
            .and_then(|r| r.get("eventSource"))
            .and_then(Value::as_str)
            == Some("aws:s3")
    {
        return s3_event(records).map(Some);
    }
    Ok(None)
}

fn cloudtrail_notification(value: &Value) -> Result<Vec<ObjectRef>, NotificationError> {
    #[derive(Deserialize)]
    struct Notification {
        #[serde(rename = "s3Bucket")]
        bucket: String,
        #[serde(rename = "s3ObjectKey")]
        keys: Vec<String>,
    }
    let n = Notification::deserialize(value)
        .map_err(|e| NotificationError(format!("CloudTrail notification: {e}")))?;
    Ok(n.keys
        .into_iter()
        .filter(|k| is_log_file(k))
        .map(|key| ObjectRef {
            bucket: n.bucket.clone(),
            key,
        })
        .collect())
}

#[derive(Deserialize)]
struct Bucket {
    name: String,
}

#[derive(Deserialize)]
struct Object {
    key: String,
}

#[derive(Deserialize)]
struct BucketObject {
    bucket: Bucket,
    object: Object,
}

fn eventbridge_object(value: &Value) -> Result<Vec<ObjectRef>, NotificationError> {
    let detail = value
        .get("detail")
        .ok_or_else(|| NotificationError("S3 event from EventBridge without detail".into()))?;
    let d = BucketObject::deserialize(detail)
        .map_err(|e| NotificationError(format!("S3 event from EventBridge: {e}")))?;
    if !is_log_file(&d.object.key) {
        return Ok(Vec::new());
    }
    Ok(vec![ObjectRef {
        bucket: d.bucket.name,
        key: d.object.key,
    }])
}

fn s3_event(records: &[Value]) -> Result<Vec<ObjectRef>, NotificationError> {
    #[derive(Deserialize)]
    struct S3Record {
        #[serde(rename = "eventName", default)]
        event_name: String,
        s3: BucketObject,
    }
    let mut objects = Vec::new();
    for (i, record) in records.iter().enumerate() {
        let r = S3Record::deserialize(record)
            .map_err(|e| NotificationError(format!("S3 event notification record {i}: {e}")))?;
        // Only new objects carry records; a deletion announces nothing to read.
        if !r.event_name.is_empty() && !r.event_name.starts_with("ObjectCreated") {
            continue;
        }
        let key = decode_key(&r.s3.object.key).ok_or_else(|| {
            NotificationError(format!(
                "S3 event notification record {i}: the key is not valid URL encoding of UTF-8"
            ))
        })?;
        if is_log_file(&key) {
            objects.push(ObjectRef {
                bucket: r.s3.bucket.name,
                key,
            });
        }
    }
    Ok(objects)
}

/// S3 event notifications URL-encode keys the way HTML forms do: `+` is a space.
fn decode_key(key: &str) -> Option<String> {
    let plus_decoded = key.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_decoded)
        .decode_utf8()
        .ok()
        .map(|k| k.into_owned())
}

/// Encodes a key as S3 event notifications do, for messages this crate writes.
pub fn encode_key(key: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'/')
        .remove(b'~')
        .remove(b' ');
    percent_encoding::utf8_percent_encode(key, KEEP)
        .to_string()
        .replace(' ', "+")
}

/// An S3 event notification naming `objects`, as S3 sends to SQS: what `tamperwatch backfill`
/// enqueues.
pub fn s3_event_notification(objects: &[ObjectRef]) -> String {
    let records: Vec<Value> = objects
        .iter()
        .map(|o| {
            serde_json::json!({
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": o.bucket},
                    "object": {"key": encode_key(&o.key)},
                },
            })
        })
        .collect();
    serde_json::json!({ "Records": records }).to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn obj(bucket: &str, key: &str) -> ObjectRef {
        ObjectRef {
            bucket: bucket.into(),
            key: key.into(),
        }
    }

    const KEY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/30/111122223333_CloudTrail_us-east-1_20261130T0905Z_abc.json.gz";

    #[test]
    fn cloudtrail_notification_plain_and_sns_wrapped() {
        let plain = format!(r#"{{"s3Bucket":"trail","s3ObjectKey":["{KEY}"]}}"#);
        assert_eq!(objects(&plain).unwrap(), Some(vec![obj("trail", KEY)]));
        let wrapped =
            serde_json::json!({"Type": "Notification", "MessageId": "m", "Message": plain})
                .to_string();
        assert_eq!(objects(&wrapped).unwrap(), Some(vec![obj("trail", KEY)]));
    }

    #[test]
    fn s3_event_keys_are_decoded_and_digests_left_out() {
        let message = r#"{"Records":[
            {"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"AWSLogs/a+b%2Bc%C3%A9.json.gz"}}},
            {"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"AWSLogs/1/CloudTrail-Digest/us-east-1/x.json.gz"}}},
            {"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"AWSLogs/gone.json.gz"}}}
        ]}"#;
        assert_eq!(
            objects(message).unwrap(),
            Some(vec![obj("b", "AWSLogs/a b+cé.json.gz")])
        );
    }

    #[test]
    fn written_notifications_read_back() {
        let written = vec![obj("b", "AWSLogs/with space+plus%é.json.gz"), obj("b", KEY)];
        assert_eq!(
            objects(&s3_event_notification(&written)).unwrap(),
            Some(written)
        );
    }

    #[test]
    fn eventbridge_object_created_and_test_event() {
        let eb = format!(
            r#"{{"source":"aws.s3","detail-type":"Object Created","detail":{{"bucket":{{"name":"b"}},"object":{{"key":"{KEY}"}}}}}}"#
        );
        assert_eq!(objects(&eb).unwrap(), Some(vec![obj("b", KEY)]));
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#;
        assert_eq!(objects(test).unwrap(), Some(vec![]));
    }

    #[test]
    fn other_messages_are_not_notifications() {
        for message in [
            "not json",
            "[]",
            r#"{"Records":[{"eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging"}]}"#,
            r#"{"detail-type":"AWS API Call via CloudTrail","source":"aws.cloudtrail","detail":{}}"#,
            r#"{"Type":"Notification","Message":"{\"eventName\":\"StopLogging\"}"}"#,
        ] {
            assert_eq!(objects(message).unwrap(), None, "{message}");
        }
    }

    #[test]
    fn malformed_notifications_are_errors() {
        for message in [
            r#"{"s3Bucket":"b","s3ObjectKey":"not a list"}"#,
            r#"{"Records":[{"eventSource":"aws:s3","s3":{"bucket":{}}}]}"#,
            r#"{"Records":[{"eventSource":"aws:s3","s3":{"bucket":{"name":"b"},"object":{"key":"%FF"}}}]}"#,
            r#"{"source":"aws.s3"}"#,
        ] {
            assert!(objects(message).is_err(), "{message}");
        }
    }
}
