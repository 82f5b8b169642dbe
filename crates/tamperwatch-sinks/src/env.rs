//! Every environment variable tamperwatch's alerting reads, in one place.
//!
//! The Lambda and `tamperwatch notify` read the same variables. A channel given here is added
//! to the channels of the TOML file named by [`CONFIG`], if any. Values that are secrets
//! (marked *secret*) may be references: `ssm:/path/to/parameter` (SSM Parameter Store,
//! decrypted) or `secretsmanager:NAME-OR-ARN` (Secrets Manager); they are resolved once at
//! cold start.
//!
//! The AWS SDK reads its own variables as usual (`AWS_REGION`, credentials, and
//! `AWS_ENDPOINT_URL`, which points every client at another endpoint, such as moto in tests).

/// Path of an optional TOML configuration file (see `docs/alerting.md`).
pub const CONFIG: &str = "TAMPERWATCH_CONFIG";
/// ARN of an SNS topic to publish alerts to.
pub const SNS_TOPIC_ARN: &str = "TAMPERWATCH_SNS_TOPIC_ARN";
/// Slack incoming-webhook URL (*secret*).
pub const SLACK_WEBHOOK_URL: &str = "TAMPERWATCH_SLACK_WEBHOOK_URL";
/// Microsoft Teams Workflows webhook URL (*secret*).
pub const TEAMS_WEBHOOK_URL: &str = "TAMPERWATCH_TEAMS_WEBHOOK_URL";
/// OpsGenie API key of an API integration (*secret*).
pub const OPSGENIE_API_KEY: &str = "TAMPERWATCH_OPSGENIE_API_KEY";
/// OpsGenie instance: `us` (default) or `eu`.
pub const OPSGENIE_REGION: &str = "TAMPERWATCH_OPSGENIE_REGION";
/// OpsGenie API base URL, overriding the region's (tests, proxies).
pub const OPSGENIE_URL: &str = "TAMPERWATCH_OPSGENIE_URL";
/// PagerDuty Events API v2 integration (routing) key (*secret*).
pub const PAGERDUTY_ROUTING_KEY: &str = "TAMPERWATCH_PAGERDUTY_ROUTING_KEY";
/// PagerDuty Events API URL, overriding `https://events.pagerduty.com/v2/enqueue`.
pub const PAGERDUTY_URL: &str = "TAMPERWATCH_PAGERDUTY_URL";
/// Generic webhook URL (*secret*: URLs often carry tokens).
pub const WEBHOOK_URL: &str = "TAMPERWATCH_WEBHOOK_URL";
/// Key for the generic webhook's HMAC-SHA256 signature (*secret*).
pub const WEBHOOK_SECRET: &str = "TAMPERWATCH_WEBHOOK_SECRET";
/// SMTP server host name; setting it adds an email channel.
pub const SMTP_HOST: &str = "TAMPERWATCH_SMTP_HOST";
/// SMTP port (default 587).
pub const SMTP_PORT: &str = "TAMPERWATCH_SMTP_PORT";
/// SMTP security: `starttls` (default), `tls` (implicit TLS) or `none` (tests only).
pub const SMTP_SECURITY: &str = "TAMPERWATCH_SMTP_SECURITY";
/// SMTP user name.
pub const SMTP_USERNAME: &str = "TAMPERWATCH_SMTP_USERNAME";
/// SMTP password (*secret*).
pub const SMTP_PASSWORD: &str = "TAMPERWATCH_SMTP_PASSWORD";
/// Sender address.
pub const SMTP_FROM: &str = "TAMPERWATCH_SMTP_FROM";
/// Recipient addresses, comma-separated.
pub const SMTP_TO: &str = "TAMPERWATCH_SMTP_TO";
/// `true` to also write every alert as one JSON line on stdout (CloudWatch Logs in a Lambda).
pub const LOG_ALERTS: &str = "TAMPERWATCH_LOG_ALERTS";
/// Lowest level sent to the channels given by environment variables (default `low`).
pub const MIN_LEVEL: &str = "TAMPERWATCH_MIN_LEVEL";
/// Account aliases, `111122223333=prod,444455556666=dev`.
pub const ACCOUNT_ALIASES: &str = "TAMPERWATCH_ACCOUNT_ALIASES";
/// DynamoDB table recording delivered (alert, channel) pairs, so a retry does not re-send.
pub const IDEMPOTENCY_TABLE: &str = "TAMPERWATCH_IDEMPOTENCY_TABLE";
/// Days a delivery record is kept (the table's TTL attribute is `expires_at`; default 7).
pub const IDEMPOTENCY_TTL_DAYS: &str = "TAMPERWATCH_IDEMPOTENCY_TTL_DAYS";
/// Most attempts per delivery (default 4).
pub const RETRY_MAX_ATTEMPTS: &str = "TAMPERWATCH_RETRY_MAX_ATTEMPTS";
/// Most time, in milliseconds, spent on one delivery, attempts and waits included (default
/// 20000). Keep it well under the Lambda timeout.
pub const RETRY_MAX_TOTAL_MS: &str = "TAMPERWATCH_RETRY_MAX_TOTAL_MS";
/// Timeout of one attempt, in milliseconds (default 5000).
pub const ATTEMPT_TIMEOUT_MS: &str = "TAMPERWATCH_ATTEMPT_TIMEOUT_MS";
/// Channels (by name, comma-separated; a channel set by a variable above is named by its type:
/// `sns`, `slack`, ...) that get the daily digest of suppressed and staged findings.
pub const DIGEST_CHANNELS: &str = "TAMPERWATCH_DIGEST_CHANNELS";

/// Every variable above, for documentation and `--help`.
pub const ALL: &[&str] = &[
    CONFIG,
    SNS_TOPIC_ARN,
    SLACK_WEBHOOK_URL,
    TEAMS_WEBHOOK_URL,
    OPSGENIE_API_KEY,
    OPSGENIE_REGION,
    OPSGENIE_URL,
    PAGERDUTY_ROUTING_KEY,
    PAGERDUTY_URL,
    WEBHOOK_URL,
    WEBHOOK_SECRET,
    SMTP_HOST,
    SMTP_PORT,
    SMTP_SECURITY,
    SMTP_USERNAME,
    SMTP_PASSWORD,
    SMTP_FROM,
    SMTP_TO,
    LOG_ALERTS,
    MIN_LEVEL,
    ACCOUNT_ALIASES,
    IDEMPOTENCY_TABLE,
    IDEMPOTENCY_TTL_DAYS,
    RETRY_MAX_ATTEMPTS,
    RETRY_MAX_TOTAL_MS,
    ATTEMPT_TIMEOUT_MS,
    DIGEST_CHANNELS,
];
