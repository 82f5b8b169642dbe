//! Slack incoming webhooks: Block Kit.
//!
//! Event text goes into `mrkdwn` escaped (`&`, `<`, `>`), so `<!channel>`, `<@U…>` and links
//! from an event stay text; the header is `plain_text`, which Slack does not parse. Limits: a
//! header's text 150 characters, a section's text 3,000, the fallback `text` 3,000 (cut here,
//! after escaping, never inside an entity).

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::text::{cut, cut_escaped, one_line, slack as esc};
use crate::{Alert, email};

/// Slack's limit on a header block's text.
pub const MAX_HEADER_CHARS: usize = 150;
/// Slack's limit on a section block's text.
pub const MAX_SECTION_CHARS: usize = 3000;
/// Each value is cut to this before escaping, so one field cannot push the others out.
const MAX_VALUE_CHARS: usize = 400;

fn value(s: &str) -> String {
    esc(&cut(&one_line(s), MAX_VALUE_CHARS))
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": cut_escaped(text, MAX_SECTION_CHARS)}})
}

/// The webhook payload.
pub fn payload(alert: &Alert) -> Value {
    let mut blocks = Vec::new();
    let header = cut(&one_line(&alert.headline()), MAX_HEADER_CHARS).into_owned();
    blocks.push(
        json!({"type": "header", "text": {"type": "plain_text", "text": header, "emoji": false}}),
    );
    if alert.is_test() {
        blocks.push(section(
            ":test_tube: *Test alert* sent by `tamperwatch notify --test`: no event happened.",
        ));
    }
    let mut facts = String::new();
    for (label, v) in email::fields(alert) {
        let _ = writeln!(facts, "*{label}:* {}", value(&v));
    }
    blocks.push(section(&facts));
    if !alert.parameters.is_empty() {
        let mut p = String::from("*Parameters*\n");
        for (k, v) in &alert.parameters {
            let _ = writeln!(p, "• `{}`: `{}`", value(k), value(v));
        }
        blocks.push(section(&p));
    }
    if let Some(todo) = &alert.rule.response {
        blocks.push(section(&format!(
            "*What to do:* {}",
            esc(&cut(&one_line(todo), 2000))
        )));
    }
    if let Some(url) = alert.console_url() {
        blocks.push(json!({"type": "actions", "elements": [{
            "type": "button",
            "text": {"type": "plain_text", "text": "Open in CloudTrail"},
            "url": url,
        }]}));
    }
    let fallback = cut_escaped(&esc(&one_line(&alert.headline())), MAX_SECTION_CHARS);
    json!({"text": fallback, "blocks": blocks})
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn snapshots() {
        for (name, alert) in fixtures::all() {
            insta::assert_json_snapshot!(format!("{name}_slack"), payload(&alert));
        }
    }

    #[test]
    fn hostile_cannot_mention_or_link() {
        let p = payload(&fixtures::hostile());
        for block in p["blocks"].as_array().unwrap() {
            if block["text"]["type"] == "mrkdwn" {
                let t = block["text"]["text"].as_str().unwrap();
                assert!(
                    !t.contains("<!") && !t.contains("<@") && !t.contains("<http"),
                    "{t}"
                );
                assert!(t.chars().count() <= MAX_SECTION_CHARS);
            }
            if block["type"] == "header" {
                assert!(
                    block["text"]["text"].as_str().unwrap().chars().count() <= MAX_HEADER_CHARS
                );
            }
        }
        assert!(!p["text"].as_str().unwrap().contains("<!"));
    }
}
