//! The token services on the DynamoDB store (local DynamoDB-API server) against the stand-in:
//! component token refresh and lease, forced refresh, single-use codes, authorization, authorizer
//! token refresh with rotation and 61023 recovery.

use std::sync::Arc;

use crate::support::*;
use shared::Secret;
use shared::service::{AuthorizationError, CallError, RefreshOutcome};
use shared::store::{AuthorizerStatus, AuthorizerStore, DynamoDbStore};
use shared::wechat::ErrorKind;
use wechat_standin::{Fault, StandIn};

fn wechat_code(err: &AuthorizationError) -> Option<i64> {
    match err {
        AuthorizationError::CodeInvalid(err) | AuthorizationError::Call(CallError::WeChat(err)) => err.errcode(),
        _ => None,
    }
}

#[tokio::test]
async fn no_ticket_means_no_token_then_one_refresh_serves_every_caller() {
    let s = standin().await;
    let empty = platform_on(&s, fresh_table().await);
    assert!(matches!(empty.component_token(None).await, Err(CallError::NoTicket)));

    let platform = Arc::new(platform(&s).await);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let platform = Arc::clone(&platform);
        tasks.spawn(async move { platform.component_token(None).await.unwrap() });
    }
    let tokens = tasks.join_all().await;
    assert!(tokens.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(s.calls("api_component_token"), 1, "one refresh for ten concurrent callers");
    platform.component_token(None).await.unwrap();
    assert_eq!(s.calls("api_component_token"), 1, "later callers read the stored token");
    // Close to expiry (inside the 10-minute margin) it is refreshed again.
    s.advance_clock(7200 - 300);
    let renewed = platform.component_token(None).await.unwrap();
    assert_ne!(renewed, tokens[0]);
    assert_eq!(s.calls("api_component_token"), 2);
}

#[tokio::test]
async fn a_rejected_token_is_refreshed_once_and_the_call_retried() {
    let s = standin().await;
    let platform = platform(&s).await;
    let first = platform.component_token(None).await.unwrap();
    // Someone else obtains a new token (e.g. a misconfigured second deployment): ours dies after
    // WeChat's grace period.
    client(&s).component_token(&Secret::new(s.last_ticket().unwrap())).await.unwrap();
    s.advance_clock(61);
    let code = platform.create_pre_auth_code().await.unwrap();
    assert!(code.token.expose().starts_with("preauthcode@@@"));
    assert_eq!(s.calls("api_create_preauthcode"), 2, "rejected once, retried once");
    assert_eq!(s.calls("api_component_token"), 3);
    assert_ne!(platform.component_token(None).await.unwrap(), first);
}

#[tokio::test]
async fn pre_auth_codes_are_never_reused() {
    let s = standin().await;
    let platform = platform(&s).await;
    let mut codes = std::collections::HashSet::new();
    for _ in 0..5 {
        codes.insert(platform.create_pre_auth_code().await.unwrap().token.into_inner());
    }
    assert_eq!(codes.len(), 5);
    assert_eq!(s.calls("api_create_preauthcode"), 5);
}

#[tokio::test]
async fn authorization_stores_tokens_and_profile_and_a_reused_code_changes_nothing() {
    let s = standin().await;
    let platform = platform(&s).await;
    let code = Secret::new(s.authorize_directly(ACCOUNT).await.unwrap());
    let record = platform.authorize(&code).await.unwrap();
    assert_eq!(
        (record.authorizer_appid.as_str(), record.owner.as_str(), record.status),
        (ACCOUNT, shared::store::UNCLAIMED_OWNER, AuthorizerStatus::Authorized),
        "a new account is unclaimed until the push's binding or a state claims it"
    );
    assert_eq!(Some(record.refresh_token.expose().to_owned()), s.refresh_token_of(ACCOUNT));
    assert_eq!((record.profile.nick_name.as_str(), record.profile.service_type), ("示例服务号", Some(2)));
    assert_eq!(record.expires_at, s.now() + 7200);

    let again = platform.authorize(&code).await.unwrap_err();
    assert_eq!(wechat_code(&again), Some(61009));
    let stored = platform.store().authorizer(ACCOUNT).await.unwrap().unwrap();
    assert_eq!(stored, record, "nothing changed");
    assert_eq!(s.calls("api_query_auth"), 2);
}

#[tokio::test]
async fn a_failing_profile_fetch_still_persists_the_refresh_token() {
    let s = standin().await;
    let platform = platform(&s).await;
    s.inject_fault("api_get_authorizer_info", Fault::Errcode(-1), 2);
    let code = Secret::new(s.authorize_directly(ACCOUNT).await.unwrap());
    let record = platform.authorize(&code).await.unwrap();
    assert_eq!(Some(record.refresh_token.expose().to_owned()), s.refresh_token_of(ACCOUNT));
    assert_eq!(record.profile.nick_name, "");
    assert_eq!(record.owner, shared::store::UNCLAIMED_OWNER);
}

async fn authorized(s: &StandIn) -> shared::service::Platform<DynamoDbStore> {
    let platform = platform(s).await;
    let code = Secret::new(s.authorize_directly(ACCOUNT).await.unwrap());
    platform.authorize(&code).await.unwrap();
    platform
}

#[tokio::test]
async fn refresh_persists_the_rotated_refresh_token() {
    let mut config = standin_config();
    config.rotate_refresh_tokens = true;
    let s = standin_with(config).await;
    let platform = authorized(&s).await;
    assert_eq!(platform.refresh_authorizer(ACCOUNT, 600).await.unwrap(), RefreshOutcome::NotDue);
    s.advance_clock(7000);
    let RefreshOutcome::Refreshed(record) = platform.refresh_authorizer(ACCOUNT, 600).await.unwrap() else {
        panic!("expected a refresh");
    };
    assert_eq!(Some(record.refresh_token.expose().to_owned()), s.refresh_token_of(ACCOUNT), "rotated token persisted");
    assert_eq!(record.expires_at, s.now() + 7200);
    assert_eq!(s.calls("api_authorizer_token"), 1);
    // The stored token works for the next refresh.
    s.advance_clock(7000);
    assert!(matches!(platform.refresh_authorizer(ACCOUNT, 600).await.unwrap(), RefreshOutcome::Refreshed(_)));
}

#[tokio::test]
async fn refused_refresh_token_is_recovered_through_the_authorizer_list() {
    let s = standin().await;
    let platform = authorized(&s).await;
    let replacement = s.break_refresh_token(ACCOUNT).unwrap();
    s.advance_clock(7000);
    let RefreshOutcome::Recovered(record) = platform.refresh_authorizer(ACCOUNT, 600).await.unwrap() else {
        panic!("expected recovery");
    };
    assert_eq!(record.refresh_token.expose(), replacement);
    assert_eq!(record.status, AuthorizerStatus::Authorized);
    assert_eq!(s.calls("api_get_authorizer_list"), 1);
}

#[tokio::test]
async fn unrecoverable_refresh_token_marks_needs_reauthorization_and_keeps_the_token() {
    let s = standin().await;
    let platform = authorized(&s).await;
    let before = platform.store().authorizer(ACCOUNT).await.unwrap().unwrap();
    s.forget_refresh_token(ACCOUNT);
    s.advance_clock(7000);
    let RefreshOutcome::NeedsReauthorization(record) = platform.refresh_authorizer(ACCOUNT, 600).await.unwrap() else {
        panic!("expected needs_reauthorization");
    };
    assert_eq!(record.status, AuthorizerStatus::NeedsReauthorization);
    assert_eq!(record.refresh_token, before.refresh_token, "never deleted");
    // Not refreshed again.
    assert_eq!(platform.refresh_authorizer(ACCOUNT, 600).await.unwrap(), RefreshOutcome::NotAuthorized);
}

#[tokio::test]
async fn other_wechat_failures_are_reported_and_nothing_is_written() {
    let s = standin().await;
    let platform = authorized(&s).await;
    let before = platform.store().authorizer(ACCOUNT).await.unwrap().unwrap();
    s.advance_clock(7000);
    s.inject_fault("api_authorizer_token", Fault::Errcode(45009), 1);
    let err = platform.refresh_authorizer(ACCOUNT, 600).await.unwrap_err();
    assert!(matches!(&err, CallError::WeChat(e) if e.kind() == ErrorKind::Quota), "{err:?}");
    assert_eq!(platform.store().authorizer(ACCOUNT).await.unwrap().unwrap(), before);
    // The lease was released: the next run proceeds.
    assert!(matches!(platform.refresh_authorizer(ACCOUNT, 600).await.unwrap(), RefreshOutcome::Refreshed(_)));
}

#[tokio::test]
async fn revoked_accounts_are_not_refreshed() {
    let s = standin().await;
    let platform = authorized(&s).await;
    platform.store().revoke(ACCOUNT, s.now() + 1, s.now() + 1).await.unwrap();
    s.advance_clock(7000);
    assert_eq!(platform.refresh_authorizer(ACCOUNT, 600).await.unwrap(), RefreshOutcome::NotAuthorized);
    assert_eq!(s.calls("api_authorizer_token"), 0);
}
