//! `tamperwatch rules export`: the rules written out for other tools.
//!
//! Each format is one function from the loaded rules to the files it writes
//! ([`ExportFile`]); writing them to a folder or to stdout is shared. A new format is one more
//! [`ExportFormat`] variant and one more function.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use tamperwatch_rules::RuleSet;

use crate::cli::{ExportFormat, RuleArgs};
use crate::rules::load_detector;

/// One file an export writes: its path below the output folder, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFile {
    /// Relative path, such as `cloudtrail/cloudtrail_logging_stopped.yml`.
    pub path: PathBuf,
    /// The whole text.
    pub text: String,
}

/// Runs `tamperwatch rules export`.
pub fn run(format: ExportFormat, out: Option<&Path>, rules: &RuleArgs) -> anyhow::Result<ExitCode> {
    let detector = load_detector(rules)?;
    let files = match format {
        ExportFormat::Sigma => sigma(detector.rules(), &rules.rules)?,
        ExportFormat::Eventbridge => {
            let text = eventbridge(detector.rules())?;
            if out.is_none() {
                // Plain JSON on stdout, without the stream's file-name comments.
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(text.as_bytes())?;
                stdout.flush()?;
                return Ok(ExitCode::SUCCESS);
            }
            vec![ExportFile {
                path: PathBuf::from("eventbridge-patterns.json"),
                text,
            }]
        }
    };
    match out {
        Some(dir) => write_folder(dir, &files)?,
        None => write_stream(&files)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Plain Sigma: every rule file again, each document without tamperwatch's `tests` and
/// `response` keys ([`tamperwatch_rules::Rule::sigma_yaml`]), at its path below `rules/` (the
/// built-in catalog) or below the `--rules` folder it was loaded from.
pub fn sigma(set: &RuleSet, roots: &[PathBuf]) -> anyhow::Result<Vec<ExportFile>> {
    // Documents of one file stay together, in the order they were loaded.
    let mut by_file: BTreeMap<PathBuf, (String, Vec<&str>)> = BTreeMap::new();
    for (origin, text) in set.documents() {
        let path = relative_path(origin, roots)
            .with_context(|| format!("{origin}: cannot tell where to write it"))?;
        let entry = by_file
            .entry(path.clone())
            .or_insert_with(|| (origin.to_owned(), Vec::new()));
        if entry.0 != origin {
            bail!(
                "{} and {origin} would both be written to {}: export them separately",
                entry.0,
                path.display()
            );
        }
        entry.1.push(text);
    }
    Ok(by_file
        .into_iter()
        .map(|(path, (_, docs))| ExportFile {
            path,
            text: join_documents(&docs),
        })
        .collect())
}

/// EventBridge event patterns for the rules ([`tamperwatch_eventbridge::build_patterns`]), as
/// one JSON array with a compact pattern per line.
pub fn eventbridge(set: &RuleSet) -> anyhow::Result<String> {
    let patterns = tamperwatch_eventbridge::build_patterns(
        set.rules(),
        tamperwatch_eventbridge::MAX_PATTERN_CHARS,
    )
    .context("building the EventBridge patterns")?;
    Ok(tamperwatch_eventbridge::patterns_json(&patterns))
}

/// YAML documents as one multi-document text.
fn join_documents(docs: &[&str]) -> String {
    let mut text = String::new();
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            text.push_str("---\n");
        }
        text.push_str(doc);
        if !doc.ends_with('\n') {
            text.push('\n');
        }
    }
    text
}

/// Where a rule loaded from `origin` goes: below the `--rules` folder it came from (the file
/// name for a `--rules` file), or below `rules/` for the built-in catalog.
fn relative_path(origin: &str, roots: &[PathBuf]) -> Option<PathBuf> {
    let origin_path = Path::new(origin);
    let from_root = roots
        .iter()
        .filter_map(|root| {
            if origin_path == root {
                return origin_path.file_name().map(PathBuf::from);
            }
            origin_path.strip_prefix(root).ok().map(Path::to_path_buf)
        })
        .min_by_key(|rel| rel.components().count());
    let rel = match from_root {
        Some(rel) => rel,
        None => origin_path.strip_prefix("rules").ok()?.to_path_buf(),
    };
    // Never write outside the output folder.
    let safe = rel.components().all(|c| matches!(c, Component::Normal(_)));
    (safe && rel.components().count() > 0).then_some(rel)
}

fn write_folder(dir: &Path, files: &[ExportFile]) -> anyhow::Result<()> {
    for file in files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, &file.text).with_context(|| format!("writing {}", path.display()))?;
    }
    anstream::eprintln!("wrote {} files to {}", files.len(), dir.display());
    Ok(())
}

/// Every file as one multi-document YAML stream, each introduced by a comment naming it.
fn write_stream(files: &[ExportFile]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for (i, file) in files.iter().enumerate() {
        if i > 0 {
            out.write_all(b"---\n")?;
        }
        writeln!(out, "# {}", file.path.display())?;
        out.write_all(file.text.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_to_their_root_and_stay_inside_the_output() {
        let roots = [PathBuf::from("my/rules"), PathBuf::from("one.yml")];
        let rel = |o: &str| relative_path(o, &roots);
        assert_eq!(rel("rules/s3/a.yml"), Some(PathBuf::from("s3/a.yml")));
        assert_eq!(rel("my/rules/x/b.yml"), Some(PathBuf::from("x/b.yml")));
        assert_eq!(rel("one.yml"), Some(PathBuf::from("one.yml")));
        assert_eq!(rel("elsewhere/c.yml"), None);
        assert_eq!(rel("rules/../../etc/passwd"), None);
        assert_eq!(rel("rules"), None);
    }

    #[test]
    fn documents_are_joined_as_one_stream() {
        assert_eq!(join_documents(&["a: 1", "b: 2\n"]), "a: 1\n---\nb: 2\n");
        assert_eq!(join_documents(&[]), "");
    }
}
