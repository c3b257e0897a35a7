//! The operator's console (`GET /console`): one page of plain HTML, CSS and JavaScript, no build
//! step, served with a content security policy that allows only its own script and styles and
//! connections to its own origin. It holds no secret: every call it makes goes to the dashboard
//! API with the operator's own identity (a JWT taken from the URL fragment of an OIDC redirect,
//! or pasted), exactly as any other client of that API would.
//!
//! Routes: `GET /console` (the page), `GET /console/console.js`, `GET /console/console.css`.
//! Anything else under it is a 404.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};

const FUNCTION: &str = "console";
const PAGE: &str = include_str!("../assets/console.html");
const SCRIPT: &str = include_str!("../assets/console.js");
const STYLE: &str = include_str!("../assets/console.css");

/// Only this page's own script and styles; API calls to its own origin; avatars from WeChat's
/// image hosts over https; no framing, no forms posting elsewhere, no `<base>`.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; \
                       connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Where the dashboard API is, as the page must call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routes {
    /// Behind API Gateway: `/wechat/authorizers`, `/wechat/authorize-url`, …
    Gateway,
    /// Under `cargo lambda watch`: `/lambda-url/<function>/…` (the local run).
    LambdaUrl,
}

impl Routes {
    /// `CONSOLE_ROUTES=lambda-url` for the local run; anything else is the deployment's.
    pub fn from_env() -> Self {
        match std::env::var("CONSOLE_ROUTES").as_deref() {
            Ok("lambda-url") => Self::LambdaUrl,
            _ => Self::Gateway,
        }
    }

    /// Where the page's own script and styles are (absolute: no `<base>`, the policy forbids it).
    fn assets(self) -> &'static str {
        match self {
            Self::Gateway => "/console",
            Self::LambdaUrl => "/lambda-url/console",
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Gateway => "gateway",
            Self::LambdaUrl => "lambda-url",
        }
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: String, cache: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// Handles one request.
pub fn handle(request: &Request, routes: Routes) -> Response<Body> {
    let path = request.uri().path().trim_end_matches('/');
    // `cargo lambda watch` hands the function the path after `/lambda-url/console`.
    if path.is_empty() || path.ends_with("/console") {
        let page = PAGE.replace("{{PREFIX}}", routes.assets()).replace("{{ROUTES}}", routes.as_str());
        return respond(StatusCode::OK, "text/html; charset=utf-8", page, "no-store");
    }
    if path.ends_with("/console.js") {
        return respond(StatusCode::OK, "text/javascript; charset=utf-8", SCRIPT.to_owned(), "no-cache");
    }
    if path.ends_with("/console.css") {
        return respond(StatusCode::OK, "text/css; charset=utf-8", STYLE.to_owned(), "no-cache");
    }
    not_found(path)
}

fn not_found(path: &str) -> Response<Body> {
    tracing::warn!(function = FUNCTION, path, "no such console route");
    respond(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", "not found".to_owned(), "no-store")
}
