//! Receives WeChat's pushes to the 授权事件接收URL: the `component_verify_ticket` every ten
//! minutes, and `authorized` / `updateauthorized` / `unauthorized`.
//!
//! WeChat expects the literal body `success`; anything else counts as a failed delivery and is
//! retried. So: a push that does not verify gets a 4xx and nothing is stored; an authentic push
//! gets `success` once it is durably handled (unknown `InfoType`s included, so WeChat stops
//! retrying); a store or WeChat failure gets a 5xx so WeChat delivers it again.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, Response};
use shared::app::App;
use shared::http;
use shared::message::{ComponentNotice, NoticeKind};
use shared::push::PushQuery;
use shared::service::{Authorization, ServiceError};
use shared::store::{StoreError, TicketWrite, TokenStore, VerifyTicket};
use shared::wechat::ErrorKind;

const FUNCTION: &str = "ticket-receiver";

/// Handles one request. Never returns `Err`: every outcome is an HTTP response.
///
/// # Errors
/// None in practice; the signature is lambda_http's.
pub async fn handle<S: TokenStore>(app: &App<S>, request: Request) -> Result<Response<Body>, Error> {
    let pairs = http::query_pairs(&request);
    let pairs = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    if request.method() == Method::GET {
        // URL verification (echostr); unconfirmed for this URL, answered correctly anyway.
        return Ok(http::url_verification(FUNCTION, &app.config.crypto, pairs));
    }
    let opened = match PushQuery::from_pairs(pairs).and_then(|q| app.open_push(&q, http::body_bytes(&request))) {
        Ok(opened) => opened,
        Err(err) => return Ok(http::push_rejected(FUNCTION, &err)),
    };
    let notice = match ComponentNotice::parse(&opened.xml) {
        Ok(notice) => notice,
        Err(err) => return Ok(http::push_rejected(FUNCTION, &err.into())),
    };
    Ok(match apply(app, &notice).await {
        Ok(()) => http::success(),
        Err(err) => {
            tracing::error!(function = FUNCTION, info_type = notice.info_type(), error = %err, "push not handled; WeChat will retry");
            http::text(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable")
        }
    })
}

async fn apply<S: TokenStore>(app: &App<S>, notice: &ComponentNotice) -> Result<(), ServiceError> {
    let platform = &app.platform;
    let info_type = notice.info_type();
    match &notice.kind {
        NoticeKind::VerifyTicket { ticket } => {
            let ticket = VerifyTicket { ticket: ticket.clone(), create_time: notice.create_time };
            let outcome = platform.store.put_verify_ticket(&ticket, platform.now()).await?;
            tracing::info!(
                function = FUNCTION,
                info_type,
                create_time = notice.create_time,
                stored = outcome == TicketWrite::Stored,
                "verify ticket"
            );
        }
        NoticeKind::Authorized(a) | NoticeKind::UpdateAuthorized(a) => {
            match platform.complete_authorization(&a.authorization_code, None).await {
                Ok(Authorization::Completed(record)) => {
                    tracing::info!(function = FUNCTION, info_type, authorizer = %record.authorizer_appid, "authorization completed from the push");
                }
                Ok(Authorization::AlreadyCompleted(record)) => {
                    tracing::info!(function = FUNCTION, info_type, authorizer = %record.authorizer_appid, "already completed by the callback");
                }
                // The code was used by the other path before it could be recorded, or expired:
                // nothing this push can add; retrying would not help either.
                Err(ServiceError::WeChat(err)) if err.kind() == ErrorKind::AuthCodeInvalid => {
                    tracing::warn!(function = FUNCTION, info_type, authorizer = %a.authorizer_appid, errcode = err.errcode(), "authorization code already used or expired");
                }
                Err(err) => return Err(err),
            }
        }
        NoticeKind::Unauthorized { authorizer_appid } => {
            match platform.store.revoke(authorizer_appid, notice.create_time, platform.now()).await {
                Ok(_) => tracing::info!(function = FUNCTION, info_type, authorizer = %authorizer_appid, "revoked"),
                Err(StoreError::NotFound) => {
                    tracing::warn!(function = FUNCTION, info_type, authorizer = %authorizer_appid, "unknown account revoked");
                }
                Err(StoreError::ConditionFailed) => {
                    tracing::info!(function = FUNCTION, info_type, authorizer = %authorizer_appid, "stale unauthorized ignored: re-authorized since");
                }
                Err(err) => return Err(err.into()),
            }
        }
        NoticeKind::Unknown { .. } => {
            tracing::info!(
                function = FUNCTION,
                info_type,
                create_time = notice.create_time,
                "unhandled InfoType acknowledged"
            );
        }
    }
    Ok(())
}
