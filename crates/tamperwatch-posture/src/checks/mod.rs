//! One module per service. Each check takes a client (built by the runner, or by a test with a
//! mock) and the [`Place`](crate::Place) it runs in, and returns its results: never a pass
//! for a call that failed.

pub mod access_analyzer;
pub mod cloudtrail;
pub mod config;
pub mod fms;
pub mod guardduty;
pub mod inspector2;
pub mod macie;
pub mod securityhub;
pub mod shield;
pub mod tamperwatch;
