//! `s3://` URLs and reading one object.

use aws_sdk_s3::Client;

use crate::ObjectRef;

/// `s3://bucket/prefix`: a bucket and a key prefix (possibly empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    /// The bucket.
    pub bucket: String,
    /// The key prefix, without a leading `/`.
    pub prefix: String,
}

impl std::str::FromStr for S3Url {
    type Err = String;

    fn from_str(url: &str) -> Result<S3Url, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{url:?} is not an s3://bucket/prefix URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // Bucket names: 3-63 of lower-case letters, digits, dots and hyphens.
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !valid {
            return Err(format!("{url:?}: {bucket:?} is not a valid S3 bucket name"));
        }
        Ok(S3Url {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// Why an object could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The GET failed (missing object, access denied, network).
    #[error("cannot get {object}: {message}")]
    Get {
        /// The object.
        object: ObjectRef,
        /// What S3 or the network said.
        message: String,
    },
    /// The object is larger than the cap.
    #[error("{object} is larger than {limit} bytes")]
    TooLarge {
        /// The object.
        object: ObjectRef,
        /// The cap.
        limit: u64,
    },
}

/// Reads a whole object (as stored: a log file stays gzipped), refusing one larger than
/// `limit` bytes before or while downloading it.
pub async fn get_object(
    client: &Client,
    object: &ObjectRef,
    limit: u64,
) -> Result<Vec<u8>, FetchError> {
    let get_error = |message: String| FetchError::Get {
        object: object.clone(),
        message,
    };
    let too_large = || FetchError::TooLarge {
        object: object.clone(),
        limit,
    };
    let response = client
        .get_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .send()
        .await
        .map_err(|e| get_error(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
    let length = response
        .content_length()
        .and_then(|n| u64::try_from(n).ok());
    if length.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = response.body;
    let mut bytes =
        Vec::with_capacity(usize::try_from(length.unwrap_or(0).min(limit)).unwrap_or(0));
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|e| get_error(e.to_string()))?
    {
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls() {
        let u: S3Url = "s3://my-trail.logs/AWSLogs/o-abc/".parse().unwrap();
        assert_eq!(u.bucket, "my-trail.logs");
        assert_eq!(u.prefix, "AWSLogs/o-abc/");
        let bare: S3Url = "s3://bucket".parse().unwrap();
        assert_eq!(bare.prefix, "");
        for bad in [
            "bucket/x",
            "s3://",
            "s3://Upper/x",
            "s3://a/x",
            "https://b/x",
        ] {
            assert!(bad.parse::<S3Url>().is_err(), "{bad}");
        }
    }
}
