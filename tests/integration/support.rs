//! The test-support layer every cross-function test stands on: the function list as a type, the
//! test credentials (`tests/platform.json`), a fresh table on the local DynamoDB-API server, an
//! app on the in-memory store, sealed pushes, and the stand-in wired as WeChat.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use lambda_http::{Body, Request, Response};
use shared::app::App;
use shared::bus::MemoryBus;
use shared::config::Config;
use shared::crypto::KeySlot;
use shared::service::Platform;
use shared::store::table::TABLE;
use shared::store::{DynamoDbStore, MemoryStore, TicketStore, TokenStore, VerifyTicket};
use shared::wechat::WeChatClient;
use shared::{Secret, WeChatCrypto};
use wechat_standin::StandIn;
use wechat_standin::platform::test_credentials;

/// An account the stand-in knows by default.
pub(crate) const ACCOUNT: &str = "wx1000000000000001";

/// `COMPONENT_APPID` of the test credentials.
pub(crate) fn appid() -> &'static str {
    &test_credentials().appid
}

/// `COMPONENT_APPSECRET` of the test credentials.
pub(crate) fn secret() -> &'static str {
    &test_credentials().secret
}

/// `COMPONENT_TOKEN` of the test credentials.
pub(crate) fn token() -> &'static str {
    &test_credentials().token
}

/// `COMPONENT_ENCODING_AES_KEY` of the test credentials.
pub(crate) fn key() -> &'static str {
    &test_credentials().encoding_aes_key
}

/// The platform's functions. Dispatching through this type (never through a name string) means
/// a misspelt function is a compile error, and `layout.rs` holds it to every other list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Function {
    TicketReceiver,
    EventCallback,
    QrUrlIssuer,
    AuthCallback,
    AuthorizerList,
    TokenRefresher,
    AccountActions,
    FollowerLedger,
    WebOauth,
    Console,
    MediaLibrary,
    AccountSetup,
    Publishing,
}

impl Function {
    /// Every function, in `tests/platform.json`'s order.
    pub(crate) const ALL: [Self; 13] = [
        Self::TicketReceiver,
        Self::EventCallback,
        Self::QrUrlIssuer,
        Self::AuthCallback,
        Self::AuthorizerList,
        Self::TokenRefresher,
        Self::AccountActions,
        Self::FollowerLedger,
        Self::WebOauth,
        Self::Console,
        Self::MediaLibrary,
        Self::AccountSetup,
        Self::Publishing,
    ];

    /// The one name: folder, package, binary, `events/` folder.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::TicketReceiver => "ticket-receiver",
            Self::EventCallback => "event-callback",
            Self::QrUrlIssuer => "qr-url-issuer",
            Self::AuthCallback => "auth-callback",
            Self::AuthorizerList => "authorizer-list",
            Self::TokenRefresher => "token-refresher",
            Self::AccountActions => "account-actions",
            Self::FollowerLedger => "follower-ledger",
            Self::WebOauth => "web-oauth",
            Self::Console => "console",
            Self::MediaLibrary => "media-library",
            Self::AccountSetup => "account-setup",
            Self::Publishing => "publishing",
        }
    }

    /// Calls the function's handler with an API Gateway request. The refresher and the ledger
    /// take no HTTP request: calling them here is a bug in the test.
    pub(crate) async fn handle<S: TokenStore>(self, app: &App<S>, request: Request) -> Response<Body> {
        let response = match self {
            Self::TicketReceiver => ticket_receiver::handle(app, request).await,
            Self::EventCallback => event_callback::handle(app, request).await,
            Self::QrUrlIssuer => qr_url_issuer::handle(app, request).await,
            Self::AuthCallback => auth_callback::handle(app, request).await,
            Self::AuthorizerList => authorizer_list::handle(app, request).await,
            Self::TokenRefresher => panic!("token-refresher is not an HTTP function"),
            Self::FollowerLedger => panic!("follower-ledger is not an HTTP function"),
            Self::AccountActions => account_actions::handle(app, request).await,
            Self::WebOauth => web_oauth::handle(app, request).await,
            Self::Console => {
                Ok(console::handle(&request, &console::Settings::new(console::Routes::Gateway, None, None)))
            }
            Self::MediaLibrary => media_library::handle(app, &staging().await, request).await,
            Self::AccountSetup => account_setup::handle(app, request).await,
            Self::Publishing => publishing::handle(app, request).await,
        };
        response.expect("handlers answer every request")
    }
}

impl std::fmt::Display for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The tests' staging bucket on the local AWS emulator (created once per process; each test's
/// objects live under its own account's keys).
pub(crate) async fn staging() -> media_library::S3Staging {
    static BUCKET: tokio::sync::OnceCell<media_library::S3Staging> = tokio::sync::OnceCell::const_new();
    BUCKET
        .get_or_init(|| async {
            let staging = media_library::S3Staging::from_env("media-staging-tests");
            // Already there (another test binary made it): fine.
            staging.create_bucket().await.expect("the emulator's bucket");
            staging
        })
        .await
        .clone()
}

/// A response's status and body as text.
pub(crate) fn status_and_body(response: Response<Body>) -> (u16, String) {
    let status = response.status().as_u16();
    let body = match response.into_body() {
        Body::Text(text) => text,
        Body::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        _ => String::new(),
    };
    (status, body)
}

/// A fresh table on the local DynamoDB-API server that `scripts/test.sh` starts.
pub(crate) async fn fresh_table() -> DynamoDbStore {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run the tests with `bash scripts/test.sh`"
    );
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let table = format!("it-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
    let store = DynamoDbStore::from_env_with_timeouts(
        &table,
        appid(),
        std::time::Duration::from_secs(5),
        std::time::Duration::from_secs(12),
    );
    TABLE.create(store.client(), &table).await.expect("create table");
    store
}

/// The platform's configuration for the test credentials, with `vars` on top.
pub(crate) fn config(vars: &[(&str, String)]) -> Config {
    let mut map: HashMap<&str, String> = test_credentials().variables().into_iter().collect();
    for (k, v) in vars {
        map.insert(k, v.clone());
    }
    Config::from_lookup(|k| map.get(k).cloned()).expect("config")
}

/// An app on the in-memory store whose WeChat is unreachable (for tests of what is refused
/// before any call), redirecting to a fixed auth-callback URL.
pub(crate) fn memory_app() -> App<MemoryStore> {
    memory_app_with(&[])
}

/// [`memory_app`] with `vars` on top (another `DASHBOARD_AUTH`, say).
pub(crate) fn memory_app_with(vars: &[(&str, String)]) -> App<MemoryStore> {
    memory_app_with_bus(vars).0
}

/// [`memory_app_with`], and the in-memory bus it hands events to.
pub(crate) fn memory_app_with_bus(vars: &[(&str, String)]) -> (App<MemoryStore>, MemoryBus) {
    let mut all = vec![
        ("WECHAT_API_BASE", "http://127.0.0.1:9".to_owned()),
        ("AUTH_REDIRECT_URL", "https://platform.example/wechat/authorize/callback".to_owned()),
        ("AUTHORIZE_START_URL", "https://platform.example/wechat/authorize-start".to_owned()),
    ];
    all.extend(vars.iter().cloned());
    on_memory_bus(config(&all), MemoryStore::new())
}

/// An app over `store` handing events to a fresh in-memory bus, returned with it.
pub(crate) fn on_memory_bus<S: TokenStore>(config: Config, store: S) -> (App<S>, MemoryBus) {
    let bus = MemoryBus::new();
    let platform = Platform::new(&config, store).expect("platform").with_bus(Arc::new(bus.clone()));
    (App::with_platform(config, platform), bus)
}

/// The platform's message crypto for the test credentials.
pub(crate) fn crypto() -> WeChatCrypto {
    WeChatCrypto::new(token(), key(), appid()).expect("crypto")
}

/// A push as WeChat sends it: the plaintext encrypted with a fixed prefix, signed for a
/// timestamp and nonce.
pub(crate) struct SealedPush {
    /// The signed query.
    pub(crate) query: Vec<(String, String)>,
    /// The XML envelope.
    pub(crate) body: Vec<u8>,
}

impl SealedPush {
    /// `xml` sealed with the test credentials at `timestamp`; `envelope_head` goes before
    /// `<Encrypt>` (`<ToUserName>` or `<AppId>`).
    pub(crate) fn new(xml: &str, envelope_head: &str, timestamp: &str, nonce: &str) -> Self {
        let crypto = crypto();
        let encrypt = crypto.encrypt_with(KeySlot::Current, b"0123456789abcdef", xml).expect("encrypt");
        let signature = crypto.msg_signature(timestamp, nonce, &encrypt);
        let query = vec![
            ("timestamp".to_owned(), timestamp.to_owned()),
            ("nonce".to_owned(), nonce.to_owned()),
            ("encrypt_type".to_owned(), "aes".to_owned()),
            ("msg_signature".to_owned(), signature),
        ];
        Self { query, body: format!("<xml>{envelope_head}<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>").into_bytes() }
    }

    /// The signed query, URL-encoded (for a push sent over HTTP).
    pub(crate) fn query_string(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&self.query).finish()
    }

    /// The push as API Gateway hands it to a function at `path` (`{appid}` taken from
    /// `/wechat/{appid}/callback`).
    pub(crate) fn request(&self, path: &str) -> Request {
        use lambda_http::RequestExt as _;
        let mut query: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in &self.query {
            query.entry(k.clone()).or_default().push(v.clone());
        }
        let request = lambda_http::http::Request::builder()
            .method("POST")
            .uri(path)
            .body(Body::Binary(self.body.clone()))
            .expect("request")
            .with_query_string_parameters(query);
        match path.strip_suffix("/callback").and_then(|p| p.rsplit('/').next()) {
            Some(appid) => request.with_path_parameters(HashMap::from([("appid".to_owned(), appid.to_owned())])),
            None => request,
        }
    }
}

/// The stand-in with the test credentials.
pub(crate) async fn standin() -> StandIn {
    standin_with(test_credentials().standin_config()).await
}

/// The stand-in with `config`.
pub(crate) async fn standin_with(config: wechat_standin::Config) -> StandIn {
    StandIn::start(config, "127.0.0.1:0".parse().expect("addr")).await
}

/// The stand-in's configuration for the test credentials.
pub(crate) fn standin_config() -> wechat_standin::Config {
    test_credentials().standin_config()
}

/// The WeChat client for the test credentials, talking to `standin`.
pub(crate) fn client(standin: &StandIn) -> WeChatClient {
    WeChatClient::new(&standin.base_url(), appid(), Secret::new(secret())).expect("client")
}

/// Pushes a ticket (as WeChat does every 10 minutes) and returns it.
pub(crate) async fn ticket(standin: &StandIn) -> Secret {
    standin.push_ticket().await;
    Secret::new(standin.last_ticket().expect("a ticket was pushed"))
}

/// The platform's use cases on `store`, on the stand-in's clock, WeChat being the stand-in.
pub(crate) fn platform_on<S: TokenStore>(standin: &StandIn, store: S) -> Platform<S> {
    let clock = standin.clone();
    let config = config(&[("WECHAT_API_BASE", standin.base_url())]);
    Platform::with_clock(&config, store, Arc::new(move || clock.now_ms()))
        .expect("platform")
        .with_bus(Arc::new(MemoryBus::new()))
}

/// A day later the ticket has expired (12 h): WeChat has pushed a new one meanwhile.
pub(crate) async fn renew_ticket<S: TokenStore>(standin: &StandIn, platform: &Platform<S>) {
    let ticket = ticket(standin).await;
    let now = standin.now();
    platform.store().put_verify_ticket(&VerifyTicket { ticket, create_time: now }, now).await.expect("ticket");
}

/// [`platform_on`] a fresh table, with a ticket already stored (as the ticket receiver would have).
pub(crate) async fn platform(standin: &StandIn) -> Platform<DynamoDbStore> {
    let store = fresh_table().await;
    let ticket = ticket(standin).await;
    store.put_verify_ticket(&VerifyTicket { ticket, create_time: standin.now() }, standin.now()).await.expect("ticket");
    platform_on(standin, store)
}

/// WeChat's authorization URL on our authorization page (the `id="authorize"` button).
pub(crate) fn authorize_link_in(page: &str) -> url::Url {
    let href = page
        .split("id=\"authorize\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no authorize button on the page: {page}"));
    url::Url::parse(&href.replace("&amp;", "&")).expect("the button's URL")
}

/// The dashboard's way to WeChat's authorization page, as deployed: the authenticated JSON call
/// (`/wechat/authorize-url?{query}`) returns a start link; the browser opens it (no header) and
/// gets our page with the button. Returns the button's URL.
pub(crate) async fn via_start_link(http: &reqwest::Client, base: &str, query: &str) -> url::Url {
    let response = http.get(format!("{base}/wechat/authorize-url?{query}")).send().await.expect("authorize-url");
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(body["code"], 0, "{body}");
    let start = body["data"]["start_url"].as_str().expect("start_url");
    assert!(start.starts_with(&format!("{base}/wechat/authorize-start?token=")), "{start}");
    let page = http.get(start).send().await.expect("start link");
    assert_eq!(page.status(), 200);
    authorize_link_in(&page.text().await.expect("page"))
}
