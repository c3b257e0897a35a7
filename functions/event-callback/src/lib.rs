//! The 消息与事件接收URL (`/wechat/{appid}/callback`): the messages and events of every
//! authorized account. The request's parts go to one call, `App::follower_push` (verify,
//! decrypt with the component key, parse, hand off to the event bus once, answer WeChat's release
//! test, seal a reply with the key that opened the push), whose answer becomes the response within
//! WeChat's 5 seconds. A push the bus did not take is answered 503, so WeChat retries.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, RequestExt, Response};
use shared::app::App;
use shared::store::TokenStore;
use shared::web;

const FUNCTION: &str = "event-callback";

/// The authorizer appid: API Gateway's `{appid}` path parameter, or the path segment before
/// `callback` (`cargo lambda watch` serves `/lambda-url/event-callback/<appid>/callback`);
/// `None` unless it has the shape of an appid.
pub fn authorizer_appid(request: &Request) -> Option<String> {
    let from_params = request.path_parameters_ref().and_then(|p| p.first("appid")).map(str::to_owned);
    let appid = from_params.or_else(|| {
        let segments: Vec<&str> = request.uri().path().split('/').filter(|s| !s.is_empty()).collect();
        let at = segments.iter().rposition(|s| *s == "callback")?;
        at.checked_sub(1).map(|i| segments[i].to_owned())
    })?;
    // Official-account and mini-program appids are `wx` + 16 alphanumerics.
    (appid.len() == 18 && appid.starts_with("wx") && appid.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(appid)
}

/// Handles one request.
///
/// # Errors
/// None in practice; the signature is lambda_http's.
pub async fn handle<S: TokenStore>(app: &App<S>, request: Request) -> Result<Response<Body>, Error> {
    let Some(appid) = authorizer_appid(&request) else {
        tracing::warn!(function = FUNCTION, path = request.uri().path(), "no authorizer appid in the path");
        return Ok(web::text(StatusCode::BAD_REQUEST, "Bad Request"));
    };
    let pairs = web::query_pairs(&request);
    let pairs = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    if request.method() == Method::GET {
        return Ok(web::url_verification(FUNCTION, app.push_crypto(), pairs));
    }
    Ok(web::push_answer(FUNCTION, app.follower_push(&appid, pairs, web::body_bytes(&request)).await))
}
