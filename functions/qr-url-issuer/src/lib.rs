//! Gives the dashboard the WeChat authorization URL: a fresh pre_auth_code (they are single-use),
//! the PC `componentloginpage` URL or the mobile `bindcomponent` link, and a `redirect_uri`
//! (auth-callback) carrying a signed, expiring value that binds the authorization to the
//! dashboard user.
//!
//! WeChat only accepts the authorization page when it is reached *from a page on the platform's
//! own domain* (授权发起页域名, checked through the Referer). So with `Accept: text/html` this
//! function serves that page itself: a button that leads to the URL.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde_json::json;
use shared::app::App;
use shared::service::{LinkMode, LinkRequest};
use shared::store::TokenStore;
use shared::web::{self, DashboardCode};

/// The `auth_type` values WeChat documents (1 公众号, 2 小程序, 3 both, 4 推客, 5 视频号, 6 all, 8 带货助手).
const AUTH_TYPES: &[&str] = &["1", "2", "3", "4", "5", "6", "8"];

/// A query parameter given at most once (a repeat with another value is refused).
fn single<'a>(pairs: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, String> {
    let mut values = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let first = values.next();
    if values.any(|other| Some(other) != first) {
        return Err(format!("`{name}` is given more than once"));
    }
    Ok(first)
}

fn bad_request(msg: &str) -> Response<Body> {
    tracing::warn!(function = "qr-url-issuer", reason = msg, "bad request");
    DashboardCode::BadParameter.respond(msg)
}

/// Handles one request.
///
/// # Errors
/// None in practice; the signature is lambda_http's.
pub async fn handle<S: TokenStore>(app: &App<S>, request: Request) -> Result<Response<Body>, Error> {
    let pairs = web::query_pairs(&request);
    let (auth_type, mode, biz_appid) =
        match (single(&pairs, "auth_type"), single(&pairs, "mode"), single(&pairs, "biz_appid")) {
            (Ok(a), Ok(m), Ok(b)) => (a.unwrap_or("1"), m.unwrap_or("pc"), b.filter(|b| !b.is_empty())),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Ok(bad_request(&e)),
        };
    if !AUTH_TYPES.contains(&auth_type) {
        return Ok(bad_request("auth_type must be one of 1, 2, 3, 4, 5, 6, 8"));
    }
    if !matches!(mode, "pc" | "mobile") {
        return Ok(bad_request("mode must be pc or mobile"));
    }
    if biz_appid.is_some_and(|b| b.len() > 64 || !b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')) {
        return Ok(bad_request("biz_appid is not an appid"));
    }
    let mode = if mode == "mobile" { LinkMode::Mobile } else { LinkMode::Pc };
    // Before any WeChat call: a caller we cannot name gets no pre_auth_code.
    let Some(user) = web::dashboard_user(&request) else {
        return Ok(web::unknown_user("qr-url-issuer"));
    };
    let link = match app.platform.authorization_link(&LinkRequest { user: &user, auth_type, mode, biz_appid }).await {
        Ok(link) => link,
        Err(err) => {
            tracing::error!(function = "qr-url-issuer", error = %err, "cannot issue an authorization URL");
            return Ok(DashboardCode::for_link(&err));
        }
    };
    tracing::info!(
        function = "qr-url-issuer",
        ?mode,
        auth_type,
        expires_in = link.expires_in,
        "authorization URL issued"
    );
    Ok(if web::wants_html(&request) {
        web::html(StatusCode::OK, page(&link.url, link.expires_in))
    } else {
        web::json_ok(json!({"url": link.url, "expires_in": link.expires_in}))
    })
}

fn page(url: &str, expires_in: i64) -> String {
    let url = web::escape_html(url);
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <meta name=\"referrer\" content=\"strict-origin-when-cross-origin\"><title>授权公众号</title></head>\
         <body style=\"font-family:sans-serif;text-align:center;margin-top:4em\"><h1>授权公众号给本平台</h1>\
         <p>点击按钮后，请公众号管理员使用微信扫码确认授权。链接 {minutes} 分钟内有效，仅可使用一次。</p>\
         <p><a id=\"authorize\" href=\"{url}\" style=\"display:inline-block;padding:.8em 2em;background:#07c160;color:#fff;border-radius:4px;text-decoration:none\">前往微信授权</a></p>\
         </body></html>",
        minutes = expires_in / 60
    )
}
