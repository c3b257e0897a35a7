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
use shared::http;
use shared::service::ServiceError;
use shared::store::TokenStore;

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
    http::json_error(StatusCode::BAD_REQUEST, 1001, msg)
}

/// Handles one request.
///
/// # Errors
/// None in practice; the signature is lambda_http's.
pub async fn handle<S: TokenStore>(app: &App<S>, request: Request) -> Result<Response<Body>, Error> {
    let pairs = http::query_pairs(&request);
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
    let Some(redirect) = app.config.auth_redirect_url.clone() else {
        tracing::error!(function = "qr-url-issuer", "AUTH_REDIRECT_URL is not configured");
        return Ok(http::json_error(StatusCode::INTERNAL_SERVER_ERROR, 1000, "AUTH_REDIRECT_URL is not configured"));
    };

    // Before any WeChat call: a caller we cannot name gets no pre_auth_code.
    let Some(user) = http::dashboard_user(&request) else {
        return Ok(http::unknown_user("qr-url-issuer"));
    };
    let pre = match app.platform.create_pre_auth_code().await {
        Ok(pre) => pre,
        Err(err) => return Ok(service_error(&err)),
    };
    let expires_in = pre.expires_in.clamp(60, 1800);
    let state = app.signer.sign(&user, app.platform.now() + expires_in);
    let mut redirect_uri = redirect;
    redirect_uri.query_pairs_mut().append_pair("state", &state);

    let (base, path) = match mode {
        "mobile" => (&app.config.mobile_page_base, "/wxaopen/safe/bindcomponent"),
        _ => (&app.config.pc_page_base, "/cgi-bin/componentloginpage"),
    };
    let Ok(mut url) = url::Url::parse(&format!("{base}{path}")) else {
        return Ok(http::json_error(StatusCode::INTERNAL_SERVER_ERROR, 1000, "WECHAT_AUTH_PAGE_BASE is not usable"));
    };
    {
        let mut query = url.query_pairs_mut();
        if mode == "mobile" {
            query.append_pair("action", "bindcomponent").append_pair("no_scan", "1");
        }
        query
            .append_pair("component_appid", &app.config.component_appid)
            .append_pair("pre_auth_code", pre.token.expose())
            // Encoded as a whole (encodeURIComponent): its own query (state) survives the trip.
            .append_pair("redirect_uri", redirect_uri.as_str())
            .append_pair("auth_type", auth_type);
        if let Some(biz_appid) = biz_appid {
            query.append_pair("biz_appid", biz_appid);
        }
    }
    if mode == "mobile" {
        url.set_fragment(Some("wechat_redirect"));
    }
    tracing::info!(function = "qr-url-issuer", mode, auth_type, expires_in, "authorization URL issued");
    Ok(if http::wants_html(&request) {
        http::html(StatusCode::OK, page(url.as_str(), expires_in))
    } else {
        http::json_ok(json!({"url": url.as_str(), "expires_in": expires_in}))
    })
}

fn service_error(err: &ServiceError) -> Response<Body> {
    let (status, code, msg) = match err {
        ServiceError::NoTicket => (
            StatusCode::SERVICE_UNAVAILABLE,
            1002,
            "WeChat has not pushed a component_verify_ticket yet (it does every 10 minutes); try again shortly"
                .to_owned(),
        ),
        ServiceError::WeChat(e) => (
            StatusCode::BAD_GATEWAY,
            1003,
            format!(
                "WeChat refused the request ({})",
                e.errcode().map_or_else(|| e.to_string(), |c| format!("errcode {c}"))
            ),
        ),
        ServiceError::Busy => {
            (StatusCode::SERVICE_UNAVAILABLE, 1005, "the component token is being refreshed; try again".to_owned())
        }
        ServiceError::Store(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, 1004, "the token store is unavailable; try again".to_owned())
        }
        ServiceError::NoTokens(_) => (StatusCode::BAD_GATEWAY, 1003, "unexpected answer from WeChat".to_owned()),
    };
    tracing::error!(function = "qr-url-issuer", error = %err, code, "cannot issue an authorization URL");
    http::json_error(status, code, &msg)
}

fn page(url: &str, expires_in: i64) -> String {
    let url = http::escape_html(url);
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
