//! The whole lifecycle on the DynamoDB-API server with the WeChat stand-in pushing to a local API
//! Gateway: ticket push → QR URL → stand-in authorization page → callback → account listed →
//! follower message and reply → release test → refresher run → unauthorized → listed as revoked.

use std::collections::HashMap;

use serde_json::Value;
use shared::Secret;
use shared::store::{AuthorizerStatus, AuthorizerStore, TicketStore, TokenRefresh};
use wechat_standin::{Config as StandInConfig, RELEASE_TEST_APPID, StandIn};

use crate::gateway::{self, Shared};
use crate::support::{appid, key, secret, token};

const ACCOUNT: &str = "wx1000000000000001";

struct Platform {
    standin: StandIn,
    app: Shared,
    base: String,
    http: reqwest::Client,
}

async fn platform(extra: &[(&str, String)]) -> Platform {
    let (listener, base) = gateway::listener().await;
    let mut standin_config = StandInConfig::new(appid(), secret(), token(), key());
    standin_config.ticket_url = Some(format!("{base}/wechat/component/events"));
    standin_config.callback_base = Some(format!("{base}/wechat"));
    let standin = wechat_standin::StandIn::start(standin_config, "127.0.0.1:0".parse().unwrap()).await;
    let mut vars = vec![
        ("WECHAT_API_BASE", standin.base_url()),
        ("WECHAT_AUTH_PAGE_BASE", standin.base_url()),
        ("AUTH_REDIRECT_URL", format!("{base}/wechat/authorize/callback")),
        ("AUTHORIZE_START_URL", format!("{base}/wechat/authorize-start")),
    ];
    vars.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    let app = gateway::app(crate::support::config(&vars), crate::support::fresh_table().await, &standin);
    gateway::serve(listener, app.clone());
    let http = shared::outbound::client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Platform { standin, app, base, http }
}

impl Platform {
    async fn json(&self, path: &str) -> (u16, Value) {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// The admin's browser: dashboard → authorization page → Authorize → callback.
    async fn authorize_in_browser(&self, appid: &str) -> reqwest::Response {
        let url = crate::support::via_start_link(&self.http, &self.base, "auth_type=1").await;
        assert_eq!(url.path(), "/cgi-bin/componentloginpage");
        let params: HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!((params["component_appid"].as_str(), params["auth_type"].as_str()), (crate::support::appid(), "1"));
        let page = self.http.get(url.as_str()).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let form = [
            ("pre_auth_code", params["pre_auth_code"].as_str()),
            ("redirect_uri", params["redirect_uri"].as_str()),
            ("appid", appid),
        ];
        let redirect =
            self.http.post(format!("{}/standin/authorize", self.standin.base_url())).form(&form).send().await.unwrap();
        assert_eq!(redirect.status(), 302);
        let location = redirect.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with(&format!("{}/wechat/authorize/callback?state=", self.base)), "{location}");
        self.http.get(location).send().await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_lifecycle() {
    let p = platform(&[]).await;

    // Before any ticket: the start link is issued (no WeChat call), and opening it is a clear 503.
    let (status, body) = p.json("/wechat/authorize-url").await;
    assert_eq!((status, body["code"].as_i64()), (200, Some(0)), "{body}");
    let start = p.http.get(body["data"]["start_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(start.status(), 503);
    assert!(start.text().await.unwrap().contains("暂时无法发起授权"));

    // WeChat pushes a ticket; it is stored.
    let pushed = p.standin.push_ticket().await;
    assert_eq!((pushed.status, pushed.body.as_str()), (200, "success"));
    let stored = p.app.platform.store().verify_ticket().await.unwrap().unwrap();
    assert_eq!(Some(stored.ticket.expose().to_owned()), p.standin.last_ticket());

    // The admin authorizes in the browser; the callback page names the account.
    let callback = p.authorize_in_browser(ACCOUNT).await;
    assert_eq!(callback.status(), 200);
    assert!(callback.text().await.unwrap().contains("示例服务号"));
    let record = p.app.platform.store().authorizer(ACCOUNT).await.unwrap().unwrap();
    assert_eq!(Some(record.refresh_token.expose().to_owned()), p.standin.refresh_token_of(ACCOUNT));
    assert_eq!(p.standin.calls("api_query_auth"), 2, "callback and `authorized` push both tried the code");

    // The dashboard lists it with the seed's labels.
    let (status, list) = p.json("/wechat/authorizers").await;
    assert_eq!(status, 200);
    let item = &list["data"][0];
    assert_eq!(item["authorizer_appid"], ACCOUNT);
    assert_eq!(
        (item["service_type_info_text"].as_str(), item["verify_type_info_text"].as_str()),
        (Some("服务号"), Some("微信认证"))
    );
    assert_eq!(
        (item["status"].as_str(), item["nick_name"].as_str(), item["user_name"].as_str()),
        (Some("authorized"), Some("示例服务号"), Some("gh_100000000001"))
    );
    assert!(item["avatar"].as_str().unwrap().starts_with("http"));

    // A follower writes; a retry of the same push gets the same answer and is not processed again.
    let first = p.standin.push_text(ACCOUNT, "o_follower", "你好").await;
    assert_eq!((first.status, first.body.as_str()), (200, "success"));

    // The full-network release test passes.
    let report = p.standin.release_test().await;
    assert!(report.passed(), "{report:#?}");
    assert!(p.app.platform.store().authorizer(RELEASE_TEST_APPID).await.unwrap().is_some());

    // Two hours later the refresher renews every due token.
    p.standin.advance_clock(7000);
    let report = token_refresher::handle(&p.app, None).await;
    assert_eq!(report.component_token, "refreshed");
    assert_eq!(report.refreshed, [ACCOUNT.to_owned(), RELEASE_TEST_APPID.to_owned()], "{report:?}");
    assert!(report.failed.is_empty(), "{report:?}");
    let refreshed = p.app.platform.store().authorizer(ACCOUNT).await.unwrap().unwrap();
    assert!(refreshed.expires_at > record.expires_at);

    // The admin revokes: listed as revoked, record kept.
    let revoked = p.standin.revoke(ACCOUNT).await;
    assert_eq!(revoked.body, "success");
    let (_, list) = p.json("/wechat/authorizers").await;
    let item = list["data"].as_array().unwrap().iter().find(|i| i["authorizer_appid"] == ACCOUNT).unwrap().clone();
    assert_eq!(item["status"], "revoked");
    assert_eq!(p.app.platform.store().authorizer(ACCOUNT).await.unwrap().unwrap().status, AuthorizerStatus::Revoked);
}

#[tokio::test]
async fn a_reused_callback_and_a_dashboard_redirect() {
    let p = platform(&[("DASHBOARD_URL", "https://dashboard.example/accounts".to_owned())]).await;
    p.standin.push_ticket().await;
    let callback = p.authorize_in_browser(ACCOUNT).await;
    assert_eq!(callback.status(), 302);
    assert_eq!(callback.headers()["location"], format!("https://dashboard.example/accounts?authorized={ACCOUNT}"));
    // Reloading the callback URL: a clear 4xx page, nothing changes.
    let before = p.app.platform.store().authorizer(ACCOUNT).await.unwrap().unwrap();
    let again = p.http.get(callback.url().as_str()).send().await.unwrap();
    assert_eq!(again.status(), 409);
    assert_eq!(p.app.platform.store().authorizer(ACCOUNT).await.unwrap().unwrap(), before);
}

/// An authorization whose tokens arrived before the refresh token already stored (a refresh that
/// rotated it answered later) must not overwrite it, yet it is not a failure: the admin's page
/// names the account and WeChat's `authorized` push is answered `success`.
#[tokio::test]
async fn an_older_authorization_keeps_the_newer_stored_refresh_token() {
    let p = platform(&[]).await;
    p.standin.push_ticket().await;
    assert_eq!(p.authorize_in_browser(ACCOUNT).await.status(), 200);
    let record = p.app.platform.store().authorizer(ACCOUNT).await.unwrap().unwrap();
    let newer = TokenRefresh {
        authorizer_appid: ACCOUNT.into(),
        expected_version: record.version,
        access_token: Secret::new("access-from-a-later-refresh"),
        expires_at: p.standin.now() + 7200,
        refresh_token: Some(Secret::new("refresh-from-a-later-refresh")),
        received_ms: p.standin.now_ms() + 600_000,
    };
    p.app.platform.store().update_tokens(&newer, p.standin.now()).await.unwrap();
    let kept = || async { p.app.platform.store().authorizer(ACCOUNT).await.unwrap().unwrap() };

    // The `authorized` push alone.
    let (_, pushed) = p.standin.authorize_and_push(ACCOUNT).await.unwrap();
    assert_eq!((pushed.status, pushed.body.as_str()), (200, "success"));
    assert_eq!(kept().await.refresh_token.expose(), "refresh-from-a-later-refresh");

    // The browser callback (racing its own push).
    let callback = p.authorize_in_browser(ACCOUNT).await;
    assert_eq!(callback.status(), 200);
    assert!(callback.text().await.unwrap().contains("示例服务号"));
    let record = kept().await;
    assert_eq!(
        (record.refresh_token.expose(), record.status),
        ("refresh-from-a-later-refresh", AuthorizerStatus::Authorized)
    );
}

#[tokio::test]
async fn mobile_links_and_the_html_page() {
    let p = platform(&[]).await;
    p.standin.push_ticket().await;
    let url =
        crate::support::via_start_link(&p.http, &p.base, "mode=mobile&auth_type=3&biz_appid=wx1000000000000002").await;
    assert_eq!((url.path(), url.fragment()), ("/wxaopen/safe/bindcomponent", Some("wechat_redirect")));
    let params: HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(
        (params["action"].as_str(), params["no_scan"].as_str(), params["biz_appid"].as_str()),
        ("bindcomponent", "1", "wx1000000000000002")
    );
    let redirect = url::Url::parse(&params["redirect_uri"]).unwrap();
    assert!(redirect.query_pairs().any(|(k, _)| k == "state"), "the state survives inside redirect_uri");

    let html =
        p.http.get(format!("{}/wechat/authorize-url", p.base)).header("accept", "text/html").send().await.unwrap();
    assert_eq!(html.status(), 200);
    let header = |name: &str| html.headers()[name].to_str().unwrap().to_owned();
    assert!(header("content-type").starts_with("text/html"));
    // Locked down, but the Referer must reach WeChat (it checks the registered domain).
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header("referrer-policy"), "strict-origin-when-cross-origin");
    assert!(html.text().await.unwrap().contains("id=\"authorize\" href=\""));
    for bad in ["?auth_type=7", "?mode=tablet", "?biz_appid=%3Cscript%3E", "?auth_type=1&auth_type=2"] {
        let (status, body) = p.json(&format!("/wechat/authorize-url{bad}")).await;
        assert_eq!((status, body["code"].as_i64()), (400, Some(1001)), "{bad}: {body}");
    }
}

#[tokio::test]
async fn a_refused_refresh_token_is_recovered_by_the_refresher() {
    let p = platform(&[]).await;
    p.standin.push_ticket().await;
    assert_eq!(p.authorize_in_browser(ACCOUNT).await.status(), 200);
    let replacement = p.standin.break_refresh_token(ACCOUNT).unwrap();
    p.standin.advance_clock(7000);
    let report = token_refresher::handle(&p.app, None).await;
    assert_eq!(report.recovered, [ACCOUNT.to_owned()], "{report:?}");
    assert_eq!(p.app.platform.store().authorizer(ACCOUNT).await.unwrap().unwrap().refresh_token.expose(), replacement);

    p.standin.forget_refresh_token(ACCOUNT);
    p.standin.advance_clock(7000);
    let report = token_refresher::handle(&p.app, None).await;
    assert_eq!(report.needs_reauthorization, [ACCOUNT.to_owned()], "{report:?}");
    let (_, list) = p.json("/wechat/authorizers").await;
    assert_eq!(list["data"][0]["status"], "needs_reauthorization");
}

#[tokio::test]
async fn stopped_ticket_pushes_are_restarted() {
    let p = platform(&[]).await;
    p.standin.push_ticket().await;
    p.standin.advance_clock(3600);
    let calls = p.standin.calls("api_start_push_ticket");
    let report = token_refresher::handle(&p.app, None).await;
    assert_eq!(report.push_ticket.as_deref(), Some("restarted"));
    assert_eq!(p.standin.calls("api_start_push_ticket"), calls + 1);
}

/// The start link is what lets a browser (no `Authorization` header) reach the page in a
/// deployment whose dashboard is authenticated: it must be signed by us, short-lived and
/// single-use, and it names the user the authorization will belong to.
#[tokio::test]
async fn start_links_are_single_use_signed_and_short_lived() {
    let p = platform(&[]).await;
    p.standin.push_ticket().await;
    let (_, body) = p.json("/wechat/authorize-url?auth_type=1").await;
    let start = body["data"]["start_url"].as_str().unwrap().to_owned();
    assert_eq!(body["data"]["expires_in"], 300);
    assert_eq!(p.http.get(&start).send().await.unwrap().status(), 200, "first opening");
    let again = p.http.get(&start).send().await.unwrap();
    assert_eq!(again.status(), 409, "a start link starts one authorization");
    assert_eq!(again.headers()["referrer-policy"], "no-referrer");
    let token = url::Url::parse(&start).unwrap().query_pairs().find(|(k, _)| k == "token").unwrap().1.into_owned();
    // An auth-callback state is not a start link, nor is a tampered one.
    let state = crate::gateway::signer().sign("u=local%3Ademo&t=1&m=pc&b=", p.app.platform.now() + 60);
    let tampered = token.replacen("dT1", "dT2", 1);
    for forged in [state.as_str(), tampered.as_str(), "", "x.y.z"] {
        let response = p.http.get(format!("{}/wechat/authorize-start?token={forged}", p.base)).send().await.unwrap();
        assert!(matches!(response.status().as_u16(), 400 | 403), "{forged}: {}", response.status());
    }
    // Five minutes later an unused link has expired.
    let (_, body) = p.json("/wechat/authorize-url?auth_type=1").await;
    p.standin.advance_clock(301);
    let late = p.http.get(body["data"]["start_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(late.status(), 400);
    assert_eq!(p.standin.calls("api_create_preauthcode"), 1, "only the one opened link spent a pre_auth_code");
}

/// Acting as an account over HTTP (the account-actions routes): the dashboard user sends a
/// customer-service message as their account, WeChat's refusals come back as clear codes, an
/// Idempotency-Key never sends twice, another user's account is not found, and a backend
/// borrows the token (the local demo stands in for IAM here; `account_actions::route` and the
/// template hold the backend routes to AWS_IAM).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acting_as_an_account_over_http() {
    use serde_json::json;
    let p = platform(&[]).await;
    p.standin.push_ticket().await;
    assert_eq!(p.authorize_in_browser(ACCOUNT).await.status(), 200);
    let messages = format!("{}/wechat/authorizers/{ACCOUNT}/messages", p.base);
    let send = |body: Value, key: Option<&str>| {
        let mut request = p.http.post(&messages).json(&body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let text = |content: &str| json!({"touser": "o_buyer", "msgtype": "text", "text": {"content": content}});

    // The buyer never wrote: WeChat refuses, and says why.
    let (status, body) = send(text("您的订单已发货"), None).await;
    assert_eq!(
        (status, &body["code"], &body["errcode"], &body["reason"]),
        (422, &json!(1010), &json!(43004), &json!("not_following")),
        "{body}"
    );
    // The buyer writes; the message goes out as the account.
    p.standin.push_text(ACCOUNT, "o_buyer", "我的快递呢").await;
    let (status, body) = send(text("您的订单已发货"), Some("order-42")).await;
    assert_eq!((status, &body["code"], &body["data"]["sent"]), (200, &json!(0), &json!(true)), "{body}");
    let (status, again) = send(text("您的订单已发货"), Some("order-42")).await;
    assert_eq!((status, &again), (200, &body), "the same key: the first answer");
    // The same key with another message: refused, not answered with the first one's result.
    let (status, reused) = send(text("您的订单已签收"), Some("order-42")).await;
    assert_eq!((status, &reused["code"]), (422, &json!(1019)), "{reused}");
    let sent: Vec<_> = p.standin.sent_messages().into_iter().filter(|m| m.touser == "o_buyer").collect();
    assert_eq!(sent.len(), 1, "sent once: {sent:?}");
    assert_eq!((sent[0].authorizer_appid.as_str(), sent[0].content.as_str()), (ACCOUNT, "您的订单已发货"));
    // Checked before anything is sent.
    let (status, body) = send(json!({"touser": "o_buyer", "msgtype": "fax"}), None).await;
    assert_eq!((status, &body["code"]), (400, &json!(1001)), "{body}");
    let response = p.http.post(&messages).body("{oops").send().await.unwrap();
    assert_eq!(response.status(), 400);
    // An account authorized elsewhere is not this user's.
    p.standin.authorize_and_push("wx1000000000000002").await.unwrap();
    let other = format!("{}/wechat/authorizers/wx1000000000000002/messages", p.base);
    let response = p.http.post(&other).json(&text("x")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], 1007);

    // A backend borrows the token: the stored one while fresh, never cached by anyone.
    let response =
        p.http.get(format!("{}/wechat/backend/authorizers/{ACCOUNT}/access-token", p.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    let stored = p.app.platform.store().authorizer(ACCOUNT).await.unwrap().unwrap();
    assert_eq!(body["data"]["access_token"], stored.access_token.expose());
    assert!(body["data"]["expires_in"].as_i64().unwrap() > shared::service::LEND_MARGIN_SECS);
    // The dashboard family has no token route.
    let response = p.http.get(format!("{}/wechat/authorizers/{ACCOUNT}/access-token", p.base)).send().await.unwrap();
    assert_eq!(response.status(), 404, "not routed");
}

/// Template messages over HTTP: templates are per account (added from WeChat's library through
/// the platform), a send returns WeChat's msgid, the `TEMPLATESENDJOBFINISH` push fills in the
/// delivery status, a repeated Idempotency-Key is not delivered twice, WeChat's refusals are clear.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn template_messages_over_http() {
    use serde_json::json;
    let p = platform(&[]).await;
    p.standin.push_ticket().await;
    assert_eq!(p.authorize_in_browser(ACCOUNT).await.status(), 200);
    let base = format!("{}/wechat/authorizers/{ACCOUNT}", p.base);
    let call = |method: &str, path: &str, body: Option<Value>, key: Option<&str>| {
        let mut request = p.http.request(method.parse().unwrap(), format!("{base}/{path}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    // No templates yet; one added from the library.
    let (status, list) = call("GET", "templates", None, None).await;
    assert_eq!((status, &list["data"]["templates"]), (200, &json!([])), "{list}");
    let (status, added) = call("POST", "templates", Some(json!({"template_id_short": "OPENTM207498902"})), None).await;
    assert_eq!(status, 200, "{added}");
    let template_id = added["data"]["template_id"].as_str().unwrap().to_owned();
    let (_, list) = call("GET", "templates", None, None).await;
    assert_eq!(list["data"]["templates"][0]["template_id"], template_id.as_str());
    let (status, unknown) = call("POST", "templates", Some(json!({"template_id_short": "NOPE"})), None).await;
    assert_eq!((status, &unknown["errcode"]), (422, &json!(40037)), "{unknown}");

    let shipped = |to: &str, what: &str| {
        json!({"touser": to, "template_id": template_id, "url": "https://shop.example/orders/42",
               "data": {"character_string1": {"value": "42"}, "thing2": {"value": what}, "time3": {"value": "2026-12-02 10:00"}}})
    };
    // Not a follower: refused, nothing sent.
    let (status, body) = call("POST", "template-messages", Some(shipped("o_nobody", "键盘")), None).await;
    assert_eq!((status, &body["errcode"], &body["reason"]), (422, &json!(43004), &json!("not_following")), "{body}");
    // A follower: sent; the same key again is the same msgid and no second delivery.
    p.standin.push_event(ACCOUNT, "o_buyer", "subscribe").await;
    let (status, sent) = call("POST", "template-messages", Some(shipped("o_buyer", "键盘")), Some("ship-42")).await;
    assert_eq!(status, 200, "{sent}");
    let msgid = sent["data"]["msgid"].as_str().unwrap().to_owned();
    let (_, again) = call("POST", "template-messages", Some(shipped("o_buyer", "键盘")), Some("ship-42")).await;
    assert_eq!(again["data"]["msgid"], msgid.as_str());
    assert_eq!(p.standin.template_sends().len(), 1, "delivered once");
    // WeChat's push fills in the delivery status.
    // The push comes a moment later, through event-callback (and the shared local DynamoDB-API
    // server, which serves one request at a time): wait up to 10 s.
    let mut record = Value::Null;
    for _ in 0..200 {
        record = call("GET", &format!("template-messages/{msgid}"), None, None).await.1;
        if record["data"]["status"] == "success" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        (&record["data"]["status"], &record["data"]["touser"], &record["data"]["template_id"]),
        (&json!("success"), &json!("o_buyer"), &json!(template_id)),
        "{record}"
    );
    assert!(record["data"]["finished_at"].is_i64() && record["data"].get("sent_by").is_none(), "{record}");
    // A follower who blocks the account: sent, then reported as blocked.
    p.standin.push_event(ACCOUNT, "o_blocker", "subscribe").await;
    p.standin.set_refuses_messages(ACCOUNT, "o_blocker", true);
    let (_, sent) = call("POST", "template-messages", Some(shipped("o_blocker", "鼠标")), None).await;
    let blocked = sent["data"]["msgid"].as_str().unwrap().to_owned();
    let mut status_of_blocked = Value::Null;
    for _ in 0..200 {
        status_of_blocked =
            call("GET", &format!("template-messages/{blocked}"), None, None).await.1["data"]["status"].clone();
        if status_of_blocked != "sent" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status_of_blocked, "failed:user block");
    // A value that does not fit its keyword; a template of another account; a bad body.
    let (status, body) = call("POST", "template-messages", Some(shipped("o_buyer", &"长".repeat(21))), None).await;
    assert_eq!((status, &body["errcode"], &body["reason"]), (422, &json!(47003), &json!("invalid_data")), "{body}");
    let mut foreign = shipped("o_buyer", "键盘");
    foreign["template_id"] = json!("tmpl_wx1000000000000002_1");
    assert_eq!(call("POST", "template-messages", Some(foreign), None).await.1["errcode"], 40037);
    let (status, body) = call("POST", "template-messages", Some(json!({"touser": "o_buyer"})), None).await;
    assert_eq!((status, &body["code"]), (400, &json!(1001)), "{body}");
    // Unknown messages and paths.
    assert_eq!(call("GET", "template-messages/123", None, None).await.0, 404);
    assert_eq!(p.http.get(format!("{base}/nothing-here")).send().await.unwrap().status(), 404);
}
