//! Amazon SNS: a subject, a `MessageStructure=json` message and message attributes.
//!
//! SNS refuses a subject that is not ASCII, holds a line break or is 100 characters or longer.
//! With `MessageStructure=json` each protocol gets its own text: the readable body for email,
//! a short line for SMS, and the alert as JSON for HTTP(S), SQS and Lambda subscribers.

use serde_json::json;

use crate::text::{ascii, cut, one_line};
use crate::{Alert, email, level_name, webhook};

/// The longest subject SNS accepts is 99 characters ("less than 100").
pub const MAX_SUBJECT_CHARS: usize = 99;

/// The SMS text: one message segment of plain ASCII.
pub const MAX_SMS_CHARS: usize = 140;

/// The subject: printable ASCII, no line break, at most [`MAX_SUBJECT_CHARS`] characters.
pub fn subject(alert: &Alert) -> String {
    let s = ascii(&alert.headline());
    let s = s.trim();
    let s = if s.is_empty() { "tamperwatch alert" } else { s };
    cut(s, MAX_SUBJECT_CHARS)
        .chars()
        .map(|c| if c.is_ascii() { c } else { '~' })
        .collect()
}

/// The SMS text: level, event, actor, account; ASCII, at most [`MAX_SMS_CHARS`] characters.
pub fn sms(alert: &Alert) -> String {
    let test = if alert.is_test() { "TEST " } else { "" };
    let attempt = if alert.outcome.is_attempt() {
        " (attempt)"
    } else {
        ""
    };
    let s = format!(
        "{test}tamperwatch {}: {}{attempt} by {} in {} {}",
        level_name(alert.level).to_ascii_uppercase(),
        alert.event.event_name.as_deref().unwrap_or("?"),
        alert.actor.name,
        alert.event.account_id.as_deref().unwrap_or("?"),
        alert.event.region.as_deref().unwrap_or("?"),
    );
    cut(&ascii(&one_line(&s)), MAX_SMS_CHARS)
        .chars()
        .map(|c| if c.is_ascii() { c } else { '~' })
        .collect()
}

/// The message for `Publish` with `MessageStructure=json`: a JSON object with a text per
/// protocol (`default` is required).
pub fn message(alert: &Alert) -> String {
    let body = email::text(alert);
    let machine = webhook::body(alert);
    json!({
        "default": body,
        "email": body,
        "sms": sms(alert),
        "http": machine,
        "https": machine,
        "sqs": machine,
        "lambda": machine,
        "firehose": machine,
    })
    .to_string()
}

/// The message attributes (`String` values) subscriptions can filter on: `level`, `rule`,
/// `account`, `region`, `service`, `outcome`, `test`. Values are cut to 256 characters.
pub fn attributes(alert: &Alert) -> Vec<(&'static str, String)> {
    let mut a = vec![
        ("level", level_name(alert.level).to_owned()),
        ("rule", alert.rule.id.clone()),
        ("outcome", alert.outcome.as_str().to_owned()),
        ("test", alert.is_test().to_string()),
    ];
    if let Some(account) = &alert.event.account_id {
        a.push(("account", account.clone()));
    }
    if let Some(region) = &alert.event.region {
        a.push(("region", region.clone()));
    }
    if let Some(service) = &alert.event.event_source {
        a.push(("service", service.clone()));
    }
    a.into_iter()
        .map(|(k, v)| {
            let v = cut(&one_line(&v), 256).into_owned();
            (
                k,
                if v.trim().is_empty() {
                    "-".to_owned()
                } else {
                    v
                },
            )
        })
        .collect()
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
            insta::assert_snapshot!(format!("{name}_sms"), sms(&alert));
            let message: serde_json::Value = serde_json::from_str(&message(&alert)).unwrap();
            insta::assert_json_snapshot!(format!("{name}_message"), message);
            insta::assert_debug_snapshot!(format!("{name}_attributes"), attributes(&alert));
        }
    }

    #[test]
    fn subjects_and_sms_are_within_limits() {
        for (name, alert) in fixtures::all() {
            let s = subject(&alert);
            assert!(s.chars().count() < 100, "{name}: {s}");
            assert!(s.chars().all(|c| (' '..='~').contains(&c)), "{name}: {s}");
            let m = sms(&alert);
            assert!(
                m.chars().count() <= MAX_SMS_CHARS && m.is_ascii(),
                "{name}: {m}"
            );
            assert!(message(&alert).len() < 256 * 1024, "{name}");
        }
    }
}
