//! Whether a call succeeded, was denied, or failed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::record::Record;

/// The result of the call a record describes.
///
/// A denied or failed call on a security service is still a signal, often the first one: rules
/// fire on it too, and the finding is marked an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// No `errorCode` and no `errorMessage` (for `ConsoleLogin`: `ConsoleLogin: Success`).
    Success,
    /// `errorCode` is `AccessDenied*` or `*UnauthorizedOperation`.
    Denied,
    /// Any other error (for `ConsoleLogin`: `ConsoleLogin: Failure`).
    Failed,
}

impl Outcome {
    /// Classifies a record.
    pub fn of(record: &Record<'_>) -> Outcome {
        if record.event_name.as_deref() == Some("ConsoleLogin")
            && let Some(result) = console_login_result(record)
        {
            return if result.eq_ignore_ascii_case("success") {
                Outcome::Success
            } else {
                Outcome::Failed
            };
        }
        match (&record.error_code, &record.error_message) {
            (None, None) => Outcome::Success,
            (Some(code), _) if is_denied(code) => Outcome::Denied,
            _ => Outcome::Failed,
        }
    }

    /// Whether the call did not succeed: the finding is an attempt.
    pub fn is_attempt(self) -> bool {
        self != Outcome::Success
    }

    /// The lowercase name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_denied(code: &str) -> bool {
    let lower = code.to_ascii_lowercase();
    lower.starts_with("accessdenied") || lower.ends_with("unauthorizedoperation")
}

/// `responseElements.ConsoleLogin`, when present.
fn console_login_result(record: &Record<'_>) -> Option<String> {
    #[derive(Deserialize)]
    struct Response {
        #[serde(rename = "ConsoleLogin")]
        console_login: Option<String>,
    }
    let raw = record.response_elements?;
    serde_json::from_str::<Response>(raw.get())
        .ok()?
        .console_login
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    fn outcome(json: &str) -> Outcome {
        let raw = RawValue::from_string(json.to_owned()).unwrap();
        Record::parse(&raw, 1 << 20).unwrap().outcome()
    }

    #[test]
    fn success_is_the_absence_of_errors() {
        assert_eq!(outcome(r#"{"eventName":"StopLogging"}"#), Outcome::Success);
        assert_eq!(outcome(r#"{"errorCode":null}"#), Outcome::Success);
    }

    #[test]
    fn denied_codes() {
        for code in [
            "AccessDenied",
            "AccessDeniedException",
            "Client.UnauthorizedOperation",
            "UnauthorizedOperation",
        ] {
            assert_eq!(
                outcome(&format!(r#"{{"errorCode":"{code}"}}"#)),
                Outcome::Denied,
                "{code}"
            );
        }
    }

    #[test]
    fn other_errors_fail() {
        assert_eq!(
            outcome(r#"{"errorCode":"TrailNotFoundException"}"#),
            Outcome::Failed
        );
        assert_eq!(outcome(r#"{"errorMessage":"boom"}"#), Outcome::Failed);
    }

    #[test]
    fn console_login_reads_its_response() {
        assert_eq!(
            outcome(
                r#"{"eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Success"}}"#
            ),
            Outcome::Success
        );
        assert_eq!(
            outcome(
                r#"{"eventName":"ConsoleLogin","errorMessage":"Failed authentication","responseElements":{"ConsoleLogin":"Failure"}}"#
            ),
            Outcome::Failed
        );
        // A response of an unexpected shape falls back to the error fields.
        assert_eq!(
            outcome(r#"{"eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":7}}"#),
            Outcome::Success
        );
    }
}
