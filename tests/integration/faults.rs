//! WeChat misbehaving at every call site the platform has, with every fault the stand-in can
//! inject: errcode -1 (busy), 45009 (quota), 61004 (IP not whitelisted), HTTP 502, a slow answer
//! (2.5 s, over the 1.5 s attempt timeout) and a connection dropped mid-body. Each fault is
//! injected for every attempt, so retries cannot hide it. For each case:
//! - the caller gets a clear answer within WeChat's 5-second push deadline (a 5xx JSON envelope,
//!   an error page, an empty push answer, or a refresher report naming the failure);
//! - a log line names the call (and the errcode, for errcode faults);
//! - nothing is half written: the account record and the tokens are what they were.
//!
//! One current-thread runtime per call site, so a thread-local subscriber captures its logs.

use std::time::{Duration, Instant};

use shared::store::{AuthorizerStatus, AuthorizerStore, ComponentTokenStore};
use wechat_standin::{Fault, RELEASE_TEST_APPID, StandIn};

use crate::gateway::{self, Capture, Shared};

const ACCOUNT: &str = "wx1000000000000001";
const DEADLINE: Duration = Duration::from_secs(5);

fn faults() -> [(Fault, &'static str); 6] {
    [
        (Fault::Errcode(-1), "-1"),
        (Fault::Errcode(45009), "45009"),
        (Fault::Errcode(61004), "61004"),
        (Fault::Status(502), "502"),
        (Fault::DelayMs(2500), "timed out"),
        (Fault::Drop, ""),
    ]
}

struct World {
    standin: StandIn,
    app: Shared,
    base: String,
    http: reqwest::Client,
}

async fn world() -> World {
    let (standin, app, base) = gateway::wired(crate::support::fresh_table().await, |_| {}).await;
    let http = shared::outbound::client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    assert_eq!(standin.push_ticket().await.body, "success");
    World { standin, app, base, http }
}

impl World {
    /// The authorization page (the route that calls WeChat): `(200, its WeChat URL)` or the
    /// dashboard's JSON error.
    async fn qr_url(&self) -> (u16, serde_json::Value) {
        let response = self
            .http
            .get(format!("{}/wechat/authorize-url", self.base))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        if status == 200 {
            (status, serde_json::Value::from(crate::support::authorize_link_in(&text).as_str()))
        } else {
            (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON error: {text}")))
        }
    }

    /// The admin clicks Authorize; returns the auth-callback URL (the `authorized` push has run).
    async fn authorize_until_callback(&self, appid: &str) -> String {
        let (status, body) = self.qr_url().await;
        assert_eq!(status, 200, "{body}");
        let url = url::Url::parse(body.as_str().unwrap()).unwrap();
        let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap();
        let form = [
            ("pre_auth_code", param("pre_auth_code")),
            ("redirect_uri", param("redirect_uri")),
            ("appid", appid.into()),
        ];
        let redirect =
            self.http.post(format!("{}/standin/authorize", self.standin.base_url())).form(&form).send().await.unwrap();
        redirect.headers()["location"].to_str().unwrap().to_owned()
    }
}

/// Runs `case` once per fault on a fresh world, with logs captured.
async fn each_fault<F, Fut>(site: &str, case: F)
where
    F: Fn(World, Fault) -> Fut,
    Fut: std::future::Future<Output = (World, Duration)>,
{
    let capture = Capture::default();
    let subscriber =
        tracing_subscriber::fmt().with_env_filter("info").with_writer(capture.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    for (fault, mark) in faults() {
        let w = world().await;
        capture.take();
        let (w, elapsed) = case(w, fault.clone()).await;
        assert!(elapsed < DEADLINE, "{site} with {fault:?}: {elapsed:?}");
        let logs = capture.take();
        assert!(
            logs.lines().any(|l| l.contains(site) && l.contains(mark) && (l.contains("WARN") || l.contains("ERROR"))),
            "{site} with {fault:?}: no warning naming the call and `{mark}` in:\n{logs}"
        );
        drop(w);
    }
}

#[tokio::test]
async fn component_token_faults() {
    each_fault("api_component_token", |w, fault| async move {
        w.standin.inject_fault("api_component_token", fault, 10);
        let started = Instant::now();
        let (status, body) = w.qr_url().await;
        let elapsed = started.elapsed();
        assert!(matches!(status, 502..=504), "{status} {body}");
        assert!(body["code"].as_i64().is_some_and(|c| c > 0), "{body}");
        assert!(w.app.platform.store().component_token().await.unwrap().is_none(), "no token stored");
        (w, elapsed)
    })
    .await;
}

#[tokio::test]
async fn pre_auth_code_faults() {
    each_fault("api_create_preauthcode", |w, fault| async move {
        assert_eq!(w.qr_url().await.0, 200);
        w.standin.inject_fault("api_create_preauthcode", fault, 10);
        let started = Instant::now();
        let (status, body) = w.qr_url().await;
        let elapsed = started.elapsed();
        assert!(matches!(status, 502..=504), "{status} {body}");
        assert_eq!(body["code"], 1003, "{body}");
        (w, elapsed)
    })
    .await;
}

#[tokio::test]
async fn query_auth_faults() {
    each_fault("api_query_auth", |w, fault| async move {
        w.standin.inject_fault("api_query_auth", fault, 10);
        let callback = w.authorize_until_callback(ACCOUNT).await;
        let started = Instant::now();
        let response = w.http.get(&callback).send().await.unwrap();
        let elapsed = started.elapsed();
        assert!(response.status().is_server_error(), "{}", response.status());
        assert!(response.text().await.unwrap().contains("<h1"), "an error page");
        assert!(w.app.platform.store().authorizer(ACCOUNT).await.unwrap().is_none(), "nothing half written");
        (w, elapsed)
    })
    .await;
}

#[tokio::test]
async fn authorizer_info_faults() {
    each_fault("api_get_authorizer_info", |w, fault| async move {
        w.standin.inject_fault("api_get_authorizer_info", fault, 10);
        let callback = w.authorize_until_callback(ACCOUNT).await;
        let started = Instant::now();
        let response = w.http.get(&callback).send().await.unwrap();
        let elapsed = started.elapsed();
        // The refresh token is irreplaceable: it is stored even though the profile could not be
        // fetched, and the admin is told the authorization worked.
        assert!(response.status().is_success() || response.status().is_redirection(), "{}", response.status());
        let record = w.app.platform.store().authorizer(ACCOUNT).await.unwrap().expect("the authorization is kept");
        assert_eq!(Some(record.refresh_token.expose().to_owned()), w.standin.refresh_token_of(ACCOUNT));
        (w, elapsed)
    })
    .await;
}

/// An authorized account whose token is due, for the refresher's call sites.
async fn due_account(w: &World) -> shared::store::AuthorizerRecord {
    let callback = w.authorize_until_callback(ACCOUNT).await;
    assert_eq!(w.http.get(&callback).send().await.unwrap().status(), 200);
    w.standin.advance_clock(7000);
    w.standin.push_ticket().await;
    w.app.platform.store().authorizer(ACCOUNT).await.unwrap().unwrap()
}

#[tokio::test]
async fn authorizer_token_faults() {
    each_fault("api_authorizer_token", |w, fault| async move {
        let before = due_account(&w).await;
        w.standin.inject_fault("api_authorizer_token", fault, 10);
        let started = Instant::now();
        let report = token_refresher::handle(&w.app, None).await;
        let elapsed = started.elapsed();
        assert!(report.failed.iter().any(|f| f.starts_with(ACCOUNT)), "{report:?}");
        assert_eq!(w.app.platform.store().authorizer(ACCOUNT).await.unwrap().unwrap(), before, "record untouched");
        (w, elapsed)
    })
    .await;
}

#[tokio::test]
async fn authorizer_list_faults() {
    each_fault("api_get_authorizer_list", |w, fault| async move {
        let before = due_account(&w).await;
        // WeChat refuses the stored refresh token (61023); recovery needs the authorizer list.
        w.standin.break_refresh_token(ACCOUNT).unwrap();
        w.standin.inject_fault("api_get_authorizer_list", fault, 10);
        let started = Instant::now();
        let report = token_refresher::handle(&w.app, None).await;
        let elapsed = started.elapsed();
        assert!(report.failed.iter().any(|f| f.starts_with(ACCOUNT)), "a transient failure, not a verdict: {report:?}");
        let after = w.app.platform.store().authorizer(ACCOUNT).await.unwrap().unwrap();
        assert_eq!(
            (after.status, after.refresh_token.expose()),
            (AuthorizerStatus::Authorized, before.refresh_token.expose())
        );
        (w, elapsed)
    })
    .await;
}

#[tokio::test]
async fn start_push_ticket_faults() {
    each_fault("api_start_push_ticket", |w, fault| async move {
        w.standin.advance_clock(3600);
        w.standin.inject_fault("api_start_push_ticket", fault, 10);
        let started = Instant::now();
        let report = token_refresher::handle(&w.app, None).await;
        let elapsed = started.elapsed();
        assert!(report.push_ticket.as_deref().is_some_and(|p| p.starts_with("failed")), "{report:?}");
        (w, elapsed)
    })
    .await;
}

#[tokio::test]
async fn custom_send_faults() {
    each_fault("message/custom/send", |w, fault| async move {
        // WeChat's release test: QUERY_AUTH_CODE:$code must be answered at once (empty), then a
        // custom message is sent; here the send fails.
        let code = w.standin.authorize_directly(RELEASE_TEST_APPID).await.unwrap();
        w.standin.inject_fault("custom_send", fault, 10);
        let started = Instant::now();
        let push = w.standin.push_text(RELEASE_TEST_APPID, "o_tester", &format!("QUERY_AUTH_CODE:{code}")).await;
        let elapsed = started.elapsed();
        assert_eq!((push.status, push.body.as_str()), (200, ""), "answered empty within the deadline");
        assert!(w.standin.sent_messages().is_empty());
        (w, elapsed)
    })
    .await;
}
