//! The channels, built once from their configuration, and one attempt to send on each.

use std::collections::HashMap;
use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_sns::types::MessageAttributeValue;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tamperwatch_alert::{Alert, email, opsgenie, pagerduty, slack, sns, teams, webhook};

use crate::config::{ChannelConfig, OpsgenieRegion, SinkConfig, SmtpSecurity};
use crate::error::SendAlertError;
use crate::secret::SecretValue;
use crate::signature;

/// PagerDuty's Events API v2 endpoint.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";
/// Slack's Web API.
pub const SLACK_API_URL: &str = "https://slack.com";
/// OpsGenie's US endpoint for alerts.
pub const OPSGENIE_US_URL: &str = "https://api.opsgenie.com";
/// OpsGenie's EU endpoint for alerts.
pub const OPSGENIE_EU_URL: &str = "https://api.eu.opsgenie.com";

/// One channel, ready to send.
#[derive(Debug)]
pub struct Channel {
    pub(crate) config: ChannelConfig,
    pub(crate) sink: Sink,
}

impl Channel {
    /// The channel's name.
    pub fn name(&self) -> &str {
        self.config.name()
    }

    /// Whether an alert goes to this channel.
    pub fn routes(&self, alert: &Alert) -> bool {
        self.config.routes(alert)
    }

    /// Whether follow-ups of a group go into its first message's thread (a Slack app).
    pub fn threads(&self) -> bool {
        matches!(self.sink, Sink::SlackApp { .. })
    }

    /// Whether the API itself drops repeats (OpsGenie `alias`, PagerDuty `dedup_key`).
    pub fn deduplicates(&self) -> bool {
        matches!(self.sink, Sink::Opsgenie { .. } | Sink::Pagerduty { .. })
    }
}

/// The shared HTTP client and the attempt timeout its errors are reported with.
pub(crate) struct Http {
    client: reqwest::Client,
    timeout: Duration,
}

impl Http {
    fn post(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.post(url)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<(), SendAlertError> {
        post(req, self.timeout).await
    }
}

/// A destination with its secrets resolved and its clients built.
pub(crate) enum Sink {
    Sns {
        client: aws_sdk_sns::Client,
        topic_arn: String,
    },
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
        to: Vec<Mailbox>,
    },
    Slack {
        http: Http,
        url: SecretValue,
    },
    SlackApp {
        http: Http,
        token: SecretValue,
        channel: String,
        url: String,
    },
    Teams {
        http: Http,
        url: SecretValue,
    },
    Opsgenie {
        http: Http,
        key: SecretValue,
        url: String,
    },
    Pagerduty {
        http: Http,
        key: SecretValue,
        url: String,
    },
    Webhook {
        http: Http,
        url: SecretValue,
        secret: Option<SecretValue>,
    },
    Log,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only the kind: URLs and keys are secrets.
        let kind = match self {
            Sink::Sns { .. } => "sns",
            Sink::Smtp { .. } => "smtp",
            Sink::Slack { .. } => "slack",
            Sink::SlackApp { .. } => "slack_app",
            Sink::Teams { .. } => "teams",
            Sink::Opsgenie { .. } => "opsgenie",
            Sink::Pagerduty { .. } => "pagerduty",
            Sink::Webhook { .. } => "webhook",
            Sink::Log => "log",
        };
        write!(f, "Sink({kind})")
    }
}

/// Why a channel could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildChannelError {
    /// An email address does not parse.
    #[error("channel {channel}: invalid email address {address:?}: {reason}")]
    Address {
        /// The channel.
        channel: String,
        /// The address.
        address: String,
        /// The parser's complaint.
        reason: String,
    },
    /// The SMTP transport could not be built.
    #[error("channel {channel}: SMTP: {source}")]
    Smtp {
        /// The channel.
        channel: String,
        /// The cause.
        #[source]
        source: lettre::transport::smtp::Error,
    },
}

pub(crate) struct Resolved {
    pub http: reqwest::Client,
    pub timeout: Duration,
    pub sns: Option<aws_sdk_sns::Client>,
}

/// Builds a sink from its configuration, its secrets resolved by `secret`.
pub(crate) fn build_sink(
    config: &ChannelConfig,
    clients: &Resolved,
    secret: &mut dyn FnMut(&crate::secret::Secret) -> SecretValue,
) -> Result<Sink, BuildChannelError> {
    let name = config.name().to_owned();
    let http = Http {
        client: clients.http.clone(),
        timeout: clients.timeout,
    };
    Ok(match &config.to {
        SinkConfig::Sns { topic_arn } => match &clients.sns {
            Some(client) => Sink::Sns {
                client: client.clone(),
                topic_arn: topic_arn.clone(),
            },
            None => Sink::Log,
        },
        SinkConfig::Smtp {
            host,
            port,
            security,
            username,
            password,
            from,
            to,
        } => {
            let mailbox = |address: &str| {
                address
                    .parse::<Mailbox>()
                    .map_err(|e| BuildChannelError::Address {
                        channel: name.clone(),
                        address: address.to_owned(),
                        reason: e.to_string(),
                    })
            };
            let builder = match security {
                SmtpSecurity::Starttls => {
                    AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                }
                SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
                SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                    host,
                )),
            }
            .map_err(|source| BuildChannelError::Smtp {
                channel: name.clone(),
                source,
            })?;
            let default_port = match security {
                SmtpSecurity::Tls => 465,
                _ => 587,
            };
            let mut builder = builder
                .port(port.unwrap_or(default_port))
                .timeout(Some(Duration::from_secs(10)));
            if let Some(user) = username {
                let password = password
                    .as_ref()
                    .map(&mut *secret)
                    .unwrap_or_else(|| SecretValue::new(String::new()));
                builder = builder
                    .credentials(Credentials::new(user.clone(), password.expose().to_owned()));
            }
            Sink::Smtp {
                transport: builder.build(),
                from: mailbox(from)?,
                to: to.iter().map(|a| mailbox(a)).collect::<Result<_, _>>()?,
            }
        }
        SinkConfig::Slack { webhook_url } => Sink::Slack {
            http,
            url: secret(webhook_url),
        },
        SinkConfig::SlackApp {
            bot_token,
            channel,
            url,
        } => Sink::SlackApp {
            http,
            token: secret(bot_token),
            channel: channel.clone(),
            url: format!(
                "{}/api/chat.postMessage",
                url.as_deref()
                    .unwrap_or(SLACK_API_URL)
                    .trim_end_matches('/')
            ),
        },
        SinkConfig::Teams { webhook_url } => Sink::Teams {
            http,
            url: secret(webhook_url),
        },
        SinkConfig::Opsgenie {
            api_key,
            region,
            url,
        } => {
            let base = url.clone().unwrap_or_else(|| {
                match region {
                    OpsgenieRegion::Us => OPSGENIE_US_URL,
                    OpsgenieRegion::Eu => OPSGENIE_EU_URL,
                }
                .to_owned()
            });
            Sink::Opsgenie {
                http,
                key: secret(api_key),
                url: format!("{}/v2/alerts", base.trim_end_matches('/')),
            }
        }
        SinkConfig::Pagerduty { routing_key, url } => Sink::Pagerduty {
            http,
            key: secret(routing_key),
            url: url
                .clone()
                .unwrap_or_else(|| PAGERDUTY_EVENTS_URL.to_owned()),
        },
        SinkConfig::Webhook { url, secret: key } => Sink::Webhook {
            http,
            url: secret(url),
            secret: key.as_ref().map(secret),
        },
        SinkConfig::Log => Sink::Log,
    })
}

impl Sink {
    /// One attempt to deliver, into `thread` where the channel threads (a Slack app); returns
    /// the message's thread id (Slack `ts`) where there is one.
    pub(crate) async fn send(
        &self,
        alert: &Alert,
        thread: Option<&str>,
    ) -> Result<Option<String>, SendAlertError> {
        let sent = match self {
            Sink::SlackApp {
                http,
                token,
                channel,
                url,
            } => {
                return send_slack_app(http, token, channel, url, alert, thread)
                    .await
                    .map(Some);
            }
            Sink::Sns { client, topic_arn } => send_sns(client, topic_arn, alert).await,
            Sink::Smtp {
                transport,
                from,
                to,
            } => {
                let mut builder = Message::builder()
                    .from(from.clone())
                    .subject(email::subject(alert));
                for rcpt in to {
                    builder = builder.to(rcpt.clone());
                }
                let message = builder
                    .multipart(MultiPart::alternative_plain_html(
                        email::text(alert),
                        email::html(alert),
                    ))
                    .map_err(|e| SendAlertError::Email(e.to_string()))?;
                transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(SendAlertError::Smtp)
            }
            Sink::Slack { http, url } => {
                http.send(http.post(url.expose()).json(&slack::payload(alert)))
                    .await
            }
            Sink::Teams { http, url } => {
                http.send(http.post(url.expose()).json(&teams::payload(alert)))
                    .await
            }
            Sink::Opsgenie { http, key, url } => {
                let req = http
                    .post(url)
                    .header("Authorization", format!("GenieKey {}", key.expose()))
                    .json(&opsgenie::request(alert));
                http.send(req).await
            }
            Sink::Pagerduty { http, key, url } => {
                let mut event = pagerduty::event(alert);
                if let Some(obj) = event.as_object_mut() {
                    obj.insert("routing_key".into(), key.expose().into());
                }
                http.send(http.post(url).json(&event)).await
            }
            Sink::Webhook { http, url, secret } => {
                let body = webhook::body(alert);
                let mut req = http
                    .post(url.expose())
                    .header("Content-Type", "application/json")
                    .header(signature::DELIVERY_HEADER, alert.dedup_key());
                if let Some(secret) = secret {
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    req = req
                        .header(signature::TIMESTAMP_HEADER, now.to_string())
                        .header(
                            signature::SIGNATURE_HEADER,
                            signature::sign(secret.expose().as_bytes(), now, body.as_bytes()),
                        );
                }
                http.send(req.body(body)).await
            }
            Sink::Log => {
                let line =
                    serde_json::json!({"tamperwatch": "alert", "alert": webhook::payload(alert)});
                let mut out = std::io::stdout().lock();
                writeln!(out, "{line}")
                    .and_then(|()| out.flush())
                    .map_err(SendAlertError::Log)
            }
        };
        sent.map(|()| None)
    }
}

async fn post(req: reqwest::RequestBuilder, timeout: Duration) -> Result<(), SendAlertError> {
    let resp = req
        .send()
        .await
        .map_err(|e| SendAlertError::http(e, timeout))?;
    if resp.status().is_success() {
        return Ok(());
    }
    Err(status_error(resp).await)
}

/// A non-success answer: its status, the start of its body, and `Retry-After`.
async fn status_error(resp: reqwest::Response) -> SendAlertError {
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(30)));
    let body = resp.text().await.unwrap_or_default();
    SendAlertError::Status {
        status: status.as_u16(),
        body: tamperwatch_alert::text::cut(&tamperwatch_alert::text::one_line(&body), 200)
            .into_owned(),
        retry_after,
    }
}

/// `chat.postMessage`: the webhook's Block Kit message, in `channel`, in `thread` if given.
async fn send_slack_app(
    http: &Http,
    token: &SecretValue,
    channel: &str,
    url: &str,
    alert: &Alert,
    thread: Option<&str>,
) -> Result<String, SendAlertError> {
    let mut body = slack::payload(alert);
    if let Some(map) = body.as_object_mut() {
        map.insert("channel".into(), channel.into());
        if let Some(ts) = thread {
            map.insert("thread_ts".into(), ts.into());
        }
    }
    let req = http.post(url).bearer_auth(token.expose()).json(&body);
    post_slack_api(req, http.timeout).await
}

/// Slack's Web API answers 200 with `{"ok": false, "error": ...}` for most failures, 429 with
/// `Retry-After` when rate limited; on success the message's `ts` names its thread.
async fn post_slack_api(
    req: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<String, SendAlertError> {
    #[derive(serde::Deserialize)]
    struct Answer {
        ok: bool,
        #[serde(default)]
        ts: Option<String>,
        #[serde(default)]
        error: Option<String>,
    }
    let resp = req
        .send()
        .await
        .map_err(|e| SendAlertError::http(e, timeout))?;
    if !resp.status().is_success() {
        return Err(status_error(resp).await);
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| SendAlertError::http(e, timeout))?;
    match serde_json::from_slice::<Answer>(&body) {
        Ok(Answer {
            ok: true,
            ts: Some(ts),
            ..
        }) => Ok(ts),
        Ok(Answer { error, .. }) => {
            let error = error.unwrap_or_else(|| "no ts in the answer".to_owned());
            let error =
                tamperwatch_alert::text::cut(&tamperwatch_alert::text::one_line(&error), 100)
                    .into_owned();
            Err(SendAlertError::Slack {
                retryable: matches!(
                    error.as_str(),
                    "ratelimited"
                        | "internal_error"
                        | "fatal_error"
                        | "service_unavailable"
                        | "request_timeout"
                ),
                error,
            })
        }
        Err(e) => Err(SendAlertError::Slack {
            error: format!("unreadable answer: {e}"),
            retryable: true,
        }),
    }
}

async fn send_sns(
    client: &aws_sdk_sns::Client,
    topic_arn: &str,
    alert: &Alert,
) -> Result<(), SendAlertError> {
    let mut attributes = HashMap::new();
    for (name, value) in sns::attributes(alert) {
        let v = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| SendAlertError::Sns {
                message: e.to_string(),
                retryable: false,
            })?;
        attributes.insert(name.to_owned(), v);
    }
    let result = client
        .publish()
        .topic_arn(topic_arn)
        .subject(sns::subject(alert))
        .message(sns::message(alert))
        .message_structure("json")
        .set_message_attributes(Some(attributes))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) => {
            use aws_sdk_sns::error::SdkError;
            let retryable = match &e {
                SdkError::ConstructionFailure(_) => false,
                SdkError::ServiceError(se) => {
                    let status = se.raw().status().as_u16();
                    status >= 500 || status == 429 || {
                        use aws_sdk_sns::error::ProvideErrorMetadata;
                        matches!(
                            se.err().code(),
                            Some(
                                "Throttling"
                                    | "ThrottlingException"
                                    | "ThrottledException"
                                    | "InternalError"
                                    | "KMSThrottling"
                            )
                        )
                    }
                }
                _ => true,
            };
            Err(SendAlertError::Sns {
                message: aws_sdk_sns::error::DisplayErrorContext(&e).to_string(),
                retryable,
            })
        }
    }
}
