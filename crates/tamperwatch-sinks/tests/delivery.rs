//! Delivery against real servers on loopback: HTTP receivers (wiremock) for Slack, Teams,
//! OpsGenie, PagerDuty and the webhook; moto for SNS (read back through an SQS subscription)
//! and DynamoDB; aiosmtpd for email. `scripts/test.sh` starts moto and aiosmtpd and exports
//! their addresses; without them these tests skip, except under `CI=true`, where they fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use tamperwatch_detect::Detector;
use tamperwatch_sinks::signature;
use tamperwatch_sinks::{ChannelOutcome, Config, Notifier, Pipeline};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/events")
}

fn event(name: &str) -> Vec<u8> {
    std::fs::read(events_dir().join(name)).unwrap()
}

async fn pipeline(toml_text: &str) -> Pipeline {
    let config: Config = toml::from_str(toml_text).unwrap();
    let notifier = Notifier::new(config).await.unwrap();
    Pipeline::new(
        Detector::new(tamperwatch_catalog::load().unwrap()),
        notifier,
    )
}

fn fast_retry() -> &'static str {
    "[retry]\nmax_attempts = 3\ninitial_backoff_ms = 10\nmax_backoff_ms = 50\nmax_total_ms = 3000\nattempt_timeout_ms = 500\n"
}

fn json_body(r: &wiremock::Request) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

async fn requests(server: &MockServer, p: &str) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .collect()
}

#[tokio::test]
async fn http_channels_get_documented_payloads() {
    let server = MockServer::start().await;
    for (p, status) in [
        ("/slack", 200),
        ("/teams", 202),
        ("/v2/alerts", 202),
        ("/v2/enqueue", 202),
        ("/hook", 204),
    ] {
        Mock::given(method("POST"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
    }
    let uri = server.uri();
    let p = pipeline(&format!(
        r#"{}
        [alert.account_aliases]
        "111122223333" = "prod"
        [[channels]]
        to = {{ type = "slack", webhook_url = "{uri}/slack" }}
        [[channels]]
        to = {{ type = "teams", webhook_url = "{uri}/teams" }}
        [[channels]]
        to = {{ type = "opsgenie", api_key = "og-key", url = "{uri}" }}
        [[channels]]
        to = {{ type = "pagerduty", routing_key = "pd-routing-key-0123456789abcdef", url = "{uri}/v2/enqueue" }}
        [[channels]]
        to = {{ type = "webhook", url = "{uri}/hook", secret = "whsec" }}
        "#,
        fast_retry()
    ))
    .await;
    let out = p
        .handle(&event("stop_logging_iam_user.json"))
        .await
        .unwrap();
    assert_eq!(out["alerts"], 1, "{out}");

    let slack = requests(&server, "/slack").await;
    assert_eq!(slack.len(), 1);
    let s = json_body(&slack[0]);
    assert_eq!(s["blocks"][0]["type"], "header");
    assert!(
        s["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("CloudTrail trail logging stopped")
    );
    assert!(s["text"].as_str().unwrap().len() <= 3000);
    assert!(s.to_string().contains("ci-deployer"));
    assert!(s.to_string().contains("111122223333 (prod)"));

    let teams = json_body(&requests(&server, "/teams").await[0]);
    assert_eq!(teams["type"], "message");
    assert_eq!(
        teams["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(teams["attachments"][0]["content"]["type"], "AdaptiveCard");

    let og = &requests(&server, "/v2/alerts").await[0];
    assert_eq!(og.headers.get("authorization").unwrap(), "GenieKey og-key");
    let og = json_body(og);
    assert!(og["message"].as_str().unwrap().chars().count() <= 130);
    assert_eq!(og["priority"], "P1");
    assert_eq!(
        og["alias"],
        "tamperwatch/e77ef4bb-f9fe-477c-b81b-a2ba0ea95325/a1b2c3d4-0002-4000-8000-000000000002"
    );
    assert!(
        og["details"]
            .as_object()
            .unwrap()
            .values()
            .all(Value::is_string)
    );

    let pd = json_body(&requests(&server, "/v2/enqueue").await[0]);
    assert_eq!(pd["routing_key"], "pd-routing-key-0123456789abcdef");
    assert_eq!(pd["event_action"], "trigger");
    assert_eq!(pd["dedup_key"], og["alias"]);
    assert_eq!(pd["payload"]["severity"], "critical");
    assert_eq!(pd["payload"]["source"], "cloudtrail.amazonaws.com");
    assert!(pd["payload"]["summary"].as_str().unwrap().chars().count() <= 1024);

    let hook = &requests(&server, "/hook").await[0];
    let ts: u64 = hook
        .headers
        .get(signature::TIMESTAMP_HEADER)
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let sig = hook
        .headers
        .get(signature::SIGNATURE_HEADER)
        .unwrap()
        .to_str()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        signature::verify(b"whsec", ts, &hook.body, sig, now, 300),
        "signature must verify"
    );
    assert!(!signature::verify(b"other", ts, &hook.body, sig, now, 300));
    let h = json_body(hook);
    assert_eq!(h["schema"], "tamperwatch.alert/v1");
    assert_eq!(h["actor"]["name"], "user/ci-deployer");
    assert_eq!(
        h["parameters"]["requestParameters.name"],
        "arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events"
    );
    assert_eq!(
        hook.headers
            .get(signature::DELIVERY_HEADER)
            .unwrap()
            .to_str()
            .unwrap(),
        h["dedup_key"]
    );
}

#[tokio::test]
async fn routing_by_level_rule_and_account() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let uri = server.uri();
    let p = pipeline(&format!(
        r#"[[channels]]
        name = "critical-only"
        min_level = "critical"
        to = {{ type = "webhook", url = "{uri}/critical" }}
        [[channels]]
        name = "other-account"
        accounts = ["999999999999"]
        to = {{ type = "webhook", url = "{uri}/other" }}
        [[channels]]
        name = "guardduty-rules"
        rules = ["a6d7a0fb-*", "nothing"]
        to = {{ type = "webhook", url = "{uri}/rules" }}
        "#
    ))
    .await;
    // Root sign-in is `high`: not critical, not the other account.
    let report = p.process(&event("root_console_login.json")).await;
    assert_eq!(report.alerts, 1);
    let outcomes: Vec<_> = report.deliveries[0]
        .channels
        .iter()
        .map(|(_, o)| o.clone())
        .collect();
    assert_eq!(outcomes, vec![ChannelOutcome::NotRouted; 3]);
    let report = p.process(&event("stop_logging_iam_user.json")).await;
    assert_eq!(
        report.deliveries[0].channels[0].1,
        ChannelOutcome::Sent { attempts: 1 }
    );
    assert_eq!(
        report.deliveries[0].channels[1].1,
        ChannelOutcome::NotRouted
    );
    assert_eq!(requests(&server, "/critical").await.len(), 1);
    assert!(requests(&server, "/other").await.is_empty());
}

#[tokio::test]
async fn faults_recover_once_fail_alone_and_are_not_resent() {
    let server = MockServer::start().await;
    // Recovers: 500 once, then 200.
    Mock::given(method("POST"))
        .and(path("/flaky"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/flaky"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    // Times out: answers after the attempt timeout.
    Mock::given(method("POST"))
        .and(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    // Stays down.
    Mock::given(method("POST"))
        .and(path("/down"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    // Healthy.
    Mock::given(method("POST"))
        .and(path("/ok"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let uri = server.uri();
    let config = format!(
        r#"[retry]
        max_attempts = 3
        initial_backoff_ms = 10
        max_backoff_ms = 50
        max_total_ms = 2000
        attempt_timeout_ms = 300
        [[channels]]
        name = "flaky"
        to = {{ type = "webhook", url = "{uri}/flaky" }}
        [[channels]]
        name = "slow"
        to = {{ type = "webhook", url = "{uri}/slow" }}
        [[channels]]
        name = "down"
        to = {{ type = "webhook", url = "{uri}/down" }}
        [[channels]]
        name = "ok"
        to = {{ type = "slack", webhook_url = "{uri}/ok" }}
        "#
    );
    let p = pipeline(&config).await;
    let started = Instant::now();
    let err = p
        .handle(&event("delete_detector_assumed_role.json"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded: {:?}",
        started.elapsed()
    );
    assert!(err.retryable);
    assert_eq!(err.error_type(), "tamperwatch.RetryableError");
    assert!(
        err.message.contains("slow") && err.message.contains("down"),
        "{}",
        err.message
    );
    let ch = &err.report.deliveries[0].channels;
    assert_eq!(
        ch[0],
        ("flaky".into(), ChannelOutcome::Sent { attempts: 2 })
    );
    assert!(
        matches!(&ch[1].1, ChannelOutcome::Failed { error, .. } if error.contains("no answer")),
        "{ch:?}"
    );
    assert!(
        matches!(&ch[2].1, ChannelOutcome::Failed { error, attempts: 3, .. } if error.contains("503")),
        "{ch:?}"
    );
    assert_eq!(ch[3], ("ok".into(), ChannelOutcome::Sent { attempts: 1 }));

    // The platform retries the invocation: only the failed channels are tried again.
    let err = p
        .handle(&event("delete_detector_assumed_role.json"))
        .await
        .unwrap_err();
    let ch = &err.report.deliveries[0].channels;
    assert_eq!(ch[0].1, ChannelOutcome::AlreadySent);
    assert_eq!(ch[3].1, ChannelOutcome::AlreadySent);
    let flaky_ok = requests(&server, "/flaky").await.len();
    assert_eq!(flaky_ok, 2, "one 500, one 200, nothing after");
    assert_eq!(requests(&server, "/ok").await.len(), 1, "exactly once");
    assert_eq!(
        requests(&server, "/down").await.len(),
        6,
        "3 attempts per invocation"
    );
}

#[tokio::test]
async fn permanent_errors_fail_without_retries() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string("invalid_payload"))
        .mount(&server)
        .await;
    let p = pipeline(&format!(
        "{}[[channels]]\nto = {{ type = \"slack\", webhook_url = \"{}/s\" }}\n",
        fast_retry(),
        server.uri()
    ))
    .await;
    let err = p
        .handle(&event("stop_logging_iam_user.json"))
        .await
        .unwrap_err();
    assert!(!err.retryable);
    assert!(err.message.contains("slack"));
    assert_eq!(requests(&server, "/s").await.len(), 1);
}

#[tokio::test]
async fn sqs_batch_reports_only_the_poisoned_record() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let p = pipeline(&format!(
        "{}[[channels]]\nto = {{ type = \"webhook\", url = \"{}/hook\" }}\n",
        fast_retry(),
        server.uri()
    ))
    .await;
    let out = p
        .handle(&event("sqs_batch_one_poisoned.json"))
        .await
        .unwrap();
    assert_eq!(
        out,
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "msg-2-poisoned"}]})
    );
    let names: Vec<String> = requests(&server, "/hook")
        .await
        .iter()
        .map(|r| {
            json_body(r)["event"]["eventName"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(names, ["StopLogging", "DeleteDetector"]);
}

#[tokio::test]
async fn every_lambda_shape_alerts_where_it_should() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let p = pipeline(&format!(
        "{}[[channels]]\nto = {{ type = \"webhook\", url = \"{}/hook\" }}\n",
        fast_retry(),
        server.uri()
    ))
    .await;
    for (file, alerts) in [
        ("root_console_login.json", 1),
        ("stop_logging_iam_user.json", 1),
        ("delete_detector_assumed_role.json", 1),
        ("disable_securityhub_no_session_context.json", 1),
        ("sns_wrapped_disable_securityhub.json", 0), // same event again: already sent
        ("aws_service_event.json", 0),
    ] {
        let out = p.handle(&event(file)).await.unwrap();
        if !file.starts_with("sns") {
            assert_eq!(out["alerts"], alerts, "{file}: {out}");
        }
    }
    let bodies: Vec<Value> = requests(&server, "/hook")
        .await
        .iter()
        .map(json_body)
        .collect();
    let who: Vec<&str> = bodies
        .iter()
        .map(|b| b["actor"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        who,
        [
            "root",
            "user/ci-deployer",
            "alice@example.com (IAM Identity Center, AdministratorAccess)",
            "role/ec2-app-role (session i-0abc123def4567890)"
        ]
    );
    // The same event delivered twice (EventBridge, then SNS) alerted once.
    assert_eq!(
        bodies
            .iter()
            .filter(|b| b["event"]["eventName"] == "DisableSecurityHub")
            .count(),
        1
    );
}

#[tokio::test]
async fn test_alert_goes_everywhere_marked() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let p = pipeline(&format!(
        "[[channels]]\nmin_level = \"critical\"\nrules = [\"none\"]\nto = {{ type = \"webhook\", url = \"{}/hook\" }}\n",
        server.uri()
    ))
    .await;
    let alert = tamperwatch_alert::Alert::test(p.notifier().alert_config(), "2026-11-30T09:00:00Z");
    let d = p.notifier().deliver(&alert).await;
    assert_eq!(d.channels[0].1, ChannelOutcome::Sent { attempts: 1 });
    let body = json_body(&requests(&server, "/hook").await[0]);
    assert_eq!(body["test"], true);
    assert!(body["headline"].as_str().unwrap().starts_with("[TEST]"));
}

async fn pipeline_on(sdk: &aws_config::SdkConfig, toml_text: &str) -> Pipeline {
    let config: Config = toml::from_str(toml_text).unwrap();
    let notifier = Notifier::with_aws(config, sdk.clone()).await.unwrap();
    Pipeline::new(
        Detector::new(tamperwatch_catalog::load().unwrap()),
        notifier,
    )
}

#[tokio::test]
async fn sns_topic_delivers_subject_message_and_attributes() {
    let Some(moto) = common::server_var("TAMPERWATCH_TEST_MOTO_URL") else {
        return;
    };
    let sdk = common::aws_config(&moto).await;
    let sns = aws_sdk_sns::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let topic = sns
        .create_topic()
        .name(format!("tw-alerts-{}", std::process::id()))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let queue = sqs
        .create_queue()
        .queue_name(format!("tw-alerts-{}", std::process::id()))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await
        .unwrap();

    let p = pipeline_on(
        &sdk,
        &format!(
            "{}[[channels]]\nto = {{ type = \"sns\", topic_arn = \"{topic}\" }}\n",
            fast_retry()
        ),
    )
    .await;
    let out = p
        .handle(&event("stop_logging_iam_user.json"))
        .await
        .unwrap();
    assert_eq!(out["alerts"], 1);

    let msgs = sqs
        .receive_message()
        .queue_url(&queue)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap();
    assert_eq!(msgs.len(), 1);
    let envelope: Value = serde_json::from_str(msgs[0].body().unwrap()).unwrap();
    let subject = envelope["Subject"].as_str().unwrap();
    assert!(
        subject.is_ascii() && subject.len() < 100 && !subject.contains('\n'),
        "{subject}"
    );
    assert!(
        subject.starts_with("[CRITICAL] CloudTrail trail logging stopped"),
        "{subject}"
    );
    // The SQS subscriber gets the JSON form.
    let message: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message["schema"], "tamperwatch.alert/v1");
    assert_eq!(message["event"]["eventName"], "StopLogging");
    let attrs = &envelope["MessageAttributes"];
    assert_eq!(attrs["level"]["Value"], "critical");
    assert_eq!(attrs["account"]["Value"], "111122223333");
    assert_eq!(attrs["region"]["Value"], "us-east-1");
    assert_eq!(attrs["service"]["Value"], "cloudtrail.amazonaws.com");
    assert_eq!(
        attrs["rule"]["Value"],
        "e77ef4bb-f9fe-477c-b81b-a2ba0ea95325"
    );
}

#[tokio::test]
async fn dynamodb_ledger_stops_resends_across_cold_starts() {
    let Some((sdk, ddb, table)) = common::moto_table("tw-deliveries").await else {
        return;
    };
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ok"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/down"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let config = format!(
        "{}[idempotency]\ntable = \"{table}\"\n[[channels]]\nname = \"ok\"\nto = {{ type = \"webhook\", url = \"{uri}/ok\" }}\n[[channels]]\nname = \"down\"\nto = {{ type = \"webhook\", url = \"{uri}/down\" }}\n",
        fast_retry(),
        uri = server.uri()
    );
    // Two separate notifiers: two cold starts sharing only the table.
    let first = pipeline_on(&sdk, &config)
        .await
        .handle(&event("root_console_login.json"))
        .await;
    assert!(first.is_err());
    let second = pipeline_on(&sdk, &config)
        .await
        .handle(&event("root_console_login.json"))
        .await
        .unwrap_err();
    assert_eq!(
        second.report.deliveries[0].channels[0].1,
        ChannelOutcome::AlreadySent
    );
    assert_eq!(requests(&server, "/ok").await.len(), 1);
    let item = ddb.scan().table_name(&table).send().await.unwrap();
    assert_eq!(item.count, 1);
    let item = &item.items.unwrap()[0];
    assert!(item["pk"].as_s().unwrap().ends_with("#ok"));
    assert!(item["expires_at"].as_n().unwrap().parse::<u64>().unwrap() > 1_700_000_000);
}

#[tokio::test]
async fn smtp_delivers_text_and_html() {
    let (Some(addr), Some(maildir)) = (
        common::server_var("TAMPERWATCH_TEST_SMTP_ADDR"),
        common::server_var("TAMPERWATCH_TEST_MAILDIR"),
    ) else {
        return;
    };
    let (host, port) = addr.rsplit_once(':').unwrap();
    let to = format!("soc-{}@example.com", std::process::id());
    let p = pipeline(&format!(
        "{}[[channels]]\nto = {{ type = \"smtp\", host = \"{host}\", port = {port}, security = \"none\", from = \"tamperwatch@example.com\", to = [\"{to}\"] }}\n",
        fast_retry()
    ))
    .await;
    p.handle(&event("delete_detector_assumed_role.json"))
        .await
        .unwrap();
    let new = PathBuf::from(maildir).join("new");
    let mail = std::fs::read_dir(&new)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .find(|m| m.contains(&to))
        .expect("the message is in the mailbox");
    assert!(mail.contains("Subject: "), "{mail}");
    assert!(mail.contains("GuardDuty"), "{mail}");
    assert!(mail.contains("multipart/alternative"));
    assert!(mail.contains("text/plain") && mail.contains("text/html"));
}
