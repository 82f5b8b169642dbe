//! GuardDuty: a detector in the region, enabled, and which of its features are off.

use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::types::{DetectorStatus, FeatureStatus};

use crate::call_error::CallError;
use crate::fix::FixAction;
use crate::result::{CheckResult, Place, Service, Status};

const SERVICE: Service = Service::Guardduty;

/// Runs the GuardDuty checks in one region.
pub async fn check(client: &Client, place: &Place) -> Vec<CheckResult> {
    let ids = match client.list_detectors().send().await {
        Ok(output) => output.detector_ids.unwrap_or_default(),
        Err(error) => {
            return vec![CallError::of(&error).could_not_check(place, SERVICE, "detector-enabled")];
        }
    };
    if ids.is_empty() {
        return vec![
            place
                .result(
                    SERVICE,
                    "detector-enabled",
                    Status::Fail,
                    "no GuardDuty detector in this region",
                )
                .fix("aws guardduty create-detector --enable")
                .action(FixAction::CreateGuardDutyDetector),
        ];
    }
    let mut results = Vec::new();
    for id in ids {
        let detector = match client.get_detector().detector_id(&id).send().await {
            Ok(detector) => detector,
            Err(error) => {
                results.push(
                    CallError::of(&error)
                        .could_not_check(place, SERVICE, "detector-enabled")
                        .on(&id),
                );
                continue;
            }
        };
        if detector.status() != Some(&DetectorStatus::Enabled) {
            results.push(
                place
                    .result(
                        SERVICE,
                        "detector-enabled",
                        Status::Fail,
                        "the detector is suspended (disabled): no findings are produced",
                    )
                    .on(&id)
                    .fix(format!(
                        "aws guardduty update-detector --detector-id {id} --enable"
                    ))
                    .action(FixAction::EnableGuardDutyDetector {
                        detector_id: id.clone(),
                    }),
            );
            continue;
        }
        results.push(
            place
                .result(SERVICE, "detector-enabled", Status::Pass, "enabled")
                .on(&id),
        );
        let features = detector.features();
        let off: Vec<&str> = features
            .iter()
            .filter(|f| f.status() == Some(&FeatureStatus::Disabled))
            .filter_map(|f| f.name().map(|n| n.as_str()))
            .collect();
        results.push(if features.is_empty() {
            place
                .result(
                    SERVICE,
                    "features",
                    Status::NotApplicable,
                    "the detector reports no protection plans",
                )
                .on(&id)
        } else if off.is_empty() {
            place
                .result(
                    SERVICE,
                    "features",
                    Status::Pass,
                    format!("all {} protection plans on", features.len()),
                )
                .on(&id)
        } else {
            place
                .result(
                    SERVICE,
                    "features",
                    Status::Warn,
                    format!("protection plans off: {}", off.join(", ")),
                )
                .on(&id)
                .fix(format!(
                    "aws guardduty update-detector --detector-id {id} --features \
                     Name=FEATURE,Status=ENABLED (for each plan you pay for)"
                ))
        });
    }
    results
}
