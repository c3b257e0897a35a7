//! The HTTP surface: WeChat's API, the authorization page, and the control API.

use std::collections::HashMap;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::world::{Account, Fault, World, WxError, millis};
use crate::{StandIn, oauth, page};

pub(crate) fn router(standin: StandIn) -> Router {
    Router::new()
        .route("/cgi-bin/component/api_start_push_ticket", post(start_push_ticket))
        .route("/cgi-bin/component/api_component_token", post(component_token))
        .route("/cgi-bin/component/api_create_preauthcode", post(create_preauthcode))
        .route("/cgi-bin/component/api_query_auth", post(query_auth))
        .route("/cgi-bin/component/api_authorizer_token", post(authorizer_token))
        .route("/cgi-bin/component/api_get_authorizer_info", post(authorizer_info))
        .route("/cgi-bin/component/api_get_authorizer_list", post(authorizer_list))
        .route("/cgi-bin/message/custom/send", post(custom_send))
        .route("/cgi-bin/message/template/send", post(template_send))
        .route("/cgi-bin/template/api_add_template", post(add_template))
        .route("/cgi-bin/template/get_all_private_template", get(private_templates))
        .route("/cgi-bin/user/get", get(user_get))
        .route("/cgi-bin/getcallbackip", get(callback_ips))
        .route("/cgi-bin/user/info/batchget", post(user_info_batch))
        .route("/standin/followers", post(seed_followers))
        .route("/standin/template-sends", get(template_sends))
        .route("/cgi-bin/componentloginpage", get(page::login_page))
        .route("/wxaopen/safe/bindcomponent", get(page::login_page))
        .route("/safe/bindcomponent", get(page::login_page))
        .route("/standin/authorize", post(page::authorize))
        .route("/connect/oauth2/authorize", get(oauth::authorize))
        .route("/standin/oauth/consent", post(oauth::consent))
        .route("/standin/wechat-user", get(oauth::set_user))
        .route("/standin/idp-user", get(crate::idp::set_user))
        .route("/standin/idp/authorize", get(crate::idp::authorize))
        .route("/sns/oauth2/component/access_token", get(sns_access_token))
        .route("/sns/userinfo", get(sns_userinfo))
        .route("/standin/health", get(|| async { "ok" }))
        .route("/standin/accounts", get(list_accounts).post(add_account))
        .route("/standin/push/ticket", post(push_ticket))
        .route("/standin/push/text", post(push_text))
        .route("/standin/push/event", post(push_event))
        .route("/standin/scan", post(scan))
        .route("/standin/tap", post(tap))
        .route("/standin/push/unauthorized", post(push_unauthorized))
        .route("/standin/sent", get(sent))
        .route("/standin/faults", post(faults))
        .route("/standin/clock", post(clock))
        .route("/standin/calls", get(calls))
        .route("/standin/release-test", post(release_test))
        .with_state(standin.clone())
        .merge(crate::media::router(standin.clone()))
        .merge(crate::menu::router(standin.clone()))
        .merge(crate::tags::router(standin.clone()))
        .merge(crate::drafts::router(standin.clone()))
        .merge(crate::mass::router(standin.clone()))
        .merge(crate::qrcodes::router(standin.clone()))
        .merge(crate::jssdk::router(standin.clone()))
        .merge(crate::quota::router(standin))
}

pub(crate) type Params = Query<HashMap<String, String>>;

fn wx_error((errcode, errmsg): WxError) -> Response {
    axum::Json(json!({"errcode": errcode, "errmsg": format!("{errmsg} rid: standin-{errcode}")})).into_response()
}

/// Runs one API call the way WeChat would: the injected fault first, then JSON parsing (47001),
/// then `rule` over the world.
pub(crate) async fn api(
    standin: &StandIn,
    endpoint: &str,
    body: &Bytes,
    rule: impl FnOnce(&mut World, &Value) -> Result<Value, WxError>,
) -> Response {
    let fault = standin.world().enter(endpoint);
    match fault {
        Some(Fault::Errcode(code)) => return wx_error((code, "injected fault")),
        Some(Fault::Status(status)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, "injected fault").into_response();
        }
        Some(Fault::DelayMs(ms)) => tokio::time::sleep(millis(ms)).await,
        Some(Fault::Drop) => return dropped(),
        Some(Fault::Redirect(location)) => {
            return (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, location)], "").into_response();
        }
        Some(Fault::DropAfter | Fault::SlowAfterMs(_)) | None => {}
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return wx_error((47001, "data format error"));
    };
    let result = {
        let mut world = standin.world();
        // The call's token, read inside `rule`, counts it against the account's daily quota.
        *world.current_endpoint.get_mut() = Some(endpoint.to_owned());
        let result = rule(&mut world, &value);
        *world.current_endpoint.get_mut() = None;
        result
    };
    match fault {
        Some(Fault::DropAfter) => return dropped(),
        Some(Fault::SlowAfterMs(ms)) => tokio::time::sleep(millis(ms)).await,
        _ => {}
    }
    match result {
        Ok(value) => axum::Json(value).into_response(),
        Err(err) => wx_error(err),
    }
}

/// Headers promise a body that never comes: the client sees the connection drop mid-answer.
fn dropped() -> Response {
    let stream = futures_util::stream::once(async { Err::<Bytes, _>(std::io::Error::other("connection dropped")) });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, "64")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn component_token_param(params: &Params) -> Option<&str> {
    params.get("component_access_token").or_else(|| params.get("access_token")).map(String::as_str)
}

async fn start_push_ticket(State(s): State<StandIn>, body: Bytes) -> Response {
    let (appid, secret) = (s.config().component_appid.clone(), s.config().component_secret.clone());
    let response = api(&s, "api_start_push_ticket", &body, |world, body| {
        world.check_component(body, &appid)?;
        if body.get("component_secret").and_then(Value::as_str) != Some(secret.as_str()) {
            return Err((40125, "invalid appsecret"));
        }
        Ok(json!({"errcode": 0, "errmsg": "ok"}))
    })
    .await;
    if response.status().is_success() {
        // WeChat resumes pushing; the stand-in pushes one right away.
        tokio::spawn(async move {
            tokio::time::sleep(millis(50)).await;
            s.push_ticket().await;
        });
    }
    response
}

async fn component_token(State(s): State<StandIn>, body: Bytes) -> Response {
    let (appid, secret) = (s.config().component_appid.clone(), s.config().component_secret.clone());
    api(&s, "api_component_token", &body, |world, body| {
        world.check_component(body, &appid)?;
        if body.get("component_appsecret").and_then(Value::as_str) != Some(secret.as_str()) {
            return Err((40125, "invalid appsecret"));
        }
        world.issue_component_token(body.get("component_verify_ticket").and_then(Value::as_str))
    })
    .await
}

async fn create_preauthcode(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    let (appid, grace) = (s.config().component_appid.clone(), s.config().token_grace_secs);
    api(&s, "api_create_preauthcode", &body, |world, body| {
        world.check_component_token(component_token_param(&params), grace)?;
        world.check_component(body, &appid)?;
        Ok(world.issue_pre_auth_code())
    })
    .await
}

async fn query_auth(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    let (appid, grace) = (s.config().component_appid.clone(), s.config().token_grace_secs);
    api(&s, "api_query_auth", &body, |world, body| {
        world.check_component_token(component_token_param(&params), grace)?;
        world.check_component(body, &appid)?;
        world.query_auth(body.get("authorization_code").and_then(Value::as_str))
    })
    .await
}

async fn authorizer_token(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    let (appid, grace, rotate) =
        (s.config().component_appid.clone(), s.config().token_grace_secs, s.config().rotate_refresh_tokens);
    api(&s, "api_authorizer_token", &body, |world, body| {
        world.check_component_token(component_token_param(&params), grace)?;
        world.check_component(body, &appid)?;
        world.authorizer_token(body, rotate)
    })
    .await
}

async fn authorizer_info(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    let (appid, grace) = (s.config().component_appid.clone(), s.config().token_grace_secs);
    api(&s, "api_get_authorizer_info", &body, |world, body| {
        world.check_component_token(component_token_param(&params), grace)?;
        world.check_component(body, &appid)?;
        world.authorizer_info(body)
    })
    .await
}

async fn authorizer_list(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    let (appid, grace) = (s.config().component_appid.clone(), s.config().token_grace_secs);
    api(&s, "api_get_authorizer_list", &body, |world, body| {
        world.check_component_token(component_token_param(&params), grace)?;
        world.check_component(body, &appid)?;
        Ok(world.authorizer_list(body))
    })
    .await
}

async fn template_send(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    let before = s.world().template_sends.len();
    let response = api(&s, "template_send", &body, |world, body| {
        world.template_send(params.get("access_token").map(String::as_str), body)
    })
    .await;
    // WeChat reports the delivery later, as a push to the account's message URL.
    let sent: Vec<_> = s.world().template_sends[before..].to_vec();
    for send in sent {
        let s = s.clone();
        tokio::spawn(async move {
            tokio::time::sleep(millis(50)).await;
            let xml = s.world().template_finished_xml(&send);
            // Delivered as WeChat delivers: retried while not answered 200.
            s.deliver_message(&send.authorizer_appid, &send.touser, &xml).await;
        });
    }
    response
}

async fn add_template(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "add_template", &body, |world, body| {
        world.add_template(params.get("access_token").map(String::as_str), body)
    })
    .await
}

async fn private_templates(State(s): State<StandIn>, params: Params) -> Response {
    api(&s, "private_templates", &Bytes::from_static(b"{}"), |world, _| {
        world.private_templates(params.get("access_token").map(String::as_str))
    })
    .await
}

async fn sns_access_token(State(s): State<StandIn>, params: Params) -> Response {
    let (component, grace) = (s.config().component_appid.clone(), s.config().token_grace_secs);
    api(&s, "sns_access_token", &Bytes::from_static(b"{}"), |world, _| world.oauth_exchange(&params, &component, grace))
        .await
}

async fn sns_userinfo(State(s): State<StandIn>, params: Params) -> Response {
    api(&s, "sns_userinfo", &Bytes::from_static(b"{}"), |world, _| world.sns_userinfo(&params)).await
}

async fn user_get(State(s): State<StandIn>, params: Params) -> Response {
    api(&s, "user_get", &Bytes::from_static(b"{}"), |world, _| {
        world.user_get(params.get("access_token").map(String::as_str), params.get("next_openid").map(String::as_str))
    })
    .await
}

async fn callback_ips(State(s): State<StandIn>, params: Params) -> Response {
    api(&s, "getcallbackip", &Bytes::from_static(b"{}"), |world, _| {
        world.callback_ips(params.get("access_token").map(String::as_str))
    })
    .await
}

async fn user_info_batch(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "user_info_batch", &body, |world, body| {
        world.user_info_batch(params.get("access_token").map(String::as_str), body)
    })
    .await
}

#[derive(Deserialize)]
struct SeedFollowers {
    appid: String,
    #[serde(default = "seed_prefix")]
    prefix: String,
    count: usize,
}

fn seed_prefix() -> String {
    "o_seed_".to_owned()
}

async fn seed_followers(State(s): State<StandIn>, axum::Json(seed): axum::Json<SeedFollowers>) -> Response {
    s.seed_followers(&seed.appid, &seed.prefix, seed.count);
    StatusCode::NO_CONTENT.into_response()
}

async fn template_sends(State(s): State<StandIn>) -> Response {
    axum::Json(s.world().template_sends.clone()).into_response()
}

async fn custom_send(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "custom_send", &body, |world, body| world.custom_send(params.get("access_token").map(String::as_str), body))
        .await
}

// ---- control API ----------------------------------------------------------------------------

async fn list_accounts(State(s): State<StandIn>) -> Response {
    axum::Json(s.world().account_list()).into_response()
}

async fn add_account(State(s): State<StandIn>, axum::Json(account): axum::Json<Account>) -> Response {
    s.add_account(account);
    StatusCode::NO_CONTENT.into_response()
}

async fn push_ticket(State(s): State<StandIn>) -> Response {
    axum::Json(s.push_ticket().await).into_response()
}

#[derive(Deserialize)]
struct TextPush {
    appid: String,
    #[serde(default = "default_openid")]
    openid: String,
    content: String,
}

#[derive(Deserialize)]
struct EventPush {
    appid: String,
    #[serde(default = "default_openid")]
    openid: String,
    event: String,
}

#[derive(Deserialize)]
struct AppidOnly {
    appid: String,
}

fn default_openid() -> String {
    "o6_bmjrPTlm6_2sgVt7hMZOPfL2M".into()
}

async fn push_text(State(s): State<StandIn>, axum::Json(push): axum::Json<TextPush>) -> Response {
    axum::Json(s.push_text(&push.appid, &push.openid, &push.content).await).into_response()
}

async fn push_event(State(s): State<StandIn>, axum::Json(push): axum::Json<EventPush>) -> Response {
    axum::Json(s.push_event(&push.appid, &push.openid, &push.event).await).into_response()
}

/// Someone scans a parametric QR code (`{ticket, openid}`): the push it causes; 404 when no
/// live code has that ticket.
async fn scan(State(s): State<StandIn>, axum::Json(scan): axum::Json<ScanRequest>) -> Response {
    match s.scan_qrcode(&scan.ticket, &scan.openid).await {
        Some(pushed) => axum::Json(pushed).into_response(),
        None => (StatusCode::NOT_FOUND, "no live QR code with that ticket").into_response(),
    }
}

/// A follower taps a menu button (`{appid, openid, key}`): the `CLICK` push; 404 when the
/// account's menu has no click button with that key.
async fn tap(State(s): State<StandIn>, axum::Json(tap): axum::Json<TapRequest>) -> Response {
    match s.tap_menu(&tap.appid, &tap.openid, &tap.key).await {
        Some(pushed) => axum::Json(pushed).into_response(),
        None => (StatusCode::NOT_FOUND, "no menu button with that key").into_response(),
    }
}

#[derive(Deserialize)]
struct ScanRequest {
    ticket: String,
    openid: String,
}

#[derive(Deserialize)]
struct TapRequest {
    appid: String,
    openid: String,
    key: String,
}

async fn push_unauthorized(State(s): State<StandIn>, axum::Json(push): axum::Json<AppidOnly>) -> Response {
    axum::Json(s.revoke(&push.appid).await).into_response()
}

async fn sent(State(s): State<StandIn>) -> Response {
    axum::Json(s.sent_messages()).into_response()
}

#[derive(Deserialize)]
struct FaultRequest {
    endpoint: String,
    fault: Fault,
    #[serde(default = "one")]
    count: usize,
}

fn one() -> usize {
    1
}

async fn faults(State(s): State<StandIn>, axum::Json(request): axum::Json<FaultRequest>) -> Response {
    s.inject_fault(&request.endpoint, request.fault, request.count);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct ClockRequest {
    advance_secs: i64,
}

async fn clock(State(s): State<StandIn>, axum::Json(request): axum::Json<ClockRequest>) -> Response {
    s.advance_clock(request.advance_secs);
    axum::Json(json!({"now": s.now()})).into_response()
}

async fn calls(State(s): State<StandIn>, params: Params) -> Response {
    let endpoint = params.get("endpoint").map_or("", String::as_str);
    axum::Json(json!({"endpoint": endpoint, "calls": s.calls(endpoint)})).into_response()
}

async fn release_test(State(s): State<StandIn>) -> Response {
    let report = s.release_test().await;
    let status = if report.passed() { StatusCode::OK } else { StatusCode::EXPECTATION_FAILED };
    (status, axum::Json(report)).into_response()
}
