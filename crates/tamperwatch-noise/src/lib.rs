//! Noise control, pure: which findings to send, which to hold back, and how to keep a storm of
//! them from drowning a channel. No I/O and no AWS SDK: the state kept between batches is
//! behind [`NoiseState`].
//!
//! - [`Suppression`]s are data (`[[suppress]]` tables in the config file): who (principal ARN,
//!   role, session, IAM Identity Center user), how (user agent, IaC tool, `invokedBy`), where
//!   (account, organizational unit, region, source address), the outcome, a window, and always a
//!   reason and an owner. An expired suppression applies to nothing and says so.
//! - Some rules are never suppressible: those tagged [`NEVER_SUPPRESS_TAG`] (root sign-in,
//!   tampering with tamperwatch itself) and those the config lists.
//! - Rules in staging are logged and counted, not sent.
//! - [`Policy::decide`] gives each finding a [`Verdict`] and an [`Explanation`]: which
//!   suppression applied, or for each one why not.
//! - [`storm`]: grouping by rule, account and principal within a window, and per-channel rate
//!   limits that fold the excess into one summary.
//!
//! ```
//! use jiff::Timestamp;
//! use tamperwatch_detect::EventSummary;
//! use tamperwatch_event::{Actor, IdentityKind, Mfa, Outcome};
//! use tamperwatch_noise::{NoiseConfig, Policy, Subject, Suppression, Verdict};
//!
//! let suppressions: Vec<Suppression> = vec![serde_json::from_value(serde_json::json!({
//!     "name": "terraform", "reason": "platform pipeline", "owner": "platform@example.com",
//!     "role_name": ["terraform-*"], "expires": "2099-01-01T00:00:00Z",
//! })).unwrap()];
//! let policy = Policy::new(&NoiseConfig::default(), &suppressions).unwrap();
//! let actor = Actor {
//!     kind: IdentityKind::AssumedRole, name: "role/terraform-apply".into(), arn: None,
//!     account_id: None, access_key_id: None, role_name: Some("terraform-apply".into()),
//!     session_name: None, identity_center_user: None, invoked_by: None, mfa: Mfa::Unknown,
//! };
//! let event = EventSummary::default();
//! let subject = Subject { rule_id: "tw-config-recorder-stopped", rule_tags: &[],
//!     outcome: Outcome::Success, actor: &actor, event: &event };
//! let e = policy.decide(&subject, Timestamp::now());
//! assert_eq!(e.verdict, Verdict::Suppressed);
//! assert!(e.line().starts_with("suppressed by terraform"));
//! ```

pub mod check;
pub mod glob;
pub mod policy;
pub mod storm;
pub mod suppress;

pub use glob::Glob;
pub use policy::{
    BuildPolicyError, Explanation, NEVER_SUPPRESS_TAG, NoiseConfig, Policy, SuppressionRef, Verdict,
};
pub use storm::{
    ChannelLimit, GroupKey, GroupStatus, GroupingConfig, MemoryState, NoiseState, Plan, RateLimit,
    Window,
};
pub use suppress::{Miss, Network, Suppression, Time, Tool};

use tamperwatch_detect::{EventSummary, Finding};
use tamperwatch_event::{Actor, Outcome};

/// What a suppression looks at in a finding.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The rule's id.
    pub rule_id: &'a str,
    /// The rule's tags.
    pub rule_tags: &'a [String],
    /// The outcome.
    pub outcome: Outcome,
    /// Who.
    pub actor: &'a Actor,
    /// The event's fields.
    pub event: &'a EventSummary,
}

impl<'a> Subject<'a> {
    /// The subject of a finding.
    pub fn of(f: &'a Finding<'_>) -> Subject<'a> {
        Subject {
            rule_id: f.rule.id(),
            rule_tags: f.rule.tags(),
            outcome: f.outcome,
            actor: &f.actor,
            event: &f.event,
        }
    }

    /// The grouping key.
    pub fn group_key(&self) -> GroupKey {
        GroupKey::of(self.rule_id, self.actor, self.event)
    }
}
