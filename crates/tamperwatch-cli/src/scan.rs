//! `tamperwatch scan`: inputs in, findings out, in parallel, in stable order.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rayon::prelude::*;
use tamperwatch_detect::{Detector, Finding};
use tamperwatch_event::{Keys, Limits, Location, ReadError, Record, Visit};
use tamperwatch_rules::{CorrelationFinding, Correlator, Level, Observation};

use crate::cli::{ScanArgs, SortOrder};
use crate::output;
use crate::rules::load_detector;

/// How many errors of one input are kept to print; the rest are counted.
const ERRORS_SHOWN_PER_INPUT: usize = 10;

/// One input: a file, or stdin.
#[derive(Debug, Clone)]
pub enum Input {
    /// A file.
    File(PathBuf),
    /// Standard input.
    Stdin,
}

impl Input {
    /// How the input is named in output.
    pub fn name(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::Stdin => "-".to_owned(),
        }
    }
}

/// A finding and where its record was found.
#[derive(Debug)]
pub struct Located<'r> {
    /// The finding.
    pub finding: Finding<'r>,
    /// The input's name.
    pub input: String,
    /// Where in the input.
    pub at: Location,
}

/// A problem with (part of) an input.
#[derive(Debug, Clone)]
pub struct InputError {
    /// The input's name.
    pub input: String,
    /// Where in the input, if the problem is with part of it.
    pub at: Option<Location>,
    /// What is wrong.
    pub message: String,
}

/// Everything a scan produced.
#[derive(Debug, Default)]
pub struct ScanResult<'r> {
    /// Findings, in output order (without those of rules that only feed a correlation).
    pub findings: Vec<Located<'r>>,
    /// Correlation findings, in event-time order.
    pub correlations: Vec<CorrelationFinding>,
    /// Problems, as many as are shown.
    pub errors: Vec<InputError>,
    /// Counts.
    pub summary: Summary,
}

/// The counts printed at the end of a scan.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Summary {
    /// Inputs read (files, and stdin).
    pub inputs: u64,
    /// Records read.
    pub records: u64,
    /// Findings, all levels (correlation findings included).
    pub findings: u64,
    /// Correlation findings.
    pub correlations: u64,
    /// Findings by effective level.
    #[serde(serialize_with = "serialize_levels")]
    pub by_level: BTreeMap<Level, u64>,
    /// Records or inputs that could not be read (each counted, even those not shown).
    pub errors: u64,
    /// Wall-clock time.
    #[serde(serialize_with = "serialize_seconds")]
    pub elapsed: Duration,
}

fn serialize_levels<S: serde::Serializer>(
    levels: &BTreeMap<Level, u64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(levels.iter().rev().map(|(level, n)| (level.as_str(), n)))
}

fn serialize_seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Runs `tamperwatch scan`.
pub fn run(args: &ScanArgs) -> anyhow::Result<ExitCode> {
    let detector = load_detector(&args.rules)?;
    if let Some(threads) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build_global()
            .context("starting worker threads")?;
    }
    let limits = Limits {
        max_decompressed: args.max_file_size,
        ..Limits::default()
    };
    let started = Instant::now();
    let (inputs, mut walk_errors) = expand(&args.paths);
    let mut result = scan(&detector, &inputs, &limits);
    result.summary.errors += walk_errors.len() as u64;
    walk_errors.append(&mut result.errors);
    result.errors = walk_errors;
    result.summary.elapsed = started.elapsed();
    if args.sort == SortOrder::Time {
        // A stable sort: findings with the same time stay in input order.
        result
            .findings
            .sort_by(|a, b| a.finding.event.event_time.cmp(&b.finding.event.event_time));
    }
    output::print_scan(&result, args.format, args.quiet)?;
    if args.notify {
        crate::notify::send_findings(result.findings.iter().map(|l| &l.finding))?;
    }
    Ok(if result.summary.errors > 0 {
        ExitCode::from(2)
    } else if result.summary.findings > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Scans inputs in parallel; results come back in input order whatever the scheduling.
pub fn scan<'r>(detector: &'r Detector, inputs: &[Input], limits: &Limits) -> ScanResult<'r> {
    let per_input: Vec<InputResult<'r>> = inputs
        .par_iter()
        .map(|input| scan_input(detector, input, limits))
        .collect();
    let mut result = ScanResult::default();
    let mut observations = Vec::new();
    for r in per_input {
        result.summary.inputs += 1;
        result.summary.records += r.records;
        result.summary.errors += r.error_count;
        for f in &r.findings {
            result.summary.findings += 1;
            *result.summary.by_level.entry(f.finding.level).or_default() += 1;
        }
        result.findings.extend(r.findings);
        result.errors.extend(r.errors);
        observations.extend(r.observations);
    }
    result.correlations = correlate(detector, observations);
    for c in &result.correlations {
        result.summary.findings += 1;
        result.summary.correlations += 1;
        *result.summary.by_level.entry(c.level).or_default() += 1;
    }
    result
}

/// Runs the correlation rules over every input's observations at once, in event-time order
/// (records of one account and time are spread over many log files).
fn correlate(detector: &Detector, mut observations: Vec<Observation>) -> Vec<CorrelationFinding> {
    let mut found = Vec::new();
    if observations.is_empty() {
        return found;
    }
    // Stable: observations of one time stay in input order.
    observations.sort_by_key(|o| o.time);
    let mut correlator = Correlator::new(detector.rules());
    for o in observations {
        correlator.push(o, &mut found);
    }
    found
}

struct InputResult<'r> {
    records: u64,
    findings: Vec<Located<'r>>,
    observations: Vec<Observation>,
    errors: Vec<InputError>,
    error_count: u64,
}

fn scan_input<'r>(detector: &'r Detector, input: &Input, limits: &Limits) -> InputResult<'r> {
    let name = input.name();
    let mut visit = ScanVisit {
        detector,
        result: InputResult {
            records: 0,
            findings: Vec::new(),
            observations: Vec::new(),
            errors: Vec::new(),
            error_count: 0,
        },
        name: &name,
        buffer: Vec::new(),
    };
    match read_input(input, limits.max_decompressed) {
        Ok(bytes) => tamperwatch_event::read(&bytes, limits, &mut visit),
        Err(e) => visit.push_error(None, format!("{e:#}")),
    }
    visit.result
}

struct ScanVisit<'r, 'n> {
    detector: &'r Detector,
    result: InputResult<'r>,
    name: &'n str,
    buffer: Vec<Finding<'r>>,
}

impl ScanVisit<'_, '_> {
    fn push_error(&mut self, at: Option<Location>, message: String) {
        self.result.error_count += 1;
        if self.result.errors.len() < ERRORS_SHOWN_PER_INPUT {
            self.result.errors.push(InputError {
                input: self.name.to_owned(),
                at,
                message,
            });
        }
    }
}

impl Visit for ScanVisit<'_, '_> {
    fn wants(&mut self, keys: &Keys<'_>) -> bool {
        self.detector.could_match(keys)
    }

    fn skipped(&mut self, _at: Location) {
        self.result.records += 1;
    }

    fn record(&mut self, at: Location, record: Record<'_>) {
        self.result.records += 1;
        if let Err(e) =
            self.detector
                .detect_observed(&record, &mut self.buffer, &mut self.result.observations)
        {
            self.push_error(Some(at), e.to_string());
        }
        // Rules silenced by a correlation (`generate: false`) only feed it.
        for finding in self.buffer.drain(..).filter(|f| f.rule.generates()) {
            self.result.findings.push(Located {
                finding,
                input: self.name.to_owned(),
                at,
            });
        }
    }

    fn error(&mut self, at: Location, error: ReadError) {
        self.push_error(Some(at), error.to_string());
    }
}

/// Reads a whole input, refusing one larger than `limit` bytes.
fn read_input(input: &Input, limit: u64) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    match input {
        Input::File(path) => {
            let file = std::fs::File::open(path).context("cannot open")?;
            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
            if len > limit {
                anyhow::bail!("file is {len} bytes, larger than --max-file-size {limit}");
            }
            file.take(limit + 1)
                .read_to_end(&mut bytes)
                .context("cannot read")?;
        }
        Input::Stdin => {
            std::io::stdin()
                .lock()
                .take(limit + 1)
                .read_to_end(&mut bytes)
                .context("cannot read stdin")?;
        }
    }
    if bytes.len() as u64 > limit {
        anyhow::bail!("input is larger than --max-file-size {limit}");
    }
    Ok(bytes)
}

/// Turns the paths given into inputs: folders are walked recursively in name order, taking the
/// files whose names end in [`RECORD_FILE_ENDINGS`] and leaving out hidden entries and
/// CloudTrail's digest files (`CloudTrail-Digest/`, which hold no records). A file named on the
/// command line is always read, whatever its name.
pub fn expand(paths: &[PathBuf]) -> (Vec<Input>, Vec<InputError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path == Path::new("-") {
            inputs.push(Input::Stdin);
            continue;
        }
        let walker = walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !skipped(e));
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_file() => inputs.push(Input::File(e.into_path())),
                Ok(_) => {}
                Err(e) => errors.push(InputError {
                    input: e.path().unwrap_or(path).display().to_string(),
                    at: None,
                    message: e
                        .io_error()
                        .map_or_else(|| e.to_string(), ToString::to_string),
                }),
            }
        }
    }
    (inputs, errors)
}

/// The endings of the files a folder scan reads: CloudTrail log files (`.json.gz`), JSON, JSON
/// Lines and anything gzipped. A README or a checksum beside the logs is not an input.
pub const RECORD_FILE_ENDINGS: [&str; 5] = [".json", ".gz", ".jsonl", ".ndjson", ".log"];

fn skipped(entry: &walkdir::DirEntry) -> bool {
    let name = entry.file_name().to_string_lossy();
    if name.starts_with('.') {
        return true;
    }
    if entry.file_type().is_dir() {
        return name == "CloudTrail-Digest";
    }
    let lower = name.to_ascii_lowercase();
    !RECORD_FILE_ENDINGS
        .iter()
        .any(|ending| lower.ends_with(ending))
}
