//! Embeds every rule file under the repository's `rules/` folder into the binary, so the
//! built-in catalog needs no files at run time, and parses each of its documents here, once,
//! with the rule engine's own reader: the binary carries each document's value as JSON (and its
//! byte range in the file's text, which is embedded once), and JSON loads several times faster
//! than YAML (a scan and the Lambda's cold start no longer wait for the YAML parser). A rule
//! file the reader refuses fails the build, naming the file.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() -> Result<(), Box<dyn Error>> {
    let manifest =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR unset")?);
    let root = manifest.join("../../rules");
    println!("cargo::rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    let mut code = String::from(
        "/// Every built-in rule file: its path under `rules/`, and its text.\npub static RULE_FILES: &[(&str, &str)] = &[\n",
    );
    let mut documents = String::from(
        "/// Every document of the built-in rule files, read at build time: the file's position in\n/// [`RULE_FILES`], the document's byte range in its text, and its value as JSON.\npub static RULE_DOCUMENTS: &[(usize, usize, usize, &str)] = &[\n",
    );
    for (index, file) in files.iter().enumerate() {
        println!("cargo::rerun-if-changed={}", file.display());
        let name = file
            .strip_prefix(&root)?
            .to_string_lossy()
            .replace('\\', "/");
        let absolute = fs::canonicalize(file)?.display().to_string();
        writeln!(code, "    ({name:?}, include_str!({absolute:?})),")?;
        let text = fs::read_to_string(file)?;
        let parsed = tamperwatch_rules::parse_documents(&text, &format!("rules/{name}"))?;
        for (doc, value) in parsed {
            // `doc` is a slice of `text`: its range there, so the text is embedded once.
            let start = doc.as_ptr() as usize - text.as_ptr() as usize;
            let end = start + doc.len();
            let json = serde_json::to_string(&value)?;
            writeln!(documents, "    ({index}, {start}, {end}, {json:?}),")?;
        }
    }
    code.push_str("];\n");
    documents.push_str("];\n");
    code.push_str(&documents);
    let out = PathBuf::from(env::var_os("OUT_DIR").ok_or("OUT_DIR unset")?).join("rule_files.rs");
    fs::write(out, code)?;
    Ok(())
}

/// Every `*.yml`/`*.yaml` file below `dir`.
fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo::rerun-if-changed={}", path.display());
            collect(&path, files);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        ) {
            files.push(path);
        }
    }
}
