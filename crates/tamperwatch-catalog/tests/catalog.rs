//! The built-in catalog: every rule compiles, is documented, pins its event source, and passes
//! its own tests; over real CloudTrail records every tamper call fires and no read-only call
//! does.

// A panic in a test is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;

use tamperwatch_detect::Detector;
use tamperwatch_event::{Limits, Location, ReadError, Record, Visit};

fn detector() -> Detector {
    Detector::new(tamperwatch_catalog::load().expect("the built-in catalog compiles"))
}

#[test]
fn every_rule_passes_its_own_tests() {
    let report = detector().run_rule_tests();
    let failures: Vec<String> = report
        .failures
        .iter()
        .map(|f| format!("{} {}: {}", f.origin, f.case, f.reason))
        .collect();
    assert!(
        failures.is_empty(),
        "{} failing rule tests:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        report.untested.is_empty(),
        "rules without match and no_match tests: {:?}",
        report.untested
    );
    assert!(
        report.passed > 100,
        "only {} test events ran",
        report.passed
    );
}

#[test]
fn every_rule_is_documented() {
    let d = detector();
    let mut problems = Vec::new();
    let mut ids = HashSet::new();
    for rule in d.rules().rules() {
        let o = rule.origin();
        if !ids.insert(rule.id().to_owned()) {
            problems.push(format!("{o}: duplicate id {}", rule.id()));
        }
        if rule.id().len() != 36 || rule.id().matches('-').count() != 4 {
            problems.push(format!("{o}: id is not a UUID"));
        }
        if rule.description().is_none_or(|d| d.trim().len() < 40) {
            problems.push(format!("{o}: no real description"));
        }
        if !rule.tags().iter().any(|t| t.starts_with("attack.t")) {
            problems.push(format!("{o}: no ATT&CK technique tag"));
        }
        if rule.falsepositives().is_empty() {
            problems.push(format!("{o}: no falsepositives"));
        }
        if rule.references().is_empty() {
            problems.push(format!("{o}: no references"));
        }
        if rule.response().is_none_or(|r| r.trim().is_empty()) {
            problems.push(format!("{o}: no response (what to do)"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Event names collide across services (`DeleteDetector`, `DeletePolicy`, `Disable`, ...):
/// every rule pins `eventSource` to an AWS service, except the rules keyed on the identity
/// itself (root activity).
#[test]
fn every_rule_pins_an_aws_event_source() {
    let d = detector();
    let mut problems = Vec::new();
    for rule in d.rules().rules() {
        match rule.event_sources() {
            Some(sources) if !sources.is_empty() => {
                for s in sources {
                    if !s.ends_with(".amazonaws.com") || s.contains('*') || s.contains('?') {
                        problems.push(format!(
                            "{}: eventSource {s:?} is not an AWS service",
                            rule.origin()
                        ));
                    }
                }
            }
            _ if rule.identity_types().is_some_and(|t| !t.is_empty()) => {}
            _ => problems.push(format!("{}: no eventSource pin", rule.origin())),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What a scan of one corpus file found.
#[derive(Default)]
struct FileScan {
    records: usize,
    errors: Vec<String>,
    /// (eventName, readOnly, identity type, rule ids that fired)
    fired: Vec<(String, bool, String, Vec<String>)>,
}

struct Scan<'d> {
    detector: &'d Detector,
    out: FileScan,
}

impl Visit for Scan<'_> {
    fn record(&mut self, at: Location, record: Record<'_>) {
        self.out.records += 1;
        let mut findings = Vec::new();
        if let Err(e) = self.detector.detect(&record, &mut findings) {
            self.out.errors.push(format!("{at}: {e}"));
        }
        self.out.fired.push((
            record.event_name.as_deref().unwrap_or("?").to_owned(),
            record.read_only.unwrap_or(false),
            record.identity_type().unwrap_or("-").to_owned(),
            findings.iter().map(|f| f.rule.id().to_owned()).collect(),
        ));
    }
    fn error(&mut self, at: Location, error: ReadError) {
        self.out.errors.push(format!("{at}: {error}"));
    }
}

fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TAMPERWATCH_CORPUS_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            let default = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/corpus/traildiscover");
            default.is_dir().then_some(default)
        });
    match dir {
        Some(dir) if dir.is_dir() => Some(dir),
        _ => {
            eprintln!(
                "skipped: the TrailDiscover corpus is absent; set TAMPERWATCH_CORPUS_DIR to ../shared/corpus/traildiscover"
            );
            None
        }
    }
}

/// The tamper calls in the corpus: each file must fire (success or denied).
const MUST_FIRE: &[&str] = &[
    "CloudTrail/DeleteTrail.json",
    "CloudTrail/StopLogging.json",
    "CloudTrail/UpdateTrail.json",
    "CloudWatch/DeleteAlarms.json",
    "CloudWatch/DeleteLogGroup.json",
    "CloudWatch/DeleteLogStream.json",
    "Config/DeleteConfigRule.json",
    "Config/DeleteConfigurationRecorder.json",
    "Config/DeleteDeliveryChannel.json",
    "Config/StopConfigurationRecorder.json",
    "EC2/DeleteFlowLogs.json",
    "EventBridge/DeleteRule.json",
    "EventBridge/DisableRule.json",
    "EventBridge/RemoveTargets.json",
    "GuardDuty/CreateIPSet.json",
    "GuardDuty/DeleteDetector.json",
    "GuardDuty/DeleteInvitations.json",
    "GuardDuty/DeleteMembers.json",
    "GuardDuty/DeletePublishingDestination.json",
    "GuardDuty/DisassociateFromMasterAccount.json",
    "GuardDuty/DisassociateMembers.json",
    "GuardDuty/StopMonitoringMembers.json",
    "GuardDuty/UpdateIPSet.json",
    "Organizations/LeaveOrganization.json",
    "SecurityHub/DeleteMembers.json",
    "WAFV2/DeleteRuleGroup.json",
    "WAFV2/DeleteWebACL.json",
];

#[test]
fn traildiscover_corpus() {
    let Some(dir) = corpus_dir() else { return };
    let d = detector();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(p) = stack.pop() {
        for entry in std::fs::read_dir(&p).expect("read corpus dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(
        files.len() > 300,
        "corpus looks incomplete: {} files",
        files.len()
    );

    let mut fired_files = BTreeMap::new();
    let mut problems = Vec::new();
    for path in &files {
        let name = path
            .strip_prefix(&dir)
            .expect("under dir")
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(path).expect("read corpus file");
        let mut scan = Scan {
            detector: &d,
            out: FileScan::default(),
        };
        tamperwatch_event::read(&bytes, &Limits::default(), &mut scan);
        let out = scan.out;
        // Some TrailDiscover files are empty arrays; every other record must parse.
        for e in &out.errors {
            problems.push(format!("{name}: {e}"));
        }
        for (event, read_only, identity, rules) in &out.fired {
            if *read_only && identity != "Root" && !rules.is_empty() {
                problems.push(format!(
                    "{name}: read-only {event} by {identity} fired {rules:?}"
                ));
            }
        }
        let rules: BTreeSet<&String> = out.fired.iter().flat_map(|f| &f.3).collect();
        if !rules.is_empty() {
            fired_files.insert(name.clone(), rules.len());
        }
        if MUST_FIRE.contains(&name.as_str()) && out.fired.iter().any(|f| f.3.is_empty()) {
            problems.push(format!("{name}: a tamper call that fired no rule"));
        }
        if MUST_FIRE.contains(&name.as_str()) && out.records == 0 {
            problems.push(format!("{name}: no records"));
        }
    }
    eprintln!("corpus files that fire ({}):", fired_files.len());
    for name in fired_files.keys() {
        eprintln!("  {name}");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The catalog read at build time is the catalog the rule files say: loading each file's YAML
/// at run time, as user rules are loaded, gives the same rules, in the same order, with the
/// same metadata, text, tests and index keys.
#[test]
fn the_catalog_read_at_build_time_is_the_rule_files() {
    let built = tamperwatch_catalog::load().unwrap();
    let mut from_yaml = tamperwatch_rules::RuleSet::new();
    for (file, text) in tamperwatch_catalog::RULE_FILES {
        for doc in tamperwatch_rules::load_documents(text, &format!("rules/{file}")) {
            match doc.unwrap() {
                tamperwatch_rules::RuleDocument::Rule(r) => {
                    from_yaml.push(*r).unwrap();
                }
                tamperwatch_rules::RuleDocument::Correlation(c) => {
                    from_yaml.push_correlation(*c).unwrap();
                }
            }
        }
    }
    assert!(from_yaml.link_correlations().is_ok());
    assert_eq!(built.len(), from_yaml.len());
    for (a, b) in built.rules().iter().zip(from_yaml.rules()) {
        assert_eq!(
            (a.id(), a.title(), a.level(), a.origin(), a.sigma_yaml()),
            (b.id(), b.title(), b.level(), b.origin(), b.sigma_yaml())
        );
        assert_eq!(a.prefilter(), b.prefilter(), "{}", a.id());
        assert_eq!(a.tests(), b.tests(), "{}", a.id());
        assert_eq!(a.tags(), b.tags(), "{}", a.id());
        assert_eq!(a.generates(), b.generates(), "{}", a.id());
    }
    let ids = |s: &tamperwatch_rules::RuleSet| -> Vec<String> {
        s.correlations().iter().map(|c| c.id().to_owned()).collect()
    };
    assert_eq!(ids(&built), ids(&from_yaml));
}

/// `tamperwatch rules lint` finds nothing wrong in the built-in catalog: no errors, and a
/// warning only where a rule silences it with a reason (`lint-allow`, root activity).
#[test]
fn the_catalog_lints_clean() {
    let mut problems = Vec::new();
    for (file, text) in tamperwatch_catalog::RULE_FILES {
        for d in tamperwatch_rules::lint(text, &format!("rules/{file}")) {
            problems.push(d.to_string());
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A rule that names `value` in `field` (an event name or source, as the reference writes it).
fn rule_naming(field: &str, value: &str) -> String {
    let (key, value) = match value.strip_suffix('*') {
        Some(prefix) => (format!("{field}|startswith"), prefix.to_owned()),
        None => (field.to_owned(), value.to_owned()),
    };
    let source = if field == "eventSource" {
        String::new()
    } else {
        "    eventSource: macie2.amazonaws.com\n".to_owned()
    };
    format!("title: t\nid: t\ndetection:\n  sel:\n{source}    {key}: '{value}'\n  condition: sel\n")
}

fn lint_errors(text: &str) -> Vec<String> {
    tamperwatch_rules::lint(text, "t.yml")
        .into_iter()
        .filter(|d| d.severity == tamperwatch_rules::Severity::Error)
        .map(|d| d.message)
        .collect()
}

/// Every wrong name the reference lists (its introduction and section 3.14) is an error, with
/// the right name in the message. The names are written here so the test runs anywhere; when the
/// reference is at `../shared/reference/tamper-catalog.md` beside the repository (or at
/// `TAMPERWATCH_REFERENCE`), every backticked name of those places must be among them.
#[test]
fn lint_catches_every_wrong_name_of_the_reference() {
    // (field, wrong name, the correction lint must give)
    let wrong: &[(&str, &str, &str)] = &[
        (
            "eventSource",
            "eventbridge.amazonaws.com",
            "events.amazonaws.com",
        ),
        ("eventSource", "macie2.amazonaws.de", "macie2.amazonaws.com"),
        (
            "eventSource",
            "inspektor.amazonaws.de",
            "inspector2.amazonaws.com",
        ),
        ("eventSource", "waf.amazonaws.de", "wafv2.amazonaws.com"),
        ("eventSource", "*.amazonaws.de", ".amazonaws.com"),
        (
            "eventName",
            "PutLifecycleConfiguration",
            "PutBucketLifecycle",
        ),
        ("eventName", "DeaktivierenMacie", "DisableMacie"),
        ("eventName", "Deaktivieren*", "Disable"),
        ("eventName", "Löschen*", "Delete"),
        ("eventName", "Stoppen*", "Stop"),
    ];
    for (field, name, right) in wrong {
        let errors = lint_errors(&rule_naming(field, name));
        assert!(
            errors.iter().any(|m| m.contains(right)),
            "{field} {name}: expected an error naming {right}, got {errors:?}"
        );
    }
    // Also as whole values and inside lists.
    for value in ["DeaktivierenGuardDuty", "LöschenDetector", "StoppenLogging"] {
        assert_eq!(
            lint_errors(&rule_naming("eventName", value)).len(),
            1,
            "{value}"
        );
    }
    // "FMS DeletePolicy without source": the missing pin is reported.
    let unpinned =
        "title: t\nid: t\ndetection:\n  sel:\n    eventName: DeletePolicy\n  condition: sel\n";
    assert!(
        tamperwatch_rules::lint(unpinned, "t.yml")
            .iter()
            .any(|d| d.check == tamperwatch_rules::Check::NoEventSourcePin)
    );

    let reference = std::env::var_os("TAMPERWATCH_REFERENCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/reference/tamper-catalog.md")
        });
    let Ok(text) = std::fs::read_to_string(&reference) else {
        eprintln!(
            "skipped the cross-check: no reference at {} (set TAMPERWATCH_REFERENCE)",
            reference.display()
        );
        return;
    };
    // The introduction's bullet on wrong names, and the first column of section 3.14.
    let intro = text
        .lines()
        .skip_while(|l| !l.contains("wrong names"))
        .take_while(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    let seed_column = text
        .lines()
        .skip_while(|l| !l.starts_with("### 3.14"))
        .take_while(|l| !l.starts_with("---"))
        .filter_map(|l| l.strip_prefix('|')?.split('|').next())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(intro.contains("eventbridge") && seed_column.contains("amazonaws.de"));
    // Right names the reference mentions beside the wrong ones, and 3.14's rows that are not
    // about names (a deprecated call, a missing pin, a missing companion rule).
    let not_wrong = [
        "events.amazonaws.com",
        "PutBucketLifecycle",
        ".amazonaws.com",
        "DeleteSubscription",
        "DeletePolicy",
        "DeleteConfigurationRecorder",
    ];
    let mut missing = Vec::new();
    for token in format!("{intro}\n{seed_column}")
        .split('`')
        .skip(1)
        .step_by(2)
    {
        if not_wrong.contains(&token) {
            continue;
        }
        let field = if token.contains("amazonaws") {
            "eventSource"
        } else {
            "eventName"
        };
        if lint_errors(&rule_naming(field, token)).is_empty() {
            missing.push(token.to_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "wrong names in {} that lint does not catch: {missing:?}",
        reference.display()
    );
}
