//! CloudTrail records from every envelope they arrive in.
//!
//! [`read`] recognises the envelope (an S3 log file, an EventBridge event, CloudWatch Logs,
//! `LookupEvents` output, JSON Lines, gzipped or not) and hands each [`Record`] to a
//! [`Visit`]or, borrowed from the input. A record's [`Actor`] and [`Outcome`] are resolved on
//! demand and never fail: a missing field only makes them less specific.
//!
//! ```
//! use tamperwatch_event::{read, Limits, Location, Outcome, ReadError, Record, Visit};
//!
//! struct Names(Vec<String>);
//! impl Visit for Names {
//!     fn record(&mut self, _at: Location, record: Record<'_>) {
//!         let actor = record.actor();
//!         self.0.push(format!("{} by {} ({})", record.event_name.as_deref().unwrap_or("?"), actor, record.outcome()));
//!     }
//!     fn error(&mut self, at: Location, error: ReadError) {
//!         self.0.push(format!("{at}: {error}"));
//!     }
//! }
//!
//! let eventbridge = br#"{"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.cloudtrail",
//!   "detail":{"eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging",
//!             "userIdentity":{"type":"Root","accountId":"111122223333"}}}"#;
//! let mut names = Names(Vec::new());
//! read(eventbridge, &Limits::default(), &mut names);
//! assert_eq!(names.0, ["StopLogging by root (success)"]);
//! ```

pub mod actor;
pub mod envelope;
pub mod outcome;
pub mod record;
mod skim;

pub use actor::{Actor, IdentityKind, Mfa};
pub use envelope::{
    Limits, Location, ReadError, Visit, WHOLE_BELOW, gunzip, gunzip_reader,
    is_cloudtrail_detail_type, is_gzip, read,
};
pub use outcome::Outcome;
pub use record::{Keys, ParseRecordError, Record, UserIdentity};
