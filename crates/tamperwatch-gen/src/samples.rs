//! The bundled sample logs: the first `match` test event of every built-in rule, in CloudTrail
//! log files laid out as in an S3 bucket, among benign records; and a handful of the same events
//! as EventBridge delivers them (the Lambda's input).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde_json::{Value, json};

/// The events also written as EventBridge delivers them.
const EVENTBRIDGE_SAMPLES: &[&str] = &[
    "ConsoleLogin",
    "StopLogging",
    "DeleteDetector",
    "DisableSecurityHub",
    "LeaveOrganization",
];

/// Writes the samples under `dir`; returns (files, records).
pub fn write_samples(dir: &Path) -> anyhow::Result<(usize, usize)> {
    let rules = tamperwatch_catalog::load().context("loading the built-in catalog")?;
    // (account, region) -> records, in rule order.
    let mut files: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    let mut eventbridge = Vec::new();
    for rule in rules.rules() {
        if let Some(event) = rule.tests().must_match.first() {
            let account = text(event, &["recipientAccountId"])
                .or_else(|| text(event, &["userIdentity", "accountId"]))
                .unwrap_or("111122223333");
            let region = text(event, &["awsRegion"]).unwrap_or("us-east-1");
            files
                .entry((account.to_owned(), region.to_owned()))
                .or_default()
                .push(event.clone());
            if EVENTBRIDGE_SAMPLES.contains(&text(event, &["eventName"]).unwrap_or_default())
                && !eventbridge
                    .iter()
                    .any(|e: &Value| e["detail"]["eventName"] == event["eventName"])
            {
                eventbridge.push(as_eventbridge(event, account, region));
            }
        }
    }
    let benign = benign_records()?;
    let mut written = 0;
    let mut records = 0;
    for (i, ((account, region), mut events)) in files.into_iter().enumerate() {
        // Interleave benign records so the samples read like a real log file.
        let mut all = Vec::with_capacity(events.len() * 3);
        for (j, event) in events.drain(..).enumerate() {
            all.push(event);
            all.extend(
                benign
                    .iter()
                    .skip((i * 7 + j * 2) % benign.len())
                    .take(2)
                    .cloned(),
            );
        }
        let path = dir.join(format!(
            "AWSLogs/{account}/CloudTrail/{region}/2026/11/30/{account}_CloudTrail_{region}_20261130T0905Z_samples.json.gz"
        ));
        records += all.len();
        write_gz(&path, &serde_json::to_vec(&json!({ "Records": all }))?)?;
        written += 1;
    }
    let mut lines = Vec::new();
    for event in &eventbridge {
        serde_json::to_writer(&mut lines, event)?;
        lines.push(b'\n');
    }
    let path = dir.join("eventbridge/events.jsonl");
    std::fs::create_dir_all(dir.join("eventbridge"))?;
    std::fs::write(&path, lines).with_context(|| format!("writing {}", path.display()))?;
    Ok((written + 1, records + eventbridge.len()))
}

fn text<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// The EventBridge envelope CloudTrail records arrive in.
fn as_eventbridge(record: &Value, account: &str, region: &str) -> Value {
    let source = text(record, &["eventSource"]).map_or("aws.unknown".to_owned(), |s| {
        format!("aws.{}", s.strip_suffix(".amazonaws.com").unwrap_or(s))
    });
    let detail_type = match text(record, &["eventType"]) {
        Some("AwsConsoleSignIn") => "AWS Console Sign In via CloudTrail",
        Some("AwsServiceEvent") => "AWS Service Event via CloudTrail",
        _ => "AWS API Call via CloudTrail",
    };
    json!({
        "version": "0",
        "id": text(record, &["eventID"]).unwrap_or("00000000-0000-4000-8000-000000000000"),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": text(record, &["eventTime"]).unwrap_or("2026-11-30T09:00:00Z"),
        "region": region,
        "resources": [],
        "detail": record,
    })
}

/// A few hundred benign records from the generator.
fn benign_records() -> anyhow::Result<Vec<Value>> {
    let tmp = std::env::temp_dir().join(format!("tamperwatch-samples-{}", std::process::id()));
    let opts = crate::Options {
        records: 300,
        records_per_file: 300,
        planted: 0,
        ..crate::Options::default()
    };
    crate::generate(&tmp, &opts)?;
    let mut out = Vec::new();
    for entry in walk(&tmp)? {
        let gz = std::fs::read(&entry)?;
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text)?;
        let v: Value = serde_json::from_str(&text)?;
        if let Some(Value::Array(records)) = v.get("Records") {
            out.extend(records.iter().cloned());
        }
    }
    std::fs::remove_dir_all(&tmp)?;
    anyhow::ensure!(!out.is_empty(), "the generator wrote no records");
    Ok(out)
}

fn walk(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(walk(&path)?);
        } else {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn write_gz(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes)?;
    std::fs::write(path, enc.finish()?).with_context(|| format!("writing {}", path.display()))
}
