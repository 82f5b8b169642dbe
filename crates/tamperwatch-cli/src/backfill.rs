//! `tamperwatch backfill s3://... --queue URL`: hand an archive too large for one machine to
//! the deployed Lambda fleet.
//!
//! The archive is walked as `scan` walks it (same filters, same pruning) and each group of log
//! files is enqueued as an S3 event notification, the message S3 itself sends when a log file
//! arrives. The deployed stack's queue feeds the Lambda, which reads those files exactly as it
//! reads live ones (alerting once per event across both paths), as many at once as Lambda's
//! concurrency allows; failures are retried and dead-lettered by the queue.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use tamperwatch_archive::layout::{ListError, walk};
use tamperwatch_archive::sqs::{BATCH, Queue, queue_url};
use tamperwatch_archive::{ObjectRef, S3Url, client_for_bucket};

use crate::cli::FilterArgs;
use crate::scan::record_filter;

/// `tamperwatch backfill`.
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// The archive: `s3://BUCKET[/PREFIX]`.
    #[arg(value_name = "S3_URL")]
    pub archive: String,
    /// The queue the deployed Lambda reads (its URL, or `sqs://` and the URL without scheme).
    #[arg(long, value_name = "QUEUE_URL")]
    pub queue: String,
    /// Which log files: those that can hold records of this time, account and region.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Log files named in one message (one Lambda invocation reads them one after another).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub files_per_message: u16,
    /// List what would be enqueued (counts only), enqueue nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Attempts per AWS call.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 8,
        env = "TAMPERWATCH_MAX_ATTEMPTS"
    )]
    pub max_attempts: u32,
    /// No summary line on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs `tamperwatch backfill`.
pub fn run(args: &BackfillArgs) -> anyhow::Result<ExitCode> {
    let url: S3Url = args.archive.parse().map_err(anyhow::Error::msg)?;
    let queue_url = if args.queue.starts_with("sqs://") {
        queue_url(&args.queue).map_err(anyhow::Error::msg)?
    } else {
        args.queue.clone()
    };
    let filter = record_filter(&args.filter)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async {
        let sdk = crate::check::load_sdk(args.max_attempts).await;
        let s3 = client_for_bucket(&sdk, &url.bucket).await;
        let queue = Queue::connect(&sdk, queue_url);
        let (objects_tx, mut objects) = tokio::sync::mpsc::channel::<ObjectRef>(1024);
        let (errors_tx, mut errors) = tokio::sync::mpsc::channel::<ListError>(16);
        let listing = async {
            let (objects_tx, errors_tx) = (objects_tx, errors_tx);
            walk(&s3, &url, &filter, &objects_tx, &errors_tx).await
        };
        let per_message = usize::from(args.files_per_message);
        let enqueueing = async {
            let (mut files, mut messages) = (0u64, 0usize);
            let mut group: Vec<ObjectRef> = Vec::new();
            let mut pending: Vec<Vec<ObjectRef>> = Vec::new();
            loop {
                let next = objects.recv().await;
                let done = next.is_none();
                if let Some(object) = next {
                    files += 1;
                    group.push(object);
                }
                if group.len() == per_message || (done && !group.is_empty()) {
                    pending.push(std::mem::take(&mut group));
                }
                // Ten messages to a call; what is left at the end in a last, smaller one.
                if pending.len() == BATCH || (done && !pending.is_empty()) {
                    messages += if args.dry_run {
                        pending.len()
                    } else {
                        queue.enqueue(&pending).await?
                    };
                    pending.clear();
                }
                if done {
                    return anyhow::Ok((files, messages));
                }
            }
        };
        let listing_errors = async {
            let mut n = 0u64;
            while let Some(e) = errors.recv().await {
                anstream::eprintln!("tamperwatch: {e}");
                n += 1;
            }
            n
        };
        let (_, enqueued, failed_listings) = tokio::join!(listing, enqueueing, listing_errors);
        let (files, messages) = enqueued?;
        if !args.quiet {
            let verb = if args.dry_run {
                "would enqueue"
            } else {
                "enqueued"
            };
            anstream::eprintln!(
                "tamperwatch: {verb} {files} log file(s) of {url} in {messages} message(s) to {}{}",
                queue.url(),
                if failed_listings > 0 {
                    format!("; {failed_listings} folder(s) could not be listed")
                } else {
                    String::new()
                }
            );
        }
        Ok(if failed_listings > 0 {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        })
    })
}
