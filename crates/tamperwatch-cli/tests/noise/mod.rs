//! Noise control from the command line: `scan --config` hides what the suppressions hide and
//! counts it, `scan --explain` shows every finding with why, and `config check` validates a
//! config file, the shipped example included, and reports what it would hide in an archive.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{STOP_LOGGING, exits, repo, tamperwatch};

const ROOT_LOGIN: &str = r#"{"eventVersion":"1.09","userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2026-11-30T10:05:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"},"eventID":"5a1b2c3d-0000-4000-8000-000000000002","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}"#;

/// Suppresses everything user/mallory and the root user do in the account.
const CONFIG: &str = r#"
[[suppress]]
name = "mallory-maintenance"
reason = "planned trail migration"
owner = "platform@example.com"
ticket = "CHG-1"
principal_arn = ["arn:aws:iam::111122223333:user/mallory", "arn:aws:iam::111122223333:root"]
expires = "2099-01-01T00:00:00Z"
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn input() -> String {
    format!("{STOP_LOGGING}\n{ROOT_LOGIN}\n")
}

#[test]
fn scan_with_config_hides_and_counts_and_never_hides_root_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "tw.toml", CONFIG);
    let out = exits(
        tamperwatch()
            .args(["scan", "--format=jsonl", "--config"])
            .arg(&config)
            .arg("-")
            .write_stdin(input()),
        1,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let shown: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(shown.len(), 1, "{stdout}");
    assert_eq!(shown[0]["event"]["eventName"], "ConsoleLogin");
    assert!(
        stderr.contains("1 suppressed, 0 staged (--explain shows them)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(": 1 finding (1 high)") || stderr.contains(": 1 finding ("),
        "{stderr}"
    );
}

#[test]
fn explain_shows_each_finding_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "tw.toml", CONFIG);
    let out = tamperwatch()
        .args(["scan", "--explain", "--format=jsonl", "--config"])
        .arg(&config)
        .arg("-")
        .write_stdin(input())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let all: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(all.len(), 2, "{stdout}");
    assert_eq!(all[0]["explanation"]["verdict"], "suppressed");
    assert_eq!(
        all[0]["explanation"]["suppression"]["name"],
        "mallory-maintenance"
    );
    assert_eq!(all[0]["explanation"]["suppression"]["ticket"], "CHG-1");
    assert_eq!(all[1]["explanation"]["verdict"], "send");
    assert_eq!(all[1]["explanation"]["never_suppressible"], true);
    assert_eq!(
        all[1]["explanation"]["overridden"][0],
        "mallory-maintenance"
    );

    let out = tamperwatch()
        .args(["scan", "--explain", "--config"])
        .arg(&config)
        .arg("-")
        .write_stdin(input())
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("-> suppressed by mallory-maintenance (owner platform@example.com: planned trail migration; ticket CHG-1; expires 2099-01-01T00:00:00Z)"),
        "{table}"
    );
    assert!(
        table.contains(
            "-> sent: the rule is never suppressible (mallory-maintenance would have applied)"
        ),
        "{table}"
    );

    // Without a config, --explain says no suppression is configured.
    let out = tamperwatch()
        .args(["scan", "--explain", "-"])
        .write_stdin(STOP_LOGGING)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("-> sent: no suppression is configured"));
}

#[test]
fn a_bad_config_stops_the_scan_with_its_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "bad.toml",
        "[[suppress]]\nname = \"x\"\nreason = \"r\"\nowner = \"o\"\nrole = [\"x\"]\n",
    );
    let out = exits(
        tamperwatch()
            .args(["scan", "--config"])
            .arg(&config)
            .arg("-")
            .write_stdin(STOP_LOGGING),
        2,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("unknown field `role`"),
        "{stderr}"
    );
}

/// The example shipped for a typical organization is valid, today and against the samples.
#[test]
fn the_example_organization_config_checks_clean() {
    let out = tamperwatch()
        .args(["config", "check"])
        .arg(repo().join("examples/config/organization.toml"))
        .arg("--against")
        .arg(repo().join("samples"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("5 suppression(s), 0 error(s)"), "{stdout}");
    assert!(stdout.contains("staging: would hold back"), "{stdout}");
}

#[test]
fn config_check_reports_what_each_suppression_would_hide() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "tw.toml", CONFIG);
    let archive = write(dir.path(), "events.jsonl", &input());
    let out = tamperwatch()
        .args(["config", "check"])
        .arg(&config)
        .arg("--against")
        .arg(&archive)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(
            "2 finding(s), 1 shown, 1 hidden, 1 never-suppressible finding(s) a suppression matched"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("mallory-maintenance: would hide 1 finding(s) of 1 rule(s) by arn:aws:iam::111122223333:user/mallory"),
        "{stdout}"
    );
}

#[test]
fn config_check_fails_on_mistakes_and_warns_on_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[[suppress]]\nname = \"a\"\nreason = \"r\"\nowner = \"o\"\nrole_nmae = [\"x\"]\n",
            1,
            "unknown field `role_nmae`",
        ),
        (
            "[[suppress]]\nname = \"a\"\nreason = \"r\"\nowner = \"o\"\nrules = [\"927aa7f5-3bce-472d-a0eb-57fe7d2bcf5c\"]\naccounts = [\"111122223333\"]\n",
            1,
            "never suppressible",
        ),
        (
            "[[suppress]]\nname = \"a\"\nreason = \"r\"\nowner = \"o\"\nprincipal_arn = [\"terraform\"]\n",
            1,
            "does not start with `arn:`",
        ),
        (
            "[[suppress]]\nname = \"a\"\nreason = \"r\"\nowner = \"o\"\nrole_name = [\"x\"]\nexpires = \"2020-01-01T00:00:00Z\"\n",
            0,
            "expired at 2020-01-01T00:00:00Z",
        ),
        (
            "[[suppress]]\nname = \"a\"\nreason = \"r\"\nowner = \"o\"\nrole_name = [\"x\"]\nstarts = \"2026-01-01T00:00:00Z\"\n",
            1,
            "needs `expires`",
        ),
        (
            "[noise.channel_rate_limits.nope]\nmax_alerts = 1\n",
            1,
            "which is not configured",
        ),
    ];
    for (i, (text, code, want)) in cases.into_iter().enumerate() {
        let file = write(dir.path(), &format!("c{i}.toml"), text);
        let out = tamperwatch()
            .args(["config", "check"])
            .arg(&file)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(code), "{text}\n{stdout}");
        assert!(stdout.contains(want), "{text}\nwant {want:?} in\n{stdout}");
    }
    exits(
        tamperwatch()
            .args(["config", "check"])
            .arg(dir.path().join("missing.toml")),
        2,
    );
}
