//! The little XML this crate needs.
//!
//! WeChat XML is flat: `<xml>` and a handful of leaf elements (a few nested ones in replies). Two
//! readers, each where it pays:
//!
//! - [`Fields::flat`], a single pass over the text, reads the envelope and the decrypted
//!   message of every push. It is the hot path: measured on the 2-core CI machine, a roxmltree DOM
//!   build costs ~1.2 µs per document *before* any field is read, and quick-xml's event reader
//!   ~0.7 µs for a 300-byte message; this scanner reads the same message, fields and all, in
//!   ~0.45 µs including the typed message's allocations, and the whole push path is ~1.3 µs.
//! - [`parse`] builds a roxmltree DOM for nested documents off the hot path (replies, read back by
//!   the WeChat stand-in and the tests). Being an independent parser, it also cross-checks
//!   [`Fields::flat`] in the property tests.
//!
//! Both refuse DTDs outright (no XXE, no "billion laughs"), expand only the five predefined entities
//! and character references, and bound the work a hostile document can cause (node limit, depth
//! limit, and the body-size limit before them).

use roxmltree::{Document, Node, ParsingOptions};
use std::borrow::Cow;

/// A document that is not the XML WeChat sends: broken, a DTD, an unknown entity, too deep or
/// too large, or missing an element the caller needs. The text names the problem, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed XML: {0}")]
pub struct XmlError(pub String);

/// Upper bound on nodes in one document. A real push has under 40; 64 KiB of `<a/>` has ~16,000.
const NODES_LIMIT: u32 = 4096;

/// Parses `text` with DTDs refused and the node limit applied.
pub(crate) fn parse(text: &str) -> Result<Document<'_>, XmlError> {
    let options = ParsingOptions { allow_dtd: false, nodes_limit: NODES_LIMIT, ..ParsingOptions::default() };
    Document::parse_with_options(text, options).map_err(|err| XmlError(err.to_string()))
}

/// The root `<xml>` element, or an error naming what was found instead.
pub(crate) fn root<'a, 'input>(doc: &'a Document<'input>) -> Result<Node<'a, 'input>, XmlError> {
    let root = doc.root_element();
    if root.tag_name().name() == "xml" {
        Ok(root)
    } else {
        Err(XmlError(format!("root element is <{}>, expected <xml>", truncate(root.tag_name().name(), 32))))
    }
}

/// The text of an element: all its text and CDATA children joined (a `]]>` split across two CDATA
/// sections comes back whole), without trimming.
pub(crate) fn text<'a>(node: Node<'a, '_>) -> Cow<'a, str> {
    let mut texts = node.children().filter(Node::is_text);
    let Some(first) = texts.next() else {
        return Cow::Borrowed("");
    };
    let first = first.text().unwrap_or("");
    match texts.next() {
        None => Cow::Borrowed(first),
        Some(second) => {
            let mut joined = String::from(first);
            joined.push_str(second.text().unwrap_or(""));
            for more in texts {
                joined.push_str(more.text().unwrap_or(""));
            }
            Cow::Owned(joined)
        }
    }
}

/// The leaf fields directly under `root`, in document order: `(tag, text)`.
pub(crate) struct Fields<'a> {
    fields: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Fields<'a> {
    pub(crate) fn of(root: Node<'a, '_>) -> Self {
        let fields =
            root.children().filter(Node::is_element).map(|n| (Cow::Borrowed(n.tag_name().name()), text(n))).collect();
        Self { fields }
    }

    /// Reads the fields of a flat `<xml>` document in one pass: the envelope and the decrypted
    /// message of every push.
    ///
    /// Refuses DTDs, unknown entities, invalid character references, unbalanced or mismatched
    /// tags, text outside the root and a root other than one `<xml>`; expands character
    /// references and the five predefined entities; normalises line ends as XML 1.0 requires.
    /// Only the direct text of each child of the root is kept (CDATA and text joined), exactly
    /// like [`text`] over a roxmltree DOM, which the property tests check on generated documents
    /// and the fuzz target on arbitrary ones.
    ///
    /// Why not a general XML crate: this runs twice per push, and quick-xml's event reader took
    /// ~0.7 µs for a 300-byte message (~35 ns per event, each slice re-validated as UTF-8) — two
    /// thirds of the whole verify + decrypt + parse budget. WeChat's documents are one level of
    /// leaves, so a scanner over the `&str` with `memchr` does the same checks in a fraction.
    pub(crate) fn flat(input: &'a str) -> Result<Self, XmlError> {
        let bytes = input.as_bytes();
        let mut fields: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::with_capacity(12);
        // Where the names of the open elements are (the root at 0), to match end tags. Offsets
        // rather than `&str`s: an all-zero array is one memset, not 2 × MAX_DEPTH stores.
        let mut open = [(0usize, 0usize); MAX_DEPTH];
        let mut depth = 0usize;
        let mut seen_root = false;
        let mut current: Option<Cow<'a, str>> = None;
        let mut pos = if input.starts_with('\u{feff}') { 3 } else { 0 };
        loop {
            let lt = memchr::memchr(b'<', &bytes[pos..]).map_or(bytes.len(), |at| pos + at);
            if lt > pos {
                let text = slice(input, pos, lt)?;
                match depth {
                    0 if !text.bytes().all(is_xml_space) => return Err(bad("text outside the root element")),
                    0 => {}
                    2 => append(&mut current, expand(text)?),
                    _ => {
                        expand(text)?;
                    }
                }
            }
            if lt == bytes.len() {
                break;
            }
            let rest = &bytes[lt + 1..];
            pos = match rest.first() {
                Some(b'/') => {
                    let (name, after) = name_at(input, lt + 2)?;
                    let after = skip_space(bytes, after);
                    if bytes.get(after) != Some(&b'>') {
                        return Err(bad("malformed end tag"));
                    }
                    if depth == 0 || input.get(open[depth - 1].0..open[depth - 1].1) != Some(name) {
                        return Err(bad("unbalanced or mismatched end tag"));
                    }
                    if depth == 2
                        && let (Some(value), Some(last)) = (current.take(), fields.last_mut())
                    {
                        last.1 = value;
                    }
                    depth -= 1;
                    after + 1
                }
                Some(b'!') if rest.starts_with(b"!--") => {
                    find(bytes, lt + 4, b"-->").ok_or_else(|| bad("unclosed comment"))? + 3
                }
                Some(b'!') if rest.starts_with(b"![CDATA[") => {
                    let end = find(bytes, lt + 9, b"]]>").ok_or_else(|| bad("unclosed CDATA section"))?;
                    match depth {
                        0 => return Err(bad("CDATA outside the root element")),
                        2 => append(&mut current, normalize_eols(slice(input, lt + 9, end)?)),
                        _ => {}
                    }
                    end + 3
                }
                Some(b'!') if rest.starts_with(b"!DOCTYPE") => return Err(bad("DTDs are not allowed")),
                Some(b'!') => return Err(bad("malformed markup declaration")),
                Some(b'?') => find(bytes, lt + 2, b"?>").ok_or_else(|| bad("unclosed processing instruction"))? + 2,
                _ => {
                    let (name, after, empty) = start_tag(input, lt + 1)?;
                    if depth == 0 && (seen_root || name != "xml") {
                        return Err(bad("root element must be a single <xml>"));
                    }
                    seen_root = true;
                    if empty {
                        if depth == 1 {
                            fields.push((Cow::Borrowed(name), Cow::Borrowed("")));
                        }
                    } else {
                        if depth == MAX_DEPTH {
                            return Err(bad("document too deep or too large"));
                        }
                        open[depth] = (lt + 1, lt + 1 + name.len());
                        depth += 1;
                        if depth == 2 {
                            fields.push((Cow::Borrowed(name), Cow::Borrowed("")));
                            current = Some(Cow::Borrowed(""));
                        }
                    }
                    if fields.len() > NODES_LIMIT as usize {
                        return Err(bad("document too deep or too large"));
                    }
                    after
                }
            };
        }
        if depth != 0 || !seen_root {
            return Err(bad("unclosed or missing <xml> root"));
        }
        Ok(Self { fields })
    }

    /// The first field named `name` (element names are case-sensitive: `MsgId` ≠ `MsgID`).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(tag, _)| tag == name).map(|(_, value)| value.as_ref())
    }

    /// Like [`Fields::get`], owned.
    pub(crate) fn string(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }
}

fn append<'a>(current: &mut Option<Cow<'a, str>>, more: Cow<'a, str>) {
    match current {
        Some(Cow::Borrowed("")) => *current = Some(more),
        Some(existing) => existing.to_mut().push_str(&more),
        None => {}
    }
}

/// Deepest nesting accepted (WeChat's documents have 2 or 3 levels, replies 4).
const MAX_DEPTH: usize = 32;

fn bad(what: &str) -> XmlError {
    XmlError(what.to_owned())
}

/// `input[start..end]`; both ends sit next to ASCII delimiters, so this only fails on a bug.
fn slice(input: &str, start: usize, end: usize) -> Result<&str, XmlError> {
    input.get(start..end).ok_or_else(|| bad("malformed document"))
}

/// Where `needle` starts in `bytes[from..]`, as an index into `bytes`. (`memmem::find` builds a
/// searcher per call, which costs more than these short needles save.)
fn find(bytes: &[u8], mut from: usize, needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    loop {
        let at = from + memchr::memchr(first, bytes.get(from..)?)?;
        if bytes[at..].starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    }
}

fn is_xml_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

fn skip_space(bytes: &[u8], mut pos: usize) -> usize {
    while bytes.get(pos).copied().is_some_and(is_xml_space) {
        pos += 1;
    }
    pos
}

const NAME_START: u8 = 2;
/// Per byte: 2 may start a name (letters, `_`, `:`, any byte of a non-ASCII character), 1 may
/// continue one (also digits, `-`, `.`), 0 ends it. A table: this runs for every tag.
const NAME_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = if byte.is_ascii_alphabetic() || byte == b'_' || byte == b':' || byte >= 0x80 {
            NAME_START
        } else if byte.is_ascii_digit() || byte == b'-' || byte == b'.' {
            1
        } else {
            0
        };
        b += 1;
    }
    table
};

/// The name at `pos` and the position after it. Letters, digits, `_ - . :` and any non-ASCII
/// character (XML allows most of them; this never splits one, since it stops only at ASCII).
fn name_at(input: &str, pos: usize) -> Result<(&str, usize), XmlError> {
    let bytes = input.as_bytes();
    let first = bytes.get(pos).copied().unwrap_or(b' ');
    if NAME_BYTES[usize::from(first)] != NAME_START {
        return Err(bad("invalid element or attribute name"));
    }
    let mut end = pos + 1;
    while bytes.get(end).is_some_and(|&b| NAME_BYTES[usize::from(b)] != 0) {
        end += 1;
    }
    Ok((slice(input, pos, end)?, end))
}

/// A start tag from its name at `pos`: the name, the position after the tag, and whether it was
/// empty (`<a/>`). Attributes are checked for shape (quoted, no `<`, valid references) and
/// otherwise ignored: WeChat puts none in pushes.
fn start_tag(input: &str, pos: usize) -> Result<(&str, usize, bool), XmlError> {
    let bytes = input.as_bytes();
    let (name, mut at) = name_at(input, pos)?;
    loop {
        let spaced = at;
        at = skip_space(bytes, at);
        match bytes.get(at) {
            Some(b'>') => return Ok((name, at + 1, false)),
            Some(b'/') if bytes.get(at + 1) == Some(&b'>') => return Ok((name, at + 2, true)),
            Some(_) if at > spaced => {
                let (_, after) = name_at(input, at)?;
                at = skip_space(bytes, after);
                if bytes.get(at) != Some(&b'=') {
                    return Err(bad("malformed attribute"));
                }
                at = skip_space(bytes, at + 1);
                let quote = match bytes.get(at) {
                    Some(&q @ (b'"' | b'\'')) => q,
                    _ => return Err(bad("unquoted attribute value")),
                };
                let close = memchr::memchr(quote, &bytes[at + 1..]).ok_or_else(|| bad("unclosed attribute value"))?;
                let value = slice(input, at + 1, at + 1 + close)?;
                if value.contains('<') {
                    return Err(bad("`<` in an attribute value"));
                }
                expand(value)?;
                at += close + 2;
            }
            _ => return Err(bad("malformed start tag")),
        }
    }
}

/// Text with its references expanded and line ends normalised; borrowed when it has neither.
fn expand(text: &str) -> Result<Cow<'_, str>, XmlError> {
    if memchr::memchr(b'&', text.as_bytes()).is_none() {
        return Ok(normalize_eols(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&normalize_eols(&rest[..amp]));
        let semi = rest[amp..].find(';').ok_or_else(|| bad("unclosed entity reference"))? + amp;
        out.push(reference(&rest[amp + 1..semi])?);
        rest = &rest[semi + 1..];
    }
    out.push_str(&normalize_eols(rest));
    Ok(Cow::Owned(out))
}

/// The character `&name;` stands for: a predefined entity or a character reference to a
/// character XML allows (no NUL, no other C0 controls but tab and line ends, no surrogates).
fn reference(name: &str) -> Result<char, XmlError> {
    let Some(number) = name.strip_prefix('#') else {
        return predefined_entity(name).ok_or_else(|| bad("unknown entity reference"));
    };
    let code = match number.strip_prefix('x') {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => u32::from_str_radix(hex, 16).ok(),
        None if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) => number.parse().ok(),
        _ => None,
    };
    code.filter(|&c| matches!(c, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x1_0000..=0x10_FFFF))
        .and_then(char::from_u32)
        .ok_or_else(|| bad("invalid character reference"))
}

/// XML 1.0 line ends: `\r\n` and a lone `\r` become `\n`.
fn normalize_eols(text: &str) -> Cow<'_, str> {
    if memchr::memchr(b'\r', text.as_bytes()).is_none() {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
}

fn predefined_entity(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

/// `(tag, text)` pairs, owned.
#[doc(hidden)]
pub type FieldList = Vec<(String, String)>;

/// The fields of `text` as [`Fields::flat`] reads them, and as a roxmltree DOM reads them when
/// it accepts the document with an `<xml>` root: the fuzz target's differential check of the
/// scanner (`fuzz/fuzz_targets/open_and_parse.rs`). Not an API.
#[doc(hidden)]
pub fn differential(text: &str) -> (Result<FieldList, String>, Option<FieldList>) {
    let owned = |fields: &Fields<'_>| fields.fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let flat = Fields::flat(text).map(|f| owned(&f)).map_err(|e| e.to_string());
    let dom = parse(text).ok().and_then(|doc| root(&doc).ok().map(|root| owned(&Fields::of(root))));
    (flat, dom)
}

/// Appends `text` as CDATA. A `]]>` inside is split across two sections (`]]]]><![CDATA[>`), so any
/// content round-trips through any conforming parser.
pub(crate) fn push_cdata(out: &mut String, text: &str) {
    out.push_str("<![CDATA[");
    let mut rest = text;
    // `find` rather than `str::find`: the Base64 ciphertext of every reply goes through here, and
    // the two-way searcher's setup alone cost a tenth of the reply path.
    while let Some(at) = find(rest.as_bytes(), 0, b"]]>") {
        out.push_str(&rest[..at + 2]);
        out.push_str("]]><![CDATA[");
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out.push_str("]]>");
}

/// At most `max` characters of `text`, for error messages that quote input.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(content: &str) -> String {
        let mut xml = String::from("<xml><Content>");
        push_cdata(&mut xml, content);
        xml.push_str("</Content></xml>");
        let doc = parse(&xml).unwrap();
        let root = root(&doc).unwrap();
        Fields::of(root).string("Content").unwrap()
    }

    #[test]
    fn cdata_with_terminator_round_trips() {
        for content in ["", "plain", "]]>", "a]]>b]]>c", "]]]]>", "]]", "<b>&amp;</b>", "中文]]>字"] {
            assert_eq!(round_trip(content), content);
        }
    }

    #[test]
    fn refuses_dtd_and_entities() {
        let xxe =
            r#"<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><A>&x;</A></xml>"#;
        assert!(matches!(parse(xxe), Err(XmlError(_))));
        let laughs = r#"<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><xml>&b;</xml>"#;
        assert!(matches!(parse(laughs), Err(XmlError(_))));
    }

    #[test]
    fn deep_and_wide_documents_are_refused_without_overflowing() {
        let deep = format!("<xml>{}{}</xml>", "<a>".repeat(20_000), "</a>".repeat(20_000));
        assert!(parse(&deep).is_err());
        let wide = format!("<xml>{}</xml>", "<a/>".repeat(10_000));
        assert!(parse(&wide).is_err());
    }

    fn pairs(fields: &Fields<'_>) -> Vec<(String, String)> {
        fields.fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn flat_reads_what_the_dom_reads() {
        let xml = "<?xml version=\"1.0\"?><!-- c --><xml>\r\n<A><![CDATA[x]]>y&amp;&#x4e2d;<![CDATA[]]]]><![CDATA[>]]></A><B/><C>a\r\nb<n>skip</n>c</C></xml>\n";
        let doc = parse(xml).unwrap();
        let dom = Fields::of(root(&doc).unwrap());
        let flat = Fields::flat(xml).unwrap();
        assert_eq!(pairs(&flat), pairs(&dom));
        assert_eq!(flat.get("A"), Some("xy&中]]>"));
        assert_eq!(flat.get("C"), Some("a\nbc"));
    }

    /// Shapes the property test does not generate: attributes (a `>` inside a value is legal),
    /// a byte-order mark, markup between and around the fields, tabs and line ends inside tags.
    #[test]
    fn flat_reads_attributes_marks_and_spacing_like_the_dom() {
        for xml in [
            "\u{feff}<xml><A>1</A></xml>",
            "<xml a=\"1\" b='>' c=\"&amp;&#x41;\"><A x=\"/>\">v</A ><B\t/></xml >",
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- a --><xml\r\n><A>1</A><!--b--><?p?><B>2<!--c-->3</B></xml><!--d-->\n",
            "<xml><A><![CDATA[]]></A><B><![CDATA[<not a tag>]]></B><C>&#9;&#10;&#13;</C></xml>",
            "<xml/>",
            "<xml><中文>值</中文><_a-b.c>1</_a-b.c></xml>",
        ] {
            let doc = parse(xml).unwrap();
            let dom = Fields::of(root(&doc).unwrap());
            assert_eq!(pairs(&Fields::flat(xml).unwrap()), pairs(&dom), "{xml:?}");
        }
    }

    #[test]
    fn flat_refuses_what_it_must() {
        for bad in [
            "",
            "   ",
            "<html><A>1</A></html>",
            "<xml><A>1</A></xml><xml/>",
            "<xml><A>1</B></xml>",
            "<xml><A>1</A>",
            "junk<xml/>",
            "<xml><A>&ent;</A></xml>",
            "<!DOCTYPE xml [<!ENTITY e \"x\">]><xml><A>&e;</A></xml>",
            "<xml><A>&#0;</A></xml>",
            "<xml><A>&#1;</A></xml>",
            "<xml><A>&#x110000;</A></xml>",
            "<xml><A>&#xD800;</A></xml>",
            "<xml><A>&#;</A></xml>",
            "<xml><A>& b</A></xml>",
            "<xml><A><![CDATA[open</A></xml>",
            "<xml><!-- open </xml>",
            "<xml><? open </xml>",
            "<xml><!ELEMENT a ANY></xml>",
            "<xml><A x=1>v</A></xml>",
            "<xml><A x=\"1\"y=\"2\">v</A></xml>",
            "<xml><A x=\"<\">v</A></xml>",
            "<xml><A x=\"&bad;\">v</A></xml>",
            "<xml><A x>v</A></xml>",
            "<xml><1A>v</1A></xml>",
            "<xml></></xml>",
            "<xml><A>v</A ",
            "<![CDATA[x]]><xml/>",
            "<xml/>text",
            "<xml/>&amp;",
        ] {
            assert!(Fields::flat(bad).is_err(), "{bad:?}");
        }
        let deep = format!("<xml>{}{}</xml>", "<a>".repeat(100), "</a>".repeat(100));
        assert!(Fields::flat(&deep).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        /// Differential test: whenever roxmltree accepts a document with an `<xml>` root, the
        /// streaming reader accepts it too and reads the same fields.
        #[test]
        fn flat_agrees_with_roxmltree(items in proptest::collection::vec(item(), 0..12)) {
            let xml = format!("<xml>{}</xml>", items.concat());
            if let Ok(doc) = parse(&xml) {
                let dom = Fields::of(root(&doc).unwrap());
                let flat = Fields::flat(&xml);
                proptest::prop_assert!(flat.is_ok(), "{xml:?}: {flat:?}", flat = flat.err());
                // roxmltree leaves a `\r` that precedes an entity reference un-normalised (XML 1.0
                // XML 1.0 §2.11 says every `\r` becomes `\n`); compare modulo line ends, which
                // `flat_reads_what_the_dom_reads` and the message property tests pin separately.
                let eol = |v: Vec<(String, String)>| -> Vec<(String, String)> {
                    v.into_iter().map(|(k, t)| (k, t.replace("\r\n", "\n").replace('\r', "\n"))).collect()
                };
                proptest::prop_assert_eq!(eol(pairs(&flat.unwrap())), eol(pairs(&dom)), "{}", xml);
            }
        }
    }

    fn item() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let name = prop::sample::select(vec!["A", "B", "MsgId", "Content", "x_y"]);
        let text = prop::sample::select(vec![
            "",
            " ",
            "t",
            "\r\n",
            "\r",
            "中文",
            "&amp;",
            "&lt;&gt;&quot;&apos;",
            "&#65;",
            "&#x1F600;",
            "<![CDATA[c]]>",
            "<![CDATA[]]]]><![CDATA[>]]>",
            "<!-- note -->",
            "<?pi x?>",
            "<n>inner</n>",
            "<e/>",
            "&bad;",
            "<",
        ]);
        let body = prop::collection::vec(text, 0..4).prop_map(|parts| parts.concat());
        prop_oneof![
            4 => (name.clone(), body).prop_map(|(n, b)| format!("<{n}>{b}</{n}>")),
            1 => name.prop_map(|n| format!("<{n}/>")),
            1 => Just("\n  ".to_owned()),
        ]
    }

    #[test]
    fn root_must_be_xml() {
        let doc = parse("<html><Encrypt>x</Encrypt></html>").unwrap();
        assert!(matches!(root(&doc), Err(XmlError(m)) if m.contains("<html>")));
    }
}
