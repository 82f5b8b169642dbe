//! CloudTrail's S3 layout, and walking it without listing what a filter rules out.
//!
//! CloudTrail writes each log file to
//! `[PREFIX/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_ID.json.gz`.
//! [`walk`] descends that tree one folder level at a time (S3 `ListObjectsV2` with a `/`
//! delimiter), skipping whole accounts, regions, years, months and days that a [`Filter`]
//! excludes, and only lists the objects of the days that remain. A prefix that does not follow
//! the layout is listed flat.
//!
//! The folder date is the delivery date (UTC): CloudTrail delivers a record within minutes of
//! the event, so a record can sit in the folder of the day after its `eventTime`. Days are kept
//! from the day of `since` to the day after `until`; [`Filter::time`] then decides record by
//! record.

use std::collections::BTreeSet;
use std::str::FromStr;

use aws_sdk_s3::Client;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, tz::Offset};
use tokio::sync::mpsc::Sender;

use crate::{ObjectRef, S3Url, is_log_file};

/// Which part of an archive to read. Empty sets mean every account or region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Records from this time on.
    pub since: Option<Timestamp>,
    /// Records up to this time.
    pub until: Option<Timestamp>,
    /// Only these accounts.
    pub accounts: BTreeSet<String>,
    /// Only these regions.
    pub regions: BTreeSet<String>,
}

impl Filter {
    /// Whether an account is wanted.
    pub fn account(&self, account: &str) -> bool {
        self.accounts.is_empty() || self.accounts.contains(account)
    }

    /// Whether a region is wanted.
    pub fn region(&self, region: &str) -> bool {
        self.regions.is_empty() || self.regions.contains(region)
    }

    /// Whether a record of this time is wanted.
    pub fn time(&self, time: Timestamp) -> bool {
        self.since.is_none_or(|s| time >= s) && self.until.is_none_or(|u| time <= u)
    }

    /// Whether a delivery day can hold wanted records.
    pub fn day(&self, day: Date) -> bool {
        let (first, last) = self.days();
        first.is_none_or(|f| day >= f) && last.is_none_or(|l| day <= l)
    }

    /// The first and last delivery days that can hold wanted records.
    fn days(&self) -> (Option<Date>, Option<Date>) {
        let utc = |t: Timestamp| Offset::UTC.to_datetime(t).date();
        (
            self.since.map(utc),
            self.until.map(|u| utc(u).tomorrow().unwrap_or(Date::MAX)),
        )
    }

    fn year(&self, year: i16) -> bool {
        let (first, last) = self.days();
        first.is_none_or(|f| year >= f.year()) && last.is_none_or(|l| year <= l.year())
    }

    fn month(&self, year: i16, month: i8) -> bool {
        let (first, last) = self.days();
        first.is_none_or(|f| (year, month) >= (f.year(), f.month()))
            && last.is_none_or(|l| (year, month) <= (l.year(), l.month()))
    }

    /// Whether an object key can hold wanted records, judged from the layout where the key
    /// follows it (a key that does not is kept).
    pub fn key(&self, key: &str) -> bool {
        LogKey::parse(key)
            .is_none_or(|k| self.account(&k.account) && self.region(&k.region) && self.day(k.date))
    }
}

/// A time given on the command line: RFC 3339 (`2026-11-30T09:00:00Z`), a UTC date
/// (`2026-11-30`, midnight), or an age: a number and `m`, `h`, `d` or `w` (`7d` is seven days
/// before `now`).
pub fn parse_time(text: &str, now: Timestamp) -> Result<Timestamp, String> {
    let text = text.trim();
    let age = |n: &str, unit_seconds: i64| -> Option<Timestamp> {
        let n: i64 = n.parse().ok()?;
        now.checked_sub(SignedDuration::from_secs(n.checked_mul(unit_seconds)?))
            .ok()
    };
    let relative = match text.char_indices().last() {
        Some((i, 'm')) => age(&text[..i], 60),
        Some((i, 'h')) => age(&text[..i], 3600),
        Some((i, 'd')) => age(&text[..i], 86_400),
        Some((i, 'w')) => age(&text[..i], 7 * 86_400),
        _ => None,
    };
    if let Some(t) = relative {
        return Ok(t);
    }
    if let Ok(t) = Timestamp::from_str(text) {
        return Ok(t);
    }
    if let Ok(d) = Date::from_str(text)
        && let Ok(t) = Offset::UTC.to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
    {
        return Ok(t);
    }
    Err(format!(
        "{text:?} is not a time: use RFC 3339 (2026-11-30T09:00:00Z), a date (2026-11-30) or an age (30m, 12h, 7d, 2w)"
    ))
}

/// What a log file's key says about its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogKey {
    /// The account whose trail wrote it.
    pub account: String,
    /// The region of its records.
    pub region: String,
    /// The delivery day (UTC).
    pub date: Date,
}

impl LogKey {
    /// Reads `.../AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/FILE`; `None` for a key
    /// laid out otherwise.
    pub fn parse(key: &str) -> Option<LogKey> {
        let segments: Vec<&str> = key.split('/').collect();
        let start = segments.iter().rposition(|s| *s == "AWSLogs")? + 1;
        let mut rest = segments.get(start..)?;
        if rest.first().is_some_and(|s| is_org(s)) {
            rest = &rest[1..];
        }
        let [account, "CloudTrail", region, year, month, day, _file] = rest else {
            return None;
        };
        if !is_account(account) {
            return None;
        }
        Some(LogKey {
            account: (*account).to_owned(),
            region: (*region).to_owned(),
            date: Date::new(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?).ok()?,
        })
    }
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_org(s: &str) -> bool {
    s.starts_with("o-") && s.len() > 2
}

/// Where in the layout a folder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// Above `AWSLogs/` (a trail's own key prefix), this many folders down from the start.
    Above(u8),
    /// `AWSLogs/` or `AWSLogs/o-ORG/`: account folders (or an organization's).
    Accounts,
    /// `ACCOUNT/`: `CloudTrail/` (and digests, insights).
    Account,
    /// `CloudTrail/`: regions.
    Regions,
    /// `REGION/`: years.
    Years,
    /// `YYYY/`: months.
    Months(i16),
    /// `MM/`: days.
    Days(i16, i8),
    /// Everything below is listed flat.
    Objects,
}

/// How many folder levels above `AWSLogs/` are searched for it (trail key prefixes are short).
const MAX_PREFIX_DEPTH: u8 = 3;

impl Level {
    /// Where the user's starting prefix sits.
    fn of(prefix: &str) -> Level {
        if !prefix.is_empty() && !prefix.ends_with('/') {
            return Level::Objects;
        }
        let segments: Vec<&str> = prefix.split('/').filter(|s| !s.is_empty()).collect();
        let Some(start) = segments.iter().rposition(|s| *s == "AWSLogs") else {
            return Level::Above(0);
        };
        let mut level = Level::Accounts;
        for segment in &segments[start + 1..] {
            level = match level.child(segment) {
                Some(next) => next,
                None => return Level::Objects,
            };
        }
        level
    }

    /// The level of a child folder named `name` (without `/`); `None` if it is outside the
    /// layout. Filters are not applied here.
    fn child(self, name: &str) -> Option<Level> {
        match self {
            Level::Above(_) if name == "AWSLogs" => Some(Level::Accounts),
            Level::Above(d) => (d + 1 < MAX_PREFIX_DEPTH).then_some(Level::Above(d + 1)),
            Level::Accounts if is_org(name) => Some(Level::Accounts),
            Level::Accounts => is_account(name).then_some(Level::Account),
            Level::Account => (name == "CloudTrail").then_some(Level::Regions),
            Level::Regions => Some(Level::Years),
            Level::Years => name.parse().ok().map(Level::Months),
            Level::Months(y) => name.parse().ok().map(|m| Level::Days(y, m)),
            Level::Days(..) | Level::Objects => Some(Level::Objects),
        }
    }

    /// Whether the filter keeps a child folder named `name` of this level.
    fn keeps(self, name: &str, filter: &Filter) -> bool {
        match self {
            Level::Accounts if !is_org(name) => filter.account(name),
            Level::Regions => filter.region(name),
            Level::Years => name.parse().is_ok_and(|y| filter.year(y)),
            Level::Months(y) => name.parse().is_ok_and(|m| filter.month(y, m)),
            Level::Days(y, m) => name
                .parse()
                .ok()
                .and_then(|d| Date::new(y, m, d).ok())
                .is_some_and(|d| filter.day(d)),
            _ => true,
        }
    }
}

/// A listing that failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot list s3://{bucket}/{prefix}: {message}")]
pub struct ListError {
    /// The bucket.
    pub bucket: String,
    /// The prefix being listed.
    pub prefix: String,
    /// What S3 said.
    pub message: String,
}

/// What a walk did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WalkStats {
    /// `ListObjectsV2` calls made.
    pub list_calls: u64,
    /// Objects sent.
    pub objects: u64,
}

/// Sends every log file under `url` that `filter` may want to `tx`, in key order, listing
/// folder by folder and skipping excluded ones. Stops early (without error) when the receiver
/// is dropped. A listing error of one folder is sent to `errors` and the walk goes on.
pub async fn walk(
    client: &Client,
    url: &S3Url,
    filter: &Filter,
    tx: &Sender<ObjectRef>,
    errors: &Sender<ListError>,
) -> WalkStats {
    let mut stats = WalkStats::default();
    let start = Level::of(&url.prefix);
    let mut found_layout = !matches!(start, Level::Above(_));
    // Depth first, in key order: children are pushed in reverse.
    let mut stack = vec![(url.prefix.clone(), start)];
    while let Some((prefix, level)) = stack.pop() {
        if level == Level::Objects {
            match list_objects(client, url, &prefix, filter, tx, &mut stats).await {
                Ok(true) => {}
                Ok(false) => return stats,
                Err(e) => {
                    let _ = errors.send(e).await;
                }
            }
            continue;
        }
        let folders = match list_folders(client, &url.bucket, &prefix, &mut stats).await {
            Ok(f) => f,
            Err(e) => {
                let _ = errors.send(e).await;
                continue;
            }
        };
        let mut children: Vec<(String, Level)> = folders
            .into_iter()
            .filter_map(|folder| {
                let name = folder[prefix.len()..].trim_end_matches('/');
                let child = level.child(name).filter(|_| level.keeps(name, filter))?;
                Some((folder, child))
            })
            .collect();
        // Above `AWSLogs/`, only the way to it matters: once it is found, its siblings (other
        // tools' logs) are not descended.
        if matches!(level, Level::Above(_))
            && let Some(i) = children.iter().position(|(_, l)| *l == Level::Accounts)
        {
            found_layout = true;
            children = vec![children.swap_remove(i)];
        }
        stack.extend(children.into_iter().rev());
    }
    // No `AWSLogs/` near the start: the files were copied out of the layout; read them all.
    if !found_layout
        && let Err(e) = list_objects(client, url, &url.prefix, filter, tx, &mut stats).await
    {
        let _ = errors.send(e).await;
    }
    stats
}

async fn list_folders(
    client: &Client,
    bucket: &str,
    prefix: &str,
    stats: &mut WalkStats,
) -> Result<Vec<String>, ListError> {
    let mut folders = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .delimiter("/")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        stats.list_calls += 1;
        let page = page.map_err(|e| ListError {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            message: aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
        })?;
        folders.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_owned)),
        );
    }
    Ok(folders)
}

/// Lists every object under `prefix`; `Ok(false)` when the receiver is gone.
async fn list_objects(
    client: &Client,
    url: &S3Url,
    prefix: &str,
    filter: &Filter,
    tx: &Sender<ObjectRef>,
    stats: &mut WalkStats,
) -> Result<bool, ListError> {
    let mut pages = client
        .list_objects_v2()
        .bucket(&url.bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        stats.list_calls += 1;
        let page = page.map_err(|e| ListError {
            bucket: url.bucket.clone(),
            prefix: prefix.to_owned(),
            message: aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
        })?;
        for key in page.contents().iter().filter_map(|o| o.key()) {
            if !is_log_file(key) || !filter.key(key) {
                continue;
            }
            stats.objects += 1;
            let object = ObjectRef {
                bucket: url.bucket.clone(),
                key: key.to_owned(),
            };
            if tx.send(object).await.is_err() {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn keys_of_the_layout() {
        let k = LogKey::parse("trail/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2026/11/30/111122223333_CloudTrail_eu-west-1_20261130T0905Z_x.json.gz").unwrap();
        assert_eq!(k.account, "111122223333");
        assert_eq!(k.region, "eu-west-1");
        assert_eq!(k.date, Date::new(2026, 11, 30).unwrap());
        assert!(LogKey::parse("AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/30/f").is_some());
        for other in [
            "AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2026/11/30/f",
            "AWSLogs/1111/CloudTrail/eu-west-1/2026/11/30/f",
            "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/13/30/f",
            "logs/file.json.gz",
        ] {
            assert_eq!(LogKey::parse(other), None, "{other}");
        }
    }

    #[test]
    fn levels_of_start_prefixes() {
        assert_eq!(Level::of(""), Level::Above(0));
        assert_eq!(Level::of("trail/"), Level::Above(0));
        assert_eq!(Level::of("AWSLogs/"), Level::Accounts);
        assert_eq!(Level::of("x/AWSLogs/o-abc/"), Level::Accounts);
        assert_eq!(Level::of("AWSLogs/111122223333/"), Level::Account);
        assert_eq!(
            Level::of("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/"),
            Level::Days(2026, 11)
        );
        assert_eq!(
            Level::of("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/30/"),
            Level::Objects
        );
        assert_eq!(Level::of("AWSLogs/111122223333/Cloud"), Level::Objects);
        assert_eq!(
            Level::of("AWSLogs/111122223333/CloudTrail-Digest/"),
            Level::Objects
        );
    }

    #[test]
    fn days_reach_one_past_until() {
        let f = Filter {
            since: Some(ts("2026-11-10T12:00:00Z")),
            until: Some(ts("2026-11-20T23:59:00Z")),
            ..Filter::default()
        };
        assert!(!f.day(Date::new(2026, 11, 9).unwrap()));
        assert!(f.day(Date::new(2026, 11, 10).unwrap()));
        assert!(f.day(Date::new(2026, 11, 21).unwrap()));
        assert!(!f.day(Date::new(2026, 11, 22).unwrap()));
        assert!(f.month(2026, 11) && !f.month(2026, 10) && !f.month(2026, 12));
        assert!(f.year(2026) && !f.year(2025));
        assert!(f.time(ts("2026-11-15T00:00:00Z")) && !f.time(ts("2026-11-21T00:00:00Z")));
        // New Year: the last day of the year reaches into the next.
        let nye = Filter {
            until: Some(ts("2026-12-31T23:00:00Z")),
            ..Filter::default()
        };
        assert!(nye.year(2027) && nye.month(2027, 1) && !nye.month(2027, 2));
    }

    #[test]
    fn times() {
        let now = ts("2026-11-30T12:00:00Z");
        assert_eq!(parse_time("7d", now).unwrap(), ts("2026-11-23T12:00:00Z"));
        assert_eq!(parse_time("12h", now).unwrap(), ts("2026-11-30T00:00:00Z"));
        assert_eq!(parse_time("30m", now).unwrap(), ts("2026-11-30T11:30:00Z"));
        assert_eq!(parse_time("2w", now).unwrap(), ts("2026-11-16T12:00:00Z"));
        assert_eq!(
            parse_time("2026-11-01", now).unwrap(),
            ts("2026-11-01T00:00:00Z")
        );
        assert_eq!(
            parse_time("2026-11-01T08:00:00+01:00", now).unwrap(),
            ts("2026-11-01T07:00:00Z")
        );
        for bad in ["", "d", "7x", "-", "yesterday", "99999999999999999999d"] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }
}
