//! Matching one rule value against one event value.
//!
//! Sigma compares values loosely across types: `5` in a rule matches the event number `5` and
//! the string `"5"`; `'5'` (quoted) matches both as well; `true` matches the event boolean and
//! the strings `"true"`/`"True"`. Objects are never equal to a scalar; arrays are matched
//! element by element by the caller.

use std::cmp::Ordering;
use std::net::IpAddr;

use ipnet::IpNet;
use regex::Regex;

use crate::document::Value;
use crate::pattern::Pattern;

/// A number from a rule or an event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    pub(crate) fn from_json(n: &serde_json::Number) -> Option<Num> {
        if let Some(i) = n.as_i64() {
            Some(Num::Int(i128::from(i)))
        } else if let Some(u) = n.as_u64() {
            Some(Num::Int(i128::from(u)))
        } else {
            n.as_f64().map(Num::Float)
        }
    }

    fn from_event(v: Value<'_>) -> Option<Num> {
        match v {
            Value::Int(i) => Some(Num::Int(i128::from(i))),
            Value::UInt(u) => Some(Num::Int(i128::from(u))),
            Value::Float(f) => Some(Num::Float(f)),
            Value::Str(s) => parse_number(s),
            _ => None,
        }
    }

    pub(crate) fn compare(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }

    #[allow(clippy::cast_precision_loss)] // comparing an integer with a float is lossy by nature
    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    /// The decimal text: integers as integers, floats as Rust prints them (`5` for `5.0`).
    pub(crate) fn text(self) -> String {
        match self {
            Num::Int(i) => i.to_string(),
            Num::Float(f) => f.to_string(),
        }
    }
}

/// Parses a decimal number written the JSON way (`-12`, `3.5`, `1e3`): no spaces, no `+`, no
/// hexadecimal, no `inf`/`nan`.
pub(crate) fn parse_number(s: &str) -> Option<Num> {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return None;
    }
    let mut integral = true;
    if b.get(i) == Some(&b'.') {
        i += 1;
        integral = false;
        if !digits(&mut i) {
            return None;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        integral = false;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    if integral && let Ok(n) = s.parse::<i128>() {
        return Some(Num::Int(n));
    }
    s.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Num::Float)
}

/// The text a scalar event value is compared as by string patterns and regular expressions.
pub(crate) fn with_text<R>(v: Value<'_>, f: impl FnOnce(&str) -> R) -> Option<R> {
    match v {
        Value::Str(s) => Some(f(s)),
        Value::Bool(true) => Some(f("true")),
        Value::Bool(false) => Some(f("false")),
        Value::Int(i) => Some(f(&i.to_string())),
        Value::UInt(u) => Some(f(&u.to_string())),
        Value::Float(x) => Some(f(&x.to_string())),
        Value::Null | Value::List(_) | Value::Object(_) => None,
    }
}

/// `gt`, `gte`, `lt`, `lte`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// One compiled rule value.
#[derive(Debug, Clone)]
pub(crate) enum ValueMatcher {
    /// `null`: the field is missing or JSON null (the caller handles "missing").
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An unquoted YAML number.
    Number { num: Num, text: String },
    /// A string: one or more patterns (several when `windash` or `base64offset` expanded it);
    /// `number` is set when the string is a plain number, so `'5'` matches the event number 5.
    Text {
        patterns: Vec<Pattern>,
        number: Option<Num>,
    },
    /// `|re`.
    Regex(Regex),
    /// `|cidr`.
    Cidr(IpNet),
    /// `|gt`, `|gte`, `|lt`, `|lte`.
    Compare(CompareOp, Num),
}

impl ValueMatcher {
    /// Whether this matcher also looks at the strings inside an object the field resolves to:
    /// true for substring-like text matches (wildcards, `contains`, `startswith`, `endswith`,
    /// `re`), which search the object's text; equality never matches an object.
    pub(crate) fn searches_objects(&self) -> bool {
        match self {
            ValueMatcher::Text { patterns, .. } => {
                patterns.iter().any(|p| !matches!(p, Pattern::Exact(_)))
            }
            ValueMatcher::Regex(_) => true,
            _ => false,
        }
    }

    /// Whether the scalar `v` (never a list) matches. `in_object` is set for the scalars found
    /// inside an object the field resolved to; only object-searching matchers apply to them.
    pub(crate) fn matches(&self, v: Value<'_>, in_object: bool) -> bool {
        if in_object && !self.searches_objects() {
            return false;
        }
        match self {
            ValueMatcher::Null => matches!(v, Value::Null),
            ValueMatcher::Bool(b) => match v {
                Value::Bool(x) => x == *b,
                Value::Str(s) => s.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
                _ => false,
            },
            ValueMatcher::Number { num, text } => match v {
                Value::Int(_) | Value::UInt(_) | Value::Float(_) => {
                    Num::from_event(v).and_then(|n| n.compare(*num)) == Some(Ordering::Equal)
                }
                Value::Str(s) => {
                    s == text
                        || parse_number(s).and_then(|n| n.compare(*num)) == Some(Ordering::Equal)
                }
                _ => false,
            },
            ValueMatcher::Text { patterns, number } => {
                if in_object {
                    return with_text(v, |s| {
                        patterns
                            .iter()
                            .any(|p| !matches!(p, Pattern::Exact(_)) && p.matches(s))
                    })
                    .unwrap_or(false);
                }
                if let (Some(n), Value::Int(_) | Value::UInt(_) | Value::Float(_)) = (number, v)
                    && Num::from_event(v).and_then(|e| e.compare(*n)) == Some(Ordering::Equal)
                {
                    return true;
                }
                with_text(v, |s| patterns.iter().any(|p| p.matches(s))).unwrap_or(false)
            }
            ValueMatcher::Regex(re) => with_text(v, |s| re.is_match(s)).unwrap_or(false),
            ValueMatcher::Cidr(net) => match v {
                Value::Str(s) => s.parse::<IpAddr>().is_ok_and(|ip| net.contains(&ip)),
                _ => false,
            },
            ValueMatcher::Compare(op, limit) => {
                let Some(ord) = Num::from_event(v).and_then(|n| n.compare(*limit)) else {
                    return false;
                };
                match op {
                    CompareOp::Gt => ord == Ordering::Greater,
                    CompareOp::Gte => ord != Ordering::Less,
                    CompareOp::Lt => ord == Ordering::Less,
                    CompareOp::Lte => ord != Ordering::Greater,
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::pattern::{Case, Glob};

    fn text(s: &str) -> ValueMatcher {
        ValueMatcher::Text {
            patterns: vec![Pattern::compile(&Glob::parse(s), Case::Insensitive).expect("ok")],
            number: parse_number(s),
        }
    }

    fn number(n: Num) -> ValueMatcher {
        ValueMatcher::Number {
            num: n,
            text: n.text(),
        }
    }

    #[test]
    fn numbers_parse_the_json_way_only() {
        assert_eq!(parse_number("5"), Some(Num::Int(5)));
        assert_eq!(parse_number("-5"), Some(Num::Int(-5)));
        assert_eq!(parse_number("2.5"), Some(Num::Float(2.5)));
        assert_eq!(parse_number("1e3"), Some(Num::Float(1000.0)));
        assert_eq!(parse_number("05"), Some(Num::Int(5)));
        for bad in [
            "", "-", "+5", " 5", "5 ", "5.", ".5", "0x10", "inf", "NaN", "1e", "1e+",
        ] {
            assert_eq!(parse_number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_rule_number_matches_event_numbers_and_numeric_strings() {
        let m = number(Num::Int(5));
        assert!(m.matches(Value::Int(5), false));
        assert!(m.matches(Value::UInt(5), false));
        assert!(m.matches(Value::Float(5.0), false));
        assert!(m.matches(Value::Str("5"), false));
        assert!(m.matches(Value::Str("5.0"), false));
        assert!(!m.matches(Value::Str("5x"), false));
        assert!(!m.matches(Value::Int(6), false));
        assert!(!m.matches(Value::Bool(true), false));
        let f = number(Num::Float(1.5));
        assert!(f.matches(Value::Float(1.5), false));
        assert!(f.matches(Value::Str("1.5"), false));
        assert!(!f.matches(Value::Int(1), false));
    }

    #[test]
    fn a_quoted_number_matches_the_event_number() {
        assert!(text("5").matches(Value::Int(5), false));
        assert!(text("5").matches(Value::Float(5.0), false));
        assert!(text("5.0").matches(Value::Int(5), false));
        assert!(text("5").matches(Value::Str("5"), false));
        assert!(!text("5").matches(Value::Int(50), false));
        // A wildcard pattern is compared with the number's text.
        assert!(text("5*").matches(Value::Int(50), false));
    }

    #[test]
    fn booleans_match_booleans_and_their_text() {
        let t = ValueMatcher::Bool(true);
        assert!(t.matches(Value::Bool(true), false));
        assert!(t.matches(Value::Str("true"), false));
        assert!(t.matches(Value::Str("True"), false));
        assert!(!t.matches(Value::Str("yes"), false));
        assert!(!t.matches(Value::Bool(false), false));
        assert!(!t.matches(Value::Int(1), false));
        assert!(ValueMatcher::Bool(false).matches(Value::Str("FALSE"), false));
        // A quoted 'true' is a string: it matches the event boolean through its text.
        assert!(text("true").matches(Value::Bool(true), false));
        assert!(!text("true").matches(Value::Bool(false), false));
    }

    #[test]
    fn null_matches_only_null() {
        assert!(ValueMatcher::Null.matches(Value::Null, false));
        assert!(!ValueMatcher::Null.matches(Value::Str(""), false));
        assert!(!ValueMatcher::Null.matches(Value::Null, true));
        assert!(!text("").matches(Value::Null, false));
        assert!(text("").matches(Value::Str(""), false));
    }

    #[test]
    fn comparisons_accept_numbers_and_numeric_strings() {
        let gt = ValueMatcher::Compare(CompareOp::Gt, Num::Int(10));
        let gte = ValueMatcher::Compare(CompareOp::Gte, Num::Int(10));
        let lt = ValueMatcher::Compare(CompareOp::Lt, Num::Float(10.5));
        let lte = ValueMatcher::Compare(CompareOp::Lte, Num::Int(10));
        assert!(gt.matches(Value::Int(11), false));
        assert!(!gt.matches(Value::Int(10), false));
        assert!(gte.matches(Value::Int(10), false));
        assert!(gte.matches(Value::Str("10.0"), false));
        assert!(!gte.matches(Value::Str("9"), false));
        assert!(lt.matches(Value::Int(10), false));
        assert!(!lt.matches(Value::Float(10.5), false));
        assert!(lte.matches(Value::UInt(10), false));
        assert!(!lte.matches(Value::Str("ten"), false));
        assert!(!lte.matches(Value::Bool(true), false));
        assert!(!gt.matches(Value::Float(f64::NAN), false));
    }

    #[test]
    fn cidr_matches_addresses_of_both_families() {
        let v4 = ValueMatcher::Cidr("10.0.0.0/8".parse().expect("net"));
        assert!(v4.matches(Value::Str("10.1.2.3"), false));
        assert!(!v4.matches(Value::Str("11.1.2.3"), false));
        assert!(!v4.matches(Value::Str("AWS Internal"), false));
        assert!(!v4.matches(Value::Str("::ffff:10.1.2.3"), false));
        let v6 = ValueMatcher::Cidr("2001:db8::/32".parse().expect("net"));
        assert!(v6.matches(Value::Str("2001:db8::1"), false));
        assert!(!v6.matches(Value::Str("2001:db9::1"), false));
        assert!(!v6.matches(Value::Str("10.1.2.3"), false));
    }

    #[test]
    fn only_text_searches_look_inside_objects() {
        assert!(text("*Suspended*").matches(Value::Str("Suspended"), true));
        assert!(!text("Suspended").matches(Value::Str("Suspended"), true));
        assert!(!number(Num::Int(5)).matches(Value::Int(5), true));
    }
}
