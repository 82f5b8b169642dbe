//! Grouping and storm control.
//!
//! **Grouping**: findings with the same rule, account and principal inside one window become
//! one alert with a count and the list of resources. Windows are fixed, aligned to the Unix
//! epoch (`floor(time / window)`), so every Lambda invocation agrees on a window with one
//! atomic counter and no coordination; a burst that straddles a boundary opens two groups.
//! The first alert of a group opens it; later ones in the same window are follow-ups under
//! the same stable key (OpsGenie `alias`, PagerDuty `dedup_key`, the Slack thread).
//!
//! **Storm control**: each channel may have a rate limit (`max_alerts` per `per_secs`, fixed
//! windows too). Alerts over the budget are not dropped: they are folded into one summary
//! alert per channel that names every rule and every principal involved, with counts.
//!
//! Both need state that outlives one invocation: [`NoiseState`], kept in memory by
//! [`MemoryState`] (the CLI) or in DynamoDB (the Lambda; see `tamperwatch-sinks`).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Mutex;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `[noise.grouping]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GroupingConfig {
    /// The window, in seconds (default 300).
    #[serde(default = "default_window_secs")]
    pub window_secs: u64,
    /// Most resources listed in one alert; the rest are counted (default 20).
    #[serde(default = "default_max_resources")]
    pub max_resources: usize,
}

fn default_window_secs() -> u64 {
    300
}

fn default_max_resources() -> usize {
    20
}

impl GroupingConfig {
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.window_secs == 0 {
            return Err("grouping.window_secs must be at least 1".to_owned());
        }
        Ok(())
    }
}

/// A channel's rate limit: at most `max_alerts` alerts per `per_secs` seconds; the rest become
/// one summary alert per batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Alerts allowed per window (at least 1).
    pub max_alerts: u32,
    /// The window, in seconds (default 60).
    #[serde(default = "default_per_secs")]
    pub per_secs: u64,
}

fn default_per_secs() -> u64 {
    60
}

impl RateLimit {
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.max_alerts == 0 || self.per_secs == 0 {
            return Err("a rate limit needs max_alerts and per_secs of at least 1".to_owned());
        }
        Ok(())
    }
}

/// A fixed window: `floor(time / length)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Its index since the epoch.
    pub index: i64,
    /// When it ends, in Unix seconds (state about it may be forgotten after that).
    pub ends_at: i64,
}

impl Window {
    /// The window of `secs` seconds that holds `now`.
    pub fn of(now: Timestamp, secs: u64) -> Window {
        let secs = i64::try_from(secs.max(1)).unwrap_or(i64::MAX);
        let index = now.as_second().div_euclid(secs);
        Window {
            index,
            ends_at: index.saturating_add(1).saturating_mul(secs),
        }
    }
}

/// What findings are grouped by: rule, account, principal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct GroupKey {
    /// The rule id.
    pub rule_id: String,
    /// The account the event belongs to (empty when unknown).
    pub account: String,
    /// The principal: its ARN, or its readable name when there is no ARN.
    pub principal: String,
}

impl GroupKey {
    /// The key of a finding or alert: rule, account, principal (its ARN, else its readable
    /// name).
    pub fn of(
        rule_id: &str,
        actor: &tamperwatch_event::Actor,
        event: &tamperwatch_detect::EventSummary,
    ) -> GroupKey {
        GroupKey {
            rule_id: rule_id.to_owned(),
            account: event.account_id.clone().unwrap_or_default(),
            principal: actor.arn.clone().unwrap_or_else(|| actor.name.clone()),
        }
    }

    /// A stable id, safe in keys, headers and URLs: `grp-` and 32 hex digits of SHA-256 over the
    /// three parts (a cryptographic hash: a caller who picks a session name cannot make their
    /// findings fold into another principal's group).
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        for part in [&self.rule_id, &self.account, &self.principal] {
            h.update(part.len().to_le_bytes());
            h.update(part.as_bytes());
        }
        let digest = h.finalize();
        format!("grp-{}", hex::encode(&digest[..16]))
    }
}

/// A group within one batch: the first item, how many there were, and their resources.
#[derive(Debug, Clone)]
pub struct Group<T> {
    /// The key.
    pub key: GroupKey,
    /// The first item of the group in the batch (the one alerted on).
    pub first: T,
    /// Items of the group in the batch.
    pub count: u64,
    /// Distinct resources, in order of appearance, at most `max_resources`.
    pub resources: Vec<String>,
    /// Distinct resources left out of `resources`.
    pub more_resources: u64,
}

/// Folds a batch into groups, in order of each group's first item.
pub fn group<T>(
    items: impl IntoIterator<Item = (GroupKey, String, T)>,
    max_resources: usize,
) -> Vec<Group<T>> {
    let mut index: HashMap<GroupKey, usize> = HashMap::new();
    let mut groups: Vec<Group<T>> = Vec::new();
    let mut seen: Vec<std::collections::HashSet<String>> = Vec::new();
    for (key, resource, item) in items {
        let i = match index.get(&key) {
            Some(&i) => i,
            None => {
                index.insert(key.clone(), groups.len());
                groups.push(Group {
                    key,
                    first: item,
                    count: 0,
                    resources: Vec::new(),
                    more_resources: 0,
                });
                seen.push(Default::default());
                groups.len() - 1
            }
        };
        let g = &mut groups[i];
        g.count += 1;
        if seen[i].insert(resource.clone()) {
            if g.resources.len() < max_resources {
                g.resources.push(resource);
            } else {
                g.more_resources += 1;
            }
        }
    }
    groups
}

/// A group's state after adding a batch's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupStatus {
    /// Findings in the group's window so far, this batch's included.
    pub total: u64,
    /// Whether this batch opened the group (no earlier finding in the window).
    pub opened: bool,
}

/// The state grouping and storm control keep between batches: named counters, one per group
/// and window and per channel and window. `add` must be one atomic update, so concurrent
/// Lambda invocations agree.
pub trait NoiseState {
    /// Why the state could not be read or written.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Adds `n` to the counter `key` of `window` and returns its new value. The counter may be
    /// forgotten once the window has ended.
    fn add(
        &self,
        key: &str,
        window: Window,
        n: u64,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;
}

/// Adds `n` findings to group `id` in `window`.
pub async fn add_to_group<S: NoiseState>(
    state: &S,
    id: &str,
    window: Window,
    n: u64,
) -> Result<GroupStatus, S::Error> {
    let total = state.add(&format!("group#{id}"), window, n).await?;
    Ok(GroupStatus {
        total,
        opened: total == n,
    })
}

/// Takes up to `want` alerts from a channel's budget of `limit` in `window`; returns how many
/// were granted.
pub async fn take_budget<S: NoiseState>(
    state: &S,
    channel: &str,
    window: Window,
    want: u32,
    limit: u32,
) -> Result<u32, S::Error> {
    let after = state
        .add(&format!("rate#{channel}"), window, u64::from(want))
        .await?;
    Ok(granted(after, want, limit))
}

/// How many of `want` a counter that was at `before_plus_want - want` grants under `limit`.
pub fn granted(after: u64, want: u32, limit: u32) -> u32 {
    let before = after.saturating_sub(u64::from(want));
    let room = u64::from(limit).saturating_sub(before);
    u32::try_from(room.min(u64::from(want))).unwrap_or(want)
}

/// [`NoiseState`] in memory: for the CLI, tests, and one process's life. Bounded: when it
/// holds more than 100,000 counters it forgets the oldest windows' first.
#[derive(Debug, Default)]
pub struct MemoryState {
    counters: Mutex<BTreeMap<String, u64>>,
}

/// Counters kept in memory at most.
const MAX_COUNTERS: usize = 100_000;

/// The error of [`MemoryState`]: its lock was poisoned by a panic elsewhere.
#[derive(Debug, thiserror::Error)]
#[error("noise state lock poisoned")]
pub struct PoisonedError;

impl MemoryState {
    /// An empty state.
    pub fn new() -> MemoryState {
        MemoryState::default()
    }
}

impl NoiseState for MemoryState {
    type Error = PoisonedError;

    async fn add(&self, key: &str, window: Window, n: u64) -> Result<u64, PoisonedError> {
        let mut m = self.counters.lock().map_err(|_| PoisonedError)?;
        let key = format!("{key}#{}", window.index);
        if m.len() >= MAX_COUNTERS && !m.contains_key(&key) {
            m.clear();
        }
        let v = m.entry(key).or_insert(0);
        *v = v.saturating_add(n);
        Ok(*v)
    }
}

/// A channel as the planner sees it.
#[derive(Debug, Clone)]
pub struct ChannelLimit {
    /// Its name.
    pub name: String,
    /// Its rate limit, if any.
    pub limit: Option<RateLimit>,
}

/// One alert to make: a group of findings and the channels it goes to.
#[derive(Debug, Clone)]
pub struct Planned<T> {
    /// The group (a group of one when grouping is off).
    pub group: Group<T>,
    /// Its state across batches.
    pub status: GroupStatus,
    /// The channels (indexes into the planner's list) it is sent to.
    pub send_to: Vec<usize>,
    /// The routed channels whose budget was spent: it goes into their summary instead.
    pub held_on: Vec<usize>,
}

/// One summary alert: the alerts a channel's rate limit held back in this batch.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The channel (index into the planner's list).
    pub channel: usize,
    /// The held alerts (indexes into [`Plan::alerts`]).
    pub held: Vec<usize>,
}

/// What to send for one batch.
#[derive(Debug, Clone)]
pub struct Plan<T> {
    /// The alerts, in order of each group's first finding.
    pub alerts: Vec<Planned<T>>,
    /// One summary per channel whose budget ran out.
    pub summaries: Vec<Summary>,
    /// State that could not be read or written: grouping or the budget was skipped for
    /// those (failing open: a duplicate is better than a lost alert).
    pub state_errors: Vec<String>,
}

/// Plans a batch: groups the items (each `(key, resource, item)`), records the groups in
/// `state`, routes each group's first item with `routes` (channel indexes), and spends each
/// channel's budget in order; what is over the budget goes into that channel's summary. At most
/// `budget + 1` alerts reach a rate-limited channel per batch, and every held group is named.
pub async fn plan<T, S: NoiseState>(
    items: Vec<(GroupKey, String, T)>,
    routes: impl Fn(&T) -> Vec<usize>,
    channels: &[ChannelLimit],
    grouping: Option<GroupingConfig>,
    now: Timestamp,
    state: &S,
) -> Plan<T> {
    let mut state_errors = Vec::new();
    let groups: Vec<Group<T>> = match grouping {
        Some(g) => group(items, g.max_resources),
        None => items
            .into_iter()
            .map(|(key, resource, item)| Group {
                key,
                first: item,
                count: 1,
                resources: vec![resource],
                more_resources: 0,
            })
            .collect(),
    };
    let mut alerts = Vec::with_capacity(groups.len());
    for g in groups {
        let status = match grouping {
            Some(cfg) => {
                let window = Window::of(now, cfg.window_secs);
                match add_to_group(state, &g.key.id(), window, g.count).await {
                    Ok(s) => s,
                    Err(e) => {
                        state_errors.push(e.to_string());
                        GroupStatus {
                            total: g.count,
                            opened: true,
                        }
                    }
                }
            }
            None => GroupStatus {
                total: g.count,
                opened: true,
            },
        };
        let send_to = routes(&g.first);
        alerts.push(Planned {
            group: g,
            status,
            send_to,
            held_on: Vec::new(),
        });
    }
    let mut summaries = Vec::new();
    for (c, channel) in channels.iter().enumerate() {
        let Some(limit) = channel.limit else { continue };
        let routed: Vec<usize> = (0..alerts.len())
            .filter(|&i| alerts[i].send_to.contains(&c))
            .collect();
        if routed.is_empty() {
            continue;
        }
        let want = u32::try_from(routed.len()).unwrap_or(u32::MAX);
        let window = Window::of(now, limit.per_secs);
        let granted = match take_budget(state, &channel.name, window, want, limit.max_alerts).await
        {
            Ok(n) => n,
            Err(e) => {
                state_errors.push(e.to_string());
                want
            }
        };
        let held: Vec<usize> = routed.into_iter().skip(granted as usize).collect();
        for &i in &held {
            alerts[i].send_to.retain(|&x| x != c);
            alerts[i].held_on.push(c);
        }
        if !held.is_empty() {
            summaries.push(Summary { channel: c, held });
        }
    }
    Plan {
        alerts,
        summaries,
        state_errors,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(rule: &str, principal: &str) -> GroupKey {
        GroupKey {
            rule_id: rule.into(),
            account: "111122223333".into(),
            principal: principal.into(),
        }
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(key("r", "p").id(), key("r", "p").id());
        assert_ne!(key("r", "p").id(), key("r", "q").id());
        // Parts are length-prefixed: moving a character between parts changes the id.
        let a = GroupKey {
            rule_id: "ab".into(),
            account: "c".into(),
            principal: "d".into(),
        };
        let b = GroupKey {
            rule_id: "a".into(),
            account: "bc".into(),
            principal: "d".into(),
        };
        assert_ne!(a.id(), b.id());
        assert_eq!(key("r", "p").id().len(), 36);
    }

    #[test]
    fn groups_collapse_and_bound_resources() {
        let items = (0..30).map(|i| {
            (
                key("r", if i % 2 == 0 { "p" } else { "q" }),
                format!("res{}", i / 2),
                i,
            )
        });
        let groups = group(items, 10);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].first, 0);
        assert_eq!(groups[1].first, 1);
        assert_eq!(groups[0].count, 15);
        assert_eq!(groups[0].resources.len(), 10);
        assert_eq!(groups[0].more_resources, 5);
        assert_eq!(groups[0].resources[0], "res0");
    }

    #[test]
    fn budget_arithmetic() {
        assert_eq!(granted(5, 5, 10), 5);
        assert_eq!(granted(15, 10, 10), 5);
        assert_eq!(granted(25, 10, 10), 0);
        assert_eq!(granted(3, 3, 0), 0);
    }

    #[tokio::test]
    async fn memory_state_windows() {
        let w = |index| Window { index, ends_at: 0 };
        let s = MemoryState::new();
        let g = add_to_group(&s, "grp-1", w(7), 3).await.unwrap();
        assert_eq!(
            g,
            GroupStatus {
                total: 3,
                opened: true
            }
        );
        let g = add_to_group(&s, "grp-1", w(7), 2).await.unwrap();
        assert_eq!(
            g,
            GroupStatus {
                total: 5,
                opened: false
            }
        );
        // The next window opens a new group.
        assert!(add_to_group(&s, "grp-1", w(8), 1).await.unwrap().opened);
        assert_eq!(take_budget(&s, "slack", w(1), 8, 10).await.unwrap(), 8);
        assert_eq!(take_budget(&s, "slack", w(1), 8, 10).await.unwrap(), 2);
        assert_eq!(take_budget(&s, "slack", w(1), 8, 10).await.unwrap(), 0);
        assert_eq!(take_budget(&s, "slack", w(2), 8, 10).await.unwrap(), 8);
        assert_eq!(take_budget(&s, "teams", w(1), 8, 10).await.unwrap(), 8);
    }

    #[tokio::test]
    async fn a_storm_becomes_a_bounded_number_of_alerts_naming_everyone() {
        // 1,000 findings in one minute: 40 principals, 5 rules, 25 resources each.
        let t0: Timestamp = "2026-11-30T10:00:00Z".parse().unwrap();
        let items: Vec<(GroupKey, String, (String, String))> = (0..1000)
            .map(|i| {
                let principal = format!("arn:aws:sts::111122223333:assumed-role/r/{}", i % 40);
                let rule = format!("rule-{}", i % 5);
                (
                    key(&rule, &principal),
                    format!("res-{}", i % 25),
                    (rule, principal),
                )
            })
            .collect();
        let channels = vec![
            ChannelLimit {
                name: "slack".into(),
                limit: Some(RateLimit {
                    max_alerts: 10,
                    per_secs: 60,
                }),
            },
            ChannelLimit {
                name: "log".into(),
                limit: None,
            },
        ];
        let grouping = Some(GroupingConfig {
            window_secs: 300,
            max_resources: 20,
        });
        let state = MemoryState::new();
        let plan = plan(items, |_| vec![0, 1], &channels, grouping, t0, &state).await;
        // 40 principals x 5 rules, but i % 40 and i % 5 pair up: 40 distinct groups.
        assert_eq!(plan.alerts.len(), 40);
        assert_eq!(plan.alerts.iter().map(|a| a.group.count).sum::<u64>(), 1000);
        let to_slack = plan
            .alerts
            .iter()
            .filter(|a| a.send_to.contains(&0))
            .count();
        assert_eq!(to_slack, 10);
        assert_eq!(plan.summaries.len(), 1);
        assert_eq!(
            to_slack + plan.summaries.len(),
            11,
            "bounded: the budget plus one summary"
        );
        // Every principal and rule is named by an alert or the summary.
        let mut named: std::collections::BTreeSet<(String, String)> = plan
            .alerts
            .iter()
            .filter(|a| a.send_to.contains(&0))
            .map(|a| a.group.first.clone())
            .collect();
        named.extend(
            plan.summaries[0]
                .held
                .iter()
                .map(|&i| plan.alerts[i].group.first.clone()),
        );
        let principals: std::collections::BTreeSet<&String> =
            named.iter().map(|(_, p)| p).collect();
        let rules: std::collections::BTreeSet<&String> = named.iter().map(|(r, _)| r).collect();
        assert_eq!((principals.len(), rules.len()), (40, 5));
        // The unlimited channel gets every group, once.
        assert_eq!(
            plan.alerts
                .iter()
                .filter(|a| a.send_to.contains(&1))
                .count(),
            40
        );
        // A second batch in the same minute: the groups are follow-ups, the budget is spent.
        let again: Vec<_> = (0..40)
            .map(|i| {
                let principal = format!("arn:aws:sts::111122223333:assumed-role/r/{i}");
                let rule = format!("rule-{}", i % 5);
                (
                    key(&rule, &principal),
                    "res-x".to_owned(),
                    (rule, principal),
                )
            })
            .collect();
        let later = t0.checked_add(jiff::SignedDuration::from_secs(30)).unwrap();
        let plan2 = super::plan(again, |_| vec![0], &channels, grouping, later, &state).await;
        assert!(
            plan2
                .alerts
                .iter()
                .all(|a| !a.status.opened && a.status.total == 26)
        );
        assert!(plan2.alerts.iter().all(|a| a.send_to.is_empty()));
        assert_eq!(plan2.summaries[0].held.len(), 40);
    }

    #[tokio::test]
    async fn grouping_off_is_one_alert_per_finding() {
        let items = (0..3)
            .map(|i| (key("r", "p"), format!("x{i}"), i))
            .collect();
        let channels = [ChannelLimit {
            name: "c".into(),
            limit: None,
        }];
        let p = plan(
            items,
            |_| vec![0],
            &channels,
            None,
            Timestamp::UNIX_EPOCH,
            &MemoryState::new(),
        )
        .await;
        assert_eq!(p.alerts.len(), 3);
        assert!(p.summaries.is_empty());
    }

    #[test]
    fn windows_are_epoch_aligned() {
        let t: Timestamp = "2026-11-30T10:00:59Z".parse().unwrap();
        let u: Timestamp = "2026-11-30T10:01:00Z".parse().unwrap();
        assert_eq!(Window::of(t, 60).index + 1, Window::of(u, 60).index);
        assert_eq!(Window::of(t, 60).ends_at, u.as_second());
    }
}
