//! Rules that test themselves: every rule's `tests` block, run through the same path as a scan
//! (envelope, record, index, evaluation), so a bug in any of them shows.

use tamperwatch_event::{Limits, Location, ReadError, Record, Visit};
use tamperwatch_rules::Rule;

use crate::Detector;

/// One test event whose result was not the one expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTestFailure {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's file.
    pub origin: String,
    /// Which test: `match[0]`, `no_match[2]`, ...
    pub case: String,
    /// What went wrong.
    pub reason: String,
}

/// The result of running every rule's tests.
#[derive(Debug, Clone, Default)]
pub struct RuleTestReport {
    /// How many test events behaved as expected.
    pub passed: usize,
    /// Those that did not.
    pub failures: Vec<RuleTestFailure>,
    /// Rules without a `match` test or without a `no_match` test.
    pub untested: Vec<String>,
}

impl Detector {
    /// Runs every rule's own tests.
    pub fn run_rule_tests(&self) -> RuleTestReport {
        let mut report = RuleTestReport::default();
        for rule in self.rules().rules() {
            let tests = rule.tests();
            if tests.must_match.is_empty() || tests.must_not_match.is_empty() {
                report
                    .untested
                    .push(format!("{} ({})", rule.id(), rule.origin()));
            }
            for (i, event) in tests.must_match.iter().enumerate() {
                self.check(rule, event, true, &format!("match[{i}]"), &mut report);
            }
            for (i, event) in tests.must_not_match.iter().enumerate() {
                self.check(rule, event, false, &format!("no_match[{i}]"), &mut report);
            }
        }
        report
    }

    fn check(
        &self,
        rule: &Rule,
        event: &serde_json::Value,
        expect: bool,
        case: &str,
        report: &mut RuleTestReport,
    ) {
        let text = event.to_string();
        let mut visit = Fired {
            detector: self,
            rule_id: rule.id(),
            records: 0,
            fired: 0,
            errors: Vec::new(),
        };
        tamperwatch_event::read(text.as_bytes(), &Limits::default(), &mut visit);
        let reason = if !visit.errors.is_empty() {
            Some(format!(
                "not a readable record: {}",
                visit.errors.join("; ")
            ))
        } else if visit.records == 0 {
            Some("holds no record".to_owned())
        } else if expect && visit.fired == 0 {
            Some("expected the rule to fire; it did not".to_owned())
        } else if !expect && visit.fired > 0 {
            Some("expected the rule not to fire; it did".to_owned())
        } else {
            None
        };
        match reason {
            None => report.passed += 1,
            Some(reason) => report.failures.push(RuleTestFailure {
                rule_id: rule.id().to_owned(),
                origin: rule.origin().to_owned(),
                case: case.to_owned(),
                reason,
            }),
        }
    }
}

struct Fired<'d> {
    detector: &'d Detector,
    rule_id: &'d str,
    records: usize,
    fired: usize,
    errors: Vec<String>,
}

impl Visit for Fired<'_> {
    fn record(&mut self, _at: Location, record: Record<'_>) {
        self.records += 1;
        let mut findings = Vec::new();
        match self.detector.detect(&record, &mut findings) {
            Ok(()) => {
                self.fired += findings
                    .iter()
                    .filter(|f| f.rule.id() == self.rule_id)
                    .count()
            }
            Err(e) => self.errors.push(e.to_string()),
        }
    }
    fn error(&mut self, at: Location, error: ReadError) {
        self.errors.push(format!("{at}: {error}"));
    }
}
