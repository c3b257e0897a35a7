//! Typed WeChat XML: the push envelope, component notices, authorizer messages and events, and
//! passive replies.
//!
//! Parsing is two-pass, as wechatpy does it: read the tag (`InfoType`, `MsgType`, `Event`), then
//! fill the concrete variant from the same document. Anything we do not model, or a known type
//! whose fields do not parse, is kept verbatim as `Unknown` so nothing is lost and WeChat still
//! gets its `success`. Only XML that is broken, or lacks the header every push has, is an error
//! ([`crate::xml::XmlError`], code -40002).

mod component;
mod outbound;
mod reply;

pub use self::component::{AuthorizationNotice, ComponentNotice, NoticeKind};
pub use self::outbound::{CustomMessage, MAX_MENU_ITEMS, MAX_TEXT_CHARS};
pub use self::reply::{Answer, Article, Reply, ReplyKind};

use crate::xml::Fields;
use crate::xml::XmlError;

/// A message or event pushed to an authorizer's 消息与事件接收URL, decrypted and typed.
///
/// Docs: <https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html>
/// and <https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_event_pushes.html>.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `ToUserName`: the authorizer's 原始ID (`gh_…`).
    pub to_user_name: String,
    /// `FromUserName`: the follower's OpenID.
    pub from_user_name: String,
    /// `CreateTime`, seconds since the epoch.
    pub create_time: i64,
    /// `MsgId` (ordinary messages) or `MsgID` (TEMPLATESENDJOBFINISH), kept as text.
    pub msg_id: Option<String>,
    /// What kind of message or event this is.
    pub kind: MessageKind,
}

/// The parametric QR code a follower scanned (`EventKey` + `Ticket`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrScene {
    /// The scene value, without the `qrscene_` prefix WeChat adds on subscribe.
    pub scene: String,
    /// `Ticket`, to fetch the QR image.
    pub ticket: Option<String>,
}

/// Every modelled `MsgType` / `Event`, plus the raw fallback.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageKind {
    /// `text`.
    Text {
        /// `Content`.
        content: String,
    },
    /// `image`.
    Image {
        /// `PicUrl`.
        pic_url: String,
        /// `MediaId`.
        media_id: String,
    },
    /// `voice`; `Recognition` only when 语音识别 is on.
    Voice {
        /// `MediaId`.
        media_id: String,
        /// `Format` (`amr`, `speex`).
        format: String,
        /// `Recognition`.
        recognition: Option<String>,
    },
    /// `video`.
    Video {
        /// `MediaId`.
        media_id: String,
        /// `ThumbMediaId`.
        thumb_media_id: String,
    },
    /// `shortvideo`.
    ShortVideo {
        /// `MediaId`.
        media_id: String,
        /// `ThumbMediaId`.
        thumb_media_id: String,
    },
    /// `location` (a location the follower sent).
    Location {
        /// `Location_X`.
        latitude: f64,
        /// `Location_Y`.
        longitude: f64,
        /// `Scale`.
        scale: f64,
        /// `Label`.
        label: String,
    },
    /// `link`.
    Link {
        /// `Title`.
        title: String,
        /// `Description`.
        description: String,
        /// `Url`.
        url: String,
    },
    /// `event` / `subscribe`, from a parametric QR code when `scene` is set.
    Subscribe {
        /// The QR code scanned, if any.
        scene: Option<QrScene>,
    },
    /// `event` / `unsubscribe`.
    Unsubscribe,
    /// `event` / `SCAN`: an existing follower scanned a parametric QR code.
    Scan {
        /// The QR code scanned.
        scene: QrScene,
    },
    /// `event` / `LOCATION`: the periodic location report.
    LocationReport {
        /// `Latitude`.
        latitude: f64,
        /// `Longitude`.
        longitude: f64,
        /// `Precision`.
        precision: f64,
    },
    /// `event` / `CLICK`: a menu click.
    Click {
        /// `EventKey`: the menu key.
        key: String,
    },
    /// `event` / `VIEW`: a menu link.
    View {
        /// `EventKey`: the URL.
        url: String,
        /// `MenuId`, when present.
        menu_id: Option<String>,
    },
    /// `event` / `TEMPLATESENDJOBFINISH`; the template message id is in [`Message::msg_id`].
    TemplateSendJobFinish {
        /// `Status`: `success`, `failed:user block`, `failed: system failed`, …
        status: String,
    },
    /// `event` / `PUBLISHJOBFINISH`: how a publication (`freepublish/submit`) ended.
    PublishJobFinish(PublishOutcome),
    /// `event` / `MASSSENDJOBFINISH`: how a mass send ended; its `msg_id` is in
    /// [`Message::msg_id`].
    MassSendJobFinish(MassSendOutcome),
    /// Anything else, or a known type whose fields did not parse: kept verbatim.
    Unknown {
        /// `MsgType`.
        msg_type: String,
        /// `Event`, for events.
        event: Option<String>,
        /// The whole decrypted XML.
        raw: String,
    },
}

/// What `PUBLISHJOBFINISH` says
/// (<https://developers.weixin.qq.com/doc/service/api/public/api_freepublish_submit>).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishOutcome {
    /// `publish_id`.
    pub publish_id: String,
    /// `publish_status`: 0 published, 1 publishing, 2 original-content check failed, 3 failed,
    /// 4 refused by WeChat's review, 5 deleted by the account, 6 banned by WeChat.
    pub status: i64,
    /// `article_id` when published.
    pub article_id: Option<String>,
    /// Each article's permanent link, in `idx` order.
    pub article_urls: Vec<String>,
    /// The articles that failed (`fail_idx`).
    pub fail_idx: Vec<i64>,
}

/// What `MASSSENDJOBFINISH` says
/// (<https://developers.weixin.qq.com/doc/service/api/notify/message/api_sendall>).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MassSendOutcome {
    /// `Status`: `sendsuccess`, `sendfail`, or `err(N)` with WeChat's reason code.
    pub status: String,
    /// `TotalCount`: followers the send was for.
    pub total: i64,
    /// `FilterCount`: those left after WeChat's filtering (blocked, unfollowed, over quota).
    pub filtered: i64,
    /// `SentCount`.
    pub sent: i64,
    /// `ErrorCount`.
    pub errors: i64,
}

impl Message {
    /// Parses a decrypted authorizer push.
    ///
    /// # Errors
    /// [`XmlError`] when the XML is broken or lacks `ToUserName`, `FromUserName`,
    /// `CreateTime` or `MsgType`. Unknown or malformed types are `MessageKind::Unknown`, not errors.
    pub fn parse(text: &str) -> Result<Self, XmlError> {
        let f = Fields::flat(text)?;
        let msg_type = required(&f, "MsgType")?;
        let event = f.get("Event");
        let kind = match msg_type {
            "event" => event.and_then(|event| event_kind(&f, event, text)),
            _ => message_kind(&f, msg_type),
        }
        .unwrap_or_else(|| MessageKind::Unknown {
            msg_type: msg_type.to_owned(),
            event: event.map(str::to_owned),
            raw: text.to_owned(),
        });
        Ok(Self {
            to_user_name: required(&f, "ToUserName")?.to_owned(),
            from_user_name: required(&f, "FromUserName")?.to_owned(),
            create_time: create_time(&f)?,
            msg_id: f.string("MsgId").or_else(|| f.string("MsgID")).filter(|id| !id.is_empty()),
            kind,
        })
    }

    /// The `MsgType` this message arrived with.
    pub fn msg_type(&self) -> &str {
        match &self.kind {
            MessageKind::Text { .. } => "text",
            MessageKind::Image { .. } => "image",
            MessageKind::Voice { .. } => "voice",
            MessageKind::Video { .. } => "video",
            MessageKind::ShortVideo { .. } => "shortvideo",
            MessageKind::Location { .. } => "location",
            MessageKind::Link { .. } => "link",
            MessageKind::Unknown { msg_type, .. } => msg_type,
            _ => "event",
        }
    }

    /// The `Event`, for events (as WeChat spells it).
    pub fn event(&self) -> Option<&str> {
        Some(match &self.kind {
            MessageKind::Subscribe { .. } => "subscribe",
            MessageKind::Unsubscribe => "unsubscribe",
            MessageKind::Scan { .. } => "SCAN",
            MessageKind::LocationReport { .. } => "LOCATION",
            MessageKind::Click { .. } => "CLICK",
            MessageKind::View { .. } => "VIEW",
            MessageKind::TemplateSendJobFinish { .. } => "TEMPLATESENDJOBFINISH",
            MessageKind::PublishJobFinish(_) => "PUBLISHJOBFINISH",
            MessageKind::MassSendJobFinish(_) => "MASSSENDJOBFINISH",
            MessageKind::Unknown { event, .. } => return event.as_deref(),
            _ => return None,
        })
    }

    /// A key that is equal for WeChat's retries of this push and different for any other push,
    /// following the official advice: "有msgid的消息推荐使用msgid排重。事件类型消息推荐使用
    /// FromUserName + CreateTime 排重". The authorizer's 原始ID is part of it, and the event name
    /// too, because two different events can share a follower and a second.
    pub fn dedup_key(&self) -> String {
        let key = match &self.msg_id {
            Some(id) => format!("msg|{}|{}", self.to_user_name, id),
            None => format!(
                "evt|{}|{}|{}|{}",
                self.to_user_name,
                self.from_user_name,
                self.create_time,
                self.event().unwrap_or(self.msg_type())
            ),
        };
        bounded_key(key)
    }
}

fn message_kind(f: &Fields<'_>, msg_type: &str) -> Option<MessageKind> {
    let s = |name| f.string(name);
    Some(match msg_type {
        "text" => MessageKind::Text { content: s("Content")? },
        "image" => MessageKind::Image { pic_url: s("PicUrl").unwrap_or_default(), media_id: s("MediaId")? },
        "voice" => MessageKind::Voice {
            media_id: s("MediaId")?,
            format: s("Format").unwrap_or_default(),
            recognition: s("Recognition"),
        },
        "video" => {
            MessageKind::Video { media_id: s("MediaId")?, thumb_media_id: s("ThumbMediaId").unwrap_or_default() }
        }
        "shortvideo" => {
            MessageKind::ShortVideo { media_id: s("MediaId")?, thumb_media_id: s("ThumbMediaId").unwrap_or_default() }
        }
        "location" => MessageKind::Location {
            latitude: number(f, "Location_X")?,
            longitude: number(f, "Location_Y")?,
            scale: number(f, "Scale").unwrap_or(0.0),
            label: s("Label").unwrap_or_default(),
        },
        "link" => MessageKind::Link {
            title: s("Title").unwrap_or_default(),
            description: s("Description").unwrap_or_default(),
            url: s("Url")?,
        },
        _ => return None,
    })
}

/// Event names are matched ignoring ASCII case: WeChat is consistent (`subscribe`, `SCAN`), but
/// several SDKs normalise case and nothing is gained by refusing a variant spelling.
fn event_kind(f: &Fields<'_>, event: &str, text: &str) -> Option<MessageKind> {
    let is = |name: &str| event.eq_ignore_ascii_case(name);
    let event_key = f.get("EventKey").unwrap_or("");
    let ticket = f.string("Ticket").filter(|t| !t.is_empty());
    Some(if is("subscribe") {
        let scene =
            event_key.strip_prefix("qrscene_").map(|scene| QrScene { scene: scene.to_owned(), ticket: ticket.clone() });
        MessageKind::Subscribe { scene }
    } else if is("unsubscribe") {
        MessageKind::Unsubscribe
    } else if is("SCAN") {
        MessageKind::Scan { scene: QrScene { scene: event_key.to_owned(), ticket } }
    } else if is("LOCATION") {
        MessageKind::LocationReport {
            latitude: number(f, "Latitude")?,
            longitude: number(f, "Longitude")?,
            precision: number(f, "Precision").unwrap_or(0.0),
        }
    } else if is("CLICK") {
        MessageKind::Click { key: event_key.to_owned() }
    } else if is("VIEW") {
        MessageKind::View { url: event_key.to_owned(), menu_id: f.string("MenuId") }
    } else if is("TEMPLATESENDJOBFINISH") {
        MessageKind::TemplateSendJobFinish { status: f.string("Status")? }
    } else if is("PUBLISHJOBFINISH") {
        MessageKind::PublishJobFinish(publish_outcome(text)?)
    } else if is("MASSSENDJOBFINISH") {
        let count = |name| f.get(name).and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or(0);
        MessageKind::MassSendJobFinish(MassSendOutcome {
            status: f.string("Status")?,
            total: count("TotalCount"),
            filtered: count("FilterCount"),
            sent: count("SentCount"),
            errors: count("ErrorCount"),
        })
    } else {
        return None;
    })
}

/// `PublishEventInfo`, the one push whose fields are nested: read with the DOM parser (a rare
/// push, off the hot path's flat scanner). `None` (kept as `Unknown`) without a `publish_id` or a
/// numeric `publish_status`.
fn publish_outcome(text: &str) -> Option<PublishOutcome> {
    use roxmltree::Node;
    let doc = crate::xml::parse(text).ok()?;
    let root = crate::xml::root(&doc).ok()?;
    fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
        node.children().find(|n| n.has_tag_name(name))
    }
    fn field(node: Node<'_, '_>, name: &str) -> Option<String> {
        child(node, name).map(|n| crate::xml::text(n).trim().to_owned())
    }
    let info = child(root, "PublishEventInfo")?;
    let publish_id = field(info, "publish_id").filter(|id| !id.is_empty())?;
    let status = field(info, "publish_status")?.parse().ok()?;
    let mut urls: Vec<(i64, String)> = child(info, "article_detail")
        .into_iter()
        .flat_map(|detail| detail.children().filter(|n| n.has_tag_name("item")))
        .filter_map(|item| {
            let idx = field(item, "idx").and_then(|i| i.parse().ok()).unwrap_or(0);
            field(item, "article_url").filter(|u| !u.is_empty()).map(|url| (idx, url))
        })
        .collect();
    urls.sort_by_key(|(idx, _)| *idx);
    // `fail_idx` is a list: `<fail_idx>1</fail_idx><fail_idx>2</fail_idx>`, or numbers inside one.
    let fail_idx = info
        .children()
        .filter(|n| n.has_tag_name("fail_idx"))
        .flat_map(|n| n.descendants().filter(Node::is_text).filter_map(|t| t.text()?.trim().parse().ok()))
        .collect();
    Some(PublishOutcome {
        publish_id,
        status,
        article_id: field(info, "article_id").filter(|a| !a.is_empty()),
        article_urls: urls.into_iter().map(|(_, url)| url).collect(),
        fail_idx,
    })
}

pub(crate) fn required<'f>(f: &'f Fields<'_>, name: &str) -> Result<&'f str, XmlError> {
    f.get(name).filter(|v| !v.trim().is_empty()).ok_or_else(|| XmlError(format!("no <{name}> element")))
}

pub(crate) fn create_time(f: &Fields<'_>) -> Result<i64, XmlError> {
    required(f, "CreateTime")?.trim().parse().map_err(|_| XmlError("<CreateTime> is not an integer".into()))
}

fn number(f: &Fields<'_>, name: &str) -> Option<f64> {
    f.get(name)?.trim().parse().ok().filter(|n: &f64| n.is_finite())
}

/// Keys end up as DynamoDB keys (2 KiB limit) and in log lines: long ones are replaced by a digest.
pub(crate) fn bounded_key(key: String) -> String {
    const MAX: usize = 256;
    if key.len() <= MAX { key } else { format!("sha1|{}", crate::crypto::signature(&[&key])) }
}

#[cfg(test)]
mod tests;
