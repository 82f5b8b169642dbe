//! Running every check for every account and region, regions in parallel (bounded).

use aws_config::{Region, SdkConfig};
use futures_util::{StreamExt, stream};

use crate::accounts::Account;
use crate::checks::{self, tamperwatch::Deployment};
use crate::result::{CheckResult, Place};

/// What to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The regions, in every account.
    pub regions: Vec<String>,
    /// How many account-regions are checked at once (each makes about 20 calls, concurrently).
    pub concurrency: usize,
    /// tamperwatch's own deployment, to check beside the services.
    pub deployment: Deployment,
}

impl CheckOptions {
    /// Checks these regions, 8 at a time, without checking a tamperwatch deployment.
    pub fn new(regions: Vec<String>) -> Self {
        CheckOptions {
            regions,
            concurrency: 8,
            deployment: Deployment::default(),
        }
    }

    /// Where account-wide services (Shield, Firewall Manager) are checked: us-east-1 when it
    /// is checked, else the first region.
    fn home_region(&self) -> Option<&str> {
        self.regions
            .iter()
            .find(|r| *r == "us-east-1")
            .or(self.regions.first())
            .map(String::as_str)
    }
}

/// `sdk` with its region set.
pub fn in_region(sdk: &SdkConfig, region: &str) -> SdkConfig {
    sdk.to_builder()
        .region(Region::new(region.to_owned()))
        .build()
}

enum Job<'a> {
    Region(&'a Account, &'a str),
    AccountWide(&'a Account, &'a str),
}

/// Runs every check. Results are sorted by account, region, service, check and resource.
pub async fn check_accounts(accounts: &[Account], options: &CheckOptions) -> Vec<CheckResult> {
    let mut jobs = Vec::new();
    for account in accounts {
        if let Some(home) = options.home_region() {
            jobs.push(Job::AccountWide(account, home));
        }
        for region in &options.regions {
            jobs.push(Job::Region(account, region));
        }
    }
    let batches: Vec<Vec<CheckResult>> = stream::iter(jobs)
        .map(|job| async move {
            match job {
                Job::Region(account, region) => check_region(account, region, options).await,
                Job::AccountWide(account, home) => {
                    check_account_wide(account, home, &options.deployment).await
                }
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    let mut results: Vec<CheckResult> = batches.into_iter().flatten().collect();
    results.sort_by(|a, b| {
        (&a.account, &a.region, a.service, &a.check, &a.resource).cmp(&(
            &b.account,
            &b.region,
            b.service,
            &b.check,
            &b.resource,
        ))
    });
    results
}

/// Every regional check of one account in one region, concurrently.
pub async fn check_region(
    account: &Account,
    region: &str,
    options: &CheckOptions,
) -> Vec<CheckResult> {
    let sdk = in_region(&account.sdk, region);
    let place = Place::new(&account.id, region);
    let place = &place;
    let sdk = &sdk;
    let cloudtrail = aws_sdk_cloudtrail::Client::new(sdk);
    let guardduty = aws_sdk_guardduty::Client::new(sdk);
    let config = aws_sdk_config::Client::new(sdk);
    let securityhub = aws_sdk_securityhub::Client::new(sdk);
    let inspector2 = aws_sdk_inspector2::Client::new(sdk);
    let macie = aws_sdk_macie2::Client::new(sdk);
    let analyzer = aws_sdk_accessanalyzer::Client::new(sdk);
    let (cloudtrail, guardduty, config, securityhub, inspector2, macie, analyzer, own) = tokio::join!(
        checks::cloudtrail::check(&cloudtrail, place),
        checks::guardduty::check(&guardduty, place),
        checks::config::check(&config, place),
        checks::securityhub::check(&securityhub, place),
        checks::inspector2::check(&inspector2, place),
        checks::macie::check(&macie, place),
        checks::access_analyzer::check(&analyzer, place),
        check_own_regional(sdk, place, &options.deployment),
    );
    let mut results = Vec::new();
    results.extend(cloudtrail);
    results.extend(guardduty);
    results.extend(config);
    results.extend(securityhub);
    results.extend(inspector2);
    results.push(macie);
    results.push(analyzer);
    results.extend(own);
    results
}

async fn check_own_regional(
    sdk: &SdkConfig,
    place: &Place,
    deployment: &Deployment,
) -> Vec<CheckResult> {
    let mut results = Vec::new();
    if let Some(rule) = &deployment.rule_name {
        let client = aws_sdk_eventbridge::Client::new(sdk);
        results.push(checks::tamperwatch::check_rule(&client, place, rule).await);
    }
    if let Some(prefix) = &deployment.rule_prefix {
        let client = aws_sdk_eventbridge::Client::new(sdk);
        results.extend(checks::tamperwatch::check_rules_by_prefix(&client, place, prefix).await);
    }
    if let Some(function) = &deployment.function_name {
        let client = aws_sdk_cloudwatch::Client::new(sdk);
        results.push(checks::tamperwatch::check_function_errors(&client, place, function).await);
    }
    results
}

/// The account-wide checks: Shield Advanced (in us-east-1), Firewall Manager, and the
/// deployment's topic and dead-letter queue (in their own regions).
pub async fn check_account_wide(
    account: &Account,
    home: &str,
    deployment: &Deployment,
) -> Vec<CheckResult> {
    let shield_sdk = in_region(&account.sdk, "us-east-1");
    let home_sdk = in_region(&account.sdk, home);
    let mut results = vec![
        checks::shield::check(
            &aws_sdk_shield::Client::new(&shield_sdk),
            &Place::new(&account.id, "us-east-1"),
        )
        .await,
        checks::fms::check(
            &aws_sdk_fms::Client::new(&home_sdk),
            &Place::new(&account.id, home),
        )
        .await,
    ];
    let mine = |arn: &str| checks::tamperwatch::account_of(arn).is_none_or(|a| a == account.id);
    if let Some(topic) = deployment.topic_arn.as_deref().filter(|a| mine(a)) {
        let region = checks::tamperwatch::region_of(topic, home);
        let client = aws_sdk_sns::Client::new(&in_region(&account.sdk, region));
        let place = Place::new(&account.id, region);
        results.push(checks::tamperwatch::check_topic(&client, &place, topic).await);
    }
    if let Some(queue) = deployment.dlq_arn.as_deref().filter(|a| mine(a)) {
        let region = checks::tamperwatch::region_of(queue, home);
        let client = aws_sdk_sqs::Client::new(&in_region(&account.sdk, region));
        let place = Place::new(&account.id, region);
        results.push(checks::tamperwatch::check_dlq(&client, &place, queue).await);
    }
    results
}
