//! The paths beside EventBridge, against moto and an HTTP receiver on loopback: log files named
//! by new-log-file notifications (reconciliation), auto-remediation, and scheduled drift
//! alerts with their state in DynamoDB. `scripts/test.sh` starts moto and exports its address;
//! without it these tests skip, except under `CI=true`, where they fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::PathBuf;

mod common;

use aws_config::SdkConfig;
use serde_json::{Value, json};
use tamperwatch_archive::ObjectRef;
use tamperwatch_archive::notification::s3_event_notification;
use tamperwatch_detect::Detector;
use tamperwatch_posture::accounts::{self, AccountAccess};
use tamperwatch_posture::{Place, checks};
use tamperwatch_sinks::drift::{DriftStore, Saved, alert_changes};
use tamperwatch_sinks::{ChannelOutcome, Config, LogFiles, Notifier, Pipeline, Remediation};
use tamperwatch_testkit::{fresh_name, moto_sdk, moto_url};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// moto's default account.
const MOTO_ACCOUNT: &str = "123456789012";

fn s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    )
}

/// A webhook receiver that accepts everything.
async fn receiver() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

async fn alerts_received(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

async fn notifier(sdk: &SdkConfig, server: &MockServer, table: Option<&str>) -> Notifier {
    let mut toml_text =
        String::from("[retry]\nmax_attempts = 1\nmax_total_ms = 2000\nattempt_timeout_ms = 1000\n");
    if let Some(table) = table {
        toml_text.push_str(&format!("[idempotency]\ntable = \"{table}\"\n"));
    }
    toml_text.push_str(&format!(
        "[[channels]]\nname = \"hook\"\nmin_level = \"informational\"\nto = {{ type = \"webhook\", url = \"{}/hook\" }}\n",
        server.uri()
    ));
    let config: Config = toml::from_str(&toml_text).unwrap();
    Notifier::with_aws(config, sdk.clone()).await.unwrap()
}

fn detector() -> Detector {
    Detector::new(tamperwatch_catalog::load().unwrap())
}

fn stop_logging_event() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/events/stop_logging_iam_user.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A CloudTrail log file as CloudTrail writes it: `{"Records": [...]}`, gzipped.
fn log_file(records: &[Value]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(json!({ "Records": records }).to_string().as_bytes())
        .unwrap();
    gz.finish().unwrap()
}

fn sqs_batch(bodies: &[(&str, String)]) -> Vec<u8> {
    let records: Vec<Value> = bodies
        .iter()
        .map(|(id, body)| json!({"eventSource": "aws:sqs", "messageId": id, "body": body}))
        .collect();
    json!({ "Records": records }).to_string().into_bytes()
}

#[tokio::test]
async fn log_files_alert_once_across_both_paths_and_failures_are_retried() {
    let Some(moto) = moto_url() else { return };
    let sdk = moto_sdk(&moto).await;
    let s3 = s3(&sdk);
    let bucket = fresh_name("tw-trail");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/30/111122223333_CloudTrail_us-east-1_20261130T0805Z_a1b2.json.gz";
    let event = stop_logging_event();
    let mut harmless = event["detail"].clone();
    harmless["eventName"] = json!("DescribeTrails");
    harmless["eventID"] = json!("a1b2c3d4-0002-4000-8000-0000000000ff");
    harmless["readOnly"] = json!(true);
    s3.put_object()
        .bucket(&bucket)
        .key(key)
        .body(log_file(&[harmless, event["detail"].clone()]).into())
        .send()
        .await
        .unwrap();

    let server = receiver().await;
    let pipeline = Pipeline::new(detector(), notifier(&sdk, &server, None).await)
        .with_log_files(LogFiles::new(s3.clone(), 1024 * 1024, vec![bucket.clone()]));
    let object = |bucket: &str, key: &str| ObjectRef {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
    };
    // What `tamperwatch backfill` enqueues and S3 sends: one readable file, one missing, one in
    // a bucket this deployment does not read, and S3's test event.
    let payload = sqs_batch(&[
        ("found", s3_event_notification(&[object(&bucket, key)])),
        (
            "missing",
            s3_event_notification(&[object(
                &bucket,
                "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/30/gone.json.gz",
            )]),
        ),
        (
            "foreign",
            s3_event_notification(&[object("someone-elses-bucket", key)]),
        ),
        (
            "test-event",
            json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": bucket}).to_string(),
        ),
    ]);
    let out = pipeline.handle(&payload).await.unwrap();
    let failed: Vec<&str> = out["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["missing", "foreign"]);
    let alerts = alerts_received(&server).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["event"]["eventName"], "StopLogging");
    assert_eq!(
        alerts[0]["event"]["eventID"],
        "a1b2c3d4-0002-4000-8000-000000000002"
    );

    // The same event through EventBridge, then CloudTrail's own SNS notification of the same
    // file delivered by an SNS subscription: read again, alerted on no more.
    let live = pipeline.handle(event.to_string().as_bytes()).await.unwrap();
    assert_eq!(live["alerts"], 1);
    let cloudtrail_sns = json!({"Records": [{"EventSource": "aws:sns", "Sns": {
        "Type": "Notification",
        "Message": json!({"s3Bucket": bucket, "s3ObjectKey": [key]}).to_string(),
    }}]});
    let again = pipeline
        .handle(cloudtrail_sns.to_string().as_bytes())
        .await
        .unwrap();
    assert_eq!(again["log_files"], 1);
    assert_eq!(again["records"], 2);
    assert_eq!(alerts_received(&server).await.len(), 1);
}

#[tokio::test]
async fn a_log_file_notification_without_the_reconciliation_path_fails() {
    let Some(moto) = moto_url() else { return };
    let sdk = moto_sdk(&moto).await;
    let server = receiver().await;
    let pipeline = Pipeline::new(detector(), notifier(&sdk, &server, None).await);
    let notification = json!({"s3Bucket": "b", "s3ObjectKey": ["AWSLogs/1/CloudTrail/x.json.gz"]});
    let error = pipeline
        .handle(notification.to_string().as_bytes())
        .await
        .unwrap_err();
    assert!(!error.retryable);
    assert!(
        error.message.contains("reading log files is not enabled"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn auto_remediation_restarts_a_stopped_trail_in_its_own_account_only() {
    let Some(moto) = moto_url() else { return };
    let sdk = moto_sdk(&moto).await;
    let bucket = fresh_name("tw-remediate");
    s3(&sdk)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let cloudtrail = aws_sdk_cloudtrail::Client::new(&sdk);
    let trail = cloudtrail
        .create_trail()
        .name(fresh_name("tw-trail"))
        .s3_bucket_name(&bucket)
        .is_multi_region_trail(true)
        .send()
        .await
        .unwrap()
        .trail_arn
        .unwrap();
    cloudtrail.stop_logging().name(&trail).send().await.unwrap();
    let logging = || async {
        cloudtrail
            .get_trail_status()
            .name(&trail)
            .send()
            .await
            .unwrap()
            .is_logging
            .unwrap()
    };
    assert!(!logging().await);

    let server = receiver().await;
    let pipeline = Pipeline::new(detector(), notifier(&sdk, &server, None).await)
        .with_remediation(Remediation::new(sdk.clone(), MOTO_ACCOUNT.to_owned()));
    // The fixture's event, moved into moto's account and naming the stopped trail.
    let mut event = stop_logging_event();
    event["detail"]["requestParameters"]["name"] = json!(trail);
    event["detail"]["recipientAccountId"] = json!(MOTO_ACCOUNT);
    event["detail"]["userIdentity"]["accountId"] = json!(MOTO_ACCOUNT);
    event["detail"]["eventID"] = json!(fresh_name("remediate"));
    let out = pipeline.handle(event.to_string().as_bytes()).await.unwrap();
    assert_eq!(out["alerts"], 1);
    assert!(logging().await, "the trail was not restarted");
    let alerts = alerts_received(&server).await;
    let note = alerts[0]["parameters"]["tamperwatch remediation"]
        .as_str()
        .unwrap();
    assert!(
        note.starts_with("reversed: ") && note.contains("StartLogging"),
        "{note}"
    );

    // The same event in another account of an organization: alerted, not acted on here.
    cloudtrail.stop_logging().name(&trail).send().await.unwrap();
    event["detail"]["recipientAccountId"] = json!("111122223333");
    event["detail"]["eventID"] = json!(fresh_name("elsewhere"));
    pipeline.handle(event.to_string().as_bytes()).await.unwrap();
    assert!(!logging().await);
    let alerts = alerts_received(&server).await;
    let note = alerts[1]["parameters"]["tamperwatch remediation"]
        .as_str()
        .unwrap();
    assert!(note.starts_with("not reversed: "), "{note}");
}

async fn create_table(sdk: &SdkConfig) -> String {
    let table = fresh_name("tw-idempotency");
    common::create_idempotency_table(sdk, &table).await;
    table
}

#[tokio::test]
async fn drift_alerts_when_a_check_breaks_and_recovers_not_on_every_run() {
    let Some(moto) = moto_url() else { return };
    let base = moto_sdk(&moto).await;
    // An account of this test's own (moto keeps accounts apart), so no other test's detectors
    // are seen.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let id = format!("7{:011}", nanos % 100_000_000_000);
    let account = match accounts::assume(&base, MOTO_ACCOUNT, std::slice::from_ref(&id), "tw-drift")
        .await
        .remove(0)
    {
        AccountAccess::Ready(account) => *account,
        AccountAccess::Unreachable { error, .. } => panic!("could not assume a role: {error}"),
    };
    let guardduty = aws_sdk_guardduty::Client::new(&account.sdk);
    let detector_id = match guardduty
        .list_detectors()
        .send()
        .await
        .unwrap()
        .detector_ids()
        .first()
    {
        Some(existing) => existing.clone(),
        None => guardduty
            .create_detector()
            .enable(true)
            .send()
            .await
            .unwrap()
            .detector_id
            .unwrap(),
    };
    let set_enabled = |on: bool| {
        let guardduty = guardduty.clone();
        let detector_id = detector_id.clone();
        async move {
            guardduty
                .update_detector()
                .detector_id(detector_id)
                .enable(on)
                .send()
                .await
                .unwrap();
        }
    };
    set_enabled(true).await;

    let server = receiver().await;
    let table = create_table(&base).await;
    let notifier = notifier(&base, &server, Some(&table)).await;
    // A scope of this run's own, so a rerun against the same moto starts from nothing.
    let store = DriftStore::new(
        aws_sdk_dynamodb::Client::new(&base),
        table,
        &fresh_name(&id),
    );
    let place = Place::new(&account.id, "us-east-1");
    let mut runs = Vec::new();
    for (enabled, now) in [
        (true, "2026-11-30T10:00:00Z"),
        (false, "2026-11-30T11:00:00Z"),
        (false, "2026-11-30T12:00:00Z"),
        (true, "2026-11-30T13:00:00Z"),
        (true, "2026-11-30T14:00:00Z"),
    ] {
        set_enabled(enabled).await;
        let results = checks::guardduty::check(&guardduty, &place).await;
        let run = alert_changes(&notifier, &store, &results, now)
            .await
            .unwrap();
        assert_eq!(run.saved, Saved::Saved);
        runs.push((run.broke.len(), run.recovered.len(), run.version));
    }
    assert_eq!(
        runs,
        [(0, 0, 0), (1, 0, 1), (0, 0, 2), (0, 1, 3), (0, 0, 4)]
    );
    let alerts = alerts_received(&server).await;
    let headlines: Vec<&str> = alerts
        .iter()
        .map(|a| a["headline"].as_str().unwrap())
        .collect();
    assert_eq!(
        headlines,
        [
            format!(
                "[HIGH] Security service check fails: guardduty detector-enabled in {id} us-east-1"
            ),
            format!(
                "[LOW] Security service check passes again: guardduty detector-enabled in {id} us-east-1"
            ),
        ]
    );
    assert!(
        alerts[0]["rule"]["response"]
            .as_str()
            .is_some_and(|fix| fix.contains(&detector_id)),
        "{}",
        alerts[0]["rule"]
    );
}

#[tokio::test]
async fn a_drift_alert_that_could_not_be_sent_is_sent_by_the_next_run() {
    let Some(moto) = moto_url() else { return };
    let sdk = moto_sdk(&moto).await;
    let down = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&down)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&down)
        .await;
    let table = create_table(&sdk).await;
    let notifier = notifier(&sdk, &down, Some(&table)).await;
    let store = DriftStore::new(aws_sdk_dynamodb::Client::new(&sdk), table, "111122223333");
    let failing = Place::new("111122223333", "eu-west-1").result(
        tamperwatch_posture::Service::Config,
        "recorder-recording",
        tamperwatch_posture::Status::Fail,
        "the recorder is stopped",
    );
    let first = alert_changes(&notifier, &store, std::slice::from_ref(&failing), "t1")
        .await
        .unwrap();
    assert!(first.failed());
    assert_eq!(first.saved, Saved::NotSaved);
    let second = alert_changes(&notifier, &store, std::slice::from_ref(&failing), "t2")
        .await
        .unwrap();
    assert_eq!(
        (second.broke.len(), second.version, second.saved),
        (1, 0, Saved::Saved)
    );
    assert!(matches!(
        second.deliveries[0].channels[0].1,
        ChannelOutcome::Sent { .. }
    ));
    let third = alert_changes(&notifier, &store, std::slice::from_ref(&failing), "t3")
        .await
        .unwrap();
    assert!(third.broke.is_empty() && third.deliveries.is_empty());
}
