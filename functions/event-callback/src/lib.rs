//! Receives the messages and events of every authorized account (消息与事件接收URL,
//! `/wechat/{appid}/callback`): verify, decrypt (component key; the id inside is the component
//! appid), parse, drop WeChat's retries, answer within WeChat's 5 seconds.
//!
//! Retries: WeChat re-sends a push it got no answer to within 5 s. A dedup marker (TTL) makes sure
//! nothing is *processed* twice, and the answer is recomputed without side effects, so a retry
//! gets the same answer.
//!
//! The full-network release test (全网发布, protocol notes §6) is built in and scoped to WeChat's
//! ten test accounts: `TESTCOMPONENT_MSG_TYPE_TEXT` → passive reply `…_callback`;
//! `QUERY_AUTH_CODE:$code` → empty answer, `api_query_auth($code)` and a custom-service text
//! `$code_from_api`; any event → `<Event>from_callback`.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, RequestExt, Response};
use shared::Secret;
use shared::app::App;
use shared::http;
use shared::message::{Answer, Message, MessageKind, Reply};
use shared::push::{self, PushQuery};
use shared::store::TokenStore;

const FUNCTION: &str = "event-callback";
/// Long enough to cover WeChat's retries (three, a few seconds apart) with a wide margin.
const DEDUP_SECS: i64 = 900;

/// WeChat's release-test accounts (appid, 原始ID), protocol notes §6.
pub const RELEASE_TEST_ACCOUNTS: &[(&str, &str)] = &[
    ("wx570bc396a51b8ff8", "gh_3c884a361561"),
    ("wx9252c5e0bb1836fc", "gh_c0f28a78b318"),
    ("wx8e1097c5bc82cde9", "gh_3f222ed8d140"),
    ("wx14550af28c71a144", "gh_26128078e9ab"),
    ("wxa35b9c23cfe664eb", "gh_2b3713f184a6"),
    ("wxd101a85aa106f53e", "gh_8dad206e9538"),
    ("wxc39235c15087f6f3", "gh_905ae9d01059"),
    ("wx7720d01d4b2a4500", "gh_393666f1fdf4"),
    ("wx05d483572dcd5d8b", "gh_39abb5d4e1b7"),
    ("wx5910277cae6fd970", "gh_7818dcb60240"),
];

fn is_release_test(appid: &str, message: &Message) -> bool {
    RELEASE_TEST_ACCOUNTS.iter().any(|(id, user)| *id == appid || *user == message.to_user_name)
}

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
        return Ok(http::text(StatusCode::BAD_REQUEST, "Bad Request"));
    };
    let pairs = http::query_pairs(&request);
    let pairs = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    if request.method() == Method::GET {
        return Ok(http::url_verification(FUNCTION, &app.config.crypto, pairs));
    }
    let query = match PushQuery::from_pairs(pairs) {
        Ok(query) => query,
        Err(err) => return Ok(http::push_rejected(FUNCTION, &err)),
    };
    let opened = match app.open_push(&query, http::body_bytes(&request)) {
        Ok(opened) => opened,
        Err(err) => return Ok(http::push_rejected(FUNCTION, &err)),
    };
    let message = match Message::parse(&opened.xml) {
        Ok(message) => message,
        Err(err) => return Ok(http::push_rejected(FUNCTION, &err.into())),
    };
    let dedup_key = format!("push|{appid}|{}", message.dedup_key());
    let platform = &app.platform;
    let first = match platform.store.remember_once(&dedup_key, DEDUP_SECS, platform.now()).await {
        Ok(first) => first,
        Err(err) => {
            tracing::error!(function = FUNCTION, error = %err, "store unavailable; WeChat will retry");
            return Ok(http::text(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable"));
        }
    };
    let answer = respond(app, &appid, &message, first).await;
    tracing::info!(
        function = FUNCTION,
        authorizer = %appid,
        msg_type = message.msg_type(),
        event = message.event(),
        dedup_key = %dedup_key,
        retry = !first,
        answer = match &answer { Answer::Success => "success", Answer::Empty => "empty", Answer::Reply(_) => "reply" },
        "push handled"
    );
    Ok(match answer {
        Answer::Success => http::success(),
        Answer::Empty => http::text(StatusCode::OK, ""),
        Answer::Reply(reply) => {
            match push::seal_reply(&app.config.crypto, opened.key, &reply.render(), &query.timestamp, &query.nonce) {
                Ok(sealed) => http::xml(sealed),
                Err(err) => {
                    tracing::error!(function = FUNCTION, error = %err, "cannot encrypt the reply");
                    http::success()
                }
            }
        }
    })
}

/// What to answer; side effects only when `first` (not a retry).
async fn respond<S: TokenStore>(app: &App<S>, appid: &str, message: &Message, first: bool) -> Answer {
    if !is_release_test(appid, message) {
        return Answer::Success;
    }
    let now = app.platform.now();
    match &message.kind {
        MessageKind::Text { content } if content == "TESTCOMPONENT_MSG_TYPE_TEXT" => {
            Answer::Reply(Reply::text(message, now, "TESTCOMPONENT_MSG_TYPE_TEXT_callback"))
        }
        MessageKind::Text { content } => match content.strip_prefix("QUERY_AUTH_CODE:") {
            Some(code) => {
                if first {
                    release_api_text(app, message, code).await;
                }
                Answer::Empty
            }
            None => Answer::Success,
        },
        _ => match message.event() {
            Some(event) => Answer::Reply(Reply::text(message, now, format!("{event}from_callback"))),
            None => Answer::Success,
        },
    }
}

/// `QUERY_AUTH_CODE:$code`: exchange the code (verbatim, not trimmed) and send `$code_from_api`
/// to the follower as the test account. When the `authorized` push already used the code, the
/// tokens it stored serve instead.
async fn release_api_text<S: TokenStore>(app: &App<S>, message: &Message, code: &str) {
    let platform = &app.platform;
    let record = match platform.complete_authorization(&Secret::new(code), None).await {
        Ok(completed) => completed.record().clone(),
        Err(err) => {
            tracing::error!(function = FUNCTION, error = %err, "release test: api_query_auth failed");
            return;
        }
    };
    let content = format!("{code}_from_api");
    match platform.wechat.send_custom_text(&record.access_token, &message.from_user_name, &content).await {
        Ok(()) => {
            tracing::info!(function = FUNCTION, authorizer = %record.authorizer_appid, "release test: custom message sent")
        }
        Err(err) => {
            tracing::error!(function = FUNCTION, call = err.call(), errcode = err.errcode(), error = %err, "release test: custom send failed")
        }
    }
}
