//! The account's custom menu, conditional menus and follower tags through account-setup's routes
//! (issue 35): the platform's check first (nothing sent when it fails), the version named by
//! `If-Match` (nothing sent when it is stale), media handles of permanent material resolved,
//! published to the stand-in (which enforces WeChat's own rules), read back with the rules
//! linked to the keys, deleted.

use reqwest::Client;
use serde_json::{Value, json};
use shared::store::FollowerStore;

use crate::media::{image, png, uploaded};
use crate::support::ACCOUNT;

/// A request on one of the account's setup routes: status, `ETag`, body.
async fn call(
    http: &Client,
    method: &str,
    url: &str,
    if_match: Option<&str>,
    body: Option<Value>,
) -> (u16, Option<String>, Value) {
    let mut request = http.request(method.parse().unwrap(), url);
    if let Some(version) = if_match {
        request = request.header("if-match", version);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let etag = response.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
    (status, etag, response.json().await.unwrap())
}

fn menu(media: &str) -> Value {
    json!({"button": [
        {"type": "click", "name": "今日歌曲", "key": "V1001_TODAY_MUSIC"},
        {"name": "菜单", "sub_button": [
            {"type": "view", "name": "官网", "url": "https://www.example.com/"},
            {"type": "media_id", "name": "海报", "media_id": media},
            {"type": "click", "name": "联系我们", "key": "CONTACT"}]}
    ]})
}

#[tokio::test]
async fn a_menu_is_versioned_checked_published_read_back_and_deleted() {
    let (standin, _app, base) = crate::media::owned().await;
    let http = shared::outbound::client_builder().build().unwrap();
    let url = format!("{base}/wechat/authorizers/{ACCOUNT}/menu");

    // Nothing anywhere: version 0, in sync.
    let (status, etag, body) = call(&http, "GET", &url, None, None).await;
    assert_eq!((status, etag.as_deref()), (200, Some("\"0\"")), "{body}");
    assert_eq!(body["data"]["live"], Value::Null);
    assert_eq!(body["data"]["in_sync"], true);

    let (poster, flyer) = (png(8_000), png(9_000));
    let permanent = uploaded(&http, &base, &image(&poster, "permanent"), poster).await;
    let temporary = uploaded(&http, &base, &image(&flyer, "temporary"), flyer).await;
    let handle = permanent["handle"].as_str().unwrap();

    // A reply rule for one of the keys, and one for a key no menu carries.
    let rules = json!({"rules": [
        {"on": "click", "key": "V1001_TODAY_MUSIC", "reply": {"msgtype": "text", "text": {"content": "今日歌曲"}}},
        {"on": "click", "key": "GONE", "reply": {"msgtype": "text", "text": {"content": "旧按钮"}}}]});
    let rules_url = format!("{base}/wechat/authorizers/{ACCOUNT}/reply-rules");
    assert_eq!(call(&http, "PUT", &rules_url, Some("\"0\""), Some(rules)).await.0, 200);

    // Refused before WeChat, naming the field: no If-Match, a rule of WeChat's broken, a temporary
    // medium, a stale version.
    let mut four = menu(handle);
    four["button"] = json!([{"type": "click", "name": "a", "key": "1"}, {"type": "click", "name": "b", "key": "2"},
        {"type": "click", "name": "c", "key": "3"}, {"type": "click", "name": "d", "key": "4"}]);
    let long_key = json!({"button": [{"type": "click", "name": "a", "key": "k".repeat(129)}]});
    for (version, document, status, says) in [
        (None, menu(handle), 428, "If-Match"),
        (Some("\"0\""), four, 400, "button: 4 buttons"),
        (Some("\"0\""), long_key, 400, "button[0].key"),
        (
            Some("\"0\""),
            menu(temporary["handle"].as_str().unwrap()),
            400,
            "button[1].sub_button[1].media_id: a temporary",
        ),
        (Some("\"7\""), menu(handle), 412, "changed since version 7"),
    ] {
        let (got, _, body) = call(&http, "PUT", &url, version, Some(document)).await;
        assert_eq!(got, status, "{body}");
        assert!(body["msg"].as_str().unwrap().contains(says), "{body}");
    }
    assert_eq!(standin.calls("menu_create"), 0, "nothing reached WeChat");

    // Published with the handle: WeChat gets the material's media_id, the document keeps the handle.
    let (status, etag, body) = call(&http, "PUT", &url, Some("\"0\""), Some(menu(handle))).await;
    assert_eq!((status, etag.as_deref()), (200, Some("\"1\"")), "{body}");
    let at_wechat = menu(permanent["media_id"].as_str().unwrap());
    assert_eq!(standin.menu(ACCOUNT), Some(at_wechat.clone()));
    let state = &body["data"];
    assert_eq!((state["version"].as_u64(), &state["menu"], &state["live"]), (Some(1), &menu(handle), &at_wechat));
    assert_eq!(state["in_sync"], true);
    assert_eq!(
        state["keys"],
        json!([{"path": "button[0]", "key": "V1001_TODAY_MUSIC", "rule": 0},
               {"path": "button[1].sub_button[2]", "key": "CONTACT", "rule": null}]),
        "each click key with the rule answering it; CONTACT gets no reply"
    );
    assert_eq!(state["unused_click_rules"], json!([1]), "the rule for GONE answers nothing");
    // A follower's taps: the click key's rule answers; a link opens (no reply); no such button.
    let tapped = standin.tap_menu(ACCOUNT, "o_menu", "V1001_TODAY_MUSIC").await.unwrap();
    assert!(tapped.reply_xml.as_deref().unwrap_or_default().contains("今日歌曲"), "{tapped:?}");
    let viewed = standin.tap_menu(ACCOUNT, "o_menu", "https://www.example.com/").await.unwrap();
    assert_eq!((viewed.status, viewed.reply_xml.as_deref()), (200, None), "{viewed:?}");
    assert!(standin.tap_menu(ACCOUNT, "o_menu", "GONE").await.is_none(), "no button pushes GONE");

    // Another editor still on version 0 is refused; nothing sent.
    let (status, _, body) = call(&http, "PUT", &url, Some("\"0\""), Some(menu(handle))).await;
    assert_eq!((status, body["version"].as_u64()), (412, Some(1)), "{body}");
    assert_eq!(standin.calls("menu_create"), 1);

    // Changed in WeChat's own backend: shown as it is, out of sync.
    let elsewhere = json!({"button": [{"type": "view", "name": "商城", "url": "https://shop.example.com/"}]});
    standin.set_menu_in_backend(ACCOUNT, elsewhere.clone());
    let (_, _, body) = call(&http, "GET", &url, None, None).await;
    assert_eq!((&body["data"]["live"], &body["data"]["in_sync"]), (&elsewhere, &json!(false)), "{body}");
    assert_eq!(body["data"]["menu"], menu(handle), "the kept document is unchanged");

    // Another user's account: not found. The owner deletes it, naming the version.
    let stranger = http.get(&url).header("authorization", "Bearer local-user:someone-else").send().await.unwrap();
    assert_eq!(stranger.status().as_u16(), 404);
    assert_eq!(call(&http, "DELETE", &url, None, None).await.0, 428);
    let (status, etag, body) = call(&http, "DELETE", &url, Some("\"1\""), None).await;
    assert_eq!((status, etag.as_deref()), (200, Some("\"2\"")), "{body}");
    assert_eq!(standin.menu(ACCOUNT), None);
    assert_eq!(
        (&body["data"]["menu"], &body["data"]["live"], &body["data"]["in_sync"]),
        (&Value::Null, &Value::Null, &json!(true))
    );
}

#[tokio::test]
async fn tags_and_conditional_menus_reach_the_followers_they_name() {
    let (standin, app, base) = crate::media::owned().await;
    let http = shared::outbound::client_builder().build().unwrap();
    let account = format!("{base}/wechat/authorizers/{ACCOUNT}");
    standin.seed_followers(ACCOUNT, "o_vip_", 60);

    // Tags: created (names checked first), listed, renamed; WeChat's own tags refused.
    let (status, _, body) = call(&http, "POST", &format!("{account}/tags"), None, Some(json!({"name": "会员"}))).await;
    assert_eq!(status, 200, "{body}");
    let vip = body["data"]["tag"]["id"].as_i64().unwrap();
    let calls = standin.calls("tags_create");
    for (name, says) in [("一二三四五六七八九十一", "name: 1 to 30 bytes"), ("会员", "already has a tag named")]
    {
        let (status, _, body) =
            call(&http, "POST", &format!("{account}/tags"), None, Some(json!({"name": name}))).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["msg"].as_str().unwrap().contains(says), "{body}");
    }
    assert_eq!(standin.calls("tags_create"), calls, "nothing sent");
    let (status, _, body) = call(&http, "PUT", &format!("{account}/tags/2"), None, Some(json!({"name": "x"}))).await;
    assert_eq!(status, 400, "{body}");
    let (status, _, _) =
        call(&http, "PUT", &format!("{account}/tags/{vip}"), None, Some(json!({"name": "金卡会员"}))).await;
    assert_eq!(status, 200);

    // One of them is in the ledger already (they wrote to the account since).
    let ledger = shared::store::FollowerChange::Subscribed { scene: None };
    app.platform.store().record_follower(ACCOUNT, "o_vip_000002", standin.now(), &ledger).await.unwrap();
    // 60 followers tagged: two requests to WeChat (its batches of 50); listed with the count.
    let openids: Vec<String> = (0..60).map(|i| format!("o_vip_{i:06}")).collect();
    let url = format!("{account}/tags/{vip}/followers");
    let (status, _, body) = call(&http, "POST", &url, None, Some(json!({"openids": openids}))).await;
    assert_eq!((status, body["data"]["tagged"].as_u64()), (200, Some(60)), "{body}");
    assert_eq!(standin.calls("tags_batchtagging"), 2);
    let (_, _, body) = call(&http, "GET", &format!("{account}/tags"), None, None).await;
    assert_eq!(body["data"]["tags"], json!([{"id": vip, "name": "金卡会员", "count": 60}]), "{body}");
    let (_, _, body) = call(&http, "GET", &format!("{account}/tags?openid=o_vip_000001"), None, None).await;
    assert_eq!(body["data"]["tag_ids"], json!([vip]));
    // The ledger shows the tag on the follower it knows (and made no record for the others).
    let (_, _, list) = call(&http, "GET", &format!("{account}/followers"), None, None).await;
    let followers = list["data"]["followers"].as_array().unwrap();
    assert_eq!(followers.len(), 1, "{list}");
    assert_eq!((&followers[0]["openid"], &followers[0]["tags"]), (&json!("o_vip_000002"), &json!([vip])));
    let (status, _, body) =
        call(&http, "POST", &url, None, Some(json!({"openids": ["o_vip_000001"], "remove": true}))).await;
    assert_eq!((status, body["data"]["removed"].as_u64()), (200, Some(1)), "{body}");

    // A conditional menu needs the default one (WeChat: 65303), then reaches the tag's followers only.
    let vip_menu = json!({"button": [{"type": "click", "name": "会员专享", "key": "VIP"}], "matchrule": {"tag_id": vip.to_string()}});
    let (status, _, body) =
        call(&http, "POST", &format!("{account}/menu/conditional"), None, Some(vip_menu.clone())).await;
    assert_eq!((status, body["errcode"].as_i64()), (422, Some(65303)), "{body}");
    let default = json!({"button": [{"type": "click", "name": "首页", "key": "HOME"}]});
    assert_eq!(call(&http, "PUT", &format!("{account}/menu"), Some("\"0\""), Some(default.clone())).await.0, 200);
    let (status, _, body) = call(&http, "POST", &format!("{account}/menu/conditional"), None, Some(vip_menu)).await;
    assert_eq!(status, 200, "{body}");
    let menuid = body["data"]["menuid"].as_str().unwrap().to_owned();
    let seen_by = |openid: &str| {
        let url = format!("{account}/menu/match?openid={openid}");
        let http = http.clone();
        async move { call(&http, "GET", &url, None, None).await.2["data"]["menu"]["button"][0]["key"].clone() }
    };
    assert_eq!(seen_by("o_vip_000002").await, "VIP");
    assert_eq!(seen_by("o_vip_000001").await, "HOME", "the tag was taken off");
    let (_, _, body) = call(&http, "GET", &format!("{account}/menu"), None, None).await;
    assert_eq!(body["data"]["conditional"][0]["menuid"], menuid.as_str(), "{body}");
    assert_eq!(body["data"]["keys"][1], json!({"path": "conditional[0].button[0]", "key": "VIP", "rule": null}));

    // Refused before WeChat: a tag the account does not have, a retired match rule.
    let calls = standin.calls("menu_addconditional");
    for (rule, says) in
        [(json!({"tag_id": "99999"}), "matchrule.tag_id: the account has no tag"), (json!({"sex": "1"}), "65320")]
    {
        let document = json!({"button": [{"type": "click", "name": "x", "key": "X"}], "matchrule": rule});
        let (status, _, body) = call(&http, "POST", &format!("{account}/menu/conditional"), None, Some(document)).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["msg"].as_str().unwrap().contains(says), "{body}");
    }
    assert_eq!(standin.calls("menu_addconditional"), calls, "nothing added");

    // Deleted by its menuid; a second time WeChat says it is gone (65301).
    let one = format!("{account}/menu/conditional/{menuid}");
    assert_eq!(call(&http, "DELETE", &one, None, None).await.0, 200);
    let (status, _, body) = call(&http, "DELETE", &one, None, None).await;
    assert_eq!((status, body["errcode"].as_i64()), (422, Some(65301)), "{body}");
    assert_eq!(seen_by("o_vip_000002").await, "HOME");

    // The tag deleted: gone from the list.
    assert_eq!(call(&http, "DELETE", &format!("{account}/tags/{vip}"), None, None).await.0, 200);
    let (_, _, body) = call(&http, "GET", &format!("{account}/tags"), None, None).await;
    assert_eq!(body["data"]["tags"], json!([]));
}
