//! `tamperwatch rules lint`: the mistakes that make a rule silently miss.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use serde_json::json;
use tamperwatch_rules::{Check, Diagnostic, Severity, lint, rule_files};

use crate::cli::Format;
use crate::output::for_terminal;

/// Runs `tamperwatch rules lint`: exit code 1 when any error is found, 0 otherwise (warnings
/// alone do not fail).
pub fn run(paths: &[PathBuf], format: Format) -> anyhow::Result<ExitCode> {
    let mut diagnostics = Vec::new();
    let mut files = 0usize;
    for path in paths {
        let (found, unreadable) = rule_files(path);
        for e in unreadable {
            diagnostics.push(Diagnostic {
                severity: Severity::Error,
                check: Check::Refused,
                origin: path.display().to_string(),
                rule: "-".to_owned(),
                message: e.to_string(),
            });
        }
        for file in found {
            files += 1;
            let origin = file.display().to_string();
            match std::fs::read_to_string(&file) {
                Ok(text) => diagnostics.extend(lint(&text, &origin)),
                Err(e) => diagnostics.push(Diagnostic {
                    severity: Severity::Error,
                    check: Check::Refused,
                    origin,
                    rule: "-".to_owned(),
                    message: format!("cannot read: {e}"),
                }),
            }
        }
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics.len() - errors;
    let mut out = anstream::stdout().lock();
    match format {
        Format::Table => {
            let red = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
            let yellow = Style::new().fg_color(Some(AnsiColor::Yellow.into()));
            for d in &diagnostics {
                let style = if d.severity == Severity::Error {
                    red
                } else {
                    yellow
                };
                writeln!(
                    out,
                    "{}: {style}{}{style:#} [{}] {}: {}",
                    for_terminal(&d.origin),
                    d.severity,
                    d.check,
                    for_terminal(&d.rule),
                    for_terminal(&d.message)
                )?;
            }
            anstream::eprintln!("linted {files} file(s): {errors} error(s), {warnings} warning(s)");
        }
        Format::Jsonl => {
            for d in &diagnostics {
                serde_json::to_writer(&mut out, &diagnostic_json(d))?;
                writeln!(out)?;
            }
        }
        Format::Json => {
            let doc = json!({
                "diagnostics": diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
                "summary": {"files": files, "errors": errors, "warnings": warnings},
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn diagnostic_json(d: &Diagnostic) -> serde_json::Value {
    json!({
        "file": d.origin, "rule": d.rule, "severity": d.severity.as_str(),
        "check": d.check.as_str(), "message": d.message,
    })
}
