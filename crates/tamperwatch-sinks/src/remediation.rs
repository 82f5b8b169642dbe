//! Auto-remediation (off by default): a finding on a `StopLogging`,
//! `StopConfigurationRecorder` or GuardDuty `UpdateDetector` with `enable=false` makes the
//! pipeline reverse it (see [`tamperwatch_posture::remediate`]) before the alert goes out, and
//! the alert says what was done and whether it worked.
//!
//! Only the function's own account is acted on: in an organization, events of other accounts
//! reach the central bus too, and their trail or detector names would resolve to this
//! account's resources. Every action turns a security service back on, so a forged event can
//! at worst restart something already running (the calls are idempotent).

use aws_config::SdkConfig;
use tamperwatch_event::Record;
use tamperwatch_posture::fix::{PlannedFix, apply};
use tamperwatch_posture::remediate::remediation_for;

/// The credentials remediation acts with, and the account they belong to.
#[derive(Debug, Clone)]
pub struct Remediation {
    sdk: SdkConfig,
    account: String,
}

impl Remediation {
    /// Acts with `sdk` (the function's role) in `account` only.
    pub fn new(sdk: SdkConfig, account: String) -> Self {
        Remediation { sdk, account }
    }

    /// The fix for a record, if it is one remediation reverses.
    pub fn plan(&self, record: &Record<'_>) -> Option<PlannedFix> {
        remediation_for(record)
    }

    /// Makes the fix, and says in one line what was done (or why not).
    pub async fn apply(&self, fix: &PlannedFix) -> Outcome {
        if fix.account != self.account {
            return Outcome {
                done: false,
                note: format!(
                    "not reversed: {} is in account {}, and this function acts only in its own \
                     account {}",
                    fix.action, fix.account, self.account
                ),
            };
        }
        match apply(&self.sdk, fix).await {
            Ok(()) => Outcome {
                done: true,
                note: format!("reversed: {fix} succeeded"),
            },
            Err(e) => Outcome {
                done: false,
                note: format!("NOT reversed: {e}"),
            },
        }
    }
}

/// What one remediation did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    /// Whether the fix was made.
    pub done: bool,
    /// One line for the alert and the log (no secrets: names and the service's error).
    pub note: String,
}
