//! Shell-style globs for principal ARNs, role and session names, user agents and regions:
//! `*` matches any run of characters (`/` and `:` included), `?` exactly one; everything else
//! matches itself, case-sensitively (IAM names and ARNs are case-sensitive in CloudTrail).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A compiled glob.
#[derive(Clone, PartialEq, Eq)]
pub struct Glob {
    text: String,
}

/// The longest glob accepted: config text, but no reason to be large.
const MAX_GLOB_CHARS: usize = 1024;

impl Glob {
    /// A glob from its text. Fails on an empty pattern or one longer than 1,024 characters.
    pub fn new(text: &str) -> Result<Glob, String> {
        if text.is_empty() {
            return Err("an empty pattern matches nothing: remove it".to_owned());
        }
        if text.chars().count() > MAX_GLOB_CHARS {
            return Err(format!("pattern longer than {MAX_GLOB_CHARS} characters"));
        }
        Ok(Glob {
            text: text.to_owned(),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern has a wildcard.
    pub fn is_literal(&self) -> bool {
        !self.text.contains(['*', '?'])
    }

    /// Whether the pattern is only wildcards (it matches anything, or anything of some length).
    pub fn is_only_wildcards(&self) -> bool {
        self.text.chars().all(|c| c == '*' || c == '?')
    }

    /// Whether `s` matches the whole pattern. Linear in `pattern × s` at worst: the classic
    /// two-pointer algorithm, which backtracks only to the last `*`, so attacker-chosen input
    /// (a user agent) cannot make it blow up.
    pub fn matches(&self, s: &str) -> bool {
        let p: Vec<char> = self.text.chars().collect();
        let s: Vec<char> = s.chars().collect();
        let (mut pi, mut si) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while si < s.len() {
            match p.get(pi) {
                Some('*') => {
                    star = Some((pi, si));
                    pi += 1;
                }
                Some(&c) if c == '?' || c == s[si] => {
                    pi += 1;
                    si += 1;
                }
                _ => match star {
                    Some((sp, ss)) => {
                        pi = sp + 1;
                        si = ss + 1;
                        star = Some((sp, ss + 1));
                    }
                    None => return false,
                },
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Glob::new(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Glob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Glob::new(p).unwrap().matches(s)
    }

    #[test]
    fn wildcards() {
        assert!(m(
            "arn:aws:iam::*:role/terraform-*",
            "arn:aws:iam::111122223333:role/terraform-apply"
        ));
        assert!(!m(
            "arn:aws:iam::*:role/terraform-*",
            "arn:aws:iam::111122223333:role/admin"
        ));
        assert!(m("us-*-1", "us-east-1"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*", ""));
        assert!(m("exact", "exact"));
        assert!(!m("exact", "exact-not"));
        assert!(!m("Terraform*", "terraform/1.9"), "case-sensitive");
        assert!(m("**a", "a"));
    }

    #[test]
    fn hostile_input_is_linear() {
        let s = "a".repeat(20_000);
        let started = std::time::Instant::now();
        assert!(!m("*a*a*a*a*a*a*a*a*b", &s));
        assert!(started.elapsed().as_secs() < 5);
    }

    #[test]
    fn refuses_empty() {
        assert!(Glob::new("").is_err());
        assert!(Glob::new(&"x".repeat(2000)).is_err());
    }
}
