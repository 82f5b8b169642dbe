//! tamperwatch's built-in detection catalog: the Sigma rules under the repository's `rules/`
//! folder, embedded at build time.
//!
//! ```
//! let rules = tamperwatch_catalog::load().expect("the built-in catalog compiles");
//! assert!(rules.len() > 50);
//! ```

use tamperwatch_rules::{RuleDocument, RuleSet, load_parsed_document};

include!(concat!(env!("OUT_DIR"), "/rule_files.rs"));

/// A built-in rule that does not compile: a bug in this build, never the user's input.
#[derive(Debug, thiserror::Error)]
#[error("built-in rule rules/{file}: {source}")]
pub struct CatalogError {
    /// The rule file, under `rules/`.
    pub file: &'static str,
    /// What is wrong with it.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// Compiles the built-in catalog: every document of every file (detection and correlation
/// rules), with the correlations linked to the rules they refer to. The documents were read at
/// build time ([`RULE_DOCUMENTS`]), so this only parses JSON and compiles.
pub fn load() -> Result<RuleSet, CatalogError> {
    let mut set = RuleSet::new();
    for &(index, start, end, json) in RULE_DOCUMENTS {
        let (file, text) = RULE_FILES.get(index).copied().unwrap_or(("?", ""));
        let error = |e: Box<dyn std::error::Error + Send + Sync>| CatalogError { file, source: e };
        let text = text
            .get(start..end)
            .ok_or_else(|| error("the document's range is not in the file (a build bug)".into()))?;
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| error(e.into()))?;
        let origin = format!("rules/{file}");
        match load_parsed_document(text, &value, &origin).map_err(|e| error(e.into()))? {
            RuleDocument::Rule(rule) => set.push(*rule).map(drop),
            RuleDocument::Correlation(c) => set.push_correlation(*c).map(drop),
        }
        .map_err(|e| error(e.into()))?;
    }
    if let Err(errors) = set.link_correlations()
        && let Some(first) = errors.into_iter().next()
    {
        let file = RULE_FILES
            .iter()
            .map(|(f, _)| *f)
            .find(|f| first.origin().ends_with(f))
            .unwrap_or("?");
        return Err(CatalogError {
            file,
            source: Box::new(first),
        });
    }
    Ok(set)
}
