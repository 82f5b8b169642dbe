//! tamperwatch's built-in detection catalog: the Sigma rules under the repository's `rules/`
//! folder, embedded at build time.
//!
//! ```
//! let rules = tamperwatch_catalog::load().expect("the built-in catalog compiles");
//! assert!(rules.len() > 50);
//! ```

use tamperwatch_rules::{RuleDocument, RuleSet, load_documents};

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
/// rules), with the correlations linked to the rules they refer to.
pub fn load() -> Result<RuleSet, CatalogError> {
    let mut set = RuleSet::new();
    for (file, text) in RULE_FILES {
        let origin = format!("rules/{file}");
        for doc in load_documents(text, &origin) {
            let pushed = match doc {
                Ok(RuleDocument::Rule(rule)) => set.push(*rule).map(drop),
                Ok(RuleDocument::Correlation(c)) => set.push_correlation(*c).map(drop),
                Err(e) => {
                    return Err(CatalogError {
                        file,
                        source: Box::new(e),
                    });
                }
            };
            pushed.map_err(|e| CatalogError {
                file,
                source: Box::new(e),
            })?;
        }
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
