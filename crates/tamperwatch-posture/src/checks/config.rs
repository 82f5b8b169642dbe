//! AWS Config: a recorder that is recording (all resource types, or which are excluded), a
//! delivery channel, and a last status that is not failing.

use aws_sdk_config::Client;
use aws_sdk_config::types::{ConfigurationRecorder, RecorderStatus};

use crate::call_error::CallError;
use crate::fix::FixAction;
use crate::result::{CheckResult, Place, Service, Status};

const SERVICE: Service = Service::Config;

/// Runs the Config checks in one region.
pub async fn check(client: &Client, place: &Place) -> Vec<CheckResult> {
    let recorders = match client.describe_configuration_recorders().send().await {
        Ok(output) => output.configuration_recorders.unwrap_or_default(),
        Err(error) => {
            return vec![CallError::of(&error).could_not_check(place, SERVICE, "recording")];
        }
    };
    // Service-linked recorders belong to other services; the account's own recorder is the one
    // an attacker stops.
    let recorders: Vec<ConfigurationRecorder> = recorders
        .into_iter()
        .filter(|r| r.service_principal().is_none())
        .collect();
    if recorders.is_empty() {
        return vec![
            place
                .result(
                    SERVICE,
                    "recording",
                    Status::Fail,
                    "no configuration recorder in this region",
                )
                .fix(
                    "aws configservice put-configuration-recorder (all supported types), \
                     put-delivery-channel, then start-configuration-recorder",
                ),
        ];
    }
    let mut results = Vec::new();
    let statuses = client
        .describe_configuration_recorder_status()
        .send()
        .await
        .map(|o| o.configuration_recorders_status.unwrap_or_default())
        .map_err(|e| CallError::of(&e));
    for recorder in &recorders {
        let name = recorder.name().unwrap_or("default");
        match &statuses {
            Err(error) => results.push(error.could_not_check(place, SERVICE, "recording").on(name)),
            Ok(statuses) => {
                let status = statuses.iter().find(|s| s.name() == Some(name));
                let recording = status.is_some_and(|s| s.recording());
                results.push(if recording {
                    place
                        .result(SERVICE, "recording", Status::Pass, "recording")
                        .on(name)
                } else {
                    place
                        .result(
                            SERVICE,
                            "recording",
                            Status::Fail,
                            "the recorder is stopped: configuration changes are not recorded",
                        )
                        .on(name)
                        .fix(format!(
                            "aws configservice start-configuration-recorder \
                             --configuration-recorder-name {name}"
                        ))
                        .action(FixAction::StartConfigurationRecorder {
                            recorder: name.to_owned(),
                        })
                });
                if let Some(status) = status {
                    results.push(if status.last_status() == Some(&RecorderStatus::Failure) {
                        place
                            .result(
                                SERVICE,
                                "last-status",
                                Status::Fail,
                                format!(
                                    "the last recording failed: {} {}",
                                    status.last_error_code().unwrap_or("?"),
                                    status.last_error_message().unwrap_or("")
                                ),
                            )
                            .on(name)
                            .fix("check the recorder's IAM role and the delivery bucket")
                    } else {
                        place
                            .result(SERVICE, "last-status", Status::Pass, "not failing")
                            .on(name)
                    });
                }
            }
        }
        results.push(resource_types(place, recorder, name));
    }
    results.push(match client.describe_delivery_channels().send().await {
        Err(error) => CallError::of(&error).could_not_check(place, SERVICE, "delivery-channel"),
        Ok(output) if output.delivery_channels().is_empty() => place
            .result(
                SERVICE,
                "delivery-channel",
                Status::Fail,
                "no delivery channel: nothing is delivered",
            )
            .fix("aws configservice put-delivery-channel --delivery-channel s3BucketName=BUCKET"),
        Ok(output) => place.result(
            SERVICE,
            "delivery-channel",
            Status::Pass,
            format!("{} delivery channel(s)", output.delivery_channels().len()),
        ),
    });
    results
}

fn resource_types(place: &Place, recorder: &ConfigurationRecorder, name: &str) -> CheckResult {
    const CHECK: &str = "resource-types";
    let Some(group) = recorder.recording_group() else {
        return place
            .result(
                SERVICE,
                CHECK,
                Status::Pass,
                "all supported resource types (default)",
            )
            .on(name);
    };
    let excluded: Vec<&str> = group
        .exclusion_by_resource_types()
        .map(|e| e.resource_types().iter().map(|t| t.as_str()).collect())
        .unwrap_or_default();
    if !excluded.is_empty() {
        return place
            .result(
                SERVICE,
                CHECK,
                Status::Warn,
                format!("resource types excluded: {}", excluded.join(", ")),
            )
            .on(name)
            .fix("record all supported resource types, or confirm the exclusions are intended");
    }
    if group.all_supported() {
        return place
            .result(SERVICE, CHECK, Status::Pass, "all supported resource types")
            .on(name);
    }
    let listed = group.resource_types();
    place
        .result(
            SERVICE,
            CHECK,
            Status::Warn,
            format!("only {} listed resource types are recorded", listed.len()),
        )
        .on(name)
        .fix("set allSupported=true in the recording group")
}
