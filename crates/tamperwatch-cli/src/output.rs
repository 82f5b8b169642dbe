//! Writing findings: a table for people, JSON for machines.
//!
//! Every field that comes from an event is text an attacker chose. On a terminal, control
//! characters (escape sequences, carriage returns) and bidirectional overrides are shown
//! escaped, so an event cannot rewrite the screen or disguise itself; JSON output is escaped by
//! the serializer.

use std::fmt::Write as _;
use std::io::Write;

use anstyle::{AnsiColor, Style};
use serde_json::json;
use tamperwatch_rules::Level;

use tamperwatch_rules::CorrelationFinding;

use crate::cli::Format;
use crate::scan::{InputError, Located, ScanResult, Summary};

/// Writes a scan's findings to stdout, and its errors and summary to stderr.
pub fn print_scan(result: &ScanResult<'_>, format: Format, quiet: bool) -> anyhow::Result<()> {
    let mut out = anstream::stdout().lock();
    match format {
        Format::Table => {
            write_table(&mut out, &result.findings)?;
            write_correlations(&mut out, &result.correlations, !result.findings.is_empty())?;
            print_errors(&result.errors);
            if !quiet {
                anstream::eprintln!("{}", summary_line(&result.summary));
            }
        }
        Format::Jsonl => {
            for f in &result.findings {
                serde_json::to_writer(&mut out, &located_json(f))?;
                out.write_all(b"\n")?;
            }
            for c in &result.correlations {
                serde_json::to_writer(&mut out, &correlation_json(c))?;
                out.write_all(b"\n")?;
            }
            print_errors(&result.errors);
            if !quiet {
                anstream::eprintln!("{}", summary_line(&result.summary));
            }
        }
        Format::Json => {
            let doc = json!({
                "findings": result.findings.iter().map(located_json).collect::<Vec<_>>(),
                "correlations": result.correlations.iter().map(correlation_json).collect::<Vec<_>>(),
                "errors": result.errors.iter().map(error_json).collect::<Vec<_>>(),
                "summary": &result.summary,
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// A finding as JSON, with where it was found.
pub fn located_json(f: &Located<'_>) -> serde_json::Value {
    let mut v =
        serde_json::to_value(&f.finding).unwrap_or_else(|e| json!({ "error": e.to_string() }));
    if let Some(map) = v.as_object_mut() {
        map.insert(
            "source".to_owned(),
            json!({ "input": f.input, "location": f.at.to_string() }),
        );
    }
    v
}

/// A correlation finding as JSON; in JSON Lines, `"type": "correlation"` tells it from a
/// finding of one record.
fn correlation_json(c: &CorrelationFinding) -> serde_json::Value {
    let group: serde_json::Map<String, serde_json::Value> =
        c.group.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    json!({
        "type": "correlation",
        "rule": {"id": c.rule_id, "title": c.title, "level": c.level.as_str(), "tags": c.tags},
        "level": c.level.as_str(),
        "correlationType": c.kind.as_str(),
        "group": group,
        "count": c.count,
        "values": c.values,
        "firstEventTime": c.first_event_time,
        "lastEventTime": c.last_event_time,
        "eventIDs": c.event_ids,
    })
}

const CORRELATION_COLUMNS: [&str; 6] = ["FIRST", "LAST", "LEVEL", "CORRELATION", "GROUP", "COUNT"];

/// Correlation findings as a second table, below the findings (a blank line between).
fn write_correlations(
    out: &mut impl Write,
    correlations: &[CorrelationFinding],
    after_findings: bool,
) -> std::io::Result<()> {
    if correlations.is_empty() {
        return Ok(());
    }
    if after_findings {
        writeln!(out)?;
    }
    let rows: Vec<(Level, [String; 6])> = correlations
        .iter()
        .map(|c| {
            let group = c
                .group
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("-")))
                .collect::<Vec<_>>()
                .join(" ");
            let count = if c.values.is_empty() {
                c.count.to_string()
            } else {
                format!("{} ({})", c.count, c.values.join(", "))
            };
            (
                c.level,
                [
                    cell(&c.first_event_time),
                    cell(&c.last_event_time),
                    c.level.to_string(),
                    cell(&c.title),
                    cell(&group),
                    cell(&count),
                ],
            )
        })
        .collect();
    write_rows(out, CORRELATION_COLUMNS, 2, &rows)
}

fn error_json(e: &InputError) -> serde_json::Value {
    json!({ "input": e.input, "location": e.at.map(|a| a.to_string()), "error": e.message })
}

fn print_errors(errors: &[InputError]) {
    let style = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
    for e in errors {
        let at = e.at.map(|a| format!(": {a}")).unwrap_or_default();
        anstream::eprintln!(
            "{style}error{style:#}: {}{at}: {}",
            for_terminal(&e.input),
            for_terminal(&e.message)
        );
    }
}

/// `scanned 3 files, 1,204 records in 0.02 s (60,200 records/s): 4 findings (1 critical, 3 high); 1 error`
pub fn summary_line(s: &Summary) -> String {
    let secs = s.elapsed.as_secs_f64();
    // Whole records per second: the fraction is noise.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rate = if secs > 0.0 {
        (s.records as f64 / secs) as u64
    } else {
        0
    };
    let mut line = format!(
        "scanned {} {}, {} records in {:.2} s ({} records/s): {} {}",
        s.inputs,
        plural(s.inputs, "input", "inputs"),
        thousands(s.records),
        secs,
        thousands(rate),
        thousands(s.findings),
        plural(s.findings, "finding", "findings"),
    );
    if !s.by_level.is_empty() {
        let parts: Vec<String> = s
            .by_level
            .iter()
            .rev()
            .map(|(level, n)| format!("{n} {level}"))
            .collect();
        let _ = write!(line, " ({})", parts.join(", "));
    }
    if s.suppressed + s.staged > 0 {
        let _ = write!(
            line,
            "; {} suppressed, {} staged (--explain shows them)",
            thousands(s.suppressed),
            thousands(s.staged)
        );
    }
    let _ = write!(
        line,
        "; {} {}",
        thousands(s.errors),
        plural(s.errors, "error", "errors")
    );
    line
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The style a level is shown in.
pub fn level_style(level: Level) -> Style {
    match level {
        Level::Critical => Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
        Level::High => Style::new().fg_color(Some(AnsiColor::Red.into())),
        Level::Medium => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
        Level::Low => Style::new().fg_color(Some(AnsiColor::Cyan.into())),
        Level::Informational => Style::new().dimmed(),
    }
}

const COLUMNS: [&str; 9] = [
    "TIME",
    "LEVEL",
    "OUTCOME",
    "RULE",
    "EVENT",
    "ACTOR",
    "ACCOUNT",
    "REGION",
    "SOURCE IP",
];
/// The widest any column grows; longer text is cut with an ellipsis.
const MAX_CELL: usize = 48;

fn write_table(out: &mut impl Write, findings: &[Located<'_>]) -> std::io::Result<()> {
    if findings.is_empty() {
        return Ok(());
    }
    let rows: Vec<(Level, [String; 9])> = findings
        .iter()
        .map(|l| {
            let f = &l.finding;
            let e = &f.event;
            let or_dash = |s: &Option<String>| s.as_deref().map_or_else(|| "-".to_owned(), cell);
            let event = format!(
                "{}:{}",
                e.event_source
                    .as_deref()
                    .map_or("-", |s| s.strip_suffix(".amazonaws.com").unwrap_or(s)),
                e.event_name.as_deref().unwrap_or("-")
            );
            let outcome = if f.is_attempt() {
                format!("{} (attempt)", f.outcome)
            } else {
                f.outcome.to_string()
            };
            (
                f.level,
                [
                    or_dash(&e.event_time),
                    f.level.to_string(),
                    outcome,
                    cell(f.rule.title()),
                    cell(&event),
                    cell(&f.actor.name),
                    or_dash(&e.account_id),
                    or_dash(&e.region),
                    or_dash(&e.source_ip),
                ],
            )
        })
        .collect();
    write_rows(out, COLUMNS, 1, &rows)
}

/// Writes a table: a bold header, then one line per row, columns padded to their widest cell,
/// the cell at `level_column` in its level's style.
fn write_rows<const N: usize>(
    out: &mut impl Write,
    columns: [&str; N],
    level_column: usize,
    rows: &[(Level, [String; N])],
) -> std::io::Result<()> {
    let mut widths = columns.map(|c| c.chars().count());
    for (_, row) in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let header = Style::new().bold();
    let line: Vec<String> = columns
        .iter()
        .zip(widths)
        .map(|(c, w)| format!("{c:<w$}"))
        .collect();
    writeln!(out, "{header}{}{header:#}", line.join("  ").trim_end())?;
    for (level, row) in rows {
        let style = level_style(*level);
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (c, w))| {
                let pad = " ".repeat(w.saturating_sub(c.chars().count()));
                if i == level_column {
                    format!("{style}{c}{style:#}{pad}")
                } else {
                    format!("{c}{pad}")
                }
            })
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}

/// Event text made safe for one table cell: escaped for the terminal and cut to [`MAX_CELL`].
fn cell(s: &str) -> String {
    let safe = for_terminal(s);
    if safe.chars().count() <= MAX_CELL {
        safe
    } else {
        let mut cut: String = safe.chars().take(MAX_CELL - 1).collect();
        cut.push('…');
        cut
    }
}

/// Escapes control characters and bidirectional overrides so that text from an event cannot
/// move the cursor, change colours or reorder what is shown.
pub fn for_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control()
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
        {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes() {
        assert_eq!(for_terminal("a\x1b[31mb\r\n"), "a\\u{1b}[31mb\\u{d}\\u{a}");
        assert_eq!(for_terminal("evil\u{202E}gpj.exe"), "evil\\u{202e}gpj.exe");
        assert_eq!(for_terminal("ünïcødé 日本"), "ünïcødé 日本");
    }

    #[test]
    fn cells_are_cut() {
        let long = "x".repeat(100);
        assert_eq!(cell(&long).chars().count(), MAX_CELL);
        assert!(cell(&long).ends_with('…'));
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
