//! The local run's identity provider: what a deployment's OIDC provider does for the console's
//! sign-in (the implicit flow, `response_type=id_token`), reduced to what the console checks. A
//! deployment's API Gateway verifies the token's signature; the local demo verifies nothing, so
//! the token here is unsigned and names its user in `sub`.
//!
//! - `GET /standin/idp-user?name=…`: who signs in from this browser (cookie `idp_user`).
//! - `GET /standin/idp/authorize?response_type=id_token&client_id=…&redirect_uri=…&scope=openid&state=…&nonce=…`:
//!   `302` to `redirect_uri#id_token=…&state=…`, the token carrying the `nonce`.

use axum::extract::RawQuery;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shared::web::local_demo_name_ok;

/// The issuer the tokens name.
const ISSUER: &str = "https://idp.standin.local";

/// `GET /standin/idp-user?name=…`.
pub(crate) async fn set_user(RawQuery(query): RawQuery) -> Response {
    let name = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if !local_demo_name_ok(&name) {
        return (StatusCode::BAD_REQUEST, "name: 1-64 letters, digits, '_' or '-'").into_response();
    }
    (StatusCode::OK, [(header::SET_COOKIE, format!("idp_user={name}; Path=/"))], format!("you sign in as {name}"))
        .into_response()
}

fn user_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix("idp_user="))
        .find(|u| local_demo_name_ok(u))
        .map(str::to_owned)
}

/// `GET /standin/idp/authorize`.
pub(crate) async fn authorize(headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let (Some("id_token"), Some(client), Some(redirect), Some(state), Some(nonce)) =
        (get("response_type"), get("client_id"), get("redirect_uri"), get("state"), get("nonce"))
    else {
        return (StatusCode::BAD_REQUEST, "response_type=id_token, client_id, redirect_uri, state and nonce")
            .into_response();
    };
    if !get("scope").is_some_and(|s| s.split(' ').any(|s| s == "openid")) || url::Url::parse(redirect).is_err() {
        return (StatusCode::BAD_REQUEST, "scope must include openid; redirect_uri must be a URL").into_response();
    }
    let Some(user) = user_of(&headers) else {
        return (StatusCode::UNAUTHORIZED, "nobody signs in from this browser: GET /standin/idp-user?name=… first")
            .into_response();
    };
    let encode = |value: &serde_json::Value| {
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, value.to_string())
    };
    let token = format!(
        "{}.{}.",
        encode(&json!({"alg": "none", "typ": "JWT"})),
        encode(&json!({"iss": ISSUER, "sub": user, "aud": client, "nonce": nonce, "exp": 4_102_444_800_i64}))
    );
    let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let location = format!("{redirect}#id_token={token}&state={}", enc(state));
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}
