//! What an account publishes: its draft box (草稿箱) first, in both route families
//! (`/wechat/authorizers/{appid}/…` for dashboard users on their own accounts,
//! `/wechat/backend/authorizers/{appid}/…` for backends named in `BACKEND_PRINCIPALS`):
//!
//! - `POST …/drafts` `{articles: [{title, author?, digest?, content, source_url?, cover |
//!   thumb_media_id, comments?}]}`: checked (the field named), HTML reduced, cover and images
//!   resolved from the media library, added at WeChat → `201 {media_id}`;
//! - `GET …/drafts?offset=&count=&content=`: a page of the drafts, newest first;
//! - `GET …/drafts/{media_id}`: one draft's articles as WeChat keeps them;
//! - `PUT …/drafts/{media_id}/articles/{index}`: one article replaced;
//! - `DELETE …/drafts/{media_id}`;
//! - `POST …/drafts/{media_id}/publish`: submitted for publication → `202 {publish_id}` (WeChat
//!   publishes asynchronously and pushes the outcome);
//! - `GET …/publications/{publish_id}`: the outcome (from the push, or WeChat's state meanwhile);
//! - `GET …/articles?offset=&count=&content=`: the published articles; `DELETE
//!   …/articles/{article_id}?index=` (0: all of it);
//! - `POST …/broadcasts/preview` `{openid, msgtype, <msgtype>: {…}}`: a mass send previewed to one
//!   follower; `POST …/broadcasts` `{to, msgtype, <msgtype>: {…}}` with an `Idempotency-Key`
//!   (required): a mass send (群发) → `202 {msg_id}`; `GET …/broadcasts/{msg_id}`: its result.
//!
//! A function of its own: account-setup and account-actions were at the size budget when it came.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, Response};
use serde_json::{Value, json};
use shared::app::App;
use shared::article::{ArticleInput, DraftInput};
use shared::service::{ArticleList, MAX_DRAFT_PAGE, MassMessage, MassRequest};
use shared::store::TokenStore;
use shared::web;

const FUNCTION: &str = "publishing";

/// The largest request body taken: eight articles of content under 20,000 characters each
/// (at most 4 bytes a character in UTF-8 and JSON escapes) fit with room.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Add a draft.
    CreateDraft,
    /// A page of drafts.
    Drafts,
    /// One draft.
    Draft(String),
    /// Replace one article of a draft.
    UpdateArticle(String, String),
    /// Delete a draft.
    DeleteDraft(String),
    /// Submit a draft for publication.
    Publish(String),
    /// A publication's outcome.
    Publication(String),
    /// The published articles.
    Articles,
    /// Delete a published article.
    DeleteArticle(String),
    /// Preview a mass send to one follower.
    Preview,
    /// Mass send.
    Broadcast,
    /// A mass send's result.
    BroadcastResult(String),
}

/// The route: the account, whether it is the backend family, and the action; `None` for any
/// other path.
pub fn route(request: &Request) -> Option<(String, bool, Action)> {
    let web::AccountRoute { appid, backend, rest } = web::account_route(request)?;
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let owned = |s: &&str| (*s).to_owned();
    let action = match (request.method(), rest.as_slice()) {
        (&Method::POST, ["drafts"]) => Action::CreateDraft,
        (&Method::GET, ["drafts"]) => Action::Drafts,
        (&Method::GET, ["drafts", media_id]) => Action::Draft(owned(media_id)),
        (&Method::PUT, ["drafts", media_id, "articles", index]) => Action::UpdateArticle(owned(media_id), owned(index)),
        (&Method::DELETE, ["drafts", media_id]) => Action::DeleteDraft(owned(media_id)),
        (&Method::POST, ["drafts", media_id, "publish"]) => Action::Publish(owned(media_id)),
        (&Method::GET, ["publications", publish_id]) => Action::Publication(owned(publish_id)),
        (&Method::GET, ["articles"]) => Action::Articles,
        (&Method::DELETE, ["articles", article_id]) => Action::DeleteArticle(owned(article_id)),
        (&Method::POST, ["broadcasts", "preview"]) => Action::Preview,
        (&Method::POST, ["broadcasts"]) => Action::Broadcast,
        (&Method::GET, ["broadcasts", msg_id]) => Action::BroadcastResult(owned(msg_id)),
        _ => return None,
    };
    Some((appid, backend, action))
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
    let body = web::body_bytes(&request);
    if body.len() > MAX_BODY_BYTES {
        return Ok(refused(&format!("the body is over {MAX_BODY_BYTES} bytes")));
    }
    let pairs = web::query_pairs(&request);
    let platform = &app.platform;
    let response = match action {
        Action::CreateDraft => {
            let draft = match serde_json::from_slice::<DraftInput>(body) {
                Ok(draft) => draft,
                Err(err) => return Ok(refused(&format!("the body is a draft: {}", json_reason(&err)))),
            };
            match platform.publishing().create_draft(caller, appid, &draft).await {
                Ok(media_id) => web::json(StatusCode::CREATED, &json!({"code": 0, "data": {"media_id": media_id}})),
                Err(err) => answer(Err(err)),
            }
        }
        Action::Drafts | Action::Articles => {
            let (offset, count, content) = match page(&pairs) {
                Ok(page) => page,
                Err(reason) => return Ok(refused(&reason)),
            };
            let list = if action == Action::Drafts { ArticleList::Drafts } else { ArticleList::Published };
            answer(platform.publishing().article_page(caller, appid, list, offset, count, content).await)
        }
        Action::Publish(media_id) => match platform.publishing().publish_draft(caller, appid, &media_id).await {
            Ok(publish_id) => web::json(
                StatusCode::ACCEPTED,
                &json!({"code": 0, "data": {"publish_id": publish_id, "media_id": media_id, "status": "publishing"}}),
            ),
            Err(err) => answer(Err(err)),
        },
        Action::Publication(publish_id) => answer(platform.publishing().publication(caller, appid, &publish_id).await),
        Action::Preview => {
            let parsed = serde_json::from_slice::<Value>(body).map_err(|_| "the body must be JSON".to_owned());
            let (openid, message) = match parsed.and_then(|body| MassMessage::preview_from_value(&body)) {
                Ok(parsed) => parsed,
                Err(reason) => return Ok(refused(&reason)),
            };
            answer(
                platform
                    .publishing()
                    .mass_preview(caller, appid, &openid, &message)
                    .await
                    .map(|()| json!({"previewed": openid})),
            )
        }
        Action::Broadcast => {
            let key = match web::idempotency_key(&request) {
                Ok(Some(key)) => key,
                Ok(None) => {
                    return Ok(refused(
                        "one Idempotency-Key header is required: a mass send is made once per key, never repeated",
                    ));
                }
                Err(reason) => return Ok(refused(reason)),
            };
            let parsed = serde_json::from_slice::<Value>(body).map_err(|_| "the body must be JSON".to_owned());
            let mass = match parsed.and_then(|body| MassRequest::from_value(&body)) {
                Ok(mass) => mass,
                Err(reason) => return Ok(refused(&reason)),
            };
            match platform.publishing().mass_send(caller, appid, &key, &mass).await {
                Ok(sent) => web::json(
                    if sent.existing { StatusCode::OK } else { StatusCode::ACCEPTED },
                    &json!({"code": 0, "data": {"msg_id": sent.msg_id, "msg_data_id": sent.msg_data_id, "existing": sent.existing}}),
                ),
                Err(err) => answer(Err(err)),
            }
        }
        Action::BroadcastResult(msg_id) => answer(platform.publishing().mass_send_result(caller, appid, &msg_id).await),
        Action::DeleteArticle(article_id) => {
            let index = match web::single_param(&pairs, "index").map(|i| i.map(str::parse::<u64>)) {
                Ok(None) => 0,
                Ok(Some(Ok(index))) if index <= shared::article::MAX_ARTICLES as u64 => index,
                _ => return Ok(refused("index: 0 (the whole article) or 1 to 8")),
            };
            answer(
                platform
                    .publishing()
                    .delete_publication(caller, appid, &article_id, index)
                    .await
                    .map(|()| json!({"deleted": article_id, "index": index})),
            )
        }
        Action::Draft(id) => answer(
            platform
                .publishing()
                .draft(caller, appid, &id)
                .await
                .map(|items| json!({"media_id": id, "articles": items})),
        ),
        Action::UpdateArticle(id, index) => {
            let Some(index) = index.parse::<usize>().ok().filter(|i| *i < shared::article::MAX_ARTICLES) else {
                return Ok(refused("the article's index: 0 to 7"));
            };
            let article = match serde_json::from_slice::<ArticleInput>(body) {
                Ok(article) => article,
                Err(err) => return Ok(refused(&format!("the body is an article: {}", json_reason(&err)))),
            };
            answer(
                platform
                    .publishing()
                    .update_draft(caller, appid, &id, index, &article)
                    .await
                    .map(|()| json!({"media_id": id, "index": index})),
            )
        }
        Action::DeleteDraft(id) => {
            answer(platform.publishing().delete_draft(caller, appid, &id).await.map(|()| json!({"deleted": id})))
        }
    };
    Ok(response)
}

/// `offset`, `count` and `content` of a list.
fn page(pairs: &[(String, String)]) -> Result<(u64, u64, bool), String> {
    let number = |name: &str, default: u64, min: u64, max: u64| match web::single_param(pairs, name) {
        Ok(None) => Ok(default),
        Ok(Some(text)) => {
            text.parse::<u64>().ok().filter(|n| (min..=max).contains(n)).ok_or(format!("{name} must be {min} to {max}"))
        }
        Err(reason) => Err(reason),
    };
    let content = match web::single_param(pairs, "content") {
        Ok(None | Some("false")) => false,
        Ok(Some("true")) => true,
        _ => return Err("content must be true or false".into()),
    };
    Ok((number("offset", 0, 0, 100_000)?, number("count", MAX_DRAFT_PAGE, 1, MAX_DRAFT_PAGE)?, content))
}

/// serde's reason without the input echoed back (only the field and the rule).
fn json_reason(err: &serde_json::Error) -> String {
    let text = err.to_string();
    text.split(" at line ").next().unwrap_or(&text).to_owned()
}
