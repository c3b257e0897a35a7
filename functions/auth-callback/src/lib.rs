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
use shared::service::{AuthorizationError, CallError, CallbackError};
use shared::store::TokenStore;
use shared::web::{self, Referrer};

const FUNCTION: &str = "auth-callback";

fn page(status: StatusCode, title: &str, message: &str) -> Response<Body> {
    if status.is_client_error() || status.is_server_error() {
        tracing::warn!(function = FUNCTION, status = status.as_u16(), title, "authorization not completed");
    }
    // This page's URL carries the single-use code: it must not leave in a Referer.
    web::message_page(status, title, message, Referrer::None)
}

/// Handles one request.
///
/// # Errors
/// None in practice; the signature is lambda_http's.
pub async fn handle<S: TokenStore>(app: &App<S>, request: Request) -> Result<Response<Body>, Error> {
    let pairs = web::query_pairs(&request);
    let Ok(Some(state)) = web::single_param(&pairs, "state") else {
        return Ok(page(StatusCode::BAD_REQUEST, "无效的授权请求", "The authorization state is missing or repeated."));
    };
    let code = match web::single_param(&pairs, "auth_code") {
        Ok(Some(code)) if !code.is_empty() && code.len() <= 512 => Some(Secret::new(code)),
        _ => None,
    };
    let record = match app.platform.onboarding().complete_from_callback(state, code).await {
        Ok(record) => record,
        Err(err) => return Ok(refused(&err)),
    };
    Ok(match &app.config.dashboard_url {
        Some(dashboard) => {
            let mut url = dashboard.clone();
            url.query_pairs_mut().append_pair("authorized", &record.authorizer_appid);
            web::redirect(url.as_str())
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

/// The page for each way the callback can fail.
fn refused(err: &CallbackError) -> Response<Body> {
    const UNAVAILABLE: (StatusCode, &str, &str) = (
        StatusCode::SERVICE_UNAVAILABLE,
        "暂时无法完成授权",
        "The platform is temporarily unavailable. Please reload this page in a moment.",
    );
    let (status, title, message) = match err {
        CallbackError::StateExpired => (
            StatusCode::BAD_REQUEST,
            "授权链接已过期",
            "This authorization link has expired. Please start the authorization again from the dashboard.",
        ),
        CallbackError::StateInvalid => (
            StatusCode::FORBIDDEN,
            "无效的授权请求",
            "This request did not come from the platform's authorization page.",
        ),
        CallbackError::StateUsed => (
            StatusCode::CONFLICT,
            "授权链接已使用",
            "This authorization link was already used. If that attempt went through, the account is in your dashboard; otherwise start a new authorization from there.",
        ),
        CallbackError::AlreadyAuthorized(record) => {
            tracing::info!(function = FUNCTION, authorizer = %record.authorizer_appid, "callback reloaded; the account is authorized");
            let name =
                if record.profile.nick_name.is_empty() { &record.authorizer_appid } else { &record.profile.nick_name };
            return page(
                StatusCode::CONFLICT,
                "授权链接已使用",
                &format!("{name} ({}) is authorized and managed by you: nothing more to do.", record.authorizer_appid),
            );
        }
        CallbackError::NoCode => (StatusCode::BAD_REQUEST, "无效的授权请求", "The authorization code is missing."),
        CallbackError::OwnedByAnother => (
            StatusCode::CONFLICT,
            "该公众号已由其他用户管理",
            "This account is managed by another user of the platform; it was not moved to you.",
        ),
        // WeChat answers 61009 for a code it never issued and for one already used, which is what
        // an attempt whose answer was lost leaves behind: the page cannot know which, so it says
        // both (the `authorized` push recovers a lost one within about a minute).
        CallbackError::Authorization(AuthorizationError::CodeInvalid(_)) => (
            StatusCode::BAD_REQUEST,
            "授权码已失效",
            "WeChat says this authorization code was already used or has expired. If this authorization's answer was lost on the way, WeChat's notice completes it within a minute: reload this page to see. Otherwise start the authorization again from the dashboard.",
        ),
        CallbackError::Authorization(AuthorizationError::NoTokens(_)) => {
            (StatusCode::BAD_REQUEST, "未授予接口权限", "The account granted no API permission set to the platform.")
        }
        // The call may have reached WeChat (the answer lost): the authorization may well have gone
        // through, and WeChat's `authorized` push then completes it.
        CallbackError::Authorization(AuthorizationError::Call(CallError::WeChat(_))) => (
            StatusCode::BAD_GATEWAY,
            "微信接口暂时不可用",
            "WeChat's answer did not arrive, so the authorization may or may not have gone through. Reload this page in a minute: it will say whether the account is authorized.",
        ),
        CallbackError::Authorization(AuthorizationError::Call(_) | AuthorizationError::Store(_)) => UNAVAILABLE,
    };
    if status.is_server_error() {
        tracing::error!(function = FUNCTION, error = %err, "authorization failed");
    } else {
        tracing::warn!(function = FUNCTION, error = %err, "authorization refused");
    }
    page(status, title, message)
}
