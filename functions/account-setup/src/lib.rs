//! How an account presents itself to its followers: its custom menu, its follower tags and its
//! campaign QR codes, in both route families (`/wechat/authorizers/{appid}/…` for dashboard users
//! on their own accounts, `/wechat/backend/authorizers/{appid}/…` for backends named in
//! `BACKEND_PRINCIPALS`):
//!
//! - `GET …/menu` (with an `ETag`): the menu kept here, the one WeChat has, the conditional menus,
//!   whether WeChat's is still the one published here, and each click key with the reply rule
//!   answering it; `PUT …/menu` with `If-Match` (checked, published, kept), `DELETE …/menu` with
//!   `If-Match` (the conditional menus go too);
//! - `POST …/menu/conditional` (a menu for a tag or a client platform: WeChat's `menuid`),
//!   `DELETE …/menu/conditional/{menuid}`, `GET …/menu/match?openid=` (what one follower sees);
//! - `GET …/tags` (`?openid=`: that follower's tags), `POST …/tags` `{name}`, `PUT …/tags/{id}`
//!   `{name}`, `DELETE …/tags/{id}`, `POST …/tags/{id}/followers` `{openids, remove?}`;
//! - `POST …/qrcodes` `{name, permanent?, scene_id | scene_str, expire_seconds?}`, `GET …/qrcodes`,
//!   `GET …/qrcodes/{id}?days=` (with its follows and scans by day), `GET …/qrcodes/{id}/image`;
//! - `POST …/jssdk/config` `{url}`: a page's `wx.config`, signed with the account's jsapi_ticket
//!   (the page on one of the account's web origins);
//! - `GET …/quota?cgi_path=`: the account's quota for an API; `GET …/quota/usage?days=`: what the
//!   platform called for the account, per day and API; `POST …/quota/reset` within the month's 10
//!   resets.
//!
//! A function of its own: account-actions has no room left under the size budget.

use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Error, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::app::App;
use shared::input;
use shared::service::{MAX_QR_DAYS, MenuState, NewQrCode, QrCodeFigures};
use shared::store::{StoredQrCode, TokenStore};
use shared::web::{self, DashboardCode};

const FUNCTION: &str = "account-setup";

/// The largest request body taken (a full menu with long URLs is a few KB; 500 OpenIDs ~16 KB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The menu, kept and live.
    Menu,
    /// Replace it (`If-Match`).
    SaveMenu,
    /// Delete it (`If-Match`).
    DeleteMenu,
    /// Add a conditional menu.
    AddConditional,
    /// Delete a conditional menu by WeChat's `menuid`.
    DeleteConditional(String),
    /// The menu one follower sees.
    MatchMenu,
    /// The account's tags, or a follower's (`?openid=`).
    Tags,
    /// Create a tag.
    CreateTag,
    /// Rename a tag.
    RenameTag(String),
    /// Delete a tag.
    DeleteTag(String),
    /// Put a tag on followers, or take it off.
    TagFollowers(String),
    /// Make a QR code.
    CreateQrCode,
    /// The account's QR codes.
    QrCodes,
    /// One with its figures.
    QrCode(String),
    /// Its image.
    QrCodeImage(String),
    /// A page's `wx.config`.
    JsConfig,
    /// The account's quota for one API.
    Quota,
    /// Reset the account's quotas.
    ResetQuota,
    /// What the platform called for the account.
    Usage,
}

/// The route: the account, whether it is the backend family, and the action; `None` for any
/// other path.
pub fn route(request: &Request) -> Option<(String, bool, Action)> {
    let web::AccountRoute { appid, backend, rest } = web::account_route(request)?;
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let owned = |s: &&str| (*s).to_owned();
    let action = match (request.method(), rest.as_slice()) {
        (&Method::GET, ["menu"]) => Action::Menu,
        (&Method::PUT, ["menu"]) => Action::SaveMenu,
        (&Method::DELETE, ["menu"]) => Action::DeleteMenu,
        (&Method::POST, ["menu", "conditional"]) => Action::AddConditional,
        (&Method::DELETE, ["menu", "conditional", menuid]) => Action::DeleteConditional(owned(menuid)),
        (&Method::GET, ["menu", "match"]) => Action::MatchMenu,
        (&Method::GET, ["tags"]) => Action::Tags,
        (&Method::POST, ["tags"]) => Action::CreateTag,
        (&Method::PUT, ["tags", tag_id]) => Action::RenameTag(owned(tag_id)),
        (&Method::DELETE, ["tags", tag_id]) => Action::DeleteTag(owned(tag_id)),
        (&Method::POST, ["tags", tag_id, "followers"]) => Action::TagFollowers(owned(tag_id)),
        (&Method::POST, ["qrcodes"]) => Action::CreateQrCode,
        (&Method::GET, ["qrcodes"]) => Action::QrCodes,
        (&Method::GET, ["qrcodes", id]) => Action::QrCode(owned(id)),
        (&Method::GET, ["qrcodes", id, "image"]) => Action::QrCodeImage(owned(id)),
        (&Method::POST, ["jssdk", "config"]) => Action::JsConfig,
        (&Method::GET, ["quota"]) => Action::Quota,
        (&Method::POST, ["quota", "reset"]) => Action::ResetQuota,
        (&Method::GET, ["quota", "usage"]) => Action::Usage,
        _ => return None,
    };
    Some((appid, backend, action))
}

/// A tag id from the path.
fn tag_id(text: &str) -> Result<i64, String> {
    text.parse::<i64>().ok().filter(|id| *id >= 0).ok_or_else(|| format!("{text:?} is not a tag id"))
}

/// Handles one request.
///
/// # Errors
/// None in practice; the signature is lambda_http's.
pub async fn handle<S: TokenStore>(app: &App<S>, request: Request) -> Result<Response<Body>, Error> {
    web::on_account(&app.platform, &app.config, FUNCTION, request, route, |account, action, request| {
        respond(app, account, action, request)
    })
    .await
}

async fn respond<S: TokenStore>(
    app: &App<S>,
    account: web::AccountRequest,
    action: Action,
    request: Request,
) -> Result<Response<Body>, Error> {
    let web::AccountRequest { appid, caller, .. } = &account;
    let refused = |reason: &str| account.refused(reason);
    let answer = |result| account.answer(result);
    let versioned = |result: Result<MenuState, shared::service::DocumentError>| match result {
        Ok(state) => web::json_versioned(state.version, menu_json(&state)),
        Err(err) => {
            tracing::warn!(function = FUNCTION, authorizer = %appid, error = %err, "menu not changed");
            DashboardCode::for_document(&err)
        }
    };
    let body = web::body_bytes(&request);
    if body.len() > MAX_BODY_BYTES {
        return Ok(refused(&format!("the body is over {MAX_BODY_BYTES} bytes")));
    }
    let json_body = || serde_json::from_slice::<Value>(body).map_err(|_| "the body must be JSON".to_owned());
    let pairs = web::query_pairs(&request);
    let platform = &app.platform;
    let response = match action {
        Action::Menu => match platform.setup().menu(caller, appid).await {
            Ok(state) => web::json_versioned(state.version, menu_json(&state)),
            Err(err) => answer(Err(err)),
        },
        Action::SaveMenu | Action::DeleteMenu => {
            let version = match web::if_match(&request) {
                Ok(version) => version,
                Err(reason) => return Ok(refused(reason)),
            };
            if action == Action::DeleteMenu {
                versioned(platform.setup().delete_menu(caller, appid, version).await)
            } else {
                match json_body() {
                    Ok(document) => versioned(platform.setup().save_menu(caller, appid, &document, version).await),
                    Err(reason) => refused(&reason),
                }
            }
        }
        Action::AddConditional => match json_body() {
            Ok(document) => {
                answer(platform.setup().add_conditional_menu(caller, appid, &document).await.map(|id| json!({"menuid": id})))
            }
            Err(reason) => refused(&reason),
        },
        Action::DeleteConditional(menuid) => answer(
            platform.setup().delete_conditional_menu(caller, appid, &menuid).await.map(|()| json!({"deleted": menuid})),
        ),
        Action::MatchMenu => match web::single_param(&pairs, "openid") {
            Ok(Some(openid)) => answer(
                platform.setup().menu_for_follower(caller, appid, openid)
                    .await
                    .map(|menu| json!({"openid": openid, "menu": menu})),
            ),
            Ok(None) => refused("openid is required: the follower whose menu to show"),
            Err(reason) => refused(&reason),
        },
        Action::Tags => match web::single_param(&pairs, "openid") {
            Ok(Some(openid)) => answer(
                platform.followers().follower_tags(caller, appid, openid)
                    .await
                    .map(|ids| json!({"openid": openid, "tag_ids": ids})),
            ),
            Ok(None) => answer(platform.followers().tags(caller, appid).await.map(|tags| {
                let tags: Vec<Value> =
                    tags.iter().map(|t| json!({"id": t.id, "name": t.name, "count": t.count})).collect();
                json!({"tags": tags})
            })),
            Err(reason) => refused(&reason),
        },
        Action::CreateTag | Action::RenameTag(_) => {
            let name = match input::from_slice::<TagName>(body) {
                Ok(TagName { name }) => name,
                Err(reason) => return Ok(refused(&reason)),
            };
            match action {
                Action::RenameTag(id) => match tag_id(&id) {
                    Ok(id) => answer(
                        platform.followers().rename_tag(caller, appid, id, &name).await.map(|()| json!({"id": id, "name": name})),
                    ),
                    Err(reason) => refused(&reason),
                },
                _ => answer(
                    platform.followers().create_tag(caller, appid, &name)
                        .await
                        .map(|t| json!({"tag": {"id": t.id, "name": t.name, "count": t.count}})),
                ),
            }
        }
        Action::DeleteTag(id) => match tag_id(&id) {
            Ok(id) => answer(platform.followers().delete_tag(caller, appid, id).await.map(|()| json!({"deleted": id}))),
            Err(reason) => refused(&reason),
        },
        Action::TagFollowers(id) => {
            let (id, TagFollowers { openids, remove }) = match (tag_id(&id), input::from_slice(body)) {
                (Ok(id), Ok(asked)) => (id, asked),
                (Err(reason), _) | (_, Err(reason)) => return Ok(refused(&reason)),
            };
            answer(
                platform.followers().tag_followers(caller, appid, id, &openids, !remove)
                    .await
                    .map(|done| json!({"tag": id, if remove { "removed" } else { "tagged" }: done})),
            )
        }
        Action::CreateQrCode => {
            let new = match json_body().and_then(|body| NewQrCode::from_value(&body)) {
                Ok(new) => new,
                Err(reason) => return Ok(refused(&reason)),
            };
            let now = platform.now();
            match platform.setup().create_qr_code(caller, appid, &new).await {
                Ok((code, true)) => web::json_ok(json!({"code": qr_json(&code, now), "existing": true})),
                Ok((code, false)) => {
                    web::json(StatusCode::CREATED, &json!({"code": 0, "data": {"code": qr_json(&code, now)}}))
                }
                Err(err) => answer(Err(err)),
            }
        }
        Action::QrCodes => {
            let (cursor, limit) = match (web::single_param(&pairs, "cursor"), web::single_param(&pairs, "limit")) {
                (Ok(cursor), Ok(limit)) => (cursor.filter(|c| !c.is_empty()), limit),
                (Err(e), _) | (_, Err(e)) => return Ok(refused(&e)),
            };
            let limit = match limit.map(str::parse::<u32>) {
                None => 50,
                Some(Ok(limit)) if (1..=100).contains(&limit) => limit,
                Some(_) => return Ok(refused("limit must be 1 to 100")),
            };
            let now = platform.now();
            answer(platform.setup().qr_codes(caller, appid, cursor, limit).await.map(|(page, permanent, rules)| {
                let codes: Vec<Value> = page
                    .items
                    .iter()
                    .zip(&rules)
                    .map(|(c, r)| {
                        let mut code = qr_json(c, now);
                        code["rules"] = json!({"subscribe": r.subscribe, "scan": r.scan});
                        code
                    })
                    .collect();
                json!({"codes": codes, "next_cursor": page.next, "permanent_count": permanent,
                    "permanent_limit": shared::store::MAX_PERMANENT_QR_CODES})
            }))
        }
        Action::QrCode(id) => {
            let days = match web::single_param(&pairs, "days").map(|d| d.map(str::parse::<i64>)) {
                Ok(None) => 30,
                Ok(Some(Ok(days))) if (1..=MAX_QR_DAYS).contains(&days) => days,
                _ => return Ok(refused(&format!("days must be 1 to {MAX_QR_DAYS}"))),
            };
            let now = platform.now();
            answer(platform.setup().qr_code(caller, appid, &id, days).await.map(|figures| figures_json(&figures, now)))
        }
        Action::Quota => match web::single_param(&pairs, "cgi_path") {
            Ok(Some(path)) => answer(platform.acting().api_quota(caller, appid, path).await),
            Ok(None) => refused("cgi_path is required: the API's path, as /cgi-bin/message/custom/send"),
            Err(reason) => refused(&reason),
        },
        Action::Usage => {
            let days = match web::single_param(&pairs, "days").map(|d| d.map(str::parse::<i64>)) {
                Ok(None) => 7,
                Ok(Some(Ok(days))) if (1..=90).contains(&days) => days,
                _ => return Ok(refused("days must be 1 to 90")),
            };
            answer(platform.acting().api_usage(caller, appid, days).await.map(|figures| {
                let days: Vec<Value> = figures
                    .iter()
                    .map(|(day, calls)| {
                        let calls: serde_json::Map<String, Value> =
                            calls.iter().map(|(api, n)| (api.clone(), json!(n))).collect();
                        json!({"date": date_of(*day), "calls": calls})
                    })
                    .collect();
                json!({"days": days})
            }))
        }
        Action::ResetQuota => answer(platform.acting().reset_quota(caller, appid).await.map(|used| {
            json!({"reset": true, "resets_used": used, "resets_per_month": shared::service::QUOTA_RESETS_PER_MONTH})
        })),
        Action::JsConfig => {
            let url = match input::from_slice::<PageUrl>(body) {
                Ok(PageUrl { url }) => url,
                Err(reason) => return Ok(refused(&reason)),
            };
            answer(platform.acting().js_config(caller, appid, &url).await.map(|c| {
                json!({"appId": c.app_id, "timestamp": c.timestamp, "nonceStr": c.nonce_str,
                    "signature": c.signature, "url": c.url})
            }))
        }
        Action::QrCodeImage(id) => match platform.setup().qr_code_image(caller, appid, &id).await {
            Ok((bytes, content_type)) => {
                let mut response = Response::new(Body::Binary(bytes));
                let headers = response.headers_mut();
                if let Ok(value) = header::HeaderValue::from_str(&content_type) {
                    headers.insert(header::CONTENT_TYPE, value);
                }
                // The image never changes for a ticket; the browser may keep it, nobody else.
                headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("private, max-age=86400"));
                headers.insert("x-content-type-options", header::HeaderValue::from_static("nosniff"));
                response
            }
            Err(err) => answer(Err(err)),
        },
    };
    Ok(response)
}

/// The menu as the API shows it.
pub fn menu_json(state: &MenuState) -> Value {
    serde_json::to_value(state).unwrap_or_default()
}

/// A QR code as the API shows it. `status`: `active`, or `expired` for a temporary code past its
/// life (its scans no longer push anything).
pub fn qr_json(code: &StoredQrCode, now: i64) -> Value {
    let expired = code.expires_at.is_some_and(|at| at <= now);
    json!({
        "id": code.id,
        "name": code.name,
        "kind": if code.permanent { "permanent" } else { "temporary" },
        "scene": code.scene,
        "scene_type": if code.scene_is_str { "scene_str" } else { "scene_id" },
        "ticket": code.ticket,
        "url": code.url,
        "expires_at": code.expires_at,
        "status": if expired { "expired" } else { "active" },
        "created_at": code.created_at,
        "created_by": code.created_by,
    })
}

/// A code with its figures: the days with any push (each with its date in China time) and the
/// totals over them.
pub fn figures_json(figures: &QrCodeFigures, now: i64) -> Value {
    let days: Vec<Value> =
        figures.days.iter().map(|d| json!({"date": date_of(d.day), "scans": d.scans, "follows": d.follows})).collect();
    let scans: u64 = figures.days.iter().map(|d| d.scans).sum();
    let follows: u64 = figures.days.iter().map(|d| d.follows).sum();
    json!({"code": qr_json(&figures.code, now), "days": days, "totals": {"scans": scans, "follows": follows}})
}

/// `YYYY-MM-DD` of a day counted from the Unix epoch.
pub fn date_of(day: i64) -> String {
    let (y, m, d) = shared::clock::civil_date(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `POST …/tags`, `PUT …/tags/{id}`: the tag's name (WeChat's rules checked by the use case).
#[derive(Deserialize)]
struct TagName {
    name: String,
}

/// `POST …/tags/{id}/followers`: whom to tag (or untag, with `remove`).
#[derive(Deserialize)]
struct TagFollowers {
    openids: Vec<String>,
    #[serde(default)]
    remove: bool,
}

/// `POST …/js-config`: the page, as `location.href.split('#')[0]`.
#[derive(Deserialize)]
struct PageUrl {
    url: String,
}

#[cfg(test)]
mod tests {
    use super::date_of;

    #[test]
    fn days_read_as_dates() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(20_793), "2026-12-06");
        assert_eq!(date_of(11_016), "2000-02-29");
    }
}
