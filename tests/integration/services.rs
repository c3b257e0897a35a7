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
    let record = platform.onboarding().authorize(&code).await.unwrap();
    assert_eq!(
        (record.authorizer_appid.as_str(), record.owner.as_str(), record.status),
        (ACCOUNT, shared::store::UNCLAIMED_OWNER, AuthorizerStatus::Authorized),
        "a new account is unclaimed until the push's binding or a state claims it"
    );
    assert_eq!(Some(record.refresh_token.expose().to_owned()), s.refresh_token_of(ACCOUNT));
    assert_eq!((record.profile.nick_name.as_str(), record.profile.service_type), ("示例服务号", Some(2)));
    // The stand-in's clock runs in real time: a second may pass between WeChat's answer and now.
    let now = s.now();
    assert!((now + 7199..=now + 7200).contains(&record.expires_at), "{} vs {now}", record.expires_at);

    let again = platform.onboarding().authorize(&code).await.unwrap_err();
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
    let record = platform.onboarding().authorize(&code).await.unwrap();
    assert_eq!(Some(record.refresh_token.expose().to_owned()), s.refresh_token_of(ACCOUNT));
    assert_eq!(record.profile.nick_name, "");
    assert_eq!(record.owner, shared::store::UNCLAIMED_OWNER);
}

async fn authorized(s: &StandIn) -> shared::service::Platform<DynamoDbStore> {
    let platform = platform(s).await;
    let code = Secret::new(s.authorize_directly(ACCOUNT).await.unwrap());
    platform.onboarding().authorize(&code).await.unwrap();
    platform
}

#[tokio::test]
async fn refresh_persists_the_rotated_refresh_token() {
    let mut config = standin_config();
    config.rotate_refresh_tokens = true;
    let s = standin_with(config).await;
    let platform = authorized(&s).await;
    assert_eq!(platform.onboarding().refresh_authorizer(ACCOUNT, 600).await.unwrap(), RefreshOutcome::NotDue);
    s.advance_clock(7000);
    let RefreshOutcome::Refreshed(record) = platform.onboarding().refresh_authorizer(ACCOUNT, 600).await.unwrap()
    else {
        panic!("expected a refresh");
    };
    assert_eq!(Some(record.refresh_token.expose().to_owned()), s.refresh_token_of(ACCOUNT), "rotated token persisted");
    let now = s.now();
    assert!((now + 7199..=now + 7200).contains(&record.expires_at), "{} vs {now}", record.expires_at);
    assert_eq!(s.calls("api_authorizer_token"), 1);
    // The stored token works for the next refresh.
    s.advance_clock(7000);
    assert!(matches!(
        platform.onboarding().refresh_authorizer(ACCOUNT, 600).await.unwrap(),
        RefreshOutcome::Refreshed(_)
    ));
}

#[tokio::test]
async fn refused_refresh_token_is_recovered_through_the_authorizer_list() {
    let s = standin().await;
    let platform = authorized(&s).await;
    let replacement = s.break_refresh_token(ACCOUNT).unwrap();
    s.advance_clock(7000);
    let RefreshOutcome::Recovered(record) = platform.onboarding().refresh_authorizer(ACCOUNT, 600).await.unwrap()
    else {
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
    // The stand-in's clock also runs in real time: a second may pass during a call.
    let tomorrow = |from: i64, to: i64, at: i64| (from..=to).contains(&(at - shared::service::SECOND_CHANCE_SECS));
    let from = s.now();
    let RefreshOutcome::NeedsReauthorization(record) =
        platform.onboarding().refresh_authorizer(ACCOUNT, 600).await.unwrap()
    else {
        panic!("expected needs_reauthorization");
    };
    assert_eq!(record.status, AuthorizerStatus::NeedsReauthorization);
    assert_eq!(record.refresh_token, before.refresh_token, "never deleted");
    assert!(tomorrow(from, s.now(), record.expires_at), "a second chance tomorrow: {}", record.expires_at);
    // Not tried again today.
    assert_eq!(platform.onboarding().refresh_authorizer(ACCOUNT, 600).await.unwrap(), RefreshOutcome::NotDue);
    // A day later it is tried again (stored token, then the list); still refused: another day.
    s.advance_clock(shared::service::SECOND_CHANCE_SECS);
    renew_ticket(&s, &platform).await;
    let from = s.now();
    let RefreshOutcome::NeedsReauthorization(again) =
        platform.onboarding().refresh_authorizer(ACCOUNT, 600).await.unwrap()
    else {
        panic!("expected needs_reauthorization again");
    };
    assert!(tomorrow(from, s.now(), again.expires_at), "another day: {}", again.expires_at);
}

/// An account given up on works again on its second chance (WeChat's refusal was passing): it is
/// authorized again with its owner kept, without the admin scanning anything.
#[tokio::test]
async fn a_second_chance_restores_an_account_whose_token_works_again() {
    let s = standin().await;
    let platform = authorized(&s).await;
    platform.store().set_owner(ACCOUNT, "jwt:iss:alice", s.now()).await.unwrap();
    let working = s.break_refresh_token(ACCOUNT).unwrap();
    s.inject_fault("api_get_authorizer_list", Fault::Errcode(-1), 2);
    s.advance_clock(7000);
    assert!(platform.onboarding().refresh_authorizer(ACCOUNT, 600).await.is_err(), "the list was unavailable");
    // WeChat's list is back but it forgot the token for a moment: given up for the day.
    s.forget_refresh_token(ACCOUNT);
    assert!(matches!(
        platform.onboarding().refresh_authorizer(ACCOUNT, 600).await.unwrap(),
        RefreshOutcome::NeedsReauthorization(_)
    ));
    // The next day the account works again with the token WeChat lists.
    s.restore_refresh_token(ACCOUNT, &working);
    s.advance_clock(shared::service::SECOND_CHANCE_SECS);
    renew_ticket(&s, &platform).await;
    let RefreshOutcome::Recovered(record) = platform.onboarding().refresh_authorizer(ACCOUNT, 600).await.unwrap()
    else {
        panic!("expected the second chance to work");
    };
    assert_eq!((record.status, record.owner.as_str()), (AuthorizerStatus::Authorized, "jwt:iss:alice"));
    assert_eq!(Some(record.refresh_token.expose().to_owned()), s.refresh_token_of(ACCOUNT));
}

/// 61003 (an `unauthorized` push we never got): the refresher marks the account revoked instead
/// of failing on it every ten minutes.
#[tokio::test]
async fn an_account_that_no_longer_authorizes_us_is_revoked_by_the_refresher() {
    let s = standin().await;
    let platform = authorized(&s).await;
    s.revoke_silently(ACCOUNT);
    s.advance_clock(7000);
    let RefreshOutcome::Revoked(record) = platform.onboarding().refresh_authorizer(ACCOUNT, 600).await.unwrap() else {
        panic!("expected revoked");
    };
    assert_eq!(record.status, AuthorizerStatus::Revoked);
    assert_eq!(platform.onboarding().refresh_authorizer(ACCOUNT, 600).await.unwrap(), RefreshOutcome::NotAuthorized);
}

#[tokio::test]
async fn other_wechat_failures_are_reported_and_nothing_is_written() {
    let s = standin().await;
    let platform = authorized(&s).await;
    let before = platform.store().authorizer(ACCOUNT).await.unwrap().unwrap();
    s.advance_clock(7000);
    s.inject_fault("api_authorizer_token", Fault::Errcode(45009), 1);
    let err = platform.onboarding().refresh_authorizer(ACCOUNT, 600).await.unwrap_err();
    assert!(matches!(&err, CallError::WeChat(e) if e.kind() == ErrorKind::Quota), "{err:?}");
    assert_eq!(platform.store().authorizer(ACCOUNT).await.unwrap().unwrap(), before);
    // The lease was released: the next run proceeds.
    assert!(matches!(
        platform.onboarding().refresh_authorizer(ACCOUNT, 600).await.unwrap(),
        RefreshOutcome::Refreshed(_)
    ));
}

#[tokio::test]
async fn revoked_accounts_are_not_refreshed() {
    let s = standin().await;
    let platform = authorized(&s).await;
    platform.store().revoke(ACCOUNT, s.now() + 1, s.now() + 1).await.unwrap();
    s.advance_clock(7000);
    assert_eq!(platform.onboarding().refresh_authorizer(ACCOUNT, 600).await.unwrap(), RefreshOutcome::NotAuthorized);
    assert_eq!(s.calls("api_authorizer_token"), 0);
}

/// Once a day the refresher compares the store with WeChat's list: an account WeChat has not
/// listed two days running (an `unauthorized` push we missed) is revoked, one day's absence only
/// noted; one it lists that we never stored (an `authorized` push we never processed) is stored,
/// unclaimed until its admin's link claims it.
#[tokio::test]
async fn the_daily_reconcile_revokes_what_wechat_no_longer_lists_and_stores_what_we_missed() {
    let s = standin().await;
    let platform = authorized(&s).await;
    s.revoke_silently(ACCOUNT);
    let missed = "wx1000000000000002";
    s.authorize_quietly(missed, None).unwrap();
    let report = platform.onboarding().refresh_all(None).await;
    let reconcile = report.reconcile.expect("the day's first run reconciles");
    assert_eq!(
        (reconcile.revoked.as_slice(), reconcile.unlisted.as_slice(), reconcile.recovered.as_slice()),
        ([].as_slice(), [ACCOUNT.to_owned()].as_slice(), [missed.to_owned()].as_slice()),
        "{reconcile:?}"
    );
    assert_eq!(
        platform.store().authorizer(ACCOUNT).await.unwrap().unwrap().status,
        AuthorizerStatus::Authorized,
        "one day's absence revokes nothing"
    );
    let stored = platform.store().authorizer(missed).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.owner.as_str()), (AuthorizerStatus::Authorized, shared::store::UNCLAIMED_OWNER));
    assert_eq!(Some(stored.refresh_token.expose().to_owned()), s.refresh_token_of(missed));
    assert!(platform.onboarding().refresh_all(None).await.reconcile.is_none(), "once a day");
    // The next day: still not listed, revoked (its refresh, answered 61003, or the reconcile).
    s.advance_clock(24 * 3600);
    renew_ticket(&s, &platform).await;
    let report = platform.onboarding().refresh_all(None).await;
    assert!(report.reconcile.is_some() && report.revoked.contains(&ACCOUNT.to_owned()), "{report:?}");
    assert_eq!(platform.store().authorizer(ACCOUNT).await.unwrap().unwrap().status, AuthorizerStatus::Revoked);
}

/// A live account WeChat's list leaves out one day is kept, and its refreshes go on; only two
/// days running without it revoke it (the reconcile's own evidence, the refresh still working).
#[tokio::test]
async fn a_list_that_misses_a_live_account_for_a_day_revokes_nothing() {
    let s = standin().await;
    let platform = &authorized(&s).await;
    let s = &s;
    let day = |hidden: bool| {
        s.hide_from_list(ACCOUNT, hidden);
        async move {
            let report = platform.onboarding().refresh_all(None).await;
            assert!(!report.has_failures(), "{report:?}");
            s.advance_clock(24 * 3600);
            renew_ticket(s, platform).await;
            report.reconcile.expect("each day reconciles")
        }
    };
    let status = || async { platform.store().authorizer(ACCOUNT).await.unwrap().unwrap().status };
    assert_eq!(day(true).await.unlisted, [ACCOUNT]);
    assert!(day(false).await.unlisted.is_empty());
    let third = day(true).await;
    assert_eq!((third.unlisted.as_slice(), third.revoked.as_slice()), ([ACCOUNT.to_owned()].as_slice(), [].as_slice()));
    assert_eq!(status().await, AuthorizerStatus::Authorized, "a missing day, a listed day, a missing day");
    let fourth = day(true).await;
    assert_eq!(fourth.revoked, [ACCOUNT], "{fourth:?}");
    assert_eq!(status().await, AuthorizerStatus::Revoked);
}

/// A run near its invocation's deadline starts nothing it may not finish; a run with failures
/// says so (the Lambda invocation then fails, so its error metric and alarms see it).
#[tokio::test]
async fn a_run_near_its_deadline_defers_work_and_a_failed_run_says_so() {
    let s = standin().await;
    let platform = authorized(&s).await;
    s.advance_clock(7000);
    // Already at its deadline (the reserve is a fifth of the budget, at most 20 s).
    let deadline = std::time::Instant::now();
    let report = platform.onboarding().refresh_all(Some(deadline)).await;
    assert_eq!(
        (report.deferred.as_slice(), report.refreshed.len()),
        ([ACCOUNT.to_owned()].as_slice(), 0),
        "{report:?}"
    );
    assert!(!report.has_failures());
    s.inject_fault("api_authorizer_token", Fault::Errcode(45009), 1);
    let report = platform.onboarding().refresh_all(None).await;
    assert!(report.has_failures(), "{report:?}");
    assert_eq!(platform.onboarding().refresh_all(None).await.refreshed, [ACCOUNT.to_owned()]);
}
