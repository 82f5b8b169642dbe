#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Every suppression dimension, expiry, windows, never-suppressible rules, staging and the
//! explanations, over findings made by the real detector from real-shaped records.

use jiff::Timestamp;
use serde_json::json;
use tamperwatch_detect::EventSummary;
use tamperwatch_event::{Actor, Outcome, Record};
use tamperwatch_noise::{Miss, NoiseConfig, Policy, Subject, Suppression, Verdict};
use tamperwatch_rules::Rule;

const RULE: &str = r#"
title: Config recorder stopped
id: tw-test-config-recorder-stopped
logsource: {product: aws, service: cloudtrail}
detection:
  selection: {eventSource: config.amazonaws.com, eventName: StopConfigurationRecorder}
  condition: selection
fields: [requestParameters.configurationRecorderName]
level: high
"#;

fn now() -> Timestamp {
    "2026-11-30T12:00:00Z".parse().unwrap()
}

/// A terraform role session stopping the recorder from 10.1.2.3 in us-east-1.
fn record() -> serde_json::Value {
    json!({
        "eventVersion": "1.09", "eventTime": "2026-11-30T09:00:00Z",
        "eventSource": "config.amazonaws.com", "eventName": "StopConfigurationRecorder",
        "awsRegion": "us-east-1", "sourceIPAddress": "10.1.2.3",
        "userAgent": "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.70.0",
        "recipientAccountId": "111122223333", "eventID": "e-1",
        "requestParameters": {"configurationRecorderName": "default"},
        "userIdentity": {"type": "AssumedRole",
            "arn": "arn:aws:sts::111122223333:assumed-role/terraform-apply/ci-run-42",
            "accountId": "111122223333",
            "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "terraform-apply"}}}
    })
}

struct Case {
    rule: Rule,
}

impl Case {
    fn new(rule: &str) -> Case {
        Case {
            rule: Rule::from_yaml(rule, "test.yml").unwrap(),
        }
    }

    fn finding(&self, record: &serde_json::Value) -> (Actor, EventSummary, Outcome) {
        let raw = serde_json::value::RawValue::from_string(record.to_string()).unwrap();
        let r = Record::parse(&raw, 1 << 20).unwrap();
        assert!(
            self.rule.matches(&r.to_value().unwrap()),
            "the rule matches the record"
        );
        (r.actor(), EventSummary::of(&r), r.outcome())
    }

    fn decide(
        &self,
        record: &serde_json::Value,
        policy: &Policy,
    ) -> tamperwatch_noise::Explanation {
        let (actor, event, outcome) = self.finding(record);
        let s = Subject {
            rule_id: self.rule.id(),
            rule_tags: self.rule.tags(),
            outcome,
            actor: &actor,
            event: &event,
        };
        policy.decide(&s, now())
    }
}

fn suppression(extra: serde_json::Value) -> Suppression {
    let mut base = json!({"name": "s", "reason": "expected", "owner": "platform@example.com"});
    base.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    serde_json::from_value(base).unwrap()
}

fn policy(extra: serde_json::Value) -> Policy {
    Policy::new(&NoiseConfig::default(), &[suppression(extra)]).unwrap()
}

fn verdict(extra: serde_json::Value, record: &serde_json::Value) -> tamperwatch_noise::Explanation {
    Case::new(RULE).decide(record, &policy(extra))
}

/// Each dimension: a value that matches suppresses, one that does not names the dimension.
#[test]
fn every_dimension_matches_and_misses() {
    let r = record();
    let cases = [
        (
            "principal_arn",
            json!(["arn:aws:sts::*:assumed-role/terraform-*/*"]),
            json!(["arn:aws:sts::*:assumed-role/admin/*"]),
        ),
        ("role_name", json!(["terraform-*"]), json!(["deploy"])),
        ("session_name", json!(["ci-run-*"]), json!(["alice"])),
        (
            "user_agent",
            json!(["*Terraform/1.*"]),
            json!(["aws-cli/*"]),
        ),
        ("tool", json!(["terraform"]), json!(["pulumi", "cdk"])),
        ("accounts", json!(["111122223333"]), json!(["444455556666"])),
        ("regions", json!(["us-*"]), json!(["eu-west-1"])),
        (
            "source_ip",
            json!(["10.0.0.0/8"]),
            json!(["192.168.0.0/16", "10.1.2.4"]),
        ),
        ("outcome", json!(["success"]), json!(["denied", "failed"])),
    ];
    for (dim, hit, miss) in cases {
        let e = verdict(json!({ dim: hit }), &r);
        assert_eq!(e.verdict, Verdict::Suppressed, "{dim} {hit}: {}", e.line());
        assert_eq!(e.suppression.as_ref().unwrap().name, "s");
        let e = verdict(json!({ dim: miss }), &r);
        assert_eq!(e.verdict, Verdict::Send, "{dim} {miss}");
        assert!(
            matches!(&e.misses[0].1, Miss::Dimension { dimension, .. } if *dimension == dim),
            "{dim}: {:?}",
            e.misses
        );
    }
}

#[test]
fn identity_center_user_and_invoked_by() {
    let mut r = record();
    r["userIdentity"] = json!({"type": "AssumedRole",
        "arn": "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice@example.com",
        "sessionContext": {"sessionIssuer": {"userName": "AWSReservedSSO_AdministratorAccess_0123456789abcdef"}}});
    assert_eq!(
        verdict(json!({"identity_center_user": ["*@example.com"]}), &r).verdict,
        Verdict::Suppressed
    );
    assert_eq!(
        verdict(json!({"identity_center_user": ["bob@example.com"]}), &r).verdict,
        Verdict::Send
    );
    // A plain role session has no Identity Center user: the miss says so.
    let e = verdict(json!({"identity_center_user": ["*"]}), &record());
    assert_eq!(
        e.misses[0].1,
        Miss::Dimension {
            dimension: "identity_center_user",
            value: None
        }
    );

    let mut r = record();
    r["userIdentity"]["invokedBy"] = json!("securityhub.amazonaws.com");
    assert_eq!(
        verdict(json!({"invoked_by": ["securityhub.amazonaws.com"]}), &r).verdict,
        Verdict::Suppressed
    );
    assert_eq!(
        verdict(json!({"invoked_by": ["fms.amazonaws.com"]}), &r).verdict,
        Verdict::Send
    );
}

#[test]
fn organizational_units_through_the_account_map() {
    let config: NoiseConfig = serde_json::from_value(json!({
        "organizational_units": {"ou-ab12-sandbox": ["111122223333"], "ou-ab12-prod": ["444455556666"]}
    }))
    .unwrap();
    let hit = Policy::new(&config, &[suppression(json!({"ous": ["ou-ab12-sandbox"]}))]).unwrap();
    assert_eq!(
        Case::new(RULE).decide(&record(), &hit).verdict,
        Verdict::Suppressed
    );
    let miss = Policy::new(&config, &[suppression(json!({"ous": ["ou-ab12-prod"]}))]).unwrap();
    let e = Case::new(RULE).decide(&record(), &miss);
    assert_eq!(e.verdict, Verdict::Send);
    assert!(
        e.line().contains("ous does not match \"111122223333\""),
        "{}",
        e.line()
    );
}

#[test]
fn dimensions_combine_with_and_values_with_or() {
    let r = record();
    let e = verdict(
        json!({"role_name": ["deploy", "terraform-apply"], "accounts": ["111122223333"]}),
        &r,
    );
    assert_eq!(e.verdict, Verdict::Suppressed);
    let e = verdict(
        json!({"role_name": ["terraform-apply"], "accounts": ["444455556666"]}),
        &r,
    );
    assert_eq!(e.verdict, Verdict::Send);
}

#[test]
fn rules_limit_a_suppression() {
    let r = record();
    assert_eq!(
        verdict(
            json!({"rules": ["tw-test-*"], "role_name": ["terraform-*"]}),
            &r
        )
        .verdict,
        Verdict::Suppressed
    );
    let e = verdict(
        json!({"rules": ["tw-other"], "role_name": ["terraform-*"]}),
        &r,
    );
    assert_eq!(e.misses[0].1, Miss::Rule);
}

#[test]
fn expiry_and_windows() {
    let r = record(); // event at 09:00, clock at 12:00
    // Expired by the clock: applies to nothing, even to events inside it, and says so.
    let e = verdict(
        json!({"role_name": ["terraform-*"], "expires": "2026-11-30T10:00:00Z"}),
        &r,
    );
    assert_eq!(e.verdict, Verdict::Send);
    assert_eq!(
        e.misses[0].1,
        Miss::Expired {
            at: "2026-11-30T10:00:00Z".into()
        }
    );
    assert!(
        e.line().contains("s: expired at 2026-11-30T10:00:00Z"),
        "{}",
        e.line()
    );
    // A window around the event, still open: applies.
    let w = json!({"role_name": ["terraform-*"], "starts": "2026-11-30T08:00:00Z", "expires": "2026-12-01T00:00:00Z"});
    assert_eq!(verdict(w, &r).verdict, Verdict::Suppressed);
    // A window that opens after the event.
    let e = verdict(
        json!({"role_name": ["terraform-*"], "starts": "2026-11-30T09:30:00Z", "expires": "2026-12-01T00:00:00Z"}),
        &r,
    );
    assert!(matches!(e.misses[0].1, Miss::BeforeWindow { .. }));
    // The event came after the end of a window the clock has not reached (an archive replayed
    // with an old event time is not the case; a late event is).
    let mut late = record();
    late["eventTime"] = json!("2026-12-02T00:00:00Z");
    let e = verdict(
        json!({"role_name": ["terraform-*"], "expires": "2026-12-01T00:00:00Z"}),
        &late,
    );
    assert!(matches!(e.misses[0].1, Miss::AfterWindow { .. }));
    // A window needs an end, and the end after the start.
    let open = suppression(json!({"role_name": ["x"], "starts": "2026-11-30T08:00:00Z"}));
    assert!(
        Policy::new(&NoiseConfig::default(), &[open])
            .unwrap_err()
            .to_string()
            .contains("needs `expires`")
    );
    let empty = suppression(
        json!({"role_name": ["x"], "starts": "2026-11-30T08:00:00Z", "expires": "2026-11-30T08:00:00Z"}),
    );
    assert!(Policy::new(&NoiseConfig::default(), &[empty]).is_err());
    // Times are checked when read.
    let err = serde_json::from_value::<Suppression>(
        json!({"name": "s", "reason": "r", "owner": "o", "expires": "next week"}),
    )
    .unwrap_err();
    assert!(err.to_string().contains("RFC 3339"), "{err}");
}

#[test]
fn mandatory_fields_and_unbounded_suppressions() {
    let err = serde_json::from_value::<Suppression>(json!({"name": "s", "role_name": ["x"]}))
        .unwrap_err();
    assert!(err.to_string().contains("reason"), "{err}");
    let blank = suppression(json!({"owner": " ", "role_name": ["x"]}));
    assert!(Policy::new(&NoiseConfig::default(), &[blank]).is_err());
    let everything = suppression(json!({}));
    assert!(
        Policy::new(&NoiseConfig::default(), &[everything])
            .unwrap_err()
            .to_string()
            .contains("every finding")
    );
    let twice = [
        suppression(json!({"role_name": ["x"]})),
        suppression(json!({"role_name": ["y"]})),
    ];
    assert!(Policy::new(&NoiseConfig::default(), &twice).is_err());
    let err = serde_json::from_value::<Suppression>(
        json!({"name": "s", "reason": "r", "owner": "o", "role": ["x"]}),
    )
    .unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");
}

#[test]
fn never_suppressible_by_tag_and_by_config() {
    let tagged = RULE.replace(
        "level: high",
        "level: high\ntags: [tamperwatch.never-suppress]",
    );
    let e = Case::new(&tagged).decide(&record(), &policy(json!({"role_name": ["terraform-*"]})));
    assert_eq!(e.verdict, Verdict::Send);
    assert!(e.never_suppressible);
    assert_eq!(e.overridden, ["s"]);
    assert!(
        e.line()
            .contains("never suppressible (s would have applied)"),
        "{}",
        e.line()
    );

    let config: NoiseConfig =
        serde_json::from_value(json!({"never_suppress": ["tw-test-*"]})).unwrap();
    let p = Policy::new(
        &config,
        &[suppression(json!({"role_name": ["terraform-*"]}))],
    )
    .unwrap();
    assert_eq!(Case::new(RULE).decide(&record(), &p).verdict, Verdict::Send);
}

#[test]
fn the_catalog_marks_root_sign_in_and_self_protection_never_suppressible() {
    let rules = tamperwatch_catalog_rules();
    let policy = Policy::new(&NoiseConfig::default(), &[]).unwrap();
    let never: Vec<&str> = rules
        .iter()
        .filter(|(id, tags)| policy.never_suppressible(id, tags))
        .map(|(id, _)| id.as_str())
        .collect();
    assert!(never.len() >= 13, "{never:?}");
}

/// The tags of the catalog rules under `rules/root/root_console_login.yml` and
/// `rules/tamperwatch/`, read from the files (this crate does not depend on the catalog).
fn tamperwatch_catalog_rules() -> Vec<(String, Vec<String>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let mut files = vec![root.join("root/root_console_login.yml")];
    for e in std::fs::read_dir(root.join("tamperwatch")).unwrap() {
        files.push(e.unwrap().path());
    }
    files
        .iter()
        .map(|f| {
            let rule = Rule::from_yaml(
                &std::fs::read_to_string(f).unwrap(),
                &f.display().to_string(),
            )
            .unwrap();
            (rule.id().to_owned(), rule.tags().to_vec())
        })
        .collect()
}

#[test]
fn staging_logs_instead_of_sending() {
    let config: NoiseConfig =
        serde_json::from_value(json!({"staging": ["tw-test-config-recorder-stopped"]})).unwrap();
    let p = Policy::new(&config, &[]).unwrap();
    let e = Case::new(RULE).decide(&record(), &p);
    assert_eq!(e.verdict, Verdict::Staged);
    assert!(e.line().starts_with("staged"));
    // A suppression that applies wins over staging: the finding is hidden by it, and says so.
    let p = Policy::new(
        &config,
        &[suppression(json!({"role_name": ["terraform-*"]}))],
    )
    .unwrap();
    assert_eq!(
        Case::new(RULE).decide(&record(), &p).verdict,
        Verdict::Suppressed
    );
}

#[test]
fn explanation_names_each_suppression_and_why() {
    let sups = [
        suppression(
            json!({"name": "old-window", "role_name": ["terraform-*"], "expires": "2026-01-01T00:00:00Z"}),
        ),
        suppression(json!({"name": "ci", "role_name": ["github-actions"]})),
    ];
    let p = Policy::new(&NoiseConfig::default(), &sups).unwrap();
    let e = Case::new(RULE).decide(&record(), &p);
    assert_eq!(e.verdict, Verdict::Send);
    assert_eq!(
        e.line(),
        "sent: no suppression applies (old-window: expired at 2026-01-01T00:00:00Z; ci: role_name does not match \"terraform-apply\")"
    );
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["misses"][1][1]["why"], "dimension");
    let none = Policy::new(&NoiseConfig::default(), &[]).unwrap();
    assert_eq!(
        Case::new(RULE).decide(&record(), &none).line(),
        "sent: no suppression is configured"
    );
}

#[test]
fn hostile_values_are_cut_in_explanations() {
    let mut r = record();
    r["userAgent"] = json!("x".repeat(100_000));
    let e = verdict(json!({"user_agent": ["Terraform*"]}), &r);
    assert!(e.line().len() < 400, "{}", e.line().len());
}
