//! Delivery of alerts to every routed channel: retried, recorded, never doubled.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::join_all;
use serde::Serialize;
use tamperwatch_alert::{Alert, AlertConfig};

use crate::channel::{BuildChannelError, Channel, Resolved, build_sink};
use crate::config::{Config, RetryConfig, SinkConfig};
use crate::ledger::Ledger;
use crate::noise::NoiseStore;
use crate::retry::retry;
use crate::secret::{Secret, SecretValue};
use tamperwatch_noise::{NoiseConfig, Policy};

/// Channels, clients and the delivery ledger, built once (at cold start in a Lambda).
#[derive(Debug)]
pub struct Notifier {
    channels: Vec<Channel>,
    retry: RetryConfig,
    ledger: Ledger,
    alert: AlertConfig,
    policy: Policy,
    noise: NoiseConfig,
    state: NoiseStore,
}

/// Why the notifier could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildNotifierError {
    /// A secret reference could not be resolved. The message names the reference, never a
    /// value.
    #[error("cannot resolve secret {reference}: {message}")]
    Secret {
        /// The reference (`ssm:...`, `secretsmanager:...`).
        reference: String,
        /// The SDK's description.
        message: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(#[source] reqwest::Error),
    /// A channel could not be built.
    #[error(transparent)]
    Channel(#[from] BuildChannelError),
    /// The suppressions or `[noise]` settings are not usable.
    #[error("invalid noise control: {0}")]
    Noise(#[from] tamperwatch_noise::BuildPolicyError),
}

/// What happened to one alert on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChannelOutcome {
    /// Delivered.
    Sent {
        /// Attempts it took.
        attempts: u32,
    },
    /// Already delivered earlier (the ledger says so): not sent again.
    AlreadySent,
    /// Not routed to this channel.
    NotRouted,
    /// Held by the channel's rate limit: the batch's storm summary names it instead.
    RateLimited,
    /// Not delivered after every attempt.
    Failed {
        /// The last error (no secrets).
        error: String,
        /// Whether the platform retrying the whole invocation may help.
        retryable: bool,
        /// Attempts made.
        attempts: u32,
    },
}

/// One alert's deliveries.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// The alert's deduplication key.
    pub dedup_key: String,
    /// The alert's headline.
    pub headline: String,
    /// Per channel, by name.
    pub channels: Vec<(String, ChannelOutcome)>,
}

impl Delivery {
    /// Whether some channel did not get the alert.
    pub fn failed(&self) -> bool {
        self.channels
            .iter()
            .any(|(_, o)| matches!(o, ChannelOutcome::Failed { .. }))
    }

    /// Whether every failure may pass on a retry.
    pub fn retryable(&self) -> bool {
        self.channels.iter().all(|(_, o)| match o {
            ChannelOutcome::Failed { retryable, .. } => *retryable,
            _ => true,
        })
    }
}

impl Notifier {
    /// Builds every channel: reads secrets from SSM or Secrets Manager where referenced, and
    /// makes the AWS clients (which honour `AWS_ENDPOINT_URL`) when a channel, the ledger or a
    /// secret needs them.
    pub async fn new(config: Config) -> Result<Notifier, BuildNotifierError> {
        let needs_aws = config.idempotency.is_some()
            || config.channels.iter().any(|c| {
                matches!(c.to, SinkConfig::Sns { .. })
                    || secrets_of(&c.to).iter().any(|s| s.is_reference())
            });
        let sdk = if needs_aws {
            Some(
                aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
                    .load()
                    .await,
            )
        } else {
            None
        };
        Notifier::build(config, sdk).await
    }

    /// Like [`Notifier::new`], with the AWS configuration given (another endpoint, region or
    /// credentials than the environment's).
    pub async fn with_aws(
        config: Config,
        sdk: aws_config::SdkConfig,
    ) -> Result<Notifier, BuildNotifierError> {
        Notifier::build(config, Some(sdk)).await
    }

    async fn build(
        config: Config,
        sdk: Option<aws_config::SdkConfig>,
    ) -> Result<Notifier, BuildNotifierError> {
        let mut resolved: HashMap<String, SecretValue> = HashMap::new();
        for channel in &config.channels {
            for s in secrets_of(&channel.to) {
                let reference = s.to_string();
                if s.is_reference() && !resolved.contains_key(&reference) {
                    let value = resolve(s, sdk.as_ref()).await?;
                    resolved.insert(reference, value);
                }
            }
        }
        let http = reqwest::Client::builder()
            // A safety net: the retry loop cuts each attempt at the attempt timeout first.
            .timeout(config.retry.attempt_timeout() + Duration::from_secs(1))
            .connect_timeout(Duration::from_secs(5).min(config.retry.attempt_timeout()))
            .user_agent(concat!("tamperwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(BuildNotifierError::Http)?;
        let clients = Resolved {
            http,
            timeout: config.retry.attempt_timeout(),
            sns: sdk.as_ref().map(aws_sdk_sns::Client::new),
        };
        let mut lookup = |s: &Secret| match s {
            Secret::Value(v) => v.clone(),
            other => resolved
                .get(&other.to_string())
                .cloned()
                .unwrap_or_else(|| SecretValue::new(String::new())),
        };
        let mut channels = Vec::new();
        for c in &config.channels {
            let sink = build_sink(c, &clients, &mut lookup)?;
            channels.push(Channel {
                config: c.clone(),
                sink,
            });
        }
        let (ledger, state) = match (&config.idempotency, &sdk) {
            (Some(i), Some(sdk)) => {
                let client = aws_sdk_dynamodb::Client::new(sdk);
                (
                    Ledger::with_table(client.clone(), i.table.clone(), i.ttl_days),
                    NoiseStore::with_table(client, i.table.clone()),
                )
            }
            _ => (Ledger::in_memory(), NoiseStore::in_memory()),
        };
        Ok(Notifier {
            channels,
            retry: config.retry,
            ledger,
            policy: config.policy()?,
            noise: config.noise,
            state,
            alert: config.alert,
        })
    }

    /// The channels.
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    /// How alerts are dressed.
    pub fn alert_config(&self) -> &AlertConfig {
        &self.alert
    }

    /// The suppressions, never-suppressible rules and staging.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Grouping and rate limits.
    pub fn noise(&self) -> &NoiseConfig {
        &self.noise
    }

    /// The state grouping and rate limits keep.
    pub fn noise_state(&self) -> &NoiseStore {
        &self.state
    }

    /// Delivers one alert to the channels (indexes into [`Notifier::channels`]) in `send_to`;
    /// those in `held_on` are reported [`ChannelOutcome::RateLimited`], the rest
    /// [`ChannelOutcome::NotRouted`].
    pub async fn deliver_planned(
        &self,
        alert: &Alert,
        send_to: &[usize],
        held_on: &[usize],
    ) -> Delivery {
        let dedup_key = alert.dedup_key();
        let sends = self.channels.iter().enumerate().map(|(i, c)| {
            let dedup_key = &dedup_key;
            async move {
                if send_to.contains(&i) {
                    self.deliver_one(c, alert, dedup_key).await
                } else if held_on.contains(&i) {
                    (c.name().to_owned(), ChannelOutcome::RateLimited)
                } else {
                    (c.name().to_owned(), ChannelOutcome::NotRouted)
                }
            }
        });
        let channels = join_all(sends).await;
        Delivery {
            dedup_key,
            headline: alert.headline(),
            channels,
        }
    }

    /// Delivers one alert to every channel that routes it, in parallel; each delivery retried
    /// within the retry budget and skipped if the ledger says it was already made.
    pub async fn deliver(&self, alert: &Alert) -> Delivery {
        let dedup_key = alert.dedup_key();
        let sends = self
            .channels
            .iter()
            .map(|c| self.deliver_one(c, alert, &dedup_key));
        let channels = join_all(sends).await;
        Delivery {
            dedup_key,
            headline: alert.headline(),
            channels,
        }
    }

    async fn deliver_one(
        &self,
        channel: &Channel,
        alert: &Alert,
        dedup_key: &str,
    ) -> (String, ChannelOutcome) {
        let name = channel.name().to_owned();
        if !channel.routes(alert) {
            return (name, ChannelOutcome::NotRouted);
        }
        // A test alert is always sent: it is the fire drill.
        if !alert.is_test() {
            match self.ledger.contains(dedup_key, &name).await {
                Ok(true) => return (name, ChannelOutcome::AlreadySent),
                Ok(false) => {}
                Err(e) => log_warning(&format!("{e}; sending anyway")),
            }
        }
        let thread = self.thread_of(channel, alert).await;
        let attempts = retry(&self.retry, || channel.sink.send(alert, thread.as_deref())).await;
        match attempts.result {
            Ok(ts) => {
                if let Some(ts) = ts {
                    self.remember_thread(channel, alert, &ts).await;
                }
                if let Err(e) = self.ledger.record(dedup_key, &name).await {
                    log_warning(&format!("{e}; a retry may send this alert to {name} again"));
                }
                (
                    name,
                    ChannelOutcome::Sent {
                        attempts: attempts.attempts,
                    },
                )
            }
            Err(e) => (
                name,
                ChannelOutcome::Failed {
                    retryable: e.is_retryable(),
                    error: e.to_string(),
                    attempts: attempts.attempts,
                },
            ),
        }
    }
}

impl Notifier {
    /// The Slack thread a grouped follow-up goes into (none for other alerts and channels).
    async fn thread_of(&self, channel: &Channel, alert: &Alert) -> Option<String> {
        let group = alert.group.as_ref().filter(|g| g.follow_up)?;
        if !channel.threads() {
            return None;
        }
        match self
            .state
            .thread(&thread_key(channel.name(), &group.key))
            .await
        {
            Ok(ts) => ts,
            Err(e) => {
                log_warning(&format!("{e}; the follow-up starts a new thread"));
                None
            }
        }
    }

    /// Records the message that opened a group as the group's thread on this channel.
    async fn remember_thread(&self, channel: &Channel, alert: &Alert, ts: &str) {
        let Some(group) = alert.group.as_ref().filter(|g| !g.follow_up) else {
            return;
        };
        let window = match self.noise.grouping {
            Some(g) => tamperwatch_noise::Window::of(jiff::Timestamp::now(), g.window_secs),
            None => return,
        };
        let key = thread_key(channel.name(), &group.key);
        if let Err(e) = self.state.set_thread(&key, ts, window).await {
            log_warning(&format!(
                "{e}; follow-ups of this group will not be threaded"
            ));
        }
    }
}

fn thread_key(channel: &str, group: &str) -> String {
    format!("{channel}#{group}")
}

fn log_warning(message: &str) {
    eprintln!(
        "{}",
        serde_json::json!({"level": "WARN", "message": message})
    );
}

fn secrets_of(sink: &SinkConfig) -> Vec<&Secret> {
    match sink {
        SinkConfig::Smtp { password, .. } => password.iter().collect(),
        SinkConfig::Slack { webhook_url } | SinkConfig::Teams { webhook_url } => vec![webhook_url],
        SinkConfig::Opsgenie { api_key, .. } => vec![api_key],
        SinkConfig::SlackApp { bot_token, .. } => vec![bot_token],
        SinkConfig::Pagerduty { routing_key, .. } => vec![routing_key],
        SinkConfig::Webhook { url, secret } => std::iter::once(url).chain(secret.iter()).collect(),
        SinkConfig::Sns { .. } | SinkConfig::Log => Vec::new(),
    }
}

async fn resolve(
    secret: &Secret,
    sdk: Option<&aws_config::SdkConfig>,
) -> Result<SecretValue, BuildNotifierError> {
    let err = |message: String| BuildNotifierError::Secret {
        reference: secret.to_string(),
        message,
    };
    match (secret, sdk) {
        (Secret::Value(v), _) => Ok(v.clone()),
        (_, None) => Err(err("no AWS configuration".into())),
        (Secret::Ssm(name), Some(sdk)) => {
            let out = aws_sdk_ssm::Client::new(sdk)
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| err(aws_sdk_ssm::error::DisplayErrorContext(e).to_string()))?;
            out.parameter()
                .and_then(|p| p.value())
                .map(|v| SecretValue::new(v.to_owned()))
                .ok_or_else(|| err("the parameter has no value".into()))
        }
        (Secret::SecretsManager(id), Some(sdk)) => {
            let out = aws_sdk_secretsmanager::Client::new(sdk)
                .get_secret_value()
                .secret_id(id)
                .send()
                .await
                .map_err(|e| {
                    err(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
                })?;
            out.secret_string()
                .map(|v| SecretValue::new(v.to_owned()))
                .ok_or_else(|| err("the secret has no SecretString".into()))
        }
    }
}
