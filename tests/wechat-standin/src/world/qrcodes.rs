//! Parametric QR codes as WeChat keeps them (`qrcode/create`, `showqrcode`,
//! <https://developers.weixin.qq.com/doc/offiaccount/Account_Management/Generating_a_Parametric_QR_Code.html>):
//! temporary codes live at most 2,592,000 s (30 days; 60 s when `expire_seconds` is left out)
//! with a non-zero 32-bit `scene_id` or a `scene_str`; permanent codes take `scene_id` 1 to
//! 100,000 or a `scene_str` of 1 to 64 characters, at most 100,000 per account; permission set 3
//! (the error codes for a broken rule are not listed on WeChat's page: the stand-in answers
//! 40097 "invalid args", and 45029 past the permanent limit, and the platform checks every rule
//! first so that neither is ever reached). A scan by someone who does not follow yet is a
//! `subscribe` push with `EventKey` `qrscene_<scene>`; by a follower, a `SCAN` push with the bare
//! scene; both carry the code's `Ticket`.

use serde_json::{Value, json};

use super::{World, WxError};

/// The permission set parametric QR codes need.
const QR_SET: i64 = 3;
/// A temporary code's longest life (30 days).
const MAX_EXPIRE_SECS: i64 = 2_592_000;
/// Permanent codes per account.
const MAX_PERMANENT: usize = 100_000;

/// A code WeChat made.
#[derive(Debug, Clone)]
pub(crate) struct QrCode {
    pub(crate) appid: String,
    pub(crate) scene: String,
    pub(crate) expires_at: Option<i64>,
}

impl World {
    /// `qrcode/create`.
    pub(crate) fn create_qrcode(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        let granted = self.accounts.get(&appid).is_some_and(|s| s.account.func_info.contains(&QR_SET));
        if !granted {
            return Err((48001, "api unauthorized"));
        }
        let invalid = (40097, "invalid args");
        let action = body.get("action_name").and_then(Value::as_str).ok_or(invalid)?;
        let scene = body.pointer("/action_info/scene").ok_or(invalid)?;
        let permanent = action.starts_with("QR_LIMIT_");
        let scene = match action {
            "QR_SCENE" => {
                let id = scene.get("scene_id").and_then(Value::as_u64).ok_or(invalid)?;
                if id == 0 || id > u64::from(u32::MAX) {
                    return Err(invalid);
                }
                id.to_string()
            }
            "QR_LIMIT_SCENE" => {
                let id = scene.get("scene_id").and_then(Value::as_u64).ok_or(invalid)?;
                if !(1..=100_000).contains(&id) {
                    return Err(invalid);
                }
                id.to_string()
            }
            "QR_STR_SCENE" | "QR_LIMIT_STR_SCENE" => {
                let text = scene.get("scene_str").and_then(Value::as_str).ok_or(invalid)?;
                if text.is_empty() || text.chars().count() > 64 {
                    return Err(invalid);
                }
                text.to_owned()
            }
            _ => return Err((40053, "invalid action_name")),
        };
        let expires_at = if permanent {
            let made = self.qrcodes.values().filter(|c| c.appid == appid && c.expires_at.is_none()).count();
            // The same permanent scene is the same code: WeChat answers its ticket again.
            if let Some((ticket, _)) =
                self.qrcodes.iter().find(|(_, c)| c.appid == appid && c.expires_at.is_none() && c.scene == scene)
            {
                return Ok(json!({"ticket": ticket, "url": format!("http://weixin.qq.com/q/{ticket}")}));
            }
            if made >= MAX_PERMANENT {
                return Err((45029, "qrcode count out of limit"));
            }
            None
        } else {
            let secs = body.get("expire_seconds").map_or(Some(60), Value::as_i64).ok_or(invalid)?;
            if !(1..=MAX_EXPIRE_SECS).contains(&secs) {
                return Err(invalid);
            }
            Some(self.now() + secs)
        };
        self.counter += 1;
        let ticket = format!("gQH{:06}{}", self.counter, appid.get(2..10).unwrap_or("x"));
        self.qrcodes.insert(ticket.clone(), QrCode { appid, scene, expires_at });
        let mut answer = json!({"ticket": ticket, "url": format!("http://weixin.qq.com/q/{ticket}")});
        if let Some(at) = expires_at {
            answer["expire_seconds"] = json!(at - self.now());
        }
        Ok(answer)
    }

    /// The code behind `ticket`, while it can be scanned (`showqrcode` and scans).
    pub(crate) fn live_qrcode(&self, ticket: &str) -> Option<QrCode> {
        let now = self.now();
        self.qrcodes.get(ticket).filter(|c| c.expires_at.is_none_or(|at| at > now)).cloned()
    }

    /// The push a scan of `ticket` by `openid` causes: `subscribe` with `qrscene_` for someone who
    /// does not follow, `SCAN` for a follower. `None`: no such code, or it expired.
    pub(crate) fn scan_message(&mut self, ticket: &str, openid: &str) -> Option<(String, String)> {
        let code = self.live_qrcode(ticket)?;
        let following = self.followers.get(&(code.appid.clone(), openid.to_owned())).is_some_and(|f| f.subscribed);
        let (event, key) =
            if following { ("SCAN", code.scene.clone()) } else { ("subscribe", format!("qrscene_{}", code.scene)) };
        self.follower_acted(&code.appid, openid, "event", Some(event));
        if let Some(follower) = self.followers.get_mut(&(code.appid.clone(), openid.to_owned()))
            && !following
        {
            follower.scene = Some(code.scene.clone());
        }
        let xml = format!(
            "<xml><ToUserName><![CDATA[{}]]></ToUserName>\n<FromUserName><![CDATA[{openid}]]></FromUserName>\n<CreateTime>{}</CreateTime>\n<MsgType><![CDATA[event]]></MsgType>\n<Event><![CDATA[{event}]]></Event>\n<EventKey><![CDATA[{key}]]></EventKey>\n<Ticket><![CDATA[{ticket}]]></Ticket>\n</xml>",
            self.user_name(&code.appid),
            self.now()
        );
        Some((code.appid, xml))
    }

    /// The push a tap on a menu button causes: `CLICK` with the button's `key`, or `VIEW` with a
    /// link button's `url` (`key` names either); `None` when the account's menus (default or
    /// conditional) have no such button.
    pub(crate) fn click_message(&mut self, appid: &str, openid: &str, key: &str) -> Option<String> {
        let menus = self.menus.get(appid).into_iter().chain(self.conditional.get(appid).into_iter().flatten());
        let event = menus.flat_map(|m| m["button"].as_array().cloned().unwrap_or_default()).find_map(|button| {
            let leaves = button["sub_button"].as_array().cloned().unwrap_or_else(|| vec![button.clone()]);
            leaves.iter().find_map(|b| match b["type"].as_str() {
                Some("click") if b["key"] == key => Some("CLICK"),
                Some("view") if b["url"] == key => Some("VIEW"),
                _ => None,
            })
        })?;
        self.follower_acted(appid, openid, "event", Some(event));
        Some(format!(
            "<xml><ToUserName><![CDATA[{}]]></ToUserName>\n<FromUserName><![CDATA[{openid}]]></FromUserName>\n<CreateTime>{}</CreateTime>\n<MsgType><![CDATA[event]]></MsgType>\n<Event><![CDATA[{event}]]></Event>\n<EventKey><![CDATA[{key}]]></EventKey>\n</xml>",
            self.user_name(appid),
            self.now()
        ))
    }
}
