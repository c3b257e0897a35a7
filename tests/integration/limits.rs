//! Per-identity limits (issue 33): one tenant cannot spend what all of them share. Each limit
//! refuses its caller past the allowance with 429 `1021` and `Retry-After`, does nothing (no
//! WeChat call), leaves other callers alone, and lets the caller in again in the next window.

use serde_json::{Value, json};
use shared::crypto::signature;
use shared::service::{Caller, Limit, LinkMode, LinkRequest};
use shared::store::{AuthorizerStore, MarkerKey, MarkerStore, MemoryStore};
use wechat_standin::StandIn;

use std::sync::Arc;

use shared::service::Platform;

use crate::support::{ACCOUNT, renew_ticket, standin};

/// The use cases on a memory store, on the stand-in's clock, a ticket stored.
async fn platform(s: &StandIn) -> Platform<MemoryStore> {
    let clock = s.clone();
    let config = crate::support::config(&[
        ("WECHAT_API_BASE", s.base_url()),
        ("AUTH_REDIRECT_URL", "https://platform.example/wechat/authorize/callback".to_owned()),
    ]);
    let platform = Platform::with_clock(&config, MemoryStore::new(), Arc::new(move || clock.now_ms())).unwrap();
    renew_ticket(s, &platform).await;
    platform
}

/// Counts `identity`'s `limit` up to its allowance in the current window, as that many earlier
/// actions would have (the store's own counter: the limit then refuses the next one).
async fn spend_all(store: &impl MarkerStore, standin: &StandIn, limit: Limit, identity: &str) {
    let now = standin.now();
    let key = MarkerKey::rate(limit.name, &signature(&[identity]), now.div_euclid(limit.window_secs));
    for _ in 0..limit.max {
        store.count(&key, limit.window_secs * 2, now).await.unwrap();
    }
}

/// The seconds a 429 says to wait, and that it is one.
fn retry_after(response: &lambda_http::Response<lambda_http::Body>) -> i64 {
    assert_eq!(response.status(), 429);
    response.headers()["retry-after"].to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_dashboard_user_mints_a_bounded_number_of_pre_auth_codes() {
    let s = standin().await;
    let platform = platform(&s).await;
    let link = |user: &'static str| LinkRequest { user, auth_type: "1", mode: LinkMode::Pc, biz_appid: None };
    for _ in 0..shared::service::PRE_AUTH_CODES.max {
        platform.dashboard().authorization_link(&link("jwt:idp:mallory")).await.unwrap();
    }
    let minted = s.calls("api_create_preauthcode");
    let refused = platform.dashboard().authorization_link(&link("jwt:idp:mallory")).await.unwrap_err();
    let response = shared::web::DashboardCode::for_link(&refused);
    let wait = retry_after(&response);
    assert!((1..=shared::service::PRE_AUTH_CODES.window_secs).contains(&wait), "{wait}");
    assert_eq!(s.calls("api_create_preauthcode"), minted, "no pre_auth_code minted past the limit");
    // Another tenant is not affected; the next window lets mallory in again.
    platform.dashboard().authorization_link(&link("jwt:idp:alice")).await.unwrap();
    s.advance_clock(wait);
    renew_ticket(&s, &platform).await;
    platform.dashboard().authorization_link(&link("jwt:idp:mallory")).await.unwrap();
}

#[tokio::test]
async fn a_caller_sends_and_redeems_within_its_limits() {
    let s = standin().await;
    let platform = platform(&s).await;
    let store = platform.store();
    let code = shared::Secret::new(s.authorize_directly(ACCOUNT).await.unwrap());
    platform.onboarding().authorize(&code).await.unwrap();
    store.set_owner(ACCOUNT, "jwt:idp:shop", s.now()).await.unwrap();
    // The follower wrote (WeChat's 48-hour window is open; nothing listens for the push here).
    s.text_message_xml(ACCOUNT, "o_limits", "在吗");
    let caller = Caller::Backend("iam:arn:aws:iam::123456789012:role/shop".to_owned());
    let text = json!({"touser": "o_limits", "msgtype": "text", "text": {"content": "在的"}});
    platform.acting().send_custom_message(&caller, ACCOUNT, &text, None).await.unwrap();

    // The caller's sends for this minute are spent: the next is refused before WeChat is called,
    // with or without an idempotency key (whose retry is then told to use a new key).
    spend_all(store, &s, shared::service::SENDS, "iam:arn:aws:iam::123456789012:role/shop").await;
    let sent = s.sent_messages().len();
    for key in [None, Some("order-1")] {
        let err = platform.acting().send_custom_message(&caller, ACCOUNT, &text, key).await.unwrap_err();
        let response = shared::web::DashboardCode::for_act(&err);
        assert!(retry_after(&response) >= 1);
        let body: Value = serde_json::from_str(&crate::support::status_and_body(response).1).unwrap();
        assert_eq!((body["code"].as_i64(), body["limit"].as_str()), (Some(1021), Some("send")), "{body}");
    }
    assert_eq!(s.sent_messages().len(), sent, "nothing sent past the limit");
    // Another backend sends; the next minute this one does again.
    let other = Caller::Backend("iam:arn:aws:iam::123456789012:role/crm".to_owned());
    platform.acting().send_custom_message(&other, ACCOUNT, &text, None).await.unwrap();
    s.advance_clock(shared::service::SENDS.window_secs);
    platform.acting().send_custom_message(&caller, ACCOUNT, &text, None).await.unwrap();

    // Redemptions: past the allowance a found ticket is not spent; it stays redeemable.
    let ticket = shared::Secret::new("a-ticket-of-the-account");
    let identity = json!({"authorizer_appid": ACCOUNT, "openid": "o_limits", "scope": "snsapi_base"});
    store.remember_value(&MarkerKey::web_ticket(&ticket), &identity.to_string(), 120, s.now()).await.unwrap();
    spend_all(store, &s, shared::service::WEB_REDEMPTIONS, caller.name()).await;
    let redeemed = platform.web_auth().redeem_web_ticket(&caller, ACCOUNT, &ticket, None).await;
    assert!(matches!(redeemed, Err(shared::service::RedeemError::Limited(_))), "{redeemed:?}");
    s.advance_clock(shared::service::WEB_REDEMPTIONS.window_secs);
    let who = platform.web_auth().redeem_web_ticket(&caller, ACCOUNT, &ticket, None).await.unwrap();
    assert_eq!(who["openid"], "o_limits");
}
