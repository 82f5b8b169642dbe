//! Alert delivery: SNS, email over SMTP, Slack, Microsoft Teams, OpsGenie, PagerDuty, signed
//! webhooks and a log channel; each delivery retried with exponential backoff and jitter
//! within a bounded time; routing per channel by level, rule and account; idempotency through
//! the APIs' own keys and an optional DynamoDB record of (alert, channel) pairs.
//!
//! [`Pipeline`] is the notify path the Lambda and `tamperwatch notify` share: payload in,
//! alerts delivered, outcome out. [`Config`] is read once at start-up from the environment
//! variables declared in [`mod@env`] and an optional TOML file; [`Notifier::new`] resolves secrets
//! ([`Secret`]: never printed) and builds the clients.
//!
//! The same pipeline reads the log files that new-log-file notifications name ([`LogFiles`],
//! the reconciliation path) and, when enabled, reverses the tamper events it knows
//! ([`Remediation`]). [`drift`] turns scheduled posture checks into alerts on change.
//!
//! ```
//! use tamperwatch_sinks::Config;
//!
//! let config = Config::load(None, &|name| match name {
//!     "TAMPERWATCH_SNS_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:111122223333:alerts".into()),
//!     "TAMPERWATCH_SLACK_WEBHOOK_URL" => Some("ssm:/tamperwatch/slack".into()),
//!     _ => None,
//! })
//! .unwrap();
//! assert_eq!(config.channels.len(), 2);
//! assert_eq!(format!("{:?}", config.channels[1].to), r#"Slack { webhook_url: ssm:/tamperwatch/slack }"#);
//! ```

pub mod channel;
pub mod config;
pub mod drift;
pub mod env;
pub mod error;
pub mod ledger;
pub mod log_files;
pub mod noise;
pub mod notifier;
pub mod pipeline;
pub mod remediation;
pub mod retry;
pub mod secret;
pub mod signature;

pub use channel::Channel;
pub use config::{ChannelConfig, Config, LoadConfigError, RetryConfig, SinkConfig};
pub use error::SendAlertError;
pub use log_files::LogFiles;
pub use notifier::{BuildNotifierError, ChannelOutcome, Delivery, Notifier};
pub use pipeline::{HandleError, Pipeline, Report, send_alerts};
pub use remediation::Remediation;
pub use secret::{Secret, SecretValue};
