//! A pure-Rust EventBridge pattern matcher for the filters tamperwatch's patterns use, so
//! tests check patterns against events without AWS.

use serde_json::Value;

/// Whether `event` matches the EventBridge `pattern`.
///
/// Supported: nested fields, arrays of alternatives (a field that is an array in the event
/// matches when any element does), exact values (strings, numbers, booleans, `null`),
/// `prefix`, `suffix`, `equals-ignore-case`, `exists`, `anything-but` (a value or a list) and
/// `$or`. Any other filter never matches, so a test fails rather than passes by accident.
pub fn matches(pattern: &Value, event: &Value) -> bool {
    let Some(fields) = pattern.as_object() else {
        return false;
    };
    fields.iter().all(|(key, expected)| {
        if key == "$or" {
            return expected
                .as_array()
                .is_some_and(|alternatives| alternatives.iter().any(|alt| matches(alt, event)));
        }
        let actual = event.get(key);
        match expected {
            Value::Object(_) => actual.is_some_and(|a| a.is_object() && matches(expected, a)),
            Value::Array(tests) => tests.iter().any(|test| test_field(test, actual)),
            _ => false,
        }
    })
}

/// One element of a pattern's array against the event's field (absent: `None`).
fn test_field(test: &Value, actual: Option<&Value>) -> bool {
    let values: Vec<&Value> = match actual {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(value) => vec![value],
        None => Vec::new(),
    };
    let Value::Object(filter) = test else {
        return values.contains(&test);
    };
    let mut entries = filter.iter();
    let (Some((op, arg)), None) = (entries.next(), entries.next()) else {
        return false;
    };
    let strings = || values.iter().filter_map(|v| v.as_str());
    match (op.as_str(), arg) {
        ("prefix", Value::String(p)) => strings().any(|s| s.starts_with(p.as_str())),
        ("suffix", Value::String(p)) => strings().any(|s| s.ends_with(p.as_str())),
        ("equals-ignore-case", Value::String(p)) => {
            let p = p.to_lowercase();
            strings().any(|s| s.to_lowercase() == p)
        }
        ("exists", Value::Bool(wanted)) => actual.is_some() == *wanted,
        ("anything-but", Value::Array(not)) => {
            !values.is_empty() && values.iter().all(|v| !not.contains(v))
        }
        ("anything-but", not @ (Value::String(_) | Value::Number(_))) => {
            !values.is_empty() && values.iter().all(|v| *v != not)
        }
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::matches;

    #[test]
    fn exact_nested_prefix_and_or() {
        let event = json!({
            "source": "aws.cloudtrail",
            "detail": {"eventName": "StopLogging", "userIdentity": {"type": "Root"}, "tags": ["a", "b"]}
        });
        assert!(matches(&json!({"source": ["aws.cloudtrail"]}), &event));
        assert!(!matches(&json!({"source": ["aws.guardduty"]}), &event));
        assert!(matches(&json!({"source": [{"prefix": "aws."}]}), &event));
        assert!(!matches(
            &json!({"source": [{"prefix": "custom."}]}),
            &event
        ));
        assert!(matches(
            &json!({"detail": {"userIdentity": {"type": ["Root"]}}}),
            &event
        ));
        assert!(!matches(&json!({"detail": {"missing": ["x"]}}), &event));
        assert!(matches(&json!({"detail": {"tags": ["b"]}}), &event));
        assert!(matches(
            &json!({"detail": {"eventName": [{"equals-ignore-case": "stoplogging"}]}}),
            &event
        ));
        assert!(matches(
            &json!({"$or": [{"source": ["x"]}, {"detail": {"eventName": ["StopLogging"]}}]}),
            &event
        ));
        assert!(!matches(&json!({"$or": [{"source": ["x"]}]}), &event));
        assert!(matches(
            &json!({"detail": {"nope": [{"exists": false}]}}),
            &event
        ));
        assert!(!matches(
            &json!({"source": [{"wildcard": "aws.*"}]}),
            &event
        ));
        assert!(matches(
            &json!({"source": [{"anything-but": ["x"]}]}),
            &event
        ));
    }
}
