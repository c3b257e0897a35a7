//! The events: a follower message or event, or a change of an account's authorization, as a
//! detail type and a flat JSON detail a consumer can filter on with an EventBridge pattern
//! (`{"detail": {"authorizer_appid": ["wx…"]}}`, `{"detail-type": ["mp.message.text"]}`,
//! `{"detail": {"content": [{"prefix": "订单"}]}}`) without parsing anything.

use sha1::{Digest, Sha1};

use super::json::JsonObject;
use super::{CONTRACT_VERSION, Event};
use crate::message::{Message, MessageKind, QrScene};

/// At most this many bytes of the decrypted XML ride along (cut on a character boundary, with
/// `xml_truncated: true`); a push's XML is a few hundred bytes, so this is for the odd large one.
pub const MAX_XML_BYTES: usize = 32 * 1024;

/// The largest detail published. `PutEvents` refuses entries of 256 KB or more, counting the
/// detail, the detail type, the source and the time
/// (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html>): this leaves
/// room for the rest.
pub const MAX_DETAIL_BYTES: usize = 240_000;

/// The stable id of an event: the same for every delivery of one push (or one account change),
/// different for any other. `key` is the push's own dedup key (`Message::dedup_key`), or what
/// identifies an account change. 40 hex characters (SHA-1; an identifier, not a secret).
pub fn event_id(component_appid: &str, authorizer_appid: &str, key: &str) -> String {
    let mut hash = Sha1::new();
    for part in [component_appid, authorizer_appid, key] {
        hash.update(part.as_bytes());
        hash.update(b"\n");
    }
    let digest = hash.finalize();
    let mut out = String::with_capacity(40);
    for byte in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(byte & 0x0f)]));
    }
    out
}

/// The detail type of a follower push: `mp.message.<MsgType>` for the seven ordinary messages,
/// `mp.event.<event, lower case>` for the modelled events, and `mp.message.other` /
/// `mp.event.other` for everything else (the raw type is in the detail's `msg_type` / `event`).
pub fn detail_type(message: &Message) -> &'static str {
    match &message.kind {
        MessageKind::Text { .. } => "mp.message.text",
        MessageKind::Image { .. } => "mp.message.image",
        MessageKind::Voice { .. } => "mp.message.voice",
        MessageKind::Video { .. } => "mp.message.video",
        MessageKind::ShortVideo { .. } => "mp.message.shortvideo",
        MessageKind::Location { .. } => "mp.message.location",
        MessageKind::Link { .. } => "mp.message.link",
        MessageKind::Subscribe { .. } => "mp.event.subscribe",
        MessageKind::Unsubscribe => "mp.event.unsubscribe",
        MessageKind::Scan { .. } => "mp.event.scan",
        MessageKind::LocationReport { .. } => "mp.event.location",
        MessageKind::Click { .. } => "mp.event.click",
        MessageKind::View { .. } => "mp.event.view",
        MessageKind::TemplateSendJobFinish { .. } => "mp.event.templatesendjobfinish",
        MessageKind::PublishJobFinish(_) => "mp.event.publishjobfinish",
        MessageKind::MassSendJobFinish(_) => "mp.event.masssendjobfinish",
        MessageKind::Unknown { event: Some(_), .. } => "mp.event.other",
        MessageKind::Unknown { event: None, .. } => "mp.message.other",
    }
}

/// The event for one follower push to `authorizer_appid`, `xml` being its decrypted XML and
/// `received_at_ms` when the platform got it (Unix milliseconds).
pub fn follower_event(
    component_appid: &str,
    authorizer_appid: &str,
    message: &Message,
    xml: &str,
    received_at_ms: i64,
) -> Event {
    follower_event_keyed(component_appid, authorizer_appid, message, &message.dedup_key(), xml, received_at_ms)
}

/// [`follower_event`] with the message's [`Message::dedup_key`] already computed (the push path
/// needs it for its marker too).
pub fn follower_event_keyed(
    component_appid: &str,
    authorizer_appid: &str,
    message: &Message,
    dedup_key: &str,
    xml: &str,
    received_at_ms: i64,
) -> Event {
    let id = event_id(component_appid, authorizer_appid, dedup_key);
    let header = |capacity| {
        let mut object = JsonObject::with_capacity(capacity);
        object
            .int("version", i64::from(CONTRACT_VERSION))
            .str("id", &id)
            .str("component_appid", component_appid)
            .str("authorizer_appid", authorizer_appid)
            .str("to_user_name", &message.to_user_name)
            .str("openid", &message.from_user_name)
            .int("create_time", message.create_time)
            .int("received_at", received_at_ms)
            .str("msg_type", message.msg_type())
            .opt_str("event", message.event())
            .opt_str("msg_id", message.msg_id.as_deref());
        object
    };
    let xml_part = cut(xml, MAX_XML_BYTES);
    let mut object = header(512 + xml.len() + xml_part.len());
    typed_fields(&mut object, &message.kind);
    // Room for `xml_truncated` and the closing brace.
    let detail = if object.len() + 32 > MAX_DETAIL_BYTES {
        // Only a push of nothing but escaped characters gets here: the ids and types still go out.
        let mut object = header(512);
        object.bool("fields_truncated", true).bool("xml_truncated", true);
        object.finish()
    } else {
        // Written, then taken back if it does not fit: cheaper than measuring it first.
        let before = object.len();
        object.str("xml", xml_part);
        let truncated = if object.len() + 32 > MAX_DETAIL_BYTES {
            object.truncate(before);
            true
        } else {
            xml_part.len() < xml.len()
        };
        object.bool("xml_truncated", truncated);
        object.finish()
    };
    Event { detail_type: detail_type(message), id, detail }
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The fields of each kind, named after WeChat's (snake case), documented in `docs/events.md`.
fn typed_fields(object: &mut JsonObject, kind: &MessageKind) {
    let scene = |object: &mut JsonObject, scene: &QrScene| {
        object.str("scene", &scene.scene).opt_str("ticket", scene.ticket.as_deref());
    };
    match kind {
        MessageKind::Text { content } => {
            object.str("content", content);
        }
        MessageKind::Image { pic_url, media_id } => {
            object.str("media_id", media_id).str("pic_url", pic_url);
        }
        MessageKind::Voice { media_id, format, recognition } => {
            object.str("media_id", media_id).str("format", format).opt_str("recognition", recognition.as_deref());
        }
        MessageKind::Video { media_id, thumb_media_id } | MessageKind::ShortVideo { media_id, thumb_media_id } => {
            object.str("media_id", media_id).str("thumb_media_id", thumb_media_id);
        }
        MessageKind::Location { latitude, longitude, scale, label } => {
            object
                .float("latitude", *latitude)
                .float("longitude", *longitude)
                .float("scale", *scale)
                .str("label", label);
        }
        MessageKind::Link { title, description, url } => {
            object.str("title", title).str("description", description).str("url", url);
        }
        MessageKind::Subscribe { scene: Some(qr) } | MessageKind::Scan { scene: qr } => scene(object, qr),
        MessageKind::Subscribe { scene: None } | MessageKind::Unsubscribe | MessageKind::Unknown { .. } => {}
        MessageKind::LocationReport { latitude, longitude, precision } => {
            object.float("latitude", *latitude).float("longitude", *longitude).float("precision", *precision);
        }
        MessageKind::Click { key } => {
            object.str("event_key", key);
        }
        MessageKind::View { url, menu_id } => {
            object.str("event_key", url).opt_str("menu_id", menu_id.as_deref());
        }
        MessageKind::TemplateSendJobFinish { status } => {
            object.str("status", status);
        }
        MessageKind::PublishJobFinish(outcome) => {
            object.str("publish_id", &outcome.publish_id).int("publish_status", outcome.status);
            object.opt_str("article_id", outcome.article_id.as_deref());
            object.str_list("article_urls", &outcome.article_urls).int_list("fail_idx", &outcome.fail_idx);
        }
        MessageKind::MassSendJobFinish(outcome) => {
            object
                .str("status", &outcome.status)
                .int("total_count", outcome.total)
                .int("filter_count", outcome.filtered)
                .int("sent_count", outcome.sent)
                .int("error_count", outcome.errors);
        }
    }
}

/// A change of an account's authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChange {
    /// The admin authorized the platform (the `authorized` notice).
    Authorized,
    /// The admin changed the permissions granted (`updateauthorized`).
    UpdateAuthorized,
    /// The admin revoked the authorization (`unauthorized`), or WeChat says it is gone.
    Unauthorized,
    /// The refresh token was refused and could not be recovered: the admin must authorize again.
    NeedsReauthorization,
    /// The account moved to another dashboard user: an authorization through a link issued to
    /// that user replaced the previous owner (`previous_owner` says who).
    OwnerChanged,
}

impl AccountChange {
    /// The event's detail type.
    pub fn detail_type(self) -> &'static str {
        match self {
            Self::Authorized => "account.authorized",
            Self::UpdateAuthorized => "account.updateauthorized",
            Self::Unauthorized => "account.unauthorized",
            Self::NeedsReauthorization => "account.needs_reauthorization",
            Self::OwnerChanged => "account.owner_changed",
        }
    }

    /// The detail's `change`.
    pub fn name(self) -> &'static str {
        &self.detail_type()["account.".len()..]
    }
}

/// What an account event says; [`AccountEvent::event`] builds it.
#[derive(Debug, Clone)]
pub struct AccountEvent<'a> {
    /// The platform.
    pub component_appid: &'a str,
    /// The account.
    pub authorizer_appid: &'a str,
    /// What changed.
    pub change: AccountChange,
    /// When, in Unix seconds: WeChat's `CreateTime` for a notice, the detection time otherwise.
    pub occurred_at: i64,
    /// When the platform learnt it, Unix milliseconds.
    pub received_at_ms: i64,
    /// Who noticed: `component_notice` (WeChat's push) or `token_refresher`.
    pub detected_by: &'static str,
    /// What identifies this change among all of the account's (a notice's dedup key, or the
    /// record version the refresher changed): the event id is derived from it.
    pub key: &'a str,
    /// The dashboard user the account belongs to, when known.
    pub owner: Option<&'a str>,
    /// For [`AccountChange::OwnerChanged`]: the dashboard user it belonged to before.
    pub previous_owner: Option<&'a str>,
    /// The account's 原始ID and name, when known.
    pub user_name: Option<&'a str>,
    /// The account's name, when known.
    pub nick_name: Option<&'a str>,
    /// The permission sets granted (`func_info` ids), for an authorization.
    pub func_info: Option<&'a [i64]>,
    /// Why, in words (for a change the refresher detected: WeChat's errcode).
    pub reason: Option<&'a str>,
}

impl AccountEvent<'_> {
    /// The event.
    pub fn event(&self) -> Event {
        let id = event_id(self.component_appid, self.authorizer_appid, self.key);
        let mut object = JsonObject::with_capacity(512);
        object
            .int("version", i64::from(CONTRACT_VERSION))
            .str("id", &id)
            .str("component_appid", self.component_appid)
            .str("authorizer_appid", self.authorizer_appid)
            .str("change", self.change.name())
            .int("occurred_at", self.occurred_at)
            .int("received_at", self.received_at_ms)
            .str("detected_by", self.detected_by)
            .opt_str("owner", self.owner)
            .opt_str("previous_owner", self.previous_owner)
            .opt_str("user_name", self.user_name.filter(|v| !v.is_empty()))
            .opt_str("nick_name", self.nick_name.filter(|v| !v.is_empty()))
            .opt_str("reason", self.reason);
        let mut detail = object.finish();
        if let Some(ids) = self.func_info {
            // Small integers only; appended before the closing brace.
            detail.pop();
            detail.push_str(",\"func_info\":[");
            detail.push_str(&ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","));
            detail.push_str("]}");
        }
        Event { detail_type: self.change.detail_type(), id, detail }
    }
}

/// `media.renewed`: a temporary medium in use that the platform uploaded again (a new `media_id`,
/// three more days), for a subscriber that keeps media ids of its own.
#[derive(Debug, Clone)]
pub struct MediaRenewed<'a> {
    /// The platform.
    pub component_appid: &'a str,
    /// The account.
    pub authorizer_appid: &'a str,
    /// The platform's handle of the medium (unchanged).
    pub handle: &'a str,
    /// WeChat's type (`image`, `voice`, `video`, `thumb`).
    pub kind: &'a str,
    /// The new `media_id`.
    pub media_id: &'a str,
    /// When it expires, Unix seconds.
    pub expires_at: i64,
    /// When the platform uploaded it, Unix milliseconds.
    pub renewed_at_ms: i64,
}

impl MediaRenewed<'_> {
    /// The event; its id is stable for one upload (the handle and the new expiry).
    pub fn event(&self) -> Event {
        let key = format!("media.renewed|{}|{}", self.handle, self.expires_at);
        let id = event_id(self.component_appid, self.authorizer_appid, &key);
        let mut object = JsonObject::with_capacity(320);
        object
            .int("version", i64::from(CONTRACT_VERSION))
            .str("id", &id)
            .str("component_appid", self.component_appid)
            .str("authorizer_appid", self.authorizer_appid)
            .str("handle", self.handle)
            .str("type", self.kind)
            .str("media_id", self.media_id)
            .int("expires_at", self.expires_at)
            .int("renewed_at", self.renewed_at_ms);
        Event { detail_type: "media.renewed", id, detail: object.finish() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn a_renewal_is_one_event_per_upload() {
        let renewed = MediaRenewed {
            component_appid: "wxc",
            authorizer_appid: "wxa",
            handle: "mtim_0",
            kind: "image",
            media_id: "M\"1",
            expires_at: 100,
            renewed_at_ms: 5,
        };
        let event = renewed.event();
        assert_eq!(event.detail_type, "media.renewed");
        let detail = detail(&event);
        assert_eq!((detail["media_id"].as_str(), detail["expires_at"].as_i64()), (Some("M\"1"), Some(100)));
        assert_eq!(MediaRenewed { renewed_at_ms: 9, ..renewed.clone() }.event().id, event.id, "a retry: the same id");
        assert_ne!(MediaRenewed { expires_at: 200, ..renewed }.event().id, event.id, "the next upload: another");
    }

    fn parse(xml: &str) -> Message {
        Message::parse(xml).expect("parse")
    }

    fn detail(event: &Event) -> Value {
        serde_json::from_str(&event.detail).expect("the detail is JSON")
    }

    const HEAD: &str = "<ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_follower]]></FromUserName><CreateTime>1700000000</CreateTime>";

    #[test]
    fn a_text_message_is_flat_and_complete() {
        let xml = format!(
            "<xml>{HEAD}<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[订单 \"42\"]]></Content><MsgId>99</MsgId></xml>"
        );
        let event = follower_event("wxcomponent", "wxaccount", &parse(&xml), &xml, 1_700_000_000_123);
        assert_eq!(event.detail_type, "mp.message.text");
        assert_eq!(
            detail(&event),
            json!({
                "version": 1, "id": event.id, "component_appid": "wxcomponent", "authorizer_appid": "wxaccount",
                "to_user_name": "gh_1", "openid": "o_follower", "create_time": 1_700_000_000, "received_at": 1_700_000_000_123_i64,
                "msg_type": "text", "msg_id": "99", "content": "订单 \"42\"", "xml": xml, "xml_truncated": false
            })
        );
        assert_eq!(event.id.len(), 40);
    }

    #[test]
    fn the_id_is_the_same_for_retries_and_differs_otherwise() {
        let xml = format!("<xml>{HEAD}<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>");
        let message = parse(&xml);
        let first = follower_event("wxc", "wxa", &message, &xml, 1);
        let retry = follower_event("wxc", "wxa", &message, &xml, 5_000);
        assert_eq!(first.id, retry.id);
        assert_ne!(first.id, follower_event("wxc", "wxb", &message, &xml, 1).id, "another account");
        assert_ne!(first.id, follower_event("wxd", "wxa", &message, &xml, 1).id, "another platform");
        let unsubscribe = xml.replace("subscribe", "unsubscribe");
        assert_ne!(first.id, follower_event("wxc", "wxa", &parse(&unsubscribe), &unsubscribe, 1).id);
    }

    #[test]
    fn events_carry_their_typed_fields() {
        let cases = [
            (
                "<MsgType>event</MsgType><Event>subscribe</Event><EventKey>qrscene_7</EventKey><Ticket>T</Ticket>",
                "mp.event.subscribe",
                json!({"event": "subscribe", "scene": "7", "ticket": "T"}),
            ),
            (
                "<MsgType>event</MsgType><Event>SCAN</Event><EventKey>7</EventKey><Ticket>T</Ticket>",
                "mp.event.scan",
                json!({"event": "SCAN", "scene": "7", "ticket": "T"}),
            ),
            (
                "<MsgType>event</MsgType><Event>CLICK</Event><EventKey>MENU_1</EventKey>",
                "mp.event.click",
                json!({"event": "CLICK", "event_key": "MENU_1"}),
            ),
            (
                "<MsgType>event</MsgType><Event>VIEW</Event><EventKey>https://x.example/</EventKey><MenuId>5</MenuId>",
                "mp.event.view",
                json!({"event": "VIEW", "event_key": "https://x.example/", "menu_id": "5"}),
            ),
            (
                "<MsgType>event</MsgType><Event>LOCATION</Event><Latitude>23.1</Latitude><Longitude>113.3</Longitude><Precision>119.4</Precision>",
                "mp.event.location",
                json!({"event": "LOCATION", "latitude": 23.1, "longitude": 113.3, "precision": 119.4}),
            ),
            (
                "<MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event><MsgID>200163836</MsgID><Status>failed:user block</Status>",
                "mp.event.templatesendjobfinish",
                json!({"event": "TEMPLATESENDJOBFINISH", "msg_id": "200163836", "status": "failed:user block"}),
            ),
            (
                "<MsgType>event</MsgType><Event>PUBLISHJOBFINISH</Event><PublishEventInfo><publish_id>2247503051</publish_id><publish_status>0</publish_status><article_id><![CDATA[b5O2OUs25HBx]]></article_id><article_detail><count>2</count><item><idx>2</idx><article_url><![CDATA[https://mp.weixin.qq.com/s/two]]></article_url></item><item><idx>1</idx><article_url><![CDATA[https://mp.weixin.qq.com/s/one]]></article_url></item></article_detail></PublishEventInfo>",
                "mp.event.publishjobfinish",
                json!({"event": "PUBLISHJOBFINISH", "publish_id": "2247503051", "publish_status": 0, "article_id": "b5O2OUs25HBx",
                    "article_urls": ["https://mp.weixin.qq.com/s/one", "https://mp.weixin.qq.com/s/two"], "fail_idx": []}),
            ),
            (
                "<MsgType>event</MsgType><Event>PUBLISHJOBFINISH</Event><PublishEventInfo><publish_id>7</publish_id><publish_status>3</publish_status><fail_idx>1</fail_idx><fail_idx>2</fail_idx></PublishEventInfo>",
                "mp.event.publishjobfinish",
                json!({"publish_id": "7", "publish_status": 3, "article_urls": [], "fail_idx": [1, 2]}),
            ),
            (
                "<MsgType>event</MsgType><Event>PUBLISHJOBFINISH</Event><PublishEventInfo><publish_status>0</publish_status></PublishEventInfo>",
                "mp.event.other",
                json!({"event": "PUBLISHJOBFINISH"}),
            ),
            (
                "<MsgType>event</MsgType><Event>MASSSENDJOBFINISH</Event><MsgID>1000001625</MsgID><Status><![CDATA[err(30003)]]></Status><TotalCount>100</TotalCount><FilterCount>80</FilterCount><SentCount>75</SentCount><ErrorCount>5</ErrorCount>",
                "mp.event.masssendjobfinish",
                json!({"event": "MASSSENDJOBFINISH", "msg_id": "1000001625", "status": "err(30003)", "total_count": 100,
                    "filter_count": 80, "sent_count": 75, "error_count": 5}),
            ),
            (
                "<MsgType>location</MsgType><Location_X>23.13</Location_X><Location_Y>113.26</Location_Y><Scale>20</Scale><Label>广州</Label><MsgId>1</MsgId>",
                "mp.message.location",
                json!({"latitude": 23.13, "longitude": 113.26, "scale": 20, "label": "广州"}),
            ),
            (
                "<MsgType>voice</MsgType><MediaId>M</MediaId><Format>amr</Format><Recognition>你好</Recognition><MsgId>1</MsgId>",
                "mp.message.voice",
                json!({"media_id": "M", "format": "amr", "recognition": "你好"}),
            ),
            (
                "<MsgType>event</MsgType><Event>kf_create_session</Event><KfAccount>k@x</KfAccount>",
                "mp.event.other",
                json!({"msg_type": "event", "event": "kf_create_session"}),
            ),
            (
                "<MsgType>miniprogrampage</MsgType><Title>T</Title><MsgId>1</MsgId>",
                "mp.message.other",
                json!({"msg_type": "miniprogrampage"}),
            ),
        ];
        for (body, detail_type, expected) in cases {
            let xml = format!("<xml>{HEAD}{body}</xml>");
            let event = follower_event("wxc", "wxa", &parse(&xml), &xml, 1);
            assert_eq!(event.detail_type, detail_type, "{body}");
            let detail = detail(&event);
            for (name, value) in expected.as_object().unwrap() {
                assert_eq!(&detail[name], value, "{name} of {body}");
            }
            assert_eq!(detail["xml"], xml.as_str(), "the raw XML rides along");
        }
    }

    #[test]
    fn large_xml_is_cut_and_the_detail_stays_under_the_limit() {
        let content = "中".repeat(20_000); // 60,000 bytes
        let xml = format!("<xml>{HEAD}<MsgType>text</MsgType><Content>{content}</Content><MsgId>1</MsgId></xml>");
        let event = follower_event("wxc", "wxa", &parse(&xml), &xml, 1);
        let detail = detail(&event);
        assert_eq!(detail["content"], content.as_str(), "typed fields are whole");
        assert_eq!(detail["xml_truncated"], true);
        let cut = detail["xml"].as_str().unwrap();
        assert!(cut.len() <= MAX_XML_BYTES && xml.starts_with(cut), "{}", cut.len());
        // A push of nothing but characters JSON escapes six-fold still fits.
        let content = "\u{1}".repeat(48_000);
        let xml = format!("<xml>{HEAD}<MsgType>text</MsgType><Content>{content}</Content><MsgId>1</MsgId></xml>");
        let event = follower_event("wxc", "wxa", &parse(&xml), &xml, 1);
        assert!(event.detail.len() <= MAX_DETAIL_BYTES, "{}", event.detail.len());
        let detail = self::tests::detail(&event);
        assert_eq!((detail["fields_truncated"].clone(), detail["openid"].clone()), (json!(true), json!("o_follower")));
        let content = "\u{1}".repeat(30_000);
        let xml = format!("<xml>{HEAD}<MsgType>text</MsgType><Content>{content}</Content><MsgId>1</MsgId></xml>");
        let event = follower_event("wxc", "wxa", &parse(&xml), &xml, 1);
        assert!(event.detail.len() <= MAX_DETAIL_BYTES, "{}", event.detail.len());
        let detail = self::tests::detail(&event);
        assert_eq!(detail["content"], content.as_str());
        assert_eq!(
            (detail.get("xml"), &detail["xml_truncated"]),
            (None, &json!(true)),
            "the XML gave way to the fields"
        );
    }

    #[test]
    fn account_events() {
        let event = AccountEvent {
            component_appid: "wxc",
            authorizer_appid: "wxa",
            change: AccountChange::Authorized,
            occurred_at: 1_700_000_000,
            received_at_ms: 1_700_000_000_500,
            detected_by: "component_notice",
            key: "info|authorized|wxa|1700000000",
            owner: Some("user-1"),
            previous_owner: None,
            user_name: Some("gh_1"),
            nick_name: Some(""),
            func_info: Some(&[1, 15]),
            reason: None,
        }
        .event();
        assert_eq!(event.detail_type, "account.authorized");
        assert_eq!(
            detail(&event),
            json!({"version": 1, "id": event.id, "component_appid": "wxc", "authorizer_appid": "wxa", "change": "authorized",
                   "occurred_at": 1_700_000_000, "received_at": 1_700_000_000_500_i64, "detected_by": "component_notice",
                   "owner": "user-1", "user_name": "gh_1", "func_info": [1, 15]})
        );
        assert_eq!(AccountChange::NeedsReauthorization.name(), "needs_reauthorization");
    }
}
