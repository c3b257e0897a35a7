//! Sending as an account: customer-service messages (their shapes and the window), the
//! account's templates and template messages, and the push that reports their delivery.

use serde_json::{Value, json};

use super::*;

impl World {
    pub(crate) fn custom_send(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let now = self.now();
        let appid = self.token_account(token)?;
        let touser =
            body.get("touser").and_then(Value::as_str).filter(|t| !t.is_empty()).ok_or((40003, "invalid openid"))?;
        let msgtype = body.get("msgtype").and_then(Value::as_str).ok_or((47001, "data format error"))?;
        let content = body.pointer("/text/content").and_then(Value::as_str).unwrap_or_default();
        check_custom_body(msgtype, body)?;
        if matches!(msgtype, "image" | "voice" | "video") {
            let media_id = body.pointer(&format!("/{msgtype}/media_id")).and_then(Value::as_str).unwrap_or_default();
            self.check_media_id(&appid, media_id)?;
        }
        let follower = self
            .followers
            .get_mut(&(appid.clone(), touser.to_owned()))
            .filter(|f| f.subscribed)
            .ok_or((43004, "require subscribe"))?;
        if follower.refuses {
            return Err((48002, "api blocked: the user refuses messages from this account"));
        }
        let window = follower
            .window
            .as_mut()
            .filter(|w| now < w.opened + w.seconds)
            .ok_or((45015, "response out of time limit or subscription is canceled"))?;
        if window.used >= window.allowed {
            return Err((45047, "out of response count limit"));
        }
        window.used += 1;
        self.sent.push(SentMessage {
            authorizer_appid: appid,
            touser: touser.to_owned(),
            msgtype: msgtype.to_owned(),
            content: content.to_owned(),
        });
        Ok(json!({"errcode": 0, "errmsg": "ok"}))
    }

    /// `template/api_add_template`: a library template added to the account, its new id returned.
    pub(crate) fn add_template(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        let short = body.get("template_id_short").and_then(Value::as_str).unwrap_or_default();
        let (_, title, keywords) =
            TEMPLATE_LIBRARY.iter().find(|(id, _, _)| *id == short).ok_or((40037, "invalid template_id"))?;
        let held = self.templates.entry(appid.clone()).or_default();
        if held.len() >= MAX_TEMPLATES {
            return Err((45026, "template size out of limit"));
        }
        self.counter += 1;
        let template_id = format!("tmpl_{appid}_{}", self.counter);
        self.templates.entry(appid).or_default().push(Template {
            template_id: template_id.clone(),
            title: (*title).to_owned(),
            keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
        });
        Ok(json!({"errcode": 0, "errmsg": "ok", "template_id": template_id}))
    }

    /// `template/get_all_private_template`: the account's templates.
    pub(crate) fn private_templates(&self, token: Option<&str>) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        let list: Vec<Value> = self
            .templates
            .get(&appid)
            .into_iter()
            .flatten()
            .map(|t| {
                let content: String = t.keywords.iter().map(|k| format!("{k}:{{{{{k}.DATA}}}}\n")).collect();
                json!({"template_id": t.template_id, "title": t.title, "primary_industry": "IT科技", "deputy_industry": "互联网|电子商务", "content": content, "example": ""})
            })
            .collect();
        Ok(json!({"template_list": list}))
    }

    /// `message/template/send`: the template must be the account's (40037), the follower must
    /// follow (43004), every keyword's value must fit its type (47003); the same `client_msg_id`
    /// for the same follower within 10 minutes sends nothing more and answers the first msgid.
    pub(crate) fn template_send(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        let now = self.now();
        let touser =
            body.get("touser").and_then(Value::as_str).filter(|t| !t.is_empty()).ok_or((40003, "invalid openid"))?;
        let template_id = body.get("template_id").and_then(Value::as_str).unwrap_or_default();
        let template = self
            .templates
            .get(&appid)
            .and_then(|held| held.iter().find(|t| t.template_id == template_id))
            .cloned()
            .ok_or((40037, "invalid template_id"))?;
        let follower = self
            .followers
            .get(&(appid.clone(), touser.to_owned()))
            .filter(|f| f.subscribed)
            .cloned()
            .ok_or((43004, "require subscribe"))?;
        for keyword in &template.keywords {
            let value = body.pointer(&format!("/data/{keyword}/value")).and_then(Value::as_str).unwrap_or_default();
            let kind = keyword.trim_end_matches(|c: char| c.is_ascii_digit());
            let fits = !value.is_empty()
                && match kind {
                    "thing" => value.chars().count() <= 20,
                    "phrase" => value.chars().count() <= 5,
                    "character_string" => value.chars().count() <= 32,
                    _ => value.chars().count() <= 64,
                };
            if !fits {
                return Err((47003, "argument invalid! data.value invalid"));
            }
        }
        let client_msg_id = body.get("client_msg_id").and_then(Value::as_str).filter(|c| !c.is_empty());
        if let Some(id) = client_msg_id
            && let Some((at, msgid)) = self.client_msg_ids.get(&(appid.clone(), touser.to_owned(), id.to_owned()))
            && now < at + 600
        {
            return Ok(json!({"errcode": 0, "errmsg": "ok", "msgid": msgid}));
        }
        self.counter += 1;
        let msgid = 200_000_000 + self.counter;
        if let Some(id) = client_msg_id {
            self.client_msg_ids.insert((appid.clone(), touser.to_owned(), id.to_owned()), (now, msgid));
        }
        let status = if follower.refuses { "failed:user block" } else { "success" };
        self.template_sends.push(TemplateSend {
            authorizer_appid: appid,
            touser: touser.to_owned(),
            template_id: template_id.to_owned(),
            msgid,
            status: status.to_owned(),
        });
        Ok(json!({"errcode": 0, "errmsg": "ok", "msgid": msgid}))
    }

    /// The `TEMPLATESENDJOBFINISH` push WeChat sends after a template message.
    pub(crate) fn template_finished_xml(&self, send: &TemplateSend) -> String {
        format!(
            "<xml><ToUserName><![CDATA[{}]]></ToUserName>\n<FromUserName><![CDATA[{}]]></FromUserName>\n<CreateTime>{}</CreateTime>\n<MsgType><![CDATA[event]]></MsgType>\n<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>\n<MsgID>{}</MsgID>\n<Status><![CDATA[{}]]></Status>\n</xml>",
            self.user_name(&send.authorizer_appid),
            send.touser,
            self.now(),
            send.msgid,
            send.status
        )
    }
}

/// The shape WeChat requires of each customer-service `msgtype`: its object with its fields
/// (47001 otherwise), text not empty (44003), one news article at most (45008).
fn check_custom_body(msgtype: &str, body: &Value) -> Result<(), WxError> {
    let required: &[&str] = match msgtype {
        "text" => &["content"],
        "image" | "voice" | "mpnews" => &["media_id"],
        "video" => &["media_id", "thumb_media_id"],
        "music" => &["musicurl", "hqmusicurl", "thumb_media_id"],
        "news" => &["articles"],
        "mpnewsarticle" => &["article_id"],
        "msgmenu" => &["list"],
        "miniprogrampage" => &["title", "appid", "pagepath", "thumb_media_id"],
        "wxcard" => &["card_id"],
        _ => return Err((40008, "invalid message type")),
    };
    let object = body.get(msgtype).and_then(Value::as_object).ok_or((47001, "data format error"))?;
    if required.iter().any(|field| object.get(*field).is_none_or(|v| v.is_null() || v.as_str() == Some(""))) {
        return Err(if msgtype == "text" { (44003, "empty news data") } else { (47001, "data format error") });
    }
    if msgtype == "news" && object["articles"].as_array().is_none_or(|a| a.is_empty() || a.len() > 1) {
        return Err((45008, "article size out of limit"));
    }
    Ok(())
}
