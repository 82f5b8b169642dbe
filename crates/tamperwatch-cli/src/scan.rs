//! `tamperwatch scan`: inputs in, findings out, in parallel, in stable order.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rayon::prelude::*;
use tamperwatch_archive::layout::{Filter, parse_time};
use tamperwatch_archive::sqs::queue_url;
use tamperwatch_archive::{Download, FetchError, S3Url};
use tamperwatch_detect::{Detector, Finding};
use tamperwatch_event::{Keys, Limits, Location, ReadError, Record, Visit};
use tamperwatch_rules::{CorrelationFinding, Correlator, Level, Observation};

use crate::cli::{FilterArgs, ScanArgs, SortOrder};
use crate::output;
use crate::progress::Progress;
use crate::rules::load_detector;

/// How many errors of one input are kept to print; the rest are counted.
const ERRORS_SHOWN_PER_INPUT: usize = 10;

/// One input: a file, stdin, or bytes fetched from AWS.
#[derive(Debug)]
pub enum Input {
    /// A file.
    File(PathBuf),
    /// Standard input.
    Stdin,
    /// An S3 object downloading: inflated as it streams in.
    Download {
        /// `s3://bucket/key`.
        name: String,
        /// Its bytes as stored, as they arrive.
        body: Download,
    },
    /// Bytes already read (an S3 object, a page of LookupEvents), or why they could not be.
    Loaded {
        /// How the input is named in output (`s3://bucket/key`, `lookup:REGION:...`).
        name: String,
        /// Its bytes, as stored.
        bytes: Result<Vec<u8>, String>,
    },
}

impl Input {
    /// How the input is named in output.
    pub fn name(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::Stdin => "-".to_owned(),
            Input::Download { name, .. } | Input::Loaded { name, .. } => name.clone(),
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
    /// Findings hidden by a suppression of --config (not in `findings`).
    #[serde(skip_serializing_if = "is_zero")]
    pub suppressed: u64,
    /// Findings of rules in staging (not in `findings`).
    #[serde(skip_serializing_if = "is_zero")]
    pub staged: u64,
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

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn serialize_seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Runs `tamperwatch scan`.
pub fn run(args: &ScanArgs) -> anyhow::Result<ExitCode> {
    let detector = load_detector(&args.rules)?;
    let noise = crate::explain::Noise::load(args.config.as_deref())?;
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
    let filter = record_filter(&args.filter)?;
    let sources = Sources::parse(&args.paths, args.lookup)?;
    if let Some(queue) = &sources.queue {
        return crate::follow::run(args, &detector, &noise, &limits, &filter, queue);
    }
    let started = Instant::now();
    let progress = Progress::new(args.quiet);
    let remote = crate::remote::start(args, &sources, &filter, &detector)?;
    let local = local_jobs(&sources.local);
    let jobs = local.chain(remote.into_iter().flatten());
    let mut result = scan(&detector, jobs, &limits, &filter, &progress);
    progress.finish();
    result.summary.elapsed = started.elapsed();
    if args.sort == SortOrder::Time {
        // A stable sort: findings with the same time stay in input order.
        result
            .findings
            .sort_by(|a, b| a.finding.event.event_time.cmp(&b.finding.event.event_time));
    }
    if !crate::explain::apply(&noise, &mut result, args, args.quiet)? {
        output::print_scan(&result, args.format, args.quiet)?;
    }
    if args.notify {
        crate::notify::send_findings(
            result.findings.iter().map(|l| &l.finding),
            args.config.as_deref(),
        )?;
    }
    Ok(exit_code(&result.summary))
}

/// 2 if anything could not be read, else 1 if anything was found, else 0.
pub fn exit_code(summary: &Summary) -> ExitCode {
    if summary.errors > 0 {
        ExitCode::from(2)
    } else if summary.findings > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `--since`, `--until`, `--accounts`, `--regions`: which records count. `all` regions
/// means no region filter.
pub fn record_filter(args: &FilterArgs) -> anyhow::Result<Filter> {
    let now = jiff::Timestamp::now();
    let time = |t: &Option<String>, flag: &str| {
        t.as_deref()
            .map(|t| parse_time(t, now).map_err(|e| anyhow::anyhow!("{flag}: {e}")))
            .transpose()
    };
    let filter = Filter {
        since: time(&args.since, "--since")?,
        until: time(&args.until, "--until")?,
        accounts: args.accounts.iter().cloned().collect(),
        regions: args
            .regions
            .iter()
            .filter(|r| *r != "all")
            .cloned()
            .collect(),
    };
    if let (Some(s), Some(u)) = (filter.since, filter.until)
        && s > u
    {
        anyhow::bail!("--since {s} is after --until {u}");
    }
    Ok(filter)
}

/// What the positional arguments name.
#[derive(Debug, Default)]
pub struct Sources {
    /// Files, folders and `-`, with their position on the command line.
    pub local: Vec<(usize, PathBuf)>,
    /// `s3://` archives, with their position.
    pub s3: Vec<(usize, S3Url)>,
    /// An `sqs://` queue to follow.
    pub queue: Option<String>,
    /// `--lookup`: CloudTrail LookupEvents, after everything else.
    pub lookup: bool,
}

impl Sources {
    /// Sorts the arguments; an `sqs://` queue must be the only one (it is followed until
    /// stopped, while other sources end).
    pub fn parse(paths: &[PathBuf], lookup: bool) -> anyhow::Result<Sources> {
        let mut sources = Sources {
            lookup,
            ..Sources::default()
        };
        for (i, path) in paths.iter().enumerate() {
            match path.to_str() {
                Some(s) if s.starts_with("s3://") => {
                    sources.s3.push((i, s.parse().map_err(anyhow::Error::msg)?));
                }
                Some(s) if s.starts_with("sqs://") => {
                    if paths.len() > 1 || lookup {
                        anyhow::bail!(
                            "an sqs:// queue is followed until stopped: scan it on its own"
                        );
                    }
                    sources.queue = Some(queue_url(s).map_err(anyhow::Error::msg)?);
                }
                _ => sources.local.push((i, path.clone())),
            }
        }
        Ok(sources)
    }

    /// Whether anything is read from AWS.
    pub fn remote(&self) -> bool {
        !self.s3.is_empty() || self.lookup
    }
}

/// One input to scan, and where its findings go in the output order: by the position of its
/// source on the command line, then its position within that source.
#[derive(Debug)]
pub struct Job {
    /// The output order.
    pub order: (usize, u64, u64),
    /// What to read.
    pub input: Input,
}

/// Scans inputs in parallel, as they come; findings come back in input order whatever the
/// scheduling. Only inputs with something to report are kept until the end, so memory does
/// not grow with the number of inputs.
pub fn scan<'r>(
    detector: &'r Detector,
    jobs: impl Iterator<Item = Job> + Send,
    limits: &Limits,
    filter: &Filter,
    progress: &Progress,
) -> ScanResult<'r> {
    let mut correlator = Correlator::new(detector.rules());
    scan_correlating(detector, jobs, limits, filter, progress, &mut correlator)
}

/// [`scan`], with the correlation rules' open windows in `correlator`, which may hold
/// observations of earlier scans (following a queue, one scan per message) and keeps those
/// of this one.
pub fn scan_correlating<'r>(
    detector: &'r Detector,
    jobs: impl Iterator<Item = Job> + Send,
    limits: &Limits,
    filter: &Filter,
    progress: &Progress,
    correlator: &mut Correlator,
) -> ScanResult<'r> {
    let (mut kept, summary) = jobs
        .par_bridge()
        .fold(
            || (Vec::new(), Summary::default()),
            |(mut kept, mut summary), job| {
                let r = scan_input(detector, job.input, limits, filter);
                progress.input(r.bytes, r.records, r.findings.len() as u64);
                summary.inputs += 1;
                summary.records += r.records;
                summary.errors += r.error_count;
                if !(r.findings.is_empty() && r.errors.is_empty() && r.observations.is_empty()) {
                    kept.push((job.order, r));
                }
                (kept, summary)
            },
        )
        .reduce(
            || (Vec::new(), Summary::default()),
            |(mut a, mut sa), (b, sb)| {
                a.extend(b);
                sa.inputs += sb.inputs;
                sa.records += sb.records;
                sa.errors += sb.errors;
                (a, sa)
            },
        );
    kept.sort_by_key(|(order, _)| *order);
    let mut result = ScanResult {
        summary,
        ..ScanResult::default()
    };
    let mut observations = Vec::new();
    for (_, r) in kept {
        for f in &r.findings {
            result.summary.findings += 1;
            *result.summary.by_level.entry(f.finding.level).or_default() += 1;
        }
        result.findings.extend(r.findings);
        result.errors.extend(r.errors);
        observations.extend(r.observations);
    }
    result.correlations = correlate(correlator, observations);
    for c in &result.correlations {
        result.summary.findings += 1;
        result.summary.correlations += 1;
        *result.summary.by_level.entry(c.level).or_default() += 1;
    }
    result
}

/// Runs the correlation rules over every input's observations at once, in event-time order
/// (records of one account and time are spread over many log files).
fn correlate(
    correlator: &mut Correlator,
    mut observations: Vec<Observation>,
) -> Vec<CorrelationFinding> {
    let mut found = Vec::new();
    // Stable: observations of one time stay in input order.
    observations.sort_by_key(|o| o.time);
    for o in observations {
        correlator.push(o, &mut found);
    }
    found
}

struct InputResult<'r> {
    bytes: u64,
    records: u64,
    findings: Vec<Located<'r>>,
    observations: Vec<Observation>,
    errors: Vec<InputError>,
    error_count: u64,
}

fn scan_input<'r>(
    detector: &'r Detector,
    input: Input,
    limits: &Limits,
    filter: &Filter,
) -> InputResult<'r> {
    let name = input.name();
    let mut visit = ScanVisit {
        detector,
        filter: (*filter != Filter::default()).then_some(filter),
        result: InputResult {
            bytes: 0,
            records: 0,
            findings: Vec::new(),
            observations: Vec::new(),
            errors: Vec::new(),
            error_count: 0,
        },
        name: &name,
        buffer: Vec::new(),
    };
    // The bytes as stored (compressed, for a log file) count toward the progress line.
    let mut stored = None;
    let bytes = match input {
        Input::Loaded { bytes, .. } => bytes,
        Input::Download { mut body, .. } => {
            let plain = tamperwatch_event::gunzip_reader(&mut body, limits.max_decompressed);
            stored = Some(body.bytes_read());
            plain.map_err(|e| match e {
                ReadError::Source(e) => match Download::fetch_error(&e) {
                    Some(e) => fetch_error_message(e),
                    None => format!("cannot read: {e}"),
                },
                e => e.to_string(),
            })
        }
        input => read_input(&input, limits.max_decompressed).map_err(|e| format!("{e:#}")),
    };
    match bytes {
        Ok(bytes) => {
            visit.result.bytes = stored.unwrap_or(bytes.len() as u64);
            tamperwatch_event::read(&bytes, limits, &mut visit);
        }
        Err(message) => visit.push_error(None, message),
    }
    visit.result
}

/// Why an S3 object could not be read, as a scan reports it.
pub fn fetch_error_message(e: &FetchError) -> String {
    match e {
        FetchError::Get { message, .. } => format!("cannot get: {message}"),
        FetchError::TooLarge { limit, .. } => format!("larger than --max-file-size {limit}"),
    }
}

struct ScanVisit<'r, 'n> {
    detector: &'r Detector,
    /// Set when some records are to be left out.
    filter: Option<&'n Filter>,
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
        if let Some(filter) = self.filter
            && !wanted(filter, &record)
        {
            return;
        }
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

/// Whether a record passes `--since`/`--until`/`--accounts`/`--regions`. A record whose time
/// cannot be read is kept: leaving it out could hide tampering.
fn wanted(filter: &Filter, record: &Record<'_>) -> bool {
    let time_ok = record
        .event_time
        .as_deref()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .is_none_or(|t| filter.time(t));
    time_ok
        && record.account_id().is_none_or(|a| filter.account(a))
        && record
            .aws_region
            .as_deref()
            .is_none_or(|r| filter.region(r))
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
        Input::Download { name, .. } | Input::Loaded { name, .. } => {
            anyhow::bail!("{name} is not a local input")
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

/// Turns the paths given into jobs, lazily: folders are walked recursively in name order
/// as the scan goes, taking the files whose names end in [`RECORD_FILE_ENDINGS`] and leaving
/// out hidden entries and CloudTrail's digest files (`CloudTrail-Digest/`, which hold no
/// records). A file named on the command line is always read, whatever its name. A folder
/// that cannot be read becomes an input that reports why.
pub fn local_jobs(paths: &[(usize, PathBuf)]) -> impl Iterator<Item = Job> + Send + '_ {
    paths.iter().flat_map(|(source, path)| {
        let stdin = (path == Path::new("-")).then_some(Input::Stdin);
        let walker = (stdin.is_none()).then(|| {
            walkdir::WalkDir::new(path)
                .follow_links(true)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| e.depth() == 0 || !skipped(e))
                .filter_map(move |entry| match entry {
                    Ok(e) if e.file_type().is_file() => Some(Input::File(e.into_path())),
                    Ok(_) => None,
                    Err(e) => Some(Input::Loaded {
                        name: e.path().unwrap_or(path).display().to_string(),
                        bytes: Err(e
                            .io_error()
                            .map_or_else(|| e.to_string(), ToString::to_string)),
                    }),
                })
        });
        stdin
            .into_iter()
            .chain(walker.into_iter().flatten())
            .zip(0u64..)
            .map(|(input, n)| Job {
                order: (*source, n, 0),
                input,
            })
    })
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
