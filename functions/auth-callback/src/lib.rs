//! Where WeChat sends the admin's browser after authorization: `?auth_code=…&expires_in=…`
//! plus the `state` qr-url-issuer put in the `redirect_uri`.
//!
//! The state is checked first (forged or expired → 4xx, nothing stored, WeChat not called); then
//! the single-use code is exchanged, the profile fetched and everything stored bound to the user.
//! The `authorized` push carries the same code: whichever arrives first completes the
//! authorization, and this page still binds the account to the user when the push was first.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use shared::Secret;
use shared::app::App;
use shared::http;
use shared::service::ServiceError;
use shared::state::StateError;
use shared::store::TokenStore;
use shared::wechat::ErrorKind;

const FUNCTION: &str = "auth-callback";

fn page(status: StatusCode, title: &str, message: &str) -> Response<Body> {
    if status.is_client_error() || status.is_server_error() {
        tracing::warn!(function = FUNCTION, status = status.as_u16(), title, "authorization not completed");
    }
    http::html(
        status,
        format!(
            "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\
             <body style=\"font-family:sans-serif;text-align:center;margin-top:4em\"><h1 id=\"title\">{title}</h1><p id=\"message\">{message}</p></body></html>",
            title = http::escape_html(title),
            message = http::escape_html(message)
        ),
    )
}

fn single<'a>(pairs: &'a [(String, String)], name: &str) -> Option<Result<&'a str, ()>> {
    let mut values = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let first = values.next()?;
    Some(if values.any(|other| other != first) { Err(()) } else { Ok(first) })
}

/// Handles one request.
///
/// # Errors
/// None in practice; the signature is lambda_http's.
pub async fn handle<S: TokenStore>(app: &App<S>, request: Request) -> Result<Response<Body>, Error> {
    let pairs = http::query_pairs(&request);
    let now = app.platform.now();
    let claims = match single(&pairs, "state") {
        Some(Ok(state)) => match app.signer.verify(state, now) {
            Ok(claims) => claims,
            Err(StateError::Expired) => {
                return Ok(page(
                    StatusCode::BAD_REQUEST,
                    "授权链接已过期",
                    "This authorization link has expired. Please start the authorization again from the dashboard.",
                ));
            }
            Err(_) => {
                return Ok(page(
                    StatusCode::FORBIDDEN,
                    "无效的授权请求",
                    "This request did not come from the platform's authorization page.",
                ));
            }
        },
        _ => {
            return Ok(page(
                StatusCode::BAD_REQUEST,
                "无效的授权请求",
                "The authorization state is missing or repeated.",
            ));
        }
    };
    let state_key = format!("state|{}", claims.nonce);
    match app.platform.store.recall(&state_key, now).await {
        Ok(Some(_)) => {
            return Ok(page(
                StatusCode::CONFLICT,
                "授权链接已使用",
                "This authorization link was already used. Please start a new authorization from the dashboard.",
            ));
        }
        Ok(None) => {}
        Err(err) => {
            tracing::error!(function = FUNCTION, error = %err, "store unavailable");
            return Ok(page(
                StatusCode::SERVICE_UNAVAILABLE,
                "暂时无法完成授权",
                "The platform is temporarily unavailable. Please reload this page in a moment.",
            ));
        }
    }
    let code = match single(&pairs, "auth_code") {
        Some(Ok(code)) if !code.is_empty() && code.len() <= 512 => Secret::new(code),
        _ => return Ok(page(StatusCode::BAD_REQUEST, "无效的授权请求", "The authorization code is missing.")),
    };

    let completed = match app.platform.complete_authorization(&code, Some(&claims.user)).await {
        Ok(completed) => completed,
        Err(ServiceError::WeChat(err)) if err.kind() == ErrorKind::AuthCodeInvalid => {
            return Ok(page(
                StatusCode::BAD_REQUEST,
                "授权码已失效",
                "This authorization code was already used or has expired. Please start the authorization again from the dashboard.",
            ));
        }
        Err(ServiceError::WeChat(err)) => {
            tracing::error!(function = FUNCTION, call = err.call(), errcode = err.errcode(), error = %err, "WeChat call failed");
            return Ok(page(
                StatusCode::BAD_GATEWAY,
                "微信接口暂时不可用",
                "WeChat did not complete the authorization. Please try again.",
            ));
        }
        Err(ServiceError::NoTokens(appid)) => {
            tracing::warn!(function = FUNCTION, authorizer = %appid, "no API permission granted");
            return Ok(page(
                StatusCode::BAD_REQUEST,
                "未授予接口权限",
                "The account granted no API permission set to the platform.",
            ));
        }
        Err(err) => {
            tracing::error!(function = FUNCTION, error = %err, "authorization failed");
            return Ok(page(
                StatusCode::SERVICE_UNAVAILABLE,
                "暂时无法完成授权",
                "The platform is temporarily unavailable. Please reload this page in a moment.",
            ));
        }
    };
    let record = completed.record();
    let ttl = (claims.expires_at - now).max(60);
    if let Err(err) = app.platform.store.remember_value(&state_key, &record.authorizer_appid, ttl, now).await {
        tracing::warn!(function = FUNCTION, error = %err, "could not mark the state used; the code is single-use anyway");
    }
    tracing::info!(function = FUNCTION, authorizer = %record.authorizer_appid, user = %claims.user, "authorized");
    Ok(match &app.config.dashboard_url {
        Some(dashboard) => {
            let mut url = dashboard.clone();
            url.query_pairs_mut().append_pair("authorized", &record.authorizer_appid);
            http::redirect(url.as_str())
        }
        None => {
            let name = if record.profile.nick_name.is_empty() {
                record.authorizer_appid.as_str()
            } else {
                record.profile.nick_name.as_str()
            };
            page(StatusCode::OK, "授权成功", &format!("{name} ({}) is now authorized.", record.authorizer_appid))
        }
    })
}
