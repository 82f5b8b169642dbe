//! Noise control through the shared pipeline: suppressed and staged findings are counted and
//! not sent, never-suppressible rules are, grouping folds a window's findings into one alert
//! with stable incident keys, a storm becomes a bounded number of alerts that name every
//! principal and rule, and the DynamoDB state (on moto) carries all that across cold starts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tamperwatch_detect::Detector;
use tamperwatch_sinks::{ChannelOutcome, Config, Notifier, Pipeline};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// One CloudTrail record: `kind` picks the call (0 StopLogging, 1 DeleteDetector, 2
/// StopConfigurationRecorder, 3 DisableSecurityHub), `user` the IAM user.
fn record(i: usize, kind: usize, user: &str) -> Value {
    let (source, name, params) = match kind % 4 {
        0 => (
            "cloudtrail.amazonaws.com",
            "StopLogging",
            json!({"name": format!("trail-{}", i % 7)}),
        ),
        1 => (
            "guardduty.amazonaws.com",
            "DeleteDetector",
            json!({"detectorId": format!("det{}", i % 5)}),
        ),
        2 => (
            "config.amazonaws.com",
            "StopConfigurationRecorder",
            json!({"configurationRecorderName": "default"}),
        ),
        _ => ("securityhub.amazonaws.com", "DisableSecurityHub", json!({})),
    };
    json!({
        "eventVersion": "1.10", "eventTime": "2026-11-30T08:01:17Z",
        "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.23", "userAgent": "aws-cli/2.22.4",
        "requestParameters": params, "eventID": format!("00000000-0000-4000-8000-{i:012}"),
        "eventType": "AwsApiCall", "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::111122223333:user/{user}"),
            "accountId": "111122223333", "userName": user}
    })
}

fn log_file(records: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({"Records": records})).unwrap()
}

fn root_login() -> Value {
    json!({
        "eventVersion": "1.10", "eventTime": "2026-11-30T08:01:17Z",
        "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.23", "eventID": "00000000-0000-4000-8000-00000000root",
        "eventType": "AwsConsoleSignIn", "recipientAccountId": "111122223333",
        "responseElements": {"ConsoleLogin": "Success"},
        "additionalEventData": {"MFAUsed": "No"},
        "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"}
    })
}

async fn webhook_server() -> MockServer {
    let server = MockServer::start().await;
    for p in ["/hook", "/v2/alerts", "/v2/enqueue"] {
        Mock::given(method("POST"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(202))
            .mount(&server)
            .await;
    }
    server
}

async fn pipeline(toml_text: &str) -> Pipeline {
    let config: Config = toml::from_str(toml_text).unwrap();
    config.check().unwrap();
    Pipeline::new(
        Detector::new(tamperwatch_catalog::load().unwrap()),
        Notifier::new(config).await.unwrap(),
    )
}

async fn bodies(server: &MockServer, p: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

fn hook(uri: &str) -> String {
    format!("[[channels]]\nname = \"hook\"\nto = {{ type = \"webhook\", url = \"{uri}/hook\" }}\n")
}

#[tokio::test]
async fn suppressed_findings_are_counted_not_sent_and_root_is_never_suppressed() {
    let server = webhook_server().await;
    let p = pipeline(&format!(
        r#"{}
        [[suppress]]
        name = "everything-by-ci"
        reason = "CI account"
        owner = "platform@example.com"
        accounts = ["111122223333"]
        expires = "2099-01-01T00:00:00Z"
        "#,
        hook(&server.uri())
    ))
    .await;
    let report = p
        .process(&log_file(vec![
            record(1, 0, "ci"),
            record(2, 1, "ci"),
            root_login(),
        ]))
        .await;
    assert_eq!(report.suppressed, 2, "{report:?}");
    assert_eq!(report.held_by["everything-by-ci"], 2);
    assert_eq!(report.alerts, 1);
    let sent = bodies(&server, "/hook").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]["event"]["eventName"], "ConsoleLogin",
        "root sign-in is never suppressible"
    );
}

#[tokio::test]
async fn an_expired_suppression_no_longer_hides() {
    let server = webhook_server().await;
    let p = pipeline(&format!(
        "{}[[suppress]]\nname = \"old\"\nreason = \"r\"\nowner = \"o\"\nrole_name = [\"x\"]\naccounts = [\"111122223333\"]\nexpires = \"2020-01-01T00:00:00Z\"\n",
        hook(&server.uri())
    ))
    .await;
    let report = p.process(&log_file(vec![record(1, 0, "ci")])).await;
    assert_eq!((report.suppressed, report.alerts), (0, 1));
}

#[tokio::test]
async fn staged_rules_are_logged_and_counted_not_sent() {
    let server = webhook_server().await;
    // rules/cloudtrail/cloudtrail_logging_stopped.yml
    let stop_logging = "e77ef4bb-f9fe-477c-b81b-a2ba0ea95325";
    let p = pipeline(&format!(
        "{}[noise]\nstaging = [\"{stop_logging}\"]\n",
        hook(&server.uri())
    ))
    .await;
    let report = p
        .process(&log_file(vec![record(1, 0, "ci"), record(2, 1, "ci")]))
        .await;
    assert_eq!((report.staged, report.alerts), (1, 1), "{report:?}");
    let sent = bodies(&server, "/hook").await;
    assert_eq!(sent[0]["event"]["eventName"], "DeleteDetector");
}

#[tokio::test]
async fn grouping_folds_a_window_and_keeps_one_incident_per_group() {
    let server = webhook_server().await;
    let p = pipeline(&format!(
        r#"{}
        [[channels]]
        name = "og"
        to = {{ type = "opsgenie", api_key = "k", url = "{uri}" }}
        [[channels]]
        name = "pd"
        to = {{ type = "pagerduty", routing_key = "pd-routing-key-0123456789abcdef", url = "{uri}/v2/enqueue" }}
        [noise.grouping]
        window_secs = 3600
        "#,
        hook(&server.uri()),
        uri = server.uri()
    ))
    .await;
    // Ten StopLogging calls by one user on 7 trails, and one by another user.
    let mut records: Vec<Value> = (0..10).map(|i| record(i, 0, "mallory")).collect();
    records.push(record(99, 0, "eve"));
    let report = p.process(&log_file(records)).await;
    assert_eq!(report.alerts, 2, "{report:?}");
    assert_eq!(report.grouped, 9);
    let hooks = bodies(&server, "/hook").await;
    let group = &hooks[0]["group"];
    assert_eq!(group["count"], 10);
    assert_eq!(group["in_alert"], 10);
    assert_eq!(group["resources"].as_array().unwrap().len(), 7);
    assert_eq!(group["follow_up"], false);
    assert!(
        hooks[0]["headline"]
            .as_str()
            .unwrap()
            .ends_with("(10 events)")
    );

    // Later in the window: a follow-up under the same OpsGenie alias and PagerDuty dedup key.
    let report = p.process(&log_file(vec![record(20, 0, "mallory")])).await;
    assert_eq!(report.alerts, 1);
    let hooks = bodies(&server, "/hook").await;
    assert_eq!(hooks[2]["group"]["follow_up"], true);
    assert_eq!(hooks[2]["group"]["count"], 11);
    let og = bodies(&server, "/v2/alerts").await;
    assert_eq!(og.len(), 3);
    assert_eq!(og[0]["alias"], og[2]["alias"]);
    assert_ne!(
        og[0]["alias"], og[1]["alias"],
        "another principal, another group"
    );
    let pd = bodies(&server, "/v2/enqueue").await;
    assert_eq!(pd[0]["dedup_key"], pd[2]["dedup_key"]);
    assert_eq!(pd[0]["dedup_key"], og[0]["alias"]);
}

#[tokio::test]
async fn a_storm_of_1000_findings_is_a_bounded_number_of_alerts_naming_everyone() {
    let server = webhook_server().await;
    let p = pipeline(&format!(
        "{}[noise.grouping]\nwindow_secs = 300\n[noise.channel_rate_limits.hook]\nmax_alerts = 5\nper_secs = 60\n",
        hook(&server.uri())
    ))
    .await;
    // 1,000 findings: 50 users, 4 calls; (user, call) pairs make 100 groups.
    let records: Vec<Value> = (0..1000)
        .map(|i| record(i, i % 4, &format!("u{}", i % 50)))
        .collect();
    let report = p.process(&log_file(records)).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.alerts, 100);
    assert_eq!(report.rate_limited, 95);
    assert_eq!(report.storm_summaries, 1);
    let sent = bodies(&server, "/hook").await;
    assert_eq!(sent.len(), 6, "five alerts and one summary");
    let mut principals = BTreeSet::new();
    let mut rules = BTreeSet::new();
    for b in &sent {
        match b.get("storm") {
            Some(storm) => {
                assert_eq!(storm["alerts"], 95);
                for p in storm["principals"].as_array().unwrap() {
                    principals.insert(p[0].as_str().unwrap().to_owned());
                }
                for r in storm["rules"].as_array().unwrap() {
                    rules.insert(r[0].as_str().unwrap().to_owned());
                }
            }
            None => {
                principals.insert(b["actor"]["arn"].as_str().unwrap().to_owned());
                rules.insert(b["rule"]["id"].as_str().unwrap().to_owned());
            }
        }
    }
    assert_eq!(principals.len(), 50, "every principal is named");
    assert_eq!(rules.len(), 4, "every rule is named");
    let held = report
        .deliveries
        .iter()
        .filter(|d| d.channels[0].1 == ChannelOutcome::RateLimited)
        .count();
    assert_eq!(held, 95);
}

#[tokio::test]
async fn dynamodb_state_groups_and_limits_across_cold_starts() {
    let Some((sdk, ddb, table)) = common::moto_table("tw-noise").await else {
        return;
    };
    let server = webhook_server().await;
    let config = format!(
        "[idempotency]\ntable = \"{table}\"\n{}[noise.grouping]\nwindow_secs = 3600\n[noise.rate_limit]\nmax_alerts = 3\nper_secs = 3600\n",
        hook(&server.uri())
    );
    let cold_start = || async {
        let config: Config = toml::from_str(&config).unwrap();
        Pipeline::new(
            Detector::new(tamperwatch_catalog::load().unwrap()),
            Notifier::with_aws(config, sdk.clone()).await.unwrap(),
        )
    };
    // First invocation: 2 groups (4 findings), both sent, budget 2 of 3 spent.
    let first = cold_start()
        .await
        .process(&log_file(vec![
            record(1, 0, "a"),
            record(2, 0, "a"),
            record(3, 1, "b"),
            record(4, 1, "b"),
        ]))
        .await;
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert_eq!((first.alerts, first.rate_limited), (2, 0));
    // Second invocation, another container: group a is a follow-up (count 3), budget runs out
    // after one more alert, the third group goes into a summary.
    let second = cold_start()
        .await
        .process(&log_file(vec![record(5, 0, "a"), record(6, 2, "c")]))
        .await;
    assert_eq!(
        (second.alerts, second.rate_limited, second.storm_summaries),
        (2, 1, 1),
        "{second:?}"
    );
    let sent = bodies(&server, "/hook").await;
    assert_eq!(sent.len(), 4);
    assert_eq!(sent[2]["group"]["follow_up"], true);
    assert_eq!(sent[2]["group"]["count"], 3);
    assert_eq!(
        sent[3]["storm"]["principals"][0][0],
        "arn:aws:iam::111122223333:user/c"
    );
    // The counters are in the table, each with a TTL.
    let items = ddb
        .scan()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap();
    let noise: Vec<_> = items
        .iter()
        .filter(|i| i["pk"].as_s().unwrap().starts_with("noise#"))
        .collect();
    assert_eq!(noise.len(), 4, "three groups and one channel window");
    for i in noise {
        assert!(i["expires_at"].as_n().unwrap().parse::<i64>().unwrap() > 1_700_000_000);
    }
}

#[tokio::test]
async fn slack_app_follow_ups_go_into_the_first_alerts_thread() {
    let server = MockServer::start().await;
    let answer = |ts: &str| ResponseTemplate::new(200).set_body_json(json!({"ok": true, "ts": ts}));
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer xoxb-test-token",
        ))
        .respond_with(answer("1700000000.000100"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(answer("1700000000.000200"))
        .mount(&server)
        .await;
    let p = pipeline(&format!(
        r#"
        [[channels]]
        name = "slack"
        to = {{ type = "slack_app", bot_token = "xoxb-test-token", channel = "C0123456789", url = "{}" }}
        [noise.grouping]
        window_secs = 3600
        "#,
        server.uri()
    ))
    .await;
    p.process(&log_file(vec![record(1, 0, "mallory")])).await;
    p.process(&log_file(vec![
        record(2, 0, "mallory"),
        record(3, 0, "eve"),
    ]))
    .await;
    let sent = bodies(&server, "/api/chat.postMessage").await;
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0]["channel"], "C0123456789");
    assert!(
        sent[0].get("thread_ts").is_none(),
        "the first alert opens the thread"
    );
    assert_eq!(
        sent[1]["thread_ts"], "1700000000.000100",
        "the follow-up replies in it"
    );
    assert!(
        sent[2].get("thread_ts").is_none(),
        "another principal: another thread"
    );
    assert!(sent[1]["text"].as_str().unwrap().contains("(2 events)"));
}

#[tokio::test]
async fn slack_app_errors_are_reported_without_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": false, "error": "channel_not_found"})),
        )
        .mount(&server)
        .await;
    let p = pipeline(&format!(
        "[retry]\nmax_attempts = 3\ninitial_backoff_ms = 1\n[[channels]]\nname = \"slack\"\nto = {{ type = \"slack_app\", bot_token = \"xoxb-secret-token\", channel = \"C1\", url = \"{}\" }}\n",
        server.uri()
    ))
    .await;
    let report = p.process(&log_file(vec![record(1, 0, "mallory")])).await;
    let (_, outcome) = &report.deliveries[0].channels[0];
    match outcome {
        ChannelOutcome::Failed {
            error,
            retryable,
            attempts,
        } => {
            assert_eq!(error, "Slack API error: channel_not_found");
            assert!(!retryable);
            assert_eq!(*attempts, 1, "a permanent error is not retried");
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{report:?}").contains("xoxb-secret-token"));
}

#[tokio::test]
async fn slack_threads_survive_a_cold_start_in_dynamodb() {
    let Some((sdk, ddb, table)) = common::moto_table("tw-threads").await else {
        return;
    };
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "ts": "1700000000.000300"})),
        )
        .mount(&server)
        .await;
    let config = format!(
        "[idempotency]\ntable = \"{table}\"\n[[channels]]\nname = \"slack\"\nto = {{ type = \"slack_app\", bot_token = \"xoxb-t\", channel = \"C1\", url = \"{}\" }}\n[noise.grouping]\nwindow_secs = 3600\n",
        server.uri()
    );
    for batch in [vec![record(1, 0, "mallory")], vec![record(2, 0, "mallory")]] {
        let config: Config = toml::from_str(&config).unwrap();
        let p = Pipeline::new(
            Detector::new(tamperwatch_catalog::load().unwrap()),
            Notifier::with_aws(config, sdk.clone()).await.unwrap(),
        );
        let report = p.process(&log_file(batch)).await;
        assert!(!report.failed(), "{report:?}");
    }
    let sent = bodies(&server, "/api/chat.postMessage").await;
    assert_eq!(sent[1]["thread_ts"], "1700000000.000300");
    let items = ddb
        .scan()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap();
    assert!(items.iter().any(|i| {
        i["pk"]
            .as_s()
            .unwrap()
            .starts_with("noise#thread#slack#grp-")
    }));
}

#[tokio::test]
async fn the_daily_digest_counts_what_was_held_back() {
    let server = webhook_server().await;
    let p = pipeline(&format!(
        r#"{}
        [[channels]]
        name = "pager"
        to = {{ type = "webhook", url = "{uri}/pager" }}
        [noise]
        staging = ["22671079-7dff-420c-9099-6435cb4bfe5d"]
        digest_channels = ["hook"]
        [[suppress]]
        name = "ci-trails"
        reason = "CI rebuilds its trails"
        owner = "platform@example.com"
        principal_arn = ["arn:aws:iam::111122223333:user/ci"]
        rules = ["e77ef4bb-f9fe-477c-b81b-a2ba0ea95325"]
        expires = "2099-01-01T00:00:00Z"
        "#,
        hook(&server.uri()),
        uri = server.uri()
    ))
    .await;
    Mock::given(method("POST"))
        .and(path("/pager"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    // Two trails stopped by CI (suppressed), one detector deleted (staged), in two invocations.
    p.process(&log_file(vec![record(1, 0, "ci"), record(2, 1, "ci")]))
        .await;
    p.process(&log_file(vec![record(3, 0, "ci")])).await;
    assert!(bodies(&server, "/hook").await.is_empty());
    let report = p.digest(jiff::Timestamp::now()).await;
    assert!(!report.failed(), "{report:?}");
    let sent = bodies(&server, "/hook").await;
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]["headline"]
            .as_str()
            .unwrap()
            .starts_with("[DIGEST] tamperwatch digest for ")
    );
    assert!(
        sent[0]["headline"]
            .as_str()
            .unwrap()
            .ends_with(": 3 findings held back")
    );
    assert_eq!(sent[0]["parameters"]["ci-trails"], "2");
    assert_eq!(sent[0]["parameters"]["staging"], "1");
    assert!(
        bodies(&server, "/pager").await.is_empty(),
        "only digest channels get it"
    );

    // The schedule's constant input sends yesterday's digest, even when nothing was held back.
    let out = p.handle(br#"{"tamperwatch": "digest"}"#).await.unwrap();
    assert_eq!(out["alerts"], 1);
    let sent = bodies(&server, "/hook").await;
    assert!(
        sent[1]["headline"]
            .as_str()
            .unwrap()
            .ends_with(": 0 findings held back")
    );
}
