//! Sigma's rule levels.

use std::fmt;
use std::str::FromStr;

/// How serious a finding of the rule is. Ordered from `Informational` (lowest) to `Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    /// Informational.
    Informational,
    /// Low.
    Low,
    /// Medium: the default when a rule has no `level`.
    #[default]
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Level {
    /// All levels, lowest first.
    pub const ALL: [Level; 5] = [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];

    /// One step down (an attempt is reported one level lower); `Informational` stays.
    #[must_use]
    pub fn lower(self) -> Level {
        match self {
            Level::Critical => Level::High,
            Level::High => Level::Medium,
            Level::Medium => Level::Low,
            Level::Low | Level::Informational => Level::Informational,
        }
    }

    /// The lowercase name, as in a rule file.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A level name that is not one of Sigma's five.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown level `{0}`: use informational, low, medium, high or critical")]
pub struct ParseLevelError(pub String);

impl FromStr for Level {
    type Err = ParseLevelError;

    /// Parses a level name, ignoring case.
    fn from_str(s: &str) -> Result<Level, ParseLevelError> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseLevelError(s.to_owned()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn levels_order_display_parse_and_lower() {
        assert!(Level::Informational < Level::Low && Level::High < Level::Critical);
        for l in Level::ALL {
            assert_eq!(l.to_string().parse::<Level>(), Ok(l));
        }
        assert_eq!("HIGH".parse::<Level>(), Ok(Level::High));
        assert!("severe".parse::<Level>().is_err());
        assert_eq!(Level::Critical.lower(), Level::High);
        assert_eq!(Level::Low.lower(), Level::Informational);
        assert_eq!(Level::Informational.lower(), Level::Informational);
        assert_eq!(Level::default(), Level::Medium);
    }
}
