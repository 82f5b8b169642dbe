//! The rule as plain Sigma: the original text with tamperwatch's own keys removed.

/// tamperwatch's own top-level keys, which other Sigma tools do not know.
pub(crate) const OWN_KEYS: [&str; 3] = ["tests", "response", "lint-allow"];

/// `text` without the top-level `keys`: each key's line and the indented (or `- ` sequence)
/// lines that follow it are dropped; everything else, comments included, is kept as written.
///
/// The caller checks the result by parsing it again: YAML can spread a value in ways a line
/// filter does not follow (a flow mapping closed at column 0).
pub(crate) fn strip_top_level_keys(text: &str, keys: &[&str]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut skipping = false;
    for line in text.split_inclusive('\n') {
        if skipping {
            let continues = line.trim().is_empty()
                || line.starts_with([' ', '\t'])
                || line.starts_with("- ")
                || line.trim_end() == "-";
            if continues {
                continue;
            }
            skipping = false;
        }
        if keys.iter().any(|k| is_key_line(line, k)) {
            skipping = true;
            continue;
        }
        out.push_str(line);
    }
    out
}

/// Whether `line` starts the top-level key `key` (plain or quoted).
fn is_key_line(line: &str, key: &str) -> bool {
    let rest = if let Some(r) = line.strip_prefix(key) {
        r
    } else if let Some(r) = line
        .strip_prefix('"')
        .and_then(|r| r.strip_prefix(key))
        .and_then(|r| r.strip_prefix('"'))
    {
        r
    } else if let Some(r) = line
        .strip_prefix('\'')
        .and_then(|r| r.strip_prefix(key))
        .and_then(|r| r.strip_prefix('\''))
    {
        r
    } else {
        return false;
    };
    let rest = rest.trim_start_matches([' ', '\t']);
    match rest.strip_prefix(':') {
        Some(after) => after.is_empty() || after.starts_with([' ', '\t', '\n', '\r']),
        None => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn removes_each_key_with_its_block() {
        let text = "title: t\nresponse: >-\n  Restart it.\n\n  Then look.\ntests:\n  match:\n    - eventName: X\n  no_match: []\nlevel: high\n# trailing comment\n";
        assert_eq!(
            strip_top_level_keys(text, &OWN_KEYS),
            "title: t\nlevel: high\n# trailing comment\n"
        );
    }

    #[test]
    fn keeps_keys_that_only_start_alike_and_nested_keys() {
        let text = "testsuite: 1\nresponse_time: 2\ndetection:\n  tests: 3\n  condition: x\n";
        assert_eq!(strip_top_level_keys(text, &OWN_KEYS), text);
    }

    #[test]
    fn handles_quoted_keys_flow_values_and_compact_sequences() {
        let text = "\"tests\": {match: [{a: 1}]}\n'response': x\ntitle: t\ntests:\n- a\n- b\nid: 1";
        assert_eq!(strip_top_level_keys(text, &OWN_KEYS), "title: t\nid: 1");
    }

    #[test]
    fn handles_crlf_line_ends() {
        let text = "title: t\r\ntests:\r\n  match: []\r\nlevel: low\r\n";
        assert_eq!(
            strip_top_level_keys(text, &OWN_KEYS),
            "title: t\r\nlevel: low\r\n"
        );
    }
}
