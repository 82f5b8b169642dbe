//! The `condition` of a detection: parser and syntax tree.
//!
//! Grammar (keywords are case-insensitive, selection names case-sensitive):
//!
//! ```text
//! condition := or
//! or        := and ("or" and)*
//! and       := not ("and" not)*
//! not       := "not" not | atom
//! atom      := "(" or ")" | quantity "of" target | NAME
//! quantity  := "1" | "any" | "all" | N
//! target    := "them" | NAME-PATTERN          (* and ? wildcards)
//! ```
//!
//! `them` names every selection whose name does not start with `_`. A pipe (`| count() > 5`)
//! or `near` is the old aggregation syntax and is refused.

use crate::error::ConditionError;

/// How deep parentheses and `not` may nest.
const MAX_NESTING: usize = 64;

/// A parsed condition over the selections of one rule (by index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Condition {
    Selection(usize),
    Not(Box<Condition>),
    And(Vec<Condition>),
    Or(Vec<Condition>),
    /// At least `min` of `selections` hold (`1 of`, `any of`, `N of`, `all of`).
    Of {
        min: usize,
        selections: Vec<usize>,
    },
}

impl Condition {
    /// Evaluates the condition; `selection` says whether one selection matches.
    pub(crate) fn eval(&self, selection: &mut dyn FnMut(usize) -> bool) -> bool {
        match self {
            Condition::Selection(i) => selection(*i),
            Condition::Not(c) => !c.eval(selection),
            Condition::And(cs) => cs.iter().all(|c| c.eval(selection)),
            Condition::Or(cs) => cs.iter().any(|c| c.eval(selection)),
            Condition::Of { min, selections } => {
                let mut hits = 0;
                for &i in selections {
                    if selection(i) {
                        hits += 1;
                        if hits >= *min {
                            return true;
                        }
                    }
                }
                false
            }
        }
    }
}

/// Why a condition was not parsed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ParseConditionError {
    /// Old aggregation syntax: refused as a whole.
    Aggregation,
    Invalid(ConditionError),
}

impl From<ConditionError> for ParseConditionError {
    fn from(e: ConditionError) -> Self {
        ParseConditionError::Invalid(e)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    Open,
    Close,
    And,
    Or,
    Not,
    Of,
    Them,
    All,
    Any,
    Word(&'a str),
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '*' | '?' | '.')
}

fn lex(text: &str) -> Result<Vec<Tok<'_>>, ParseConditionError> {
    let mut toks = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
            continue;
        }
        match c {
            '(' => toks.push(Tok::Open),
            ')' => toks.push(Tok::Close),
            '|' => return Err(ParseConditionError::Aggregation),
            c if is_word_char(c) => {
                let end = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
                let word = &rest[..end];
                let tok = match word.to_ascii_lowercase().as_str() {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "of" => Tok::Of,
                    "them" => Tok::Them,
                    "all" => Tok::All,
                    "any" => Tok::Any,
                    "near" => return Err(ParseConditionError::Aggregation),
                    _ => Tok::Word(word),
                };
                toks.push(tok);
                rest = &rest[end..];
                continue;
            }
            other => return Err(ConditionError::UnexpectedChar(other).into()),
        }
        rest = &rest[c.len_utf8()..];
    }
    Ok(toks)
}

/// Parses `text` over the selections named `names`.
pub(crate) fn parse(text: &str, names: &[String]) -> Result<Condition, ParseConditionError> {
    let toks = lex(text)?;
    if toks.is_empty() {
        return Err(ConditionError::Empty.into());
    }
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        names,
    };
    let cond = p.or(0)?;
    if let Some(t) = p.peek() {
        return Err(ConditionError::Unexpected {
            found: show(t),
            expected: "`and`, `or` or the end",
        }
        .into());
    }
    Ok(cond)
}

fn show(t: Tok<'_>) -> String {
    match t {
        Tok::Open => "(".into(),
        Tok::Close => ")".into(),
        Tok::And => "and".into(),
        Tok::Or => "or".into(),
        Tok::Not => "not".into(),
        Tok::Of => "of".into(),
        Tok::Them => "them".into(),
        Tok::All => "all".into(),
        Tok::Any => "any".into(),
        Tok::Word(w) => w.into(),
    }
}

struct Parser<'t, 'a> {
    toks: &'t [Tok<'a>],
    pos: usize,
    names: &'t [String],
}

impl<'a> Parser<'_, 'a> {
    fn peek(&self) -> Option<Tok<'a>> {
        self.toks.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<Tok<'a>> {
        let t = self.toks.get(self.pos).copied();
        self.pos += 1;
        t
    }

    fn or(&mut self, depth: usize) -> Result<Condition, ConditionError> {
        let mut items = vec![self.and(depth)?];
        while self.peek() == Some(Tok::Or) {
            self.pos += 1;
            items.push(self.and(depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Condition::Or(items)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Condition, ConditionError> {
        let mut items = vec![self.not(depth)?];
        while self.peek() == Some(Tok::And) {
            self.pos += 1;
            items.push(self.not(depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Condition::And(items)
        })
    }

    fn not(&mut self, depth: usize) -> Result<Condition, ConditionError> {
        if depth > MAX_NESTING {
            return Err(ConditionError::Unexpected {
                found: "deeper nesting".into(),
                expected: "at most 64 levels of parentheses and `not`",
            });
        }
        if self.peek() == Some(Tok::Not) {
            self.pos += 1;
            return Ok(Condition::Not(Box::new(self.not(depth + 1)?)));
        }
        self.atom(depth)
    }

    fn atom(&mut self, depth: usize) -> Result<Condition, ConditionError> {
        const EXPECTED: &str = "a selection name, `not`, `(` or `1 of`/`all of`";
        match self.next() {
            None => Err(ConditionError::UnexpectedEnd(EXPECTED)),
            Some(Tok::Open) => {
                let inner = self.or(depth + 1)?;
                match self.next() {
                    Some(Tok::Close) => Ok(inner),
                    Some(t) => Err(ConditionError::Unexpected {
                        found: show(t),
                        expected: "`)`",
                    }),
                    None => Err(ConditionError::UnexpectedEnd("`)`")),
                }
            }
            Some(Tok::All) => self.quantified(None),
            Some(Tok::Any) => self.quantified(Some(1)),
            Some(Tok::Word(w)) if self.peek() == Some(Tok::Of) => {
                let n = w.parse::<usize>().map_err(|_| ConditionError::Unexpected {
                    found: w.to_owned(),
                    expected: "a number, `any` or `all` before `of`",
                })?;
                self.quantified(Some(n))
            }
            Some(Tok::Word(w)) => {
                if w.contains(['*', '?']) {
                    return Err(ConditionError::BareWildcard(w.to_owned()));
                }
                self.names
                    .iter()
                    .position(|n| n == w)
                    .map(Condition::Selection)
                    .ok_or_else(|| ConditionError::UndefinedSelection(w.to_owned()))
            }
            Some(t) => Err(ConditionError::Unexpected {
                found: show(t),
                expected: EXPECTED,
            }),
        }
    }

    /// After `N`, `any` or `all` (`None`): expects `of TARGET`.
    fn quantified(&mut self, count: Option<usize>) -> Result<Condition, ConditionError> {
        match self.next() {
            Some(Tok::Of) => {}
            Some(t) => {
                return Err(ConditionError::Unexpected {
                    found: show(t),
                    expected: "`of`",
                });
            }
            None => return Err(ConditionError::UnexpectedEnd("`of`")),
        }
        let (label, selections): (String, Vec<usize>) = match self.next() {
            Some(Tok::Them) => (
                "them".into(),
                (0..self.names.len())
                    .filter(|&i| self.names.get(i).is_some_and(|n| !n.starts_with('_')))
                    .collect(),
            ),
            Some(Tok::Word(pattern)) => (
                pattern.to_owned(),
                (0..self.names.len())
                    .filter(|&i| self.names.get(i).is_some_and(|n| name_matches(pattern, n)))
                    .collect(),
            ),
            Some(t) => {
                return Err(ConditionError::Unexpected {
                    found: show(t),
                    expected: "`them` or a selection name pattern",
                });
            }
            None => {
                return Err(ConditionError::UnexpectedEnd(
                    "`them` or a selection name pattern",
                ));
            }
        };
        if selections.is_empty() {
            return Err(ConditionError::NoMatchingSelection(label));
        }
        let min = count.unwrap_or(selections.len());
        if min == 0 || min > selections.len() {
            return Err(ConditionError::BadCount {
                count: min,
                pattern: label,
                available: selections.len(),
            });
        }
        Ok(Condition::Of { min, selections })
    }
}

/// Whether a selection name matches a pattern with `*` and `?` (case-sensitive).
fn name_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == '?' || n.get(ni) == Some(&c) => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn p(text: &str, list: &[&str]) -> Result<Condition, ParseConditionError> {
        parse(text, &names(list))
    }

    fn sel(i: usize) -> Condition {
        Condition::Selection(i)
    }

    /// Evaluates `text` with the selections that hold set to true.
    fn holds(text: &str, list: &[&str], truth: &[bool]) -> bool {
        let c = p(text, list).expect("parses");
        c.eval(&mut |i| truth[i])
    }

    #[test]
    fn not_binds_tighter_than_and_which_binds_tighter_than_or() {
        let c = p("a or b and not c", &["a", "b", "c"]).unwrap();
        assert_eq!(
            c,
            Condition::Or(vec![
                sel(0),
                Condition::And(vec![sel(1), Condition::Not(Box::new(sel(2)))])
            ])
        );
        // a or (b and not c): with a false, b true, c true -> false.
        assert!(!holds(
            "a or b and not c",
            &["a", "b", "c"],
            &[false, true, true]
        ));
        assert!(holds(
            "a or b and not c",
            &["a", "b", "c"],
            &[true, true, true]
        ));
        assert!(holds("not a and b", &["a", "b"], &[false, true]));
        assert!(!holds("not a and b", &["a", "b"], &[true, true]));
        assert!(holds("not not a", &["a"], &[true]));
    }

    #[test]
    fn parentheses_override_precedence() {
        assert!(holds(
            "(a or b) and c",
            &["a", "b", "c"],
            &[true, false, true]
        ));
        assert!(!holds(
            "(a or b) and c",
            &["a", "b", "c"],
            &[true, false, false]
        ));
        assert!(!holds("not (a or b)", &["a", "b"], &[false, true]));
        assert!(holds("((a))", &["a"], &[true]));
        assert!(p("(a", &["a"]).is_err());
        assert!(p("a)", &["a"]).is_err());
        assert!(p("()", &["a"]).is_err());
    }

    #[test]
    fn keywords_ignore_case_but_names_do_not() {
        assert!(holds("A AND NOT b", &["A", "b"], &[true, false]));
        assert!(holds("1 OF sel* Or x", &["sel1", "x"], &[false, true]));
        assert_eq!(
            p("Selection", &["selection"]),
            Err(ParseConditionError::Invalid(
                ConditionError::UndefinedSelection("Selection".into())
            ))
        );
    }

    #[test]
    fn one_of_any_of_all_of_and_n_of() {
        let list = ["sel_a", "sel_b", "sel_c", "filter"];
        assert!(holds("1 of sel_*", &list, &[false, true, false, false]));
        assert!(holds("any of sel_*", &list, &[false, false, true, false]));
        assert!(!holds("1 of sel_*", &list, &[false, false, false, true]));
        assert!(holds("all of sel_*", &list, &[true, true, true, false]));
        assert!(!holds("all of sel_*", &list, &[true, false, true, true]));
        assert!(holds("2 of sel_*", &list, &[true, false, true, false]));
        assert!(!holds("2 of sel_*", &list, &[true, false, false, true]));
        assert!(holds(
            "1 of sel_? and not filter",
            &list,
            &[true, false, false, false]
        ));
        assert_eq!(
            p("4 of sel_*", &list),
            Err(ParseConditionError::Invalid(ConditionError::BadCount {
                count: 4,
                pattern: "sel_*".into(),
                available: 3
            }))
        );
        assert!(p("0 of sel_*", &list).is_err());
        assert!(p("1 of nothing*", &list).is_err());
        assert!(p("1 sel_a", &list).is_err());
        assert!(p("all sel_a", &list).is_err());
        // A plain name after `of` names that one selection.
        assert!(holds("1 of filter", &list, &[false, false, false, true]));
    }

    #[test]
    fn them_excludes_underscore_selections() {
        let list = ["a", "_helper", "b"];
        assert_eq!(
            p("all of them", &list).unwrap(),
            Condition::Of {
                min: 2,
                selections: vec![0, 2]
            }
        );
        assert!(holds("all of them", &list, &[true, false, true]));
        assert!(!holds("1 of them", &list, &[false, true, false]));
        // Named explicitly, an underscore selection is used.
        assert!(holds("1 of _*", &list, &[false, true, false]));
        assert!(p("1 of them", &["_only"]).is_err());
    }

    #[test]
    fn aggregations_are_refused() {
        for c in [
            "selection | count() > 5",
            "selection | count(x) by y > 2",
            "selection | near other",
            "sel near other",
        ] {
            assert_eq!(
                p(c, &["selection", "other", "sel"]),
                Err(ParseConditionError::Aggregation),
                "{c}"
            );
        }
    }

    #[test]
    fn malformed_conditions_are_refused() {
        let list = ["a", "b"];
        for c in [
            "",
            "   ",
            "a and",
            "and a",
            "a b",
            "not",
            "a or or b",
            "a & b",
            "sel*",
        ] {
            assert!(p(c, &list).is_err(), "{c:?}");
        }
        assert_eq!(
            p("a and c", &list),
            Err(ParseConditionError::Invalid(
                ConditionError::UndefinedSelection("c".into())
            ))
        );
        assert_eq!(
            p("sel*", &["sel1"]),
            Err(ParseConditionError::Invalid(ConditionError::BareWildcard(
                "sel*".into()
            )))
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let c = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(p(&c, &["a"]).is_err());
        let c = format!("{}a", "not ".repeat(10_000));
        assert!(p(&c, &["a"]).is_err());
    }

    #[test]
    fn name_patterns() {
        assert!(name_matches("sel*", "selection"));
        assert!(name_matches("sel*", "sel"));
        assert!(name_matches("*_x", "a_b_x"));
        assert!(name_matches("a?c", "abc"));
        assert!(!name_matches("a?c", "ac"));
        assert!(name_matches("*", ""));
        assert!(name_matches("a*b*c", "aXbYbZc"));
        assert!(!name_matches("a*b*c", "aXbYbZ"));
        assert!(!name_matches("Sel*", "selection"));
    }
}
