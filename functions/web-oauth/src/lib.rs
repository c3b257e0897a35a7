//! Web authorization on behalf of authorized accounts (代公众号网页授权), `docs/contract.md`,
//! "Web authorization":
//!
//! - `GET /wechat/oauth/{appid}/authorize?scope=snsapi_base|snsapi_userinfo&return_to=…` (anyone:
//!   the follower's browser; identifies only) or `?start=…` (a start the site's server minted with
//!   account-actions' `POST …/web-starts`, single-use, the only kind that may bind a `user_ref`)
//!   → `302` to WeChat's authorize page for that account, or a page saying why not;
//! - `GET /wechat/oauth/callback?code=…&state=…&appid=…` (anyone: WeChat sends the browser
//!   here) → `302` to `return_to?wx_ticket=…`, or a page for each way it can fail;
//! - `GET /{name}.txt` (anyone) → a configured domain-verification file, exact bytes.
//!
//! The site's server redeems the ticket on the account's own route (account-actions'
//! `POST /wechat/backend/authorizers/{appid}/web-tickets`).
//!
//! Pages here carry single-use values in their URLs, so they send no `Referer`.

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Error, Request, RequestExt, Response};
use shared::Secret;
use shared::app::App;
use shared::service::{WebCallbackError, WebStartError};
use shared::store::TokenStore;
use shared::web::{self, Referrer};

const FUNCTION: &str = "web-oauth";

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Start an authorization for the account.
    Authorize(String),
    /// WeChat's redirect back.
    Callback,
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
        Route::File(name) => match app.platform.web_auth().verification_file(&name) {
            Some(content) => web::text(StatusCode::OK, content.to_owned()),
            None => web::text(StatusCode::NOT_FOUND, "not found"),
        },
        Route::Authorize(appid) => {
            let started = match (param("start"), param("scope"), param("return_to"), param("user_ref")) {
                (Ok(Some(start)), Ok(None), Ok(None), Ok(None)) if !start.is_empty() && start.len() <= 64 => {
                    app.platform.web_auth().start_minted_web_authorization(&appid, &Secret::new(start)).await
                }
                // A public link binds no one: a user_ref must come from a start the site's server
                // minted, or anyone could start a binding for someone else's user.
                (Ok(None), _, _, Ok(Some(_))) => {
                    return Ok(page(
                        StatusCode::BAD_REQUEST,
                        "无效的授权请求",
                        "A public link may not name a user_ref: the site's server mints the start (POST /wechat/backend/authorizers/{appid}/web-starts) and sends the browser to its start_url.",
                    ));
                }
                (Ok(None), Ok(Some(scope)), Ok(Some(return_to)), Ok(None)) => {
                    app.platform.web_auth().start_web_authorization(&appid, scope, return_to).await
                }
                _ => {
                    return Ok(page(
                        StatusCode::BAD_REQUEST,
                        "无效的授权请求",
                        "Give either start (a minted start), or scope and return_to, once each.",
                    ));
                }
            };
            match started {
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
            match app.platform.web_auth().finish_web_authorization(state, code, appid).await {
                Ok(url) => {
                    let mut response = web::redirect(&url);
                    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
                    response
                }
                Err(err) => callback_refused(&err),
            }
        }
    })
}

fn start_refused(appid: &str, err: &WebStartError) -> Response<Body> {
    let (status, title, message) = match err {
        WebStartError::NotConfigured => (
            StatusCode::NOT_FOUND,
            "网页授权未开启",
            "Web authorization is not configured on this platform (OAUTH_REDIRECT_URL).",
        ),
        WebStartError::NotEnabled => (
            StatusCode::NOT_FOUND,
            "网页授权未开启",
            "This account's owner has not enabled web authorization (no return origins are set for it).",
        ),
        WebStartError::StartUnknown => (
            StatusCode::BAD_REQUEST,
            "授权链接无效",
            "This start link is unknown, expired (5 minutes) or already used. Please go back to the site and start again.",
        ),
        WebStartError::BadScope => {
            (StatusCode::BAD_REQUEST, "无效的授权请求", "scope must be snsapi_base or snsapi_userinfo.")
        }
        WebStartError::ReturnNotAllowed => (
            StatusCode::BAD_REQUEST,
            "无效的返回地址",
            "return_to must be an absolute URL on one of the origins the account's owner allows.",
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
             <body style=\"font-family:sans-serif;text-align:center;margin-top:4em\"><main><h1 id=\"declined-title\">你已拒绝授权</h1>\
             <p id=\"message\">网站没有得知你的身份。</p><p><a id=\"back\" href=\"{}\">返回</a></p></main></body></html>",
            web::escape_html(return_to)
        ),
        Referrer::None,
    )
}
