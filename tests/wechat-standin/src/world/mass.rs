//! Mass sends (群发) as WeChat keeps them
//! (<https://developers.weixin.qq.com/doc/service/api/notify/message/api_sendall>,
//! <https://developers.weixin.qq.com/doc/service/guide/product/message/Batch_Sends.html>):
//! permission set 7 (48001); an article is a draft of the account and media are its permanent
//! material (40007); a tag is one of the account's (45159); `mass/send` takes 2 to 10,000
//! OpenIDs (40130); a `clientmsgid` seen within 24 hours is refused (45065); a subscription
//! account sends once a day (45028); a preview goes to a follower (43004). Each send is followed
//! by its `MASSSENDJOBFINISH` push (sent by the caller of [`World::mass_send`]).

use serde_json::{Value, json};

use super::{World, WxError};

/// The set mass sends need.
const MASS_SET: i64 = 7;

/// A mass send WeChat made: for the push that follows it.
#[derive(Debug, Clone)]
pub(crate) struct MassSend {
    pub(crate) appid: String,
    pub(crate) msg_id: u64,
    total: usize,
    reached: usize,
    clientmsgid: Option<String>,
    at: i64,
}

impl World {
    fn mass_account(&self, token: Option<&str>) -> Result<String, WxError> {
        let appid = self.token_account(token)?;
        let granted = self.accounts.get(&appid).is_some_and(|s| s.account.func_info.contains(&MASS_SET));
        if granted { Ok(appid) } else { Err((48001, "api unauthorized")) }
    }

    /// The message of a send or a preview, as WeChat checks it.
    fn check_mass_message(&self, appid: &str, body: &Value) -> Result<(), WxError> {
        let msgtype = body.get("msgtype").and_then(Value::as_str).unwrap_or_default();
        let object = body.get(msgtype).ok_or((40008, "invalid message type"))?;
        match msgtype {
            "text" => {
                let content = object.get("content").and_then(Value::as_str).unwrap_or_default();
                if content.is_empty() { Err((44003, "empty content")) } else { Ok(()) }
            }
            "mpnews" => {
                let media_id = object.get("media_id").and_then(Value::as_str).unwrap_or_default();
                self.drafts.get(media_id).filter(|d| d.appid == appid).map(|_| ()).ok_or((40007, "invalid media_id"))
            }
            "image" | "voice" | "mpvideo" => {
                let media_id = object.get("media_id").and_then(Value::as_str).unwrap_or_default();
                match self.media.get(media_id) {
                    Some(m) if m.appid == appid && m.permanent => Ok(()),
                    _ => Err((40007, "invalid media_id")),
                }
            }
            _ => Err((40008, "invalid message type")),
        }
    }

    /// `message/mass/preview`.
    pub(crate) fn mass_preview(&self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.mass_account(token)?;
        let touser = body.get("touser").and_then(Value::as_str).unwrap_or_default();
        let following = self.followers.get(&(appid.clone(), touser.to_owned())).is_some_and(|f| f.subscribed);
        if !following {
            return Err((43004, "require subscribe"));
        }
        self.check_mass_message(&appid, body)?;
        Ok(json!({"errcode": 0, "errmsg": "preview success"}))
    }

    /// `message/mass/sendall` and `message/mass/send`.
    pub(crate) fn mass_send(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.mass_account(token)?;
        let now = self.now();
        let clientmsgid = body.get("clientmsgid").and_then(Value::as_str).map(str::to_owned);
        if let Some(id) = &clientmsgid {
            if id.len() > 64 {
                return Err((45067, "clientmsgid size out of limit"));
            }
            if self
                .mass_sends
                .iter()
                .any(|m| m.appid == appid && m.clientmsgid.as_ref() == Some(id) && now - m.at < 86_400)
            {
                return Err((45065, "clientmsgid exist"));
            }
        }
        self.check_mass_message(&appid, body)?;
        let subscribed = |world: &World, openid: &str| {
            world.followers.get(&(appid.clone(), openid.to_owned())).is_some_and(|f| f.subscribed)
        };
        let audience: Vec<String> = if let Some(filter) = body.get("filter") {
            if filter.get("is_to_all").and_then(Value::as_bool) == Some(true) {
                self.followers
                    .iter()
                    .filter(|((a, _), f)| *a == appid && f.subscribed)
                    .map(|((_, o), _)| o.clone())
                    .collect()
            } else {
                let tag = filter.get("tag_id").and_then(Value::as_i64).ok_or((45159, "invalid tag"))?;
                let tags = self.tags.get(&appid).ok_or((45159, "invalid tag"))?;
                if !tags.has(tag) {
                    return Err((45159, "invalid tag"));
                }
                tags.carriers(tag)
            }
        } else {
            let list: Vec<String> = body
                .get("touser")
                .and_then(Value::as_array)
                .map(|l| l.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            if !(2..=10_000).contains(&list.len()) {
                return Err((40130, "invalid openid list size, at least two openid"));
            }
            list
        };
        let service_type = self.accounts.get(&appid).map_or(2, |s| s.account.service_type);
        let today = (now + 8 * 3600).div_euclid(86_400);
        let sent_today = self
            .mass_sends
            .iter()
            .filter(|m| m.appid == appid && (m.at + 8 * 3600).div_euclid(86_400) == today)
            .count();
        if service_type != 2 && sent_today >= 1 {
            return Err((45028, "has no masssend quota"));
        }
        // An article mass sent leaves the draft box, as a published one does.
        if body.get("msgtype").and_then(Value::as_str) == Some("mpnews") {
            let media_id = body["mpnews"]["media_id"].as_str().unwrap_or_default().to_owned();
            self.drafts.remove(&media_id);
        }
        self.counter += 1;
        let msg_id = 1_000_000_000 + self.counter;
        let reached = audience.iter().filter(|o| subscribed(self, o)).count();
        self.mass_sends.push(MassSend { appid, msg_id, total: audience.len(), reached, clientmsgid, at: now });
        let mut out = json!({"errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id});
        if body.get("msgtype").and_then(Value::as_str) == Some("mpnews") {
            out["msg_data_id"] = json!(2_247_000_000 + self.counter);
        }
        Ok(out)
    }

    /// The `MASSSENDJOBFINISH` push of the last send: the account and the XML.
    pub(crate) fn mass_finished_xml(&self, msg_id: u64) -> Option<(String, String)> {
        let m = self.mass_sends.iter().find(|m| m.msg_id == msg_id)?;
        let xml = format!(
            "<xml><ToUserName><![CDATA[{}]]></ToUserName><FromUserName><![CDATA[o_admin_{}]]></FromUserName><CreateTime>{}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>{}</MsgID><Status><![CDATA[sendsuccess]]></Status><TotalCount>{}</TotalCount><FilterCount>{}</FilterCount><SentCount>{}</SentCount><ErrorCount>0</ErrorCount></xml>",
            self.user_name(&m.appid),
            m.appid,
            self.now(),
            m.msg_id,
            m.total,
            m.reached,
            m.reached
        );
        Some((m.appid.clone(), xml))
    }

    /// The last mass send's id (for the push that follows it).
    pub(crate) fn last_mass_send(&self) -> Option<u64> {
        self.mass_sends.last().map(|m| m.msg_id)
    }

    /// `message/mass/get`.
    pub(crate) fn mass_get(&self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.mass_account(token)?;
        let msg_id = body.get("msg_id").and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok())).unwrap_or(0);
        self.mass_sends.iter().find(|m| m.appid == appid && m.msg_id == msg_id).ok_or((40007, "invalid msg_id"))?;
        Ok(json!({"msg_id": msg_id, "msg_status": "SEND_SUCCESS"}))
    }

    /// The mass sends an account made (tests count them).
    pub(crate) fn mass_send_count(&self, appid: &str) -> usize {
        self.mass_sends.iter().filter(|m| m.appid == appid).count()
    }
}
