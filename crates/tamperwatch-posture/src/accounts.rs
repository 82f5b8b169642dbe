//! Which accounts and regions to check: the current credentials' account, accounts reached by
//! `sts:AssumeRole`, every active account of the organization, every enabled region.

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_sts::config::SharedCredentialsProvider;

use crate::call_error::CallError;
use crate::result::{CheckResult, Place, Service, Status};

/// An account to check, with credentials for it.
#[derive(Debug, Clone)]
pub struct Account {
    /// The account id.
    pub id: String,
    /// Configuration with credentials that act in this account (any region; the runner sets it).
    pub sdk: SdkConfig,
}

/// An account that could, or could not, be reached.
#[derive(Debug, Clone)]
pub enum AccountAccess {
    /// Credentials for it work.
    Ready(Box<Account>),
    /// The role could not be assumed: every check of it is a could-not-check.
    Unreachable {
        /// The account id.
        id: String,
        /// Why.
        error: CallError,
    },
}

impl AccountAccess {
    /// The one result that reports an unreachable account (none for a reachable one).
    pub fn unreachable_result(&self) -> Option<CheckResult> {
        match self {
            AccountAccess::Ready(_) => None,
            AccountAccess::Unreachable { id, error } => Some(
                Place::new(id, "-")
                    .result(
                        Service::Tamperwatch,
                        "account-access",
                        Status::CouldNotCheck,
                        format!("could not act in the account: {error}"),
                    )
                    .fix("check the role exists in the account and trusts these credentials"),
            ),
        }
    }
}

/// Finding the accounts or regions failed.
#[derive(Debug, thiserror::Error)]
pub enum ResolveAccountsError {
    /// `sts:GetCallerIdentity` failed: the credentials do not work.
    #[error("could not identify the credentials' account (sts:GetCallerIdentity): {0}")]
    Identify(CallError),
    /// `organizations:ListAccounts` failed.
    #[error("could not list the organization's accounts (organizations:ListAccounts): {0}")]
    ListAccounts(CallError),
    /// `ec2:DescribeRegions` failed.
    #[error("could not list the enabled regions (ec2:DescribeRegions): {0}")]
    ListRegions(CallError),
}

/// The account the credentials in `sdk` act in.
pub async fn current(sdk: &SdkConfig) -> Result<Account, ResolveAccountsError> {
    let identity = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| ResolveAccountsError::Identify(CallError::of(&e)))?;
    Ok(Account {
        id: identity.account.unwrap_or_default(),
        sdk: sdk.clone(),
    })
}

/// Credentials for each account by assuming `arn:aws:iam::ID:role/ROLE_NAME` (the account the
/// base credentials are in is used as is), each verified with `sts:GetCallerIdentity`.
pub async fn assume(
    sdk: &SdkConfig,
    base_account: &str,
    ids: &[String],
    role_name: &str,
) -> Vec<AccountAccess> {
    let mut accounts = Vec::with_capacity(ids.len());
    for id in ids {
        if id == base_account {
            accounts.push(AccountAccess::Ready(Box::new(Account {
                id: id.clone(),
                sdk: sdk.clone(),
            })));
            continue;
        }
        let role_arn = format!("arn:aws:iam::{id}:role/{role_name}");
        let provider = AssumeRoleProvider::builder(role_arn)
            .session_name("tamperwatch-check")
            .configure(sdk)
            .build()
            .await;
        let assumed = sdk
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build();
        let verified = aws_sdk_sts::Client::new(&assumed)
            .get_caller_identity()
            .send()
            .await;
        accounts.push(match verified {
            Ok(_) => AccountAccess::Ready(Box::new(Account {
                id: id.clone(),
                sdk: assumed,
            })),
            Err(error) => AccountAccess::Unreachable {
                id: id.clone(),
                error: CallError::of(&error),
            },
        });
    }
    accounts
}

/// The ids of the organization's active accounts (`organizations:ListAccounts`; run with the
/// management or a delegated administrator account's credentials).
pub async fn organization(sdk: &SdkConfig) -> Result<Vec<String>, ResolveAccountsError> {
    let client = aws_sdk_organizations::Client::new(sdk);
    let mut ids = Vec::new();
    let mut next = None;
    loop {
        let page = client
            .list_accounts()
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| ResolveAccountsError::ListAccounts(CallError::of(&e)))?;
        ids.extend(
            page.accounts()
                .iter()
                .filter(|a| {
                    a.state().is_none_or(|s| s.as_str() == "ACTIVE")
                        && a.status().is_none_or(|s| s.as_str() == "ACTIVE")
                })
                .filter_map(|a| a.id().map(str::to_owned)),
        );
        next = page.next_token;
        if next.is_none() {
            break;
        }
    }
    Ok(ids)
}

/// The regions enabled for the account (`ec2:DescribeRegions`), sorted.
pub async fn enabled_regions(sdk: &SdkConfig) -> Result<Vec<String>, ResolveAccountsError> {
    let output = aws_sdk_ec2::Client::new(sdk)
        .describe_regions()
        .send()
        .await
        .map_err(|e| ResolveAccountsError::ListRegions(CallError::of(&e)))?;
    let mut regions: Vec<String> = output
        .regions()
        .iter()
        .filter(|r| r.opt_in_status() != Some("not-opted-in"))
        .filter_map(|r| r.region_name().map(str::to_owned))
        .collect();
    regions.sort();
    Ok(regions)
}
