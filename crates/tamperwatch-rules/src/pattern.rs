//! Sigma strings: wildcards, escapes, and the cheapest matcher for each.
//!
//! A Sigma string value may hold `*` (any run of characters, including none) and `?` (exactly
//! one character). `\*`, `\?` and `\\` stand for a literal `*`, `?` and `\`; a backslash before
//! any other character is a literal backslash (so Windows paths need no doubling). Each string
//! is compiled once to an exact, prefix, suffix or substring test, or, when wildcards sit
//! inside it, to an anchored regular expression.
//!
//! Matching is case-insensitive unless the rule says `|cased`: both sides are compared in
//! Unicode lowercase (`str::to_lowercase`), with a fast path when the event value is ASCII.
//! Patterns that become regular expressions use the regex crate's case folding, which agrees
//! with lowercasing for every character that appears in CloudTrail.

use memchr::memmem;
use regex::Regex;

/// One element of a parsed Sigma string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    Lit(char),
    /// `*`: any run of characters.
    Star,
    /// `?`: exactly one character.
    One,
}

/// A parsed Sigma string, before it is compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob(pub(crate) Vec<Token>);

impl Glob {
    /// Parses a Sigma string with its wildcards and escapes.
    pub(crate) fn parse(s: &str) -> Glob {
        let mut tokens = Vec::with_capacity(s.len());
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => tokens.push(Token::Star),
                '?' => tokens.push(Token::One),
                '\\' => match chars.peek() {
                    Some(&next @ ('*' | '?' | '\\')) => {
                        chars.next();
                        tokens.push(Token::Lit(next));
                    }
                    _ => tokens.push(Token::Lit('\\')),
                },
                other => tokens.push(Token::Lit(other)),
            }
        }
        Glob(tokens)
    }

    /// A string taken literally: no wildcards.
    pub(crate) fn literal(s: &str) -> Glob {
        Glob(s.chars().map(Token::Lit).collect())
    }

    pub(crate) fn has_wildcards(&self) -> bool {
        self.0.iter().any(|t| !matches!(t, Token::Lit(_)))
    }

    /// The text, when the string holds no wildcards.
    pub(crate) fn to_plain(&self) -> Option<String> {
        self.0
            .iter()
            .map(|t| match t {
                Token::Lit(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    /// Puts `*` at the start and/or end, unless one is already there (`contains`,
    /// `startswith`, `endswith`).
    pub(crate) fn wrap(&mut self, start: bool, end: bool) {
        if start && self.0.first() != Some(&Token::Star) {
            self.0.insert(0, Token::Star);
        }
        if end && self.0.last() != Some(&Token::Star) {
            self.0.push(Token::Star);
        }
    }
}

/// Whether letters must match in case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    Insensitive,
    Sensitive,
}

/// A compiled Sigma string.
#[derive(Debug, Clone)]
pub(crate) enum Pattern {
    /// `*` alone: any value.
    Any,
    Exact(Needle),
    Prefix(Needle),
    Suffix(Needle),
    Contains(Needle),
    /// Wildcards inside the string: an anchored regular expression.
    Regex(Regex),
}

/// The literal part of a pattern: lowercased when matching ignores case.
#[derive(Debug, Clone)]
pub(crate) struct Needle {
    text: Box<str>,
    case: Case,
    finder: Option<memmem::Finder<'static>>,
}

impl Needle {
    fn new(text: &str, case: Case, with_finder: bool) -> Needle {
        let text: Box<str> = match case {
            Case::Insensitive => text.to_lowercase().into(),
            Case::Sensitive => text.into(),
        };
        let finder = (with_finder && case == Case::Sensitive)
            .then(|| memmem::Finder::new(text.as_bytes()).into_owned());
        Needle { text, case, finder }
    }
}

/// The compiled regular expression for a wildcard pattern could not be built (its size limit
/// was exceeded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the wildcard pattern is too large to compile: {0}")]
pub(crate) struct CompilePatternError(pub(crate) String);

impl Pattern {
    /// Compiles `glob` to the cheapest matcher that has its meaning.
    pub(crate) fn compile(glob: &Glob, case: Case) -> Result<Pattern, CompilePatternError> {
        // Consecutive stars mean the same as one.
        let mut tokens: Vec<Token> = Vec::with_capacity(glob.0.len());
        for &t in &glob.0 {
            if t == Token::Star && tokens.last() == Some(&Token::Star) {
                continue;
            }
            tokens.push(t);
        }
        let lead = tokens.first() == Some(&Token::Star);
        let trail = tokens.len() > usize::from(lead) && tokens.last() == Some(&Token::Star);
        let inner = &tokens[usize::from(lead)..tokens.len() - usize::from(trail)];
        if lead && inner.is_empty() {
            return Ok(Pattern::Any);
        }
        if inner.iter().all(|t| matches!(t, Token::Lit(_))) {
            let text: String = inner
                .iter()
                .filter_map(|t| match t {
                    Token::Lit(c) => Some(*c),
                    _ => None,
                })
                .collect();
            return Ok(match (lead, trail) {
                (false, false) => Pattern::Exact(Needle::new(&text, case, false)),
                (false, true) => Pattern::Prefix(Needle::new(&text, case, false)),
                (true, false) => Pattern::Suffix(Needle::new(&text, case, false)),
                (true, true) => Pattern::Contains(Needle::new(&text, case, true)),
            });
        }
        let mut re = String::with_capacity(tokens.len() * 2 + 8);
        re.push_str(match case {
            Case::Insensitive => "(?is)^",
            Case::Sensitive => "(?s)^",
        });
        let mut buf = [0u8; 4];
        for t in &tokens {
            match t {
                Token::Lit(c) => re.push_str(&regex::escape(c.encode_utf8(&mut buf))),
                Token::Star => re.push_str(".*"),
                Token::One => re.push('.'),
            }
        }
        re.push('$');
        Regex::new(&re)
            .map(Pattern::Regex)
            .map_err(|e| CompilePatternError(e.to_string()))
    }

    /// Whether `value` matches.
    pub(crate) fn matches(&self, value: &str) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Regex(re) => re.is_match(value),
            Pattern::Exact(n) => n.test(value, Shape::Exact),
            Pattern::Prefix(n) => n.test(value, Shape::Prefix),
            Pattern::Suffix(n) => n.test(value, Shape::Suffix),
            Pattern::Contains(n) => n.test(value, Shape::Contains),
        }
    }

    /// The text a prefix pattern requires at the start of a value, lowercased unless cased.
    pub(crate) fn prefix_text(&self) -> Option<&str> {
        match self {
            Pattern::Prefix(n) => Some(&n.text),
            _ => None,
        }
    }

    /// The literal text of an exact pattern, lowercased unless cased.
    #[cfg(test)]
    pub(crate) fn exact_text(&self) -> Option<&str> {
        match self {
            Pattern::Exact(n) => Some(&n.text),
            _ => None,
        }
    }
}

#[derive(Clone, Copy)]
enum Shape {
    Exact,
    Prefix,
    Suffix,
    Contains,
}

impl Needle {
    fn test(&self, value: &str, shape: Shape) -> bool {
        let needle = self.text.as_bytes();
        match self.case {
            Case::Sensitive => {
                let hay = value.as_bytes();
                match shape {
                    Shape::Exact => hay == needle,
                    Shape::Prefix => hay.starts_with(needle),
                    Shape::Suffix => hay.ends_with(needle),
                    Shape::Contains => match &self.finder {
                        Some(f) => f.find(hay).is_some(),
                        None => memmem::find(hay, needle).is_some(),
                    },
                }
            }
            Case::Insensitive => {
                // ASCII letters compared without regard to case; every other byte exactly. A
                // hit here is a hit of the lowercase comparison too. A miss is final only for
                // an ASCII value: other characters may lowercase to something else.
                if ascii_ci(value.as_bytes(), needle, shape) {
                    return true;
                }
                if value.is_ascii() {
                    return false;
                }
                let lower = value.to_lowercase();
                let hay = lower.as_bytes();
                match shape {
                    Shape::Exact => hay == needle,
                    Shape::Prefix => hay.starts_with(needle),
                    Shape::Suffix => hay.ends_with(needle),
                    Shape::Contains => memmem::find(hay, needle).is_some(),
                }
            }
        }
    }
}

/// `needle` is lowercase already.
fn ascii_ci(hay: &[u8], needle: &[u8], shape: Shape) -> bool {
    match shape {
        Shape::Exact => hay.eq_ignore_ascii_case(needle),
        Shape::Prefix => hay
            .get(..needle.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(needle)),
        Shape::Suffix => hay
            .len()
            .checked_sub(needle.len())
            .and_then(|start| hay.get(start..))
            .is_some_and(|h| h.eq_ignore_ascii_case(needle)),
        Shape::Contains => contains_ascii_ci(hay, needle),
    }
}

fn contains_ascii_ci(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    let Some(last_start) = hay.len().checked_sub(needle.len()) else {
        return false;
    };
    let (lo, up) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let mut pos = 0;
    while pos <= last_start {
        let Some(window) = hay.get(pos..=last_start) else {
            return false;
        };
        let Some(off) = memchr::memchr2(lo, up, window) else {
            return false;
        };
        let at = pos + off;
        if hay
            .get(at..at + needle.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(needle))
        {
            return true;
        }
        pos = at + 1;
    }
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn pat(s: &str) -> Pattern {
        Pattern::compile(&Glob::parse(s), Case::Insensitive).expect("compiles")
    }

    fn cased(s: &str) -> Pattern {
        Pattern::compile(&Glob::parse(s), Case::Sensitive).expect("compiles")
    }

    #[test]
    fn each_shape_compiles_to_the_cheapest_matcher() {
        assert!(matches!(pat("abc"), Pattern::Exact(_)));
        assert!(matches!(pat("abc*"), Pattern::Prefix(_)));
        assert!(matches!(pat("*abc"), Pattern::Suffix(_)));
        assert!(matches!(pat("*abc*"), Pattern::Contains(_)));
        assert!(matches!(pat("**abc***"), Pattern::Contains(_)));
        assert!(matches!(pat("*"), Pattern::Any));
        assert!(matches!(pat("***"), Pattern::Any));
        assert!(matches!(pat("a*c"), Pattern::Regex(_)));
        assert!(matches!(pat("a?c"), Pattern::Regex(_)));
        assert!(matches!(pat(""), Pattern::Exact(_)));
    }

    #[test]
    fn wildcards_match_runs_and_single_characters() {
        assert!(pat("a*c").matches("abbbc"));
        assert!(pat("a*c").matches("ac"));
        assert!(!pat("a*c").matches("abd"));
        assert!(pat("a?c").matches("abc"));
        assert!(pat("a?c").matches("aéc"));
        assert!(!pat("a?c").matches("ac"));
        assert!(!pat("a?c").matches("abbc"));
        assert!(pat("*").matches(""));
        assert!(pat("a*").matches("a\nb"), "* crosses newlines");
        assert!(pat("a.c*").matches("a.cd"));
        assert!(
            !pat("a.c?").matches("abcd"),
            "regex metacharacters are literal"
        );
    }

    #[test]
    fn escapes_make_wildcards_and_backslashes_literal() {
        assert_eq!(Glob::parse(r"a\*b").to_plain().as_deref(), Some("a*b"));
        assert_eq!(Glob::parse(r"a\?b").to_plain().as_deref(), Some("a?b"));
        assert_eq!(Glob::parse(r"a\\b").to_plain().as_deref(), Some(r"a\b"));
        // A backslash before anything else is itself.
        assert_eq!(
            Glob::parse(r"C:\Windows\x").to_plain().as_deref(),
            Some(r"C:\Windows\x")
        );
        assert_eq!(Glob::parse(r"end\").to_plain().as_deref(), Some(r"end\"));
        // An escaped backslash followed by a wildcard: the wildcard stays a wildcard.
        assert_eq!(
            Glob::parse(r"a\\*").0,
            [Token::Lit('a'), Token::Lit('\\'), Token::Star]
        );
        assert!(pat(r"a\*b").matches("a*b"));
        assert!(!pat(r"a\*b").matches("axb"));
        assert!(pat(r"\**").matches("*star"));
        assert!(!pat(r"\**").matches("star"));
        assert!(pat(r"a\?").matches("a?"));
        assert!(!pat(r"a\?").matches("ab"));
        assert!(pat(r"dir\\*").matches(r"dir\file"));
    }

    #[test]
    fn matching_ignores_case_unless_cased() {
        assert!(pat("StopLogging").matches("stoplogging"));
        assert!(pat("stoplogging").matches("STOPLOGGING"));
        assert!(pat("*LOGGING").matches("StopLogging"));
        assert!(pat("STOP*").matches("StopLogging"));
        assert!(pat("*OPLOG*").matches("StopLogging"));
        assert!(pat("s?oplogging").matches("STOPLOGGING"));
        assert!(!cased("StopLogging").matches("stoplogging"));
        assert!(cased("StopLogging").matches("StopLogging"));
        assert!(!cased("*oplog*").matches("StopLogging"));
        assert!(cased("*opLog*").matches("StopLogging"));
        assert!(!cased("s?oplogging").matches("STOPLOGGING"));
    }

    #[test]
    fn case_folding_covers_non_ascii_text() {
        assert!(pat("ÄRGER").matches("ärger"));
        assert!(pat("*ärger*").matches("Großer ÄRGER hier"));
        assert!(pat("ärger*").matches("ÄRGERLICH"));
        assert!(pat("*ÄRGER").matches("viel ärger"));
        // The Kelvin sign lowercases to an ASCII k.
        assert!(pat("kelvin").matches("\u{212A}elvin"));
        assert!(!pat("ärger").matches("arger"));
    }

    #[test]
    fn substring_search_finds_late_and_repeated_candidates() {
        let p = pat("*abc*");
        assert!(p.matches("aababc"));
        assert!(p.matches("xxABC"));
        assert!(!p.matches("ab"));
        assert!(!p.matches("abxc"));
        assert!(pat("**").matches(""));
        assert!(cased("*abc*").matches("xxabcxx"));
    }

    #[test]
    fn wrap_adds_stars_only_where_missing() {
        let mut g = Glob::parse("*x");
        g.wrap(true, true);
        assert_eq!(g.0, [Token::Star, Token::Lit('x'), Token::Star]);
        let mut g = Glob::parse("");
        g.wrap(true, true);
        assert!(matches!(
            Pattern::compile(&g, Case::Insensitive),
            Ok(Pattern::Any)
        ));
    }
}
