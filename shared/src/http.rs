//! Small helpers shared by the HTTP functions: reading API Gateway requests and writing the
//! contract's responses. One place decides status codes and log levels for push failures.

use lambda_http::http::{StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use crate::push::{self, PushError};
use crate::store::DEFAULT_OWNER;

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
    json_error(StatusCode::UNAUTHORIZED, 1006, "the signed-in user has no usable `sub` claim")
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

/// The dashboard's envelope for errors: `{"code": <nonzero>, "msg": "…"}`.
pub fn json_error(status: StatusCode, code: i64, msg: &str) -> Response<Body> {
    json(status, &serde_json::json!({"code": code, "msg": msg}))
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
