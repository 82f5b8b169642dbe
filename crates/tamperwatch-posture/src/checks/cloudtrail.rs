//! CloudTrail: a multi-region trail that is logging, with management events read and write,
//! global service events, log file validation, and delivery working.
//!
//! Every region gets a `multi-region-trail` result: is it covered by a multi-region trail
//! that is logging? Each trail is judged in its home region only (`trail-logging`,
//! `delivery`; for multi-region trails also `management-events`, `global-service-events`
//! and `log-file-validation`), so a stopped trail is one failure in the region it lives in,
//! and the coverage gap shows in every region it leaves dark.

use aws_sdk_cloudtrail::Client;
use aws_sdk_cloudtrail::operation::get_trail_status::GetTrailStatusOutput;
use aws_sdk_cloudtrail::types::{ReadWriteType, Trail};

use crate::call_error::CallError;
use crate::fix::FixAction;
use crate::result::{CheckResult, Place, Service, Status};

const SERVICE: Service = Service::Cloudtrail;

/// Runs the CloudTrail checks in one region.
pub async fn check(client: &Client, place: &Place) -> Vec<CheckResult> {
    let trails = match client
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
    {
        Ok(output) => output.trail_list.unwrap_or_default(),
        Err(error) => {
            return vec![CallError::of(&error).could_not_check(
                place,
                SERVICE,
                "multi-region-trail",
            )];
        }
    };
    let mut results = Vec::new();
    let mut statuses = Vec::new();
    for trail in &trails {
        let homed_here = trail.home_region() == Some(place.region.as_str());
        if !(homed_here || trail.is_multi_region_trail() == Some(true)) {
            continue;
        }
        let id = trail_id(trail);
        let status = client
            .get_trail_status()
            .name(&id)
            .send()
            .await
            .map_err(|e| CallError::of(&e));
        statuses.push((trail, id, homed_here, status));
    }
    results.push(coverage(place, &statuses));
    for (trail, id, homed_here, status) in &statuses {
        if *homed_here {
            results.extend(trail_checks(client, place, trail, id, status).await);
        }
    }
    results
}

/// The ARN (a shadow trail can only be named by it), or the name.
fn trail_id(trail: &Trail) -> String {
    trail
        .trail_arn()
        .or(trail.name())
        .unwrap_or_default()
        .to_owned()
}

type TrailStatus<'a> = (
    &'a Trail,
    String,
    bool,
    Result<GetTrailStatusOutput, CallError>,
);

fn coverage(place: &Place, statuses: &[TrailStatus<'_>]) -> CheckResult {
    const CHECK: &str = "multi-region-trail";
    let multi: Vec<_> = statuses
        .iter()
        .filter(|(trail, ..)| trail.is_multi_region_trail() == Some(true))
        .collect();
    if let Some((_, id, ..)) = multi
        .iter()
        .find(|(_, _, _, status)| matches!(status, Ok(s) if s.is_logging() == Some(true)))
    {
        return place
            .result(
                SERVICE,
                CHECK,
                Status::Pass,
                format!("multi-region trail {id} is logging"),
            )
            .on(id.clone());
    }
    if let Some((_, id, ..)) = multi.iter().find(|(_, _, _, status)| status.is_ok()) {
        return place
            .result(
                SERVICE,
                CHECK,
                Status::Fail,
                format!("the multi-region trail {id} is not logging: this region is not recorded"),
            )
            .fix(format!("aws cloudtrail start-logging --name {id}"))
            .action(FixAction::StartLogging { trail: id.clone() });
    }
    if let Some((_, _, _, Err(error))) = multi.first() {
        return error.could_not_check(place, SERVICE, CHECK);
    }
    place
        .result(
            SERVICE,
            CHECK,
            Status::Fail,
            "no multi-region trail covers this region",
        )
        .fix(
            "create one: aws cloudtrail create-trail --name org-trail --s3-bucket-name BUCKET \
             --is-multi-region-trail --enable-log-file-validation, then start-logging",
        )
}

async fn trail_checks(
    client: &Client,
    place: &Place,
    trail: &Trail,
    id: &str,
    status: &Result<GetTrailStatusOutput, CallError>,
) -> Vec<CheckResult> {
    let mut results = Vec::new();
    let status = match status {
        Ok(status) => status,
        Err(error) => {
            results.push(
                error
                    .could_not_check(place, SERVICE, "trail-logging")
                    .on(id),
            );
            return results;
        }
    };
    results.push(if status.is_logging() == Some(true) {
        place
            .result(SERVICE, "trail-logging", Status::Pass, "logging")
            .on(id)
    } else {
        place
            .result(
                SERVICE,
                "trail-logging",
                Status::Fail,
                "the trail is stopped",
            )
            .on(id)
            .fix(format!("aws cloudtrail start-logging --name {id}"))
            .action(FixAction::StartLogging {
                trail: id.to_owned(),
            })
    });
    results.push(match status.latest_delivery_error().filter(|e| !e.is_empty()) {
        None => place
            .result(SERVICE, "delivery", Status::Pass, "no delivery error")
            .on(id),
        Some(error) => place
            .result(
                SERVICE,
                "delivery",
                Status::Fail,
                format!("log files are not delivered: {error}"),
            )
            .on(id)
            .fix("check the bucket exists, its policy lets CloudTrail write, and the KMS key policy"),
    });
    if trail.is_multi_region_trail() != Some(true) {
        return results;
    }
    results.push(management_events(client, place, id).await);
    results.push(if trail.include_global_service_events() == Some(true) {
        place
            .result(SERVICE, "global-service-events", Status::Pass, "included")
            .on(id)
    } else {
        place
            .result(
                SERVICE,
                "global-service-events",
                Status::Fail,
                "global service events (IAM, STS, CloudFront) are not recorded",
            )
            .on(id)
            .fix(format!(
                "aws cloudtrail update-trail --name {id} --include-global-service-events"
            ))
    });
    results.push(if trail.log_file_validation_enabled() == Some(true) {
        place
            .result(SERVICE, "log-file-validation", Status::Pass, "enabled")
            .on(id)
    } else {
        place
            .result(
                SERVICE,
                "log-file-validation",
                Status::Warn,
                "log file validation is off: altered or deleted log files go unnoticed",
            )
            .on(id)
            .fix(format!(
                "aws cloudtrail update-trail --name {id} --enable-log-file-validation"
            ))
    });
    results
}

/// Which management events the selectors record.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ManagementEvents {
    /// Read events (`Describe*`, `Get*`, ...).
    pub read: bool,
    /// Write events.
    pub write: bool,
}

impl ManagementEvents {
    fn add(&mut self, read: bool, write: bool) {
        self.read |= read;
        self.write |= write;
    }
}

async fn management_events(client: &Client, place: &Place, id: &str) -> CheckResult {
    const CHECK: &str = "management-events";
    let output = match client.get_event_selectors().trail_name(id).send().await {
        Ok(output) => output,
        Err(error) => {
            return CallError::of(&error)
                .could_not_check(place, SERVICE, CHECK)
                .on(id);
        }
    };
    let mut selected = ManagementEvents::default();
    for selector in output.event_selectors() {
        if selector.include_management_events() == Some(false) {
            continue;
        }
        match selector.read_write_type() {
            Some(ReadWriteType::ReadOnly) => selected.add(true, false),
            Some(ReadWriteType::WriteOnly) => selected.add(false, true),
            _ => selected.add(true, true),
        }
    }
    for selector in output.advanced_event_selectors() {
        let fields = selector.field_selectors();
        let management = fields
            .iter()
            .any(|f| f.field() == "eventCategory" && f.equals().iter().any(|v| v == "Management"));
        if !management {
            continue;
        }
        let read_only = fields.iter().find(|f| f.field() == "readOnly");
        match read_only
            .and_then(|f| f.equals().first())
            .map(String::as_str)
        {
            Some("true") => selected.add(true, false),
            Some("false") => selected.add(false, true),
            _ => selected.add(true, true),
        }
    }
    let (status, reason) = match (selected.read, selected.write) {
        (true, true) => (
            Status::Pass,
            "read and write management events are recorded",
        ),
        (false, true) => (Status::Fail, "only write management events are recorded"),
        (true, false) => (
            Status::Fail,
            "only read management events are recorded: changes are not",
        ),
        (false, false) => (Status::Fail, "no management events are recorded"),
    };
    let result = place.result(SERVICE, CHECK, status, reason).on(id);
    if status == Status::Pass {
        result
    } else {
        result.fix(format!(
            "aws cloudtrail put-event-selectors --trail-name {id} --event-selectors \
             '[{{\"ReadWriteType\":\"All\",\"IncludeManagementEvents\":true}}]'"
        ))
    }
}
