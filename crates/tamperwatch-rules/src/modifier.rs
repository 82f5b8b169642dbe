//! Field modifiers (`field|contains|all`): parsing, checking, and compiling a field's values.
//!
//! Modifiers apply left to right, as in pySigma: `|base64offset|contains` encodes then searches,
//! while `|contains|base64` would encode a wildcard and is refused. Every modifier that is not
//! understood, or whose combination has no clear meaning, refuses the rule with a reason:
//! a rule is never evaluated with a modifier silently ignored.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ipnet::IpNet;
use regex::RegexBuilder;

use crate::error::SelectionError;
use crate::path::FieldPath;
use crate::pattern::{Case, Glob, Pattern, Token};
use crate::value::{CompareOp, Num, ValueMatcher, parse_number};

/// The most `-`/`/` characters one value may expand with `windash` (5 variants each).
const MAX_WINDASH: usize = 5;

/// What a field's values are tested with.
#[derive(Debug, Clone)]
pub(crate) enum FieldTest {
    /// Any value matches (a YAML list is OR).
    AnyOf(Vec<ValueMatcher>),
    /// Every value matches (`|all`), each possibly at a different array element.
    AllOf(Vec<ValueMatcher>),
    /// `|exists: true/false`.
    Exists(bool),
    /// `|fieldref`: compared with another field of the same event.
    FieldRef {
        refs: Vec<FieldPath>,
        link: Link,
        mode: RefMode,
        case: Case,
    },
}

/// How the values of a list combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    Any,
    All,
}

/// How a field is compared with a referenced field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefMode {
    Equals,
    StartsWith,
    EndsWith,
    Contains,
}

/// A field of a selection, compiled.
#[derive(Debug, Clone)]
pub(crate) struct CompiledField {
    pub(crate) path: FieldPath,
    pub(crate) test: FieldTest,
    /// What the field's text must be for the test to hold, when the test is one of a list of
    /// OR-linked plain strings and prefixes (no other wildcard, no other modifier but `cased`).
    /// The prefilter index is built on these.
    pub(crate) required: Option<Vec<Required>>,
}

/// What one value of a field test requires of the field's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Required {
    /// Equal to this string, ignoring case (spelled as in the rule).
    Exact(String),
    /// Starting with this ASCII text, ignoring case (lowercase): `startswith`, or a single
    /// trailing `*`. Prefixes with other characters are not recorded, as lowercasing them
    /// need not preserve "starts with".
    Prefix(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Cased,
    Re,
    ReIgnoreCase,
    ReMultiLine,
    ReDotAll,
    Cidr,
    Exists,
    Compare(CompareOp),
    FieldRef,
    Base64,
    Base64Offset,
    Encode(Encoding),
    Windash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf16Le,
    Utf16Be,
    /// Byte-order mark, then UTF-16LE.
    Utf16,
}

fn lookup(field: &str, name: &str) -> Result<Modifier, SelectionError> {
    let unsupported = |why: &'static str| SelectionError::UnsupportedModifier {
        field: field.to_owned(),
        modifier: name.to_owned(),
        why,
    };
    Ok(match name {
        "contains" => Modifier::Contains,
        "startswith" => Modifier::StartsWith,
        "endswith" => Modifier::EndsWith,
        "all" => Modifier::All,
        "cased" => Modifier::Cased,
        "re" => Modifier::Re,
        "i" | "ignorecase" => Modifier::ReIgnoreCase,
        "m" | "multiline" => Modifier::ReMultiLine,
        "s" | "dotall" => Modifier::ReDotAll,
        "cidr" => Modifier::Cidr,
        "exists" => Modifier::Exists,
        "gt" => Modifier::Compare(CompareOp::Gt),
        "gte" => Modifier::Compare(CompareOp::Gte),
        "lt" => Modifier::Compare(CompareOp::Lt),
        "lte" => Modifier::Compare(CompareOp::Lte),
        "fieldref" => Modifier::FieldRef,
        "base64" => Modifier::Base64,
        "base64offset" => Modifier::Base64Offset,
        "utf16le" | "wide" => Modifier::Encode(Encoding::Utf16Le),
        "utf16be" => Modifier::Encode(Encoding::Utf16Be),
        "utf16" => Modifier::Encode(Encoding::Utf16),
        "windash" => Modifier::Windash,
        "expand" => {
            return Err(unsupported(
                "placeholders need a placeholder configuration, which tamperwatch does not have",
            ));
        }
        "neq" => {
            return Err(unsupported(
                "backends disagree on what it means for a missing field or a list of values; \
                 write a second selection and `not` it in the condition",
            ));
        }
        "minute" | "hour" | "day" | "week" | "month" | "year" => {
            return Err(unsupported("time-part modifiers are not supported"));
        }
        _ => {
            return Err(SelectionError::UnknownModifier {
                field: field.to_owned(),
                modifier: name.to_owned(),
            });
        }
    })
}

/// A string transformation, applied in rule order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Wrap { start: bool, end: bool },
    Windash,
    Encode(Encoding),
    Base64,
    Base64Offset,
}

/// What the modifiers of one field ask for, checked.
#[derive(Debug)]
enum Spec {
    Plain {
        steps: Vec<Step>,
        case: Case,
    },
    Regex {
        ignore_case: bool,
        multi_line: bool,
        dot_all: bool,
    },
    Cidr,
    Exists,
    Compare(CompareOp),
    FieldRef {
        mode: RefMode,
        case: Case,
    },
}

/// Compiles one `field|modifiers: values` entry of a selection.
pub(crate) fn compile_field(
    key: &str,
    value: &serde_json::Value,
) -> Result<CompiledField, SelectionError> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default();
    if field.is_empty() {
        return Err(SelectionError::Shape(format!(
            "`{key}`: a key without a field name (keyword modifiers) is not supported"
        )));
    }
    let mut modifiers = Vec::new();
    for name in parts {
        let m = lookup(key, name)?;
        if modifiers.contains(&m) {
            return Err(invalid(key, format!("modifier `{name}` is given twice")));
        }
        modifiers.push(m);
    }
    let link = if modifiers.contains(&Modifier::All) {
        Link::All
    } else {
        Link::Any
    };
    let ordered: Vec<Modifier> = modifiers
        .iter()
        .copied()
        .filter(|m| *m != Modifier::All)
        .collect();
    let spec = check(key, &ordered)?;

    let values: Vec<&serde_json::Value> = match value {
        serde_json::Value::Array(items) => items.iter().collect(),
        serde_json::Value::Object(_) => {
            return Err(invalid(
                key,
                "a field's value must be a value or a list of values, not a mapping".into(),
            ));
        }
        scalar => vec![scalar],
    };
    if values.is_empty() {
        return Err(invalid(key, "the list of values is empty".into()));
    }
    if let Some(nested) = values.iter().find(|v| v.is_array() || v.is_object()) {
        return Err(invalid(
            key,
            format!("a list of values may hold only scalars, not `{nested}`"),
        ));
    }
    if link == Link::All && values.len() < 2 {
        return Err(invalid(
            key,
            "`all` needs a list of at least two values (the Sigma specification forbids it on \
             a single value)"
                .into(),
        ));
    }

    let path = FieldPath::new(field);
    let mut required = None;
    let test = match spec {
        Spec::Exists => {
            if link == Link::All {
                return Err(invalid(
                    key,
                    "`exists` cannot be combined with `all`".into(),
                ));
            }
            match value {
                serde_json::Value::Bool(b) => FieldTest::Exists(*b),
                other => {
                    return Err(invalid(
                        key,
                        format!("`exists` takes `true` or `false`, not `{other}`"),
                    ));
                }
            }
        }
        Spec::FieldRef { mode, case } => {
            let mut refs = Vec::with_capacity(values.len());
            for v in &values {
                let serde_json::Value::String(name) = v else {
                    return Err(invalid(
                        key,
                        format!("`fieldref` takes field names, not `{v}`"),
                    ));
                };
                let Some(plain) = Glob::parse(name).to_plain() else {
                    return Err(invalid(
                        key,
                        format!("field reference `{name}` must not contain wildcards"),
                    ));
                };
                refs.push(FieldPath::new(&plain));
            }
            FieldTest::FieldRef {
                refs,
                link,
                mode,
                case,
            }
        }
        spec => {
            let mut matchers = Vec::with_capacity(values.len());
            let mut requires = Some(Vec::with_capacity(values.len()));
            for v in &values {
                let (m, r) = compile_value(key, &spec, v)?;
                matchers.push(m);
                match (r, requires.as_mut()) {
                    (Some(r), Some(list)) => list.push(r),
                    _ => requires = None,
                }
            }
            match link {
                Link::Any => {
                    required = requires;
                    FieldTest::AnyOf(matchers)
                }
                Link::All => FieldTest::AllOf(matchers),
            }
        }
    };
    Ok(CompiledField {
        path,
        test,
        required,
    })
}

fn invalid(field: &str, problem: String) -> SelectionError {
    SelectionError::InvalidModifiers {
        field: field.to_owned(),
        problem,
    }
}

fn bad_value(field: &str, problem: String) -> SelectionError {
    SelectionError::InvalidValue {
        field: field.to_owned(),
        problem,
    }
}

/// Checks the order and combination of modifiers (without `all`, which combines with any).
fn check(key: &str, mods: &[Modifier]) -> Result<Spec, SelectionError> {
    let alone = |what: &str| {
        invalid(
            key,
            format!("`{what}` cannot be combined with other modifiers (except `all`)"),
        )
    };
    match mods.first() {
        Some(Modifier::Exists) => {
            return if mods.len() == 1 {
                Ok(Spec::Exists)
            } else {
                Err(alone("exists"))
            };
        }
        Some(Modifier::Cidr) => {
            return if mods.len() == 1 {
                Ok(Spec::Cidr)
            } else {
                Err(alone("cidr"))
            };
        }
        Some(Modifier::Compare(op)) => {
            return if mods.len() == 1 {
                Ok(Spec::Compare(*op))
            } else {
                Err(alone("gt/gte/lt/lte"))
            };
        }
        Some(Modifier::Re) => {
            let (mut ignore_case, mut multi_line, mut dot_all) = (false, false, false);
            for m in &mods[1..] {
                match m {
                    Modifier::ReIgnoreCase => ignore_case = true,
                    Modifier::ReMultiLine => multi_line = true,
                    Modifier::ReDotAll => dot_all = true,
                    Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith => {
                        return Err(invalid(
                            key,
                            "`re` cannot be combined with contains/startswith/endswith: \
                             backends disagree on whether a regular expression is anchored; \
                             a tamperwatch `re` searches anywhere, use `^` and `$` to anchor"
                                .into(),
                        ));
                    }
                    _ => {
                        return Err(invalid(
                            key,
                            "`re` can only be followed by its flags `i`, `m`, `s` (and `all`)"
                                .into(),
                        ));
                    }
                }
            }
            return Ok(Spec::Regex {
                ignore_case,
                multi_line,
                dot_all,
            });
        }
        _ => {}
    }
    for m in mods {
        match m {
            Modifier::Exists | Modifier::Cidr | Modifier::Compare(_) | Modifier::Re => {
                return Err(invalid(
                    key,
                    "`exists`, `cidr`, `gt`/`gte`/`lt`/`lte` and `re` must come first".into(),
                ));
            }
            Modifier::ReIgnoreCase | Modifier::ReMultiLine | Modifier::ReDotAll => {
                return Err(invalid(
                    key,
                    "the flags `i`, `m`, `s` only apply to `re`".into(),
                ));
            }
            _ => {}
        }
    }
    let wraps = mods
        .iter()
        .filter(|m| {
            matches!(
                m,
                Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith
            )
        })
        .count();
    if wraps > 1 {
        return Err(invalid(
            key,
            "use only one of contains, startswith and endswith".into(),
        ));
    }
    let case = if mods.contains(&Modifier::Cased) {
        Case::Sensitive
    } else {
        Case::Insensitive
    };
    if mods.contains(&Modifier::FieldRef) {
        let mut mode = RefMode::Equals;
        for m in mods {
            match m {
                Modifier::FieldRef | Modifier::Cased => {}
                Modifier::Contains => mode = RefMode::Contains,
                Modifier::StartsWith => mode = RefMode::StartsWith,
                Modifier::EndsWith => mode = RefMode::EndsWith,
                _ => {
                    return Err(invalid(
                        key,
                        "`fieldref` combines only with contains, startswith, endswith, cased \
                         and all"
                            .into(),
                    ));
                }
            }
        }
        return Ok(Spec::FieldRef { mode, case });
    }

    let mut steps = Vec::new();
    let mut encoded = false;
    let mut base64 = false;
    for (i, m) in mods.iter().enumerate() {
        match m {
            Modifier::Contains => steps.push(Step::Wrap {
                start: true,
                end: true,
            }),
            Modifier::StartsWith => steps.push(Step::Wrap {
                start: false,
                end: true,
            }),
            Modifier::EndsWith => steps.push(Step::Wrap {
                start: true,
                end: false,
            }),
            Modifier::Windash => {
                if encoded || base64 {
                    return Err(invalid(
                        key,
                        "`windash` must come before any encoding modifier".into(),
                    ));
                }
                steps.push(Step::Windash);
            }
            Modifier::Encode(e) => {
                if encoded || base64 {
                    return Err(invalid(
                        key,
                        "only one utf16/wide encoding, before base64".into(),
                    ));
                }
                encoded = true;
                steps.push(Step::Encode(*e));
            }
            Modifier::Base64 | Modifier::Base64Offset => {
                if base64 {
                    return Err(invalid(key, "only one of base64 and base64offset".into()));
                }
                if mods[..i].iter().any(|m| {
                    matches!(
                        m,
                        Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith
                    )
                }) {
                    return Err(invalid(
                        key,
                        "contains/startswith/endswith must come after base64 (a wildcard cannot \
                         be encoded): write `|base64offset|contains`"
                            .into(),
                    ));
                }
                base64 = true;
                if *m == Modifier::Base64Offset {
                    if !mods[i..].contains(&Modifier::Contains) {
                        return Err(invalid(
                            key,
                            "`base64offset` must be followed by `contains`: its values are \
                             fragments of a longer encoded text"
                                .into(),
                        ));
                    }
                    steps.push(Step::Base64Offset);
                } else {
                    steps.push(Step::Base64);
                }
            }
            Modifier::Cased => {}
            // Rejected or handled above.
            Modifier::All
            | Modifier::Re
            | Modifier::ReIgnoreCase
            | Modifier::ReMultiLine
            | Modifier::ReDotAll
            | Modifier::Cidr
            | Modifier::Exists
            | Modifier::Compare(_)
            | Modifier::FieldRef => {}
        }
    }
    if encoded && !base64 {
        return Err(invalid(
            key,
            "utf16le/utf16be/utf16/wide only make sense before base64 or base64offset (an event \
             holds text, not UTF-16 bytes)"
                .into(),
        ));
    }
    Ok(Spec::Plain { steps, case })
}

/// Compiles one value; also returns what it requires of the field's text when it is an exact
/// string or a prefix test.
fn compile_value(
    key: &str,
    spec: &Spec,
    v: &serde_json::Value,
) -> Result<(ValueMatcher, Option<Required>), SelectionError> {
    let scalar_text = |v: &serde_json::Value| -> Option<String> {
        match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            serde_json::Value::Number(n) => Num::from_json(n).map(Num::text),
            _ => None,
        }
    };
    match spec {
        Spec::Plain { steps, case } => {
            let untouched = steps.is_empty() && *case == Case::Insensitive;
            match v {
                serde_json::Value::Null if untouched => return Ok((ValueMatcher::Null, None)),
                serde_json::Value::Null => {
                    return Err(bad_value(
                        key,
                        "`null` cannot be combined with modifiers".into(),
                    ));
                }
                serde_json::Value::Bool(b) if untouched => {
                    return Ok((ValueMatcher::Bool(*b), None));
                }
                serde_json::Value::Number(n) if untouched => {
                    let num = Num::from_json(n)
                        .ok_or_else(|| bad_value(key, format!("unusable number `{n}`")))?;
                    return Ok((
                        ValueMatcher::Number {
                            num,
                            text: num.text(),
                        },
                        None,
                    ));
                }
                _ => {}
            }
            let text =
                scalar_text(v).ok_or_else(|| bad_value(key, format!("unusable value `{v}`")))?;
            let glob = Glob::parse(&text);
            let plain = if steps.is_empty() && v.is_string() {
                glob.to_plain()
            } else {
                None
            };
            let number = if steps.is_empty() {
                plain.as_deref().and_then(parse_number)
            } else {
                None
            };
            let globs = run_steps(key, glob, steps)?;
            let patterns = globs
                .iter()
                .map(|g| Pattern::compile(g, *case))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad_value(key, e.to_string()))?;
            let required = match (plain, patterns.as_slice()) {
                (Some(plain), _) => Some(Required::Exact(plain)),
                (None, [one]) => one
                    .prefix_text()
                    .filter(|p| p.is_ascii())
                    .map(|p| Required::Prefix(p.to_ascii_lowercase())),
                _ => None,
            };
            Ok((ValueMatcher::Text { patterns, number }, required))
        }
        Spec::Regex {
            ignore_case,
            multi_line,
            dot_all,
        } => {
            let text =
                scalar_text(v).ok_or_else(|| bad_value(key, format!("unusable value `{v}`")))?;
            let re = RegexBuilder::new(&text)
                .case_insensitive(*ignore_case)
                .multi_line(*multi_line)
                .dot_matches_new_line(*dot_all)
                .build()
                .map_err(|e| SelectionError::InvalidRegex {
                    field: key.to_owned(),
                    pattern: text.clone(),
                    message: one_line(&e.to_string()),
                })?;
            Ok((ValueMatcher::Regex(re), None))
        }
        Spec::Cidr => {
            let serde_json::Value::String(s) = v else {
                return Err(SelectionError::InvalidCidr {
                    field: key.to_owned(),
                    value: v.to_string(),
                });
            };
            let net = s
                .parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| SelectionError::InvalidCidr {
                    field: key.to_owned(),
                    value: s.clone(),
                })?;
            Ok((ValueMatcher::Cidr(net), None))
        }
        Spec::Compare(op) => {
            let num = match v {
                serde_json::Value::Number(n) => Num::from_json(n),
                serde_json::Value::String(s) => parse_number(s),
                _ => None,
            }
            .ok_or_else(|| bad_value(key, format!("`{v}` is not a number")))?;
            Ok((ValueMatcher::Compare(*op, num), None))
        }
        Spec::Exists | Spec::FieldRef { .. } => Err(bad_value(
            key,
            "internal: exists/fieldref values are compiled by the caller".into(),
        )),
    }
}

/// A working value of the string pipeline.
enum Work {
    Text(Glob),
    Bytes(Vec<u8>),
}

fn run_steps(key: &str, glob: Glob, steps: &[Step]) -> Result<Vec<Glob>, SelectionError> {
    let mut items = vec![Work::Text(glob)];
    for step in steps {
        let mut next = Vec::with_capacity(items.len());
        for item in items {
            match (step, item) {
                (Step::Wrap { start, end }, Work::Text(mut g)) => {
                    g.wrap(*start, *end);
                    next.push(Work::Text(g));
                }
                (Step::Windash, Work::Text(g)) => {
                    next.extend(windash(key, &g)?.into_iter().map(Work::Text));
                }
                (Step::Encode(e), Work::Text(g)) => {
                    let plain = g.to_plain().ok_or_else(|| no_wildcards(key))?;
                    next.push(Work::Bytes(encode(&plain, *e)));
                }
                (Step::Base64 | Step::Base64Offset, item) => {
                    let bytes = match item {
                        Work::Text(g) => g.to_plain().ok_or_else(|| no_wildcards(key))?.into(),
                        Work::Bytes(b) => b,
                    };
                    if *step == Step::Base64 {
                        next.push(Work::Text(Glob::literal(&BASE64.encode(&bytes))));
                    } else {
                        for fragment in base64_offsets(key, &bytes)? {
                            next.push(Work::Text(Glob::literal(&fragment)));
                        }
                    }
                }
                (_, Work::Bytes(_)) => {
                    return Err(invalid(
                        key,
                        "an encoded value must go straight to base64".into(),
                    ));
                }
            }
        }
        items = next;
    }
    items
        .into_iter()
        .map(|w| match w {
            Work::Text(g) => Ok(g),
            Work::Bytes(_) => Err(invalid(
                key,
                "an encoded value must go through base64".into(),
            )),
        })
        .collect()
}

fn no_wildcards(key: &str) -> SelectionError {
    bad_value(
        key,
        "a value with wildcards cannot be encoded (base64, utf16): escape `*` and `?` as `\\*` \
         and `\\?`"
            .into(),
    )
}

fn encode(s: &str, e: Encoding) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 2 + 2);
    if e == Encoding::Utf16 {
        out.extend_from_slice(&[0xFF, 0xFE]);
    }
    for unit in s.encode_utf16() {
        match e {
            Encoding::Utf16Le | Encoding::Utf16 => out.extend_from_slice(&unit.to_le_bytes()),
            Encoding::Utf16Be => out.extend_from_slice(&unit.to_be_bytes()),
        }
    }
    out
}

/// The three encoded fragments that appear in any base64 text containing `bytes`, whatever its
/// offset modulo 3 (the pySigma algorithm).
fn base64_offsets(key: &str, bytes: &[u8]) -> Result<Vec<String>, SelectionError> {
    if bytes.len() < 3 {
        return Err(bad_value(
            key,
            "`base64offset` needs a value of at least 3 bytes (a shorter one encodes to \
             fragments that match almost anything)"
                .into(),
        ));
    }
    const START: [usize; 3] = [0, 2, 3];
    let mut out = Vec::with_capacity(3);
    for (shift, start) in START.iter().enumerate() {
        let mut padded = vec![b' '; shift];
        padded.extend_from_slice(bytes);
        let enc = BASE64.encode(&padded);
        let end = match (bytes.len() + shift) % 3 {
            0 => enc.len(),
            1 => enc.len().saturating_sub(3),
            _ => enc.len().saturating_sub(2),
        };
        out.push(enc.get(*start..end).unwrap_or_default().to_owned());
    }
    Ok(out)
}

fn is_word(t: Option<&Token>) -> bool {
    matches!(t, Some(Token::Lit(c)) if c.is_alphanumeric() || *c == '_')
}

/// `windash`: every `-` or `/` that starts a word (no word character before it, one after it)
/// stands for any of `-`, `/`, en dash, em dash and horizontal bar.
fn windash(key: &str, g: &Glob) -> Result<Vec<Glob>, SelectionError> {
    const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
    let positions: Vec<usize> = (0..g.0.len())
        .filter(|&i| {
            matches!(g.0.get(i), Some(Token::Lit('-' | '/')))
                && !is_word(i.checked_sub(1).and_then(|p| g.0.get(p)))
                && is_word(g.0.get(i + 1))
        })
        .collect();
    if positions.len() > MAX_WINDASH {
        return Err(bad_value(
            key,
            format!(
                "`windash` would expand {} dashes (at most {MAX_WINDASH})",
                positions.len()
            ),
        ));
    }
    let mut out = vec![g.clone()];
    for &pos in &positions {
        let mut next = Vec::with_capacity(out.len() * DASHES.len());
        for variant in &out {
            for dash in DASHES {
                let mut v = variant.clone();
                if let Some(t) = v.0.get_mut(pos) {
                    *t = Token::Lit(dash);
                }
                next.push(v);
            }
        }
        out = next;
    }
    Ok(out)
}

/// A multi-line library message on one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compile(key: &str, v: serde_json::Value) -> Result<CompiledField, SelectionError> {
        compile_field(key, &v)
    }

    fn texts(f: &CompiledField) -> Vec<String> {
        let (FieldTest::AnyOf(ms) | FieldTest::AllOf(ms)) = &f.test else {
            return vec![];
        };
        ms.iter()
            .flat_map(|m| match m {
                ValueMatcher::Text { patterns, .. } => patterns
                    .iter()
                    .map(|p| match p {
                        Pattern::Contains(_) => "contains".to_owned(),
                        Pattern::Exact(_) => p.exact_text().unwrap_or_default().to_owned(),
                        other => format!("{other:?}"),
                    })
                    .collect::<Vec<_>>(),
                other => vec![format!("{other:?}")],
            })
            .collect()
    }

    #[test]
    fn an_unknown_modifier_is_refused_by_name() {
        let e = compile("eventName|startwith", json!("x")).expect_err("refused");
        assert_eq!(
            e,
            SelectionError::UnknownModifier {
                field: "eventName|startwith".into(),
                modifier: "startwith".into()
            }
        );
        assert!(
            e.to_string().contains("unknown modifier `startwith`"),
            "{e}"
        );
    }

    #[test]
    fn expand_neq_and_time_parts_are_refused_with_a_reason() {
        for m in ["expand", "neq", "hour"] {
            let e = compile(&format!("f|{m}"), json!("x")).expect_err("refused");
            assert!(
                matches!(e, SelectionError::UnsupportedModifier { ref modifier, .. } if modifier == m),
                "{e}"
            );
        }
    }

    #[test]
    fn contradictory_or_misplaced_modifiers_are_refused() {
        for key in [
            "f|contains|startswith",
            "f|contains|contains",
            "f|contains|re",
            "f|re|contains",
            "f|re|cased",
            "f|i",
            "f|cidr|contains",
            "f|exists|all",
            "f|gt|contains",
            "f|wide",
            "f|contains|base64",
            "f|base64offset",
            "f|base64|windash",
            "f|fieldref|base64",
            "|contains",
        ] {
            assert!(compile(key, json!(["abcd", "efgh"])).is_err(), "{key}");
        }
    }

    #[test]
    fn all_on_a_single_value_is_refused() {
        assert!(compile("f|contains|all", json!("x")).is_err());
        assert!(compile("f|contains|all", json!(["x"])).is_err());
        assert!(compile("f|contains|all", json!(["x", "y"])).is_ok());
    }

    #[test]
    fn values_must_be_scalars() {
        assert!(compile("f", json!({"a": 1})).is_err());
        assert!(compile("f", json!([["a"]])).is_err());
        assert!(compile("f", json!([])).is_err());
        assert!(compile("f|contains", json!(null)).is_err());
        assert!(compile("f", json!(null)).is_ok());
    }

    #[test]
    fn exact_strings_and_prefixes_are_recorded_for_the_index() {
        let exact = |s: &str| Required::Exact(s.to_owned());
        let prefix = |s: &str| Required::Prefix(s.to_owned());
        let f = compile("eventName", json!(["StopLogging", "DeleteTrail"])).expect("ok");
        assert_eq!(
            f.required,
            Some(vec![exact("StopLogging"), exact("DeleteTrail")])
        );
        let f = compile("eventName|cased", json!("StopLogging")).expect("ok");
        assert_eq!(f.required, Some(vec![exact("StopLogging")]));
        let f = compile("eventName|startswith", json!(["Stop", "Delete**"])).expect("ok");
        assert_eq!(f.required, Some(vec![prefix("stop"), prefix("delete")]));
        let f = compile("eventName|cased|startswith", json!("Stop")).expect("ok");
        assert_eq!(f.required, Some(vec![prefix("stop")]));
        let f = compile("eventName", json!(["Stop*", "DeleteTrail"])).expect("ok");
        assert_eq!(f.required, Some(vec![prefix("stop"), exact("DeleteTrail")]));
        for (key, v) in [
            ("eventName", json!(["StopLogging", null])),
            ("eventName", json!(["Stop*", "*Trail"])),
            ("eventName", json!("Sto?*")),
            ("eventName", json!("*")),
            ("eventName", json!(5)),
            ("eventName|contains", json!("Stop")),
            ("eventName|endswith", json!("Stop")),
            ("eventName|startswith|all", json!(["a", "b"])),
            ("eventName|re", json!("Stop")),
            // Lowercasing need not keep a non-ASCII prefix a prefix: not indexed.
            ("eventName|startswith", json!("Ärger")),
        ] {
            assert!(
                compile(key, v.clone()).expect("ok").required.is_none(),
                "{key} {v}"
            );
        }
        // An escaped wildcard is plain text.
        let f = compile("eventName", json!(r"Stop\*")).expect("ok");
        assert_eq!(f.required, Some(vec![exact("Stop*")]));
    }

    #[test]
    fn base64_encodes_the_value() {
        let f = compile("f|base64", json!("abc")).expect("ok");
        assert_eq!(
            texts(&f),
            ["ywjj"],
            "YWJj lowercased for case-insensitive matching"
        );
        let f = compile("f|base64|cased", json!("abc")).expect("ok");
        assert_eq!(texts(&f), ["YWJj"]);
        assert!(compile("f|base64", json!("a*c")).is_err());
    }

    #[test]
    fn base64offset_yields_three_fragments() {
        // Same fragments as pySigma for "/bin/sh".
        let f = compile("f|base64offset|contains|cased", json!("/bin/sh")).expect("ok");
        let FieldTest::AnyOf(ms) = &f.test else {
            panic!("any")
        };
        let ValueMatcher::Text { patterns, .. } = &ms[0] else {
            panic!("text")
        };
        assert_eq!(patterns.len(), 3);
        for (p, encoded) in patterns.iter().zip([
            BASE64.encode("/bin/sh"),
            BASE64.encode(" /bin/sh"),
            BASE64.encode("  /bin/sh"),
        ]) {
            assert!(p.matches(&encoded), "{encoded}");
        }
        assert!(
            patterns
                .iter()
                .any(|p| p.matches(&BASE64.encode("echo x; /bin/sh -i")))
        );
        assert!(compile("f|base64offset|contains", json!("ab")).is_err());
    }

    #[test]
    fn utf16_encodings_feed_base64() {
        let f = compile("f|wide|base64|cased", json!("cmd")).expect("ok");
        let expected = BASE64.encode([0x63, 0, 0x6d, 0, 0x64, 0]);
        let FieldTest::AnyOf(ms) = &f.test else {
            panic!("any")
        };
        assert!(ms[0].matches(crate::document::Value::Str(&expected), false));
        let f = compile("f|utf16be|base64|cased", json!("cmd")).expect("ok");
        let FieldTest::AnyOf(ms) = &f.test else {
            panic!("any")
        };
        let expected = BASE64.encode([0, 0x63, 0, 0x6d, 0, 0x64]);
        assert!(ms[0].matches(crate::document::Value::Str(&expected), false));
        let f = compile("f|utf16|base64|cased", json!("cmd")).expect("ok");
        let FieldTest::AnyOf(ms) = &f.test else {
            panic!("any")
        };
        let expected = BASE64.encode([0xFF, 0xFE, 0x63, 0, 0x6d, 0, 0x64, 0]);
        assert!(ms[0].matches(crate::document::Value::Str(&expected), false));
    }

    #[test]
    fn windash_expands_word_leading_dashes_only() {
        let g = Glob::parse("-param-name /x");
        let out = windash("f", &g).expect("ok");
        assert_eq!(out.len(), 25);
        let texts: Vec<String> = out.iter().filter_map(Glob::to_plain).collect();
        assert!(texts.contains(&"/param-name -x".to_owned()));
        assert!(texts.contains(&"\u{2014}param-name \u{2015}x".to_owned()));
        assert!(
            texts.iter().all(|t| t.contains("param-name")),
            "inner dash untouched"
        );
        assert!(windash("f", &Glob::parse("-a -b -c -d -e -f")).is_err());
    }

    #[test]
    fn regex_errors_name_the_pattern() {
        let e = compile("f|re", json!("(?=look)ahead")).expect_err("refused");
        let text = e.to_string();
        assert!(
            text.contains("(?=look)ahead") && text.contains("look-around"),
            "{text}"
        );
        assert!(compile("f|re", json!(r"(a)\1")).is_err(), "backreferences");
        assert!(compile("f|re", json!("(unclosed")).is_err());
    }

    #[test]
    fn cidr_values_must_be_networks() {
        assert!(compile("f|cidr", json!("10.0.0.0/8")).is_ok());
        assert!(compile("f|cidr", json!("2001:db8::/32")).is_ok());
        assert!(compile("f|cidr", json!("10.0.0.1")).is_ok());
        assert!(matches!(
            compile("f|cidr", json!("10.0.0.0/33")),
            Err(SelectionError::InvalidCidr { .. })
        ));
        assert!(compile("f|cidr", json!(10)).is_err());
    }

    #[test]
    fn comparisons_need_numbers() {
        assert!(compile("f|gt", json!(5)).is_ok());
        assert!(compile("f|gt", json!("5")).is_ok());
        assert!(compile("f|gt", json!("five")).is_err());
        assert!(compile("f|gt", json!(true)).is_err());
    }

    #[test]
    fn exists_and_fieldref_values_are_checked() {
        assert!(compile("f|exists", json!("true")).is_err());
        assert!(compile("f|exists", json!([true, false])).is_err());
        assert!(compile("f|fieldref", json!("other*")).is_err());
        assert!(compile("f|fieldref", json!(5)).is_err());
        assert!(compile("f|fieldref|contains|cased", json!("other")).is_ok());
        assert!(compile("f|contains|fieldref", json!("other")).is_ok());
    }
}
