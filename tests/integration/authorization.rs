//! No authorization lost, stolen or stuck (issue 15): every window in which WeChat used an
//! `auth_code` but we stored nothing is recovered; an account lands with the user whose link
//! started it, and a leaked code with someone else's state cannot move it; a state is one attempt.

use std::time::Duration;

use shared::store::{AuthorizerStore, DynamoDbStore, TicketStore, UNCLAIMED_OWNER};
use wechat_standin::{Fault, StandIn};

use crate::gateway::{self, Shared};
use crate::support::ACCOUNT;

/// The platform behind the gateway, a ticket stored, and WeChat's first `pre_auth_code` issued
/// for `user` through the platform's own link (so its binding is stored).
async fn linked(store: DynamoDbStore, user: &str) -> (StandIn, Shared, String, String) {
    let (standin, app, base) = gateway::wired(store, |_| {}).await;
    assert_eq!(standin.push_ticket().await.body, "success");
    let link = app
        .platform
        .dashboard()
        .authorization_link(&shared::service::LinkRequest {
            user,
            auth_type: "1",
            mode: shared::service::LinkMode::Pc,
            biz_appid: None,
        })
        .await
        .expect("a link");
    let url = url::Url::parse(&link.url).unwrap();
    let pre_auth_code = url.query_pairs().find(|(k, _)| k == "pre_auth_code").unwrap().1.into_owned();
    (standin, app, base, pre_auth_code)
}

async fn stored(app: &Shared) -> Option<shared::store::AuthorizerRecord> {
    app.platform.store().authorizer(ACCOUNT).await.unwrap()
}

/// Delivers `push` as WeChat does until it is acknowledged (at most four deliveries), checking
/// that `success` is only ever answered with the account stored.
async fn deliver_until_acknowledged(standin: &StandIn, app: &Shared, push: &str) -> Vec<u16> {
    let mut answered = Vec::new();
    for _ in 0..4 {
        let result = standin.push_notice(push).await;
        let success = result.status == 200 && result.body == "success";
        assert!(!success || stored(app).await.is_some(), "success only once the account is stored: {result:?}");
        answered.push(result.status);
        if success {
            return answered;
        }
    }
    panic!("never acknowledged within WeChat's deliveries: {answered:?}")
}

/// WeChat performs `api_query_auth` and then the connection drops (twice: the client's retry of
/// a dropped connection too): the code is used and nothing stored. The push is acknowledged only
/// once the account is recovered from `api_get_authorizer_list`, with WeChat's current refresh
/// token and the owner of the link.
#[tokio::test]
async fn an_answer_lost_after_wechat_used_the_code_is_recovered() {
    let (standin, app, _, pre) = linked(crate::support::fresh_table().await, "jwt:iss:alice").await;
    let (_, push) = standin.authorize_quietly(ACCOUNT, Some(&pre)).unwrap();
    standin.inject_fault("api_query_auth", Fault::DropAfter, 2);
    deliver_until_acknowledged(&standin, &app, &push).await;
    let record = stored(&app).await.expect("recovered");
    assert_eq!(Some(record.refresh_token.expose().to_owned()), standin.refresh_token_of(ACCOUNT));
    assert_eq!(record.owner, "jwt:iss:alice", "the link's user, from the pre_auth_code binding");
    assert_eq!(record.profile.nick_name, "示例服务号");
    assert!(standin.calls("api_get_authorizer_list") >= 1);
}

/// The callback's call to WeChat loses its answer (the code used, nothing stored): the admin's
/// page says the authorization may have gone through rather than that it failed; WeChat's push
/// recovers the account; reloading the same page then names the account as authorized instead of
/// only refusing the used link.
#[tokio::test]
async fn a_lost_answer_at_the_callback_is_told_truthfully_and_a_reload_shows_the_account() {
    let (standin, app, base, pre) = linked(crate::support::fresh_table().await, "jwt:iss:alice").await;
    let (code, push) = standin.authorize_quietly(ACCOUNT, Some(&pre)).unwrap();
    let http = shared::outbound::client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let state = gateway::signer().sign("jwt:iss:alice", app.platform.now() + 600);
    let callback = format!("{base}/wechat/authorize/callback?state={state}&auth_code={code}");
    standin.inject_fault("api_query_auth", Fault::DropAfter, 2);
    let first = http.get(&callback).send().await.unwrap();
    assert_eq!(first.status(), 502);
    let page = first.text().await.unwrap();
    assert!(page.contains("may or may not have gone through"), "{page}");
    assert!(stored(&app).await.is_none(), "nothing stored yet");

    deliver_until_acknowledged(&standin, &app, &push).await;
    let reloaded = http.get(&callback).send().await.unwrap();
    assert_eq!(reloaded.status(), 409, "the link stays single-use");
    let page = reloaded.text().await.unwrap();
    assert!(page.contains(ACCOUNT) && page.contains("is authorized and managed by you"), "{page}");
    // Another user's state with the same code learns nothing of the account.
    let mallory = gateway::signer().sign("jwt:iss:mallory", app.platform.now() + 600);
    let other = format!("{base}/wechat/authorize/callback?state={mallory}&auth_code={code}");
    let page = http.get(&other).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains(ACCOUNT), "{page}");
}

/// The code was exchanged but the write failed (the store went away while WeChat answered): the
/// push is not acknowledged, and the retry recovers the account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_save_after_wechat_used_the_code_is_recovered() {
    let (switch, store, direct) = crate::outage::switched_store().await;
    let (standin, _, _, pre) = linked(store, "jwt:iss:alice").await;
    let (_, push) = standin.authorize_quietly(ACCOUNT, Some(&pre)).unwrap();
    standin.inject_fault("api_query_auth", Fault::DelayMs(1_000), 1);
    // The store goes away once WeChat has the call (and before it answers): the write fails.
    let off = {
        let (switch, standin) = (switch.clone(), standin.clone());
        tokio::spawn(async move {
            while standin.calls("api_query_auth") == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            switch.set(false);
        })
    };
    let first = standin.push_notice(&push).await;
    off.await.unwrap();
    assert!(first.status >= 500 && first.body != "success", "{first:?}");
    assert_eq!(standin.calls("api_query_auth"), 1, "WeChat used the code");
    assert!(direct.authorizer(ACCOUNT).await.unwrap().is_none(), "the write failed");

    switch.set(true);
    let retry = standin.push_notice(&push).await;
    assert_eq!((retry.status, retry.body.as_str()), (200, "success"), "{retry:?}");
    let record = direct.authorizer(ACCOUNT).await.unwrap().expect("recovered");
    assert_eq!(Some(record.refresh_token.expose().to_owned()), standin.refresh_token_of(ACCOUNT));
    assert_eq!(record.owner, "jwt:iss:alice");
}

/// Our call timed out but WeChat went on and used the code: the same push (or its retry)
/// recovers the account, and `success` is only ever answered with the account stored.
#[tokio::test]
async fn a_timed_out_call_whose_code_wechat_used_is_recovered() {
    let (standin, app, _, pre) = linked(crate::support::fresh_table().await, "jwt:iss:alice").await;
    let (_, push) = standin.authorize_quietly(ACCOUNT, Some(&pre)).unwrap();
    // WeChat uses the code at once but answers after the client's per-attempt timeout, on the
    // first attempt and on the client's retry.
    standin.inject_fault("api_query_auth", Fault::SlowAfterMs(1_700), 2);
    deliver_until_acknowledged(&standin, &app, &push).await;
    let record = stored(&app).await.expect("recovered");
    assert_eq!(Some(record.refresh_token.expose().to_owned()), standin.refresh_token_of(ACCOUNT));
}

/// A code WeChat no longer lists the account for (revoked since) is acknowledged: there is
/// nothing to store, and retrying would not change that.
#[tokio::test]
async fn a_used_code_for_an_account_wechat_no_longer_lists_is_acknowledged() {
    let (standin, app, _, _) = linked(crate::support::fresh_table().await, "jwt:iss:alice").await;
    let (code, push) = standin.authorize_quietly(ACCOUNT, None).unwrap();
    // Someone else used the code, then the admin revoked: WeChat lists nothing.
    let client = crate::support::client(&standin);
    let token = client.component_token(&crate::support::ticket(&standin).await).await.unwrap().token;
    client.query_auth(&token, &shared::Secret::new(code)).await.unwrap();
    standin.revoke(ACCOUNT).await;
    let answer = standin.push_notice(&push).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "success"));
    assert!(stored(&app).await.is_none());
}

/// Only the push completed the authorization (the admin closed the browser): the account lands
/// with the user whose link it was, not with a shared default.
#[tokio::test]
async fn an_account_only_the_push_completed_lands_with_the_links_user() {
    let (standin, app, _, pre) = linked(crate::support::fresh_table().await, "jwt:iss:alice").await;
    let (_, push) = standin.authorize_quietly(ACCOUNT, Some(&pre)).unwrap();
    assert_eq!(standin.push_notice(&push).await.body, "success");
    assert_eq!(stored(&app).await.unwrap().owner, "jwt:iss:alice");
    let page = app.platform.dashboard().accounts_of("jwt:iss:alice", None, 10).await.unwrap();
    assert_eq!(page.items.len(), 1);
    // An authorization begun outside our links binds nobody: the account is unclaimed.
    let (_, other) = standin.authorize_quietly("wx1000000000000002", None).unwrap();
    assert_eq!(standin.push_notice(&other).await.body, "success");
    let record = app.platform.store().authorizer("wx1000000000000002").await.unwrap().unwrap();
    assert_eq!(record.owner, UNCLAIMED_OWNER);
}

/// An account authorized again through another user's link moves to that user, and the move is
/// never silent: `account.owner_changed` (new and previous owner) is handed off once, even when
/// the bus fails the first delivery and the retry finds the account already moved, and the
/// previous owner's list says the account left them.
#[tokio::test]
async fn an_account_moved_to_another_user_is_announced_once_and_shown_to_whom_it_left() {
    let bus = std::sync::Arc::new(shared::bus::MemoryBus::new());
    let (standin, app, _) = gateway::wired_on_bus(crate::support::fresh_table().await, bus.clone(), |_| {}).await;
    assert_eq!(standin.push_ticket().await.body, "success");
    let pre_auth_code_for = |user: &'static str| {
        let app = app.clone();
        async move {
            let request = shared::service::LinkRequest {
                user,
                auth_type: "1",
                mode: shared::service::LinkMode::Pc,
                biz_appid: None,
            };
            let url =
                url::Url::parse(&app.platform.dashboard().authorization_link(&request).await.expect("a link").url)
                    .unwrap();
            url.query_pairs().find(|(k, _)| k == "pre_auth_code").unwrap().1.into_owned()
        }
    };
    let (_, first) = standin.authorize_quietly(ACCOUNT, Some(&pre_auth_code_for("jwt:iss:alice").await)).unwrap();
    assert_eq!(standin.push_notice(&first).await.body, "success");
    assert!(app.platform.dashboard().accounts_moved_away("jwt:iss:alice").await.unwrap().is_empty());

    let (_, second) = standin.authorize_quietly(ACCOUNT, Some(&pre_auth_code_for("jwt:iss:bob").await)).unwrap();
    bus.fail_next([shared::bus::BusFault::Unavailable]);
    assert_eq!(standin.push_notice(&second).await.status, 503, "the bus failed: WeChat must retry");
    assert_eq!(stored(&app).await.unwrap().owner, "jwt:iss:bob", "stored before the hand-off");
    assert_eq!(standin.push_notice(&second).await.body, "success");
    assert_eq!(standin.push_notice(&second).await.body, "success", "a late duplicate");

    let moves: Vec<serde_json::Value> = bus
        .published()
        .iter()
        .filter(|e| e.detail_type == "account.owner_changed")
        .map(|e| serde_json::from_str(&e.detail).unwrap())
        .collect();
    assert_eq!(moves.len(), 1, "one move, announced once: {moves:?}");
    assert_eq!(moves[0]["authorizer_appid"], ACCOUNT);
    assert_eq!(moves[0]["owner"], "jwt:iss:bob");
    assert_eq!(moves[0]["previous_owner"], "jwt:iss:alice");
    assert_eq!(moves[0]["change"], "owner_changed");

    let left = app.platform.dashboard().accounts_moved_away("jwt:iss:alice").await.unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].authorizer_appid, ACCOUNT);
    assert!(!left[0].nick_name.is_empty());
    assert!(app.platform.dashboard().accounts_moved_away("jwt:iss:bob").await.unwrap().is_empty());
    assert!(app.platform.dashboard().accounts_of("jwt:iss:alice", None, 10).await.unwrap().items.is_empty());
    assert_eq!(app.platform.dashboard().accounts_of("jwt:iss:bob", None, 10).await.unwrap().items.len(), 1);
}

/// A leaked `auth_code` plus the attacker's own valid state never moves an account: whether the
/// attacker's callback comes after the push (refused, 409) or before it (the push's binding puts
/// the account back with the user whose link it was).
#[tokio::test]
async fn a_leaked_code_with_another_users_state_cannot_take_the_account() {
    for attacker_first in [false, true] {
        let (standin, app, base, pre) = linked(crate::support::fresh_table().await, "jwt:iss:alice").await;
        let (code, push) = standin.authorize_quietly(ACCOUNT, Some(&pre)).unwrap();
        let http = shared::outbound::client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let mallory = gateway::signer().sign("jwt:iss:mallory", app.platform.now() + 600);
        let steal = || http.get(format!("{base}/wechat/authorize/callback?state={mallory}&auth_code={code}")).send();
        if attacker_first {
            let page = steal().await.unwrap();
            assert_eq!(page.status(), 200, "mallory's callback exchanged the code first");
            assert_eq!(standin.push_notice(&push).await.body, "success");
        } else {
            assert_eq!(standin.push_notice(&push).await.body, "success");
            let page = steal().await.unwrap();
            assert_eq!(page.status(), 409, "attacker_first={attacker_first}");
        }
        assert_eq!(stored(&app).await.unwrap().owner, "jwt:iss:alice", "attacker_first={attacker_first}");
        assert!(app.platform.dashboard().accounts_of("jwt:iss:mallory", None, 10).await.unwrap().items.is_empty());
    }
}

/// A state is consumed before WeChat is called: a failed attempt cannot be retried with it, and
/// a state claiming to live longer than a pre_auth_code can is refused.
#[tokio::test]
async fn a_state_is_one_attempt_and_has_a_maximum_lifetime() {
    let (standin, app, base, _) = linked(crate::support::fresh_table().await, "local:demo").await;
    let http = shared::outbound::client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let state = gateway::signer().sign("local:demo", app.platform.now() + 600);
    let callback =
        |code: String| http.get(format!("{base}/wechat/authorize/callback?state={state}&auth_code={code}")).send();
    let first = callback("queryauthcode@@@made-up".into()).await.unwrap();
    assert_eq!(first.status(), 400, "WeChat refused the made-up code");
    let code = standin.authorize_directly(ACCOUNT).await.unwrap();
    let calls = standin.calls("api_query_auth");
    let second = callback(code).await.unwrap();
    assert_eq!(second.status(), 409, "the state was used by the first attempt");
    assert_eq!(standin.calls("api_query_auth"), calls, "WeChat is not called for a used state");

    let too_long = gateway::signer().sign("local:demo", app.platform.now() + 7200);
    let code = standin.authorize_directly("wx1000000000000002").await.unwrap();
    let page = http.get(format!("{base}/wechat/authorize/callback?state={too_long}&auth_code={code}")).send().await;
    assert_eq!(page.unwrap().status(), 403);
    assert!(app.platform.store().verify_ticket().await.unwrap().is_some());
}

/// Revocations are ordered by WeChat's clock: with our clock a minute ahead of WeChat's, an
/// `unauthorized` pushed ten seconds (WeChat time) after the authorization still revokes it.
#[tokio::test]
async fn a_revocation_is_ordered_by_wechats_clock_not_ours() {
    use std::sync::Arc;
    let (listener, base) = gateway::listener().await;
    let mut standin_config = crate::support::standin_config();
    standin_config.ticket_url = Some(format!("{base}/wechat/component/events"));
    let standin = crate::support::standin_with(standin_config).await;
    let clock = standin.clone();
    let config = crate::support::config(&[("WECHAT_API_BASE", standin.base_url())]);
    let ahead = Arc::new(move || clock.now_ms() + 60_000);
    let platform = shared::service::Platform::with_clock(&config, crate::support::fresh_table().await, ahead)
        .expect("platform")
        .with_bus(std::sync::Arc::new(shared::bus::MemoryBus::new()));
    let app = Arc::new(shared::app::App::with_platform(config, platform));
    gateway::serve(listener, app.clone());
    assert_eq!(standin.push_ticket().await.body, "success");
    let (_, push) = standin.authorize_quietly(ACCOUNT, None).unwrap();
    assert_eq!(standin.push_notice(&push).await.body, "success");
    standin.advance_clock(10);
    assert_eq!(standin.revoke(ACCOUNT).await.body, "success");
    let record = stored(&app).await.unwrap();
    assert_eq!(record.status, shared::store::AuthorizerStatus::Revoked, "authorized_at {}", record.authorized_at);
}
