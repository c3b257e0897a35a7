//! What the HTTP functions share: reading API Gateway requests and writing the contract's
//! responses (`docs/contract.md`). One place decides the status codes and log levels of push
//! failures ([`push_rejected`]) and of the dashboard's error codes ([`DashboardCode`]).

use lambda_http::http::{StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use crate::config::{Config, DashboardAuth};
use crate::push::{self, PushError};
use crate::service::{ActError, CallError, Caller, DocumentError, Limited, LinkError, Platform};
use crate::store::{LOCAL_DEMO_USER, TokenStore};

/// The dashboard's error codes (`{"code":N,"msg":…}`), each with its HTTP status; the list in
/// `docs/contract.md` is this enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DashboardCode {
    /// 1000: the deployment is missing a setting (500).
    Misconfigured,
    /// 1001: a parameter is missing or malformed (400).
    BadParameter,
    /// 1002: WeChat has not pushed a `component_verify_ticket` yet (503).
    NoTicket,
    /// 1003: WeChat refused or failed (502).
    WeChatRefused,
    /// 1004: the store is unavailable (503).
    StoreUnavailable,
    /// 1005: another caller is refreshing the component token (503).
    TokenBusy,
    /// 1006: the caller's identity is unusable (401; never the default user's accounts).
    UnknownUser,
    /// 1007: no such account, or not the caller's (404: the two are not told apart).
    AccountNotFound,
    /// 1008: the account revoked the authorization (409).
    AccountRevoked,
    /// 1009: the account must be authorized again (409).
    NeedsReauthorization,
    /// 1010: WeChat refused the message; the body names WeChat's `errcode` and a `reason` (422).
    MessageRefused,
    /// 1011: WeChat did not answer after the message left: it may have been sent; not retried (504).
    OutcomeUnknown,
    /// 1012: a request with the same `Idempotency-Key` is still running (409).
    RequestInProgress,
    /// 1013: the document (reply rules, menu) changed since the version the request replaces
    /// (412); the body names the current version.
    RulesChanged,
    /// 1014: a change of a document (reply rules, menu) must say which version it replaces,
    /// `If-Match` (428).
    VersionRequired,
    /// 1015: no such web-authorization ticket: unknown, expired, or of another user's account (404).
    TicketUnknown,
    /// 1016: the web-authorization ticket was already redeemed (410).
    TicketRedeemed,
    /// 1017: no binding for that OpenID or `user_ref` on the account (404).
    BindingNotFound,
    /// 1018: the ticket was started for another `user_ref` than the one the site binds (409).
    UserRefMismatch,
    /// 1019: the `Idempotency-Key` was used for another request body; nothing was sent (422).
    KeyReused,
    /// 1020: a backend route called by an IAM principal not named in `BACKEND_PRINCIPALS` (403).
    NotABackend,
    /// 1021: the caller is over one of its per-identity limits; nothing was done (429, with
    /// `Retry-After`).
    RateLimited,
    /// 1022: no such medium on the account (404).
    MediumNotFound,
    /// 1023: nothing was uploaded to the medium's upload URL, or it expired (409).
    NotUploaded,
    /// 1024: the uploaded file is not the declared one (size, format or content); WeChat kept
    /// nothing (422).
    NotAsDeclared,
    /// 1025: a temporary medium past its 3 days: WeChat no longer knows it (409).
    MediumExpired,
    /// 1026: no such QR code on the account; for its image, also a temporary code past its
    /// expiry (404).
    QrCodeNotFound,
}

impl DashboardCode {
    /// The number in the JSON body.
    pub fn code(self) -> i64 {
        match self {
            Self::Misconfigured => 1000,
            Self::BadParameter => 1001,
            Self::NoTicket => 1002,
            Self::WeChatRefused => 1003,
            Self::StoreUnavailable => 1004,
            Self::TokenBusy => 1005,
            Self::UnknownUser => 1006,
            Self::AccountNotFound => 1007,
            Self::AccountRevoked => 1008,
            Self::NeedsReauthorization => 1009,
            Self::MessageRefused => 1010,
            Self::OutcomeUnknown => 1011,
            Self::RequestInProgress => 1012,
            Self::RulesChanged => 1013,
            Self::VersionRequired => 1014,
            Self::TicketUnknown => 1015,
            Self::TicketRedeemed => 1016,
            Self::BindingNotFound => 1017,
            Self::UserRefMismatch => 1018,
            Self::KeyReused => 1019,
            Self::NotABackend => 1020,
            Self::RateLimited => 1021,
            Self::MediumNotFound => 1022,
            Self::NotUploaded => 1023,
            Self::NotAsDeclared => 1024,
            Self::MediumExpired => 1025,
            Self::QrCodeNotFound => 1026,
        }
    }

    /// The HTTP status it is answered with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::Misconfigured => StatusCode::INTERNAL_SERVER_ERROR,
            Self::BadParameter => StatusCode::BAD_REQUEST,
            Self::NoTicket | Self::StoreUnavailable | Self::TokenBusy => StatusCode::SERVICE_UNAVAILABLE,
            Self::WeChatRefused => StatusCode::BAD_GATEWAY,
            Self::UnknownUser => StatusCode::UNAUTHORIZED,
            Self::NotABackend => StatusCode::FORBIDDEN,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::AccountNotFound => StatusCode::NOT_FOUND,
            Self::AccountRevoked | Self::NeedsReauthorization | Self::RequestInProgress => StatusCode::CONFLICT,
            Self::MessageRefused | Self::KeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::OutcomeUnknown => StatusCode::GATEWAY_TIMEOUT,
            Self::RulesChanged => StatusCode::PRECONDITION_FAILED,
            Self::VersionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::TicketUnknown | Self::BindingNotFound | Self::MediumNotFound | Self::QrCodeNotFound => {
                StatusCode::NOT_FOUND
            }
            Self::NotUploaded | Self::MediumExpired => StatusCode::CONFLICT,
            Self::NotAsDeclared => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UserRefMismatch => StatusCode::CONFLICT,
            Self::TicketRedeemed => StatusCode::GONE,
        }
    }

    /// The JSON error response with `msg`.
    pub fn respond(self, msg: &str) -> Response<Body> {
        json(self.status(), &serde_json::json!({"code": self.code(), "msg": msg}))
    }

    /// The response for a failed WeChat call, in words a dashboard can show (no transport text).
    pub fn for_call(err: &CallError) -> Response<Body> {
        match err {
            CallError::NoTicket => Self::NoTicket.respond(
                "WeChat has not pushed a component_verify_ticket yet (it does every 10 minutes); try again shortly",
            ),
            // WeChat's errcode, never the transport's text (it can name hosts and internals).
            CallError::WeChat(e) => Self::WeChatRefused.respond(&e.errcode().map_or_else(
                || "WeChat could not be reached; try again".to_owned(),
                |c| format!("WeChat refused the request (errcode {c})"),
            )),
            CallError::Busy => Self::TokenBusy.respond("the component token is being refreshed; try again"),
            CallError::Store(_) => Self::StoreUnavailable.respond("the token store is unavailable; try again"),
            // Not reached from a dashboard call today (only the refresher hands off); kept honest.
            CallError::Bus(_) => Self::StoreUnavailable.respond("the event bus is unavailable; try again"),
        }
    }

    /// The response for a failed attempt to act as an account.
    pub fn for_act(err: &ActError) -> Response<Body> {
        match err {
            ActError::NotFound => Self::AccountNotFound.respond("no such account among yours"),
            ActError::Revoked => {
                Self::AccountRevoked.respond("the account revoked the authorization; its admin must authorize again")
            }
            ActError::NeedsReauthorization => Self::NeedsReauthorization
                .respond("WeChat no longer accepts this account's refresh token; its admin must authorize again"),
            ActError::Invalid(reason) => Self::BadParameter.respond(reason),
            ActError::InProgress => {
                Self::RequestInProgress.respond("a request with this Idempotency-Key is still running; try again shortly")
            }
            ActError::Limited(limited) => Self::limited(limited),
            ActError::KeyReused => Self::KeyReused.respond(
                "this Idempotency-Key was used for another message within the last day; nothing was sent. Use a new key per message",
            ),
            ActError::OutcomeUnknown => Self::OutcomeUnknown.respond(
                "WeChat did not answer after the message left: it may have been sent. Not retried; check with the follower before sending again",
            ),
            ActError::Refused(e) => {
                let errcode = e.errcode().unwrap_or(-1);
                let (reason, msg) = refusal(errcode);
                let mut body = serde_json::json!({"code": Self::MessageRefused.code(), "errcode": errcode, "reason": reason, "msg": msg});
                if errcode == 45009 {
                    // Which API's quota, and when WeChat gives it back: midnight, China time.
                    let now = crate::clock::unix_now_ms() / 1000;
                    body["api"] = serde_json::json!(e.call());
                    body["resets_at"] = serde_json::json!((crate::clock::china_day(now) + 1) * 86_400 - 8 * 3600);
                }
                json(Self::MessageRefused.status(), &body)
            }
            ActError::Token(err) => Self::for_call(err),
            ActError::NoMedium => Self::MediumNotFound.respond("no such medium on this account"),
            ActError::NotGranted { .. } => json(
                Self::MessageRefused.status(),
                &serde_json::json!({"code": Self::MessageRefused.code(), "errcode": 61007, "reason": "permission_not_granted", "msg": err.to_string()}),
            ),
            ActError::NoQrCode => Self::QrCodeNotFound
                .respond("no such QR code on this account (a temporary code's image is gone once it expires)"),
            ActError::NotUploaded => Self::NotUploaded.respond(
                "nothing was uploaded to the medium's upload URL (or the URL expired): upload the file, or begin again",
            ),
            ActError::NotAsDeclared(reason) => Self::NotAsDeclared.respond(&format!(
                "{reason}; nothing was kept by WeChat. Begin again with the file's true type, size and SHA-256"
            )),
            ActError::MediumExpired => Self::MediumExpired.respond(
                "the temporary medium expired (WeChat keeps one 3 days): POST …/media/{handle}/complete uploads it again from the file the platform kept, then send again",
            ),
            ActError::Running(what) => Self::RequestInProgress.respond(&format!("{what}; try again shortly")),
            ActError::Staging(_) => Self::StoreUnavailable.respond("the staging bucket is unavailable; try again"),
        }
    }

    /// The response for a document (reply rules, menu) not replaced.
    pub fn for_document(err: &DocumentError) -> Response<Body> {
        match err {
            DocumentError::Invalid(invalid) => json(
                Self::BadParameter.status(),
                &serde_json::json!({"code": Self::BadParameter.code(), "rule": invalid.index, "msg": invalid.to_string()}),
            ),
            DocumentError::VersionRequired(_) => Self::VersionRequired.respond(&err.to_string()),
            DocumentError::Changed { current, .. } => json(
                Self::RulesChanged.status(),
                &serde_json::json!({"code": Self::RulesChanged.code(), "version": current, "msg": err.to_string()}),
            ),
            DocumentError::Act(err) => Self::for_act(err),
        }
    }

    /// The response for a failed authorization link.
    pub fn for_link(err: &LinkError) -> Response<Body> {
        match err {
            LinkError::NotConfigured(variable) => Self::Misconfigured.respond(&format!("{variable} is not configured")),
            LinkError::Call(err) => Self::for_call(err),
            LinkError::Limited(limited) => Self::limited(limited),
        }
    }

    /// 429 `1021` for a caller over a limit: the limit named, and `Retry-After` the seconds until
    /// its window ends.
    pub fn limited(limited: &Limited) -> Response<Body> {
        let mut response = json(
            Self::RateLimited.status(),
            &serde_json::json!({"code": Self::RateLimited.code(), "limit": limited.limit, "msg": limited.to_string()}),
        );
        if let Ok(value) = header::HeaderValue::from_str(&limited.retry_after.max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// WeChat's refusals of a message, as a stable `reason` and words a dashboard can show
/// (<https://developers.weixin.qq.com/doc/service/api/customer/message/api_sendcustommessage>,
/// `docs/contract.md`).
pub fn refusal(errcode: i64) -> (&'static str, &'static str) {
    match errcode {
        45015 => (
            "outside_window",
            "the follower has not written within 48 hours (or followed, scanned or clicked a menu within a minute): WeChat allows no message now",
        ),
        45047 => (
            "window_quota",
            "the messages this follower's window allows are used up (5 after a message, 3 after a follow, scan or click); wait for them to write again",
        ),
        48002 => ("follower_blocked", "the follower switched this account's messages off"),
        43004 => ("not_following", "this user does not follow the account"),
        40003 => ("invalid_openid", "the openid is not one of this account's followers"),
        45009 => ("daily_quota", "the account's daily quota for this API is used up"),
        48001 => (
            "api_unauthorized",
            "the account itself may not use this API (customer-service messages need a verified account)",
        ),
        61007 => (
            "permission_not_granted",
            "the admin did not grant the platform the message permission set (消息管理权限, set 1) when authorizing: authorize again with it",
        ),
        45008 => ("too_many_articles", "a news message holds one article"),
        40037 => ("invalid_template", "the template id is not one of this account's templates"),
        47003 => ("invalid_data", "a template field's value does not fit its keyword's rule"),
        40001 | 42001 => ("token_refused", "WeChat refused the account's access token twice in a row; try again"),
        40004 => ("invalid_media_type", "WeChat does not take this type of medium"),
        40005 => ("invalid_file_type", "WeChat does not take this file's format for its type"),
        40006 => ("invalid_media_size", "the file is larger than WeChat takes for its type"),
        40007 => ("invalid_media_id", "the medium is not the account's, or has expired (temporary media last 3 days)"),
        41005 => ("media_missing", "WeChat received no file"),
        _ => ("refused", "WeChat refused the request"),
    }
}

/// Every `(name, value)` of the query string, repeats included (so a repeated parameter with two
/// values is seen and refused, not silently collapsed).
pub fn query_pairs(request: &Request) -> Vec<(String, String)> {
    request
        .query_string_parameters_ref()
        .map(|params| params.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
        .unwrap_or_default()
}

/// A query parameter given at most once: `Ok(None)` when absent, `Err` naming it when repeated
/// with another value (which of two values to trust is not ours to guess).
///
/// # Errors
/// A message naming the parameter.
pub fn single_param<'a>(pairs: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, String> {
    let mut values = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let first = values.next();
    if values.any(|other| Some(other) != first) {
        return Err(format!("`{name}` is given more than once"));
    }
    Ok(first)
}

/// A small page with a title and a message (both escaped), for the browser-facing routes.
pub fn message_page(status: StatusCode, title: &str, message: &str, referrer: Referrer) -> Response<Body> {
    html(
        status,
        format!(
            "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\
             <body style=\"font-family:sans-serif;text-align:center;margin-top:4em\"><main><h1 id=\"platform-title\">{title}</h1><p id=\"message\">{message}</p></main></body></html>",
            title = escape_html(title),
            message = escape_html(message)
        ),
        referrer,
    )
}

/// The request body as bytes; API Gateway's Base64-encoded bodies arrive already decoded.
pub fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// The dashboard user the configured [`DashboardAuth`] promises, namespaced so that no identity of
/// one kind can collide with another's or with [`crate::store::UNCLAIMED_OWNER`]:
///
/// - `jwt`: `jwt:<iss>:<sub>` from API Gateway's JWT authorizer (`sub` 1–256 bytes, `iss` 1–512);
/// - `iam`: `iam:<caller ARN>` from API Gateway's IAM authorization;
/// - `unauthenticated-local-demo`: [`LOCAL_DEMO_USER`], or `local:<name>` for a request that
///   carries `Authorization: Bearer local-user:<name>` or the local sign-in's token for `<name>`
///   ([`local_demo_user`]).
///
/// `None` (fail closed, [`unknown_user`]) when the request does not carry that identity: a route
/// deployed without its authorizer, a JWT without a usable `sub` or `iss`, an IAM call without an
/// ARN. Such a caller is nobody we know, and must see nobody's accounts.
pub fn dashboard_user(request: &Request, auth: DashboardAuth) -> Option<String> {
    let authorizer = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.authorizer.as_ref(),
        _ => None,
    };
    let usable = |value: Option<&String>, max: usize| value.filter(|v| !v.is_empty() && v.len() <= max).cloned();
    match auth {
        DashboardAuth::UnauthenticatedLocalDemo => Some(local_demo_user(request)),
        DashboardAuth::Jwt => {
            let claims = &authorizer?.jwt.as_ref()?.claims;
            let (issuer, subject) = (usable(claims.get("iss"), 512)?, usable(claims.get("sub"), 256)?);
            Some(format!("jwt:{issuer}:{subject}"))
        }
        DashboardAuth::Iam => Some(format!("iam:{}", iam_caller_arn(request)?)),
    }
}

/// The ARN of the IAM principal API Gateway verified (1–2048 bytes), if the route is `AWS_IAM`.
fn iam_caller_arn(request: &Request) -> Option<String> {
    let Some(RequestContext::ApiGatewayV2(ctx)) = request.request_context_ref() else {
        return None;
    };
    ctx.authorizer.as_ref()?.iam.as_ref()?.user_arn.clone().filter(|arn| !arn.is_empty() && arn.len() <= 2048)
}

/// The user of a request under `unauthenticated-local-demo`: `local:<name>` when it carries
/// `Authorization: Bearer local-user:<name>` (`name`: 1–64 of `A–Z a–z 0–9 _ -`), otherwise
/// [`LOCAL_DEMO_USER`].
///
/// Why: a local run has no identity provider, yet tenancy is only believable when several users
/// can be seen side by side, and each end-to-end flow needs an account list of its own so that no
/// flow depends on what another left behind. This proves nothing about the caller, like the mode
/// itself; a deployment uses `jwt` or `iam`, where this header means nothing.
pub fn local_demo_user(request: &Request) -> String {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let named = bearer.and_then(|token| match token.strip_prefix("local-user:") {
        Some(name) => local_demo_name_ok(name).then(|| name.to_owned()),
        None => unverified_subject(token),
    });
    match named {
        Some(name) => format!("local:{name}"),
        None => LOCAL_DEMO_USER.to_owned(),
    }
}

/// A local demo user's name: 1–64 of `A–Z a–z 0–9 _ -`.
pub fn local_demo_name_ok(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The `sub` of a JWT-shaped token, *unverified*: the local demo's sign-in (the stand-in's
/// identity provider) hands the console such a token, and the demo verifies nothing, as its name
/// says. A deployment's `jwt` mode reads only what API Gateway's authorizer verified.
fn unverified_subject(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub").and_then(serde_json::Value::as_str).filter(|sub| local_demo_name_ok(sub)).map(str::to_owned)
}

/// Why a backend route refused its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendRefusal {
    /// No usable IAM identity on the request (a route deployed without `AWS_IAM`).
    NoIdentity,
    /// An IAM principal that is not named in `BACKEND_PRINCIPALS`.
    NotNamed(String),
}

/// The backend calling a `/wechat/backend/…` route: in a deployment, the IAM principal API
/// Gateway verified, accepted only when `named` (`BACKEND_PRINCIPALS`) lists it, so that a
/// dashboard user allowed `execute-api:Invoke` on the whole API is still not a backend. The local
/// demo (no API Gateway, no IAM) has its one user on both families.
///
/// # Errors
/// [`BackendRefusal`]: no identity, or one that is not a named backend.
pub fn backend_caller(request: &Request, auth: DashboardAuth, named: &[String]) -> Result<String, BackendRefusal> {
    if auth == DashboardAuth::UnauthenticatedLocalDemo {
        return Ok(local_demo_user(request));
    }
    let arn = iam_caller_arn(request).ok_or(BackendRefusal::NoIdentity)?;
    match crate::config::canonical_principal(&arn) {
        Some(principal) if named.contains(&principal) => Ok(format!("iam:{principal}")),
        _ => Err(BackendRefusal::NotNamed(arn)),
    }
}

/// The answer to a backend route's refused caller: 401 `1006` without an identity, 403 `1020`
/// for a principal that is not a named backend (logged: an ARN is no secret, and it is what the
/// operator adds).
pub fn backend_refused(function: &str, refusal: &BackendRefusal) -> Response<Body> {
    match refusal {
        BackendRefusal::NoIdentity => unknown_user(function, DashboardAuth::Iam),
        BackendRefusal::NotNamed(arn) => {
            tracing::warn!(function, principal = %arn, "backend route called by a principal not in BACKEND_PRINCIPALS");
            DashboardCode::NotABackend.respond(
                "this IAM principal is not one of the platform's backends: its role (or user) ARN must be in the BackendPrincipals parameter",
            )
        }
    }
}

/// An account route's parts (the two families `/wechat/authorizers/{appid}/…` and
/// `/wechat/backend/authorizers/{appid}/…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRoute {
    /// The account: API Gateway's `{appid}`, or under `cargo lambda watch` the segment after
    /// `authorizers`.
    pub appid: String,
    /// Whether it is the backend (IAM) family.
    pub backend: bool,
    /// The path's segments after the appid.
    pub rest: Vec<String>,
}

/// The account route `request` names; `None` when its path names no well-formed appid.
pub fn account_route(request: &Request) -> Option<AccountRoute> {
    let segments: Vec<&str> = request.uri().path().split('/').filter(|s| !s.is_empty()).collect();
    let at = segments.iter().position(|s| *s == "authorizers")?;
    let appid = request
        .path_parameters_ref()
        .and_then(|p| p.first("appid"))
        .map(str::to_owned)
        .or_else(|| segments.get(at + 1).map(|s| (*s).to_owned()))?;
    let valid = appid.len() == 18 && appid.starts_with("wx") && appid.bytes().all(|b| b.is_ascii_alphanumeric());
    let backend = at > 0 && segments[at - 1] == "backend";
    let rest = segments[(at + 2).min(segments.len())..].iter().map(|s| (*s).to_owned()).collect();
    valid.then_some(AccountRoute { appid, backend, rest })
}

/// Who acts on an account route: a backend route's named backend ([`backend_caller`]), or a
/// dashboard route's user; else the refusal to answer.
///
/// # Errors
/// The response refusing the caller.
pub fn acting_caller(
    request: &Request,
    config: &Config,
    backend: bool,
    function: &str,
) -> Result<Caller, Box<Response<Body>>> {
    if backend {
        backend_caller(request, config.dashboard_auth, &config.backend_principals)
            .map(Caller::Backend)
            .map_err(|refusal| Box::new(backend_refused(function, &refusal)))
    } else {
        dashboard_user(request, config.dashboard_auth)
            .map(Caller::Dashboard)
            .ok_or_else(|| Box::new(unknown_user(function, config.dashboard_auth)))
    }
}

/// The answer to a request matching no route of the function: 404, logged.
pub fn no_such_route(function: &str, request: &Request) -> Response<Body> {
    tracing::warn!(function, method = %request.method(), path = request.uri().path(), "no such route");
    json(
        StatusCode::NOT_FOUND,
        &serde_json::json!({"code": DashboardCode::BadParameter.code(), "msg": "no such route"}),
    )
}

/// The dashboard's answer to a caller without the identity the mode promises (`401`, `1006`).
pub fn unknown_user(function: &str, auth: DashboardAuth) -> Response<Body> {
    tracing::warn!(function, dashboard_auth = auth.as_str(), "request without a usable dashboard identity");
    DashboardCode::UnknownUser
        .respond(&format!("the request carries no usable identity for DASHBOARD_AUTH={}", auth.as_str()))
}

/// True when the caller asked for HTML (`Accept: text/html`, as a browser navigating does).
pub fn wants_html(request: &Request) -> bool {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Every response's base: its status and content type, and `nosniff` so that no browser reads a
/// JSON or text answer carrying a follower's words as HTML or script.
fn respond(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response<Body> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    if let Ok(value) = header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    response
}

/// `text/plain; charset=utf-8`.
pub fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    respond(status, "text/plain; charset=utf-8", body.into())
}

/// WeChat's `success`.
pub fn success() -> Response<Body> {
    text(StatusCode::OK, "success")
}

/// An encrypted passive reply.
pub fn xml(body: String) -> Response<Body> {
    respond(StatusCode::OK, "application/xml; charset=utf-8", body)
}

/// What a page lets the browser send as `Referer` when it leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Referrer {
    /// Nothing: the page's URL carries a single-use code (auth-callback).
    None,
    /// The origin: WeChat's authorization page checks that it is reached from the registered
    /// domain (`docs/wechat.md`, "Authorization page").
    Origin,
}

/// `text/html; charset=utf-8`, not cacheable (pages carry single-use links), and locked down:
/// no script, no framing (`frame-ancestors 'none'`), no MIME sniffing, and the referrer policy
/// the page needs.
pub fn html(status: StatusCode, body: String, referrer: Referrer) -> Response<Body> {
    let mut response = respond(status, "text/html; charset=utf-8", body);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src https:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    headers.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static(match referrer {
            Referrer::None => "no-referrer",
            Referrer::Origin => "strict-origin-when-cross-origin",
        }),
    );
    response
}

/// `application/json`.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut response = respond(status, "application/json; charset=utf-8", value.to_string());
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

/// The `Idempotency-Key` header, if one (and only one) is given.
///
/// # Errors
/// The words for a 400: the key is not printable ASCII, or the header is given twice.
pub fn idempotency_key(request: &Request) -> Result<Option<String>, &'static str> {
    match request.headers().get_all("idempotency-key").iter().collect::<Vec<_>>().as_slice() {
        [] => Ok(None),
        [one] => one.to_str().map(|key| Some(key.to_owned())).map_err(|_| "Idempotency-Key must be printable ASCII"),
        _ => Err("one Idempotency-Key header at most"),
    }
}

/// The version an `If-Match` header names (`"3"`, `W/"3"` or `3`); `None` without one. A
/// version exactly as an [`etag`] writes it: decimal digits, no sign, no leading zero (a value
/// that merely parses to a version, `+1` or `0001`, is not one the platform ever issued).
///
/// # Errors
/// The words for a 400 when the header is there but names no version.
pub fn if_match(request: &Request) -> Result<Option<u64>, &'static str> {
    let Some(value) = request.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| "If-Match must be printable ASCII")?.trim();
    let text = text.strip_prefix("W/").unwrap_or(text);
    let text = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
    let canonical =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    canonical
        .then(|| text.parse().ok())
        .flatten()
        .map(Some)
        .ok_or("If-Match must name a version, as the ETag of the GET does")
}

/// The `ETag` of a version of a document.
pub fn etag(version: u64) -> header::HeaderValue {
    header::HeaderValue::from_str(&format!("\"{version}\""))
        .unwrap_or_else(|_| header::HeaderValue::from_static("\"0\""))
}

/// A JSON answer with the document's version as its `ETag`.
pub fn json_versioned(version: u64, data: serde_json::Value) -> Response<Body> {
    let mut response = json_ok(data);
    response.headers_mut().insert(header::ETAG, etag(version));
    response
}

/// The dashboard's envelope for success: `{"code": 0, "data": …}`.
pub fn json_ok(data: serde_json::Value) -> Response<Body> {
    json(StatusCode::OK, &serde_json::json!({"code": 0, "data": data}))
}

/// A `302 Found` to `location`.
pub fn redirect(location: &str) -> Response<Body> {
    let mut response = text(StatusCode::FOUND, "");
    if let Ok(value) = header::HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// The answer to a push that failed verification: the contract's status (401 not authentic,
/// 413 too large, 400 undecryptable or malformed) with a short reason, and a warning log line
/// naming the error and its official code. Never `success`.
pub fn push_rejected(function: &str, err: &PushError) -> Response<Body> {
    tracing::warn!(function, error = %err, code = err.code(), "push rejected");
    let status = StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    text(status, status.canonical_reason().unwrap_or("rejected"))
}

/// A push URL's answer in HTTP: `success`, an empty 200, the sealed reply as XML, 503 for
/// WeChat to deliver it again, or the rejection ([`push_rejected`]).
pub fn push_answer(function: &str, answer: push::PushAnswer) -> Response<Body> {
    match answer {
        push::PushAnswer::Success => success(),
        push::PushAnswer::Empty => text(StatusCode::OK, ""),
        push::PushAnswer::Reply(sealed) => xml(sealed),
        push::PushAnswer::Retry => text(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable"),
        push::PushAnswer::Rejected(err) => push_rejected(function, &err),
    }
}

/// The answer to a GET URL verification (`echostr`): the echo when the signature holds, else the
/// contract's rejection. Shared by both push URLs.
pub fn url_verification<'a>(
    function: &str,
    crypto: Result<&crate::crypto::WeChatCrypto, PushError>,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Response<Body> {
    match crypto.and_then(|crypto| push::UrlQuery::from_pairs(pairs).and_then(|query| push::verify_url(crypto, &query)))
    {
        Ok(echostr) => text(StatusCode::OK, echostr),
        Err(err) => push_rejected(function, &err),
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A request on one of a function's account routes, past the checks every account function
/// makes first ([`on_account`]): the account it names and who acts (the family decided which
/// kind of caller). Its answers log the function and the account, so a function's match arms
/// say only what is theirs.
pub struct AccountRequest {
    /// The function answering (its log name).
    pub function: &'static str,
    /// The account the route names.
    pub appid: String,
    /// Who acts: the dashboard user or the named backend.
    pub caller: Caller,
}

impl AccountRequest {
    /// `400` ([`DashboardCode::BadParameter`]) for a request refused before anything is done.
    pub fn refused(&self, reason: &str) -> Response<Body> {
        tracing::warn!(function = self.function, authorizer = %self.appid, reason, "request refused");
        DashboardCode::BadParameter.respond(reason)
    }

    /// A use case's result: its data (`200`), or its error as the dashboard's code.
    pub fn answer(&self, result: Result<serde_json::Value, ActError>) -> Response<Body> {
        match result {
            Ok(data) => json_ok(data),
            Err(err) => {
                tracing::warn!(function = self.function, authorizer = %self.appid, error = %err, "not done");
                DashboardCode::for_act(&err)
            }
        }
    }
}

/// Answers a request on `function`'s account routes: `route` finds the account, the family and
/// the action (404 when the path is none of the function's), [`acting_caller`] the caller (401 or
/// 403 otherwise), then `respond` does the work. Whichever way it ends, the account's WeChat calls
/// of the request are counted when the answer is a success and forgotten otherwise
/// ([`Platform::settle_usage`]). Every account function answers through this.
///
/// # Errors
/// What `respond` returns (lambda_http's error; none in practice).
pub async fn on_account<S, A, R, F>(
    platform: &Platform<S>,
    config: &Config,
    function: &'static str,
    request: Request,
    route: R,
    respond: impl FnOnce(AccountRequest, A, Request) -> F,
) -> Result<Response<Body>, lambda_http::Error>
where
    S: TokenStore,
    R: Fn(&Request) -> Option<(String, bool, A)>,
    F: std::future::Future<Output = Result<Response<Body>, lambda_http::Error>>,
{
    let Some((appid, backend, action)) = route(&request) else {
        return Ok(no_such_route(function, &request));
    };
    let answered = match acting_caller(&request, config, backend, function) {
        Ok(caller) => respond(AccountRequest { function, appid: appid.clone(), caller }, action, request).await,
        Err(refused) => Ok(*refused),
    };
    // Settled on every path, an error too: calls left unsettled would be counted with the
    // account's next successful request.
    let succeeded = answered.as_ref().is_ok_and(|response| response.status().is_success());
    platform.settle_usage(&appid, succeeded).await;
    answered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_authorization(value: Option<&str>) -> Request {
        let mut builder = lambda_http::http::Request::builder();
        if let Some(value) = value {
            builder = builder.header(header::AUTHORIZATION, value);
        }
        builder.body(Body::Empty).unwrap()
    }

    #[test]
    fn a_local_demo_request_names_its_user_or_is_the_demo_user() {
        let user = |value| local_demo_user(&with_authorization(value));
        assert_eq!(user(None), LOCAL_DEMO_USER);
        assert_eq!(user(Some("Bearer local-user:console-flow-1")), "local:console-flow-1");
        assert_eq!(user(Some("Bearer local-user:A_z")), "local:A_z");
        let too_long = format!("Bearer local-user:{}", "a".repeat(65));
        for other in ["Bearer local-user:", "Bearer local-user:a b", "Bearer local-user:a:b", "Bearer x.y.z", &too_long]
        {
            assert_eq!(user(Some(other)), LOCAL_DEMO_USER, "{other}");
        }
        // The local sign-in's token (JWT-shaped, unverified): its subject.
        let payload = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, r#"{"sub":"carol"}"#);
        let signed_in = format!("Bearer eyJhbGciOiJub25lIn0.{payload}.");
        assert_eq!(user(Some(&signed_in)), "local:carol");
        for bad in ["Bearer a.b.c", "Bearer a.e30.", "Bearer x"] {
            assert_eq!(user(Some(bad)), LOCAL_DEMO_USER, "{bad}");
        }
        // Only the local demo reads it: a deployment's modes ignore the header.
        let request = with_authorization(Some("Bearer local-user:alice"));
        assert_eq!(dashboard_user(&request, DashboardAuth::Jwt), None);
        assert_eq!(dashboard_user(&request, DashboardAuth::Iam), None);
        assert_eq!(dashboard_user(&request, DashboardAuth::UnauthenticatedLocalDemo).as_deref(), Some("local:alice"));
    }

    #[test]
    fn every_response_forbids_mime_sniffing() {
        let err = PushError::NotEncrypted;
        let responses = [
            ("text", text(StatusCode::OK, "x")),
            ("success", success()),
            ("xml", xml("<xml/>".into())),
            ("json", json(StatusCode::BAD_REQUEST, &serde_json::json!({"code": 1}))),
            ("json_ok", json_ok(serde_json::json!({}))),
            ("redirect", redirect("https://example.com/")),
            ("html", html(StatusCode::OK, String::new(), Referrer::None)),
            ("message_page", message_page(StatusCode::OK, "t", "m", Referrer::Origin)),
            ("push_rejected", push_rejected("test", &err)),
        ];
        for (name, response) in responses {
            let value = response.headers().get(header::X_CONTENT_TYPE_OPTIONS).and_then(|v| v.to_str().ok());
            assert_eq!(value, Some("nosniff"), "{name}");
        }
    }
}
