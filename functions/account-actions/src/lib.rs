//! Acting as an authorized account (`docs/contract.md`, "Acting as an account"):
//!
//! - `POST /wechat/authorizers/{appid}/messages`: a dashboard user sends a customer-service
//!   message as one of *their* accounts (the identity `DASHBOARD_AUTH` promises);
//! - `POST /wechat/backend/authorizers/{appid}/messages`: a trusted backend does the same for any
//!   account (the route is `AWS_IAM`: who may call it is an IAM policy);
//! - `GET /wechat/backend/authorizers/{appid}/access-token`: a trusted backend borrows the
//!   account's access token (IAM only, never the dashboard's identity), refreshed first when close
//!   to expiry, so no backend ever refreshes an authorizer token itself;
//! - `…/template-messages` (POST: send; `GET …/{msgid}`: its delivery status) and `…/templates`
//!   (GET: the account's templates; POST: add one from WeChat's library), in both families.
//! - `…/reply-rules` (GET with an `ETag`; PUT with `If-Match`: replace them, checked, and never
//!   over someone else's newer version), `GET …/followers` (the follower ledger, paginated,
//!   `?subscribed=true|false&cursor=&limit=`) and `POST …/followers/backfill` (import the followers
//!   the account had before it was authorized; call until `done`), in both families.
//! - `GET`/`DELETE …/bindings?openid=|user_ref=`: a follower's binding to a site's user (made by
//!   web authorization, `web-oauth`), found or removed from either side, in both families.
//! - `GET`/`PUT …/web-origins` (the sites web authorization may return to, kept by the account's
//!   owner) and `POST …/web-starts` (a start a site's server mints to bind a follower to its user),
//!   in both families; `POST /wechat/backend/authorizers/{appid}/web-tickets` (a site's server
//!   redeems a follower's ticket of this account), backend only.
//!
//! API Gateway routes each family to this function with one greedy route
//! (`ANY /wechat/authorizers/{appid}/{proxy+}`, and the `/wechat/backend/` one under `AWS_IAM`);
//! [`route`] decides what is an action and everything else is a 404.
//!
//! An `Idempotency-Key` header makes a repeated send return the first result.

use lambda_http::http::{Method, header};
use lambda_http::{Body, Error, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::Secret;
use shared::app::App;
use shared::input;
use shared::service::{BindingSide, Caller, RedeemError, binding_json};
use shared::store::TokenStore;
use shared::web::{self, DashboardCode};

const FUNCTION: &str = "account-actions";

/// The largest request body taken (a message is a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send a customer-service message as the account.
    SendMessage,
    /// Lend the account's access token.
    LendToken,
    /// Send a template message as the account.
    SendTemplate,
    /// A template message's record and delivery status.
    TemplateMessage(String),
    /// The account's templates.
    Templates,
    /// Add a template of WeChat's library to the account.
    AddTemplate,
    /// The account's reply rules and their version (`ETag`).
    ReplyRules,
    /// Replace the account's reply rules (`If-Match`: the version replaced).
    SaveReplyRules,
    /// One page of the account's followers.
    Followers,
    /// Import the account's existing followers from WeChat (one slice per call).
    BackfillFollowers,
    /// A follower's binding to a site's user (`?openid=` or `?user_ref=`).
    Binding,
    /// Remove a binding (`?openid=` or `?user_ref=`).
    Unbind,
    /// The account's web-authorization return origins.
    WebOrigins,
    /// Replace them.
    SetWebOrigins,
    /// Mint a web-authorization start for a site's user.
    MintWebStart,
    /// Redeem a web-authorization ticket of this account (backend only).
    RedeemWebTicket,
}

/// The route: the account, whether it is the backend (IAM) family, and the action; `None` when
/// the path is none of this function's. Reads API Gateway's `{appid}` or, under `cargo lambda
/// watch`, the segment after `authorizers`.
pub fn route(request: &Request) -> Option<(String, bool, Action)> {
    let web::AccountRoute { appid, backend, rest } = web::account_route(request)?;
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let action = match (request.method(), rest.as_slice()) {
        (&Method::POST, ["messages"]) => Action::SendMessage,
        (&Method::GET, ["access-token"]) if backend => Action::LendToken,
        (&Method::POST, ["template-messages"]) => Action::SendTemplate,
        (&Method::GET, ["template-messages", msgid]) => Action::TemplateMessage((*msgid).to_owned()),
        (&Method::GET, ["templates"]) => Action::Templates,
        (&Method::POST, ["templates"]) => Action::AddTemplate,
        (&Method::GET, ["reply-rules"]) => Action::ReplyRules,
        (&Method::PUT, ["reply-rules"]) => Action::SaveReplyRules,
        (&Method::GET, ["followers"]) => Action::Followers,
        (&Method::POST, ["followers", "backfill"]) => Action::BackfillFollowers,
        (&Method::GET, ["bindings"]) => Action::Binding,
        (&Method::DELETE, ["bindings"]) => Action::Unbind,
        (&Method::GET, ["web-origins"]) => Action::WebOrigins,
        (&Method::PUT, ["web-origins"]) => Action::SetWebOrigins,
        (&Method::POST, ["web-starts"]) => Action::MintWebStart,
        (&Method::POST, ["web-tickets"]) if backend => Action::RedeemWebTicket,
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
    let answer = |result| account.answer(result);
    let json_body = || -> Result<Value, String> {
        let body = web::body_bytes(&request);
        if body.len() > MAX_BODY_BYTES {
            return Err(format!("the body is over {MAX_BODY_BYTES} bytes"));
        }
        serde_json::from_slice(body).map_err(|err| {
            tracing::warn!(function = FUNCTION, error = %err, "body is not JSON");
            "the body must be JSON".to_owned()
        })
    };
    let key = match web::idempotency_key(&request) {
        Ok(key) => key,
        Err(reason) => return Ok(account.refused(reason)),
    };
    let response = match action {
        Action::SendTemplate => match json_body() {
            Ok(body) => answer(app.platform.acting().send_template_message(caller, appid, &body, key.as_deref()).await),
            Err(reason) => account.refused(&reason),
        },
        Action::TemplateMessage(msgid) => answer(app.platform.acting().template_message(caller, appid, &msgid).await),
        Action::Templates => {
            answer(app.platform.acting().templates_of(caller, appid).await.map(|list| json!({"templates": list})))
        }
        Action::AddTemplate => match json_body() {
            Ok(body) => answer(app.platform.acting().add_template(caller, appid, &body).await),
            Err(reason) => account.refused(&reason),
        },
        Action::ReplyRules => match app.platform.inbound().reply_rules(caller, appid).await {
            Ok((version, document)) => web::json_versioned(version, document),
            Err(err) => answer(Err(err)),
        },
        Action::SaveReplyRules => {
            let version = match web::if_match(&request) {
                Ok(version) => version,
                Err(reason) => return Ok(account.refused(reason)),
            };
            let body = web::body_bytes(&request);
            match app.platform.inbound().save_reply_rules(caller, appid, body, version).await {
                Ok((version, document)) => web::json_versioned(version, document),
                Err(err) => {
                    tracing::warn!(function = FUNCTION, authorizer = %appid, error = %err, "reply rules not saved");
                    DashboardCode::for_document(&err)
                }
            }
        }
        Action::Followers => {
            let pairs = web::query_pairs(&request);
            let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
            let subscribed = match get("subscribed") {
                None | Some("") => None,
                Some("true") => Some(true),
                Some("false") => Some(false),
                Some(_) => return Ok(account.refused("subscribed must be true or false")),
            };
            let limit = match get("limit").map(str::parse::<u32>) {
                None => 50,
                Some(Ok(limit)) if (1..=shared::service::MAX_FOLLOWER_PAGE).contains(&limit) => limit,
                Some(_) => return Ok(account.refused("limit must be 1 to 100")),
            };
            answer(
                app.platform
                    .followers()
                    .page(caller, appid, subscribed, get("cursor").filter(|c| !c.is_empty()), limit)
                    .await,
            )
        }
        Action::BackfillFollowers => answer(app.platform.followers().backfill_followers(caller, appid).await),
        Action::Binding | Action::Unbind => {
            let pairs = web::query_pairs(&request);
            let one =
                |name: &str| web::single_param(&pairs, name).ok().flatten().filter(|v| !v.is_empty() && v.len() <= 128);
            let side = match (one("openid"), one("user_ref")) {
                (Some(openid), None) => BindingSide::OpenId(openid),
                (None, Some(user_ref)) => BindingSide::UserRef(user_ref),
                _ => return Ok(account.refused("give exactly one of openid and user_ref")),
            };
            let result = if action == Action::Binding {
                app.platform.web_auth().binding(caller, appid, side).await
            } else {
                app.platform.web_auth().unbind(caller, appid, side).await
            };
            match result {
                Ok(Some(binding)) => web::json_ok(binding_json(&binding)),
                Ok(None) => {
                    DashboardCode::BindingNotFound.respond("no binding for that openid or user_ref on this account")
                }
                Err(err) => answer(Err(err)),
            }
        }
        Action::LendToken => match app.platform.acting().lend_token(caller, appid).await {
            Ok(token) => {
                let now = app.platform.now();
                let mut response = web::json_ok(json!({
                    "authorizer_appid": appid,
                    "access_token": token.access_token.expose(),
                    "expires_at": token.expires_at,
                    "expires_in": token.expires_at - now,
                }));
                // A credential: no cache may keep it.
                response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
                response
            }
            Err(err) => {
                tracing::warn!(function = FUNCTION, authorizer = %appid, error = %err, "token not lent");
                DashboardCode::for_act(&err)
            }
        },
        Action::WebOrigins => answer(app.platform.web_auth().web_origins(caller, appid).await),
        Action::SetWebOrigins => match json_body() {
            Ok(body) => answer(app.platform.web_auth().set_web_origins(caller, appid, &body).await),
            Err(reason) => account.refused(&reason),
        },
        Action::MintWebStart => match json_body() {
            Ok(body) => answer(app.platform.web_auth().mint_web_start(caller, appid, &body).await),
            Err(reason) => account.refused(&reason),
        },
        Action::RedeemWebTicket => match json_body() {
            Ok(body) => redeem(app, caller, appid, &body).await,
            Err(reason) => account.refused(&reason),
        },
        Action::SendMessage => match json_body() {
            Ok(body) => answer(app.platform.acting().send_custom_message(caller, appid, &body, key.as_deref()).await),
            Err(reason) => account.refused(&reason),
        },
    };
    Ok(response)
}

/// `POST …/web-tickets/redeem`: the ticket the follower's browser brought, and the site's user to
/// bind the follower to.
#[derive(Deserialize)]
struct Redemption {
    ticket: String,
    #[serde(default)]
    user_ref: Option<String>,
}

/// A site's server redeems a follower's ticket of this account, binding the follower to its
/// `user_ref` when the start it minted carried that one.
async fn redeem<S: TokenStore>(app: &App<S>, caller: &Caller, appid: &str, body: &Value) -> Response<Body> {
    let asked = input::from_value::<Redemption>(body).ok().filter(|a| {
        let short = |text: &str, max: usize| !text.is_empty() && text.len() <= max;
        short(&a.ticket, 64) && a.user_ref.as_deref().is_none_or(|r| short(r, shared::service::MAX_USER_REF))
    });
    let Some(Redemption { ticket, user_ref }) = asked else {
        return DashboardCode::BadParameter.respond(
            "the body must be {\"ticket\": \"…\"} (the wx_ticket the browser brought), with \"user_ref\" to bind the follower to that user",
        );
    };
    match app.platform.web_auth().redeem_web_ticket(caller, appid, &Secret::new(ticket), user_ref.as_deref()).await {
        Ok(identity) => web::json_ok(identity),
        Err(RedeemError::NotFound) => {
            tracing::warn!(function = FUNCTION, authorizer = %appid, "ticket unknown, expired or of another account");
            DashboardCode::TicketUnknown.respond("no such ticket of this account (unknown, expired, or of another account)")
        }
        Err(RedeemError::Used) => {
            tracing::warn!(function = FUNCTION, authorizer = %appid, "ticket redeemed twice");
            DashboardCode::TicketRedeemed.respond("this ticket was already redeemed")
        }
        Err(RedeemError::UserRefMismatch) => DashboardCode::UserRefMismatch.respond(
            "this authorization was not started for this user_ref (a public link binds no one): nothing was bound, and the ticket is spent",
        ),
        Err(RedeemError::Limited(limited)) => DashboardCode::limited(&limited),
        Err(RedeemError::Store(err)) => {
            tracing::error!(function = FUNCTION, error = %err, "ticket not redeemed");
            DashboardCode::StoreUnavailable.respond("the store is unavailable; redeem again")
        }
    }
}
