//! A minimal local API Gateway for the tests: routes like `template.yaml`'s HttpApi, turns each
//! HTTP request into the `lambda_http::Request` API Gateway would deliver (query string
//! parameters, `{appid}` path parameter, body) and calls the function's handler in process.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body as AxumBody, Bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use lambda_http::RequestExt;
use shared::Secret;
use shared::app::App;
use shared::auth_state::StateSigner;
use shared::config::Config;
use shared::service::Platform;
use shared::store::DynamoDbStore;
use wechat_standin::StandIn;

use crate::support::{self, Function, secret};

pub(crate) type Shared = Arc<App<DynamoDbStore>>;

/// The one origin web authorization may send a browser back to in these tests.
pub(crate) const SHOP: &str = "https://shop.example.com";

/// The routes of `template.yaml`'s HTTP API (held to it by `layout.rs`).
pub(crate) const ROUTES: [(&str, &str, Function); 55] = [
    ("POST", "/wechat/component/events", Function::TicketReceiver),
    ("GET", "/wechat/component/events", Function::TicketReceiver),
    ("POST", "/wechat/{appid}/callback", Function::EventCallback),
    ("GET", "/wechat/{appid}/callback", Function::EventCallback),
    ("GET", "/wechat/authorize-url", Function::QrUrlIssuer),
    ("GET", "/wechat/authorize-start", Function::QrUrlIssuer),
    ("GET", "/wechat/authorize/callback", Function::AuthCallback),
    ("GET", "/wechat/authorizers", Function::AuthorizerList),
    ("ANY", "/wechat/authorizers/{appid}/{proxy+}", Function::AccountActions),
    ("ANY", "/wechat/backend/authorizers/{appid}/{proxy+}", Function::AccountActions),
    ("ANY", "/wechat/authorizers/{appid}/media", Function::MediaLibrary),
    ("ANY", "/wechat/authorizers/{appid}/media/{proxy+}", Function::MediaLibrary),
    ("ANY", "/wechat/backend/authorizers/{appid}/media", Function::MediaLibrary),
    ("ANY", "/wechat/backend/authorizers/{appid}/media/{proxy+}", Function::MediaLibrary),
    ("ANY", "/wechat/authorizers/{appid}/menu", Function::AccountSetup),
    ("ANY", "/wechat/authorizers/{appid}/menu/{proxy+}", Function::AccountSetup),
    ("ANY", "/wechat/backend/authorizers/{appid}/menu", Function::AccountSetup),
    ("ANY", "/wechat/backend/authorizers/{appid}/menu/{proxy+}", Function::AccountSetup),
    ("ANY", "/wechat/authorizers/{appid}/tags", Function::AccountSetup),
    ("ANY", "/wechat/authorizers/{appid}/tags/{proxy+}", Function::AccountSetup),
    ("ANY", "/wechat/backend/authorizers/{appid}/tags", Function::AccountSetup),
    ("ANY", "/wechat/backend/authorizers/{appid}/tags/{proxy+}", Function::AccountSetup),
    ("ANY", "/wechat/authorizers/{appid}/qrcodes", Function::AccountSetup),
    ("ANY", "/wechat/authorizers/{appid}/qrcodes/{proxy+}", Function::AccountSetup),
    ("ANY", "/wechat/backend/authorizers/{appid}/qrcodes", Function::AccountSetup),
    ("ANY", "/wechat/backend/authorizers/{appid}/qrcodes/{proxy+}", Function::AccountSetup),
    ("ANY", "/wechat/authorizers/{appid}/jssdk", Function::AccountSetup),
    ("ANY", "/wechat/authorizers/{appid}/jssdk/{proxy+}", Function::AccountSetup),
    ("ANY", "/wechat/backend/authorizers/{appid}/jssdk", Function::AccountSetup),
    ("ANY", "/wechat/backend/authorizers/{appid}/jssdk/{proxy+}", Function::AccountSetup),
    ("ANY", "/wechat/authorizers/{appid}/quota", Function::AccountSetup),
    ("ANY", "/wechat/authorizers/{appid}/quota/{proxy+}", Function::AccountSetup),
    ("ANY", "/wechat/backend/authorizers/{appid}/quota", Function::AccountSetup),
    ("ANY", "/wechat/backend/authorizers/{appid}/quota/{proxy+}", Function::AccountSetup),
    ("ANY", "/wechat/authorizers/{appid}/drafts", Function::Publishing),
    ("ANY", "/wechat/authorizers/{appid}/drafts/{proxy+}", Function::Publishing),
    ("ANY", "/wechat/backend/authorizers/{appid}/drafts", Function::Publishing),
    ("ANY", "/wechat/backend/authorizers/{appid}/drafts/{proxy+}", Function::Publishing),
    ("ANY", "/wechat/authorizers/{appid}/publications", Function::Publishing),
    ("ANY", "/wechat/authorizers/{appid}/publications/{proxy+}", Function::Publishing),
    ("ANY", "/wechat/backend/authorizers/{appid}/publications", Function::Publishing),
    ("ANY", "/wechat/backend/authorizers/{appid}/publications/{proxy+}", Function::Publishing),
    ("ANY", "/wechat/authorizers/{appid}/articles", Function::Publishing),
    ("ANY", "/wechat/authorizers/{appid}/articles/{proxy+}", Function::Publishing),
    ("ANY", "/wechat/backend/authorizers/{appid}/articles", Function::Publishing),
    ("ANY", "/wechat/backend/authorizers/{appid}/articles/{proxy+}", Function::Publishing),
    ("ANY", "/wechat/authorizers/{appid}/broadcasts", Function::Publishing),
    ("ANY", "/wechat/authorizers/{appid}/broadcasts/{proxy+}", Function::Publishing),
    ("ANY", "/wechat/backend/authorizers/{appid}/broadcasts", Function::Publishing),
    ("ANY", "/wechat/backend/authorizers/{appid}/broadcasts/{proxy+}", Function::Publishing),
    ("GET", "/wechat/oauth/{appid}/authorize", Function::WebOauth),
    ("GET", "/wechat/oauth/callback", Function::WebOauth),
    ("GET", "/{file}", Function::WebOauth),
    ("GET", "/console", Function::Console),
    ("GET", "/console/{asset}", Function::Console),
];

/// The app on `store`, on the stand-in's clock, handing events to an in-memory bus.
pub(crate) fn app(config: Config, store: DynamoDbStore, standin: &StandIn) -> Shared {
    app_on_bus(config, store, standin, Arc::new(shared::bus::MemoryBus::new()))
}

/// [`app`] handing events to `bus` (the emulator's EventBridge, for the whole lifecycle).
pub(crate) fn app_on_bus(
    config: Config,
    store: DynamoDbStore,
    standin: &StandIn,
    bus: Arc<dyn shared::bus::Bus>,
) -> Shared {
    let clock = standin.clone();
    let platform =
        Platform::with_clock(&config, store, Arc::new(move || clock.now_ms())).expect("platform").with_bus(bus);
    Arc::new(App::with_platform(config, platform))
}

/// The state signer the platform's is keyed like (the component secret), for tests that forge or
/// expire states.
pub(crate) fn signer() -> StateSigner {
    StateSigner::new(&Secret::new(secret()))
}

/// Binds a port for the gateway before the app exists (the app's config needs the URL).
pub(crate) async fn listener() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0".parse::<SocketAddr>().unwrap()).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    (listener, base)
}

tokio::task_local! {
    /// The function whose handler is running on this task (the store calls it makes are its own:
    /// `policies.rs` holds them to the function's IAM policy).
    pub(crate) static CURRENT: &'static str;
}

pub(crate) fn serve(listener: tokio::net::TcpListener, app: Shared) {
    let mut router = Router::new();
    for (method, path, function) in ROUTES {
        let handler = move |State(app): State<Shared>, request: Request| {
            CURRENT.scope(function.name(), async move {
                let appid =
                    request.uri().path().strip_prefix("/wechat/").and_then(|rest| rest.strip_suffix("/callback"));
                let path_appid = (function == Function::EventCallback).then(|| appid.unwrap_or_default().to_owned());
                to_axum(function.handle(&*app, to_lambda(request, path_appid).await).await)
            })
        };
        // API Gateway's greedy `{proxy+}` is axum's `{*proxy}`; `ANY` is every method.
        let path = path.replace("{proxy+}", "{*proxy}");
        router = if method == "ANY" {
            router.route(&path, axum::routing::any(handler))
        } else {
            let method = method.parse::<axum::http::Method>().expect("method");
            router.route(
                &path,
                axum::routing::on(axum::routing::MethodFilter::try_from(method).expect("filter"), handler),
            )
        };
    }
    let router = router.with_state(app);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
}

/// The `lambda_http::Request` API Gateway would deliver for `request`.
pub(crate) async fn to_lambda(request: Request, path_appid: Option<String>) -> lambda_http::Request {
    let (parts, body) = request.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, 1024 * 1024).await.unwrap_or_default();
    let mut query: HashMap<String, Vec<String>> = HashMap::new();
    if let Some(q) = parts.uri.query() {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            query.entry(k.into_owned()).or_default().push(v.into_owned());
        }
    }
    let body = if bytes.is_empty() { lambda_http::Body::Empty } else { lambda_http::Body::Binary(bytes.to_vec()) };
    let mut request = lambda_http::Request::from_parts(parts, body).with_query_string_parameters(query);
    if let Some(appid) = path_appid {
        request = request.with_path_parameters(HashMap::from([("appid".to_owned(), appid)]));
    }
    request
}

fn to_axum(response: lambda_http::Response<lambda_http::Body>) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Vec::new(),
        lambda_http::Body::Text(text) => text.into_bytes(),
        lambda_http::Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    Response::from_parts(parts, AxumBody::from(bytes)).into_response()
}

/// The WeChat stand-in pushing to a fresh local gateway whose app runs on `store`: where most
/// cross-function tests start. `configure` adjusts the stand-in (accounts, token rotation).
pub(crate) async fn wired(
    store: DynamoDbStore,
    configure: impl FnOnce(&mut wechat_standin::Config),
) -> (StandIn, Shared, String) {
    wired_on_bus(store, Arc::new(shared::bus::MemoryBus::new()), configure).await
}

/// [`wired`], the app handing events to `bus`.
pub(crate) async fn wired_on_bus(
    store: DynamoDbStore,
    bus: Arc<dyn shared::bus::Bus>,
    configure: impl FnOnce(&mut wechat_standin::Config),
) -> (StandIn, Shared, String) {
    let (listener, base) = listener().await;
    let mut standin_config = support::standin_config();
    standin_config.ticket_url = Some(format!("{base}/wechat/component/events"));
    standin_config.callback_base = Some(format!("{base}/wechat"));
    configure(&mut standin_config);
    let standin = StandIn::start(standin_config, "127.0.0.1:0".parse().unwrap()).await;
    let vars = [
        ("WECHAT_API_BASE", standin.base_url()),
        ("WECHAT_AUTH_PAGE_BASE", standin.base_url()),
        ("AUTH_REDIRECT_URL", format!("{base}/wechat/authorize/callback")),
        ("AUTHORIZE_START_URL", format!("{base}/wechat/authorize-start")),
        ("WECHAT_OAUTH_BASE", standin.base_url()),
        ("OAUTH_REDIRECT_URL", format!("{base}/wechat/oauth/callback")),
        ("OAUTH_RETURN_ORIGINS", SHOP.to_owned()),
        ("OAUTH_START_URL", format!("{base}/wechat/oauth/$APPID$/authorize")),
    ];
    let shared = app_on_bus(support::config(&vars), store, &standin, bus);
    serve(listener, shared.clone());
    (standin, shared, base)
}

/// Log lines written on this thread while the returned guard lives (tests that read logs run
/// their whole flow on a current-thread runtime, so every task logs here).
#[derive(Clone, Default)]
pub(crate) struct Capture(Arc<std::sync::Mutex<Vec<u8>>>);

impl Capture {
    /// Starts capturing at `filter` (an `EnvFilter` directive).
    pub(crate) fn start(filter: &str) -> (Self, tracing::subscriber::DefaultGuard) {
        let capture = Self::default();
        let subscriber =
            tracing_subscriber::fmt().with_env_filter(filter).with_writer(capture.clone()).with_ansi(false).finish();
        (capture, tracing::subscriber::set_default(subscriber))
    }

    /// What was captured since the last call.
    pub(crate) fn take(&self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut *self.0.lock().unwrap())).into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
