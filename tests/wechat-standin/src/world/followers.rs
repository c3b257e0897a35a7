//! Followers as WeChat knows them: who follows, the customer-service window each message or
//! event opens, the pushes they cause, and the user APIs that list them.

use serde_json::{Value, json};

use super::*;

impl World {
    /// A follower acted: WeChat opens (or renews) their customer-service window with the account.
    pub(super) fn follower_acted(&mut self, appid: &str, openid: &str, msg_type: &str, event: Option<&str>) {
        let now = self.now();
        let follower = self.followers.entry((appid.to_owned(), openid.to_owned())).or_default();
        if event == Some("unsubscribe") {
            follower.subscribed = false;
            follower.window = None;
            return;
        }
        if event == Some("subscribe") || !follower.subscribed {
            follower.subscribed_at = now;
        }
        follower.subscribed = true;
        if let Some((allowed, seconds)) = window_of(msg_type, event) {
            follower.window = Some(Window { opened: now, allowed, seconds, used: 0 });
        }
    }

    /// `count` people who followed the account before it was authorized (no push is sent for
    /// them): `{prefix}{00000…}`, following since `since`, every third through a QR scene.
    pub(crate) fn seed_followers(&mut self, appid: &str, prefix: &str, count: usize, since: i64) {
        for i in 0..count {
            let follower = self.followers.entry((appid.to_owned(), format!("{prefix}{i:06}"))).or_default();
            follower.subscribed = true;
            follower.subscribed_at = since + i64::try_from(i).unwrap_or(0);
            follower.scene = (i % 3 == 0).then(|| format!("seed-{}", i % 7));
        }
    }

    /// The account's followers, by OpenID (WeChat's own order is its own; any stable one will do).
    pub(super) fn followers_of(&self, appid: &str) -> Vec<String> {
        let mut list: Vec<String> = self
            .followers
            .iter()
            .filter(|((account, _), f)| account == appid && f.subscribed)
            .map(|((_, openid), _)| openid.clone())
            .collect();
        list.sort();
        list
    }

    /// User management needs permission set 2 (用户管理权限).
    pub(super) fn may_manage_users(&self, appid: &str) -> Result<(), WxError> {
        let granted = self.accounts.get(appid).is_some_and(|s| s.account.func_info.contains(&2));
        if granted { Ok(()) } else { Err((48001, "api unauthorized")) }
    }

    /// `user/get`: up to 10,000 OpenIDs after `next_openid` (empty: from the start), with
    /// `next_openid` = the last one listed; a call past the end lists nothing and `next_openid` is
    /// empty (<https://developers.weixin.qq.com/doc/service/api/usermanage/userinfo/api_getfans>).
    pub(crate) fn user_get(&self, token: Option<&str>, next_openid: Option<&str>) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        self.may_manage_users(&appid)?;
        let all = self.followers_of(&appid);
        let start = match next_openid.filter(|n| !n.is_empty()) {
            None => 0,
            Some(after) => all.iter().position(|o| o.as_str() > after).unwrap_or(all.len()),
        };
        let page: Vec<&String> = all[start..].iter().take(USER_GET_PAGE).collect();
        let next = page.last().map_or_else(String::new, |o| (*o).clone());
        let mut out = json!({"total": all.len(), "count": page.len(), "next_openid": next});
        if !page.is_empty() {
            out["data"] = json!({"openid": page});
        }
        Ok(out)
    }

    /// `user/info/batchget`: at most 100 OpenIDs (40032 otherwise); a non-follower is
    /// `{"subscribe": 0, "openid"}` and nothing else; no nickname, avatar, sex or region since
    /// 2021 (<https://developers.weixin.qq.com/doc/service/api/usermanage/userinfo/api_batchuserinfo.md>).
    pub(crate) fn user_info_batch(&self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        self.may_manage_users(&appid)?;
        let list = body.get("user_list").and_then(Value::as_array).ok_or((47001, "data format error"))?;
        if list.is_empty() || list.len() > 100 {
            return Err((40032, "invalid openid list size"));
        }
        let mut infos = Vec::new();
        for item in list {
            let openid = item.get("openid").and_then(Value::as_str).ok_or((40003, "invalid openid"))?;
            infos.push(match self.followers.get(&(appid.clone(), openid.to_owned())).filter(|f| f.subscribed) {
                None => json!({"subscribe": 0, "openid": openid}),
                Some(f) => json!({
                    "subscribe": 1, "openid": openid, "subscribe_time": f.subscribed_at, "remark": "", "groupid": 0,
                    "tagid_list": [], "language": "zh_CN",
                    "subscribe_scene": if f.scene.is_some() { "ADD_SCENE_QR_CODE" } else { "ADD_SCENE_SEARCH" },
                    "qr_scene": 0, "qr_scene_str": f.scene.clone().unwrap_or_default(),
                    "unionid": format!("union_{openid}"),
                }),
            });
        }
        Ok(json!({"user_info_list": infos}))
    }

    /// The follower switches the account's messages off (or on again).
    pub(crate) fn set_refuses(&mut self, appid: &str, openid: &str, refuses: bool) {
        self.followers.entry((appid.to_owned(), openid.to_owned())).or_default().refuses = refuses;
    }

    pub(crate) fn text_message(&mut self, appid: &str, openid: &str, content: &str) -> String {
        self.follower_acted(appid, openid, "text", None);
        self.counter += 1;
        let msg_id = 24_000_000_000_000_000u64 + self.counter;
        let mut cdata = String::new();
        for (i, part) in content.split("]]>").enumerate() {
            if i > 0 {
                cdata.push_str("]]]]><![CDATA[>");
            }
            cdata.push_str(part);
        }
        format!(
            "<xml><ToUserName><![CDATA[{}]]></ToUserName>\n<FromUserName><![CDATA[{openid}]]></FromUserName>\n<CreateTime>{}</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[{cdata}]]></Content>\n<MsgId>{msg_id}</MsgId>\n</xml>",
            self.user_name(appid),
            self.now()
        )
    }

    pub(crate) fn event_message(&mut self, appid: &str, openid: &str, event: &str) -> String {
        self.follower_acted(appid, openid, "event", Some(event));
        let extra = match event {
            "LOCATION" => {
                "\n<Latitude>23.137466</Latitude>\n<Longitude>113.352425</Longitude>\n<Precision>119.385040</Precision>"
            }
            "CLICK" => "\n<EventKey><![CDATA[MENU_KEY]]></EventKey>",
            _ => "",
        };
        format!(
            "<xml><ToUserName><![CDATA[{}]]></ToUserName>\n<FromUserName><![CDATA[{openid}]]></FromUserName>\n<CreateTime>{}</CreateTime>\n<MsgType><![CDATA[event]]></MsgType>\n<Event><![CDATA[{event}]]></Event>{extra}\n</xml>",
            self.user_name(appid),
            self.now()
        )
    }

    /// A follower push of `kind` as WeChat sends it: the seven ordinary messages by `MsgType`,
    /// the events by `Event` (`subscribe_qr` is a subscribe through a parametric QR code), and
    /// `unknown` (an event type nobody models). Each call is a new push (new `MsgId`, new time).
    pub(crate) fn follower_message(&mut self, appid: &str, openid: &str, kind: &str) -> Option<String> {
        self.counter += 1;
        let msg_id = 24_000_000_000_000_000u64 + self.counter;
        let (msg_type, body) = match kind {
            "text" => ("text", format!("<Content><![CDATA[你好]]></Content>\n<MsgId>{msg_id}</MsgId>")),
            "image" => ("image", format!("<PicUrl><![CDATA[https://mmbiz.qpic.cn/pic/{msg_id}]]></PicUrl>\n<MediaId><![CDATA[media_{msg_id}]]></MediaId>\n<MsgId>{msg_id}</MsgId>")),
            "voice" => ("voice", format!("<MediaId><![CDATA[media_{msg_id}]]></MediaId>\n<Format><![CDATA[amr]]></Format>\n<Recognition><![CDATA[今天天气怎么样]]></Recognition>\n<MsgId>{msg_id}</MsgId>")),
            "video" | "shortvideo" => (kind, format!("<MediaId><![CDATA[media_{msg_id}]]></MediaId>\n<ThumbMediaId><![CDATA[thumb_{msg_id}]]></ThumbMediaId>\n<MsgId>{msg_id}</MsgId>")),
            "location" => ("location", format!("<Location_X>23.134521</Location_X>\n<Location_Y>113.358803</Location_Y>\n<Scale>20</Scale>\n<Label><![CDATA[广州市天河区]]></Label>\n<MsgId>{msg_id}</MsgId>")),
            "link" => ("link", format!("<Title><![CDATA[公众平台官网链接]]></Title>\n<Description><![CDATA[公众平台官网链接]]></Description>\n<Url><![CDATA[https://mp.weixin.qq.com/]]></Url>\n<MsgId>{msg_id}</MsgId>")),
            "subscribe" | "unsubscribe" => ("event", format!("<Event><![CDATA[{kind}]]></Event>")),
            "subscribe_qr" => ("event", "<Event><![CDATA[subscribe]]></Event>\n<EventKey><![CDATA[qrscene_123123]]></EventKey>\n<Ticket><![CDATA[TICKET_123123]]></Ticket>".to_owned()),
            "SCAN" => ("event", "<Event><![CDATA[SCAN]]></Event>\n<EventKey><![CDATA[123123]]></EventKey>\n<Ticket><![CDATA[TICKET_123123]]></Ticket>".to_owned()),
            "LOCATION" => ("event", "<Event><![CDATA[LOCATION]]></Event>\n<Latitude>23.137466</Latitude>\n<Longitude>113.352425</Longitude>\n<Precision>119.385040</Precision>".to_owned()),
            "CLICK" => ("event", "<Event><![CDATA[CLICK]]></Event>\n<EventKey><![CDATA[MENU_KEY]]></EventKey>".to_owned()),
            "VIEW" => ("event", "<Event><![CDATA[VIEW]]></Event>\n<EventKey><![CDATA[https://www.qq.com/]]></EventKey>\n<MenuId>208379533</MenuId>".to_owned()),
            "TEMPLATESENDJOBFINISH" => ("event", format!("<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>\n<MsgID>{msg_id}</MsgID>\n<Status><![CDATA[success]]></Status>")),
            "PUBLISHJOBFINISH" => ("event", format!("<Event><![CDATA[PUBLISHJOBFINISH]]></Event>\n<PublishEventInfo><publish_id>{msg_id}</publish_id><publish_status>0</publish_status><article_id><![CDATA[article_{msg_id}]]></article_id><article_detail><count>1</count><item><idx>1</idx><article_url><![CDATA[http://mp.weixin.qq.com/s/article_{msg_id}]]></article_url></item></article_detail></PublishEventInfo>")),
            "MASSSENDJOBFINISH" => ("event", format!("<Event><![CDATA[MASSSENDJOBFINISH]]></Event>\n<MsgID>{msg_id}</MsgID>\n<Status><![CDATA[sendsuccess]]></Status>\n<TotalCount>100</TotalCount>\n<FilterCount>80</FilterCount>\n<SentCount>75</SentCount>\n<ErrorCount>5</ErrorCount>")),
            "miniprogrampage" => ("miniprogrampage", format!("<Title><![CDATA[小程序卡片]]></Title>\n<AppId><![CDATA[wx1234567890abcdef]]></AppId>\n<PagePath><![CDATA[pages/index]]></PagePath>\n<ThumbUrl><![CDATA[https://mmbiz.qpic.cn/thumb]]></ThumbUrl>\n<MsgId>{msg_id}</MsgId>")),
            "unknown" => ("event", "<Event><![CDATA[kf_create_session]]></Event>\n<KfAccount><![CDATA[test1@test]]></KfAccount>".to_owned()),
            _ => return None,
        };
        let event = match kind {
            "subscribe_qr" => Some("subscribe"),
            "unknown" => Some("kf_create_session"),
            _ if msg_type == "event" => Some(kind),
            _ => None,
        };
        self.follower_acted(appid, openid, msg_type, event);
        Some(format!(
            "<xml><ToUserName><![CDATA[{}]]></ToUserName>\n<FromUserName><![CDATA[{openid}]]></FromUserName>\n<CreateTime>{}</CreateTime>\n<MsgType><![CDATA[{msg_type}]]></MsgType>\n{body}\n</xml>",
            self.user_name(appid),
            // Events have no MsgId: WeChat tells them apart by follower, time and event, so two
            // of one kind from one follower within a second are one push (as on WeChat).
            self.now()
        ))
    }

    // ---- API rules -------------------------------------------------------------------------
}
