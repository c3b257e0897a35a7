//! An article for the draft box (草稿箱), checked against WeChat's rules before anything is sent,
//! the offending field named (`articles[1].title`), and its HTML reduced to what WeChat keeps.
//!
//! The rules, from `draft/add`
//! (<https://developers.weixin.qq.com/doc/service/api/draftbox/draftmanage/api_draft_add>): 1 to 8
//! articles in a draft; a title of at most 32 characters, an author of at most 16, a digest of at
//! most 128 (single-article drafts only: WeChat ignores it on the others); content under 20,000
//! characters and under 1 MB, HTML with its JavaScript removed, its images on WeChat's image host
//! (those from `media/uploadimg`: WeChat drops any other image without saying so); the "read the
//! original" link at most 1 KB; a cover (`thumb_media_id`) that is permanent material.
//!
//! What WeChat would drop silently is refused here instead, or reduced visibly: scripts, styles,
//! frames, forms and event attributes are removed, links keep only `http(s)`, and an image not on
//! WeChat's host is an error naming it (the caller uploads it as an article image first and writes
//! `media:<handle>`, which the platform replaces with WeChat's URL). The platform never fetches a
//! URL it was given: no request to an address a caller chose.

use serde_json::{Value, json};

/// Articles in one draft at most.
pub const MAX_ARTICLES: usize = 8;
/// A title, in characters.
pub const MAX_TITLE_CHARS: usize = 32;
/// An author, in characters.
pub const MAX_AUTHOR_CHARS: usize = 16;
/// A digest, in characters.
pub const MAX_DIGEST_CHARS: usize = 128;
/// Content is *under* this many characters.
pub const CONTENT_CHARS_BELOW: usize = 20_000;
/// Content is under this many bytes.
pub const CONTENT_BYTES_BELOW: usize = 1024 * 1024;
/// The original link, in bytes.
pub const MAX_SOURCE_URL_BYTES: usize = 1024;
/// WeChat's image host: images elsewhere are dropped from an article.
pub const IMAGE_HOSTS: &[&str] = &["https://mmbiz.qpic.cn/", "http://mmbiz.qpic.cn/"];
/// How an image of the platform's media library is written in content: `media:<handle>`.
pub const MEDIA_PREFIX: &str = "media:";

/// Elements kept (their attributes filtered).
const KEPT: &[&str] = &[
    "a",
    "b",
    "blockquote",
    "br",
    "code",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "section",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
];
/// Elements removed with everything inside them.
const REMOVED_WITH_CONTENT: &[&str] =
    &["script", "style", "iframe", "object", "embed", "noscript", "template", "textarea", "select", "form", "svg"];
/// Attributes kept (on any kept element; `href` and `src` checked further).
const KEPT_ATTRIBUTES: &[&str] =
    &["style", "href", "src", "alt", "title", "width", "height", "colspan", "rowspan", "align"];

/// Who may comment on an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comments {
    /// Comments off (WeChat's default).
    Off,
    /// Anyone.
    Everyone,
    /// Followers only.
    Followers,
}

/// One article as a caller writes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    /// The title.
    pub title: String,
    /// The author.
    #[serde(default)]
    pub author: Option<String>,
    /// The digest (single-article drafts).
    #[serde(default)]
    pub digest: Option<String>,
    /// The HTML content (`media:<handle>` for the media library's article images).
    pub content: String,
    /// The "read the original" link.
    #[serde(default)]
    pub source_url: Option<String>,
    /// The cover: a handle of the account's permanent image in the media library…
    #[serde(default)]
    pub cover: Option<String>,
    /// …or WeChat's `thumb_media_id` of permanent material directly.
    #[serde(default)]
    pub thumb_media_id: Option<String>,
    /// Who may comment (default off).
    #[serde(default)]
    pub comments: Option<Comments>,
}

/// A draft as a caller writes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftInput {
    /// Its articles, 1 to [`MAX_ARTICLES`].
    pub articles: Vec<ArticleInput>,
}

/// What an article's references resolve to, asked of the caller's media library.
pub trait Resolve {
    /// WeChat's `thumb_media_id` for the cover handle `handle`, or why it is not one.
    ///
    /// # Errors
    /// Why the handle is not a permanent image of the account.
    fn cover(&self, handle: &str) -> Result<String, String>;
    /// WeChat's URL for the article image `handle`, or why it is not one.
    ///
    /// # Errors
    /// Why the handle is not an uploaded article image of the account.
    fn image(&self, handle: &str) -> Result<String, String>;
}

impl DraftInput {
    /// Every handle the draft names: covers, and images in its content (`media:<handle>`), for the
    /// caller to look up before [`DraftInput::to_wechat`].
    pub fn handles(&self) -> Vec<String> {
        let mut out = Vec::new();
        for article in &self.articles {
            out.extend(article.cover.clone());
            let mut images = Vec::new();
            // Errors are reported by `to_wechat`; here only the names are collected.
            let _ = reduce_html(&article.content, &mut |src| {
                if let Some(handle) = src.strip_prefix(MEDIA_PREFIX) {
                    images.push(handle.to_owned());
                }
                Ok(src.to_owned())
            });
            out.extend(images);
        }
        out.sort();
        out.dedup();
        out
    }

    /// `draft/add`'s `articles`, checked, with the references resolved and the HTML reduced.
    ///
    /// # Errors
    /// The first rule broken, with the field named.
    pub fn to_wechat(&self, resolve: &dyn Resolve) -> Result<Vec<Value>, String> {
        if self.articles.is_empty() || self.articles.len() > MAX_ARTICLES {
            return Err(format!("articles: 1 to {MAX_ARTICLES} articles"));
        }
        let single = self.articles.len() == 1;
        self.articles.iter().enumerate().map(|(i, a)| a.to_wechat(&format!("articles[{i}]"), single, resolve)).collect()
    }
}

impl ArticleInput {
    /// One article of `draft/add` (or `draft/update`'s `articles`), checked; `at` names it.
    ///
    /// # Errors
    /// The first rule broken, with the field named.
    pub fn to_wechat(&self, at: &str, single: bool, resolve: &dyn Resolve) -> Result<Value, String> {
        let chars = |text: &str| text.chars().count();
        let title = self.title.trim();
        if title.is_empty() || chars(title) > MAX_TITLE_CHARS {
            return Err(format!("{at}.title: 1 to {MAX_TITLE_CHARS} characters"));
        }
        let mut out = json!({"article_type": "news", "title": title});
        if let Some(author) = self.author.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            if chars(author) > MAX_AUTHOR_CHARS {
                return Err(format!("{at}.author: at most {MAX_AUTHOR_CHARS} characters"));
            }
            out["author"] = json!(author);
        }
        if let Some(digest) = self.digest.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            if !single {
                return Err(format!(
                    "{at}.digest: only a single-article draft has a digest (WeChat ignores it otherwise)"
                ));
            }
            if chars(digest) > MAX_DIGEST_CHARS {
                return Err(format!("{at}.digest: at most {MAX_DIGEST_CHARS} characters"));
            }
            out["digest"] = json!(digest);
        }
        let content = reduce_html(&self.content, &mut |src| image_src(src, resolve))
            .map_err(|reason| format!("{at}.content: {reason}"))?;
        if content.trim().is_empty() {
            return Err(format!("{at}.content: empty once reduced to what WeChat keeps"));
        }
        if chars(&content) >= CONTENT_CHARS_BELOW || content.len() >= CONTENT_BYTES_BELOW {
            return Err(format!("{at}.content: under {CONTENT_CHARS_BELOW} characters and under 1 MB"));
        }
        out["content"] = json!(content);
        if let Some(url) = self.source_url.as_deref().filter(|u| !u.is_empty()) {
            let web = url.starts_with("https://") || url.starts_with("http://");
            if !web || url.len() > MAX_SOURCE_URL_BYTES || url.bytes().any(|b| b.is_ascii_control() || b == b' ') {
                return Err(format!("{at}.source_url: an http(s) address of at most {MAX_SOURCE_URL_BYTES} bytes"));
            }
            out["content_source_url"] = json!(url);
        }
        let thumb = match (&self.cover, &self.thumb_media_id) {
            (Some(_), Some(_)) => return Err(format!("{at}: cover or thumb_media_id, not both")),
            (Some(handle), None) => resolve.cover(handle).map_err(|reason| format!("{at}.cover: {reason}"))?,
            (None, Some(id)) if !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()) => {
                id.clone()
            }
            (None, Some(_)) => return Err(format!("{at}.thumb_media_id: WeChat's media_id of permanent material")),
            (None, None) => return Err(format!("{at}.cover: an article needs a cover (a permanent image)")),
        };
        out["thumb_media_id"] = json!(thumb);
        let (open, fans) = match self.comments.unwrap_or(Comments::Off) {
            Comments::Off => (0, 0),
            Comments::Everyone => (1, 0),
            Comments::Followers => (1, 1),
        };
        out["need_open_comment"] = json!(open);
        out["only_fans_can_comment"] = json!(fans);
        Ok(out)
    }
}

/// An image's `src` as WeChat keeps it: its own host kept, a media handle resolved, anything else
/// refused with what to do.
fn image_src(src: &str, resolve: &dyn Resolve) -> Result<String, String> {
    if let Some(handle) = src.strip_prefix(MEDIA_PREFIX) {
        return resolve.image(handle);
    }
    if IMAGE_HOSTS.iter().any(|host| src.starts_with(host)) {
        return Ok(src.to_owned());
    }
    Err(format!(
        "<img src=\"{}\"> is not on WeChat's image host (WeChat would drop it): upload it to the media library as an article_image and write src=\"media:<handle>\"",
        src.chars().take(80).collect::<String>()
    ))
}

/// Reduces HTML to the elements and attributes WeChat keeps: `KEPT` elements with
/// `KEPT_ATTRIBUTES` (no `on…`, links `http(s)` only, styles without `url(` or `expression(`),
/// `REMOVED_WITH_CONTENT` gone with their content, comments gone, other elements unwrapped
/// (their text kept), a stray `<` escaped. Each `<img>`'s `src` goes through `image` (an error
/// stops the reduction). A scanner, not a parser: it never fails on malformed markup.
///
/// # Errors
/// What `image` refused.
pub fn reduce_html(html: &str, image: &mut dyn FnMut(&str) -> Result<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(tag) = Tag::scan(rest) else {
            out.push_str("&lt;");
            rest = &rest[1..];
            continue;
        };
        rest = &rest[tag.len..];
        if REMOVED_WITH_CONTENT.contains(&tag.name.as_str()) {
            if !tag.closing && !tag.self_closing {
                rest = skip_past_close(rest, &tag.name);
            }
            continue;
        }
        if !KEPT.contains(&tag.name.as_str()) {
            continue;
        }
        if tag.closing {
            out.push_str("</");
            out.push_str(&tag.name);
            out.push('>');
            continue;
        }
        out.push('<');
        out.push_str(&tag.name);
        for (name, value) in &tag.attributes {
            let value = match name.as_str() {
                "src" if tag.name == "img" => image(value)?,
                "src" => continue,
                "href" => {
                    let lower = value.trim_start().to_ascii_lowercase();
                    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
                        continue;
                    }
                    value.clone()
                }
                "style" => {
                    let lower = value.to_ascii_lowercase();
                    if lower.contains("url(") || lower.contains("expression(") || lower.contains("javascript:") {
                        continue;
                    }
                    value.clone()
                }
                n if KEPT_ATTRIBUTES.contains(&n) => value.clone(),
                _ => continue,
            };
            out.push(' ');
            out.push_str(name);
            out.push_str("=\"");
            out.push_str(&escape_attribute(&value));
            out.push('"');
        }
        out.push_str(if tag.self_closing { " />" } else { ">" });
    }
    out.push_str(rest);
    Ok(out)
}

/// The text after `</name…>` (case-insensitive), or nothing when it is never closed.
fn skip_past_close<'a>(text: &'a str, name: &str) -> &'a str {
    let lower = text.to_ascii_lowercase();
    let close = format!("</{name}");
    match lower.find(&close) {
        Some(at) => text[at..].find('>').map_or("", |end| &text[at + end + 1..]),
        None => "",
    }
}

fn escape_attribute(value: &str) -> String {
    value.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// One tag as scanned: `<name attr="v" …>` or `</name>`.
#[derive(Debug)]
struct Tag {
    name: String,
    closing: bool,
    self_closing: bool,
    attributes: Vec<(String, String)>,
    /// Bytes the tag takes in the text.
    len: usize,
}

impl Tag {
    /// The tag at the start of `text` (which starts with `<`); `None` when it is not one (a stray
    /// `<`, or a tag never closed).
    fn scan(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        let mut i = 1;
        let closing = bytes.get(1) == Some(&b'/');
        if closing {
            i += 1;
        }
        let start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_alphanumeric) {
            i += 1;
        }
        if i == start || !bytes[start].is_ascii_alphabetic() {
            return None;
        }
        let name = text[start..i].to_ascii_lowercase();
        let mut attributes = Vec::new();
        loop {
            while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            match bytes.get(i)? {
                b'>' => return Some(Self { name, closing, self_closing: false, attributes, len: i + 1 }),
                b'/' if bytes.get(i + 1) == Some(&b'>') => {
                    return Some(Self { name, closing, self_closing: true, attributes, len: i + 2 });
                }
                b'/' => i += 1,
                _ => {
                    let name_start = i;
                    while bytes.get(i).is_some_and(|b| !b.is_ascii_whitespace() && !b"=>/".contains(b)) {
                        i += 1;
                    }
                    let attribute = text[name_start..i].to_ascii_lowercase();
                    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                        i += 1;
                    }
                    let mut value = String::new();
                    if bytes.get(i) == Some(&b'=') {
                        i += 1;
                        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                            i += 1;
                        }
                        match bytes.get(i)? {
                            quote @ (b'"' | b'\'') => {
                                let end = text[i + 1..].find(char::from(*quote))? + i + 1;
                                value = decode_entities(&text[i + 1..end]);
                                i = end + 1;
                            }
                            _ => {
                                let value_start = i;
                                while bytes.get(i).is_some_and(|b| !b.is_ascii_whitespace() && *b != b'>') {
                                    i += 1;
                                }
                                value = decode_entities(&text[value_start..i]);
                            }
                        }
                    }
                    if !attribute.is_empty() {
                        attributes.push((attribute, value));
                    }
                }
            }
        }
    }
}

/// The few entities an attribute's value may hide a scheme behind (`&#106;avascript:`): decoded
/// before the checks, escaped again on output.
fn decode_entities(value: &str) -> String {
    if !value.contains('&') {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find(';').filter(|end| *end <= 10);
        let decoded = end.and_then(|end| {
            let entity = &rest[1..end];
            let code = match entity {
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "lt" => Some('<'),
                "gt" => Some('>'),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                    .and_then(char::from_u32),
            };
            code.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Library;
    impl Resolve for Library {
        fn cover(&self, handle: &str) -> Result<String, String> {
            match handle {
                "cover" => Ok("thumb_1".into()),
                _ => Err("not a permanent image of this account".into()),
            }
        }
        fn image(&self, handle: &str) -> Result<String, String> {
            match handle {
                "pic" => Ok("http://mmbiz.qpic.cn/standin_article/1/0".into()),
                _ => Err(format!("media:{handle} is not an article image of this account")),
            }
        }
    }

    fn keep_images(html: &str) -> String {
        reduce_html(html, &mut |src| Ok(src.to_owned())).unwrap()
    }

    #[test]
    fn scripts_styles_frames_and_event_attributes_are_removed() {
        let html = "<p onclick=\"x()\" style=\"color:red\">Hi<script>alert(1)</script></p>\
            <STYLE>p{}</STYLE><iframe src=\"https://evil\"></iframe><!-- note --><div>kept text</div>\
            <a href=\"javascript:alert(1)\">bad</a><a href=\"&#106;avascript:x\">worse</a><a href=\"https://ok.example\">ok</a>\
            <span style=\"background:url(https://track)\">s</span> 1 < 2";
        assert_eq!(
            keep_images(html),
            "<p style=\"color:red\">Hi</p>kept text<a>bad</a><a>worse</a><a href=\"https://ok.example\">ok</a><span>s</span> 1 &lt; 2"
        );
    }

    #[test]
    fn malformed_markup_never_fails_and_never_leaves_a_tag_open() {
        for html in
            ["<", "<p", "<p class=\"x", "<script>never closed", "<!-- never closed", "</>", "<1>", "<a href='x>"]
        {
            let out = keep_images(html);
            assert!(!out.contains("<script") && !out.contains("<!--"), "{html:?} → {out:?}");
        }
        assert_eq!(keep_images("<img src=x alt='a \"b\"' />"), "<img src=\"x\" alt=\"a &quot;b&quot;\" />");
    }

    #[test]
    fn images_are_wechats_or_resolved_from_the_library_and_others_are_named() {
        let draft = |content: &str| DraftInput {
            articles: vec![ArticleInput {
                title: "新品".into(),
                author: None,
                digest: None,
                content: content.into(),
                source_url: None,
                cover: Some("cover".into()),
                thumb_media_id: None,
                comments: Some(Comments::Followers),
            }],
        };
        let ok = draft("<p><img src=\"media:pic\"><img src=\"https://mmbiz.qpic.cn/a/0\"></p>");
        assert_eq!(ok.handles(), ["cover", "pic"]);
        let out = ok.to_wechat(&Library).unwrap();
        assert_eq!(
            out[0],
            json!({"article_type": "news", "title": "新品", "thumb_media_id": "thumb_1",
                "content": "<p><img src=\"http://mmbiz.qpic.cn/standin_article/1/0\"><img src=\"https://mmbiz.qpic.cn/a/0\"></p>",
                "need_open_comment": 1, "only_fans_can_comment": 1})
        );
        let err = draft("<img src=\"https://cdn.example.com/a.jpg\">").to_wechat(&Library).unwrap_err();
        assert!(err.starts_with("articles[0].content: <img src=\"https://cdn.example.com/a.jpg\">"), "{err}");
        let err = draft("<img src=\"media:other\">").to_wechat(&Library).unwrap_err();
        assert!(err.contains("media:other"), "{err}");
    }

    #[test]
    fn wechats_limits_name_the_field() {
        let article = |edit: &dyn Fn(&mut ArticleInput)| {
            let mut a = ArticleInput {
                title: "标题".into(),
                author: None,
                digest: None,
                content: "<p>正文</p>".into(),
                source_url: None,
                cover: Some("cover".into()),
                thumb_media_id: None,
                comments: None,
            };
            edit(&mut a);
            a
        };
        let cases: Vec<(Vec<ArticleInput>, &str)> = vec![
            (vec![], "articles: 1 to 8"),
            ((0..9).map(|_| article(&|_| {})).collect(), "articles: 1 to 8"),
            (vec![article(&|a| a.title = "字".repeat(33))], "articles[0].title"),
            (vec![article(&|a| a.author = Some("作".repeat(17)))], "articles[0].author"),
            (vec![article(&|a| a.digest = Some("摘".repeat(129)))], "articles[0].digest"),
            (vec![article(&|_| {}), article(&|a| a.digest = Some("摘要".into()))], "articles[1].digest"),
            (vec![article(&|a| a.content = format!("<p>{}</p>", "字".repeat(20_000)))], "articles[0].content"),
            (vec![article(&|a| a.content = "<script>x</script>".into())], "articles[0].content: empty"),
            (vec![article(&|a| a.source_url = Some("ftp://x".into()))], "articles[0].source_url"),
            (vec![article(&|a| a.cover = Some("temporary".into()))], "articles[0].cover"),
            (vec![article(&|a| a.cover = None)], "articles[0].cover: an article needs"),
            (vec![article(&|a| a.thumb_media_id = Some("t".into()))], "articles[0]: cover or thumb_media_id"),
        ];
        for (articles, named) in cases {
            let err = DraftInput { articles }.to_wechat(&Library).unwrap_err();
            assert!(err.starts_with(named), "{err} should start with {named}");
        }
        // At the limits: accepted.
        let full = article(&|a| {
            a.title = "字".repeat(32);
            a.author = Some("作".repeat(16));
            a.digest = Some("摘".repeat(128));
        });
        assert!(DraftInput { articles: vec![full] }.to_wechat(&Library).is_ok());
    }
}
