//! Hunting in AWS, against moto: `scan s3://` with the layout's filters, `scan sqs://`
//! deleting only what was handled, correlating across messages and applying `--config`,
//! `backfill`, and `--lookup`'s error path (moto has no
//! LookupEvents; the lookup itself is tested with SDK mocks in tamperwatch-archive).

use std::collections::BTreeSet;

use serde_json::Value;

use tamperwatch_testkit::{fresh_name, moto_sdk, moto_url};

use super::check::against;
use super::{exits, gzip, jsonl};

const A: &str = "111111111111";
const B: &str = "222222222222";

fn s3(endpoint: &str) -> aws_sdk_s3::Client {
    let sdk = runtime().block_on(moto_sdk(endpoint));
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    )
}

fn sqs(endpoint: &str) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&runtime().block_on(moto_sdk(endpoint)))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn record(id: &str, account: &str, region: &str, time: &str, name: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::{account}:user/mallory","accountId":"{account}","userName":"mallory"}},"eventTime":"{time}","eventSource":"cloudtrail.amazonaws.com","eventName":"{name}","awsRegion":"{region}","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.17.32","requestParameters":{{"name":"trail"}},"eventID":"{id}","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"{account}"}}"#
    )
}

fn log_file(records: &[String]) -> Vec<u8> {
    gzip(format!(r#"{{"Records":[{}]}}"#, records.join(",")).as_bytes())
}

fn key(account: &str, region: &str, day: u8) -> String {
    format!(
        "AWSLogs/o-exampleorg/{account}/CloudTrail/{region}/2026/11/{day:02}/{account}_CloudTrail_{region}_202611{day:02}T1005Z_f.json.gz"
    )
}

/// Two accounts, two regions, three days: each day's file has a StopLogging at 10:00 and a
/// read-only call; account A's us-east-1 file of the 2nd also holds a StopLogging of 23:58
/// on the 1st, delivered after midnight.
fn archive(endpoint: &str) -> (String, Vec<String>) {
    let client = s3(endpoint);
    let bucket = fresh_name("hunt");
    let mut tampering = Vec::new();
    runtime().block_on(async {
        client.create_bucket().bucket(&bucket).send().await.unwrap();
        for account in [A, B] {
            for region in ["eu-west-1", "us-east-1"] {
                for day in 1..=3u8 {
                    let id = format!("stop-{account}-{region}-{day}");
                    let mut records = vec![
                        record(
                            &id,
                            account,
                            region,
                            &format!("2026-11-{day:02}T10:00:00Z"),
                            "StopLogging",
                        ),
                        record(
                            &format!("read-{id}"),
                            account,
                            region,
                            &format!("2026-11-{day:02}T10:01:00Z"),
                            "DescribeTrails",
                        ),
                    ];
                    tampering.push(id);
                    if (account, region, day) == (A, "us-east-1", 2) {
                        records.insert(
                            0,
                            record(
                                "late",
                                A,
                                "us-east-1",
                                "2026-11-01T23:58:00Z",
                                "StopLogging",
                            ),
                        );
                        tampering.push("late".into());
                    }
                    client
                        .put_object()
                        .bucket(&bucket)
                        .key(key(account, region, day))
                        .body(log_file(&records).into())
                        .send()
                        .await
                        .unwrap();
                }
            }
        }
    });
    (bucket, tampering)
}

fn event_ids(findings: &[Value]) -> Vec<String> {
    findings
        .iter()
        .map(|f| f["event"]["eventID"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_s3_archive_is_scanned_with_the_layout_filters() {
    let Some(moto) = moto_url() else { return };
    let (bucket, tampering) = archive(&moto);

    // Everything: every StopLogging, in key order then file order; nothing read-only.
    let out = exits(
        against(&moto).args(["scan", "--format", "jsonl", &format!("s3://{bucket}")]),
        1,
    );
    let found = event_ids(&jsonl(&out.stdout));
    assert_eq!(found.len(), tampering.len());
    assert_eq!(
        found.iter().collect::<BTreeSet<_>>(),
        tampering.iter().collect::<BTreeSet<_>>()
    );
    assert_eq!(found[0], format!("stop-{A}-eu-west-1-1"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("scanned 12 inputs, 25 records"), "{stderr}");

    // One account, one region, the evening of the 1st: the late-delivered record only (it
    // sits in the 2nd's folder); the 1st's 10:00 event is before --since.
    let out = exits(
        against(&moto).args([
            "scan",
            "--format",
            "jsonl",
            "--accounts",
            A,
            "--regions",
            "us-east-1",
            "--since",
            "2026-11-01T12:00:00Z",
            "--until",
            "2026-11-01T23:59:59Z",
            &format!("s3://{bucket}/AWSLogs/"),
        ]),
        1,
    );
    assert_eq!(event_ids(&jsonl(&out.stdout)), ["late"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Only the folders of the 1st and the 2nd were read: two files.
    assert!(stderr.contains("scanned 2 inputs"), "{stderr}");

    // A bucket that does not exist is an error naming it, not an empty pass.
    let out = exits(
        against(&moto).args(["scan", &format!("s3://{bucket}-missing/")]),
        2,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{bucket}-missing")), "{stderr}");
}

fn queue(client: &aws_sdk_sqs::Client, name: &str) -> String {
    runtime().block_on(async {
        client
            .create_queue()
            .queue_name(name)
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                "2",
            )
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned()
    })
}

fn send(client: &aws_sdk_sqs::Client, url: &str, body: &str) {
    runtime().block_on(async {
        client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    });
}

fn bodies(client: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    runtime().block_on(async {
        let out = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(3)
            .send()
            .await
            .unwrap();
        out.messages()
            .iter()
            .filter_map(|m| m.body().map(str::to_owned))
            .collect()
    })
}

/// Objects read as they download keep both caps: one larger than `--max-file-size` as stored,
/// and one that inflates past it (a gzip bomb), are each an error naming the object, and the
/// rest of the archive is still scanned.
#[test]
fn an_s3_object_over_the_caps_is_an_error_and_the_rest_is_scanned() {
    let Some(moto) = moto_url() else { return };
    let (bucket, tampering) = archive(&moto);
    let client = s3(&moto);
    let big = format!(
        "AWSLogs/o-exampleorg/{A}/CloudTrail/eu-west-1/2026/11/03/{A}_CloudTrail_eu-west-1_20261103T1105Z_big.json.gz"
    );
    let bomb = format!(
        "AWSLogs/o-exampleorg/{A}/CloudTrail/eu-west-1/2026/11/03/{A}_CloudTrail_eu-west-1_20261103T1110Z_bomb.json.gz"
    );
    runtime().block_on(async {
        for (key, body) in [(&big, vec![b' '; 20_000]), (&bomb, gzip(&[b' '; 50_000]))] {
            client
                .put_object()
                .bucket(&bucket)
                .key(key)
                .body(body.into())
                .send()
                .await
                .unwrap();
        }
    });
    let out = exits(
        against(&moto).args([
            "scan",
            "--format",
            "jsonl",
            "--max-file-size",
            "10000",
            &format!("s3://{bucket}"),
        ]),
        2,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let found = event_ids(&jsonl(&out.stdout));
    assert_eq!(
        found.iter().collect::<BTreeSet<_>>(),
        tampering.iter().collect::<BTreeSet<_>>(),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.contains(big.as_str()) && l.contains("larger than --max-file-size 10000")),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.contains(bomb.as_str()) && l.contains("decompresses to more than 10000")),
        "{stderr}"
    );
}

#[test]
fn a_queue_is_followed_and_only_handled_messages_are_deleted() {
    let Some(moto) = moto_url() else { return };
    let (bucket, _) = archive(&moto);
    let client = sqs(&moto);
    let url = queue(&client, &fresh_name("files"));
    // CloudTrail's own notification, SNS-wrapped, naming two files.
    let cloudtrail = serde_json::json!({
        "s3Bucket": bucket,
        "s3ObjectKey": [key(A, "us-east-1", 2), key(B, "eu-west-1", 3)],
    });
    send(
        &client,
        &url,
        &serde_json::json!({"Type": "Notification", "Message": cloudtrail.to_string()}).to_string(),
    );
    // An S3 event notification naming a file that is not there: kept for a retry.
    let missing = tamperwatch_archive::notification::s3_event_notification(&[
        tamperwatch_archive::ObjectRef {
            bucket: bucket.clone(),
            key: "AWSLogs/o-exampleorg/111111111111/CloudTrail/us-east-1/2026/11/09/gone.json.gz"
                .into(),
        },
    ]);
    send(&client, &url, &missing);

    let out = exits(
        against(&moto).args([
            "scan",
            "--drain",
            "--format",
            "jsonl",
            &format!("sqs://{url}"),
        ]),
        2,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut found = event_ids(&jsonl(&out.stdout));
    found.sort();
    assert_eq!(
        found,
        [
            "late",
            &format!("stop-{A}-us-east-1-2"),
            &format!("stop-{B}-eu-west-1-3")
        ]
    );
    assert!(stderr.contains("gone.json.gz"), "{stderr}");
    assert!(
        stderr.contains("1 message(s) left in the queue"),
        "{stderr}"
    );

    // The handled message is gone; the other comes back once its visibility timeout ends.
    let left = bodies(&client, &url);
    assert_eq!(left, [missing]);
}

/// One CloudTrail record of `source`'s `name` by user `user` at 10:`minute`.
fn switched_off(user: &str, minute: u8, source: &str, name: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::{A}:user/{user}","accountId":"{A}","userName":"{user}"}},"eventTime":"2026-11-30T10:{minute:02}:00Z","eventSource":"{source}","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.17.32","requestParameters":null,"eventID":"{user}-{name}","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"{A}"}}"#
    )
}

#[test]
fn a_followed_queue_correlates_across_messages_and_applies_the_config() {
    let Some(moto) = moto_url() else { return };
    let client = sqs(&moto);
    let url = queue(&client, &fresh_name("corr"));
    // Mallory switches off three services within four minutes; each call reaches the queue
    // in a message of its own (a dead-letter queue of events, say). Bob's call is suppressed.
    for (user, minute, source, name) in [
        ("mallory", 1, "cloudtrail.amazonaws.com", "StopLogging"),
        ("mallory", 3, "guardduty.amazonaws.com", "DeleteDetector"),
        ("bob", 4, "cloudtrail.amazonaws.com", "StopLogging"),
        (
            "mallory",
            5,
            "config.amazonaws.com",
            "StopConfigurationRecorder",
        ),
    ] {
        let body = format!(
            r#"{{"Records":[{}]}}"#,
            switched_off(user, minute, source, name)
        );
        send(&client, &url, &body);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tw.toml");
    std::fs::write(
        &config,
        format!(
            "[[suppress]]\nname = \"bob\"\nreason = \"trail migration\"\nowner = \"platform@example.com\"\nprincipal_arn = [\"arn:aws:iam::{A}:user/bob\"]\nexpires = \"2099-01-01T00:00:00Z\"\n"
        ),
    )
    .unwrap();

    let out = exits(
        against(&moto)
            .args(["scan", "--drain", "--format", "jsonl", "--config"])
            .arg(&config)
            .arg(format!("sqs://{url}")),
        1,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines = jsonl(&out.stdout);
    let (correlations, findings): (Vec<Value>, Vec<Value>) =
        lines.into_iter().partition(|l| l["type"] == "correlation");
    let mut found = event_ids(&findings);
    found.sort();
    assert_eq!(
        found,
        [
            "mallory-DeleteDetector",
            "mallory-StopConfigurationRecorder",
            "mallory-StopLogging"
        ]
    );
    assert_eq!(correlations.len(), 1, "{correlations:?}");
    assert_eq!(
        correlations[0]["rule"]["id"],
        "3b1f6c2e-8d4a-4f5b-9c7e-2a6d1e0f9b41"
    );
    assert!(stderr.contains("1 suppressed"), "{stderr}");
    assert!(bodies(&client, &url).is_empty(), "every message handled");
}

#[test]
fn backfill_enqueues_the_files_the_filters_select() {
    let Some(moto) = moto_url() else { return };
    let (bucket, _) = archive(&moto);
    let client = sqs(&moto);
    let url = queue(&client, &fresh_name("backfill"));
    let out = against(&moto)
        .args([
            "backfill",
            &format!("s3://{bucket}"),
            "--queue",
            &url,
            "--accounts",
            B,
            "--files-per-message",
            "2",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("enqueued 6 log file(s)") && stderr.contains("in 3 message(s)"),
        "{stderr}"
    );
    let mut keys = Vec::new();
    for _ in 0..5 {
        for body in bodies(&client, &url) {
            keys.extend(
                tamperwatch_archive::notification::objects(&body)
                    .unwrap()
                    .unwrap()
                    .into_iter()
                    .map(|o| o.key),
            );
        }
        if keys.len() >= 6 {
            break;
        }
    }
    keys.sort();
    let mut expected: Vec<String> = ["eu-west-1", "us-east-1"]
        .iter()
        .flat_map(|r| (1..=3).map(move |d| key(B, r, d)))
        .collect();
    expected.sort();
    assert_eq!(keys, expected);
}

#[test]
fn a_lookup_that_cannot_run_is_an_error_not_a_clean_result() {
    let Some(moto) = moto_url() else { return };
    let out = exits(
        against(&moto).args([
            "scan",
            "--lookup",
            "--regions",
            "eu-west-1",
            "--format",
            "jsonl",
        ]),
        2,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("lookup:eu-west-1:"), "{stderr}");
}
