//! `tamperwatch rules ...`, and loading the rules every command uses.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use anyhow::{Context as _, bail};
use serde_json::json;
use tamperwatch_detect::Detector;
use tamperwatch_rules::{Correlation, Rule, RuleSet};

use crate::cli::{Format, RuleArgs, RulesCommand};
use crate::output::{for_terminal, level_style};

/// The built-in catalog (unless `--no-builtin`) and every `--rules` path. A user rule file that
/// does not compile is an error: running with part of the rules someone asked for would
/// silently miss what the rest would catch.
pub fn load_detector(args: &RuleArgs) -> anyhow::Result<Detector> {
    let mut set = if args.no_builtin {
        RuleSet::new()
    } else {
        tamperwatch_catalog::load().context("loading the built-in catalog")?
    };
    load_paths(&mut set, &args.rules)?;
    if set.is_empty() {
        bail!("no rules: --no-builtin needs at least one --rules PATH");
    }
    Ok(Detector::new(set))
}

fn load_paths(set: &mut RuleSet, paths: &[PathBuf]) -> anyhow::Result<()> {
    let mut refused = Vec::new();
    for path in paths {
        let report = set.load_path(path);
        refused.extend(report.refused.into_iter().map(|error| error.to_string()));
    }
    if !refused.is_empty() {
        bail!(
            "{} rule file(s) refused:\n  {}",
            refused.len(),
            refused.join("\n  ")
        );
    }
    // Correlations may refer to rules of any path (or the catalog): link once all are loaded.
    if let Err(errors) = set.link_correlations() {
        bail!(
            "{} correlation rule(s) refused:\n  {}",
            errors.len(),
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }
    Ok(())
}

/// Runs `tamperwatch rules ...`.
pub fn run(command: RulesCommand) -> anyhow::Result<ExitCode> {
    match command {
        RulesCommand::List { rules, format } => list(&load_detector(&rules)?, format),
        RulesCommand::Show { rule, rules } => show(&load_detector(&rules)?, &rule),
        RulesCommand::Test { paths } => test(&paths),
        RulesCommand::Lint { paths, format } => crate::lint::run(&paths, format),
        RulesCommand::Export { format, out, rules } => {
            crate::export::run(format, out.as_deref(), &rules)
        }
    }
}

/// A rule or a correlation rule, as `list` and `show` present them.
#[derive(Clone, Copy)]
enum Listed<'a> {
    Rule(&'a Rule),
    Correlation(&'a Correlation),
}

macro_rules! either {
    ($self:expr, $r:ident => $e:expr) => {
        match $self {
            Listed::Rule($r) => $e,
            Listed::Correlation($r) => $e,
        }
    };
}

impl<'a> Listed<'a> {
    fn all(set: &'a RuleSet) -> Vec<Listed<'a>> {
        let rules = set.rules().iter().map(Listed::Rule);
        rules
            .chain(set.correlations().iter().map(Listed::Correlation))
            .collect()
    }

    fn id(self) -> &'a str {
        either!(self, r => r.id())
    }
    fn title(self) -> &'a str {
        either!(self, r => r.title())
    }
    fn level(self) -> tamperwatch_rules::Level {
        either!(self, r => r.level())
    }
    fn origin(self) -> &'a str {
        either!(self, r => r.origin())
    }
    fn tags(self) -> &'a [String] {
        either!(self, r => r.tags())
    }
    fn description(self) -> Option<&'a str> {
        either!(self, r => r.description())
    }
    fn response(self) -> Option<&'a str> {
        either!(self, r => r.response())
    }
    fn falsepositives(self) -> &'a [String] {
        either!(self, r => r.falsepositives())
    }
    fn references(self) -> &'a [String] {
        either!(self, r => r.references())
    }
    fn sigma_yaml(self) -> &'a str {
        either!(self, r => r.sigma_yaml())
    }

    /// `cloudtrail:StopLogging,DeleteTrail`, `any` for rules keyed on something else, and for
    /// a correlation what it counts: `correlation temporal of 6 rules by userIdentity.arn in 1h`.
    fn events(self) -> String {
        match self {
            Listed::Rule(rule) => events(rule),
            Listed::Correlation(c) => format!(
                "correlation {} of {} rule{} by {} in {}",
                c.kind().as_str(),
                c.rule_refs().len(),
                if c.rule_refs().len() == 1 { "" } else { "s" },
                c.group_by().join(","),
                c.timespan()
            ),
        }
    }

    fn json(self) -> serde_json::Value {
        let mut v = json!({
            "id": self.id(), "title": self.title(), "level": self.level().to_string(),
            "tags": self.tags(), "file": self.origin(),
        });
        match self {
            Listed::Rule(rule) => {
                v["eventSources"] = json!(rule.event_sources());
                v["eventNames"] = json!(rule.event_names());
            }
            Listed::Correlation(c) => {
                v["correlation"] = json!({
                    "type": c.kind().as_str(), "rules": c.rule_refs(),
                    "groupBy": c.group_by(), "timespan": c.timespan(),
                });
            }
        }
        v
    }
}

fn list(detector: &Detector, format: Format) -> anyhow::Result<ExitCode> {
    let rules = Listed::all(detector.rules());
    let mut out = anstream::stdout().lock();
    match format {
        Format::Table => {
            let width = rules
                .iter()
                .map(|r| r.title().chars().count())
                .max()
                .unwrap_or(0);
            let bold = Style::new().bold();
            writeln!(
                out,
                "{bold}{:<36}  {:<13}  {:<width$}  EVENTS{bold:#}",
                "ID", "LEVEL", "TITLE"
            )?;
            for rule in rules {
                let style = level_style(rule.level());
                let level = format!("{:<13}", rule.level().to_string());
                writeln!(
                    out,
                    "{:<36}  {style}{level}{style:#}  {:<width$}  {}",
                    rule.id(),
                    rule.title(),
                    rule.events()
                )?;
            }
        }
        Format::Json | Format::Jsonl => {
            for rule in rules {
                serde_json::to_writer(&mut out, &rule.json())?;
                writeln!(out)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `cloudtrail:StopLogging,DeleteTrail`, or `any` for rules keyed on something else.
fn events(rule: &Rule) -> String {
    let sources = rule.event_sources().unwrap_or_default();
    let names = rule.event_names().unwrap_or_default();
    let sources: Vec<&str> = sources
        .iter()
        .map(|s| s.strip_suffix(".amazonaws.com").unwrap_or(s))
        .collect();
    match (sources.is_empty(), names.is_empty()) {
        (true, true) => "any".to_owned(),
        (false, true) => format!("{}:*", sources.join("|")),
        (true, false) => format!("*:{}", names.join(",")),
        (false, false) => format!("{}:{}", sources.join("|"), names.join(",")),
    }
}

fn show(detector: &Detector, query: &str) -> anyhow::Result<ExitCode> {
    let rules = Listed::all(detector.rules());
    let needle = query.to_lowercase();
    let found: Vec<Listed<'_>> = match rules.iter().find(|r| r.id() == query) {
        Some(rule) => vec![*rule],
        None => rules
            .iter()
            .filter(|r| {
                r.title().to_lowercase().contains(&needle)
                    || r.origin().to_lowercase().contains(&needle)
            })
            .copied()
            .collect(),
    };
    let rule = match found.as_slice() {
        [rule] => *rule,
        [] => bail!("no rule matches {query:?}; `tamperwatch rules list` shows them all"),
        many => bail!(
            "{} rules match {query:?}, be more specific:\n  {}",
            many.len(),
            many.iter()
                .map(|r| format!("{}  {}", r.id(), r.title()))
                .collect::<Vec<_>>()
                .join("\n  ")
        ),
    };
    let mut out = anstream::stdout().lock();
    let bold = Style::new().bold();
    let style = level_style(rule.level());
    writeln!(out, "{bold}{}{bold:#}", rule.title())?;
    writeln!(out, "id:      {}", rule.id())?;
    writeln!(out, "level:   {style}{}{style:#}", rule.level())?;
    writeln!(out, "file:    {}", rule.origin())?;
    writeln!(out, "events:  {}", rule.events())?;
    writeln!(out, "tags:    {}", rule.tags().join(", "))?;
    if let Some(d) = rule.description() {
        writeln!(out, "\n{}", d.trim_end())?;
    }
    if let Some(r) = rule.response() {
        writeln!(out, "\n{bold}What to do{bold:#}\n{}", r.trim_end())?;
    }
    if !rule.falsepositives().is_empty() {
        writeln!(out, "\n{bold}False positives{bold:#}")?;
        for fp in rule.falsepositives() {
            writeln!(out, "- {fp}")?;
        }
    }
    if !rule.references().is_empty() {
        writeln!(out, "\n{bold}References{bold:#}")?;
        for r in rule.references() {
            writeln!(out, "- {r}")?;
        }
    }
    writeln!(
        out,
        "\n{bold}Sigma{bold:#}\n{}",
        rule.sigma_yaml().trim_end()
    )?;
    Ok(ExitCode::SUCCESS)
}

fn test(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let set = if paths.is_empty() {
        tamperwatch_catalog::load().context("loading the built-in catalog")?
    } else {
        let mut set = RuleSet::new();
        load_paths(&mut set, paths)?;
        set
    };
    let rules = set.len() + set.correlations().len();
    let detector = Detector::new(set);
    let report = detector.run_rule_tests();
    let red = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
    let yellow = Style::new().fg_color(Some(AnsiColor::Yellow.into()));
    let mut out = anstream::stdout().lock();
    for f in &report.failures {
        writeln!(
            out,
            "{red}FAIL{red:#} {} {} ({}): {}",
            f.origin,
            f.case,
            f.rule_id,
            for_terminal(&f.reason)
        )?;
    }
    for u in &report.untested {
        writeln!(
            out,
            "{yellow}warning{yellow:#}: {u} lacks a match or a no_match test"
        )?;
    }
    writeln!(
        out,
        "{} rules: {} passed, {} failed",
        rules,
        report.passed,
        report.failures.len()
    )?;
    Ok(if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
