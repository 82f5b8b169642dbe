//! Security Hub: enabled, with standards enabled.

use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::types::StandardsStatus;

use crate::call_error::CallError;
use crate::fix::FixAction;
use crate::result::{CheckResult, Place, Service, Status};

const SERVICE: Service = Service::Securityhub;

/// Runs the Security Hub checks in one region.
pub async fn check(client: &Client, place: &Place) -> Vec<CheckResult> {
    match client.describe_hub().send().await {
        Ok(_) => {}
        Err(error) => {
            let error = CallError::of(&error);
            // Security Hub answers InvalidAccessException ("not subscribed") when it is off.
            let off = matches!(
                error.code.as_deref(),
                Some("InvalidAccessException" | "ResourceNotFoundException")
            );
            if !off {
                return vec![error.could_not_check(place, SERVICE, "hub-enabled")];
            }
            return vec![
                place
                    .result(
                        SERVICE,
                        "hub-enabled",
                        Status::Fail,
                        format!("Security Hub is off in this region ({error})"),
                    )
                    .fix("aws securityhub enable-security-hub --enable-default-standards")
                    .action(FixAction::EnableSecurityHub),
            ];
        }
    }
    let mut results = vec![place.result(SERVICE, "hub-enabled", Status::Pass, "enabled")];
    results.push(match client.get_enabled_standards().send().await {
        Err(error) => CallError::of(&error).could_not_check(place, SERVICE, "standards"),
        Ok(output) => {
            let standards = output.standards_subscriptions();
            let ready: Vec<&str> = standards
                .iter()
                .filter(|s| s.standards_status() == Some(&StandardsStatus::Ready))
                .filter_map(|s| s.standards_arn())
                .collect();
            if standards.is_empty() {
                place
                    .result(SERVICE, "standards", Status::Fail, "no standards enabled")
                    .fix(
                        "aws securityhub batch-enable-standards (AWS Foundational Security Best \
                         Practices, CIS)",
                    )
            } else if ready.len() < standards.len() {
                place
                    .result(
                        SERVICE,
                        "standards",
                        Status::Warn,
                        format!(
                            "{} of {} standards are not READY",
                            standards.len() - ready.len(),
                            standards.len()
                        ),
                    )
                    .fix("aws securityhub get-enabled-standards: read StandardsStatusReason")
            } else {
                place.result(
                    SERVICE,
                    "standards",
                    Status::Pass,
                    format!("{} standards enabled", ready.len()),
                )
            }
        }
    });
    results
}
