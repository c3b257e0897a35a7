//! A local WeChat Open Platform stand-in that behaves like WeChat.
//!
//! Nothing in CI (or on a developer's laptop) can reach WeChat, and WeChat itself cannot be
//! exercised on demand: tickets arrive every 10 minutes and only on a public URL, and codes are
//! single-use. This server enforces WeChat's rules so that tests and local runs are honest:
//!
//! - **API** (`/cgi-bin/component/*`, `/cgi-bin/message/custom/send`) with WeChat's errors: only
//!   tickets it pushed are accepted, for 12 h (61005/61006); a component token lasts 7200 s and
//!   the previous one stops working a short grace after a new one is issued (40001/42001);
//!   pre_auth_codes and auth_codes are single-use and expire (61009/61010); authorizer tokens
//!   expire; refresh tokens can rotate (61023 for a stale one); a revoked account answers 61003.
//!   `getcallbackip` lists WeChat's push servers (settable: they change) for the component token
//!   or an account's. Media (`media.rs`): temporary media valid 3 days (40007 after),
//!   permanent material listed, counted and deleted, article images; WeChat's types, formats,
//!   sizes (40004/40005/40006/41005) and permission sets (48001); a send naming a medium that
//!   is not the account's or has expired answers 40007.
//! - **Pushes**, encrypted and signed exactly as WeChat does: `component_verify_ticket` every N
//!   seconds and on demand, `authorized` / `updateauthorized` / `unauthorized`, and follower
//!   messages and events to `<callback base>/<appid>/callback`; replies are verified, decrypted
//!   and parsed like WeChat would.
//! - **The authorization page** at the `componentloginpage` (PC) and `bindcomponent` (mobile)
//!   paths: it checks `component_appid` and `pre_auth_code`; "Authorize" redirects the browser to
//!   `redirect_uri?auth_code=…&expires_in=…` and pushes `authorized`.
//! - **Web authorization on behalf of accounts** (`oauth.rs`): the authorize page with consent and
//!   decline, single-use codes that expire, the component-token rule, `sns/userinfo`.
//! - **The full-network release test** (全网发布, `docs/wechat.md`, "Release test").
//! - **The local run's identity provider** (`idp.rs`, not WeChat's): the console's OIDC sign-in,
//!   so that the console signs in locally as it does deployed.
//! - **Fault injection** per endpoint: an errcode, an HTTP status, latency, a dropped connection.
//! - **A control API** under `/standin/…` for other processes; tests use [`StandIn`]'s methods.

mod api;
mod drafts;
mod idp;
mod jssdk;
mod mass;
mod media;
mod menu;
mod oauth;
mod page;
pub mod platform;
mod push;
mod qrcodes;
mod quota;
mod tags;
mod world;

pub use self::oauth::{openid_for, unionid_for};
pub use self::push::PushResult;
pub use self::world::{Account, DEFAULT_CALLBACK_IPS, Fault, SentMessage, TEMPLATE_LIBRARY, TemplateSend};

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use shared::WeChatCrypto;
use shared::message::Reply;

use self::world::World;

/// The release test's first 公众号 (`docs/wechat.md`, "Release test").
pub const RELEASE_TEST_APPID: &str = "wx570bc396a51b8ff8";
/// The 原始ID of [`RELEASE_TEST_APPID`].
pub const RELEASE_TEST_USERNAME: &str = "gh_3c884a361561";

/// How the stand-in is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The third-party platform's appid.
    pub component_appid: String,
    /// Its secret.
    pub component_secret: String,
    /// 消息校验Token.
    pub token: String,
    /// 消息加解密Key.
    pub encoding_aes_key: String,
    /// The platform's 授权事件接收URL (ticket-receiver); no component pushes without it.
    pub ticket_url: Option<String>,
    /// The platform's 消息与事件接收URL base; pushes go to `<base>/<appid>/callback`.
    pub callback_base: Option<String>,
    /// Push a verify ticket this often (WeChat: every 10 minutes).
    pub ticket_every: Option<Duration>,
    /// Issue a new refresh token on every `api_authorizer_token` (unconfirmed for WeChat).
    pub rotate_refresh_tokens: bool,
    /// Seconds the previous component token keeps working after a new one is issued.
    pub token_grace_secs: i64,
    /// Lifetime of authorizer access tokens (WeChat: 7200 s). Shorter makes accounts due for the
    /// refresher at once, which is how tests against a real clock (cargo lambda watch) see it work.
    pub authorizer_token_ttl: i64,
    /// The accounts that can authorize the platform.
    pub accounts: Vec<Account>,
    /// The platform's 公众号开发域名 (hosts, no port): web authorization redirects only there or
    /// to an `{appid}.` sub-domain of one.
    pub web_domains: Vec<String>,
}

impl Config {
    /// A configuration with the given credentials, three fake accounts (one of them the release
    /// test account) and WeChat's timings.
    pub fn new(component_appid: &str, component_secret: &str, token: &str, encoding_aes_key: &str) -> Self {
        Self {
            component_appid: component_appid.to_owned(),
            component_secret: component_secret.to_owned(),
            token: token.to_owned(),
            encoding_aes_key: encoding_aes_key.to_owned(),
            ticket_url: None,
            callback_base: None,
            ticket_every: None,
            rotate_refresh_tokens: false,
            token_grace_secs: 60,
            authorizer_token_ttl: world::AUTHORIZER_TOKEN_TTL,
            accounts: Account::defaults(),
            web_domains: vec!["127.0.0.1".to_owned(), "localhost".to_owned()],
        }
    }
}

/// A running stand-in. Cheap to clone; every clone controls the same server.
#[derive(Clone)]
pub struct StandIn {
    shared: Arc<Shared>,
}

struct Shared {
    config: Config,
    crypto: WeChatCrypto,
    http: reqwest::Client,
    world: Mutex<World>,
    addr: SocketAddr,
}

impl StandIn {
    /// Starts the stand-in on `addr` (port 0 picks a free port) and, when configured, its
    /// periodic ticket pushes.
    ///
    /// # Panics
    /// When the configured EncodingAESKey is malformed or the address cannot be bound: the
    /// stand-in is test tooling, and both are set-up mistakes.
    pub async fn start(config: Config, addr: SocketAddr) -> Self {
        let crypto =
            WeChatCrypto::new(config.token.as_str(), &config.encoding_aes_key, config.component_appid.as_str())
                .expect("stand-in EncodingAESKey");
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind the stand-in");
        let addr = listener.local_addr().expect("local address");
        let http = shared::outbound::client_builder().timeout(Duration::from_secs(10)).build().expect("http client");
        let world = World::new(&config.accounts, config.authorizer_token_ttl);
        let standin = Self { shared: Arc::new(Shared { config, crypto, http, world: Mutex::new(world), addr }) };
        let app = api::router(standin.clone());
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!(error = %err, "stand-in server stopped");
            }
        });
        if let Some(every) = standin.shared.config.ticket_every {
            let pusher = standin.clone();
            tokio::spawn(async move {
                loop {
                    let result = pusher.push_ticket().await;
                    tracing::info!(status = result.status, "stand-in pushed a component_verify_ticket");
                    tokio::time::sleep(every).await;
                }
            });
        }
        standin
    }

    /// `http://127.0.0.1:PORT`: `WECHAT_API_BASE` and `WECHAT_AUTH_PAGE_BASE` for the platform.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.shared.world.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds or replaces an account that can authorize the platform.
    pub fn add_account(&self, account: Account) {
        self.world().add_account(account);
    }

    /// Moves the stand-in's clock forward (to expire tickets, tokens and codes).
    pub fn advance_clock(&self, secs: i64) {
        self.world().advance(secs);
    }

    /// The stand-in's current time.
    pub fn now(&self) -> i64 {
        self.world().now()
    }

    /// The stand-in's current time in milliseconds (the platform's clock in tests).
    pub fn now_ms(&self) -> i64 {
        self.world().now_ms()
    }

    /// Makes the next `count` calls to `endpoint` (e.g. `api_query_auth`, `custom_send`) fail
    /// with `fault`.
    pub fn inject_fault(&self, endpoint: &str, fault: Fault, count: usize) {
        self.world().inject(endpoint, fault, count);
    }

    /// How many times each endpoint was called.
    pub fn calls(&self, endpoint: &str) -> u64 {
        self.world().calls(endpoint)
    }

    /// The next `count` publications fail (WeChat's status 3, the first article named).
    pub fn fail_publications(&self, count: u32) {
        self.world().failing_publications = count;
    }

    /// How many mass sends `appid` made.
    pub fn mass_send_count(&self, appid: &str) -> usize {
        self.world().mass_send_count(appid)
    }

    /// How many drafts `appid` has in its draft box.
    pub fn draft_count(&self, appid: &str) -> usize {
        self.world().draft_count(appid)
    }

    /// What WeChat received for `media_id`: its size and first 16 bytes (`None`: no such medium,
    /// or deleted).
    pub fn medium(&self, media_id: &str) -> Option<(usize, Vec<u8>)> {
        self.world().medium(media_id).map(|m| (m.size, m.head))
    }

    /// The account's default menu as WeChat keeps it (`None`: none set, or deleted).
    pub fn menu(&self, appid: &str) -> Option<serde_json::Value> {
        self.world().menu_of(appid)
    }

    /// Someone scans the code of `ticket` with WeChat: the push it causes (`subscribe` with
    /// `qrscene_…` if `openid` does not follow yet, else `SCAN`) is delivered to the account.
    /// `None`: no such code, or it expired (WeChat shows nothing to push).
    pub async fn scan_qrcode(&self, ticket: &str, openid: &str) -> Option<PushResult> {
        let (appid, xml) = self.world().scan_message(ticket, openid)?;
        Some(self.push_to_authorizer(&appid, openid, &xml).await)
    }

    /// A follower taps the menu button with `key`: the `CLICK` push, when the account's menu has
    /// such a button (`None` otherwise: nothing to tap).
    pub async fn tap_menu(&self, appid: &str, openid: &str, key: &str) -> Option<PushResult> {
        let xml = self.world().click_message(appid, openid, key)?;
        Some(self.push_to_authorizer(appid, openid, &xml).await)
    }

    /// The image `showqrcode` serves for `ticket` (to compare with what the platform serves).
    pub fn qrcode_image(ticket: &str) -> Vec<u8> {
        qrcodes::qr_like_png(ticket.as_bytes())
    }

    /// The daily limit of `endpoint` (a stand-in endpoint name, e.g. `menu_create`) from now on.
    pub fn set_daily_limit(&self, endpoint: &str, limit: u64) {
        self.world().quota_limits.insert(endpoint.to_owned(), limit);
    }

    /// Whether a page's `wx.config` passes WeChat's check (the account's appid and current
    /// jsapi_ticket, the page's URL).
    pub fn js_config_valid(&self, appid: &str, url: &str, timestamp: i64, nonce: &str, signature: &str) -> bool {
        self.world().js_config_valid(appid, url, timestamp, nonce, signature)
    }

    /// The account's admin sets the default menu in WeChat's own backend (no API call, no check).
    pub fn set_menu_in_backend(&self, appid: &str, menu: serde_json::Value) {
        self.world().set_menu(appid, menu);
    }

    /// What `getcallbackip` lists from now on (WeChat's push servers change).
    pub fn set_callback_ips(&self, list: &[&str]) {
        self.world().callback_ips = Some(list.iter().map(|s| (*s).to_owned()).collect());
    }

    /// `count` people who followed `appid` before it was authorized (no push for them), OpenIDs
    /// `{prefix}000000`…, as `user/get` and `user/info/batchget` will list them.
    pub fn seed_followers(&self, appid: &str, prefix: &str, count: usize) {
        let now = self.now();
        self.world().seed_followers(appid, prefix, count, now - 86_400);
    }

    /// The follower switches `appid`'s messages off (WeChat then answers 48002), or on again.
    pub fn set_refuses_messages(&self, appid: &str, openid: &str, refuses: bool) {
        self.world().set_refuses(appid, openid, refuses);
    }

    /// Template messages the platform sent (each followed by its `TEMPLATESENDJOBFINISH` push).
    pub fn template_sends(&self) -> Vec<TemplateSend> {
        self.world().template_sends.clone()
    }

    /// Custom-service messages the platform sent.
    pub fn sent_messages(&self) -> Vec<SentMessage> {
        self.world().sent.clone()
    }

    /// Issues an authorization code for `appid` as if its admin authorized the platform on the
    /// authorization page (without a browser), and pushes `authorized` when a ticket URL is set.
    /// Returns the code.
    pub async fn authorize_directly(&self, appid: &str) -> Option<String> {
        self.authorize_and_push(appid).await.map(|(code, _)| code)
    }

    /// [`StandIn::authorize_directly`], also returning how the platform answered the push.
    pub async fn authorize_and_push(&self, appid: &str) -> Option<(String, PushResult)> {
        let (code, xml) = self.world().authorize(appid, None, &self.shared.config.component_appid)?;
        let result = self.push_component_xml(&xml).await;
        Some((code, result))
    }

    /// The admin authorizes `appid` (through our link when `pre_auth_code` is given), but WeChat
    /// has not pushed yet: returns the code and the `authorized` push to deliver with
    /// [`StandIn::push_notice`], as often as WeChat would retry it.
    pub fn authorize_quietly(&self, appid: &str, pre_auth_code: Option<&str>) -> Option<(String, String)> {
        self.world().authorize(appid, pre_auth_code, &self.shared.config.component_appid)
    }

    /// Delivers a component notice (from [`StandIn::authorize_quietly`]) to the ticket URL; the
    /// same XML again is WeChat's retry of the same push.
    pub async fn push_notice(&self, xml: &str) -> PushResult {
        self.push_component_xml(xml).await
    }

    /// The current refresh token WeChat holds for `appid` (tests compare it with the store's).
    pub fn refresh_token_of(&self, appid: &str) -> Option<String> {
        self.world().refresh_token_of(appid)
    }

    /// Invalidates `appid`'s refresh token as WeChat may (61023 on the next use), while the
    /// authorizer list keeps returning the valid one.
    pub fn break_refresh_token(&self, appid: &str) -> Option<String> {
        self.world().rotate_refresh_token(appid)
    }

    /// WeChat stops honouring `appid`'s refresh token for good (61023, and the authorizer list no
    /// longer returns one): the admin must authorize again.
    pub fn forget_refresh_token(&self, appid: &str) {
        self.world().forget_refresh_token(appid);
    }

    /// WeChat honours (and lists) `token` for `appid` again, after [`StandIn::forget_refresh_token`].
    pub fn restore_refresh_token(&self, appid: &str, token: &str) {
        self.world().restore_refresh_token(appid, token);
    }

    /// The admin revokes the authorization, and WeChat's `unauthorized` push is lost: the
    /// account answers 61003 from now on.
    pub fn revoke_silently(&self, appid: &str) {
        self.world().revoke_silently(appid);
    }

    /// WeChat's authorizer list leaves `appid` out (`true`) although it is still authorized, as a
    /// glitch of the list would, or lists it again (`false`).
    pub fn hide_from_list(&self, appid: &str, hidden: bool) {
        self.world().hide_from_list(appid, hidden);
    }

    /// The newest ticket pushed (for API tests that run without a ticket receiver).
    pub fn last_ticket(&self) -> Option<String> {
        self.world().last_ticket.clone()
    }

    /// Pushes a fresh `component_verify_ticket` to the ticket URL.
    pub async fn push_ticket(&self) -> PushResult {
        let xml = self.world().new_ticket(&self.shared.config.component_appid);
        self.push_component_xml(&xml).await
    }

    /// WeChat retries the newest ticket push (same ticket, same CreateTime), e.g. after a 5xx.
    ///
    /// # Panics
    /// When no ticket was pushed yet.
    pub async fn push_ticket_again(&self) -> PushResult {
        let xml = self.world().last_ticket_xml(&self.shared.config.component_appid).expect("a ticket was pushed");
        self.push_component_xml(&xml).await
    }

    /// The admin revokes the authorization: WeChat pushes `unauthorized`.
    pub async fn revoke(&self, appid: &str) -> PushResult {
        let xml = self.world().revoke(appid, &self.shared.config.component_appid);
        self.push_component_xml(&xml).await
    }

    /// A follower sends a text message to `appid`.
    pub async fn push_text(&self, appid: &str, openid: &str, content: &str) -> PushResult {
        let xml = self.world().text_message(appid, openid, content);
        self.push_to_authorizer(appid, openid, &xml).await
    }

    /// The XML of a follower's text message to `appid`, to deliver with [`StandIn::push_message`]
    /// or to hand to a platform directly.
    pub fn text_message_xml(&self, appid: &str, openid: &str, content: &str) -> String {
        self.world().text_message(appid, openid, content)
    }

    /// A follower triggers an event (`subscribe`, `LOCATION`, …) on `appid`.
    pub async fn push_event(&self, appid: &str, openid: &str, event: &str) -> PushResult {
        let xml = self.world().event_message(appid, openid, event);
        self.push_to_authorizer(appid, openid, &xml).await
    }

    /// The XML of a new follower push of `kind` to `appid` (see the kinds the stand-in knows:
    /// `text`-less ones, `subscribe_qr`, `unknown`, …), to deliver with [`StandIn::push_message`].
    ///
    /// # Panics
    /// For a kind the stand-in does not know.
    pub fn follower_message(&self, appid: &str, openid: &str, kind: &str) -> String {
        self.world().follower_message(appid, openid, kind).unwrap_or_else(|| panic!("unknown push kind {kind}"))
    }

    /// Delivers a follower push once; the same XML again is WeChat's retry of the same push.
    pub async fn push_message(&self, appid: &str, openid: &str, xml: &str) -> PushResult {
        self.push_to_authorizer(appid, openid, xml).await
    }

    /// Delivers a follower push as WeChat does: a push not answered with a 200 within 5 seconds is
    /// delivered again, three retries at most. Returns every attempt's result.
    pub async fn deliver_message(&self, appid: &str, openid: &str, xml: &str) -> Vec<PushResult> {
        let mut attempts = Vec::new();
        for _ in 0..4 {
            let result = self.push_to_authorizer(appid, openid, xml).await;
            let answered = result.status == 200;
            attempts.push(result);
            if answered {
                break;
            }
        }
        attempts
    }

    /// Runs the full-network release test (全网发布) against the platform.
    pub async fn release_test(&self) -> ReleaseReport {
        push::release_test(self).await
    }
}

/// The outcome of the release test, case by case.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReleaseReport {
    /// Each case and whether it passed.
    pub cases: Vec<ReleaseCase>,
}

impl ReleaseReport {
    /// True when every case passed.
    pub fn passed(&self) -> bool {
        !self.cases.is_empty() && self.cases.iter().all(|c| c.passed)
    }
}

/// One case of the release test.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReleaseCase {
    /// What was tested.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was observed.
    pub detail: String,
}

/// Parses a reply as WeChat reads it (for tests outside this crate).
pub fn parse_reply(xml: &str) -> Option<Reply> {
    Reply::parse(xml).ok()
}
