//! Attacker-controlled text made safe for each medium: one line, cut to a limit, escaped.
//!
//! Every function here is total: any input gives an output within the stated bounds.

use std::borrow::Cow;
use std::fmt::Write as _;

/// The mark left where text was cut.
pub const ELLIPSIS: char = '…';

/// Whether a character would break a line, hide text or reorder it when shown: control
/// characters, Unicode line and paragraph separators, and bidirectional overrides.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// The text on one line: every control, separator or bidi character becomes a space.
pub fn one_line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| if is_unsafe(c) { ' ' } else { c })
            .collect(),
    )
}

/// The text with line breaks kept (`\n`) and every other control, separator or bidi character
/// made a space. `\r\n` and `\r` become `\n`.
pub fn multi_line(s: &str) -> String {
    s.replace("\r\n", "\n")
        .chars()
        .map(|c| match c {
            '\n' => '\n',
            '\r' => '\n',
            c if is_unsafe(c) => ' ',
            c => c,
        })
        .collect()
}

/// At most `max` characters: longer text is cut on a character boundary and ends with `…`.
pub fn cut(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some(_) if max == 0 => Cow::Borrowed(""),
        Some(_) => {
            let end = s.char_indices().nth(max - 1).map_or(s.len(), |(i, _)| i);
            let mut out = String::with_capacity(end + 3);
            out.push_str(&s[..end]);
            out.push(ELLIPSIS);
            Cow::Owned(out)
        }
    }
}

/// At most `max` bytes of UTF-8: longer text is cut on a character boundary and ends with
/// `…` (3 bytes).
pub fn cut_bytes(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let mut end = max.saturating_sub(ELLIPSIS.len_utf8());
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + 3);
    out.push_str(&s[..end]);
    if max >= ELLIPSIS.len_utf8() {
        out.push(ELLIPSIS);
    }
    Cow::Owned(out)
}

/// Cuts escaped text (HTML or Slack entities) to `max` characters without leaving half an
/// entity (`&am…`).
pub fn cut_escaped(s: &str, max: usize) -> String {
    let c = cut(s, max).into_owned();
    if c.len() == s.len() {
        return c;
    }
    let body = c.trim_end_matches(ELLIPSIS);
    match (body.rfind('&'), body.rfind(';')) {
        (Some(amp), semi) if semi.is_none_or(|semi| semi < amp) => {
            format!("{}{}", &body[..amp], ELLIPSIS)
        }
        _ => c,
    }
}

/// Printable ASCII on one line: every other character becomes `?` (SNS subjects, SMS).
pub fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ' '..='~' => c,
            c if is_unsafe(c) => ' ',
            '…' => '~',
            _ => '?',
        })
        .collect()
}

/// Escaped for HTML text and attribute values.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped for Slack `mrkdwn`: `&`, `<` and `>` become entities, which also neutralises
/// mentions (`<!channel>`, `<!here>`, `<@U123>`) and links (`<http://...|text>`); a backtick
/// becomes the lookalike `ˋ` so a value cannot close the code span it is shown in.
pub fn slack(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' => out.push('ˋ'),
            c => out.push(c),
        }
    }
    out
}

/// Escaped for Markdown (Teams Adaptive Cards, which render a Markdown subset): every
/// punctuation character Markdown gives a meaning to is backslash-escaped, and `<` `>` become
/// the lookalikes `‹` `›` so no HTML or autolink can form.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '-' | '.'
            | '!' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push('‹'),
            '>' => out.push('›'),
            c => out.push(c),
        }
    }
    out
}

/// A JSON value as compact one-line text (strings without their quotes).
pub fn json_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => {
            let mut s = String::new();
            let _ = write!(s, "{other}");
            s
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn cut_counts_characters() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "ab…");
        assert_eq!(cut("日本語テキスト", 4), "日本語…");
        assert_eq!(cut("abc", 0), "");
        assert_eq!(cut_escaped("a &amp; b", 5), "a …");
        assert_eq!(cut_escaped("a &amp; b", 8), "a &amp;…");
    }

    #[test]
    fn cut_bytes_keeps_utf8() {
        let s = "ééééé"; // 10 bytes
        let c = cut_bytes(s, 6);
        assert!(c.len() <= 6, "{c}");
        assert_eq!(c, "é…");
        assert_eq!(cut_bytes(s, 10), s);
    }

    #[test]
    fn one_line_removes_breaks_and_bidi() {
        assert_eq!(one_line("a\nb\r\tc\u{202E}d\u{2028}e"), "a b  c d e");
    }

    #[test]
    fn escapes() {
        assert_eq!(
            slack("<!channel> & <@U123|x> `x`"),
            "&lt;!channel&gt; &amp; &lt;@U123|x&gt; ˋxˋ"
        );
        assert_eq!(
            html(r#"<script>"x"&'y'</script>"#),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(markdown("*a* [b](c) <d>"), r"\*a\* \[b\]\(c\) ‹d›");
        assert_eq!(ascii("Zürich\n日"), "Z?rich ?");
    }
}
