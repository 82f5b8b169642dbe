//! How the engine sees an event: the [`Document`] trait.
//!
//! The engine never looks at a concrete event type. It asks a [`Document`] for the value under
//! one key at a time and walks dotted paths, arrays and nested objects itself, so every event
//! type gets exactly the same matching semantics. Values are handed to a visitor instead of
//! being returned, so an implementation may build a value on the fly (parse a raw JSON
//! fragment, format a typed field) without storing it.

use std::fmt;
use std::ops::ControlFlow;

/// The visitor the engine passes to [`Document`] and [`List`]: it is called once per value and
/// returns [`ControlFlow::Break`] as soon as it has seen enough.
pub type Visit<'v> = dyn FnMut(Value<'_>) -> ControlFlow<()> + 'v;

/// One value of an event, as the engine sees it.
#[derive(Clone, Copy)]
pub enum Value<'a> {
    /// JSON `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer too large for `i64`.
    UInt(u64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(&'a str),
    /// An array: the engine matches a field when any element matches.
    List(&'a dyn List),
    /// A nested object: dotted field paths reach into it.
    Object(&'a dyn Document),
}

impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::UInt(u) => write!(f, "UInt({u})"),
            Value::Float(x) => write!(f, "Float({x})"),
            Value::Str(s) => write!(f, "Str({s:?})"),
            Value::List(_) => f.write_str("List(..)"),
            Value::Object(_) => f.write_str("Object(..)"),
        }
    }
}

/// An event (or a nested object of one) that rules can be evaluated against.
///
/// Implemented for [`serde_json::Value`] and [`serde_json::Map`]. An implementation for a typed
/// record must report exactly what the record's JSON form holds: field names as CloudTrail
/// writes them, `null` where the JSON has `null`, and nothing for an absent key.
pub trait Document {
    /// Calls `visit` once with the value under `key` when this object has that key, and not at
    /// all when it does not. `key` is one key: a dot in it has no special meaning here (the
    /// engine resolves dotted paths itself). Returns what `visit` returned, or
    /// `ControlFlow::Continue(())` when it was not called.
    fn field(&self, key: &str, visit: &mut Visit<'_>) -> ControlFlow<()>;

    /// Calls `visit` with every value of this object (not the keys), in any order, stopping
    /// when `visit` breaks. Keyword selections search every string value of the event.
    fn values(&self, visit: &mut Visit<'_>) -> ControlFlow<()>;
}

/// An array inside a [`Document`].
pub trait List {
    /// Calls `visit` with every element in order, stopping when `visit` breaks.
    fn elements(&self, visit: &mut Visit<'_>) -> ControlFlow<()>;
}

/// The engine's view of one JSON value.
pub(crate) fn json_value(v: &serde_json::Value) -> Value<'_> {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::UInt(u)
            } else {
                Value::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(s) => Value::Str(s),
        serde_json::Value::Array(a) => Value::List(a),
        serde_json::Value::Object(map) => Value::Object(map),
    }
}

impl Document for serde_json::Map<String, serde_json::Value> {
    fn field(&self, key: &str, visit: &mut Visit<'_>) -> ControlFlow<()> {
        match self.get(key) {
            Some(v) => visit(json_value(v)),
            None => ControlFlow::Continue(()),
        }
    }

    fn values(&self, visit: &mut Visit<'_>) -> ControlFlow<()> {
        for v in self.values() {
            visit(json_value(v))?;
        }
        ControlFlow::Continue(())
    }
}

/// A JSON value that is not an object has no fields.
impl Document for serde_json::Value {
    fn field(&self, key: &str, visit: &mut Visit<'_>) -> ControlFlow<()> {
        match self {
            serde_json::Value::Object(map) => map.field(key, visit),
            _ => ControlFlow::Continue(()),
        }
    }

    fn values(&self, visit: &mut Visit<'_>) -> ControlFlow<()> {
        match self {
            serde_json::Value::Object(map) => Document::values(map, visit),
            _ => ControlFlow::Continue(()),
        }
    }
}

impl List for Vec<serde_json::Value> {
    fn elements(&self, visit: &mut Visit<'_>) -> ControlFlow<()> {
        for v in self {
            visit(json_value(v))?;
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_numbers_keep_their_kind() {
        let doc = json!({"i": -5, "u": u64::MAX, "f": 1.5});
        let mut seen = Vec::new();
        for key in ["i", "u", "f", "missing"] {
            let _ = doc.field(key, &mut |v| {
                seen.push(format!("{v:?}"));
                ControlFlow::Continue(())
            });
        }
        assert_eq!(
            seen,
            ["Int(-5)", "UInt(18446744073709551615)", "Float(1.5)"]
        );
    }

    #[test]
    fn a_scalar_document_has_no_fields() {
        let doc = json!("text");
        let mut called = false;
        let _ = doc.field("a", &mut |_| {
            called = true;
            ControlFlow::Continue(())
        });
        let _ = doc.values(&mut |_| {
            called = true;
            ControlFlow::Continue(())
        });
        assert!(!called);
    }
}
