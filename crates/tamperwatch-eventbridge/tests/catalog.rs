//! The patterns generated from the built-in catalog against the catalog's own test events,
//! wrapped as EventBridge wraps CloudTrail records.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use tamperwatch_eventbridge::{MAX_PATTERN_CHARS, build_patterns, matches, wrap_record};

fn patterns() -> (tamperwatch_rules::RuleSet, Vec<Value>) {
    let rules = tamperwatch_catalog::load().unwrap();
    let patterns = build_patterns(rules.rules(), MAX_PATTERN_CHARS).unwrap();
    for p in &patterns {
        assert!(
            p.size() <= MAX_PATTERN_CHARS,
            "{} > {MAX_PATTERN_CHARS}",
            p.size()
        );
    }
    let values = patterns.iter().map(|p| p.to_value()).collect();
    (rules, values)
}

fn let_through(patterns: &[Value], event: &Value) -> bool {
    patterns.iter().any(|p| matches(p, event))
}

#[test]
fn every_positive_test_event_of_the_catalog_is_let_through() {
    let (rules, patterns) = patterns();
    let mut checked = 0;
    for rule in rules.rules() {
        for record in &rule.tests().must_match {
            let event = wrap_record(record).unwrap();
            assert!(
                let_through(&patterns, &event),
                "{}: the patterns drop a positive test event:\n{event:#}",
                rule.origin()
            );
            checked += 1;
        }
    }
    assert!(checked > 150, "only {checked} positive events");
}

#[test]
fn forged_copies_with_a_custom_source_are_stopped() {
    let (rules, patterns) = patterns();
    for rule in rules.rules() {
        for record in &rule.tests().must_match {
            let mut event = wrap_record(record).unwrap();
            for forged in ["tamperwatch.forged", "custom.cloudtrail", "aws"] {
                event["source"] = Value::from(forged);
                assert!(
                    !let_through(&patterns, &event),
                    "{}: {forged}",
                    rule.origin()
                );
            }
            // A CloudTrail record sent under another detail-type is not CloudTrail's.
            let mut event = wrap_record(record).unwrap();
            event["detail-type"] = Value::from("Forged API Call");
            assert!(!let_through(&patterns, &event), "{}", rule.origin());
        }
    }
}

/// The narrowing is real: a negative test event the patterns let through has an eventSource
/// some rule needs and an eventName some rule needs (services packed into one pattern share
/// their name list, so the two may come from different rules), or an identity some rule is
/// keyed on; everyday events no rule looks at are stopped.
#[test]
fn negatives_get_through_only_where_a_rule_needs_their_source_and_name() {
    let (rules, patterns) = patterns();
    let needed = |record: &Value| {
        let source = record["eventSource"].as_str().unwrap_or_default();
        let name = record["eventName"].as_str().unwrap_or_default();
        let kind = record["userIdentity"]["type"].as_str().unwrap_or_default();
        let has = |values: Option<Vec<String>>, v: &str| {
            values.is_none_or(|vs| vs.iter().any(|x| x.eq_ignore_ascii_case(v)))
        };
        let pinned = |rule: &tamperwatch_rules::Rule| {
            rule.event_sources().is_some() || rule.event_names().is_some()
        };
        let by_source = rules
            .rules()
            .iter()
            .any(|r| pinned(r) && has(r.event_sources(), source));
        let by_name = rules
            .rules()
            .iter()
            .any(|r| pinned(r) && has(r.event_names(), name));
        let by_identity = rules
            .rules()
            .iter()
            .any(|r| !pinned(r) && has(r.identity_types(), kind));
        (by_source && by_name) || by_identity
    };
    let mut stopped = 0;
    let mut total = 0;
    for rule in rules.rules() {
        for record in &rule.tests().must_not_match {
            let Ok(event) = wrap_record(record) else {
                continue;
            };
            total += 1;
            if let_through(&patterns, &event) {
                assert!(
                    needed(record),
                    "{}: a negative no rule needs gets through:\n{record:#}",
                    rule.origin()
                );
            } else {
                stopped += 1;
            }
        }
    }
    assert!(stopped > 0 && total > 100, "{stopped} of {total} stopped");
    for (source, name) in [
        ("cloudtrail.amazonaws.com", "StartLogging"),
        ("s3.amazonaws.com", "PutObject"),
        ("ec2.amazonaws.com", "RunInstances"),
        ("guardduty.amazonaws.com", "CreateDetector"),
        ("sts.amazonaws.com", "AssumeRole"),
    ] {
        let record = serde_json::json!({
            "eventSource": source, "eventName": name, "eventType": "AwsApiCall",
            "userIdentity": {"type": "AssumedRole"},
        });
        let event = wrap_record(&record).unwrap();
        assert!(!let_through(&patterns, &event), "{source} {name}");
    }
}

/// The deploy templates carry the patterns (deploy/update-patterns.py writes them from
/// `tamperwatch rules export --format eventbridge`); this fails as soon as the catalog changes
/// them, before the slower template tests run.
#[test]
fn the_deploy_patterns_file_is_up_to_date() {
    let rules = tamperwatch_catalog::load().unwrap();
    let patterns = build_patterns(rules.rules(), MAX_PATTERN_CHARS).unwrap();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/terraform/event-patterns.json"
    );
    let committed = std::fs::read_to_string(path).unwrap();
    assert!(
        committed == tamperwatch_eventbridge::patterns_json(&patterns),
        "{path} differs from the catalog's patterns: run deploy/update-patterns.py"
    );
}
