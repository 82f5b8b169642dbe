//! Why a rule was refused.

/// A rule file that was refused: which file, and what is wrong with it.
///
/// Displays as `ORIGIN: REASON`, for example
/// `rules/x.yml: selection `selection`: field `eventName|startwith`: unknown modifier `startwith``.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{origin}: {reason}")]
pub struct LoadRuleError {
    origin: String,
    reason: Refusal,
}

impl LoadRuleError {
    pub(crate) fn new(origin: &str, reason: Refusal) -> LoadRuleError {
        LoadRuleError {
            origin: origin.to_owned(),
            reason,
        }
    }

    /// The file (or other origin) the rule came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// What is wrong.
    pub fn reason(&self) -> &Refusal {
        &self.reason
    }

    /// Whether the rule uses a Sigma feature tamperwatch does not support (as opposed to a
    /// rule that is invalid Sigma).
    pub fn is_unsupported(&self) -> bool {
        match &self.reason {
            Refusal::MultipleDocuments
            | Refusal::Collection(_)
            | Refusal::Correlation
            | Refusal::UnsupportedCorrelation(_)
            | Refusal::Aggregation => true,
            Refusal::Selection { error, .. } => match error {
                SelectionError::UnsupportedModifier { .. } => true,
                // Valid PCRE that the linear-time regex engine does not run. The regex crate
                // reports these only as text.
                SelectionError::InvalidRegex { message, .. } => {
                    message.contains("look-around") || message.contains("backreferences")
                }
                _ => false,
            },
            _ => false,
        }
    }
}

/// What is wrong with a refused rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The text is not valid YAML.
    #[error("not valid YAML: {0}")]
    Yaml(String),
    /// The file holds more than one YAML document.
    #[error(
        "the file holds several YAML documents (`---`): rule collections are not supported, \
         write one rule per file"
    )]
    MultipleDocuments,
    /// A rule collection action (`action: global`, `reset`, `repeat`).
    #[error("`action: {0}` (rule collections) is not supported: write one rule per file")]
    Collection(String),
    /// A correlation rule given where one detection rule was expected.
    #[error(
        "a correlation rule (`correlation:`) is not a detection rule: load it with \
         load_documents or a rule set"
    )]
    Correlation,
    /// A correlation rule that is not valid.
    #[error("{0}")]
    InvalidCorrelation(String),
    /// A correlation rule that uses something tamperwatch does not evaluate.
    #[error("{0}")]
    UnsupportedCorrelation(String),
    /// An unquoted `yes`/`no`/`on`/`off`/`y`/`n` in the detection: a boolean in YAML 1.1 (read
    /// by pySigma), a string in YAML 1.2.
    #[error(
        "`{path}`: the unquoted value `{value}` is a boolean in YAML 1.1 (pySigma) but a string in \
         YAML 1.2: quote it ('{value}') or write true/false"
    )]
    AmbiguousScalar {
        /// Where, as a dotted path from the top of the rule.
        path: String,
        /// The value as written.
        value: String,
    },
    /// The document is not a mapping of keys.
    #[error("a rule must be a YAML mapping (title, detection, ...), not {0}")]
    NotAMapping(&'static str),
    /// A required key is absent.
    #[error("required key `{0}` is missing")]
    MissingKey(&'static str),
    /// A key has a value of the wrong kind.
    #[error("`{key}` must be {expected}")]
    WrongType {
        /// The key, as a dotted path from the top of the rule.
        key: String,
        /// What it must be.
        expected: &'static str,
    },
    /// `level` is not one of Sigma's levels.
    #[error("unknown level `{0}`: use informational, low, medium, high or critical")]
    UnknownLevel(String),
    /// The `tests` block is malformed.
    #[error("`tests`: {0}")]
    Tests(String),
    /// Aggregations (`| count() > 5`, `near`, `timeframe`).
    #[error("aggregation (old syntax) is not supported; use a correlation rule")]
    Aggregation,
    /// The detection has no selection.
    #[error("`detection` has no selection (only a condition)")]
    NoSelection,
    /// The condition does not parse or names something that does not exist.
    #[error("condition `{condition}`: {error}")]
    Condition {
        /// The condition as written.
        condition: String,
        /// What is wrong with it.
        error: ConditionError,
    },
    /// A selection is malformed or uses something unsupported.
    #[error("selection `{selection}`: {error}")]
    Selection {
        /// The selection's name.
        selection: String,
        /// What is wrong with it.
        error: SelectionError,
    },
}

/// What is wrong with a selection.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SelectionError {
    /// A modifier that does not exist in Sigma.
    #[error("field `{field}`: unknown modifier `{modifier}`")]
    UnknownModifier {
        /// The field key as written (`name|modifiers`).
        field: String,
        /// The unknown modifier.
        modifier: String,
    },
    /// A Sigma modifier tamperwatch does not support.
    #[error("field `{field}`: modifier `{modifier}` is not supported: {why}")]
    UnsupportedModifier {
        /// The field key as written.
        field: String,
        /// The modifier.
        modifier: String,
        /// Why it is not supported.
        why: &'static str,
    },
    /// Modifiers that cannot be combined, or in the wrong order.
    #[error("field `{field}`: {problem}")]
    InvalidModifiers {
        /// The field key as written.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// A value that does not fit the field's modifiers.
    #[error("field `{field}`: {problem}")]
    InvalidValue {
        /// The field key as written.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// A `|re` value that is not a regular expression this engine runs (look-around and
    /// backreferences are not supported).
    #[error("field `{field}`: unsupported or invalid regular expression `{pattern}`: {message}")]
    InvalidRegex {
        /// The field key as written.
        field: String,
        /// The regular expression.
        pattern: String,
        /// The regex engine's explanation.
        message: String,
    },
    /// A `|cidr` value that is not a network.
    #[error(
        "field `{field}`: `{value}` is not a CIDR network (such as 10.0.0.0/8 or 2001:db8::/32)"
    )]
    InvalidCidr {
        /// The field key as written.
        field: String,
        /// The value.
        value: String,
    },
    /// The selection is not a mapping, a list of mappings, or a list of keywords.
    #[error("{0}")]
    Shape(String),
}

/// What is wrong with a condition.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConditionError {
    /// The condition is empty.
    #[error("the condition is empty")]
    Empty,
    /// A character that has no meaning in a condition.
    #[error("unexpected character `{0}`")]
    UnexpectedChar(char),
    /// A word in the wrong place.
    #[error("unexpected `{found}` where {expected} was expected")]
    Unexpected {
        /// What was found.
        found: String,
        /// What would have fit.
        expected: &'static str,
    },
    /// The condition ends too early.
    #[error("the condition ends where {0} was expected")]
    UnexpectedEnd(&'static str),
    /// A name that is not a selection of the rule.
    #[error("`{0}` is not a selection of this rule")]
    UndefinedSelection(String),
    /// A wildcard name outside `1 of` / `all of`.
    #[error("`{0}`: wildcard names are only allowed after `1 of`, `any of`, `N of` or `all of`")]
    BareWildcard(String),
    /// `1 of PATTERN` where no selection matches the pattern.
    #[error("`{0}` matches no selection")]
    NoMatchingSelection(String),
    /// `N of PATTERN` with N larger than the number of matching selections, or zero.
    #[error("`{count} of {pattern}`: {pattern} names {available} selections")]
    BadCount {
        /// N.
        count: usize,
        /// The pattern.
        pattern: String,
        /// How many selections it names.
        available: usize,
    },
}

/// Names a JSON value's kind for messages.
pub(crate) fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a mapping",
    }
}

/// A rule id that is already in the rule set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushRuleError {
    /// Two rules with one id.
    #[error("{origin}: rule id `{id}` is already used by {first}")]
    DuplicateId {
        /// The id.
        id: String,
        /// Where the refused rule came from.
        origin: String,
        /// Where the rule already in the set came from.
        first: String,
    },
    /// The rule set is full (more than `u32::MAX` rules).
    #[error("{0}: the rule set is full")]
    Full(String),
}
