//! Customer-service messages the platform sends as an account (`message/custom/send`), checked
//! before anything is sent: a request that WeChat would refuse for its shape gets a clear reason
//! here instead of an errcode there.
//!
//! Shapes: <https://developers.weixin.qq.com/doc/service/api/customer/message/api_sendcustommessage>.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::input::{self, Text};

/// The longest text this platform sends in one message, in characters. WeChat documents no
/// limit; a bound keeps a mistaken request (a whole file as `content`) from going out.
pub const MAX_TEXT_CHARS: usize = 2048;

/// Items a `msgmenu` may list (the platform's bound; WeChat's pages show menus of a few items).
pub const MAX_MENU_ITEMS: usize = 10;

/// A customer-service message, checked, as the JSON WeChat takes.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomMessage {
    /// The follower.
    pub touser: String,
    /// `msgtype`.
    pub msgtype: String,
    body: Value,
}

impl CustomMessage {
    /// The request body to send.
    pub fn body(&self) -> &Value {
        &self.body
    }

    /// The message's media fields (`media_id`, `thumb_media_id`) and their values.
    pub fn media_fields(&self) -> Vec<(&'static str, String)> {
        let inner = &self.body[self.msgtype.as_str()];
        ["media_id", "thumb_media_id"]
            .into_iter()
            .filter_map(|name| inner.get(name).and_then(Value::as_str).map(|v| (name, v.to_owned())))
            .collect()
    }

    /// The message with media field `name` set to `value` (a handle replaced by WeChat's id).
    #[must_use]
    pub fn with_media(mut self, name: &str, value: &str) -> Self {
        if let Some(inner) = self.body.get_mut(self.msgtype.as_str()).and_then(Value::as_object_mut) {
            inner.insert(name.to_owned(), Value::String(value.to_owned()));
        }
        self
    }

    /// Checks a request (`{"touser", "msgtype", "<msgtype>": {...}, "customservice"?}`) and
    /// keeps only the fields WeChat reads (anything else is dropped, as WeChat would ignore it).
    ///
    /// # Errors
    /// What is wrong, in words naming the field.
    pub fn from_request(request: &Value) -> Result<Self, String> {
        let request: Request = input::from_value(request)?;
        let msgtype = request.msgtype.name();
        let missing = || format!("{msgtype} is missing");
        let inner = match request.msgtype {
            MessageType::Text => {
                let text = request.text.ok_or_else(missing)?;
                if text.content.chars().count() > MAX_TEXT_CHARS {
                    return Err(format!("text.content is longer than {MAX_TEXT_CHARS} characters"));
                }
                to_value(text)
            }
            MessageType::Image => to_value(request.image.ok_or_else(missing)?),
            MessageType::Voice => to_value(request.voice.ok_or_else(missing)?),
            MessageType::Video => to_value(request.video.ok_or_else(missing)?),
            MessageType::Music => to_value(request.music.ok_or_else(missing)?),
            MessageType::News => {
                let news = request.news.ok_or_else(missing)?;
                if news.articles.len() != 1 {
                    return Err(format!(
                        "news.articles must hold exactly one article (WeChat refuses more), not {}",
                        news.articles.len()
                    ));
                }
                to_value(news)
            }
            MessageType::Mpnewsarticle => to_value(request.mpnewsarticle.ok_or_else(missing)?),
            MessageType::Msgmenu => {
                let menu = request.msgmenu.ok_or_else(missing)?;
                if menu.list.is_empty() || menu.list.len() > MAX_MENU_ITEMS {
                    return Err(format!("msgmenu.list must hold 1 to {MAX_MENU_ITEMS} items"));
                }
                to_value(menu)
            }
            MessageType::Miniprogrampage => to_value(request.miniprogrampage.ok_or_else(missing)?),
        };
        let mut body = json!({"touser": &*request.touser, "msgtype": msgtype});
        body[msgtype] = inner;
        if let Some(service) = request.customservice {
            body["customservice"] = to_value(service);
        }
        Ok(Self { touser: request.touser.into_string(), msgtype: msgtype.to_owned(), body })
    }
}

/// A model serialized back to the JSON WeChat takes (these structs cannot fail to serialize).
fn to_value(model: impl Serialize) -> Value {
    serde_json::to_value(model).unwrap_or_default()
}

/// A send request as callers write it: WeChat's own shape. Unknown fields are ignored (WeChat
/// ignores them too); only the body named by `msgtype` is sent, though a body of another known
/// type, if present, must be well formed as well.
#[derive(Deserialize)]
struct Request {
    touser: Text<128>,
    msgtype: MessageType,
    #[serde(default)]
    text: Option<TextBody>,
    #[serde(default)]
    image: Option<MediaBody>,
    #[serde(default)]
    voice: Option<MediaBody>,
    #[serde(default)]
    video: Option<VideoBody>,
    #[serde(default)]
    music: Option<MusicBody>,
    #[serde(default)]
    news: Option<NewsBody>,
    #[serde(default)]
    mpnewsarticle: Option<ArticleIdBody>,
    #[serde(default)]
    msgmenu: Option<MenuBody>,
    #[serde(default)]
    miniprogrampage: Option<MiniProgramBody>,
    #[serde(default)]
    customservice: Option<ServiceBody>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum MessageType {
    Text,
    Image,
    Voice,
    Video,
    Music,
    News,
    Mpnewsarticle,
    Msgmenu,
    Miniprogrampage,
}

impl MessageType {
    fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Image => "image",
            Self::Voice => "voice",
            Self::Video => "video",
            Self::Music => "music",
            Self::News => "news",
            Self::Mpnewsarticle => "mpnewsarticle",
            Self::Msgmenu => "msgmenu",
            Self::Miniprogrampage => "miniprogrampage",
        }
    }
}

/// WeChat's media ids are short; a bound keeps a mistaken value from going out.
type MediaId = Text<256>;
type Url = Text<1024>;

#[derive(Deserialize, Serialize)]
struct TextBody {
    content: Text<0>,
}

#[derive(Deserialize, Serialize)]
struct MediaBody {
    media_id: MediaId,
}

#[derive(Deserialize, Serialize)]
struct VideoBody {
    media_id: MediaId,
    thumb_media_id: MediaId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct MusicBody {
    musicurl: Url,
    hqmusicurl: Url,
    thumb_media_id: MediaId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct NewsBody {
    articles: Vec<NewsArticle>,
}

#[derive(Deserialize, Serialize)]
struct NewsArticle {
    title: Text<2048>,
    description: Text<2048>,
    url: Text<2048>,
    picurl: Text<2048>,
}

#[derive(Deserialize, Serialize)]
struct ArticleIdBody {
    article_id: Text<256>,
}

#[derive(Deserialize, Serialize)]
struct MenuBody {
    list: Vec<MenuItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    head_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tail_content: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct MenuItem {
    id: Text<64>,
    content: Text<256>,
}

#[derive(Deserialize, Serialize)]
struct MiniProgramBody {
    title: Text<256>,
    appid: Text<32>,
    pagepath: Url,
    thumb_media_id: MediaId,
}

#[derive(Deserialize, Serialize)]
struct ServiceBody {
    kf_account: Text<128>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_checked_and_only_wechats_fields_are_kept() {
        let ok = [
            json!({"touser": "o", "msgtype": "text", "text": {"content": "你好", "extra": 1}}),
            json!({"touser": "o", "msgtype": "image", "image": {"media_id": "m"}}),
            json!({"touser": "o", "msgtype": "voice", "voice": {"media_id": "m"}}),
            json!({"touser": "o", "msgtype": "video", "video": {"media_id": "m", "thumb_media_id": "t", "title": "v"}}),
            json!({"touser": "o", "msgtype": "music", "music": {"musicurl": "u", "hqmusicurl": "h", "thumb_media_id": "t"}}),
            json!({"touser": "o", "msgtype": "news", "news": {"articles": [{"title": "t", "description": "d", "url": "u", "picurl": "p"}]}}),
            json!({"touser": "o", "msgtype": "mpnewsarticle", "mpnewsarticle": {"article_id": "a"}}),
            json!({"touser": "o", "msgtype": "msgmenu", "msgmenu": {"head_content": "h", "list": [{"id": "1", "content": "是"}]}}),
            json!({"touser": "o", "msgtype": "miniprogrampage", "miniprogrampage": {"title": "t", "appid": "wx1", "pagepath": "p", "thumb_media_id": "m"}}),
        ];
        for request in ok {
            let message = CustomMessage::from_request(&request).unwrap_or_else(|e| panic!("{request}: {e}"));
            assert_eq!(message.body()["msgtype"], request["msgtype"]);
            assert!(message.body()["text"].get("extra").is_none(), "unknown fields are dropped");
        }
        let article = json!({"title": "t", "description": "d", "url": "u", "picurl": "p"});
        let bad = [
            (json!([]), "the body must be an object"),
            (json!({"msgtype": "text", "text": {"content": "x"}}), "touser is missing"),
            (
                json!({"touser": "o", "msgtype": "mpnews", "mpnews": {"media_id": "m"}}),
                "msgtype must be one of text, image",
            ),
            (json!({"touser": "o", "msgtype": "text"}), "text is missing"),
            (json!({"touser": "o", "msgtype": "text", "text": {"content": " "}}), "text.content is empty"),
            (json!({"touser": "o", "msgtype": "text", "text": {"content": "字".repeat(2049)}}), "longer than 2048"),
            (json!({"touser": "o", "msgtype": "image", "image": {"media_id": 5}}), "image.media_id must be a string"),
            (
                json!({"touser": "o", "msgtype": "news", "news": {"articles": [article.clone(), article.clone()]}}),
                "exactly one article",
            ),
            (
                json!({"touser": "o", "msgtype": "news", "news": {"articles": [{"title": "t"}]}}),
                "news.articles[0].description is missing",
            ),
            (json!({"touser": "o", "msgtype": "msgmenu", "msgmenu": {"list": []}}), "1 to 10 items"),
            (json!({"touser": "o", "msgtype": "text", "text": {"content": "x"}, "customservice": {}}), "kf_account"),
        ];
        for (request, expected) in bad {
            let err = CustomMessage::from_request(&request).unwrap_err();
            assert!(err.contains(expected), "{request}: {err}");
        }
    }
}
