//! The policy: suppressions, never-suppressible rules and staging, compiled once; one
//! [`Verdict`] per finding, with its [`Explanation`].

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::Subject;
use crate::storm::{GroupingConfig, RateLimit};
use crate::suppress::{Miss, OrgMap, Suppression, rule_glob};

/// The tag a rule carries to be never suppressible: no suppression hides it, and staging does
/// not hold it back.
pub const NEVER_SUPPRESS_TAG: &str = "tamperwatch.never-suppress";

/// The `[noise]` table of the config file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseConfig {
    /// Rule ids (a trailing `*` matches a prefix) no suppression may hide, beside the rules
    /// tagged `tamperwatch.never-suppress`.
    #[serde(default)]
    pub never_suppress: Vec<String>,
    /// Rule ids in staging: their findings are logged and counted, never sent.
    #[serde(default)]
    pub staging: Vec<String>,
    /// Organizational unit id → the accounts in it (list an account under its OU and every
    /// parent OU it should match). Events carry no OU: suppressions by `ous` use this map.
    #[serde(default)]
    pub organizational_units: BTreeMap<String, Vec<String>>,
    /// Grouping of repeated findings; off when absent.
    #[serde(default)]
    pub grouping: Option<GroupingConfig>,
    /// The rate limit of every channel, unless `channel_rate_limits` names it; none when
    /// absent.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Per-channel rate limits, by channel name.
    #[serde(default)]
    pub channel_rate_limits: BTreeMap<String, RateLimit>,
    /// Channels (by name) that get the daily digest of what was suppressed and staged.
    #[serde(default)]
    pub digest_channels: Vec<String>,
}

impl NoiseConfig {
    /// The rate limit of a channel.
    pub fn rate_limit(&self, channel: &str) -> Option<RateLimit> {
        self.channel_rate_limits
            .get(channel)
            .copied()
            .or(self.rate_limit)
    }
}

/// Why the suppressions in a config cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BuildPolicyError {
    /// Two suppressions share a name.
    #[error("two suppressions are named {0:?}: give each a unique `name`")]
    DuplicateName(String),
    /// A mandatory field is empty.
    #[error("suppression {name:?}: `{field}` must not be empty")]
    Empty {
        /// The suppression.
        name: String,
        /// The field.
        field: &'static str,
    },
    /// A window without an end.
    #[error("suppression {0:?}: a window (`starts`) needs `expires`")]
    OpenWindow(String),
    /// A window that ends before it starts.
    #[error("suppression {0:?}: `expires` is not after `starts`")]
    EmptyWindow(String),
    /// A suppression that names no rule and no dimension would hide everything.
    #[error(
        "suppression {0:?} names no rule and no principal, account, region, address or other \
         dimension: it would hide every finding"
    )]
    Unbounded(String),
    /// A grouping or rate-limit setting is zero.
    #[error("[noise] {0}")]
    Setting(String),
}

/// What to do with a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Alert.
    Send,
    /// A suppression applies: log it, count it, do not send it.
    Suppressed,
    /// The rule is in staging: log it, count it, do not send it.
    Staged,
}

/// Why a finding got its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The verdict.
    pub verdict: Verdict,
    /// The suppression that applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Option<SuppressionRef>,
    /// Whether the rule is never suppressible.
    pub never_suppressible: bool,
    /// Whether the rule is in staging.
    pub staged: bool,
    /// Suppressions that would have applied but for the rule being never suppressible.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overridden: Vec<String>,
    /// For every other suppression, the first reason it did not apply.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub misses: Vec<(String, Miss)>,
}

/// The suppression that hid a finding, as logs and the digest name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuppressionRef {
    /// Its name.
    pub name: String,
    /// Its reason.
    pub reason: String,
    /// Its owner.
    pub owner: String,
    /// Its ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// When it expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

impl SuppressionRef {
    fn of(s: &Suppression) -> SuppressionRef {
        SuppressionRef {
            name: s.name.clone(),
            reason: s.reason.clone(),
            owner: s.owner.clone(),
            ticket: s.ticket.clone(),
            expires: s.expires.map(|e| e.to_string()),
        }
    }
}

impl Explanation {
    /// One line for people: `suppressed by terraform-deploys (platform@example.com: ...)`,
    /// `sent: never suppressible (terraform-deploys would have applied)`, or `sent: no
    /// suppression applies (a: expired at ...; b: role_name does not match "x")`.
    pub fn line(&self) -> String {
        let mut s = match (self.verdict, &self.suppression) {
            (Verdict::Suppressed, Some(r)) => {
                let mut s = format!("suppressed by {} (owner {}: {}", r.name, r.owner, r.reason);
                if let Some(t) = &r.ticket {
                    s.push_str(&format!("; ticket {t}"));
                }
                if let Some(e) = &r.expires {
                    s.push_str(&format!("; expires {e}"));
                }
                s.push(')');
                s
            }
            (Verdict::Staged, _) => {
                "staged: the rule is in staging, logged and not sent".to_owned()
            }
            _ if self.never_suppressible && !self.overridden.is_empty() => format!(
                "sent: the rule is never suppressible ({} would have applied)",
                self.overridden.join(", ")
            ),
            _ if self.never_suppressible => "sent: the rule is never suppressible".to_owned(),
            _ if self.misses.is_empty() => "sent: no suppression is configured".to_owned(),
            _ => "sent: no suppression applies".to_owned(),
        };
        if self.verdict != Verdict::Suppressed && !self.misses.is_empty() {
            let misses: Vec<String> = self
                .misses
                .iter()
                .map(|(name, m)| format!("{name}: {m}"))
                .collect();
            s.push_str(&format!(" ({})", misses.join("; ")));
        }
        s
    }
}

/// The compiled policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    suppressions: Vec<Suppression>,
    never_suppress: Vec<String>,
    staging: Vec<String>,
    orgs: OrgMap,
}

impl Policy {
    /// Checks and compiles the suppressions and the `[noise]` settings.
    pub fn new(
        config: &NoiseConfig,
        suppressions: &[Suppression],
    ) -> Result<Policy, BuildPolicyError> {
        let mut names = BTreeSet::new();
        for s in suppressions {
            if !names.insert(s.name.as_str()) {
                return Err(BuildPolicyError::DuplicateName(s.name.clone()));
            }
            for (field, v) in [
                ("name", &s.name),
                ("reason", &s.reason),
                ("owner", &s.owner),
            ] {
                if v.trim().is_empty() {
                    return Err(BuildPolicyError::Empty {
                        name: s.name.clone(),
                        field,
                    });
                }
            }
            match (s.starts, s.expires) {
                (Some(_), None) => return Err(BuildPolicyError::OpenWindow(s.name.clone())),
                (Some(a), Some(b)) if b <= a => {
                    return Err(BuildPolicyError::EmptyWindow(s.name.clone()));
                }
                _ => {}
            }
            if s.rules.is_empty() && !s.has_dimension() {
                return Err(BuildPolicyError::Unbounded(s.name.clone()));
            }
        }
        if let Some(g) = &config.grouping {
            g.check().map_err(BuildPolicyError::Setting)?;
        }
        for limit in config
            .rate_limit
            .iter()
            .chain(config.channel_rate_limits.values())
        {
            limit.check().map_err(BuildPolicyError::Setting)?;
        }
        let mut orgs = OrgMap::new();
        for (ou, accounts) in &config.organizational_units {
            for a in accounts {
                orgs.entry(a.clone()).or_default().push(ou.clone());
            }
        }
        Ok(Policy {
            suppressions: suppressions.to_vec(),
            never_suppress: config.never_suppress.clone(),
            staging: config.staging.clone(),
            orgs,
        })
    }

    /// The suppressions.
    pub fn suppressions(&self) -> &[Suppression] {
        &self.suppressions
    }

    /// Whether no suppression, never-suppress list or staging is configured.
    pub fn is_empty(&self) -> bool {
        self.suppressions.is_empty() && self.staging.is_empty()
    }

    /// Whether a rule is never suppressible: by its tag, or by the config.
    pub fn never_suppressible(&self, rule_id: &str, tags: &[String]) -> bool {
        tags.iter().any(|t| t == NEVER_SUPPRESS_TAG)
            || self.never_suppress.iter().any(|p| rule_glob(p, rule_id))
    }

    /// Whether a rule is in staging.
    pub fn staged(&self, rule_id: &str) -> bool {
        self.staging.iter().any(|p| rule_glob(p, rule_id))
    }

    /// The verdict on a finding at `now` (wall-clock time: expiry), with why.
    pub fn decide(&self, s: &Subject<'_>, now: Timestamp) -> Explanation {
        let never = self.never_suppressible(s.rule_id, s.rule_tags);
        let staged = self.staged(s.rule_id);
        let mut applied = None;
        let mut overridden = Vec::new();
        let mut misses = Vec::new();
        for sup in &self.suppressions {
            match sup.check(s, &self.orgs, now) {
                Ok(()) if never => overridden.push(sup.name.clone()),
                Ok(()) => {
                    if applied.is_none() {
                        applied = Some(SuppressionRef::of(sup));
                    }
                }
                Err(m) => misses.push((sup.name.clone(), m)),
            }
        }
        let verdict = if never {
            Verdict::Send
        } else if applied.is_some() {
            Verdict::Suppressed
        } else if staged {
            Verdict::Staged
        } else {
            Verdict::Send
        };
        if verdict == Verdict::Suppressed {
            misses.clear();
        }
        Explanation {
            verdict,
            suppression: applied,
            never_suppressible: never,
            staged,
            overridden,
            misses,
        }
    }
}
