//! Findings to alerts: one alert model, rendered for each audience.
//!
//! An [`Alert`] is built once from a [`Finding`] (or as a [`Alert::test`] fire drill, or from a
//! scheduled check's [`PostureChange`](posture::PostureChange)) and says
//! who did what, with which outcome, where, from where and when, which rule saw it and what to
//! do. Each medium has its renderer: [`sns`], [`email`], [`slack`], [`teams`], [`opsgenie`],
//! [`pagerduty`] and [`webhook`]. Every field that comes from the event is attacker-controlled
//! text: the alert cuts each to [`MAX_FIELD_CHARS`] when it is built, and each renderer
//! escapes it for its medium (Slack mrkdwn, HTML, Markdown, JSON through serde) and cuts it to
//! the medium's own limits.
//!
//! Rendering is pure: no I/O, no clock, no randomness, so every output is a snapshot test.
//!
//! ```
//! use tamperwatch_alert::{Alert, AlertConfig, sns};
//!
//! let alert = Alert::test(&AlertConfig::default(), "2026-11-30T07:00:00Z");
//! let subject = sns::subject(&alert);
//! assert!(subject.len() < 100 && subject.is_ascii() && !subject.contains('\n'));
//! assert!(subject.starts_with("[TEST]"));
//! ```

pub mod email;
pub mod opsgenie;
pub mod pagerduty;
pub mod posture;
pub mod slack;
pub mod sns;
pub mod teams;
pub mod text;
pub mod webhook;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tamperwatch_detect::{EventSummary, Finding};
use tamperwatch_event::{Actor, IdentityKind, Mfa, Outcome};
use tamperwatch_rules::Level;

/// Every text field taken from an event is cut to this many characters when the alert is
/// built, so no renderer ever sees a 100 KB user agent.
pub const MAX_FIELD_CHARS: usize = 1024;

/// How alerts are dressed: what the event does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// Readable names for account ids, shown beside them ("prod", "security-tooling").
    #[serde(default)]
    pub account_aliases: BTreeMap<String, String>,
}

/// Whether an alert reports a finding or is a fire drill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A rule matched an event.
    Finding,
    /// `tamperwatch notify --test`: a clearly marked test alert.
    Test,
    /// A scheduled check that passed (or was never seen) fails now.
    Drift,
    /// A scheduled check that failed passes again.
    Recovery,
    /// The daily digest of what noise control held back.
    Digest,
}

/// The rule behind an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    /// The rule's id.
    pub id: String,
    /// The rule's title.
    pub title: String,
    /// The rule's own level (the alert's may be lower for an attempt).
    #[serde(serialize_with = "serialize_level")]
    pub level: Level,
    /// MITRE ATT&CK technique ids from the rule's tags (`attack.t1562.008` → `T1562.008`).
    pub attack: Vec<String>,
    /// The rule's short "what to do".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
}

/// One alert: a finding, dressed for people.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// A finding or a test.
    pub kind: AlertKind,
    /// The rule.
    pub rule: RuleInfo,
    /// The effective level (one lower for an attempt that was denied or failed).
    #[serde(serialize_with = "serialize_level")]
    pub level: Level,
    /// Whether the call succeeded, was denied or failed.
    pub outcome: Outcome,
    /// Who.
    pub actor: Actor,
    /// The event's own fields, each cut to [`MAX_FIELD_CHARS`].
    pub event: EventSummary,
    /// The values of the rule's `fields`, as one-line text cut to [`MAX_FIELD_CHARS`].
    pub parameters: Vec<(String, String)>,
    /// The account's alias from the configuration.
    pub account_alias: Option<String>,
    /// The findings this alert stands for, when grouping folded several into it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupInfo>,
    /// The alerts a channel's rate limit held back, when this alert is their summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storm: Option<StormInfo>,
}

/// Findings of one rule, account and principal folded into one alert within a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupInfo {
    /// The group's stable id (`grp-` and hex): the OpsGenie alias and PagerDuty dedup key.
    pub key: String,
    /// Findings in the group's window so far.
    pub count: u64,
    /// Findings this alert stands for.
    pub in_alert: u64,
    /// Distinct resources this alert's findings touched (bounded).
    pub resources: Vec<String>,
    /// Distinct resources left out of `resources`.
    pub more_resources: u64,
    /// Whether an alert of this group was already sent in the window.
    pub follow_up: bool,
}

/// A storm summary: what a channel's rate limit held back in one batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StormInfo {
    /// The channel.
    pub channel: String,
    /// Alerts held back.
    pub alerts: u64,
    /// Findings behind them.
    pub findings: u64,
    /// Every rule involved: id, title, findings.
    pub rules: Vec<(String, String, u64)>,
    /// Every principal involved, with its findings.
    pub principals: Vec<(String, u64)>,
    /// Every account involved.
    pub accounts: Vec<String>,
}

impl Alert {
    /// The alert for a finding.
    pub fn from_finding(finding: &Finding<'_>, config: &AlertConfig) -> Alert {
        let rule = finding.rule;
        Alert {
            kind: AlertKind::Finding,
            rule: RuleInfo {
                id: rule.id().to_owned(),
                title: rule.title().to_owned(),
                level: rule.level(),
                attack: attack_techniques(rule.tags()),
                response: rule.response().map(str::to_owned),
            },
            level: finding.level,
            outcome: finding.outcome,
            actor: finding.actor.clone(),
            event: finding.event.clone(),
            parameters: finding
                .parameters
                .iter()
                .map(|(k, v)| (k.clone(), text::json_value(v)))
                .collect(),
            account_alias: None,
            group: None,
            storm: None,
        }
        .bounded(config)
    }

    /// Every event-derived field cut to [`MAX_FIELD_CHARS`], and the account alias looked up.
    pub(crate) fn bounded(mut self, config: &AlertConfig) -> Alert {
        self.event = bound_event(&self.event);
        self.actor = bound_actor(&self.actor);
        for (k, v) in &mut self.parameters {
            *k = bound(k);
            *v = bound(v);
        }
        self.account_alias = alias_of(config, self.event.account_id.as_deref());
        self
    }

    /// A fire-drill alert, marked as a test everywhere it is shown. `now` is its event time
    /// (RFC 3339, UTC); it also makes the alert's deduplication key unique.
    pub fn test(config: &AlertConfig, now: &str) -> Alert {
        let now = bound(now);
        Alert {
            kind: AlertKind::Test,
            rule: RuleInfo {
                id: "tamperwatch-test".to_owned(),
                title: "tamperwatch test alert".to_owned(),
                level: Level::Informational,
                attack: Vec::new(),
                response: Some(
                    "Nothing: this is a test sent by `tamperwatch notify --test`. If you read \
                     it, this channel works."
                        .to_owned(),
                ),
            },
            level: Level::Informational,
            outcome: Outcome::Success,
            actor: own_actor("tamperwatch notify --test"),
            event: EventSummary {
                event_id: Some(format!("test-{}", sanitize_id(&now))),
                event_time: Some(now),
                event_source: Some("tamperwatch".to_owned()),
                event_name: Some("TestAlert".to_owned()),
                event_type: Some("TamperwatchTest".to_owned()),
                ..EventSummary::default()
            },
            parameters: Vec::new(),
            account_alias: None,
            group: None,
            storm: None,
        }
        .bounded(config)
    }

    /// The summary of the alerts a channel's rate limit held back: the most severe of them,
    /// carrying every rule, principal and account involved. `None` when nothing was held.
    pub fn storm(held: &[&Alert], channel: &str) -> Option<Alert> {
        let lead = held.iter().max_by_key(|a| a.level)?;
        let mut rules: BTreeMap<&str, (&str, u64)> = BTreeMap::new();
        let mut principals: BTreeMap<&str, u64> = BTreeMap::new();
        let mut accounts: BTreeMap<&str, ()> = BTreeMap::new();
        let mut findings = 0;
        for a in held {
            let n = a.group.as_ref().map_or(1, |g| g.in_alert);
            findings += n;
            rules.entry(&a.rule.id).or_insert((&a.rule.title, 0)).1 += n;
            *principals
                .entry(a.actor.arn.as_deref().unwrap_or(&a.actor.name))
                .or_default() += n;
            accounts.insert(
                a.event.account_id.as_deref().unwrap_or("unknown account"),
                (),
            );
        }
        let mut alert = (*lead).clone();
        alert.group = None;
        alert.storm = Some(StormInfo {
            channel: bound(channel),
            alerts: held.len() as u64,
            findings,
            rules: rules
                .into_iter()
                .map(|(id, (title, n))| (id.to_owned(), title.to_owned(), n))
                .collect(),
            principals: principals
                .into_iter()
                .map(|(p, n)| (p.to_owned(), n))
                .collect(),
            accounts: accounts.into_keys().map(str::to_owned).collect(),
        });
        Some(alert)
    }

    /// The key under which a paging service keeps one incident: the group's id for a grouped
    /// alert (so follow-ups update the first), the storm summary's key, else
    /// [`Alert::dedup_key`].
    pub fn incident_key(&self) -> String {
        match &self.group {
            Some(g) if self.storm.is_none() => format!("tamperwatch/{}", sanitize_id(&g.key)),
            _ => self.dedup_key(),
        }
    }

    /// The storm summary line: `12 alerts (340 findings) held by the rate limit of slack:
    /// rules a (300), b (40); principals p (200), q (140); accounts 1, 2`.
    pub fn storm_line(&self) -> Option<String> {
        let s = self.storm.as_ref()?;
        let rules: Vec<String> = s
            .rules
            .iter()
            .map(|(id, title, n)| format!("{title} [{id}] ({n})"))
            .collect();
        let principals: Vec<String> = s
            .principals
            .iter()
            .map(|(p, n)| format!("{p} ({n})"))
            .collect();
        Some(format!(
            "{} alerts ({} findings) held by the rate limit of {}: rules {}; principals {}; accounts {}",
            s.alerts,
            s.findings,
            s.channel,
            rules.join(", "),
            principals.join(", "),
            s.accounts.join(", ")
        ))
    }

    /// The grouping line: `25 findings in this window (this alert: 5); resources a, b (+3 more);
    /// a follow-up`.
    pub fn group_line(&self) -> Option<String> {
        let g = self.group.as_ref()?;
        let mut s = format!(
            "{} findings in this window (this alert: {})",
            g.count, g.in_alert
        );
        if !g.resources.is_empty() {
            s.push_str("; resources ");
            s.push_str(&g.resources.join(", "));
            if g.more_resources > 0 {
                s.push_str(&format!(" (+{} more)", g.more_resources));
            }
        }
        if g.follow_up {
            s.push_str("; a follow-up of an alert already sent");
        }
        Some(s)
    }

    /// The daily digest of `day` (`YYYY-MM-DD`): how many findings each suppression hid, and
    /// how many staging held back (`counts`, by name), as the alert's parameters. It happened
    /// at `now` (RFC 3339, UTC), which also makes its deduplication key unique.
    pub fn digest(config: &AlertConfig, day: &str, counts: &[(String, u64)], now: &str) -> Alert {
        let total: u64 = counts.iter().map(|(_, n)| n).sum();
        let mut alert = Alert::test(config, now);
        alert.kind = AlertKind::Digest;
        alert.rule = RuleInfo {
            id: "tamperwatch-digest".to_owned(),
            title: format!("tamperwatch digest for {}", bound(day)),
            level: Level::Informational,
            attack: Vec::new(),
            response: Some(
                "Review what was held back: each line is a suppression (or staging) and the \
                 findings it hid that day. `tamperwatch scan --config FILE --explain` shows \
                 them one by one; renew or remove suppressions that should not hide this much."
                    .to_owned(),
            ),
        };
        alert.actor.name = "tamperwatch noise control".to_owned();
        alert.event.event_id = Some(format!("digest-{}", sanitize_id(day)));
        alert.event.event_name = Some(format!("{total} findings held back"));
        alert.event.event_type = Some("TamperwatchDigest".to_owned());
        alert.parameters = counts
            .iter()
            .map(|(name, n)| (bound(name), n.to_string()))
            .collect();
        alert
    }

    /// Whether this is a digest.
    pub fn is_digest(&self) -> bool {
        self.kind == AlertKind::Digest
    }

    /// Whether this is a fire drill.
    pub fn is_test(&self) -> bool {
        self.kind == AlertKind::Test
    }

    /// The key that makes a repeated delivery of the same alert a no-op: the rule and the
    /// event's `eventID` (OpsGenie `alias`, PagerDuty `dedup_key`, the idempotency record).
    /// Without an `eventID`, the event's time, source, name and actor stand in for it.
    pub fn dedup_key(&self) -> String {
        let event = match &self.event.event_id {
            Some(id) => sanitize_id(id),
            None => sanitize_id(&format!(
                "{}|{}|{}|{}",
                self.event.event_time.as_deref().unwrap_or(""),
                self.event.event_source.as_deref().unwrap_or(""),
                self.event.event_name.as_deref().unwrap_or(""),
                self.actor.arn.as_deref().unwrap_or(&self.actor.name),
            )),
        };
        let key = match &self.storm {
            Some(storm) => format!(
                "tamperwatch/storm/{}/{}/{}",
                sanitize_id(&storm.channel),
                sanitize_id(&self.rule.id),
                event
            ),
            None => format!("tamperwatch/{}/{}", sanitize_id(&self.rule.id), event),
        };
        text::cut_bytes(&key, 250).into_owned()
    }

    /// `done` or `attempted (denied)` / `attempted (failed)`, with the error code; for a
    /// posture change, the check's new state.
    pub fn outcome_phrase(&self) -> String {
        match self.kind {
            AlertKind::Drift => {
                return "now failing (it passed before, or was never checked)".to_owned();
            }
            AlertKind::Recovery => return "passing again (it failed before)".to_owned(),
            AlertKind::Finding | AlertKind::Test | AlertKind::Digest => {}
        }
        let code = self.event.error_code.as_deref().map(text::one_line);
        match (self.outcome, code) {
            (Outcome::Success, _) => "done (the call succeeded)".to_owned(),
            (Outcome::Denied, Some(code)) => format!("attempted, denied ({code})"),
            (Outcome::Denied, None) => "attempted, denied".to_owned(),
            (Outcome::Failed, Some(code)) => format!("attempted, failed ({code})"),
            (Outcome::Failed, None) => "attempted, failed".to_owned(),
        }
    }

    /// One line: `[CRITICAL] CloudTrail logging stopped: StopLogging by user/mallory in
    /// 111122223333/us-east-1` (not escaped, not cut). A posture change names the service and
    /// check instead: `[HIGH] Security service check fails: guardduty detector-enabled in ...`.
    pub fn headline(&self) -> String {
        if self.is_posture_change() {
            let s = format!(
                "[{}] {}: {} in {}",
                level_name(self.level).to_ascii_uppercase(),
                self.rule.title,
                self.what(),
                self.where_short()
            );
            return text::one_line(&s).into_owned();
        }
        if self.is_digest() {
            let held = self.event.event_name.as_deref().unwrap_or("?");
            return text::one_line(&format!("[DIGEST] {}: {held}", self.rule.title)).into_owned();
        }
        let mut s = String::new();
        if self.is_test() {
            s.push_str("[TEST] ");
        }
        s.push('[');
        s.push_str(&level_name(self.level).to_ascii_uppercase());
        s.push_str("] ");
        if let Some(storm) = &self.storm {
            s.push_str(&format!(
                "Storm: {} alerts held on {} ({} rules, {} principals), most severe: ",
                storm.alerts,
                storm.channel,
                storm.rules.len(),
                storm.principals.len()
            ));
        }
        if self.outcome.is_attempt() {
            s.push_str("Attempt: ");
        }
        s.push_str(&self.rule.title);
        s.push_str(": ");
        s.push_str(self.event.event_name.as_deref().unwrap_or("?"));
        s.push_str(" by ");
        s.push_str(&self.actor.name);
        s.push_str(" in ");
        s.push_str(&self.where_short());
        if let Some(g) = self.group.as_ref().filter(|g| g.count > 1) {
            s.push_str(&format!(" ({} events)", g.count));
        }
        text::one_line(&s).into_owned()
    }

    /// `111122223333 (prod) us-east-1`.
    pub fn where_short(&self) -> String {
        let account = self
            .event
            .account_id
            .as_deref()
            .unwrap_or("unknown account");
        let region = self.event.region.as_deref().unwrap_or("unknown region");
        match &self.account_alias {
            Some(alias) => format!("{account} ({alias}) {region}"),
            None => format!("{account} {region}"),
        }
    }

    /// The actor with its ARN and identity type: `user/alice (IAMUser, arn:aws:iam::...)`.
    pub fn who(&self) -> String {
        if self.is_posture_change() {
            return self.actor.name.clone();
        }
        let mut s = self.actor.name.clone();
        let mut extra = vec![self.actor.kind.as_str().to_owned()];
        if let Some(arn) = &self.actor.arn {
            extra.push(arn.clone());
        }
        if let Some(by) = &self.actor.invoked_by {
            extra.push(format!("via {by}"));
        }
        match self.actor.mfa {
            Mfa::Yes => extra.push("MFA".to_owned()),
            Mfa::No => extra.push("no MFA".to_owned()),
            Mfa::Unknown => {}
        }
        s.push_str(" (");
        s.push_str(&extra.join(", "));
        s.push(')');
        s
    }

    /// `cloudtrail.amazonaws.com StopLogging`.
    pub fn what(&self) -> String {
        format!(
            "{} {}",
            self.event.event_source.as_deref().unwrap_or("?"),
            self.event.event_name.as_deref().unwrap_or("?")
        )
    }

    /// `198.51.100.7, aws-cli/2.15`.
    pub fn from_where(&self) -> String {
        let ip = self.event.source_ip.as_deref().unwrap_or("unknown address");
        match &self.event.user_agent {
            Some(ua) => format!("{ip}, user agent {ua}"),
            None => ip.to_owned(),
        }
    }

    /// `2026-11-30T07:00:00Z (UTC)`.
    pub fn when(&self) -> String {
        match &self.event.event_time {
            Some(t) => format!("{t} (UTC)"),
            None => "unknown time".to_owned(),
        }
    }

    /// `rule-id, level critical (rule: critical), ATT&CK T1562.008`.
    pub fn rule_line(&self) -> String {
        let mut s = format!(
            "{} ({}), level {}",
            self.rule.title,
            self.rule.id,
            level_name(self.level)
        );
        if self.level != self.rule.level {
            s.push_str(&format!(
                " (rule: {}; lowered for an attempt)",
                level_name(self.rule.level)
            ));
        }
        if !self.rule.attack.is_empty() {
            s.push_str(", ATT&CK ");
            s.push_str(&self.rule.attack.join(", "));
        }
        s
    }

    /// The event in the CloudTrail console, when its eventID and region are well-formed (the
    /// link is built only from `[A-Za-z0-9-]`, so it cannot be turned into another URL).
    pub fn console_url(&self) -> Option<String> {
        if self.is_test() || self.is_posture_change() {
            return None;
        }
        let id = self.event.event_id.as_deref().filter(|s| is_token(s))?;
        let region = self.event.region.as_deref().filter(|s| is_token(s))?;
        Some(format!(
            "https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}#/events/{id}"
        ))
    }

    /// ATT&CK technique pages.
    pub fn attack_urls(&self) -> Vec<(String, String)> {
        self.rule
            .attack
            .iter()
            .map(|t| {
                (
                    t.clone(),
                    format!(
                        "https://attack.mitre.org/techniques/{}/",
                        t.replace('.', "/")
                    ),
                )
            })
            .collect()
    }
}

/// The level's lowercase name.
pub fn level_name(level: Level) -> &'static str {
    level.as_str()
}

fn serialize_level<S: serde::Serializer>(level: &Level, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(level.as_str())
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Keeps `[A-Za-z0-9._:-]`, maps everything else to `_`: safe in keys, headers and URLs.
fn sanitize_id(s: &str) -> String {
    text::cut(s, 200)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn bound(s: &str) -> String {
    text::cut(s, MAX_FIELD_CHARS).into_owned()
}

fn bound_opt(s: &Option<String>) -> Option<String> {
    s.as_deref().map(bound)
}

fn bound_event(e: &EventSummary) -> EventSummary {
    EventSummary {
        event_id: bound_opt(&e.event_id),
        event_time: bound_opt(&e.event_time),
        event_source: bound_opt(&e.event_source),
        event_name: bound_opt(&e.event_name),
        event_type: bound_opt(&e.event_type),
        account_id: bound_opt(&e.account_id),
        region: bound_opt(&e.region),
        source_ip: bound_opt(&e.source_ip),
        user_agent: bound_opt(&e.user_agent),
        error_code: bound_opt(&e.error_code),
        error_message: bound_opt(&e.error_message),
        read_only: e.read_only,
    }
}

/// The actor of an alert tamperwatch raises itself (a test, a scheduled check): no AWS
/// identity, only a name.
fn own_actor(name: &str) -> Actor {
    Actor {
        kind: IdentityKind::Unknown,
        name: name.to_owned(),
        arn: None,
        account_id: None,
        access_key_id: None,
        role_name: None,
        session_name: None,
        identity_center_user: None,
        invoked_by: None,
        mfa: Mfa::Unknown,
    }
}

fn bound_actor(a: &Actor) -> Actor {
    Actor {
        kind: a.kind,
        name: bound(&a.name),
        arn: bound_opt(&a.arn),
        account_id: bound_opt(&a.account_id),
        access_key_id: bound_opt(&a.access_key_id),
        role_name: bound_opt(&a.role_name),
        session_name: bound_opt(&a.session_name),
        identity_center_user: bound_opt(&a.identity_center_user),
        invoked_by: bound_opt(&a.invoked_by),
        mfa: a.mfa,
    }
}

fn alias_of(config: &AlertConfig, account: Option<&str>) -> Option<String> {
    config.account_aliases.get(account?).map(|a| bound(a))
}

/// `attack.t1562.008` → `T1562.008`; tactic tags (`attack.defense_evasion`) are left out.
fn attack_techniques(tags: &[String]) -> Vec<String> {
    tags.iter()
        .filter_map(|t| {
            let rest = t.strip_prefix("attack.")?;
            let first = rest.chars().next()?;
            let digits = rest.get(1..)?;
            if (first == 't' || first == 'T')
                && digits.chars().next().is_some_and(|c| c.is_ascii_digit())
                && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
            {
                Some(format!("T{digits}"))
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn attack_tags() {
        let tags = [
            "attack.defense_evasion",
            "attack.t1562.008",
            "attack.T1070",
            "attack.tx",
        ]
        .map(str::to_owned);
        assert_eq!(attack_techniques(&tags), ["T1562.008", "T1070"]);
    }

    #[test]
    fn console_url_refuses_odd_ids() {
        let mut a = fixtures::stop_logging();
        assert_eq!(
            a.console_url().as_deref(),
            Some(
                "https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/3f2a8c1e-9b7d-4e2a-8f1c-0d9e8b7a6c5d"
            )
        );
        a.event.event_id = Some("x/../evil.example#".to_owned());
        assert_eq!(a.console_url(), None);
    }

    #[test]
    fn dedup_key_is_stable_and_safe() {
        let a = fixtures::stop_logging();
        assert_eq!(
            a.dedup_key(),
            "tamperwatch/tw-cloudtrail-stop-logging/3f2a8c1e-9b7d-4e2a-8f1c-0d9e8b7a6c5d"
        );
        let h = fixtures::hostile();
        let k = h.dedup_key();
        assert!(
            k.len() <= 250 && k.chars().all(|c| c.is_ascii_graphic()),
            "{k}"
        );
    }

    #[test]
    fn groups_share_an_incident_key_and_storms_name_everyone() {
        let g = fixtures::grouped();
        let mut other_event = fixtures::grouped();
        other_event.event.event_id = Some("another-event".to_owned());
        assert_eq!(g.incident_key(), other_event.incident_key());
        assert_ne!(
            g.dedup_key(),
            other_event.dedup_key(),
            "the ledger still tells them apart"
        );
        assert_eq!(
            g.incident_key(),
            "tamperwatch/grp-0123456789abcdef0123456789abcdef"
        );
        assert!(g.headline().ends_with("(12 events)"), "{}", g.headline());

        let s = fixtures::storm();
        let info = s.storm.as_ref().unwrap();
        assert_eq!((info.alerts, info.findings), (3, 6));
        assert_eq!(info.rules.len(), 2);
        assert_eq!(info.principals.len(), 3);
        assert_eq!(
            s.level,
            Level::Critical,
            "led by the most severe held alert"
        );
        assert!(s.dedup_key().starts_with("tamperwatch/storm/slack/"));
        assert_eq!(s.incident_key(), s.dedup_key());
        let line = s.storm_line().unwrap();
        for who in ["user/mallory", "user/eve", "alice@example.com"] {
            assert!(line.contains(who), "{who} in {line}");
        }
        assert!(Alert::storm(&[], "slack").is_none());
    }

    #[test]
    fn fields_are_bounded() {
        let h = fixtures::hostile();
        assert!(
            h.event
                .user_agent
                .as_deref()
                .is_some_and(|s| s.chars().count() <= MAX_FIELD_CHARS)
        );
    }
}
