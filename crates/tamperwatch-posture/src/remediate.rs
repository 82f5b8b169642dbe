//! Auto-remediation: from a tamper event to the fix that undoes it. Off by default.
//!
//! [`remediation_for`] maps a successful `StopLogging`, `StopConfigurationRecorder` or
//! `UpdateDetector` with `enable=false` to the [`PlannedFix`] that reverses it, in the
//! event's account and region; [`apply`](crate::fix::apply) makes it. A deployment opts in with
//! [`AutoRemediation::On`] and the IAM statements listed in docs/check.md.

use serde::Deserialize;
use tamperwatch_event::{Outcome, Record};

use crate::fix::{FixAction, PlannedFix, arn_region};

/// Whether a deployment reverses tamper events by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoRemediation {
    /// Alert only (the default).
    #[default]
    Off,
    /// Alert and reverse the events [`remediation_for`] knows.
    On,
}

impl AutoRemediation {
    /// The fix for this record, when remediation is on and the record is one it reverses.
    pub fn decide(self, record: &Record<'_>) -> Option<PlannedFix> {
        match self {
            AutoRemediation::Off => None,
            AutoRemediation::On => remediation_for(record),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Params {
    name: Option<String>,
    configuration_recorder_name: Option<String>,
    detector_id: Option<String>,
    enable: Option<bool>,
}

/// The fix that reverses a successful tamper event, if it is one of those tamperwatch reverses.
pub fn remediation_for(record: &Record<'_>) -> Option<PlannedFix> {
    if record.outcome() != Outcome::Success {
        return None;
    }
    let params: Params = serde_json::from_str(record.request_parameters?.get()).ok()?;
    let action = match (
        record.event_source.as_deref()?,
        record.event_name.as_deref()?,
    ) {
        ("cloudtrail.amazonaws.com", "StopLogging") => FixAction::StartLogging {
            trail: params.name?,
        },
        ("config.amazonaws.com", "StopConfigurationRecorder") => {
            FixAction::StartConfigurationRecorder {
                recorder: params.configuration_recorder_name?,
            }
        }
        ("guardduty.amazonaws.com", "UpdateDetector") if params.enable == Some(false) => {
            FixAction::EnableGuardDutyDetector {
                detector_id: params.detector_id?,
            }
        }
        _ => return None,
    };
    let event_region = record.aws_region.as_deref()?;
    let region = match &action {
        FixAction::StartLogging { trail } => arn_region(trail).unwrap_or(event_region),
        _ => event_region,
    };
    Some(PlannedFix {
        account: record
            .recipient_account_id
            .as_deref()
            .or(record.account_id())?
            .to_owned(),
        region: region.to_owned(),
        action,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::value::RawValue;

    use super::*;

    fn fix_for(json: &str) -> Option<PlannedFix> {
        let raw: Box<RawValue> = serde_json::from_str(json).unwrap();
        let record = Record::parse(&raw, 1 << 20).unwrap();
        remediation_for(&record)
    }

    fn event(source: &str, name: &str, params: &str, error: &str) -> String {
        format!(
            r#"{{"eventVersion":"1.08","eventSource":"{source}","eventName":"{name}",
            "awsRegion":"eu-west-1","recipientAccountId":"111111111111",
            "userIdentity":{{"type":"IAMUser","accountId":"111111111111"}},
            "requestParameters":{params}{error}}}"#
        )
    }

    #[test]
    fn stop_logging_is_reversed_in_the_trails_home_region() {
        let fix = fix_for(&event(
            "cloudtrail.amazonaws.com",
            "StopLogging",
            r#"{"name":"arn:aws:cloudtrail:us-east-1:111111111111:trail/main"}"#,
            "",
        ))
        .unwrap();
        assert_eq!(fix.region, "us-east-1");
        assert_eq!(fix.account, "111111111111");
        assert!(matches!(fix.action, FixAction::StartLogging { .. }));
        let by_name = fix_for(&event(
            "cloudtrail.amazonaws.com",
            "StopLogging",
            r#"{"name":"main"}"#,
            "",
        ))
        .unwrap();
        assert_eq!(by_name.region, "eu-west-1");
    }

    #[test]
    fn recorder_and_detector_are_reversed() {
        let recorder = fix_for(&event(
            "config.amazonaws.com",
            "StopConfigurationRecorder",
            r#"{"configurationRecorderName":"default"}"#,
            "",
        ))
        .unwrap();
        assert_eq!(
            recorder.action,
            FixAction::StartConfigurationRecorder {
                recorder: "default".into()
            }
        );
        let detector = fix_for(&event(
            "guardduty.amazonaws.com",
            "UpdateDetector",
            r#"{"detectorId":"abc","enable":false}"#,
            "",
        ))
        .unwrap();
        assert_eq!(
            detector.action,
            FixAction::EnableGuardDutyDetector {
                detector_id: "abc".into()
            }
        );
    }

    #[test]
    fn harmless_failed_and_unrelated_events_are_left_alone() {
        // Enabling, or changing only the finding frequency, is not tampering.
        for params in [
            r#"{"detectorId":"abc","enable":true}"#,
            r#"{"detectorId":"abc","findingPublishingFrequency":"SIX_HOURS"}"#,
        ] {
            assert!(
                fix_for(&event(
                    "guardduty.amazonaws.com",
                    "UpdateDetector",
                    params,
                    ""
                ))
                .is_none()
            );
        }
        // A denied attempt changed nothing.
        assert!(
            fix_for(&event(
                "cloudtrail.amazonaws.com",
                "StopLogging",
                r#"{"name":"main"}"#,
                r#","errorCode":"AccessDenied""#,
            ))
            .is_none()
        );
        // The same event name from another service is not ours to reverse.
        assert!(
            fix_for(&event(
                "example.amazonaws.com",
                "StopLogging",
                r#"{"name":"x"}"#,
                ""
            ))
            .is_none()
        );
    }

    #[test]
    fn off_by_default() {
        let raw: Box<RawValue> = serde_json::from_str(&event(
            "config.amazonaws.com",
            "StopConfigurationRecorder",
            r#"{"configurationRecorderName":"default"}"#,
            "",
        ))
        .unwrap();
        let record = Record::parse(&raw, 1 << 20).unwrap();
        assert_eq!(AutoRemediation::default().decide(&record), None);
        assert!(AutoRemediation::On.decide(&record).is_some());
    }
}
