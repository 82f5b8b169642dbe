#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The posture checks against real APIs: moto (a prepared mixed state across two regions, then
//! `--fix` and a second check) and, for what moto lacks (Access Analyzer) or mis-serves
//! (Macie's timestamps), SDK-level mocks.
//!
//! moto tests need `TAMPERWATCH_TEST_MOTO_URL` (scripts/test.sh starts moto and sets it). Each
//! test works in an account of its own, reached with sts:AssumeRole (moto keeps accounts
//! apart), so the server can be shared with other tests and needs no reset.

use std::io::{Read, Write};
use std::net::TcpStream;

use tamperwatch_posture::accounts::{self, Account, AccountAccess};
use tamperwatch_posture::fix::{self, FixAction};
use tamperwatch_posture::{CheckOptions, CheckResult, Service, Status, check_accounts, in_region};
use tamperwatch_testkit::{fresh_account_id, moto_sdk, moto_url};

/// An account of this test's own, through sts:AssumeRole.
async fn own_account(moto: &str, id: &str) -> Account {
    let base = moto_sdk(moto).await;
    let mut access =
        accounts::assume(&base, "123456789012", &[id.to_owned()], "tamperwatch-check").await;
    match access.remove(0) {
        AccountAccess::Ready(account) => {
            assert_eq!(account.id, id);
            *account
        }
        AccountAccess::Unreachable { error, .. } => panic!("could not assume a role: {error}"),
    }
}

/// moto creates a bucket from an unsigned path-style PUT; CloudTrail and Config accept a bucket
/// of any account.
fn create_bucket(moto: &str, bucket: &str) {
    let host = moto.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).unwrap();
    write!(
        stream,
        "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

const R1: &str = "us-west-2";
const R2: &str = "eu-central-1";

/// The mixed state of the issue: in R2 a trail stopped, GuardDuty disabled, the Config
/// recorder stopped, Security Hub off; in R1 Inspector off for ECR only. Everything else on.
async fn prepare_mixed_state(moto: &str, account: &Account, bucket: &str) {
    create_bucket(moto, bucket);
    let sdk1 = in_region(&account.sdk, R1);
    let sdk2 = in_region(&account.sdk, R2);

    // CloudTrail: a multi-region trail homed in R1, logging; a regional trail in R2, stopped.
    let ct1 = aws_sdk_cloudtrail::Client::new(&sdk1);
    ct1.create_trail()
        .name("org-trail")
        .s3_bucket_name(bucket)
        .is_multi_region_trail(true)
        .include_global_service_events(true)
        .enable_log_file_validation(true)
        .send()
        .await
        .unwrap();
    ct1.put_event_selectors()
        .trail_name("org-trail")
        .event_selectors(
            aws_sdk_cloudtrail::types::EventSelector::builder()
                .read_write_type(aws_sdk_cloudtrail::types::ReadWriteType::All)
                .include_management_events(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    ct1.start_logging().name("org-trail").send().await.unwrap();
    let ct2 = aws_sdk_cloudtrail::Client::new(&sdk2);
    ct2.create_trail()
        .name("regional-trail")
        .s3_bucket_name(bucket)
        .send()
        .await
        .unwrap();
    ct2.start_logging()
        .name("regional-trail")
        .send()
        .await
        .unwrap();
    ct2.stop_logging()
        .name("regional-trail")
        .send()
        .await
        .unwrap();

    for (sdk, region) in [(&sdk1, R1), (&sdk2, R2)] {
        // GuardDuty: on in R1, disabled in R2.
        let gd = aws_sdk_guardduty::Client::new(sdk);
        let id = gd
            .create_detector()
            .enable(true)
            .send()
            .await
            .unwrap()
            .detector_id
            .unwrap();
        if region == R2 {
            gd.update_detector()
                .detector_id(&id)
                .enable(false)
                .send()
                .await
                .unwrap();
        }

        // Config: recorder and channel in both; recording in R1 only.
        let cfg = aws_sdk_config::Client::new(sdk);
        cfg.put_configuration_recorder()
            .configuration_recorder(
                aws_sdk_config::types::ConfigurationRecorder::builder()
                    .name("default")
                    .role_arn(format!("arn:aws:iam::{}:role/config", account.id))
                    .recording_group(
                        aws_sdk_config::types::RecordingGroup::builder()
                            .all_supported(true)
                            .include_global_resource_types(region == R1)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        cfg.put_delivery_channel()
            .delivery_channel(
                aws_sdk_config::types::DeliveryChannel::builder()
                    .name("default")
                    .s3_bucket_name(bucket)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        if region == R1 {
            cfg.start_configuration_recorder()
                .configuration_recorder_name("default")
                .send()
                .await
                .unwrap();
        }

        // Security Hub: on in R1 only.
        if region == R1 {
            aws_sdk_securityhub::Client::new(sdk)
                .enable_security_hub()
                .send()
                .await
                .unwrap();
        }

        // Inspector: every type on, then ECR off in R1.
        let inspector = aws_sdk_inspector2::Client::new(sdk);
        use aws_sdk_inspector2::types::ResourceScanType as T;
        inspector
            .enable()
            .account_ids(&account.id)
            .set_resource_types(Some(vec![T::Ec2, T::Ecr, T::Lambda, T::LambdaCode]))
            .send()
            .await
            .unwrap();
        if region == R1 {
            inspector
                .disable()
                .account_ids(&account.id)
                .resource_types(T::Ecr)
                .send()
                .await
                .unwrap();
        }
    }
}

fn find<'a>(
    results: &'a [CheckResult],
    region: &str,
    service: Service,
    check: &str,
) -> Vec<&'a CheckResult> {
    results
        .iter()
        .filter(|r| r.region == region && r.service == service && r.check == check)
        .collect()
}

fn failures(results: &[CheckResult]) -> Vec<(String, Service, String)> {
    let mut failed: Vec<_> = results
        .iter()
        .filter(|r| r.status == Status::Fail)
        .map(|r| (r.region.clone(), r.service, r.check.clone()))
        .collect();
    failed.sort();
    failed
}

#[tokio::test]
async fn mixed_state_across_two_regions_is_reported_fixed_and_passes_after_the_fix() {
    let Some(moto) = moto_url() else { return };
    let account = own_account(&moto, &fresh_account_id('5')).await;
    prepare_mixed_state(&moto, &account, "tamperwatch-posture-mixed").await;
    let options = CheckOptions::new(vec![R1.to_owned(), R2.to_owned()]);
    let accounts = [account.clone()];

    let results = check_accounts(&accounts, &options).await;
    for r in &results {
        eprintln!(
            "{:?} {} {} {} {}",
            r.status,
            r.region,
            r.service.as_str(),
            r.check,
            r.reason
        );
    }

    // Every failure, in the right region, and no other.
    let mut expected = vec![
        (
            R2.to_owned(),
            Service::Cloudtrail,
            "trail-logging".to_owned(),
        ),
        (
            R2.to_owned(),
            Service::Guardduty,
            "detector-enabled".to_owned(),
        ),
        (R2.to_owned(), Service::Config, "recording".to_owned()),
        (
            R2.to_owned(),
            Service::Securityhub,
            "hub-enabled".to_owned(),
        ),
        (R1.to_owned(), Service::Inspector2, "ecr".to_owned()),
    ];
    expected.sort();
    assert_eq!(failures(&results), expected);

    // Nothing falsely passed: the same checks pass in the other region, and what moto cannot
    // answer is "could not check", never a pass.
    let pass = |region, service, check| {
        let found = find(&results, region, service, check);
        assert!(
            !found.is_empty() && found.iter().all(|r| r.status == Status::Pass),
            "{region} {service:?} {check}: {found:?}"
        );
    };
    pass(R1, Service::Cloudtrail, "multi-region-trail");
    pass(R2, Service::Cloudtrail, "multi-region-trail");
    pass(R1, Service::Cloudtrail, "trail-logging");
    pass(R1, Service::Cloudtrail, "management-events");
    pass(R1, Service::Guardduty, "detector-enabled");
    pass(R1, Service::Config, "recording");
    pass(R1, Service::Securityhub, "hub-enabled");
    pass(R2, Service::Inspector2, "ecr");
    pass(R1, Service::Inspector2, "ec2");
    for region in [R1, R2] {
        for (service, check) in [
            (Service::AccessAnalyzer, "analyzer-active"),
            (Service::Macie, "enabled"),
        ] {
            let found = find(&results, region, service, check);
            assert!(
                found.iter().all(|r| r.status == Status::CouldNotCheck),
                "{found:?}"
            );
        }
    }
    assert!(
        find(&results, R1, Service::Securityhub, "standards")
            .iter()
            .all(|r| r.status == Status::CouldNotCheck)
    );

    // The fixes: one per failure, each in its region.
    let plan = fix::plan(&results);
    let planned: Vec<(&str, &FixAction)> = plan
        .iter()
        .map(|f| (f.region.as_str(), &f.action))
        .collect();
    assert_eq!(plan.len(), 5, "{planned:?}");
    assert!(planned.contains(&(
        R1,
        &FixAction::EnableInspector2 {
            resource_types: vec!["ECR".into()]
        }
    )));
    assert!(planned.contains(&(R2, &FixAction::EnableSecurityHub)));
    assert!(plan.iter().all(|f| f.account == account.id));
    for planned_fix in &plan {
        fix::apply(&account.sdk, planned_fix).await.unwrap();
    }

    let after = check_accounts(&accounts, &options).await;
    assert_eq!(failures(&after), vec![], "{after:#?}");
    for (region, service, check) in &expected {
        let found = find(&after, region, *service, check);
        assert!(
            !found.is_empty() && found.iter().all(|r| r.status == Status::Pass),
            "{region} {service:?} {check}: {found:?}"
        );
    }
}

/// A deployment as the templates name it: at home (R1) the rules `tamperwatch-cloudtrail-N`,
/// one of them disabled; in R2 a forwarder rule `tamperwatch-forward-1` whose target was
/// removed; in a third region nothing. The dead-letter queue is named, not given by ARN.
#[tokio::test]
async fn the_templates_rule_names_are_found_by_prefix_in_every_region() {
    let Some(moto) = moto_url() else { return };
    let account = own_account(&moto, &fresh_account_id('6')).await;
    let home = aws_sdk_eventbridge::Client::new(&in_region(&account.sdk, R1));
    let target = |id: &str| {
        aws_sdk_eventbridge::types::Target::builder()
            .id(id)
            .arn(format!(
                "arn:aws:sqs:{R1}:{}:tamperwatch-events",
                account.id
            ))
            .build()
            .unwrap()
    };
    let pattern = r#"{"source":["aws.cloudtrail"]}"#;
    for (name, enabled) in [
        ("tamperwatch-cloudtrail-1", true),
        ("tamperwatch-cloudtrail-2", false),
    ] {
        home.put_rule()
            .name(name)
            .event_pattern(pattern)
            .state(if enabled {
                aws_sdk_eventbridge::types::RuleState::Enabled
            } else {
                aws_sdk_eventbridge::types::RuleState::Disabled
            })
            .send()
            .await
            .unwrap();
        home.put_targets()
            .rule(name)
            .targets(target("queue"))
            .send()
            .await
            .unwrap();
    }
    // Not ours: another prefix is not counted.
    home.put_rule()
        .name("other-rule")
        .event_pattern(pattern)
        .send()
        .await
        .unwrap();
    let forwarder = aws_sdk_eventbridge::Client::new(&in_region(&account.sdk, R2));
    forwarder
        .put_rule()
        .name("tamperwatch-forward-1")
        .event_pattern(pattern)
        .send()
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&in_region(&account.sdk, R1));
    sqs.create_queue()
        .queue_name("tamperwatch-events-dlq")
        .send()
        .await
        .unwrap();

    let mut options = CheckOptions::new(vec![R1.into(), R2.into(), "ap-southeast-2".into()]);
    options.deployment = tamperwatch_posture::Deployment {
        rule_prefix: Some("tamperwatch-".into()),
        dlq_arn: Some("tamperwatch-events-dlq".into()),
        ..Default::default()
    };
    let results = check_accounts(std::slice::from_ref(&account), &options).await;
    let own: Vec<(&str, &str, &str, Status)> = results
        .iter()
        .filter(|r| r.service == Service::Tamperwatch)
        .map(|r| {
            (
                r.region.as_str(),
                r.check.as_str(),
                r.resource.as_deref().unwrap_or(""),
                r.status,
            )
        })
        .collect();
    assert_eq!(
        own,
        [
            (
                "ap-southeast-2",
                "eventbridge-rule",
                "tamperwatch-*",
                Status::Fail
            ),
            (
                "eu-central-1",
                "eventbridge-rule",
                "tamperwatch-forward-1",
                Status::Fail
            ),
            (
                "us-west-2",
                "dead-letter-queue",
                "tamperwatch-events-dlq",
                Status::Pass
            ),
            (
                "us-west-2",
                "eventbridge-rule",
                "tamperwatch-cloudtrail-1",
                Status::Pass
            ),
            (
                "us-west-2",
                "eventbridge-rule",
                "tamperwatch-cloudtrail-2",
                Status::Fail
            ),
        ]
    );
    let disabled = results
        .iter()
        .find(|r| r.resource.as_deref() == Some("tamperwatch-cloudtrail-2"))
        .unwrap();
    assert_eq!(disabled.reason, "the rule is DISABLED");
    let untargeted = results
        .iter()
        .find(|r| r.resource.as_deref() == Some("tamperwatch-forward-1"))
        .unwrap();
    assert_eq!(untargeted.reason, "the rule is enabled but has no target");
}

#[tokio::test]
async fn an_empty_account_fails_everywhere_and_an_unreachable_one_is_could_not_check() {
    let Some(moto) = moto_url() else { return };
    let account = own_account(&moto, &fresh_account_id('6')).await;
    let results = check_accounts(&[account], &CheckOptions::new(vec![R1.to_owned()])).await;
    let failed = failures(&results);
    for check in [
        (Service::Cloudtrail, "multi-region-trail"),
        (Service::Guardduty, "detector-enabled"),
        (Service::Config, "recording"),
        (Service::Securityhub, "hub-enabled"),
    ] {
        assert!(
            failed.contains(&(R1.to_owned(), check.0, check.1.to_owned())),
            "{check:?} not failed: {failed:?}"
        );
    }
    assert!(
        results
            .iter()
            .all(|r| r.status != Status::Pass || r.service == Service::Macie)
    );

    // A role that cannot be assumed: moto accepts any; an unreachable endpoint cannot.
    let base = moto_sdk("http://127.0.0.1:9").await;
    let access = accounts::assume(&base, "123456789012", &["535353535353".into()], "r").await;
    let result = access[0].unreachable_result().expect("unreachable");
    assert_eq!(result.status, Status::CouldNotCheck);
}

mod mocks {
    //! Access Analyzer (no moto backend) and Macie (moto's timestamps do not parse), with
    //! aws-smithy-mocks.

    use aws_sdk_accessanalyzer::operation::list_analyzers::{
        ListAnalyzersError, ListAnalyzersOutput,
    };
    use aws_sdk_accessanalyzer::types::{AnalyzerStatus, AnalyzerSummary, Type};
    use aws_sdk_macie2::operation::get_macie_session::{
        GetMacieSessionError, GetMacieSessionOutput,
    };
    use aws_sdk_macie2::types::MacieStatus;
    use aws_smithy_mocks::{mock, mock_client};
    use tamperwatch_posture::checks::{access_analyzer, macie};
    use tamperwatch_posture::fix::FixAction;
    use tamperwatch_posture::{Place, Status};

    fn place() -> Place {
        Place::new("111111111111", "eu-west-1")
    }

    fn analyzer(kind: Type, status: AnalyzerStatus) -> AnalyzerSummary {
        AnalyzerSummary::builder()
            .arn("arn:aws:access-analyzer:eu-west-1:111111111111:analyzer/a")
            .name("a")
            .r#type(kind)
            .created_at(aws_sdk_accessanalyzer::primitives::DateTime::from_secs(0))
            .status(status)
            .build()
            .unwrap()
    }

    async fn analyzers(list: Vec<AnalyzerSummary>) -> tamperwatch_posture::CheckResult {
        let rule = mock!(aws_sdk_accessanalyzer::Client::list_analyzers).then_output(move || {
            ListAnalyzersOutput::builder()
                .set_analyzers(Some(list.clone()))
                .build()
                .unwrap()
        });
        let client = mock_client!(aws_sdk_accessanalyzer, [&rule]);
        access_analyzer::check(&client, &place()).await
    }

    #[tokio::test]
    async fn access_analyzer_active_missing_disabled_and_denied() {
        let active = analyzers(vec![analyzer(Type::Account, AnalyzerStatus::Active)]).await;
        assert_eq!(active.status, Status::Pass);

        let none = analyzers(vec![]).await;
        assert_eq!(none.status, Status::Fail);
        assert!(matches!(
            none.action,
            Some(FixAction::CreateAccessAnalyzer { .. })
        ));

        // An unused-access analyzer does not watch external access.
        let unused = analyzers(vec![analyzer(
            Type::AccountUnusedAccess,
            AnalyzerStatus::Active,
        )])
        .await;
        assert_eq!(unused.status, Status::Fail);

        let disabled =
            analyzers(vec![analyzer(Type::Organization, AnalyzerStatus::Disabled)]).await;
        assert_eq!(disabled.status, Status::Fail);
        assert!(disabled.reason.contains("disabled"), "{}", disabled.reason);

        let rule = mock!(aws_sdk_accessanalyzer::Client::list_analyzers).then_error(|| {
            ListAnalyzersError::AccessDeniedException(
                aws_sdk_accessanalyzer::types::error::AccessDeniedException::builder()
                    .message("not authorized")
                    .meta(
                        aws_sdk_accessanalyzer::error::ErrorMetadata::builder()
                            .code("AccessDeniedException")
                            .message("not authorized")
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
        });
        let client = mock_client!(aws_sdk_accessanalyzer, [&rule]);
        let denied = access_analyzer::check(&client, &place()).await;
        assert_eq!(denied.status, Status::CouldNotCheck);
        assert!(denied.reason.contains("may not"), "{}", denied.reason);
    }

    async fn macie_with(rule: aws_smithy_mocks::Rule) -> tamperwatch_posture::CheckResult {
        let client = mock_client!(aws_sdk_macie2, [&rule]);
        macie::check(&client, &place()).await
    }

    fn session(status: MacieStatus) -> aws_smithy_mocks::Rule {
        mock!(aws_sdk_macie2::Client::get_macie_session).then_output(move || {
            GetMacieSessionOutput::builder()
                .status(status.clone())
                .build()
        })
    }

    fn denied(message: &'static str) -> aws_smithy_mocks::Rule {
        mock!(aws_sdk_macie2::Client::get_macie_session).then_error(move || {
            GetMacieSessionError::AccessDeniedException(
                aws_sdk_macie2::types::error::AccessDeniedException::builder()
                    .message(message)
                    .build(),
            )
        })
    }

    #[tokio::test]
    async fn macie_enabled_paused_off_and_denied() {
        assert_eq!(
            macie_with(session(MacieStatus::Enabled)).await.status,
            Status::Pass
        );

        let paused = macie_with(session(MacieStatus::Paused)).await;
        assert_eq!(paused.status, Status::Fail);
        assert_eq!(paused.action, Some(FixAction::UnpauseMacie));

        // Macie says "not enabled" with an AccessDeniedException: that one is an answer.
        let off = macie_with(denied("Macie is not enabled.")).await;
        assert_eq!(off.status, Status::Fail);
        assert_eq!(off.action, Some(FixAction::EnableMacie));

        let no_permission = macie_with(denied(
            "User is not authorized to perform: macie2:GetMacieSession",
        ))
        .await;
        assert_eq!(no_permission.status, Status::CouldNotCheck);
    }
}
