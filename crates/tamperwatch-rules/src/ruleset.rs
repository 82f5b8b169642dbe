//! A set of rules with its prefilter index: load, look up candidates, evaluate.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::document::Document;
use crate::error::{LoadRuleError, PushRuleError};
use crate::index::{Index, IndexKeys, RuleIdx};
use crate::rule::Rule;

/// Compiled rules, indexed by the cheap keys they need.
///
/// `RuleSet` is `Send + Sync`: share one between threads and give each its own output buffer.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    ids: HashMap<String, RuleIdx>,
    index: Index,
}

/// What [`RuleSet::load_path`] did: the rules it added, and each file it refused with why.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// The rules added, in file order.
    pub loaded: Vec<RuleIdx>,
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
        let idx = RuleIdx(n);
        self.index.insert(idx, rule.prefilter());
        self.ids.insert(rule.id().to_owned(), idx);
        self.rules.push(rule);
        Ok(idx)
    }

    /// Loads a rule file, or every `*.yml` / `*.yaml` file under a directory (recursively, in
    /// sorted path order, skipping hidden entries and not following directory symlinks). Each
    /// file that cannot be read or is refused is listed in the report with its error; the
    /// others are added.
    pub fn load_path(&mut self, path: &Path) -> LoadReport {
        let (files, refused) = rule_files(path);
        let mut report = LoadReport {
            loaded: Vec::new(),
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
            match Rule::from_yaml(&text, &origin) {
                Ok(rule) => match self.push(rule) {
                    Ok(idx) => report.loaded.push(idx),
                    Err(e) => report.refused.push(LoadFileError::Push(e)),
                },
                Err(e) => report.refused.push(LoadFileError::Rule(e)),
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
        self.rules.iter().map(|r| (r.origin(), r.sigma_yaml()))
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
            &Prefilter::EventName(vec!["stoplogging".into()])
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
