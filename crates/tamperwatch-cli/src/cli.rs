//! The command line: every subcommand, flag and environment variable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Find tampering with AWS security services in CloudTrail.
///
/// Exit codes: 0 no findings (or success), 1 findings (or failed rule tests), 2 errors (bad
/// input, unreadable files, bad rules; findings are still printed).
#[derive(Debug, Parser)]
#[command(name = "tamperwatch", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan CloudTrail records (files, folders, `-` for stdin) for tampering.
    Scan(ScanArgs),
    /// List, show, test and export detection rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Are the security services on, in every account and region? `--fix` puts them back.
    /// Exit codes: 0 all pass, 1 failures, 2 could not run (or some checks could not be made).
    Check(crate::check::CheckArgs),
    /// Send alerts for the findings in CloudTrail events, through the channels configured by
    /// TAMPERWATCH_* variables or --config (the Lambda's code path); `--test` sends a marked
    /// test alert through every channel. Exit codes: 0 delivered, 2 a delivery failed.
    Notify(crate::notify::NotifyArgs),
    /// Enqueue an S3 archive's log files for the deployed Lambda fleet to scan (an S3 event
    /// notification per group of files, to the stack's queue). Exit codes: 0 enqueued, 2 some
    /// folders could not be listed (the rest was enqueued).
    Backfill(crate::backfill::BackfillArgs),
    /// Check configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `tamperwatch config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file: unknown keys, expired windows, patterns that match nothing
    /// plausible, suppressions aimed at never-suppressible rules; with --against, what each
    /// suppression would have hidden in an archive. Exit codes: 0 valid, 1 errors found, 2
    /// could not run.
    Check(crate::config_check::CheckConfigArgs),
}

/// Which rules to use: the built-in catalog and the user's own.
#[derive(Debug, Args, Clone)]
pub struct RuleArgs {
    /// A Sigma rule file or folder (searched recursively) to use beside the built-in catalog.
    /// Repeatable.
    #[arg(
        long = "rules",
        value_name = "PATH",
        env = "TAMPERWATCH_RULES",
        value_delimiter = ','
    )]
    pub rules: Vec<PathBuf>,
    /// Leave the built-in catalog out: use only the rules given with --rules.
    #[arg(long)]
    pub no_builtin: bool,
}

/// `tamperwatch scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// What to scan: files and folders (folders recursively), `-` for stdin,
    /// `s3://BUCKET[/PREFIX]` (CloudTrail's layout is understood: the filters below skip
    /// whole folders), or `sqs://QUEUE_URL` (followed until stopped: each new-log-file
    /// notification's files are scanned, then the message deleted). Any envelope: CloudTrail
    /// log files (gzipped or not), EventBridge events, JSON arrays, JSON Lines, CloudWatch Logs
    /// subscription payloads, LookupEvents output.
    #[arg(value_name = "PATH", required_unless_present = "lookup")]
    pub paths: Vec<PathBuf>,
    /// Also ask CloudTrail's LookupEvents (the last 90 days of management events, no trail
    /// needed) in --regions (default: the configured region).
    #[arg(long)]
    pub lookup: bool,
    /// Which records: time, accounts, regions.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// S3 objects downloaded at once.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub concurrency: usize,
    /// Attempts per AWS call (throttling is retried with backoff; LookupEvents allows two
    /// calls a second).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 8,
        env = "TAMPERWATCH_MAX_ATTEMPTS"
    )]
    pub max_attempts: u32,
    /// With sqs://: stop once the queue is empty instead of waiting for more.
    #[arg(long)]
    pub drain: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Order of findings: as found in the input, or by event time.
    #[arg(long, value_enum, default_value_t = SortOrder::Input)]
    pub sort: SortOrder,
    /// No progress line and no summary line on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// The most bytes one input file may hold, or decompress to (guards against gzip bombs).
    #[arg(long, value_name = "BYTES", default_value_t = 256 * 1024 * 1024)]
    pub max_file_size: u64,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// Also send each finding as an alert through the configured channels, as `tamperwatch
    /// notify` does (TAMPERWATCH_* variables, or the file TAMPERWATCH_CONFIG names).
    #[arg(long)]
    pub notify: bool,
    /// The config file whose suppressions, never-suppressible rules and staging apply (the
    /// Lambda's file). Findings it hides are counted in the summary, not shown.
    #[arg(long, value_name = "FILE", env = "TAMPERWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Show every finding with which suppression applied, or why none did (hidden ones too).
    #[arg(long)]
    pub explain: bool,
    /// Which rules.
    #[command(flatten)]
    pub rules: RuleArgs,
}

/// Which records count, for `scan` and `backfill`; in an S3 archive they also skip whole
/// folders of CloudTrail's layout.
#[derive(Debug, Args, Clone)]
pub struct FilterArgs {
    /// Only records from this time on: RFC 3339, a date, or an age (30m, 12h, 7d, 2w).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only records up to this time: RFC 3339, a date, or an age (30m, 12h, 7d, 2w).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only these accounts (comma-separated).
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    pub accounts: Vec<String>,
    /// Only these regions (comma-separated); for --lookup, `all` is every enabled region.
    #[arg(long, value_name = "REGION,...", value_delimiter = ',')]
    pub regions: Vec<String>,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable table (colour on a terminal; NO_COLOR honoured).
    Table,
    /// One JSON document: findings, errors and the summary.
    Json,
    /// One finding per line, as JSON.
    Jsonl,
}

/// Orders of findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortOrder {
    /// As found: inputs in the order given (folders sorted by name), records in file order.
    Input,
    /// By eventTime, then as found.
    Time,
}

/// `tamperwatch rules ...`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules.
    List {
        /// Which rules.
        #[command(flatten)]
        rules: RuleArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show one rule: its documentation and its Sigma text.
    Show {
        /// The rule's id, or a unique part of its title or file name.
        rule: String,
        /// Which rules.
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Run rules' own tests (`tests: {match: [...], no_match: [...]}`). Without a PATH, the
    /// built-in catalog's.
    Test {
        /// Rule files or folders to test.
        paths: Vec<PathBuf>,
    },
    /// Check rule files for mistakes that make a rule silently miss (wrong event sources or
    /// names, unknown fields, no eventSource pin, rules evaluated on every record). Exit code 1
    /// when any error is found.
    Lint {
        /// Rule files or folders to check.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format (json and jsonl: one problem per line for jsonl, one document for json).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Write the rules out for other tools: the built-in catalog (and any --rules) as plain
    /// Sigma, one file per rule file.
    Export {
        /// What to write.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// The folder to write the files to (created if missing; files keep their path below
        /// `rules/` or the --rules folder). Without it, one multi-document YAML stream on stdout.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Which rules.
        #[command(flatten)]
        rules: RuleArgs,
    },
}

/// What `tamperwatch rules export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Plain Sigma: each rule file without tamperwatch's own `tests` and `response` keys.
    Sigma,
    /// EventBridge event patterns that let through every CloudTrail event the rules could
    /// alert on: a JSON array with one pattern per EventBridge rule (each within EventBridge's
    /// 2048-character limit), written to stdout or to `eventbridge-patterns.json` in --out.
    Eventbridge,
}
