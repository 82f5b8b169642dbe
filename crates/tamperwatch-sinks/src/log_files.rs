//! The reconciliation path: log files named by new-log-file notifications, read from S3.
//!
//! EventBridge delivers CloudTrail events on a best-effort basis; the log files CloudTrail
//! writes to S3 are complete. When the CloudTrail bucket's object notifications reach the
//! Lambda, [`Pipeline::handle`](crate::Pipeline::handle) reads each log file a notification
//! names and runs its records through the same detector and the same delivery ledger, so an
//! event seen on both paths alerts once (the ledger's key is the rule and the `eventID`).

use tamperwatch_archive::{FetchError, ObjectRef, get_object};

/// The default cap on one log file, as stored (gzipped): CloudTrail writes files of a few MB.
pub const DEFAULT_MAX_OBJECT_BYTES: u64 = 32 * 1024 * 1024;

/// How log files are read: the S3 client, the size cap and the buckets that may be read.
#[derive(Debug, Clone)]
pub struct LogFiles {
    client: aws_sdk_s3::Client,
    max_object_bytes: u64,
    buckets: Vec<String>,
}

/// Why a named log file was not read.
#[derive(Debug, thiserror::Error)]
pub enum LogFileError {
    /// The notification names a bucket this deployment does not read (a forged or misrouted
    /// notification): refused without a request.
    #[error("{object}: bucket {bucket:?} is not one of the CloudTrail buckets this function reads")]
    BucketNotAllowed {
        /// The object named.
        object: ObjectRef,
        /// Its bucket.
        bucket: String,
    },
    /// The GET failed or the object is too large.
    #[error(transparent)]
    Fetch(#[from] FetchError),
}

impl LogFileError {
    /// Whether reading again later may succeed (a refused bucket never will).
    pub fn is_retryable(&self) -> bool {
        matches!(self, LogFileError::Fetch(FetchError::Get { .. }))
    }
}

impl LogFiles {
    /// Reads log files with `client`, each at most `max_object_bytes` as stored. `buckets`:
    /// the only buckets read (empty: any bucket the function's role may read).
    pub fn new(client: aws_sdk_s3::Client, max_object_bytes: u64, buckets: Vec<String>) -> Self {
        LogFiles {
            client,
            max_object_bytes,
            buckets,
        }
    }

    /// One log file's bytes, as stored.
    pub async fn fetch(&self, object: &ObjectRef) -> Result<Vec<u8>, LogFileError> {
        if !self.buckets.is_empty() && !self.buckets.contains(&object.bucket) {
            return Err(LogFileError::BucketNotAllowed {
                object: object.clone(),
                bucket: object.bucket.clone(),
            });
        }
        Ok(get_object(&self.client, object, self.max_object_bytes).await?)
    }
}
