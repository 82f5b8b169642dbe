//! The index never hides a match: for many generated rules and events, every rule that matches
//! an event is among its candidates, and the indexed evaluation equals evaluating every rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use tamperwatch_rules::{IndexKeys, Prefilter, Rule, RuleIdx, RuleSet};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const FIELDS: [&str; 4] = ["eventName", "eventSource", "userIdentity.type", "x"];
const WORDS: [&str; 5] = ["Alpha", "BETA", "gamma", "Ärger", "5"];

/// A rule value: mostly plain strings (which the index uses), sometimes anything else.
fn rule_value(g: &mut Gen) -> String {
    match g.below(10) {
        0 => "null".into(),
        1 => {
            // A prefix of a word, one to three characters long.
            let n = 1 + g.below(3);
            format!("'{}*'", g.pick(&WORDS).chars().take(n).collect::<String>())
        }
        2 => "5".into(),
        3 => format!("['{}', '{}']", g.pick(&WORDS), g.pick(&WORDS)),
        4 => format!("['{}', null]", g.pick(&WORDS)),
        _ => format!("'{}'", g.pick(&WORDS)),
    }
}

fn rule_field(g: &mut Gen) -> String {
    let field = *g.pick(&FIELDS);
    let modifier = match g.below(8) {
        0 => "|cased",
        1 => "|contains",
        2 => "|startswith",
        3 => "|cased|startswith",
        _ => "",
    };
    let mut value = rule_value(g);
    if !modifier.is_empty() && value.contains("null") {
        // `null` takes no modifiers.
        value = format!("'{}'", g.pick(&WORDS));
    }
    format!("{field}{modifier}: {value}")
}

fn selection(g: &mut Gen) -> String {
    let map = |g: &mut Gen| {
        let n = 1 + g.below(3);
        let fields: Vec<String> = (0..n).map(|_| rule_field(g)).collect();
        // Distinct keys only: YAML refuses duplicates.
        let mut seen = std::collections::BTreeMap::new();
        for f in fields {
            let key = f.split(':').next().unwrap_or_default().to_owned();
            seen.entry(key).or_insert(f);
        }
        format!("{{{}}}", seen.into_values().collect::<Vec<_>>().join(", "))
    };
    if g.below(4) == 0 {
        format!("[{}, {}]", map(g), map(g))
    } else {
        map(g)
    }
}

fn condition(g: &mut Gen, depth: usize) -> String {
    let leaf = |g: &mut Gen| format!("s{}", g.below(3));
    if depth > 2 {
        return leaf(g);
    }
    match g.below(8) {
        0 => format!("not {}", condition(g, depth + 1)),
        1 => format!(
            "({} and {})",
            condition(g, depth + 1),
            condition(g, depth + 1)
        ),
        2 => format!(
            "({} or {})",
            condition(g, depth + 1),
            condition(g, depth + 1)
        ),
        3 => "1 of s*".into(),
        4 => "all of them".into(),
        5 => "2 of s*".into(),
        _ => leaf(g),
    }
}

fn rule(g: &mut Gen, n: usize) -> Rule {
    let text = format!(
        "title: r{n}\nid: r{n}\ndetection:\n  s0: {}\n  s1: {}\n  s2: {}\n  condition: {}\n",
        selection(g),
        selection(g),
        selection(g),
        condition(g, 0)
    );
    Rule::from_yaml(&text, &format!("r{n}.yml")).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// An event value for a key: any case of a word, or something the index cannot use.
fn event_value(g: &mut Gen) -> Option<Value> {
    let word = *g.pick(&WORDS);
    match g.below(12) {
        0 => None,
        1 => Some(Value::Null),
        2 => Some(json!(5)),
        3 => Some(json!([word, "other"])),
        4 => Some(json!({"nested": word})),
        5 => Some(json!(word.to_uppercase())),
        6 => Some(json!(word.to_lowercase())),
        7 => Some(json!(format!("{word}-suffix"))),
        _ => Some(json!(word)),
    }
}

fn event(g: &mut Gen) -> Value {
    let mut e = serde_json::Map::new();
    for key in ["eventName", "eventSource", "x"] {
        if let Some(v) = event_value(g) {
            e.insert(key.into(), v);
        }
    }
    match g.below(4) {
        0 => {}
        1 => {
            if let Some(v) = event_value(g) {
                e.insert("userIdentity.type".into(), v);
            }
        }
        _ => {
            let mut identity = serde_json::Map::new();
            if let Some(v) = event_value(g) {
                identity.insert("type".into(), v);
            }
            e.insert("userIdentity".into(), Value::Object(identity));
        }
    }
    Value::Object(e)
}

#[test]
fn candidates_never_miss_a_matching_rule() {
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    let mut set = RuleSet::new();
    for n in 0..300 {
        set.push(rule(&mut g, n)).expect("unique ids");
    }
    let indexed = set
        .rules()
        .iter()
        .filter(|r| r.prefilter() != &Prefilter::Always)
        .count();
    assert!(
        indexed > 50,
        "the generator must exercise the index ({indexed} rules indexed)"
    );
    let by_prefix = set
        .rules()
        .iter()
        .filter(|r| matches!(r.prefilter(), Prefilter::EventName { prefixes, .. } if !prefixes.is_empty()))
        .count();
    assert!(
        by_prefix > 15,
        "the generator must exercise name prefixes ({by_prefix} rules filed under one)"
    );

    let mut out = Vec::new();
    let mut matches = 0;
    let mut skipped = 0;
    for _ in 0..3000 {
        let e = event(&mut g);
        let expected: Vec<RuleIdx> = (0..set.len())
            .map(|i| RuleIdx(u32::try_from(i).unwrap()))
            .filter(|&i| set.get(i).matches(&e))
            .collect();
        matches += expected.len();
        if let Some(keys) = IndexKeys::from_json(&e) {
            {
                let candidates: Vec<RuleIdx> = set.candidates(&keys).collect();
                let mut unique = candidates.clone();
                unique.sort_unstable();
                unique.dedup();
                assert_eq!(
                    unique.len(),
                    candidates.len(),
                    "a candidate repeats for {e}"
                );
                for idx in &expected {
                    assert!(
                        candidates.contains(idx),
                        "rule {} matches {e} but is not a candidate (prefilter {:?})",
                        set.get(*idx).id(),
                        set.get(*idx).prefilter()
                    );
                }
                skipped += set.len() - candidates.len();
            }
        }
        set.evaluate_value(&e, &mut out);
        assert_eq!(out, expected, "indexed evaluation differs for {e}");
    }
    assert!(
        matches > 1000,
        "the generator must produce matches ({matches})"
    );
    assert!(skipped > 0, "the index must skip some rules");
}
