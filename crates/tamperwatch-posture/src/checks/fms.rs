//! Firewall Manager: which account is its administrator. Account-wide: checked once per
//! account.

use aws_sdk_fms::Client;

use crate::call_error::CallError;
use crate::result::{CheckResult, Place, Service, Status};

const SERVICE: Service = Service::Fms;
const CHECK: &str = "admin-account";

/// Runs the Firewall Manager check for the account.
pub async fn check(client: &Client, place: &Place) -> CheckResult {
    match client.get_admin_account().send().await {
        Ok(output) => match output.admin_account() {
            Some(admin) => place
                .result(
                    SERVICE,
                    CHECK,
                    Status::Pass,
                    format!(
                        "administrator account {admin} (role {})",
                        output.role_status().map_or("unknown", |s| s.as_str())
                    ),
                )
                .on(admin),
            None => not_set(place),
        },
        Err(error) => {
            let error = CallError::of(&error);
            if error.code.as_deref() == Some("ResourceNotFoundException") {
                not_set(place)
            } else {
                error.could_not_check(place, SERVICE, CHECK)
            }
        }
    }
}

fn not_set(place: &Place) -> CheckResult {
    place.result(
        SERVICE,
        CHECK,
        Status::NotApplicable,
        "no Firewall Manager administrator account is set",
    )
}
