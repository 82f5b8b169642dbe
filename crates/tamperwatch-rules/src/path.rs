//! Dotted field paths (`userIdentity.sessionContext.sessionIssuer.userName`) resolved over a
//! [`Document`].

use std::ops::ControlFlow;

use crate::document::{Document, Value, Visit};

/// How deep the engine follows arrays nested in arrays and objects nested in objects before it
/// stops looking: a bound on recursion, far beyond any real CloudTrail record.
pub(crate) const MAX_DEPTH: usize = 64;

/// A field name split at its dots, compiled once per rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldPath {
    name: Box<str>,
    /// Byte offsets `(start, end)` of each dot-separated segment in `name`.
    segments: Box<[(usize, usize)]>,
}

impl FieldPath {
    pub(crate) fn new(name: &str) -> FieldPath {
        let mut segments = Vec::new();
        let mut start = 0;
        for (i, c) in name.char_indices() {
            if c == '.' {
                segments.push((start, i));
                start = i + 1;
            }
        }
        segments.push((start, name.len()));
        FieldPath {
            name: name.into(),
            segments: segments.into_boxed_slice(),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Calls `visit` with every value the path reaches, unflattened: a value that is itself an
    /// array or an object is passed as one [`Value::List`] or [`Value::Object`]. Arrays met on
    /// the way are crossed element by element. Where the rest of the path exists as one literal
    /// key (`"a.b"` stored under a single key), that key is used and the path is not split.
    pub(crate) fn resolve(&self, doc: &dyn Document, visit: &mut Visit<'_>) -> ControlFlow<()> {
        self.resolve_from(doc, 0, 0, visit)
    }

    fn resolve_from(
        &self,
        obj: &dyn Document,
        seg: usize,
        depth: usize,
        visit: &mut Visit<'_>,
    ) -> ControlFlow<()> {
        let Some(&(start, end)) = self.segments.get(seg) else {
            return ControlFlow::Continue(());
        };
        let last = seg + 1 == self.segments.len();
        if !last {
            let rest = self.name.get(start..).unwrap_or_default();
            let mut found = false;
            obj.field(rest, &mut |v| {
                found = true;
                visit(v)
            })?;
            if found {
                return ControlFlow::Continue(());
            }
        }
        let key = self.name.get(start..end).unwrap_or_default();
        obj.field(key, &mut |v| {
            if last {
                visit(v)
            } else {
                self.descend(v, seg + 1, depth + 1, visit)
            }
        })
    }

    fn descend(
        &self,
        v: Value<'_>,
        seg: usize,
        depth: usize,
        visit: &mut Visit<'_>,
    ) -> ControlFlow<()> {
        if depth > MAX_DEPTH {
            return ControlFlow::Continue(());
        }
        match v {
            Value::Object(o) => self.resolve_from(o, seg, depth, visit),
            Value::List(l) => l.elements(&mut |e| self.descend(e, seg, depth + 1, visit)),
            // A scalar where the path goes on: nothing is there.
            _ => ControlFlow::Continue(()),
        }
    }
}

impl FieldPath {
    /// The walk of [`FieldPath::resolve`], over a JSON value, handing out borrowed JSON
    /// values. Kept step for step the same as the generic walk; a test compares the two.
    pub(crate) fn resolve_json<'a>(
        &self,
        v: &'a serde_json::Value,
        visit: &mut dyn FnMut(&'a serde_json::Value),
    ) {
        if let serde_json::Value::Object(map) = v {
            self.json_from(map, 0, 0, visit);
        }
    }

    fn json_from<'a>(
        &self,
        map: &'a serde_json::Map<String, serde_json::Value>,
        seg: usize,
        depth: usize,
        visit: &mut dyn FnMut(&'a serde_json::Value),
    ) {
        let Some(&(start, end)) = self.segments.get(seg) else {
            return;
        };
        let last = seg + 1 == self.segments.len();
        if !last && let Some(v) = map.get(self.name.get(start..).unwrap_or_default()) {
            visit(v);
            return;
        }
        if let Some(v) = map.get(self.name.get(start..end).unwrap_or_default()) {
            if last {
                visit(v);
            } else {
                self.json_descend(v, seg + 1, depth + 1, visit);
            }
        }
    }

    fn json_descend<'a>(
        &self,
        v: &'a serde_json::Value,
        seg: usize,
        depth: usize,
        visit: &mut dyn FnMut(&'a serde_json::Value),
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        match v {
            serde_json::Value::Object(map) => self.json_from(map, seg, depth, visit),
            serde_json::Value::Array(items) => {
                for e in items {
                    self.json_descend(e, seg, depth + 1, visit);
                }
            }
            _ => {}
        }
    }
}

/// Calls `visit` with `v`, or with every element of `v` (recursively) when it is an array.
pub(crate) fn flatten(v: Value<'_>, depth: usize, visit: &mut Visit<'_>) -> ControlFlow<()> {
    match v {
        Value::List(l) if depth <= MAX_DEPTH => l.elements(&mut |e| flatten(e, depth + 1, visit)),
        Value::List(_) => ControlFlow::Continue(()),
        other => visit(other),
    }
}

/// Calls `visit` with every scalar (string, number, boolean, null) inside `v`, at any depth of
/// arrays and objects.
pub(crate) fn leaves(v: Value<'_>, depth: usize, visit: &mut Visit<'_>) -> ControlFlow<()> {
    if depth > MAX_DEPTH {
        return ControlFlow::Continue(());
    }
    match v {
        Value::List(l) => l.elements(&mut |e| leaves(e, depth + 1, visit)),
        Value::Object(o) => o.values(&mut |e| leaves(e, depth + 1, visit)),
        other => visit(other),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn collect(path: &str, doc: &serde_json::Value) -> Vec<String> {
        let mut out = Vec::new();
        let _ = FieldPath::new(path).resolve(doc, &mut |v| {
            out.push(format!("{v:?}"));
            ControlFlow::Continue(())
        });
        out
    }

    #[test]
    fn dotted_paths_reach_into_nested_objects() {
        let doc =
            json!({"userIdentity": {"sessionContext": {"sessionIssuer": {"userName": "ops"}}}});
        assert_eq!(
            collect("userIdentity.sessionContext.sessionIssuer.userName", &doc),
            [r#"Str("ops")"#]
        );
        assert!(collect("userIdentity.missing.userName", &doc).is_empty());
        assert!(collect("userIdentity.sessionContext.sessionIssuer.userName.x", &doc).is_empty());
    }

    #[test]
    fn arrays_on_the_path_are_crossed_element_by_element() {
        let doc = json!({"resources": [{"ARN": "a"}, {"type": "t"}, {"ARN": "b"}, "scalar"]});
        assert_eq!(
            collect("resources.ARN", &doc),
            [r#"Str("a")"#, r#"Str("b")"#]
        );
        let nested = json!({"a": [[{"b": 1}], [{"b": 2}]]});
        assert_eq!(collect("a.b", &nested), ["Int(1)", "Int(2)"]);
    }

    #[test]
    fn a_terminal_array_is_passed_whole() {
        let doc = json!({"a": {"b": [1, 2]}});
        assert_eq!(collect("a.b", &doc), ["List(..)"]);
    }

    #[test]
    fn a_literal_dotted_key_wins_over_the_path() {
        let doc = json!({"a.b": "literal", "a": {"b": "nested"}});
        assert_eq!(collect("a.b", &doc), [r#"Str("literal")"#]);
        let doc = json!({"a": {"b.c": "inner literal"}});
        assert_eq!(collect("a.b.c", &doc), [r#"Str("inner literal")"#]);
        let doc = json!({"a": {"b": "nested"}});
        assert_eq!(collect("a.b", &doc), [r#"Str("nested")"#]);
    }

    #[test]
    fn the_json_walk_agrees_with_the_generic_walk() {
        let docs = [
            json!({"a.b": 1, "a": {"b": 2}}),
            json!({"a": [{"b": 1}, [{"b": [2, 3]}], "x", {"b.c": 4, "b": {"c": 5}}]}),
            json!({"a": {"b": {"c": null}}, "b": 1}),
            json!({"a": null}),
            json!([{"a": 1}]),
            json!({"": {"": 1}, ".": 2}),
        ];
        for doc in &docs {
            for path in ["a", "a.b", "a.b.c", "b", "a.x", ".", "", "a..b"] {
                let p = FieldPath::new(path);
                let mut json = Vec::new();
                p.resolve_json(doc, &mut |v| {
                    json.push(format!("{:?}", crate::document::json_value(v)))
                });
                assert_eq!(json, collect(path, doc), "{path} in {doc}");
            }
        }
    }

    #[test]
    fn deep_nesting_is_cut_off_without_overflowing() {
        let mut v = json!("x");
        for _ in 0..100 {
            v = json!([v]);
        }
        let doc = json!({ "a": v });
        let mut n = 0;
        let _ = FieldPath::new("a").resolve(&doc, &mut |v| {
            flatten(v, 0, &mut |_| {
                n += 1;
                ControlFlow::Continue(())
            })
        });
        assert_eq!(n, 0);
    }
}
