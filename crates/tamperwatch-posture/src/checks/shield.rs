//! Shield Advanced (where subscribed): active, auto-renew on. Account-wide: checked once per
//! account (Shield's API lives in us-east-1).

use aws_sdk_shield::Client;
use aws_sdk_shield::types::{AutoRenew, SubscriptionState};

use crate::call_error::CallError;
use crate::result::{CheckResult, Place, Service, Status};

const SERVICE: Service = Service::Shield;

/// Runs the Shield Advanced check for the account.
pub async fn check(client: &Client, place: &Place) -> CheckResult {
    const CHECK: &str = "subscription";
    match client.get_subscription_state().send().await {
        Err(error) => CallError::of(&error).could_not_check(place, SERVICE, CHECK),
        Ok(output) if output.subscription_state() != &SubscriptionState::Active => place.result(
            SERVICE,
            CHECK,
            Status::NotApplicable,
            "no Shield Advanced subscription",
        ),
        Ok(_) => match client.describe_subscription().send().await {
            Err(error) => CallError::of(&error).could_not_check(place, SERVICE, CHECK),
            Ok(output) => {
                let renew = output.subscription().and_then(|s| s.auto_renew());
                if renew == Some(&AutoRenew::Enabled) {
                    place.result(SERVICE, CHECK, Status::Pass, "active, auto-renew on")
                } else {
                    place
                        .result(
                            SERVICE,
                            CHECK,
                            Status::Warn,
                            "active, but auto-renew is off: protection lapses at the end of the term",
                        )
                        .fix("aws shield update-subscription --auto-renew ENABLED")
                }
            }
        },
    }
}
