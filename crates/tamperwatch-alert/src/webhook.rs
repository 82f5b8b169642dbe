//! The generic webhook (and log, and SNS machine subscribers): the alert as one JSON document.
//!
//! Schema `tamperwatch.alert/v1`. Every event-derived string is at most
//! [`crate::MAX_FIELD_CHARS`] characters; JSON escaping is serde's.

use serde_json::{Map, Value, json};

use crate::{Alert, level_name};

/// The schema name carried in every document.
pub const SCHEMA: &str = "tamperwatch.alert/v1";

/// The alert as a JSON value.
pub fn payload(alert: &Alert) -> Value {
    let parameters: Map<String, Value> = alert
        .parameters
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut payload = json!({
        "schema": SCHEMA,
        "test": alert.is_test(),
        "dedup_key": alert.dedup_key(),
        "headline": alert.headline(),
        "level": level_name(alert.level),
        "outcome": alert.outcome.as_str(),
        "attempt": alert.outcome.is_attempt(),
        "rule": alert.rule,
        "actor": alert.actor,
        "event": alert.event,
        "parameters": parameters,
        "account_alias": alert.account_alias,
        "console_url": alert.console_url(),
    });
    // Present only on grouped alerts and storm summaries, so a plain alert's payload is as
    // it always was.
    if let Some(map) = payload.as_object_mut() {
        if let Some(g) = &alert.group {
            map.insert("incident_key".into(), alert.incident_key().into());
            map.insert("group".into(), json!(g));
        }
        if let Some(s) = &alert.storm {
            map.insert("storm".into(), json!(s));
        }
    }
    payload
}

/// The alert as compact JSON text.
pub fn body(alert: &Alert) -> String {
    payload(alert).to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn snapshots() {
        for (name, alert) in fixtures::all() {
            if name == "hostile" {
                continue; // 1 KB of `A`s: checked below instead
            }
            insta::assert_json_snapshot!(format!("{name}_webhook"), payload(&alert));
        }
    }

    #[test]
    fn hostile_is_valid_bounded_json() {
        let b = body(&fixtures::hostile());
        let v: Value = serde_json::from_str(&b).unwrap();
        assert!(b.len() < 8 * 1024, "{}", b.len());
        assert_eq!(v["schema"], SCHEMA);
        assert!(
            v["actor"]["name"].as_str().unwrap().contains("<!channel>"),
            "JSON keeps the text, escaped by serde"
        );
    }
}
