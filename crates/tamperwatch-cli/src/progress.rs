//! The progress line of a long scan: files, bytes, records per second, findings.
//!
//! Drawn on stderr, and only when a person is watching: stderr and stdout both terminals (so
//! `| less` and `> findings.json` stay clean), never with `--quiet`.
//! Workers only bump atomic counters; indicatif redraws ten times a second from them.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// What has been done so far.
#[derive(Debug, Default)]
pub struct Counters {
    /// Inputs finished.
    pub inputs: AtomicU64,
    /// Bytes read (as stored: compressed files count compressed).
    pub bytes: AtomicU64,
    /// Records read.
    pub records: AtomicU64,
    /// Findings.
    pub findings: AtomicU64,
}

/// Counters, and the line that shows them when someone watches.
#[derive(Debug)]
pub struct Progress {
    counters: Arc<Counters>,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A progress line on stderr if it should be shown (see the module documentation).
    pub fn new(quiet: bool) -> Progress {
        let watched = std::io::stderr().is_terminal() && std::io::stdout().is_terminal();
        let counters = Arc::new(Counters::default());
        let bar = (!quiet && watched).then(|| line(&counters));
        Progress { counters, bar }
    }

    /// Counts nothing visibly.
    pub fn hidden() -> Progress {
        Progress {
            counters: Arc::default(),
            bar: None,
        }
    }

    /// Counts one finished input.
    pub fn input(&self, bytes: u64, records: u64, findings: u64) {
        let c = &self.counters;
        c.inputs.fetch_add(1, Relaxed);
        c.bytes.fetch_add(bytes, Relaxed);
        c.records.fetch_add(records, Relaxed);
        c.findings.fetch_add(findings, Relaxed);
    }

    /// Removes the line, so that what follows prints on a clean terminal.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

fn line(counters: &Arc<Counters>) -> ProgressBar {
    let c = Arc::clone(counters);
    let status = move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
        let records = c.records.load(Relaxed);
        let millis = u64::try_from(state.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let _ = write!(
            w,
            "{} files, {}, {} records ({}/s), {} findings",
            c.inputs.load(Relaxed),
            indicatif::HumanBytes(c.bytes.load(Relaxed)),
            indicatif::HumanCount(records),
            indicatif::HumanCount(records.saturating_mul(1000) / millis),
            c.findings.load(Relaxed),
        );
    };
    let style = ProgressStyle::with_template("{spinner} {elapsed} {status}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .with_key("status", status);
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(style);
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}
