//! Rules that test themselves: every rule's `tests` block, run through the same path as a scan
//! (envelope, record, index, evaluation), so a bug in any of them shows.

use tamperwatch_event::{Limits, Location, ReadError, Record, Visit};
use tamperwatch_rules::{CorrelationCase, Correlator, Observation, Rule};

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
    /// Rules (and correlation rules) without a `match` test or without a `no_match` test.
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
        for (c, correlation) in self.rules().correlations().iter().enumerate() {
            let tests = correlation.tests();
            if tests.must_match.is_empty() || tests.must_not_match.is_empty() {
                report
                    .untested
                    .push(format!("{} ({})", correlation.id(), correlation.origin()));
            }
            let cases = [(true, &tests.must_match), (false, &tests.must_not_match)];
            for (expect, cases) in cases {
                for (i, case) in cases.iter().enumerate() {
                    let name = if expect { "match" } else { "no_match" };
                    let reason = self.check_correlation(c, case, expect);
                    match reason {
                        None => report.passed += 1,
                        Some(reason) => report.failures.push(RuleTestFailure {
                            rule_id: correlation.id().to_owned(),
                            origin: correlation.origin().to_owned(),
                            case: format!("{name}[{i}]"),
                            reason,
                        }),
                    }
                }
            }
        }
        report
    }

    /// Runs one correlation test: every event through the scan's path, the observations in
    /// event-time order through a fresh correlator. `None` when it did what was expected.
    fn check_correlation(&self, c: usize, case: &CorrelationCase, expect: bool) -> Option<String> {
        let mut visit = Observed {
            detector: self,
            observations: Vec::new(),
            records: 0,
            errors: Vec::new(),
        };
        for event in &case.events {
            let text = event.to_string();
            tamperwatch_event::read(text.as_bytes(), &Limits::default(), &mut visit);
        }
        if !visit.errors.is_empty() {
            return Some(format!("not readable records: {}", visit.errors.join("; ")));
        }
        let mut observations = visit.observations;
        observations.sort_by_key(|o| o.time);
        let mut correlator = Correlator::new(self.rules());
        let mut found = Vec::new();
        for o in observations {
            correlator.push(o, &mut found);
        }
        let fired = found.iter().filter(|f| f.correlation == c).count();
        match (case.findings, expect) {
            (Some(n), _) if n != fired => Some(format!(
                "expected {n} correlation finding(s) over {} events; got {fired}",
                case.events.len()
            )),
            (Some(_), _) => None,
            (None, true) if fired == 0 => Some(format!(
                "expected the correlation to fire over {} events; it did not",
                case.events.len()
            )),
            (None, false) if fired > 0 => Some(format!(
                "expected the correlation not to fire; it fired {fired} time(s)"
            )),
            (None, _) => None,
        }
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

struct Observed<'d> {
    detector: &'d Detector,
    observations: Vec<Observation>,
    records: usize,
    errors: Vec<String>,
}

impl Visit for Observed<'_> {
    fn record(&mut self, _at: Location, record: Record<'_>) {
        self.records += 1;
        let mut findings = Vec::new();
        if let Err(e) =
            self.detector
                .detect_observed(&record, &mut findings, &mut self.observations)
        {
            self.errors.push(e.to_string());
        }
    }
    fn error(&mut self, at: Location, error: ReadError) {
        self.errors.push(format!("{at}: {error}"));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use tamperwatch_rules::{RuleDocument, RuleSet, load_documents};

    use crate::Detector;

    const FILE: &str = "title: Twice\nid: twice\ncorrelation: {type: event_count, rules: [s], group-by: [userIdentity.arn], timespan: 10m, condition: {gte: 2}}\ntests:\n  match:\n    - events:\n        - {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging, eventTime: '2026-11-30T10:09:00Z', userIdentity: {arn: a}}\n        - {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging, eventTime: '2026-11-30T10:00:00Z', userIdentity: {arn: a}}\n      findings: 1\n  no_match:\n    - events:\n        - {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging, eventTime: '2026-11-30T10:00:00Z', userIdentity: {arn: a}}\n        - {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging, eventTime: '2026-11-30T10:00:01Z', userIdentity: {arn: b}}\n    - events:\n        - {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging, userIdentity: {arn: a}}\n        - {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging, userIdentity: {arn: a}}\n---\ntitle: Stop\nid: s\ndetection: {sel: {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging}, condition: sel}\ntests:\n  match: [{eventSource: cloudtrail.amazonaws.com, eventName: StopLogging}]\n  no_match: [{eventSource: cloudtrail.amazonaws.com, eventName: StartLogging}]\n";

    fn detector(text: &str) -> Detector {
        let mut set = RuleSet::new();
        for doc in load_documents(text, "t.yml") {
            match doc.expect("loads") {
                RuleDocument::Rule(r) => drop(set.push(*r).expect("pushed")),
                RuleDocument::Correlation(c) => drop(set.push_correlation(*c).expect("pushed")),
            }
        }
        set.link_correlations().expect("links");
        Detector::new(set)
    }

    #[test]
    fn correlation_tests_run_sequences_in_event_time_order() {
        let report = detector(FILE).run_rule_tests();
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        assert!(report.untested.is_empty(), "{:?}", report.untested);
        assert_eq!(
            report.passed,
            2 + 3,
            "two rule events, three correlation cases"
        );
    }

    #[test]
    fn a_wrong_expectation_is_a_failure_naming_the_case() {
        let report = detector(&FILE.replace("findings: 1", "findings: 2")).run_rule_tests();
        assert_eq!(report.failures.len(), 1);
        let f = &report.failures[0];
        assert_eq!((f.rule_id.as_str(), f.case.as_str()), ("twice", "match[0]"));
        assert!(
            f.reason.contains("expected 2 correlation finding(s)"),
            "{}",
            f.reason
        );
    }
}
