//! Are the AWS security services on, in every account and region? And putting them back.
//!
//! Events can be missed: EventBridge delivers CloudTrail events on a best-effort basis, and a
//! service may have been off before tamperwatch was deployed. This crate asks the services
//! themselves. Each module under [`checks`] checks one service (CloudTrail, GuardDuty, Config,
//! Security Hub, Inspector, Macie, IAM Access Analyzer, Shield Advanced, Firewall Manager, and
//! tamperwatch's own deployment) and returns [`CheckResult`]s: pass, fail, warn, not
//! applicable, or could not check (access denied, unsupported: never a pass), each with the
//! reason and the fix.
//!
//! - [`accounts`] finds what to check: the current account, assumed roles, the organization,
//!   the enabled regions;
//! - [`check_accounts`] runs every check, regions in parallel (bounded);
//! - [`fix`] turns failures into changes (`--fix`) and makes them;
//! - [`drift`] keeps the state between scheduled runs and says what changed (pure);
//! - [`remediate`] maps a tamper event to the fix that reverses it (pure; off by default).
//!
//! ```no_run
//! # async fn example() -> Result<(), tamperwatch_posture::accounts::ResolveAccountsError> {
//! use tamperwatch_posture::{CheckOptions, Status, accounts, check_accounts};
//!
//! let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let account = accounts::current(&sdk).await?;
//! let regions = accounts::enabled_regions(&sdk).await?;
//! let results = check_accounts(&[account], &CheckOptions::new(regions)).await;
//! for failed in results.iter().filter(|r| r.status == Status::Fail) {
//!     println!("{} {} {}: {}", failed.region, failed.service.as_str(), failed.check, failed.reason);
//! }
//! # Ok(())
//! # }
//! ```

pub mod accounts;
mod call_error;
pub mod checks;
pub mod drift;
pub mod fix;
pub mod remediate;
mod result;
mod runner;

pub use call_error::CallError;
pub use checks::tamperwatch::Deployment;
pub use result::{CheckResult, Place, Service, Status};
pub use runner::{CheckOptions, check_account_wide, check_accounts, check_region, in_region};
