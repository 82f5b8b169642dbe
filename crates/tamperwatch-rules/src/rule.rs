//! A Sigma rule: its metadata, loaded from YAML, and its compiled detection.

use std::path::Path;

use crate::detection::Detection;
use crate::document::Document;
use crate::error::{LoadRuleError, Refusal, kind_of};
use crate::export::{OWN_KEYS, strip_top_level_keys};
use crate::level::Level;
use crate::prefilter::{self, Constraints, Key, Prefilter};

/// Where a rule's events come from (Sigma's `logsource`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSource {
    /// `product`, such as `aws`.
    pub product: Option<String>,
    /// `service`, such as `cloudtrail`.
    pub service: Option<String>,
    /// `category`.
    pub category: Option<String>,
    /// `definition`: free text on how the source must be configured.
    pub definition: Option<String>,
}

/// A rule's own test events (tamperwatch's `tests:` key).
///
/// ```yaml
/// tests:
///   match:      # events the rule must fire on
///     - {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging}
///   no_match:   # events it must not fire on
///     - {eventSource: cloudtrail.amazonaws.com, eventName: StartLogging}
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleTests {
    /// `tests.match`: records the rule must match.
    pub must_match: Vec<serde_json::Value>,
    /// `tests.no_match`: records the rule must not match.
    pub must_not_match: Vec<serde_json::Value>,
}

impl RuleTests {
    /// Whether the rule has no test event.
    pub fn is_empty(&self) -> bool {
        self.must_match.is_empty() && self.must_not_match.is_empty()
    }
}

/// A loaded, compiled Sigma detection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    id: String,
    id_derived: bool,
    name: Option<String>,
    title: String,
    description: Option<String>,
    level: Level,
    status: Option<String>,
    tags: Vec<String>,
    falsepositives: Vec<String>,
    references: Vec<String>,
    author: Option<String>,
    fields: Vec<String>,
    response: Option<String>,
    tests: RuleTests,
    origin: String,
    logsource: LogSource,
    detection: Detection,
    constraints: Constraints,
    prefilter: Prefilter,
    sigma_yaml: String,
    pub(crate) silenced: bool,
}

pub(crate) type Map = serde_json::Map<String, serde_json::Value>;

impl Rule {
    /// Loads and compiles one rule from its YAML text. `origin` names where the text came from
    /// (a file path) in error messages; a rule without `id` gets the file stem of `origin`.
    ///
    /// Refuses, with the reason, anything that is not one valid Sigma detection rule this
    /// engine evaluates exactly: several YAML documents, correlation rules, aggregations,
    /// unknown or unsupported modifiers, regular expressions the regex crate cannot run,
    /// conditions naming missing selections, and malformed metadata.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Rule, LoadRuleError> {
        load(text, origin).map_err(|reason| LoadRuleError::new(origin, reason))
    }

    /// The rule's `id`, or the file stem of its origin when it has none.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the id was derived from the file name because the rule has no `id`.
    pub fn id_is_derived(&self) -> bool {
        self.id_derived
    }

    /// Sigma's `name`: a unique, human-readable handle by which correlation rules refer to a
    /// rule.
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

    /// `status` (stable, test, experimental, ...).
    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
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

    /// `author`.
    pub fn author(&self) -> Option<&str> {
        self.author.as_deref()
    }

    /// Sigma's `fields`: the event fields worth showing with a finding.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// tamperwatch's `response`: what to do about a finding.
    pub fn response(&self) -> Option<&str> {
        self.response.as_deref()
    }

    /// tamperwatch's `tests`: the rule's own test events.
    pub fn tests(&self) -> &RuleTests {
        &self.tests
    }

    /// Where the rule was loaded from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// `logsource`.
    pub fn logsource(&self) -> &LogSource {
        &self.logsource
    }

    /// Whether the event matches the rule (full evaluation, no prefilter).
    pub fn matches(&self, doc: &impl Document) -> bool {
        self.detection.matches(doc)
    }

    /// The cheap key the rule needs, as filed in a [`RuleSet`](crate::RuleSet)'s index.
    pub fn prefilter(&self) -> &Prefilter {
        &self.prefilter
    }

    /// The `eventName` values the rule requires (spelled as in the rule; compared ignoring
    /// case), or `None` when it does not constrain `eventName` to plain values.
    pub fn event_names(&self) -> Option<Vec<String>> {
        self.constraints.values(Key::EventName)
    }

    /// The `eventSource` values the rule requires, or `None` when unconstrained.
    pub fn event_sources(&self) -> Option<Vec<String>> {
        self.constraints.values(Key::EventSource)
    }

    /// The `userIdentity.type` values the rule requires, or `None` when unconstrained.
    pub fn identity_types(&self) -> Option<Vec<String>> {
        self.constraints.values(Key::IdentityType)
    }

    /// The rule as plain Sigma: the original text without tamperwatch's `tests` and
    /// `response` keys (comments and layout kept).
    pub fn sigma_yaml(&self) -> &str {
        &self.sigma_yaml
    }

    /// Whether the rule reports its own findings: false when a correlation rule referring to it
    /// says `generate: false` (the default), once the rule set is linked
    /// ([`RuleSet::link_correlations`](crate::RuleSet::link_correlations)). Its matches still
    /// feed the correlation.
    pub fn generates(&self) -> bool {
        !self.silenced
    }
}

fn load(text: &str, origin: &str) -> Result<Rule, Refusal> {
    load_parsed(text, &parse_yaml(text)?, origin)
}

/// Compiles a rule from its text and that text as [`parse_yaml`] read it (so that a caller
/// that has already parsed the document does not parse it again).
pub(crate) fn load_parsed(
    text: &str,
    doc: &serde_json::Value,
    origin: &str,
) -> Result<Rule, Refusal> {
    let serde_json::Value::Object(map) = doc else {
        return Err(Refusal::NotAMapping(kind_of(doc)));
    };
    if map.contains_key("correlation") {
        return Err(Refusal::Correlation);
    }
    if let Some(action) = map.get("action") {
        return Err(Refusal::Collection(
            action
                .as_str()
                .map_or_else(|| action.to_string(), str::to_owned),
        ));
    }
    if map.contains_key("timeframe") {
        return Err(Refusal::Aggregation);
    }
    let title = match optional_string(map, "title")? {
        Some(t) if !t.trim().is_empty() => t,
        _ => return Err(Refusal::MissingKey("title")),
    };
    let (id, id_derived) = match optional_string(map, "id")? {
        Some(id) if !id.trim().is_empty() => (id, false),
        _ => match Path::new(origin).file_stem().and_then(|s| s.to_str()) {
            Some(stem) if !stem.is_empty() => (stem.to_owned(), true),
            _ => return Err(Refusal::MissingKey("id")),
        },
    };
    let level = match optional_string(map, "level")? {
        None => Level::default(),
        Some(l) => l.parse().map_err(|_| Refusal::UnknownLevel(l))?,
    };
    let detection = Detection::compile(
        map.get("detection")
            .ok_or(Refusal::MissingKey("detection"))?,
    )?;
    let constraints = prefilter::derive(&detection);
    let prefilter = constraints.prefilter();
    Ok(Rule {
        id,
        id_derived,
        name: optional_string(map, "name")?,
        title,
        description: optional_string(map, "description")?,
        level,
        status: optional_string(map, "status")?,
        tags: string_list(map, "tags")?,
        falsepositives: string_list(map, "falsepositives")?,
        references: string_list(map, "references")?,
        author: optional_string(map, "author")?,
        fields: string_list(map, "fields")?,
        response: optional_string(map, "response")?,
        tests: parse_tests(map.get("tests"))?,
        origin: origin.to_owned(),
        logsource: parse_logsource(map.get("logsource"))?,
        detection,
        constraints,
        prefilter,
        sigma_yaml: sigma_text(text, map),
        silenced: false,
    })
}

/// Parses the rule with YAML 1.2 booleans (only `true`/`false`), then refuses a detection that
/// YAML 1.1 (PyYAML, and so pySigma) would read differently: an unquoted `yes`, `no`, `on`,
/// `off`, `y` or `n` is a boolean there and a string here, and either reading could be what the
/// author meant.
pub(crate) fn parse_yaml(text: &str) -> Result<serde_json::Value, Refusal> {
    let mut yaml12 = serde_saphyr::Options::default();
    yaml12.strict_booleans = true;
    let doc = match serde_saphyr::from_str_with_options::<serde_json::Value>(text, yaml12) {
        Ok(v) => v,
        Err(e) => {
            if matches!(
                e.without_snippet(),
                serde_saphyr::Error::MultipleDocuments { .. }
            ) {
                // Name the collection action when the first document has one.
                let docs: Vec<serde_json::Value> =
                    serde_saphyr::from_str_multiple(text).unwrap_or_default();
                if let Some(action) = docs.first().and_then(|d| d.get("action")) {
                    return Err(Refusal::Collection(
                        action
                            .as_str()
                            .map_or_else(|| action.to_string(), str::to_owned),
                    ));
                }
                return Err(Refusal::MultipleDocuments);
            }
            return Err(Refusal::Yaml(e.without_snippet().to_string()));
        }
    };
    // Reading the text again as YAML 1.1 is the costly part of loading a rule (its tests are
    // most of its text), and it can only differ where YAML 1.2 read a word that YAML 1.1
    // takes for a boolean: only then is the second reading done.
    if let Some(detection) = doc.get("detection")
        && has_yaml11_boolean_word(detection)
        && let Ok(yaml11) = serde_saphyr::from_str::<serde_json::Value>(text)
        && let Some(other) = yaml11.get("detection")
        && let Some((path, value)) = first_difference(detection, other, "detection")
    {
        return Err(Refusal::AmbiguousScalar { path, value });
    }
    Ok(doc)
}

/// The YAML documents of a file: the text between lines that are `---` (a document start,
/// optionally followed by a comment) or `...` (a document end), without documents that hold
/// nothing but blank lines and comments. A file without such lines is one document.
pub(crate) fn split_documents(text: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_marker = bare == "..."
            || bare.strip_prefix("---").is_some_and(|rest| {
                let rest = rest.trim();
                rest.is_empty() || (rest.starts_with('#') && !bare.starts_with("---#"))
            });
        if is_marker {
            docs.push(&text[start..pos]);
            start = pos + line.len();
        }
        pos += line.len();
    }
    docs.push(&text[start..]);
    let has_content = |d: &&str| {
        d.lines().any(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        })
    };
    let kept: Vec<&str> = docs.into_iter().filter(has_content).collect();
    if kept.is_empty() { vec![text] } else { kept }
}

/// The first place where two parses of one text differ: its path and the YAML 1.2 reading.
/// Whether a key or string in `v` is a word YAML 1.1 reads as a boolean (`y`, `yes`, `n`,
/// `no`, `on`, `off`, `true`, `false`, in any case, as serde_saphyr's YAML 1.1 mode reads
/// them). Quoted words count too: the check may say yes where both readings agree, never no
/// where they differ.
fn has_yaml11_boolean_word(v: &serde_json::Value) -> bool {
    fn word(s: &str) -> bool {
        let t = s.trim();
        ["y", "yes", "n", "no", "on", "off", "true", "false"]
            .iter()
            .any(|w| t.eq_ignore_ascii_case(w))
    }
    match v {
        serde_json::Value::String(s) => word(s),
        serde_json::Value::Array(items) => items.iter().any(has_yaml11_boolean_word),
        serde_json::Value::Object(map) => map
            .iter()
            .any(|(k, v)| word(k) || has_yaml11_boolean_word(v)),
        _ => false,
    }
}

fn first_difference(
    a: &serde_json::Value,
    b: &serde_json::Value,
    path: &str,
) -> Option<(String, String)> {
    match (a, b) {
        (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
            x.iter().find_map(|(k, v)| {
                let here = format!("{path}.{k}");
                match y.get(k) {
                    Some(w) => first_difference(v, w, &here),
                    None => Some((here, v.to_string())),
                }
            })
        }
        (serde_json::Value::Array(x), serde_json::Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (v, w))| first_difference(v, w, &format!("{path}[{i}]"))),
        (x, y) if x == y => None,
        (x, _) => Some((
            path.to_owned(),
            x.as_str().map_or_else(|| x.to_string(), str::to_owned),
        )),
    }
}

pub(crate) fn optional_string(map: &Map, key: &str) -> Result<Option<String>, Refusal> {
    match map.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Refusal::WrongType {
            key: key.to_owned(),
            expected: "a string",
        }),
    }
}

/// A list of strings; a single string counts as a list of one. Numbers and booleans are
/// taken as their text (`- 2021` in `references` is still a reference).
pub(crate) fn string_list(map: &Map, key: &str) -> Result<Vec<String>, Refusal> {
    let wrong = || Refusal::WrongType {
        key: key.to_owned(),
        expected: "a list of strings",
    };
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match map.get(key) {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(serde_json::Value::Array(items)) => {
            items.iter().map(|i| scalar(i).ok_or_else(wrong)).collect()
        }
        Some(v) => scalar(v).map(|s| vec![s]).ok_or_else(wrong),
    }
}

fn parse_logsource(v: Option<&serde_json::Value>) -> Result<LogSource, Refusal> {
    let map = match v {
        None | Some(serde_json::Value::Null) => return Ok(LogSource::default()),
        Some(serde_json::Value::Object(map)) => map,
        Some(_) => {
            return Err(Refusal::WrongType {
                key: "logsource".into(),
                expected: "a mapping (product, service, category)",
            });
        }
    };
    let field = |key: &'static str| -> Result<Option<String>, Refusal> {
        optional_string(map, key).map_err(|_| Refusal::WrongType {
            key: format!("logsource.{key}"),
            expected: "a string",
        })
    };
    Ok(LogSource {
        product: field("product")?,
        service: field("service")?,
        category: field("category")?,
        definition: field("definition")?,
    })
}

fn parse_tests(v: Option<&serde_json::Value>) -> Result<RuleTests, Refusal> {
    let map = match v {
        None | Some(serde_json::Value::Null) => return Ok(RuleTests::default()),
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
    let events = |key: &str| -> Result<Vec<serde_json::Value>, Refusal> {
        match map.get(key) {
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(serde_json::Value::Array(items)) => {
                if let Some((i, bad)) = items.iter().enumerate().find(|(_, e)| !e.is_object()) {
                    return Err(Refusal::Tests(format!(
                        "`{key}` item {} must be a record (a mapping), not {}",
                        i + 1,
                        kind_of(bad)
                    )));
                }
                Ok(items.clone())
            }
            Some(other) => Err(Refusal::Tests(format!(
                "`{key}` must be a list of records, not {}",
                kind_of(other)
            ))),
        }
    };
    Ok(RuleTests {
        must_match: events("match")?,
        must_not_match: events("no_match")?,
    })
}

/// The text without tamperwatch's keys, checked by parsing it again. Where the line filter
/// cannot follow the YAML, the parsed rule is written out as JSON (which is valid YAML).
pub(crate) fn sigma_text(text: &str, map: &Map) -> String {
    if !OWN_KEYS.iter().any(|k| map.contains_key(*k)) {
        return text.to_owned();
    }
    let mut expected = map.clone();
    for k in OWN_KEYS {
        expected.remove(k);
    }
    let stripped = strip_top_level_keys(text, &OWN_KEYS);
    let reparsed = serde_saphyr::from_str::<serde_json::Value>(&stripped).ok();
    if reparsed.as_ref().and_then(|v| v.as_object()) == Some(&expected) {
        return stripped;
    }
    serde_json::to_string_pretty(&expected).unwrap_or_default() + "\n"
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const RULE: &str = r#"title: CloudTrail logging stopped
id: 4f5e9a4c-3f53-4a3e-8c1e-0b0f1a7a2c11
status: stable
description: |
  Someone called StopLogging on a trail.
references:
  - https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_StopLogging.html
author: tamperwatch
date: 2026-11-30
tags:
  - attack.defense-evasion
  - attack.t1562.008
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: cloudtrail.amazonaws.com
    eventName: StopLogging
  condition: selection
fields:                      # shown in every alert
  - requestParameters.name
falsepositives:
  - A planned trail migration.
level: critical
response: >-
  Restart the trail and find out who stopped it.
tests:
  match:
    - eventSource: cloudtrail.amazonaws.com
      eventName: StopLogging
      requestParameters: {name: management-events}
  no_match:
    - eventSource: cloudtrail.amazonaws.com
      eventName: StartLogging
"#;

    fn refusal(text: &str) -> Refusal {
        Rule::from_yaml(text, "rules/x.yml")
            .expect_err("refused")
            .reason()
            .clone()
    }

    #[test]
    fn loads_every_metadata_key() {
        let r = Rule::from_yaml(RULE, "rules/cloudtrail/stop.yml").expect("loads");
        assert_eq!(r.id(), "4f5e9a4c-3f53-4a3e-8c1e-0b0f1a7a2c11");
        assert!(!r.id_is_derived());
        assert_eq!(r.name(), None);
        assert_eq!(r.title(), "CloudTrail logging stopped");
        assert_eq!(
            r.description(),
            Some("Someone called StopLogging on a trail.\n")
        );
        assert_eq!(r.level(), Level::Critical);
        assert_eq!(r.status(), Some("stable"));
        assert_eq!(r.tags(), ["attack.defense-evasion", "attack.t1562.008"]);
        assert_eq!(r.falsepositives(), ["A planned trail migration."]);
        assert_eq!(r.references().len(), 1);
        assert_eq!(r.author(), Some("tamperwatch"));
        assert_eq!(r.fields(), ["requestParameters.name"]);
        assert_eq!(
            r.response(),
            Some("Restart the trail and find out who stopped it.")
        );
        assert_eq!(r.origin(), "rules/cloudtrail/stop.yml");
        assert_eq!(r.logsource().product.as_deref(), Some("aws"));
        assert_eq!(r.logsource().service.as_deref(), Some("cloudtrail"));
        assert_eq!(r.logsource().category, None);
        assert_eq!(r.tests().must_match.len(), 1);
        assert_eq!(r.tests().must_not_match.len(), 1);
        assert_eq!(r.event_names(), Some(vec!["StopLogging".to_owned()]));
        assert_eq!(
            r.event_sources(),
            Some(vec!["cloudtrail.amazonaws.com".to_owned()])
        );
        assert_eq!(r.identity_types(), None);
        assert_eq!(
            r.prefilter(),
            &Prefilter::EventName {
                names: vec!["stoplogging".into()],
                prefixes: vec![]
            }
        );
        assert!(r.matches(
            &json!({"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging"})
        ));
    }

    #[test]
    fn sigma_yaml_drops_our_keys_and_keeps_the_rest_as_written() {
        let r = Rule::from_yaml(RULE, "x.yml").expect("loads");
        let sigma = r.sigma_yaml();
        assert!(!sigma.contains("tests:") && !sigma.contains("response:"));
        assert!(!sigma.contains("Restart the trail"));
        assert!(sigma.contains("fields:                      # shown in every alert\n"));
        assert!(sigma.contains("level: critical\n"));
        let again = Rule::from_yaml(sigma, "x.yml").expect("still a rule");
        assert!(again.tests().is_empty());
        assert_eq!(again.response(), None);
        assert_eq!(again.title(), r.title());
    }

    #[test]
    fn sigma_yaml_falls_back_to_json_where_lines_cannot_be_cut() {
        let text =
            "title: t\ndetection: {sel: {a: 1}, condition: sel}\ntests: {match: [\n{a: 1}\n]}\n";
        let r = Rule::from_yaml(text, "x.yml").expect("loads");
        let v: serde_json::Value = serde_saphyr::from_str(r.sigma_yaml()).expect("valid");
        assert_eq!(
            v,
            json!({"title": "t", "detection": {"sel": {"a": 1}, "condition": "sel"}})
        );
        let plain = "title: t\ndetection: {sel: {a: 1}, condition: sel}\n";
        assert_eq!(
            Rule::from_yaml(plain, "x.yml").expect("ok").sigma_yaml(),
            plain
        );
    }

    #[test]
    fn defaults_and_derived_id() {
        let r = Rule::from_yaml(
            "title: t\ndetection: {sel: {a: 1}, condition: sel}",
            "my-rules/odd_login.yml",
        )
        .expect("loads");
        assert_eq!(r.id(), "odd_login");
        assert!(r.id_is_derived());
        assert_eq!(r.level(), Level::Medium);
        assert!(r.tags().is_empty() && r.tests().is_empty());
        assert_eq!(r.logsource(), &LogSource::default());
        assert_eq!(
            Rule::from_yaml("title: t\ndetection: {sel: {a: 1}, condition: sel}", "")
                .expect_err("no id")
                .reason(),
            &Refusal::MissingKey("id")
        );
    }

    #[test]
    fn metadata_errors_are_refused_by_key() {
        let det = "detection: {sel: {a: 1}, condition: sel}\n";
        assert_eq!(refusal(det), Refusal::MissingKey("title"));
        assert_eq!(refusal("title: t\n"), Refusal::MissingKey("detection"));
        assert_eq!(
            refusal(&format!("title: t\nlevel: severe\n{det}")),
            Refusal::UnknownLevel("severe".into())
        );
        assert!(matches!(
            refusal(&format!("title: [t]\n{det}")),
            Refusal::WrongType { .. }
        ));
        assert!(matches!(
            refusal(&format!("title: t\ntags: {{a: 1}}\n{det}")),
            Refusal::WrongType { .. }
        ));
        assert!(matches!(
            refusal(&format!("title: t\nlogsource: aws\n{det}")),
            Refusal::WrongType { .. }
        ));
        assert!(matches!(
            refusal(&format!("title: t\ntests: {{matches: []}}\n{det}")),
            Refusal::Tests(_)
        ));
        assert!(matches!(
            refusal(&format!("title: t\ntests: {{match: [x]}}\n{det}")),
            Refusal::Tests(_)
        ));
        assert!(matches!(
            refusal(&format!("title: t\ntests: [x]\n{det}")),
            Refusal::Tests(_)
        ));
        assert!(matches!(
            refusal("- a\n- b\n"),
            Refusal::NotAMapping("a list")
        ));
        assert!(matches!(refusal(""), Refusal::NotAMapping("null")));
        assert!(matches!(refusal("title: t\ntitle: u\n"), Refusal::Yaml(_)));
        assert!(matches!(refusal("title: [unclosed\n"), Refusal::Yaml(_)));
    }

    #[test]
    fn yaml_1_1_booleans_in_the_detection_are_refused_unless_quoted() {
        let e = Rule::from_yaml(
            "title: t\ndetection:\n  sel:\n    additionalEventData.MFAUsed: No\n  condition: sel\n",
            "rules/mfa.yml",
        )
        .expect_err("ambiguous");
        assert_eq!(
            e.reason(),
            &Refusal::AmbiguousScalar {
                path: "detection.sel.additionalEventData.MFAUsed".into(),
                value: "No".into()
            }
        );
        assert!(e.to_string().contains("quote it"), "{e}");
        let e = Rule::from_yaml(
            "title: t\ndetection: {sel: {f: [a, ' x', off]}, condition: sel}\n",
            "x.yml",
        )
        .expect_err("ambiguous in a list");
        assert_eq!(
            e.reason(),
            &Refusal::AmbiguousScalar {
                path: "detection.sel.f[2]".into(),
                value: "off".into()
            }
        );
        for ok in [
            "title: t\ndetection: {sel: {f: 'No'}, condition: sel}\n",
            "title: t\ndetection: {sel: {f: false}, condition: sel}\n",
            "title: t\ndetection: {sel: {f: x}, condition: sel}\nfalsepositives: [no]\ntests: {match: [{f: no}]}\n",
        ] {
            assert!(Rule::from_yaml(ok, "x.yml").is_ok(), "{ok}");
        }
        let r = Rule::from_yaml(
            "title: t\ndetection: {sel: {f: 'No'}, condition: sel}\ntests: {match: [{f: No}]}\n",
            "x.yml",
        )
        .expect("loads");
        assert_eq!(
            r.tests().must_match,
            [json!({"f": "No"})],
            "test events read YAML 1.2"
        );
    }

    #[test]
    fn deeply_nested_yaml_is_refused_without_overflowing() {
        let text = format!(
            "title: t\ndetection: {}1{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(matches!(refusal(&text), Refusal::Yaml(_)));
    }

    #[test]
    fn collections_correlations_and_aggregations_are_refused() {
        let det = "detection: {sel: {a: 1}, condition: sel}\n";
        assert_eq!(
            refusal(&format!("action: global\ntitle: t\n---\ntitle: u\n{det}")),
            Refusal::Collection("global".into())
        );
        assert_eq!(
            refusal(&format!("title: t\n{det}---\ntitle: u\n{det}")),
            Refusal::MultipleDocuments
        );
        assert_eq!(
            refusal("title: t\ncorrelation: {type: event_count, rules: [a]}\n"),
            Refusal::Correlation
        );
        assert_eq!(
            refusal(&format!("title: t\ntimeframe: 5m\n{det}")),
            Refusal::Aggregation
        );
        let e = Rule::from_yaml(
            "title: t\ndetection: {sel: {a: 1}, condition: 'sel | count() by b > 3'}",
            "rules/agg.yml",
        )
        .expect_err("refused");
        assert_eq!(
            e.to_string(),
            "rules/agg.yml: aggregation (old syntax) is not supported; use a correlation rule"
        );
        assert!(e.is_unsupported());
    }

    #[test]
    fn messages_name_the_file_selection_field_and_modifier() {
        let e = Rule::from_yaml(
            "title: t\ndetection: {selection: {eventName|startwith: Stop}, condition: selection}",
            "rules/typo.yml",
        )
        .expect_err("refused");
        assert_eq!(
            e.to_string(),
            "rules/typo.yml: selection `selection`: field `eventName|startwith`: unknown modifier `startwith`"
        );
        assert!(!e.is_unsupported());
    }

    #[test]
    fn unsupported_features_are_told_apart_from_invalid_rules() {
        let unsupported = |detection: &str| {
            Rule::from_yaml(&format!("title: t\ndetection: {detection}"), "x.yml")
                .expect_err("refused")
                .is_unsupported()
        };
        assert!(unsupported("{s: {a|expand: '%x%'}, condition: s}"));
        assert!(unsupported("{s: {a|re: '(?<=x)y'}, condition: s}"));
        assert!(unsupported("{s: {a|re: '(x)\\1'}, condition: s}"));
        assert!(!unsupported("{s: {a|re: '(unclosed'}, condition: s}"));
        assert!(!unsupported("{s: {a: 1}, condition: t}"));
    }
}
