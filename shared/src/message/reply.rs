//! Passive replies (被动回复) to an authorizer push.
//!
//! Docs: <https://developers.weixin.qq.com/doc/subscription/guide/product/message/Passive_user_reply_message.html>.
//! A reply swaps the addresses of the incoming message (`ToUserName` = the follower,
//! `FromUserName` = the 原始ID). Every text goes into CDATA with `]]>` split, so any content
//! round-trips. The rendered XML is then encrypted with the push module's `seal_reply`;
//! only the bare `success` and the empty body are sent in the clear.

use std::fmt::Write as _;

use super::{Message, create_time, required};
use crate::xml::XmlError;
use crate::xml::{self, Fields, push_cdata};

/// What to answer a push with.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The literal `success`: received, nothing to say (WeChat's recommended answer).
    Success,
    /// The empty body: "暂时不回复", used by the release test before a custom-service message.
    Empty,
    /// A passive reply, to be encrypted.
    Reply(Reply),
}

/// A passive reply message.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// `ToUserName`: the follower's OpenID.
    pub to_user_name: String,
    /// `FromUserName`: the authorizer's 原始ID.
    pub from_user_name: String,
    /// `CreateTime`.
    pub create_time: i64,
    /// The content.
    pub kind: ReplyKind,
}

/// The reply types WeChat accepts passively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyKind {
    /// `text`; `\n` line breaks are allowed.
    Text {
        /// `Content`.
        content: String,
    },
    /// `image`.
    Image {
        /// `Image/MediaId`.
        media_id: String,
    },
    /// `voice`.
    Voice {
        /// `Voice/MediaId`.
        media_id: String,
    },
    /// `video`.
    Video {
        /// `Video/MediaId`.
        media_id: String,
        /// `Video/Title`.
        title: Option<String>,
        /// `Video/Description`.
        description: Option<String>,
    },
    /// `music`.
    Music {
        /// `Music/Title`.
        title: Option<String>,
        /// `Music/Description`.
        description: Option<String>,
        /// `Music/MusicUrl`.
        music_url: Option<String>,
        /// `Music/HQMusicUrl`.
        hq_music_url: Option<String>,
        /// `Music/ThumbMediaId`.
        thumb_media_id: String,
    },
    /// `news` with exactly one article: since 2018-10-12 WeChat drops replies with more.
    News(Article),
}

/// The one article of a `news` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    /// `Title`.
    pub title: String,
    /// `Description`.
    pub description: String,
    /// `PicUrl`.
    pub pic_url: String,
    /// `Url`.
    pub url: String,
}

impl Reply {
    /// A reply to `incoming`, addresses swapped.
    pub fn to(incoming: &Message, create_time: i64, kind: ReplyKind) -> Self {
        Self {
            to_user_name: incoming.from_user_name.clone(),
            from_user_name: incoming.to_user_name.clone(),
            create_time,
            kind,
        }
    }

    /// A text reply to `incoming`.
    pub fn text(incoming: &Message, create_time: i64, content: impl Into<String>) -> Self {
        Self::to(incoming, create_time, ReplyKind::Text { content: content.into() })
    }

    /// The `MsgType` of this reply.
    pub fn msg_type(&self) -> &'static str {
        match self.kind {
            ReplyKind::Text { .. } => "text",
            ReplyKind::Image { .. } => "image",
            ReplyKind::Voice { .. } => "voice",
            ReplyKind::Video { .. } => "video",
            ReplyKind::Music { .. } => "music",
            ReplyKind::News(_) => "news",
        }
    }

    /// Renders the plaintext reply XML (before encryption).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("<xml><ToUserName>");
        push_cdata(&mut out, &self.to_user_name);
        out.push_str("</ToUserName><FromUserName>");
        push_cdata(&mut out, &self.from_user_name);
        out.push_str("</FromUserName><CreateTime>");
        // Writing to a String cannot fail.
        let _ = write!(out, "{}", self.create_time);
        out.push_str("</CreateTime><MsgType>");
        push_cdata(&mut out, self.msg_type());
        out.push_str("</MsgType>");
        match &self.kind {
            ReplyKind::Text { content } => element(&mut out, "Content", content),
            ReplyKind::Image { media_id } => nested(&mut out, "Image", &[("MediaId", Some(media_id))]),
            ReplyKind::Voice { media_id } => nested(&mut out, "Voice", &[("MediaId", Some(media_id))]),
            ReplyKind::Video { media_id, title, description } => nested(
                &mut out,
                "Video",
                &[("MediaId", Some(media_id)), ("Title", title.as_ref()), ("Description", description.as_ref())],
            ),
            ReplyKind::Music { title, description, music_url, hq_music_url, thumb_media_id } => nested(
                &mut out,
                "Music",
                &[
                    ("Title", title.as_ref()),
                    ("Description", description.as_ref()),
                    ("MusicUrl", music_url.as_ref()),
                    ("HQMusicUrl", hq_music_url.as_ref()),
                    ("ThumbMediaId", Some(thumb_media_id)),
                ],
            ),
            ReplyKind::News(article) => {
                out.push_str("<ArticleCount>1</ArticleCount><Articles><item>");
                element(&mut out, "Title", &article.title);
                element(&mut out, "Description", &article.description);
                element(&mut out, "PicUrl", &article.pic_url);
                element(&mut out, "Url", &article.url);
                out.push_str("</item></Articles>");
            }
        }
        out.push_str("</xml>");
        out
    }

    /// Parses a plaintext reply: what WeChat (or the local stand-in) does with what we send.
    ///
    /// # Errors
    /// [`XmlError`] for broken XML, missing addresses, or an unsupported `MsgType`.
    pub fn parse(text: &str) -> Result<Self, XmlError> {
        let doc = xml::parse(text)?;
        let root = xml::root(&doc)?;
        let f = Fields::of(root);
        let child = |outer: &str, name: &str| -> Option<String> {
            let outer = root.children().find(|n| n.has_tag_name(outer))?;
            outer.children().find(|n| n.has_tag_name(name)).map(|n| xml::text(n).into_owned())
        };
        let need = |value: Option<String>, name: &str| value.ok_or_else(|| XmlError(format!("no <{name}> element")));
        let kind = match required(&f, "MsgType")? {
            "text" => ReplyKind::Text { content: need(f.string("Content"), "Content")? },
            "image" => ReplyKind::Image { media_id: need(child("Image", "MediaId"), "MediaId")? },
            "voice" => ReplyKind::Voice { media_id: need(child("Voice", "MediaId"), "MediaId")? },
            "video" => ReplyKind::Video {
                media_id: need(child("Video", "MediaId"), "MediaId")?,
                title: child("Video", "Title"),
                description: child("Video", "Description"),
            },
            "music" => ReplyKind::Music {
                title: child("Music", "Title"),
                description: child("Music", "Description"),
                music_url: child("Music", "MusicUrl"),
                hq_music_url: child("Music", "HQMusicUrl"),
                thumb_media_id: need(child("Music", "ThumbMediaId"), "ThumbMediaId")?,
            },
            "news" => {
                let item = root
                    .children()
                    .find(|n| n.has_tag_name("Articles"))
                    .and_then(|a| a.children().find(|n| n.has_tag_name("item")))
                    .ok_or_else(|| XmlError("no <Articles><item>".into()))?;
                let item = Fields::of(item);
                let field = |name| item.string(name).unwrap_or_default();
                ReplyKind::News(Article {
                    title: field("Title"),
                    description: field("Description"),
                    pic_url: field("PicUrl"),
                    url: field("Url"),
                })
            }
            other => return Err(XmlError(format!("unsupported reply MsgType {:?}", xml::truncate(other, 32)))),
        };
        Ok(Self {
            to_user_name: required(&f, "ToUserName")?.to_owned(),
            from_user_name: required(&f, "FromUserName")?.to_owned(),
            create_time: create_time(&f)?,
            kind,
        })
    }
}

fn element(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    push_cdata(out, value);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn nested(out: &mut String, outer: &str, fields: &[(&str, Option<&String>)]) {
    out.push('<');
    out.push_str(outer);
    out.push('>');
    for (name, value) in fields {
        if let Some(value) = value {
            element(out, name, value);
        }
    }
    out.push_str("</");
    out.push_str(outer);
    out.push('>');
}
