//! CloudTrail archives: where log files live and how their arrival is announced.
//!
//! - [`notification`]: the messages that announce a new log file (CloudTrail's own SNS
//!   notification, S3 event notifications, EventBridge `Object Created`), plain or SNS-wrapped,
//!   turned into the [`ObjectRef`]s they name. The Lambda's reconciliation path and
//!   `tamperwatch scan sqs://` read them the same way.
//! - [`layout`]: CloudTrail's S3 key layout, walked folder by folder so that `--since`,
//!   `--until`, `--accounts` and `--regions` skip whole folders before they are listed.
//! - [`s3`]: `s3://` URLs and fetching one object with a size cap.
//! - [`sqs`]: a queue of notifications: receive, delete once handled, enqueue for a backfill.
//! - [`lookup`]: CloudTrail `LookupEvents`, for accounts without a trail.

pub mod layout;
pub mod lookup;
pub mod notification;
pub mod s3;
pub mod sqs;

pub use notification::{NotificationError, ObjectRef, is_log_file};
pub use s3::{
    Download, FetchError, Fetched, Fetcher, S3Url, client_for_bucket, download, fetch_all,
    get_object,
};
