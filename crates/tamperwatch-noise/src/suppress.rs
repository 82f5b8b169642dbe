//! Suppressions: data in the config file that says which findings not to send, who decided,
//! why, and until when.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tamperwatch_event::Outcome;

use crate::Subject;
use crate::glob::Glob;

/// One suppression, as written in a `[[suppress]]` table.
///
/// Within a dimension any listed value may match; across dimensions all given must match. A
/// dimension left out does not constrain. `rules` empty means every rule except the
/// never-suppressible ones.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// A unique name, shown in logs, `--explain` and the digest.
    pub name: String,
    /// Why these findings are expected (mandatory).
    pub reason: String,
    /// Who answers for it: a team or a person (mandatory).
    pub owner: String,
    /// A change ticket or other reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// Rule ids (a trailing `*` matches a prefix). Empty: every suppressible rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// `userIdentity.arn` globs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub principal_arn: Vec<Glob>,
    /// The role behind a role session, globs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role_name: Vec<Glob>,
    /// Role session names, globs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub session_name: Vec<Glob>,
    /// IAM Identity Center users (user names or ids), globs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity_center_user: Vec<Glob>,
    /// `userAgent` globs. The user agent is chosen by the caller: never suppress on it alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_agent: Vec<Glob>,
    /// Infrastructure-as-code tools recognised by their user agent (`terraform`, `pulumi`,
    /// `cloudformation`, `cdk`). Like `user_agent`, chosen by the caller.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool: Vec<Tool>,
    /// `userIdentity.invokedBy`, exactly (`securityhub.amazonaws.com`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invoked_by: Vec<String>,
    /// Account ids the event belongs to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// Organizational units (ids `ou-...` or a root `r-...`), through the config's account map.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ous: Vec<String>,
    /// `awsRegion` globs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<Glob>,
    /// `sourceIPAddress`: addresses or CIDR blocks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_ip: Vec<Network>,
    /// Outcomes (`success`, `denied`, `failed`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcome: Vec<Outcome>,
    /// Start of a maintenance window (RFC 3339): events before it are not suppressed. Needs
    /// `expires`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts: Option<Time>,
    /// When the suppression stops applying (RFC 3339), to events after it and at all once the
    /// clock passes it. Mandatory for a window (`starts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Time>,
}

/// An infrastructure-as-code tool, as its user agent shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    /// HashiCorp Terraform (`... HashiCorp/1.0 Terraform/1.9.0 ...`).
    Terraform,
    /// Pulumi (`... pulumi/3.x ...`, `Pulumi/...`).
    Pulumi,
    /// CloudFormation acting for a stack (`cloudformation.amazonaws.com`).
    Cloudformation,
    /// The AWS CDK CLI (`aws-cdk/2.x`).
    Cdk,
}

impl Tool {
    /// Whether a user agent is this tool's.
    pub fn matches(self, user_agent: &str) -> bool {
        let ua = user_agent.to_ascii_lowercase();
        match self {
            Tool::Terraform => ua.contains("terraform/"),
            Tool::Pulumi => ua.contains("pulumi/") || ua.contains("pulumi-"),
            Tool::Cloudformation => ua.contains("cloudformation.amazonaws.com"),
            Tool::Cdk => ua.contains("aws-cdk/") || ua.contains("aws-cdk-"),
        }
    }

    /// The name as written in config.
    pub fn as_str(self) -> &'static str {
        match self {
            Tool::Terraform => "terraform",
            Tool::Pulumi => "pulumi",
            Tool::Cloudformation => "cloudformation",
            Tool::Cdk => "cdk",
        }
    }
}

/// An address or a CIDR block (`203.0.113.7`, `10.0.0.0/8`, `2001:db8::/32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network(pub IpNet);

impl FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(net) = s.parse::<IpNet>() {
            return Ok(Network(net.trunc()));
        }
        s.parse::<IpAddr>()
            .map(|ip| Network(IpNet::from(ip)))
            .map_err(|_| format!("{s:?} is not an IP address or CIDR block"))
    }
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for Network {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An instant written as RFC 3339 (`2027-01-31T18:00:00Z`), as a quoted string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Time(pub Timestamp);

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<Timestamp>().map(Time).map_err(|e| {
            serde::de::Error::custom(format!(
                "{s:?} is not an RFC 3339 time with an offset, like \"2027-01-31T18:00:00Z\": {e}"
            ))
        })
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a suppression did not apply to a finding: the first check that failed, in the order
/// they are made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum Miss {
    /// The clock is past `expires`: the suppression applies to nothing any more.
    Expired {
        /// When it expired.
        at: String,
    },
    /// The rule is not among `rules`.
    Rule,
    /// The event happened before the window opened.
    BeforeWindow {
        /// When the window opens.
        starts: String,
    },
    /// The event happened after `expires`.
    AfterWindow {
        /// When the window closed.
        expires: String,
    },
    /// A dimension did not match; `value` is what the event has (cut, `None` when absent).
    Dimension {
        /// The dimension's config key.
        dimension: &'static str,
        /// The event's value.
        value: Option<String>,
    },
}

impl fmt::Display for Miss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Miss::Expired { at } => write!(f, "expired at {at}"),
            Miss::Rule => f.write_str("not for this rule"),
            Miss::BeforeWindow { starts } => write!(f, "event before the window opens at {starts}"),
            Miss::AfterWindow { expires } => {
                write!(f, "event after the window closed at {expires}")
            }
            Miss::Dimension {
                dimension,
                value: Some(v),
            } => write!(f, "{dimension} does not match {v:?}"),
            Miss::Dimension {
                dimension,
                value: None,
            } => write!(f, "{dimension}: the event has none"),
        }
    }
}

/// Account id → organizational units it sits in (its OU and every parent, up to the root).
pub type OrgMap = BTreeMap<String, Vec<String>>;

/// Values shown in an explanation are cut to this many characters.
const MAX_SHOWN_CHARS: usize = 120;

fn shown(v: Option<&str>) -> Option<String> {
    v.map(|s| s.chars().take(MAX_SHOWN_CHARS).collect())
}

impl Suppression {
    /// Whether the clock has passed `expires`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires.is_some_and(|e| now >= e.0)
    }

    /// Whether the suppression names this rule (or names none).
    pub fn covers_rule(&self, rule_id: &str) -> bool {
        self.rules.is_empty() || self.rules.iter().any(|p| rule_glob(p, rule_id))
    }

    /// Checks the suppression against a finding: `Ok` when it applies, else the first reason it
    /// does not.
    pub fn check(&self, s: &Subject<'_>, orgs: &OrgMap, now: Timestamp) -> Result<(), Miss> {
        if let Some(e) = self.expires
            && now >= e.0
        {
            return Err(Miss::Expired { at: e.to_string() });
        }
        if !self.covers_rule(s.rule_id) {
            return Err(Miss::Rule);
        }
        let event_time = s
            .event
            .event_time
            .as_deref()
            .and_then(|t| t.parse::<Timestamp>().ok());
        if let Some(start) = self.starts {
            // A window needs the event's time: without one, the event is not known to be in it.
            if event_time.is_none_or(|t| t < start.0) {
                return Err(Miss::BeforeWindow {
                    starts: start.to_string(),
                });
            }
        }
        if let (Some(end), Some(t)) = (self.expires, event_time)
            && t >= end.0
        {
            return Err(Miss::AfterWindow {
                expires: end.to_string(),
            });
        }
        let actor = s.actor;
        let event = s.event;
        globs("principal_arn", &self.principal_arn, actor.arn.as_deref())?;
        globs("role_name", &self.role_name, actor.role_name.as_deref())?;
        globs(
            "session_name",
            &self.session_name,
            actor.session_name.as_deref(),
        )?;
        globs(
            "identity_center_user",
            &self.identity_center_user,
            actor.identity_center_user.as_deref(),
        )?;
        globs("user_agent", &self.user_agent, event.user_agent.as_deref())?;
        if !self.tool.is_empty() {
            let ua = event.user_agent.as_deref();
            let by = actor.invoked_by.as_deref();
            let hit = self.tool.iter().any(|t| {
                ua.is_some_and(|u| t.matches(u))
                    || (*t == Tool::Cloudformation && by == Some("cloudformation.amazonaws.com"))
            });
            if !hit {
                return Err(Miss::Dimension {
                    dimension: "tool",
                    value: shown(ua),
                });
            }
        }
        exact("invoked_by", &self.invoked_by, actor.invoked_by.as_deref())?;
        exact("accounts", &self.accounts, event.account_id.as_deref())?;
        if !self.ous.is_empty() {
            let account = event.account_id.as_deref();
            let in_ou = account
                .and_then(|a| orgs.get(a))
                .is_some_and(|ous| ous.iter().any(|o| self.ous.contains(o)));
            if !in_ou {
                return Err(Miss::Dimension {
                    dimension: "ous",
                    value: shown(account),
                });
            }
        }
        globs("regions", &self.regions, event.region.as_deref())?;
        if !self.source_ip.is_empty() {
            let ip = event.source_ip.as_deref();
            let hit = ip
                .and_then(|i| i.parse::<IpAddr>().ok())
                .is_some_and(|addr| self.source_ip.iter().any(|n| n.0.contains(&addr)));
            if !hit {
                return Err(Miss::Dimension {
                    dimension: "source_ip",
                    value: shown(ip),
                });
            }
        }
        if !self.outcome.is_empty() && !self.outcome.contains(&s.outcome) {
            return Err(Miss::Dimension {
                dimension: "outcome",
                value: Some(s.outcome.as_str().to_owned()),
            });
        }
        Ok(())
    }

    /// Whether any dimension narrows who or where (a suppression that names only rules, or
    /// nothing at all, hides every such finding).
    pub fn has_dimension(&self) -> bool {
        !(self.principal_arn.is_empty()
            && self.role_name.is_empty()
            && self.session_name.is_empty()
            && self.identity_center_user.is_empty()
            && self.user_agent.is_empty()
            && self.tool.is_empty()
            && self.invoked_by.is_empty()
            && self.accounts.is_empty()
            && self.ous.is_empty()
            && self.regions.is_empty()
            && self.source_ip.is_empty()
            && self.outcome.is_empty())
    }

    /// Whether the only narrowing dimensions are the caller-chosen ones (`user_agent`, `tool`,
    /// `outcome`, `regions`, `source_ip` can all be chosen or forged by an attacker).
    pub fn only_caller_controlled(&self) -> bool {
        self.principal_arn.is_empty()
            && self.role_name.is_empty()
            && self.session_name.is_empty()
            && self.identity_center_user.is_empty()
            && self.invoked_by.is_empty()
            && self.accounts.is_empty()
            && self.ous.is_empty()
    }
}

/// A rule pattern: exact, or a prefix with a trailing `*` (as channel routing writes them).
pub(crate) fn rule_glob(pattern: &str, id: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => id.starts_with(prefix),
        None => pattern == id,
    }
}

fn globs(dimension: &'static str, patterns: &[Glob], value: Option<&str>) -> Result<(), Miss> {
    if patterns.is_empty() || value.is_some_and(|v| patterns.iter().any(|p| p.matches(v))) {
        return Ok(());
    }
    Err(Miss::Dimension {
        dimension,
        value: shown(value),
    })
}

fn exact(dimension: &'static str, values: &[String], value: Option<&str>) -> Result<(), Miss> {
    if values.is_empty() || value.is_some_and(|v| values.iter().any(|x| x == v)) {
        return Ok(());
    }
    Err(Miss::Dimension {
        dimension,
        value: shown(value),
    })
}
