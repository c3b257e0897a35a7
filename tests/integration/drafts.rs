//! The draft box (issue 37): an article is checked against WeChat's rules before anything is sent
//! (the field named), its HTML reduced to what WeChat keeps, its cover and images resolved from
//! the media library (a cover must be permanent; an image elsewhere than WeChat's host is refused
//! by name, never fetched), then added, read back, listed, updated and deleted at WeChat.

use serde_json::{Value, json};
use shared::store::AuthorizerStore;

use crate::media::{image, owned, png, uploaded};
use crate::support::ACCOUNT;

#[tokio::test]
async fn a_draft_is_checked_reduced_resolved_and_kept_at_wechat() {
    let (standin, _app, base) = owned().await;
    let http = shared::outbound::client_builder().build().unwrap();
    let drafts = format!("{base}/wechat/authorizers/{ACCOUNT}/drafts");
    let post = |body: Value| {
        let (http, url) = (http.clone(), drafts.clone());
        async move {
            let response = http.post(url).json(&body).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let cover_file = png(30_000);
    let cover = uploaded(&http, &base, &image(&cover_file, "permanent"), cover_file).await;
    let temporary_file = png(20_000);
    let temporary = uploaded(&http, &base, &image(&temporary_file, "temporary"), temporary_file).await;
    let picture_file = png(25_000);
    let mut declaration = image(&picture_file, "permanent");
    declaration["type"] = json!("article_image");
    let picture = uploaded(&http, &base, &declaration, picture_file).await;
    let (cover_handle, picture_handle) = (cover["handle"].as_str().unwrap(), picture["handle"].as_str().unwrap());
    let article = |content: &str, cover: &str| {
        json!({"articles": [{"title": "冬季新品", "author": "小店", "content": content, "cover": cover,
            "source_url": "https://shop.example.com/new", "comments": "followers"}]})
    };

    // Refused here, the field named, nothing sent: an image WeChat would drop, a temporary
    // cover, a title too long, an unknown field.
    let (status, body) = post(article("<p><img src=\"https://cdn.example.com/a.jpg\"></p>", cover_handle)).await;
    assert_eq!(status, 400, "{body}");
    let reason = body["message"].as_str().unwrap_or_default().to_owned() + body.to_string().as_str();
    assert!(reason.contains("articles[0].content") && reason.contains("cdn.example.com"), "{body}");
    let (status, body) = post(article("<p>正文</p>", temporary["handle"].as_str().unwrap())).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("articles[0].cover") && body.to_string().contains("temporary"), "{body}");
    let mut long = article("<p>正文</p>", cover_handle);
    long["articles"][0]["title"] = json!("字".repeat(33));
    assert_eq!(post(long).await.0, 400);
    assert_eq!(post(json!({"articles": [{"title": "x", "content": "y", "colour": "red"}]})).await.0, 400);
    assert_eq!((standin.calls("draft_add"), standin.draft_count(ACCOUNT)), (0, 0), "nothing reached WeChat");

    // Added: scripts and event attributes gone, the library's image at WeChat's URL, the cover's
    // media_id, comments for followers.
    let content = format!(
        "<p onclick=\"steal()\">新品<script>steal()</script></p><p><img src=\"media:{picture_handle}\" alt=\"图\"></p>"
    );
    let (status, body) = post(article(&content, cover_handle)).await;
    assert_eq!(status, 201, "{body}");
    let media_id = body["data"]["media_id"].as_str().unwrap().to_owned();
    let one = format!("{drafts}/{media_id}");
    let read: Value = http.get(&one).send().await.unwrap().json().await.unwrap();
    let kept = &read["data"]["articles"][0];
    assert_eq!(
        kept["content"].as_str(),
        Some(format!("<p>新品</p><p><img src=\"{}\" alt=\"图\"></p>", picture["url"].as_str().unwrap()).as_str()),
        "{read}"
    );
    assert_eq!(kept["thumb_media_id"], cover["media_id"], "{read}");
    assert_eq!((kept["need_open_comment"].as_i64(), kept["only_fans_can_comment"].as_i64()), (Some(1), Some(1)));
    let listed: Value = http.get(format!("{drafts}?count=5")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["data"]["total_count"], 1, "{listed}");
    assert_eq!(listed["data"]["item"][0]["media_id"].as_str(), Some(media_id.as_str()));
    assert!(listed["data"]["item"][0]["content"]["news_item"][0].get("content").is_none(), "no content unless asked");

    // One article replaced; an index the draft has not is refused before WeChat is asked to
    // change anything.
    let mut edit = article("<p>更新后的正文</p>", cover_handle)["articles"][0].clone();
    edit["title"] = json!("冬季新品（更新）");
    let response = http.put(format!("{one}/articles/0")).json(&edit).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let response = http.put(format!("{one}/articles/1")).json(&edit).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(standin.calls("draft_update"), 1);
    let read: Value = http.get(&one).send().await.unwrap().json().await.unwrap();
    assert_eq!(read["data"]["articles"][0]["title"], "冬季新品（更新）", "{read}");

    // A thumb_media_id given directly is WeChat's to judge: a temporary medium is its 40007.
    let mut direct = article("<p>正文</p>", cover_handle);
    direct["articles"][0].as_object_mut().unwrap().remove("cover");
    direct["articles"][0]["thumb_media_id"] = temporary["media_id"].clone();
    let (status, body) = post(direct).await;
    assert_eq!((status, body["errcode"].as_i64()), (422, Some(40007)), "{body}");

    // Deleted at WeChat; a second read is WeChat's 40007.
    assert_eq!(http.delete(&one).send().await.unwrap().status().as_u16(), 200);
    assert_eq!(standin.draft_count(ACCOUNT), 0);
    let gone = http.get(&one).send().await.unwrap();
    assert_eq!(gone.status().as_u16(), 422);

    // A lost answer: the draft may have been made, and the answer says so (1011) instead of
    // inviting a blind retry; the list shows it was.
    standin.inject_fault("draft_add", wechat_standin::Fault::DropAfter, 1);
    let (status, body) = post(article("<p>正文</p>", cover_handle)).await;
    assert_eq!((status, body["code"].as_i64()), (504, Some(1011)), "{body}");
    let listed: Value = http.get(&drafts).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["data"]["total_count"], 1, "{listed}");
}

/// A draft published: `202` with the `publish_id`; WeChat's `PUBLISHJOBFINISH` push reaches
/// event-callback, which keeps the outcome (the push's own marker); the publication reads it
/// (`source: push`), the article is listed and deleted. A failing publication says which article.
#[tokio::test]
async fn a_draft_is_published_and_its_outcome_kept_from_wechats_push() {
    let (standin, _app, base) = owned().await;
    let http = shared::outbound::client_builder().build().unwrap();
    let account = format!("{base}/wechat/authorizers/{ACCOUNT}");
    let cover_file = png(30_000);
    let cover = uploaded(&http, &base, &image(&cover_file, "permanent"), cover_file).await;
    let add = |title: &str| {
        let (http, url) = (http.clone(), format!("{account}/drafts"));
        let body = json!({"articles": [{"title": title, "content": "<p>正文</p>", "cover": cover["handle"]},
            {"title": "第二篇", "content": "<p>第二篇正文</p>", "cover": cover["handle"]}]});
        async move {
            let added: Value = http.post(url).json(&body).send().await.unwrap().json().await.unwrap();
            added["data"]["media_id"].as_str().unwrap().to_owned()
        }
    };
    // Waits for what the publication caused: WeChat's push, kept.
    let outcome = |publish_id: String| {
        let (http, url) = (http.clone(), format!("{account}/publications/{publish_id}"));
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            loop {
                let read: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
                if read["data"]["source"] == "push" || std::time::Instant::now() > deadline {
                    return read;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    };

    let media_id = add("发布测试").await;
    let response = http.post(format!("{account}/drafts/{media_id}/publish")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let submitted: Value = response.json().await.unwrap();
    let publish_id = submitted["data"]["publish_id"].as_str().unwrap().to_owned();
    let read = outcome(publish_id.clone()).await;
    let data = &read["data"];
    assert_eq!((data["source"].as_str(), data["status"].as_str()), (Some("push"), Some("published")), "{read}");
    assert_eq!(data["media_id"].as_str(), Some(media_id.as_str()), "the submission kept beside the outcome");
    assert_eq!(data["article_urls"].as_array().map(Vec::len), Some(2), "{read}");
    let article_id = data["article_id"].as_str().unwrap().to_owned();
    assert_eq!(standin.draft_count(ACCOUNT), 0, "WeChat takes a published draft out of the box");

    // Listed; its second article deleted, then all of it.
    let listed: Value = http.get(format!("{account}/articles")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["data"]["item"][0]["article_id"].as_str(), Some(article_id.as_str()), "{listed}");
    let one = format!("{account}/articles/{article_id}");
    assert_eq!(http.delete(format!("{one}?index=2")).send().await.unwrap().status().as_u16(), 200);
    let listed: Value = http.get(format!("{account}/articles")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["data"]["item"][0]["content"]["news_item"].as_array().map(Vec::len), Some(1));
    assert_eq!(http.delete(&one).send().await.unwrap().status().as_u16(), 200);
    let listed: Value = http.get(format!("{account}/articles")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["data"]["total_count"], 0, "{listed}");

    // A publication WeChat fails: the outcome names the article.
    standin.fail_publications(1);
    let media_id = add("会失败的发布").await;
    let submitted: Value =
        http.post(format!("{account}/drafts/{media_id}/publish")).send().await.unwrap().json().await.unwrap();
    let read = outcome(submitted["data"]["publish_id"].as_str().unwrap().to_owned()).await;
    assert_eq!((read["data"]["status"].as_str(), &read["data"]["fail_idx"]), (Some("failed"), &json!([1])), "{read}");
    // A draft that is not there: WeChat's 40007, nothing kept.
    let gone = http.post(format!("{account}/drafts/{media_id}/publish")).send().await.unwrap();
    assert_eq!(gone.status().as_u16(), 422);
    assert_eq!(standin.calls("freepublish_submit"), 3);
}

/// Mass sends: previewed to a follower; refused before WeChat when the tag is not the account's,
/// the list too short or the key missing; made once per Idempotency-Key (the same key answers the
/// first send); their result kept from WeChat's `MASSSENDJOBFINISH`; a service account's fifth
/// send to everyone in a month and a subscription account's second of a day refused here.
#[tokio::test]
async fn mass_sends_are_checked_made_once_per_key_and_kept_within_the_accounts_allowance() {
    let (standin, app, base) = owned().await;
    let http = shared::outbound::client_builder().build().unwrap();
    let account = format!("{base}/wechat/authorizers/{ACCOUNT}");
    standin.seed_followers(ACCOUNT, "o_mass_", 3);
    let send = |account: String, key: Option<&str>, body: Value| {
        let mut request = http.post(format!("{account}/broadcasts")).json(&body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let text = |content: &str| json!({"to": {"all": true}, "msgtype": "text", "text": {"content": content}});

    // An article from the draft box, previewed to a follower first (a stranger is WeChat's 43004).
    let cover_file = png(30_000);
    let cover = uploaded(&http, &base, &image(&cover_file, "permanent"), cover_file).await;
    let draft = json!({"articles": [{"title": "本周活动", "content": "<p>活动详情</p>", "cover": cover["handle"]}]});
    let added: Value = http.post(format!("{account}/drafts")).json(&draft).send().await.unwrap().json().await.unwrap();
    let media_id = added["data"]["media_id"].as_str().unwrap().to_owned();
    let article = json!({"msgtype": "mpnews", "mpnews": {"media_id": media_id}});
    let mut preview = article.clone();
    preview["openid"] = json!("o_mass_000001");
    let previewed = http.post(format!("{account}/broadcasts/preview")).json(&preview).send().await.unwrap();
    assert_eq!(previewed.status().as_u16(), 200);
    preview["openid"] = json!("o_stranger");
    let refused: Value =
        http.post(format!("{account}/broadcasts/preview")).json(&preview).send().await.unwrap().json().await.unwrap();
    assert_eq!(refused["errcode"], 43004, "{refused}");

    // Refused here, nothing sent: no key, a tag the account has not, one OpenID, a temporary image.
    let mut to_all = article.clone();
    to_all["to"] = json!({"all": true});
    assert_eq!(send(account.clone(), None, to_all.clone()).await.0, 400);
    let mut to_tag = article.clone();
    to_tag["to"] = json!({"tag_id": 999});
    let (status, body) = send(account.clone(), Some("tag"), to_tag).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("to.tag_id"), "{body}");
    let mut to_one = article.clone();
    to_one["to"] = json!({"openids": ["o_mass_000001"]});
    assert_eq!(send(account.clone(), Some("one"), to_one).await.0, 400);
    assert_eq!(standin.mass_send_count(ACCOUNT), 0);

    // Sent once; the same key answers the first send, nothing sent twice.
    let (status, first) = send(account.clone(), Some("weekly-1"), to_all.clone()).await;
    assert_eq!(status, 202, "{first}");
    let msg_id = first["data"]["msg_id"].as_str().unwrap().to_owned();
    let (status, again) = send(account.clone(), Some("weekly-1"), to_all.clone()).await;
    assert_eq!(
        (status, again["data"]["msg_id"].as_str(), again["data"]["existing"].as_bool()),
        (200, Some(msg_id.as_str()), Some(true))
    );
    assert_eq!(standin.mass_send_count(ACCOUNT), 1);
    // The same key for another send: refused, nothing sent, the first send's ids not given.
    let (status, reused) = send(account.clone(), Some("weekly-1"), text("另一条群发")).await;
    assert_eq!((status, reused["code"].as_i64()), (422, Some(1019)), "{reused}");
    assert!(reused["data"].is_null(), "{reused}");
    assert_eq!(standin.mass_send_count(ACCOUNT), 1);
    // The result, from WeChat's push: the three followers reached.
    let url = format!("{account}/broadcasts/{msg_id}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let result = loop {
        let read: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        if read["data"]["source"] == "push" || std::time::Instant::now() > deadline {
            break read;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(
        (result["data"]["status"].as_str(), result["data"]["sent_count"].as_i64(), result["data"]["msgtype"].as_str()),
        (Some("sendsuccess"), Some(3), Some("mpnews")),
        "{result}"
    );

    // A service account: four sends to everyone a month; the fifth is refused here.
    for key in ["weekly-2", "weekly-3", "weekly-4"] {
        assert_eq!(send(account.clone(), Some(key), text("本周上新")).await.0, 202, "{key}");
    }
    let (status, body) = send(account.clone(), Some("weekly-5"), text("本周上新")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("4 mass sends a month"), "{body}");
    assert_eq!(standin.mass_send_count(ACCOUNT), 4);

    // A lost answer: WeChat sent it, the platform cannot know (1011, never retried); the same
    // key again reaches WeChat, which refuses a clientmsgid it has seen (45065): nobody gets it
    // twice. (A list send: not counted against the month, which is spent.)
    let list = |content: &str| json!({"to": {"openids": ["o_mass_000000", "o_mass_000001"]}, "msgtype": "text", "text": {"content": content}});
    standin.inject_fault("mass_send", wechat_standin::Fault::DropAfter, 1);
    let (status, body) = send(account.clone(), Some("lost-1"), list("今晚八点直播")).await;
    assert_eq!((status, body["code"].as_i64()), (504, Some(1011)), "{body}");
    assert_eq!(standin.mass_send_count(ACCOUNT), 5, "WeChat made it");
    let (status, body) = send(account.clone(), Some("lost-1"), list("今晚八点直播")).await;
    assert_eq!((status, body["errcode"].as_i64()), (422, Some(45065)), "{body}");
    assert_eq!(standin.mass_send_count(ACCOUNT), 5, "not twice");

    // A subscription account: once a day.
    let subscription = "wx1000000000000003";
    standin.add_account(wechat_standin::Account {
        appid: subscription.into(),
        user_name: "gh_100000000003".into(),
        nick_name: "订阅号".into(),
        principal_name: String::new(),
        service_type: 0,
        verify_type: 0,
        func_info: vec![1, 7, 11],
    });
    standin.authorize_and_push(subscription).await.unwrap();
    app.platform.store().set_owner(subscription, shared::store::LOCAL_DEMO_USER, standin.now()).await.unwrap();
    let other = format!("{base}/wechat/authorizers/{subscription}");
    assert_eq!(send(other.clone(), Some("daily-1"), text("早安")).await.0, 202);
    let (status, body) = send(other.clone(), Some("daily-2"), text("午安")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("once a day"), "{body}");
    assert_eq!(standin.mass_send_count(subscription), 1);
}
