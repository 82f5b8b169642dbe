//! The prefilter index: which rules could match an event, from three cheap keys.
//!
//! Each rule is filed in exactly one place, by its [`Prefilter`]: under each of its lowercase
//! `eventName` values, else each `eventSource` value, else each `userIdentity.type` value,
//! else in the list of rules evaluated on every event. An event looks up one entry per map,
//! so a rule never comes up twice.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::path::FieldPath;
use crate::prefilter::Prefilter;

/// The position of a rule in its [`RuleSet`](crate::RuleSet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleIdx(pub u32);

impl RuleIdx {
    /// As an index into [`RuleSet::rules`](crate::RuleSet::rules).
    pub fn index(self) -> usize {
        // u32 always fits a usize on the platforms Rust supports tamperwatch on (32/64-bit).
        self.0 as usize
    }
}

/// The cheap keys of one event: the string values of `eventSource`, `eventName` and
/// `userIdentity.type`, as the event holds them (any case).
///
/// `None` means the event has no string there: the key is absent or JSON `null`. An event
/// whose key holds something else (a number, an array, an object) cannot use the index:
/// evaluate it with [`RuleSet::evaluate_all`](crate::RuleSet::evaluate_all);
/// [`IndexKeys::from_json`] says when that is the case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexKeys<'a> {
    /// `eventSource`.
    pub event_source: Option<&'a str>,
    /// `eventName`.
    pub event_name: Option<&'a str>,
    /// `userIdentity.type`.
    pub identity_type: Option<&'a str>,
}

static EVENT_NAME: LazyLock<FieldPath> = LazyLock::new(|| FieldPath::new("eventName"));
static EVENT_SOURCE: LazyLock<FieldPath> = LazyLock::new(|| FieldPath::new("eventSource"));
static IDENTITY_TYPE: LazyLock<FieldPath> = LazyLock::new(|| FieldPath::new("userIdentity.type"));

impl<'a> IndexKeys<'a> {
    /// The keys of a JSON record, found the way rules find fields; `None` when one of them
    /// holds something other than a single string or `null` (the index cannot be used).
    pub fn from_json(record: &'a serde_json::Value) -> Option<IndexKeys<'a>> {
        Some(IndexKeys {
            event_source: json_key(record, &EVENT_SOURCE)?,
            event_name: json_key(record, &EVENT_NAME)?,
            identity_type: json_key(record, &IDENTITY_TYPE)?,
        })
    }
}

/// `Some(None)`: absent or null; `Some(Some(s))`: one string; `None`: anything else.
fn json_key<'a>(record: &'a serde_json::Value, path: &FieldPath) -> Option<Option<&'a str>> {
    let mut count = 0usize;
    let mut first = None;
    path.resolve_json(record, &mut |v| {
        count += 1;
        first.get_or_insert(v);
    });
    match (count, first) {
        (0, _) | (1, Some(serde_json::Value::Null)) => Some(None),
        (1, Some(serde_json::Value::String(s))) => Some(Some(s)),
        _ => None,
    }
}

/// Rule positions by lowercase key value.
///
/// Every record of a scan looks up its three keys here, so the hash is foldhash rather than
/// SipHash (several times faster on short strings). Flooding is no concern: the map is built
/// from the rules once and only looked up, never filled, with attacker-controlled keys.
type Buckets = HashMap<String, Vec<RuleIdx>, foldhash::fast::RandomState>;

#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    by_name: Buckets,
    by_source: Buckets,
    by_identity: Buckets,
    always: Vec<RuleIdx>,
}

impl Index {
    pub(crate) fn insert(&mut self, idx: RuleIdx, prefilter: &Prefilter) {
        let (buckets, values) = match prefilter {
            Prefilter::EventName(v) => (&mut self.by_name, v),
            Prefilter::EventSource(v) => (&mut self.by_source, v),
            Prefilter::IdentityType(v) => (&mut self.by_identity, v),
            Prefilter::Always => {
                self.always.push(idx);
                return;
            }
        };
        for v in values {
            buckets.entry(v.clone()).or_default().push(idx);
        }
    }

    /// The rules that could match an event with these keys: each at most once.
    pub(crate) fn candidates<'s>(
        &'s self,
        keys: &IndexKeys<'_>,
    ) -> impl Iterator<Item = RuleIdx> + 's {
        let name = lookup(&self.by_name, keys.event_name);
        let source = lookup(&self.by_source, keys.event_source);
        let identity = lookup(&self.by_identity, keys.identity_type);
        self.always
            .iter()
            .chain(name)
            .chain(source)
            .chain(identity)
            .copied()
    }
}

/// The bucket of `key`, lowercased without allocating when it is short ASCII (the usual case).
fn lookup<'m>(buckets: &'m Buckets, key: Option<&str>) -> &'m [RuleIdx] {
    const STACK: usize = 128;
    let Some(key) = key else {
        return &[];
    };
    if buckets.is_empty() {
        return &[];
    }
    let found = if key.is_ascii() && key.len() <= STACK {
        let mut buf = [0u8; STACK];
        match buf.get_mut(..key.len()) {
            Some(lower) => {
                lower.copy_from_slice(key.as_bytes());
                lower.make_ascii_lowercase();
                std::str::from_utf8(lower).ok().and_then(|k| buckets.get(k))
            }
            None => None,
        }
    } else {
        buckets.get(key.to_lowercase().as_str())
    };
    found.map_or(&[], Vec::as_slice)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_come_from_the_record_like_fields_do() {
        let r = json!({"eventSource": "s3.amazonaws.com", "eventName": "PutObject", "userIdentity": {"type": "IAMUser"}});
        assert_eq!(
            IndexKeys::from_json(&r),
            Some(IndexKeys {
                event_source: Some("s3.amazonaws.com"),
                event_name: Some("PutObject"),
                identity_type: Some("IAMUser"),
            })
        );
        assert_eq!(
            IndexKeys::from_json(&json!({"eventName": null})),
            Some(IndexKeys::default())
        );
        assert_eq!(
            IndexKeys::from_json(&json!({"userIdentity.type": "Root"}))
                .and_then(|k| k.identity_type),
            Some("Root")
        );
        for odd in [
            json!({"eventName": 5}),
            json!({"eventName": ["A"]}),
            json!({"eventName": {"a": 1}}),
            json!({"userIdentity": [{"type": "Root"}, {"type": "IAMUser"}]}),
            json!({"eventSource": true}),
        ] {
            assert_eq!(IndexKeys::from_json(&odd), None, "{odd}");
        }
        assert_eq!(
            IndexKeys::from_json(&json!("x")),
            Some(IndexKeys::default())
        );
        // One string reached through an array is still one string.
        assert_eq!(
            IndexKeys::from_json(&json!({"userIdentity": [{"type": "Root"}]}))
                .and_then(|k| k.identity_type),
            Some("Root")
        );
    }

    #[test]
    fn each_rule_comes_up_once_in_the_bucket_of_its_key() {
        let mut index = Index::default();
        index.insert(
            RuleIdx(0),
            &Prefilter::EventName(vec!["stoplogging".into(), "deletetrail".into()]),
        );
        index.insert(
            RuleIdx(1),
            &Prefilter::EventSource(vec!["cloudtrail.amazonaws.com".into()]),
        );
        index.insert(RuleIdx(2), &Prefilter::IdentityType(vec!["root".into()]));
        index.insert(RuleIdx(3), &Prefilter::Always);
        let keys = IndexKeys {
            event_source: Some("CloudTrail.amazonaws.com"),
            event_name: Some("StopLogging"),
            identity_type: Some("Root"),
        };
        assert_eq!(
            index.candidates(&keys).collect::<Vec<_>>(),
            [RuleIdx(3), RuleIdx(0), RuleIdx(1), RuleIdx(2)]
        );
        let other = IndexKeys {
            event_name: Some("DeleteTrail"),
            ..IndexKeys::default()
        };
        assert_eq!(
            index.candidates(&other).collect::<Vec<_>>(),
            [RuleIdx(3), RuleIdx(0)]
        );
        assert_eq!(
            index.candidates(&IndexKeys::default()).collect::<Vec<_>>(),
            [RuleIdx(3)]
        );
    }

    #[test]
    fn long_and_non_ascii_keys_are_lowercased_too() {
        let mut index = Index::default();
        let long = "x".repeat(300);
        index.insert(RuleIdx(0), &Prefilter::EventName(vec![long.clone()]));
        index.insert(RuleIdx(1), &Prefilter::EventName(vec!["ärger".into()]));
        let keys = |n: &'static str| IndexKeys {
            event_name: Some(n),
            ..IndexKeys::default()
        };
        let long_upper: &'static str = Box::leak(long.to_uppercase().into_boxed_str());
        assert_eq!(
            index.candidates(&keys(long_upper)).collect::<Vec<_>>(),
            [RuleIdx(0)]
        );
        assert_eq!(
            index.candidates(&keys("ÄRGER")).collect::<Vec<_>>(),
            [RuleIdx(1)]
        );
    }
}
