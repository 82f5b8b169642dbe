//! `tamperwatch config check`: mistakes in suppressions that parse but would not do what their
//! author meant: expired windows, patterns that match nothing plausible, rules that do not
//! exist, a suppression aimed at a never-suppressible rule, and suppressions that lean only on
//! what a caller chooses (the user agent).

use std::fmt;

use jiff::Timestamp;
use serde::Serialize;

use crate::Policy;
use crate::policy::NoiseConfig;
use crate::suppress::{Suppression, rule_glob};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look; the config works.
    Warning,
    /// The config does not do what it says: `config check` fails.
    Error,
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// How bad.
    pub severity: Severity,
    /// The suppression it is about, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        match &self.suppression {
            Some(s) => write!(f, "{sev}: suppression {s:?}: {}", self.message),
            None => write!(f, "{sev}: {}", self.message),
        }
    }
}

/// A rule as the check sees it.
#[derive(Debug, Clone, Copy)]
pub struct KnownRule<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its tags.
    pub tags: &'a [String],
}

/// Every AWS region name this version knows (commercial, GovCloud, China), for the
/// `regions` check.
pub const REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// Checks the suppressions against the rules at `now`. Errors the policy itself refuses
/// ([`Policy::new`]) come first, as one error.
pub fn check(
    config: &NoiseConfig,
    suppressions: &[Suppression],
    rules: &[KnownRule<'_>],
    now: Timestamp,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let policy = match Policy::new(config, suppressions) {
        Ok(p) => p,
        Err(e) => {
            out.push(Problem {
                severity: Severity::Error,
                suppression: None,
                message: e.to_string(),
            });
            return out;
        }
    };
    let never = |r: &KnownRule<'_>| policy.never_suppressible(r.id, r.tags);
    for pattern in config.staging.iter().chain(&config.never_suppress) {
        if !rules.iter().any(|r| rule_glob(pattern, r.id)) {
            out.push(problem(
                Severity::Error,
                None,
                format!("no rule matches {pattern:?} in [noise]"),
            ));
        }
    }
    for r in rules.iter().filter(|r| policy.staged(r.id) && never(r)) {
        out.push(problem(
            Severity::Warning,
            None,
            format!(
                "rule {} is in staging but never suppressible: it is still sent",
                r.id
            ),
        ));
    }
    for s in suppressions {
        let mut p = |severity, message: String| {
            out.push(problem(severity, Some(&s.name), message));
        };
        if s.is_expired(now) {
            p(
                Severity::Warning,
                format!(
                    "expired at {}: it no longer applies; remove it or renew it with a new reason",
                    s.expires.map(|e| e.to_string()).unwrap_or_default()
                ),
            );
        }
        if s.expires.is_none() {
            p(
                Severity::Warning,
                "no `expires`: it applies for ever; give it a review date".to_owned(),
            );
        }
        for pattern in &s.rules {
            let matched: Vec<&KnownRule<'_>> =
                rules.iter().filter(|r| rule_glob(pattern, r.id)).collect();
            if matched.is_empty() {
                p(Severity::Error, format!("no rule matches {pattern:?}"));
            }
            // A pattern written to reach a never-suppressible rule is a mistake either way: it
            // would do nothing for that rule.
            for r in matched.iter().filter(|r| never(r)) {
                p(
                    Severity::Error,
                    format!(
                        "rule {} is never suppressible: this suppression would never hide it",
                        r.id
                    ),
                );
            }
        }
        if !s.has_dimension() {
            p(
                Severity::Warning,
                "names only rules: it turns those rules off for every principal; prefer staging or \
                 narrowing it to the principals expected"
                    .to_owned(),
            );
        } else if s.only_caller_controlled() {
            p(
                Severity::Warning,
                "matches only on what the caller chooses (user agent, tool, region, address, \
                 outcome): an attacker can send the same; add a principal, role or account"
                    .to_owned(),
            );
        }
        for g in &s.principal_arn {
            if g.is_only_wildcards() {
                p(
                    Severity::Error,
                    format!("principal_arn {g:?} matches every principal"),
                );
            } else if !g.as_str().starts_with("arn:") {
                p(
                    Severity::Error,
                    format!(
                        "principal_arn {g:?} does not start with `arn:`: no principal ARN matches it"
                    ),
                );
            }
        }
        for (dim, globs) in [
            ("role_name", &s.role_name),
            ("session_name", &s.session_name),
            ("identity_center_user", &s.identity_center_user),
            ("user_agent", &s.user_agent),
            ("regions", &s.regions),
        ] {
            for g in globs.iter().filter(|g| g.is_only_wildcards()) {
                p(
                    Severity::Error,
                    format!("{dim} {g:?} matches everything: leave {dim} out instead"),
                );
            }
        }
        for g in s
            .role_name
            .iter()
            .filter(|g| g.as_str().contains([':', '/']))
        {
            p(
                Severity::Error,
                format!(
                    "role_name {g:?} holds `:` or `/`: role names have neither (give the name, not the ARN or path)"
                ),
            );
        }
        for g in s
            .regions
            .iter()
            .filter(|g| !REGIONS.iter().any(|r| g.matches(r)))
        {
            p(
                Severity::Error,
                format!("regions {g:?} matches no AWS region"),
            );
        }
        for a in s.accounts.iter().filter(|a| !is_account_id(a)) {
            p(
                Severity::Error,
                format!("accounts {a:?} is not a 12-digit account id"),
            );
        }
        for ou in &s.ous {
            if !(ou.starts_with("ou-") || ou.starts_with("r-")) {
                p(
                    Severity::Error,
                    format!("ous {ou:?} is not an OU (`ou-...`) or root (`r-...`) id"),
                );
            } else if !config.organizational_units.contains_key(ou) {
                p(
                    Severity::Error,
                    format!(
                        "ous {ou:?} is not in [noise.organizational_units]: no account is in it"
                    ),
                );
            }
        }
        for by in s
            .invoked_by
            .iter()
            .filter(|b| !b.ends_with(".amazonaws.com") && *b != "AWS Internal")
        {
            p(
                Severity::Error,
                format!("invoked_by {by:?} is not an AWS service principal (`*.amazonaws.com`)"),
            );
        }
        for n in s.source_ip.iter().filter(|n| n.0.prefix_len() == 0) {
            p(
                Severity::Error,
                format!("source_ip {n} matches every address"),
            );
        }
    }
    for (ou, accounts) in &config.organizational_units {
        for a in accounts.iter().filter(|a| !is_account_id(a)) {
            out.push(problem(
                Severity::Error,
                None,
                format!("organizational_units.{ou}: {a:?} is not a 12-digit account id"),
            ));
        }
    }
    out
}

fn problem(severity: Severity, suppression: Option<&str>, message: String) -> Problem {
    Problem {
        severity,
        suppression: suppression.map(str::to_owned),
        message,
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sup(v: serde_json::Value) -> Suppression {
        let mut base =
            json!({"name": "s", "reason": "r", "owner": "o", "expires": "2099-01-01T00:00:00Z"});
        base.as_object_mut()
            .unwrap()
            .extend(v.as_object().unwrap().clone());
        serde_json::from_value(base).unwrap()
    }

    fn problems(config: serde_json::Value, s: serde_json::Value) -> Vec<String> {
        let tags = vec!["tamperwatch.never-suppress".to_owned()];
        let rules = [
            KnownRule {
                id: "tw-a",
                tags: &[],
            },
            KnownRule {
                id: "tw-root-login",
                tags: &tags,
            },
        ];
        let config: NoiseConfig = serde_json::from_value(config).unwrap();
        let now: Timestamp = "2026-11-30T12:00:00Z".parse().unwrap();
        check(&config, &[sup(s)], &rules, now)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn clean() {
        assert_eq!(
            problems(
                json!({}),
                json!({"rules": ["tw-a"], "role_name": ["terraform-*"]})
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn finds_each_mistake() {
        let cases = [
            (
                json!({"expires": "2026-01-01T00:00:00Z", "role_name": ["x"]}),
                "warning: suppression \"s\": expired at 2026-01-01T00:00:00Z",
            ),
            (
                json!({"rules": ["tw-nope"], "role_name": ["x"]}),
                "no rule matches \"tw-nope\"",
            ),
            (
                json!({"rules": ["tw-root-*"], "role_name": ["x"]}),
                "rule tw-root-login is never suppressible",
            ),
            (
                json!({"principal_arn": ["terraform-*"]}),
                "does not start with `arn:`",
            ),
            (json!({"principal_arn": ["*"]}), "matches every principal"),
            (
                json!({"role_name": ["arn:aws:iam::1:role/x"]}),
                "role names have neither",
            ),
            (json!({"session_name": ["**"]}), "matches everything"),
            (
                json!({"regions": ["us-east-9"], "role_name": ["x"]}),
                "matches no AWS region",
            ),
            (json!({"accounts": ["1111"]}), "not a 12-digit account id"),
            (
                json!({"ous": ["ou-x"]}),
                "not in [noise.organizational_units]",
            ),
            (json!({"ous": ["sandbox"]}), "is not an OU"),
            (
                json!({"invoked_by": ["securityhub"]}),
                "not an AWS service principal",
            ),
            (
                json!({"source_ip": ["0.0.0.0/0"], "role_name": ["x"]}),
                "matches every address",
            ),
            (
                json!({"user_agent": ["*Terraform*"]}),
                "an attacker can send the same",
            ),
            (json!({"rules": ["tw-a"]}), "names only rules"),
        ];
        for (s, want) in cases {
            let got = problems(json!({}), s.clone());
            assert!(
                got.iter().any(|p| p.contains(want)),
                "{s}: want {want:?}, got {got:?}"
            );
        }
        let got = problems(
            json!({"staging": ["tw-root-login"]}),
            json!({"role_name": ["x"]}),
        );
        assert!(
            got.iter()
                .any(|p| p.contains("in staging but never suppressible")),
            "{got:?}"
        );
        let got = problems(json!({"staging": ["tw-gone"]}), json!({"role_name": ["x"]}));
        assert!(
            got.iter()
                .any(|p| p.contains("no rule matches \"tw-gone\" in [noise]")),
            "{got:?}"
        );
        let mut no_expiry = sup(json!({"role_name": ["x"]}));
        no_expiry.expires = None;
        let p = check(
            &NoiseConfig::default(),
            &[no_expiry],
            &[],
            Timestamp::UNIX_EPOCH,
        );
        assert!(p[0].message.contains("no `expires`"));
    }
}
