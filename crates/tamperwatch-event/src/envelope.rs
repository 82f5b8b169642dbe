//! Every envelope a CloudTrail record arrives in, recognised automatically.
//!
//! | envelope | shape |
//! | --- | --- |
//! | CloudTrail log file (S3) | `{"Records": [record, ...]}`, plain or gzipped |
//! | EventBridge event | `{"detail-type": "... via CloudTrail", "detail": record, ...}` |
//! | JSON array | `[record or envelope, ...]` |
//! | JSON Lines | one record or envelope per line |
//! | CloudWatch Logs subscription | `{"logEvents": [{"message": "<record as JSON text>"}]}`, gzipped; through Lambda `{"awslogs": {"data": "<base64 gzip>"}}` |
//! | CloudTrail `LookupEvents` output | `{"Events": [{"CloudTrailEvent": "<record as JSON text>"}]}` |
//! | SNS notification | `{"Type": "Notification", "Message": "<envelope as JSON text>"}` |
//! | a single record | `{"eventVersion": ..., "eventSource": ..., ...}` |
//!
//! Records are handed to a visitor as they are found, borrowed from the input, so no record is
//! copied and no generic JSON value is built. A bad record or line is reported with its
//! location and reading goes on with the rest.

use std::borrow::Cow;
use std::fmt;
use std::io::Read;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::record::{Head, Keys, ParseRecordError, Record, Wire};
use crate::skim;

/// Bounds on what one input may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most bytes one input may decompress to (a gzip bomb stops here).
    pub max_decompressed: u64,
    /// The largest record accepted, in bytes.
    pub max_record: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decompressed: 256 * 1024 * 1024,
            max_record: 1024 * 1024,
        }
    }
}

/// Envelopes inside envelopes (an SNS message holding a CloudWatch Logs payload...) are
/// followed this deep and no deeper.
const MAX_ENVELOPE_DEPTH: u8 = 4;

/// Where in an input a record, or a problem, was found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The line, 1-based, when the input is JSON Lines.
    pub line: Option<usize>,
    /// The record's position, 1-based, in its list (`Records`, an array, `logEvents`, `Events`).
    pub record: Option<usize>,
}

impl Location {
    fn at_line(self, line: usize) -> Location {
        Location {
            line: Some(line),
            record: None,
        }
    }

    fn at_record(self, index: usize) -> Location {
        Location {
            record: Some(index + 1),
            ..self
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.record) {
            (Some(line), Some(record)) => write!(f, "line {line}, record {record}"),
            (Some(line), None) => write!(f, "line {line}"),
            (None, Some(record)) => write!(f, "record {record}"),
            (None, None) => f.write_str("input"),
        }
    }
}

/// Why (part of) an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The input is empty.
    #[error("empty input")]
    Empty,
    /// The gzip stream is corrupt or truncated.
    #[error("corrupt or truncated gzip: {0}")]
    Gzip(#[source] std::io::Error),
    /// The input itself could not be read (see [`gunzip_reader`]).
    #[error("cannot read: {0}")]
    Source(#[source] std::io::Error),
    /// Decompressing would exceed [`Limits::max_decompressed`].
    #[error("decompresses to more than {limit} bytes (the limit); is it a gzip bomb?")]
    TooLarge {
        /// The limit in force.
        limit: u64,
    },
    /// The text is not valid JSON.
    #[error("invalid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// `Records` (or `logEvents`, `Events`) is not an array of the expected shape.
    #[error("`{field}` is not an array of {what}: {source}")]
    List {
        /// The field.
        field: &'static str,
        /// What its items should be.
        what: &'static str,
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// An EventBridge event that does not carry a CloudTrail record.
    #[error("EventBridge event of detail-type {0:?} is not a CloudTrail record")]
    NotCloudTrail(String),
    /// A JSON value that is neither a record nor a known envelope.
    #[error("not a CloudTrail record or a known envelope ({0})")]
    Unrecognised(&'static str),
    /// A base64 payload (`awslogs.data`) that does not decode.
    #[error("invalid base64 in awslogs.data: {0}")]
    Base64(#[source] base64::DecodeError),
    /// Envelopes nested deeper than tamperwatch follows.
    #[error("envelopes nested more than {MAX_ENVELOPE_DEPTH} deep")]
    TooDeep,
    /// A record that could not be read.
    #[error(transparent)]
    Record(#[from] ParseRecordError),
}

/// Receives each record, or each problem, with where it was found.
///
/// Each record is first read for its [`Keys`] only; [`Visit::wants`] decides whether it is read
/// in full and handed to [`Visit::record`], or just counted by [`Visit::skipped`]. A scanner
/// asks its rule index there, so the records no rule could match (nearly all of them) cost a
/// skim, not a parse.
pub trait Visit {
    /// Whether to read the record with these keys in full. By default, every record.
    fn wants(&mut self, keys: &Keys<'_>) -> bool {
        let _ = keys;
        true
    }
    /// A record was read for its keys and not wanted.
    fn skipped(&mut self, at: Location) {
        let _ = at;
    }
    /// A record was read.
    fn record(&mut self, at: Location, record: Record<'_>);
    /// Part of the input could not be read; the rest is still read.
    fn error(&mut self, at: Location, error: ReadError);
}

/// Whether the bytes start like gzip.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Decompresses gzip (one or more members), refusing to grow past `limit` bytes.
///
/// A single-member file whose trailer announces at most `limit` bytes (every CloudTrail log
/// file) is inflated by libdeflate in one call, about twice as fast as streaming; anything else,
/// and anything libdeflate refuses, is streamed through flate2, which reports the precise error
/// and stops a gzip bomb at `limit`.
pub fn gunzip(bytes: &[u8], limit: u64) -> Result<Vec<u8>, ReadError> {
    match gunzip_whole(bytes, limit) {
        Some(plain) => Ok(plain),
        None => gunzip_streaming(bytes, limit),
    }
}

/// The whole-buffer path of [`gunzip`], or `None` to stream instead.
///
/// The trailer's ISIZE (the last four bytes) is attacker-controlled: it only sizes the output
/// buffer when it is within `limit`, and libdeflate fails with no more room than that, so it
/// never writes past it. libdeflate decodes the first member and ignores whatever follows it,
/// where a multi-member file has more members, so any file where another member could start
/// (the gzip magic and deflate method, `1f 8b 08`, past the first byte) is streamed instead:
/// a second member cannot be dropped. (Compressed data holds those three bytes by chance about
/// once in 16 MiB, so about one CloudTrail file in seventy is streamed for nothing.) The output must also be exactly ISIZE bytes long (the
/// member's own trailer, which libdeflate checks along with its CRC-32, must agree with the
/// file's last four bytes), so bytes trailing the member, which the streaming path reports as
/// an error, send the file to it too, unless they were crafted to end with a copy of the
/// member's size. Then the member's records are read and the tail ignored; no record can hide
/// there, since a tail that is not a gzip member is never read by either path.
fn gunzip_whole(bytes: &[u8], limit: u64) -> Option<Vec<u8>> {
    let size_at = bytes.len().checked_sub(4)?;
    let size = u32::from_le_bytes(bytes.get(size_at..)?.try_into().ok()?);
    if u64::from(size) > limit {
        return None;
    }
    if memchr::memmem::find(bytes.get(1..)?, &[0x1f, 0x8b, 0x08]).is_some() {
        return None;
    }
    let mut out = vec![0; usize::try_from(size).ok()?];
    let written = libdeflater::Decompressor::new()
        .gzip_decompress(bytes, &mut out)
        .ok()?;
    (written == out.len()).then_some(out)
}

/// The streaming path of [`gunzip`]: every member, at most `limit` bytes.
fn gunzip_streaming(bytes: &[u8], limit: u64) -> Result<Vec<u8>, ReadError> {
    let hint = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .min(bytes.len().saturating_mul(10));
    let mut out = Vec::with_capacity(hint);
    flate2::read::MultiGzDecoder::new(bytes)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(ReadError::Gzip)?;
    if out.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(out)
}

/// Reads `reader` to its end, inflating it when it is gzip (every member; anything else is
/// taken as it is), at most `limit` bytes once inflated: for input that streams in, such as
/// an object downloading. An error of `reader` itself is [`ReadError::Source`], one of the
/// gzip stream [`ReadError::Gzip`].
///
/// Input that ends within [`WHOLE_BELOW`] bytes (nearly every CloudTrail log file) is read
/// whole and inflated by [`gunzip`], which is faster; longer input is inflated as it arrives,
/// so that inflating goes on while the rest streams in and its compressed bytes are never held
/// whole.
pub fn gunzip_reader(reader: impl Read, limit: u64) -> Result<Vec<u8>, ReadError> {
    gunzip_reader_above(reader, limit, WHOLE_BELOW)
}

/// The size under which [`gunzip_reader`] reads its input whole before inflating it.
pub const WHOLE_BELOW: u64 = 1 << 20;

fn gunzip_reader_above(reader: impl Read, limit: u64, whole: u64) -> Result<Vec<u8>, ReadError> {
    /// Remembers whether an error came from the reader, rather than from the decoder above.
    struct Source<R> {
        inner: R,
        failed: bool,
    }
    impl<R: Read> Read for Source<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf);
            self.failed |= n.is_err();
            n
        }
    }
    let mut source = Source {
        inner: reader,
        failed: false,
    };
    let mut head = Vec::new();
    (&mut source)
        .take(whole)
        .read_to_end(&mut head)
        .map_err(ReadError::Source)?;
    let gzipped = is_gzip(&head);
    if (head.len() as u64) < whole {
        if gzipped {
            return gunzip(&head, limit);
        }
        if head.len() as u64 > limit {
            return Err(ReadError::TooLarge { limit });
        }
        return Ok(head);
    }
    let rest = head.as_slice().chain(&mut source);
    let mut out = Vec::new();
    let read = if gzipped {
        flate2::read::MultiGzDecoder::new(rest)
            .take(limit.saturating_add(1))
            .read_to_end(&mut out)
    } else {
        rest.take(limit.saturating_add(1)).read_to_end(&mut out)
    };
    match read {
        Err(e) if source.failed => return Err(ReadError::Source(e)),
        Err(e) => return Err(ReadError::Gzip(e)),
        Ok(_) => {}
    }
    if out.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(out)
}

/// Reads every record in `input`, whatever its envelope, gzipped or not.
pub fn read(input: &[u8], limits: &Limits, visit: &mut dyn Visit) {
    Reader { limits, visit }.bytes(input, Location::default(), 0);
}

struct Reader<'v> {
    limits: &'v Limits,
    visit: &'v mut dyn Visit,
}

/// The keys that tell envelopes apart. Unknown keys are skipped without being parsed.
#[derive(Deserialize)]
struct Top<'a> {
    #[serde(rename = "Records", borrow, default)]
    records: Option<Vec<&'a RawValue>>,
    #[serde(rename = "detail-type", borrow, default)]
    detail_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    detail: Option<&'a RawValue>,
    #[serde(rename = "logEvents", borrow, default)]
    log_events: Option<&'a RawValue>,
    #[serde(rename = "messageType", borrow, default)]
    message_type: Option<Cow<'a, str>>,
    #[serde(rename = "Events", borrow, default)]
    events: Option<&'a RawValue>,
    #[serde(borrow, default)]
    awslogs: Option<AwsLogs<'a>>,
    #[serde(rename = "Type", borrow, default)]
    sns_type: Option<Cow<'a, str>>,
    #[serde(rename = "Message", borrow, default)]
    sns_message: Option<Cow<'a, str>>,
    #[serde(rename = "eventVersion", default)]
    event_version: Option<&'a RawValue>,
    #[serde(rename = "eventSource", default)]
    event_source: Option<&'a RawValue>,
    #[serde(rename = "eventName", default)]
    event_name: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct AwsLogs<'a> {
    #[serde(borrow)]
    data: Cow<'a, str>,
}

#[derive(Deserialize)]
struct LogEvent<'a> {
    #[serde(borrow)]
    message: Cow<'a, str>,
}

#[derive(Deserialize)]
struct LookupEvent<'a> {
    #[serde(rename = "CloudTrailEvent", borrow)]
    cloudtrail_event: Cow<'a, str>,
}

/// What [`Top`] falls back to when it fails, to say precisely what is wrong.
#[derive(Deserialize)]
struct TopRecordsOnly<'a> {
    #[serde(rename = "Records", borrow, default)]
    records: Option<&'a RawValue>,
}

impl Reader<'_> {
    fn bytes(&mut self, input: &[u8], at: Location, depth: u8) {
        if is_gzip(input) {
            match gunzip(input, self.limits.max_decompressed) {
                Ok(plain) => self.text(&plain, at, depth),
                Err(e) => self.visit.error(at, e),
            }
        } else if input.len() as u64 > self.limits.max_decompressed {
            self.visit.error(
                at,
                ReadError::TooLarge {
                    limit: self.limits.max_decompressed,
                },
            );
        } else {
            self.text(input, at, depth);
        }
    }

    fn text(&mut self, input: &[u8], at: Location, depth: u8) {
        let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
        let trimmed = input.trim_ascii();
        if trimmed.is_empty() {
            self.visit.error(at, ReadError::Empty);
            return;
        }
        if let Some(records) = log_file_records(trimmed, self.limits.max_record) {
            for (i, (text, head)) in records.into_iter().enumerate() {
                self.wanted(text, &head, at.at_record(i));
            }
            return;
        }
        let mut stream = serde_json::Deserializer::from_slice(trimmed).into_iter::<&RawValue>();
        match (stream.next(), stream.next()) {
            // One JSON document.
            (Some(Ok(value)), None) => self.value(value, at, depth),
            // More than one value, or a first line that fails on its own: JSON Lines.
            (Some(Ok(_)), Some(_)) => self.lines(trimmed, at, depth),
            (Some(Err(_)), _) if looks_like_json_lines(trimmed) => self.lines(trimmed, at, depth),
            (Some(Err(e)), _) => self.visit.error(at, ReadError::Json(e)),
            (None, _) => self.visit.error(at, ReadError::Empty),
        }
    }

    fn lines(&mut self, input: &[u8], at: Location, depth: u8) {
        for (n, line) in input.split(|&b| b == b'\n').enumerate() {
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            let at = at.at_line(n + 1);
            match serde_json::from_slice::<&RawValue>(line) {
                Ok(value) => self.value(value, at, depth),
                Err(e) => self.visit.error(at, ReadError::Json(e)),
            }
        }
    }

    fn value(&mut self, value: &RawValue, at: Location, depth: u8) {
        if depth > MAX_ENVELOPE_DEPTH {
            self.visit.error(at, ReadError::TooDeep);
            return;
        }
        match value.get().as_bytes().first() {
            Some(b'[') => self.array(value, at, depth),
            Some(b'{') => self.object(value, at, depth),
            _ => self.visit.error(
                at,
                ReadError::Unrecognised("expected a JSON object or array"),
            ),
        }
    }

    fn array(&mut self, value: &RawValue, at: Location, depth: u8) {
        match serde_json::from_str::<Vec<&RawValue>>(value.get()) {
            Ok(items) => {
                for (i, item) in items.into_iter().enumerate() {
                    self.value(item, at.at_record(i), depth + 1);
                }
            }
            Err(e) => self.visit.error(at, ReadError::Json(e)),
        }
    }

    fn object(&mut self, value: &RawValue, at: Location, depth: u8) {
        let top: Top<'_> = match serde_json::from_str(value.get()) {
            Ok(top) => top,
            Err(e) => {
                self.visit.error(at, self.explain(value, e));
                return;
            }
        };
        if let Some(records) = top.records {
            for (i, raw) in records.into_iter().enumerate() {
                self.record(raw, at.at_record(i));
            }
        } else if let (Some(kind), Some(detail)) = (&top.detail_type, top.detail) {
            if is_cloudtrail_detail_type(kind) {
                self.record(detail, at);
            } else {
                self.visit
                    .error(at, ReadError::NotCloudTrail(kind.to_string()));
            }
        } else if let Some(log_events) = top.log_events {
            if top.message_type.as_deref() == Some("CONTROL_MESSAGE") {
                return;
            }
            match serde_json::from_str::<Vec<LogEvent<'_>>>(log_events.get()) {
                Ok(events) => {
                    for (i, event) in events.iter().enumerate() {
                        self.text(event.message.as_bytes(), at.at_record(i), depth + 1);
                    }
                }
                Err(source) => self.visit.error(
                    at,
                    ReadError::List {
                        field: "logEvents",
                        what: "{\"message\": string}",
                        source,
                    },
                ),
            }
        } else if let Some(events) = top.events {
            match serde_json::from_str::<Vec<LookupEvent<'_>>>(events.get()) {
                Ok(events) => {
                    for (i, event) in events.iter().enumerate() {
                        self.text(
                            event.cloudtrail_event.as_bytes(),
                            at.at_record(i),
                            depth + 1,
                        );
                    }
                }
                Err(source) => self.visit.error(
                    at,
                    ReadError::List {
                        field: "Events",
                        what: "{\"CloudTrailEvent\": string}",
                        source,
                    },
                ),
            }
        } else if let Some(awslogs) = top.awslogs {
            match base64::engine::general_purpose::STANDARD.decode(awslogs.data.trim()) {
                Ok(bytes) => self.bytes(&bytes, at, depth + 1),
                Err(e) => self.visit.error(at, ReadError::Base64(e)),
            }
        } else if let (Some("Notification"), Some(message)) =
            (top.sns_type.as_deref(), top.sns_message.as_deref())
        {
            self.text(message.as_bytes(), at, depth + 1);
        } else if top.event_version.is_some()
            || top.event_source.is_some()
            || top.event_name.is_some()
        {
            self.record(value, at);
        } else {
            self.visit.error(
                at,
                ReadError::Unrecognised("an object with none of eventVersion, eventSource, eventName, Records, detail, logEvents, Events"),
            );
        }
    }

    fn record(&mut self, raw: &RawValue, at: Location) {
        let text = raw.get();
        if text.len() > self.limits.max_record {
            let e = ParseRecordError::TooLarge {
                size: text.len(),
                limit: self.limits.max_record,
            };
            self.visit.error(at, e.into());
            return;
        }
        if !text.starts_with('{') {
            let e = ParseRecordError::Shape(serde::de::Error::custom("expected a JSON object"));
            self.visit.error(at, e.into());
            return;
        }
        match serde_json::from_str::<Head<'_>>(text) {
            Ok(head) => self.wanted(text, &head, at),
            Err(e) => self.visit.error(at, ParseRecordError::Shape(e).into()),
        }
    }

    /// Hands a skimmed record to the visitor: in full if it wants it, else as skipped.
    fn wanted(&mut self, text: &str, head: &Head<'_>, at: Location) {
        if !self.visit.wants(&head.keys()) {
            self.visit.skipped(at);
            return;
        }
        match serde_json::from_str::<Wire<'_>>(text) {
            Ok(wire) => self.visit.record(at, Record::from_wire(text, wire)),
            Err(e) => self.visit.error(at, ParseRecordError::Shape(e).into()),
        }
    }

    /// Turns a failure to read the top-level keys into the clearest error.
    fn explain(&self, value: &RawValue, error: serde_json::Error) -> ReadError {
        if let Ok(TopRecordsOnly {
            records: Some(records),
        }) = serde_json::from_str(value.get())
            && let Err(source) = serde_json::from_str::<Vec<&RawValue>>(records.get())
        {
            return ReadError::List {
                field: "Records",
                what: "records",
                source,
            };
        }
        ReadError::Json(error)
    }
}

/// The fast path for the most common input by far, a CloudTrail log file
/// (`{"Records":[{...},{...}]}`): each record is skimmed once for its [`Keys`], and its text is
/// the span the skimmer consumed, so no separate pass splits the records first. The skimmer
/// ([`skim::record`]) reads each record; where it declines, serde_json reads it into [`Head`].
///
/// Returns `None` (and the caller takes the general path, which reports each bad record on its
/// own) when the input has another layout, or any record is malformed, not UTF-8 or oversized.
fn log_file_records<'a>(input: &'a [u8], max_record: usize) -> Option<Vec<(&'a str, Head<'a>)>> {
    let mut pos = expect(input, skip_ws(input, 0), b"{")?;
    pos = expect(input, skip_ws(input, pos), b"\"Records\"")?;
    pos = expect(input, skip_ws(input, pos), b":")?;
    pos = expect(input, skip_ws(input, pos), b"[")?;
    let mut records = Vec::new();
    pos = skip_ws(input, pos);
    if input.get(pos) == Some(&b']') {
        pos += 1;
    } else {
        loop {
            let rest = input.get(pos..)?;
            if rest.first() != Some(&b'{') {
                return None;
            }
            let (len, head) = match skim::record(rest) {
                Some((len, keys)) => (len, Head::from_keys(keys)),
                // Something unusual (an escape in a key, a duplicate key, ...): serde_json
                // decides, exactly as for every record before the skimmer existed.
                None => {
                    let mut stream =
                        serde_json::Deserializer::from_slice(rest).into_iter::<Head<'_>>();
                    let head = stream.next()?.ok()?;
                    (stream.byte_offset(), head)
                }
            };
            if len > max_record {
                return None;
            }
            let text = std::str::from_utf8(rest.get(..len)?).ok()?;
            records.push((text, head));
            pos = skip_ws(input, pos + len);
            match input.get(pos)? {
                b',' => pos = skip_ws(input, pos + 1),
                b']' => {
                    pos += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    pos = expect(input, skip_ws(input, pos), b"}")?;
    (skip_ws(input, pos) == input.len()).then_some(records)
}

/// Skips JSON whitespace (not form feed, which `u8::is_ascii_whitespace` would also skip and
/// serde_json refuses).
fn skip_ws(input: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = input.get(pos) {
        pos += 1;
    }
    pos
}

fn expect(input: &[u8], pos: usize, token: &[u8]) -> Option<usize> {
    input
        .get(pos..)?
        .starts_with(token)
        .then_some(pos + token.len())
}

/// `AWS API Call via CloudTrail`, `AWS Console Sign In via CloudTrail` (and AWS's other
/// spelling `Signin`), `AWS Service Event via CloudTrail`, `AWS Insight via CloudTrail`, ...
pub fn is_cloudtrail_detail_type(detail_type: &str) -> bool {
    let suffix = " via CloudTrail";
    detail_type.len() > suffix.len()
        && detail_type.is_char_boundary(detail_type.len() - suffix.len())
        && detail_type[detail_type.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// Whether text that fails to parse as one document is better read line by line: its first
/// line is a whole JSON object and more lines follow.
fn looks_like_json_lines(input: &[u8]) -> bool {
    let mut lines = input
        .split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .filter(|l| !l.is_empty());
    let Some(first) = lines.next() else {
        return false;
    };
    first.starts_with(b"{") && first.ends_with(b"}") && lines.next().is_some()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    const MIB: u64 = 1 << 20;

    #[test]
    fn a_single_member_is_inflated_whole() {
        let plain = br#"{"Records":[{"eventName":"StopLogging"}]}"#.repeat(100);
        let gz = gzip(&plain);
        assert_eq!(gunzip_whole(&gz, MIB).as_deref(), Some(&plain[..]));
        assert_eq!(gunzip(&gz, MIB).unwrap(), plain);
        assert_eq!(gunzip(&gzip(b""), MIB).unwrap(), b"");
    }

    #[test]
    fn every_member_is_read_even_when_they_look_alike() {
        for (a, b) in [(&b"first "[..], &b"second"[..]), (b"same", b"same")] {
            let mut gz = gzip(a);
            gz.extend_from_slice(&gzip(b));
            // Identical members share the trailer: only the magic check sees the second.
            assert_eq!(gunzip_whole(&gz, MIB), None);
            assert_eq!(gunzip(&gz, MIB).unwrap(), [a, b].concat());
        }
    }

    #[test]
    fn trailing_bytes_are_reported_not_ignored() {
        let plain = b"{\"Records\":[]}";
        let gz = gzip(plain);
        for tail in [&b"garbage!"[..], b"\0\0\0\0", b"\x1f\x8b\x08"] {
            let mut bad = gz.clone();
            bad.extend_from_slice(tail);
            assert_eq!(gunzip_whole(&bad, MIB), None);
            assert!(matches!(gunzip(&bad, MIB), Err(ReadError::Gzip(_))));
        }
        // The documented exception: a tail crafted to end with the member's size. The
        // member is read; the tail, which no path would read records from, is ignored.
        let mut crafted = gz.clone();
        crafted.extend_from_slice(b"junk");
        crafted.extend_from_slice(&gz[gz.len() - 4..]);
        assert_eq!(gunzip(&crafted, MIB).unwrap(), plain);
    }

    #[test]
    fn a_lying_size_cannot_lift_the_limit() {
        let mut bomb = gzip(&vec![b' '; 8 << 20]);
        let at = bomb.len() - 4;
        bomb[at..].copy_from_slice(&100u32.to_le_bytes());
        assert!(matches!(
            gunzip(&bomb, MIB),
            Err(ReadError::TooLarge { limit: MIB })
        ));
        // An honest size above the limit goes straight to the streaming path.
        let big = gzip(&vec![b' '; 2 << 20]);
        assert_eq!(gunzip_whole(&big, MIB), None);
        assert!(matches!(gunzip(&big, MIB), Err(ReadError::TooLarge { .. })));
    }

    /// Hands out its bytes a few at a time, then fails if told to: a download in progress.
    struct Trickle<'a> {
        bytes: &'a [u8],
        fail_at_end: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.bytes.is_empty() && self.fail_at_end {
                return Err(std::io::Error::other("connection reset"));
            }
            let n = buf.len().min(self.bytes.len()).min(3);
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    fn trickle(bytes: &[u8]) -> Trickle<'_> {
        Trickle {
            bytes,
            fail_at_end: false,
        }
    }

    #[test]
    fn a_stream_is_inflated_as_it_arrives_like_a_whole_buffer() {
        let plain = br#"{"Records":[{"eventName":"StopLogging"}]}"#.repeat(100);
        let mut two = gzip(&plain);
        two.extend_from_slice(&gzip(b"second member"));
        let gz = gzip(&plain);
        let mut tail = gz.clone();
        tail.extend_from_slice(b"garbage!");
        let bomb = gzip(&vec![b' '; 2 << 20]);
        // Read whole (the threshold above the input) and streamed (below it).
        for whole in [WHOLE_BELOW, 2] {
            let read = |input: &[u8]| gunzip_reader_above(trickle(input), MIB, whole);
            for input in [
                gz.clone(),
                two.clone(),
                plain.clone(),
                gzip(b""),
                vec![],
                vec![0x1f],
            ] {
                let expected = if is_gzip(&input) {
                    gunzip(&input, MIB).unwrap()
                } else {
                    input.clone()
                };
                assert_eq!(read(&input).unwrap(), expected, "{whole}");
            }
            assert!(matches!(read(&gz[..gz.len() - 5]), Err(ReadError::Gzip(_))));
            assert!(matches!(read(&tail), Err(ReadError::Gzip(_))));
            assert!(matches!(
                read(&bomb),
                Err(ReadError::TooLarge { limit: MIB })
            ));
            assert!(matches!(
                read(&vec![b' '; 2 << 20]),
                Err(ReadError::TooLarge { limit: MIB })
            ));
            // The source failing is told apart from a corrupt stream, gzipped or not.
            for input in [&gz, &plain] {
                let failing = Trickle {
                    bytes: &input[..input.len() / 2],
                    fail_at_end: true,
                };
                match gunzip_reader_above(failing, MIB, whole) {
                    Err(ReadError::Source(e)) => assert_eq!(e.to_string(), "connection reset"),
                    other => panic!("{other:?}"),
                }
            }
        }
    }

    /// On random content, whole and then damaged in random places, both paths give the same
    /// bytes, or the whole-buffer path steps aside.
    #[test]
    fn both_paths_agree_on_random_and_damaged_input() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut whole = 0;
        for _ in 0..2_000 {
            let len = rng.usize(0..4_000);
            let plain: Vec<u8> = (0..len)
                .map(|_| {
                    *b"{}[],:\"abc0123 eventName"
                        .get(rng.usize(..24))
                        .unwrap_or(&b'x')
                })
                .collect();
            let mut gz = gzip(&plain);
            if rng.bool() {
                for _ in 0..rng.usize(1..4) {
                    let at = rng.usize(..gz.len());
                    gz[at] = rng.u8(..);
                }
            }
            let streamed = gunzip_streaming(&gz, MIB).ok();
            if let Some(out) = gunzip_whole(&gz, MIB) {
                whole += 1;
                assert_eq!(Some(&out), streamed.as_ref());
            }
        }
        assert!(whole > 1_000, "{whole}");
    }
}
