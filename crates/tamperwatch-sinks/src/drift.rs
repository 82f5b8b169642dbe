//! Scheduled drift alerts: a run's check results in, an alert for each check that broke or
//! recovered since the last run out, the state kept in DynamoDB between runs.
//!
//! The state ([`DriftState`]) lives in one item of the idempotency table (partition key `pk` =
//! `drift#` and a scope, such as the account id; no `expires_at`, so it never expires) with a
//! version number. A run:
//!
//! 1. reads the state (consistently);
//! 2. compares the results with it ([`DriftState::observe`]: pass→fail and fail→pass only,
//!    a failure never seen before counts as broken so the first run reports what was already
//!    off);
//! 3. delivers one alert per change, each with a key made of the check, the direction and the
//!    new version, so the delivery ledger makes a repeated run a no-op;
//! 4. saves the state only if every delivery succeeded, conditionally on the version it read.
//!
//! A failed delivery leaves the state unsaved: the next run sees the same change and sends it
//! again (channels that already have it are skipped by the ledger). Two overlapping runs make
//! the same keys, and only one of them saves.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tamperwatch_alert::Alert;
use tamperwatch_alert::posture::PostureChange;
use tamperwatch_posture::CheckResult;
use tamperwatch_posture::drift::{Change, DriftState, Unseen};

use crate::notifier::{Delivery, Notifier};

/// The prefix of the state item's key in the idempotency table (delivery records start with
/// `tamperwatch/`).
pub const KEY_PREFIX: &str = "drift#";

/// Where the state is kept: one item of a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DriftStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    key: String,
}

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("drift state in table {table}: {message}")]
pub struct DriftStoreError {
    table: String,
    message: String,
}

/// Whether a run's state was saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Saved {
    /// Saved as the new version.
    Saved,
    /// Another run saved a newer version first; this run's changes were the same ones.
    Superseded,
    /// Not saved, because a delivery failed: the next run sends the changes again.
    NotSaved,
}

/// What one run did.
#[derive(Debug, Clone, Serialize)]
pub struct DriftRun {
    /// Results compared.
    pub checked: usize,
    /// The keys of the checks that broke.
    pub broke: Vec<String>,
    /// The keys of the checks that recovered.
    pub recovered: Vec<String>,
    /// The state version this run read.
    pub version: u64,
    /// Each change's deliveries.
    pub deliveries: Vec<Delivery>,
    /// Whether the state was saved.
    pub saved: Saved,
}

impl DriftRun {
    /// Whether some change did not reach every channel (the run should fail, to be seen).
    pub fn failed(&self) -> bool {
        self.deliveries.iter().any(Delivery::failed)
    }
}

impl DriftStore {
    /// The state of `scope` (an account id, a deployment name) in `table`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: String, scope: &str) -> Self {
        DriftStore {
            client,
            table,
            key: format!("{KEY_PREFIX}{scope}"),
        }
    }

    fn error(&self, message: String) -> DriftStoreError {
        DriftStoreError {
            table: self.table.clone(),
            message,
        }
    }

    /// The saved state and its version (an empty state, version 0, before the first run).
    pub async fn load(&self) -> Result<(DriftState, u64), DriftStoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(self.key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
        let Some(item) = out.item() else {
            return Ok((DriftState::default(), 0));
        };
        let version = match item.get("version") {
            Some(AttributeValue::N(n)) => n.parse::<u64>().map_err(|_| {
                self.error(format!("item {}: version {n:?} is not a number", self.key))
            })?,
            _ => return Err(self.error(format!("item {}: no numeric version", self.key))),
        };
        let state = match item.get("state") {
            Some(AttributeValue::S(json)) => serde_json::from_str(json)
                .map_err(|e| self.error(format!("item {}: state: {e}", self.key)))?,
            _ => return Err(self.error(format!("item {}: no state", self.key))),
        };
        Ok((state, version))
    }

    /// Saves `state` as version `read + 1`, unless another run saved since `read`.
    pub async fn save(
        &self,
        state: &DriftState,
        read: u64,
        now: &str,
    ) -> Result<Saved, DriftStoreError> {
        let json = serde_json::to_string(state)
            .map_err(|e| self.error(format!("cannot encode the state: {e}")))?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(self.key.clone()))
            .item("version", AttributeValue::N((read + 1).to_string()))
            .item("state", AttributeValue::S(json))
            .item("updated_at", AttributeValue::S(now.to_owned()))
            .condition_expression("attribute_not_exists(pk) OR version = :read")
            .expression_attribute_values(":read", AttributeValue::N(read.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Saved::Saved),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(Saved::Superseded)
            }
            Err(e) => Err(self.error(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())),
        }
    }
}

/// The alert input for one change seen by the run that read `version`.
pub fn posture_change(change: &Change, version: u64, now: &str) -> PostureChange {
    let (recovered, result) = match change {
        Change::Broke(r) => (false, r),
        Change::Recovered(r) => (true, r),
    };
    let digest = Sha256::digest(result.key().as_bytes());
    let id = format!(
        "drift-{}-{}-{}",
        hex::encode(&digest[..8]),
        if recovered { "recovered" } else { "broke" },
        version + 1
    );
    PostureChange {
        recovered,
        account: result.account.clone(),
        region: result.region.clone(),
        service: result.service.as_str().to_owned(),
        check: result.check.clone(),
        resource: result.resource.clone(),
        reason: result.reason.clone(),
        fix: result.fix.clone(),
        observed_at: now.to_owned(),
        id,
    }
}

/// Compares a run's results with the stored state, alerts on each change through `notifier`,
/// and saves the state when every alert went out. `now` is the run's time (RFC 3339, UTC).
pub async fn alert_changes(
    notifier: &Notifier,
    store: &DriftStore,
    results: &[CheckResult],
    now: &str,
) -> Result<DriftRun, DriftStoreError> {
    let (mut state, version) = store.load().await?;
    let changes = state.observe(results, Unseen::AlertFailures);
    let mut run = DriftRun {
        checked: results.len(),
        broke: Vec::new(),
        recovered: Vec::new(),
        version,
        deliveries: Vec::with_capacity(changes.len()),
        saved: Saved::NotSaved,
    };
    for change in &changes {
        match change {
            Change::Broke(r) => run.broke.push(r.key()),
            Change::Recovered(r) => run.recovered.push(r.key()),
        }
        let alert = Alert::posture_change(
            &posture_change(change, version, now),
            notifier.alert_config(),
        );
        run.deliveries.push(notifier.deliver(&alert).await);
    }
    if !run.failed() {
        run.saved = store.save(&state, version, now).await?;
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use tamperwatch_posture::{Place, Service, Status};

    use super::*;

    #[test]
    fn change_ids_name_the_check_direction_and_run() {
        let place = Place::new("111111111111", "eu-west-1");
        let off = place.result(Service::Config, "recording", Status::Fail, "stopped");
        let broke = posture_change(&Change::Broke(off.clone()), 4, "2026-11-30T10:00:00Z");
        let recovered = posture_change(&Change::Recovered(off.clone()), 4, "t");
        assert!(broke.id.starts_with("drift-") && broke.id.ends_with("-broke-5"));
        assert_ne!(broke.id, recovered.id);
        let other_region = Place::new("111111111111", "us-east-1").result(
            Service::Config,
            "recording",
            Status::Fail,
            "stopped",
        );
        assert_ne!(
            broke.id,
            posture_change(&Change::Broke(other_region), 4, "t").id
        );
        assert_eq!(broke.service, "config");
        assert!(!broke.recovered && recovered.recovered);
    }
}
