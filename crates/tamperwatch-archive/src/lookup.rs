//! CloudTrail `LookupEvents`: the last 90 days of management events of one region, with no
//! trail needed.
//!
//! `LookupEvents` takes one attribute per call and answers 2 calls a second per account and
//! region, 50 events a page. So a hunt asks for what the rules can match (each event name,
//! else each event source, else the root user) rather than for every event, and drops events
//! two lookups both return.

use std::collections::HashSet;

use aws_sdk_cloudtrail::Client;
use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use jiff::Timestamp;
use tokio::sync::mpsc::Sender;

/// What one lookup asks for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Attribute {
    /// Events of this name.
    EventName(String),
    /// Events of this source.
    EventSource(String),
    /// Events of this user name (`root` for the root user).
    Username(String),
    /// Every management event.
    All,
}

impl std::fmt::Display for Attribute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attribute::EventName(v) => write!(f, "EventName={v}"),
            Attribute::EventSource(v) => write!(f, "EventSource={v}"),
            Attribute::Username(v) => write!(f, "Username={v}"),
            Attribute::All => f.write_str("all events"),
        }
    }
}

impl Attribute {
    fn lookup_attribute(&self) -> Option<LookupAttribute> {
        let (key, value) = match self {
            Attribute::EventName(v) => (LookupAttributeKey::EventName, v),
            Attribute::EventSource(v) => (LookupAttributeKey::EventSource, v),
            Attribute::Username(v) => (LookupAttributeKey::Username, v),
            Attribute::All => return None,
        };
        LookupAttribute::builder()
            .attribute_key(key)
            .attribute_value(value)
            .build()
            .ok()
    }
}

/// One page of events: each the full CloudTrail record, as `LookupEvents` returns it.
#[derive(Debug, Clone)]
pub struct Page {
    /// Where it came from, for messages: `lookup:REGION:ATTRIBUTE#PAGE`.
    pub name: String,
    /// The records, as a JSON array (the shape `tamperwatch_event::read` takes).
    pub records: String,
    /// How many records.
    pub count: usize,
}

/// A lookup that failed (after the SDK's retries).
#[derive(Debug, thiserror::Error)]
#[error("LookupEvents {attribute} in {region}: {message}")]
pub struct LookupError {
    /// The region.
    pub region: String,
    /// What was asked.
    pub attribute: Attribute,
    /// What CloudTrail said.
    pub message: String,
}

/// A CloudTrail client for `region`.
pub fn client(sdk: &aws_types::SdkConfig, region: &str) -> Client {
    let config = aws_sdk_cloudtrail::config::Builder::from(sdk)
        .region(aws_sdk_cloudtrail::config::Region::new(region.to_owned()))
        .build();
    Client::from_conf(config)
}

/// Runs each lookup in turn between `since` and `until` (CloudTrail keeps 90 days), sending
/// every page of events not already sent to `tx`. Stops when the receiver is gone.
pub async fn lookup(
    client: &Client,
    region: &str,
    attributes: &[Attribute],
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    tx: &Sender<Result<Page, LookupError>>,
) {
    let mut seen = HashSet::new();
    for attribute in attributes {
        let mut request = client.lookup_events().max_results(50);
        if let Some(a) = attribute.lookup_attribute() {
            request = request.lookup_attributes(a);
        }
        if let Some(s) = since {
            request = request.start_time(DateTime::from_secs(s.as_second()));
        }
        if let Some(u) = until {
            request = request.end_time(DateTime::from_secs(u.as_second()));
        }
        let mut pages = request.into_paginator().send();
        let mut number = 0;
        while let Some(page) = pages.next().await {
            number += 1;
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    let error = LookupError {
                        region: region.to_owned(),
                        attribute: attribute.clone(),
                        message: aws_sdk_cloudtrail::error::DisplayErrorContext(e).to_string(),
                    };
                    if tx.send(Err(error)).await.is_err() {
                        return;
                    }
                    break;
                }
            };
            let records: Vec<&str> = page
                .events()
                .iter()
                .filter(|e| e.event_id().is_none_or(|id| seen.insert(id.to_owned())))
                .filter_map(|e| e.cloud_trail_event())
                .collect();
            if records.is_empty() {
                continue;
            }
            let page = Page {
                name: format!("lookup:{region}:{attribute}#{number}"),
                records: format!("[{}]", records.join(",")),
                count: records.len(),
            };
            if tx.send(Ok(page)).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use aws_sdk_cloudtrail::operation::lookup_events::{LookupEventsError, LookupEventsOutput};
    use aws_sdk_cloudtrail::types::Event;
    use aws_smithy_mocks::{mock, mock_client};

    fn event(id: &str, name: &str) -> Event {
        Event::builder()
            .event_id(id)
            .event_name(name)
            .cloud_trail_event(format!(
                r#"{{"eventVersion":"1.08","eventID":"{id}","eventSource":"cloudtrail.amazonaws.com","eventName":"{name}"}}"#
            ))
            .build()
    }

    async fn pages(client: &Client, attributes: &[Attribute]) -> Vec<Result<Page, LookupError>> {
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        lookup(client, "us-east-1", attributes, None, None, &tx).await;
        drop(tx);
        let mut out = Vec::new();
        while let Some(p) = rx.recv().await {
            out.push(p);
        }
        out
    }

    #[tokio::test]
    async fn pages_follow_tokens_and_events_are_sent_once() {
        let first = mock!(Client::lookup_events)
            .match_requests(|r| r.next_token().is_none())
            .then_output(|| {
                LookupEventsOutput::builder()
                    .events(event("e1", "StopLogging"))
                    .events(event("e2", "StopLogging"))
                    .next_token("t1")
                    .build()
            });
        let second = mock!(Client::lookup_events)
            .match_requests(|r| r.next_token() == Some("t1"))
            .then_output(|| {
                LookupEventsOutput::builder()
                    .events(event("e3", "StopLogging"))
                    .build()
            });
        // A second lookup (by source) returns e1 again: it is not sent twice.
        let by_source = mock!(Client::lookup_events)
            .match_requests(|r| {
                r.lookup_attributes()
                    .first()
                    .is_some_and(|a| a.attribute_key() == &LookupAttributeKey::EventSource)
            })
            .then_output(|| {
                LookupEventsOutput::builder()
                    .events(event("e1", "StopLogging"))
                    .events(event("e4", "DeleteTrail"))
                    .build()
            });
        let client = mock_client!(
            aws_sdk_cloudtrail,
            aws_smithy_mocks::RuleMode::MatchAny,
            [&by_source, &first, &second]
        );
        let got = pages(
            &client,
            &[
                Attribute::EventName("StopLogging".into()),
                Attribute::EventSource("cloudtrail.amazonaws.com".into()),
            ],
        )
        .await;
        let pages: Vec<Page> = got.into_iter().map(Result::unwrap).collect();
        let counts: Vec<usize> = pages.iter().map(|p| p.count).collect();
        assert_eq!(counts, [2, 1, 1]);
        assert_eq!(pages[0].name, "lookup:us-east-1:EventName=StopLogging#1");
        assert!(pages[2].records.contains("\"e4\"") && !pages[2].records.contains("\"e1\""));
        let records: Vec<serde_json::Value> = serde_json::from_str(&pages[0].records).unwrap();
        assert_eq!(records[1]["eventID"], "e2");
    }

    #[tokio::test]
    async fn a_failed_lookup_is_reported_and_the_next_one_runs() {
        let denied = mock!(Client::lookup_events)
            .match_requests(|r| {
                r.lookup_attributes()
                    .first()
                    .is_some_and(|a| a.attribute_value() == "DeleteTrail")
            })
            .then_error(|| {
                LookupEventsError::InvalidLookupAttributesException(
                    aws_sdk_cloudtrail::types::error::InvalidLookupAttributesException::builder()
                        .message("no")
                        .build(),
                )
            });
        let ok = mock!(Client::lookup_events).then_output(|| {
            LookupEventsOutput::builder()
                .events(event("e9", "StopLogging"))
                .build()
        });
        let client = mock_client!(
            aws_sdk_cloudtrail,
            aws_smithy_mocks::RuleMode::MatchAny,
            [&denied, &ok]
        );
        let got = pages(
            &client,
            &[
                Attribute::EventName("DeleteTrail".into()),
                Attribute::EventName("StopLogging".into()),
            ],
        )
        .await;
        assert_eq!(got.len(), 2);
        let error = got[0].as_ref().unwrap_err();
        assert_eq!(error.attribute, Attribute::EventName("DeleteTrail".into()));
        assert!(error.to_string().contains("us-east-1"), "{error}");
        assert_eq!(got[1].as_ref().unwrap().count, 1);
    }
}
