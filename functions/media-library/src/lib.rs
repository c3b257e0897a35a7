//! An account's media (素材), in both route families (`/wechat/authorizers/{appid}/media…` for
//! dashboard users on their own accounts, `/wechat/backend/authorizers/{appid}/media…` for
//! backends named in `BACKEND_PRINCIPALS`):
//!
//! - `POST …/media` `{type, lifetime, content_type, size, sha256, title?, introduction?}`: the
//!   file's declaration, checked against WeChat's rules; answers the medium and a presigned
//!   upload (201), or the medium already uploaded from the same file (200, no upload);
//! - `POST …/media/{handle}/complete`: after the `PUT` to the upload URL, sends the file to
//!   WeChat and answers the medium with its `media_id` (or `url`);
//! - `GET …/media` (`?cursor=&limit=`), `GET …/media/{handle}`, `DELETE …/media/{handle}`;
//! - `GET …/media/wechat-library?type=image|voice|video&offset=&count=` and
//!   `GET …/media/wechat-library/count`: WeChat's own list of the account's permanent material,
//!   what was made in WeChat's backend included.
//!
//! A function of its own: account-actions has no room left under the size budget, and only this
//! function may touch the staging bucket.

pub use shared::staging::S3Staging;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::app::App;
use shared::input;
use shared::media::{Kind, Lifetime};
use shared::service::{Begun, MAX_MEDIA_PAGE, NewMedium, UPLOAD_URL_SECS};
use shared::staging::Staging;
use shared::store::{StoredMedium, TokenStore};
use shared::web;

const FUNCTION: &str = "media-library";

/// The largest request body taken (a declaration is a few hundred bytes; files go to S3).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Declare a file and get its upload URL.
    Begin,
    /// Send the uploaded file to WeChat.
    Complete(String),
    /// The account's media.
    List,
    /// One medium.
    Get(String),
    /// Delete one.
    Delete(String),
    /// WeChat's list of the account's permanent material.
    Library,
    /// WeChat's count of it.
    LibraryCount,
}

/// The route: the account, whether it is the backend family, and the action; `None` for any
/// other path.
pub fn route(request: &Request) -> Option<(String, bool, Action)> {
    let web::AccountRoute { appid, backend, rest } = web::account_route(request)?;
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let action = match (request.method(), rest.as_slice()) {
        (&Method::POST, ["media"]) => Action::Begin,
        (&Method::GET, ["media"]) => Action::List,
        (&Method::GET, ["media", "wechat-library"]) => Action::Library,
        (&Method::GET, ["media", "wechat-library", "count"]) => Action::LibraryCount,
        (&Method::POST, ["media", handle, "complete"]) => Action::Complete((*handle).to_owned()),
        (&Method::GET, ["media", handle]) => Action::Get((*handle).to_owned()),
        (&Method::DELETE, ["media", handle]) => Action::Delete((*handle).to_owned()),
        _ => return None,
    };
    Some((appid, backend, action))
}

/// A medium as the API shows it. `status`: `staged` (its upload has not been completed),
/// `ready`, or `expired` (a temporary medium past its 3 days).
pub fn medium_json(medium: &StoredMedium, now: i64) -> Value {
    let status = match (medium.uploaded_at, medium.expires_at) {
        (None, _) => "staged",
        (Some(_), Some(expires_at)) if expires_at <= now => "expired",
        (Some(_), _) => "ready",
    };
    json!({
        "handle": medium.handle,
        "type": medium.kind.as_str(),
        "lifetime": medium.lifetime.as_str(),
        "content_type": medium.format.content_type(),
        "size": medium.size,
        "sha256": medium.sha256,
        "title": medium.title,
        "introduction": medium.introduction,
        "status": status,
        "media_id": medium.media_id,
        "url": medium.url,
        "expires_at": medium.expires_at,
        "created_at": medium.created_at,
        "uploaded_at": medium.uploaded_at,
    })
}

/// The declaration in a `POST …/media` body: what the file will be, before any byte of it.
#[derive(Deserialize)]
struct Declaration {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    lifetime: Option<String>,
    content_type: String,
    /// The file's length in bytes.
    size: u64,
    /// The file's SHA-256 in hex.
    sha256: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    introduction: Option<String>,
}

/// The declaration of a `POST …/media` body, its kind and lifetime named as WeChat's.
fn declaration(body: &[u8]) -> Result<NewMedium, String> {
    let declared: Declaration = input::from_slice(body)?;
    let kinds = "image, voice, video, thumb or article_image";
    let kind = Kind::parse(&declared.kind).ok_or_else(|| format!("type must be {kinds}"))?;
    let lifetime = match declared.lifetime.as_deref() {
        None if kind.permanent_only() => Lifetime::Permanent,
        None => Lifetime::Temporary,
        Some(name) => Lifetime::parse(name).ok_or("lifetime must be temporary or permanent")?,
    };
    Ok(NewMedium {
        kind,
        lifetime,
        content_type: declared.content_type,
        size: declared.size,
        sha256: declared.sha256.to_ascii_lowercase(),
        title: declared.title,
        introduction: declared.introduction,
    })
}

/// Handles one request with the staging bucket `staging`.
///
/// # Errors
/// None in practice; the signature is lambda_http's.
pub async fn handle<S: TokenStore>(
    app: &App<S>,
    staging: &impl Staging,
    request: Request,
) -> Result<Response<Body>, Error> {
    web::on_account(&app.platform, &app.config, FUNCTION, request, route, |account, action, request| {
        respond(app, staging, account, action, request)
    })
    .await
}

async fn respond<S: TokenStore>(
    app: &App<S>,
    staging: &impl Staging,
    account: web::AccountRequest,
    action: Action,
    request: Request,
) -> Result<Response<Body>, Error> {
    let web::AccountRequest { appid, caller, .. } = &account;
    let now = app.platform.now();
    let answer = |result| account.answer(result);
    let pairs = web::query_pairs(&request);
    let param = |name: &str| web::single_param(&pairs, name);
    let response = match action {
        Action::Begin => {
            let body = web::body_bytes(&request);
            if body.len() > MAX_BODY_BYTES {
                return Ok(
                    account.refused("the body is a declaration, not the file: upload the file to the URL it answers")
                );
            }
            let declared = declaration(body);
            let new = match declared {
                Ok(new) => new,
                Err(reason) => {
                    tracing::warn!(function = FUNCTION, authorizer = %appid, reason, "declaration refused");
                    return Ok(account.refused(&reason));
                }
            };
            match app.platform.media_library().begin_upload(caller, appid, &new, staging).await {
                Ok(Begun::Existing(medium)) => {
                    web::json_ok(json!({"medium": medium_json(&medium, now), "existing": true}))
                }
                Ok(Begun::Upload(medium, upload)) => {
                    let headers: serde_json::Map<String, Value> =
                        upload.headers.into_iter().map(|(name, value)| (name, Value::String(value))).collect();
                    let data = json!({
                        "medium": medium_json(&medium, now),
                        "upload": {"url": upload.url, "method": upload.method, "headers": headers, "expires_in": UPLOAD_URL_SECS},
                    });
                    web::json(StatusCode::CREATED, &json!({"code": 0, "data": data}))
                }
                Err(err) => answer(Err(err)),
            }
        }
        Action::Complete(handle) => answer(
            app.platform
                .media_library()
                .complete_upload(caller, appid, &handle, staging)
                .await
                .map(|m| json!({"medium": medium_json(&m, now)})),
        ),
        Action::Get(handle) => answer(
            app.platform
                .media_library()
                .medium(caller, appid, &handle)
                .await
                .map(|m| json!({"medium": medium_json(&m, now)})),
        ),
        Action::Delete(handle) => answer(
            app.platform
                .media_library()
                .delete_medium(caller, appid, &handle, staging)
                .await
                .map(|()| json!({"deleted": handle})),
        ),
        Action::List => {
            let (cursor, limit) = match (param("cursor"), param("limit")) {
                (Ok(cursor), Ok(limit)) => (cursor.filter(|c| !c.is_empty()), limit),
                (Err(e), _) | (_, Err(e)) => return Ok(account.refused(&e)),
            };
            let limit = match limit.map(str::parse::<u32>) {
                None => 50,
                Some(Ok(limit)) if (1..=MAX_MEDIA_PAGE).contains(&limit) => limit,
                Some(_) => {
                    return Ok(account.refused(&format!("limit must be 1 to {MAX_MEDIA_PAGE}")));
                }
            };
            answer(app.platform.media_library().media(caller, appid, cursor, limit).await.map(|page| {
                let media: Vec<Value> = page.items.iter().map(|m| medium_json(m, now)).collect();
                json!({"media": media, "next_cursor": page.next})
            }))
        }
        Action::Library => {
            let number = |name: &str, default: u64| match param(name) {
                Ok(None) => Ok(default),
                Ok(Some(text)) => text.parse::<u64>().map_err(|_| format!("{name} must be a number")),
                Err(e) => Err(e),
            };
            let kind = match param("type") {
                Ok(Some(name)) => Kind::parse(name),
                _ => None,
            };
            let (Some(kind), Ok(offset), Ok(count)) = (kind, number("offset", 0), number("count", 20)) else {
                return Ok(
                    account.refused("type (image, voice or video), offset and count (1 to 20) are required as numbers")
                );
            };
            answer(app.platform.media_library().materials(caller, appid, kind, offset, count).await.map(|page| {
                let items: Vec<Value> = page
                    .items
                    .iter()
                    .map(
                        |m| json!({"media_id": m.media_id, "name": m.name, "update_time": m.update_time, "url": m.url}),
                    )
                    .collect();
                json!({"total": page.total, "items": items})
            }))
        }
        Action::LibraryCount => answer(app.platform.media_library().material_count(caller, appid).await.map(
            |count| json!({"image": count.image, "voice": count.voice, "video": count.video, "news": count.news}),
        )),
    };
    Ok(response)
}
