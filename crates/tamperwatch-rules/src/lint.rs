//! `rules lint`: the mistakes that make a CloudTrail rule silently miss.
//!
//! A rule that names an event source or event name CloudTrail never writes loads, runs and
//! never fires; nothing tells its author. [`lint`] looks at one rule file and reports, per rule:
//! - a rule the engine refuses (unknown modifier, bad condition, ...), as an error;
//! - an `eventSource` that is not `*.amazonaws.com`, or a known wrong one
//!   (`eventbridge.amazonaws.com` for `events.amazonaws.com`, `macie2.amazonaws.de`, ...);
//! - an `eventName` CloudTrail does not record (`PutLifecycleConfiguration` for the recorded
//!   `PutBucketLifecycle`, translated verbs such as `DeaktivierenMacie`, Lambda names without
//!   their API version suffix) or that cannot be an API name (spaces, non-ASCII, ...);
//! - a field that is not a CloudTrail record field (`eventname`, `detail.eventName`, ...);
//! - no `eventSource` pin (event names collide across services), and a rule no index can
//!   prefilter (fully evaluated on every record).
//!
//! A rule may silence a warning it has a reason for with tamperwatch's own `lint-allow` key,
//! a list of check names (`lint-allow: [no-event-source-pin]`); errors cannot be silenced.

use std::fmt;

use crate::prefilter::Prefilter;
use crate::rule::{Rule, parse_yaml, split_documents};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The rule works, but slowly or fragilely.
    Warning,
    /// The rule is refused, or misses what it means to catch.
    Error,
}

impl Severity {
    /// `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a lint check looks for. Its name ([`Check::as_str`]) is what `lint-allow` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Check {
    /// The engine refuses the rule.
    Refused,
    /// An `eventSource` CloudTrail never writes.
    EventSource,
    /// An `eventName` CloudTrail never writes.
    EventName,
    /// An `eventName` that cannot be an API operation's name.
    EventNameShape,
    /// A field that is not in a CloudTrail record.
    UnknownField,
    /// No `eventSource` pin.
    NoEventSourcePin,
    /// No key the index can use: evaluated on every record.
    NoPrefilter,
    /// A malformed `lint-allow` key.
    LintAllow,
    /// A correlation that silences its base rules (`generate: false`).
    SilencedRules,
}

impl Check {
    /// The check's name, as written in `lint-allow` and in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Refused => "refused",
            Check::EventSource => "event-source",
            Check::EventName => "event-name",
            Check::EventNameShape => "event-name-shape",
            Check::UnknownField => "unknown-field",
            Check::NoEventSourcePin => "no-event-source-pin",
            Check::NoPrefilter => "no-prefilter",
            Check::LintAllow => "lint-allow",
            Check::SilencedRules => "silenced-rules",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// How bad.
    pub severity: Severity,
    /// Which check.
    pub check: Check,
    /// The file (or other origin).
    pub origin: String,
    /// The rule: its id, else its title, else its position in the file (`document 2`).
    pub rule: String,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} [{}]: {}: {}",
            self.origin, self.severity, self.check, self.rule, self.message
        )
    }
}

/// Known wrong event sources, each with the one CloudTrail writes.
pub const WRONG_EVENT_SOURCES: &[(&str, &str)] = &[
    ("eventbridge.amazonaws.com", "events.amazonaws.com"),
    ("cloudwatch.amazonaws.com", "monitoring.amazonaws.com"),
    ("cloudwatchlogs.amazonaws.com", "logs.amazonaws.com"),
    (
        "accessanalyzer.amazonaws.com",
        "access-analyzer.amazonaws.com",
    ),
    ("organization.amazonaws.com", "organizations.amazonaws.com"),
    (
        "route53-resolver.amazonaws.com",
        "route53resolver.amazonaws.com",
    ),
    ("firewallmanager.amazonaws.com", "fms.amazonaws.com"),
    ("macie2.amazonaws.de", "macie2.amazonaws.com"),
    ("inspektor.amazonaws.de", "inspector2.amazonaws.com"),
    ("inspektor.amazonaws.com", "inspector2.amazonaws.com"),
    ("waf.amazonaws.de", "wafv2.amazonaws.com"),
];

/// Known wrong event names, each with the one CloudTrail records.
pub const WRONG_EVENT_NAMES: &[(&str, &str)] = &[
    // S3 records the bucket sub-resource, not the API operation's name.
    ("PutLifecycleConfiguration", "PutBucketLifecycle"),
    ("PutBucketLifecycleConfiguration", "PutBucketLifecycle"),
    (
        "DeleteBucketLifecycleConfiguration",
        "DeleteBucketLifecycle",
    ),
    ("DeleteLifecycleConfiguration", "DeleteBucketLifecycle"),
    ("PutEncryptionConfiguration", "PutBucketEncryption"),
    ("PutReplicationConfiguration", "PutBucketReplication"),
    // Translations of the original seed document.
    ("DeaktivierenMacie", "DisableMacie"),
    // Near misses of the catalog's own names.
    ("StopConfigRecorder", "StopConfigurationRecorder"),
    ("DeleteConfigRecorder", "DeleteConfigurationRecorder"),
    ("DeleteFlowLog", "DeleteFlowLogs"),
    ("DeleteAlarm", "DeleteAlarms"),
];

/// Lambda event names carry the API version they were called with; without it they never
/// match. Only checked when the rule pins `eventSource: lambda.amazonaws.com` (`AddPermission`
/// and `RemovePermission` are also SNS names, without a suffix).
pub const LAMBDA_EVENT_NAMES: &[(&str, &str)] = &[
    ("AddPermission", "AddPermission20150331v2"),
    (
        "CreateEventSourceMapping",
        "CreateEventSourceMapping20150331",
    ),
    ("CreateFunction", "CreateFunction20150331"),
    (
        "DeleteEventSourceMapping",
        "DeleteEventSourceMapping20150331",
    ),
    ("DeleteFunction", "DeleteFunction20150331"),
    ("GetFunction", "GetFunction20150331v2"),
    (
        "GetFunctionConfiguration",
        "GetFunctionConfiguration20150331v2",
    ),
    ("ListFunctions", "ListFunctions20150331"),
    ("PutFunctionConcurrency", "PutFunctionConcurrency20171031"),
    ("RemovePermission", "RemovePermission20150331v2"),
    (
        "UpdateEventSourceMapping",
        "UpdateEventSourceMapping20150331",
    ),
    ("UpdateFunctionCode", "UpdateFunctionCode20150331v2"),
    (
        "UpdateFunctionConfiguration",
        "UpdateFunctionConfiguration20150331v2",
    ),
];

/// Translated verbs (German, from the original seed document) and the English API verb.
pub const TRANSLATED_VERBS: &[(&str, &str)] = &[
    ("Deaktivieren", "Disable"),
    ("Aktivieren", "Enable"),
    ("Löschen", "Delete"),
    ("Loeschen", "Delete"),
    ("Stoppen", "Stop"),
    ("Starten", "Start"),
    ("Erstellen", "Create"),
    ("Aktualisieren", "Update"),
    ("Entfernen", "Remove"),
];

/// The top-level fields of a CloudTrail record.
pub const RECORD_FIELDS: &[&str] = &[
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "requestID",
    "eventID",
    "eventType",
    "apiVersion",
    "managementEvent",
    "readOnly",
    "resources",
    "recipientAccountId",
    "serviceEventDetails",
    "sharedEventID",
    "vpcEndpointId",
    "vpcEndpointAccountId",
    "eventCategory",
    "addendum",
    "sessionCredentialFromConsole",
    "edgeDeviceDetails",
    "tlsDetails",
    "insightDetails",
];

/// Fields whose content is free-form (each service's own): any path below them is accepted.
pub const FREE_FORM_FIELDS: &[&str] = &[
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "serviceEventDetails",
    "addendum",
    "edgeDeviceDetails",
    "insightDetails",
    "resources",
    "tlsDetails",
];

/// The fields of `userIdentity`; the paths below `sessionContext` and `onBehalfOf` are not
/// checked.
pub const USER_IDENTITY_FIELDS: &[&str] = &[
    "type",
    "principalId",
    "arn",
    "accountId",
    "accessKeyId",
    "userName",
    "sessionContext",
    "invokedBy",
    "identityProvider",
    "credentialId",
    "onBehalfOf",
    "inScopeOf",
];

/// The key a rule lists its silenced checks under.
pub const LINT_ALLOW_KEY: &str = "lint-allow";

/// Lints one rule file (one or several YAML documents). `origin` names the file in the
/// diagnostics. Diagnostics come in document order, errors and warnings mixed.
pub fn lint(text: &str, origin: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let docs = split_documents(text);
    let several = docs.len() > 1;
    for (n, doc) in docs.iter().enumerate() {
        let position = if several {
            format!("document {}", n + 1)
        } else {
            String::new()
        };
        lint_document(doc, origin, &position, &mut out);
    }
    out
}

fn lint_document(text: &str, origin: &str, position: &str, out: &mut Vec<Diagnostic>) {
    let raw = parse_yaml(text).ok();
    let raw_map = raw.as_ref().and_then(serde_json::Value::as_object);
    let name = raw_map
        .and_then(|m| {
            m.get("id")
                .or_else(|| m.get("title"))
                .and_then(serde_json::Value::as_str)
        })
        .map(str::to_owned)
        .unwrap_or_else(|| {
            if position.is_empty() {
                "the rule".to_owned()
            } else {
                position.to_owned()
            }
        });
    let mut found = Vec::new();
    let mut push = |severity, check, message: String| {
        found.push(Diagnostic {
            severity,
            check,
            origin: origin.to_owned(),
            rule: name.clone(),
            message,
        });
    };
    if raw_map.is_some_and(|m| m.contains_key("correlation")) {
        crate::correlation::lint(text, origin, &mut push);
        let allowed = raw_map
            .and_then(|m| m.get(LINT_ALLOW_KEY))
            .and_then(|v| allow_list(v).ok())
            .unwrap_or_default();
        found.retain(|d| d.severity == Severity::Error || !allowed.contains(&d.check.as_str()));
        out.append(&mut found);
        return;
    }
    let rule = match Rule::from_yaml(text, origin) {
        Ok(rule) => rule,
        Err(e) => {
            push(Severity::Error, Check::Refused, e.reason().to_string());
            out.append(&mut found);
            return;
        }
    };
    let allowed = match raw_map.and_then(|m| m.get(LINT_ALLOW_KEY)) {
        None => Vec::new(),
        Some(v) => match allow_list(v) {
            Ok(list) => list,
            Err(message) => {
                push(Severity::Error, Check::LintAllow, message);
                Vec::new()
            }
        },
    };
    if let Some(detection) = raw_map
        .and_then(|m| m.get("detection"))
        .and_then(|d| d.as_object())
    {
        let pinned_sources = rule.event_sources().unwrap_or_default();
        let lambda = pinned_sources
            .iter()
            .any(|s| s.eq_ignore_ascii_case("lambda.amazonaws.com"));
        // Every eventName value of the rule: a bare Lambda name is fine when the rule also
        // matches it with a version suffix (old records carry none).
        let all_names: Vec<String> = detection
            .iter()
            .filter(|(selection, _)| *selection != "condition")
            .flat_map(|(_, value)| field_items(value))
            .filter(|(key, _)| key.split('|').next() == Some("eventName"))
            .flat_map(|(_, values)| values)
            .map(str::to_lowercase)
            .collect();
        let lambda = lambda.then_some(all_names.as_slice());
        for (selection, value) in detection {
            if selection == "condition" {
                continue;
            }
            for (key, values) in field_items(value) {
                check_field_item(selection, key, &values, lambda, &mut push);
            }
        }
    }
    for field in rule.fields() {
        if let Some(problem) = unknown_field(field) {
            push(
                Severity::Warning,
                Check::UnknownField,
                format!("`fields`: {problem}"),
            );
        }
    }
    if rule.event_sources().is_none() {
        push(
            Severity::Warning,
            Check::NoEventSourcePin,
            "no eventSource pin: event names collide across services (DeleteDetector, \
             DeletePolicy, Disable, ...); add `eventSource: <service>.amazonaws.com`"
                .to_owned(),
        );
    }
    if rule.prefilter() == &Prefilter::Always {
        push(
            Severity::Warning,
            Check::NoPrefilter,
            "no index can prefilter this rule (no plain eventName, eventSource or \
             userIdentity.type value, nor eventName prefix, every match must have): it is fully \
             evaluated on every record, which is slow"
                .to_owned(),
        );
    }
    found.retain(|d| d.severity == Severity::Error || !allowed.contains(&d.check.as_str()));
    out.append(&mut found);
}

/// The check names of a `lint-allow` value.
fn allow_list(v: &serde_json::Value) -> Result<Vec<&'static str>, String> {
    const ALLOWABLE: [Check; 4] = [
        Check::NoEventSourcePin,
        Check::NoPrefilter,
        Check::UnknownField,
        Check::SilencedRules,
    ];
    let items: Vec<&serde_json::Value> = match v {
        serde_json::Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    items
        .into_iter()
        .map(|item| {
            let name = item.as_str().unwrap_or_default();
            ALLOWABLE
                .iter()
                .find(|c| c.as_str() == name)
                .map(|c| c.as_str())
                .ok_or_else(|| {
                    format!(
                        "`{LINT_ALLOW_KEY}`: `{}` is not a warning that can be silenced (use {})",
                        item.as_str()
                            .map_or_else(|| item.to_string(), str::to_owned),
                        ALLOWABLE.map(Check::as_str).join(", ")
                    )
                })
        })
        .collect()
}

/// Every `field|modifiers` key of a selection with its string values.
fn field_items(selection: &serde_json::Value) -> Vec<(&str, Vec<&str>)> {
    let maps: Vec<&serde_json::Map<String, serde_json::Value>> = match selection {
        serde_json::Value::Object(m) => vec![m],
        serde_json::Value::Array(items) => items.iter().filter_map(|i| i.as_object()).collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for map in maps {
        for (key, value) in map {
            let values = match value {
                serde_json::Value::String(s) => vec![s.as_str()],
                serde_json::Value::Array(items) => {
                    items.iter().filter_map(serde_json::Value::as_str).collect()
                }
                _ => Vec::new(),
            };
            out.push((key.as_str(), values));
        }
    }
    out
}

fn check_field_item(
    selection: &str,
    key: &str,
    values: &[&str],
    lambda: Option<&[String]>,
    push: &mut impl FnMut(Severity, Check, String),
) {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default();
    let modifiers: Vec<&str> = parts.collect();
    let at = format!("selection `{selection}`, field `{key}`");
    if let Some(problem) = unknown_field(field) {
        push(
            Severity::Error,
            Check::UnknownField,
            format!("{at}: {problem}"),
        );
    }
    if modifiers.contains(&"fieldref") {
        for v in values {
            if let Some(problem) = unknown_field(v) {
                push(
                    Severity::Error,
                    Check::UnknownField,
                    format!("{at}: fieldref {problem}"),
                );
            }
        }
    }
    // Regular expressions, encodings and comparisons are not names.
    let textual = modifiers.iter().all(|m| {
        matches!(
            *m,
            "contains" | "startswith" | "endswith" | "all" | "cased" | "exists"
        )
    });
    if !textual || modifiers.contains(&"exists") {
        return;
    }
    let exact = modifiers.iter().all(|m| matches!(*m, "all" | "cased"));
    match field {
        "eventSource" => {
            for v in values {
                if let Some(problem) = event_source_problem(v) {
                    push(
                        Severity::Error,
                        Check::EventSource,
                        format!("{at}: {problem}"),
                    );
                }
            }
        }
        "eventName" => {
            for v in values {
                for (severity, check, problem) in event_name_problems(v, exact, lambda) {
                    push(severity, check, format!("{at}: {problem}"));
                }
            }
        }
        _ => {}
    }
}

/// Why `field` (a dotted path) is not a CloudTrail record field, if it is not.
pub fn unknown_field(field: &str) -> Option<String> {
    let mut parts = field.split('.');
    let top = parts.next().unwrap_or_default();
    if RECORD_FIELDS.contains(&top) {
        if top == "userIdentity"
            && let Some(sub) = parts.next()
            && !USER_IDENTITY_FIELDS.contains(&sub)
        {
            let hint = USER_IDENTITY_FIELDS
                .iter()
                .find(|f| f.eq_ignore_ascii_case(sub))
                .map(|f| format!(" (field names are case-sensitive: userIdentity.{f})"))
                .unwrap_or_default();
            return Some(format!(
                "`{field}`: `{sub}` is not a field of userIdentity{hint}"
            ));
        }
        let free = FREE_FORM_FIELDS.contains(&top) || top == "userIdentity";
        if !free && parts.next().is_some() {
            return Some(format!("`{field}`: `{top}` has no fields below it"));
        }
        return None;
    }
    let hint = if let Some(known) = RECORD_FIELDS.iter().find(|f| f.eq_ignore_ascii_case(top)) {
        format!(" (field names are case-sensitive: {known})")
    } else if top == "detail" {
        let rest = field.strip_prefix("detail.").unwrap_or_default();
        format!(" (rules see the record without its EventBridge envelope: write `{rest}`)")
    } else if matches!(
        top,
        "source" | "detail-type" | "account" | "region" | "time" | "id"
    ) {
        " (an EventBridge envelope field: rules see the CloudTrail record only)".to_owned()
    } else {
        String::new()
    };
    Some(format!(
        "`{field}` is not a CloudTrail record field{hint}: the rule never sees a value there"
    ))
}

/// Why an `eventSource` value is not one CloudTrail writes, with the correction.
pub fn event_source_problem(value: &str) -> Option<String> {
    let lower = value.to_lowercase();
    if let Some((_, right)) = WRONG_EVENT_SOURCES
        .iter()
        .find(|(wrong, _)| wrong.eq_ignore_ascii_case(value))
    {
        return Some(format!(
            "eventSource `{value}` is not one CloudTrail writes: use `{right}`"
        ));
    }
    if lower.ends_with(".amazonaws.com") || lower.ends_with('*') {
        return None;
    }
    if let Some(i) = lower.find(".amazonaws.") {
        let service = &value[..i];
        return Some(format!(
            "eventSource `{value}`: every CloudTrail event source ends in `.amazonaws.com`: use \
             `{service}.amazonaws.com`"
        ));
    }
    if let Some(service) = lower.strip_prefix("aws.") {
        return Some(format!(
            "eventSource `{value}` is an EventBridge `source`, not a CloudTrail eventSource: \
             use `{service}.amazonaws.com`"
        ));
    }
    let suggestion =
        if value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') && !value.is_empty() {
            format!(": use `{lower}.amazonaws.com`")
        } else {
            String::new()
        };
    Some(format!(
        "eventSource `{value}` is not `<service>.amazonaws.com`{suggestion}"
    ))
}

/// What is wrong with an `eventName` value. `exact` when the rule compares the whole name
/// (no `contains`/`startswith`/`endswith`); `lambda` when the rule pins Lambda's source, with
/// every eventName value of the rule (lowercase): a bare Lambda name is only wrong when none of
/// them is the same name with a version suffix.
pub fn event_name_problems(
    value: &str,
    exact: bool,
    lambda: Option<&[String]>,
) -> Vec<(Severity, Check, String)> {
    let mut out = Vec::new();
    if let Some((_, right)) = WRONG_EVENT_NAMES
        .iter()
        .find(|(wrong, _)| wrong.eq_ignore_ascii_case(value))
    {
        out.push((
            Severity::Error,
            Check::EventName,
            format!("eventName `{value}` is not what CloudTrail records: use `{right}`"),
        ));
        return out;
    }
    let versioned_too = |names: &[String]| {
        let bare = value.to_lowercase();
        names.iter().any(|n| {
            n.strip_prefix(&bare)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
    };
    if let Some(names) = lambda
        && exact
        && !versioned_too(names)
        && let Some((_, right)) = LAMBDA_EVENT_NAMES
            .iter()
            .find(|(wrong, _)| wrong.eq_ignore_ascii_case(value))
    {
        out.push((
            Severity::Error,
            Check::EventName,
            format!(
                "eventName `{value}`: Lambda records its event names with the API version: use \
                 `{right}` (or `eventName|startswith: {value}`)"
            ),
        ));
        return out;
    }
    let trimmed = value.trim_start_matches(['*', '?']);
    if let Some((verb, english)) = TRANSLATED_VERBS
        .iter()
        .find(|(verb, _)| trimmed.to_lowercase().starts_with(&verb.to_lowercase()))
    {
        let rest = trimmed.get(verb.len()..).unwrap_or_default();
        out.push((
            Severity::Error,
            Check::EventName,
            format!(
                "eventName `{value}` is translated: CloudTrail records the English API name \
                 (`{verb}` is `{english}`): use `{english}{rest}`"
            ),
        ));
        return out;
    }
    let literal: String = value.chars().filter(|c| !matches!(c, '*' | '?')).collect();
    if let Some(bad) = literal.chars().find(|c| !c.is_ascii_alphanumeric()) {
        let what = match bad {
            ' ' => "a space".to_owned(),
            c if !c.is_ascii() => format!("the non-ASCII `{c}`"),
            c => format!("`{c}`"),
        };
        out.push((
            Severity::Error,
            Check::EventNameShape,
            format!(
                "eventName `{value}` holds {what}: CloudTrail event names are API operation \
                 names, ASCII letters and digits only (PascalCase, such as StopLogging)"
            ),
        ));
        return out;
    }
    let starts_name = exact || !value.starts_with(['*', '?']);
    if starts_name && literal.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.push((
            Severity::Warning,
            Check::EventNameShape,
            format!(
                "eventName `{value}` starts with a lower-case letter: CloudTrail writes PascalCase \
                 (such as StopLogging); it matches here (case-insensitive) but not in \
                 case-sensitive tools the rule is exported to"
            ),
        ));
    }
    if exact && literal.starts_with(|c: char| c.is_ascii_digit()) {
        out.push((
            Severity::Error,
            Check::EventNameShape,
            format!("eventName `{value}` starts with a digit: no API operation does"),
        ));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn rule(detection: &str) -> String {
        format!("title: t\nid: r1\ndetection:\n{detection}\n")
    }

    fn checks(text: &str) -> Vec<(Severity, Check)> {
        lint(text, "x.yml")
            .into_iter()
            .map(|d| (d.severity, d.check))
            .collect()
    }

    fn messages(text: &str) -> String {
        lint(text, "x.yml")
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    const PINNED: &str = "  sel:\n    eventSource: cloudtrail.amazonaws.com\n    eventName: StopLogging\n  condition: sel";

    #[test]
    fn a_good_rule_is_clean() {
        assert_eq!(checks(&rule(PINNED)), []);
    }

    #[test]
    fn diagnostics_name_file_rule_severity_and_check() {
        let d = lint(
            &rule(
                "  sel:\n    eventSource: eventbridge.amazonaws.com\n    eventName: DeleteRule\n  condition: sel",
            ),
            "my/rules/eb.yml",
        );
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].to_string(),
            "my/rules/eb.yml: error [event-source]: r1: selection `sel`, field `eventSource`: \
             eventSource `eventbridge.amazonaws.com` is not one CloudTrail writes: use \
             `events.amazonaws.com`"
        );
    }

    #[test]
    fn wrong_event_sources_are_errors_with_the_correction() {
        for (wrong, right) in [
            ("eventbridge.amazonaws.com", "events.amazonaws.com"),
            ("macie2.amazonaws.de", "macie2.amazonaws.com"),
            ("inspektor.amazonaws.de", "inspector2.amazonaws.com"),
            ("waf.amazonaws.de", "wafv2.amazonaws.com"),
            ("guardduty.amazonaws.de", "guardduty.amazonaws.com"),
            ("s3.amazonaws.co.uk", "s3.amazonaws.com"),
            ("aws.guardduty", "guardduty.amazonaws.com"),
            ("cloudtrail", "cloudtrail.amazonaws.com"),
            ("cloudwatch.amazonaws.com", "monitoring.amazonaws.com"),
        ] {
            let p = event_source_problem(wrong).expect(wrong);
            assert!(p.contains(&format!("`{right}`")), "{wrong}: {p}");
        }
        assert!(event_source_problem("not a source!").is_some());
        for ok in [
            "events.amazonaws.com",
            "S3.AmazonAWS.com",
            "*.amazonaws.com",
        ] {
            assert_eq!(event_source_problem(ok), None, "{ok}");
        }
        // Also through modifiers and lists.
        let text = rule(
            "  sel:\n    eventSource|endswith: [.amazonaws.de, .amazonaws.com]\n    eventName: X\n  condition: sel",
        );
        assert_eq!(
            checks(&text),
            [
                (Severity::Error, Check::EventSource),
                (Severity::Warning, Check::NoEventSourcePin)
            ]
        );
    }

    #[test]
    fn wrong_event_names_are_errors_with_the_correction() {
        for (wrong, right) in [
            ("PutLifecycleConfiguration", "PutBucketLifecycle"),
            ("DeaktivierenMacie", "DisableMacie"),
            ("LöschenDetector", "DeleteDetector"),
            ("StoppenLogging", "StopLogging"),
            ("deaktivierenSecurityHub", "DisableSecurityHub"),
        ] {
            let p = event_name_problems(wrong, true, None);
            assert_eq!(p.len(), 1, "{wrong}");
            assert_eq!(p[0].0, Severity::Error);
            assert!(
                p[0].2.contains(&format!("`{right}`")),
                "{wrong}: {}",
                p[0].2
            );
        }
        // Wildcards and prefixes of translated names are caught too.
        assert_eq!(event_name_problems("Deaktivieren*", false, None).len(), 1);
        assert_eq!(event_name_problems("*Löschen*", false, None).len(), 1);
    }

    #[test]
    fn lambda_names_need_their_version_suffix_only_under_lambda() {
        let none: &[String] = &[];
        let p = event_name_problems("DeleteFunction", true, Some(none));
        assert!(p[0].2.contains("`DeleteFunction20150331`"), "{p:?}");
        assert!(event_name_problems("RemovePermission", true, None).is_empty());
        assert!(event_name_problems("UpdateFunctionCode", false, Some(none)).is_empty());
        assert!(event_name_problems("UpdateFunctionCode20150331v2", true, Some(none)).is_empty());
        // Bare and suffixed both matched (old records carry no suffix): fine.
        let both = ["deletefunction".to_owned(), "deletefunction20".to_owned()];
        assert!(event_name_problems("DeleteFunction", true, Some(&both)).is_empty());
        let text = rule(
            "  sel:\n    eventSource: lambda.amazonaws.com\n    eventName: [PutFunctionConcurrency, DeleteFunction20150331]\n  condition: sel",
        );
        assert_eq!(checks(&text), [(Severity::Error, Check::EventName)]);
        assert!(messages(&text).contains("PutFunctionConcurrency20171031"));
    }

    #[test]
    fn shapes_that_cannot_be_api_names() {
        let shape = |v: &str, exact| {
            event_name_problems(v, exact, None)
                .into_iter()
                .map(|(s, c, _)| (s, c))
                .collect::<Vec<_>>()
        };
        let err = vec![(Severity::Error, Check::EventNameShape)];
        let warn = vec![(Severity::Warning, Check::EventNameShape)];
        assert_eq!(shape("Stop Logging", true), err);
        assert_eq!(shape("StopLogging ", true), err);
        assert_eq!(shape("Disable_Macie", true), err);
        assert_eq!(shape("s3:PutObject", true), err);
        assert_eq!(shape("DéleteTrail", true), err);
        assert_eq!(shape("1Delete", true), err);
        assert_eq!(shape("stopLogging", true), warn);
        assert_eq!(shape("*logging", false), vec![]);
        assert_eq!(shape("Stop*", false), vec![]);
        assert_eq!(shape("StopLogging", true), vec![]);
        assert_eq!(shape("PutFunctionConcurrency20171031", true), vec![]);
    }

    #[test]
    fn regular_expressions_and_other_modifiers_are_not_names() {
        let text = rule(
            "  sel:\n    eventSource: s3.amazonaws.com\n    eventName|re: '^Put.*Lifecycle$'\n  condition: sel",
        );
        assert!(!checks(&text).contains(&(Severity::Error, Check::EventNameShape)));
    }

    #[test]
    fn unknown_fields() {
        let text = rule(
            "  sel:\n    eventSource: s3.amazonaws.com\n    eventname: DeleteBucket\n    detail.eventName: DeleteBucket\n    userIdentity.username: x\n    requestParameters.anything.deep: 1\n    userIdentity.sessionContext.sessionIssuer.userName: admin\n    eventTime|fieldref: eventID\n  condition: sel",
        );
        let m = messages(&text);
        assert!(
            m.contains("field names are case-sensitive: eventName"),
            "{m}"
        );
        assert!(m.contains("write `eventName`"), "{m}");
        assert!(m.contains("case-sensitive: userIdentity.userName"), "{m}");
        assert!(!m.contains("requestParameters"), "{m}");
        assert!(!m.contains("sessionIssuer"), "{m}");
        assert_eq!(
            checks(&text)
                .iter()
                .filter(|c| c.1 == Check::UnknownField)
                .count(),
            3
        );
        assert!(unknown_field("eventName.x").is_some());
        assert!(unknown_field("source").is_some_and(|p| p.contains("EventBridge")));
        assert!(unknown_field("resources.ARN").is_none());
        let fields = format!(
            "{}fields: [requestParameters.name, eventname]\n",
            rule(PINNED)
        );
        assert_eq!(checks(&fields), [(Severity::Warning, Check::UnknownField)]);
    }

    #[test]
    fn refusals_are_errors_not_crashes() {
        let text = rule("  sel:\n    eventName|startwith: Stop\n  condition: sel");
        let d = lint(&text, "x.yml");
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].severity, d[0].check),
            (Severity::Error, Check::Refused)
        );
        assert!(
            d[0].message.contains("unknown modifier `startwith`"),
            "{}",
            d[0]
        );
        assert_eq!(checks("not: [valid"), [(Severity::Error, Check::Refused)]);
        assert_eq!(lint("title: [", "x.yml")[0].rule, "the rule");
    }

    #[test]
    fn no_pin_and_no_prefilter_are_warnings_a_rule_can_silence() {
        let unpinned = rule("  sel:\n    userIdentity.type: Root\n  condition: sel");
        assert_eq!(
            checks(&unpinned),
            [(Severity::Warning, Check::NoEventSourcePin)]
        );
        let slow = rule("  sel:\n    userAgent|contains: trufflehog\n  condition: sel");
        assert_eq!(
            checks(&slow),
            [
                (Severity::Warning, Check::NoEventSourcePin),
                (Severity::Warning, Check::NoPrefilter)
            ]
        );
        let allowed = format!("{slow}lint-allow: [no-event-source-pin, no-prefilter]\n");
        assert_eq!(checks(&allowed), []);
        let one = format!("{slow}lint-allow: no-prefilter\n");
        assert_eq!(checks(&one), [(Severity::Warning, Check::NoEventSourcePin)]);
        let errors_stay = format!(
            "{}lint-allow: [event-source]\n",
            rule(
                "  sel:\n    eventSource: eventbridge.amazonaws.com\n    eventName: DeleteRule\n  condition: sel"
            )
        );
        assert_eq!(
            checks(&errors_stay),
            [
                (Severity::Error, Check::LintAllow),
                (Severity::Error, Check::EventSource)
            ]
        );
    }

    #[test]
    fn correlations_are_linted_for_fields_refusals_and_silenced_rules() {
        let corr = |section: &str| format!("title: c\nid: c\ncorrelation:\n{section}\n");
        let good = corr(
            "  type: value_count\n  rules: [a]\n  group-by: [userIdentity.arn]\n  timespan: 10m\n  condition: {field: eventSource, gte: 3}\n  generate: true",
        );
        assert_eq!(checks(&good), []);
        let silenced = good.replace("  generate: true", "");
        assert_eq!(
            checks(&silenced),
            [(Severity::Warning, Check::SilencedRules)]
        );
        assert_eq!(
            checks(&format!("{silenced}lint-allow: [silenced-rules]\n")),
            []
        );
        let fields = good
            .replace("userIdentity.arn", "userIdentity.Arn")
            .replace("field: eventSource", "field: eventsource");
        assert_eq!(
            checks(&fields),
            [
                (Severity::Error, Check::UnknownField),
                (Severity::Error, Check::UnknownField)
            ]
        );
        let refused = good.replace("gte: 3", "lt: 3");
        let d = lint(&refused, "c.yml");
        assert_eq!(
            (d[0].severity, d[0].check),
            (Severity::Error, Check::Refused)
        );
        assert!(d[0].message.contains("upper bound"), "{}", d[0]);
        let aliased = corr(
            "  type: temporal\n  rules: [a, b]\n  group-by: [who]\n  timespan: 1h\n  generate: true\n  aliases:\n    who: {a: userIdentity.arn, b: requestParameter.userName}",
        );
        assert!(
            messages(&aliased).contains("alias `who`"),
            "{}",
            messages(&aliased)
        );
    }

    #[test]
    fn every_document_of_a_file_is_linted() {
        let text = format!(
            "{}---\n{}",
            rule(PINNED),
            rule("  sel:\n    eventSource: macie2.amazonaws.de\n    eventName: DeaktivierenMacie\n  condition: sel")
                .replace("id: r1", "id: r2")
        );
        let d = lint(&text, "x.yml");
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d.iter().all(|d| d.rule == "r2"));
    }
}
