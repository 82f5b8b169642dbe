//! Alerts that no event triggered: a security-service check that changed between two scheduled
//! runs ([`Alert::posture_change`]), and the note an auto-remediation adds to a finding's alert
//! ([`Alert::with_remediation`]).
//!
//! A posture change is dressed as an alert like any other, so every renderer shows it without
//! a line of its own: the service and check stand where an event's source and name stand, the
//! check's reason and state are its parameters, and the check's fix is its "what to do".

use tamperwatch_detect::EventSummary;
use tamperwatch_event::Outcome;
use tamperwatch_rules::Level;

use crate::{Alert, AlertConfig, AlertKind, RuleInfo, bound, own_actor, sanitize_id};

/// The name shown as the actor of a posture change.
pub const SCHEDULED_CHECK: &str = "tamperwatch scheduled check";

/// One check that changed verdict between two scheduled runs (plain data: the alert crate does
/// not depend on the posture crate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostureChange {
    /// `true`: the check passes again; `false`: it passed (or was never seen) and fails now.
    pub recovered: bool,
    /// The account checked.
    pub account: String,
    /// The region checked.
    pub region: String,
    /// The service (`cloudtrail`, `guardduty`, ...).
    pub service: String,
    /// The check (`trail-logging`, `detector-enabled`, ...).
    pub check: String,
    /// The resource the check is about, if any.
    pub resource: Option<String>,
    /// Why the check says what it says now.
    pub reason: String,
    /// How to put it right, for a person.
    pub fix: Option<String>,
    /// When the run saw it (RFC 3339, UTC).
    pub observed_at: String,
    /// What makes this change's alert unique and a repeat of it a no-op: the check's identity,
    /// the direction and the run that saw it (see [`Alert::dedup_key`]).
    pub id: String,
}

impl Alert {
    /// The alert for a check that broke (level high) or recovered (level low, so that the
    /// default routing, which drops informational alerts, still delivers the all-clear).
    pub fn posture_change(change: &PostureChange, config: &AlertConfig) -> Alert {
        let (kind, level, title, status) = if change.recovered {
            (
                AlertKind::Recovery,
                Level::Low,
                "Security service check passes again",
                "pass (was fail)",
            )
        } else {
            (
                AlertKind::Drift,
                Level::High,
                "Security service check fails",
                "fail (was pass or never seen)",
            )
        };
        let mut parameters = vec![
            ("status".to_owned(), status.to_owned()),
            ("reason".to_owned(), change.reason.clone()),
        ];
        if let Some(resource) = &change.resource {
            parameters.push(("resource".to_owned(), resource.clone()));
        }
        Alert {
            kind,
            rule: RuleInfo {
                id: format!("tamperwatch-drift-{}", sanitize_id(&change.service)),
                title: title.to_owned(),
                level,
                attack: Vec::new(),
                response: if change.recovered {
                    Some("Nothing: the check passes again.".to_owned())
                } else {
                    change.fix.clone()
                },
            },
            level,
            outcome: Outcome::Success,
            actor: own_actor(SCHEDULED_CHECK),
            event: EventSummary {
                event_id: Some(change.id.clone()),
                event_time: Some(change.observed_at.clone()),
                event_source: Some(change.service.clone()),
                event_name: Some(change.check.clone()),
                event_type: Some("TamperwatchPostureCheck".to_owned()),
                account_id: Some(change.account.clone()),
                region: Some(change.region.clone()),
                ..EventSummary::default()
            },
            parameters,
            account_alias: None,
            group: None,
            storm: None,
        }
        .bounded(config)
    }

    /// Whether this alert reports a posture change rather than an event.
    pub fn is_posture_change(&self) -> bool {
        matches!(self.kind, AlertKind::Drift | AlertKind::Recovery)
    }

    /// The alert with what auto-remediation did about its event, shown first among its
    /// parameters (so even renderers that show only a few keep it).
    #[must_use]
    pub fn with_remediation(mut self, done: &str) -> Alert {
        self.parameters
            .insert(0, ("tamperwatch remediation".to_owned(), bound(done)));
        self
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::fixtures;

    #[test]
    fn headlines_say_what_changed_and_where() {
        assert_eq!(
            fixtures::drift().headline(),
            "[HIGH] Security service check fails: guardduty detector-enabled in 111122223333 (prod) eu-west-1"
        );
        assert_eq!(
            fixtures::recovery().headline(),
            "[LOW] Security service check passes again: guardduty detector-enabled in 111122223333 (prod) eu-west-1"
        );
    }

    #[test]
    fn changes_have_their_own_keys_and_no_console_link() {
        let (drift, recovery) = (fixtures::drift(), fixtures::recovery());
        assert_ne!(drift.dedup_key(), recovery.dedup_key());
        assert!(drift.is_posture_change() && !fixtures::stop_logging().is_posture_change());
        assert_eq!(drift.console_url(), None);
        assert_eq!(
            recovery.outcome_phrase(),
            "passing again (it failed before)"
        );
    }

    #[test]
    fn remediation_comes_first() {
        let a = fixtures::stop_logging().with_remediation("restarted");
        assert_eq!(a.parameters[0].0, "tamperwatch remediation");
        assert_eq!(a.parameters.len(), 2);
    }
}
