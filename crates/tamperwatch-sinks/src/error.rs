//! Delivery errors, each retryable or not.

use std::time::Duration;

/// Why one attempt to deliver an alert to a channel failed. The message never holds a secret
/// (URLs are stripped from HTTP errors: webhook URLs carry tokens).
#[derive(Debug, thiserror::Error)]
pub enum SendAlertError {
    /// The endpoint answered with a non-success status.
    #[error("HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Status {
        /// The status code.
        status: u16,
        /// The start of the response body.
        body: String,
        /// `Retry-After`, when the endpoint gave one.
        retry_after: Option<Duration>,
    },
    /// The request could not be sent or its answer not read.
    #[error("request failed: {message}")]
    Http {
        /// The error and its causes, without the URL.
        message: String,
        /// Whether trying again may help.
        retryable: bool,
    },
    /// The attempt took longer than the attempt timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// SNS refused or could not be reached.
    #[error("SNS Publish failed: {message}")]
    Sns {
        /// The SDK's description.
        message: String,
        /// Whether trying again may help.
        retryable: bool,
    },
    /// The Slack Web API answered `"ok": false`.
    #[error("Slack API error: {error}")]
    Slack {
        /// Slack's error code (`channel_not_found`, `invalid_auth`, `ratelimited`, ...).
        error: String,
        /// Whether trying again may help.
        retryable: bool,
    },
    /// The SMTP exchange failed.
    #[error("SMTP: {0}")]
    Smtp(#[source] lettre::transport::smtp::Error),
    /// The email could not be built (a bad address).
    #[error("cannot build the email: {0}")]
    Email(String),
    /// Writing the log line failed.
    #[error("cannot write to stdout: {0}")]
    Log(#[source] std::io::Error),
}

impl SendAlertError {
    /// Whether trying again may succeed: timeouts, connection failures, HTTP 408, 425, 429
    /// and 5xx, SMTP 4xx, SNS throttling and server errors. Other 4xx and bad configuration
    /// are permanent.
    pub fn is_retryable(&self) -> bool {
        match self {
            SendAlertError::Status { status, .. } => matches!(status, 408 | 425 | 429 | 500..=599),
            SendAlertError::Http { retryable, .. } => *retryable,
            SendAlertError::Timeout(_) => true,
            SendAlertError::Sns { retryable, .. } => *retryable,
            SendAlertError::Slack { retryable, .. } => *retryable,
            SendAlertError::Smtp(e) => !e.is_permanent(),
            SendAlertError::Email(_) => false,
            SendAlertError::Log(_) => true,
        }
    }

    /// The wait the endpoint asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SendAlertError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl SendAlertError {
    /// An HTTP client error, its URL (which may hold a token) removed, its causes kept.
    pub(crate) fn http(e: reqwest::Error, timeout: Duration) -> SendAlertError {
        if e.is_timeout() {
            return SendAlertError::Timeout(timeout);
        }
        let retryable = !(e.is_builder() || e.is_redirect() || e.is_decode());
        let e = e.without_url();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        SendAlertError::Http { message, retryable }
    }
}
