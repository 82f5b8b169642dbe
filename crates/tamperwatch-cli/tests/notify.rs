//! `tamperwatch notify`, `notify --test` and `scan --notify`, end to end: the binary delivers to
//! a signed webhook served on loopback.

// A panic in a test is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

/// Runs `cmd` and checks its exit code; a different one fails the test with the command's
/// stdout and stderr.
fn exits(cmd: &mut Command, code: i32) -> std::process::Output {
    cmd.assert().code(code).get_output().clone()
}

const STOP_LOGGING: &str = r#"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/mallory","accountId":"111122223333","userName":"mallory"},"eventTime":"2026-11-30T10:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.17.32","requestParameters":{"name":"management-events"},"responseElements":null,"eventID":"7e1b2c3d-0000-4000-8000-00000000e2e1","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#;

/// A webhook receiver: answers 200 to every POST and hands over (headers, body).
fn receiver() -> (String, mpsc::Receiver<(String, Value)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                headers.push_str(&line);
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = tx.send((
                headers,
                serde_json::from_slice(&body).unwrap_or(Value::Null),
            ));
        }
    });
    (url, rx)
}

fn tamperwatch(url: &str) -> Command {
    let mut cmd = Command::cargo_bin("tamperwatch").unwrap();
    for (k, _) in std::env::vars() {
        if k.starts_with("TAMPERWATCH_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("NO_COLOR", "1")
        .env("TAMPERWATCH_WEBHOOK_URL", url)
        .env("TAMPERWATCH_WEBHOOK_SECRET", "test-signing-key")
        .env("TAMPERWATCH_RETRY_MAX_TOTAL_MS", "3000")
        .timeout(Duration::from_secs(120));
    cmd
}

fn received(rx: &mpsc::Receiver<(String, Value)>) -> Vec<(String, Value)> {
    let mut all = Vec::new();
    while let Ok(m) = rx.recv_timeout(Duration::from_millis(500)) {
        all.push(m);
    }
    all
}

#[test]
fn notify_test_sends_a_marked_test_alert() {
    let (url, rx) = receiver();
    exits(tamperwatch(&url).args(["notify", "--test"]), 0);
    let got = received(&rx);
    assert_eq!(got.len(), 1, "{got:?}");
    let (headers, body) = &got[0];
    assert!(
        headers.to_ascii_lowercase().contains("signature"),
        "{headers}"
    );
    assert!(body.to_string().to_lowercase().contains("test"), "{body}");
}

#[test]
fn notify_delivers_a_finding_once_with_who_and_where() {
    let (url, rx) = receiver();
    exits(
        tamperwatch(&url)
            .arg("notify")
            .arg("-")
            .write_stdin(STOP_LOGGING),
        0,
    );
    let got = received(&rx);
    let text: Vec<String> = got.iter().map(|(_, b)| b.to_string()).collect();
    let ours: Vec<&String> = text
        .iter()
        .filter(|t| t.contains("7e1b2c3d-0000-4000-8000-00000000e2e1"))
        .collect();
    assert!(!ours.is_empty(), "{text:?}");
    assert!(
        ours.iter().any(|t| t.contains("mallory")
            && t.contains("111122223333")
            && t.contains("eu-west-1")),
        "{ours:?}"
    );
}

#[test]
fn scan_notify_sends_the_scans_findings() {
    let (url, rx) = receiver();
    exits(
        tamperwatch(&url)
            .args(["scan", "--notify", "--format=jsonl", "-"])
            .write_stdin(STOP_LOGGING),
        1,
    );
    let got = received(&rx);
    assert!(
        got.iter().any(|(_, b)| b
            .to_string()
            .contains("7e1b2c3d-0000-4000-8000-00000000e2e1")),
        "{got:?}"
    );
}

/// `scan --notify` groups and rate limits as the Lambda does, from the configuration: three
/// StopLogging calls by one user become one alert with a count, and with a budget of one alert
/// the other principals' alerts are folded into one storm summary that names them.
#[test]
fn scan_notify_groups_and_rate_limits_like_the_lambda() {
    let (url, rx) = receiver();
    let by = |user: &str, n: u32| {
        STOP_LOGGING
            .replace("user/mallory", &format!("user/{user}"))
            .replace(
                "\"userName\":\"mallory\"",
                &format!("\"userName\":\"{user}\""),
            )
            .replace("00000000e2e1", &format!("0000000{n:05}"))
    };
    let events = [
        by("mallory", 1),
        by("mallory", 2),
        by("mallory", 3),
        by("bob", 4),
        by("eve", 5),
    ]
    .join("\n");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tw.toml");
    std::fs::write(
        &config,
        "[noise.grouping]\nwindow_secs = 600\n\n[noise.rate_limit]\nmax_alerts = 1\nper_secs = 600\n",
    )
    .unwrap();
    let out = exits(
        tamperwatch(&url)
            .args(["scan", "--notify", "--format=jsonl", "--config"])
            .arg(&config)
            .arg("-")
            .write_stdin(events),
        1,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "notified 5 finding(s) in 3 alert(s), 2 folded into their group's alert, \
             2 held by rate limits and named in 1 storm summary"
        ),
        "{stderr}"
    );
    let got: Vec<Value> = received(&rx).into_iter().map(|(_, b)| b).collect();
    assert_eq!(got.len(), 2, "one alert and one storm summary: {got:?}");
    let grouped = got
        .iter()
        .find(|b| b["group"]["count"] == 3)
        .unwrap_or_else(|| panic!("mallory's three calls in one alert: {got:?}"));
    assert_eq!(grouped["group"]["in_alert"], 3, "{grouped}");
    let storm = got
        .iter()
        .find(|b| !b["storm"].is_null())
        .unwrap_or_else(|| panic!("a storm summary: {got:?}"));
    let storm_text = storm["storm"].to_string();
    assert!(
        storm_text.contains("bob") && storm_text.contains("eve"),
        "{storm_text}"
    );
}

/// The SMTP server of `tests/support/smtp_tls.py` (STARTTLS and AUTH required, a certificate
/// from a throwaway CA), run with the Python of `TAMPERWATCH_TEST_PYTHON`, which
/// scripts/local-servers.sh sets; stopped when dropped.
struct TlsSmtp {
    child: std::process::Child,
    port: u64,
    ca: String,
    messages: mpsc::Receiver<Value>,
}

impl TlsSmtp {
    fn start(user: &str, password: &str) -> Option<TlsSmtp> {
        let python = tamperwatch_testkit::server_var("TAMPERWATCH_TEST_PYTHON")?;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_tls.py");
        let mut child = std::process::Command::new(python)
            .args([script, user, password])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(serde_json::from_str(&line).unwrap()).is_err() {
                    break;
                }
            }
        });
        let ready: Value = messages
            .recv_timeout(Duration::from_secs(60))
            .expect("the SMTP server starts");
        Some(TlsSmtp {
            child,
            port: ready["port"].as_u64().unwrap(),
            ca: ready["ca"].as_str().unwrap().to_owned(),
            messages,
        })
    }

    /// `tamperwatch notify --test` with an email channel to this server, trusting `ca`.
    fn notify_test(&self, password: &str, ca: &str) -> Command {
        let mut cmd = tamperwatch("");
        cmd.env_remove("TAMPERWATCH_WEBHOOK_URL")
            .env_remove("TAMPERWATCH_WEBHOOK_SECRET")
            .env("TAMPERWATCH_SMTP_HOST", "localhost")
            .env("TAMPERWATCH_SMTP_PORT", self.port.to_string())
            .env("TAMPERWATCH_SMTP_USERNAME", "alerts@example.com")
            .env("TAMPERWATCH_SMTP_PASSWORD", password)
            .env("TAMPERWATCH_SMTP_FROM", "tamperwatch <alerts@example.com>")
            .env("TAMPERWATCH_SMTP_TO", "secops@example.com")
            .env("SSL_CERT_FILE", ca)
            .args(["notify", "--test"]);
        cmd
    }
}

impl Drop for TlsSmtp {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Email goes out as mail providers require it (the default `starttls` security, then
/// authentication), never in clear text when TLS fails, and the password never shows.
#[test]
fn email_goes_out_over_starttls_with_authentication() {
    const PASSWORD: &str = "smtp-secret-7f3a";
    let Some(smtp) = TlsSmtp::start("alerts@example.com", PASSWORD) else {
        return;
    };
    exits(&mut smtp.notify_test(PASSWORD, &smtp.ca), 0);
    let message = smtp
        .messages
        .recv_timeout(Duration::from_secs(30))
        .expect("the test alert arrives");
    assert_eq!(message["tls"], true, "{message}");
    assert_eq!(message["authenticated"], true, "{message}");
    assert_eq!(message["to"], serde_json::json!(["secops@example.com"]));
    assert!(
        message["data"].as_str().unwrap().contains("tamperwatch"),
        "{message}"
    );

    // A wrong password is refused, the failure says so, and no password is printed.
    let out = smtp
        .notify_test("wrong-password-9c1e", &smtp.ca)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    // A permanent refusal: reported as the server said it, not retried.
    assert!(
        text.contains("smtp: FAILED after 1 attempt(s)") && text.contains("(535)"),
        "{text}"
    );
    assert!(
        !text.contains("wrong-password-9c1e") && !text.contains(PASSWORD),
        "{text}"
    );

    // A certificate it cannot verify stops the delivery: no fallback to clear text.
    let untrusted = tempfile::NamedTempFile::new().unwrap();
    let out = smtp
        .notify_test(PASSWORD, untrusted.path().to_str().unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("invalid peer certificate"), "{stderr}");
    assert!(
        smtp.messages
            .recv_timeout(Duration::from_millis(500))
            .is_err(),
        "nothing else was delivered"
    );
}
