//! The operator's console (`GET /console`): one page of plain HTML, CSS and JavaScript, no build
//! step, served with a content security policy that allows only its own script and styles and
//! connections to its own origin. It holds no secret: every call it makes goes to the dashboard
//! API with the operator's own identity (a JWT taken from the URL fragment of an OIDC redirect,
//! or pasted), exactly as any other client of that API would.
//!
//! Routes: `GET /console` (the page), `GET /console/console.js`, `GET /console/console.css`;
//! `GET /console/api` (the API's reference: `docs/openapi.yaml` rendered by the vendored Swagger
//! UI, under the same policy), its `api.js`, `api.css`, `openapi.yaml`, `swagger-ui-bundle.js` and
//! `swagger-ui.css`. Anything else under it is a 404.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};

const FUNCTION: &str = "console";
const PAGE: &str = include_str!("../assets/console.html");
const SCRIPT: &str = include_str!("../assets/console.js");
const STYLE: &str = include_str!("../assets/console.css");
const API_PAGE: &str = include_str!("../assets/api.html");
const API_SCRIPT: &str = include_str!("../assets/api.js");
const API_STYLE: &str = include_str!("../assets/api.css");
/// The contract itself, the one file in `docs/`: the page renders exactly what the tests hold.
const OPENAPI: &str = include_str!("../../../docs/openapi.yaml");
/// Swagger UI from npm (`scripts/vendor_swagger_ui.sh`), kept gzipped: 0.5 MB in the binary
/// instead of 1.9 MB, sent as is with `Content-Encoding: gzip`.
const SWAGGER_SCRIPT_GZ: &[u8] = include_bytes!("../assets/vendor/swagger-ui-bundle.js.gz");
const SWAGGER_STYLE_GZ: &[u8] = include_bytes!("../assets/vendor/swagger-ui.css.gz");

/// Only this page's own script and styles; API calls to its own origin, and uploads to the media
/// staging bucket's (when there is one); avatars from WeChat's image hosts over https and the
/// preview of a file being uploaded (`blob:`); no framing, no forms posting elsewhere, no `<base>`.
pub fn policy(upload_origin: Option<&str>) -> String {
    let connect = upload_origin.map_or_else(|| "'self'".to_owned(), |origin| format!("'self' {origin}"));
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data: blob:; \
         connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
}

/// `value` when it is an origin the policy may name (`https://host[:port]`, or http on localhost
/// for the local run), in its canonical form; `None` otherwise, said in a log line.
pub fn upload_origin(value: Option<&str>) -> Option<String> {
    let value = value.filter(|v| !v.is_empty())?;
    let parsed = url::Url::parse(value).ok().filter(|u| {
        let local = matches!(u.host_str(), Some("localhost" | "127.0.0.1"));
        (u.scheme() == "https" || (u.scheme() == "http" && local)) && u.path() == "/" && u.query().is_none()
    });
    match parsed {
        Some(url) => Some(url.origin().ascii_serialization()),
        None => {
            tracing::error!(function = FUNCTION, "CONSOLE_UPLOAD_ORIGIN is not an https origin: uploads are off");
            None
        }
    }
}

/// What the page is served with: where the APIs are, the sign-in, and its policy.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the dashboard API is.
    pub routes: Routes,
    /// The console's own sign-in, when configured.
    pub sign_in: Option<SignIn>,
    /// The content security policy ([`policy`]).
    policy: HeaderValue,
}

impl Settings {
    /// `routes` and `sign_in`, uploads allowed to `upload_origin` (see [`upload_origin`]).
    pub fn new(routes: Routes, sign_in: Option<SignIn>, upload_origin: Option<&str>) -> Self {
        let policy = HeaderValue::from_str(&policy(upload_origin)).unwrap_or_else(|_| HeaderValue::from_static(""));
        Self { routes, sign_in, policy }
    }

    /// From `CONSOLE_ROUTES`, `CONSOLE_OIDC_*` and `CONSOLE_UPLOAD_ORIGIN`.
    pub fn from_env() -> Self {
        let origin = upload_origin(std::env::var("CONSOLE_UPLOAD_ORIGIN").ok().as_deref());
        Self::new(Routes::from_env(), SignIn::from_env(), origin.as_deref())
    }
}

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

fn respond(
    policy: &HeaderValue,
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Body>,
    cache: &'static str,
) -> Response<Body> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::CONTENT_SECURITY_POLICY, policy.clone());
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The console's own sign-in: the identity provider's authorization endpoint and the client id
/// the console signs in as (OIDC implicit flow, `response_type=id_token`). The page accepts a token
/// in its URL fragment only as the answer to a sign-in it started (its `state`, and its `nonce` in
/// the token), so a link carrying someone else's token cannot sign an operator in as them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    /// `CONSOLE_OIDC_AUTHORIZE_URL`: an https URL (http for localhost, the local run).
    pub authorize_url: String,
    /// `CONSOLE_OIDC_CLIENT_ID`.
    pub client_id: String,
}

impl SignIn {
    /// From `CONSOLE_OIDC_AUTHORIZE_URL` and `CONSOLE_OIDC_CLIENT_ID`; `None` (pasted tokens only)
    /// when either is unset or the URL is not one, said in a log line.
    pub fn from_env() -> Option<Self> {
        Self::from_values(
            std::env::var("CONSOLE_OIDC_AUTHORIZE_URL").ok().as_deref(),
            std::env::var("CONSOLE_OIDC_CLIENT_ID").ok().as_deref(),
        )
    }

    fn from_values(url: Option<&str>, client: Option<&str>) -> Option<Self> {
        let (url, client) = (url.filter(|u| !u.is_empty())?, client.filter(|c| !c.is_empty())?);
        let ok = url::Url::parse(url).is_ok_and(|u| {
            u.scheme() == "https" || (u.scheme() == "http" && matches!(u.host_str(), Some("localhost" | "127.0.0.1")))
        });
        if !ok {
            tracing::error!(function = FUNCTION, "CONSOLE_OIDC_AUTHORIZE_URL is not an https URL: sign-in is off");
            return None;
        }
        Some(Self { authorize_url: url.to_owned(), client_id: client.to_owned() })
    }

    /// What the page's `console-signin` meta tag holds (HTML-escaped by the caller).
    fn as_json(sign_in: Option<&Self>) -> String {
        sign_in.map_or_else(String::new, |s| {
            serde_json::json!({"authorize": s.authorize_url, "client_id": s.client_id}).to_string()
        })
    }
}

/// Handles one request.
pub fn handle(request: &Request, settings: &Settings) -> Response<Body> {
    let routes = settings.routes;
    let respond =
        |status, content_type, body: Body, cache| respond(&settings.policy, status, content_type, body, cache);
    let path = request.uri().path().trim_end_matches('/');
    // `cargo lambda watch` hands the function the path after `/lambda-url/console`.
    if path.is_empty() || path.ends_with("/console") {
        let page = PAGE
            .replace("{{PREFIX}}", routes.assets())
            .replace("{{ROUTES}}", routes.as_str())
            .replace("{{SIGNIN}}", &shared::web::escape_html(&SignIn::as_json(settings.sign_in.as_ref())));
        return respond(StatusCode::OK, "text/html; charset=utf-8", page.into(), "no-store");
    }
    if path.ends_with("/console.js") {
        return respond(StatusCode::OK, "text/javascript; charset=utf-8", SCRIPT.into(), "no-cache");
    }
    if path.ends_with("/console.css") {
        return respond(StatusCode::OK, "text/css; charset=utf-8", STYLE.into(), "no-cache");
    }
    let api = |content_type, body: String| respond(StatusCode::OK, content_type, body.into(), "no-cache");
    let gzipped = |content_type, bytes: &'static [u8]| {
        let mut response = respond(StatusCode::OK, content_type, Body::Binary(bytes.to_vec()), "max-age=86400");
        response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        response
    };
    match path.rsplit('/').next().unwrap_or_default() {
        "api" => api("text/html; charset=utf-8", API_PAGE.replace("{{PREFIX}}", routes.assets())),
        "api.js" => api("text/javascript; charset=utf-8", API_SCRIPT.to_owned()),
        "api.css" => api("text/css; charset=utf-8", API_STYLE.to_owned()),
        "openapi.yaml" => api("application/yaml; charset=utf-8", OPENAPI.to_owned()),
        "swagger-ui-bundle.js" => gzipped("text/javascript; charset=utf-8", SWAGGER_SCRIPT_GZ),
        "swagger-ui.css" => gzipped("text/css; charset=utf-8", SWAGGER_STYLE_GZ),
        _ => {
            tracing::warn!(function = FUNCTION, path, "no such console route");
            respond(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", "not found".into(), "no-store")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_go_only_to_the_bucket_origin_named() {
        assert_eq!(policy(None).matches("connect-src 'self';").count(), 1);
        let bucket = upload_origin(Some("https://media-x.s3.ap-east-1.amazonaws.com")).unwrap();
        assert!(policy(Some(&bucket)).contains("connect-src 'self' https://media-x.s3.ap-east-1.amazonaws.com;"));
        assert_eq!(upload_origin(Some("http://127.0.0.1:4566/")).as_deref(), Some("http://127.0.0.1:4566"));
        for refused in
            ["http://example.com", "https://a.example/path", "https://a.example/?q", "*", "https://a; script-src *"]
        {
            assert_eq!(upload_origin(Some(refused)), None, "{refused}");
        }
        assert_eq!(upload_origin(Some("")), None);
    }

    #[test]
    fn sign_in_needs_an_https_endpoint_and_a_client() {
        let https = Some("https://idp.example.com/oauth2/authorize");
        assert!(SignIn::from_values(https, Some("console")).is_some());
        assert!(SignIn::from_values(Some("http://127.0.0.1:9100/standin/idp/authorize"), Some("c")).is_some());
        for (url, client) in
            [(https, None), (None, Some("c")), (Some("http://idp.example.com/a"), Some("c")), (Some("x"), Some("c"))]
        {
            assert_eq!(SignIn::from_values(url, client), None, "{url:?} {client:?}");
        }
        assert_eq!(SignIn::as_json(None), "");
    }
}
