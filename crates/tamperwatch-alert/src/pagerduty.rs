//! PagerDuty Events API v2 (`POST https://events.pagerduty.com/v2/enqueue`).
//!
//! `dedup_key` is the alert's deduplication key, so a repeated delivery updates the same
//! incident; `severity` follows the level; `summary` is at most 1024 characters. The
//! `routing_key` is a secret: the sender adds it.

use serde_json::{Map, Value, json};

use crate::text::{cut, one_line};
use crate::{Alert, level_name, webhook};

/// PagerDuty's limit on `summary`.
pub const MAX_SUMMARY_CHARS: usize = 1024;

/// PagerDuty severity for a level: `critical`, `error`, `warning` or `info`.
pub fn severity(alert: &Alert) -> &'static str {
    match level_name(alert.level) {
        "critical" => "critical",
        "high" => "error",
        "medium" => "warning",
        _ => "info",
    }
}

/// The event, without `routing_key`.
pub fn event(alert: &Alert) -> Value {
    let mut links = Vec::new();
    if let Some(url) = alert.console_url() {
        links.push(json!({"href": url, "text": "Event in the CloudTrail console"}));
    }
    for (t, url) in alert.attack_urls() {
        links.push(json!({"href": url, "text": format!("MITRE ATT&CK {t}")}));
    }
    let mut details: Map<String, Value> = Map::new();
    details.insert("who".into(), alert.who().into());
    details.insert("what".into(), alert.what().into());
    details.insert("outcome".into(), alert.outcome_phrase().into());
    details.insert("where".into(), alert.where_short().into());
    details.insert("from".into(), alert.from_where().into());
    details.insert("when".into(), alert.when().into());
    details.insert("rule".into(), alert.rule_line().into());
    if let Some(todo) = &alert.rule.response {
        details.insert("what_to_do".into(), todo.clone().into());
    }
    details.insert("alert".into(), webhook::payload(alert));
    json!({
        "event_action": "trigger",
        "dedup_key": alert.incident_key(),
        "payload": {
            "summary": cut(&one_line(&alert.headline()), MAX_SUMMARY_CHARS),
            "source": alert.event.event_source.as_deref().unwrap_or("tamperwatch"),
            "severity": severity(alert),
            "timestamp": alert.event.event_time,
            "component": alert.event.account_id,
            "group": alert.event.region,
            "class": alert.rule.id,
            "custom_details": details,
        },
        "links": links,
        "client": "tamperwatch",
    })
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
                continue;
            }
            insta::assert_json_snapshot!(format!("{name}_pagerduty"), event(&alert));
        }
    }

    #[test]
    fn hostile_within_limits() {
        let e = event(&fixtures::hostile());
        assert!(e["payload"]["summary"].as_str().unwrap().chars().count() <= MAX_SUMMARY_CHARS);
        assert!(e.to_string().len() < 512 * 1024);
        assert_eq!(
            e["links"].as_array().unwrap().len(),
            1,
            "no console link for a forged id"
        );
    }
}
