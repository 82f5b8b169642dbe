//! Records and rules in, findings out.
//!
//! A [`Detector`] holds a compiled [`RuleSet`]. For each [`Record`] it asks the rule index which
//! rules could match, using only the record's typed fields; only when some could does it build
//! the record's full JSON value and evaluate them. Most records meet no rule and cost no more
//! than their parse.
//!
//! A [`Finding`] is everything an output or an alert needs: the rule, the effective level (one
//! lower for an attempt that was denied or failed), the outcome, who, where, from where, when,
//! and the request parameters the rule names in its `fields`.
//!
//! ```
//! use tamperwatch_detect::Detector;
//! use tamperwatch_event::{Outcome, Record};
//! use tamperwatch_rules::{Level, Rule, RuleSet};
//!
//! let rule = Rule::from_yaml(r#"
//! title: CloudTrail logging stopped
//! id: 6a0b8c7e-0000-4000-8000-000000000001
//! logsource: {product: aws, service: cloudtrail}
//! detection:
//!   selection: {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging}
//!   condition: selection
//! fields: [requestParameters.name]
//! level: critical
//! "#, "example.yml").unwrap();
//! let mut rules = RuleSet::new();
//! rules.push(rule).unwrap();
//! let detector = Detector::new(rules);
//!
//! let raw = serde_json::value::RawValue::from_string(r#"{"eventSource":"cloudtrail.amazonaws.com",
//!   "eventName":"StopLogging","errorCode":"AccessDenied","requestParameters":{"name":"main"},
//!   "userIdentity":{"type":"IAMUser","userName":"mallory"}}"#.to_owned()).unwrap();
//! let record = Record::parse(&raw, 1 << 20).unwrap();
//! let mut findings = Vec::new();
//! detector.detect(&record, &mut findings).unwrap();
//! assert_eq!(findings[0].outcome, Outcome::Denied);
//! assert_eq!(findings[0].level, Level::High); // an attempt: one level lower
//! assert_eq!(findings[0].actor.name, "user/mallory");
//! assert_eq!(findings[0].parameters[0].1, "main");
//! ```

mod selftest;

pub use selftest::{RuleTestFailure, RuleTestReport};

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use serde_json::Value;
use tamperwatch_event::{Actor, Keys, Outcome, Record};
use tamperwatch_rules::{IndexKeys, Level, Observation, Rule, RuleSet};

/// Evaluates records against a compiled rule set.
#[derive(Debug)]
pub struct Detector {
    rules: RuleSet,
}

/// Why a record could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// Rules could match the record, but its full JSON value could not be built (nested deeper
    /// than serde_json's recursion limit, for example).
    #[error("record could not be evaluated: {0}")]
    Value(#[source] serde_json::Error),
}

impl Detector {
    /// A detector over `rules`.
    pub fn new(rules: RuleSet) -> Self {
        Detector { rules }
    }

    /// The rules.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Whether any rule could match a record with these keys: when not, the record need not be
    /// read past them (see [`tamperwatch_event::Visit::wants`]).
    pub fn could_match(&self, keys: &Keys<'_>) -> bool {
        let keys = IndexKeys {
            event_source: keys.event_source,
            event_name: keys.event_name,
            identity_type: keys.identity_type,
        };
        self.rules.candidates(&keys).next().is_some()
    }

    /// Appends a finding to `out` for every rule that matches `record`, including rules that do
    /// not report their own findings ([`Rule::generates`] false: a correlation uses them);
    /// outputs leave those out.
    pub fn detect<'r>(
        &'r self,
        record: &Record<'_>,
        out: &mut Vec<Finding<'r>>,
    ) -> Result<(), DetectError> {
        let mut none = Vec::new();
        self.detect_observed(record, out, &mut none)
    }

    /// [`Detector::detect`], and appends to `observations` what the correlation rules need of
    /// each match ([`RuleSet::observe`]). Feed them, in event-time order, to a
    /// [`tamperwatch_rules::Correlator`] made from [`Detector::rules`]:
    ///
    /// ```text
    /// let mut correlator = Correlator::new(detector.rules());   // keep it between batches
    /// detector.detect_observed(&record, &mut findings, &mut observations)?;
    /// observations.sort_by_key(|o| o.time);
    /// for o in observations.drain(..) { correlator.push(o, &mut correlation_findings); }
    /// ```
    pub fn detect_observed<'r>(
        &'r self,
        record: &Record<'_>,
        out: &mut Vec<Finding<'r>>,
        observations: &mut Vec<Observation>,
    ) -> Result<(), DetectError> {
        let keys = IndexKeys {
            event_source: record.event_source.as_deref(),
            event_name: record.event_name.as_deref(),
            identity_type: record.identity_type(),
        };
        let mut candidates = self.rules.candidates(&keys).peekable();
        if candidates.peek().is_none() {
            return Ok(());
        }
        let value = record.to_value().map_err(DetectError::Value)?;
        for idx in candidates {
            let rule = self.rules.get(idx);
            if rule.matches(&value) {
                out.push(Finding::new(rule, record, &value));
                self.rules.observe(idx, &value, observations);
            }
        }
        Ok(())
    }
}

/// One rule matching one record.
#[derive(Debug, Clone)]
pub struct Finding<'r> {
    /// The rule that matched.
    pub rule: &'r Rule,
    /// The effective level: the rule's, one lower for an attempt.
    pub level: Level,
    /// Whether the call succeeded, was denied or failed.
    pub outcome: Outcome,
    /// Who made the call.
    pub actor: Actor,
    /// The record's own fields that every finding shows.
    pub event: EventSummary,
    /// The values of the rule's `fields`, in the rule's order; absent fields are left out.
    pub parameters: Vec<(String, Value)>,
}

/// The fields of a record that every finding shows. Each is attacker-influenced text: escape it
/// for the medium it is written to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EventSummary {
    /// `eventID`.
    #[serde(rename = "eventID")]
    pub event_id: Option<String>,
    /// `eventTime`.
    #[serde(rename = "eventTime")]
    pub event_time: Option<String>,
    /// `eventSource`.
    #[serde(rename = "eventSource")]
    pub event_source: Option<String>,
    /// `eventName`.
    #[serde(rename = "eventName")]
    pub event_name: Option<String>,
    /// `eventType`.
    #[serde(rename = "eventType")]
    pub event_type: Option<String>,
    /// The account the event belongs to.
    #[serde(rename = "accountId")]
    pub account_id: Option<String>,
    /// `awsRegion`.
    #[serde(rename = "awsRegion")]
    pub region: Option<String>,
    /// `sourceIPAddress`.
    #[serde(rename = "sourceIPAddress")]
    pub source_ip: Option<String>,
    /// `userAgent`.
    #[serde(rename = "userAgent")]
    pub user_agent: Option<String>,
    /// `errorCode`.
    #[serde(rename = "errorCode", skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// `errorMessage`.
    #[serde(rename = "errorMessage", skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// `readOnly`.
    #[serde(rename = "readOnly", skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

impl EventSummary {
    /// The summary of a record.
    pub fn of(record: &Record<'_>) -> Self {
        let own = |s: &Option<std::borrow::Cow<'_, str>>| s.as_deref().map(str::to_owned);
        EventSummary {
            event_id: own(&record.event_id),
            event_time: own(&record.event_time),
            event_source: own(&record.event_source),
            event_name: own(&record.event_name),
            event_type: own(&record.event_type),
            account_id: record.account_id().map(str::to_owned),
            region: own(&record.aws_region),
            source_ip: own(&record.source_ip_address),
            user_agent: own(&record.user_agent),
            error_code: own(&record.error_code),
            error_message: own(&record.error_message),
            read_only: record.read_only,
        }
    }
}

impl<'r> Finding<'r> {
    fn new(rule: &'r Rule, record: &Record<'_>, value: &Value) -> Self {
        let outcome = record.outcome();
        let level = if outcome.is_attempt() {
            rule.level().lower()
        } else {
            rule.level()
        };
        let parameters = rule
            .fields()
            .iter()
            .filter_map(|path| Some((path.clone(), lookup(value, path)?)))
            .collect();
        Finding {
            rule,
            level,
            outcome,
            actor: record.actor(),
            event: EventSummary::of(record),
            parameters,
        }
    }

    /// Whether the call did not succeed.
    pub fn is_attempt(&self) -> bool {
        self.outcome.is_attempt()
    }
}

impl Serialize for Finding<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct RuleRef<'a> {
            id: &'a str,
            title: &'a str,
            level: &'a str,
            tags: &'a [String],
        }
        struct Parameters<'a>(&'a [(String, Value)]);
        impl Serialize for Parameters<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
            }
        }
        let mut s = serializer.serialize_struct("Finding", 7)?;
        s.serialize_field(
            "rule",
            &RuleRef {
                id: self.rule.id(),
                title: self.rule.title(),
                level: self.rule.level().as_str(),
                tags: self.rule.tags(),
            },
        )?;
        s.serialize_field("level", self.level.as_str())?;
        s.serialize_field("outcome", &self.outcome)?;
        s.serialize_field("attempt", &self.is_attempt())?;
        s.serialize_field("event", &self.event)?;
        s.serialize_field("actor", &self.actor)?;
        s.serialize_field("parameters", &Parameters(&self.parameters))?;
        s.end()
    }
}

/// The value at a dotted path. Where the path crosses an array, the values found in its
/// elements are gathered into an array.
fn lookup(value: &Value, path: &str) -> Option<Value> {
    fn walk<'v>(value: &'v Value, parts: &[&str], found: &mut Vec<&'v Value>, crossed: &mut bool) {
        match (value, parts.split_first()) {
            (Value::Null, _) => {}
            (_, None) => found.push(value),
            (Value::Object(map), Some((first, rest))) => {
                if let Some(next) = map.get(*first) {
                    walk(next, rest, found, crossed);
                }
            }
            (Value::Array(items), Some(_)) => {
                *crossed = true;
                for item in items {
                    walk(item, parts, found, crossed);
                }
            }
            _ => {}
        }
    }
    let parts: Vec<&str> = path.split('.').collect();
    let (mut found, mut crossed) = (Vec::new(), false);
    walk(value, &parts, &mut found, &mut crossed);
    match (found.len(), crossed) {
        (0, _) => None,
        (1, false) => found.pop().cloned(),
        _ => Some(Value::Array(found.into_iter().cloned().collect())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_objects_and_arrays() {
        let v = json!({"requestParameters": {"name": "main", "eventSelectors": [
            {"includeManagementEvents": false}, {"includeManagementEvents": true}]}, "n": null});
        assert_eq!(lookup(&v, "requestParameters.name"), Some(json!("main")));
        assert_eq!(
            lookup(
                &v,
                "requestParameters.eventSelectors.includeManagementEvents"
            ),
            Some(json!([false, true]))
        );
        assert_eq!(lookup(&v, "requestParameters.missing"), None);
        assert_eq!(lookup(&v, "n"), None);
        assert_eq!(
            lookup(&v, "requestParameters.eventSelectors"),
            Some(v["requestParameters"]["eventSelectors"].clone())
        );
    }
}
