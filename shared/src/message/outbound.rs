//! Customer-service messages the platform sends as an account (`message/custom/send`), checked
//! before anything is sent: a request that WeChat would refuse for its shape gets a clear reason
//! here instead of an errcode there.
//!
//! Shapes: <https://developers.weixin.qq.com/doc/service/api/customer/message/api_sendcustommessage>.

use serde_json::{Map, Value, json};

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
    /// keeps only the fields WeChat reads.
    ///
    /// # Errors
    /// What is wrong, in words naming the field.
    pub fn from_request(request: &Value) -> Result<Self, String> {
        let object = request.as_object().ok_or("the body must be a JSON object")?;
        let touser = text_field(object, "touser", 128)?;
        let msgtype = text_field(object, "msgtype", 32)?;
        let fields: &[(&str, usize)] = match msgtype.as_str() {
            "text" => &[("content", 0)],
            "image" | "voice" => &[("media_id", 256)],
            "video" => &[("media_id", 256), ("thumb_media_id", 256)],
            "music" => &[("musicurl", 1024), ("hqmusicurl", 1024), ("thumb_media_id", 256)],
            "mpnewsarticle" => &[("article_id", 256)],
            "miniprogrampage" => &[("title", 256), ("appid", 32), ("pagepath", 1024), ("thumb_media_id", 256)],
            "news" | "msgmenu" => &[],
            other => {
                return Err(format!(
                    "msgtype {other:?} is not one of text, image, voice, video, music, news, mpnewsarticle, msgmenu, miniprogrampage"
                ));
            }
        };
        let inner = object
            .get(msgtype.as_str())
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{msgtype} must be an object with the message's fields"))?;
        let mut out = Map::new();
        for (name, max) in fields {
            let value = text_field(inner, name, *max).map_err(|e| format!("{msgtype}.{e}"))?;
            if *name == "content" && value.chars().count() > MAX_TEXT_CHARS {
                return Err(format!("text.content is longer than {MAX_TEXT_CHARS} characters"));
            }
            out.insert((*name).to_owned(), Value::String(value));
        }
        // Optional fields WeChat reads.
        let optional: &[&str] = match msgtype.as_str() {
            "video" | "music" => &["title", "description"],
            _ => &[],
        };
        for name in optional {
            if let Some(value) = inner.get(*name) {
                let value = value.as_str().ok_or_else(|| format!("{msgtype}.{name} must be a string"))?;
                out.insert((*name).to_owned(), Value::String(value.to_owned()));
            }
        }
        match msgtype.as_str() {
            "news" => {
                let articles = inner.get("articles").and_then(Value::as_array).ok_or("news.articles must be a list")?;
                if articles.len() != 1 {
                    return Err(format!(
                        "news.articles must hold exactly one article (WeChat refuses more), not {}",
                        articles.len()
                    ));
                }
                let article = articles[0].as_object().ok_or("news.articles[0] must be an object")?;
                let mut checked = Map::new();
                for name in ["title", "description", "url", "picurl"] {
                    let value = text_field(article, name, 2048).map_err(|e| format!("news.articles[0].{e}"))?;
                    checked.insert(name.to_owned(), Value::String(value));
                }
                out.insert("articles".to_owned(), Value::Array(vec![Value::Object(checked)]));
            }
            "msgmenu" => {
                let list = inner.get("list").and_then(Value::as_array).ok_or("msgmenu.list must be a list")?;
                if list.is_empty() || list.len() > MAX_MENU_ITEMS {
                    return Err(format!("msgmenu.list must hold 1 to {MAX_MENU_ITEMS} items"));
                }
                let mut items = Vec::new();
                for (i, item) in list.iter().enumerate() {
                    let item = item.as_object().ok_or_else(|| format!("msgmenu.list[{i}] must be an object"))?;
                    let id = text_field(item, "id", 64).map_err(|e| format!("msgmenu.list[{i}].{e}"))?;
                    let content = text_field(item, "content", 256).map_err(|e| format!("msgmenu.list[{i}].{e}"))?;
                    items.push(json!({"id": id, "content": content}));
                }
                out.insert("list".to_owned(), Value::Array(items));
                for name in ["head_content", "tail_content"] {
                    if let Some(value) = inner.get(name) {
                        let value = value.as_str().ok_or_else(|| format!("msgmenu.{name} must be a string"))?;
                        out.insert(name.to_owned(), Value::String(value.to_owned()));
                    }
                }
            }
            _ => {}
        }
        let mut body = json!({"touser": touser, "msgtype": msgtype});
        body[msgtype.as_str()] = Value::Object(out);
        if let Some(service) = object.get("customservice") {
            let account = service
                .get("kf_account")
                .and_then(Value::as_str)
                .filter(|a| !a.is_empty() && a.len() <= 128)
                .ok_or("customservice.kf_account must be a non-empty string")?;
            body["customservice"] = json!({"kf_account": account});
        }
        Ok(Self { touser, msgtype, body })
    }
}

/// A required, non-empty string field of at most `max` bytes (`0`: no bound here).
fn text_field(object: &Map<String, Value>, name: &str, max: usize) -> Result<String, String> {
    let value = object.get(name).ok_or_else(|| format!("{name} is missing"))?;
    let value = value.as_str().ok_or_else(|| format!("{name} must be a string"))?;
    if value.trim().is_empty() {
        return Err(format!("{name} is empty"));
    }
    if max > 0 && value.len() > max {
        return Err(format!("{name} is longer than {max} bytes"));
    }
    Ok(value.to_owned())
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
        let bad = [
            (json!([]), "JSON object"),
            (json!({"msgtype": "text", "text": {"content": "x"}}), "touser is missing"),
            (json!({"touser": "o", "msgtype": "mpnews", "mpnews": {"media_id": "m"}}), "not one of"),
            (json!({"touser": "o", "msgtype": "text"}), "text must be an object"),
            (json!({"touser": "o", "msgtype": "text", "text": {"content": " "}}), "text.content is empty"),
            (json!({"touser": "o", "msgtype": "text", "text": {"content": "字".repeat(2049)}}), "longer than 2048"),
            (json!({"touser": "o", "msgtype": "image", "image": {"media_id": 5}}), "image.media_id must be a string"),
            (json!({"touser": "o", "msgtype": "news", "news": {"articles": [{}, {}]}}), "exactly one article"),
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
