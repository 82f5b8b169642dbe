//! `tamperwatch config check FILE [--against PATH]`: is the config file what its author meant,
//! and what would its suppressions have hidden?

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use jiff::Timestamp;
use tamperwatch_archive::layout::Filter;
use tamperwatch_event::Limits;
use tamperwatch_noise::check::{KnownRule, Severity, check};
use tamperwatch_noise::{Subject, Verdict};
use tamperwatch_sinks::{Config, LoadConfigError};

use crate::cli::RuleArgs;
use crate::output::for_terminal;
use crate::progress::Progress;
use crate::rules::load_detector;
use crate::scan::{local_jobs, scan};

/// `tamperwatch config check`.
#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// The TOML config file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// CloudTrail files or folders (as `scan` reads them): report what each suppression would
    /// have hidden in them. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub against: Vec<PathBuf>,
    /// Check expiry at this time (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME")]
    pub at: Option<Timestamp>,
    /// Which rules (suppressions may name rules of --rules too).
    #[command(flatten)]
    pub rules: RuleArgs,
}

/// Runs `tamperwatch config check`.
pub fn run(args: &CheckConfigArgs) -> anyhow::Result<ExitCode> {
    let name = args.file.display().to_string();
    let config = match Config::from_toml_file(&args.file) {
        Ok(c) => c,
        Err(e @ LoadConfigError::Read { .. }) => return Err(e.into()),
        Err(e) => {
            anstream::println!("error: {}", for_terminal(&e.to_string()));
            return Ok(ExitCode::from(1));
        }
    };
    let detector = load_detector(&args.rules)?;
    let now = args.at.unwrap_or_else(Timestamp::now);
    let mut errors = 0;
    let mut warnings = 0;
    if let Err(e) = config.check() {
        anstream::println!("error: {name}: {}", for_terminal(&e.to_string()));
        errors += 1;
    }
    let known: Vec<KnownRule<'_>> = detector
        .rules()
        .rules()
        .iter()
        .map(|r| KnownRule {
            id: r.id(),
            tags: r.tags(),
        })
        .collect();
    for p in check(&config.noise, &config.suppress, &known, now) {
        match p.severity {
            Severity::Error => errors += 1,
            Severity::Warning => warnings += 1,
        }
        anstream::println!("{}", for_terminal(&p.to_string()));
    }
    if errors == 0 && !args.against.is_empty() {
        warnings += against(&config, &detector, args, now)?;
    }
    anstream::println!(
        "{name}: {} suppression(s), {errors} error(s), {warnings} warning(s)",
        config.suppress.len()
    );
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Default)]
struct Hidden {
    findings: u64,
    rules: BTreeSet<String>,
    principals: BTreeSet<String>,
}

/// Scans the archive and prints what each suppression would have hidden; returns the number
/// of warnings (suppressions that hid nothing).
fn against(
    config: &Config,
    detector: &tamperwatch_detect::Detector,
    args: &CheckConfigArgs,
    now: Timestamp,
) -> anyhow::Result<usize> {
    let policy = config.policy().context("building the policy")?;
    let paths: Vec<(usize, PathBuf)> = args.against.iter().cloned().enumerate().collect();
    let result = scan(
        detector,
        local_jobs(&paths),
        &Limits::default(),
        &Filter::default(),
        &Progress::new(true),
    );
    let mut by_name: BTreeMap<String, Hidden> = BTreeMap::new();
    let mut shown = 0;
    let mut overridden = 0;
    for l in &result.findings {
        let e = policy.decide(&Subject::of(&l.finding), now);
        overridden += u64::from(!e.overridden.is_empty());
        let name = match (e.verdict, &e.suppression) {
            (Verdict::Suppressed, Some(s)) => s.name.clone(),
            (Verdict::Staged, _) => "(staging)".to_owned(),
            _ => {
                shown += 1;
                continue;
            }
        };
        let h = by_name.entry(name).or_default();
        h.findings += 1;
        h.rules.insert(l.finding.rule.id().to_owned());
        let actor = &l.finding.actor;
        h.principals
            .insert(actor.arn.clone().unwrap_or_else(|| actor.name.clone()));
    }
    anstream::println!(
        "against {} input(s), {} record(s): {} finding(s), {} shown, {} hidden{}",
        result.summary.inputs,
        result.summary.records,
        result.findings.len(),
        shown,
        result.findings.len() as u64 - shown,
        if overridden > 0 {
            format!(", {overridden} never-suppressible finding(s) a suppression matched")
        } else {
            String::new()
        }
    );
    let mut warnings = 0;
    for s in &config.suppress {
        match by_name.get(&s.name) {
            Some(h) => {
                let principals: Vec<&str> = h.principals.iter().map(String::as_str).collect();
                anstream::println!(
                    "  {}: would hide {} finding(s) of {} rule(s) by {}",
                    for_terminal(&s.name),
                    h.findings,
                    h.rules.len(),
                    for_terminal(&principals.join(", "))
                );
            }
            None => {
                warnings += 1;
                anstream::println!(
                    "warning: suppression {:?}: would hide nothing in this archive",
                    s.name
                );
            }
        }
    }
    if let Some(h) = by_name.get("(staging)") {
        anstream::println!("  staging: would hold back {} finding(s)", h.findings);
    }
    let unreadable = result.summary.errors;
    if unreadable > 0 {
        anstream::println!("warning: {unreadable} input(s) or record(s) could not be read");
        warnings += 1;
    }
    Ok(warnings)
}
