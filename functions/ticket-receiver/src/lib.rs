//! The 授权事件接收URL (`POST /wechat/component/events`): WeChat's `component_verify_ticket` every
//! ten minutes, and `authorized` / `updateauthorized` / `unauthorized`.
//!
//! WeChat expects the literal body `success`; anything else counts as a failed delivery and is
//! retried. So: a push that does not verify gets a 4xx and nothing is stored; an authentic push
//! gets `success` once it is durably handled ([`shared::service::NoticeOutcome`]); a store or
//! WeChat failure gets a 5xx so WeChat delivers it again.

use lambda_http::http::Method;
use lambda_http::{Body, Error, Request, Response};
use shared::app::App;
use shared::store::TokenStore;
use shared::web;

const FUNCTION: &str = "ticket-receiver";

/// Handles one request. Never returns `Err`: every outcome is an HTTP response.
///
/// # Errors
/// None in practice; the signature is lambda_http's.
pub async fn handle<S: TokenStore>(app: &App<S>, request: Request) -> Result<Response<Body>, Error> {
    let pairs = web::query_pairs(&request);
    let pairs = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    if request.method() == Method::GET {
        // URL verification (echostr); unconfirmed for this URL, answered correctly anyway.
        return Ok(web::url_verification(FUNCTION, app.push_crypto(), pairs));
    }
    Ok(web::push_answer(FUNCTION, app.component_push(pairs, web::body_bytes(&request)).await))
}
