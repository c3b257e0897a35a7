//! The stand-in's state and WeChat's rules over it. Pure, synchronous, behind one mutex.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// WeChat's lifetimes.
const TICKET_VALID: i64 = 12 * 3600;
const COMPONENT_TOKEN_TTL: i64 = 7200;
const PRE_AUTH_CODE_TTL: i64 = 1800;
const AUTH_CODE_TTL: i64 = 600;
/// WeChat's authorizer access-token lifetime (the stand-in's default).
pub(crate) const AUTHORIZER_TOKEN_TTL: i64 = 7200;

/// A fake 公众号 that can authorize the platform.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    /// appid.
    pub appid: String,
    /// 原始ID (`gh_…`).
    pub user_name: String,
    /// nick_name.
    pub nick_name: String,
    /// principal_name.
    #[serde(default)]
    pub principal_name: String,
    /// service_type_info.id.
    #[serde(default = "default_service_type")]
    pub service_type: i64,
    /// verify_type_info.id.
    #[serde(default)]
    pub verify_type: i64,
    /// Granted permission sets.
    #[serde(default = "default_func_info")]
    pub func_info: Vec<i64>,
}

fn default_service_type() -> i64 {
    2
}

fn default_func_info() -> Vec<i64> {
    vec![1, 2, 3, 4, 6, 7, 11, 15]
}

impl Account {
    /// Account number `i` of a generated population (`wx` + 16 digits), for tests at scale.
    pub fn numbered(i: usize) -> Self {
        Self {
            appid: format!("wx{i:016}"),
            user_name: format!("gh_{i:012}"),
            nick_name: format!("account {i}"),
            principal_name: String::new(),
            service_type: 2,
            verify_type: 0,
            func_info: vec![1],
        }
    }

    /// Three accounts: a 服务号, a 订阅号, and the release test's account.
    pub fn defaults() -> Vec<Self> {
        vec![
            Self {
                appid: "wx1000000000000001".into(),
                user_name: "gh_100000000001".into(),
                nick_name: "示例服务号".into(),
                principal_name: "示例科技有限公司".into(),
                service_type: 2,
                verify_type: 0,
                func_info: default_func_info(),
            },
            Self {
                appid: "wx1000000000000002".into(),
                user_name: "gh_100000000002".into(),
                nick_name: "示例订阅号".into(),
                principal_name: "个人".into(),
                service_type: 0,
                verify_type: -1,
                func_info: vec![1, 2, 15],
            },
            Self {
                appid: crate::RELEASE_TEST_APPID.into(),
                user_name: crate::RELEASE_TEST_USERNAME.into(),
                nick_name: "全网发布测试号".into(),
                principal_name: "腾讯".into(),
                service_type: 2,
                verify_type: 0,
                func_info: default_func_info(),
            },
        ]
    }
}

/// A fault to inject into an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Fault {
    /// Answer HTTP 200 `{"errcode": N}`.
    Errcode(i64),
    /// Answer with this HTTP status.
    Status(u16),
    /// Wait this many milliseconds, then answer normally.
    DelayMs(u64),
    /// Send headers, then drop the connection mid-body.
    Drop,
    /// Perform the call (codes are consumed, tokens issued), then drop the connection before
    /// the answer: the caller never learns what WeChat did.
    DropAfter,
    /// Perform the call at once, then wait this many milliseconds before answering: WeChat did
    /// the work even if the caller gave up waiting.
    SlowAfterMs(u64),
    /// Answer `307 Temporary Redirect` to this URL (a client must not follow it).
    Redirect(String),
}

/// A custom-service message the platform sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentMessage {
    /// The account that sent it.
    pub authorizer_appid: String,
    /// `touser`.
    pub touser: String,
    /// `msgtype`.
    pub msgtype: String,
    /// `text.content` for text messages.
    pub content: String,
}

#[derive(Debug)]
struct AccountState {
    account: Account,
    authorized: bool,
    refresh_token: String,
    access_tokens: HashMap<String, i64>,
    auth_time: i64,
}

#[derive(Debug)]
struct Code {
    expires: i64,
    used: bool,
    appid: String,
}

#[derive(Debug)]
struct ComponentToken {
    expires: i64,
    superseded_at: Option<i64>,
}

/// The state of the fake WeChat.
#[derive(Debug, Default)]
pub(crate) struct World {
    offset: i64,
    counter: u64,
    tickets: HashMap<String, i64>,
    component_tokens: HashMap<String, ComponentToken>,
    pre_auth_codes: HashMap<String, Code>,
    auth_codes: HashMap<String, Code>,
    accounts: HashMap<String, AccountState>,
    faults: HashMap<String, VecDeque<Fault>>,
    calls: HashMap<String, u64>,
    pub(crate) sent: Vec<SentMessage>,
    pub(crate) last_ticket: Option<String>,
    authorizer_token_ttl: i64,
    /// What WeChat knows of each (account, follower): following or not, and the open
    /// customer-service window.
    followers: HashMap<(String, String), Follower>,
    /// Each account's templates (template ids are per account).
    templates: HashMap<String, Vec<Template>>,
    /// `client_msg_id` sends: (account, openid, id) → (when, msgid).
    client_msg_ids: HashMap<(String, String, String), (i64, u64)>,
    /// Template messages sent, in order.
    pub(crate) template_sends: Vec<TemplateSend>,
    /// Web authorization: codes and user-level tokens (`oauth.rs`).
    pub(crate) web: crate::oauth::WebAuth,
}

/// The template library (模板库) the stand-in offers: short id, title, keywords (the part before
/// the digits is the keyword's type, which rules its value).
pub const TEMPLATE_LIBRARY: &[(&str, &str, &[&str])] = &[
    ("OPENTM207498902", "订单发货提醒", &["character_string1", "thing2", "time3"]),
    ("OPENTM405637175", "预约成功通知", &["thing1", "time2", "phrase3"]),
];

/// OpenIDs per `user/get` page (WeChat's 10,000).
const USER_GET_PAGE: usize = 10_000;

/// The most templates an account may hold (WeChat: 25 in use).
const MAX_TEMPLATES: usize = 25;

#[derive(Debug, Clone)]
struct Template {
    template_id: String,
    title: String,
    keywords: Vec<String>,
}

/// A template message the platform sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateSend {
    /// The account that sent it.
    pub authorizer_appid: String,
    /// `touser`.
    pub touser: String,
    /// The account's template id.
    pub template_id: String,
    /// WeChat's `msgid`.
    pub msgid: u64,
    /// The status its `TEMPLATESENDJOBFINISH` push will carry.
    pub status: String,
}

/// A follower of one account, as the customer-service rules see them.
#[derive(Debug, Default, Clone)]
struct Follower {
    subscribed: bool,
    /// When they last followed (`subscribe_time`), and through which QR scene.
    subscribed_at: i64,
    scene: Option<String>,
    /// Switched the account's messages off (48002).
    refuses: bool,
    /// The customer-service window: when it opened, how many sends it allows, for how long,
    /// and how many it has had.
    window: Option<Window>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    opened: i64,
    allowed: u32,
    seconds: i64,
    used: u32,
}

/// The customer-service window a follower's action opens
/// (<https://developers.weixin.qq.com/doc/service/api/customer/message/api_sendcustommessage>):
/// a message, 5 sends in 48 hours; a follow, a scan or a menu click, 3 sends in a minute.
fn window_of(msg_type: &str, event: Option<&str>) -> Option<(u32, i64)> {
    match (msg_type, event) {
        ("event", Some("subscribe" | "SCAN" | "CLICK" | "scancode_push" | "scancode_waitmsg")) => Some((3, 60)),
        ("event", _) => None,
        _ => Some((5, 48 * 3600)),
    }
}

/// A WeChat API error: `(errcode, errmsg)`.
pub(crate) type WxError = (i64, &'static str);

impl World {
    pub(crate) fn new(accounts: &[Account], authorizer_token_ttl: i64) -> Self {
        let mut world = Self { authorizer_token_ttl, ..Self::default() };
        for account in accounts {
            world.add_account(account.clone());
        }
        world
    }

    pub(crate) fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    pub(crate) fn now_ms(&self) -> i64 {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
        real + self.offset * 1000
    }

    pub(crate) fn advance(&mut self, secs: i64) {
        self.offset += secs;
    }

    /// Opaque values in WeChat's shapes (`ticket@@@…`, `preauthcode@@@…`), unguessable.
    pub(crate) fn mint(&mut self, prefix: &str) -> String {
        self.counter += 1;
        let mut random = [0u8; 12];
        getrandom::fill(&mut random).unwrap_or_default();
        let random: String = random.iter().map(|b| format!("{b:02x}")).collect();
        format!("{prefix}{}_{random}", self.counter)
    }

    pub(crate) fn add_account(&mut self, account: Account) {
        let appid = account.appid.clone();
        let previous = self.accounts.remove(&appid);
        let state = AccountState {
            account,
            authorized: previous.as_ref().is_some_and(|p| p.authorized),
            refresh_token: previous.as_ref().map(|p| p.refresh_token.clone()).unwrap_or_default(),
            access_tokens: previous.map(|p| p.access_tokens).unwrap_or_default(),
            auth_time: 0,
        };
        self.accounts.insert(appid, state);
    }

    pub(crate) fn inject(&mut self, endpoint: &str, fault: Fault, count: usize) {
        let queue = self.faults.entry(endpoint.to_owned()).or_default();
        queue.extend(std::iter::repeat_n(fault, count));
    }

    /// Counts the call and returns the fault to apply to it, if any.
    pub(crate) fn enter(&mut self, endpoint: &str) -> Option<Fault> {
        *self.calls.entry(endpoint.to_owned()).or_default() += 1;
        self.faults.get_mut(endpoint).and_then(VecDeque::pop_front)
    }

    pub(crate) fn calls(&self, endpoint: &str) -> u64 {
        self.calls.get(endpoint).copied().unwrap_or(0)
    }

    // ---- pushes ----------------------------------------------------------------------------

    pub(crate) fn new_ticket(&mut self, component_appid: &str) -> String {
        let ticket = self.mint("ticket@@@");
        let now = self.now();
        self.tickets.insert(ticket.clone(), now);
        self.last_ticket = Some(ticket.clone());
        Self::ticket_xml(component_appid, &ticket, now)
    }

    /// The push of the newest ticket again, byte for byte what WeChat retries.
    pub(crate) fn last_ticket_xml(&self, component_appid: &str) -> Option<String> {
        let ticket = self.last_ticket.as_ref()?;
        Some(Self::ticket_xml(component_appid, ticket, *self.tickets.get(ticket)?))
    }

    fn ticket_xml(component_appid: &str, ticket: &str, created: i64) -> String {
        format!(
            "<xml><AppId><![CDATA[{component_appid}]]></AppId>\n<CreateTime>{created}</CreateTime>\n<InfoType><![CDATA[component_verify_ticket]]></InfoType>\n<ComponentVerifyTicket><![CDATA[{ticket}]]></ComponentVerifyTicket>\n</xml>"
        )
    }

    /// The admin authorizes: a fresh refresh token (the previous one stops working, as WeChat
    /// documents), a single-use auth code, and the `authorized`/`updateauthorized` push XML.
    pub(crate) fn authorize(
        &mut self,
        appid: &str,
        pre_auth_code: Option<&str>,
        component_appid: &str,
    ) -> Option<(String, String)> {
        let code = self.mint("queryauthcode@@@");
        let refresh_token = self.mint("refreshtoken@@@");
        let now = self.now();
        let state = self.accounts.get_mut(appid)?;
        let info_type = if state.authorized { "updateauthorized" } else { "authorized" };
        state.authorized = true;
        state.refresh_token = refresh_token;
        state.auth_time = now;
        self.auth_codes
            .insert(code.clone(), Code { expires: now + AUTH_CODE_TTL, used: false, appid: appid.to_owned() });
        let pre = pre_auth_code.map(|p| format!("\n<PreAuthCode><![CDATA[{p}]]></PreAuthCode>")).unwrap_or_default();
        let xml = format!(
            "<xml><AppId><![CDATA[{component_appid}]]></AppId>\n<CreateTime>{now}</CreateTime>\n<InfoType><![CDATA[{info_type}]]></InfoType>\n<AuthorizerAppid><![CDATA[{appid}]]></AuthorizerAppid>\n<AuthorizationCode><![CDATA[{code}]]></AuthorizationCode>\n<AuthorizationCodeExpiredTime>{}</AuthorizationCodeExpiredTime>{pre}\n</xml>",
            now + AUTH_CODE_TTL
        );
        Some((code, xml))
    }

    pub(crate) fn revoke(&mut self, appid: &str, component_appid: &str) -> String {
        if let Some(state) = self.accounts.get_mut(appid) {
            state.authorized = false;
            state.access_tokens.clear();
        }
        let now = self.now();
        format!(
            "<xml><AppId><![CDATA[{component_appid}]]></AppId>\n<CreateTime>{now}</CreateTime>\n<InfoType><![CDATA[unauthorized]]></InfoType>\n<AuthorizerAppid><![CDATA[{appid}]]></AuthorizerAppid>\n</xml>"
        )
    }

    pub(crate) fn user_name(&self, appid: &str) -> String {
        self.accounts.get(appid).map_or_else(|| "gh_unknown".to_owned(), |s| s.account.user_name.clone())
    }

    /// A follower acted: WeChat opens (or renews) their customer-service window with the account.
    fn follower_acted(&mut self, appid: &str, openid: &str, msg_type: &str, event: Option<&str>) {
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
    fn followers_of(&self, appid: &str) -> Vec<String> {
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
    fn may_manage_users(&self, appid: &str) -> Result<(), WxError> {
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

    pub(crate) fn check_component(&self, body: &Value, expected_appid: &str) -> Result<(), WxError> {
        match body.get("component_appid").and_then(Value::as_str) {
            Some(appid) if appid == expected_appid => Ok(()),
            _ => Err((40013, "invalid appid")),
        }
    }

    /// A component access token as WeChat checks it: known, unexpired, not superseded for longer
    /// than the grace period.
    pub(crate) fn check_component_token(&self, token: Option<&str>, grace: i64) -> Result<(), WxError> {
        let now = self.now();
        let Some(state) = token.and_then(|t| self.component_tokens.get(t)) else {
            return Err((40001, "invalid credential, access_token is invalid or not latest"));
        };
        if state.expires <= now {
            return Err((42001, "access_token expired"));
        }
        if state.superseded_at.is_some_and(|at| at + grace <= now) {
            return Err((40001, "invalid credential, access_token is invalid or not latest"));
        }
        Ok(())
    }

    pub(crate) fn issue_component_token(&mut self, ticket: Option<&str>) -> Result<Value, WxError> {
        let now = self.now();
        let issued = ticket.and_then(|t| self.tickets.get(t)).copied().ok_or((61006, "component ticket is invalid"))?;
        if issued + TICKET_VALID <= now {
            return Err((61005, "component ticket is expired"));
        }
        for state in self.component_tokens.values_mut() {
            state.superseded_at.get_or_insert(now);
        }
        let token = self.mint("COMPONENT_TOKEN_");
        self.component_tokens
            .insert(token.clone(), ComponentToken { expires: now + COMPONENT_TOKEN_TTL, superseded_at: None });
        Ok(json!({"component_access_token": token, "expires_in": COMPONENT_TOKEN_TTL}))
    }

    pub(crate) fn issue_pre_auth_code(&mut self) -> Value {
        let code = self.mint("preauthcode@@@");
        let now = self.now();
        self.pre_auth_codes
            .insert(code.clone(), Code { expires: now + PRE_AUTH_CODE_TTL, used: false, appid: String::new() });
        json!({"pre_auth_code": code, "expires_in": PRE_AUTH_CODE_TTL})
    }

    /// Checks (and with `consume`, uses up) a pre_auth_code for the authorization page.
    pub(crate) fn take_pre_auth_code(&mut self, code: &str, consume: bool) -> Result<(), &'static str> {
        let now = self.now();
        let state = self.pre_auth_codes.get_mut(code).ok_or("pre_auth_code is invalid")?;
        if state.used {
            return Err("pre_auth_code has already been used");
        }
        if state.expires <= now {
            return Err("pre_auth_code has expired");
        }
        state.used |= consume;
        Ok(())
    }

    /// The permission sets an account granted the platform, while it is authorized.
    pub(crate) fn grants(&self, appid: &str) -> Option<&[i64]> {
        self.accounts.get(appid).filter(|s| s.authorized).map(|s| s.account.func_info.as_slice())
    }

    /// The account's nickname (its appid when unknown).
    pub(crate) fn nick_name(&self, appid: &str) -> String {
        self.accounts.get(appid).map_or_else(|| appid.to_owned(), |s| s.account.nick_name.clone())
    }

    /// Whether `token` is some account's authorizer access token (what a platform must not use
    /// where the component token is required).
    pub(crate) fn is_authorizer_token(&self, token: &str) -> bool {
        !token.is_empty() && self.accounts.values().any(|s| s.access_tokens.contains_key(token))
    }

    pub(crate) fn account_list(&self) -> Vec<Account> {
        let mut list: Vec<Account> = self.accounts.values().map(|s| s.account.clone()).collect();
        list.sort_by(|a, b| a.appid.cmp(&b.appid));
        list
    }

    fn issue_access_token(&mut self, appid: &str) -> String {
        let token = self.mint("AUTHORIZER_TOKEN_");
        let expires = self.now() + self.authorizer_token_ttl;
        if let Some(state) = self.accounts.get_mut(appid) {
            state.access_tokens.insert(token.clone(), expires);
        }
        token
    }

    fn func_info(state: &AccountState) -> Value {
        Value::Array(state.account.func_info.iter().map(|id| json!({"funcscope_category": {"id": id}})).collect())
    }

    pub(crate) fn query_auth(&mut self, code: Option<&str>) -> Result<Value, WxError> {
        let now = self.now();
        let state = code.and_then(|c| self.auth_codes.get_mut(c)).ok_or((61009, "code is invalid"))?;
        if state.used {
            return Err((61009, "code is invalid"));
        }
        if state.expires <= now {
            return Err((61010, "code is expired"));
        }
        state.used = true;
        let appid = state.appid.clone();
        let access_token = self.issue_access_token(&appid);
        let account = self.accounts.get(&appid).ok_or((61003, "component is not authorized by this account"))?;
        Ok(json!({"authorization_info": {
            "authorizer_appid": appid,
            "authorizer_access_token": access_token,
            "expires_in": self.authorizer_token_ttl,
            "authorizer_refresh_token": account.refresh_token,
            "func_info": Self::func_info(account),
        }}))
    }

    pub(crate) fn authorizer_token(&mut self, body: &Value, rotate: bool) -> Result<Value, WxError> {
        let appid = body.get("authorizer_appid").and_then(Value::as_str).unwrap_or_default().to_owned();
        let given = body.get("authorizer_refresh_token").and_then(Value::as_str).unwrap_or_default();
        let state = self
            .accounts
            .get(&appid)
            .filter(|s| s.authorized)
            .ok_or((61003, "component is not authorized by this account"))?;
        if given.is_empty() || given != state.refresh_token {
            return Err((61023, "refresh_token is invalid"));
        }
        if rotate {
            self.rotate_refresh_token(&appid);
        }
        let access_token = self.issue_access_token(&appid);
        let refresh_token = self.refresh_token_of(&appid).unwrap_or_default();
        Ok(
            json!({"authorizer_access_token": access_token, "expires_in": self.authorizer_token_ttl, "authorizer_refresh_token": refresh_token}),
        )
    }

    pub(crate) fn refresh_token_of(&self, appid: &str) -> Option<String> {
        self.accounts.get(appid).map(|s| s.refresh_token.clone())
    }

    pub(crate) fn rotate_refresh_token(&mut self, appid: &str) -> Option<String> {
        let token = self.mint("refreshtoken@@@");
        let state = self.accounts.get_mut(appid)?;
        state.refresh_token = token.clone();
        Some(token)
    }

    /// WeChat honours `token` for `appid` again (and lists it).
    pub(crate) fn restore_refresh_token(&mut self, appid: &str, token: &str) {
        if let Some(state) = self.accounts.get_mut(appid) {
            state.refresh_token = token.to_owned();
        }
    }

    /// The admin revoked the authorization but the `unauthorized` push never arrived.
    pub(crate) fn revoke_silently(&mut self, appid: &str) {
        if let Some(state) = self.accounts.get_mut(appid) {
            state.authorized = false;
            state.access_tokens.clear();
        }
    }

    /// WeChat no longer honours any refresh token of `appid`, and its authorizer list omits it.
    pub(crate) fn forget_refresh_token(&mut self, appid: &str) {
        if let Some(state) = self.accounts.get_mut(appid) {
            state.refresh_token.clear();
        }
    }

    pub(crate) fn authorizer_info(&self, body: &Value) -> Result<Value, WxError> {
        let appid = body.get("authorizer_appid").and_then(Value::as_str).unwrap_or_default();
        let state = self
            .accounts
            .get(appid)
            .filter(|s| s.authorized)
            .ok_or((61003, "component is not authorized by this account"))?;
        let a = &state.account;
        Ok(json!({
            "authorizer_info": {
                "nick_name": a.nick_name,
                "head_img": format!("http://wx.qlogo.cn/mmopen/{}/0", a.appid),
                "service_type_info": {"id": a.service_type},
                "verify_type_info": {"id": a.verify_type},
                "user_name": a.user_name,
                "principal_name": a.principal_name,
                "alias": "",
                "qrcode_url": format!("http://mmbiz.qpic.cn/mmbiz_jpg/{}/0", a.appid),
                "business_info": {"open_pay": 0, "open_shake": 0, "open_scan": 0, "open_card": 0, "open_store": 0},
                "account_status": 1
            },
            "authorization_info": {"authorizer_appid": a.appid, "authorizer_refresh_token": state.refresh_token, "func_info": Self::func_info(state)}
        }))
    }

    pub(crate) fn authorizer_list(&self, body: &Value) -> Value {
        let offset = body.get("offset").and_then(Value::as_u64).unwrap_or(0);
        let count = body.get("count").and_then(Value::as_u64).unwrap_or(500).min(500);
        let mut authorized: Vec<&AccountState> = self.accounts.values().filter(|s| s.authorized).collect();
        authorized.sort_by(|a, b| a.account.appid.cmp(&b.account.appid));
        let page: Vec<Value> = authorized
            .iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(count).unwrap_or(0))
            .map(|s| {
                let mut row = json!({"authorizer_appid": s.account.appid, "auth_time": s.auth_time});
                if !s.refresh_token.is_empty() {
                    row["refresh_token"] = json!(s.refresh_token);
                }
                row
            })
            .collect();
        json!({"total_count": authorized.len(), "list": page})
    }

    pub(crate) fn custom_send(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let now = self.now();
        let appid = self.token_account(token)?;
        let touser =
            body.get("touser").and_then(Value::as_str).filter(|t| !t.is_empty()).ok_or((40003, "invalid openid"))?;
        let msgtype = body.get("msgtype").and_then(Value::as_str).ok_or((47001, "data format error"))?;
        let content = body.pointer("/text/content").and_then(Value::as_str).unwrap_or_default();
        check_custom_body(msgtype, body)?;
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
}

impl World {
    /// The account an authorizer access token belongs to, as WeChat checks it: known (40001) and
    /// unexpired (42001).
    fn token_account(&self, token: Option<&str>) -> Result<String, WxError> {
        let now = self.now();
        let token = token.unwrap_or_default();
        let (appid, expires) = self
            .accounts
            .values()
            .find_map(|s| s.access_tokens.get(token).map(|e| (s.account.appid.clone(), *e)))
            .ok_or((40001, "invalid credential, access_token is invalid or not latest"))?;
        if expires <= now {
            return Err((42001, "access_token expired"));
        }
        Ok(appid)
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

/// A delay of `ms` milliseconds.
pub(crate) fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}
