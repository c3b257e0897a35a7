//! Acting as an account (issue 17's service layer): the token lent to trusted backends, and
//! customer-service messages sent as the account, on the real store against the stand-in.

use futures_util::future::join_all;
use serde_json::{Value, json};
use shared::Secret;
use shared::service::{ActError, Caller, Platform};
use shared::store::{AuthorizerStore, DynamoDbStore, TokenRefresh};
use wechat_standin::{Fault, StandIn};

use crate::support::ACCOUNT;

const OWNER: &str = "jwt:https://idp.example:alice";

async fn authorized() -> (StandIn, Platform<DynamoDbStore>) {
    let standin = crate::support::standin().await;
    let platform = crate::support::platform(&standin).await;
    let code = standin.authorize_directly(ACCOUNT).await.unwrap();
    platform.onboarding().complete_authorization(&Secret::new(code), None).await.unwrap();
    platform.store().set_owner(ACCOUNT, OWNER, standin.now()).await.unwrap();
    (standin, platform)
}

fn owner() -> Caller {
    Caller::Dashboard(OWNER.to_owned())
}

fn text(to: &str, content: &str) -> Value {
    json!({"touser": to, "msgtype": "text", "text": {"content": content}})
}

#[tokio::test]
async fn a_lent_token_is_the_stored_one_while_fresh_and_one_refresh_serves_every_caller() {
    let (standin, platform) = authorized().await;
    let stored = platform.store().authorizer(ACCOUNT).await.unwrap().unwrap();
    let backend = Caller::Backend("iam:arn:aws:iam::123456789012:role/orders".to_owned());
    let lent = platform.acting().lend_token(&backend, ACCOUNT).await.unwrap();
    assert_eq!((lent.access_token.expose(), lent.expires_at), (stored.access_token.expose(), stored.expires_at));
    assert_eq!(standin.calls("api_authorizer_token"), 0, "a fresh token costs no WeChat call");
    // Only the owner among dashboard users; nobody on an account that does not exist.
    for (caller, appid) in
        [(Caller::Dashboard("jwt:https://idp.example:mallory".into()), ACCOUNT), (owner(), "wx9999999999999999")]
    {
        assert!(
            matches!(platform.acting().lend_token(&caller, appid).await, Err(ActError::NotFound)),
            "{caller:?} {appid}"
        );
    }
    // Close to expiry: ten callers at once, one refresh, all get the new token.
    standin.advance_clock(7200 - 200);
    let acting = platform.acting();
    let lent = join_all((0..10).map(|_| acting.lend_token(&backend, ACCOUNT))).await;
    assert_eq!(standin.calls("api_authorizer_token"), 1, "one refresh for every caller");
    let renewed = platform.store().authorizer(ACCOUNT).await.unwrap().unwrap();
    for token in lent {
        let token = token.unwrap();
        assert_eq!(token.access_token.expose(), renewed.access_token.expose());
        assert!(token.expires_at > standin.now() + shared::service::LEND_MARGIN_SECS);
    }
    // Revoked: refused with its reason.
    standin.revoke(ACCOUNT).await;
    platform.store().revoke(ACCOUNT, standin.now() + 1, standin.now()).await.unwrap();
    assert!(matches!(platform.acting().lend_token(&backend, ACCOUNT).await, Err(ActError::Revoked)));
}

#[tokio::test]
async fn customer_service_messages_go_out_as_the_account_within_wechats_rules() {
    let (standin, platform) = authorized().await;
    // Checked before anything is sent.
    let article = json!({"title": "t", "description": "d", "url": "https://shop.example/1", "picurl": "https://shop.example/1.png"});
    let bad = json!({"touser": "o_a", "msgtype": "news", "news": {"articles": [article, article]}});
    assert!(
        matches!(platform.acting().send_custom_message(&owner(), ACCOUNT, &bad, None).await, Err(ActError::Invalid(e)) if e.contains("exactly one"))
    );
    assert_eq!(standin.calls("custom_send"), 0);
    // A follower who never wrote: WeChat refuses (43004), and the caller is told so.
    let err = platform.acting().send_custom_message(&owner(), ACCOUNT, &text("o_a", "hi"), None).await.unwrap_err();
    assert!(matches!(&err, ActError::Refused(e) if e.errcode() == Some(43004)), "{err:?}");
    // After a message: sent, as the account.
    standin.push_text(ACCOUNT, "o_a", "在吗").await;
    let sent = platform.acting().send_custom_message(&owner(), ACCOUNT, &text("o_a", "在的"), None).await.unwrap();
    assert_eq!(sent["msgtype"], "text");
    let last = standin.sent_messages().pop().unwrap();
    assert_eq!((last.authorizer_appid.as_str(), last.touser.as_str(), last.content.as_str()), (ACCOUNT, "o_a", "在的"));
    // Another dashboard user cannot send as this account.
    let mallory = Caller::Dashboard("jwt:https://idp.example:mallory".to_owned());
    assert!(matches!(
        platform.acting().send_custom_message(&mallory, ACCOUNT, &text("o_a", "x"), None).await,
        Err(ActError::NotFound)
    ));
}

#[tokio::test]
async fn a_refused_token_is_refreshed_and_the_send_tried_once_more() {
    let (standin, platform) = authorized().await;
    standin.push_text(ACCOUNT, "o_a", "在吗").await;
    // The stored token stopped working (WeChat issued another elsewhere): 40001, nothing sent.
    let record = platform.store().authorizer(ACCOUNT).await.unwrap().unwrap();
    let stale = TokenRefresh {
        authorizer_appid: ACCOUNT.to_owned(),
        expected_version: record.version,
        access_token: Secret::new("no-longer-valid"),
        expires_at: record.expires_at,
        refresh_token: None,
        received_ms: record.refresh_token_received_ms + 1,
    };
    platform.store().update_tokens(&stale, standin.now()).await.unwrap();
    platform.acting().send_custom_message(&owner(), ACCOUNT, &text("o_a", "在的"), None).await.unwrap();
    assert_eq!((standin.calls("custom_send"), standin.sent_messages().len()), (2, 1), "refused once, sent once");
    assert_eq!(standin.calls("api_authorizer_token"), 1);
    assert_ne!(platform.store().authorizer(ACCOUNT).await.unwrap().unwrap().access_token.expose(), "no-longer-valid");
}

#[tokio::test]
async fn no_answer_is_an_unknown_outcome_never_retried_and_a_key_never_sends_twice() {
    let (standin, platform) = authorized().await;
    standin.push_text(ACCOUNT, "o_a", "在吗").await;
    // WeChat sends, then the connection drops: reported as unknown, not sent again.
    standin.inject_fault("custom_send", Fault::DropAfter, 1);
    let err =
        platform.acting().send_custom_message(&owner(), ACCOUNT, &text("o_a", "1"), Some("order-1")).await.unwrap_err();
    assert!(matches!(err, ActError::OutcomeUnknown), "{err:?}");
    assert_eq!(
        (standin.calls("custom_send"), standin.sent_messages().len()),
        (1, 1),
        "WeChat sent it; we did not retry"
    );
    // The caller retries with the same key: the first outcome, nothing sent.
    let again =
        platform.acting().send_custom_message(&owner(), ACCOUNT, &text("o_a", "1"), Some("order-1")).await.unwrap_err();
    assert!(matches!(again, ActError::OutcomeUnknown));
    assert_eq!(standin.calls("custom_send"), 1);
    // A success replays as a success; a refusal as the same refusal.
    let first =
        platform.acting().send_custom_message(&owner(), ACCOUNT, &text("o_a", "2"), Some("order-2")).await.unwrap();
    let second =
        platform.acting().send_custom_message(&owner(), ACCOUNT, &text("o_a", "2"), Some("order-2")).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(standin.sent_messages().len(), 2);
    let refused =
        platform.acting().send_custom_message(&owner(), ACCOUNT, &text("o_z", "3"), Some("order-3")).await.unwrap_err();
    let replayed =
        platform.acting().send_custom_message(&owner(), ACCOUNT, &text("o_z", "3"), Some("order-3")).await.unwrap_err();
    for err in [refused, replayed] {
        assert!(matches!(&err, ActError::Refused(e) if e.errcode() == Some(43004)), "{err:?}");
    }
    assert_eq!(standin.calls("custom_send"), 3, "the replay did not call WeChat");
    // The same key from another caller is another request.
    let backend = Caller::Backend("iam:arn:aws:iam::123456789012:role/orders".to_owned());
    platform.acting().send_custom_message(&backend, ACCOUNT, &text("o_a", "2"), Some("order-2")).await.unwrap();
    assert_eq!(standin.sent_messages().len(), 3);
}

/// WeChat's other refusals, each injected once: the caller gets WeChat's errcode and nothing is
/// retried (none of them is a token problem).
#[tokio::test]
async fn quota_and_permission_refusals_reach_the_caller_untouched() {
    let (standin, platform) = authorized().await;
    standin.push_text(ACCOUNT, "o_a", "在吗").await;
    for errcode in [45009, 48001, 61007, 45015, 45047, 48002] {
        let before = standin.calls("custom_send");
        standin.inject_fault("custom_send", Fault::Errcode(errcode), 1);
        let err = platform.acting().send_custom_message(&owner(), ACCOUNT, &text("o_a", "x"), None).await.unwrap_err();
        assert!(matches!(&err, ActError::Refused(e) if e.errcode() == Some(errcode)), "{errcode}: {err:?}");
        assert_eq!(standin.calls("custom_send") - before, 1, "{errcode}: not retried");
        let (reason, _) = shared::web::refusal(errcode);
        assert_ne!(reason, "refused", "{errcode} has a reason of its own");
    }
}
