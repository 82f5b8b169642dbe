//! What one check says: [`CheckResult`], its [`Status`] and the [`Service`] it is about.

use serde::{Deserialize, Serialize};

use crate::fix::FixAction;

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The service is on and configured as it should be.
    Pass,
    /// The service is off, missing or broken: the reason says what, the fix how to restore it.
    Fail,
    /// On, but weaker than it should be (a feature off, a resource type excluded).
    Warn,
    /// Does not apply here (not subscribed to Shield Advanced, nothing configured to check).
    NotApplicable,
    /// The check could not be made (access denied, service unsupported in the region, network).
    /// Never a pass.
    CouldNotCheck,
}

impl Status {
    /// The name used in every output: `pass`, `fail`, `warn`, `not_applicable`,
    /// `could_not_check`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::NotApplicable => "not_applicable",
            Status::CouldNotCheck => "could_not_check",
        }
    }
}

/// The services checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Service {
    /// AWS CloudTrail.
    Cloudtrail,
    /// Amazon GuardDuty.
    Guardduty,
    /// AWS Config.
    Config,
    /// AWS Security Hub.
    Securityhub,
    /// Amazon Inspector (v2).
    Inspector2,
    /// Amazon Macie.
    Macie,
    /// IAM Access Analyzer.
    AccessAnalyzer,
    /// AWS Shield Advanced.
    Shield,
    /// AWS Firewall Manager.
    Fms,
    /// tamperwatch's own deployment: its rule, topic, queue and function.
    Tamperwatch,
}

impl Service {
    /// The name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Cloudtrail => "cloudtrail",
            Service::Guardduty => "guardduty",
            Service::Config => "config",
            Service::Securityhub => "securityhub",
            Service::Inspector2 => "inspector2",
            Service::Macie => "macie",
            Service::AccessAnalyzer => "access-analyzer",
            Service::Shield => "shield",
            Service::Fms => "fms",
            Service::Tamperwatch => "tamperwatch",
        }
    }
}

/// One check's result in one account and region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The account checked.
    pub account: String,
    /// The region checked (for account-wide services, the region the call was made in).
    pub region: String,
    /// The service.
    pub service: Service,
    /// What was checked, stable across runs (`trail-logging`, `detector-enabled`, ...).
    pub check: String,
    /// The resource the check is about, when there is one (a trail ARN, a detector id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The verdict.
    pub status: Status,
    /// Why, in one sentence.
    pub reason: String,
    /// How to put it right, for a person (empty when nothing is to be done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// What `tamperwatch check --fix` would do about it, when it can do something.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<FixAction>,
}

impl CheckResult {
    /// The identity of this check across runs: account, region, service, check, resource.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}/{}/{}",
            self.account,
            self.region,
            self.service.as_str(),
            self.check,
            self.resource.as_deref().unwrap_or("")
        )
    }
}

/// Where a check runs: the account and region every result of it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The account id.
    pub account: String,
    /// The region.
    pub region: String,
}

impl Place {
    /// A place.
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        Place {
            account: account.into(),
            region: region.into(),
        }
    }

    /// Starts a result here; finish it with the builder methods.
    pub fn result(
        &self,
        service: Service,
        check: &str,
        status: Status,
        reason: impl Into<String>,
    ) -> CheckResult {
        CheckResult {
            account: self.account.clone(),
            region: self.region.clone(),
            service,
            check: check.to_owned(),
            resource: None,
            status,
            reason: reason.into(),
            fix: None,
            action: None,
        }
    }
}

impl CheckResult {
    /// With the resource it is about.
    #[must_use]
    pub fn on(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// With a fix for a person.
    #[must_use]
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// With a fix `--fix` can apply.
    #[must_use]
    pub fn action(mut self, action: FixAction) -> Self {
        self.action = Some(action);
        self
    }
}
