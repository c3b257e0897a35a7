//! The stand-in's state and WeChat's rules over it. Pure, synchronous, behind one mutex. The
//! rules are split by product area, each an `impl World` of its own:
//!
//! | area | file |
//! |---|---|
//! | the clock, faults, accounts, the account behind a token | `mod.rs` |
//! | the component: tickets, tokens, pre_auth codes, authorization, authorizer tokens | `authorization.rs` |
//! | followers: who follows, their windows, their messages, `user/get` and `user/info` | `followers.rs` |
//! | sending as an account: customer-service messages, templates, template messages | `messages.rs` |
//! | the draft box and publishing: drafts kept, published, listed, deleted | `drafts.rs` |
//! | mass sends and previews, with their allowances | `mass.rs` |

mod authorization;
mod drafts;
mod followers;
mod mass;
mod media;
mod menu;
mod messages;
mod qrcodes;
mod tags;

pub(crate) use self::media::{Medium, Part};

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};

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
    /// Left out of `api_get_authorizer_list` although authorized (a glitch of WeChat's list).
    hidden_from_list: bool,
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
    pub(crate) counter: u64,
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
    /// Media WeChat keeps, by `media_id` (`media.rs`).
    media: HashMap<String, Medium>,
    /// Each account's default menu, as `menu/create` took it (`menu.rs`).
    menus: HashMap<String, serde_json::Value>,
    /// Each account's conditional menus, oldest first, each with its `matchrule` and `menuid`.
    conditional: HashMap<String, Vec<serde_json::Value>>,
    /// Each account's JS-SDK tickets by type, with when they expire (`jssdk.rs`).
    pub(crate) tickets_js: HashMap<(String, String), (String, i64)>,
    /// The daily limits tests set per endpoint (`quota.rs` has WeChat's).
    pub(crate) quota_limits: HashMap<String, u64>,
    /// Quota resets per (account, month).
    pub(crate) quota_resets: HashMap<(String, i64), u64>,
    /// Calls per (account, endpoint, day in China time), counted where a call's token is read.
    quota_used: std::cell::RefCell<HashMap<(String, String, i64), u64>>,
    /// The endpoint of the call being answered, until its token is counted.
    pub(crate) current_endpoint: std::cell::RefCell<Option<String>>,
    /// Parametric QR codes by ticket (`qrcodes.rs`).
    qrcodes: HashMap<String, qrcodes::QrCode>,
    /// Each account's follower tags (`tags.rs`).
    tags: HashMap<String, tags::Tags>,
    /// Drafts by `media_id` (`drafts.rs`).
    drafts: HashMap<String, drafts::Draft>,
    /// Publications by `publish_id` (`drafts.rs`).
    publications: HashMap<String, drafts::Publication>,
    /// How many of the next publications fail (a test sets it).
    pub(crate) failing_publications: u32,
    /// Mass sends made, in order (`mass.rs`).
    mass_sends: Vec<mass::MassSend>,
    /// Publications whose `PUBLISHJOBFINISH` push is yet to be sent.
    pub(crate) publish_pushes_due: Vec<String>,
    /// What `getcallbackip` lists (set by tests; [`DEFAULT_CALLBACK_IPS`] until then).
    pub(crate) callback_ips: Option<Vec<String>>,
}

/// What `getcallbackip` lists unless a test says otherwise: an address and a range, as WeChat's
/// own example mixes them.
pub const DEFAULT_CALLBACK_IPS: &[&str] = &["127.0.0.1", "101.226.103.0/25"];

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
    /// `getcallbackip`: WeChat's push servers, for the component token (the platform's own
    /// call) or any account's token.
    pub(crate) fn callback_ips(&self, token: Option<&str>) -> Result<serde_json::Value, WxError> {
        if self.check_component_token(token, 0).is_err() {
            self.token_account(token)?;
        }
        let list: Vec<String> = match &self.callback_ips {
            Some(list) => list.clone(),
            None => DEFAULT_CALLBACK_IPS.iter().map(|s| (*s).to_owned()).collect(),
        };
        Ok(serde_json::json!({"ip_list": list}))
    }

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
            hidden_from_list: false,
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

    pub(crate) fn user_name(&self, appid: &str) -> String {
        self.accounts.get(appid).map_or_else(|| "gh_unknown".to_owned(), |s| s.account.user_name.clone())
    }

    /// The permission sets an account granted the platform, while it is authorized.
    pub(crate) fn grants(&self, appid: &str) -> Option<&[i64]> {
        self.accounts.get(appid).filter(|s| s.authorized).map(|s| s.account.func_info.as_slice())
    }

    /// The account's nickname (its appid when unknown).
    pub(crate) fn nick_name(&self, appid: &str) -> String {
        self.accounts.get(appid).map_or_else(|| appid.to_owned(), |s| s.account.nick_name.clone())
    }

    pub(crate) fn account_list(&self) -> Vec<Account> {
        let mut list: Vec<Account> = self.accounts.values().map(|s| s.account.clone()).collect();
        list.sort_by(|a, b| a.appid.cmp(&b.appid));
        list
    }

    /// Whether `token` is some account's authorizer access token (what a platform must not use
    /// where the component token is required).
    pub(crate) fn is_authorizer_token(&self, token: &str) -> bool {
        !token.is_empty() && self.accounts.values().any(|s| s.access_tokens.contains_key(token))
    }

    /// The account an authorizer access token belongs to, as WeChat checks it: known (40001) and
    /// unexpired (42001).
    pub(super) fn token_account(&self, token: Option<&str>) -> Result<String, WxError> {
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
        // The call counts against the account's daily quota for its API (once per call).
        if let Some(endpoint) = self.current_endpoint.borrow_mut().take() {
            let default = crate::quota::APIS.iter().find(|(_, e, _)| *e == endpoint).map_or(u64::MAX, |(.., l)| *l);
            let limit = self.daily_limit(&endpoint, default);
            let day = (now + 8 * 3600).div_euclid(86_400);
            let mut used = self.quota_used.borrow_mut();
            let count = used.entry((appid.clone(), endpoint, day)).or_default();
            if *count >= limit {
                return Err((45009, "reach max api daily quota limit"));
            }
            *count += 1;
        }
        Ok(appid)
    }

    /// How often `appid` called `endpoint` today.
    pub(crate) fn used_today(&self, appid: &str, endpoint: &str) -> u64 {
        let day = (self.now() + 8 * 3600).div_euclid(86_400);
        self.quota_used.borrow().get(&(appid.to_owned(), endpoint.to_owned(), day)).copied().unwrap_or(0)
    }

    /// A reset: the account's counts start again.
    pub(crate) fn clear_usage(&mut self, appid: &str) {
        self.quota_used.get_mut().retain(|(a, ..), _| a != appid);
    }

    /// Whether WeChat knows the account.
    pub(crate) fn knows_account(&self, appid: &str) -> bool {
        self.accounts.contains_key(appid)
    }
}

/// A delay of `ms` milliseconds.
pub(crate) fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}
