//! A JSON object writer for event details: one `String`, written once, no intermediate tree.
//!
//! Why not `serde_json::json!`: it builds a map of owned values and then serialises it, about
//! three times the work for a detail of a dozen fields, on the path WeChat's 5 seconds are
//! counted on. The escaping is JSON's (RFC 8259 §7); a property test holds it to `serde_json`'s
//! parser.

use std::fmt::Write as _;

/// A JSON object being written; field names are the caller's ASCII constants, values are escaped.
pub(super) struct JsonObject {
    out: String,
    empty: bool,
}

impl JsonObject {
    pub(super) fn with_capacity(capacity: usize) -> Self {
        let mut out = String::with_capacity(capacity);
        out.push('{');
        Self { out, empty: true }
    }

    fn key(&mut self, name: &str) {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        self.out.push('"');
        self.out.push_str(name);
        self.out.push_str("\":");
    }

    pub(super) fn str(&mut self, name: &str, value: &str) -> &mut Self {
        self.key(name);
        escape_into(&mut self.out, value);
        self
    }

    pub(super) fn opt_str(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            self.str(name, value);
        }
        self
    }

    pub(super) fn int(&mut self, name: &str, value: i64) -> &mut Self {
        self.key(name);
        self.out.push_str(itoa::Buffer::new().format(value));
        self
    }

    /// A number; JSON has no NaN or infinity, so those are `null`.
    pub(super) fn float(&mut self, name: &str, value: f64) -> &mut Self {
        self.key(name);
        if value.is_finite() {
            let _ = write!(self.out, "{value}");
        } else {
            self.out.push_str("null");
        }
        self
    }

    /// A list of strings.
    pub(super) fn str_list(&mut self, name: &str, values: &[String]) -> &mut Self {
        self.key(name);
        self.out.push('[');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            escape_into(&mut self.out, value);
        }
        self.out.push(']');
        self
    }

    /// A list of integers.
    pub(super) fn int_list(&mut self, name: &str, values: &[i64]) -> &mut Self {
        self.key(name);
        self.out.push('[');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.out.push_str(itoa::Buffer::new().format(*value));
        }
        self.out.push(']');
        self
    }

    pub(super) fn bool(&mut self, name: &str, value: bool) -> &mut Self {
        self.key(name);
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    pub(super) fn len(&self) -> usize {
        self.out.len()
    }

    /// Takes back everything written after `len` (a [`JsonObject::len`] taken between fields).
    pub(super) fn truncate(&mut self, len: usize) {
        self.out.truncate(len);
    }

    pub(super) fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

/// Writes `value` as a JSON string: `"`, `\` and the control characters escaped, everything else
/// (all of Unicode) as is.
///
/// Eight bytes at a time: a push's XML is hundreds of bytes with an escape every line or so, and
/// a byte-by-byte scan was the largest part of building an event.
pub(super) fn escape_into(out: &mut String, value: &str) {
    out.reserve(value.len() + 2);
    out.push('"');
    let bytes = value.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(chunk) = bytes.get(i..i + 8) {
            let word =
                u64::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
            if !needs_escape(word) {
                i += 8;
                continue;
            }
        }
        let byte = bytes[i];
        let escaped = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => {
                i += 1;
                continue;
            }
        };
        // `i` is at an ASCII byte, so both slices end on character boundaries.
        out.push_str(&value[start..i]);
        if escaped.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
            out.push(char::from(b"0123456789abcdef"[usize::from(byte & 0x0f)]));
        } else {
            out.push_str(escaped);
        }
        i += 1;
        start = i;
    }
    out.push_str(&value[start..]);
    out.push('"');
}

/// Whether any of the eight bytes of `word` is `"`, `\` or below 0x20 (SWAR: a byte is zero in
/// `x` exactly when the high bit of `(x - 0x01…) & !x & 0x80…` is set; bytes of 0x80 and above,
/// all of UTF-8's non-ASCII, never match).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    (below_space | zero_byte(word ^ (ONES * u64::from(b'"'))) | zero_byte(word ^ (ONES * u64::from(b'\\')))) != 0
}

/// The escaped length of `value`, without writing it (the tests' measure of the writer).
#[cfg(test)]
fn escaped_len(value: &str) -> usize {
    2 + value
        .bytes()
        .map(|byte| match byte {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn writes_an_object_serde_reads_back() {
        let mut object = JsonObject::with_capacity(16);
        object.str("a", "x\"y\\z\n\u{1}中").int("n", -3).float("f", 1.5).float("nan", f64::NAN).bool("b", true);
        object.opt_str("absent", None).opt_str("present", Some(""));
        let text = object.finish();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"a": "x\"y\\z\n\u{1}中", "n": -3, "f": 1.5, "nan": null, "b": true, "present": ""})
        );
        assert_eq!(JsonObject::with_capacity(0).finish(), "{}");
    }

    #[test]
    fn the_word_scan_finds_every_byte_that_needs_escaping_at_every_position() {
        for special in [b'"', b'\\', 0, 0x1f, b'\n'] {
            for at in 0..8 {
                let mut word = [b'a'; 8];
                word[at] = special;
                assert!(needs_escape(u64::from_le_bytes(word)), "{special:#x} at {at}");
            }
        }
        for clean in [*b"abcdefgh", *b" !#[]~\x7f ", [0x80, 0xe4, 0xb8, 0xad, 0xff, 0x20, 0x21, 0x23]] {
            assert!(!needs_escape(u64::from_le_bytes(clean)), "{clean:?}");
        }
    }

    proptest! {
        #[test]
        fn any_string_round_trips_and_its_length_is_known(value in any::<String>()) {
            let mut out = String::new();
            escape_into(&mut out, &value);
            prop_assert_eq!(out.len(), escaped_len(&value));
            let back: String = serde_json::from_str(&out).unwrap();
            prop_assert_eq!(back, value);
        }
    }
}
