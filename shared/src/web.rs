//! What the HTTP functions share: reading API Gateway requests and writing the contract's
//! responses (`docs/contract.md`). One place decides the status codes and log levels of push
//! failures ([`push_rejected`]) and of the dashboard's error codes ([`DashboardCode`]).

use lambda_http::http::{StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use crate::push::{self, PushError};
use crate::service::{CallError, LinkError};
use crate::store::DEFAULT_OWNER;

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
            CallError::WeChat(e) => Self::WeChatRefused.respond(&format!(
                "WeChat refused the request ({})",
                e.errcode().map_or_else(|| e.to_string(), |c| format!("errcode {c}"))
            )),
            CallError::Busy => Self::TokenBusy.respond("the component token is being refreshed; try again"),
            CallError::Store(_) => Self::StoreUnavailable.respond("the token store is unavailable; try again"),
        }
    }

    /// The response for a failed authorization link.
    pub fn for_link(err: &LinkError) -> Response<Body> {
        match err {
            LinkError::NotConfigured(variable) => Self::Misconfigured.respond(&format!("{variable} is not configured")),
            LinkError::Call(err) => Self::for_call(err),
        }
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

/// The request body as bytes; API Gateway's Base64-encoded bodies arrive already decoded.
pub fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// The dashboard user: the JWT `sub` claim when API Gateway carries a JWT authorizer, otherwise
/// [`DEFAULT_OWNER`] (local runs and deployments without an authorizer).
///
/// `None` when a JWT authorizer is present but its `sub` is missing, empty or over 256 bytes:
/// such a caller is nobody we know, and falling back to the default user would show them the
/// accounts of everyone who authorized without signing in. Answer with [`unknown_user`].
pub fn dashboard_user(request: &Request) -> Option<String> {
    let jwt = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.authorizer.as_ref().and_then(|a| a.jwt.as_ref()),
        _ => None,
    };
    match jwt {
        None => Some(DEFAULT_OWNER.to_owned()),
        Some(jwt) => jwt.claims.get("sub").filter(|sub| !sub.is_empty() && sub.len() <= 256).cloned(),
    }
}

/// The dashboard's answer to a signed-in caller without a usable `sub` (`401`, code `1006`).
pub fn unknown_user(function: &str) -> Response<Body> {
    tracing::warn!(function, "JWT authorizer present but no usable `sub` claim");
    DashboardCode::UnknownUser.respond("the signed-in user has no usable `sub` claim")
}

/// True when the caller asked for HTML (`Accept: text/html`, as a browser navigating does).
pub fn wants_html(request: &Request) -> bool {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

fn respond(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response<Body> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    if let Ok(value) = header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
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

/// `text/html; charset=utf-8`, not cacheable (it carries single-use links).
pub fn html(status: StatusCode, body: String) -> Response<Body> {
    let mut response = respond(status, "text/html; charset=utf-8", body);
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

/// `application/json`.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut response = respond(status, "application/json; charset=utf-8", value.to_string());
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
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

/// The answer to a GET URL verification (`echostr`): the echo when the signature holds, else the
/// contract's rejection. Shared by both push URLs.
pub fn url_verification<'a>(
    function: &str,
    crypto: &crate::crypto::WeChatCrypto,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Response<Body> {
    match push::UrlQuery::from_pairs(pairs).and_then(|query| push::verify_url(crypto, &query)) {
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
