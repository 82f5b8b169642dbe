//! OpsGenie Alert API v2 (`POST https://api.opsgenie.com/v2/alerts`, or `api.eu.opsgenie.com`).
//!
//! `alias` is the deduplication key (OpsGenie keeps one open alert per alias), `priority`
//! follows the level (P1 critical ... P5 informational). Limits: `message` 130 characters
//! (OpsGenie renders HTML in it, so it is escaped), `description` 15,000, `alias` 512, `tags`
//! 20 of 50 characters, `details` values (kept under 8,000 characters in all), `entity` 512,
//! `source` 100.

use serde_json::{Map, Value, json};

use crate::text::{cut, cut_escaped, html, one_line};
use crate::{Alert, email, level_name};

/// OpsGenie's limit on `message`.
pub const MAX_MESSAGE_CHARS: usize = 130;
/// OpsGenie's limit on `description`.
pub const MAX_DESCRIPTION_CHARS: usize = 15_000;
/// Each `details` value is cut to this, so all of them stay under OpsGenie's 8,000.
const MAX_DETAIL_CHARS: usize = 500;

/// OpsGenie priority for a level.
pub fn priority(alert: &Alert) -> &'static str {
    match level_name(alert.level) {
        "critical" => "P1",
        "high" => "P2",
        "medium" => "P3",
        "low" => "P4",
        _ => "P5",
    }
}

/// The create-alert request body.
pub fn request(alert: &Alert) -> Value {
    // Escape first, then cut, so the cut text never ends inside an entity.
    let message = html(&one_line(&alert.headline()));
    let message = cut_escaped(&message, MAX_MESSAGE_CHARS);
    let mut details = Map::new();
    let mut put = |k: &str, v: &str| {
        details.insert(
            k.to_owned(),
            Value::String(cut(&one_line(v), MAX_DETAIL_CHARS).into_owned()),
        );
    };
    put("level", level_name(alert.level));
    put("outcome", alert.outcome.as_str());
    put("rule", &alert.rule.id);
    put("who", &alert.who());
    put("what", &alert.what());
    put("where", &alert.where_short());
    put("from", &alert.from_where());
    put("when", &alert.when());
    put("eventID", alert.event.event_id.as_deref().unwrap_or("none"));
    if let Some(url) = alert.console_url() {
        put("console", &url);
    }
    for (k, v) in alert.parameters.iter().take(5) {
        put(k, v);
    }
    let mut tags: Vec<String> = vec!["tamperwatch".into(), level_name(alert.level).into()];
    if alert.is_test() {
        tags.push("test".into());
    }
    tags.extend(alert.rule.attack.iter().cloned());
    tags.truncate(20);
    let tags: Vec<String> = tags
        .iter()
        .map(|t| cut(&one_line(t), 50).into_owned())
        .collect();
    json!({
        "message": message,
        "alias": alert.incident_key(),
        "description": cut(&email::text(alert), MAX_DESCRIPTION_CHARS),
        "priority": priority(alert),
        "tags": tags,
        "details": details,
        "entity": cut(&one_line(&format!("{} {}", alert.what(), alert.where_short())), 512),
        "source": "tamperwatch",
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
            insta::assert_json_snapshot!(format!("{name}_opsgenie"), request(&alert));
        }
    }

    #[test]
    fn hostile_within_limits() {
        let r = request(&fixtures::hostile());
        let m = r["message"].as_str().unwrap();
        assert!(m.chars().count() <= MAX_MESSAGE_CHARS, "{m}");
        assert!(!m.contains('<'), "{m}");
        insta::assert_snapshot!("hostile_opsgenie_message", m);
        assert!(r["description"].as_str().unwrap().chars().count() <= MAX_DESCRIPTION_CHARS);
        let total: usize = r["details"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_str().unwrap().chars().count())
            .sum();
        assert!(total < 8000, "{total}");
        assert!(r["alias"].as_str().unwrap().len() <= 512);
    }
}
