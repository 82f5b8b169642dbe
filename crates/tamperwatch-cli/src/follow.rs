//! `tamperwatch scan sqs://QUEUE`: follow a queue of new-log-file notifications.
//!
//! Each message (CloudTrail's SNS notification, an S3 event notification, EventBridge's
//! `Object Created`, plain or SNS-wrapped; or CloudTrail events themselves, as in tamperwatch's
//! own dead-letter queue) is read, the log files it names are fetched and scanned, the findings
//! printed (and sent, with `--notify`), and only then is the message deleted. `--config`
//! suppressions and staging apply as in any scan, and the correlation rules see the records
//! of every message, not one message at a time (a burst of events lands in many log files). A message whose
//! files could not all be fetched, or whose alerts could not be sent, is left in the queue: it
//! comes back after the queue's visibility timeout, and its dead-letter queue takes it in the
//! end. Stopping tamperwatch at any moment loses nothing for the same reason.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use tamperwatch_archive::layout::Filter;
use tamperwatch_archive::sqs::{Message, Queue};
use tamperwatch_archive::{FetchError, Fetcher, notification};
use tamperwatch_detect::Detector;
use tamperwatch_event::Limits;
use tamperwatch_rules::Correlator;

use crate::cli::{Format, ScanArgs};
use crate::explain::Noise;
use crate::output;
use crate::progress::Progress;
use crate::scan::{Input, Job, ScanResult, Summary, exit_code, scan_correlating};

/// Seconds a receive waits for messages (SQS's longest long poll), or with `--drain`, before
/// deciding the queue is empty.
const WAIT_SECONDS: i32 = 20;
const DRAIN_WAIT_SECONDS: i32 = 2;

/// Follows the queue until stopped (or, with `--drain`, until it is empty).
pub fn run(
    args: &ScanArgs,
    detector: &Detector,
    noise: &Noise,
    limits: &Limits,
    filter: &Filter,
    url: &str,
) -> anyhow::Result<ExitCode> {
    if args.format == Format::Json {
        anyhow::bail!(
            "--format json writes one document at the end, and a queue has no end: use jsonl or table"
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let sdk = runtime.block_on(crate::check::load_sdk(args.max_attempts));
    let queue = Queue::connect(&sdk, url.to_owned());
    // One notifier for the run, so that grouping and rate limits span the messages.
    let notifier = if args.notify {
        Some(runtime.block_on(crate::notify::notifier(args.config.as_deref()))?)
    } else {
        None
    };
    let mut follower = Follower {
        notifier,
        args,
        detector,
        noise,
        correlator: Correlator::new(detector.rules()),
        limits,
        filter,
        runtime: &runtime,
        queue: &queue,
        fetcher: Fetcher::new(sdk),
        total: Summary::default(),
        kept: 0,
    };
    let started = Instant::now();
    let wait = if args.drain {
        DRAIN_WAIT_SECONDS
    } else {
        WAIT_SECONDS
    };
    loop {
        let messages = runtime
            .block_on(queue.receive(wait))
            .context("cannot receive from the queue")?;
        if messages.is_empty() && args.drain {
            break;
        }
        for message in &messages {
            follower.handle(message)?;
        }
    }
    follower.total.elapsed = started.elapsed();
    if !args.quiet {
        anstream::eprintln!(
            "{}; {} message(s) left in the queue to retry",
            output::summary_line(&follower.total),
            follower.kept
        );
    }
    Ok(exit_code(&follower.total))
}

struct Follower<'a> {
    /// With `--notify`: the channels, and their groups' and rate limits' state.
    notifier: Option<tamperwatch_sinks::Notifier>,
    args: &'a ScanArgs,
    detector: &'a Detector,
    noise: &'a Noise,
    /// The correlations' open windows, across messages.
    correlator: Correlator,
    limits: &'a Limits,
    filter: &'a Filter,
    runtime: &'a tokio::runtime::Runtime,
    queue: &'a Queue,
    fetcher: Fetcher,
    total: Summary,
    /// Messages left in the queue.
    kept: u64,
}

impl Follower<'_> {
    /// Scans what one message names, prints the findings, sends them with `--notify`, and
    /// deletes the message unless something must be retried.
    fn handle(&mut self, message: &Message) -> anyhow::Result<()> {
        let (inputs, retry) = match notification::objects(&message.body) {
            Ok(Some(objects)) => {
                let fetched = self.runtime.block_on(self.fetcher.fetch(
                    &objects,
                    self.args.concurrency,
                    self.args.max_file_size,
                ));
                // A file that could not be fetched may be fetched later; a file too large
                // never will be, and is reported like any unreadable input.
                let retry = fetched
                    .iter()
                    .any(|f| matches!(f, Err(FetchError::Get { .. })));
                let inputs = objects
                    .iter()
                    .zip(fetched)
                    .map(|(object, bytes)| Input::Loaded {
                        name: object.to_string(),
                        bytes: bytes.map_err(|e| e.to_string()),
                    })
                    .collect();
                (inputs, retry)
            }
            // Not a notification: the message holds the events themselves.
            Ok(None) => (
                vec![Input::Loaded {
                    name: format!("sqs message {}", message.id),
                    bytes: Ok(message.body.clone().into_bytes()),
                }],
                false,
            ),
            Err(e) => (
                vec![Input::Loaded {
                    name: format!("sqs message {}", message.id),
                    bytes: Err(e.to_string()),
                }],
                true,
            ),
        };
        let jobs = inputs.into_iter().zip(0u64..).map(|(input, n)| Job {
            order: (0, n, 0),
            input,
        });
        let mut result = scan_correlating(
            self.detector,
            jobs,
            self.limits,
            self.filter,
            &Progress::hidden(),
            &mut self.correlator,
        );
        // Findings and errors of this message now; the summary once, at the end.
        if !crate::explain::apply(self.noise, &mut result, self.args, true)? {
            output::print_scan(&result, self.args.format, true)?;
        }
        self.count(&result);
        let mut keep = retry;
        if self.args.notify
            && !result.findings.is_empty()
            && let Some(notifier) = &self.notifier
            && let Err(e) = self.runtime.block_on(crate::notify::send_findings_with(
                notifier,
                result.findings.iter().map(|l| &l.finding),
            ))
        {
            anstream::eprintln!("tamperwatch: sqs message {}: {e:#}", message.id);
            self.total.errors += 1;
            keep = true;
        }
        if keep {
            self.kept += 1;
        } else {
            self.runtime
                .block_on(self.queue.delete(message))
                .context("cannot delete a handled message")?;
        }
        Ok(())
    }

    fn count(&mut self, result: &ScanResult<'_>) {
        let (t, s) = (&mut self.total, &result.summary);
        t.inputs += s.inputs;
        t.records += s.records;
        t.findings += s.findings;
        t.correlations += s.correlations;
        t.errors += s.errors;
        t.suppressed += s.suppressed;
        t.staged += s.staged;
        for (level, n) in &s.by_level {
            *t.by_level.entry(*level).or_default() += n;
        }
    }
}
