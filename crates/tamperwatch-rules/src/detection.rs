//! The `detection` block: named selections and the condition over them, compiled and
//! evaluated.
//!
//! A selection is one of
//! - a mapping: every field must match (AND);
//! - a list of mappings: any mapping must match (OR);
//! - a list of plain values (or one value): keywords, searched in every string of the event.
//!
//! A field whose path reaches several values (through arrays) matches when any of them does.
//! When a field reaches an object (`requestParameters`), only text searches (wildcards,
//! `contains`, `startswith`, `endswith`, `re`) apply, to every string inside it; equality,
//! numbers, `cidr` and `null` never match an object.

use std::ops::ControlFlow;

use crate::condition::{self, Condition, ParseConditionError};
use crate::document::{Document, Value};
use crate::error::{Refusal, SelectionError, kind_of};
use crate::modifier::{CompiledField, FieldTest, Link, RefMode, compile_field};
use crate::path::{FieldPath, flatten, leaves};
use crate::pattern::{Case, Glob, Pattern};
use crate::value::{Num, ValueMatcher, with_text};

/// A compiled `detection` block.
#[derive(Debug, Clone)]
pub(crate) struct Detection {
    pub(crate) selections: Vec<Selection>,
    pub(crate) condition: Condition,
}

/// One named selection.
#[derive(Debug, Clone)]
pub(crate) enum Selection {
    /// A mapping: all fields match.
    Fields(Vec<CompiledField>),
    /// A list of mappings: any of them matches.
    AnyOf(Vec<Vec<CompiledField>>),
    /// Keywords: any appears in any string of the event.
    Keywords(Vec<Pattern>),
}

impl Detection {
    /// Compiles the `detection` mapping of a rule.
    pub(crate) fn compile(detection: &serde_json::Value) -> Result<Detection, Refusal> {
        let serde_json::Value::Object(map) = detection else {
            return Err(Refusal::WrongType {
                key: "detection".into(),
                expected: "a mapping of selections and a condition",
            });
        };
        if map.contains_key("timeframe") {
            return Err(Refusal::Aggregation);
        }
        let mut names = Vec::new();
        let mut selections = Vec::new();
        for (name, value) in map {
            if name == "condition" {
                continue;
            }
            let selection = compile_selection(value).map_err(|error| Refusal::Selection {
                selection: name.clone(),
                error,
            })?;
            names.push(name.clone());
            selections.push(selection);
        }
        if selections.is_empty() {
            return Err(Refusal::NoSelection);
        }
        let condition = match map.get("condition") {
            None => return Err(Refusal::MissingKey("detection.condition")),
            Some(serde_json::Value::String(text)) => parse_condition(text, &names)?,
            Some(serde_json::Value::Array(items)) if !items.is_empty() => {
                let mut alternatives = Vec::with_capacity(items.len());
                for item in items {
                    let serde_json::Value::String(text) = item else {
                        return Err(condition_type_error());
                    };
                    alternatives.push(parse_condition(text, &names)?);
                }
                if alternatives.len() == 1 {
                    alternatives.remove(0)
                } else {
                    Condition::Or(alternatives)
                }
            }
            Some(_) => return Err(condition_type_error()),
        };
        Ok(Detection {
            selections,
            condition,
        })
    }

    /// Whether the event matches.
    pub(crate) fn matches(&self, doc: &dyn Document) -> bool {
        self.condition.eval(&mut |i| {
            self.selections
                .get(i)
                .is_some_and(|s| selection_matches(s, doc))
        })
    }
}

fn condition_type_error() -> Refusal {
    Refusal::WrongType {
        key: "detection.condition".into(),
        expected: "a string or a list of strings",
    }
}

fn parse_condition(text: &str, names: &[String]) -> Result<Condition, Refusal> {
    condition::parse(text, names).map_err(|e| match e {
        ParseConditionError::Aggregation => Refusal::Aggregation,
        ParseConditionError::Invalid(error) => Refusal::Condition {
            condition: text.to_owned(),
            error,
        },
    })
}

fn compile_selection(value: &serde_json::Value) -> Result<Selection, SelectionError> {
    const SHAPE: &str =
        "a selection must be a mapping of fields, a list of mappings, or a list of keywords";
    match value {
        serde_json::Value::Object(map) => compile_map(map).map(Selection::Fields),
        serde_json::Value::Array(items) if items.is_empty() => {
            Err(SelectionError::Shape(format!("{SHAPE}, not an empty list")))
        }
        serde_json::Value::Array(items) if items.iter().all(|i| i.is_object()) => items
            .iter()
            .filter_map(|i| i.as_object())
            .map(compile_map)
            .collect::<Result<Vec<_>, _>>()
            .map(Selection::AnyOf),
        serde_json::Value::Array(items) => items
            .iter()
            .map(compile_keyword)
            .collect::<Result<Vec<_>, _>>()
            .map(Selection::Keywords),
        serde_json::Value::Null => Err(SelectionError::Shape(format!("{SHAPE}, not null"))),
        scalar => compile_keyword(scalar).map(|k| Selection::Keywords(vec![k])),
    }
}

fn compile_map(
    map: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<CompiledField>, SelectionError> {
    if map.is_empty() {
        return Err(SelectionError::Shape(
            "a selection mapping must name at least one field".into(),
        ));
    }
    map.iter().map(|(k, v)| compile_field(k, v)).collect()
}

/// A keyword is searched as a substring unless it has wildcards of its own, in which case it
/// must match a whole string.
fn compile_keyword(v: &serde_json::Value) -> Result<Pattern, SelectionError> {
    let text = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Number(n) => Num::from_json(n).map(Num::text).unwrap_or_default(),
        other => {
            return Err(SelectionError::Shape(format!(
                "a list of keywords may hold only strings, numbers and booleans, not {} \
                 (mix of mappings and values?)",
                kind_of(other)
            )));
        }
    };
    let mut glob = Glob::parse(&text);
    if !glob.has_wildcards() {
        glob.wrap(true, true);
    }
    Pattern::compile(&glob, Case::Insensitive).map_err(|e| SelectionError::InvalidValue {
        field: "(keyword)".into(),
        problem: e.to_string(),
    })
}

fn selection_matches(s: &Selection, doc: &dyn Document) -> bool {
    match s {
        Selection::Fields(fields) => fields.iter().all(|f| field_matches(f, doc)),
        Selection::AnyOf(maps) => maps
            .iter()
            .any(|fields| fields.iter().all(|f| field_matches(f, doc))),
        Selection::Keywords(patterns) => doc
            .values(&mut |v| {
                leaves(v, 0, &mut |leaf| match leaf {
                    Value::Str(s) if patterns.iter().any(|p| p.matches(s)) => {
                        ControlFlow::Break(())
                    }
                    _ => ControlFlow::Continue(()),
                })
            })
            .is_break(),
    }
}

pub(crate) fn field_matches(f: &CompiledField, doc: &dyn Document) -> bool {
    match &f.test {
        FieldTest::AnyOf(ms) => any_value_matches(&f.path, ms, doc),
        FieldTest::AllOf(ms) => ms
            .iter()
            .all(|m| any_value_matches(&f.path, std::slice::from_ref(m), doc)),
        FieldTest::Exists(want) => {
            let mut seen = false;
            let _ = f.path.resolve(doc, &mut |_| {
                seen = true;
                ControlFlow::Break(())
            });
            seen == *want
        }
        FieldTest::FieldRef {
            refs,
            link,
            mode,
            case,
        } => {
            let one = |r: &FieldPath| fieldref_matches(&f.path, r, *mode, *case, doc);
            match link {
                Link::Any => refs.iter().any(one),
                Link::All => refs.iter().all(one),
            }
        }
    }
}

/// Whether any value the path reaches matches any of `ms`; a `null` matcher also matches when
/// the path reaches nothing.
fn any_value_matches(path: &FieldPath, ms: &[ValueMatcher], doc: &dyn Document) -> bool {
    let searches_objects = ms.iter().any(ValueMatcher::searches_objects);
    let check = |v: Value<'_>, in_object: bool| {
        if ms.iter().any(|m| m.matches(v, in_object)) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let mut seen = false;
    let hit = path
        .resolve(doc, &mut |v| {
            seen = true;
            flatten(v, 0, &mut |item| match item {
                Value::Object(_) if searches_objects => {
                    leaves(item, 0, &mut |leaf| check(leaf, true))
                }
                Value::Object(_) => ControlFlow::Continue(()),
                scalar => check(scalar, false),
            })
        })
        .is_break();
    hit || (!seen && ms.iter().any(|m| matches!(m, ValueMatcher::Null)))
}

fn fold(s: &str, case: Case) -> String {
    match case {
        Case::Insensitive => s.to_lowercase(),
        Case::Sensitive => s.to_owned(),
    }
}

/// Whether any scalar of `path` relates to any scalar of `other` as `mode` says.
fn fieldref_matches(
    path: &FieldPath,
    other: &FieldPath,
    mode: RefMode,
    case: Case,
    doc: &dyn Document,
) -> bool {
    let mut targets: Vec<String> = Vec::new();
    let _ = other.resolve(doc, &mut |v| {
        flatten(v, 0, &mut |x| {
            if let Some(t) = with_text(x, |s| fold(s, case)) {
                targets.push(t);
            }
            ControlFlow::Continue(())
        })
    });
    if targets.is_empty() {
        return false;
    }
    path.resolve(doc, &mut |v| {
        flatten(v, 0, &mut |x| {
            let hit = with_text(x, |s| {
                let s = fold(s, case);
                targets.iter().any(|t| match mode {
                    RefMode::Equals => s == *t,
                    RefMode::StartsWith => s.starts_with(t.as_str()),
                    RefMode::EndsWith => s.ends_with(t.as_str()),
                    RefMode::Contains => s.contains(t.as_str()),
                })
            });
            if hit == Some(true) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
    })
    .is_break()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Compiles a detection given as YAML.
    fn det(yaml: &str) -> Detection {
        let v: serde_json::Value = serde_saphyr::from_str(yaml).expect("yaml");
        Detection::compile(&v).expect("compiles")
    }

    fn refused(yaml: &str) -> Refusal {
        let v: serde_json::Value = serde_saphyr::from_str(yaml).expect("yaml");
        Detection::compile(&v).expect_err("refused")
    }

    fn m(d: &Detection, doc: serde_json::Value) -> bool {
        d.matches(&doc)
    }

    #[test]
    fn a_mapping_is_and_a_list_of_values_is_or() {
        let d = det("sel: {eventSource: ec2.amazonaws.com, eventName: [A, B]}\ncondition: sel");
        assert!(m(
            &d,
            json!({"eventSource": "ec2.amazonaws.com", "eventName": "B"})
        ));
        assert!(!m(
            &d,
            json!({"eventSource": "ec2.amazonaws.com", "eventName": "C"})
        ));
        assert!(!m(
            &d,
            json!({"eventSource": "s3.amazonaws.com", "eventName": "A"})
        ));
        assert!(!m(&d, json!({"eventName": "A"})));
    }

    #[test]
    fn a_list_of_mappings_is_or() {
        let d = det("sel:\n  - {a: 1, b: x}\n  - {c: yy}\ncondition: sel");
        assert!(m(&d, json!({"a": 1, "b": "x"})));
        assert!(m(&d, json!({"c": "YY"})));
        assert!(!m(&d, json!({"a": 1, "c": "z"})));
    }

    #[test]
    fn contains_all_needs_every_value() {
        let d = det("sel:\n  f|contains|all: [alpha, beta]\ncondition: sel");
        assert!(m(&d, json!({"f": "xx ALPHA yy beta"})));
        assert!(!m(&d, json!({"f": "alpha only"})));
        // Across array elements, each value may match a different element.
        assert!(m(&d, json!({"f": ["alpha", "beta"]})));
        let any = det("sel:\n  f|contains: [alpha, beta]\ncondition: sel");
        assert!(m(&any, json!({"f": "alpha only"})));
    }

    #[test]
    fn regex_is_case_sensitive_unless_flagged() {
        let d = det("sel: {f|re: 'assumed-role/aws:.+'}\ncondition: sel");
        assert!(m(
            &d,
            json!({"f": "arn:aws:sts::1:assumed-role/aws:ec2-instance/i-1"})
        ));
        assert!(!m(&d, json!({"f": "arn:aws:sts::1:ASSUMED-ROLE/aws:x"})));
        let i = det("sel: {f|re|i: '^abc$'}\ncondition: sel");
        assert!(m(&i, json!({"f": "ABC"})));
        let not_multi = det("sel: {f|re: '^b$'}\ncondition: sel");
        assert!(!m(&not_multi, json!({"f": "a\nb\nc"})));
        let multi = det("sel: {f|re|m: '^b$'}\ncondition: sel");
        assert!(m(&multi, json!({"f": "a\nb\nc"})));
        let not_dotall = det("sel: {f|re: 'a.c'}\ncondition: sel");
        assert!(!m(&not_dotall, json!({"f": "a\nc"})));
        let dotall = det("sel: {f|re|s: 'a.c'}\ncondition: sel");
        assert!(m(&dotall, json!({"f": "a\nc"})));
        // A regular expression searches: it need not match the whole value.
        let search = det("sel: {f|re: 'b+'}\ncondition: sel");
        assert!(m(&search, json!({"f": "abbbc"})));
    }

    #[test]
    fn cidr_matches_v4_and_v6_and_ignores_other_values() {
        let d = det("sel: {ip|cidr: ['10.0.0.0/8', 'fd00::/8']}\ncondition: sel");
        assert!(m(&d, json!({"ip": "10.20.30.40"})));
        assert!(m(&d, json!({"ip": "fd12::1"})));
        assert!(!m(&d, json!({"ip": "192.168.1.1"})));
        assert!(!m(&d, json!({"ip": "AWS Internal"})));
        assert!(!m(&d, json!({"ip": "ec2.amazonaws.com"})));
        assert!(!m(&d, json!({"ip": 10})));
        assert!(!m(&d, json!({})));
    }

    #[test]
    fn exists_true_and_false() {
        let yes = det("sel: {errorCode|exists: true}\ncondition: sel");
        let no = det("sel: {errorCode|exists: false}\ncondition: sel");
        for (doc, present) in [
            (json!({"errorCode": "AccessDenied"}), true),
            (json!({"errorCode": ""}), true),
            (json!({"errorCode": null}), true),
            (json!({"errorCode": []}), true),
            (json!({}), false),
            (json!({"other": 1}), false),
        ] {
            assert_eq!(m(&yes, doc.clone()), present, "{doc}");
            assert_eq!(m(&no, doc.clone()), !present, "{doc}");
        }
        let nested = det("sel: {a.b|exists: true}\ncondition: sel");
        assert!(m(&nested, json!({"a": [{"c": 1}, {"b": 2}]})));
        assert!(!m(&nested, json!({"a": [{"c": 1}]})));
    }

    #[test]
    fn fieldref_compares_two_fields_of_the_event() {
        let eq = det(
            "sel: {userIdentity.userName|fieldref: requestParameters.userName}\ncondition: sel",
        );
        assert!(m(
            &eq,
            json!({"userIdentity": {"userName": "Alice"}, "requestParameters": {"userName": "alice"}})
        ));
        assert!(!m(
            &eq,
            json!({"userIdentity": {"userName": "alice"}, "requestParameters": {"userName": "bob"}})
        ));
        assert!(!m(&eq, json!({"userIdentity": {"userName": "alice"}})));
        assert!(!m(&eq, json!({})), "two missing fields are not equal");
        let cased = det("sel: {a|fieldref|cased: b}\ncondition: sel");
        assert!(!m(&cased, json!({"a": "X", "b": "x"})));
        assert!(m(&cased, json!({"a": "x", "b": "x"})));
        let contains = det("sel: {arn|fieldref|contains: name}\ncondition: sel");
        assert!(m(
            &contains,
            json!({"arn": "arn:aws:iam::1:user/Alice", "name": "alice"})
        ));
        let ends = det("sel: {arn|fieldref|endswith: name}\ncondition: sel");
        assert!(m(
            &ends,
            json!({"arn": "arn:aws:iam::1:user/alice", "name": "alice"})
        ));
        assert!(!m(
            &ends,
            json!({"arn": "arn:aws:iam::1:user/alice2", "name": "alice"})
        ));
        let starts = det("sel: {arn|fieldref|startswith: p}\ncondition: sel");
        assert!(m(&starts, json!({"arn": "arn:aws:iam", "p": "arn:"})));
        // Numbers compare through their text.
        assert!(m(&eq_num(), json!({"a": 5, "b": "5"})));
    }

    fn eq_num() -> Detection {
        det("sel: {a|fieldref: b}\ncondition: sel")
    }

    #[test]
    fn numeric_comparisons() {
        let d = det("sel: {n|gte: 10, m|lt: '2.5'}\ncondition: sel");
        assert!(m(&d, json!({"n": 10, "m": 2})));
        assert!(m(&d, json!({"n": "11", "m": "-1"})));
        assert!(!m(&d, json!({"n": 9, "m": 2})));
        assert!(!m(&d, json!({"n": 10, "m": 2.5})));
        assert!(!m(&d, json!({"n": "ten", "m": 2})));
        let gt = det("sel: {n|gt: 0}\ncondition: sel");
        assert!(m(&gt, json!({"n": [0, 1]})), "any element");
        assert!(!m(&gt, json!({"n": [0, -1]})));
        let lte = det("sel: {n|lte: 0}\ncondition: sel");
        assert!(m(&lte, json!({"n": 0})));
        assert!(!m(&lte, json!({})));
    }

    #[test]
    fn null_empty_and_missing_differ() {
        let null = det("sel: {f: null}\ncondition: sel");
        let empty = det("sel: {f: ''}\ncondition: sel");
        let missing = json!({});
        let is_null = json!({"f": null});
        let is_empty = json!({"f": ""});
        assert!(m(&null, missing.clone()));
        assert!(m(&null, is_null.clone()));
        assert!(!m(&null, is_empty.clone()));
        assert!(!m(&null, json!({"f": "x"})));
        assert!(!m(&null, json!({"f": {}})));
        assert!(!m(&empty, missing));
        assert!(!m(&empty, is_null));
        assert!(m(&empty, is_empty));
        // `null` in a list of values: OR with the others.
        let either = det("sel: {f: [null, Success]}\ncondition: sel");
        assert!(m(&either, json!({})));
        assert!(m(&either, json!({"f": "success"})));
        assert!(!m(&either, json!({"f": "AccessDenied"})));
        // `not` of a null test: the field is present and not null.
        let present = det("sel: {f: null}\ncondition: not sel");
        assert!(m(&present, json!({"f": "x"})));
        assert!(!m(&present, json!({})));
    }

    #[test]
    fn booleans_and_numbers_against_quoted_values() {
        let t = det("sel: {f: true}\ncondition: sel");
        assert!(m(&t, json!({"f": true})));
        assert!(m(&t, json!({"f": "true"})));
        assert!(m(&t, json!({"f": "True"})));
        assert!(!m(&t, json!({"f": false})));
        assert!(!m(&t, json!({"f": "false"})));
        let quoted = det("sel: {f: 'true'}\ncondition: sel");
        assert!(m(&quoted, json!({"f": true})));
        assert!(m(&quoted, json!({"f": "TRUE"})));
        let five = det("sel: {f: 5}\ncondition: sel");
        assert!(m(&five, json!({"f": 5})));
        assert!(m(&five, json!({"f": "5"})));
        assert!(!m(&five, json!({"f": 6})));
        let quoted_five = det("sel: {f: '5'}\ncondition: sel");
        assert!(m(&quoted_five, json!({"f": 5})));
        assert!(m(&quoted_five, json!({"f": "5"})));
        assert!(!m(&quoted_five, json!({"f": 55})));
    }

    #[test]
    fn keywords_search_every_string_of_the_event() {
        let d = det("keywords: [TruffleHog, 'evil*']\ncondition: keywords");
        assert!(m(&d, json!({"userAgent": "trufflehog/3.0"})));
        assert!(m(&d, json!({"a": {"b": ["x", "run TRUFFLEHOG now"]}})));
        // With its own wildcard, a keyword matches a whole string.
        assert!(m(&d, json!({"a": "Evil corp"})));
        assert!(!m(&d, json!({"a": "not evil"})));
        // Keys are not searched; numbers are not strings.
        assert!(!m(&d, json!({"TruffleHog": 1})));
        let n = det("keywords: [42]\ncondition: keywords");
        assert!(m(&n, json!({"a": "answer 42"})));
        assert!(!m(&n, json!({"a": 42})));
        let single = det("keywords: TruffleHog\ncondition: keywords");
        assert!(m(&single, json!({"ua": "TruffleHog"})));
    }

    #[test]
    fn arrays_on_paths_match_any_element() {
        let d = det("sel: {resources.ARN|endswith: ':trail/main'}\ncondition: sel");
        assert!(m(
            &d,
            json!({"resources": [{"ARN": "arn:x:bucket/a"}, {"ARN": "arn:x:trail/main"}]})
        ));
        assert!(!m(&d, json!({"resources": [{"ARN": "arn:x:bucket/a"}]})));
        let list_value = det("sel: {tags: prod}\ncondition: sel");
        assert!(m(&list_value, json!({"tags": ["dev", "prod"]})));
        assert!(!m(&list_value, json!({"tags": ["dev"]})));
        // `not` over an array field: no element matches.
        let none = det("sel: {tags: prod}\ncondition: not sel");
        assert!(m(&none, json!({"tags": ["dev"]})));
        assert!(!m(&none, json!({"tags": ["dev", "prod"]})));
    }

    #[test]
    fn text_searches_look_inside_objects_but_equality_does_not() {
        let doc = json!({"requestParameters": {"bucketName": "b", "VersioningConfiguration": {"Status": "Suspended"}}});
        let contains = det("sel: {requestParameters|contains: suspended}\ncondition: sel");
        assert!(m(&contains, doc.clone()));
        let equals = det("sel: {requestParameters: Suspended}\ncondition: sel");
        assert!(!m(&equals, doc.clone()));
        let any = det("sel: {requestParameters|contains: '*'}\ncondition: sel");
        assert!(m(&any, doc.clone()));
        assert!(!m(&any, json!({"requestParameters": {}})));
        assert!(!m(&any, json!({"requestParameters": null})));
        // Keys are not text of the object.
        let key = det("sel: {requestParameters|contains: bucketName}\ncondition: sel");
        assert!(!m(&key, doc));
    }

    #[test]
    fn condition_lists_are_or() {
        let d = det("a: {x: 1}\nb: {y: 2}\ncondition: [a, b]");
        assert!(m(&d, json!({"y": 2})));
        assert!(m(&d, json!({"x": 1})));
        assert!(!m(&d, json!({})));
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        assert_eq!(
            refused("sel: {x: 1}\ncondition: sel | count() > 5"),
            Refusal::Aggregation
        );
        assert_eq!(
            refused("sel: {x: 1}\ntimeframe: 5m\ncondition: sel"),
            Refusal::Aggregation
        );
        assert!(matches!(
            refused("sel: {x: 1}\ncondition: sel and other"),
            Refusal::Condition { error: crate::error::ConditionError::UndefinedSelection(ref n), .. } if n == "other"
        ));
        assert!(matches!(
            refused("sel: {x|foo: 1}\ncondition: sel"),
            Refusal::Selection { error: SelectionError::UnknownModifier { .. }, ref selection } if selection == "sel"
        ));
        assert!(matches!(
            refused("sel: {x|re: '(?<=a)b'}\ncondition: sel"),
            Refusal::Selection {
                error: SelectionError::InvalidRegex { .. },
                ..
            }
        ));
        assert_eq!(
            refused("sel: {x: 1}"),
            Refusal::MissingKey("detection.condition")
        );
        assert_eq!(refused("condition: sel"), Refusal::NoSelection);
        assert!(matches!(
            refused("sel: [{a: 1}, b]\ncondition: sel"),
            Refusal::Selection { .. }
        ));
        assert!(matches!(
            refused("sel: {}\ncondition: sel"),
            Refusal::Selection { .. }
        ));
        assert!(matches!(
            refused("sel: null\ncondition: sel"),
            Refusal::Selection { .. }
        ));
        assert!(matches!(
            refused("sel: {a: 1}\ncondition: 5"),
            Refusal::WrongType { .. }
        ));
        assert!(matches!(
            refused("sel: {a: 1}\ncondition: []"),
            Refusal::WrongType { .. }
        ));
    }
}
