//! The environment variables only the Lambda reads (the alerting ones are in
//! [`tamperwatch_sinks::env`]), read once at cold start.

use tamperwatch_posture::Deployment;
use tamperwatch_sinks::log_files::DEFAULT_MAX_OBJECT_BYTES;

/// CloudTrail buckets whose log files the reconciliation path reads, comma-separated. A
/// notification naming another bucket is refused. Unset: any bucket the role may read.
pub const CLOUDTRAIL_BUCKETS: &str = "TAMPERWATCH_CLOUDTRAIL_BUCKETS";
/// The largest log file read, in bytes as stored (default 32 MiB).
pub const LOG_FILE_MAX_BYTES: &str = "TAMPERWATCH_LOG_FILE_MAX_BYTES";
/// `true` to reverse `StopLogging`, `StopConfigurationRecorder` and GuardDuty
/// `UpdateDetector enable=false` in the function's own account (default `false`).
pub const AUTO_REMEDIATE: &str = "TAMPERWATCH_AUTO_REMEDIATE";
/// The function's own account id (the templates set it; otherwise asked of STS when needed).
pub const ACCOUNT_ID: &str = "TAMPERWATCH_ACCOUNT_ID";
/// Regions the scheduled drift check covers: `all` (every enabled region) or a comma-separated
/// list (default: the function's region).
pub const DRIFT_REGIONS: &str = "TAMPERWATCH_DRIFT_REGIONS";
/// Name prefix of tamperwatch's own EventBridge rules, checked in every drift region
/// (`tamperwatch-`: `tamperwatch-cloudtrail-N` at home, `tamperwatch-forward-N` elsewhere).
pub const RULE_PREFIX: &str = "TAMPERWATCH_RULE_PREFIX";
/// tamperwatch's dead-letter queue (ARN, or name in the home region), which the drift check
/// wants empty (the same variable as `tamperwatch check --tamperwatch-dlq`).
pub const DLQ: &str = "TAMPERWATCH_DLQ_ARN";

/// Every variable above.
pub const ALL: &[&str] = &[
    CLOUDTRAIL_BUCKETS,
    LOG_FILE_MAX_BYTES,
    AUTO_REMEDIATE,
    ACCOUNT_ID,
    DRIFT_REGIONS,
    RULE_PREFIX,
    DLQ,
];

/// The Lambda's own settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// [`CLOUDTRAIL_BUCKETS`].
    pub cloudtrail_buckets: Vec<String>,
    /// [`LOG_FILE_MAX_BYTES`].
    pub log_file_max_bytes: u64,
    /// [`AUTO_REMEDIATE`].
    pub auto_remediate: bool,
    /// [`ACCOUNT_ID`].
    pub account_id: Option<String>,
    /// [`DRIFT_REGIONS`]; `None` for `all`.
    pub drift_regions: Option<Vec<String>>,
    /// What of tamperwatch's own deployment the drift check looks at.
    pub deployment: Deployment,
}

/// A variable with a value that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{name}: {message}")]
pub struct SettingsError {
    name: &'static str,
    message: String,
}

fn list(value: Option<String>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Settings {
    /// From the process environment.
    pub fn from_env() -> Result<Settings, SettingsError> {
        Settings::load(&|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// From `var`, which returns a variable's value (`None` when unset or empty).
    pub fn load(var: &dyn Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let log_file_max_bytes = match var(LOG_FILE_MAX_BYTES) {
            None => DEFAULT_MAX_OBJECT_BYTES,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| SettingsError {
                    name: LOG_FILE_MAX_BYTES,
                    message: format!("{v:?} is not a positive number of bytes"),
                })?,
        };
        let auto_remediate = match var(AUTO_REMEDIATE).as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(SettingsError {
                    name: AUTO_REMEDIATE,
                    message: format!("{other:?} is neither true nor false"),
                });
            }
        };
        let account_id = var(ACCOUNT_ID);
        if let Some(id) = &account_id
            && !(id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(SettingsError {
                name: ACCOUNT_ID,
                message: format!("{id:?} is not a 12-digit account id"),
            });
        }
        let regions = list(var(DRIFT_REGIONS));
        let drift_regions = if regions.iter().any(|r| r == "all") {
            None
        } else if regions.is_empty() {
            Some(list(var("AWS_REGION")))
        } else {
            Some(regions)
        };
        Ok(Settings {
            cloudtrail_buckets: list(var(CLOUDTRAIL_BUCKETS)),
            log_file_max_bytes,
            auto_remediate,
            account_id,
            drift_regions,
            deployment: Deployment {
                rule_prefix: var(RULE_PREFIX),
                topic_arn: var(tamperwatch_sinks::env::SNS_TOPIC_ARN),
                dlq_arn: var(DLQ),
                function_name: var("AWS_LAMBDA_FUNCTION_NAME"),
                ..Deployment::default()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::load(&|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_are_safe() {
        let s = load(&[("AWS_REGION", "eu-west-1")]).unwrap();
        assert!(!s.auto_remediate);
        assert!(s.cloudtrail_buckets.is_empty());
        assert_eq!(s.log_file_max_bytes, DEFAULT_MAX_OBJECT_BYTES);
        assert_eq!(s.drift_regions, Some(vec!["eu-west-1".to_owned()]));
    }

    #[test]
    fn values_are_read_and_checked() {
        let s = load(&[
            (CLOUDTRAIL_BUCKETS, "trail-a, trail-b,"),
            (AUTO_REMEDIATE, "true"),
            (ACCOUNT_ID, "111122223333"),
            (DRIFT_REGIONS, "all"),
            (RULE_PREFIX, "tamperwatch-"),
        ])
        .unwrap();
        assert_eq!(s.cloudtrail_buckets, ["trail-a", "trail-b"]);
        assert!(s.auto_remediate);
        assert_eq!(s.drift_regions, None);
        assert_eq!(s.deployment.rule_prefix.as_deref(), Some("tamperwatch-"));
        for bad in [
            (AUTO_REMEDIATE, "yes"),
            (ACCOUNT_ID, "12345"),
            (LOG_FILE_MAX_BYTES, "0"),
        ] {
            let e = load(&[bad]).unwrap_err();
            assert!(e.to_string().starts_with(bad.0), "{e}");
        }
    }
}
