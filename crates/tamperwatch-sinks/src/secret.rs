//! Secrets that never print, and references to where they are kept.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A secret as configured: the value itself, or a reference to SSM Parameter Store
/// (`ssm:/path`) or Secrets Manager (`secretsmanager:NAME-OR-ARN`). `Debug` and `Display`
/// show a reference (not secret) but never a value.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// The value, given inline.
    Value(SecretValue),
    /// An SSM parameter name, read with decryption.
    Ssm(String),
    /// A Secrets Manager secret id (name or ARN); its `SecretString` is the value.
    SecretsManager(String),
}

impl Secret {
    /// Parses `ssm:...`, `secretsmanager:...`, or takes the text as the value.
    pub fn parse(s: &str) -> Secret {
        if let Some(name) = s.strip_prefix("ssm:") {
            Secret::Ssm(name.to_owned())
        } else if let Some(id) = s.strip_prefix("secretsmanager:") {
            Secret::SecretsManager(id.to_owned())
        } else {
            Secret::Value(SecretValue::new(s.to_owned()))
        }
    }

    /// Whether resolving it needs AWS.
    pub fn is_reference(&self) -> bool {
        !matches!(self, Secret::Value(_))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Value(_) => f.write_str("<redacted>"),
            Secret::Ssm(name) => write!(f, "ssm:{name}"),
            Secret::SecretsManager(id) => write!(f, "secretsmanager:{id}"),
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Secret::parse(&s))
    }
}

/// A secret's value. `Debug` and `Display` print `<redacted>`; [`SecretValue::expose`] is the
/// only way to the text, so every use is greppable.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a value.
    pub fn new(value: String) -> Self {
        SecretValue(value)
    }

    /// The text. Never log it, never put it in an error.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_a_value() {
        let s = Secret::parse("hunter2");
        assert_eq!(format!("{s} {s:?}"), "<redacted> <redacted>");
        let Secret::Value(v) = &s else { panic!() };
        assert_eq!(format!("{v} {v:?}"), "<redacted> <redacted>");
        assert_eq!(v.expose(), "hunter2");
        assert_eq!(Secret::parse("ssm:/tw/slack").to_string(), "ssm:/tw/slack");
        assert_eq!(
            Secret::parse("secretsmanager:tw/pd"),
            Secret::SecretsManager("tw/pd".into())
        );
    }
}
