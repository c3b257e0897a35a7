//! `GET /wechat/authorizers`, the dashboard's list of authorized accounts: the signed-in user's
//! accounts (the identity `DASHBOARD_AUTH` promises), a page at a time, with the labels the
//! dashboard shows and their status. Never a token.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde_json::{Value, json};
use shared::app::App;
use shared::service::MAX_PAGE;
use shared::store::{AuthorizerSummary, StoreError, TokenStore};
use shared::web::{self, DashboardCode};

const FUNCTION: &str = "authorizer-list";
/// Accounts per page when the dashboard does not say.
const DEFAULT_LIMIT: u32 = 50;

/// `service_type_info.id` as the dashboard shows it.
pub fn service_type_text(id: Option<i64>) -> &'static str {
    match id {
        Some(0) => "订阅号",
        Some(1) => "由历史老帐号升级后的订阅号",
        Some(2) => "服务号",
        _ => "未知",
    }
}

/// `verify_type_info.id` as the dashboard shows it.
pub fn verify_type_text(id: Option<i64>) -> &'static str {
    match id {
        Some(-1) => "未认证",
        Some(0) => "微信认证",
        Some(1) => "新浪微博认证",
        Some(2) => "腾讯微博认证",
        Some(3) => "已资质认证通过但还未通过名称认证",
        Some(4) => "已资质认证通过、还未通过名称认证，但通过了新浪微博认证",
        Some(5) => "已资质认证通过、还未通过名称认证，但通过了腾讯微博认证",
        _ => "未知",
    }
}

fn item(summary: &AuthorizerSummary, followers: Option<u64>) -> Value {
    let p = &summary.profile;
    json!({
        "follower_count": followers,
        "authorizer_appid": summary.authorizer_appid,
        "nick_name": p.nick_name,
        "avatar": p.head_img,
        "user_name": p.user_name,
        "principal_name": p.principal_name,
        "alias": p.alias,
        "qrcode_url": p.qrcode_url,
        "service_type_info": p.service_type,
        "service_type_info_text": service_type_text(p.service_type),
        "verify_type_info": p.verify_type,
        "verify_type_info_text": verify_type_text(p.verify_type),
        "func_info": p.func_info,
        "status": summary.status.as_str(),
        "authorized_at": summary.authorized_at,
        "updated_at": summary.updated_at,
    })
}

/// The accounts that left the user lately (first page only), as the console shows them; `null`
/// when the store cannot say (the list itself still answers).
async fn moved_away<S: TokenStore>(app: &App<S>, user: &str) -> Value {
    match app.platform.dashboard().accounts_moved_away(user).await {
        Ok(moves) => moves
            .iter()
            .map(|m| json!({"authorizer_appid": m.authorizer_appid, "nick_name": m.nick_name, "moved_at": m.moved_at}))
            .collect(),
        Err(err) => {
            tracing::warn!(function = FUNCTION, error = %err, "accounts moved away unavailable");
            Value::Null
        }
    }
}

/// Handles one request: `?limit=1..100` (default 50) and `&cursor=` from the previous page's
/// `next_cursor`.
///
/// # Errors
/// None in practice; the signature is lambda_http's.
pub async fn handle<S: TokenStore>(app: &App<S>, request: Request) -> Result<Response<Body>, Error> {
    let auth = app.config.dashboard_auth;
    let Some(user) = web::dashboard_user(&request, auth) else {
        return Ok(web::unknown_user(FUNCTION, auth));
    };
    let pairs = web::query_pairs(&request);
    let (limit, cursor) = match (web::single_param(&pairs, "limit"), web::single_param(&pairs, "cursor")) {
        (Ok(limit), Ok(cursor)) => (limit, cursor.filter(|c| !c.is_empty())),
        (Err(e), _) | (_, Err(e)) => return Ok(DashboardCode::BadParameter.respond(&e)),
    };
    let limit = match limit.map(str::parse::<u32>) {
        None => DEFAULT_LIMIT,
        Some(Ok(limit)) if (1..=MAX_PAGE).contains(&limit) => limit,
        Some(_) => return Ok(DashboardCode::BadParameter.respond(&format!("limit must be 1 to {MAX_PAGE}"))),
    };
    if cursor.is_some_and(|c| c.len() > 1024) {
        return Ok(DashboardCode::BadParameter.respond("cursor is not one this list returned"));
    }
    Ok(match app.platform.dashboard().accounts_of(&user, cursor, limit).await {
        Ok(page) => {
            let appids: Vec<String> = page.items.iter().map(|a| a.authorizer_appid.clone()).collect();
            // The counts are a convenience: without them the list still answers (null counts).
            let counts = app.platform.dashboard().follower_counts(&appids).await.unwrap_or_else(|err| {
                tracing::warn!(function = FUNCTION, error = %err, "follower counts unavailable");
                std::collections::HashMap::new()
            });
            let data: Vec<Value> =
                page.items.iter().map(|a| item(a, counts.get(&a.authorizer_appid).copied())).collect();
            // `user`: who the caller is to the platform, so the console can say who is signed in.
            let mut answer = json!({"code": 0, "data": data, "next_cursor": page.next, "user": user});
            if cursor.is_none() {
                answer["moved_away"] = moved_away(app, &user).await;
            }
            web::json(StatusCode::OK, &answer)
        }
        Err(StoreError::Other(reason)) => {
            tracing::warn!(function = FUNCTION, reason, "bad cursor");
            DashboardCode::BadParameter.respond("cursor is not one this list returned")
        }
        Err(err) => {
            tracing::error!(function = FUNCTION, error = %err, "store unavailable");
            DashboardCode::StoreUnavailable.respond("the account store is unavailable, try again")
        }
    })
}
