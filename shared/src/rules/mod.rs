//! An account's reply rules (自动回复): what it answers a follower at once, inside the push's
//! answer, without waiting for any other service.
//!
//! Operators keep them as data, per account (the anchors' users ask for exactly this: rules that
//! change at runtime per tenant, not code). A document is a list of rules; [`RuleSet::parse`]
//! checks every one and names the first that is wrong, and [`Matcher`] compiles a checked set so
//! that a push is matched without scanning the list.
//!
//! # The document
//!
//! ```json
//! {"rules": [
//!   {"name": "欢迎", "on": "subscribe", "reply": {"msgtype": "text", "text": {"content": "欢迎关注"}}},
//!   {"on": "subscribe", "scene": "shop-42", "reply": {"msgtype": "text", "text": {"content": "欢迎光临 42 号店"}}},
//!   {"on": "scan", "scene": "shop-42", "reply": {"msgtype": "text", "text": {"content": "又见面了"}}},
//!   {"on": "keyword", "match": "exact", "keyword": "价格", "reply": {"msgtype": "text", "text": {"content": "…"}}},
//!   {"on": "keyword", "match": "prefix", "keyword": "order", "ignore_case": true, "reply": {…}},
//!   {"on": "keyword", "match": "contains", "keyword": "发票", "reply": {…}},
//!   {"on": "click", "key": "MENU_HELP", "reply": {…}},
//!   {"on": "default", "reply": {…}}
//! ]}
//! ```
//!
//! Replies take the shape of customer-service messages (`msgtype` and an object of that name):
//! `text{content}`, `image{media_id}`, `voice{media_id}`, `video{media_id, title?, description?}`,
//! `music{thumb_media_id, title?, description?, musicurl?, hqmusicurl?}` and
//! `news{articles: [{title, description, url, picurl}]}` with exactly one article (WeChat drops a
//! passive news reply with more since 2018-10-12:
//! <https://developers.weixin.qq.com/doc/subscription/guide/product/message/Passive_user_reply_message.html>).
//!
//! # Which rule answers (precedence)
//!
//! 1. `subscribe` event: the `subscribe` rule whose `scene` is the parametric QR code's scene
//!    (WeChat's `qrscene_` prefix removed), else the `subscribe` rule without a scene.
//! 2. `SCAN` event (a follower scanned a parametric QR code): likewise with `scan` rules.
//! 3. `CLICK` event: the `click` rule with that menu key.
//! 4. A text message (or a voice message WeChat transcribed, by its `Recognition`), trimmed of
//!    surrounding white space: an `exact` keyword, else a `prefix` keyword, else a `contains`
//!    keyword; among rules of one kind that all match, the one listed first.
//! 5. Any follower message no keyword answered (text, image, voice, video, location, link, …):
//!    the `default` rule.
//! 6. Nothing else gets a reply (unsubscribe, menu links, location reports, template reports…).
//!
//! Two rules with the same trigger are refused, so the order of the list only decides between
//! keywords of one kind.

mod document;
mod matcher;

pub use self::matcher::Matcher;

use serde_json::{Map, Value, json};

use self::document::DocumentInput;
use crate::message::ReplyKind;

/// The most rules an account may have: enough for a busy account's keyword list, and few enough
/// that a document loads in well under a millisecond.
pub const MAX_RULES: usize = 200;
/// The largest document accepted, in bytes of JSON.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// The longest keyword, in bytes (twenty Chinese characters).
pub const MAX_KEYWORD_BYTES: usize = 60;
/// The longest menu key: WeChat's own bound for a click button's `key`
/// (<https://developers.weixin.qq.com/doc/service/api/custommenu/api_createcustommenu>).
pub const MAX_KEY_BYTES: usize = 128;
/// The longest QR scene: WeChat's bound for `scene_str` (1 to 64 characters,
/// <https://developers.weixin.qq.com/doc/service/api/qrcode/qrcodes/api_createqrcode>).
pub const MAX_SCENE_BYTES: usize = 64;
/// The longest rule name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// The longest media id, URL or title in a reply, in bytes.
const MAX_FIELD_BYTES: usize = 1024;

/// What makes a rule answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A new follower; with a scene, only through that parametric QR code.
    Subscribe {
        /// The QR scene, without `qrscene_`.
        scene: Option<String>,
    },
    /// A follower scanned a parametric QR code; with a scene, only that one.
    Scan {
        /// The QR scene.
        scene: Option<String>,
    },
    /// A text message with this keyword.
    Keyword {
        /// The keyword as written.
        keyword: String,
        /// How it must appear in the text.
        mode: KeywordMatch,
        /// Whether letter case is ignored (Unicode lower case on both sides).
        ignore_case: bool,
    },
    /// A menu click with this key.
    Click {
        /// The button's `key`.
        key: String,
    },
    /// Any follower message no keyword answered.
    Default,
}

/// How a keyword must appear in a text message (a rule's `match`, by these names in lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeywordMatch {
    /// The whole (trimmed) text.
    Exact,
    /// The start of the text.
    Prefix,
    /// Anywhere in the text.
    Contains,
}

impl KeywordMatch {
    fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Prefix => "prefix",
            Self::Contains => "contains",
        }
    }
}

/// One rule: a trigger and the reply it sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The operator's name for it, shown back in errors and consoles.
    pub name: Option<String>,
    /// When it answers.
    pub trigger: Trigger,
    /// What it answers.
    pub reply: ReplyKind,
}

/// A checked list of rules, in the operator's order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleSet {
    /// The rules.
    pub rules: Vec<Rule>,
}

/// Why a document was refused: which rule (by its position, from 0) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The offending rule's position in `rules`, when one rule is at fault.
    pub index: Option<usize>,
    /// What is wrong, naming the field.
    pub message: String,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(index) => write!(f, "rules[{index}]: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for RuleError {}

fn whole(message: impl Into<String>) -> RuleError {
    RuleError { index: None, message: message.into() }
}

/// A refusal of the document's shape (`rules[3].reply.text.content`, `is empty`) as the rule's
/// own (`rules[3]`: `reply.text.content is empty`).
fn at_rule(refusal: crate::input::Refusal) -> RuleError {
    let Some((index, rest)) = refusal.path.strip_prefix("rules[").and_then(|r| r.split_once(']')) else {
        return whole(refusal.to_string());
    };
    let Ok(index) = index.parse() else { return whole(refusal.to_string()) };
    let message = match rest.trim_start_matches('.') {
        "" if refusal.message.starts_with("unknown field") => refusal.message,
        "" => format!("the rule {}", refusal.message),
        path => crate::input::Refusal { path: path.to_owned(), message: refusal.message }.to_string(),
    };
    RuleError { index: Some(index), message }
}

impl RuleSet {
    /// Parses and checks a document (`{"rules": [...]}`) as received.
    ///
    /// # Errors
    /// [`RuleError`] naming the first rule (and field) that is wrong.
    pub fn parse(body: &[u8]) -> Result<Self, RuleError> {
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err(whole(format!("the document is larger than {MAX_DOCUMENT_BYTES} bytes")));
        }
        let value: Value = serde_json::from_slice(body).map_err(|e| whole(format!("the body is not JSON: {e}")))?;
        Self::from_value(&value)
    }

    /// Checks a parsed document.
    ///
    /// # Errors
    /// As [`RuleSet::parse`].
    pub fn from_value(value: &Value) -> Result<Self, RuleError> {
        Self::checked(crate::input::refused_at(value).map_err(at_rule)?)
    }

    /// A document the platform stored (checked when it was saved), read and checked again
    /// without the field paths a caller's body is refused with: the push path loads rules this
    /// way, and tracking paths there cost event-callback's arm64 binary about 30 KB (measured).
    ///
    /// # Errors
    /// [`RuleError`]: the document no longer parses (a corrupted item, a rule this build does not
    /// know), naming serde's reason or the rule at fault.
    pub fn from_stored(text: &str) -> Result<Self, RuleError> {
        let value: Value = serde_json::from_str(text).map_err(|e| whole(e.to_string()))?;
        Self::checked(serde::Deserialize::deserialize(&value).map_err(|e: serde_json::Error| whole(e.to_string()))?)
    }

    fn checked(document: DocumentInput) -> Result<Self, RuleError> {
        if document.rules.len() > MAX_RULES {
            return Err(whole(format!("{} rules; an account may have at most {MAX_RULES}", document.rules.len())));
        }
        let mut rules = Vec::with_capacity(document.rules.len());
        for (index, input) in document.rules.into_iter().enumerate() {
            let rule = input.check().map_err(|message| RuleError { index: Some(index), message })?;
            if let Some(earlier) = rules.iter().position(|r: &Rule| same_trigger(&r.trigger, &rule.trigger)) {
                return Err(RuleError {
                    index: Some(index),
                    message: format!("it has the same trigger as rules[{earlier}]: one of them would never answer"),
                });
            }
            rules.push(rule);
        }
        Ok(Self { rules })
    }

    /// The document in its canonical form: what is stored and what `GET` returns.
    pub fn to_value(&self) -> Value {
        json!({"rules": self.rules.iter().map(rule_value).collect::<Vec<_>>()})
    }
}

/// Whether two triggers would answer the same pushes first: the second could never answer.
fn same_trigger(a: &Trigger, b: &Trigger) -> bool {
    match (a, b) {
        (
            Trigger::Keyword { keyword: ka, mode: ma, ignore_case: ia },
            Trigger::Keyword { keyword: kb, mode: mb, ignore_case: ib },
        ) => ma == mb && if *ia || *ib { ka.to_lowercase() == kb.to_lowercase() } else { ka == kb },
        _ => a == b,
    }
}

fn rule_value(rule: &Rule) -> Value {
    let mut out = Map::new();
    if let Some(name) = &rule.name {
        out.insert("name".into(), json!(name));
    }
    match &rule.trigger {
        Trigger::Subscribe { scene } | Trigger::Scan { scene } => {
            let on = if matches!(rule.trigger, Trigger::Subscribe { .. }) { "subscribe" } else { "scan" };
            out.insert("on".into(), json!(on));
            if let Some(scene) = scene {
                out.insert("scene".into(), json!(scene));
            }
        }
        Trigger::Keyword { keyword, mode, ignore_case } => {
            out.insert("on".into(), json!("keyword"));
            out.insert("keyword".into(), json!(keyword));
            out.insert("match".into(), json!(mode.as_str()));
            out.insert("ignore_case".into(), json!(ignore_case));
        }
        Trigger::Click { key } => {
            out.insert("on".into(), json!("click"));
            out.insert("key".into(), json!(key));
        }
        Trigger::Default => {
            out.insert("on".into(), json!("default"));
        }
    }
    out.insert("reply".into(), reply_value(&rule.reply));
    Value::Object(out)
}

fn reply_value(reply: &ReplyKind) -> Value {
    let put = |object: &mut Map<String, Value>, name: &str, value: &Option<String>| {
        if let Some(value) = value {
            object.insert(name.to_owned(), json!(value));
        }
    };
    match reply {
        ReplyKind::Text { content } => json!({"msgtype": "text", "text": {"content": content}}),
        ReplyKind::Image { media_id } => json!({"msgtype": "image", "image": {"media_id": media_id}}),
        ReplyKind::Voice { media_id } => json!({"msgtype": "voice", "voice": {"media_id": media_id}}),
        ReplyKind::Video { media_id, title, description } => {
            let mut video = Map::new();
            video.insert("media_id".into(), json!(media_id));
            put(&mut video, "title", title);
            put(&mut video, "description", description);
            json!({"msgtype": "video", "video": video})
        }
        ReplyKind::Music { title, description, music_url, hq_music_url, thumb_media_id } => {
            let mut music = Map::new();
            put(&mut music, "title", title);
            put(&mut music, "description", description);
            put(&mut music, "musicurl", music_url);
            put(&mut music, "hqmusicurl", hq_music_url);
            music.insert("thumb_media_id".into(), json!(thumb_media_id));
            json!({"msgtype": "music", "music": music})
        }
        ReplyKind::News(article) => json!({"msgtype": "news", "news": {"articles": [{
            "title": article.title, "description": article.description, "url": article.url, "picurl": article.pic_url,
        }]}}),
    }
}

#[cfg(test)]
mod tests;
