//! The notify path shared by the Lambda and `tamperwatch notify`: an invocation's payload in,
//! findings detected, one alert per finding delivered to every routed channel, the outcome
//! out.
//!
//! A payload is an SQS batch (`Records[].body`, each body any envelope; failures reported per
//! record as `batchItemFailures`), an SNS-to-Lambda event (`Records[].Sns.Message`), or
//! anything [`tamperwatch_event::read`] recognises (an EventBridge event, a log file, ...).
//!
//! An input that is a new-log-file notification (CloudTrail's SNS notification, an S3 event
//! notification, EventBridge `Object Created`; see [`tamperwatch_archive::notification`]) is
//! replaced by the log files it names, read from S3 when the pipeline has
//! [`LogFiles`]: the reconciliation path. A log file that cannot be read fails its input, so
//! SQS retries it and then dead-letters it.

use std::collections::{BTreeMap, HashSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tamperwatch_alert::{Alert, AlertConfig, GroupInfo};
use tamperwatch_detect::Detector;
use tamperwatch_event::{Limits, Location, ReadError, Record, Visit, read};
use tamperwatch_noise::storm::{ChannelLimit, plan};
use tamperwatch_noise::{Explanation, GroupKey, NoiseState, Policy, Subject, Verdict, Window};
use tamperwatch_posture::fix::PlannedFix;

/// A digest day, in seconds (UTC days).
const DAY_SECS: u64 = 86_400;

use crate::log_files::LogFiles;
use crate::notifier::{Delivery, Notifier};
use crate::remediation::{self, Remediation};

/// Detector and notifier, built once.
#[derive(Debug)]
pub struct Pipeline {
    detector: Detector,
    notifier: Notifier,
    limits: Limits,
    log_files: Option<LogFiles>,
    remediation: Option<Remediation>,
}

/// What one input (an event, an SQS message body, a file) gave.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// CloudTrail records read.
    pub records: usize,
    /// Alerts made (after dropping repeats of the same event and rule).
    pub alerts: usize,
    /// Repeats dropped within this input.
    pub duplicates: usize,
    /// Findings a suppression hid (each logged with the suppression that matched).
    pub suppressed: usize,
    /// Findings of rules in staging (logged, not sent).
    pub staged: usize,
    /// Hidden findings by suppression name (`staging` for staged rules).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub held_by: BTreeMap<String, usize>,
    /// Findings folded into another alert of their group.
    pub grouped: usize,
    /// Alerts a channel's rate limit held back (named in that channel's storm summary).
    pub rate_limited: usize,
    /// Storm summaries sent.
    pub storm_summaries: usize,
    /// EventBridge events that do not carry CloudTrail records, skipped.
    pub ignored: usize,
    /// Parts that could not be read or evaluated.
    pub errors: Vec<String>,
    /// Log files read on behalf of new-log-file notifications.
    pub log_files: usize,
    /// Log files a notification named that could not be read (the input is retried).
    pub unread: Vec<String>,
    /// What auto-remediation did.
    pub remediations: Vec<remediation::Outcome>,
    /// Each alert's deliveries.
    pub deliveries: Vec<Delivery>,
}

impl Report {
    /// Whether the input must be retried: a delivery failed, a log file it names could not be
    /// read, or nothing in it could be read.
    pub fn failed(&self) -> bool {
        self.deliveries.iter().any(Delivery::failed)
            || !self.unread.is_empty()
            || (self.records == 0 && self.ignored == 0 && !self.errors.is_empty())
    }

    /// Whether a retry may help (false when only unreadable input or permanent errors failed).
    pub fn retryable(&self) -> bool {
        (self.deliveries.iter().any(Delivery::failed) || !self.unread.is_empty())
            && self.deliveries.iter().all(Delivery::retryable)
    }

    fn merge(&mut self, other: Report) {
        self.records += other.records;
        self.alerts += other.alerts;
        self.duplicates += other.duplicates;
        self.suppressed += other.suppressed;
        self.staged += other.staged;
        for (k, v) in other.held_by {
            *self.held_by.entry(k).or_default() += v;
        }
        self.grouped += other.grouped;
        self.rate_limited += other.rate_limited;
        self.storm_summaries += other.storm_summaries;
        self.ignored += other.ignored;
        self.errors.extend(other.errors);
        self.log_files += other.log_files;
        self.unread.extend(other.unread);
        self.remediations.extend(other.remediations);
        self.deliveries.extend(other.deliveries);
    }
}

/// A failed invocation: the platform retries it, then sends it to the DLQ or `onFailure`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct HandleError {
    /// Whether retrying may help (delivery failures) or not (unreadable input).
    pub retryable: bool,
    /// What failed (no secrets).
    pub message: String,
    /// The details (boxed: a report is large, and errors travel by value).
    pub report: Box<Report>,
}

impl HandleError {
    /// The Lambda `errorType`.
    pub fn error_type(&self) -> &'static str {
        if self.retryable {
            "tamperwatch.RetryableError"
        } else {
            "tamperwatch.PermanentError"
        }
    }
}

/// The kinds of `Records[]` items a Lambda receives.
#[derive(Deserialize)]
struct LambdaRecords {
    #[serde(rename = "Records")]
    records: Vec<LambdaRecord>,
}

#[derive(Deserialize)]
struct LambdaRecord {
    #[serde(rename = "eventSource", default)]
    event_source: Option<String>,
    #[serde(rename = "EventSource", default)]
    event_source_sns: Option<String>,
    #[serde(rename = "messageId", default)]
    message_id: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(rename = "Sns", default)]
    sns: Option<SnsRecord>,
}

#[derive(Deserialize)]
struct SnsRecord {
    #[serde(rename = "Message")]
    message: String,
}

enum Shape {
    Sqs(Vec<(String, String)>),
    Sns(Vec<String>),
    /// `{"tamperwatch": "digest"}`: the daily schedule's constant input.
    Digest,
    Other,
}

/// A scheduled task's constant input (`{"tamperwatch": "digest"}`).
#[derive(Deserialize)]
struct Task {
    tamperwatch: String,
}

fn shape(payload: &[u8]) -> Shape {
    if let Ok(Task { tamperwatch }) = serde_json::from_slice::<Task>(payload)
        && tamperwatch == "digest"
    {
        return Shape::Digest;
    }
    let Ok(LambdaRecords { records }) = serde_json::from_slice::<LambdaRecords>(payload) else {
        return Shape::Other;
    };
    if records.is_empty() {
        return Shape::Other;
    }
    if records
        .iter()
        .all(|r| r.event_source.as_deref() == Some("aws:sqs"))
    {
        return Shape::Sqs(
            records
                .into_iter()
                .map(|r| (r.message_id.unwrap_or_default(), r.body.unwrap_or_default()))
                .collect(),
        );
    }
    if records
        .iter()
        .all(|r| r.event_source_sns.as_deref() == Some("aws:sns") && r.sns.is_some())
    {
        return Shape::Sns(
            records
                .into_iter()
                .filter_map(|r| r.sns.map(|s| s.message))
                .collect(),
        );
    }
    Shape::Other
}

struct Collect<'d> {
    detector: &'d Detector,
    config: &'d AlertConfig,
    remediation: Option<&'d Remediation>,
    policy: &'d Policy,
    now: Timestamp,
    report: Report,
    /// Each alert, the first of a record with the fix that reverses the record (if any).
    alerts: Vec<(Alert, Option<PlannedFix>)>,
}

impl Visit for Collect<'_> {
    fn record(&mut self, at: Location, record: Record<'_>) {
        self.report.records += 1;
        let mut findings = Vec::new();
        if let Err(e) = self.detector.detect(&record, &mut findings) {
            self.report.errors.push(format!("{at}: {e}"));
        }
        // Findings of rules that only feed a correlation are not alerts.
        // The fix that reverses the record goes with its first alert that is sent: a
        // suppressed finding (a maintenance window, a deployment role) is not reversed either.
        let mut fix = None;
        let mut first = true;
        for f in findings.iter().filter(|f| f.rule.generates()) {
            let alert = Alert::from_finding(f, self.config);
            let explanation = self.policy.decide(&Subject::of(f), self.now);
            match explanation.verdict {
                Verdict::Send => {
                    if std::mem::take(&mut first) {
                        fix = self.remediation.and_then(|r| r.plan(&record));
                    }
                    self.alerts.push((alert, fix.take()));
                }
                Verdict::Suppressed | Verdict::Staged => {
                    log_held(&alert, &explanation);
                    let name = match &explanation.suppression {
                        Some(s) => s.name.clone(),
                        None => "staging".to_owned(),
                    };
                    *self.report.held_by.entry(name).or_default() += 1;
                    if explanation.verdict == Verdict::Suppressed {
                        self.report.suppressed += 1;
                    } else {
                        self.report.staged += 1;
                    }
                }
            }
        }
    }

    fn error(&mut self, at: Location, error: ReadError) {
        match error {
            ReadError::NotCloudTrail(_) => self.report.ignored += 1,
            other => self.report.errors.push(format!("{at}: {other}")),
        }
    }
}

impl Pipeline {
    /// A pipeline.
    pub fn new(detector: Detector, notifier: Notifier) -> Pipeline {
        Pipeline {
            detector,
            notifier,
            limits: Limits::default(),
            log_files: None,
            remediation: None,
        }
    }

    /// With the reconciliation path: new-log-file notifications are replaced by the log files
    /// they name. Without it, such a notification fails its input (it would otherwise be
    /// dropped unread).
    #[must_use]
    pub fn with_log_files(mut self, log_files: LogFiles) -> Pipeline {
        self.log_files = Some(log_files);
        self
    }

    /// With auto-remediation: the events it knows are reversed before their alert goes out.
    #[must_use]
    pub fn with_remediation(mut self, remediation: Remediation) -> Pipeline {
        self.remediation = Some(remediation);
        self
    }

    /// The notifier.
    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// The alerts of one input (any envelope), without delivering them (nor remediating):
    /// suppressed and staged findings are logged and counted, not returned.
    pub fn alerts(&self, input: &[u8]) -> (Vec<Alert>, Report) {
        let (alerts, report) = self.collect(input, None);
        (alerts.into_iter().map(|(a, _)| a).collect(), report)
    }

    fn collect(
        &self,
        input: &[u8],
        remediation: Option<&Remediation>,
    ) -> (Vec<(Alert, Option<PlannedFix>)>, Report) {
        let mut c = Collect {
            detector: &self.detector,
            config: self.notifier.alert_config(),
            remediation,
            policy: self.notifier.policy(),
            now: Timestamp::now(),
            report: Report::default(),
            alerts: Vec::new(),
        };
        read(input, &self.limits, &mut c);
        let mut seen = HashSet::new();
        let before = c.alerts.len();
        c.alerts.retain(|(a, _)| seen.insert(a.dedup_key()));
        c.report.duplicates = before - c.alerts.len();
        c.report.alerts = c.alerts.len();
        (c.alerts, c.report)
    }

    /// Delivers alerts, one after another (each to its channels in parallel).
    pub async fn deliver(&self, alerts: &[Alert]) -> Vec<Delivery> {
        let mut out = Vec::with_capacity(alerts.len());
        for a in alerts {
            out.push(self.notifier.deliver(a).await);
        }
        out
    }

    /// Reads one input, detects, remediates (when on) and delivers its alerts: grouped by
    /// rule, account and principal within the configured window, each channel within its rate
    /// limit (the excess folded into one storm summary per channel). A new-log-file
    /// notification is replaced by the log files it names.
    pub async fn process(&self, input: &[u8]) -> Report {
        let notification = std::str::from_utf8(input)
            .map(tamperwatch_archive::notification::objects)
            .unwrap_or(Ok(None));
        match notification {
            Ok(None) => self.process_events(input).await,
            Ok(Some(objects)) => self.process_log_files(&objects).await,
            Err(e) => Report {
                errors: vec![e.to_string()],
                ..Report::default()
            },
        }
    }

    async fn process_events(&self, input: &[u8]) -> Report {
        let (pending, mut report) = self.collect(input, self.remediation.as_ref());
        let mut alerts = Vec::with_capacity(pending.len());
        for (alert, fix) in pending {
            match (fix, &self.remediation) {
                (Some(fix), Some(remediation)) => {
                    let outcome = remediation.apply(&fix).await;
                    alerts.push(alert.with_remediation(&outcome.note));
                    report.remediations.push(outcome);
                }
                _ => alerts.push(alert),
            }
        }
        self.count_held(&report, Timestamp::now()).await;
        send_alerts(&self.notifier, alerts, &mut report).await;
        report
    }

    /// The log files of one notification, each read and processed on its own; one that cannot
    /// be read is reported in `unread` (and fails the input) without stopping the others.
    async fn process_log_files(&self, objects: &[tamperwatch_archive::ObjectRef]) -> Report {
        let mut total = Report::default();
        if objects.is_empty() {
            // S3's test event, or only digest files: nothing to read.
            total.ignored += 1;
            return total;
        }
        let Some(log_files) = &self.log_files else {
            total.errors.push(format!(
                "a new-log-file notification names {} (and {} more), but reading log files is \
                 not enabled here",
                objects[0],
                objects.len() - 1
            ));
            return total;
        };
        for object in objects {
            match log_files.fetch(object).await {
                Ok(bytes) => {
                    let mut report = self.process_events(&bytes).await;
                    report.log_files += 1;
                    // A log file that reads as nothing at all is as unread as a failed GET.
                    if report.records == 0 && !report.errors.is_empty() {
                        report
                            .unread
                            .push(format!("{object}: {}", report.errors[0]));
                    }
                    total.merge(report);
                }
                Err(e) if e.is_retryable() => total.unread.push(e.to_string()),
                Err(e) => total.errors.push(e.to_string()),
            }
        }
        total
    }

    /// Adds what this input's suppressions and staging held back to the day's digest counters
    /// (when a digest channel is configured).
    async fn count_held(&self, report: &Report, now: Timestamp) {
        if self.notifier.noise().digest_channels.is_empty() {
            return;
        }
        let day = Window::of(now, DAY_SECS);
        for (name, n) in &report.held_by {
            let n = u64::try_from(*n).unwrap_or(u64::MAX);
            let key = format!("digest#{name}");
            if let Err(e) = self.notifier.noise_state().add(&key, day, n).await {
                log_warning(&format!("{e}; the digest will undercount {name}"));
            }
        }
    }

    /// Sends the digest of the UTC day that holds `day` to the `[noise] digest_channels`: how
    /// many findings each suppression hid and staging held back. Sent even when nothing was, so
    /// a silent digest channel means the schedule stopped.
    pub async fn digest(&self, day: Timestamp) -> Report {
        let n = &self.notifier;
        let window = Window::of(day, DAY_SECS);
        let names = n
            .policy()
            .suppressions()
            .iter()
            .map(|s| s.name.as_str())
            .chain(["staging"]);
        let mut counts = Vec::new();
        let mut report = Report::default();
        for name in names {
            // Adding nothing reads the counter.
            match n
                .noise_state()
                .add(&format!("digest#{name}"), window, 0)
                .await
            {
                Ok(0) => {}
                Ok(count) => counts.push((name.to_owned(), count)),
                Err(e) => log_warning(&format!("{e}; the digest leaves {name} out")),
            }
        }
        let date = day.strftime("%Y-%m-%d").to_string();
        let alert = Alert::digest(
            n.alert_config(),
            &date,
            &counts,
            &Timestamp::now().to_string(),
        );
        let to: Vec<usize> = n
            .channels()
            .iter()
            .enumerate()
            .filter(|(_, c)| n.noise().digest_channels.iter().any(|d| d == c.name()))
            .map(|(i, _)| i)
            .collect();
        report.alerts = 1;
        report
            .deliveries
            .push(n.deliver_planned(&alert, &to, &[]).await);
        report
    }

    /// Plans and delivers a batch of alerts (see [`tamperwatch_noise::storm`]).
    /// Handles one Lambda invocation's payload. For an SQS batch the answer is always
    /// `{"batchItemFailures": [...]}` naming the messages to retry; otherwise it is a summary,
    /// or an error that fails the invocation.
    pub async fn handle(&self, payload: &[u8]) -> Result<Value, HandleError> {
        match shape(payload) {
            Shape::Sqs(messages) => {
                let mut failures = Vec::new();
                let mut total = Report::default();
                for (id, body) in messages {
                    let report = self.process(body.as_bytes()).await;
                    if report.failed() {
                        failures.push(json!({"itemIdentifier": id}));
                    }
                    total.merge(report);
                }
                log_report(&total);
                Ok(json!({"batchItemFailures": failures}))
            }
            Shape::Sns(messages) => {
                let mut total = Report::default();
                for m in messages {
                    total.merge(self.process(m.as_bytes()).await);
                }
                finish(total)
            }
            Shape::Digest => {
                let yesterday = Timestamp::now() - jiff::SignedDuration::from_hours(24);
                finish(self.digest(yesterday).await)
            }
            Shape::Other => finish(self.process(payload).await),
        }
    }
}

fn finish(report: Report) -> Result<Value, HandleError> {
    log_report(&report);
    if report.failed() {
        let failed: Vec<String> = report
            .deliveries
            .iter()
            .flat_map(|d| {
                d.channels
                    .iter()
                    .filter(|(_, o)| matches!(o, crate::notifier::ChannelOutcome::Failed { .. }))
                    .map(|(c, _)| c.clone())
            })
            .collect();
        let message = if let (true, Some(unread)) = (failed.is_empty(), report.unread.first()) {
            format!("a log file could not be read: {unread}")
        } else if failed.is_empty() {
            format!(
                "no CloudTrail record could be read: {}",
                report
                    .errors
                    .first()
                    .map(String::as_str)
                    .unwrap_or("unknown error")
            )
        } else {
            format!("delivery failed on {}", failed.join(", "))
        };
        return Err(HandleError {
            retryable: report.retryable(),
            message,
            report: Box::new(report),
        });
    }
    Ok(
        json!({"records": report.records, "alerts": report.alerts, "duplicates": report.duplicates, "ignored": report.ignored, "log_files": report.log_files, "suppressed": report.suppressed, "staged": report.staged}),
    )
}

/// What a grouped alert lists as a resource: the first parameter the rule names (a trail, a
/// detector, a recorder), else the event name.
fn resource(alert: &Alert) -> String {
    match alert.parameters.first() {
        Some((_, v)) => v.clone(),
        None => alert.event.event_name.clone().unwrap_or_default(),
    }
}

/// One log line per hidden finding: suppressed is not silent.
fn log_held(alert: &Alert, explanation: &Explanation) {
    let kind = match explanation.verdict {
        Verdict::Staged => "staged",
        _ => "suppressed",
    };
    eprintln!(
        "{}",
        json!({
            "level": "INFO",
            "tamperwatch": kind,
            "headline": alert.headline(),
            "dedup_key": alert.dedup_key(),
            "rule": alert.rule.id,
            "principal": alert.actor.arn.as_deref().unwrap_or(&alert.actor.name),
            "account": alert.event.account_id,
            "eventTime": alert.event.event_time,
            "explanation": explanation.line(),
            "suppression": explanation.suppression,
        })
    );
}

fn log_warning(message: &str) {
    eprintln!("{}", json!({"level": "WARN", "message": message}));
}

/// One structured log line per invocation (stderr; stdout is the log channel's).
fn log_report(report: &Report) {
    eprintln!(
        "{}",
        json!({"level": if report.failed() { "ERROR" } else { "INFO" }, "tamperwatch": "invocation", "report": report})
    );
}

/// Delivers alerts as [`Pipeline::process`] does once it has them: grouped by rule, account and
/// principal within the configured window, each channel within its rate limit (the excess
/// folded into one storm summary per channel), counting in `report`. For callers that made
/// their alerts themselves: `tamperwatch scan --notify`.
pub async fn send_alerts(n: &Notifier, alerts: Vec<Alert>, report: &mut Report) {
    let grouping = n.noise().grouping;
    let channels: Vec<ChannelLimit> = n
        .channels()
        .iter()
        .map(|c| ChannelLimit {
            name: c.name().to_owned(),
            limit: n.noise().rate_limit(c.name()),
        })
        .collect();
    let items = alerts
        .into_iter()
        .map(|a| {
            let key = GroupKey::of(&a.rule.id, &a.actor, &a.event);
            (key, resource(&a), a)
        })
        .collect();
    let routes = |a: &Alert| -> Vec<usize> {
        n.channels()
            .iter()
            .enumerate()
            .filter(|(_, c)| c.routes(a))
            .map(|(i, _)| i)
            .collect()
    };
    let mut plan = plan(
        items,
        routes,
        &channels,
        grouping,
        Timestamp::now(),
        n.noise_state(),
    )
    .await;
    for e in &plan.state_errors {
        log_warning(&format!(
            "{e}; grouping or rate limiting skipped for this batch"
        ));
    }
    for p in &mut plan.alerts {
        report.grouped += usize::try_from(p.group.count.saturating_sub(1)).unwrap_or(usize::MAX);
        if grouping.is_some() {
            p.group.first.group = Some(GroupInfo {
                key: p.group.key.id(),
                count: p.status.total,
                in_alert: p.group.count,
                resources: std::mem::take(&mut p.group.resources),
                more_resources: p.group.more_resources,
                follow_up: !p.status.opened,
            });
        }
    }
    report.alerts = plan.alerts.len();
    for p in &plan.alerts {
        report.rate_limited += usize::from(!p.held_on.is_empty());
        report.deliveries.push(
            n.deliver_planned(&p.group.first, &p.send_to, &p.held_on)
                .await,
        );
    }
    for s in &plan.summaries {
        let held: Vec<&Alert> = s
            .held
            .iter()
            .map(|&i| &plan.alerts[i].group.first)
            .collect();
        if let Some(summary) = Alert::storm(&held, &channels[s.channel].name) {
            report.storm_summaries += 1;
            report
                .deliveries
                .push(n.deliver_planned(&summary, &[s.channel], &[]).await);
        }
    }
}
