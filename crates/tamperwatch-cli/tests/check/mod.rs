//! `tamperwatch check` against moto: a fresh account fails, `--fix --dry-run` changes nothing,
//! `--fix` puts back what it can; 17 regions in one timed run. Each test works in an account
//! of its own (reached with `--accounts ID --role-name NAME`), so the moto server can be shared
//! with other tests and needs no reset.

use std::time::Instant;

use serde_json::Value;

use tamperwatch_testkit::{fresh_account_id, moto_url};

use super::{exits, jsonl, tamperwatch};

/// `tamperwatch check` aimed at `endpoint` with test credentials, isolated from the user's AWS
/// configuration, one attempt per call (moto answers what it lacks with 404/500).
fn check(endpoint: &str) -> assert_cmd::Command {
    let mut cmd = against(endpoint);
    cmd.arg("check");
    cmd
}

/// `tamperwatch` aimed at `endpoint` (moto) with test credentials, isolated from the user's
/// AWS configuration and tamperwatch's own variables, one attempt per call.
pub(crate) fn against(endpoint: &str) -> assert_cmd::Command {
    let mut cmd = tamperwatch();
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/tamperwatch-test")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/tamperwatch-test",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("TAMPERWATCH_MAX_ATTEMPTS", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN");
    for var in [
        "TAMPERWATCH_RULE_NAME",
        "TAMPERWATCH_TOPIC_ARN",
        "TAMPERWATCH_DLQ_ARN",
        "TAMPERWATCH_FUNCTION_NAME",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn failed(results: &[Value]) -> Vec<(String, String, String)> {
    let mut failed: Vec<_> = results
        .iter()
        .filter(|r| r["status"] == "fail")
        .map(|r| {
            (
                r["region"].as_str().unwrap().to_owned(),
                r["service"].as_str().unwrap().to_owned(),
                r["check"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    failed.sort();
    failed.dedup();
    failed
}

#[test]
fn check_reports_dry_run_changes_nothing_and_fix_puts_services_back() {
    let Some(moto) = moto_url() else { return };
    let id = fresh_account_id('7');
    let account = [
        "--accounts",
        id.as_str(),
        "--role-name",
        "tamperwatch-check",
    ];
    let regions = ["--regions", "ap-south-1,sa-east-1"];

    let out = exits(
        check(&moto)
            .args(account)
            .args(regions)
            .args(["--format", "jsonl"]),
        1,
    );
    let before = jsonl(&out.stdout);
    for result in &before {
        for field in ["account", "region", "service", "check", "status", "reason"] {
            assert!(result.get(field).is_some(), "{field} missing: {result}");
        }
        assert_ne!(result["status"], "pass", "a fresh account passed: {result}");
    }
    let failures = failed(&before);
    for region in ["ap-south-1", "sa-east-1"] {
        for (service, check) in [
            ("cloudtrail", "multi-region-trail"),
            ("guardduty", "detector-enabled"),
            ("config", "recording"),
            ("securityhub", "hub-enabled"),
        ] {
            assert!(
                failures.contains(&(region.into(), service.into(), check.into())),
                "{region} {service} {check} not reported: {failures:?}"
            );
        }
    }

    // --dry-run: says what it would do, and does nothing.
    let out = check(&moto)
        .args(account)
        .args(regions)
        .args(["--fix", "--dry-run"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for would in [
        format!("would fix: {id} ap-south-1: guardduty CreateDetector --enable"),
        format!("would fix: {id} sa-east-1: securityhub EnableSecurityHub"),
        format!("would fix: {id} ap-south-1: securityhub EnableSecurityHub"),
    ] {
        assert!(text.contains(&would), "{would} missing from:\n{text}");
    }
    let out = check(&moto)
        .args(account)
        .args(regions)
        .args(["--format", "jsonl"])
        .output()
        .unwrap();
    assert_eq!(
        failed(&jsonl(&out.stdout)),
        failures,
        "--dry-run changed something"
    );

    // --fix: what tamperwatch can turn on is on; a trail and a recorder need a bucket and a
    // role it cannot choose, so those stay failed, with their fix text.
    let out = check(&moto)
        .args(account)
        .args(regions)
        .args(["--fix", "--format", "json"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{doc:#}");
    let fixes = doc["fixes"].as_array().unwrap();
    // GuardDuty and Security Hub in both regions. (moto reports no Inspector status at all for
    // an account never enabled: that is could-not-check, with nothing to fix.)
    assert_eq!(fixes.len(), 4, "{fixes:#?}");
    assert!(
        fixes.iter().all(|f| f["outcome"] == "applied"),
        "{fixes:#?}"
    );
    let after = failed(doc["results"].as_array().unwrap());
    for region in ["ap-south-1", "sa-east-1"] {
        for (service, check) in [
            ("guardduty", "detector-enabled"),
            ("securityhub", "hub-enabled"),
        ] {
            assert!(
                !after.contains(&(region.into(), service.into(), check.into())),
                "{region} {service} {check} still failing: {after:?}"
            );
        }
        assert!(after.contains(&(
            region.into(),
            "cloudtrail".into(),
            "multi-region-trail".into()
        )));
    }
    assert_eq!(doc["summary"]["fail"].as_u64(), Some(after.len() as u64));
}

/// The issue's bound: 17 regions and every service, regions in parallel. Timed, not asserted.
#[test]
fn seventeen_regions_in_one_run() {
    let Some(moto) = moto_url() else { return };
    const REGIONS: [&str; 17] = [
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-central-1",
        "eu-north-1",
        "ap-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
        "sa-east-1",
    ];
    let started = Instant::now();
    let out = check(&moto)
        .args([
            "--accounts",
            &fresh_account_id('8'),
            "--role-name",
            "tamperwatch-check",
        ])
        .args(["--regions", &REGIONS.join(",")])
        .args(["--format", "jsonl", "--tamperwatch-rule", "tamperwatch"])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    eprintln!(
        "TIMING: tamperwatch check, 17 regions x every service against moto: {:.2} s",
        elapsed.as_secs_f64()
    );
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1));
    let results = jsonl(&out.stdout);
    for region in REGIONS {
        for service in [
            "cloudtrail",
            "guardduty",
            "config",
            "securityhub",
            "inspector2",
            "macie",
            "access-analyzer",
            "tamperwatch",
        ] {
            assert!(
                results
                    .iter()
                    .any(|r| r["region"] == region && r["service"] == service),
                "no {service} result in {region}"
            );
        }
    }
    assert!(results.iter().any(|r| r["service"] == "shield"));
    assert!(results.iter().any(|r| r["service"] == "fms"));
}

#[test]
fn check_that_cannot_run_exits_two() {
    // Nothing listens on port 9: the credentials' account cannot even be identified.
    let out = exits(
        check("http://127.0.0.1:9").args(["--regions", "eu-west-1"]),
        2,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sts:GetCallerIdentity"), "{stderr}");
}

#[test]
fn check_arguments_are_validated() {
    for args in [
        &["check", "--dry-run"][..],
        &["check", "--accounts", "111111111111"],
        &["check", "--organization"],
        &[
            "check",
            "--organization",
            "--accounts",
            "1",
            "--role-name",
            "r",
        ],
    ] {
        let out = tamperwatch().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?} accepted");
    }
}
