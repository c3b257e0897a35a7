//! Acting as an authorized account (`docs/contract.md`, "Acting as an account"):
//!
//! - `POST /wechat/authorizers/{appid}/messages`: a dashboard user sends a customer-service
//!   message as one of *their* accounts (the identity `DASHBOARD_AUTH` promises);
//! - `POST /wechat/backend/authorizers/{appid}/messages`: a trusted backend does the same for any
//!   account (the route is `AWS_IAM`: who may call it is an IAM policy);
//! - `GET /wechat/backend/authorizers/{appid}/access-token`: a trusted backend borrows the
//!   account's access token (IAM only, never the dashboard's identity), refreshed first when close
//!   to expiry, so no backend ever refreshes an authorizer token itself.
//!
//! An `Idempotency-Key` header makes a repeated send return the first result.

use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Error, Request, RequestExt, Response};
use serde_json::{Value, json};
use shared::app::App;
use shared::config::DashboardAuth;
use shared::service::Caller;
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
}

/// The route: the account, whether it is the backend (IAM) family, and the action; `None` when
/// the path is none of this function's. Reads API Gateway's `{appid}` or, under `cargo lambda
/// watch`, the segment after `authorizers`.
pub fn route(request: &Request) -> Option<(String, bool, Action)> {
    let segments: Vec<&str> = request.uri().path().split('/').filter(|s| !s.is_empty()).collect();
    let at = segments.iter().position(|s| *s == "authorizers")?;
    let appid = request
        .path_parameters_ref()
        .and_then(|p| p.first("appid"))
        .map(str::to_owned)
        .or_else(|| segments.get(at + 1).map(|s| (*s).to_owned()))?;
    let valid = appid.len() == 18 && appid.starts_with("wx") && appid.bytes().all(|b| b.is_ascii_alphanumeric());
    let backend = at > 0 && segments[at - 1] == "backend";
    let action = match (request.method(), segments.get(at + 2).copied(), segments.len() == at + 3) {
        (&Method::POST, Some("messages"), true) => Action::SendMessage,
        (&Method::GET, Some("access-token"), true) if backend => Action::LendToken,
        _ => return None,
    };
    valid.then_some((appid, backend, action))
}

/// The caller: a backend route's IAM principal, or a dashboard route's user. The local demo (no
/// API Gateway, no IAM) acts as its one user on both.
fn caller(request: &Request, auth: DashboardAuth, backend: bool) -> Option<Caller> {
    if backend {
        let identity = match auth {
            DashboardAuth::UnauthenticatedLocalDemo => web::dashboard_user(request, auth),
            _ => web::dashboard_user(request, DashboardAuth::Iam),
        };
        identity.map(Caller::Backend)
    } else {
        web::dashboard_user(request, auth).map(Caller::Dashboard)
    }
}

/// Handles one request.
///
/// # Errors
/// None in practice; the signature is lambda_http's.
pub async fn handle<S: TokenStore>(app: &App<S>, request: Request) -> Result<Response<Body>, Error> {
    let Some((appid, backend, action)) = route(&request) else {
        tracing::warn!(function = FUNCTION, method = %request.method(), path = request.uri().path(), "no such route");
        return Ok(web::json(
            StatusCode::NOT_FOUND,
            &json!({"code": DashboardCode::BadParameter.code(), "msg": "no such route"}),
        ));
    };
    let auth = app.config.dashboard_auth;
    let Some(caller) = caller(&request, auth, backend) else {
        return Ok(web::unknown_user(FUNCTION, if backend { DashboardAuth::Iam } else { auth }));
    };
    Ok(match action {
        Action::LendToken => match app.platform.lend_token(&caller, &appid).await {
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
        Action::SendMessage => {
            let body = web::body_bytes(&request);
            if body.len() > MAX_BODY_BYTES {
                return Ok(DashboardCode::BadParameter.respond(&format!("the body is over {MAX_BODY_BYTES} bytes")));
            }
            let message: Value = match serde_json::from_slice(body) {
                Ok(message) => message,
                Err(err) => {
                    tracing::warn!(function = FUNCTION, error = %err, "body is not JSON");
                    return Ok(
                        DashboardCode::BadParameter.respond("the body must be JSON (a customer-service message)")
                    );
                }
            };
            let key = match request.headers().get_all("idempotency-key").iter().collect::<Vec<_>>().as_slice() {
                [] => None,
                [one] => match one.to_str() {
                    Ok(key) => Some(key.to_owned()),
                    Err(_) => return Ok(DashboardCode::BadParameter.respond("Idempotency-Key must be printable ASCII")),
                },
                _ => return Ok(DashboardCode::BadParameter.respond("one Idempotency-Key header at most")),
            };
            match app.platform.send_custom_message(&caller, &appid, &message, key.as_deref()).await {
                Ok(sent) => web::json_ok(sent),
                Err(err) => {
                    tracing::warn!(function = FUNCTION, authorizer = %appid, error = %err, "message not sent");
                    DashboardCode::for_act(&err)
                }
            }
        }
    })
}
