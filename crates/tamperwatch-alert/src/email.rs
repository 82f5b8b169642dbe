//! Email: a subject, a plain-text part and an HTML part.
//!
//! The plain text is also the SNS `default` and `email` message. Field values are kept on one
//! line each (an event cannot forge a line that looks like another field); the HTML escapes
//! every value.

use std::fmt::Write as _;

use crate::text::{cut, html as esc, one_line};
use crate::{Alert, level_name};

/// Field values in text and HTML bodies are cut to this many characters.
const MAX_VALUE_CHARS: usize = 1000;

/// The subject line: the headline, on one line, at most 200 characters (lettre encodes
/// non-ASCII text as RFC 2047 words).
pub fn subject(alert: &Alert) -> String {
    cut(&one_line(&alert.headline()), 200).into_owned()
}

/// The labelled lines of an alert, in reading order, not escaped.
pub fn fields(alert: &Alert) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("Who", alert.who()),
        ("What", alert.what()),
        ("Outcome", alert.outcome_phrase()),
        ("Where", alert.where_short()),
        ("From", alert.from_where()),
        ("When", alert.when()),
        ("Rule", alert.rule_line()),
        (
            "Event ID",
            alert
                .event
                .event_id
                .clone()
                .unwrap_or_else(|| "none".to_owned()),
        ),
    ];
    if let Some(msg) = &alert.event.error_message {
        f.insert(3, ("Error", msg.clone()));
    }
    if let Some(line) = alert.group_line() {
        f.insert(0, ("Grouped", line));
    }
    if let Some(line) = alert.storm_line() {
        f.insert(0, ("Storm", line));
    }
    f
}

fn value(s: &str) -> String {
    cut(&one_line(s), MAX_VALUE_CHARS).into_owned()
}

/// The plain-text body.
pub fn text(alert: &Alert) -> String {
    let mut s = String::new();
    if alert.is_test() {
        s.push_str(
            "*** TEST ALERT: sent by `tamperwatch notify --test`, no event happened. ***\n\n",
        );
    }
    let _ = writeln!(s, "{}", value(&alert.headline()));
    s.push('\n');
    for (label, v) in fields(alert) {
        let _ = writeln!(s, "{:<9} {}", format!("{label}:"), value(&v));
    }
    if !alert.parameters.is_empty() {
        s.push_str("\nParameters:\n");
        for (k, v) in &alert.parameters {
            let _ = writeln!(s, "  {}: {}", value(k), value(v));
        }
    }
    if let Some(url) = alert.console_url() {
        let _ = writeln!(s, "\nIn the CloudTrail console: {url}");
    }
    if let Some(todo) = &alert.rule.response {
        let _ = writeln!(s, "\nWhat to do: {}", value(todo));
    }
    s.push_str("\n-- tamperwatch\n");
    s
}

/// The HTML body: a small table, every value escaped.
pub fn html(alert: &Alert) -> String {
    let mut s = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n<body style=\"font-family:sans-serif\">\n",
    );
    if alert.is_test() {
        s.push_str("<p style=\"background:#ffd;padding:4px\"><b>TEST ALERT</b>: sent by <code>tamperwatch notify --test</code>, no event happened.</p>\n");
    }
    let color = match level_name(alert.level) {
        "critical" => "#b00020",
        "high" => "#d9480f",
        "medium" => "#b08800",
        _ => "#555555",
    };
    let _ = writeln!(
        s,
        "<h2 style=\"color:{color}\">{}</h2>",
        esc(&value(&alert.headline()))
    );
    s.push_str("<table cellpadding=\"4\">\n");
    for (label, v) in fields(alert) {
        let _ = writeln!(
            s,
            "<tr><th align=\"left\">{label}</th><td>{}</td></tr>",
            esc(&value(&v))
        );
    }
    for (k, v) in &alert.parameters {
        let _ = writeln!(
            s,
            "<tr><th align=\"left\">{}</th><td><code>{}</code></td></tr>",
            esc(&value(k)),
            esc(&value(v))
        );
    }
    s.push_str("</table>\n");
    if let Some(url) = alert.console_url() {
        let _ = writeln!(
            s,
            "<p><a href=\"{url}\">Open the event in the CloudTrail console</a></p>"
        );
    }
    if let Some(todo) = &alert.rule.response {
        let _ = writeln!(s, "<p><b>What to do:</b> {}</p>", esc(&value(todo)));
    }
    s.push_str("<p style=\"color:#777\">tamperwatch</p>\n</body></html>\n");
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn snapshots() {
        for (name, alert) in fixtures::all() {
            insta::assert_snapshot!(format!("{name}_subject"), subject(&alert));
            insta::assert_snapshot!(format!("{name}_text"), text(&alert));
            insta::assert_snapshot!(format!("{name}_html"), html(&alert));
        }
    }

    #[test]
    fn hostile_html_has_no_markup_from_the_event() {
        let h = html(&fixtures::hostile());
        assert!(!h.contains("<script>"));
        assert!(!h.contains("<img"));
        assert!(!h.contains("</td></tr><b>"));
        assert!(h.len() < 20_000, "{}", h.len());
    }

    #[test]
    fn hostile_text_cannot_forge_lines() {
        let t = text(&fixtures::hostile());
        assert!(!t.lines().any(|l| l.starts_with("X-Injected")));
        assert!(!t.contains('\u{202E}'));
    }
}
