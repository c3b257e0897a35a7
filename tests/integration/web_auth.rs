//! Web authorization on behalf of an account (issues 19 and 33), over HTTP: the account's owner
//! sets the sites it may return to; the site's server mints a start for its user; the follower's
//! browser (reqwest, redirects followed by hand, the stand-in's `wx_user` cookie) goes from the
//! start link to WeChat's page and back; the site's server redeems the ticket on the account's
//! route. Every refusal is a page or an answer of its own, nothing that identifies the follower
//! comes from a query string, and nothing binds without a start the site's server minted.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};
use serde_json::{Value, json};
use shared::Secret;
use shared::service::{Caller, RedeemError};
use shared::store::{AuthorizerStore, LOCAL_DEMO_USER};
use wechat_standin::{Fault, StandIn};

use crate::gateway::{self, SHOP};
use crate::support::ACCOUNT;

/// The 订阅号 of the stand-in's defaults: authorized, but without permission set 4.
const NO_WEB: &str = "wx1000000000000002";

pub(crate) fn browser() -> reqwest::Client {
    shared::outbound::client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn authorized() -> (StandIn, gateway::Shared, String) {
    let (standin, app, base) = gateway::wired(crate::support::fresh_table().await, |_| {}).await;
    standin.push_ticket().await;
    for appid in [ACCOUNT, NO_WEB] {
        standin.authorize_and_push(appid).await.unwrap();
        app.platform.store().set_owner(appid, LOCAL_DEMO_USER, standin.now()).await.unwrap();
        // The owner lets the shop's pages be returned to (the dashboard route).
        let origins = browser()
            .put(format!("{base}/wechat/authorizers/{appid}/web-origins"))
            .json(&json!({"origins": [SHOP]}))
            .send()
            .await
            .unwrap();
        assert_eq!(origins.status(), StatusCode::OK);
    }
    (standin, app, base)
}

/// The shop's server mints a start for its user (the backend route) and gets the link to send the
/// follower's browser to.
pub(crate) async fn minted(base: &str, scope: &str, user_ref: Option<&str>) -> String {
    let mut body = json!({"scope": scope, "return_to": format!("{SHOP}/bind?from=menu")});
    if let Some(user_ref) = user_ref {
        body["user_ref"] = json!(user_ref);
    }
    let answer: Value = browser()
        .post(format!("{base}/wechat/backend/authorizers/{ACCOUNT}/web-starts"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((answer["code"].as_i64(), answer["data"]["expires_in"].as_i64()), (Some(0), Some(300)), "{answer}");
    answer["data"]["start_url"].as_str().unwrap().to_owned()
}

/// The account's route where the site's server redeems tickets.
fn redeem_url(base: &str) -> String {
    format!("{base}/wechat/backend/authorizers/{ACCOUNT}/web-tickets")
}

fn location(response: &reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::FOUND, "a redirect");
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

async fn page(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// The page's title: the `<h1>` whose id says whose page it is (`platform-title`, the platform's
/// result pages; `declined-title`, web-oauth's declined page; `wechat-title`, the stand-in's).
fn title(body: &str) -> &str {
    ["platform-title", "declined-title", "wechat-title"]
        .iter()
        .find_map(|id| body.split(&format!("<h1 id=\"{id}\">")).nth(1))
        .and_then(|r| r.split('<').next())
        .unwrap_or_else(|| panic!("{body}"))
}

/// The start the shop's server minted for its user 42 → WeChat's authorize URL (checked field by
/// field) → as `user` on WeChat's side, allowing (`snsapi_userinfo` asks) → our callback URL.
pub(crate) async fn to_callback(base: &str, standin: &StandIn, scope: &str, user: &str, allow: bool) -> String {
    let start = minted(base, scope, Some("shop-user-42")).await;
    from_start(base, standin, &start, scope, user, allow).await
}

/// From a start link (minted or public) to our callback URL, as [`to_callback`].
async fn from_start(base: &str, standin: &StandIn, start: &str, scope: &str, user: &str, allow: bool) -> String {
    let http = browser();
    let response = http.get(start).send().await.unwrap();
    let wechat = location(&response);
    // WeChat's exact order, every value encoded, the fragment it asks for.
    let prefix = format!("{}/connect/oauth2/authorize?appid={ACCOUNT}&redirect_uri=", standin.base_url());
    assert!(wechat.starts_with(&prefix), "{wechat}");
    assert!(wechat.ends_with("#wechat_redirect"), "{wechat}");
    let url = url::Url::parse(&wechat).unwrap();
    let names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(names, ["appid", "redirect_uri", "response_type", "scope", "state", "component_appid"]);
    let get = |n: &str| url.query_pairs().find(|(k, _)| k == n).unwrap().1.into_owned();
    assert_eq!(get("redirect_uri"), format!("{base}/wechat/oauth/callback"));
    assert!(wechat.contains(&format!(
        "redirect_uri={}",
        url::form_urlencoded::byte_serialize(get("redirect_uri").as_bytes()).collect::<String>()
    )));
    assert!(get("state").len() <= 128, "state is {} bytes", get("state").len());
    assert!(!get("state").contains("shop"), "the state names nothing of the request: {}", get("state"));
    assert_eq!(get("component_appid"), crate::support::appid());
    let cookie = format!("wx_user={user}");
    let response = http.get(&wechat).header(COOKIE, &cookie).send().await.unwrap();
    if scope == "snsapi_base" {
        return location(&response);
    }
    let (status, consent) = page(response).await;
    assert_eq!(status, StatusCode::OK);
    assert!(consent.contains("id=\"allow\"") && consent.contains("示例服务号"), "{consent}");
    let form = [
        ("appid", ACCOUNT.to_owned()),
        ("redirect_uri", get("redirect_uri")),
        ("scope", get("scope")),
        ("state", get("state")),
        ("answer", if allow { "allow" } else { "deny" }.to_owned()),
    ];
    let response = http
        .post(format!("{}/standin/oauth/consent", standin.base_url()))
        .header(COOKIE, &cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    location(&response)
}

#[tokio::test]
async fn a_follower_is_identified_once_by_a_ticket_the_site_redeems() {
    let (standin, app, base) = authorized().await;
    let callback = to_callback(&base, &standin, "snsapi_userinfo", "alice", true).await;
    assert!(callback.starts_with(&format!("{base}/wechat/oauth/callback?code=")), "{callback}");
    let http = browser();
    let response = http.get(&callback).send().await.unwrap();
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    let back = url::Url::parse(&location(&response)).unwrap();
    assert_eq!(back.origin().ascii_serialization(), SHOP);
    assert_eq!(back.path(), "/bind");
    let pairs: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    assert_eq!(pairs[0], ("from".to_owned(), "menu".to_owned()), "the site's own query is kept");
    assert_eq!(pairs.len(), 2, "only the ticket is added, never an openid: {pairs:?}");
    let ticket = pairs[1].1.clone();
    assert_eq!(pairs[1].0, "wx_ticket");
    // The callback URL again (a reload): refused, WeChat not called again.
    let exchanges = standin.calls("sns_access_token");
    let (status, body) = page(http.get(&callback).send().await.unwrap()).await;
    assert_eq!((status, title(&body)), (StatusCode::CONFLICT, "授权链接已使用"));
    assert_eq!(standin.calls("sns_access_token"), exchanges);

    // The site's server redeems it (the account's backend route; the demo user locally), once.
    let redeem = redeem_url(&base);
    let answer: Value = http.post(&redeem).json(&json!({"ticket": ticket})).send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["code"], 0, "{answer}");
    let who = &answer["data"];
    assert_eq!(who["authorizer_appid"], ACCOUNT);
    assert_eq!(who["openid"], wechat_standin::openid_for(ACCOUNT, "alice"));
    assert_eq!(who["unionid"], wechat_standin::unionid_for("alice"));
    assert_eq!((who["scope"].as_str(), who["user_ref"].as_str()), (Some("snsapi_userinfo"), Some("shop-user-42")));
    assert_eq!(who["profile"]["nickname"], "微信用户 alice");
    let again = http.post(&redeem).json(&json!({"ticket": ticket})).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::GONE);
    assert_eq!(again.json::<Value>().await.unwrap()["code"], 1016);
    let unknown = http.post(&redeem).json(&json!({"ticket": "not-a-ticket"})).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let malformed = http.post(&redeem).body("{").send().await.unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);

    // snsapi_base is silent on WeChat's side and fetches no profile.
    let callback = to_callback(&base, &standin, "snsapi_base", "bob", true).await;
    let ticket = url::Url::parse(&location(&http.get(&callback).send().await.unwrap()))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "wx_ticket")
        .unwrap()
        .1
        .into_owned();
    let userinfo = standin.calls("sns_userinfo");
    // A dashboard user who does not own the account learns nothing, nor does a server redeeming
    // it on another account's route; the ticket survives both.
    let mallory = Caller::Dashboard("jwt:https://idp.example:mallory".to_owned());
    assert!(matches!(
        app.platform.web_auth().redeem_web_ticket(&mallory, ACCOUNT, &Secret::new(ticket.clone()), None).await,
        Err(RedeemError::NotFound)
    ));
    let elsewhere = http
        .post(format!("{base}/wechat/backend/authorizers/{NO_WEB}/web-tickets"))
        .json(&json!({"ticket": ticket}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (elsewhere.status(), elsewhere.json::<Value>().await.unwrap()["code"].as_i64()),
        (StatusCode::NOT_FOUND, Some(1015)),
        "a ticket of another account"
    );
    let who = app
        .platform
        .web_auth()
        .redeem_web_ticket(&Caller::Dashboard(LOCAL_DEMO_USER.to_owned()), ACCOUNT, &Secret::new(ticket), None)
        .await
        .unwrap();
    assert_eq!(
        (who["openid"].as_str(), who["scope"].as_str()),
        (Some(wechat_standin::openid_for(ACCOUNT, "bob").as_str()), Some("snsapi_base"))
    );
    assert_eq!(who["profile"], Value::Null);
    assert_eq!(standin.calls("sns_userinfo"), userinfo, "no userinfo call for snsapi_base");
    // A ticket lasts two minutes.
    let callback = to_callback(&base, &standin, "snsapi_base", "carol", true).await;
    let back = location(&http.get(&callback).send().await.unwrap());
    let ticket = back.split("wx_ticket=").nth(1).unwrap().to_owned();
    standin.advance_clock(shared::service::WEB_TICKET_SECS + 1);
    assert_eq!(
        http.post(&redeem).json(&json!({"ticket": ticket})).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

/// An account, the start's query, and the page it must get (status, title).
type Refusal<'a> = (&'a str, Vec<(&'a str, &'a str)>, StatusCode, &'a str);

#[tokio::test]
async fn every_refusal_has_its_page_and_nothing_leaves_for_an_unknown_origin() {
    let (standin, _app, base) = authorized().await;
    let http = browser();
    let start = |appid: &str, query: &[(&str, &str)]| {
        http.get(format!("{base}/wechat/oauth/{appid}/authorize")).query(query).send()
    };
    let shop = format!("{SHOP}/bind");
    let cases: [Refusal; 6] = [
        (ACCOUNT, vec![("scope", "snsapi_login"), ("return_to", &shop)], StatusCode::BAD_REQUEST, "无效的授权请求"),
        (
            ACCOUNT,
            vec![("scope", "snsapi_base"), ("return_to", "https://evil.example/x")],
            StatusCode::BAD_REQUEST,
            "无效的返回地址",
        ),
        (
            ACCOUNT,
            vec![("scope", "snsapi_base"), ("return_to", "https://shop.example.com.evil.example/")],
            StatusCode::BAD_REQUEST,
            "无效的返回地址",
        ),
        (ACCOUNT, vec![("scope", "snsapi_base")], StatusCode::BAD_REQUEST, "无效的授权请求"),
        (
            NO_WEB,
            vec![("scope", "snsapi_base"), ("return_to", &shop)],
            StatusCode::FORBIDDEN,
            "公众号未授予网页服务权限",
        ),
        (
            "wx9999999999999999",
            vec![("scope", "snsapi_base"), ("return_to", &shop)],
            StatusCode::NOT_FOUND,
            "公众号未授权",
        ),
    ];
    for (appid, query, status, expected) in cases {
        let (got, body) = page(start(appid, &query).await.unwrap()).await;
        assert_eq!((got, title(&body)), (status, expected), "{appid} {query:?}");
    }
    // A public link that names a user_ref is refused: only a minted start may bind.
    let (got, body) = page(
        start(ACCOUNT, &[("scope", "snsapi_base"), ("return_to", &shop), ("user_ref", "shop-user-42")]).await.unwrap(),
    )
    .await;
    assert_eq!((got, title(&body)), (StatusCode::BAD_REQUEST, "无效的授权请求"));
    assert!(body.contains("web-starts"), "{body}");
    // A start that is unknown, or used once already, or opened for another account.
    let (got, body) = page(start(ACCOUNT, &[("start", "not-a-start")]).await.unwrap()).await;
    assert_eq!((got, title(&body)), (StatusCode::BAD_REQUEST, "授权链接无效"));
    let link = minted(&base, "snsapi_base", None).await;
    let token = link.split("start=").nth(1).unwrap().to_owned();
    let (got, body) = page(start(NO_WEB, &[("start", &token)]).await.unwrap()).await;
    assert_eq!((got, title(&body)), (StatusCode::BAD_REQUEST, "授权链接无效"), "minted for another account");
    assert_eq!(http.get(&link).send().await.unwrap().status(), StatusCode::FOUND);
    let (got, body) = page(http.get(&link).send().await.unwrap()).await;
    assert_eq!((got, title(&body)), (StatusCode::BAD_REQUEST, "授权链接无效"), "single use");
    // What a mint refuses, naming the field (the backend route).
    let mint = format!("{base}/wechat/backend/authorizers/{ACCOUNT}/web-starts");
    let long = "x".repeat(shared::service::MAX_USER_REF + 1);
    for (body, says) in [
        (json!({"scope": "snsapi_base", "return_to": shop, "user_ref": long}), "user_ref"),
        (json!({"scope": "snsapi_login", "return_to": shop}), "scope"),
        (json!({"scope": "snsapi_base", "return_to": "https://evil.example/"}), "return_to"),
    ] {
        let answer: Value = http.post(&mint).json(&body).send().await.unwrap().json().await.unwrap();
        assert_eq!(answer["code"], 1001, "{answer}");
        assert!(answer["msg"].as_str().unwrap().contains(says), "{answer}");
    }
    // An account whose owner set no origins (here: took them away): web authorization is off.
    let cleared = http
        .put(format!("{base}/wechat/authorizers/{NO_WEB}/web-origins"))
        .json(&json!({"origins": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.json::<Value>().await.unwrap()["data"]["origins"], json!([]));
    let (got, body) = page(start(NO_WEB, &[("scope", "snsapi_base"), ("return_to", &shop)]).await.unwrap()).await;
    assert_eq!((got, title(&body)), (StatusCode::NOT_FOUND, "网页授权未开启"));

    // Declined on WeChat's page: no code; a page with the way back, nothing to redeem.
    let callback = to_callback(&base, &standin, "snsapi_userinfo", "dave", false).await;
    assert!(!callback.contains("code="), "{callback}");
    let (status, body) = page(http.get(&callback).send().await.unwrap()).await;
    assert_eq!((status, title(&body)), (StatusCode::OK, "你已拒绝授权"));
    assert!(body.contains(&format!("href=\"{SHOP}/bind?from=menu\"")), "{body}");

    // A forged state, a state for another account: refused before WeChat is called.
    let exchanges = standin.calls("sns_access_token");
    let callback = to_callback(&base, &standin, "snsapi_base", "erin", true).await;
    let forged = callback.replace("state=", "state=x");
    let (status, body) = page(http.get(&forged).send().await.unwrap()).await;
    assert_eq!((status, title(&body)), (StatusCode::FORBIDDEN, "无效的授权请求"));
    let other = callback.replace(&format!("appid={ACCOUNT}"), &format!("appid={NO_WEB}"));
    assert_eq!(page(http.get(&other).send().await.unwrap()).await.0, StatusCode::FORBIDDEN);
    assert_eq!(standin.calls("sns_access_token"), exchanges);

    // WeChat says the code was used (40163), or is invalid (40029): a page for each.
    standin.inject_fault("sns_access_token", Fault::Errcode(40163), 1);
    let (status, body) = page(http.get(&callback).send().await.unwrap()).await;
    assert_eq!((status, title(&body)), (StatusCode::CONFLICT, "授权码已使用"));
    let callback = to_callback(&base, &standin, "snsapi_base", "erin", true).await;
    standin.advance_clock(301);
    let (status, body) = page(http.get(&callback).send().await.unwrap()).await;
    assert_eq!((status, title(&body)), (StatusCode::BAD_REQUEST, "授权码无效"), "a code expires after 5 minutes");
    // A state expires after 10 minutes.
    let callback = to_callback(&base, &standin, "snsapi_base", "erin", true).await;
    standin.advance_clock(shared::service::WEB_STATE_SECS + 1);
    let (status, body) = page(http.get(&callback).send().await.unwrap()).await;
    assert_eq!((status, title(&body)), (StatusCode::BAD_REQUEST, "授权已过期"));

    // The component token WeChat no longer accepts is refreshed once and the code still works.
    let callback = to_callback(&base, &standin, "snsapi_base", "frank", true).await;
    standin.inject_fault("sns_access_token", Fault::Errcode(40001), 1);
    let response = http.get(&callback).send().await.unwrap();
    assert!(location(&response).starts_with(&format!("{SHOP}/bind?from=menu&wx_ticket=")));
}

#[tokio::test]
async fn the_stand_in_holds_wechats_rules_for_web_authorization() {
    let (standin, app, base) = authorized().await;
    let client = crate::support::client(&standin);
    let callback = to_callback(&base, &standin, "snsapi_userinfo", "grace", true).await;
    let code = Secret::new(
        url::Url::parse(&callback).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned(),
    );
    // The authorizer's token where the component token belongs: 48001, the code not spent.
    let authorizer = app.platform.store().authorizer(ACCOUNT).await.unwrap().unwrap();
    let err = client.web_identity(&authorizer.access_token, ACCOUNT, &code).await.unwrap_err();
    assert_eq!(err.errcode(), Some(48001));
    let component = app.platform.component_token(None).await.unwrap();
    // Another account's appid with this code: 40029.
    assert_eq!(client.web_identity(&component, NO_WEB, &code).await.unwrap_err().errcode(), Some(40029));
    let identity = client.web_identity(&component, ACCOUNT, &code).await.unwrap();
    assert_eq!(identity.openid, wechat_standin::openid_for(ACCOUNT, "grace"));
    // Single use.
    assert_eq!(client.web_identity(&component, ACCOUNT, &code).await.unwrap_err().errcode(), Some(40163));
    // userinfo: today's fields (no sex or region), and only for snsapi_userinfo.
    let info = client.web_profile(&identity.access_token, &identity.openid).await.unwrap();
    assert!(info.nickname.as_deref().is_some_and(|n| !n.is_empty()) && info.headimgurl.is_some(), "{info:?}");
    let raw: serde_json::Value = shared::outbound::client_builder()
        .build()
        .unwrap()
        .get(format!("{}/sns/userinfo", standin.base_url()))
        .query(&[("access_token", identity.access_token.expose()), ("openid", identity.openid.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((raw["sex"].as_i64(), raw["province"].as_str(), raw["city"].as_str()), (Some(0), Some(""), Some("")));
    assert_eq!(client.web_profile(&identity.access_token, "o_someone_else").await.unwrap_err().errcode(), Some(40003));
    let callback = to_callback(&base, &standin, "snsapi_base", "grace", true).await;
    let code = Secret::new(
        url::Url::parse(&callback).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned(),
    );
    let base_identity = client.web_identity(&component, ACCOUNT, &code).await.unwrap();
    assert_eq!(
        client.web_profile(&base_identity.access_token, &base_identity.openid).await.unwrap_err().errcode(),
        Some(48001)
    );
    // The authorize page: wrong order, a long state, a foreign redirect, an account without set 4.
    let http = browser();
    let page_for = |query: String| http.get(format!("{}/connect/oauth2/authorize?{query}", standin.base_url())).send();
    let component_appid = crate::support::appid();
    let redirect =
        url::form_urlencoded::byte_serialize(format!("{base}/wechat/oauth/callback").as_bytes()).collect::<String>();
    let bad = [
        format!(
            "redirect_uri={redirect}&appid={ACCOUNT}&response_type=code&scope=snsapi_base&state=s&component_appid={component_appid}"
        ),
        format!(
            "appid={ACCOUNT}&redirect_uri={redirect}&response_type=code&scope=snsapi_base&state={}&component_appid={component_appid}",
            "s".repeat(129)
        ),
        format!(
            "appid={ACCOUNT}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&response_type=code&scope=snsapi_base&state=s&component_appid={component_appid}"
        ),
        format!(
            "appid={NO_WEB}&redirect_uri={redirect}&response_type=code&scope=snsapi_base&state=s&component_appid={component_appid}"
        ),
    ];
    for query in bad {
        let (status, body) = page(page_for(query.clone()).await.unwrap()).await;
        assert_eq!((status, title(&body)), (StatusCode::OK, "该链接无法访问"), "{query}");
    }
}

#[tokio::test]
async fn verification_files_are_served_exactly_and_nothing_else_is() {
    let app =
        crate::support::memory_app_with(&[("DOMAIN_VERIFICATION_FILES", "MP_verify_Ab12.txt=Ab12Cd34".to_owned())]);
    let get = |path: &str| {
        let request = lambda_http::http::Request::builder().uri(path).body(lambda_http::Body::Empty).unwrap();
        crate::support::Function::WebOauth.handle(&app, lambda_http::Request::from(request))
    };
    let response = get("/MP_verify_Ab12.txt").await;
    assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(crate::support::status_and_body(response), (200, "Ab12Cd34".to_owned()));
    for path in ["/MP_verify_other.txt", "/robots.txt", "/MP_verify_Ab12.txt.bak", "/wechat/oauth/x"] {
        assert_eq!(crate::support::status_and_body(get(path).await).0, 404, "{path}");
    }
    // Without OAUTH_* settings, nothing starts (closed by default).
    let started =
        app.platform.web_auth().start_web_authorization(ACCOUNT, "snsapi_base", "https://shop.example.com/").await;
    assert!(matches!(started, Err(shared::service::WebStartError::NotConfigured)), "{started:?}");
}

/// The ticket the browser brings back to the shop after `user` allowed (`snsapi_base`).
async fn ticket_for(base: &str, standin: &StandIn, user: &str) -> String {
    let callback = to_callback(base, standin, "snsapi_base", user, true).await;
    let back = location(&browser().get(&callback).send().await.unwrap());
    back.split("wx_ticket=").nth(1).unwrap().to_owned()
}

#[tokio::test]
async fn the_site_binds_a_follower_to_its_own_user_and_finds_or_removes_it_from_either_side() {
    let (standin, _app, base) = authorized().await;
    let http = browser();
    let redeem = redeem_url(&base);
    let bindings = format!("{base}/wechat/authorizers/{ACCOUNT}/bindings");
    let alice = wechat_standin::openid_for(ACCOUNT, "alice");
    // The site confirms the user it started with (its session's): bound.
    let ticket = ticket_for(&base, &standin, "alice").await;
    let answer: Value = http
        .post(&redeem)
        .json(&json!({"ticket": ticket, "user_ref": "shop-user-42"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["code"], 0, "{answer}");
    assert_eq!(answer["data"]["binding"]["openid"], alice.as_str());
    assert_eq!(answer["data"]["binding"]["user_ref"], "shop-user-42");
    assert_eq!(answer["data"]["binding"]["unionid"], wechat_standin::unionid_for("alice"));
    // Found from either side, in both families.
    for query in [format!("openid={alice}"), "user_ref=shop-user-42".to_owned()] {
        for url in [bindings.clone(), bindings.replace("/wechat/authorizers/", "/wechat/backend/authorizers/")] {
            let found: Value = http.get(format!("{url}?{query}")).send().await.unwrap().json().await.unwrap();
            assert_eq!(
                (found["data"]["openid"].as_str(), found["data"]["user_ref"].as_str()),
                (Some(alice.as_str()), Some("shop-user-42")),
                "{url}?{query}"
            );
        }
    }
    // A link made for user 42 but redeemed by the site for another session's user: nothing bound.
    let ticket = ticket_for(&base, &standin, "mallory").await;
    let refused = http.post(&redeem).json(&json!({"ticket": ticket, "user_ref": "shop-user-7"})).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(refused.json::<Value>().await.unwrap()["code"], 1018);
    // The binding CSRF: mallory starts from a public link (anyone can make one; it carries no
    // user_ref), stops at the ticket, and gets the shop's logged-in victim to open it. The shop
    // redeems it for its session's user: refused, nothing bound.
    let public = format!(
        "{base}/wechat/oauth/{ACCOUNT}/authorize?scope=snsapi_base&return_to={}",
        url::form_urlencoded::byte_serialize(format!("{SHOP}/bind?from=menu").as_bytes()).collect::<String>()
    );
    let callback = from_start(&base, &standin, &public, "snsapi_base", "mallory", true).await;
    let back = location(&browser().get(&callback).send().await.unwrap());
    let ticket = back.split("wx_ticket=").nth(1).unwrap().to_owned();
    let refused = http.post(&redeem).json(&json!({"ticket": ticket, "user_ref": "shop-user-99"})).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT, "a public start binds no one");
    let none = http.get(format!("{bindings}?user_ref=shop-user-99")).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
    let mallory = wechat_standin::openid_for(ACCOUNT, "mallory");
    let none = http.get(format!("{bindings}?openid={mallory}")).send().await.unwrap();
    assert_eq!(
        (none.status(), none.json::<Value>().await.unwrap()["code"].as_i64()),
        (StatusCode::NOT_FOUND, Some(1017))
    );
    // Another follower for a user already bound: identified, not bound, told why.
    let ticket = ticket_for(&base, &standin, "bob").await;
    let answer: Value = http
        .post(&redeem)
        .json(&json!({"ticket": ticket, "user_ref": "shop-user-42"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["data"]["openid"], wechat_standin::openid_for(ACCOUNT, "bob").as_str());
    assert_eq!(answer["data"]["binding"], Value::Null);
    assert!(answer["data"]["binding_refused"].as_str().unwrap().contains("already bound"), "{answer}");
    // Removed by the site's user id: both sides go.
    let removed: Value =
        http.delete(format!("{bindings}?user_ref=shop-user-42")).send().await.unwrap().json().await.unwrap();
    assert_eq!(removed["data"]["openid"], alice.as_str());
    for query in [format!("openid={alice}"), "user_ref=shop-user-42".to_owned()] {
        assert_eq!(http.get(format!("{bindings}?{query}")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    }
    assert_eq!(http.delete(format!("{bindings}?openid={alice}")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    // Exactly one side must be named.
    for query in ["", "?openid=a&user_ref=b", "?openid="] {
        assert_eq!(
            http.get(format!("{bindings}{query}")).send().await.unwrap().status(),
            StatusCode::BAD_REQUEST,
            "{query}"
        );
    }
}

#[tokio::test]
async fn bindings_are_owner_scoped() {
    let (standin, app, base) = authorized().await;
    let ticket = ticket_for(&base, &standin, "alice").await;
    let owner = Caller::Dashboard(LOCAL_DEMO_USER.to_owned());
    let who = app
        .platform
        .web_auth()
        .redeem_web_ticket(&owner, ACCOUNT, &Secret::new(ticket), Some("shop-user-42"))
        .await
        .unwrap();
    assert!(who["binding"].is_object(), "{who}");
    let mallory = Caller::Dashboard("jwt:https://idp.example:mallory".to_owned());
    let side = shared::service::BindingSide::UserRef("shop-user-42");
    assert!(matches!(
        app.platform.web_auth().binding(&mallory, ACCOUNT, side).await,
        Err(shared::service::ActError::NotFound)
    ));
    assert!(matches!(
        app.platform.web_auth().unbind(&mallory, ACCOUNT, side).await,
        Err(shared::service::ActError::NotFound)
    ));
    assert!(app.platform.web_auth().binding(&owner, ACCOUNT, side).await.unwrap().is_some(), "mallory removed nothing");
    let backend = Caller::Backend("iam:arn:aws:iam::123456789012:role/shop".to_owned());
    assert_eq!(
        app.platform.web_auth().unbind(&backend, ACCOUNT, side).await.unwrap().unwrap().user_ref,
        "shop-user-42"
    );
}
