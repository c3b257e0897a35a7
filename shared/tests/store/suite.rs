//! The one test suite both adapters must pass (`store_memory.rs`, `store_dynamodb.rs`).
//! Each case takes a fresh, empty store.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use shared::Secret;
use shared::service::{RefreshPolicy, TokenError, token_or_refresh};
use shared::store::{
    AuthorizerProfile, AuthorizerStatus, Binding, DocumentKind, DueAuthorizer, FollowerChange, MediumUpload,
    NewAuthorization, OWNER_MOVE_TTL_SECS, OwnerMove, QrCodeKept, QrDay, STAGED_MEDIUM_SECS, StoreError, StoredMedium,
    StoredQrCode, TicketWrite, TokenRefresh, TokenStore, UNCLAIMED_OWNER, VerifyTicket,
};

const NOW: i64 = 1_732_000_000;

/// Generates one `#[tokio::test]` per suite case for a store built by `$make` (an async block
/// returning `Arc<S>`).
#[macro_export]
macro_rules! store_suite {
    ($make:expr) => {
        $crate::store_suite!(@cases $make;
            ticket_newest_wins, ticket_retry_is_stale, component_token_versions, lease_is_exclusive_until_it_expires,
            authorizer_lifecycle, older_refresh_token_never_replaces_newer, late_unauthorized_cannot_revoke_newer_authorization,
            missing_authorizer_is_not_found, due_query_pages_through_due_accounts_only, owners_see_their_accounts_only,
            remember_once_is_true_once_per_ttl, remembered_values_expire, concurrent_ticket_writers_keep_the_newest,
            concurrent_token_callers_refresh_once, forced_refresh_only_replaces_the_rejected_token,
            racing_refreshers_lose_nothing, documents_are_versioned_per_account_and_kind, follower_ledger_orders_changes_and_counts_once,
            follower_pages_and_filters, concurrent_duplicate_subscribes_count_once,
            follower_events_in_any_order_give_one_record, bindings_hold_one_pair_per_side_and_go_as_a_pair,
            concurrent_binders_of_one_user_leave_one_binding, web_origins_are_a_setting_of_the_account,
            concurrent_counts_count_each_once, owner_moves_are_kept_for_the_previous_owner,
            media_are_staged_then_uploaded_and_paged,
            the_renewal_index_answers_what_expires_first, qr_codes_are_kept_counted_once_per_push_and_limited,
            api_use_adds_up_per_account_day_and_api);
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let store = $make.await;
                store::suite::$case(store).await;
            }
        )*
    };
}

fn authorization(appid: &str, refresh_token: &str, issued_at: i64) -> NewAuthorization {
    NewAuthorization {
        authorizer_appid: appid.to_owned(),
        access_token: Secret::new(format!("access-{appid}-{issued_at}")),
        expires_at: issued_at + 7200,
        refresh_token: Secret::new(refresh_token),
        received_ms: issued_at * 1000,
        authorized_at: issued_at,
    }
}

fn profile(appid: &str) -> AuthorizerProfile {
    AuthorizerProfile {
        nick_name: format!("账号 {appid}"),
        head_img: "http://wx.qlogo.cn/mmopen/x".into(),
        user_name: format!("gh_{appid}"),
        principal_name: "某某公司".into(),
        alias: String::new(),
        qrcode_url: String::new(),
        service_type: Some(2),
        verify_type: Some(-1),
        func_info: vec![1, 2, 15],
    }
}

pub(crate) async fn ticket_newest_wins<S: TokenStore>(store: Arc<S>) {
    assert_eq!(store.verify_ticket().await.unwrap(), None);
    let newer = VerifyTicket { ticket: Secret::new("ticket@@@newer"), create_time: NOW };
    let older = VerifyTicket { ticket: Secret::new("ticket@@@older"), create_time: NOW - 600 };
    assert_eq!(store.put_verify_ticket(&newer, NOW).await.unwrap(), TicketWrite::Stored);
    assert_eq!(store.put_verify_ticket(&older, NOW).await.unwrap(), TicketWrite::Stale);
    assert_eq!(store.verify_ticket().await.unwrap(), Some(newer));
    let newest = VerifyTicket { ticket: Secret::new("ticket@@@newest"), create_time: NOW + 600 };
    assert_eq!(store.put_verify_ticket(&newest, NOW).await.unwrap(), TicketWrite::Stored);
    assert_eq!(store.verify_ticket().await.unwrap(), Some(newest));
}

pub(crate) async fn ticket_retry_is_stale<S: TokenStore>(store: Arc<S>) {
    let ticket = VerifyTicket { ticket: Secret::new("ticket@@@a"), create_time: NOW };
    assert_eq!(store.put_verify_ticket(&ticket, NOW).await.unwrap(), TicketWrite::Stored);
    assert_eq!(store.put_verify_ticket(&ticket, NOW + 1).await.unwrap(), TicketWrite::Stale);
    assert_eq!(store.verify_ticket().await.unwrap(), Some(ticket));
}

pub(crate) async fn component_token_versions<S: TokenStore>(store: Arc<S>) {
    assert_eq!(store.component_token().await.unwrap(), None);
    let first = store.put_component_token(&Secret::new("t1"), NOW + 7200, None, NOW).await.unwrap();
    assert_eq!(first.version, 1);
    // A second "first" write loses: someone else stored a token in between.
    assert_eq!(
        store.put_component_token(&Secret::new("t1b"), NOW + 7200, None, NOW).await,
        Err(StoreError::ConditionFailed)
    );
    let second = store.put_component_token(&Secret::new("t2"), NOW + 9000, Some(1), NOW).await.unwrap();
    assert_eq!(second.version, 2);
    assert_eq!(
        store.put_component_token(&Secret::new("t2b"), NOW + 9000, Some(1), NOW).await,
        Err(StoreError::ConditionFailed)
    );
    let stored = store.component_token().await.unwrap().unwrap();
    assert_eq!((stored.token.expose(), stored.expires_at, stored.version), ("t2", NOW + 9000, 2));
}

pub(crate) async fn lease_is_exclusive_until_it_expires<S: TokenStore>(store: Arc<S>) {
    assert!(store.acquire_lease("l", "a", NOW + 15, NOW).await.unwrap());
    assert!(!store.acquire_lease("l", "b", NOW + 16, NOW + 1).await.unwrap());
    assert!(store.acquire_lease("l", "a", NOW + 20, NOW + 2).await.unwrap(), "the holder may extend");
    assert!(store.acquire_lease("other", "b", NOW + 15, NOW).await.unwrap(), "leases are independent");
    // A crashed holder's lease runs out.
    assert!(store.acquire_lease("l", "b", NOW + 40, NOW + 20).await.unwrap());
    // Releasing someone else's lease does nothing.
    store.release_lease("l", "a").await.unwrap();
    assert!(!store.acquire_lease("l", "c", NOW + 41, NOW + 21).await.unwrap());
    store.release_lease("l", "b").await.unwrap();
    assert!(store.acquire_lease("l", "c", NOW + 42, NOW + 22).await.unwrap());
}

pub(crate) async fn authorizer_lifecycle<S: TokenStore>(store: Arc<S>) {
    assert_eq!(store.authorizer("wx_a").await.unwrap(), None);
    let saved = store.save_authorization(&authorization("wx_a", "rt-1", NOW), NOW).await.unwrap();
    assert_eq!((saved.version, saved.status, saved.owner.as_str()), (1, AuthorizerStatus::Authorized, UNCLAIMED_OWNER));
    assert_eq!(saved.profile, AuthorizerProfile::default(), "profiles are stored by update_profile");
    assert_eq!(store.authorizer("wx_a").await.unwrap(), Some(saved.clone()));

    // Token refresh: conditional on the version read.
    let refresh = |version, rt: Option<&str>, at| TokenRefresh {
        authorizer_appid: "wx_a".into(),
        expected_version: version,
        access_token: Secret::new(format!("access-{at}")),
        expires_at: at + 7200,
        refresh_token: rt.map(Secret::new),
        received_ms: at * 1000,
    };
    assert_eq!(
        store.update_tokens(&refresh(7, Some("rt-x"), NOW + 10), NOW + 10).await,
        Err(StoreError::ConditionFailed)
    );
    let refreshed = store.update_tokens(&refresh(1, Some("rt-2"), NOW + 100), NOW + 100).await.unwrap();
    assert_eq!((refreshed.version, refreshed.refresh_token.expose(), refreshed.expires_at), (2, "rt-2", NOW + 7300));
    assert_eq!(refreshed.authorized_at, NOW);
    // Without a new refresh token the stored one is kept.
    let kept = store.update_tokens(&refresh(2, None, NOW + 200), NOW + 200).await.unwrap();
    assert_eq!(
        (kept.version, kept.refresh_token.expose(), kept.access_token.expose()),
        (3, "rt-2", "access-1732000200")
    );

    // Profile and owner.
    let mut new_profile = profile("wx_a");
    new_profile.nick_name = "改名了".into();
    assert_eq!(store.update_profile("wx_a", &new_profile, 2, NOW + 300).await, Err(StoreError::ConditionFailed));
    let updated = store.update_profile("wx_a", &new_profile, 3, NOW + 300).await.unwrap();
    assert_eq!((updated.version, updated.profile.nick_name.as_str()), (4, "改名了"));
    let owned = store.set_owner("wx_a", "user-1", NOW + 301).await.unwrap();
    assert_eq!((owned.version, owned.owner.as_str()), (5, "user-1"));

    // unauthorized: revoked, record and refresh token kept, no longer refreshed.
    let revoked = store.revoke("wx_a", NOW + 400, NOW + 400).await.unwrap();
    assert_eq!(
        (revoked.status, revoked.refresh_token.expose(), revoked.version),
        (AuthorizerStatus::Revoked, "rt-2", 6)
    );
    assert_eq!(revoked.profile.nick_name, "改名了");
    assert_eq!(
        store.update_tokens(&refresh(6, Some("rt-3"), NOW + 500), NOW + 500).await,
        Err(StoreError::ConditionFailed)
    );
    assert!(store.due_authorizers(NOW + 1_000_000, None, 10).await.unwrap().items.is_empty());

    // A later authorization restores it, keeping the owner when none is given.
    let restored = store.save_authorization(&authorization("wx_a", "rt-4", NOW + 600), NOW + 600).await.unwrap();
    assert_eq!(
        (restored.status, restored.version, restored.owner.as_str()),
        (AuthorizerStatus::Authorized, 7, "user-1")
    );
    assert_eq!((restored.refresh_token.expose(), restored.authorized_at), ("rt-4", NOW + 600));
    assert_eq!(store.due_authorizers(NOW + 1_000_000, None, 10).await.unwrap().items.len(), 1);

    // 61023 path: needs re-authorization, refresh token still kept.
    assert_eq!(
        store.mark_needs_reauthorization("wx_a", 6, NOW + 86_400, NOW + 700).await,
        Err(StoreError::ConditionFailed)
    );
    let needs = store.mark_needs_reauthorization("wx_a", 7, NOW + 86_400, NOW + 700).await.unwrap();
    assert_eq!((needs.status, needs.refresh_token.expose()), (AuthorizerStatus::NeedsReauthorization, "rt-4"));
    // Due again only at its second chance, a day later.
    assert!(store.due_authorizers(NOW + 86_400, None, 10).await.unwrap().items.is_empty());
    let due = store.due_authorizers(NOW + 1_000_000, None, 10).await.unwrap().items;
    assert_eq!(due, [DueAuthorizer { authorizer_appid: "wx_a".into(), expires_at: NOW + 86_400 }]);
    let listed = store.authorizers_of("user-1", None, 10).await.unwrap().items;
    assert_eq!(listed.len(), 1);
    // The re-authorization kept the profile (a new one arrives through update_profile).
    assert_eq!(
        (listed[0].status, listed[0].profile.nick_name.as_str()),
        (AuthorizerStatus::NeedsReauthorization, "改名了")
    );
}

pub(crate) async fn older_refresh_token_never_replaces_newer<S: TokenStore>(store: Arc<S>) {
    store.save_authorization(&authorization("wx_b", "rt-new", NOW + 100), NOW + 100).await.unwrap();
    // A slow path that obtained its tokens earlier arrives late.
    let late = store.save_authorization(&authorization("wx_b", "rt-old", NOW), NOW + 200).await;
    assert_eq!(late, Err(StoreError::ConditionFailed));
    let record = store.authorizer("wx_b").await.unwrap().unwrap();
    assert_eq!((record.refresh_token.expose(), record.version), ("rt-new", 1));
    // Same through a token refresh computed from a fresh version but with an older token.
    let stale_refresh = TokenRefresh {
        authorizer_appid: "wx_b".into(),
        expected_version: 1,
        access_token: Secret::new("a"),
        expires_at: NOW + 7200,
        refresh_token: Some(Secret::new("rt-older")),
        received_ms: (NOW + 50) * 1000,
    };
    assert_eq!(store.update_tokens(&stale_refresh, NOW + 300).await, Err(StoreError::ConditionFailed));
    assert_eq!(store.authorizer("wx_b").await.unwrap().unwrap().refresh_token.expose(), "rt-new");

    // Within one second: a refresh answered at .700 and a re-authorization answered at .300 of
    // the same second, stored in the opposite order. Whole seconds could not tell them apart.
    let second = (NOW + 400) * 1000;
    let refresh = TokenRefresh {
        authorizer_appid: "wx_b".into(),
        expected_version: 1,
        access_token: Secret::new("a2"),
        expires_at: NOW + 7600,
        refresh_token: Some(Secret::new("rt-rotated")),
        received_ms: second + 700,
    };
    store.update_tokens(&refresh, NOW + 400).await.unwrap();
    let same_second = NewAuthorization { received_ms: second + 300, ..authorization("wx_b", "rt-spent", NOW + 400) };
    assert_eq!(store.save_authorization(&same_second, NOW + 400).await, Err(StoreError::ConditionFailed));
    let record = store.authorizer("wx_b").await.unwrap().unwrap();
    assert_eq!((record.refresh_token.expose(), record.refresh_token_received_ms), ("rt-rotated", second + 700));
    // One answered a millisecond later does replace it.
    let later = NewAuthorization { received_ms: second + 701, ..authorization("wx_b", "rt-reauthorized", NOW + 400) };
    assert_eq!(store.save_authorization(&later, NOW + 400).await.unwrap().refresh_token.expose(), "rt-reauthorized");
}

pub(crate) async fn late_unauthorized_cannot_revoke_newer_authorization<S: TokenStore>(store: Arc<S>) {
    store.save_authorization(&authorization("wx_c", "rt", NOW), NOW).await.unwrap();
    // An `unauthorized` created before the (re)authorization, delivered late.
    assert_eq!(store.revoke("wx_c", NOW - 5, NOW + 10).await, Err(StoreError::ConditionFailed));
    assert_eq!(store.authorizer("wx_c").await.unwrap().unwrap().status, AuthorizerStatus::Authorized);
    // Retrying a genuine one is harmless.
    store.revoke("wx_c", NOW + 5, NOW + 10).await.unwrap();
    let again = store.revoke("wx_c", NOW + 5, NOW + 11).await.unwrap();
    assert_eq!(again.status, AuthorizerStatus::Revoked);
}

pub(crate) async fn missing_authorizer_is_not_found<S: TokenStore>(store: Arc<S>) {
    let refresh = TokenRefresh {
        authorizer_appid: "wx_missing".into(),
        expected_version: 1,
        access_token: Secret::new("a"),
        expires_at: NOW,
        refresh_token: Some(Secret::new("r")),
        received_ms: NOW * 1000,
    };
    assert_eq!(store.update_tokens(&refresh, NOW).await, Err(StoreError::NotFound));
    assert_eq!(store.revoke("wx_missing", NOW, NOW).await, Err(StoreError::NotFound));
    assert_eq!(store.set_owner("wx_missing", "u", NOW).await, Err(StoreError::NotFound));
    assert_eq!(store.mark_needs_reauthorization("wx_missing", 1, NOW, NOW).await, Err(StoreError::NotFound));
    assert_eq!(store.update_profile("wx_missing", &profile("x"), 1, NOW).await, Err(StoreError::NotFound));
    assert_eq!(store.authorizer("wx_missing").await.unwrap(), None);
}

pub(crate) async fn due_query_pages_through_due_accounts_only<S: TokenStore>(store: Arc<S>) {
    let mut expected = Vec::new();
    for i in 0..25i64 {
        let appid = format!("wx_due_{i:02}");
        // Expiry spread over +/- 1 hour around NOW + 7200, two accounts per second-bucket.
        let issued = NOW - 3600 + (i / 2) * 600;
        store.save_authorization(&authorization(&appid, "rt", issued), issued).await.unwrap();
        if i % 5 == 4 {
            store.revoke(&appid, issued + 1, issued + 1).await.unwrap();
        } else if issued + 7200 < NOW + 7200 {
            expected.push((issued + 7200, appid));
        }
    }
    expected.sort();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = store.due_authorizers(NOW + 7200, cursor.as_deref(), 4).await.unwrap();
        assert!(page.items.len() <= 4);
        seen.extend(page.items.into_iter().map(|d| (d.expires_at, d.authorizer_appid)));
        pages += 1;
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages < 20, "pagination does not end");
    }
    assert_eq!(seen, expected);
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "soonest first");
}

pub(crate) async fn owners_see_their_accounts_only<S: TokenStore>(store: Arc<S>) {
    let list = |owner: &'static str| {
        let store = Arc::clone(&store);
        async move {
            let page = store.authorizers_of(owner, None, 10).await.unwrap();
            page.items.into_iter().map(|s| s.authorizer_appid).collect::<Vec<_>>()
        }
    };
    for (appid, at, owner) in [("wx_o1", NOW, "alice"), ("wx_o2", NOW + 10, "alice"), ("wx_o3", NOW + 5, "bob")] {
        store.save_authorization(&authorization(appid, "rt", at), at).await.unwrap();
        store.set_owner(appid, owner, at).await.unwrap();
    }
    store.save_authorization(&authorization("wx_o4", "rt", NOW + 7), NOW + 7).await.unwrap();
    assert_eq!(list("alice").await, ["wx_o2", "wx_o1"], "newest authorization first");
    assert_eq!(list(UNCLAIMED_OWNER).await, ["wx_o4"], "a new account is unclaimed");
    assert!(list("mallory").await.is_empty());
    // A re-authorization never changes the owner.
    store.save_authorization(&authorization("wx_o1", "rt-2", NOW + 20), NOW + 20).await.unwrap();
    assert_eq!(store.authorizer("wx_o1").await.unwrap().unwrap().owner, "alice");
    // Claims take unclaimed accounts (and one's own), never another user's.
    assert_eq!(store.claim_owner("wx_o1", "mallory", NOW + 21).await.unwrap_err(), StoreError::ConditionFailed);
    assert_eq!(store.claim_owner("wx_o1", "alice", NOW + 21).await.unwrap().owner, "alice");
    assert_eq!(store.claim_owner("wx_o4", "bob", NOW + 22).await.unwrap().owner, "bob");
    assert_eq!(store.claim_owner("wx_missing", "bob", NOW + 22).await.unwrap_err(), StoreError::NotFound);
    assert_eq!(list("bob").await.len(), 2);
    assert!(list(UNCLAIMED_OWNER).await.is_empty());
    // set_owner (the authoritative binding) moves an account between lists.
    store.set_owner("wx_o4", "alice", NOW + 23).await.unwrap();
    assert_eq!(list("alice").await.len(), 3);

    // Pages: a cursor continues exactly where the last page stopped, and only for its owner.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.authorizers_of("alice", cursor.as_deref(), 2).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|s| s.authorizer_appid));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["wx_o1", "wx_o2", "wx_o4"], "every account once, newest authorization first");
    for bad in ["not base64!", "eA", "MTd8bWFya2VyI3d4YyN4"] {
        assert!(store.authorizers_of("alice", Some(bad), 2).await.is_err(), "{bad}");
    }
}

pub(crate) async fn remember_once_is_true_once_per_ttl<S: TokenStore>(store: Arc<S>) {
    assert!(store.remember_once("msg|gh|1", 300, NOW).await.unwrap());
    assert!(!store.remember_once("msg|gh|1", 300, NOW + 1).await.unwrap());
    assert!(!store.remember_once("msg|gh|1", 300, NOW + 300).await.unwrap());
    assert!(store.remember_once("msg|gh|2", 300, NOW + 1).await.unwrap());
    // Past its TTL a marker counts as gone, even before DynamoDB deletes it.
    assert!(store.remember_once("msg|gh|1", 300, NOW + 301).await.unwrap());
}

pub(crate) async fn remembered_values_expire<S: TokenStore>(store: Arc<S>) {
    assert_eq!(store.recall("authcode|x", NOW).await.unwrap(), None);
    store.remember_value("authcode|x", "wx_a", 600, NOW).await.unwrap();
    assert_eq!(store.recall("authcode|x", NOW + 600).await.unwrap().as_deref(), Some("wx_a"));
    assert_eq!(store.recall("authcode|x", NOW + 601).await.unwrap(), None);
    store.remember_value("authcode|x", "wx_b", 600, NOW + 700).await.unwrap();
    assert_eq!(store.recall("authcode|x", NOW + 701).await.unwrap().as_deref(), Some("wx_b"));
}

pub(crate) async fn concurrent_ticket_writers_keep_the_newest<S: TokenStore + 'static>(store: Arc<S>) {
    // 20 writers, CreateTimes in a fixed shuffled order.
    let order = [7i64, 13, 2, 19, 0, 11, 5, 17, 3, 9, 15, 1, 18, 6, 12, 4, 16, 8, 14, 10];
    let mut tasks = tokio::task::JoinSet::new();
    for i in order {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            let ticket = VerifyTicket { ticket: Secret::new(format!("ticket@@@{i}")), create_time: NOW + i * 600 };
            store.put_verify_ticket(&ticket, NOW).await.unwrap()
        });
    }
    let outcomes = tasks.join_all().await;
    assert!(outcomes.contains(&TicketWrite::Stored));
    let stored = store.verify_ticket().await.unwrap().unwrap();
    assert_eq!((stored.ticket.expose(), stored.create_time), ("ticket@@@19", NOW + 19 * 600));
}

pub(crate) async fn concurrent_token_callers_refresh_once<S: TokenStore + 'static>(store: Arc<S>) {
    // An expired token is stored.
    store.put_component_token(&Secret::new("expired"), NOW - 10, None, NOW - 7210).await.unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let policy = RefreshPolicy {
        poll: Duration::from_millis(50),
        max_wait: Duration::from_secs(10),
        ..RefreshPolicy::default()
    };
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10 {
        let (store, calls, policy) = (Arc::clone(&store), Arc::clone(&calls), policy.clone());
        tasks.spawn(async move {
            let refresh = || {
                let calls = Arc::clone(&calls);
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Ok::<_, String>((Secret::new("fresh"), 7200))
                }
            };
            token_or_refresh(&*store, || NOW, &format!("caller-{i}"), &policy, None, refresh).await
        });
    }
    for result in tasks.join_all().await {
        let token = result.unwrap();
        assert_eq!((token.token.expose(), token.version), ("fresh", 2));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "exactly one refresh call");
}

pub(crate) async fn forced_refresh_only_replaces_the_rejected_token<S: TokenStore + 'static>(store: Arc<S>) {
    store.put_component_token(&Secret::new("current"), NOW + 7000, None, NOW).await.unwrap();
    let calls = AtomicUsize::new(0);
    let refresh = || {
        calls.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, String>((Secret::new("replacement"), 7200)) }
    };
    let policy = RefreshPolicy::default();
    // A caller rejected with an older token: the current one is returned, nothing refreshed.
    let token = token_or_refresh(&*store, || NOW, "h", &policy, Some(&Secret::new("older")), refresh).await.unwrap();
    assert_eq!((token.token.expose(), calls.load(Ordering::SeqCst)), ("current", 0));
    // Rejected with the current token: refreshed once.
    let token = token_or_refresh(&*store, || NOW, "h", &policy, Some(&Secret::new("current")), refresh).await.unwrap();
    assert_eq!((token.token.expose(), token.version, calls.load(Ordering::SeqCst)), ("replacement", 2, 1));
    // A failing refresh is reported and the lease released for the next caller.
    let failing = || async { Err::<(Secret, i64), _>("61005 ticket expired".to_owned()) };
    let err = token_or_refresh(&*store, || NOW, "h2", &policy, Some(&Secret::new("replacement")), failing).await;
    assert!(matches!(err, Err(TokenError::Refresh(ref e)) if e.contains("61005")), "{err:?}");
    assert!(store.acquire_lease(&shared::store::LeaseName::component_token(), "h3", NOW + 15, NOW).await.unwrap());
}

pub(crate) async fn racing_refreshers_lose_nothing<S: TokenStore + 'static>(store: Arc<S>) {
    // 20 accounts due; WeChat (simulated) rotates refresh tokens and counts calls per account.
    let accounts: Vec<String> = (0..20).map(|i| format!("wx_race_{i:02}")).collect();
    for appid in &accounts {
        store
            .save_authorization(&authorization(appid, &format!("{appid}-rt-0"), NOW - 7000), NOW - 7000)
            .await
            .unwrap();
    }
    let issued = Arc::new(std::sync::Mutex::new(HashMap::<String, u32>::new()));
    let run = |run_id: usize| {
        let (store, issued) = (Arc::clone(&store), Arc::clone(&issued));
        async move {
            let page = store.due_authorizers(NOW + 600, None, 100).await.unwrap();
            let mut refreshed = 0;
            for due in page.items {
                let lease = format!("authorizer#{}", due.authorizer_appid);
                let holder = format!("run-{run_id}");
                if !store.acquire_lease(&lease, &holder, NOW + 30, NOW).await.unwrap() {
                    continue;
                }
                let record = store.authorizer(&due.authorizer_appid).await.unwrap().unwrap();
                if record.expires_at > NOW + 600 {
                    store.release_lease(&lease, &holder).await.unwrap();
                    continue;
                }
                let n = {
                    let mut issued = issued.lock().unwrap();
                    let n = issued.entry(due.authorizer_appid.clone()).or_default();
                    *n += 1;
                    *n
                };
                tokio::time::sleep(Duration::from_millis(5)).await;
                let refresh = TokenRefresh {
                    authorizer_appid: due.authorizer_appid.clone(),
                    expected_version: record.version,
                    access_token: Secret::new(format!("access-{n}")),
                    expires_at: NOW + 7200,
                    refresh_token: Some(Secret::new(format!("{}-rt-{n}", due.authorizer_appid))),
                    received_ms: NOW * 1000,
                };
                store.update_tokens(&refresh, NOW).await.unwrap();
                store.release_lease(&lease, &holder).await.unwrap();
                refreshed += 1;
            }
            refreshed
        }
    };
    let (a, b) = tokio::join!(tokio::spawn(run(1)), tokio::spawn(run(2)));
    assert_eq!(a.unwrap() + b.unwrap(), 20, "every account refreshed exactly once across both runs");
    let issued = issued.lock().unwrap().clone();
    let mut versions = BTreeSet::new();
    for appid in &accounts {
        assert_eq!(issued.get(appid), Some(&1), "{appid} refreshed once at WeChat");
        let record = store.authorizer(appid).await.unwrap().unwrap();
        assert_eq!(record.refresh_token.expose(), format!("{appid}-rt-1"), "the newest refresh token is stored");
        versions.insert(record.version);
    }
    assert_eq!(versions, BTreeSet::from([2]), "no version lost or regressed");
}

pub(crate) async fn documents_are_versioned_per_account_and_kind<S: TokenStore>(store: Arc<S>) {
    assert_eq!(store.document(DocumentKind::ReplyRules, "wx1").await.unwrap(), None);
    assert_eq!(
        store.save_document(DocumentKind::ReplyRules, "wx1", "{}", 1, "jwt:a", NOW).await,
        Err(StoreError::ConditionFailed)
    );
    let first = store.save_document(DocumentKind::ReplyRules, "wx1", r#"{"rules":[]}"#, 0, "jwt:a", NOW).await.unwrap();
    assert_eq!(first.version, 1);
    // A second editor who also started from "nothing saved" loses, and nothing changes.
    assert_eq!(
        store.save_document(DocumentKind::ReplyRules, "wx1", r#"{"rules":[1]}"#, 0, "jwt:b", NOW).await,
        Err(StoreError::ConditionFailed)
    );
    let second =
        store.save_document(DocumentKind::ReplyRules, "wx1", r#"{"rules":[2]}"#, 1, "jwt:b", NOW + 1).await.unwrap();
    assert_eq!(second.version, 2);
    assert_eq!(
        store.save_document(DocumentKind::ReplyRules, "wx1", r#"{"rules":[3]}"#, 1, "jwt:a", NOW + 2).await,
        Err(StoreError::ConditionFailed)
    );
    assert_eq!(store.document(DocumentKind::ReplyRules, "wx1").await.unwrap(), Some(second));
    assert_eq!(store.document(DocumentKind::ReplyRules, "wx2").await.unwrap(), None, "per account");
    // The menu is a document of its own: its versions start apart from the rules'.
    assert_eq!(store.document(DocumentKind::Menu, "wx1").await.unwrap(), None, "per kind");
    let menu = store.save_document(DocumentKind::Menu, "wx1", r#"{"button":[]}"#, 0, "jwt:a", NOW).await.unwrap();
    assert_eq!(menu.version, 1);
    assert_eq!(store.document(DocumentKind::Menu, "wx1").await.unwrap(), Some(menu));
    assert_eq!(store.document(DocumentKind::ReplyRules, "wx1").await.unwrap().unwrap().version, 2, "rules untouched");
}

pub(crate) async fn follower_ledger_orders_changes_and_counts_once<S: TokenStore>(store: Arc<S>) {
    let count = |store: Arc<S>| async move { store.follower_counts(&["wx1".to_owned()]).await.unwrap()["wx1"] };
    let scene = |s: &str| FollowerChange::Subscribed { scene: Some(s.to_owned()) };
    store.record_follower("wx1", "o1", NOW, &scene("shop-42")).await.unwrap();
    store.record_follower("wx1", "o1", NOW, &scene("shop-42")).await.unwrap(); // redelivered
    assert_eq!(count(store.clone()).await, 1);
    let o1 = store.follower("wx1", "o1").await.unwrap().unwrap();
    assert!(o1.subscribed);
    assert_eq!(
        (o1.first_subscribed_at, o1.last_subscribed_at, o1.scene.as_deref()),
        (Some(NOW), Some(NOW), Some("shop-42"))
    );
    store.record_follower("wx1", "o1", NOW + 5, &FollowerChange::Messaged).await.unwrap();
    store.record_follower("wx1", "o1", NOW + 3, &FollowerChange::Messaged).await.unwrap(); // late
    store.record_follower("wx1", "o1", NOW + 6, &FollowerChange::Interacted).await.unwrap();
    let o1 = store.follower("wx1", "o1").await.unwrap().unwrap();
    assert_eq!((o1.last_message_at, o1.last_interaction_at), (Some(NOW + 5), Some(NOW + 6)));
    // Unsubscribe, then a late subscribe from before it: still unsubscribed, counted once.
    store.record_follower("wx1", "o1", NOW + 10, &FollowerChange::Unsubscribed).await.unwrap();
    store.record_follower("wx1", "o1", NOW + 10, &FollowerChange::Unsubscribed).await.unwrap();
    store.record_follower("wx1", "o1", NOW + 2, &scene("late")).await.unwrap();
    let o1 = store.follower("wx1", "o1").await.unwrap().unwrap();
    assert!(!o1.subscribed);
    // Its history is kept: the latest follow seen, and its scene.
    assert_eq!(
        (o1.unsubscribed_at, o1.last_subscribed_at, o1.scene.as_deref()),
        (Some(NOW + 10), Some(NOW + 2), Some("late"))
    );
    assert_eq!(count(store.clone()).await, 0);
    // Following again: a plain follow clears the scene; the first follow is kept.
    store.record_follower("wx1", "o1", NOW + 20, &FollowerChange::Subscribed { scene: None }).await.unwrap();
    let o1 = store.follower("wx1", "o1").await.unwrap().unwrap();
    assert_eq!(
        (o1.subscribed, o1.first_subscribed_at, o1.last_subscribed_at, o1.scene),
        (true, Some(NOW), Some(NOW + 20), None)
    );
    assert_eq!(o1.first_scene.as_deref(), Some("shop-42"), "the scene that brought them first stays");
    assert_eq!(count(store.clone()).await, 1);
    // A message from someone the ledger never saw follow: they follow (only followers can write).
    store.record_follower("wx1", "o2", NOW + 30, &FollowerChange::Messaged).await.unwrap();
    assert_eq!(count(store.clone()).await, 2);
    assert_eq!(store.follower("wx1", "o2").await.unwrap().unwrap().last_message_at, Some(NOW + 30));
    // An unsubscribe of someone never seen: recorded, counted as nothing.
    store.record_follower("wx1", "o3", NOW + 31, &FollowerChange::Unsubscribed).await.unwrap();
    assert_eq!(count(store.clone()).await, 2);
    // Imported from WeChat's list: only followers not already known as following are counted;
    // the import fills in a unionid either way.
    let import = |at: i64, unionid: Option<&str>| FollowerChange::Imported {
        subscribed_at: at,
        scene: None,
        unionid: unionid.map(str::to_owned),
    };
    store.record_follower("wx1", "o2", NOW + 40, &import(NOW - 100, Some("u2"))).await.unwrap();
    store.record_follower("wx1", "o4", NOW + 40, &import(NOW - 50, None)).await.unwrap();
    store.record_follower("wx1", "o4", NOW + 41, &import(NOW - 50, None)).await.unwrap();
    assert_eq!(count(store.clone()).await, 3);
    let o2 = store.follower("wx1", "o2").await.unwrap().unwrap();
    assert_eq!((o2.unionid.as_deref(), o2.last_message_at), (Some("u2"), Some(NOW + 30)));
    let o4 = store.follower("wx1", "o4").await.unwrap().unwrap();
    assert_eq!((o4.subscribed, o4.first_subscribed_at), (true, Some(NOW - 50)));
    let counts = store.follower_counts(&["wx1".to_owned(), "wx-none".to_owned()]).await.unwrap();
    assert_eq!((counts["wx1"], counts["wx-none"]), (3, 0));
    // Tags as WeChat has them: a set (twice is once, removing what is not there is nothing); a
    // follower the ledger does not know gets no record from a tag.
    for (tag, add) in [(101, true), (102, true), (101, true), (102, false), (103, false)] {
        store.tag_follower("wx1", "o2", tag, add).await.unwrap();
    }
    assert_eq!(store.follower("wx1", "o2").await.unwrap().unwrap().tags, vec![101]);
    store.tag_follower("wx1", "o-unknown", 101, true).await.unwrap();
    assert_eq!(store.follower("wx1", "o-unknown").await.unwrap(), None);
    assert_eq!(count(store.clone()).await, 3, "tags move no count");
}

/// At-least-once delivery from a queue comes in any order: every order of one follower's events
/// gives the same record and the same count.
pub(crate) async fn follower_events_in_any_order_give_one_record<S: TokenStore>(store: Arc<S>) {
    let events = [
        (NOW, FollowerChange::Subscribed { scene: Some("qr-1".to_owned()) }),
        (NOW + 1, FollowerChange::Messaged),
        (NOW + 5, FollowerChange::Unsubscribed),
        (NOW + 8, FollowerChange::Subscribed { scene: None }),
        (NOW + 9, FollowerChange::Interacted),
    ];
    let orders: [[usize; 5]; 6] =
        [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3], [1, 2, 0, 3, 4], [3, 4, 1, 0, 2], [2, 3, 0, 4, 1]];
    let mut records = Vec::new();
    for (i, order) in orders.iter().enumerate() {
        let openid = format!("o{i}");
        for &e in order.iter().chain(order.iter()) {
            store.record_follower("wx-order", &openid, events[e].0, &events[e].1).await.unwrap();
        }
        let mut record = store.follower("wx-order", &openid).await.unwrap().unwrap();
        record.openid.clear();
        records.push(record);
    }
    let expected = shared::store::Follower {
        openid: String::new(),
        subscribed: true,
        first_subscribed_at: Some(NOW),
        last_subscribed_at: Some(NOW + 8),
        unsubscribed_at: Some(NOW + 5),
        scene: None,
        first_scene: Some("qr-1".to_owned()),
        tags: vec![],
        last_message_at: Some(NOW + 1),
        last_interaction_at: Some(NOW + 9),
        unionid: None,
    };
    for (order, record) in orders.iter().zip(&records) {
        assert_eq!(record, &expected, "order {order:?}");
    }
    assert_eq!(store.follower_counts(&["wx-order".to_owned()]).await.unwrap()["wx-order"], 6);
}

pub(crate) async fn follower_pages_and_filters<S: TokenStore>(store: Arc<S>) {
    for i in 0..7 {
        let change = if i % 3 == 0 { FollowerChange::Unsubscribed } else { FollowerChange::Subscribed { scene: None } };
        store.record_follower("wx1", &format!("o{i}"), NOW + i, &change).await.unwrap();
    }
    store.record_follower("wx2", "other", NOW, &FollowerChange::Subscribed { scene: None }).await.unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = store.followers("wx1", None, cursor.as_deref(), 3).await.unwrap();
        seen.extend(page.items.iter().map(|f| f.openid.clone()));
        pages += 1;
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages < 10, "paging must end");
    }
    assert_eq!(seen, ["o0", "o1", "o2", "o3", "o4", "o5", "o6"]);
    let mut following = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.followers("wx1", Some(true), cursor.as_deref(), 2).await.unwrap();
        assert!(page.items.iter().all(|f| f.subscribed));
        following.extend(page.items.into_iter().map(|f| f.openid));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(following, ["o1", "o2", "o4", "o5"]);
    assert!(store.followers("wx1", None, Some("not-a-cursor"), 3).await.is_err());
    assert_eq!(store.followers("wx-none", None, None, 3).await.unwrap().items, vec![]);
}

pub(crate) async fn concurrent_duplicate_subscribes_count_once<S: TokenStore + 'static>(store: Arc<S>) {
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let one = store.clone();
        tasks.push(tokio::spawn(async move {
            one.record_follower("wx1", "o1", NOW, &FollowerChange::Subscribed { scene: None }).await
        }));
        let two = store.clone();
        tasks.push(tokio::spawn(async move { two.record_follower("wx1", "o2", NOW, &FollowerChange::Messaged).await }));
    }
    for task in tasks {
        // A transaction that lost a race may report a conflict: the consumer's retry repairs it.
        let _ = task.await.unwrap();
    }
    store.record_follower("wx1", "o2", NOW, &FollowerChange::Messaged).await.unwrap();
    assert_eq!(store.follower_counts(&["wx1".to_owned()]).await.unwrap()["wx1"], 2);
}

fn binding(openid: &str, user_ref: &str) -> Binding {
    Binding {
        openid: openid.to_owned(),
        user_ref: user_ref.to_owned(),
        unionid: Some(format!("u_{openid}")),
        bound_at: NOW,
        bound_by: "iam:arn:aws:iam::123456789012:role/shop".to_owned(),
    }
}

pub(crate) async fn bindings_hold_one_pair_per_side_and_go_as_a_pair<S: TokenStore>(store: Arc<S>) {
    let alice = binding("o_alice", "shop-user-1");
    store.bind("wx-bind", &alice).await.unwrap();
    assert_eq!(store.binding_by_openid("wx-bind", "o_alice").await.unwrap(), Some(alice.clone()));
    assert_eq!(store.binding_by_user("wx-bind", "shop-user-1").await.unwrap(), Some(alice.clone()));
    // The same pair again: fine. Either side with someone else: refused, nothing written.
    store.bind("wx-bind", &alice).await.unwrap();
    for other in [binding("o_alice", "shop-user-2"), binding("o_bob", "shop-user-1")] {
        assert!(matches!(store.bind("wx-bind", &other).await, Err(StoreError::ConditionFailed)), "{other:?}");
    }
    assert_eq!(store.binding_by_user("wx-bind", "shop-user-2").await.unwrap(), None);
    assert_eq!(store.binding_by_openid("wx-bind", "o_bob").await.unwrap(), None);
    // Another account is another namespace.
    store.bind("wx-other", &binding("o_alice", "shop-user-2")).await.unwrap();
    assert_eq!(store.binding_by_openid("wx-bind", "o_alice").await.unwrap(), Some(alice.clone()));
    // Unbinding a pair that is not stored removes nothing; the stored pair goes from both sides.
    assert!(!store.unbind("wx-bind", &binding("o_alice", "shop-user-9")).await.unwrap());
    assert!(store.unbind("wx-bind", &alice).await.unwrap());
    assert_eq!(store.binding_by_openid("wx-bind", "o_alice").await.unwrap(), None);
    assert_eq!(store.binding_by_user("wx-bind", "shop-user-1").await.unwrap(), None);
    assert!(!store.unbind("wx-bind", &alice).await.unwrap());
    // Both sides are free again.
    store.bind("wx-bind", &binding("o_bob", "shop-user-1")).await.unwrap();
}

pub(crate) async fn concurrent_binders_of_one_user_leave_one_binding<S: TokenStore + 'static>(store: Arc<S>) {
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.bind("wx-race", &binding(&format!("o_{i}"), "shop-user-1")).await })
        })
        .collect();
    let mut won = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(()) => won.push(format!("o_{i}")),
            Err(StoreError::ConditionFailed) => {}
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(won.len(), 1, "{won:?}");
    let bound = store.binding_by_user("wx-race", "shop-user-1").await.unwrap().unwrap();
    assert_eq!(bound.openid, won[0]);
    for i in 0..8 {
        let by_openid = store.binding_by_openid("wx-race", &format!("o_{i}")).await.unwrap();
        assert_eq!(by_openid.is_some(), won[0] == format!("o_{i}"), "o_{i}");
    }
}

/// An account's web-authorization origins: replaced as a whole, kept through a refresh and a
/// re-authorization, and their writes leave the version (which a refresh in flight is
/// conditioned on) and the tokens alone.
pub(crate) async fn web_origins_are_a_setting_of_the_account<S: TokenStore>(store: Arc<S>) {
    let origins = vec!["https://shop.example.com".to_owned(), "https://m.shop.example.com".to_owned()];
    assert_eq!(store.set_web_origins("wx_missing", &origins, NOW).await, Err(StoreError::NotFound));
    let saved = store.save_authorization(&authorization("wx_o", "rt-1", NOW), NOW).await.unwrap();
    assert!(saved.web_origins.is_empty(), "none until the owner sets them");
    let set = store.set_web_origins("wx_o", &origins, NOW + 1).await.unwrap();
    assert_eq!((set.web_origins.as_slice(), set.version), (origins.as_slice(), saved.version));
    assert_eq!(set.refresh_token.expose(), "rt-1");
    // A refresh conditioned on the version read before the origins were set still lands.
    let refresh = TokenRefresh {
        authorizer_appid: "wx_o".into(),
        expected_version: saved.version,
        access_token: Secret::new("access-2"),
        expires_at: NOW + 7300,
        refresh_token: Some(Secret::new("rt-2")),
        received_ms: (NOW + 100) * 1000,
    };
    let refreshed = store.update_tokens(&refresh, NOW + 100).await.unwrap();
    assert_eq!((refreshed.refresh_token.expose(), refreshed.web_origins.as_slice()), ("rt-2", origins.as_slice()));
    // Authorized again: the setting stays.
    let again = store.save_authorization(&authorization("wx_o", "rt-3", NOW + 200), NOW + 200).await.unwrap();
    assert_eq!(again.web_origins, origins);
    assert_eq!(store.set_web_origins("wx_o", &[], NOW + 300).await.unwrap().web_origins, Vec::<String>::new());
    assert_eq!(store.authorizer("wx_o").await.unwrap().unwrap().web_origins, Vec::<String>::new());
}

/// A counter counts every caller once, however many count at the same moment, and each key
/// separately (the limits put their window in the key).
pub(crate) async fn concurrent_counts_count_each_once<S: TokenStore>(store: Arc<S>) {
    let counts = futures_util::future::join_all((0..20).map(|_| {
        let store = store.clone();
        async move { store.count("rate|alice|send|1", 60, NOW).await.unwrap() }
    }))
    .await;
    let mut sorted = counts.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=20).collect::<Vec<u64>>(), "each caller saw its own count: {counts:?}");
    assert_eq!(store.count("rate|alice|send|2", 60, NOW + 60).await.unwrap(), 1, "another window starts at 1");
    assert_eq!(store.count("rate|bob|send|1", 60, NOW).await.unwrap(), 1, "another identity starts at 1");
}

pub(crate) async fn owner_moves_are_kept_for_the_previous_owner<S: TokenStore>(store: Arc<S>) {
    let moved = |appid: &str, at: i64| OwnerMove {
        authorizer_appid: appid.to_owned(),
        nick_name: format!("号 {appid}"),
        moved_at: at,
    };
    assert!(store.owner_moves("alice", 10, NOW).await.unwrap().is_empty());
    store.record_owner_move("alice", &moved("wx_a", NOW), NOW).await.unwrap();
    store.record_owner_move("alice", &moved("wx_a", NOW), NOW).await.unwrap(); // a retry: one record
    store.record_owner_move("alice", &moved("wx_b", NOW + 5), NOW + 5).await.unwrap();
    store.record_owner_move("bob", &moved("wx_c", NOW), NOW).await.unwrap();
    let moves = store.owner_moves("alice", 10, NOW + 6).await.unwrap();
    assert_eq!(moves, [moved("wx_b", NOW + 5), moved("wx_a", NOW)], "newest first, each once");
    assert_eq!(store.owner_moves("alice", 1, NOW + 6).await.unwrap(), [moved("wx_b", NOW + 5)]);
    let later = NOW + OWNER_MOVE_TTL_SECS + 1;
    assert_eq!(store.owner_moves("alice", 10, later).await.unwrap(), [moved("wx_b", NOW + 5)], "the older one expired");
}

pub(crate) async fn media_are_staged_then_uploaded_and_paged<S: TokenStore>(store: Arc<S>) {
    use shared::media::{Format, Kind, Lifetime, handle};
    let medium = |n: u8| {
        let sha256 = format!("{n:02x}").repeat(32);
        StoredMedium {
            handle: handle(Kind::Image, Lifetime::Temporary, &sha256),
            kind: Kind::Image,
            lifetime: Lifetime::Temporary,
            format: Format::Png,
            sha256,
            size: 1000 + u64::from(n),
            title: None,
            introduction: None,
            media_id: None,
            url: None,
            expires_at: None,
            created_at: NOW,
            uploaded_at: None,
            used_at: None,
        }
    };
    let first = medium(1);
    assert_eq!(store.stage_medium("wx_m", &first, NOW).await.unwrap(), None);
    assert_eq!(store.medium("wx_m", &first.handle).await.unwrap(), Some(first.clone()));
    assert_eq!(store.medium("wx_other", &first.handle).await.unwrap(), None, "media are per account");
    // Staged again (a new upload URL): still one, still staged.
    assert_eq!(store.stage_medium("wx_m", &first, NOW + 1).await.unwrap(), None);
    let upload = MediumUpload { media_id: Some("m-1".into()), url: None, expires_at: Some(NOW + 259_200) };
    let uploaded = store.record_upload("wx_m", &first.handle, &upload, NOW + 2).await.unwrap();
    assert_eq!((uploaded.media_id.as_deref(), uploaded.uploaded_at), (Some("m-1"), Some(NOW + 2)));
    // The same file again: the uploaded medium is returned, not replaced.
    assert_eq!(store.stage_medium("wx_m", &first, NOW + 3).await.unwrap(), Some(uploaded.clone()));
    // A renewed upload replaces the answer whole.
    let renewed = MediumUpload { media_id: Some("m-2".into()), url: None, expires_at: None };
    let again = store.record_upload("wx_m", &first.handle, &renewed, NOW + 4).await.unwrap();
    assert_eq!((again.media_id.as_deref(), again.expires_at), (Some("m-2"), None));
    assert_eq!(store.record_upload("wx_m", "mtim_none", &renewed, NOW).await, Err(StoreError::NotFound));

    // Pages by handle; a staged medium never uploaded is gone once its day is over.
    for n in 2..=4 {
        store.stage_medium("wx_m", &medium(n), NOW).await.unwrap();
    }
    let page = store.media("wx_m", None, 3, NOW + 5).await.unwrap();
    assert_eq!(page.items.len(), 3);
    let rest = store.media("wx_m", page.next.as_deref(), 3, NOW + 5).await.unwrap();
    let mut all: Vec<String> = page.items.iter().chain(&rest.items).map(|m| m.handle.clone()).collect();
    assert_eq!(all.len(), 4, "{all:?}");
    all.dedup();
    assert_eq!(all.len(), 4);
    let later = store.media("wx_m", None, 10, NOW + STAGED_MEDIUM_SECS + 10).await.unwrap();
    assert_eq!(later.items.iter().map(|m| m.handle.as_str()).collect::<Vec<_>>(), [first.handle.as_str()]);
    assert!(matches!(store.media("wx_m", Some("not a handle"), 3, NOW).await, Err(StoreError::Other(_))));
    store.medium_used("wx_m", &first.handle, NOW + 9).await.unwrap();
    assert_eq!(store.medium("wx_m", &first.handle).await.unwrap().unwrap().used_at, Some(NOW + 9));
    store.medium_used("wx_m", "mtim_absent", NOW + 9).await.unwrap();
    assert!(store.forget_medium("wx_m", &first.handle).await.unwrap());
    assert!(!store.forget_medium("wx_m", &first.handle).await.unwrap());
    assert_eq!(store.medium("wx_m", &first.handle).await.unwrap(), None);
}

pub(crate) async fn the_renewal_index_answers_what_expires_first<S: TokenStore>(store: Arc<S>) {
    use shared::store::Renewal;
    let renewal =
        |appid: &str, handle: &str, expires_at| Renewal { appid: appid.into(), handle: handle.into(), expires_at };
    let (late, soon, other) = (
        renewal("wx_r", "mtim_a", NOW + 900),
        renewal("wx_r", "mtim_b", NOW + 100),
        renewal("wx_s", "mtim_a", NOW + 500),
    );
    for r in [&late, &soon, &other, &soon] {
        store.schedule_renewal(r).await.unwrap();
    }
    assert_eq!(
        store.renewals_due(NOW + 901, 10).await.unwrap(),
        [soon.clone(), other.clone(), late.clone()],
        "soonest first, each once"
    );
    assert_eq!(store.renewals_due(NOW + 500, 10).await.unwrap(), std::slice::from_ref(&soon), "strictly before");
    assert_eq!(store.renewals_due(NOW + 901, 1).await.unwrap(), std::slice::from_ref(&soon));
    // Renewed: the old entry goes, the new one sorts by its own expiry.
    store.drop_renewal(&soon).await.unwrap();
    store.drop_renewal(&soon).await.unwrap();
    let renewed = renewal("wx_r", "mtim_b", NOW + 2_000);
    store.schedule_renewal(&renewed).await.unwrap();
    assert_eq!(store.renewals_due(NOW + 10_000, 10).await.unwrap(), [other, late, renewed]);
}

pub(crate) async fn qr_codes_are_kept_counted_once_per_push_and_limited<S: TokenStore>(store: Arc<S>) {
    let code = |n: u32, permanent: bool| StoredQrCode {
        id: format!("{n:020x}"),
        name: format!("海报 {n}"),
        scene: n.to_string(),
        scene_is_str: false,
        permanent,
        ticket: format!("gQH{n}"),
        url: format!("http://weixin.qq.com/q/{n}"),
        expires_at: (!permanent).then_some(NOW + 3600),
        created_at: NOW,
        created_by: "jwt:a".to_owned(),
    };
    // Two permanent codes at most here: the third is refused, a temporary one is not counted.
    assert_eq!(store.keep_qr_code("wx1", &code(1, true), 2).await.unwrap(), QrCodeKept::Kept);
    assert_eq!(store.keep_qr_code("wx1", &code(1, true), 2).await.unwrap(), QrCodeKept::Existing(code(1, true)));
    assert_eq!(store.keep_qr_code("wx1", &code(2, true), 2).await.unwrap(), QrCodeKept::Kept);
    assert_eq!(store.keep_qr_code("wx1", &code(3, true), 2).await.unwrap(), QrCodeKept::Full);
    assert_eq!(store.keep_qr_code("wx1", &code(4, false), 2).await.unwrap(), QrCodeKept::Kept);
    assert_eq!(store.permanent_qr_codes("wx1").await.unwrap(), 2);
    assert_eq!(store.permanent_qr_codes("wx2").await.unwrap(), 0, "per account");
    assert_eq!(store.qr_code("wx1", &code(3, true).id).await.unwrap(), None, "nothing kept past the limit");
    assert_eq!(store.qr_code("wx1", &code(4, false).id).await.unwrap(), Some(code(4, false)));

    // Paged by id.
    let first = store.qr_codes("wx1", None, 2).await.unwrap();
    assert_eq!(first.items, vec![code(1, true), code(2, true)]);
    let rest = store.qr_codes("wx1", first.next.as_deref(), 2).await.unwrap();
    assert_eq!((rest.items, rest.next), (vec![code(4, false)], None));
    assert!(store.qr_codes("wx1", Some("not-an-id"), 2).await.is_err());

    // Each push counted once however often it is delivered, by day.
    let id = code(1, true).id;
    let day = NOW / 86_400;
    assert!(store.count_qr_push("wx1", &id, day, true, "e1", NOW).await.unwrap());
    assert!(!store.count_qr_push("wx1", &id, day, true, "e1", NOW + 1).await.unwrap(), "redelivered");
    assert!(store.count_qr_push("wx1", &id, day, false, "e2", NOW).await.unwrap());
    assert!(store.count_qr_push("wx1", &id, day, false, "e3", NOW).await.unwrap());
    assert!(store.count_qr_push("wx1", &id, day + 2, true, "e4", NOW + 2 * 86_400).await.unwrap());
    let days = store.qr_days("wx1", &id, day - 1, day + 2).await.unwrap();
    assert_eq!(days, vec![QrDay { day, scans: 2, follows: 1 }, QrDay { day: day + 2, scans: 0, follows: 1 }]);
    assert_eq!(store.qr_days("wx1", &id, day + 1, day + 1).await.unwrap(), vec![], "a day without pushes");
    assert_eq!(store.qr_days("wx1", &code(2, true).id, day, day).await.unwrap(), vec![], "per code");
}

pub(crate) async fn api_use_adds_up_per_account_day_and_api<S: TokenStore>(store: Arc<S>) {
    store.meter("wx1", 100, &[("menu/create", 1), ("tags/get", 2)]).await.unwrap();
    store.meter("wx1", 100, &[("menu/create", 3)]).await.unwrap();
    store.meter("wx1", 102, &[("message/custom/send", 5)]).await.unwrap();
    store.meter("wx2", 100, &[("menu/create", 7)]).await.unwrap();
    store.meter("wx1", 103, &[]).await.unwrap();
    let figures = store.usage("wx1", 99, 103).await.unwrap();
    assert_eq!(
        figures,
        vec![
            (100, vec![("menu/create".to_owned(), 4), ("tags/get".to_owned(), 2)]),
            (102, vec![("message/custom/send".to_owned(), 5)]),
        ]
    );
    assert_eq!(store.usage("wx1", 101, 101).await.unwrap(), vec![], "a day without calls");
    assert_eq!(store.usage("wx2", 100, 100).await.unwrap(), vec![(100, vec![("menu/create".to_owned(), 7)])]);
}
