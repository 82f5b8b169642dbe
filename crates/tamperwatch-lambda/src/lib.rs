//! The tamperwatch Lambda's logic; `src/main.rs` only runs it under `lambda_runtime`.
//!
//! - [`invocation`] tells the kinds of payload apart: CloudTrail events (EventBridge, SQS, SNS,
//!   new-log-file notifications), and the scheduled tasks an EventBridge schedule sends as
//!   constant input (`{"tamperwatch": "drift"}`).
//! - [`Function::cold_start`] builds everything once: configuration ([`settings`] and
//!   [`tamperwatch_sinks::env`]), rule catalog, channels, the reconciliation path (S3 reads) and,
//!   when enabled, auto-remediation.
//! - [`Function::drift`] runs the posture checks and alerts on what changed since the last run.

pub mod settings;

use aws_config::SdkConfig;
use serde::Deserialize;
use serde_json::Value;
use tamperwatch_detect::Detector;
use tamperwatch_posture::{CheckOptions, accounts, check_accounts};
use tamperwatch_sinks::drift::{DriftRun, DriftStore, alert_changes};
use tamperwatch_sinks::{Config, LogFiles, Notifier, Pipeline, Remediation};

use crate::settings::Settings;

/// A task an EventBridge schedule asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Run the posture checks and alert on changes (issue 5's scheduled drift alerts).
    Drift,
}

/// What an invocation carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invocation {
    /// CloudTrail events in any envelope the pipeline reads.
    Events,
    /// A scheduled task.
    Task(Task),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scheduled {
    tamperwatch: Task,
}

/// Tells a scheduled task (an object whose only key is `tamperwatch`) from events. An object
/// with a `tamperwatch` key that names no known task is an error, not events.
pub fn invocation(payload: &Value) -> Result<Invocation, String> {
    if payload.get("tamperwatch").is_none() {
        return Ok(Invocation::Events);
    }
    Scheduled::deserialize(payload)
        .map(|s| Invocation::Task(s.tamperwatch))
        .map_err(|e| format!("not a scheduled task tamperwatch knows: {e}"))
}

/// Everything built at cold start.
#[derive(Debug)]
pub struct Function {
    pipeline: Pipeline,
    settings: Settings,
    sdk: SdkConfig,
    table: Option<String>,
}

impl Function {
    /// Reads the configuration and builds the pipeline, with the AWS configuration from the
    /// environment. The message never holds a secret.
    pub async fn cold_start() -> Result<Function, String> {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3))
            .load()
            .await;
        let config = Config::from_env().map_err(|e| format!("configuration: {e}"))?;
        let settings = Settings::from_env().map_err(|e| format!("configuration: {e}"))?;
        Function::build(sdk, config, settings).await
    }

    /// Builds the function from configuration already read.
    pub async fn build(
        sdk: SdkConfig,
        config: Config,
        settings: Settings,
    ) -> Result<Function, String> {
        let rules = tamperwatch_catalog::load().map_err(|e| format!("rule catalog: {e}"))?;
        let table = config.idempotency.as_ref().map(|i| i.table.clone());
        let notifier = Notifier::with_aws(config, sdk.clone())
            .await
            .map_err(|e| format!("channels: {e}"))?;
        let log_files = LogFiles::new(
            aws_sdk_s3::Client::new(&sdk),
            settings.log_file_max_bytes,
            settings.cloudtrail_buckets.clone(),
        );
        let mut pipeline = Pipeline::new(Detector::new(rules), notifier).with_log_files(log_files);
        if settings.auto_remediate {
            let account = match &settings.account_id {
                Some(id) => id.clone(),
                None => {
                    accounts::current(&sdk)
                        .await
                        .map_err(|e| format!("auto-remediation: {e}"))?
                        .id
                }
            };
            pipeline = pipeline.with_remediation(Remediation::new(sdk.clone(), account));
        }
        Ok(Function {
            pipeline,
            settings,
            sdk,
            table,
        })
    }

    /// The notify path.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The scheduled drift check: every check of the function's own account in the configured
    /// regions, compared with the state kept in the idempotency table, one alert per change.
    /// `now` is the run's time (RFC 3339, UTC).
    pub async fn drift(&self, now: &str) -> Result<DriftRun, String> {
        let table = self.table.clone().ok_or_else(|| {
            format!(
                "drift alerts remember the previous run in the idempotency table: set {}",
                tamperwatch_sinks::env::IDEMPOTENCY_TABLE
            )
        })?;
        let account = match &self.settings.account_id {
            Some(id) => accounts::Account {
                id: id.clone(),
                sdk: self.sdk.clone(),
            },
            None => accounts::current(&self.sdk)
                .await
                .map_err(|e| e.to_string())?,
        };
        let regions = match &self.settings.drift_regions {
            Some(regions) if !regions.is_empty() => regions.clone(),
            Some(_) => {
                return Err(
                    "no region to check: set AWS_REGION or TAMPERWATCH_DRIFT_REGIONS".into(),
                );
            }
            None => accounts::enabled_regions(&self.sdk)
                .await
                .map_err(|e| e.to_string())?,
        };
        let options = CheckOptions {
            regions,
            concurrency: 8,
            deployment: self.settings.deployment.clone(),
        };
        let results = check_accounts(std::slice::from_ref(&account), &options).await;
        let store = DriftStore::new(aws_sdk_dynamodb::Client::new(&self.sdk), table, &account.id);
        alert_changes(self.pipeline.notifier(), &store, &results, now)
            .await
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn scheduled_tasks_and_events_are_told_apart() {
        assert_eq!(
            invocation(&json!({"tamperwatch": "drift"})),
            Ok(Invocation::Task(Task::Drift))
        );
        for events in [
            json!({"Records": []}),
            json!({"detail-type": "AWS API Call via CloudTrail", "detail": {}}),
            json!("text"),
        ] {
            assert_eq!(invocation(&events), Ok(Invocation::Events), "{events}");
        }
        for bad in [
            json!({"tamperwatch": "reboot"}),
            json!({"tamperwatch": "drift", "extra": 1}),
            json!({"tamperwatch": 1}),
        ] {
            assert!(invocation(&bad).is_err(), "{bad}");
        }
    }
}
