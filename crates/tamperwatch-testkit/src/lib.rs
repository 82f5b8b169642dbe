//! What the integration tests share.
//!
//! `scripts/test.sh` starts moto (AWS APIs) and aiosmtpd (SMTP) on free loopback ports and
//! names them in environment variables. A test that needs one asks [`server_var`]: without the
//! variable it is skipped with a message, except under `CI=true`, where a missing server is a
//! failure (a suite that silently skips proves nothing).

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// The address a local server's variable names, or `None` (the test skips) outside CI.
///
/// # Panics
///
/// Under `CI=true` when the variable is unset: the tests must run against the servers there.
pub fn server_var(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{name} is not set: run the tests through scripts/test.sh")
        }
        _ => {
            eprintln!("SKIPPED: {name} is not set (scripts/test.sh sets it)");
            None
        }
    }
}

/// moto's URL (`TAMPERWATCH_TEST_MOTO_URL`), see [`server_var`].
pub fn moto_url() -> Option<String> {
    server_var("TAMPERWATCH_TEST_MOTO_URL")
}

/// SDK configuration aimed at moto: us-east-1, static test credentials, no retries (moto
/// answers what it lacks with 404/500, and retrying those only slows the tests). S3 clients
/// also need `force_path_style(true)`.
pub async fn moto_sdk(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

/// A name no earlier run against the same long-lived server has used: `prefix`, then a
/// number from the clock and the process id.
pub fn fresh_name(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        nanos() % 1_000_000_000_000,
        std::process::id()
    )
}

/// An account id no earlier run against the same server has used: `prefix`, then 11 digits.
pub fn fresh_account_id(prefix: char) -> String {
    format!(
        "{prefix}{:011}",
        (nanos() / 1000 + u128::from(std::process::id())) % 100_000_000_000
    )
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}
