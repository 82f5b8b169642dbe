//! Microsoft Teams through a Workflows ("Post to a channel when a webhook request is received")
//! webhook: a message carrying one Adaptive Card.
//!
//! Adaptive Card text is a Markdown subset: event text is Markdown-escaped. Teams refuses
//! messages over about 28 KB, so each value is cut to 500 characters.

use serde_json::{Value, json};

use crate::text::{cut, markdown as esc, one_line};
use crate::{Alert, email, level_name};

const MAX_VALUE_CHARS: usize = 500;

fn value(s: &str) -> String {
    esc(&cut(&one_line(s), MAX_VALUE_CHARS))
}

/// The webhook payload.
pub fn payload(alert: &Alert) -> Value {
    let color = match level_name(alert.level) {
        "critical" | "high" => "Attention",
        "medium" => "Warning",
        _ => "Default",
    };
    let mut body = Vec::new();
    if alert.is_test() {
        body.push(json!({"type": "TextBlock", "text": "TEST ALERT: sent by tamperwatch notify \\-\\-test, no event happened\\.", "weight": "Bolder", "color": "Accent", "wrap": true}));
    }
    body.push(json!({"type": "TextBlock", "text": value(&alert.headline()), "weight": "Bolder", "size": "Medium", "color": color, "wrap": true}));
    let mut facts: Vec<Value> = email::fields(alert)
        .into_iter()
        .map(|(label, v)| json!({"title": label, "value": value(&v)}))
        .collect();
    facts.extend(
        alert
            .parameters
            .iter()
            .map(|(k, v)| json!({"title": value(k), "value": value(v)})),
    );
    body.push(json!({"type": "FactSet", "facts": facts}));
    if let Some(todo) = &alert.rule.response {
        body.push(json!({"type": "TextBlock", "text": format!("**What to do:** {}", esc(&cut(&one_line(todo), 2000))), "wrap": true}));
    }
    let mut actions = Vec::new();
    if let Some(url) = alert.console_url() {
        actions.push(json!({"type": "Action.OpenUrl", "title": "Open in CloudTrail", "url": url}));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "msteams": {"width": "Full"},
                "body": body,
                "actions": actions,
            }
        }]
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
            insta::assert_json_snapshot!(format!("{name}_teams"), payload(&alert));
        }
    }

    #[test]
    fn hostile_is_small_and_inert() {
        let p = payload(&fixtures::hostile());
        let s = p.to_string();
        assert!(s.len() < 28 * 1024, "{}", s.len());
        assert!(!s.contains("<script>") && !s.contains("](http"));
    }
}
