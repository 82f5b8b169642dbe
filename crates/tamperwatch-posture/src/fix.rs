//! `--fix`: the changes tamperwatch can make to put a security service back, and making them.
//!
//! Each failing [`CheckResult`] that tamperwatch can repair carries a
//! [`FixAction`]; [`plan`] collects them (once each) into [`PlannedFix`]es, which print as what
//! would change (`--dry-run`) and which [`apply`] makes, with the account's credentials, in the
//! fix's region.

use std::fmt;

use aws_config::SdkConfig;
use serde::{Deserialize, Serialize};

use crate::call_error::CallError;
use crate::result::{CheckResult, Status};

/// One change that turns a security service back on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FixAction {
    /// `cloudtrail:StartLogging` on a trail (made in the trail's home region).
    StartLogging {
        /// The trail's ARN or name.
        trail: String,
    },
    /// `guardduty:UpdateDetector` with `Enable=true`.
    EnableGuardDutyDetector {
        /// The detector id.
        detector_id: String,
    },
    /// `guardduty:CreateDetector` with `Enable=true` (the region has no detector).
    CreateGuardDutyDetector,
    /// `config:StartConfigurationRecorder`.
    StartConfigurationRecorder {
        /// The recorder's name.
        recorder: String,
    },
    /// `securityhub:EnableSecurityHub` with the default standards.
    EnableSecurityHub,
    /// `inspector2:Enable` for these resource types (`EC2`, `ECR`, `LAMBDA`, `LAMBDA_CODE`).
    EnableInspector2 {
        /// The resource types to enable.
        resource_types: Vec<String>,
    },
    /// `macie2:EnableMacie`.
    EnableMacie,
    /// `macie2:UpdateMacieSession` with `status=ENABLED` (Macie is paused).
    UnpauseMacie,
    /// `access-analyzer:CreateAnalyzer` of type `ACCOUNT`.
    CreateAccessAnalyzer {
        /// The new analyzer's name.
        name: String,
    },
}

impl fmt::Display for FixAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FixAction::StartLogging { trail } => write!(f, "cloudtrail StartLogging {trail}"),
            FixAction::EnableGuardDutyDetector { detector_id } => {
                write!(f, "guardduty UpdateDetector {detector_id} --enable")
            }
            FixAction::CreateGuardDutyDetector => write!(f, "guardduty CreateDetector --enable"),
            FixAction::StartConfigurationRecorder { recorder } => {
                write!(f, "config StartConfigurationRecorder {recorder}")
            }
            FixAction::EnableSecurityHub => write!(f, "securityhub EnableSecurityHub"),
            FixAction::EnableInspector2 { resource_types } => {
                write!(f, "inspector2 Enable {}", resource_types.join(","))
            }
            FixAction::EnableMacie => write!(f, "macie2 EnableMacie"),
            FixAction::UnpauseMacie => write!(f, "macie2 UpdateMacieSession --status ENABLED"),
            FixAction::CreateAccessAnalyzer { name } => {
                write!(f, "accessanalyzer CreateAnalyzer {name} --type ACCOUNT")
            }
        }
    }
}

/// A fix to make in one account and region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PlannedFix {
    /// The account.
    pub account: String,
    /// The region the call is made in.
    pub region: String,
    /// The change.
    pub action: FixAction,
}

impl fmt::Display for PlannedFix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.account, self.region, self.action)
    }
}

/// The fixes for the failing results, each once, in a stable order.
pub fn plan(results: &[CheckResult]) -> Vec<PlannedFix> {
    let mut fixes: Vec<PlannedFix> = results
        .iter()
        .filter(|result| matches!(result.status, Status::Fail | Status::Warn))
        .filter_map(|result| {
            let action = result.action.clone()?;
            // A trail is started in its home region, which its ARN names.
            let region = match &action {
                FixAction::StartLogging { trail } => {
                    arn_region(trail).unwrap_or(&result.region).to_owned()
                }
                _ => result.region.clone(),
            };
            Some(PlannedFix {
                account: result.account.clone(),
                region,
                action,
            })
        })
        .collect();
    fixes.sort();
    fixes.dedup();
    fixes
}

/// The region field of an ARN (`arn:aws:cloudtrail:REGION:...`), when it has one.
pub(crate) fn arn_region(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    if parts.next() != Some("arn") {
        return None;
    }
    parts.nth(2).filter(|region| !region.is_empty())
}

/// A fix that could not be made.
#[derive(Debug, thiserror::Error)]
#[error("could not {action} in {account} {region}: {cause}")]
pub struct ApplyFixError {
    /// The account.
    pub account: String,
    /// The region.
    pub region: String,
    /// The change that failed.
    pub action: FixAction,
    /// The service's answer.
    pub cause: CallError,
}

/// Makes one fix with `sdk` (credentials of the fix's account; the region is set here).
pub async fn apply(sdk: &SdkConfig, fix: &PlannedFix) -> Result<(), ApplyFixError> {
    let sdk = sdk
        .to_builder()
        .region(aws_config::Region::new(fix.region.clone()))
        .build();
    let fail = |cause: CallError| ApplyFixError {
        account: fix.account.clone(),
        region: fix.region.clone(),
        action: fix.action.clone(),
        cause,
    };
    match &fix.action {
        FixAction::StartLogging { trail } => aws_sdk_cloudtrail::Client::new(&sdk)
            .start_logging()
            .name(trail)
            .send()
            .await
            .map(drop)
            .map_err(|e| fail(CallError::of(&e))),
        FixAction::EnableGuardDutyDetector { detector_id } => aws_sdk_guardduty::Client::new(&sdk)
            .update_detector()
            .detector_id(detector_id)
            .enable(true)
            .send()
            .await
            .map(drop)
            .map_err(|e| fail(CallError::of(&e))),
        FixAction::CreateGuardDutyDetector => aws_sdk_guardduty::Client::new(&sdk)
            .create_detector()
            .enable(true)
            .send()
            .await
            .map(drop)
            .map_err(|e| fail(CallError::of(&e))),
        FixAction::StartConfigurationRecorder { recorder } => aws_sdk_config::Client::new(&sdk)
            .start_configuration_recorder()
            .configuration_recorder_name(recorder)
            .send()
            .await
            .map(drop)
            .map_err(|e| fail(CallError::of(&e))),
        FixAction::EnableSecurityHub => aws_sdk_securityhub::Client::new(&sdk)
            .enable_security_hub()
            .enable_default_standards(true)
            .send()
            .await
            .map(drop)
            .map_err(|e| fail(CallError::of(&e))),
        FixAction::EnableInspector2 { resource_types } => {
            let types = resource_types
                .iter()
                .map(|t| aws_sdk_inspector2::types::ResourceScanType::from(t.as_str()))
                .collect();
            aws_sdk_inspector2::Client::new(&sdk)
                .enable()
                .set_resource_types(Some(types))
                .account_ids(&fix.account)
                .send()
                .await
                .map(drop)
                .map_err(|e| fail(CallError::of(&e)))
        }
        FixAction::EnableMacie => aws_sdk_macie2::Client::new(&sdk)
            .enable_macie()
            .status(aws_sdk_macie2::types::MacieStatus::Enabled)
            .send()
            .await
            .map(drop)
            .map_err(|e| fail(CallError::of(&e))),
        FixAction::UnpauseMacie => aws_sdk_macie2::Client::new(&sdk)
            .update_macie_session()
            .status(aws_sdk_macie2::types::MacieStatus::Enabled)
            .send()
            .await
            .map(drop)
            .map_err(|e| fail(CallError::of(&e))),
        FixAction::CreateAccessAnalyzer { name } => aws_sdk_accessanalyzer::Client::new(&sdk)
            .create_analyzer()
            .analyzer_name(name)
            .r#type(aws_sdk_accessanalyzer::types::Type::Account)
            .send()
            .await
            .map(drop)
            .map_err(|e| fail(CallError::of(&e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{Place, Service};

    #[test]
    fn plan_takes_failing_results_once_and_starts_trails_in_their_home_region() {
        let place = Place::new("111111111111", "eu-west-1");
        let trail = "arn:aws:cloudtrail:us-east-1:111111111111:trail/org";
        let stopped = place
            .result(Service::Cloudtrail, "multi-region-trail", Status::Fail, "x")
            .action(FixAction::StartLogging {
                trail: trail.into(),
            });
        let passing = place
            .result(Service::Securityhub, "hub-enabled", Status::Pass, "on")
            .action(FixAction::EnableSecurityHub);
        let fixes = plan(&[stopped.clone(), stopped, passing]);
        assert_eq!(
            fixes,
            vec![PlannedFix {
                account: "111111111111".into(),
                region: "us-east-1".into(),
                action: FixAction::StartLogging {
                    trail: trail.into()
                },
            }]
        );
        assert_eq!(
            fixes[0].to_string(),
            format!("111111111111 us-east-1: cloudtrail StartLogging {trail}")
        );
    }

    #[test]
    fn arn_region_reads_the_fourth_field() {
        assert_eq!(arn_region("arn:aws:sns:eu-west-1:1:t"), Some("eu-west-1"));
        assert_eq!(arn_region("arn:aws:iam::1:role/r"), None);
        assert_eq!(arn_region("trail-name"), None);
    }
}
