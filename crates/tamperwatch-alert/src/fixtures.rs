//! Alerts for the renderers' snapshot tests.

use super::*;

fn config() -> AlertConfig {
    let mut config = AlertConfig::default();
    config
        .account_aliases
        .insert("111122223333".to_owned(), "prod".to_owned());
    config
}

fn actor(kind: IdentityKind, name: &str, arn: Option<&str>) -> Actor {
    Actor {
        kind,
        name: name.to_owned(),
        arn: arn.map(str::to_owned),
        account_id: Some("111122223333".to_owned()),
        access_key_id: None,
        role_name: None,
        session_name: None,
        identity_center_user: None,
        invoked_by: None,
        mfa: Mfa::Unknown,
    }
}

fn event(name: &str, source: &str) -> EventSummary {
    EventSummary {
        event_id: Some("3f2a8c1e-9b7d-4e2a-8f1c-0d9e8b7a6c5d".to_owned()),
        event_time: Some("2026-11-30T06:59:12Z".to_owned()),
        event_source: Some(source.to_owned()),
        event_name: Some(name.to_owned()),
        event_type: Some("AwsApiCall".to_owned()),
        account_id: Some("111122223333".to_owned()),
        region: Some("us-east-1".to_owned()),
        source_ip: Some("198.51.100.7".to_owned()),
        user_agent: Some("aws-cli/2.15.0 Python/3.11.6 Linux/6.1".to_owned()),
        error_code: None,
        error_message: None,
        read_only: Some(false),
    }
}

/// `StopLogging` by an IAM user, successful.
pub fn stop_logging() -> Alert {
    Alert {
        kind: AlertKind::Finding,
        rule: RuleInfo {
            id: "tw-cloudtrail-stop-logging".to_owned(),
            title: "CloudTrail logging stopped".to_owned(),
            level: Level::Critical,
            attack: vec!["T1562.008".to_owned()],
            response: Some(
                "Restart logging (aws cloudtrail start-logging --name TRAIL), then find out why \
                 this principal could stop it."
                    .to_owned(),
            ),
        },
        level: Level::Critical,
        outcome: Outcome::Success,
        actor: actor(
            IdentityKind::IamUser,
            "user/mallory",
            Some("arn:aws:iam::111122223333:user/mallory"),
        ),
        event: event("StopLogging", "cloudtrail.amazonaws.com"),
        parameters: vec![(
            "requestParameters.name".to_owned(),
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/main".to_owned(),
        )],
        group: None,
        storm: None,
        account_alias: None,
    }
    .bounded(&config())
}

/// `DeleteDetector` by an IAM Identity Center user, denied.
pub fn delete_detector_denied() -> Alert {
    let mut a = stop_logging();
    a.rule = RuleInfo {
        id: "tw-guardduty-delete-detector".to_owned(),
        title: "GuardDuty detector deleted".to_owned(),
        level: Level::Critical,
        attack: vec!["T1562.001".to_owned()],
        response: None,
    };
    a.level = Level::High;
    a.outcome = Outcome::Denied;
    a.actor = Actor {
        kind: IdentityKind::AssumedRole,
        name: "alice@example.com (IAM Identity Center, AdministratorAccess)".to_owned(),
        arn: Some("arn:aws:sts::444455556666:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice@example.com".to_owned()),
        account_id: Some("444455556666".to_owned()),
        access_key_id: Some("ASIAEXAMPLE".to_owned()),
        role_name: Some("AWSReservedSSO_AdministratorAccess_0123456789abcdef".to_owned()),
        session_name: Some("alice@example.com".to_owned()),
        identity_center_user: Some("alice@example.com".to_owned()),
        invoked_by: None,
        mfa: Mfa::Yes,
    };
    a.event = EventSummary {
        account_id: Some("444455556666".to_owned()),
        region: Some("eu-west-1".to_owned()),
        error_code: Some("AccessDenied".to_owned()),
        error_message: Some(
            "User is not authorized to perform guardduty:DeleteDetector".to_owned(),
        ),
        ..event("DeleteDetector", "guardduty.amazonaws.com")
    };
    a.parameters = vec![(
        "requestParameters.detectorId".to_owned(),
        "12abc34d567e8fa901bc2d34e56789f0".to_owned(),
    )];
    a.bounded(&config())
}

/// Every field an attacker controls, hostile: quotes, line breaks, HTML, Slack mentions,
/// Markdown, bidi overrides, non-Latin text and a 100 KB user agent.
pub fn hostile() -> Alert {
    let mut a = stop_logging();
    a.actor.name = "user/\"mal\"<script>alert(1)</script>\n<!channel> <@U0123ABC> *bold* [x](http://evil.example)".to_owned();
    a.actor.arn = Some("arn:aws:iam::111122223333:user/<!here>&amp;`code`".to_owned());
    a.event.event_name = Some("StopLogging\r\nX-Injected: 1".to_owned());
    a.event.source_ip = Some("203.0.113.9\u{202E}gnp.exe".to_owned());
    a.event.user_agent = Some(format!("Mozilla/5.0 {}", "A".repeat(100 * 1024)));
    a.event.event_id = Some("not a uuid/../#frag".to_owned());
    a.event.region = Some("us-east-1\"><img src=x>".to_owned());
    a.parameters = vec![
        (
            "requestParameters.name".to_owned(),
            "日本語の証跡 — журнал — سجل".to_owned(),
        ),
        (
            "requestParameters.x".to_owned(),
            "</td></tr><b>\"'&".to_owned(),
        ),
    ];
    a.bounded(&config())
}

/// A fire drill.
pub fn test_alert() -> Alert {
    Alert::test(&config(), "2026-11-30T07:00:00Z")
}

fn guardduty_change(recovered: bool) -> posture::PostureChange {
    posture::PostureChange {
        recovered,
        account: "111122223333".to_owned(),
        region: "eu-west-1".to_owned(),
        service: "guardduty".to_owned(),
        check: "detector-enabled".to_owned(),
        resource: Some("12abc34d567e8fa901bc2d34e56789f0".to_owned()),
        reason: if recovered {
            "the detector is enabled".to_owned()
        } else {
            "the detector is suspended".to_owned()
        },
        fix: Some(
            "aws guardduty update-detector --detector-id 12abc34d567e8fa901bc2d34e56789f0 --enable"
                .to_owned(),
        ),
        observed_at: "2026-11-30T07:00:00Z".to_owned(),
        id: format!(
            "drift-5d41402abc4b2a76-{}-3",
            if recovered { "recovered" } else { "broke" }
        ),
    }
}

/// A scheduled check that broke.
pub fn drift() -> Alert {
    Alert::posture_change(&guardduty_change(false), &config())
}

/// The same check, recovered.
pub fn recovery() -> Alert {
    Alert::posture_change(&guardduty_change(true), &config())
}

/// `StopLogging`, reversed by auto-remediation.
pub fn remediated() -> Alert {
    stop_logging().with_remediation(
        "cloudtrail StartLogging arn:aws:cloudtrail:us-east-1:111122223333:trail/main in \
         111122223333 us-east-1: done",
    )
}

/// `StopLogging` grouped: a follow-up standing for 4 findings of 12 in the window.
pub fn grouped() -> Alert {
    let mut a = stop_logging();
    a.group = Some(crate::GroupInfo {
        key: "grp-0123456789abcdef0123456789abcdef".to_owned(),
        count: 12,
        in_alert: 4,
        resources: vec!["trail/main".to_owned(), "trail/org".to_owned()],
        more_resources: 1,
        follow_up: true,
    });
    a
}

/// A storm summary on `slack`: three alerts of two rules and two principals held.
pub fn storm() -> Alert {
    let denied = delete_detector_denied();
    let mut second = stop_logging();
    second.actor.arn = Some("arn:aws:iam::111122223333:user/eve".to_owned());
    second.actor.name = "user/eve".to_owned();
    let grouped = grouped();
    Alert::storm(&[&denied, &second, &grouped], "slack").expect("three held alerts")
}

/// A daily digest.
pub fn digest() -> Alert {
    Alert::digest(
        &config(),
        "2026-11-29",
        &[
            ("terraform-pipeline".to_owned(), 41),
            ("staging".to_owned(), 3),
        ],
        "2026-11-30T00:05:00Z",
    )
}

/// All fixtures, named.
pub fn all() -> Vec<(&'static str, Alert)> {
    vec![
        ("stop_logging", stop_logging()),
        ("delete_detector_denied", delete_detector_denied()),
        ("hostile", hostile()),
        ("test_alert", test_alert()),
        ("drift", drift()),
        ("recovery", recovery()),
        ("remediated", remediated()),
        ("grouped", grouped()),
        ("storm", storm()),
        ("digest", digest()),
    ]
}
