//! Macie: enabled and not paused.

use aws_sdk_macie2::Client;
use aws_sdk_macie2::types::MacieStatus;

use crate::call_error::CallError;
use crate::fix::FixAction;
use crate::result::{CheckResult, Place, Service, Status};

const SERVICE: Service = Service::Macie;
const CHECK: &str = "enabled";

/// Runs the Macie check in one region.
pub async fn check(client: &Client, place: &Place) -> CheckResult {
    match client.get_macie_session().send().await {
        Ok(session) => match session.status() {
            Some(MacieStatus::Enabled) => place.result(SERVICE, CHECK, Status::Pass, "enabled"),
            Some(MacieStatus::Paused) => place
                .result(
                    SERVICE,
                    CHECK,
                    Status::Fail,
                    "Macie is paused: no jobs run, no findings are produced",
                )
                .fix("aws macie2 update-macie-session --status ENABLED")
                .action(FixAction::UnpauseMacie),
            other => place.result(
                SERVICE,
                CHECK,
                Status::CouldNotCheck,
                format!("unknown Macie status {other:?}"),
            ),
        },
        Err(error) => {
            let error = CallError::of(&error);
            // Macie answers AccessDeniedException "Macie is not enabled" when it is off: that
            // one denial is an answer, every other is a could-not-check.
            if error.message.to_ascii_lowercase().contains("not enabled") {
                place
                    .result(
                        SERVICE,
                        CHECK,
                        Status::Fail,
                        "Macie is not enabled in this region",
                    )
                    .fix("aws macie2 enable-macie")
                    .action(FixAction::EnableMacie)
            } else {
                error.could_not_check(place, SERVICE, CHECK)
            }
        }
    }
}
