//! Running the rules' own test events (`tests: {match: [..], no_match: [..]}`).

use crate::index::RuleIdx;
use crate::ruleset::RuleSet;

/// What a test event expects of its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// From `tests.match`: the rule must fire.
    Match,
    /// From `tests.no_match`: the rule must not fire.
    NoMatch,
}

/// The outcome of one test event of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleTestResult {
    /// The rule.
    pub rule: RuleIdx,
    /// What the event expects.
    pub expected: Expectation,
    /// The event's position in its list (`tests.match` or `tests.no_match`), from 0.
    pub case: usize,
    /// Whether the rule fired.
    pub matched: bool,
}

impl RuleTestResult {
    /// Whether the rule did what the event expects.
    pub fn passed(&self) -> bool {
        self.matched == (self.expected == Expectation::Match)
    }
}

impl RuleSet {
    /// Runs every rule's test events, each through the whole set's index path
    /// ([`RuleSet::evaluate_value`]), so a prefilter that wrongly skips a rule shows as a
    /// failure. One result per test event, in rule order.
    pub fn run_tests(&self) -> Vec<RuleTestResult> {
        let mut results = Vec::new();
        let mut out = Vec::new();
        for (i, rule) in self.rules().iter().enumerate() {
            let Ok(n) = u32::try_from(i) else {
                break;
            };
            let idx = RuleIdx(n);
            let tests = rule.tests();
            for (expected, events) in [
                (Expectation::Match, &tests.must_match),
                (Expectation::NoMatch, &tests.must_not_match),
            ] {
                for (case, event) in events.iter().enumerate() {
                    self.evaluate_value(event, &mut out);
                    results.push(RuleTestResult {
                        rule: idx,
                        expected,
                        case,
                        matched: out.contains(&idx),
                    });
                }
            }
        }
        results
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::rule::Rule;

    #[test]
    fn results_say_what_was_expected_and_what_happened() {
        let text = "title: t\nid: t\ndetection: {s: {eventName: StopLogging}, condition: s}\n\
                    tests:\n  match:\n    - {eventName: StopLogging}\n    - {eventName: Wrong}\n  \
                    no_match:\n    - {eventName: StartLogging}\n";
        let mut set = RuleSet::new();
        set.push(Rule::from_yaml(text, "t.yml").expect("loads"))
            .expect("pushed");
        let results = set.run_tests();
        assert_eq!(
            results,
            [
                RuleTestResult {
                    rule: RuleIdx(0),
                    expected: Expectation::Match,
                    case: 0,
                    matched: true
                },
                RuleTestResult {
                    rule: RuleIdx(0),
                    expected: Expectation::Match,
                    case: 1,
                    matched: false
                },
                RuleTestResult {
                    rule: RuleIdx(0),
                    expected: Expectation::NoMatch,
                    case: 0,
                    matched: false
                },
            ]
        );
        let passed: Vec<bool> = results.iter().map(RuleTestResult::passed).collect();
        assert_eq!(passed, [true, false, true]);
    }
}
