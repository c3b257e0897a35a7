//! Web authorization on behalf of authorized accounts (代公众号网页授权), `docs/contract.md`,
//! "Web authorization":
//!
//! - `GET /wechat/oauth/{appid}/authorize?scope=snsapi_base|snsapi_userinfo&return_to=…[&user_ref=…]`
//!   (anyone: the follower's browser) → `302` to WeChat's authorize page for that account, or a
//!   page saying why not;
//! - `GET /wechat/oauth/callback?code=…&state=…&appid=…` (anyone: WeChat sends the browser
//!   here) → `302` to `return_to?wx_ticket=…`, or a page for each way it can fail;
//! - `POST /wechat/backend/oauth/tickets` `{"ticket": "…"}` (`AWS_IAM`: the site's server;
//!   the dashboard user in the local demo) → who the follower is, once;
//! - `GET /{name}.txt` (anyone) → a configured domain-verification file, exact bytes.
//!
//! Pages here carry single-use values in their URLs, so they send no `Referer`.

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Error, Request, RequestExt, Response};
use serde_json::Value;
use shared::Secret;
use shared::app::App;
use shared::service::{Caller, RedeemError, WebCallbackError, WebStartError};
use shared::store::TokenStore;
use shared::web::{self, DashboardCode, Referrer};

const FUNCTION: &str = "web-oauth";

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Start an authorization for the account.
    Authorize(String),
    /// WeChat's redirect back.
    Callback,
    /// A site's server redeems a ticket.
    Redeem,
    /// A domain-verification file.
    File(String),
}

/// The route, from the path (API Gateway's, or `cargo lambda watch`'s with its
/// `/lambda-url/web-oauth` prefix); `None` for anything else.
pub fn route(request: &Request) -> Option<Route> {
    let path = request.uri().path();
    let path = path.strip_prefix("/lambda-url/web-oauth").unwrap_or(path);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let valid_appid = |a: &str| a.len() == 18 && a.starts_with("wx") && a.bytes().all(|b| b.is_ascii_alphanumeric());
    let appid_param = request.path_parameters_ref().and_then(|p| p.first("appid")).map(str::to_owned);
    match (request.method(), segments.as_slice()) {
        (&Method::GET, ["wechat", "oauth", appid, "authorize"]) => {
            let appid = appid_param.unwrap_or_else(|| (*appid).to_owned());
            valid_appid(&appid).then_some(Route::Authorize(appid))
        }
        (&Method::GET, ["wechat", "oauth", "callback"]) => Some(Route::Callback),
        (&Method::POST, ["wechat", "backend", "oauth", "tickets"]) => Some(Route::Redeem),
        (&Method::GET, [name]) if name.ends_with(".txt") => Some(Route::File((*name).to_owned())),
        _ => None,
    }
}

fn page(status: StatusCode, title: &str, message: &str) -> Response<Body> {
    web::message_page(status, title, message, Referrer::None)
}

/// Handles one request.
///
/// # Errors
/// None in practice; the signature is lambda_http's.
pub async fn handle<S: TokenStore>(app: &App<S>, request: Request) -> Result<Response<Body>, Error> {
    let Some(route) = route(&request) else {
        tracing::warn!(function = FUNCTION, method = %request.method(), path = request.uri().path(), "no such route");
        return Ok(web::text(StatusCode::NOT_FOUND, "not found"));
    };
    let pairs = web::query_pairs(&request);
    let param = |name: &str| web::single_param(&pairs, name);
    Ok(match route {
        Route::File(name) => match app.platform.verification_file(&name) {
            Some(content) => web::text(StatusCode::OK, content.to_owned()),
            None => web::text(StatusCode::NOT_FOUND, "not found"),
        },
        Route::Authorize(appid) => {
            let (Ok(Some(scope)), Ok(Some(return_to)), Ok(user_ref)) =
                (param("scope"), param("return_to"), param("user_ref"))
            else {
                return Ok(page(
                    StatusCode::BAD_REQUEST,
                    "无效的授权请求",
                    "scope and return_to are required, once each (user_ref at most once).",
                ));
            };
            match app.platform.start_web_authorization(&appid, scope, return_to, user_ref).await {
                Ok(url) => web::redirect(&url),
                Err(err) => start_refused(&appid, &err),
            }
        }
        Route::Callback => {
            let Ok(Some(state)) = param("state") else {
                return Ok(page(
                    StatusCode::BAD_REQUEST,
                    "无效的授权请求",
                    "The authorization state is missing or repeated.",
                ));
            };
            let code = match param("code") {
                Ok(Some(code)) if !code.is_empty() && code.len() <= 512 => Some(Secret::new(code)),
                Ok(None) => None,
                _ => return Ok(page(StatusCode::BAD_REQUEST, "无效的授权请求", "The code is malformed or repeated.")),
            };
            let appid = param("appid").ok().flatten();
            match app.platform.finish_web_authorization(state, code, appid).await {
                Ok(url) => {
                    let mut response = web::redirect(&url);
                    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
                    response
                }
                Err(err) => callback_refused(&err),
            }
        }
        Route::Redeem => redeem(app, &request).await,
    })
}

async fn redeem<S: TokenStore>(app: &App<S>, request: &Request) -> Response<Body> {
    // The backend family: a named backend in a deployment; the local demo's user without one.
    let caller = match web::backend_caller(request, app.config.dashboard_auth, &app.config.backend_principals) {
        Ok(backend) => Caller::Backend(backend),
        Err(refusal) => return web::backend_refused(FUNCTION, &refusal),
    };
    let body: Value = serde_json::from_slice(web::body_bytes(request)).unwrap_or(Value::Null);
    let ticket = body.get("ticket").and_then(Value::as_str).filter(|t| !t.is_empty() && t.len() <= 64);
    let user_ref = match body.get("user_ref") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(r)) if !r.is_empty() && r.len() <= shared::service::MAX_USER_REF => Ok(Some(r.as_str())),
        Some(_) => Err(()),
    };
    let (Some(ticket), Ok(user_ref)) = (ticket, user_ref) else {
        return DashboardCode::BadParameter.respond(
            "the body must be {\"ticket\": \"…\"} (the wx_ticket the browser brought), with \"user_ref\" to bind the follower to that user",
        );
    };
    match app.platform.redeem_web_ticket(&caller, &Secret::new(ticket), user_ref).await {
        Ok(identity) => web::json_ok(identity),
        Err(RedeemError::NotFound) => {
            tracing::warn!(function = FUNCTION, "ticket unknown, expired or not the caller's");
            DashboardCode::TicketUnknown.respond("no such ticket (unknown, expired, or of another user's account)")
        }
        Err(RedeemError::Used) => {
            tracing::warn!(function = FUNCTION, "ticket redeemed twice");
            DashboardCode::TicketRedeemed.respond("this ticket was already redeemed")
        }
        Err(RedeemError::UserRefMismatch) => DashboardCode::UserRefMismatch
            .respond("this authorization was started for another user_ref: nothing was bound, and the ticket is spent"),
        Err(RedeemError::Store(err)) => {
            tracing::error!(function = FUNCTION, error = %err, "ticket not redeemed");
            DashboardCode::StoreUnavailable.respond("the store is unavailable; redeem again")
        }
    }
}

fn start_refused(appid: &str, err: &WebStartError) -> Response<Body> {
    let (status, title, message) = match err {
        WebStartError::NotConfigured => (
            StatusCode::NOT_FOUND,
            "网页授权未开启",
            "Web authorization is not configured on this platform (OAUTH_REDIRECT_URL, OAUTH_RETURN_ORIGINS).",
        ),
        WebStartError::BadScope => {
            (StatusCode::BAD_REQUEST, "无效的授权请求", "scope must be snsapi_base or snsapi_userinfo.")
        }
        WebStartError::ReturnNotAllowed => (
            StatusCode::BAD_REQUEST,
            "无效的返回地址",
            "return_to must be an absolute URL on one of the platform's allowed origins.",
        ),
        WebStartError::BadUserRef => {
            (StatusCode::BAD_REQUEST, "无效的授权请求", "user_ref must be 1 to 128 bytes without control characters.")
        }
        WebStartError::NotAuthorized => (
            StatusCode::NOT_FOUND,
            "公众号未授权",
            "This official account has not authorized the platform, or no longer does.",
        ),
        WebStartError::NoWebPermission => (
            StatusCode::FORBIDDEN,
            "公众号未授予网页服务权限",
            "The account did not grant the platform web service (网页服务, permission set 4); its admin must authorize again with it.",
        ),
        WebStartError::Store(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "暂时无法授权",
            "The platform is temporarily unavailable. Please try again in a moment.",
        ),
    };
    if status.is_server_error() {
        tracing::error!(function = FUNCTION, authorizer = %appid, error = %err, "web authorization not started");
    } else {
        tracing::warn!(function = FUNCTION, authorizer = %appid, error = %err, "web authorization refused");
    }
    page(status, title, message)
}

fn callback_refused(err: &WebCallbackError) -> Response<Body> {
    let (status, title, message) = match err {
        WebCallbackError::StateInvalid => (
            StatusCode::FORBIDDEN,
            "无效的授权请求",
            "This request did not come from an authorization the platform started.",
        ),
        WebCallbackError::StateExpired => (
            StatusCode::BAD_REQUEST,
            "授权已过期",
            "This authorization took too long. Please go back to the site and start again.",
        ),
        WebCallbackError::StateUsed => (
            StatusCode::CONFLICT,
            "授权链接已使用",
            "This authorization was already completed. Please go back to the site and start again.",
        ),
        WebCallbackError::Denied { return_to } => {
            tracing::info!(function = FUNCTION, "the follower declined");
            return denied_page(return_to);
        }
        WebCallbackError::CodeUsed => (
            StatusCode::CONFLICT,
            "授权码已使用",
            "WeChat says this code was already used (40163). Please start again from the site.",
        ),
        WebCallbackError::CodeInvalid => (
            StatusCode::BAD_REQUEST,
            "授权码无效",
            "WeChat says this code is invalid or has expired (40029). Please start again from the site.",
        ),
        WebCallbackError::Call(_) => (
            StatusCode::BAD_GATEWAY,
            "微信接口暂时不可用",
            "WeChat did not confirm who you are. Please go back to the site and try again.",
        ),
        WebCallbackError::Store(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "暂时无法完成授权",
            "The platform is temporarily unavailable. Please go back to the site and try again.",
        ),
    };
    if status.is_server_error() {
        tracing::error!(function = FUNCTION, error = %err, "web authorization failed");
    } else {
        tracing::warn!(function = FUNCTION, error = %err, "web authorization refused");
    }
    page(status, title, message)
}

/// The follower said no: a page that says so, with the way back to the site (an allowed origin).
fn denied_page(return_to: &str) -> Response<Body> {
    web::html(
        StatusCode::OK,
        format!(
            "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>你已拒绝授权</title></head>\
             <body style=\"font-family:sans-serif;text-align:center;margin-top:4em\"><h1 id=\"declined-title\">你已拒绝授权</h1>\
             <p id=\"message\">The site was not told who you are.</p><p><a id=\"back\" href=\"{}\">返回</a></p></body></html>",
            web::escape_html(return_to)
        ),
        Referrer::None,
    )
}
