//! What cheap keys a rule needs: derived soundly from its compiled condition.
//!
//! A constraint on a key is *necessary*: every event the rule can match has one of the listed
//! values there, or a value starting with one of the listed prefixes (compared in lowercase).
//! It is derived from the syntax tree:
//! - a selection field that only tests plain strings for equality or prefixes (`startswith`,
//!   or one trailing `*`; no other wildcard, no modifier but `cased`) constrains its key to
//!   those strings and prefixes;
//! - a mapping (AND) keeps every constraint of its fields, intersecting two on the same key
//!   (or, when prefixes make that hard, keeping either: each alone is necessary);
//! - OR (a list of mappings, `or`, `1 of`) keeps a key only when every branch constrains it,
//!   and unites the values;
//! - `not` constrains nothing; `all of` is AND; `N of` with N below the count is OR.
//!
//! Anything not understood constrains nothing, so the rule is evaluated on every event.

use std::collections::{BTreeMap, BTreeSet};

use crate::condition::Condition;
use crate::detection::{Detection, Selection};
use crate::modifier::{CompiledField, Required};

/// The cheap key a rule's index entry is filed under: the values a key must have for the
/// rule to match (lowercase, sorted), or [`Prefilter::Always`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prefilter {
    /// The rule needs `eventName` to be one of `names` or to start with one of `prefixes`
    /// (lowercase ASCII). No name starts with one of the prefixes, and no prefix with
    /// another, so an event name meets at most one of them.
    EventName {
        /// Whole names.
        names: Vec<String>,
        /// Prefixes.
        prefixes: Vec<String>,
    },
    /// The rule needs `eventSource` to be one of these (lowercase).
    EventSource(Vec<String>),
    /// The rule needs `userIdentity.type` to be one of these (lowercase).
    IdentityType(Vec<String>),
    /// The rule constrains none of these keys: it is evaluated on every event.
    Always,
}

/// The keys the index knows, most selective first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    EventName = 0,
    EventSource = 1,
    IdentityType = 2,
}

pub(crate) const KEYS: [(Key, &str); 3] = [
    (Key::EventName, "eventName"),
    (Key::EventSource, "eventSource"),
    (Key::IdentityType, "userIdentity.type"),
];

/// What one key must hold: one of the `exact` values (lowercase -> spelling as written in the
/// rule), or a value starting with one of the `prefixes` (lowercase ASCII).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ValueSet {
    exact: BTreeMap<String, String>,
    prefixes: BTreeSet<String>,
}

impl ValueSet {
    fn len(&self) -> usize {
        self.exact.len() + self.prefixes.len()
    }

    /// The same set, without the values and prefixes that a shorter prefix already covers.
    fn minimal(&self) -> ValueSet {
        let prefixes: BTreeSet<String> = self
            .prefixes
            .iter()
            .filter(|p| {
                !self
                    .prefixes
                    .iter()
                    .any(|q| q.len() < p.len() && p.starts_with(q.as_str()))
            })
            .cloned()
            .collect();
        let exact = self
            .exact
            .iter()
            .filter(|(lower, _)| !prefixes.iter().any(|p| lower.starts_with(p.as_str())))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        ValueSet { exact, prefixes }
    }
}

/// The necessary constraints of a rule (or a part of it), per key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Constraints {
    sets: [Option<ValueSet>; 3],
}

impl Constraints {
    /// Both hold: every constraint of either.
    fn and(self, other: Constraints) -> Constraints {
        let [a0, a1, a2] = self.sets;
        let [b0, b1, b2] = other.sets;
        Constraints {
            sets: [both(a0, b0), both(a1, b1), both(a2, b2)],
        }
    }

    /// Either holds: only keys constrained on both sides, with the values of both.
    fn or(self, other: Constraints) -> Constraints {
        let [a0, a1, a2] = self.sets;
        let [b0, b1, b2] = other.sets;
        Constraints {
            sets: [either(a0, b0), either(a1, b1), either(a2, b2)],
        }
    }

    /// The most selective constraint the index can use (it uses prefixes of `eventName`
    /// only).
    pub(crate) fn prefilter(&self) -> Prefilter {
        for (key, _) in KEYS {
            let Some(set) = &self.sets[key as usize] else {
                continue;
            };
            let set = set.minimal();
            let names: Vec<String> = set.exact.into_keys().collect();
            return match key {
                Key::EventName => Prefilter::EventName {
                    names,
                    prefixes: set.prefixes.into_iter().collect(),
                },
                _ if !set.prefixes.is_empty() => continue,
                Key::EventSource => Prefilter::EventSource(names),
                Key::IdentityType => Prefilter::IdentityType(names),
            };
        }
        Prefilter::Always
    }

    /// The values `key` must have, spelled as in the rule, or `None` when unconstrained or
    /// when prefixes are allowed too.
    pub(crate) fn values(&self, key: Key) -> Option<Vec<String>> {
        self.sets[key as usize]
            .as_ref()
            .filter(|set| set.prefixes.is_empty())
            .map(|set| set.exact.values().cloned().collect())
    }
}

fn both(a: Option<ValueSet>, b: Option<ValueSet>) -> Option<ValueSet> {
    match (a, b) {
        (Some(a), Some(b)) if a.prefixes.is_empty() && b.prefixes.is_empty() => {
            let common: BTreeMap<String, String> = a
                .exact
                .iter()
                .filter(|(k, _)| b.exact.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            // An empty intersection means the rule cannot match an event with a single string
            // there; either set alone is still necessary, so keep the smaller.
            if !common.is_empty() {
                Some(ValueSet {
                    exact: common,
                    prefixes: BTreeSet::new(),
                })
            } else if a.len() <= b.len() {
                Some(a)
            } else {
                Some(b)
            }
        }
        // With prefixes, either set alone is necessary: keep one without prefixes if there is
        // one, else the smaller.
        (Some(a), Some(b)) => {
            if a.prefixes.is_empty() || (!b.prefixes.is_empty() && a.len() <= b.len()) {
                Some(a)
            } else {
                Some(b)
            }
        }
        (a, None) => a,
        (None, b) => b,
    }
}

fn either(a: Option<ValueSet>, b: Option<ValueSet>) -> Option<ValueSet> {
    match (a, b) {
        (Some(mut a), Some(b)) => {
            for (k, v) in b.exact {
                a.exact.entry(k).or_insert(v);
            }
            a.prefixes.extend(b.prefixes);
            Some(a)
        }
        _ => None,
    }
}

fn field_constraints(f: &CompiledField) -> Constraints {
    let mut c = Constraints::default();
    let Some(required) = &f.required else {
        return c;
    };
    for (key, name) in KEYS {
        if f.path.name() == name {
            let mut set = ValueSet::default();
            for r in required {
                match r {
                    Required::Exact(v) => {
                        set.exact.insert(v.to_lowercase(), v.clone());
                    }
                    Required::Prefix(p) => {
                        set.prefixes.insert(p.clone());
                    }
                }
            }
            c.sets[key as usize] = Some(set);
        }
    }
    c
}

fn fields_constraints(fields: &[CompiledField]) -> Constraints {
    fields
        .iter()
        .map(field_constraints)
        .fold(Constraints::default(), Constraints::and)
}

fn any_of(mut items: impl Iterator<Item = Constraints>) -> Constraints {
    match items.next() {
        Some(first) => items.fold(first, Constraints::or),
        None => Constraints::default(),
    }
}

fn selection_constraints(s: &Selection) -> Constraints {
    match s {
        Selection::Fields(fields) => fields_constraints(fields),
        Selection::AnyOf(maps) => any_of(maps.iter().map(|m| fields_constraints(m))),
        Selection::Keywords(_) => Constraints::default(),
    }
}

fn condition_constraints(c: &Condition, selections: &[Constraints]) -> Constraints {
    let sel = |i: &usize| selections.get(*i).cloned().unwrap_or_default();
    match c {
        Condition::Selection(i) => sel(i),
        Condition::Not(_) => Constraints::default(),
        Condition::And(items) => items
            .iter()
            .map(|c| condition_constraints(c, selections))
            .fold(Constraints::default(), Constraints::and),
        Condition::Or(items) => any_of(items.iter().map(|c| condition_constraints(c, selections))),
        Condition::Of { min, selections: s } if *min >= s.len() => s
            .iter()
            .map(sel)
            .fold(Constraints::default(), Constraints::and),
        Condition::Of { selections: s, .. } => any_of(s.iter().map(sel)),
    }
}

/// The necessary constraints of a compiled detection.
pub(crate) fn derive(d: &Detection) -> Constraints {
    let per_selection: Vec<Constraints> = d.selections.iter().map(selection_constraints).collect();
    condition_constraints(&d.condition, &per_selection)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn pre(yaml: &str) -> Prefilter {
        let v: serde_json::Value = serde_saphyr::from_str(yaml).expect("yaml");
        derive(&Detection::compile(&v).expect("compiles")).prefilter()
    }

    fn names(list: &[&str]) -> Prefilter {
        names_prefixes(list, &[])
    }

    fn names_prefixes(names: &[&str], prefixes: &[&str]) -> Prefilter {
        let own = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
        Prefilter::EventName {
            names: own(names),
            prefixes: own(prefixes),
        }
    }

    fn sources(list: &[&str]) -> Prefilter {
        Prefilter::EventSource(list.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn exact_event_names_are_the_most_selective() {
        assert_eq!(
            pre(
                "sel: {eventSource: s3.amazonaws.com, eventName: [PutBucketPolicy, DeleteBucket]}\ncondition: sel"
            ),
            names(&["deletebucket", "putbucketpolicy"])
        );
        assert_eq!(
            pre("sel: {eventSource: [A, B], userIdentity.type: Root}\ncondition: sel"),
            sources(&["a", "b"])
        );
        assert_eq!(
            pre("sel: {userIdentity.type: Root}\ncondition: sel"),
            Prefilter::IdentityType(vec!["root".into()])
        );
    }

    #[test]
    fn and_across_selections_keeps_any_constraint() {
        assert_eq!(
            pre(
                "a: {eventSource: iam.amazonaws.com}\nb: {eventName: CreateUser}\ncondition: a and b"
            ),
            names(&["createuser"])
        );
        // Two constraints on one key intersect.
        assert_eq!(
            pre("a: {eventName: [Ex, Why]}\nb: {eventName: [Why, Zed]}\ncondition: a and b"),
            names(&["why"])
        );
        assert_eq!(
            pre("a: {eventName: Ex}\nb: {eventName|contains: Ex}\ncondition: a and b"),
            names(&["ex"])
        );
    }

    #[test]
    fn or_needs_every_branch_on_the_same_key() {
        assert_eq!(
            pre("a: {eventName: Ex}\nb: {eventName: Why}\ncondition: a or b"),
            names(&["ex", "why"])
        );
        assert_eq!(
            pre("a: {eventName: Ex}\nb: {eventSource: s}\ncondition: a or b"),
            Prefilter::Always
        );
        assert_eq!(
            pre(
                "a: {eventName: Ex, eventSource: s1}\nb: {eventName: Why, eventSource: s2}\ncondition: 1 of them"
            ),
            names(&["ex", "why"])
        );
        assert_eq!(
            pre("a: {eventName: Ex, eventSource: s1}\nb: {eventSource: s2}\ncondition: a or b"),
            sources(&["s1", "s2"])
        );
        assert_eq!(
            pre("a: {eventName: Ex}\nb: {other: Why}\ncondition: a or b"),
            Prefilter::Always
        );
        assert_eq!(
            pre("sel:\n  - {eventName: Ex}\n  - {eventName: Why, b: 1}\ncondition: sel"),
            names(&["ex", "why"])
        );
        assert_eq!(
            pre("sel:\n  - {eventName: Ex}\n  - {b: 1}\ncondition: sel"),
            Prefilter::Always
        );
        assert_eq!(
            pre("a: {eventName: Ex}\nb: {eventName: Why}\ncondition: [a, b]"),
            names(&["ex", "why"])
        );
    }

    #[test]
    fn not_constrains_nothing() {
        assert_eq!(
            pre("a: {eventName: Ex}\ncondition: not a"),
            Prefilter::Always
        );
        assert_eq!(
            pre("a: {eventSource: s}\nf: {eventName: Ex}\ncondition: a and not f"),
            sources(&["s"])
        );
        assert_eq!(
            pre("a: {eventName: Ex}\nb: {eventName: Why}\ncondition: not (a or b)"),
            Prefilter::Always
        );
    }

    #[test]
    fn quantities_expand_to_and_or_or() {
        assert_eq!(
            pre("s1: {eventName: Ex}\ns2: {eventSource: Why}\ncondition: all of s*"),
            names(&["ex"])
        );
        assert_eq!(
            pre("s1: {eventName: Ex}\ns2: {eventSource: Why}\ncondition: 1 of s*"),
            Prefilter::Always
        );
        assert_eq!(
            pre(
                "s1: {eventName: Ex}\ns2: {eventName: Why}\ns3: {eventName: Zed}\ncondition: 2 of s*"
            ),
            names(&["ex", "why", "zed"])
        );
    }

    #[test]
    fn prefixes_of_event_names_are_indexed_too() {
        assert_eq!(
            pre(
                "sel: {eventSource: lambda.amazonaws.com, eventName|startswith: Put}\ncondition: sel"
            ),
            names_prefixes(&[], &["put"])
        );
        // Lambda's versioned names: bare or with a suffix.
        assert_eq!(
            pre(
                "bare: {eventName: [DeleteFunction, PutFunctionConcurrency]}\nversioned: {eventName|startswith: DeleteFunction20}\ncondition: bare or versioned"
            ),
            names_prefixes(
                &["deletefunction", "putfunctionconcurrency"],
                &["deletefunction20"]
            )
        );
        // A name or prefix that a shorter prefix covers is left out: each rule comes up once.
        assert_eq!(
            pre(
                "a: {eventName: [PutRule, Other]}\nb: {eventName: ['Put*', PutRuleX*]}\ncondition: a or b"
            ),
            names_prefixes(&["other"], &["put"])
        );
        // AND keeps a set without prefixes over one with.
        assert_eq!(
            pre("a: {eventName|startswith: Put}\nb: {eventName: PutRule}\ncondition: a and b"),
            names(&["putrule"])
        );
        assert_eq!(
            pre(
                "a: {eventName|startswith: [P, Q]}\nb: {eventName|startswith: Put}\ncondition: a and b"
            ),
            names_prefixes(&[], &["put"])
        );
        // Prefixes of other keys are not indexed: the next key is used.
        assert_eq!(
            pre("sel: {eventSource|startswith: lambda, userIdentity.type: Root}\ncondition: sel"),
            Prefilter::IdentityType(vec!["root".into()])
        );
    }

    #[test]
    fn anything_but_plain_equality_or_a_prefix_constrains_nothing() {
        for detection in [
            "sel: {eventName: '*Stop'}\ncondition: sel",
            "sel: {eventName|endswith: Stop}\ncondition: sel",
            "sel: {eventName: 'St?p*'}\ncondition: sel",
            "sel: {eventName|re: Stop}\ncondition: sel",
            "sel: {eventName: [StopLogging, null]}\ncondition: sel",
            "sel: {eventName: 5}\ncondition: sel",
            "sel: {eventName|contains|all: [a, b]}\ncondition: sel",
            "sel: {eventname: StopLogging}\ncondition: sel",
            "sel: [StopLogging]\ncondition: sel",
            "sel: {eventName|exists: true}\ncondition: sel",
        ] {
            assert_eq!(pre(detection), Prefilter::Always, "{detection}");
        }
        assert_eq!(
            pre("sel: {eventName|cased: StopLogging}\ncondition: sel"),
            names(&["stoplogging"])
        );
    }
}
