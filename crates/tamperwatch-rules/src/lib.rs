//! Sigma rules compiled once into an indexed [`RuleSet`], evaluated over CloudTrail records.
//!
//! A [`Rule`] is loaded from one YAML file ([`Rule::from_yaml`]): its metadata, tamperwatch's
//! own `response` and `tests` keys, and its `detection`, compiled to matchers. Anything the
//! engine would not evaluate exactly as the Sigma specification says is refused with a
//! [`LoadRuleError`] naming the file and the reason (unknown modifiers, aggregations,
//! correlation rules, regular expressions with look-around, ...); a rule is never evaluated
//! with part of it silently ignored.
//!
//! A [`RuleSet`] files each rule under the cheapest key every matching event must have (a
//! lowercase `eventName`, else `eventSource`, else `userIdentity.type`; see [`Prefilter`]), so
//! an event is fully evaluated only against the few rules that could match it.
//!
//! Events are seen through the [`Document`] trait, implemented for [`serde_json::Value`].
//!
//! ```
//! use tamperwatch_rules::{IndexKeys, Level, Rule, RuleSet};
//!
//! let rule = Rule::from_yaml(
//!     r#"
//! title: CloudTrail logging stopped
//! id: cloudtrail-stop-logging
//! level: critical
//! detection:
//!   selection:
//!     eventSource: cloudtrail.amazonaws.com
//!     eventName: [StopLogging, DeleteTrail]
//!   condition: selection
//! "#,
//!     "rules/cloudtrail/stop_logging.yml",
//! )?;
//! assert_eq!(rule.level(), Level::Critical);
//!
//! let mut rules = RuleSet::new();
//! let idx = rules.push(rule)?;
//!
//! let record = serde_json::json!({
//!     "eventSource": "cloudtrail.amazonaws.com",
//!     "eventName": "StopLogging",
//!     "requestParameters": {"name": "management-events"},
//! });
//! let mut found = Vec::new();
//! rules.evaluate_value(&record, &mut found);
//! assert_eq!(found, [idx]);
//!
//! // With keys taken from a typed record instead:
//! let keys = IndexKeys {
//!     event_source: Some("cloudtrail.amazonaws.com"),
//!     event_name: Some("GetTrailStatus"),
//!     identity_type: None,
//! };
//! assert_eq!(rules.candidates(&keys).count(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Correlation rules
//!
//! A file may also hold Sigma correlation rules ([`Correlation`]), alone or beside their base
//! rules as `---`-separated documents ([`load_documents`], [`RuleSet::load_path`]). Link them
//! once every rule is loaded, then feed a [`Correlator`] the [`Observation`]s of each match, in
//! event-time order. A `Correlator` is a plain value: keep it between batches (a Lambda's warm
//! invocations) to correlate across them.
//!
//! ```
//! use tamperwatch_rules::{Correlator, RuleDocument, RuleSet, load_documents};
//!
//! let file = r#"
//! title: Trail stopped twice by one user
//! id: stopped-twice
//! correlation:
//!   type: event_count
//!   rules: [stop_logging]
//!   group-by: [userIdentity.arn]
//!   timespan: 10m
//!   condition: {gte: 2}
//! ---
//! title: Trail stopped
//! id: stop
//! name: stop_logging
//! detection:
//!   selection: {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging}
//!   condition: selection
//! "#;
//! let mut rules = RuleSet::new();
//! for doc in load_documents(file, "mr_stopped_twice.yml") {
//!     match doc? {
//!         RuleDocument::Rule(rule) => drop(rules.push(*rule)?),
//!         RuleDocument::Correlation(c) => drop(rules.push_correlation(*c)?),
//!     }
//! }
//! rules.link_correlations().map_err(|e| e[0].clone())?;
//! assert!(!rules.get(rules.find("stop").unwrap()).generates()); // generate: false (default)
//!
//! let mut correlator = Correlator::new(&rules); // keep it across batches
//! let (mut matched, mut observations, mut found) = (Vec::new(), Vec::new(), Vec::new());
//! for (time, id) in [("2026-11-30T10:00:00Z", "e1"), ("2026-11-30T10:04:00Z", "e2")] {
//!     let record = serde_json::json!({
//!         "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging",
//!         "eventTime": time, "eventID": id,
//!         "userIdentity": {"arn": "arn:aws:iam::111122223333:user/mallory"},
//!     });
//!     rules.evaluate_value(&record, &mut matched);
//!     for idx in &matched {
//!         rules.observe(*idx, &record, &mut observations);
//!     }
//! }
//! observations.sort_by_key(|o| o.time);
//! for o in observations {
//!     correlator.push(o, &mut found);
//! }
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].event_ids, ["e1", "e2"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Matching semantics
//!
//! - Strings compare case-insensitively (Unicode lowercase) unless `|cased`; `*` and `?` are
//!   wildcards, `\*`, `\?`, `\\` their escapes, any other backslash is literal.
//! - A dotted field name is a path into nested objects; crossing an array, it matches when any
//!   element matches. A key that itself contains the dots (`"a.b"`) is tried first.
//! - `null` matches a missing field or JSON `null`; `''` only the empty string. Rule numbers
//!   and booleans also match their text in the event (`5` matches `"5"`, `true` matches
//!   `"True"`), and a quoted number matches the event number.
//! - A field that reaches an object (such as `requestParameters`) is never *equal* to a value,
//!   but text searches (wildcards, `contains`, `startswith`, `endswith`, `re`) look at every
//!   string, number and boolean inside it, so `requestParameters|contains: Suspended` works on
//!   real CloudTrail records.
//! - Keywords (a selection that is a list of plain values) are searched in every string value
//!   of the event, at any depth, case-insensitively: as a substring when the keyword has no
//!   wildcard, as a whole-string pattern when it has one. Keys, numbers and booleans are not
//!   searched.
//! - `|re` uses the regex crate's syntax (no look-around, no backreferences: such rules are
//!   refused), searches anywhere in the value, and is case-sensitive unless `|re|i`.
//!
//! `docs/sigma-conformance.md` in the repository lists what is supported and refused.

mod condition;
mod correlation;
mod detection;
mod document;
mod error;
mod export;
mod index;
mod level;
mod lint;
mod modifier;
mod path;
mod pattern;
mod prefilter;
mod rule;
mod rule_tests;
mod ruleset;
mod value;

pub use correlation::{
    Correlation, CorrelationCase, CorrelationFinding, CorrelationTests, CorrelationType,
    Correlator, CorrelatorLimits, CorrelatorStats, Observation, parse_event_time,
};
pub use document::{Document, List, Value, Visit};
pub use error::{ConditionError, LoadRuleError, PushRuleError, Refusal, SelectionError};
pub use index::{IndexKeys, RuleIdx};
pub use level::{Level, ParseLevelError};
pub use lint::{
    Check, Diagnostic, FREE_FORM_FIELDS, LAMBDA_EVENT_NAMES, LINT_ALLOW_KEY, RECORD_FIELDS,
    Severity, TRANSLATED_VERBS, USER_IDENTITY_FIELDS, WRONG_EVENT_NAMES, WRONG_EVENT_SOURCES, lint,
};
pub use prefilter::Prefilter;
pub use rule::{LogSource, Rule, RuleTests};
pub use rule_tests::{Expectation, RuleTestResult};
pub use ruleset::{
    LoadFileError, LoadReport, RuleDocument, RuleSet, load_documents, load_parsed_document,
    parse_documents, rule_files,
};
