//! CloudTrail archives: where log files live and how their arrival is announced.
//!
//! - [`notification`]: the messages that announce a new log file (CloudTrail's own SNS
//!   notification, S3 event notifications, EventBridge `Object Created`), plain or SNS-wrapped,
//!   turned into the [`ObjectRef`]s they name. The Lambda's reconciliation path and
//!   `tamperwatch scan sqs://` read them the same way.
//! - [`s3`]: `s3://` URLs and fetching one object with a size cap.

pub mod notification;
pub mod s3;

pub use notification::{NotificationError, ObjectRef, is_log_file};
pub use s3::{FetchError, S3Url, get_object};
