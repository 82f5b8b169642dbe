//! Sigma correlation rules: `event_count`, `value_count`, `temporal` and `temporal_ordered`
//! over the findings of detection rules, within a timespan of event time.
//!
//! A [`Correlation`] is loaded from a YAML document with a `correlation:` section (see
//! [`crate::load_documents`]), refers to detection rules by `id` or `name`, and is linked to
//! them in a [`RuleSet`](crate::RuleSet) by [`RuleSet::link_correlations`](crate::RuleSet::link_correlations).
//!
//! A [`Correlator`] holds the windows: feed it, in event-time order, the [`Observation`]s the
//! rule set makes of each matching record ([`RuleSet::observe`](crate::RuleSet::observe)), and it
//! returns a [`CorrelationFinding`] when a correlation's condition is met. It is bounded: a
//! group's events older than the timespan (measured back from the newest event time seen) are
//! dropped, groups that went quiet are swept, and the number of groups and of events per group
//! is capped ([`CorrelatorLimits`]). It can be kept across batches (a Lambda's warm
//! invocations): it then correlates across them, but only as far as that process lives.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use crate::document::{Document, Value};
use crate::error::{LoadRuleError, Refusal, kind_of};
use crate::index::RuleIdx;
use crate::level::Level;
use crate::path::FieldPath;
use crate::rule::{optional_string, parse_yaml, sigma_text, string_list};

/// The kind of a correlation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationType {
    /// At least N matching events in the timespan, per group.
    EventCount,
    /// At least N distinct values of a field in the timespan, per group.
    ValueCount,
    /// Events of (at least N of) the referenced rules in the timespan, in any order.
    Temporal,
    /// Events of the referenced rules in the timespan, in the order the rules are listed.
    TemporalOrdered,
}

impl CorrelationType {
    /// As written in Sigma.
    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationType::EventCount => "event_count",
            CorrelationType::ValueCount => "value_count",
            CorrelationType::Temporal => "temporal",
            CorrelationType::TemporalOrdered => "temporal_ordered",
        }
    }
}

/// A correlation rule's test: a sequence of records, and how many times the correlation must
/// fire over it (`findings`; when absent, at least once for `match` and never for `no_match`).
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationCase {
    /// The records, in any order (they are correlated in event-time order).
    pub events: Vec<serde_json::Value>,
    /// The exact number of correlation findings expected, if given.
    pub findings: Option<usize>,
}

/// A correlation rule's own tests (tamperwatch's `tests:` key).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CorrelationTests {
    /// Sequences on which the correlation must fire.
    pub must_match: Vec<CorrelationCase>,
    /// Sequences on which it must not fire.
    pub must_not_match: Vec<CorrelationCase>,
}

/// A loaded Sigma correlation rule.
#[derive(Debug, Clone)]
pub struct Correlation {
    id: String,
    name: Option<String>,
    title: String,
    description: Option<String>,
    level: Level,
    tags: Vec<String>,
    falsepositives: Vec<String>,
    references: Vec<String>,
    response: Option<String>,
    kind: CorrelationType,
    rules: Vec<String>,
    pub(crate) resolved: Vec<RuleIdx>,
    group_by: Vec<String>,
    aliases: BTreeMap<String, BTreeMap<String, String>>,
    timespan_ms: i64,
    timespan: String,
    min_count: u64,
    field: Option<String>,
    generate: bool,
    tests: CorrelationTests,
    origin: String,
    sigma_yaml: String,
}

impl Correlation {
    /// Loads one correlation rule from its YAML text (one document). Refuses, with the reason,
    /// what it cannot evaluate exactly: unknown types (`value_sum`, ...), conditions with an
    /// upper bound (`lt`, `lte`, `eq`, `neq`: they need the window's end, and tamperwatch fires
    /// as events arrive), timespans not in `s`, `m`, `h` or `d`, and malformed sections.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Correlation, LoadRuleError> {
        load(text, origin).map_err(|reason| LoadRuleError::new(origin, reason))
    }

    /// `id` (the file stem when absent).
    pub fn id(&self) -> &str {
        &self.id
    }
    /// `name`.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// `title`.
    pub fn title(&self) -> &str {
        &self.title
    }
    /// `description`.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    /// `level` (medium when absent).
    pub fn level(&self) -> Level {
        self.level
    }
    /// `tags`.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }
    /// `falsepositives`.
    pub fn falsepositives(&self) -> &[String] {
        &self.falsepositives
    }
    /// `references`.
    pub fn references(&self) -> &[String] {
        &self.references
    }
    /// tamperwatch's `response`.
    pub fn response(&self) -> Option<&str> {
        self.response.as_deref()
    }
    /// `correlation.type`.
    pub fn kind(&self) -> CorrelationType {
        self.kind
    }
    /// `correlation.rules`, as written (ids or names).
    pub fn rule_refs(&self) -> &[String] {
        &self.rules
    }
    /// The referenced rules, once linked (empty before).
    pub fn resolved_rules(&self) -> &[RuleIdx] {
        &self.resolved
    }
    /// `correlation.group-by`.
    pub fn group_by(&self) -> &[String] {
        &self.group_by
    }
    /// `correlation.timespan` as written.
    pub fn timespan(&self) -> &str {
        &self.timespan
    }
    /// The timespan in milliseconds.
    pub fn timespan_ms(&self) -> i64 {
        self.timespan_ms
    }
    /// The smallest count that fires (from `gt`/`gte`; for temporal types without a condition,
    /// the number of referenced rules).
    pub fn min_count(&self) -> u64 {
        self.min_count
    }
    /// `correlation.condition.field` (value_count).
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }
    /// `correlation.generate`: whether the referenced rules also report their own findings
    /// (false by default, as in pySigma).
    pub fn generate(&self) -> bool {
        self.generate
    }
    /// The correlation's own tests.
    pub fn tests(&self) -> &CorrelationTests {
        &self.tests
    }
    /// Where it was loaded from.
    pub fn origin(&self) -> &str {
        &self.origin
    }
    /// As plain Sigma: the text without tamperwatch's own keys.
    pub fn sigma_yaml(&self) -> &str {
        &self.sigma_yaml
    }

    /// The field `group-by` entry `i` means for events of the rule named `rule_name` (aliases
    /// resolved).
    pub(crate) fn group_field(&self, i: usize, rule_name: Option<&str>) -> &str {
        let Some(g) = self.group_by.get(i) else {
            return "";
        };
        rule_name
            .and_then(|n| self.aliases.get(g)?.get(n))
            .map_or(g.as_str(), String::as_str)
    }
}

fn bad(message: impl Into<String>) -> Refusal {
    Refusal::InvalidCorrelation(message.into())
}

fn load(text: &str, origin: &str) -> Result<Correlation, Refusal> {
    load_parsed(text, &parse_yaml(text)?, origin)
}

/// Compiles a correlation rule from its text and that text as [`parse_yaml`] read it.
pub(crate) fn load_parsed(
    text: &str,
    doc: &serde_json::Value,
    origin: &str,
) -> Result<Correlation, Refusal> {
    let serde_json::Value::Object(map) = doc else {
        return Err(Refusal::NotAMapping(kind_of(doc)));
    };
    let Some(section) = map.get("correlation") else {
        return Err(Refusal::MissingKey("correlation"));
    };
    let serde_json::Value::Object(c) = section else {
        return Err(bad(
            "`correlation` must be a mapping (type, rules, group-by, timespan, condition)",
        ));
    };
    if let Some(key) = c.keys().find(|k| {
        !matches!(
            k.as_str(),
            "type" | "rules" | "group-by" | "timespan" | "condition" | "aliases" | "generate"
        )
    }) {
        return Err(bad(format!(
            "`correlation.{key}` is not a key of a correlation"
        )));
    }
    let kind = match c.get("type").and_then(|t| t.as_str()) {
        Some("event_count") => CorrelationType::EventCount,
        Some("value_count") => CorrelationType::ValueCount,
        Some("temporal") => CorrelationType::Temporal,
        Some("temporal_ordered") => CorrelationType::TemporalOrdered,
        Some(other @ ("value_sum" | "value_avg" | "value_percentile" | "value_median")) => {
            return Err(Refusal::UnsupportedCorrelation(format!(
                "`type: {other}` is not supported: use event_count, value_count, temporal or \
                 temporal_ordered"
            )));
        }
        Some(other) => {
            return Err(bad(format!(
                "unknown `correlation.type` `{other}`: use event_count, value_count, temporal or \
                 temporal_ordered"
            )));
        }
        None => return Err(Refusal::MissingKey("correlation.type")),
    };
    let rules = match c.get("rules") {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad("`correlation.rules` must list rule ids or names"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => return Err(Refusal::MissingKey("correlation.rules")),
        Some(_) => return Err(bad("`correlation.rules` must list rule ids or names")),
    };
    let group_by = match c.get("group-by") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad("`correlation.group-by` must list field names"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(bad("`correlation.group-by` must list field names")),
    };
    let timespan = match c.get("timespan") {
        Some(serde_json::Value::String(s)) => s.clone(),
        None => return Err(Refusal::MissingKey("correlation.timespan")),
        Some(_) => return Err(bad("`correlation.timespan` must be text such as 10m")),
    };
    let timespan_ms = parse_timespan(&timespan)?;
    let (min_count, field) = parse_condition(c.get("condition"), kind, rules.len())?;
    let aliases = parse_aliases(c.get("aliases"))?;
    let generate = match c.get("generate").or_else(|| map.get("generate")) {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(_) => return Err(bad("`generate` must be true or false")),
    };
    let title = match optional_string(map, "title")? {
        Some(t) if !t.trim().is_empty() => t,
        _ => return Err(Refusal::MissingKey("title")),
    };
    let id = match optional_string(map, "id")? {
        Some(id) if !id.trim().is_empty() => id,
        _ => match std::path::Path::new(origin)
            .file_stem()
            .and_then(|s| s.to_str())
        {
            Some(stem) if !stem.is_empty() => stem.to_owned(),
            _ => return Err(Refusal::MissingKey("id")),
        },
    };
    let level = match optional_string(map, "level")? {
        None => Level::default(),
        Some(l) => l.parse().map_err(|_| Refusal::UnknownLevel(l))?,
    };
    Ok(Correlation {
        id,
        name: optional_string(map, "name")?,
        title,
        description: optional_string(map, "description")?,
        level,
        tags: string_list(map, "tags")?,
        falsepositives: string_list(map, "falsepositives")?,
        references: string_list(map, "references")?,
        response: optional_string(map, "response")?,
        kind,
        rules,
        resolved: Vec::new(),
        group_by,
        aliases,
        timespan_ms,
        timespan,
        min_count,
        field,
        generate,
        tests: parse_tests(map.get("tests"))?,
        origin: origin.to_owned(),
        sigma_yaml: sigma_text(text, map),
    })
}

/// `10s`, `5m`, `1h`, `2d` in milliseconds.
fn parse_timespan(text: &str) -> Result<i64, Refusal> {
    let wrong = || {
        bad(format!(
            "`correlation.timespan` `{text}` must be a number and one of s, m, h, d (such as 10m)"
        ))
    };
    let unit = text.chars().last().ok_or_else(wrong)?;
    let number: i64 = text[..text.len() - unit.len_utf8()]
        .parse()
        .map_err(|_| wrong())?;
    let per = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        _ => return Err(wrong()),
    };
    match number.checked_mul(per) {
        Some(ms) if ms > 0 => Ok(ms),
        _ => Err(wrong()),
    }
}

fn parse_condition(
    v: Option<&serde_json::Value>,
    kind: CorrelationType,
    rules: usize,
) -> Result<(u64, Option<String>), Refusal> {
    let temporal = matches!(
        kind,
        CorrelationType::Temporal | CorrelationType::TemporalOrdered
    );
    let map = match v {
        None | Some(serde_json::Value::Null) if temporal => {
            return Ok((u64::try_from(rules).unwrap_or(u64::MAX), None));
        }
        None => return Err(Refusal::MissingKey("correlation.condition")),
        Some(serde_json::Value::Object(m)) => m,
        Some(_) => {
            return Err(bad(
                "`correlation.condition` must be a mapping such as {gte: 3}",
            ));
        }
    };
    let mut min: Option<u64> = None;
    let mut field = None;
    for (key, value) in map {
        let number = || {
            value.as_u64().ok_or_else(|| {
                bad(format!(
                    "`correlation.condition.{key}` must be a whole number"
                ))
            })
        };
        match key.as_str() {
            "gte" => min = Some(min.unwrap_or(0).max(number()?)),
            "gt" => min = Some(min.unwrap_or(0).max(number()?.saturating_add(1))),
            "lt" | "lte" | "eq" | "neq" => {
                return Err(Refusal::UnsupportedCorrelation(format!(
                    "`correlation.condition.{key}`: a condition with an upper bound is only known \
                     when the window ends, and tamperwatch fires as events arrive; only gt and \
                     gte are supported"
                )));
            }
            "field" => {
                field = Some(
                    value
                        .as_str()
                        .ok_or_else(|| bad("`correlation.condition.field` must be a field name"))?
                        .to_owned(),
                );
            }
            other => {
                return Err(bad(format!(
                    "`correlation.condition.{other}` is not a condition: use gt or gte (and field)"
                )));
            }
        }
    }
    let Some(min) = min else {
        return Err(bad("`correlation.condition` needs gt or gte"));
    };
    match (kind, &field) {
        (CorrelationType::ValueCount, None) => Err(bad(
            "a value_count correlation needs `condition.field`: the field whose distinct values are counted",
        )),
        (CorrelationType::ValueCount, Some(_)) => Ok((min.max(1), field)),
        (_, Some(_)) => Err(bad(
            "`condition.field` only belongs to value_count correlations",
        )),
        (_, None) => Ok((min.max(1), None)),
    }
}

fn parse_aliases(
    v: Option<&serde_json::Value>,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, Refusal> {
    let wrong = || bad("`correlation.aliases` must map each alias to {rule name: field}");
    let map = match v {
        None | Some(serde_json::Value::Null) => return Ok(BTreeMap::new()),
        Some(serde_json::Value::Object(m)) => m,
        Some(_) => return Err(wrong()),
    };
    let mut out = BTreeMap::new();
    for (alias, per_rule) in map {
        let serde_json::Value::Object(per_rule) = per_rule else {
            return Err(wrong());
        };
        let mut fields = BTreeMap::new();
        for (rule, field) in per_rule {
            fields.insert(rule.clone(), field.as_str().ok_or_else(wrong)?.to_owned());
        }
        out.insert(alias.clone(), fields);
    }
    Ok(out)
}

fn parse_tests(v: Option<&serde_json::Value>) -> Result<CorrelationTests, Refusal> {
    let map = match v {
        None | Some(serde_json::Value::Null) => return Ok(CorrelationTests::default()),
        Some(serde_json::Value::Object(map)) => map,
        Some(other) => {
            return Err(Refusal::Tests(format!(
                "must be a mapping with `match` and `no_match` lists, not {}",
                kind_of(other)
            )));
        }
    };
    if let Some(unknown) = map.keys().find(|k| *k != "match" && *k != "no_match") {
        return Err(Refusal::Tests(format!(
            "unknown key `{unknown}` (use `match` and `no_match`)"
        )));
    }
    let cases = |key: &str| -> Result<Vec<CorrelationCase>, Refusal> {
        let items = match map.get(key) {
            None | Some(serde_json::Value::Null) => return Ok(Vec::new()),
            Some(serde_json::Value::Array(items)) => items,
            Some(other) => {
                return Err(Refusal::Tests(format!(
                    "`{key}` must be a list of cases ({{events: [...], findings: N}}), not {}",
                    kind_of(other)
                )));
            }
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| case(key, i, item))
            .collect()
    };
    Ok(CorrelationTests {
        must_match: cases("match")?,
        must_not_match: cases("no_match")?,
    })
}

fn case(key: &str, i: usize, item: &serde_json::Value) -> Result<CorrelationCase, Refusal> {
    let wrong = |what: &str| Refusal::Tests(format!("`{key}` item {}: {what}", i + 1));
    let serde_json::Value::Object(m) = item else {
        return Err(wrong("must be a mapping {events: [...], findings: N}"));
    };
    if let Some(unknown) = m.keys().find(|k| *k != "events" && *k != "findings") {
        return Err(wrong(&format!(
            "unknown key `{unknown}` (use events and findings)"
        )));
    }
    let events = match m.get("events") {
        Some(serde_json::Value::Array(events)) if events.iter().all(|e| e.is_object()) => {
            events.clone()
        }
        _ => return Err(wrong("`events` must be a list of records")),
    };
    let findings = match m.get("findings") {
        None | Some(serde_json::Value::Null) => None,
        Some(n) => Some(
            n.as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| wrong("`findings` must be a whole number"))?,
        ),
    };
    Ok(CorrelationCase { events, findings })
}

/// Milliseconds since 1970 of a CloudTrail `eventTime` (`2026-11-30T10:00:00Z`, optionally with
/// fractional seconds, `Z` or `+00:00`), or `None` when it is not such a time.
pub fn parse_event_time(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let s = text.get(from..from + len)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    if b.len() < 20 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = text.get(19..)?;
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let ms: String = frac[..digits]
            .chars()
            .chain("000".chars())
            .take(3)
            .collect();
        millis = ms.parse().ok()?;
        rest = &frac[digits..];
    }
    let offset_ms = match rest {
        "Z" | "z" | "+00:00" | "-00:00" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes().get(3) != Some(&b':') {
                return None;
            }
            let h: i64 = rest.get(1..3)?.parse().ok()?;
            let m: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (h * 60 + m) * 60_000
        }
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis - offset_ms)
}

/// What a correlation needs to know of one record that matched one of its rules: made by
/// [`RuleSet::observe`](crate::RuleSet::observe), consumed by [`Correlator::push`]. Owned and
/// small, so a parallel scan can collect them and correlate afterwards in time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Which correlation (its position in the rule set).
    pub correlation: usize,
    /// The referenced rule's position in `correlation.rules`.
    pub rule_pos: usize,
    /// Event time, milliseconds since 1970.
    pub time: i64,
    /// `eventTime` as written.
    pub event_time: String,
    /// `eventID`.
    pub event_id: Option<String>,
    /// The values of the `group-by` fields (`None`: absent).
    pub group: Vec<Option<String>>,
    /// The value of `condition.field` (value_count).
    pub value: Option<String>,
}

/// The first scalar value at `field` as text.
pub(crate) fn field_text(doc: &dyn Document, field: &str) -> Option<String> {
    let path = FieldPath::new(field);
    let mut found = None;
    let _ = path.resolve(doc, &mut |v| {
        let text = match v {
            Value::Str(s) => Some(s.to_owned()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::UInt(u) => Some(u.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Null | Value::List(_) | Value::Object(_) => None,
        };
        match text {
            Some(t) => {
                found = Some(t);
                std::ops::ControlFlow::Break(())
            }
            None => std::ops::ControlFlow::Continue(()),
        }
    });
    found
}

/// A correlation that fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationFinding {
    /// The correlation's position in the rule set.
    pub correlation: usize,
    /// Its id.
    pub rule_id: String,
    /// Its title.
    pub title: String,
    /// Its level.
    pub level: Level,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its type.
    pub kind: CorrelationType,
    /// Each `group-by` field with the group's value.
    pub group: Vec<(String, Option<String>)>,
    /// What was counted: events (event_count), distinct values (value_count), referenced
    /// rules seen (temporal types).
    pub count: u64,
    /// The distinct values (value_count) or the ids of the rules seen (temporal types).
    pub values: Vec<String>,
    /// The first event's `eventTime`.
    pub first_event_time: String,
    /// The last event's `eventTime`.
    pub last_event_time: String,
    /// The `eventID`s of the events in the window (at most [`CorrelatorLimits::event_ids`]).
    pub event_ids: Vec<String>,
}

/// How much a [`Correlator`] holds at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorrelatorLimits {
    /// Groups per correlation; beyond it, the events of new groups are dropped (and counted).
    pub groups: usize,
    /// Events kept per group (the oldest are dropped first).
    pub events_per_group: usize,
    /// `eventID`s reported per finding.
    pub event_ids: usize,
}

impl Default for CorrelatorLimits {
    fn default() -> Self {
        CorrelatorLimits {
            groups: 100_000,
            events_per_group: 10_000,
            event_ids: 100,
        }
    }
}

/// What a [`Correlator`] had to leave out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CorrelatorStats {
    /// Observations older than the timespan behind the newest event time seen.
    pub late: u64,
    /// Observations of new groups beyond [`CorrelatorLimits::groups`].
    pub over_group_limit: u64,
}

#[derive(Debug, Clone)]
struct Entry {
    time: i64,
    event_time: String,
    event_id: Option<String>,
    value: Option<String>,
    rule_pos: usize,
}

#[derive(Debug, Clone)]
struct Spec {
    rule_id: String,
    title: String,
    level: Level,
    tags: Vec<String>,
    kind: CorrelationType,
    group_by: Vec<String>,
    rule_ids: Vec<String>,
    span: i64,
    min: u64,
}

/// The open windows of every correlation of a rule set. See the module documentation.
#[derive(Debug, Clone)]
pub struct Correlator {
    specs: Vec<Spec>,
    groups: Vec<HashMap<Vec<Option<String>>, VecDeque<Entry>>>,
    watermark: Vec<i64>,
    limits: CorrelatorLimits,
    stats: CorrelatorStats,
    pushes: u64,
}

impl Correlator {
    /// A correlator for the correlations of `set` (linked), with default limits.
    pub fn new(set: &crate::RuleSet) -> Correlator {
        Correlator::with_limits(set, CorrelatorLimits::default())
    }

    /// A correlator with these limits.
    pub fn with_limits(set: &crate::RuleSet, limits: CorrelatorLimits) -> Correlator {
        let specs: Vec<Spec> = set
            .correlations()
            .iter()
            .map(|c| Spec {
                rule_id: c.id.clone(),
                title: c.title.clone(),
                level: c.level,
                tags: c.tags.clone(),
                kind: c.kind,
                group_by: c.group_by.clone(),
                rule_ids: c
                    .resolved
                    .iter()
                    .map(|r| set.get(*r).id().to_owned())
                    .collect(),
                span: c.timespan_ms,
                min: c.min_count,
            })
            .collect();
        let n = specs.len();
        Correlator {
            specs,
            groups: vec![HashMap::new(); n],
            watermark: vec![i64::MIN; n],
            limits,
            stats: CorrelatorStats::default(),
            pushes: 0,
        }
    }

    /// What had to be left out so far.
    pub fn stats(&self) -> CorrelatorStats {
        self.stats
    }

    /// How many groups hold events (all correlations).
    pub fn open_groups(&self) -> usize {
        self.groups.iter().map(HashMap::len).sum()
    }

    /// Adds one observation and appends to `out` the finding of its correlation if it fires.
    /// Observations should come in event-time order; a slightly late one is filed in order, one
    /// older than the timespan behind the newest seen is dropped (and counted).
    pub fn push(&mut self, obs: Observation, out: &mut Vec<CorrelationFinding>) {
        let c = obs.correlation;
        let (Some(spec), Some(groups), Some(watermark)) = (
            self.specs.get(c),
            self.groups.get_mut(c),
            self.watermark.get_mut(c),
        ) else {
            return;
        };
        if *watermark != i64::MIN && obs.time < watermark.saturating_sub(spec.span) {
            self.stats.late += 1;
            return;
        }
        *watermark = (*watermark).max(obs.time);
        self.pushes += 1;
        if self.pushes.is_multiple_of(1024) || groups.len() >= self.limits.groups {
            let horizon = watermark.saturating_sub(spec.span);
            groups.retain(|_, events| events.back().is_some_and(|e| e.time >= horizon));
        }
        if !groups.contains_key(&obs.group) && groups.len() >= self.limits.groups {
            self.stats.over_group_limit += 1;
            return;
        }
        let events = groups.entry(obs.group.clone()).or_default();
        let entry = Entry {
            time: obs.time,
            event_time: obs.event_time,
            event_id: obs.event_id,
            value: obs.value,
            rule_pos: obs.rule_pos,
        };
        let at = events.partition_point(|e| e.time <= entry.time);
        events.insert(at, entry);
        let newest = events.back().map_or(obs.time, |e| e.time);
        while events
            .front()
            .is_some_and(|e| e.time < newest.saturating_sub(spec.span))
        {
            events.pop_front();
        }
        while events.len() > self.limits.events_per_group {
            events.pop_front();
        }
        let (count, values) = measure(spec, events);
        if count >= spec.min {
            let ids: Vec<String> = events
                .iter()
                .filter_map(|e| e.event_id.clone())
                .take(self.limits.event_ids)
                .collect();
            out.push(CorrelationFinding {
                correlation: c,
                rule_id: spec.rule_id.clone(),
                title: spec.title.clone(),
                level: spec.level,
                tags: spec.tags.clone(),
                kind: spec.kind,
                group: spec
                    .group_by
                    .iter()
                    .cloned()
                    .zip(obs.group.iter().cloned())
                    .collect(),
                count,
                values,
                first_event_time: events
                    .front()
                    .map(|e| e.event_time.clone())
                    .unwrap_or_default(),
                last_event_time: events
                    .back()
                    .map(|e| e.event_time.clone())
                    .unwrap_or_default(),
                event_ids: ids,
            });
            // The window starts again: the next finding needs a new set of events.
            groups.remove(&obs.group);
        }
    }
}

/// The count a correlation compares with its threshold, and the values to report.
fn measure(spec: &Spec, events: &VecDeque<Entry>) -> (u64, Vec<String>) {
    let n = |x: usize| u64::try_from(x).unwrap_or(u64::MAX);
    match spec.kind {
        CorrelationType::EventCount => (n(events.len()), Vec::new()),
        CorrelationType::ValueCount => {
            // Distinct as Sigma compares: ignoring case; reported as first seen.
            let mut distinct: BTreeMap<String, &str> = BTreeMap::new();
            for v in events.iter().filter_map(|e| e.value.as_deref()) {
                distinct.entry(v.to_lowercase()).or_insert(v);
            }
            (
                n(distinct.len()),
                distinct.into_values().map(str::to_owned).collect(),
            )
        }
        CorrelationType::Temporal => {
            let seen: BTreeSet<usize> = events.iter().map(|e| e.rule_pos).collect();
            let ids = seen
                .iter()
                .filter_map(|p| spec.rule_ids.get(*p).cloned())
                .collect();
            (n(seen.len()), ids)
        }
        CorrelationType::TemporalOrdered => {
            // The longest prefix of the rule list seen in order: greedy on the earliest event
            // of each next rule is optimal.
            let mut next = 0;
            for e in events {
                if e.rule_pos == next {
                    next += 1;
                }
            }
            let ids = spec.rule_ids.iter().take(next).cloned().collect();
            (n(next), ids)
        }
    }
}

/// Lints a correlation document: refusals, unknown group-by and condition fields, and base
/// rules silenced by `generate: false`.
pub(crate) fn lint(
    text: &str,
    origin: &str,
    push: &mut impl FnMut(crate::lint::Severity, crate::lint::Check, String),
) {
    use crate::lint::{Check, Severity, unknown_field};
    let c = match Correlation::from_yaml(text, origin) {
        Ok(c) => c,
        Err(e) => {
            push(Severity::Error, Check::Refused, e.reason().to_string());
            return;
        }
    };
    for g in &c.group_by {
        if c.aliases.contains_key(g) {
            for field in c.aliases.get(g).into_iter().flat_map(BTreeMap::values) {
                if let Some(problem) = unknown_field(field) {
                    push(
                        Severity::Error,
                        Check::UnknownField,
                        format!("alias `{g}`: {problem}"),
                    );
                }
            }
        } else if let Some(problem) = unknown_field(g) {
            push(
                Severity::Error,
                Check::UnknownField,
                format!("group-by: {problem}"),
            );
        }
    }
    if let Some(field) = &c.field
        && let Some(problem) = unknown_field(field)
    {
        push(
            Severity::Error,
            Check::UnknownField,
            format!("condition.field: {problem}"),
        );
    }
    if !c.generate {
        push(
            Severity::Warning,
            Check::SilencedRules,
            format!(
                "`generate` is false (the default): the referenced rules ({}) no longer report \
                 their own findings; write `generate: true` in `correlation` to keep them",
                c.rules.join(", ")
            ),
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn refusal(text: &str) -> Refusal {
        Correlation::from_yaml(text, "c.yml")
            .expect_err("refused")
            .reason()
            .clone()
    }

    const BASE: &str = "title: c\nid: c\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [userIdentity.arn]\n  timespan: 10m\n  condition: {gte: 3}\n";

    #[test]
    fn loads_the_correlation_section() {
        let c = Correlation::from_yaml(BASE, "c.yml").expect("loads");
        assert_eq!(c.kind(), CorrelationType::EventCount);
        assert_eq!(c.rule_refs(), ["a"]);
        assert_eq!(c.group_by(), ["userIdentity.arn"]);
        assert_eq!(c.timespan_ms(), 600_000);
        assert_eq!(c.min_count(), 3);
        assert!(!c.generate());
        let t = Correlation::from_yaml(
            "title: t\ncorrelation: {type: temporal_ordered, rules: [a, b, c], timespan: 1h, generate: true}\n",
            "dir/t.yml",
        )
        .expect("loads");
        assert_eq!(t.id(), "t");
        assert_eq!(t.min_count(), 3, "temporal without condition: every rule");
        assert!(t.group_by().is_empty());
        assert!(t.generate());
        let v = Correlation::from_yaml(
            "title: v\ncorrelation: {type: value_count, rules: a, group-by: x, timespan: 1d, condition: {field: eventSource, gt: 2}}\n",
            "v.yml",
        )
        .expect("loads");
        assert_eq!((v.min_count(), v.field()), (3, Some("eventSource")));
        let top = Correlation::from_yaml(&format!("{BASE}generate: true\n"), "c.yml").expect("ok");
        assert!(
            top.generate(),
            "the specification's top-level generate is read too"
        );
    }

    #[test]
    fn what_cannot_be_evaluated_exactly_is_refused_with_a_reason() {
        let with = |from: &str, to: &str| refusal(&BASE.replace(from, to));
        assert!(matches!(
            with("gte: 3", "lt: 3"),
            Refusal::UnsupportedCorrelation(_)
        ));
        assert!(matches!(
            with("gte: 3", "eq: 3"),
            Refusal::UnsupportedCorrelation(_)
        ));
        assert!(matches!(
            with("event_count", "value_sum"),
            Refusal::UnsupportedCorrelation(_)
        ));
        assert!(matches!(
            with("event_count", "event_counts"),
            Refusal::InvalidCorrelation(_)
        ));
        for span in ["10", "10w", "m", "-1m", "0s", "1.5h"] {
            assert!(
                matches!(with("10m", span), Refusal::InvalidCorrelation(_)),
                "{span}"
            );
        }
        assert!(matches!(
            with("gte: 3", "gte: x"),
            Refusal::InvalidCorrelation(_)
        ));
        assert!(matches!(
            with("gte: 3", "field: a"),
            Refusal::InvalidCorrelation(_)
        ));
        assert!(matches!(
            with("{gte: 3}", "{gte: 3, field: x}"),
            Refusal::InvalidCorrelation(_)
        ));
        assert!(matches!(
            with("event_count", "value_count"),
            Refusal::InvalidCorrelation(_)
        ));
        assert_eq!(
            with("  condition: {gte: 3}\n", ""),
            Refusal::MissingKey("correlation.condition")
        );
        assert_eq!(
            with("  timespan: 10m\n", ""),
            Refusal::MissingKey("correlation.timespan")
        );
        assert_eq!(
            with("  rules: [a]\n", ""),
            Refusal::MissingKey("correlation.rules")
        );
        assert!(matches!(
            with("  rules: [a]\n", "  rules: []\n"),
            Refusal::InvalidCorrelation(_)
        ));
        assert!(matches!(
            with("timespan:", "timeframe:"),
            Refusal::InvalidCorrelation(_)
        ));
        assert!(matches!(
            refusal(&format!("{BASE}tests: {{match: [[{{a: 1}}]]}}\n")),
            Refusal::Tests(_)
        ));
        let e = Correlation::from_yaml(&BASE.replace("gte: 3", "lte: 3"), "c.yml").expect_err("r");
        assert!(e.is_unsupported());
    }

    #[test]
    fn event_times_parse_to_milliseconds() {
        assert_eq!(parse_event_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_event_time("1970-01-01T00:00:01.5Z"), Some(1_500));
        assert_eq!(
            parse_event_time("2000-03-01T00:00:00Z"),
            Some(951_868_800_000)
        );
        assert_eq!(
            parse_event_time("2026-11-30T10:00:00+01:00"),
            parse_event_time("2026-11-30T09:00:00Z")
        );
        for bad in [
            "",
            "2026-11-30",
            "2026-13-01T00:00:00Z",
            "2026-11-30T10:00:00",
            "x026-11-30T10:00:00Z",
            "2026-11-30T10:00:00.Z",
        ] {
            assert_eq!(parse_event_time(bad), None, "{bad}");
        }
    }

    fn spec(kind: CorrelationType, min: u64, span_s: i64) -> Spec {
        Spec {
            rule_id: "c".into(),
            title: "c".into(),
            level: Level::High,
            tags: Vec::new(),
            kind,
            group_by: vec!["user".into()],
            rule_ids: vec!["a".into(), "b".into(), "c".into()],
            span: span_s * 1000,
            min,
        }
    }

    fn correlator(spec: Spec, limits: CorrelatorLimits) -> Correlator {
        Correlator {
            specs: vec![spec],
            groups: vec![HashMap::new()],
            watermark: vec![i64::MIN],
            limits,
            stats: CorrelatorStats::default(),
            pushes: 0,
        }
    }

    fn obs(t: i64, user: &str, rule_pos: usize, value: &str) -> Observation {
        Observation {
            correlation: 0,
            rule_pos,
            time: t * 1000,
            event_time: format!("t{t}"),
            event_id: Some(format!("e{t}")),
            group: vec![Some(user.to_owned())],
            value: Some(value.to_owned()),
        }
    }

    fn run(c: &mut Correlator, events: &[Observation]) -> Vec<CorrelationFinding> {
        let mut out = Vec::new();
        for o in events {
            c.push(o.clone(), &mut out);
        }
        out
    }

    #[test]
    fn event_count_fires_per_group_within_the_timespan_and_restarts() {
        let mut c = correlator(
            spec(CorrelationType::EventCount, 3, 600),
            CorrelatorLimits::default(),
        );
        let found = run(
            &mut c,
            &[
                obs(0, "mallory", 0, "x"),
                obs(10, "alice", 0, "x"),
                obs(20, "mallory", 0, "x"),
                obs(700, "mallory", 0, "x"), // the first two are now older than 10 minutes
                obs(710, "mallory", 0, "x"),
                obs(720, "mallory", 0, "x"),
                obs(730, "mallory", 0, "x"),
            ],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        let f = &found[0];
        assert_eq!(f.group, [("user".to_owned(), Some("mallory".to_owned()))]);
        assert_eq!(f.count, 3);
        assert_eq!(
            (f.first_event_time.as_str(), f.last_event_time.as_str()),
            ("t700", "t720")
        );
        assert_eq!(f.event_ids, ["e700", "e710", "e720"]);
        assert_eq!(c.open_groups(), 2, "alice's window and mallory's new one");
    }

    #[test]
    fn value_count_counts_distinct_values() {
        let mut c = correlator(
            spec(CorrelationType::ValueCount, 3, 600),
            CorrelatorLimits::default(),
        );
        let found = run(
            &mut c,
            &[
                obs(0, "m", 0, "cloudtrail"),
                obs(1, "m", 0, "cloudtrail"),
                obs(2, "m", 0, "guardduty"),
                obs(3, "m", 0, "GuardDuty"),
                obs(4, "m", 0, "config"),
            ],
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].count, 3);
        assert_eq!(found[0].values, ["cloudtrail", "config", "guardduty"]);
        assert_eq!(found[0].event_ids.len(), 5);
    }

    #[test]
    fn temporal_needs_every_rule_and_ordered_needs_their_order() {
        let events = [obs(0, "m", 1, ""), obs(5, "m", 0, ""), obs(9, "m", 2, "")];
        let mut any = correlator(
            spec(CorrelationType::Temporal, 3, 60),
            CorrelatorLimits::default(),
        );
        let found = run(&mut any, &events);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].values, ["a", "b", "c"]);
        let mut ordered = correlator(
            spec(CorrelationType::TemporalOrdered, 3, 60),
            CorrelatorLimits::default(),
        );
        assert!(run(&mut ordered, &events).is_empty(), "b came before a");
        let in_order = [obs(20, "m", 1, ""), obs(21, "m", 2, "")];
        assert_eq!(run(&mut ordered, &in_order).len(), 1, "a(5) b(20) c(21)");
        let mut slow = correlator(
            spec(CorrelationType::Temporal, 3, 60),
            CorrelatorLimits::default(),
        );
        assert!(
            run(
                &mut slow,
                &[obs(0, "m", 0, ""), obs(30, "m", 1, ""), obs(70, "m", 2, "")]
            )
            .is_empty()
        );
    }

    #[test]
    fn late_events_are_filed_in_order_or_dropped() {
        let mut c = correlator(
            spec(CorrelationType::EventCount, 3, 60),
            CorrelatorLimits::default(),
        );
        let found = run(
            &mut c,
            &[
                obs(100, "m", 0, ""),
                obs(90, "m", 0, ""),
                obs(10, "m", 0, ""),
                obs(95, "m", 0, ""),
            ],
        );
        assert_eq!(c.stats().late, 1, "t10 is more than 60 s behind t100");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].event_ids, ["e90", "e95", "e100"]);
    }

    #[test]
    fn memory_is_bounded() {
        let limits = CorrelatorLimits {
            groups: 2,
            events_per_group: 2,
            event_ids: 1,
        };
        let mut c = correlator(spec(CorrelationType::EventCount, 5, 60), limits);
        run(
            &mut c,
            &[obs(0, "a", 0, ""), obs(1, "b", 0, ""), obs(2, "c", 0, "")],
        );
        assert_eq!(c.open_groups(), 2);
        assert_eq!(c.stats().over_group_limit, 1);
        // Once a and b are older than the timespan, their groups are swept for new ones.
        run(&mut c, &[obs(100, "d", 0, "")]);
        assert_eq!(c.open_groups(), 1);
        let mut small = correlator(spec(CorrelationType::EventCount, 3, 60), limits);
        assert!(
            run(
                &mut small,
                &[obs(0, "a", 0, ""), obs(1, "a", 0, ""), obs(2, "a", 0, "")]
            )
            .is_empty(),
            "only two events are kept per group"
        );
        let mut many = correlator(spec(CorrelationType::EventCount, 2, 60), limits);
        let f = run(&mut many, &[obs(0, "a", 0, ""), obs(1, "a", 0, "")]);
        assert_eq!(f[0].event_ids, ["e0"], "event ids are capped");
    }
}
