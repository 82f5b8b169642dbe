//! A set of rules with its prefilter index: load, look up candidates, evaluate.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::correlation::{self, Correlation, Observation, field_text, parse_event_time};
use crate::document::Document;
use crate::error::{LoadRuleError, PushRuleError, Refusal};
use crate::index::{Index, IndexKeys, RuleIdx};
use crate::rule::{self, Rule, parse_yaml, split_documents};

/// Compiled rules, indexed by the cheap keys they need.
///
/// `RuleSet` is `Send + Sync`: share one between threads and give each its own output buffer.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    ids: HashMap<String, RuleIdx>,
    index: Index,
    correlations: Vec<Correlation>,
    correlation_ids: HashMap<String, usize>,
    /// Every document in load order, for export.
    order: Vec<Loaded>,
    /// Per rule: the correlations referring to it, with the rule's position in each.
    referenced_by: HashMap<RuleIdx, Vec<(usize, usize)>>,
}

/// Where a loaded document went.
#[derive(Debug, Clone, Copy)]
enum Loaded {
    Rule(RuleIdx),
    Correlation(usize),
}

/// One document of a rule file.
#[derive(Debug, Clone)]
pub enum RuleDocument {
    /// A detection rule.
    Rule(Box<Rule>),
    /// A correlation rule.
    Correlation(Box<Correlation>),
}

/// Loads every YAML document of a rule file: detection rules and correlation rules (a file may
/// hold several, separated by `---`, as in Sigma's correlation examples). A rule collection
/// (`action: global`, ...) is refused as a whole.
pub fn load_documents(text: &str, origin: &str) -> Vec<Result<RuleDocument, LoadRuleError>> {
    let docs = split_documents(text);
    let parsed: Vec<Result<serde_json::Value, Refusal>> =
        docs.iter().map(|d| parse_yaml(d)).collect();
    if let Some(action) = collection(parsed.iter().flatten()) {
        return vec![Err(LoadRuleError::new(origin, Refusal::Collection(action)))];
    }
    docs.iter()
        .zip(parsed)
        .map(|(doc, value)| {
            value
                .map_err(|reason| LoadRuleError::new(origin, reason))
                .and_then(|value| load_parsed_document(doc, &value, origin))
        })
        .collect()
}

/// The documents of a rule file, each with the JSON value rules are compiled from, for
/// [`load_parsed_document`]: what a build step can do once so that loading at run time skips
/// the YAML parser (the slow part of loading a catalog). Refuses what [`load_documents`]
/// refuses at this stage: invalid YAML, ambiguous YAML 1.1 booleans, rule collections.
pub fn parse_documents<'t>(
    text: &'t str,
    origin: &str,
) -> Result<Vec<(&'t str, serde_json::Value)>, LoadRuleError> {
    let docs = split_documents(text);
    let mut parsed = Vec::with_capacity(docs.len());
    for doc in docs {
        let value = parse_yaml(doc).map_err(|reason| LoadRuleError::new(origin, reason))?;
        parsed.push((doc, value));
    }
    if let Some(action) = collection(parsed.iter().map(|(_, d)| d)) {
        return Err(LoadRuleError::new(origin, Refusal::Collection(action)));
    }
    Ok(parsed)
}

/// The `action` of a Sigma rule collection (several documents, one of them with an
/// `action`), which tamperwatch refuses as a whole.
fn collection<'v>(mut docs: impl Iterator<Item = &'v serde_json::Value> + Clone) -> Option<String> {
    docs.clone().nth(1)?; // a single document is never a collection
    let action = docs.find_map(|d| d.get("action"))?;
    Some(
        action
            .as_str()
            .map_or_else(|| action.to_string(), str::to_owned),
    )
}

/// Compiles one document of a rule file from its text and its value as
/// [`parse_documents`] read it: a correlation rule when it has a `correlation` key, else a
/// detection rule.
pub fn load_parsed_document(
    text: &str,
    value: &serde_json::Value,
    origin: &str,
) -> Result<RuleDocument, LoadRuleError> {
    let loaded = if value.get("correlation").is_some() {
        correlation::load_parsed(text, value, origin)
            .map(|c| RuleDocument::Correlation(Box::new(c)))
    } else {
        rule::load_parsed(text, value, origin).map(|r| RuleDocument::Rule(Box::new(r)))
    };
    loaded.map_err(|reason| LoadRuleError::new(origin, reason))
}

/// What [`RuleSet::load_path`] did: the rules it added, and each file it refused with why.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// The rules added, in file order.
    pub loaded: Vec<RuleIdx>,
    /// The correlation rules added (positions in [`RuleSet::correlations`]).
    pub correlations: Vec<usize>,
    /// The files (or directories) not loaded, each with its error.
    pub refused: Vec<LoadFileError>,
}

impl LoadReport {
    /// Whether every file loaded.
    pub fn is_clean(&self) -> bool {
        self.refused.is_empty()
    }
}

/// A rule file that [`RuleSet::load_path`] did not load.
#[derive(Debug, thiserror::Error)]
pub enum LoadFileError {
    /// The file or directory could not be read.
    #[error("{}: cannot read: {error}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// The rule was refused.
    #[error(transparent)]
    Rule(LoadRuleError),
    /// The rule's id is taken by another rule.
    #[error(transparent)]
    Push(PushRuleError),
}

impl RuleSet {
    /// An empty rule set.
    pub fn new() -> RuleSet {
        RuleSet::default()
    }

    /// Adds a rule; refuses one whose id is already in the set.
    pub fn push(&mut self, rule: Rule) -> Result<RuleIdx, PushRuleError> {
        if let Some(first) = self.ids.get(rule.id()) {
            return Err(PushRuleError::DuplicateId {
                id: rule.id().to_owned(),
                origin: rule.origin().to_owned(),
                first: self
                    .rules
                    .get(first.index())
                    .map(|r| r.origin().to_owned())
                    .unwrap_or_default(),
            });
        }
        let Ok(n) = u32::try_from(self.rules.len()) else {
            return Err(PushRuleError::Full(rule.origin().to_owned()));
        };
        if let Some(first) = self.correlation_ids.get(rule.id()) {
            return Err(self.taken(rule.id(), rule.origin(), *first));
        }
        let idx = RuleIdx(n);
        self.index.insert(idx, rule.prefilter());
        self.ids.insert(rule.id().to_owned(), idx);
        self.rules.push(rule);
        self.order.push(Loaded::Rule(idx));
        Ok(idx)
    }

    fn taken(&self, id: &str, origin: &str, correlation: usize) -> PushRuleError {
        PushRuleError::DuplicateId {
            id: id.to_owned(),
            origin: origin.to_owned(),
            first: self
                .correlations
                .get(correlation)
                .map(|c| c.origin().to_owned())
                .unwrap_or_default(),
        }
    }

    /// Adds a correlation rule; refuses one whose id is already in the set. It takes part in
    /// evaluation once [`RuleSet::link_correlations`] has resolved its references.
    pub fn push_correlation(&mut self, c: Correlation) -> Result<usize, PushRuleError> {
        if let Some(first) = self.correlation_ids.get(c.id()) {
            return Err(self.taken(c.id(), c.origin(), *first));
        }
        if let Some(first) = self.ids.get(c.id()) {
            return Err(PushRuleError::DuplicateId {
                id: c.id().to_owned(),
                origin: c.origin().to_owned(),
                first: self
                    .rules
                    .get(first.index())
                    .map(|r| r.origin().to_owned())
                    .unwrap_or_default(),
            });
        }
        let n = self.correlations.len();
        self.correlation_ids.insert(c.id().to_owned(), n);
        self.correlations.push(c);
        self.order.push(Loaded::Correlation(n));
        Ok(n)
    }

    /// Resolves every correlation's `rules` (by `id`, else by `name`) to the detection rules of
    /// the set, and marks the rules a correlation with `generate: false` silences
    /// ([`Rule::generates`]). Call it once every rule is loaded (references may point to rules of
    /// other files). A correlation whose references do not resolve is left out of evaluation
    /// and reported; correlations of correlations are not supported.
    pub fn link_correlations(&mut self) -> Result<(), Vec<LoadRuleError>> {
        let mut errors = Vec::new();
        for rule in &mut self.rules {
            rule.silenced = false;
        }
        self.referenced_by.clear();
        for (c_idx, c) in self.correlations.iter_mut().enumerate() {
            c.resolved.clear();
            let mut resolved = Vec::new();
            let mut failed = None;
            for reference in c.rule_refs() {
                let by_id = self.ids.get(reference).copied();
                let by_name: Vec<RuleIdx> = self
                    .rules
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.name() == Some(reference.as_str()))
                    .filter_map(|(i, _)| u32::try_from(i).ok().map(RuleIdx))
                    .collect();
                let found = match (by_id, by_name.as_slice()) {
                    (Some(idx), _) | (None, &[idx]) => Ok(idx),
                    (None, [_, _, ..]) => Err(Refusal::InvalidCorrelation(format!(
                        "`{reference}` names {} rules: rule names must be unique",
                        by_name.len()
                    ))),
                    (None, []) if self.correlation_ids.contains_key(reference) => {
                        Err(Refusal::UnsupportedCorrelation(format!(
                            "`{reference}` is a correlation rule: correlations of correlations                              are not supported"
                        )))
                    }
                    (None, []) => Err(Refusal::InvalidCorrelation(format!(
                        "`{reference}` is not the id or name of a loaded detection rule"
                    ))),
                };
                match found {
                    Ok(idx) => resolved.push(idx),
                    Err(reason) => {
                        failed = Some(reason);
                        break;
                    }
                }
            }
            if let Some(reason) = failed {
                errors.push(LoadRuleError::new(c.origin(), reason));
                continue;
            }
            for (pos, idx) in resolved.iter().enumerate() {
                self.referenced_by
                    .entry(*idx)
                    .or_default()
                    .push((c_idx, pos));
                if !c.generate()
                    && let Some(rule) = self.rules.get_mut(idx.index())
                {
                    rule.silenced = true;
                }
            }
            c.resolved = resolved;
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The correlation rules, by position.
    pub fn correlations(&self) -> &[Correlation] {
        &self.correlations
    }

    /// Appends to `out` what the correlations referring to `rule` need of `doc`, a record
    /// `rule` matched: one [`Observation`] per correlation. Nothing when no correlation refers
    /// to the rule, or when the record has no valid `eventTime` (correlations run on event
    /// time).
    pub fn observe(&self, rule: RuleIdx, doc: &impl Document, out: &mut Vec<Observation>) {
        let Some(refs) = self.referenced_by.get(&rule) else {
            return;
        };
        let Some(event_time) = field_text(doc, "eventTime") else {
            return;
        };
        let Some(time) = parse_event_time(&event_time) else {
            return;
        };
        let event_id = field_text(doc, "eventID");
        let name = self.rules.get(rule.index()).and_then(Rule::name);
        for &(c_idx, rule_pos) in refs {
            let Some(c) = self.correlations.get(c_idx) else {
                continue;
            };
            let group = (0..c.group_by().len())
                .map(|i| field_text(doc, c.group_field(i, name)))
                .collect();
            out.push(Observation {
                correlation: c_idx,
                rule_pos,
                time,
                event_time: event_time.clone(),
                event_id: event_id.clone(),
                group,
                value: c.field().and_then(|f| field_text(doc, f)),
            });
        }
    }

    /// Loads a rule file, or every `*.yml` / `*.yaml` file under a directory (recursively, in
    /// sorted path order, skipping hidden entries and not following directory symlinks), with
    /// every document of each file ([`load_documents`]). Each file or document that cannot be
    /// read or is refused is listed in the report with its error; the others are added. Call
    /// [`RuleSet::link_correlations`] once every path is loaded.
    pub fn load_path(&mut self, path: &Path) -> LoadReport {
        let (files, refused) = rule_files(path);
        let mut report = LoadReport {
            loaded: Vec::new(),
            correlations: Vec::new(),
            refused,
        };
        for file in files {
            let text = match fs::read_to_string(&file) {
                Ok(t) => t,
                Err(error) => {
                    report
                        .refused
                        .push(LoadFileError::Read { path: file, error });
                    continue;
                }
            };
            let origin = file.display().to_string();
            for doc in load_documents(&text, &origin) {
                match doc {
                    Ok(RuleDocument::Rule(rule)) => match self.push(*rule) {
                        Ok(idx) => report.loaded.push(idx),
                        Err(e) => report.refused.push(LoadFileError::Push(e)),
                    },
                    Ok(RuleDocument::Correlation(c)) => match self.push_correlation(*c) {
                        Ok(i) => report.correlations.push(i),
                        Err(e) => report.refused.push(LoadFileError::Push(e)),
                    },
                    Err(e) => report.refused.push(LoadFileError::Rule(e)),
                }
            }
        }
        report
    }

    /// The rules, by [`RuleIdx`].
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Every loaded rule document as plain Sigma ([`Rule::sigma_yaml`]) with the file it came
    /// from, in load order (documents of one file in file order).
    pub fn documents(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.order.iter().filter_map(|d| match d {
            Loaded::Rule(idx) => self
                .rules
                .get(idx.index())
                .map(|r| (r.origin(), r.sigma_yaml())),
            Loaded::Correlation(i) => self
                .correlations
                .get(*i)
                .map(|c| (c.origin(), c.sigma_yaml())),
        })
    }

    /// How many rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there is no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rule at `idx`.
    ///
    /// # Panics
    ///
    /// When `idx` does not come from this set.
    pub fn get(&self, idx: RuleIdx) -> &Rule {
        &self.rules[idx.index()]
    }

    /// The rule with this id.
    pub fn find(&self, id: &str) -> Option<RuleIdx> {
        self.ids.get(id).copied()
    }

    /// The rules that could match an event with these keys (each once; no allocation). Every
    /// rule that matches the event is among them; most others are not.
    pub fn candidates(&self, keys: &IndexKeys<'_>) -> impl Iterator<Item = RuleIdx> + '_ {
        self.index.candidates(keys)
    }

    /// Clears `out` and fills it with the rules the event matches, in rule order: the
    /// candidates for `keys`, fully evaluated. `keys` must be the event's own (see
    /// [`IndexKeys`]).
    pub fn evaluate(&self, keys: &IndexKeys<'_>, doc: &impl Document, out: &mut Vec<RuleIdx>) {
        out.clear();
        for idx in self.index.candidates(keys) {
            if self.rules.get(idx.index()).is_some_and(|r| r.matches(doc)) {
                out.push(idx);
            }
        }
        out.sort_unstable();
    }

    /// Clears `out` and fills it with the rules the event matches, evaluating every rule
    /// (for events whose keys the index cannot use).
    pub fn evaluate_all(&self, doc: &impl Document, out: &mut Vec<RuleIdx>) {
        out.clear();
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.matches(doc)
                && let Ok(n) = u32::try_from(i)
            {
                out.push(RuleIdx(n));
            }
        }
    }

    /// [`RuleSet::evaluate`] for a JSON record, with its keys taken from the record itself
    /// (every rule is evaluated when they cannot be used).
    pub fn evaluate_value(&self, record: &serde_json::Value, out: &mut Vec<RuleIdx>) {
        match IndexKeys::from_json(record) {
            Some(keys) => self.evaluate(&keys, record, out),
            None => self.evaluate_all(record, out),
        }
    }
}

/// The rule files [`RuleSet::load_path`] would load from `path`: the file itself, or every
/// `*.yml` / `*.yaml` file under a folder (recursively, sorted, hidden entries left out), with
/// the files and folders that could not be read.
pub fn rule_files(path: &Path) -> (Vec<PathBuf>, Vec<LoadFileError>) {
    let mut report = LoadReport::default();
    let mut files = Vec::new();
    match fs::metadata(path) {
        Ok(m) if m.is_dir() => collect_rule_files(path, &mut files, &mut report),
        Ok(_) => files.push(path.to_path_buf()),
        Err(error) => report.refused.push(LoadFileError::Read {
            path: path.to_path_buf(),
            error,
        }),
    }
    (files, report.refused)
}

/// Appends the rule files under `dir` in sorted order.
fn collect_rule_files(dir: &Path, files: &mut Vec<PathBuf>, report: &mut LoadReport) {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(error) => {
            report.refused.push(LoadFileError::Read {
                path: dir.to_path_buf(),
                error,
            });
            return;
        }
    };
    let mut entries: Vec<fs::DirEntry> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect_rule_files(&path, files, report);
            continue;
        }
        let is_rule = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
        // A symlink counts when it points at a file; symlinked directories are not followed.
        let is_file = kind.is_file() || (kind.is_symlink() && path.is_file());
        if is_rule && is_file {
            files.push(path);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::prefilter::Prefilter;
    use serde_json::json;

    fn rule(id: &str, detection: &str) -> Rule {
        Rule::from_yaml(
            &format!("title: {id}\nid: {id}\ndetection:\n{detection}"),
            &format!("{id}.yml"),
        )
        .expect("loads")
    }

    #[test]
    fn rule_sets_are_shareable_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RuleSet>();
        assert_send_sync::<Rule>();
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let mut set = RuleSet::new();
        assert_eq!(
            set.push(rule("a", "  s: {x: 1}\n  condition: s")),
            Ok(RuleIdx(0))
        );
        let e = set
            .push(rule("a", "  s: {x: 2}\n  condition: s"))
            .expect_err("duplicate");
        assert_eq!(e.to_string(), "a.yml: rule id `a` is already used by a.yml");
        assert_eq!(set.len(), 1);
        assert_eq!(set.find("a"), Some(RuleIdx(0)));
    }

    #[test]
    fn evaluate_uses_the_index_and_returns_matches_in_order() {
        let mut set = RuleSet::new();
        for (id, det) in [
            (
                "stop",
                "  s: {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging}\n  condition: s",
            ),
            ("root", "  s: {userIdentity.type: Root}\n  condition: s"),
            (
                "any",
                "  s: {userAgent|contains: trufflehog}\n  condition: s",
            ),
            (
                "ct",
                "  s: {eventSource: cloudtrail.amazonaws.com}\n  condition: s",
            ),
        ] {
            set.push(rule(id, det)).expect("pushed");
        }
        assert_eq!(
            set.get(RuleIdx(0)).prefilter(),
            &Prefilter::EventName {
                names: vec!["stoplogging".into()],
                prefixes: vec![]
            }
        );
        let event = json!({
            "eventSource": "cloudtrail.amazonaws.com",
            "eventName": "StopLogging",
            "userIdentity": {"type": "Root"},
            "userAgent": "TruffleHog"
        });
        let mut out = vec![RuleIdx(99)];
        set.evaluate_value(&event, &mut out);
        assert_eq!(out, [RuleIdx(0), RuleIdx(1), RuleIdx(2), RuleIdx(3)]);
        let keys = IndexKeys::from_json(&event).expect("indexable");
        assert_eq!(set.candidates(&keys).count(), 4);
        let quiet = json!({"eventSource": "s3.amazonaws.com", "eventName": "GetObject"});
        let keys = IndexKeys::from_json(&quiet).expect("indexable");
        assert_eq!(set.candidates(&keys).collect::<Vec<_>>(), [RuleIdx(2)]);
        set.evaluate_value(&quiet, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn unindexable_events_are_evaluated_against_every_rule() {
        let mut set = RuleSet::new();
        set.push(rule("five", "  s: {eventName: '5'}\n  condition: s"))
            .expect("pushed");
        set.push(rule("list", "  s: {eventName: [A, B]}\n  condition: s"))
            .expect("pushed");
        let mut out = Vec::new();
        set.evaluate_value(&json!({"eventName": 5}), &mut out);
        assert_eq!(out, [RuleIdx(0)]);
        set.evaluate_value(&json!({"eventName": ["x", "b"]}), &mut out);
        assert_eq!(out, [RuleIdx(1)]);
    }

    const SPEC_EXAMPLE: &str = "title: Many stops\nid: many\ncorrelation:\n  type: event_count\n  rules: [stop_logging]\n  group-by: [userIdentity.arn]\n  timespan: 10m\n  condition: {gte: 2}\nlevel: critical\n---\ntitle: Stop\nid: stop\nname: stop_logging\ndetection:\n  sel: {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging}\n  condition: sel\ntests: {match: [{eventName: StopLogging}]}\n";

    fn stop(arn: &str, time: &str, id: &str) -> serde_json::Value {
        json!({"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging",
               "userIdentity": {"arn": arn}, "eventTime": time, "eventID": id})
    }

    #[test]
    fn multi_document_files_hold_rules_and_correlations_linked_by_name() {
        let docs = load_documents(SPEC_EXAMPLE, "mr.yml");
        assert_eq!(docs.len(), 2);
        let mut set = RuleSet::new();
        for d in docs {
            match d.expect("loads") {
                RuleDocument::Rule(r) => {
                    set.push(*r).expect("pushed");
                }
                RuleDocument::Correlation(c) => {
                    set.push_correlation(*c).expect("pushed");
                }
            }
        }
        assert_eq!(set.correlations()[0].resolved_rules(), [], "not linked yet");
        set.link_correlations().expect("links");
        assert_eq!(set.correlations()[0].resolved_rules(), [RuleIdx(0)]);
        assert!(
            !set.get(RuleIdx(0)).generates(),
            "generate defaults to false"
        );
        // Export keeps the file's documents in order, each without our keys.
        let docs: Vec<(&str, &str)> = set.documents().collect();
        assert_eq!(docs.len(), 2);
        assert!(
            docs[0].1.starts_with("title: Many stops") && docs[1].1.contains("name: stop_logging")
        );
        assert!(!docs[1].1.contains("tests:"));

        let mut correlator = crate::Correlator::new(&set);
        let mut found = Vec::new();
        let mut obs = Vec::new();
        for (arn, time, id) in [
            ("arn:a", "2026-11-30T10:00:00Z", "1"),
            ("arn:b", "2026-11-30T10:01:00Z", "2"),
            ("arn:a", "2026-11-30T10:09:59Z", "3"),
        ] {
            let event = stop(arn, time, id);
            let mut matched = Vec::new();
            set.evaluate_value(&event, &mut matched);
            for idx in matched {
                set.observe(idx, &event, &mut obs);
            }
        }
        for o in obs {
            correlator.push(o, &mut found);
        }
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule_id, "many");
        assert_eq!(
            found[0].group,
            [("userIdentity.arn".to_owned(), Some("arn:a".to_owned()))]
        );
        assert_eq!(found[0].event_ids, ["1", "3"]);
        assert_eq!(found[0].first_event_time, "2026-11-30T10:00:00Z");
    }

    #[test]
    fn observations_need_an_event_time_and_resolve_aliases() {
        let text = "title: c\nid: c\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  group-by: [who]\n  timespan: 1h\n  generate: true\n  aliases:\n    who: {a: userIdentity.arn, b: requestParameters.userName}\n---\ntitle: a\nid: a-id\nname: a\ndetection: {s: {eventName: A}, condition: s}\n---\ntitle: b\nid: b-id\nname: b\ndetection: {s: {eventName: B}, condition: s}\n";
        let mut set = RuleSet::new();
        for d in load_documents(text, "t.yml") {
            match d.expect("loads") {
                RuleDocument::Rule(r) => drop(set.push(*r)),
                RuleDocument::Correlation(c) => drop(set.push_correlation(*c)),
            }
        }
        set.link_correlations().expect("links");
        assert!(set.get(RuleIdx(0)).generates() && set.get(RuleIdx(1)).generates());
        let mut obs = Vec::new();
        set.observe(
            RuleIdx(0),
            &json!({"eventName": "A", "userIdentity": {"arn": "x"}}),
            &mut obs,
        );
        assert!(obs.is_empty(), "no eventTime");
        set.observe(
            RuleIdx(0),
            &json!({"eventTime": "2026-11-30T10:00:00Z", "userIdentity": {"arn": "x"}}),
            &mut obs,
        );
        set.observe(
            RuleIdx(1),
            &json!({"eventTime": "2026-11-30T10:00:01Z", "requestParameters": {"userName": "x"}}),
            &mut obs,
        );
        assert_eq!(obs.len(), 2);
        assert_eq!(obs[0].group, [Some("x".to_owned())]);
        assert_eq!(obs[1].group, [Some("x".to_owned())]);
        assert_eq!((obs[0].rule_pos, obs[1].rule_pos), (0, 1));
        assert_eq!(obs[0].event_id, None);
    }

    #[test]
    fn links_fail_with_a_reason() {
        let corr = |rules: &str| {
            format!(
                "title: c\nid: c\ncorrelation: {{type: event_count, rules: {rules}, timespan: 1m, condition: {{gte: 2}}}}\n"
            )
        };
        let link = |extra: &[&str], rules: &str| {
            let mut set = RuleSet::new();
            for (i, name) in extra.iter().enumerate() {
                set.push(rule(&format!("r{i}"), "  s: {x: 1}\n  condition: s").clone())
                    .expect("pushed");
                let _ = name;
            }
            set.push_correlation(Correlation::from_yaml(&corr(rules), "c.yml").expect("loads"))
                .expect("pushed");
            set.link_correlations()
                .err()
                .map(|e| e[0].to_string())
                .unwrap_or_default()
        };
        assert_eq!(link(&["r0"], "[r0]"), "");
        assert!(link(&[], "[nope]").contains("`nope` is not the id or name"));
        assert!(link(&[], "[c]").contains("correlations of correlations"));
        let mut set = RuleSet::new();
        set.push(rule("c", "  s: {x: 1}\n  condition: s"))
            .expect("pushed");
        let e = set
            .push_correlation(Correlation::from_yaml(&corr("[c]"), "c.yml").expect("loads"))
            .expect_err("id taken");
        assert!(e.to_string().contains("already used"), "{e}");
        let collection = load_documents(
            "action: global\ntitle: t\n---\ntitle: u\ndetection: {s: {a: 1}, condition: s}\n",
            "x.yml",
        );
        assert_eq!(collection.len(), 1);
        assert!(matches!(
            collection[0].as_ref().expect_err("refused").reason(),
            Refusal::Collection(_)
        ));
        // Read ahead of time (as the built-in catalog is at build time), the same refusals.
        let text =
            "action: global\ntitle: t\n---\ntitle: u\ndetection: {s: {a: 1}, condition: s}\n";
        let e = parse_documents(text, "x.yml").expect_err("a collection");
        assert!(matches!(e.reason(), Refusal::Collection(a) if a == "global"));
        let e = parse_documents(
            "title: t\ndetection: {s: {f: yes}, condition: s}\n",
            "x.yml",
        )
        .expect_err("ambiguous");
        assert!(matches!(e.reason(), Refusal::AmbiguousScalar { .. }));
        let text = "title: t\nid: a\ndetection: {s: {f: x}, condition: s}\n---\ntitle: u\nid: b\ndetection: {s: {f: z}, condition: s}\n";
        let docs = parse_documents(text, "x.yml").expect("two rules");
        let ids: Vec<String> = docs
            .iter()
            .map(
                |(doc, value)| match load_parsed_document(doc, value, "x.yml") {
                    Ok(RuleDocument::Rule(r)) => r.id().to_owned(),
                    other => panic!("{other:?}"),
                },
            )
            .collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn load_path_reads_folders_recursively_in_order_and_reports_each_refusal() {
        let dir = std::env::temp_dir().join(format!("tw-rules-load-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("b/nested")).expect("mkdir");
        fs::create_dir_all(dir.join(".hidden")).expect("mkdir");
        let ok =
            |id: &str| format!("title: {id}\nid: {id}\ndetection: {{s: {{a: 1}}, condition: s}}\n");
        fs::write(dir.join("b/nested/c.yaml"), ok("c")).expect("write");
        fs::write(dir.join("a.yml"), ok("a")).expect("write");
        fs::write(dir.join("b/dup.YML"), ok("a")).expect("write");
        fs::write(dir.join("bad.yml"), "title: x\n").expect("write");
        fs::write(dir.join("notes.txt"), "not a rule").expect("write");
        fs::write(dir.join(".hidden/h.yml"), ok("h")).expect("write");
        let mut set = RuleSet::new();
        let report = set.load_path(&dir);
        let ids: Vec<&str> = report.loaded.iter().map(|i| set.get(*i).id()).collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(report.refused.len(), 2, "{:?}", report.refused);
        let messages: Vec<String> = report.refused.iter().map(ToString::to_string).collect();
        assert!(
            messages[0].contains("dup.YML") && messages[0].contains("already used"),
            "{messages:?}"
        );
        assert!(
            messages[1].contains("bad.yml") && messages[1].contains("`detection` is missing"),
            "{messages:?}"
        );
        // One file by path, whatever its extension.
        let single = dir.join("notes.txt");
        let mut other = RuleSet::new();
        let r = other.load_path(&single);
        assert!(r.loaded.is_empty() && r.refused.len() == 1);
        let missing = other.load_path(&dir.join("nope"));
        assert!(matches!(
            missing.refused.as_slice(),
            [LoadFileError::Read { .. }]
        ));
        let _ = fs::remove_dir_all(&dir);
    }
}
