//! tamperwatch itself: its EventBridge rule present, enabled and targeted in every checked
//! region; its SNS topic's subscriptions confirmed; its dead-letter queue empty; no recent
//! errors of its Lambda. The original blog's two troubleshooting steps ("is the SNS
//! subscription confirmed?", "check the Lambda's CloudWatch logs"), automated.
//!
//! Each part is checked only when [`Deployment`] names it.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use aws_sdk_eventbridge::types::RuleState;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::call_error::CallError;
use crate::fix::arn_region;
use crate::result::{CheckResult, Place, Service, Status};

const SERVICE: Service = Service::Tamperwatch;

/// How far back the Lambda's errors are counted.
pub const ERROR_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// The parts of a tamperwatch deployment to check. Each one absent is not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deployment {
    /// The EventBridge rule's name, expected in every checked region.
    pub rule_name: Option<String>,
    /// The name prefix of tamperwatch's EventBridge rules, as the templates name them: every
    /// checked region must hold at least one rule with it (`tamperwatch-cloudtrail-N` in the
    /// home region, on the default bus or the organization bus `{prefix}org`;
    /// `tamperwatch-forward-N` elsewhere), each enabled and targeted.
    pub rule_prefix: Option<String>,
    /// The alert topic's ARN (checked once, in its own account and region).
    pub topic_arn: Option<String>,
    /// The dead-letter queue's ARN (checked once, in its own account and region).
    pub dlq_arn: Option<String>,
    /// The Lambda function's name, whose `Errors` metric is read in every checked region.
    pub function_name: Option<String>,
}

impl Deployment {
    /// Whether nothing is named.
    pub fn is_empty(&self) -> bool {
        *self == Deployment::default()
    }
}

/// The EventBridge rule: present, enabled, with a target.
pub async fn check_rule(
    client: &aws_sdk_eventbridge::Client,
    place: &Place,
    name: &str,
) -> CheckResult {
    const CHECK: &str = "eventbridge-rule";
    let rule = match client.describe_rule().name(name).send().await {
        Ok(rule) => rule,
        Err(error) => {
            let error = CallError::of(&error);
            if error.code.as_deref() == Some("ResourceNotFoundException") {
                return place
                    .result(
                        SERVICE,
                        CHECK,
                        Status::Fail,
                        "the rule is missing: tamper events in this region reach nobody",
                    )
                    .on(name)
                    .fix("redeploy tamperwatch to this region (see docs/check.md)");
            }
            return error.could_not_check(place, SERVICE, CHECK).on(name);
        }
    };
    judge_rule(client, place, None, name, rule.state()).await
}

/// Every rule whose name starts with `prefix`, on the default bus, or else on the
/// organization bus `{prefix}org`: one result per rule (enabled, with a target), or one failure
/// when the region has none.
pub async fn check_rules_by_prefix(
    client: &aws_sdk_eventbridge::Client,
    place: &Place,
    prefix: &str,
) -> Vec<CheckResult> {
    const CHECK: &str = "eventbridge-rule";
    let organization_bus = format!("{prefix}org");
    let mut found = Vec::new();
    for bus in [None, Some(organization_bus.as_str())] {
        let mut next = None;
        loop {
            let page = client
                .list_rules()
                .name_prefix(prefix)
                .set_event_bus_name(bus.map(str::to_owned))
                .set_next_token(next)
                .send()
                .await;
            match page {
                Ok(page) => {
                    found.extend(page.rules.unwrap_or_default().into_iter().map(|r| (bus, r)));
                    next = page.next_token;
                    if next.is_none() {
                        break;
                    }
                }
                // Only the home region of an organization deployment has that bus.
                Err(error)
                    if bus.is_some()
                        && CallError::of(&error).code.as_deref()
                            == Some("ResourceNotFoundException") =>
                {
                    break;
                }
                Err(error) => {
                    return vec![
                        CallError::of(&error)
                            .could_not_check(place, SERVICE, CHECK)
                            .on(format!("{prefix}*")),
                    ];
                }
            }
        }
        if !found.is_empty() {
            break;
        }
    }
    if found.is_empty() {
        return vec![
            place
                .result(
                    SERVICE,
                    CHECK,
                    Status::Fail,
                    format!("no EventBridge rule named {prefix}*: tamper events in this region reach nobody"),
                )
                .on(format!("{prefix}*"))
                .fix("deploy tamperwatch (home region) or its forwarder stack (other regions) here; see docs/deploy.md"),
        ];
    }
    let mut results = Vec::with_capacity(found.len());
    for (bus, rule) in found {
        let name = rule.name().unwrap_or_default().to_owned();
        results.push(judge_rule(client, place, bus, &name, rule.state()).await);
    }
    results
}

/// Enabled, with at least one target.
async fn judge_rule(
    client: &aws_sdk_eventbridge::Client,
    place: &Place,
    bus: Option<&str>,
    name: &str,
    state: Option<&RuleState>,
) -> CheckResult {
    const CHECK: &str = "eventbridge-rule";
    if state != Some(&RuleState::Enabled) {
        let on_bus = bus
            .map(|b| format!(" --event-bus-name {b}"))
            .unwrap_or_default();
        return place
            .result(
                SERVICE,
                CHECK,
                Status::Fail,
                format!(
                    "the rule is {}",
                    state.map_or("in no state", |s| s.as_str())
                ),
            )
            .on(name)
            .fix(format!("aws events enable-rule --name {name}{on_bus}"));
    }
    match client
        .list_targets_by_rule()
        .rule(name)
        .set_event_bus_name(bus.map(str::to_owned))
        .send()
        .await
    {
        Err(error) => CallError::of(&error)
            .could_not_check(place, SERVICE, CHECK)
            .on(name),
        Ok(targets) if targets.targets().is_empty() => place
            .result(
                SERVICE,
                CHECK,
                Status::Fail,
                "the rule is enabled but has no target",
            )
            .on(name)
            .fix("redeploy tamperwatch: the rule's target (its queue or the home bus) was removed"),
        Ok(targets) => place
            .result(
                SERVICE,
                CHECK,
                Status::Pass,
                format!("enabled, {} target(s)", targets.targets().len()),
            )
            .on(name),
    }
}

/// The alert topic: at least one subscription, none left `PendingConfirmation`.
pub async fn check_topic(client: &aws_sdk_sns::Client, place: &Place, arn: &str) -> CheckResult {
    const CHECK: &str = "sns-subscriptions";
    let mut subscriptions = Vec::new();
    let mut next = None;
    loop {
        let page = client
            .list_subscriptions_by_topic()
            .topic_arn(arn)
            .set_next_token(next)
            .send()
            .await;
        match page {
            Err(error) => {
                return CallError::of(&error)
                    .could_not_check(place, SERVICE, CHECK)
                    .on(arn);
            }
            Ok(page) => {
                subscriptions.extend(page.subscriptions.unwrap_or_default());
                next = page.next_token;
                if next.is_none() {
                    break;
                }
            }
        }
    }
    let pending: Vec<&str> = subscriptions
        .iter()
        .filter(|s| s.subscription_arn() == Some("PendingConfirmation"))
        .map(|s| s.endpoint().unwrap_or("?"))
        .collect();
    if subscriptions.is_empty() {
        place
            .result(
                SERVICE,
                CHECK,
                Status::Fail,
                "the topic has no subscriptions: alerts reach nobody",
            )
            .on(arn)
            .fix("subscribe the security team: aws sns subscribe --topic-arn ARN --protocol email ...")
    } else if !pending.is_empty() {
        place
            .result(
                SERVICE,
                CHECK,
                Status::Fail,
                format!(
                    "{} subscription(s) never confirmed ({}): they receive nothing",
                    pending.len(),
                    pending.join(", ")
                ),
            )
            .on(arn)
            .fix("open the confirmation mail (or resubscribe) and click the link")
    } else {
        place
            .result(
                SERVICE,
                CHECK,
                Status::Pass,
                format!("{} confirmed subscription(s)", subscriptions.len()),
            )
            .on(arn)
    }
}

/// The dead-letter queue: empty (every message in it is a tamper event that was not alerted).
pub async fn check_dlq(client: &aws_sdk_sqs::Client, place: &Place, arn: &str) -> CheckResult {
    const CHECK: &str = "dead-letter-queue";
    let name = arn.rsplit(':').next().unwrap_or(arn);
    let url = match client
        .get_queue_url()
        .queue_name(name)
        .queue_owner_aws_account_id(&place.account)
        .send()
        .await
    {
        Ok(output) => output.queue_url.unwrap_or_default(),
        Err(error) => {
            return CallError::of(&error)
                .could_not_check(place, SERVICE, CHECK)
                .on(arn);
        }
    };
    let attributes = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await;
    let count = match attributes {
        Err(error) => {
            return CallError::of(&error)
                .could_not_check(place, SERVICE, CHECK)
                .on(arn);
        }
        Ok(output) => output
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
            .and_then(|n| n.parse::<u64>().ok()),
    };
    match count {
        None => place
            .result(
                SERVICE,
                CHECK,
                Status::CouldNotCheck,
                "the queue did not report its depth",
            )
            .on(arn),
        Some(0) => place
            .result(SERVICE, CHECK, Status::Pass, "empty")
            .on(arn),
        Some(n) => place
            .result(
                SERVICE,
                CHECK,
                Status::Fail,
                format!("{n} event(s) failed delivery to the Lambda and were never alerted on"),
            )
            .on(arn)
            .fix("read them (aws sqs receive-message), scan them with `tamperwatch scan`, then purge"),
    }
}

/// The Lambda: no `Errors` in the last [`ERROR_WINDOW`].
pub async fn check_function_errors(
    client: &aws_sdk_cloudwatch::Client,
    place: &Place,
    function: &str,
) -> CheckResult {
    const CHECK: &str = "lambda-errors";
    let now = SystemTime::now();
    let start = now
        .checked_sub(ERROR_WINDOW)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let output = client
        .get_metric_statistics()
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .dimensions(
            Dimension::builder()
                .name("FunctionName")
                .value(function)
                .build(),
        )
        .start_time(DateTime::from(start))
        .end_time(DateTime::from(now))
        .period(3600)
        .statistics(Statistic::Sum)
        .send()
        .await;
    match output {
        Err(error) => CallError::of(&error)
            .could_not_check(place, SERVICE, CHECK)
            .on(function),
        Ok(output) => {
            let errors: f64 = output.datapoints().iter().filter_map(|d| d.sum()).sum();
            if errors > 0.0 {
                place
                    .result(
                        SERVICE,
                        CHECK,
                        Status::Fail,
                        format!(
                            "{errors} error(s) in the last 24 hours: events may have gone unalerted"
                        ),
                    )
                    .on(function)
                    .fix(format!("aws logs tail /aws/lambda/{function} --since 24h"))
            } else {
                place
                    .result(
                        SERVICE,
                        CHECK,
                        Status::Pass,
                        "no errors in the last 24 hours",
                    )
                    .on(function)
            }
        }
    }
}

/// The region an ARN names, or `fallback`.
pub(crate) fn region_of<'a>(arn: &'a str, fallback: &'a str) -> &'a str {
    arn_region(arn).unwrap_or(fallback)
}

/// The account an ARN names, when it names one.
pub(crate) fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}
