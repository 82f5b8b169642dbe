//! Conformance with SigmaHQ's AWS CloudTrail rules.
//!
//! The rules are DRL-licensed and not copied here: they are read from the folder named by
//! `TAMPERWATCH_SIGMA_DIR` (default: `shared/sigma/aws-cloudtrail` beside the checkout). Each
//! rule must either load, and then match every event of `tests/sigmahq/<rule stem>.yml`'s
//! `match` list and none of its `no_match` list (through the rule set's index), or be refused
//! with one of the reasons listed in `REFUSED` (which `docs/sigma-conformance.md` documents).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use tamperwatch_rules::{Rule, RuleIdx, RuleSet};

/// Rules refused on purpose: file stem and a part of the reason. Empty today: every SigmaHQ
/// AWS CloudTrail rule loads.
const REFUSED: &[(&str, &str)] = &[];

fn sigma_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("TAMPERWATCH_SIGMA_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/sigma/aws-cloudtrail"),
    };
    dir.is_dir().then_some(dir)
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigmahq")
}

/// Test events are YAML with YAML 1.2 booleans, like rule `tests` blocks (`No` is a string).
fn read_events(path: &Path) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let text = fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: write positive and negative events for this rule",
            path.display()
        )
    });
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    let doc: serde_json::Value = serde_saphyr::from_str_with_options(&text, options)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let list = |key: &str| -> Vec<serde_json::Value> {
        doc.get(key)
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_else(|| panic!("{}: `{key}` must be a list of events", path.display()))
    };
    (list("match"), list("no_match"))
}

#[test]
fn sigmahq_aws_cloudtrail_rules_load_or_are_refused_and_match_their_events() {
    let Some(dir) = sigma_dir() else {
        eprintln!(
            "skipped: set TAMPERWATCH_SIGMA_DIR to a folder of SigmaHQ's AWS CloudTrail rules \
             (shared/sigma/aws-cloudtrail)"
        );
        return;
    };
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("readable")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no rules in {}", dir.display());

    let mut set = RuleSet::new();
    let mut loaded: Vec<(String, RuleIdx)> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let mut refused = 0;
    for file in &files {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 name")
            .to_owned();
        let text = fs::read_to_string(file).expect("readable rule");
        let expected_refusal = REFUSED.iter().find(|(s, _)| *s == stem);
        match (
            Rule::from_yaml(&text, &file.display().to_string()),
            expected_refusal,
        ) {
            (Ok(rule), None) => {
                let idx = set.push(rule).expect("unique ids");
                loaded.push((stem, idx));
            }
            (Ok(_), Some(_)) => problems.push(format!(
                "{stem}: loads now; remove it from REFUSED and write its events"
            )),
            (Err(e), Some((_, reason))) => {
                refused += 1;
                if !e.to_string().contains(reason) {
                    problems.push(format!("{stem}: refused for another reason: {e}"));
                }
            }
            (Err(e), None) => problems.push(format!("unexpected refusal: {e}")),
        }
    }

    let mut out = Vec::new();
    let mut events = 0;
    for (stem, idx) in &loaded {
        let (must_match, must_not_match) = read_events(&fixtures_dir().join(format!("{stem}.yml")));
        if must_match.is_empty() || must_not_match.is_empty() {
            problems.push(format!(
                "{stem}: needs at least one `match` and one `no_match` event"
            ));
        }
        let rule = set.get(*idx);
        for (want, list) in [(true, &must_match), (false, &must_not_match)] {
            for (i, event) in list.iter().enumerate() {
                events += 1;
                set.evaluate_value(event, &mut out);
                let indexed = out.contains(idx);
                let direct = rule.matches(event);
                if indexed != want || direct != want {
                    let which = if want { "match" } else { "no_match" };
                    problems.push(format!(
                        "{stem}: {which}[{i}]: indexed {indexed}, direct {direct}: {event}"
                    ));
                }
            }
        }
    }

    // No stale fixtures: each one belongs to a rule that loads.
    let stems: BTreeSet<&str> = loaded.iter().map(|(s, _)| s.as_str()).collect();
    for entry in fs::read_dir(fixtures_dir()).expect("fixtures") {
        let path = entry.expect("entry").path();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if !stems.contains(stem) {
            problems.push(format!(
                "{}: no loaded SigmaHQ rule of that name",
                path.display()
            ));
        }
    }

    eprintln!(
        "SigmaHQ AWS CloudTrail: {} rules, {} loaded, {refused} refused, {events} events checked",
        files.len(),
        loaded.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
