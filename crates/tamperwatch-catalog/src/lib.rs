//! tamperwatch's built-in detection catalog: the Sigma rules under the repository's `rules/`
//! folder, embedded at build time.
//!
//! ```
//! let rules = tamperwatch_catalog::load().expect("the built-in catalog compiles");
//! assert!(rules.len() > 50);
//! ```

use tamperwatch_rules::{LoadRuleError, Rule, RuleSet};

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

/// Compiles the built-in catalog.
pub fn load() -> Result<RuleSet, CatalogError> {
    let mut set = RuleSet::new();
    for (file, text) in RULE_FILES {
        let origin = format!("rules/{file}");
        let rule = Rule::from_yaml(text, &origin).map_err(|e: LoadRuleError| CatalogError {
            file,
            source: Box::new(e),
        })?;
        set.push(rule).map_err(|e| CatalogError {
            file,
            source: Box::new(e),
        })?;
    }
    Ok(set)
}
