//! EventBridge event patterns generated from tamperwatch rules, the envelope EventBridge puts
//! around a CloudTrail record, and a small pattern matcher to test the two together.
//!
//! The deploy templates route CloudTrail events from EventBridge to the tamperwatch Lambda.
//! The pattern only narrows what reaches the Lambda, which runs the rules themselves, so it
//! must be **sound**: it never drops an event a rule would alert on. It is derived from each
//! rule's necessary constraints
//! ([`Rule::event_sources`](tamperwatch_rules::Rule::event_sources),
//! [`Rule::event_names`](tamperwatch_rules::Rule::event_names),
//! [`Rule::identity_types`](tamperwatch_rules::Rule::identity_types)):
//!
//! - `source` is pinned to the `aws.*` sources of the services concerned (`aws.` and the
//!   eventSource's prefix, so `monitoring.amazonaws.com` arrives as `aws.monitoring`), so a
//!   forged `PutEvents` with a custom source never matches: AWS refuses `aws.*` sources in
//!   `PutEvents`;
//! - `detail-type` is pinned to CloudTrail's types (both spellings of the console sign-in one);
//! - `detail.eventSource` and `detail.eventName` narrow further where every rule of a service
//!   names its events; a service with a rule that does not (an `eventName|startswith`, such as
//!   Lambda's versioned names) is matched on its source alone;
//! - a rule keyed on the identity rather than the service (root activity) gets a pattern on
//!   `detail.userIdentity.type` for every `aws.*` source.
//!
//! Patterns are packed to stay within EventBridge's size limit ([`MAX_PATTERN_CHARS`]), each
//! one an EventBridge rule of its own.
//!
//! ```
//! use tamperwatch_eventbridge::{build_patterns, matches, wrap_record, MAX_PATTERN_CHARS};
//! use tamperwatch_rules::{Rule, RuleSet};
//!
//! let mut rules = RuleSet::new();
//! rules.push(Rule::from_yaml(
//!     r#"
//! title: CloudTrail logging stopped
//! detection:
//!   selection:
//!     eventSource: cloudtrail.amazonaws.com
//!     eventName: [StopLogging, DeleteTrail]
//!   condition: selection
//! "#,
//!     "stop_logging.yml",
//! )?)?;
//! let patterns = build_patterns(rules.rules(), MAX_PATTERN_CHARS)?;
//! assert_eq!(patterns.len(), 1);
//! assert_eq!(
//!     patterns[0].to_json(),
//!     r#"{"source":["aws.cloudtrail"],"detail-type":["AWS API Call via CloudTrail","AWS Console Action via CloudTrail","AWS Console Sign In via CloudTrail","AWS Console Signin via CloudTrail","AWS Service Event via CloudTrail"],"detail":{"eventSource":["cloudtrail.amazonaws.com"],"eventName":["DeleteTrail","StopLogging"]}}"#
//! );
//!
//! let record = serde_json::json!({
//!     "eventSource": "cloudtrail.amazonaws.com",
//!     "eventName": "StopLogging",
//!     "eventType": "AwsApiCall",
//! });
//! let event = wrap_record(&record)?;
//! assert!(matches(&patterns[0].to_value(), &event));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod matcher;
mod pattern;
mod wrap;

pub use matcher::matches;
pub use pattern::{
    BuildPatternsError, CLOUDTRAIL_DETAIL_TYPES, EventPattern, MAX_PATTERN_CHARS, build_patterns,
    eventbridge_source, patterns_json,
};
pub use wrap::{WrapRecordError, detail_type, wrap_record};
