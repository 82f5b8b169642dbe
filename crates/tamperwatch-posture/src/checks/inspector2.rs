//! Inspector (v2): the account enabled, and each resource type (EC2, ECR, Lambda, Lambda code).

use aws_sdk_inspector2::Client;
use aws_sdk_inspector2::types::{State, Status as InspectorStatus};

use crate::call_error::CallError;
use crate::fix::FixAction;
use crate::result::{CheckResult, Place, Service, Status};

const SERVICE: Service = Service::Inspector2;

/// The resource types checked, as (check name, API name).
const TYPES: [(&str, &str); 4] = [
    ("ec2", "EC2"),
    ("ecr", "ECR"),
    ("lambda", "LAMBDA"),
    ("lambda-code", "LAMBDA_CODE"),
];

/// Runs the Inspector checks in one region.
pub async fn check(client: &Client, place: &Place) -> Vec<CheckResult> {
    // The account is named: an empty list means "the caller's" in AWS, but not in every
    // emulator.
    let output = match client
        .batch_get_account_status()
        .account_ids(&place.account)
        .send()
        .await
    {
        Ok(output) => output,
        Err(error) => {
            return vec![CallError::of(&error).could_not_check(place, SERVICE, "account")];
        }
    };
    let Some(account) = output
        .accounts()
        .iter()
        .find(|a| a.account_id() == place.account)
        .or(output.accounts().first())
    else {
        return vec![place.result(
            SERVICE,
            "account",
            Status::CouldNotCheck,
            "Inspector returned no status for this account",
        )];
    };
    let mut results = Vec::new();
    let account_on = account.state().map(State::status) == Some(&InspectorStatus::Enabled);
    results.push(if account_on {
        place.result(SERVICE, "account", Status::Pass, "enabled")
    } else {
        place
            .result(
                SERVICE,
                "account",
                Status::Fail,
                format!("Inspector is {}", describe(account.state())),
            )
            .fix("aws inspector2 enable --resource-types EC2 ECR LAMBDA LAMBDA_CODE")
            .action(FixAction::EnableInspector2 {
                resource_types: TYPES.iter().map(|(_, t)| (*t).to_owned()).collect(),
            })
    });
    let resources = account.resource_state();
    for (check, api_name) in TYPES {
        let state = resources.and_then(|r| match api_name {
            "EC2" => r.ec2(),
            "ECR" => r.ecr(),
            "LAMBDA" => r.lambda(),
            _ => r.lambda_code(),
        });
        let on = state.map(State::status) == Some(&InspectorStatus::Enabled);
        results.push(if on {
            place.result(SERVICE, check, Status::Pass, "scanning enabled")
        } else {
            let result = place
                .result(
                    SERVICE,
                    check,
                    Status::Fail,
                    format!("{api_name} scanning is {}", describe(state)),
                )
                .fix(format!("aws inspector2 enable --resource-types {api_name}"));
            // With the whole account off, the account's fix turns every type on.
            if account_on {
                result.action(FixAction::EnableInspector2 {
                    resource_types: vec![api_name.to_owned()],
                })
            } else {
                result
            }
        });
    }
    results
}

fn describe(state: Option<&State>) -> String {
    match state {
        None => "not reported".to_owned(),
        Some(state) => {
            let status = state.status().as_str().to_lowercase();
            match state.error_message() {
                "" => status,
                message => format!("{status} ({message})"),
            }
        }
    }
}
