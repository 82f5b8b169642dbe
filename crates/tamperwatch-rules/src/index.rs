//! The prefilter index: which rules could match an event, from three cheap keys.
//!
//! Each rule is filed in exactly one place, by its [`Prefilter`]: under each of its lowercase
//! `eventName` values and prefixes, else each `eventSource` value, else each
//! `userIdentity.type` value, else in the list of rules evaluated on every event. An event
//! looks up one entry per map, and the prefixes of its name (no rule has two that an event
//! name can both meet, nor a name and a prefix), so a rule never comes up twice.

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
    /// Rules filed under `eventName` prefixes, one group per prefix length, shortest first.
    by_name_prefix: Vec<PrefixGroup>,
    by_source: Buckets,
    by_identity: Buckets,
    always: Vec<RuleIdx>,
}

/// The prefixes of one length (lowercase ASCII), sorted, with their rules. A lookup is a
/// binary search over a handful of prefixes per length, cheaper than hashing the name again.
#[derive(Debug, Clone)]
struct PrefixGroup {
    len: usize,
    prefixes: Vec<(Box<[u8]>, Vec<RuleIdx>)>,
}

impl PrefixGroup {
    fn get(&self, name: &[u8]) -> Option<&[RuleIdx]> {
        let start = name.get(..self.len)?;
        self.prefixes
            .binary_search_by(|(p, _)| p.as_ref().cmp(start))
            .ok()
            .and_then(|i| self.prefixes.get(i))
            .map(|(_, rules)| rules.as_slice())
    }
}

impl Index {
    pub(crate) fn insert(&mut self, idx: RuleIdx, prefilter: &Prefilter) {
        let (buckets, values) = match prefilter {
            Prefilter::EventName { names, prefixes } => {
                for p in prefixes {
                    self.insert_prefix(idx, p);
                }
                (&mut self.by_name, names)
            }
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

    fn insert_prefix(&mut self, idx: RuleIdx, prefix: &str) {
        let len = prefix.len();
        let at = self.by_name_prefix.partition_point(|g| g.len < len);
        if self.by_name_prefix.get(at).is_none_or(|g| g.len != len) {
            self.by_name_prefix.insert(
                at,
                PrefixGroup {
                    len,
                    prefixes: Vec::new(),
                },
            );
        }
        let Some(group) = self.by_name_prefix.get_mut(at) else {
            return;
        };
        let key = prefix.as_bytes();
        match group
            .prefixes
            .binary_search_by(|(p, _)| p.as_ref().cmp(key))
        {
            Ok(i) => {
                if let Some((_, rules)) = group.prefixes.get_mut(i) {
                    rules.push(idx);
                }
            }
            Err(i) => group.prefixes.insert(i, (key.into(), vec![idx])),
        }
    }

    /// The rules that could match an event with these keys: each at most once.
    pub(crate) fn candidates<'s>(&'s self, keys: &IndexKeys<'_>) -> Candidates<'s> {
        let name = keys.event_name.map(Lower::new);
        let by_name = name.as_ref().map_or(&[][..], |n| bucket(&self.by_name, n));
        let source = lookup(&self.by_source, keys.event_source);
        let identity = lookup(&self.by_identity, keys.identity_type);
        Candidates {
            current: self.always.iter(),
            fixed: [by_name, source, identity].into_iter(),
            prefixes: self.by_name_prefix.iter(),
            name,
        }
    }
}

/// The candidates of one event: the rules of its exact keys, then of each prefix of its name.
#[derive(Debug, Clone)]
pub(crate) struct Candidates<'s> {
    current: std::slice::Iter<'s, RuleIdx>,
    fixed: std::array::IntoIter<&'s [RuleIdx], 3>,
    prefixes: std::slice::Iter<'s, PrefixGroup>,
    name: Option<Lower>,
}

impl Iterator for Candidates<'_> {
    type Item = RuleIdx;

    fn next(&mut self) -> Option<RuleIdx> {
        loop {
            if let Some(&idx) = self.current.next() {
                return Some(idx);
            }
            if let Some(rules) = self.fixed.next() {
                self.current = rules.iter();
                continue;
            }
            let name = self.name.as_ref()?.as_str().as_bytes();
            // Groups come shortest first: none after one longer than the name can match.
            let group = self.prefixes.next().filter(|g| g.len <= name.len())?;
            if let Some(rules) = group.get(name) {
                self.current = rules.iter();
            }
        }
    }
}

/// A key lowercased, on the stack when it is short ASCII (the usual case: every record of a
/// scan looks up its keys).
#[derive(Debug, Clone)]
enum Lower {
    Inline {
        buf: [u8; Lower::INLINE],
        len: usize,
    },
    Heap(String),
}

impl Lower {
    const INLINE: usize = 128;

    fn new(key: &str) -> Lower {
        let mut buf = [0u8; Lower::INLINE];
        if key.is_ascii()
            && let Some(lower) = buf.get_mut(..key.len())
        {
            lower.copy_from_slice(key.as_bytes());
            lower.make_ascii_lowercase();
            return Lower::Inline {
                buf,
                len: key.len(),
            };
        }
        Lower::Heap(key.to_lowercase())
    }

    fn as_str(&self) -> &str {
        match self {
            // ASCII bytes: always UTF-8.
            Lower::Inline { buf, len } => buf
                .get(..*len)
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default(),
            Lower::Heap(s) => s,
        }
    }
}

/// The bucket of `key`.
fn lookup<'m>(buckets: &'m Buckets, key: Option<&str>) -> &'m [RuleIdx] {
    match key {
        Some(key) if !buckets.is_empty() => bucket(buckets, &Lower::new(key)),
        _ => &[],
    }
}

fn bucket<'m>(buckets: &'m Buckets, key: &Lower) -> &'m [RuleIdx] {
    buckets.get(key.as_str()).map_or(&[], Vec::as_slice)
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
            &Prefilter::EventName {
                names: vec!["stoplogging".into(), "deletetrail".into()],
                prefixes: vec![],
            },
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
        let names = |n: &str| Prefilter::EventName {
            names: vec![n.to_owned()],
            prefixes: vec![],
        };
        index.insert(RuleIdx(0), &names(&long));
        index.insert(RuleIdx(1), &names("ärger"));
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

    #[test]
    fn names_find_the_rules_of_each_of_their_prefixes() {
        let mut index = Index::default();
        let prefilter = |names: &[&str], prefixes: &[&str]| Prefilter::EventName {
            names: names.iter().map(|s| (*s).to_owned()).collect(),
            prefixes: prefixes.iter().map(|s| (*s).to_owned()).collect(),
        };
        index.insert(
            RuleIdx(0),
            &prefilter(&["deletefunction"], &["deletefunction20"]),
        );
        index.insert(RuleIdx(1), &prefilter(&[], &["putfunctionconcurrency"]));
        index.insert(RuleIdx(2), &prefilter(&[], &["put"]));
        index.insert(RuleIdx(3), &prefilter(&[], &["delete", "update"]));
        let found = |name: &'static str| {
            let keys = IndexKeys {
                event_name: Some(name),
                ..IndexKeys::default()
            };
            let mut found: Vec<u32> = index.candidates(&keys).map(|i| i.0).collect();
            found.sort_unstable();
            found
        };
        assert_eq!(found("DeleteFunction"), [0, 3]);
        assert_eq!(found("DeleteFunction20150331"), [0, 3]);
        assert_eq!(found("DeleteFunctionUrlConfig"), [3]);
        assert_eq!(found("PutFunctionConcurrency20171031"), [1, 2]);
        assert_eq!(found("PutBucketPolicy"), [2]);
        assert_eq!(found("put"), [2]);
        assert_eq!(found("pu"), Vec::<u32>::new());
        assert_eq!(found("ListFunctions20150331"), Vec::<u32>::new());
        assert_eq!(found("ÜpdateFunction"), Vec::<u32>::new());
        assert_eq!(found("UPDATEÜ"), [3]);
        let long: &'static str = Box::leak(format!("Put{}", "x".repeat(300)).into_boxed_str());
        assert_eq!(found(long), [2]);
    }
}
