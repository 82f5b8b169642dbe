//! Scheduled drift alerts: which checks changed since the last run.
//!
//! A [`DriftState`] remembers, for each check (by [`CheckResult::key`]), its last decisive
//! verdict: pass or fail. [`DriftState::observe`] takes a run's results and returns only the
//! [`Change`]s: a check that went from pass to fail ([`Change::Broke`]) or from fail to pass
//! ([`Change::Recovered`]). A check that stays failing alerts once, not on every run. Warn,
//! not-applicable and could-not-check leave the memory as it was, so a run whose permissions
//! hiccup neither alerts nor forgets. The state is plain serde data: keep it wherever the
//! scheduler can (an S3 object, an SSM parameter, a DynamoDB item).
//!
//! ```
//! use tamperwatch_posture::drift::{Change, DriftState, Unseen};
//! use tamperwatch_posture::{Place, Service, Status};
//!
//! let place = Place::new("111111111111", "eu-west-1");
//! let on = place.result(Service::Guardduty, "detector-enabled", Status::Pass, "enabled");
//! let off = place.result(Service::Guardduty, "detector-enabled", Status::Fail, "suspended");
//!
//! let mut state = DriftState::default();
//! assert!(state.observe(&[on.clone()], Unseen::AlertFailures).is_empty());
//! assert!(matches!(state.observe(&[off.clone()], Unseen::AlertFailures)[..], [Change::Broke(_)]));
//! assert!(state.observe(&[off], Unseen::AlertFailures).is_empty()); // still off: no new alert
//! assert!(matches!(state.observe(&[on], Unseen::AlertFailures)[..], [Change::Recovered(_)]));
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::result::{CheckResult, Status};

/// A decisive verdict remembered between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The check passed.
    Pass,
    /// The check failed.
    Fail,
}

/// What the previous runs said, per check key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftState {
    /// Check key -> last decisive verdict.
    pub checks: BTreeMap<String, Verdict>,
}

/// A change worth an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The check fails now and did not before (or was never seen, with
    /// [`Unseen::AlertFailures`]).
    Broke(CheckResult),
    /// The check passes now and failed before.
    Recovered(CheckResult),
}

impl Change {
    /// The result that changed.
    pub fn result(&self) -> &CheckResult {
        match self {
            Change::Broke(result) | Change::Recovered(result) => result,
        }
    }
}

/// What a failure of a check never seen before means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unseen {
    /// Alert on it: the first run after deployment reports what was already off (the reason
    /// this check exists: a service may have been off before tamperwatch was deployed).
    #[default]
    AlertFailures,
    /// Only remember it.
    RecordOnly,
}

impl DriftState {
    /// Records a run's results and returns what changed, in the results' order.
    pub fn observe(&mut self, results: &[CheckResult], unseen: Unseen) -> Vec<Change> {
        let mut changes = Vec::new();
        for result in results {
            let now = match result.status {
                Status::Pass => Verdict::Pass,
                Status::Fail => Verdict::Fail,
                Status::Warn | Status::NotApplicable | Status::CouldNotCheck => continue,
            };
            let before = self.checks.insert(result.key(), now);
            match (before, now) {
                (Some(Verdict::Pass), Verdict::Fail) => changes.push(Change::Broke(result.clone())),
                (None, Verdict::Fail) if unseen == Unseen::AlertFailures => {
                    changes.push(Change::Broke(result.clone()));
                }
                (Some(Verdict::Fail), Verdict::Pass) => {
                    changes.push(Change::Recovered(result.clone()));
                }
                _ => {}
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{Place, Service};

    fn result(region: &str, status: Status) -> CheckResult {
        Place::new("111111111111", region).result(Service::Config, "recording", status, "r")
    }

    #[test]
    fn only_transitions_alert() {
        let mut state = DriftState::default();
        let runs = [
            (Status::Pass, 0),
            (Status::Pass, 0),
            (Status::Fail, 1),
            (Status::Fail, 0),
            (Status::CouldNotCheck, 0),
            (Status::Fail, 0),
            (Status::Warn, 0),
            (Status::Pass, 1),
            (Status::Pass, 0),
        ];
        for (i, (status, alerts)) in runs.into_iter().enumerate() {
            let changes = state.observe(&[result("eu-west-1", status)], Unseen::AlertFailures);
            assert_eq!(changes.len(), alerts, "run {i}: {status:?}");
        }
    }

    #[test]
    fn a_failure_never_seen_before_alerts_unless_told_not_to() {
        let fail = [result("us-east-1", Status::Fail)];
        let mut state = DriftState::default();
        assert!(matches!(
            state.observe(&fail, Unseen::AlertFailures)[..],
            [Change::Broke(_)]
        ));
        let mut quiet = DriftState::default();
        assert!(quiet.observe(&fail, Unseen::RecordOnly).is_empty());
        let pass = [result("us-east-1", Status::Pass)];
        assert!(matches!(
            quiet.observe(&pass, Unseen::RecordOnly)[..],
            [Change::Recovered(_)]
        ));
    }

    #[test]
    fn regions_are_separate_checks_and_state_round_trips_as_json() {
        let mut state = DriftState::default();
        state.observe(
            &[
                result("us-east-1", Status::Pass),
                result("eu-west-1", Status::Pass),
            ],
            Unseen::AlertFailures,
        );
        let json = serde_json::to_string(&state).unwrap();
        let mut state: DriftState = serde_json::from_str(&json).unwrap();
        let changes = state.observe(
            &[
                result("us-east-1", Status::Pass),
                result("eu-west-1", Status::Fail),
            ],
            Unseen::AlertFailures,
        );
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].result().region, "eu-west-1");
    }
}
