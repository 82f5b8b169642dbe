//! The `tamperwatch` binary as a user runs it.

// A panic in a test is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn tamperwatch() -> Command {
    let mut cmd = Command::cargo_bin("tamperwatch").unwrap();
    cmd.env("NO_COLOR", "1")
        .env_remove("TAMPERWATCH_RULES")
        .env_remove("TAMPERWATCH_CONFIG");
    cmd
}

/// Runs `cmd` and checks its exit code; a different one fails the test with the command's
/// stdout and stderr (assert_cmd prints both).
fn exits(cmd: &mut Command, code: i32) -> std::process::Output {
    cmd.assert().code(code).get_output().clone()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn jsonl(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

const STOP_LOGGING: &str = r#"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/mallory","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"mallory"},"eventTime":"2026-11-30T10:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.17.32","requestParameters":{"name":"arn:aws:cloudtrail:eu-west-1:111122223333:trail/management-events"},"responseElements":null,"requestID":"1","eventID":"5a1b2c3d-0000-4000-8000-000000000001","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333"}"#;
const DESCRIBE: &str = r#"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","userName":"alice","accountId":"111122223333"},"eventTime":"2026-11-30T09:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"DescribeTrails","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.8","requestParameters":null,"eventID":"5a1b2c3d-0000-4000-8000-000000000002","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#;

#[test]
fn samples_cover_every_rule() {
    let out = exits(
        tamperwatch()
            .arg("scan")
            .arg("--format=jsonl")
            .arg(repo().join("samples")),
        1,
    );
    let fired: BTreeSet<String> = jsonl(&out.stdout)
        .iter()
        .map(|f| f["rule"]["id"].as_str().unwrap().to_owned())
        .collect();
    let list = tamperwatch()
        .args(["rules", "list", "--format=json"])
        .output()
        .unwrap();
    assert!(list.status.success());
    let all: BTreeSet<String> = jsonl(&list.stdout)
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let missing: Vec<&String> = all.difference(&fired).collect();
    assert!(
        missing.is_empty(),
        "rules the samples do not exercise (run `cargo run -p tamperwatch-gen -- samples`): {missing:?}"
    );
}

#[test]
fn a_finding_carries_who_what_where_and_when() {
    let out = exits(
        tamperwatch()
            .args(["scan", "--format=jsonl", "-"])
            .write_stdin(STOP_LOGGING),
        1,
    );
    let findings = jsonl(&out.stdout);
    let f = findings
        .iter()
        .find(|f| f["event"]["eventName"] == "StopLogging")
        .unwrap();
    assert_eq!(f["rule"]["level"], "critical");
    assert_eq!(f["level"], "critical");
    assert_eq!(f["outcome"], "success");
    assert_eq!(f["attempt"], false);
    assert_eq!(f["actor"]["name"], "user/mallory");
    assert_eq!(f["actor"]["kind"], "IAMUser");
    assert_eq!(
        f["event"]["eventID"],
        "5a1b2c3d-0000-4000-8000-000000000001"
    );
    assert_eq!(f["event"]["accountId"], "111122223333");
    assert_eq!(f["event"]["awsRegion"], "eu-west-1");
    assert_eq!(f["event"]["sourceIPAddress"], "203.0.113.7");
    assert_eq!(f["event"]["userAgent"], "aws-cli/2.17.32");
    assert_eq!(f["event"]["eventTime"], "2026-11-30T10:00:00Z");
    assert!(
        f["parameters"]["requestParameters.name"]
            .as_str()
            .unwrap()
            .ends_with("trail/management-events")
    );
    assert_eq!(f["source"]["input"], "-");
}

#[test]
fn a_denied_attempt_is_one_level_lower() {
    let denied = STOP_LOGGING.replace(
        r#""responseElements":null"#,
        r#""errorCode":"AccessDenied","errorMessage":"not authorized","responseElements":null"#,
    );
    let out = tamperwatch()
        .args(["scan", "--format=jsonl", "-"])
        .write_stdin(denied)
        .output()
        .unwrap();
    let findings = jsonl(&out.stdout);
    let f = findings
        .iter()
        .find(|f| f["event"]["eventName"] == "StopLogging")
        .unwrap();
    assert_eq!(f["outcome"], "denied");
    assert_eq!(f["attempt"], true);
    assert_eq!(f["level"], "high");
}

#[test]
fn no_findings_exits_zero() {
    let out = exits(tamperwatch().args(["scan", "-"]).write_stdin(DESCRIBE), 0);
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 records") || stderr.contains("1 record"),
        "{stderr}"
    );
    assert!(stderr.contains("0 findings"), "{stderr}");
}

/// Every kind of bad input is reported with its file and record or line; the good file is still
/// scanned; the exit code says there were errors.
#[test]
fn bad_input_is_reported_and_the_rest_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = format!(r#"{{"Records":[{DESCRIBE},{STOP_LOGGING}]}}"#);
    std::fs::write(d.join("00-good.json.gz"), gzip(good.as_bytes())).unwrap();
    std::fs::write(
        d.join("01-malformed.json"),
        r#"{"Records":[{"eventName":"x"},"#,
    )
    .unwrap();
    let gz = gzip(good.as_bytes());
    std::fs::write(d.join("02-truncated.json.gz"), &gz[..gz.len() / 2]).unwrap();
    std::fs::write(d.join("03-not-gzip.json.gz"), b"PK\x03\x04 not gzip at all").unwrap();
    std::fs::write(
        d.join("04-bomb.json.gz"),
        gzip(&vec![b' '; 4 * 1024 * 1024]),
    )
    .unwrap();
    std::fs::write(
        d.join("05-wrong-types.json"),
        format!(r#"{{"Records":[{{"eventName":7}},{STOP_LOGGING}]}}"#),
    )
    .unwrap();
    std::fs::write(d.join("06-non-utf8.jsonl"), b"{\"eventName\":\"\xff\"}\n").unwrap();
    std::fs::write(d.join("07-nesting.json"), format!(r#"{{"Records":[{{"eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","p":{}{}}}]}}"#, "[".repeat(5000), "]".repeat(5000))).unwrap();
    std::fs::write(d.join("08-empty.json"), b"").unwrap();
    std::fs::write(
        d.join("09-records-not-array.json"),
        br#"{"Records":"nope"}"#,
    )
    .unwrap();
    std::fs::write(
        d.join("10-huge-record.json"),
        format!(
            r#"{{"Records":[{{"eventName":"x","pad":"{}"}}]}}"#,
            "a".repeat(2 << 20)
        ),
    )
    .unwrap();

    let out = exits(
        tamperwatch()
            .args(["scan", "--format=jsonl", "--max-file-size=3000000"])
            .arg(d),
        2,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let findings = jsonl(&out.stdout);
    // Both StopLogging records outside the bad parts were found.
    let inputs: BTreeSet<String> = findings
        .iter()
        .filter(|f| f["event"]["eventName"] == "StopLogging")
        .map(|f| {
            format!(
                "{} {}",
                f["source"]["input"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap(),
                f["source"]["location"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        inputs,
        BTreeSet::from([
            "00-good.json.gz record 2".to_owned(),
            "05-wrong-types.json record 2".to_owned()
        ])
    );
    for (file, needle) in [
        ("01-malformed.json", "invalid JSON"),
        ("02-truncated.json.gz", "gzip"),
        ("03-not-gzip.json.gz", "invalid JSON"),
        ("04-bomb.json.gz", "gzip bomb"),
        ("05-wrong-types.json: record 1", "invalid type"),
        ("06-non-utf8.jsonl", "line 1"),
        ("07-nesting.json: record 1", "recursion limit"),
        ("08-empty.json", "empty input"),
        ("09-records-not-array.json", "`Records` is not an array"),
        ("10-huge-record.json: record 1", "larger than"),
    ] {
        let line = stderr
            .lines()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("no error for {file}:\n{stderr}"));
        assert!(line.contains(needle), "{file}: {line}");
    }
    assert!(stderr.contains("; 10 errors"), "{stderr}");
}

#[test]
fn json_document_holds_findings_errors_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.json"), STOP_LOGGING).unwrap();
    std::fs::write(dir.path().join("b.json"), "nope").unwrap();
    let out = exits(
        tamperwatch()
            .args(["scan", "--format=json"])
            .arg(dir.path()),
        2,
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["event"]["eventName"] == "StopLogging")
    );
    assert_eq!(doc["errors"].as_array().unwrap().len(), 1);
    assert!(
        doc["errors"][0]["input"]
            .as_str()
            .unwrap()
            .ends_with("b.json")
    );
    assert_eq!(doc["summary"]["inputs"], 2);
    assert_eq!(doc["summary"]["records"], 1);
    assert_eq!(doc["summary"]["errors"], 1);
}

#[test]
fn sort_by_time() {
    let later = STOP_LOGGING
        .replace("2026-11-30T10:00:00Z", "2026-12-01T10:00:00Z")
        .replace("000000000001", "000000000003");
    let input = format!("{later}\n{STOP_LOGGING}\n");
    let out = tamperwatch()
        .args(["scan", "--format=jsonl", "--sort=time", "-"])
        .write_stdin(input.clone())
        .output()
        .unwrap();
    let times: Vec<String> = jsonl(&out.stdout)
        .iter()
        .map(|f| f["event"]["eventTime"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    let out = tamperwatch()
        .args(["scan", "--format=jsonl", "-"])
        .write_stdin(input)
        .output()
        .unwrap();
    let first = &jsonl(&out.stdout)[0];
    assert_eq!(
        first["event"]["eventTime"], "2026-12-01T10:00:00Z",
        "input order by default"
    );
}

/// Attacker-controlled text cannot drive the terminal.
#[test]
fn table_escapes_hostile_text() {
    let hostile = STOP_LOGGING
        .replace("user/mallory", "user/mal\\u001b[2Jlory")
        .replace(
            r#""userName":"mallory""#,
            r#""userName":"mal\u001b[2J\rlory""#,
        );
    let out = tamperwatch()
        .args(["scan", "-"])
        .write_stdin(hostile)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
    assert!(stdout.contains("mal\\u{1b}[2J\\u{d}lory"), "{stdout}");
}

#[test]
fn table_output() {
    let out = tamperwatch()
        .args(["scan", "-"])
        .write_stdin(format!("{DESCRIBE}\n{STOP_LOGGING}\n"))
        .output()
        .unwrap();
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn rules_test_passes_on_the_catalog() {
    let out = tamperwatch().args(["rules", "test"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

const USER_RULE: &str = r#"
title: Trail stopped by mallory
id: 0f0e0d0c-0000-4000-8000-00000000abcd
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventSource: cloudtrail.amazonaws.com
    eventName: StopLogging
    userIdentity.userName: mallory
  condition: selection
level: high
tests:
  match:
    - {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging, userIdentity: {type: IAMUser, userName: mallory}}
  no_match:
    - {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging, userIdentity: {type: IAMUser, userName: alice}}
"#;

#[test]
fn user_rules_beside_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mine.yml"), USER_RULE).unwrap();
    let out = tamperwatch()
        .args(["scan", "--format=jsonl", "--rules"])
        .arg(dir.path())
        .arg("-")
        .write_stdin(STOP_LOGGING)
        .output()
        .unwrap();
    let ids: BTreeSet<String> = jsonl(&out.stdout)
        .iter()
        .map(|f| f["rule"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.contains("0f0e0d0c-0000-4000-8000-00000000abcd"));
    assert!(ids.len() > 1, "the built-in catalog fires too");
    let out = tamperwatch()
        .args(["scan", "--format=jsonl", "--no-builtin", "--rules"])
        .arg(dir.path())
        .arg("-")
        .write_stdin(STOP_LOGGING)
        .output()
        .unwrap();
    assert_eq!(jsonl(&out.stdout).len(), 1);
    // Its own tests.
    let out = tamperwatch()
        .args(["rules", "test"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A failing test fails the command.
    std::fs::write(
        dir.path().join("mine.yml"),
        USER_RULE.replace("userName: alice}}", "userName: mallory}}"),
    )
    .unwrap();
    let out = exits(tamperwatch().args(["rules", "test"]).arg(dir.path()), 1);
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL"));
}

#[test]
fn a_refused_rule_names_its_file_and_stops_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        USER_RULE.replace(
            "userIdentity.userName:",
            "userIdentity.userName|nosuchmodifier:",
        ),
    )
    .unwrap();
    let out = exits(
        tamperwatch()
            .args(["scan", "--rules"])
            .arg(dir.path())
            .arg("-")
            .write_stdin(STOP_LOGGING),
        2,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.yml") && stderr.contains("nosuchmodifier"),
        "{stderr}"
    );
}

#[test]
fn rules_list_and_show() {
    let out = tamperwatch().args(["rules", "list"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.lines().count() > 50);
    assert!(stdout.contains("cloudtrail:StopLogging"), "{stdout}");
    // Correlation rules are listed too, with what they count.
    assert!(stdout.contains("correlation value_count of"), "{stdout}");
    let out = exits(
        tamperwatch().args(["rules", "show", "cloudtrail_logging_stopped"]),
        0,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("What to do") && stdout.contains("detection:"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("\ntests:"),
        "the Sigma text leaves our tests out"
    );
    let out = exits(
        tamperwatch().args(["rules", "show", "several security services"]),
        0,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("by userIdentity.arn in 10m") && stdout.contains("correlation:"),
        "{stdout}"
    );
    exits(
        tamperwatch().args(["rules", "show", "no such rule at all"]),
        2,
    );
}

/// The generator's planted tamper events are all found, and nothing else is.
#[test]
fn generated_archive_planted_events_are_all_found() {
    let dir = tempfile::tempdir().unwrap();
    let opts = tamperwatch_gen::Options {
        records: 20_000,
        records_per_file: 1_000,
        planted: 40,
        ..Default::default()
    };
    let manifest = tamperwatch_gen::generate(dir.path(), &opts).unwrap();
    assert_eq!(manifest.planted.len(), 40);
    let out = exits(
        tamperwatch()
            .args(["scan", "--format=jsonl"])
            .arg(dir.path()),
        1,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("20,000 records"), "{stderr}");
    let found: BTreeSet<String> = jsonl(&out.stdout)
        .iter()
        .map(|f| f["event"]["eventID"].as_str().unwrap().to_owned())
        .collect();
    let planted: BTreeSet<String> = manifest
        .planted
        .iter()
        .map(|p| p.event_id.clone())
        .collect();
    assert_eq!(found, planted);
}

#[test]
fn rules_lint_names_file_rule_and_fix_and_fails_on_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        "title: EventBridge rule deleted\nid: my-eb\ndetection:\n  sel:\n    eventSource: eventbridge.amazonaws.com\n    eventName: DeleteRule\n  condition: sel\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("slow.yml"),
        "title: Trufflehog\nid: my-th\ndetection:\n  sel:\n    userAgent|contains: trufflehog\n  condition: sel\n",
    )
    .unwrap();
    let out = exits(tamperwatch().args(["rules", "lint"]).arg(dir.path()), 1);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("bad.yml: error [event-source] my-eb:")
            && text.contains("use `events.amazonaws.com`"),
        "{text}"
    );
    assert!(
        text.contains("slow.yml: warning [no-prefilter] my-th"),
        "{text}"
    );
    let json = tamperwatch()
        .args(["rules", "lint", "--format=json"])
        .arg(dir.path().join("slow.yml"))
        .output()
        .unwrap();
    assert_eq!(json.status.code(), Some(0), "warnings alone pass");
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["summary"]["errors"], 0);
    assert_eq!(doc["summary"]["warnings"], 2);
    assert_eq!(doc["diagnostics"][0]["check"], "no-event-source-pin");
    assert_eq!(doc["diagnostics"][0]["rule"], "my-th");
    let catalog = tamperwatch()
        .args(["rules", "lint"])
        .arg(repo().join("rules"))
        .output()
        .unwrap();
    assert_eq!(
        catalog.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&catalog.stdout)
    );
}

#[test]
fn rules_export_sigma_round_trips_every_rule_without_our_keys() {
    let dir = tempfile::tempdir().unwrap();
    exits(
        tamperwatch()
            .args(["rules", "export", "--format=sigma", "--out"])
            .arg(dir.path()),
        0,
    );
    let catalog = tamperwatch_catalog::load().unwrap();
    let mut exported = 0;
    for rule in catalog.rules() {
        let rel = rule.origin().strip_prefix("rules/").unwrap();
        let text = std::fs::read_to_string(dir.path().join(rel)).unwrap();
        for key in ["tests:", "response:", "lint-allow:"] {
            assert!(
                !text.lines().any(|l| l.starts_with(key)),
                "{rel} still has {key}"
            );
        }
        let again = tamperwatch_rules::Rule::from_yaml(&text, rel).unwrap();
        assert_eq!(again.id(), rule.id(), "{rel}");
        assert_eq!(again.title(), rule.title(), "{rel}");
        assert_eq!(again.level(), rule.level(), "{rel}");
        let tests = rule.tests();
        for event in &tests.must_match {
            assert!(
                again.matches(event),
                "{rel}: exported rule misses a match test"
            );
        }
        for event in &tests.must_not_match {
            assert!(
                !again.matches(event),
                "{rel}: exported rule fires on a no_match test"
            );
        }
        exported += 1;
    }
    assert_eq!(exported, catalog.len());
    for c in catalog.correlations() {
        let rel = c.origin().strip_prefix("rules/").unwrap();
        let text = std::fs::read_to_string(dir.path().join(rel)).unwrap();
        assert!(
            !text.contains("\ntests:") && !text.contains("\nresponse:"),
            "{rel}"
        );
        let again = tamperwatch_rules::Correlation::from_yaml(&text, rel).unwrap();
        assert_eq!(again.id(), c.id(), "{rel}");
        assert_eq!(again.rule_refs(), c.rule_refs(), "{rel}");
        assert_eq!(again.min_count(), c.min_count(), "{rel}");
    }

    // Without --out: one multi-document stream, each file introduced by its path.
    let stream = tamperwatch()
        .args(["rules", "export", "--format=sigma"])
        .output()
        .unwrap();
    assert_eq!(stream.status.code(), Some(0));
    let text = String::from_utf8_lossy(&stream.stdout);
    let files = catalog.len() + catalog.correlations().len();
    assert_eq!(text.matches("\n---\n").count(), files - 1);
    assert!(text.starts_with("# "));
    assert!(!text.contains("\ntests:") && !text.contains("\nresponse:"));
}

#[test]
fn rules_export_keeps_user_paths_below_their_folder() {
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(src.path().join("team")).unwrap();
    std::fs::write(
        src.path().join("team/mine.yml"),
        "title: Mine\nid: mine\ndetection:\n  sel:\n    eventSource: s3.amazonaws.com\n    eventName: DeleteBucket\n  condition: sel\nresponse: call me\ntests:\n  match:\n    - {eventSource: s3.amazonaws.com, eventName: DeleteBucket}\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let run = tamperwatch()
        .args([
            "rules",
            "export",
            "--format=sigma",
            "--no-builtin",
            "--rules",
        ])
        .arg(src.path())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(out.path().join("team/mine.yml")).unwrap();
    assert_eq!(
        text,
        "title: Mine\nid: mine\ndetection:\n  sel:\n    eventSource: s3.amazonaws.com\n    eventName: DeleteBucket\n  condition: sel\n"
    );
}

/// A CloudTrail record by `arn` at `time`.
fn call(source: &str, name: &str, arn: &str, time: &str, id: &str) -> String {
    serde_json::json!({
        "eventVersion": "1.10", "eventTime": time, "eventSource": source, "eventName": name,
        "userIdentity": {"type": "IAMUser", "arn": arn, "accountId": "111122223333",
                         "userName": arn.rsplit('/').next()},
        "awsRegion": "eu-west-1", "sourceIPAddress": "203.0.113.24", "eventID": id,
        "eventType": "AwsApiCall", "recipientAccountId": "111122223333", "requestParameters": {},
    })
    .to_string()
}

#[test]
fn scan_correlates_across_files_in_event_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let mallory = "arn:aws:iam::111122223333:user/mallory";
    // Written out of order and across two files: correlation runs on event time.
    std::fs::write(
        dir.path().join("a.jsonl"),
        [
            call(
                "config.amazonaws.com",
                "StopConfigurationRecorder",
                mallory,
                "2026-11-02T09:12:07Z",
                "e3",
            ),
            call(
                "cloudtrail.amazonaws.com",
                "StopLogging",
                mallory,
                "2026-11-02T09:10:07Z",
                "e1",
            ),
        ]
        .join("\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.jsonl"),
        call(
            "guardduty.amazonaws.com",
            "DeleteDetector",
            mallory,
            "2026-11-02T09:11:07Z",
            "e2",
        ),
    )
    .unwrap();
    let out = exits(
        tamperwatch()
            .args(["scan", "--format=jsonl"])
            .arg(dir.path()),
        1,
    );
    let lines = jsonl(&out.stdout);
    assert_eq!(
        lines.len(),
        4,
        "three findings (generate: true) and one correlation"
    );
    let c = &lines[3];
    assert_eq!(c["type"], "correlation");
    assert_eq!(c["rule"]["id"], "3b1f6c2e-8d4a-4f5b-9c7e-2a6d1e0f9b41");
    assert_eq!(c["level"], "critical");
    assert_eq!(c["correlationType"], "value_count");
    assert_eq!(c["group"]["userIdentity.arn"], mallory);
    assert_eq!(c["count"], 3);
    assert_eq!(c["firstEventTime"], "2026-11-02T09:10:07Z");
    assert_eq!(c["lastEventTime"], "2026-11-02T09:12:07Z");
    assert_eq!(c["eventIDs"], serde_json::json!(["e1", "e2", "e3"]));
    let json = tamperwatch()
        .args(["scan", "--format=json"])
        .arg(dir.path())
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["correlations"].as_array().unwrap().len(), 1);
    assert_eq!(doc["summary"]["correlations"], 1);
    assert_eq!(doc["summary"]["findings"], 4);
    let table = tamperwatch().arg("scan").arg(dir.path()).output().unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("\n\nFIRST") && text.contains("Several security services switched off"),
        "{text}"
    );
}

#[test]
fn a_user_correlation_silences_its_base_rules_unless_generate_is_true() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("mr_brute.yml"),
        "title: Many denied trail reads\nid: many-denied\ncorrelation:\n  type: event_count\n  rules: [trail_read]\n  group-by: [sourceIPAddress]\n  timespan: 5m\n  condition: {gte: 3}\nlevel: high\n---\ntitle: Trail read\nid: trail-read\nname: trail_read\ndetection:\n  sel: {eventSource: cloudtrail.amazonaws.com, eventName: DescribeTrails}\n  condition: sel\n",
    )
    .unwrap();
    let arn = "arn:aws:iam::111122223333:user/alice";
    let events: Vec<String> = (0..4)
        .map(|i| {
            call(
                "cloudtrail.amazonaws.com",
                "DescribeTrails",
                arn,
                &format!("2026-11-02T09:0{i}:00Z"),
                &format!("d{i}"),
            )
        })
        .collect();
    std::fs::write(dir.path().join("events.jsonl"), events.join("\n")).unwrap();
    let out = exits(
        tamperwatch()
            .args(["scan", "--format=jsonl", "--no-builtin", "--rules"])
            .arg(&rules)
            .arg(dir.path().join("events.jsonl")),
        1,
    );
    let lines = jsonl(&out.stdout);
    assert_eq!(
        lines.len(),
        1,
        "the base rule only feeds the correlation: {lines:?}"
    );
    assert_eq!(lines[0]["rule"]["id"], "many-denied");
    assert_eq!(lines[0]["count"], 3);
    // A correlation that names no loaded rule stops the scan with the reason.
    std::fs::write(
        rules.join("mr_brute.yml"),
        "title: c\nid: c\ncorrelation: {type: event_count, rules: [nope], timespan: 5m, condition: {gte: 3}}\n",
    )
    .unwrap();
    let out = exits(
        tamperwatch()
            .args(["scan", "--no-builtin", "--rules"])
            .arg(&rules)
            .arg(dir.path().join("events.jsonl")),
        2,
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`nope` is not the id or name"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

mod check;
mod hunt;
mod noise;

/// A folder scan reads log files, not the README or checksums beside them; a file named on the
/// command line is read whatever its name.
#[test]
fn folder_scan_reads_record_files_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.md"), "# not a log").unwrap();
    std::fs::write(dir.path().join("SHA256SUMS"), "abc  x.json.gz").unwrap();
    std::fs::write(dir.path().join("events.jsonl"), format!("{STOP_LOGGING}\n")).unwrap();
    std::fs::write(
        dir.path().join("trail.JSON.GZ"),
        gzip(STOP_LOGGING.as_bytes()),
    )
    .unwrap();
    let out = exits(
        tamperwatch()
            .args(["scan", "--format=jsonl"])
            .arg(dir.path()),
        1,
    );
    let inputs: BTreeSet<String> = jsonl(&out.stdout)
        .iter()
        .map(|f| {
            f["source"]["input"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        inputs,
        BTreeSet::from(["events.jsonl".to_owned(), "trail.JSON.GZ".to_owned()])
    );
    let out = tamperwatch()
        .arg("scan")
        .arg(dir.path().join("README.md"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "named on the command line, it is read (and is not JSON)"
    );
}
