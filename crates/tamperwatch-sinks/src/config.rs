//! Configuration: typed, read once at start-up from environment variables ([`crate::env`])
//! and an optional TOML file.
//!
//! ```toml
//! [alert.account_aliases]
//! "111122223333" = "prod"
//!
//! [retry]
//! max_attempts = 4
//! max_total_ms = 20000
//!
//! [idempotency]
//! table = "tamperwatch-deliveries"
//!
//! [[channels]]
//! name = "security-slack"
//! min_level = "high"
//! to = { type = "slack", webhook_url = "ssm:/tamperwatch/slack-webhook" }
//!
//! [[channels]]
//! name = "pager"
//! min_level = "critical"
//! accounts = ["111122223333"]
//! to = { type = "pagerduty", routing_key = "secretsmanager:tamperwatch/pagerduty" }
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use tamperwatch_alert::{Alert, AlertConfig};
use tamperwatch_rules::Level;

use crate::env;
use crate::secret::Secret;

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// How alerts are dressed (account aliases).
    #[serde(default)]
    pub alert: AlertConfig,
    /// Retries.
    #[serde(default)]
    pub retry: RetryConfig,
    /// The optional DynamoDB record of deliveries.
    #[serde(default)]
    pub idempotency: Option<IdempotencyConfig>,
    /// Where alerts go.
    #[serde(default)]
    pub channels: Vec<ChannelConfig>,
    /// Suppressions (`[[suppress]]`): see `docs/noise.md`.
    #[serde(default)]
    pub suppress: Vec<tamperwatch_noise::Suppression>,
    /// Noise control: never-suppressible rules, staging, OUs, grouping, rate limits.
    #[serde(default)]
    pub noise: tamperwatch_noise::NoiseConfig,
}

/// Retries of one delivery: exponential backoff with full jitter, bounded in attempts and in
/// total time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Most attempts (at least 1).
    pub max_attempts: u32,
    /// The first wait's upper bound, in milliseconds; doubled after each attempt.
    pub initial_backoff_ms: u64,
    /// The longest wait, in milliseconds.
    pub max_backoff_ms: u64,
    /// Most time spent on one delivery, in milliseconds, attempts and waits included.
    pub max_total_ms: u64,
    /// Timeout of one attempt, in milliseconds.
    pub attempt_timeout_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 4,
            initial_backoff_ms: 200,
            max_backoff_ms: 4_000,
            max_total_ms: 20_000,
            attempt_timeout_ms: 5_000,
        }
    }
}

impl RetryConfig {
    /// The attempt timeout.
    pub fn attempt_timeout(&self) -> Duration {
        Duration::from_millis(self.attempt_timeout_ms.max(1))
    }
}

/// The DynamoDB table of deliveries: partition key `pk` (string), TTL attribute `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdempotencyConfig {
    /// Table name.
    pub table: String,
    /// Days a record is kept.
    #[serde(default = "default_ttl_days")]
    pub ttl_days: u32,
}

fn default_ttl_days() -> u32 {
    7
}

/// One channel: a name, a route and a destination.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// A unique name (the idempotency record and logs use it). Defaults to the type.
    #[serde(default)]
    pub name: Option<String>,
    /// Lowest level sent (default: all).
    #[serde(default)]
    pub min_level: Option<LevelName>,
    /// Only these rule ids (a trailing `*` matches a prefix). Empty: all rules.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Never these rule ids (a trailing `*` matches a prefix).
    #[serde(default)]
    pub exclude_rules: Vec<String>,
    /// Only these account ids. Empty: all accounts.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// The destination.
    pub to: SinkConfig,
}

impl ChannelConfig {
    /// The channel's name.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(self.to.kind())
    }

    /// Whether an alert goes to this channel. A test alert goes everywhere.
    pub fn routes(&self, alert: &Alert) -> bool {
        // The digest goes to the channels `[noise] digest_channels` names, whatever their route.
        if alert.is_test() || alert.is_digest() {
            return true;
        }
        if let Some(min) = self.min_level
            && alert.level < min.0
        {
            return false;
        }
        let id = alert.rule.id.as_str();
        if !self.rules.is_empty() && !self.rules.iter().any(|p| glob(p, id)) {
            return false;
        }
        if self.exclude_rules.iter().any(|p| glob(p, id)) {
            return false;
        }
        if !self.accounts.is_empty() {
            let account = alert.event.account_id.as_deref().unwrap_or("");
            if !self.accounts.iter().any(|a| a == account) {
                return false;
            }
        }
        true
    }
}

fn glob(pattern: &str, id: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => id.starts_with(prefix),
        None => pattern == id,
    }
}

/// A level as written in configuration (`informational`, `low`, `medium`, `high`,
/// `critical`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelName(pub Level);

impl<'de> Deserialize<'de> for LevelName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Level::from_str(&s)
            .map(LevelName)
            .map_err(serde::de::Error::custom)
    }
}

/// Where a channel delivers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SinkConfig {
    /// An SNS topic (`MessageStructure=json`, message attributes for filtering).
    Sns {
        /// Topic ARN.
        topic_arn: String,
    },
    /// Email over SMTP, text and HTML.
    Smtp {
        /// Server host.
        host: String,
        /// Port (default 587; 465 for `tls`).
        #[serde(default)]
        port: Option<u16>,
        /// `starttls` (default), `tls` or `none`.
        #[serde(default)]
        security: SmtpSecurity,
        /// User name.
        #[serde(default)]
        username: Option<String>,
        /// Password.
        #[serde(default)]
        password: Option<Secret>,
        /// Sender.
        from: String,
        /// Recipients.
        to: Vec<String>,
    },
    /// A Slack incoming webhook (Block Kit).
    Slack {
        /// The webhook URL.
        webhook_url: Secret,
    },
    /// A Slack app through the Web API (`chat.postMessage` with a bot token): the same Block
    /// Kit message as the webhook, and follow-ups of a group go into its first alert's thread.
    SlackApp {
        /// The bot token (`xoxb-...`), with the `chat:write` scope.
        bot_token: Secret,
        /// The channel id (`C0123456789`) the app is a member of.
        channel: String,
        /// The Web API base URL overriding `https://slack.com`.
        #[serde(default)]
        url: Option<String>,
    },
    /// A Microsoft Teams Workflows webhook (Adaptive Card).
    Teams {
        /// The webhook URL.
        webhook_url: Secret,
    },
    /// OpsGenie Alert API v2.
    Opsgenie {
        /// API key (`Authorization: GenieKey ...`).
        api_key: Secret,
        /// `us` (default) or `eu`.
        #[serde(default)]
        region: OpsgenieRegion,
        /// Base URL overriding the region's.
        #[serde(default)]
        url: Option<String>,
    },
    /// PagerDuty Events API v2.
    Pagerduty {
        /// Integration (routing) key.
        routing_key: Secret,
        /// Events API URL overriding the default.
        #[serde(default)]
        url: Option<String>,
    },
    /// Any HTTPS endpoint: the alert as JSON, signed with HMAC-SHA256.
    Webhook {
        /// The URL.
        url: Secret,
        /// Signing key; without it, requests are not signed.
        #[serde(default)]
        secret: Option<Secret>,
    },
    /// One JSON line per alert on stdout.
    Log,
}

impl SinkConfig {
    /// The type's name.
    pub fn kind(&self) -> &'static str {
        match self {
            SinkConfig::Sns { .. } => "sns",
            SinkConfig::Smtp { .. } => "smtp",
            SinkConfig::Slack { .. } => "slack",
            SinkConfig::SlackApp { .. } => "slack_app",
            SinkConfig::Teams { .. } => "teams",
            SinkConfig::Opsgenie { .. } => "opsgenie",
            SinkConfig::Pagerduty { .. } => "pagerduty",
            SinkConfig::Webhook { .. } => "webhook",
            SinkConfig::Log => "log",
        }
    }
}

/// SMTP transport security.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required).
    #[default]
    Starttls,
    /// Implicit TLS (port 465).
    Tls,
    /// No encryption: only for a relay on loopback (tests).
    None,
}

/// OpsGenie instance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpsgenieRegion {
    /// `api.opsgenie.com`.
    #[default]
    Us,
    /// `api.eu.opsgenie.com`.
    Eu,
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadConfigError {
    /// The TOML file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The TOML file is not a valid configuration.
    #[error("invalid config file {path}: {source}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// An environment variable has an invalid value.
    #[error("invalid {name}: {reason}")]
    Env {
        /// The variable.
        name: &'static str,
        /// What is wrong (never the value of a secret).
        reason: String,
    },
    /// Two channels have the same name.
    #[error("two channels are named {0:?}: give each a unique `name`")]
    DuplicateName(String),
    /// The suppressions or `[noise]` settings are not usable.
    #[error("invalid noise control: {0}")]
    Noise(#[from] tamperwatch_noise::BuildPolicyError),
    /// A rate limit or the digest names a channel that does not exist.
    #[error("[noise] names the channel {0:?}, which is not configured")]
    UnknownChannel(String),
}

impl Config {
    /// Reads the configuration from the process environment (and the file it names).
    pub fn from_env() -> Result<Config, LoadConfigError> {
        Config::load(None, &|name| {
            std::env::var(name).ok().filter(|v| !v.is_empty())
        })
    }

    /// Reads the configuration: the TOML file `file` (or the one named by
    /// `TAMPERWATCH_CONFIG`), then the channels and settings given by environment variables,
    /// read through `var`.
    pub fn load(
        file: Option<&Path>,
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, LoadConfigError> {
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| var(env::CONFIG).map(PathBuf::from));
        let mut config = match file {
            Some(path) => Config::from_toml_file(&path)?,
            None => Config::default(),
        };
        config.add_env(var)?;
        config.check()?;
        Ok(config)
    }

    /// Reads a TOML file.
    pub fn from_toml_file(path: &Path) -> Result<Config, LoadConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| LoadConfigError::Toml {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    /// Checks what the types cannot: unique channel names, usable suppressions, rate limits
    /// naming real channels.
    pub fn check(&self) -> Result<(), LoadConfigError> {
        let mut names = BTreeSet::new();
        for c in &self.channels {
            if !names.insert(c.name()) {
                return Err(LoadConfigError::DuplicateName(c.name().to_owned()));
            }
        }
        self.policy()?;
        if let Some(name) = self
            .noise
            .channel_rate_limits
            .keys()
            .chain(&self.noise.digest_channels)
            .find(|k| !names.contains(k.as_str()))
        {
            return Err(LoadConfigError::UnknownChannel(name.clone()));
        }
        Ok(())
    }

    /// The noise-control policy of this configuration.
    pub fn policy(&self) -> Result<tamperwatch_noise::Policy, tamperwatch_noise::BuildPolicyError> {
        tamperwatch_noise::Policy::new(&self.noise, &self.suppress)
    }

    fn add_env(&mut self, var: &dyn Fn(&str) -> Option<String>) -> Result<(), LoadConfigError> {
        let min_level = match var(env::MIN_LEVEL) {
            Some(s) => Some(LevelName(Level::from_str(&s).map_err(|e| {
                LoadConfigError::Env {
                    name: env::MIN_LEVEL,
                    reason: e.to_string(),
                }
            })?)),
            None => None,
        };
        let mut add = |to: SinkConfig| {
            self.channels.push(ChannelConfig {
                name: None,
                min_level,
                rules: Vec::new(),
                exclude_rules: Vec::new(),
                accounts: Vec::new(),
                to,
            })
        };
        if let Some(topic_arn) = var(env::SNS_TOPIC_ARN) {
            add(SinkConfig::Sns { topic_arn });
        }
        if let Some(url) = var(env::SLACK_WEBHOOK_URL) {
            add(SinkConfig::Slack {
                webhook_url: Secret::parse(&url),
            });
        }
        if let Some(url) = var(env::TEAMS_WEBHOOK_URL) {
            add(SinkConfig::Teams {
                webhook_url: Secret::parse(&url),
            });
        }
        if let Some(key) = var(env::OPSGENIE_API_KEY) {
            let region = match var(env::OPSGENIE_REGION).as_deref() {
                None | Some("us") | Some("US") => OpsgenieRegion::Us,
                Some("eu") | Some("EU") => OpsgenieRegion::Eu,
                Some(other) => {
                    return Err(LoadConfigError::Env {
                        name: env::OPSGENIE_REGION,
                        reason: format!("{other:?} is not `us` or `eu`"),
                    });
                }
            };
            add(SinkConfig::Opsgenie {
                api_key: Secret::parse(&key),
                region,
                url: var(env::OPSGENIE_URL),
            });
        }
        if let Some(key) = var(env::PAGERDUTY_ROUTING_KEY) {
            add(SinkConfig::Pagerduty {
                routing_key: Secret::parse(&key),
                url: var(env::PAGERDUTY_URL),
            });
        }
        if let Some(url) = var(env::WEBHOOK_URL) {
            add(SinkConfig::Webhook {
                url: Secret::parse(&url),
                secret: var(env::WEBHOOK_SECRET).map(|s| Secret::parse(&s)),
            });
        }
        if let Some(host) = var(env::SMTP_HOST) {
            let security = match var(env::SMTP_SECURITY).as_deref() {
                None | Some("starttls") => SmtpSecurity::Starttls,
                Some("tls") => SmtpSecurity::Tls,
                Some("none") => SmtpSecurity::None,
                Some(other) => {
                    return Err(LoadConfigError::Env {
                        name: env::SMTP_SECURITY,
                        reason: format!("{other:?} is not `starttls`, `tls` or `none`"),
                    });
                }
            };
            let from = var(env::SMTP_FROM).ok_or(LoadConfigError::Env {
                name: env::SMTP_FROM,
                reason: format!("required when {} is set", env::SMTP_HOST),
            })?;
            let to: Vec<String> = var(env::SMTP_TO)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if to.is_empty() {
                return Err(LoadConfigError::Env {
                    name: env::SMTP_TO,
                    reason: format!("required when {} is set", env::SMTP_HOST),
                });
            }
            add(SinkConfig::Smtp {
                host,
                port: parse_num(var, env::SMTP_PORT)?,
                security,
                username: var(env::SMTP_USERNAME),
                password: var(env::SMTP_PASSWORD).map(|s| Secret::parse(&s)),
                from,
                to,
            });
        }
        if var(env::LOG_ALERTS).is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes")) {
            add(SinkConfig::Log);
        }
        if let Some(aliases) = var(env::ACCOUNT_ALIASES) {
            for pair in aliases.split(',').filter(|p| !p.trim().is_empty()) {
                let Some((account, alias)) = pair.split_once('=') else {
                    return Err(LoadConfigError::Env {
                        name: env::ACCOUNT_ALIASES,
                        reason: format!("{pair:?} is not ACCOUNT=ALIAS"),
                    });
                };
                self.alert
                    .account_aliases
                    .insert(account.trim().to_owned(), alias.trim().to_owned());
            }
        }
        if let Some(table) = var(env::IDEMPOTENCY_TABLE) {
            self.idempotency = Some(IdempotencyConfig {
                table,
                ttl_days: parse_num(var, env::IDEMPOTENCY_TTL_DAYS)?
                    .unwrap_or_else(default_ttl_days),
            });
        }
        if let Some(n) = parse_num(var, env::RETRY_MAX_ATTEMPTS)? {
            self.retry.max_attempts = n;
        }
        if let Some(n) = parse_num(var, env::RETRY_MAX_TOTAL_MS)? {
            self.retry.max_total_ms = n;
        }
        if let Some(n) = parse_num(var, env::ATTEMPT_TIMEOUT_MS)? {
            self.retry.attempt_timeout_ms = n;
        }
        if let Some(names) = var(env::DIGEST_CHANNELS) {
            self.noise.digest_channels.extend(
                names
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned),
            );
        }
        Ok(())
    }
}

fn parse_num<T: FromStr>(
    var: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<T>, LoadConfigError>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(None),
        Some(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|e: T::Err| LoadConfigError::Env {
                name,
                reason: format!("{s:?}: {e}"),
            }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn env_channels() {
        let c = Config::load(
            None,
            &vars(&[
                (
                    "TAMPERWATCH_SNS_TOPIC_ARN",
                    "arn:aws:sns:us-east-1:111122223333:tw",
                ),
                ("TAMPERWATCH_SLACK_WEBHOOK_URL", "ssm:/tw/slack"),
                ("TAMPERWATCH_MIN_LEVEL", "high"),
                (
                    "TAMPERWATCH_ACCOUNT_ALIASES",
                    "111122223333=prod, 444455556666=dev",
                ),
                ("TAMPERWATCH_RETRY_MAX_ATTEMPTS", "2"),
            ]),
        )
        .unwrap();
        assert_eq!(c.channels.len(), 2);
        assert_eq!(c.channels[0].name(), "sns");
        assert_eq!(
            c.channels[1].to,
            SinkConfig::Slack {
                webhook_url: Secret::Ssm("/tw/slack".into())
            }
        );
        assert_eq!(c.channels[1].min_level, Some(LevelName(Level::High)));
        assert_eq!(c.alert.account_aliases["444455556666"], "dev");
        assert_eq!(c.retry.max_attempts, 2);
    }

    #[test]
    fn toml_file_and_unknown_fields() {
        let c: Config = toml::from_str(
            r#"
            [alert.account_aliases]
            "111122223333" = "prod"
            [[channels]]
            name = "pager"
            min_level = "critical"
            accounts = ["111122223333"]
            to = { type = "pagerduty", routing_key = "secretsmanager:tw/pd" }
            [[channels]]
            to = { type = "smtp", host = "localhost", port = 2525, security = "none", from = "tw@example.com", to = ["soc@example.com"] }
            "#,
        )
        .unwrap();
        assert_eq!(c.channels.len(), 2);
        assert_eq!(c.channels[1].name(), "smtp");
        let err = toml::from_str::<Config>(
            "[[channels]]\nto = { type = \"slack\", webhook_url = \"x\", colour = 1 }",
        )
        .unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let err =
            toml::from_str::<Config>("[[channels]]\nminlevel = \"high\"\nto = { type = \"log\" }")
                .unwrap_err();
        assert!(err.to_string().contains("minlevel"), "{err}");
    }

    #[test]
    fn errors_never_show_secrets() {
        let err = Config::load(
            None,
            &vars(&[
                ("TAMPERWATCH_SMTP_HOST", "h"),
                ("TAMPERWATCH_SMTP_PASSWORD", "hunter2"),
            ]),
        )
        .unwrap_err();
        assert!(!format!("{err} {err:?}").contains("hunter2"));
        let c = Config::load(
            None,
            &vars(&[(
                "TAMPERWATCH_SLACK_WEBHOOK_URL",
                "https://hooks.slack.com/services/T/B/XYZ",
            )]),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("XYZ"));
    }
}
