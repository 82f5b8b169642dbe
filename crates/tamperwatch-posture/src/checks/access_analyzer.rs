//! IAM Access Analyzer: an active external-access analyzer (account or organization zone of
//! trust) in the region.

use aws_sdk_accessanalyzer::Client;
use aws_sdk_accessanalyzer::types::{AnalyzerStatus, Type};

use crate::call_error::CallError;
use crate::fix::FixAction;
use crate::result::{CheckResult, Place, Service, Status};

const SERVICE: Service = Service::AccessAnalyzer;
const CHECK: &str = "analyzer-active";

/// The name `--fix` gives the analyzer it creates.
pub const FIX_ANALYZER_NAME: &str = "tamperwatch-account-analyzer";

/// Runs the Access Analyzer check in one region.
pub async fn check(client: &Client, place: &Place) -> CheckResult {
    let analyzers = match client.list_analyzers().send().await {
        Ok(output) => output.analyzers,
        Err(error) => return CallError::of(&error).could_not_check(place, SERVICE, CHECK),
    };
    let external: Vec<_> = analyzers
        .iter()
        .filter(|a| matches!(a.r#type(), Type::Account | Type::Organization))
        .collect();
    if let Some(active) = external
        .iter()
        .find(|a| a.status() == &AnalyzerStatus::Active)
    {
        return place
            .result(
                SERVICE,
                CHECK,
                Status::Pass,
                format!(
                    "{} analyzer {} is active",
                    active.r#type().as_str().to_lowercase(),
                    active.name()
                ),
            )
            .on(active.arn());
    }
    let reason = match external.first() {
        Some(analyzer) => format!(
            "analyzer {} is {}",
            analyzer.name(),
            analyzer.status().as_str().to_lowercase()
        ),
        None => "no account or organization analyzer in this region".to_owned(),
    };
    place
        .result(SERVICE, CHECK, Status::Fail, reason)
        .fix(format!(
            "aws accessanalyzer create-analyzer --analyzer-name {FIX_ANALYZER_NAME} --type ACCOUNT"
        ))
        .action(FixAction::CreateAccessAnalyzer {
            name: FIX_ANALYZER_NAME.to_owned(),
        })
}
