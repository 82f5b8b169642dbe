//! Event patterns derived from rules' necessary constraints, packed within EventBridge's size
//! limit.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tamperwatch_rules::Rule;

/// EventBridge's default limit on the size of one event pattern, in characters (adjustable to
/// 4096 by a quota increase; tamperwatch stays within the default).
///
/// Sizes are measured on the pattern written with a space after every `,` and `:` (as Python
/// and some tools write JSON), so a pattern fits however the template tool re-serialises it.
pub const MAX_PATTERN_CHARS: usize = 2048;

/// The `detail-type`s under which EventBridge delivers CloudTrail records: API calls, console
/// actions, console sign-ins (real events say `Sign In`, some AWS pages `Signin`: both are
/// accepted) and service events.
pub const CLOUDTRAIL_DETAIL_TYPES: [&str; 5] = [
    "AWS API Call via CloudTrail",
    "AWS Console Action via CloudTrail",
    "AWS Console Sign In via CloudTrail",
    "AWS Console Signin via CloudTrail",
    "AWS Service Event via CloudTrail",
];

/// `userIdentity.type` values CloudTrail writes, in its spelling.
const IDENTITY_TYPES: [&str; 10] = [
    "AssumedRole",
    "AWSAccount",
    "AWSService",
    "FederatedUser",
    "IAMUser",
    "IdentityCenterUser",
    "Root",
    "SAMLUser",
    "Unknown",
    "WebIdentityUser",
];

/// The patterns cannot be built from these rules.
#[derive(Debug, thiserror::Error)]
pub enum BuildPatternsError {
    /// A rule requires an eventSource that is not an AWS service endpoint, so EventBridge
    /// never delivers its events under an `aws.*` source.
    #[error(
        "{rule}: eventSource {event_source:?} is not <service>.amazonaws.com, so no EventBridge \
         source can be derived for it"
    )]
    NotAnAwsEventSource {
        /// The rule's origin (file).
        rule: String,
        /// The eventSource as the rule spells it.
        event_source: String,
    },
    /// One value alone makes a pattern larger than the limit.
    #[error("a pattern for {what} alone is {size} characters, more than the limit of {limit}")]
    TooLarge {
        /// What did not fit.
        what: String,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

/// One value test in a pattern.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
enum Match {
    /// Equal, case-sensitively.
    Exact(String),
    /// Starts with.
    Prefix {
        /// The prefix.
        prefix: String,
    },
    /// Equal, ignoring case.
    IgnoreCase {
        /// The value.
        #[serde(rename = "equals-ignore-case")]
        value: String,
    },
}

/// One EventBridge event pattern (one EventBridge rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventPattern {
    source: Vec<Match>,
    #[serde(rename = "detail-type")]
    detail_type: Vec<Match>,
    #[serde(skip_serializing_if = "Detail::is_empty")]
    detail: Detail,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
struct Detail {
    #[serde(rename = "eventSource", skip_serializing_if = "Option::is_none")]
    event_source: Option<Vec<Match>>,
    #[serde(rename = "eventName", skip_serializing_if = "Option::is_none")]
    event_name: Option<Vec<Match>>,
    #[serde(rename = "userIdentity", skip_serializing_if = "Option::is_none")]
    user_identity: Option<UserIdentity>,
}

impl Detail {
    fn is_empty(&self) -> bool {
        self.event_source.is_none() && self.event_name.is_none() && self.user_identity.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct UserIdentity {
    #[serde(rename = "type")]
    kind: Vec<Match>,
}

impl EventPattern {
    /// The pattern as compact JSON, as EventBridge takes it.
    pub fn to_json(&self) -> String {
        // Serialising plain strings, vectors and structs cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The pattern as a JSON value.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The size counted against [`MAX_PATTERN_CHARS`]: the compact JSON plus one space after
    /// every structural `,` and `:`.
    pub fn size(&self) -> usize {
        spaced_len(&self.to_json())
    }

    /// The EventBridge sources the pattern accepts (`aws.` for any AWS source).
    pub fn sources(&self) -> Vec<&str> {
        self.source
            .iter()
            .map(|m| match m {
                Match::Exact(s) | Match::Prefix { prefix: s } | Match::IgnoreCase { value: s } => {
                    s.as_str()
                }
            })
            .collect()
    }

    fn new(source: Vec<Match>, detail: Detail) -> EventPattern {
        EventPattern {
            source,
            detail_type: CLOUDTRAIL_DETAIL_TYPES
                .iter()
                .map(|t| Match::Exact((*t).to_owned()))
                .collect(),
            detail,
        }
    }
}

/// Length of compact JSON with a space after every `,` and `:` outside strings.
fn spaced_len(json: &str) -> usize {
    let mut in_string = false;
    let mut escaped = false;
    let mut extra = 0;
    for c in json.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else {
            match c {
                '"' => in_string = true,
                ',' | ':' => extra += 1,
                _ => {}
            }
        }
    }
    json.chars().count() + extra
}

/// The EventBridge `source` of CloudTrail records with this `eventSource`: `aws.` and the part
/// before `.amazonaws.com` (`monitoring.amazonaws.com` -> `aws.monitoring`,
/// `access-analyzer.amazonaws.com` -> `aws.access-analyzer`). `None` for anything that is not
/// `<service>.amazonaws.com`.
pub fn eventbridge_source(event_source: &str) -> Option<String> {
    let lower = event_source.to_ascii_lowercase();
    let service = lower.strip_suffix(".amazonaws.com")?;
    let valid = !service.is_empty()
        && service
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    valid.then(|| format!("aws.{service}"))
}

/// An eventName test. CloudTrail writes the API operation name (PascalCase ASCII) and
/// EventBridge compares case-sensitively while Sigma does not: a name spelled that way is
/// pinned exactly, any other spelling is compared ignoring case.
fn name_match(name: &str) -> Match {
    let canonical = name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric());
    if canonical {
        Match::Exact(name.to_owned())
    } else {
        Match::IgnoreCase {
            value: name.to_owned(),
        }
    }
}

/// A `userIdentity.type` test: CloudTrail's own spelling when known, else ignoring case.
fn identity_match(kind: &str) -> Match {
    match IDENTITY_TYPES
        .iter()
        .find(|known| known.eq_ignore_ascii_case(kind))
    {
        Some(known) => Match::Exact((*known).to_owned()),
        None => Match::IgnoreCase {
            value: kind.to_owned(),
        },
    }
}

fn any_aws_source() -> Vec<Match> {
    vec![Match::Prefix {
        prefix: "aws.".to_owned(),
    }]
}

/// What the rules need, gathered before packing.
#[derive(Default)]
struct Needs {
    /// eventSource (lowercase) -> the eventNames some rule needs from it.
    named: BTreeMap<String, BTreeSet<Match>>,
    /// eventSources with a rule that does not narrow eventName.
    any_name: BTreeSet<String>,
    /// eventNames of rules that do not pin an eventSource.
    sourceless_names: BTreeSet<Match>,
    /// identity types of rules keyed on the identity alone.
    identity: BTreeSet<Match>,
    /// A rule constrains none of the keys: every CloudTrail event is needed.
    everything: bool,
}

impl Needs {
    fn gather(rules: &[Rule]) -> Result<Needs, BuildPatternsError> {
        let mut needs = Needs::default();
        for rule in rules {
            match (
                rule.event_sources(),
                rule.event_names(),
                rule.identity_types(),
            ) {
                (Some(sources), names, _) => {
                    for source in sources {
                        if eventbridge_source(&source).is_none() {
                            return Err(BuildPatternsError::NotAnAwsEventSource {
                                rule: rule.origin().to_owned(),
                                event_source: source,
                            });
                        }
                        let source = source.to_ascii_lowercase();
                        match &names {
                            Some(names) => needs
                                .named
                                .entry(source)
                                .or_default()
                                .extend(names.iter().map(|n| name_match(n))),
                            None => {
                                needs.any_name.insert(source);
                            }
                        }
                    }
                }
                (None, Some(names), _) => needs
                    .sourceless_names
                    .extend(names.iter().map(|n| name_match(n))),
                (None, None, Some(kinds)) => needs
                    .identity
                    .extend(kinds.iter().map(|k| identity_match(k))),
                (None, None, None) => needs.everything = true,
            }
        }
        for source in &needs.any_name {
            needs.named.remove(source);
        }
        Ok(needs)
    }
}

fn named_pattern(group: &[(String, BTreeSet<Match>)]) -> EventPattern {
    let names: BTreeSet<&Match> = group.iter().flat_map(|(_, names)| names).collect();
    EventPattern::new(
        group
            .iter()
            .filter_map(|(s, _)| eventbridge_source(s))
            .map(Match::Exact)
            .collect(),
        Detail {
            event_source: Some(group.iter().map(|(s, _)| Match::Exact(s.clone())).collect()),
            event_name: Some(names.into_iter().cloned().collect()),
            user_identity: None,
        },
    )
}

fn any_name_pattern(sources: &[String]) -> EventPattern {
    EventPattern::new(
        sources
            .iter()
            .filter_map(|s| eventbridge_source(s))
            .map(Match::Exact)
            .collect(),
        Detail {
            event_source: Some(sources.iter().map(|s| Match::Exact(s.clone())).collect()),
            ..Detail::default()
        },
    )
}

fn sourceless_pattern(names: &[Match]) -> EventPattern {
    EventPattern::new(
        any_aws_source(),
        Detail {
            event_name: Some(names.to_vec()),
            ..Detail::default()
        },
    )
}

/// Greedy packing: items in order, each pattern as full as the limit allows. `build` makes the
/// pattern for a run of items.
fn pack<T: Clone + std::fmt::Debug>(
    items: impl IntoIterator<Item = T>,
    limit: usize,
    build: impl Fn(&[T]) -> EventPattern,
    out: &mut Vec<EventPattern>,
) -> Result<(), BuildPatternsError> {
    let mut run: Vec<T> = Vec::new();
    for item in items {
        run.push(item);
        if build(&run).size() <= limit {
            continue;
        }
        let Some(item) = run.pop() else { continue };
        if !run.is_empty() {
            out.push(build(&run));
        }
        run = vec![item];
        let alone = build(&run);
        if alone.size() > limit {
            return Err(BuildPatternsError::TooLarge {
                what: format!("{:?}", run[0]),
                size: alone.size(),
                limit,
            });
        }
    }
    if !run.is_empty() {
        out.push(build(&run));
    }
    Ok(())
}

/// Builds the event patterns that let through every CloudTrail event the rules could alert
/// on, each at most `max_chars` characters ([`EventPattern::size`]).
///
/// Patterns, in order: services whose rules all name their events (several per pattern,
/// with their event names), services matched on the source alone, event names of rules that
/// pin no service, identity types of rules keyed on the identity. A rule that constrains none
/// of eventSource, eventName and userIdentity.type makes one pattern for every CloudTrail
/// event from an AWS source.
pub fn build_patterns(
    rules: &[Rule],
    max_chars: usize,
) -> Result<Vec<EventPattern>, BuildPatternsError> {
    let needs = Needs::gather(rules)?;
    if needs.everything {
        return Ok(vec![EventPattern::new(any_aws_source(), Detail::default())]);
    }
    let mut out = Vec::new();

    // A service whose names do not fit one pattern is split into several runs of its names.
    let mut groups: Vec<(String, BTreeSet<Match>)> = Vec::new();
    for (source, names) in needs.named {
        let mut part: BTreeSet<Match> = BTreeSet::new();
        for name in names {
            part.insert(name.clone());
            if named_pattern(&[(source.clone(), part.clone())]).size() > max_chars {
                part.remove(&name);
                if part.is_empty() {
                    let size = named_pattern(&[(source.clone(), [name.clone()].into())]).size();
                    return Err(BuildPatternsError::TooLarge {
                        what: format!("{source} {name:?}"),
                        size,
                        limit: max_chars,
                    });
                }
                groups.push((source.clone(), std::mem::take(&mut part)));
                part.insert(name);
            }
        }
        if !part.is_empty() {
            groups.push((source, part));
        }
    }
    pack(groups, max_chars, named_pattern, &mut out)?;
    pack(needs.any_name, max_chars, any_name_pattern, &mut out)?;
    pack(
        needs.sourceless_names,
        max_chars,
        sourceless_pattern,
        &mut out,
    )?;
    if !needs.identity.is_empty() {
        let pattern = EventPattern::new(
            any_aws_source(),
            Detail {
                user_identity: Some(UserIdentity {
                    kind: needs.identity.into_iter().collect(),
                }),
                ..Detail::default()
            },
        );
        if pattern.size() > max_chars {
            return Err(BuildPatternsError::TooLarge {
                what: "the identity types".to_owned(),
                size: pattern.size(),
                limit: max_chars,
            });
        }
        out.push(pattern);
    }
    Ok(out)
}

/// The patterns as one JSON array, one compact pattern per line (what `tamperwatch rules
/// export --format eventbridge` prints and the deploy templates embed).
pub fn patterns_json(patterns: &[EventPattern]) -> String {
    let mut text = String::from("[\n");
    for (i, pattern) in patterns.iter().enumerate() {
        text.push_str("  ");
        text.push_str(&pattern.to_json());
        if i + 1 < patterns.len() {
            text.push(',');
        }
        text.push('\n');
    }
    text.push_str("]\n");
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn rule(detection: &str) -> Rule {
        let text = format!("title: t\ndetection:\n{detection}");
        Rule::from_yaml(&text, "t.yml").unwrap()
    }

    #[test]
    fn eventbridge_sources_are_aws_and_the_service_prefix() {
        for (event_source, source) in [
            ("monitoring.amazonaws.com", "aws.monitoring"),
            ("access-analyzer.amazonaws.com", "aws.access-analyzer"),
            ("route53resolver.amazonaws.com", "aws.route53resolver"),
            ("waf-regional.amazonaws.com", "aws.waf-regional"),
            ("signin.amazonaws.com", "aws.signin"),
            ("sts.amazonaws.com", "aws.sts"),
            ("account.amazonaws.com", "aws.account"),
            ("CloudTrail.amazonaws.com", "aws.cloudtrail"),
        ] {
            assert_eq!(eventbridge_source(event_source).as_deref(), Some(source));
        }
        for bad in [
            "amazonaws.com",
            ".amazonaws.com",
            "cloudtrail",
            "x y.amazonaws.com",
        ] {
            assert_eq!(eventbridge_source(bad), None, "{bad}");
        }
    }

    #[test]
    fn names_outside_the_api_spelling_are_compared_ignoring_case() {
        assert_eq!(
            name_match("StopLogging"),
            Match::Exact("StopLogging".into())
        );
        assert_eq!(
            name_match("stoplogging"),
            Match::IgnoreCase {
                value: "stoplogging".into()
            }
        );
        assert_eq!(identity_match("root"), Match::Exact("Root".into()));
    }

    #[test]
    fn a_service_with_an_unnamed_rule_is_not_narrowed_on_names() {
        let rules = [
            rule(
                "  s:\n    eventSource: lambda.amazonaws.com\n    eventName: DeleteFunction\n  condition: s\n",
            ),
            rule(
                "  s:\n    eventSource: lambda.amazonaws.com\n    eventName|startswith: UpdateFunction\n  condition: s\n",
            ),
        ];
        let patterns = build_patterns(&rules, MAX_PATTERN_CHARS).unwrap();
        assert_eq!(patterns.len(), 1);
        let json = patterns[0].to_json();
        assert!(json.contains(r#""detail":{"eventSource":["lambda.amazonaws.com"]}"#));
        assert!(!json.contains("eventName"), "{json}");
    }

    #[test]
    fn identity_rules_get_a_pattern_over_every_aws_source() {
        let rules = [rule(
            "  s:\n    userIdentity.type: Root\n  f:\n    eventType: AwsServiceEvent\n  condition: s and not f\n",
        )];
        let patterns = build_patterns(&rules, MAX_PATTERN_CHARS).unwrap();
        assert_eq!(patterns.len(), 1);
        assert!(
            patterns[0]
                .to_json()
                .starts_with(r#"{"source":[{"prefix":"aws."}]"#)
        );
        assert!(
            patterns[0]
                .to_json()
                .ends_with(r#""detail":{"userIdentity":{"type":["Root"]}}}"#)
        );
    }

    #[test]
    fn an_unconstrained_rule_needs_every_cloudtrail_event() {
        let rules = [
            rule("  s:\n    eventSource: a.amazonaws.com\n    eventName: X\n  condition: s\n"),
            rule("  s:\n    requestParameters.x: 1\n  condition: s\n"),
        ];
        let patterns = build_patterns(&rules, MAX_PATTERN_CHARS).unwrap();
        assert_eq!(patterns.len(), 1);
        assert!(!patterns[0].to_json().contains("detail\""));
    }

    #[test]
    fn a_non_aws_event_source_is_refused() {
        let rules = [rule(
            "  s:\n    eventSource: example.com\n    eventName: X\n  condition: s\n",
        )];
        let err = build_patterns(&rules, MAX_PATTERN_CHARS).unwrap_err();
        assert!(matches!(
            err,
            BuildPatternsError::NotAnAwsEventSource { .. }
        ));
    }

    #[test]
    fn large_sets_are_split_within_the_limit_and_keep_every_name() {
        let names: Vec<String> = (0..200)
            .map(|i| format!("SomeLongOperationName{i:03}"))
            .collect();
        let rules = [rule(&format!(
            "  s:\n    eventSource: big.amazonaws.com\n    eventName: [{}]\n  condition: s\n",
            names.join(", ")
        ))];
        let patterns = build_patterns(&rules, 1000).unwrap();
        assert!(patterns.len() > 3);
        let mut seen = BTreeSet::new();
        for p in &patterns {
            assert!(p.size() <= 1000);
            let v = p.to_value();
            for n in v["detail"]["eventName"].as_array().unwrap() {
                seen.insert(n.as_str().unwrap().to_owned());
            }
        }
        assert_eq!(seen, names.into_iter().collect());
    }

    #[test]
    fn spaced_len_counts_structural_separators_only() {
        assert_eq!(spaced_len(r#"{"a":["b,c:d","e"]}"#), 19 + 2);
        assert_eq!(spaced_len(r#"{"a\"":1}"#), 9 + 1);
    }
}
