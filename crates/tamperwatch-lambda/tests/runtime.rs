//! The Lambda binary itself, run against a Lambda Runtime API served on loopback, with real
//! EventBridge events, an SNS-wrapped event, an SQS batch holding one poisoned record, and a
//! payload that is no event at all. Alerts go to a signed webhook and to the log (stdout).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// `GET /runtime/invocation/next`: the queued events one by one, then nothing (a long poll that
/// does not end before the test does).
struct Next(Mutex<VecDeque<(String, Vec<u8>)>>);

impl Respond for Next {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        match self.0.lock().unwrap().pop_front() {
            Some((id, body)) => {
                let deadline = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis()
                    + 60_000;
                ResponseTemplate::new(200)
                    .insert_header("Lambda-Runtime-Aws-Request-Id", id.as_str())
                    .insert_header("Lambda-Runtime-Deadline-Ms", deadline.to_string().as_str())
                    .insert_header(
                        "Lambda-Runtime-Invoked-Function-Arn",
                        "arn:aws:lambda:us-east-1:111122223333:function:tamperwatch",
                    )
                    .insert_header(
                        "Lambda-Runtime-Trace-Id",
                        "Root=1-00000000-000000000000000000000000",
                    )
                    .set_body_raw(body, "application/json")
            }
            None => ResponseTemplate::new(200).set_delay(Duration::from_secs(300)),
        }
    }
}

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tamperwatch-sinks/tests/events")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_binary_handles_real_events() {
    let files = [
        "root_console_login.json",
        "stop_logging_iam_user.json",
        "delete_detector_assumed_role.json",
        "disable_securityhub_no_session_context.json",
        "aws_service_event.json",
        "sns_wrapped_disable_securityhub.json",
        "sqs_batch_one_poisoned.json",
    ];
    let mut queue: VecDeque<(String, Vec<u8>)> = files
        .iter()
        .map(|f| {
            (
                f.trim_end_matches(".json").to_owned(),
                std::fs::read(events_dir().join(f)).unwrap(),
            )
        })
        .collect();
    queue.push_back(("not-an-event".into(), br#"{"hello": "world"}"#.to_vec()));
    let expected = queue.len();

    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/2018-06-01/runtime/invocation/next"))
        .respond_with(Next(Mutex::new(queue)))
        .mount(&api)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(
            "^/2018-06-01/runtime/invocation/[^/]+/(response|error)$",
        ))
        .respond_with(ResponseTemplate::new(202))
        .mount(&api)
        .await;
    let hooks = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hooks)
        .await;

    let mut child = Command::new(env!("CARGO_BIN_EXE_tamperwatch-lambda"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", api.address().to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "tamperwatch")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/tamperwatch")
        .env("TAMPERWATCH_WEBHOOK_URL", format!("{}/hook", hooks.uri()))
        .env("TAMPERWATCH_WEBHOOK_SECRET", "s3cr3t-signing-key")
        .env("TAMPERWATCH_LOG_ALERTS", "true")
        .env("TAMPERWATCH_RETRY_MAX_TOTAL_MS", "3000")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let started = Instant::now();
    let answers = loop {
        let answers: Vec<Request> = api
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.method.as_str() == "POST")
            .collect();
        if answers.len() >= expected || started.elapsed() > Duration::from_secs(60) {
            break answers;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the Lambda exited: {status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        answers.len(),
        expected,
        "answers: {answers:?}\nstderr: {stderr}"
    );

    let answer = |id: &str| -> (&str, Value) {
        let r = answers
            .iter()
            .find(|r| r.url.path().contains(&format!("/invocation/{id}/")))
            .unwrap_or_else(|| panic!("no answer for {id}"));
        let kind = if r.url.path().ends_with("/response") {
            "response"
        } else {
            "error"
        };
        (kind, serde_json::from_slice(&r.body).unwrap())
    };
    for id in [
        "root_console_login",
        "stop_logging_iam_user",
        "delete_detector_assumed_role",
        "disable_securityhub_no_session_context",
    ] {
        let (kind, body) = answer(id);
        assert_eq!(kind, "response", "{id}: {body}");
        assert_eq!(body["alerts"], 1, "{id}: {body}");
    }
    let (kind, body) = answer("aws_service_event");
    assert_eq!(
        (kind, body["alerts"].as_u64()),
        ("response", Some(0)),
        "{body}"
    );
    let (kind, body) = answer("sns_wrapped_disable_securityhub");
    assert_eq!(kind, "response", "{body}");
    let (kind, body) = answer("sqs_batch_one_poisoned");
    assert_eq!(kind, "response");
    assert_eq!(
        body,
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "msg-2-poisoned"}]})
    );
    let (kind, body) = answer("not-an-event");
    assert_eq!(kind, "error");
    assert_eq!(body["errorType"], "tamperwatch.PermanentError", "{body}");

    // One alert per finding, the repeats (SNS copy, SQS batch) not sent again.
    let sent: Vec<Value> = hooks
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let names: Vec<&str> = sent
        .iter()
        .map(|b| b["event"]["eventName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "ConsoleLogin",
            "StopLogging",
            "DeleteDetector",
            "DisableSecurityHub"
        ],
        "{stderr}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.contains(r#""tamperwatch":"alert""#))
            .count(),
        4,
        "{stdout}"
    );
    // Nothing crashed, no secret in any log line.
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("s3cr3t") && !stdout.contains("s3cr3t"));
    assert!(stderr.contains(r#""tamperwatch":"ready""#), "{stderr}");
}
