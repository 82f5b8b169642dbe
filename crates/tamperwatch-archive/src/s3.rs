//! `s3://` URLs and reading objects: whole, or streamed to a reader as they download.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_types::SdkConfig;
use bytes::Bytes;
use futures_util::StreamExt as _;
use tokio::sync::mpsc::Sender;

use crate::ObjectRef;
use crate::layout::{Filter, ListError, walk};

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
    let (mut body, length) = open(client, object, limit).await?;
    let mut bytes =
        Vec::with_capacity(usize::try_from(length.unwrap_or(0).min(limit)).unwrap_or(0));
    while let Some(chunk) = next_chunk(&mut body, object, limit, bytes.len() as u64).await? {
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Sends the GET: the body to come and its announced length, refused when that is over
/// `limit`.
async fn open(
    client: &Client,
    object: &ObjectRef,
    limit: u64,
) -> Result<(ByteStream, Option<u64>), FetchError> {
    let response = client
        .get_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .send()
        .await
        .map_err(|e| FetchError::Get {
            object: object.clone(),
            message: aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
        })?;
    let length = response
        .content_length()
        .and_then(|n| u64::try_from(n).ok());
    if length.is_some_and(|n| n > limit) {
        return Err(FetchError::TooLarge {
            object: object.clone(),
            limit,
        });
    }
    Ok((response.body, length))
}

/// The next chunk of a body of which `so_far` bytes were read, refused when it would take the
/// body over `limit` (the announced length can be absent, or wrong).
async fn next_chunk(
    body: &mut ByteStream,
    object: &ObjectRef,
    limit: u64,
    so_far: u64,
) -> Result<Option<Bytes>, FetchError> {
    let chunk = body.try_next().await.map_err(|e| FetchError::Get {
        object: object.clone(),
        message: e.to_string(),
    })?;
    if chunk
        .as_ref()
        .is_some_and(|c| so_far.saturating_add(c.len() as u64) > limit)
    {
        return Err(FetchError::TooLarge {
            object: object.clone(),
            limit,
        });
    }
    Ok(chunk)
}

/// Chunks of a body in flight between a download and its reader: few enough that the
/// downloads of a scan hold little memory (32 at a time by default), enough that a reader
/// rarely waits for the network.
const CHUNKS_IN_FLIGHT: usize = 16;

/// An object's body as it downloads, read as a blocking [`std::io::Read`] by a thread that
/// is not running the async runtime (a scan's worker), which can inflate it while the rest of
/// it streams in. The download waits while the reader is behind.
///
/// A failed download reads as an error of kind [`std::io::ErrorKind::Other`] wrapping the
/// [`FetchError`] (see [`Download::fetch_error`]); the end of the object reads as the end. A
/// download that stops without either (its runtime shut down) is an error too, so a cut-off
/// object is never taken for a whole one.
#[derive(Debug)]
pub struct Download {
    chunks: tokio::sync::mpsc::Receiver<Piece>,
    chunk: Bytes,
    read: u64,
    ended: bool,
}

/// What a download hands its reader.
#[derive(Debug)]
enum Piece {
    Chunk(Bytes),
    End,
    Failed(FetchError),
}

impl Download {
    /// The bytes read so far (as stored: compressed, for a log file).
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The download failure behind an error this reader returned, if that is what it was.
    pub fn fetch_error(error: &std::io::Error) -> Option<&FetchError> {
        error.get_ref().and_then(|e| e.downcast_ref::<FetchError>())
    }
}

impl std::io::Read for Download {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            if self.ended {
                return Ok(0);
            }
            // Waiting here would block the runtime's own thread (and tokio panics instead).
            if tokio::runtime::Handle::try_current().is_ok() {
                return Err(std::io::Error::other(
                    "a download is read from a blocking thread, not from the async runtime",
                ));
            }
            match self.chunks.blocking_recv() {
                Some(Piece::Chunk(chunk)) => self.chunk = chunk,
                Some(Piece::End) => self.ended = true,
                Some(Piece::Failed(e)) => return Err(std::io::Error::other(e)),
                None => {
                    return Err(std::io::Error::other(
                        "the download stopped before the end of the object",
                    ));
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        self.read += n as u64;
        let head = self.chunk.split_to(n);
        if let Some(out) = buf.get_mut(..n) {
            out.copy_from_slice(&head);
        }
        Ok(n)
    }
}

/// Starts reading an object: the [`Download`] to read it from, and the future that moves its
/// bytes there (capped at `limit`; a failure is handed to the reader). The future ends when
/// the object is read, or when the reader is dropped.
pub fn download<'a>(
    client: &'a Client,
    object: &'a ObjectRef,
    limit: u64,
) -> (Download, impl Future<Output = ()> + 'a) {
    let (tx, chunks) = tokio::sync::mpsc::channel(CHUNKS_IN_FLIGHT);
    let pump = async move {
        let result = async {
            let (mut body, _) = open(client, object, limit).await?;
            let mut so_far = 0u64;
            while let Some(chunk) = next_chunk(&mut body, object, limit, so_far).await? {
                so_far += chunk.len() as u64;
                if tx.send(Piece::Chunk(chunk)).await.is_err() {
                    return Ok(()); // The reader is gone: the scan stopped.
                }
            }
            Ok(())
        }
        .await;
        // A reader gone by now needs neither.
        let _ = match result {
            Ok(()) => tx.send(Piece::End).await,
            Err(e) => tx.send(Piece::Failed(e)).await,
        };
    };
    (
        Download {
            chunks,
            chunk: Bytes::new(),
            read: 0,
            ended: false,
        },
        pump,
    )
}

/// An S3 client for `bucket`: in the bucket's own region when `GetBucketLocation` tells it
/// (a client in another region gets redirects), else in the configured one. Path-style
/// addressing when a custom endpoint is configured (a local S3 such as moto).
pub async fn client_for_bucket(sdk: &SdkConfig, bucket: &str) -> Client {
    let custom_endpoint = sdk.endpoint_url().is_some();
    let build = |region: Option<aws_sdk_s3::config::Region>| {
        let mut config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(custom_endpoint);
        if let Some(r) = region {
            config = config.region(r);
        }
        Client::from_conf(config.build())
    };
    let client = build(None);
    let Ok(location) = client.get_bucket_location().bucket(bucket).send().await else {
        return client;
    };
    // No constraint means us-east-1; `EU` is eu-west-1's old name.
    let region = match location.location_constraint().map(|c| c.as_str()) {
        None | Some("") => "us-east-1",
        Some("EU") => "eu-west-1",
        Some(r) => r,
    };
    if sdk.region().is_some_and(|r| r.as_ref() == region) {
        client
    } else {
        build(Some(aws_sdk_s3::config::Region::new(region.to_owned())))
    }
}

/// Fetches objects from any bucket, each through a client in its bucket's region (made once
/// per bucket): what following a queue of notifications needs.
#[derive(Debug)]
pub struct Fetcher {
    sdk: SdkConfig,
    clients: tokio::sync::Mutex<std::collections::HashMap<String, Client>>,
}

impl Fetcher {
    /// A fetcher using `sdk`'s credentials.
    pub fn new(sdk: SdkConfig) -> Fetcher {
        Fetcher {
            sdk,
            clients: tokio::sync::Mutex::default(),
        }
    }

    /// Fetches `objects`, `concurrency` at a time, each capped at `limit` bytes; results in
    /// the order of `objects`.
    pub async fn fetch(
        &self,
        objects: &[ObjectRef],
        concurrency: usize,
        limit: u64,
    ) -> Vec<Result<Vec<u8>, FetchError>> {
        futures_util::stream::iter(objects)
            .map(|object| async move {
                let client = self.client(&object.bucket).await;
                get_object(&client, object, limit).await
            })
            .buffered(concurrency.max(1))
            .collect()
            .await
    }

    async fn client(&self, bucket: &str) -> Client {
        let mut clients = self.clients.lock().await;
        if let Some(c) = clients.get(bucket) {
            return c.clone();
        }
        let c = client_for_bucket(&self.sdk, bucket).await;
        clients.insert(bucket.to_owned(), c.clone());
        c
    }
}

/// One object of a walk, downloading.
#[derive(Debug)]
pub struct Fetched {
    /// Its position in key order among the objects of the walk.
    pub index: u64,
    /// The object.
    pub object: ObjectRef,
    /// Its bytes as stored, as they arrive.
    pub body: Download,
}

/// Walks `url` with `filter` ([`walk`]) and downloads every object found, `concurrency` at a
/// time, each capped at `limit` bytes: each is sent to `tx` as its download starts (in any
/// order: [`Fetched::index`] gives the key order), to be read while it streams in. Memory
/// stays bounded: the walk waits while the downloads are behind, each download waits while
/// its reader is behind, and new downloads wait while `tx` is full.
///
/// Every object sent to `tx` is being downloaded, so a reader that takes them in the order
/// they were sent always makes progress.
pub async fn fetch_all(
    client: &Client,
    url: &S3Url,
    filter: &Filter,
    concurrency: usize,
    limit: u64,
    tx: &Sender<Fetched>,
    errors: &Sender<ListError>,
) {
    let (keys_tx, keys_rx) = tokio::sync::mpsc::channel::<ObjectRef>(concurrency.max(1) * 4);
    let listing = async {
        walk(client, url, filter, &keys_tx, errors).await;
        drop(keys_tx);
    };
    let keys = futures_util::stream::unfold((keys_rx, 0u64), |(mut rx, index)| async move {
        let object = rx.recv().await?;
        Some(((index, object), (rx, index + 1)))
    });
    let fetching = keys
        .map(|(index, object)| async move {
            let (body, pump) = download(client, &object, limit);
            let fetched = Fetched {
                index,
                object: object.clone(),
                body,
            };
            // A receiver gone means the scan stopped: nothing more to do.
            if tx.send(fetched).await.is_ok() {
                pump.await;
            }
        })
        .buffer_unordered(concurrency.max(1))
        .for_each(|()| async {});
    tokio::join!(listing, fetching);
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
