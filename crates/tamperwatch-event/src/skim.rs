//! A hand-written skimmer for one record of a CloudTrail log file: where the record ends, and
//! its three index [`Keys`], without deserializing anything else.
//!
//! # Contract
//!
//! [`record`] is handed the bytes from a record's opening `{` to the end of the file. It returns
//! either `None` ("I am not sure"), or the record's length and keys, and then the answer is
//! exactly what serde_json reading the record into [`Head`] would give:
//!
//! - the length is the byte offset at which serde_json's stream deserializer stops after the
//!   record's closing `}`;
//! - `eventSource`, `eventName` and `userIdentity.type` are the same values (the same text, as
//!   they are only taken when they hold no escape);
//! - serde_json would accept the record. Records of no interest to any rule are not parsed again
//!   after the skim, so a malformed one must not slip through: every value the skimmer steps
//!   over is validated as serde_json validates it when it ignores a value (strings: no raw
//!   control character, only the escapes JSON defines, `\u` with four hex digits; numbers as
//!   JSON's grammar; the literals `true`, `false`, `null`; commas, colons and brackets in
//!   place).
//!
//! It declines (returns `None`) on everything unusual, and the caller then reads the record with
//! serde_json, which either agrees or reports the error precisely:
//!
//! - a backslash in a key of the record or of `userIdentity` (an escaped key could spell one of
//!   the keys we look for), or in one of the three values (serde_json would unescape it);
//! - one of the three keys, or `userIdentity.type`, present twice (serde_json refuses
//!   duplicate fields);
//! - one of them holding anything but a string or `null`, or `userIdentity` anything but an
//!   object or `null` (serde_json either refuses it or reads it its own way);
//! - nesting deeper than [`MAX_DEPTH`] (serde_json skips it without recursing; so can it);
//! - any syntax error, or the end of the input.
//!
//! UTF-8 is not checked here: the caller validates each record's span with
//! [`std::str::from_utf8`], as it does for records read by serde_json.
//!
//! Keys are only looked for at the record's top level and directly inside its `userIdentity`
//! object: a `"eventName"` inside `requestParameters`, or the text `\"eventName\":\"x\"` inside a
//! string value, is stepped over like any other content, as serde_json does.
//!
//! The code has no recursion (nesting is tracked in the bits of a word) and no indexing that can
//! panic: every byte is read through `get`, and running off the end is a decline.

#[cfg(doc)]
use crate::record::Head;
use crate::record::Keys;

/// Nesting below the record's top level that the skimmer follows before declining (one bit
/// of a `u64` per level).
pub(crate) const MAX_DEPTH: usize = u64::BITS as usize;

/// Skims the record that starts at `input[0]` (which must be `{`): its length in bytes and its
/// keys, or `None` to let serde_json decide. See the module documentation for the contract.
pub(crate) fn record(input: &[u8]) -> Option<(usize, Keys<'_>)> {
    let mut s = Skimmer { input, pos: 0 };
    s.eat(b'{')?;
    let mut keys = Keys::default();
    let (mut source_seen, mut name_seen, mut identity_seen) = (false, false, false);
    s.ws();
    if s.peek()? == b'}' {
        s.pos += 1;
        return Some((s.pos, keys));
    }
    loop {
        let key = s.plain_string()?;
        s.ws();
        s.eat(b':')?;
        s.ws();
        match key {
            b"eventSource" => {
                if std::mem::replace(&mut source_seen, true) {
                    return None;
                }
                keys.event_source = s.key_value()?;
            }
            b"eventName" => {
                if std::mem::replace(&mut name_seen, true) {
                    return None;
                }
                keys.event_name = s.key_value()?;
            }
            b"userIdentity" => {
                if std::mem::replace(&mut identity_seen, true) {
                    return None;
                }
                keys.identity_type = s.identity()?;
            }
            _ => s.value()?,
        }
        s.ws();
        match s.next()? {
            b',' => s.ws(),
            b'}' => return Some((s.pos, keys)),
            _ => return None,
        }
    }
}

struct Skimmer<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Skimmer<'a> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn eat(&mut self, expected: u8) -> Option<()> {
        (self.next()? == expected).then_some(())
    }

    fn eat_all(&mut self, expected: &[u8]) -> Option<()> {
        let rest = self.input.get(self.pos..)?;
        rest.starts_with(expected)
            .then(|| self.pos += expected.len())
    }

    /// JSON whitespace: space, tab, line feed, carriage return (not form feed).
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// A string without escapes, from its opening quote: its contents (not yet checked for
    /// UTF-8). Declines on a backslash.
    fn plain_string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.pos;
        let rest = self.input.get(start..)?;
        let end = start + special(rest)?;
        if self.input.get(end) != Some(&b'"') {
            return None;
        }
        self.pos = end + 1;
        self.input.get(start..end)
    }

    /// The value of `eventSource`, `eventName` or `userIdentity.type`: an unescaped string, or
    /// `null`.
    fn key_value(&mut self) -> Option<Option<&'a str>> {
        match self.peek()? {
            b'"' => {
                let text = self.plain_string()?;
                // Not yet the UTF-8 check the caller makes of the whole record: this only
                // turns bytes into `str`, and declines where that check would fail anyway.
                std::str::from_utf8(text).ok().map(Some)
            }
            b'n' => self.eat_all(b"null").map(|()| None),
            _ => None,
        }
    }

    /// `userIdentity`: `null`, or an object whose `type` is read and the rest skipped.
    fn identity(&mut self) -> Option<Option<&'a str>> {
        match self.peek()? {
            b'n' => return self.eat_all(b"null").map(|()| None),
            b'{' => self.pos += 1,
            _ => return None,
        }
        let mut kind = None;
        let mut kind_seen = false;
        self.ws();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(None);
        }
        loop {
            let key = self.plain_string()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            if key == b"type" {
                if std::mem::replace(&mut kind_seen, true) {
                    return None;
                }
                kind = self.key_value()?;
            } else {
                self.value()?;
            }
            self.ws();
            match self.next()? {
                b',' => self.ws(),
                b'}' => return Some(kind),
                _ => return None,
            }
        }
    }

    /// Steps over one JSON value of any kind, validating it, without recursion.
    fn value(&mut self) -> Option<()> {
        // The open containers below this value, bit `i` for depth `i`: set for an object,
        // clear for an array.
        let mut objects = 0u64;
        let mut depth = 0usize;
        loop {
            // A value starts here.
            match self.peek()? {
                b'"' => self.string()?,
                b'{' | b'[' => {
                    if depth == MAX_DEPTH {
                        return None;
                    }
                    let object = self.next()? == b'{';
                    objects = objects & !(1 << depth) | u64::from(object) << depth;
                    depth += 1;
                    self.ws();
                    let empty = if object { b'}' } else { b']' };
                    if self.peek()? == empty {
                        self.pos += 1;
                        depth -= 1;
                    } else {
                        if object {
                            self.member_key()?;
                        }
                        continue;
                    }
                }
                b't' => self.eat_all(b"true")?,
                b'f' => self.eat_all(b"false")?,
                b'n' => self.eat_all(b"null")?,
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return None,
            }
            // A value ended: close what it ends, or go on to the next member or item.
            loop {
                let Some(inner) = depth.checked_sub(1) else {
                    return Some(());
                };
                let object = objects >> inner & 1 == 1;
                self.ws();
                match (self.next()?, object) {
                    (b',', true) => {
                        self.ws();
                        self.member_key()?;
                        break;
                    }
                    (b',', false) => {
                        self.ws();
                        break;
                    }
                    (b'}', true) | (b']', false) => depth = inner,
                    _ => return None,
                }
            }
        }
    }

    /// Inside an object being skipped: a key, the colon, and the whitespace up to the value.
    fn member_key(&mut self) -> Option<()> {
        if self.peek()? != b'"' {
            return None;
        }
        self.string()?;
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(())
    }

    /// Steps over a string from its opening quote, validating its escapes and refusing raw
    /// control characters, as serde_json does when it ignores a string.
    fn string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            let rest = self.input.get(self.pos..)?;
            let stop = special(rest)?;
            self.pos += stop + 1;
            match rest.get(stop)? {
                b'"' => return Some(()),
                b'\\' => {}
                _ => return None,
            }
            match self.next()? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                b'u' => {
                    let hex = self.input.get(self.pos..self.pos + 4)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    self.pos += 4;
                }
                _ => return None,
            }
        }
    }

    /// Steps over a number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        if self.peek()? == b'-' {
            self.pos += 1;
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.digit()?;
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.digit()?;
            self.digits();
        }
        Some(())
    }

    fn digit(&mut self) -> Option<()> {
        self.next()?.is_ascii_digit().then_some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }
}

/// The position of the first byte in `text` that ends a run of plain string content: a quote,
/// a backslash, or a control character (below 0x20, which JSON forbids raw in a string).
///
/// Eight bytes at a time: in each word, a byte is flagged when it is below 0x20 or equal to
/// `"` or `\\` (the classic "has a zero byte" test, on the word itself and on the word XORed
/// with each character). A borrow can only flag a byte above one that is truly flagged, so the
/// lowest flag is exact. Short strings, the usual case, cost a word or two and no call
/// (memchr2 followed by a separate pass for control characters measured slower).
fn special(text: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    let mut chunks = text.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let flags = (word.wrapping_sub(ONES * 0x20) & !word
            | quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash)
            & HIGH;
        if flags != 0 {
            return Some(offset + (flags.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
        .map(|i| offset + i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Head;

    /// What serde_json makes of the record at the start of `input`, as the general path reads
    /// it: the length and the keys, or `None` for an error.
    fn serde(input: &[u8]) -> Option<(usize, [Option<String>; 3])> {
        let mut stream = serde_json::Deserializer::from_slice(input).into_iter::<Head<'_>>();
        let head = stream.next()?.ok()?;
        let keys = head.keys();
        let own = |s: Option<&str>| s.map(str::to_owned);
        Some((
            stream.byte_offset(),
            [
                own(keys.event_source),
                own(keys.event_name),
                own(keys.identity_type),
            ],
        ))
    }

    fn skim(input: &[u8]) -> Option<(usize, [Option<String>; 3])> {
        let (len, keys) = record(input)?;
        let own = |s: Option<&str>| s.map(str::to_owned);
        Some((
            len,
            [
                own(keys.event_source),
                own(keys.event_name),
                own(keys.identity_type),
            ],
        ))
    }

    /// The skimmer either declines, or agrees with serde_json. Returns whether it answered.
    ///
    /// A span that is not UTF-8 is refused by the caller whichever read it (serde_json
    /// refuses invalid UTF-8 in keys and in the strings it reads, not in those it ignores), so
    /// there is nothing to compare there.
    fn agrees(input: &[u8]) -> bool {
        let Some(skimmed) = skim(input) else {
            return false;
        };
        if std::str::from_utf8(&input[..skimmed.0]).is_err() {
            return false;
        }
        assert_eq!(
            Some(&skimmed),
            serde(input).as_ref(),
            "skimmer and serde_json disagree on {:?}",
            String::from_utf8_lossy(input)
        );
        true
    }

    fn keys(input: &str) -> Option<[Option<&str>; 3]> {
        assert!(agrees(input.as_bytes()), "declined {input}");
        let (_, k) = record(input.as_bytes())?;
        Some([k.event_source, k.event_name, k.identity_type])
    }

    #[test]
    fn reads_the_three_keys_at_their_level_only() {
        let r = r#"{"eventVersion":"1.09","requestParameters":{"eventName":"StopLogging","userIdentity":{"type":"Root"}},"userAgent":"x \"eventName\":\"StopLogging\" \\","userIdentity":{"sessionContext":{"sessionIssuer":{"type":"Role"}},"type":"AssumedRole","arn":"a"},"eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#;
        assert_eq!(
            keys(r),
            Some([
                Some("s3.amazonaws.com"),
                Some("GetObject"),
                Some("AssumedRole")
            ])
        );
        assert_eq!(keys("{}"), Some([None, None, None]));
        assert_eq!(
            keys(r#"{"eventName":null,"userIdentity":null,"eventSource":null}"#),
            Some([None, None, None])
        );
        assert_eq!(
            keys(r#"{"userIdentity":{"sessionContext":{"type":"x"}}}"#),
            Some([None, None, None])
        );
        // Whitespace JSON allows, everywhere.
        assert_eq!(
            keys(" {\n\t\"eventName\" :\r\n \"X\" , \"a\" : [ 1 , { } , [ ] ] }".trim_start()),
            Some([None, Some("X"), None])
        );
        // Every value kind is stepped over.
        assert_eq!(
            keys(
                r#"{"a":[true,false,null,0,-0,1.5,-2e10,3E+2,4.0e-3,"\"\\\/\b\f\n\r\t\u00e9\uD83D"],"b":{"c":{"d":[]}},"eventName":"E"}"#
            ),
            Some([None, Some("E"), None])
        );
    }

    #[test]
    fn declines_anything_unusual() {
        for input in [
            // Escapes in a key that is read, or in a value that is read.
            r#"{"event\u004eame":"StopLogging"}"#,
            r#"{"eventName":"Stop\u004cogging"}"#,
            r#"{"userIdentity":{"t\u0079pe":"Root"}}"#,
            r#"{"userIdentity":{"type":"Ro\"ot"}}"#,
            // Duplicates.
            r#"{"eventName":"A","eventName":"B"}"#,
            r#"{"eventName":null,"eventName":"B"}"#,
            r#"{"userIdentity":null,"userIdentity":{"type":"Root"}}"#,
            r#"{"userIdentity":{"type":"Root","type":"IAMUser"}}"#,
            // Shapes serde_json refuses or reads its own way.
            r#"{"eventName":42}"#,
            r#"{"eventName":["StopLogging"]}"#,
            r#"{"userIdentity":"root"}"#,
            r#"{"userIdentity":["Root"]}"#,
            r#"{"userIdentity":{"type":1}}"#,
            // Bad JSON anywhere, including in values that are only stepped over.
            r#"{"a":"x\qy"}"#,
            r#"{"a":"\u12g4"}"#,
            "{\"a\":\"tab\there\"}",
            "{\"a\":\u{0c}1}",
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":-}"#,
            r#"{"a":1e}"#,
            r#"{"a":+1}"#,
            r#"{"a":.5}"#,
            r#"{"a":tru}"#,
            r#"{"a":nulll}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":{"b":1,}}"#,
            r#"{"a":{1:2}}"#,
            r#"{"a":[1 2]}"#,
            r#"{"a":{"b" 1}}"#,
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{"a":[}"#,
            r#"{"a":{]}"#,
            r#"{,}"#,
            r#"{"a":1"#,
            r#"{"a":"#,
            r#"{"a""#,
            r#"{"eventName":"x"#,
            "",
            "[]",
        ] {
            assert_eq!(skim(input.as_bytes()), None, "{input}");
        }
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_declined_without_recursion() {
        let at_limit = format!(
            "{{\"a\":{}{}}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        assert!(agrees(at_limit.as_bytes()));
        let over = format!(
            "{{\"a\":{}{}}}",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(skim(over.as_bytes()), None);
        let absurd = format!("{{\"a\":{}", "{\"b\":[".repeat(200_000));
        assert_eq!(skim(absurd.as_bytes()), None);
    }

    #[test]
    fn the_record_ends_at_its_closing_brace() {
        let input = br#"{"eventName":"A","x":{"y":"}"}} , {"eventName":"B"}]}"#;
        let (len, _) = record(input).unwrap();
        assert_eq!(&input[len - 3..len], b"\"}}");
        assert!(agrees(input));
    }

    #[test]
    fn special_finds_the_first_quote_backslash_or_control_byte() {
        let naive = |t: &[u8]| t.iter().position(|&b| b < 0x20 || b == b'"' || b == b'\\');
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..100_000 {
            let text: Vec<u8> = (0..rng.usize(0..100))
                .map(|_| match rng.u8(..4) {
                    0 => *b"\"\\\x00\x1f\x20!#[]\x7f\x80\xff"
                        .get(rng.usize(..12))
                        .unwrap_or(&0),
                    _ => rng.u8(0x20..),
                })
                .collect();
            assert_eq!(special(&text), naive(&text), "{text:?}");
        }
    }

    /// A small deterministic generator of CloudTrail-like records, with the keys we look for
    /// at every level and inside strings, some escaped, some duplicated.
    struct Gen(fastrand::Rng);

    impl Gen {
        fn pick<'s>(&mut self, from: &[&'s str]) -> &'s str {
            from[self.0.usize(..from.len())]
        }

        fn string(&mut self, out: &mut String) {
            out.push('"');
            for _ in 0..self.0.usize(0..6) {
                let piece = self.pick(&[
                    "eventName",
                    "StopLogging",
                    "type",
                    "\\\"eventName\\\":\\\"StopLogging\\\"",
                    "\\\\",
                    "\\/",
                    "\\n\\t\\r\\b\\f",
                    "\\u00e9",
                    "\\uD83D\\uDE00",
                    "é",
                    "{[,:]}",
                    " ",
                    "userIdentity",
                ]);
                out.push_str(piece);
            }
            out.push('"');
        }

        fn key(&mut self, out: &mut String) {
            let key = self.pick(&[
                "\"eventSource\"",
                "\"eventName\"",
                "\"userIdentity\"",
                "\"type\"",
                "\"eventVersion\"",
                "\"requestParameters\"",
                "\"event\\u004eame\"",
                "\"t\\u0079pe\"",
                "\"arn\"",
                "\"\"",
            ]);
            out.push_str(key);
        }

        fn ws(&mut self, out: &mut String) {
            if self.0.u8(..8) == 0 {
                out.push_str(self.pick(&[" ", "\n", "\t ", "\r\n  "]));
            }
        }

        fn value(&mut self, out: &mut String, depth: usize) {
            self.ws(out);
            match self.0.u8(..if depth > 4 { 5 } else { 8 }) {
                0 | 1 => self.string(out),
                2 => out.push_str(self.pick(&["true", "false", "null", "null"])),
                3 => out.push_str(self.pick(&["0", "-1", "12.5", "-0.0e+7", "3E2", "1e-2"])),
                4 => out.push_str(self.pick(&[
                    "\"cloudtrail.amazonaws.com\"",
                    "\"StopLogging\"",
                    "\"Root\"",
                    "null",
                ])),
                5 | 6 => self.object(out, depth + 1),
                _ => {
                    out.push('[');
                    for i in 0..self.0.usize(0..4) {
                        if i > 0 {
                            out.push(',');
                        }
                        self.value(out, depth + 1);
                    }
                    self.ws(out);
                    out.push(']');
                }
            }
            self.ws(out);
        }

        fn object(&mut self, out: &mut String, depth: usize) {
            out.push('{');
            for i in 0..self.0.usize(0..6) {
                if i > 0 {
                    out.push(',');
                }
                self.ws(out);
                self.key(out);
                self.ws(out);
                out.push(':');
                self.value(out, depth);
            }
            self.ws(out);
            out.push('}');
        }

        /// Breaks valid text the ways hostile or damaged input is broken.
        fn mutate(&mut self, text: &mut Vec<u8>) {
            for _ in 0..self.0.usize(1..4) {
                let at = self.0.usize(..=text.len());
                match self.0.u8(..5) {
                    0 if at < text.len() => {
                        text.remove(at);
                    }
                    1 => {
                        let b = *self
                            .pick(&[
                                "\"", "\\", "{", "}", "[", "]", ",", ":", "0", "-", ".", "e", "u",
                                "n", "t", "\u{0c}", "\u{01}", "\n", "\u{ff}",
                            ])
                            .as_bytes()
                            .first()
                            .unwrap_or(&b' ');
                        text.insert(at, b);
                    }
                    2 if at < text.len() => text[at] = self.0.u8(..),
                    3 => text.truncate(at),
                    _ => {
                        let end = (at + self.0.usize(0..12)).min(text.len());
                        let copy = text[at..end].to_vec();
                        let to = self.0.usize(..=text.len());
                        text.splice(to..to, copy);
                    }
                }
            }
        }
    }

    /// Many random records, then the same broken at random: the skimmer answers for most
    /// valid ones, and whenever it answers it agrees with serde_json.
    #[test]
    fn agrees_with_serde_json_or_declines() {
        let mut g = Gen(fastrand::Rng::with_seed(0x5eed));
        let (mut valid, mut answered_valid, mut answered_mutated) = (0, 0, 0);
        for _ in 0..20_000 {
            let mut text = String::new();
            g.object(&mut text, 0);
            text.push_str(g.pick(&["", ",", "]}", " ,{\"eventName\":\"x\"}]}", "x"]));
            let bytes = text.into_bytes();
            if serde(&bytes).is_some() {
                valid += 1;
                answered_valid += usize::from(agrees(&bytes));
            } else {
                assert_eq!(skim(&bytes), None);
            }
            let mut broken = bytes.clone();
            g.mutate(&mut broken);
            if broken.first() == Some(&b'{') {
                answered_mutated += usize::from(agrees(&broken));
            }
        }
        // Not a test that passes by declining everything: the generator's escaped and
        // duplicated keys make serde_json's path needed for a share of the records, not most.
        assert!(valid > 5_000, "{valid}");
        assert!(answered_valid * 2 > valid, "{answered_valid} of {valid}");
        assert!(answered_mutated > 1_000, "{answered_mutated}");
    }
}
