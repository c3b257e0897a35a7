//! The 授权事件接收URL (`POST /wechat/component/events`): WeChat's `component_verify_ticket` every
//! ten minutes, and `authorized` / `updateauthorized` / `unauthorized`.
//!
//! WeChat expects the literal body `success`; anything else counts as a failed delivery and is
//! retried. So: a push that does not verify gets a 4xx and nothing is stored; an authentic push
//! gets `success` once it is durably handled ([`shared::service::NoticeOutcome`]); a store or
//! WeChat failure gets a 5xx so WeChat delivers it again.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, Response};
use shared::app::App;
use shared::message::ComponentNotice;
use shared::push::PushQuery;
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
    let opened = match PushQuery::from_pairs(pairs).and_then(|q| app.open_push(&q, web::body_bytes(&request))) {
        Ok(opened) => opened,
        Err(err) => return Ok(web::push_rejected(FUNCTION, &err)),
    };
    let notice = match ComponentNotice::parse(&opened.xml) {
        Ok(notice) => notice,
        Err(err) => return Ok(web::push_rejected(FUNCTION, &err.into())),
    };
    Ok(match app.platform.handle_notice(&notice).await {
        Ok(outcome) => {
            if matches!(outcome, shared::service::NoticeOutcome::Ticket { .. }) {
                // Every verified ticket push counts (a stale one is still WeChat pushing).
                shared::metrics::emit(shared::metrics::Metric::VerifyTicketStored, 1);
            }
            web::success()
        }
        Err(err) => {
            tracing::error!(function = FUNCTION, info_type = notice.info_type(), error = %err, "push not handled; WeChat will retry");
            web::text(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable")
        }
    })
}
