//! The little XML this crate needs, on top of roxmltree.
//!
//! WeChat XML is flat: `<xml>` and a handful of leaf elements (a few nested ones in replies and
//! news). roxmltree never expands external entities and, with `allow_dtd: false`, refuses any DTD
//! outright, which closes XXE and "billion laughs" before they start; a node limit bounds the work
//! a hostile document can cause even inside the body-size limit.

use roxmltree::{Document, Node, ParsingOptions};
use std::borrow::Cow;

use crate::crypto::CryptoError;

/// Upper bound on nodes in one document. A real push has under 40; 64 KiB of `<a/>` has ~16,000.
const NODES_LIMIT: u32 = 4096;

/// Parses `text` with DTDs refused and the node limit applied.
pub(crate) fn parse(text: &str) -> Result<Document<'_>, CryptoError> {
    let options = ParsingOptions { allow_dtd: false, nodes_limit: NODES_LIMIT, ..ParsingOptions::default() };
    Document::parse_with_options(text, options).map_err(|err| CryptoError::Xml(err.to_string()))
}

/// The root `<xml>` element, or an error naming what was found instead.
pub(crate) fn root<'a, 'input>(doc: &'a Document<'input>) -> Result<Node<'a, 'input>, CryptoError> {
    let root = doc.root_element();
    if root.tag_name().name() == "xml" {
        Ok(root)
    } else {
        Err(CryptoError::Xml(format!("root element is <{}>, expected <xml>", truncate(root.tag_name().name(), 32))))
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
    fields: Vec<(&'a str, Cow<'a, str>)>,
}

impl<'a> Fields<'a> {
    pub(crate) fn of(root: Node<'a, '_>) -> Self {
        let fields = root.children().filter(Node::is_element).map(|n| (n.tag_name().name(), text(n))).collect();
        Self { fields }
    }

    /// The first field named `name` (element names are case-sensitive: `MsgId` ≠ `MsgID`).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(tag, _)| *tag == name).map(|(_, value)| value.as_ref())
    }

    /// Like [`Fields::get`], owned.
    pub(crate) fn string(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }
}

/// Appends `text` as CDATA. A `]]>` inside is split across two sections (`]]]]><![CDATA[>`), so any
/// content round-trips through any conforming parser.
pub(crate) fn push_cdata(out: &mut String, text: &str) {
    out.push_str("<![CDATA[");
    let mut rest = text;
    while let Some(at) = rest.find("]]>") {
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
        assert!(matches!(parse(xxe), Err(CryptoError::Xml(_))));
        let laughs = r#"<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><xml>&b;</xml>"#;
        assert!(matches!(parse(laughs), Err(CryptoError::Xml(_))));
    }

    #[test]
    fn deep_and_wide_documents_are_refused_without_overflowing() {
        let deep = format!("<xml>{}{}</xml>", "<a>".repeat(20_000), "</a>".repeat(20_000));
        assert!(parse(&deep).is_err());
        let wide = format!("<xml>{}</xml>", "<a/>".repeat(10_000));
        assert!(parse(&wide).is_err());
    }

    #[test]
    fn root_must_be_xml() {
        let doc = parse("<html><Encrypt>x</Encrypt></html>").unwrap();
        assert!(matches!(root(&doc), Err(CryptoError::Xml(m)) if m.contains("<html>")));
    }
}
