//! An account's API quota (issue 36): calls made for the account spend its own quota (the
//! stand-in counts them per API and day and answers 45009 past the limit, which the platform
//! names: the API and when it comes back); the owner reads an API's quota and resets them within
//! the month's 10 resets (the 11th refused before WeChat is asked); a permission set the admin
//! did not grant is refused before WeChat is asked.

use serde_json::{Value, json};
use shared::store::AuthorizerStore;

use crate::support::ACCOUNT;

#[tokio::test]
async fn the_accounts_quota_is_read_reset_within_its_budget_and_named_when_spent() {
    let (standin, _app, base) = crate::media::owned().await;
    let http = shared::outbound::client_builder().build().unwrap();
    let account = format!("{base}/wechat/authorizers/{ACCOUNT}");
    let get = |url: String| {
        let http = http.clone();
        async move {
            let response = http.get(url).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let quota = |path: &str| get(format!("{account}/quota?cgi_path={path}"));

    // Two QR codes made: the account's count for qrcode/create says 2.
    standin.set_daily_limit("qrcode_create", 3);
    for scene in [1, 2] {
        let made = http.post(format!("{account}/qrcodes")).json(&json!({"name": "码", "scene_id": scene})).send().await;
        assert_eq!(made.unwrap().status().as_u16(), 201);
    }
    let (status, body) = quota("/cgi-bin/qrcode/create").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["quota"], json!({"daily_limit": 3, "used": 2, "remain": 1}), "{body}");
    // The platform's own count of what it called for the account today.
    let (status, body) = get(format!("{account}/quota/usage")).await;
    assert_eq!(status, 200, "{body}");
    let today = body["data"]["days"].as_array().unwrap().last().unwrap()["calls"].clone();
    assert_eq!(today["qrcode/create"], 2, "{body}");
    let (status, body) = quota("/cgi-bin/no/such").await;
    assert_eq!((status, body["errcode"].as_i64()), (422, Some(76021)), "{body}");
    assert_eq!(quota("not-a-path").await.0, 400);

    // Spent: WeChat's 45009, named: the API, and when it comes back (midnight, China time).
    let third =
        http.post(format!("{account}/qrcodes")).json(&json!({"name": "码", "scene_id": 3})).send().await.unwrap();
    assert_eq!(third.status().as_u16(), 201);
    let fourth =
        http.post(format!("{account}/qrcodes")).json(&json!({"name": "码", "scene_id": 4})).send().await.unwrap();
    assert_eq!(fourth.status().as_u16(), 422);
    let body: Value = fourth.json().await.unwrap();
    assert_eq!(
        (body["errcode"].as_i64(), body["reason"].as_str(), body["api"].as_str()),
        (Some(45009), Some("daily_quota"), Some("qrcode/create")),
        "{body}"
    );
    let resets_at = body["resets_at"].as_i64().unwrap();
    assert_eq!((resets_at + 8 * 3600) % 86_400, 0, "a China midnight: {resets_at}");
    // The platform counts a request's calls only when the request succeeded: the third code
    // counted, the refused fourth (WeChat was asked, and said no) not.
    let (_, body) = get(format!("{account}/quota/usage")).await;
    let today = body["data"]["days"].as_array().unwrap().last().unwrap()["calls"].clone();
    assert_eq!(today["qrcode/create"], 3, "{body}");

    // Reset: the count starts again; ten a month, the eleventh refused here (WeChat not asked).
    let reset = || {
        let http = http.clone();
        let url = format!("{account}/quota/reset");
        async move {
            let response = http.post(url).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = reset().await;
    assert_eq!((status, body["data"]["resets_used"].as_u64()), (200, Some(1)), "{body}");
    let (_, body) = quota("/cgi-bin/qrcode/create").await;
    assert_eq!(body["data"]["quota"]["used"], 0, "{body}");
    for n in 2..=10 {
        assert_eq!(reset().await.1["data"]["resets_used"], n);
    }
    let calls = standin.calls("clear_quota");
    let (status, body) = reset().await;
    assert_eq!(status, 400, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("10 quota resets of this month"), "{body}");
    assert_eq!(standin.calls("clear_quota"), calls, "WeChat not asked an eleventh time");
}

#[tokio::test]
async fn a_reset_without_a_token_uses_the_components_secret() {
    let (standin, _app, base) = crate::media::owned().await;
    let http = shared::outbound::client_builder().build().unwrap();
    // The account's token cannot be had: it expired, and WeChat's token calls answer 45009.
    standin.advance_clock(7200);
    standin.push_ticket().await;
    standin.inject_fault("api_authorizer_token", wechat_standin::Fault::Errcode(45009), 10);
    let response = http.post(format!("{base}/wechat/authorizers/{ACCOUNT}/quota/reset")).send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!((status, body["data"]["reset"].as_bool()), (200, Some(true)), "{body}");
    assert_eq!((standin.calls("clear_quota"), standin.calls("clear_quota_v2")), (0, 1));
}

#[tokio::test]
async fn a_permission_set_not_granted_is_refused_before_wechat_is_asked() {
    let (standin, app, base) = crate::media::owned().await;
    let http = shared::outbound::client_builder().build().unwrap();
    // The admin granted messages only (set 1).
    let mut record = app.platform.store().authorizer(ACCOUNT).await.unwrap().unwrap();
    record.profile.func_info = vec![1];
    app.platform.store().update_profile(ACCOUNT, &record.profile, record.version, standin.now()).await.unwrap();
    let account = format!("{base}/wechat/authorizers/{ACCOUNT}");
    for (request, set) in [
        (
            http.put(format!("{account}/menu"))
                .header("if-match", "\"0\"")
                .json(&json!({"button": [{"type": "click", "name": "a", "key": "k"}]})),
            "15",
        ),
        (http.post(format!("{account}/tags")).json(&json!({"name": "x"})), "2 or 100"),
        (http.post(format!("{account}/qrcodes")).json(&json!({"name": "x", "scene_id": 1})), "3"),
    ] {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (status, body["errcode"].as_i64(), body["reason"].as_str()),
            (422, Some(61007), Some("permission_not_granted")),
            "{body}"
        );
        assert!(body["msg"].as_str().unwrap().contains(&format!("permission set {set} (")), "{body}");
    }
    assert_eq!(standin.calls("menu_create") + standin.calls("tags_create") + standin.calls("qrcode_create"), 0);
}

/// Bulk work keeps to its share of the day: with `BULK_QUOTA_PERCENT=40` and a daily limit of 20
/// batchget calls, a backfill makes 8 and stops, saying why; the next slice, with 8 used, makes
/// none; after a reset it finishes.
#[tokio::test]
async fn the_follower_backfill_keeps_to_its_share_of_the_accounts_daily_quota() {
    use shared::Secret;
    use shared::service::{Caller, Platform};
    use shared::store::{LOCAL_DEMO_USER, MemoryStore};

    let standin = crate::support::standin().await;
    let clock = standin.clone();
    let config =
        crate::support::config(&[("WECHAT_API_BASE", standin.base_url()), ("BULK_QUOTA_PERCENT", "40".to_owned())]);
    let platform =
        Platform::with_clock(&config, MemoryStore::new(), std::sync::Arc::new(move || clock.now_ms())).unwrap();
    crate::support::renew_ticket(&standin, &platform).await;
    let code = standin.authorize_directly(ACCOUNT).await.unwrap();
    platform.onboarding().complete_authorization(&Secret::new(code), None).await.unwrap();
    platform.store().set_owner(ACCOUNT, LOCAL_DEMO_USER, standin.now()).await.unwrap();
    let owner = Caller::Dashboard(LOCAL_DEMO_USER.to_owned());
    standin.seed_followers(ACCOUNT, "o_bulk_", 1_000);
    standin.set_daily_limit("user_info_batch", 20);

    let first = platform.followers().backfill_followers(&owner, ACCOUNT).await.unwrap();
    assert_eq!((first["done"].as_bool(), first["imported"].as_u64()), (Some(false), Some(800)), "{first}");
    assert_eq!(
        first["quota_guard"],
        json!({"api": "/cgi-bin/user/info/batchget", "daily_limit": 20, "used": 0, "percent": 40}),
        "{first}"
    );
    assert!(first["stopped"].as_str().unwrap().contains("40%"), "{first}");
    assert_eq!(standin.calls("user_info_batch"), 8);

    // The rest of the day is the account's: the next slice makes no batchget call.
    let second = platform.followers().backfill_followers(&owner, ACCOUNT).await.unwrap();
    assert_eq!((second["imported"].as_u64(), second["quota_guard"]["used"].as_u64()), (Some(800), Some(8)), "{second}");
    assert_eq!(standin.calls("user_info_batch"), 8);

    // A reset gives the day back: the backfill finishes where it stopped.
    platform.acting().reset_quota(&owner, ACCOUNT).await.unwrap();
    let done = platform.followers().backfill_followers(&owner, ACCOUNT).await.unwrap();
    assert_eq!((done["done"].as_bool(), done["imported"].as_u64()), (Some(true), Some(1_000)), "{done}");
    assert!(done.get("stopped").is_none(), "{done}");
    assert_eq!(standin.calls("user_info_batch"), 10);
}
