//! Starts authorizations, at two routes:
//!
//! - `GET /wechat/authorize-url` (the dashboard, behind `DASHBOARD_AUTH`): as JSON, a **start
//!   link** for the signed-in user (signed, 5 minutes, single-use; no WeChat call); with
//!   `Accept: text/html`, the page itself.
//! - `GET /wechat/authorize-start?token=…` (the browser, no header): opens a start link and serves
//!   the page.
//!
//! WeChat only accepts its authorization page when it is reached *from a page on the platform's
//! own domain* (授权发起页域名, checked through the Referer), so the page is ours: a button that
//! leads to WeChat's URL (a fresh `pre_auth_code`, remembered with the user it was issued to, and
//! a `redirect_uri` carrying a signed state). The rules are `shared::service`'s (dashboard.rs).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde_json::json;
use shared::app::App;
use shared::service::{AuthorizationLink, LinkError, LinkMode, LinkRequest, StartError};
use shared::store::TokenStore;
use shared::web::{self, DashboardCode, Referrer};

const FUNCTION: &str = "qr-url-issuer";

/// The `auth_type` values WeChat documents (1 公众号, 2 小程序, 3 both, 4 推客, 5 视频号, 6 all, 8 带货助手).
const AUTH_TYPES: &[&str] = &["1", "2", "3", "4", "5", "6", "8"];

fn bad_request(msg: &str) -> Response<Body> {
    tracing::warn!(function = FUNCTION, reason = msg, "bad request");
    DashboardCode::BadParameter.respond(msg)
}

/// Handles one request.
///
/// # Errors
/// None in practice; the signature is lambda_http's.
pub async fn handle<S: TokenStore>(app: &App<S>, request: Request) -> Result<Response<Body>, Error> {
    let pairs = web::query_pairs(&request);
    if request.uri().path().trim_end_matches('/').ends_with("/authorize-start") {
        return Ok(start(app, &pairs).await);
    }
    let (auth_type, mode, biz_appid) = match (
        web::single_param(&pairs, "auth_type"),
        web::single_param(&pairs, "mode"),
        web::single_param(&pairs, "biz_appid"),
    ) {
        (Ok(a), Ok(m), Ok(b)) => (a.unwrap_or("1"), m.unwrap_or("pc"), b.filter(|b| !b.is_empty())),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Ok(bad_request(&e)),
    };
    if !AUTH_TYPES.contains(&auth_type) {
        return Ok(bad_request("auth_type must be one of 1, 2, 3, 4, 5, 6, 8"));
    }
    let mode = match mode {
        "pc" => LinkMode::Pc,
        "mobile" => LinkMode::Mobile,
        _ => return Ok(bad_request("mode must be pc or mobile")),
    };
    if biz_appid.is_some_and(|b| b.len() > 64 || !b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')) {
        return Ok(bad_request("biz_appid is not an appid"));
    }
    // Before anything else: a caller without the identity DASHBOARD_AUTH promises gets nothing.
    let auth = app.config.dashboard_auth;
    let Some(user) = web::dashboard_user(&request, auth) else {
        return Ok(web::unknown_user(FUNCTION, auth));
    };
    let request_link = LinkRequest { user: &user, auth_type, mode, biz_appid };
    if web::wants_html(&request) {
        return Ok(match app.platform.dashboard().authorization_link(&request_link).await {
            Ok(link) => authorize_page(&link),
            Err(err) => {
                tracing::error!(function = FUNCTION, error = %err, "cannot issue an authorization URL");
                DashboardCode::for_link(&err)
            }
        });
    }
    Ok(match app.platform.dashboard().start_link(&request_link) {
        Ok(link) => {
            tracing::info!(function = FUNCTION, ?mode, auth_type, "start link issued");
            web::json_ok(json!({"start_url": link.url, "expires_in": link.expires_in}))
        }
        Err(err) => {
            tracing::error!(function = FUNCTION, error = %err, "cannot issue a start link");
            DashboardCode::for_link(&err)
        }
    })
}

/// `GET /wechat/authorize-start?token=…`: the link's signature authorizes the request.
async fn start<S: TokenStore>(app: &App<S>, pairs: &[(String, String)]) -> Response<Body> {
    let Ok(Some(token)) = web::single_param(pairs, "token") else {
        return refused(StatusCode::BAD_REQUEST, "无效的授权链接", "The start link is missing its token.");
    };
    match app.platform.dashboard().open_start_link(token).await {
        Ok(link) => authorize_page(&link),
        Err(StartError::Expired) => refused(
            StatusCode::BAD_REQUEST,
            "授权链接已过期",
            "This link has expired. Please start the authorization again from the dashboard.",
        ),
        Err(StartError::Invalid) => {
            refused(StatusCode::FORBIDDEN, "无效的授权链接", "This link was not issued by the platform's dashboard.")
        }
        Err(StartError::Used) => refused(
            StatusCode::CONFLICT,
            "授权链接已使用",
            "This link was already opened. Please start a new authorization from the dashboard.",
        ),
        Err(StartError::Link(LinkError::Limited(limited))) => refused(
            StatusCode::TOO_MANY_REQUESTS,
            "操作过于频繁",
            &format!(
                "Too many authorizations were started for this dashboard user lately ({limited}). Please try again later."
            ),
        ),
        Err(StartError::Link(err)) => {
            tracing::error!(function = FUNCTION, error = %err, "cannot issue an authorization URL");
            refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "暂时无法发起授权",
                "The platform cannot reach WeChat right now. Please try again from the dashboard.",
            )
        }
    }
}

fn refused(status: StatusCode, title: &str, message: &str) -> Response<Body> {
    tracing::warn!(function = FUNCTION, status = status.as_u16(), title, "start link refused");
    web::message_page(status, title, message, Referrer::None)
}

/// The page WeChat must be reached from: a button to its authorization URL.
fn authorize_page(link: &AuthorizationLink) -> Response<Body> {
    tracing::info!(function = FUNCTION, expires_in = link.expires_in, "authorization page served");
    let url = web::escape_html(&link.url);
    web::html(
        StatusCode::OK,
        format!(
            "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
             <title>授权公众号</title></head>\
             <body style=\"font-family:sans-serif;text-align:center;margin-top:4em\"><main><h1>授权公众号给本平台</h1>\
             <p>点击按钮后，请公众号管理员使用微信扫码确认授权。链接 {minutes} 分钟内有效，仅可使用一次。</p>\
             <p>授权后，公众号将由本平台用户 <code id=\"for-user\">{user}</code> 管理。如果这不是你或你信任的人，请不要继续。</p>\
             <p><a id=\"authorize\" href=\"{url}\" style=\"display:inline-block;padding:.8em 2em;background:#067d3c;color:#fff;border-radius:4px;text-decoration:none\">前往微信授权</a></p>\
             </main></body></html>",
            minutes = link.expires_in / 60,
            user = web::escape_html(&link.for_user),
        ),
        Referrer::Origin,
    )
}
