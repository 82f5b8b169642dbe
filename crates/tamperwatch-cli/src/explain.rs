//! Noise control in `tamperwatch scan`: the suppressions, never-suppressible rules and staging
//! of a config file (`--config`, the Lambda's file) apply to a scan as they do to alerts.
//! Findings they hide are left out of the output and counted in the summary, never dropped
//! silently; `--explain` shows every finding, hidden or not, with which suppression applied or
//! why none did.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use jiff::Timestamp;
use serde_json::json;
use tamperwatch_noise::{Explanation, Policy, Subject, Verdict};
use tamperwatch_sinks::Config;

use crate::cli::{Format, ScanArgs};
use crate::output::{for_terminal, level_style, located_json, summary_line};
use crate::scan::ScanResult;

/// The policy a scan applies.
#[derive(Debug, Default)]
pub struct Noise {
    policy: Policy,
}

impl Noise {
    /// The policy of the config file at `path`; without one, nothing is hidden.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Noise> {
        let Some(path) = path else {
            return Ok(Noise::default());
        };
        let config = Config::from_toml_file(path)?;
        config
            .check()
            .with_context(|| format!("invalid config file {}", path.display()))?;
        Ok(Noise {
            policy: config.policy()?,
        })
    }
}

/// Decides every finding of `result` at the wall-clock time. With `--explain`, prints every
/// finding with its explanation (instead of the usual output; the summary line too unless
/// `quiet`) and returns true. Hidden findings are then removed from `result` and counted in
/// its summary.
pub fn apply(
    noise: &Noise,
    result: &mut ScanResult<'_>,
    args: &ScanArgs,
    quiet: bool,
) -> anyhow::Result<bool> {
    let now = Timestamp::now();
    let explanations: Vec<Explanation> = result
        .findings
        .iter()
        .map(|l| noise.policy.decide(&Subject::of(&l.finding), now))
        .collect();
    for (l, e) in result.findings.iter().zip(&explanations) {
        let s = &mut result.summary;
        match e.verdict {
            Verdict::Send => continue,
            Verdict::Suppressed => s.suppressed += 1,
            Verdict::Staged => s.staged += 1,
        }
        s.findings -= 1;
        if let Some(n) = s.by_level.get_mut(&l.finding.level) {
            *n -= 1;
            if *n == 0 {
                s.by_level.remove(&l.finding.level);
            }
        }
    }
    if args.explain {
        print(result, &explanations, args.format, quiet)?;
    }
    let mut keep = explanations.iter().map(|e| e.verdict == Verdict::Send);
    result.findings.retain(|_| keep.next().unwrap_or(true));
    Ok(args.explain)
}

fn print(
    result: &ScanResult<'_>,
    explanations: &[Explanation],
    format: Format,
    quiet: bool,
) -> anyhow::Result<()> {
    let mut out = anstream::stdout().lock();
    let pairs = result.findings.iter().zip(explanations);
    match format {
        Format::Table => {
            for (l, e) in pairs {
                let f = &l.finding;
                let style = level_style(f.level);
                writeln!(
                    out,
                    "{style}{:<13}{style:#} {} ({}) by {} in {}/{} at {}",
                    f.level.as_str().to_ascii_uppercase(),
                    for_terminal(f.rule.title()),
                    for_terminal(f.event.event_name.as_deref().unwrap_or("?")),
                    for_terminal(&f.actor.name),
                    for_terminal(f.event.account_id.as_deref().unwrap_or("?")),
                    for_terminal(f.event.region.as_deref().unwrap_or("?")),
                    for_terminal(f.event.event_time.as_deref().unwrap_or("?")),
                )?;
                writeln!(out, "              -> {}", for_terminal(&e.line()))?;
            }
            if !quiet {
                anstream::eprintln!("{}", summary_line(&result.summary));
            }
        }
        Format::Jsonl => {
            for (l, e) in pairs {
                let mut v = located_json(l);
                v["explanation"] = json!(e);
                serde_json::to_writer(&mut out, &v)?;
                out.write_all(b"\n")?;
            }
            if !quiet {
                anstream::eprintln!("{}", summary_line(&result.summary));
            }
        }
        Format::Json => {
            let findings: Vec<serde_json::Value> = pairs
                .map(|(l, e)| {
                    let mut v = located_json(l);
                    v["explanation"] = json!(e);
                    v
                })
                .collect();
            let doc = json!({"findings": findings, "summary": &result.summary});
            serde_json::to_writer_pretty(&mut out, &doc)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(())
}
