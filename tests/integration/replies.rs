//! Replies by rule and the follower ledger (issue 18): rules edited through the dashboard API
//! answer WeChat's pushes (decrypted and checked), a change is in effect within the cache's
//! bound, two editors cannot overwrite each other, the ledger is kept from the bus (on the local
//! AWS emulator, through the rule `template.yaml` declares), and existing followers are imported
//! from WeChat, resumably.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::Secret;
use shared::message::ReplyKind;
use shared::service::{Caller, Platform};
use shared::store::{AuthorizerStore, DocumentKind, DocumentStore, FollowerStore, LOCAL_DEMO_USER, MemoryStore};
use wechat_standin::{Fault, StandIn};

use crate::gateway;
use crate::subscriber::{Queue, emulator, subscribe};
use crate::support::ACCOUNT;

fn text(content: &str) -> Value {
    json!({"msgtype": "text", "text": {"content": content}})
}

fn rules() -> Value {
    json!({"rules": [
        {"name": "欢迎", "on": "subscribe", "reply": text("欢迎关注")},
        {"name": "扫码关注", "on": "subscribe", "scene": "123123", "reply": text("欢迎光临 123123 号店")},
        {"on": "keyword", "match": "exact", "keyword": "价格", "reply": text("标准版 99 元/月")},
        {"on": "keyword", "match": "contains", "keyword": "发票", "reply":
            {"msgtype": "news", "news": {"articles": [{"title": "开发票", "description": "三步开票", "url": "https://example.com/invoice", "picurl": "https://example.com/i.png"}]}}},
        {"on": "click", "key": "MENU_KEY", "reply": text("菜单帮助")},
        {"on": "default", "reply": text("收到，客服稍后回复")}
    ]})
}

fn reply_text(pushed: &wechat_standin::PushResult) -> String {
    match pushed.reply().unwrap_or_else(|| panic!("an encrypted reply: {pushed:?}")).kind {
        ReplyKind::Text { content } => content,
        other => format!("{other:?}"),
    }
}

/// The platform behind the local gateway on a fresh table, the account authorized and owned by
/// the local demo user (the dashboard identity of `unauthenticated-local-demo`).
async fn owned() -> (StandIn, gateway::Shared, String) {
    let (standin, app, base) = gateway::wired(crate::support::fresh_table().await, |_| {}).await;
    standin.push_ticket().await;
    standin.authorize_and_push(ACCOUNT).await.unwrap();
    app.platform.store().set_owner(ACCOUNT, LOCAL_DEMO_USER, standin.now()).await.unwrap();
    (standin, app, base)
}

#[tokio::test]
async fn rules_edited_through_the_api_answer_pushes_and_editors_cannot_overwrite_each_other() {
    let (standin, _app, base) = owned().await;
    let http = shared::outbound::client_builder().build().unwrap();
    let url = format!("{base}/wechat/authorizers/{ACCOUNT}/reply-rules");

    // Nothing saved yet: version 0, no rules, and pushes get WeChat's plain `success`.
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.headers()["etag"], "\"0\"");
    assert_eq!(response.json::<Value>().await.unwrap()["data"], json!({"version": 0, "rules": []}));
    assert_eq!(standin.push_event(ACCOUNT, "o_first", "subscribe").await.body, "success");

    // Refused: no version named (428), a bad rule (400 naming it), another account (404).
    let response = http.put(&url).json(&rules()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], 1014);
    let mut bad = rules();
    bad["rules"][2]["match"] = json!("regex");
    let response = http.put(&url).header("if-match", "\"0\"").json(&bad).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!((body["code"].as_i64(), body["rule"].as_i64()), (Some(1001), Some(2)), "{body}");
    assert!(body["msg"].as_str().unwrap().starts_with("rules[2]: match must be"), "{body}");
    // A version only as an ETag writes it: `0001`, `+0` or `"0` name no version the platform issued.
    for version in ["0001", "+0", "\"0", "W/", "00"] {
        let response = http.put(&url).header("if-match", version).json(&rules()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "If-Match: {version}");
    }
    let other = format!("{base}/wechat/authorizers/wx9999999999999999/reply-rules");
    let response = http.put(&other).header("if-match", "\"0\"").json(&rules()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // Saved: version 1.
    let response = http.put(&url).header("if-match", "\"0\"").json(&rules()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["etag"], "\"1\"");
    // A second editor who also read version 0 is refused and told the current version.
    let mut theirs = rules();
    theirs["rules"][0]["reply"] = text("their welcome");
    let response = http.put(&url).header("if-match", "\"0\"").json(&theirs).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    let body: Value = response.json().await.unwrap();
    assert_eq!((body["code"].as_i64(), body["version"].as_i64()), (Some(1013), Some(1)), "{body}");
    let stored: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(stored["data"]["rules"][0]["reply"], text("欢迎关注"), "the first editor's rules stand");

    // The replies, decrypted: each trigger, and a retried push gets the same answer.
    assert_eq!(reply_text(&standin.push_event(ACCOUNT, "o_new", "subscribe").await), "欢迎关注");
    let qr = standin.follower_message(ACCOUNT, "o_qr", "subscribe_qr");
    assert_eq!(reply_text(&standin.push_message(ACCOUNT, "o_qr", &qr).await), "欢迎光临 123123 号店");
    let price = standin.follower_message(ACCOUNT, "o_new", "text").replace("你好", "价格");
    assert_eq!(reply_text(&standin.push_message(ACCOUNT, "o_new", &price).await), "标准版 99 元/月");
    assert_eq!(reply_text(&standin.push_message(ACCOUNT, "o_new", &price).await), "标准版 99 元/月", "WeChat's retry");
    let invoice = standin.follower_message(ACCOUNT, "o_new", "text").replace("你好", "怎么开发票？");
    let pushed = standin.push_message(ACCOUNT, "o_new", &invoice).await;
    assert!(matches!(pushed.reply().unwrap().kind, ReplyKind::News(ref a) if a.title == "开发票"), "{pushed:?}");
    assert_eq!(reply_text(&standin.push_event(ACCOUNT, "o_new", "CLICK").await), "菜单帮助");
    assert_eq!(reply_text(&standin.push_text(ACCOUNT, "o_new", "随便说说").await), "收到，客服稍后回复");
    let image = standin.follower_message(ACCOUNT, "o_new", "image");
    assert_eq!(reply_text(&standin.push_message(ACCOUNT, "o_new", &image).await), "收到，客服稍后回复");
    assert_eq!(standin.push_event(ACCOUNT, "o_new", "VIEW").await.body, "success", "no rule for a menu link");

    // Version 2 is in effect at once in this process.
    let mut next = rules();
    next["rules"][0]["reply"] = text("欢迎回来");
    let response = http.put(&url).header("if-match", "\"1\"").json(&next).send().await.unwrap();
    assert_eq!(response.headers()["etag"], "\"2\"");
    assert_eq!(reply_text(&standin.push_event(ACCOUNT, "o_other", "subscribe").await), "欢迎回来");
}

#[tokio::test]
async fn another_process_sees_a_change_within_its_cache_bound() {
    let standin = crate::support::standin().await;
    let store = crate::support::fresh_table().await;
    let code = standin.authorize_directly(ACCOUNT).await.unwrap();
    let writer = crate::support::platform_on(&standin, store.clone());
    crate::support::renew_ticket(&standin, &writer).await;
    writer.onboarding().complete_authorization(&Secret::new(code), None).await.unwrap();
    writer.store().set_owner(ACCOUNT, LOCAL_DEMO_USER, standin.now()).await.unwrap();
    let owner = Caller::Dashboard(LOCAL_DEMO_USER.to_owned());
    let config =
        crate::support::config(&[("WECHAT_API_BASE", standin.base_url()), ("REPLY_RULES_CACHE_SECS", "1".to_owned())]);
    let reader = Platform::new(&config, store).unwrap().with_bus(Arc::new(shared::bus::MemoryBus::new()));
    let push = |content: &str| {
        let xml = standin.text_message_xml(ACCOUNT, "o_reader", content);
        shared::message::Message::parse(&xml).map(|m| (m, xml)).unwrap()
    };
    let answer = |(message, xml): (shared::message::Message, String)| {
        let reader = &reader;
        async move {
            match reader.inbound().handle_message(ACCOUNT, &message, &xml).await.unwrap() {
                shared::message::Answer::Reply(reply) => format!("{:?}", reply.kind),
                other => format!("{other:?}"),
            }
        }
    };
    let body = |reply: &str| json!({"rules": [{"on": "default", "reply": text(reply)}]}).to_string();
    writer.inbound().save_reply_rules(&owner, ACCOUNT, body("one").as_bytes(), Some(0)).await.unwrap();
    assert!(answer(push("a")).await.contains("one"));
    writer.inbound().save_reply_rules(&owner, ACCOUNT, body("two").as_bytes(), Some(1)).await.unwrap();
    assert!(answer(push("b")).await.contains("one"), "the reader's cache is still fresh");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(answer(push("c")).await.contains("two"), "in effect once the cache bound passed");
}

#[tokio::test]
async fn release_test_accounts_keep_their_built_in_answers_whatever_their_rules() {
    let (standin, app, _base) = gateway::wired(crate::support::fresh_table().await, |_| {}).await;
    standin.push_ticket().await;
    let catch_all =
        json!({"rules": [{"on": "default", "reply": text("rule")}, {"on": "subscribe", "reply": text("rule")}]});
    for (appid, _) in shared::service::RELEASE_TEST_ACCOUNTS {
        app.platform
            .store()
            .save_document(DocumentKind::ReplyRules, appid, &catch_all.to_string(), 0, "test", standin.now())
            .await
            .unwrap();
    }
    let report = standin.release_test().await;
    assert!(report.passed(), "{report:#?}");
}

/// The ledger rule's pattern, as `template.yaml` declares it (so this test follows the template).
pub(crate) fn ledger_pattern() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml")).unwrap();
    let yaml = &yaml_rust2::YamlLoader::load_from_str(&text).unwrap()[0];
    let pattern = &yaml["Resources"]["FollowerLedgerRule"]["Properties"]["EventPattern"];
    fn to_json(y: &yaml_rust2::Yaml) -> Value {
        match y {
            yaml_rust2::Yaml::String(s) => json!(s),
            yaml_rust2::Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect()),
            yaml_rust2::Yaml::Hash(h) => {
                Value::Object(h.iter().map(|(k, v)| (k.as_str().unwrap().to_owned(), to_json(v))).collect())
            }
            other => panic!("unexpected {other:?} in the pattern"),
        }
    }
    to_json(pattern)
}

/// What the queue holds, as the SQS batch Lambda would deliver.
pub(crate) async fn batch_from(queue: &Queue, count: usize) -> Value {
    let events = queue.expect(count).await;
    let records: Vec<Value> = events
        .iter()
        .enumerate()
        .map(|(i, event)| json!({"messageId": format!("m{i}"), "body": event.to_string(), "eventSource": "aws:sqs"}))
        .collect();
    json!({"Records": records})
}

#[tokio::test]
async fn the_ledger_is_kept_from_the_bus_through_the_templates_rule() {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let name = format!("ledger-{}-{}", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
    let bus =
        shared::bus::EventBridgeBus::from_env_with_timeouts(&name, Duration::from_secs(5), Duration::from_secs(10));
    let subscriber = subscribe(bus, &name, &ledger_pattern()).await;
    let store = crate::support::fresh_table().await;
    let (standin, app, base) = gateway::wired_on_bus(store, Arc::new(subscriber.bus), |_| {}).await;
    standin.push_ticket().await;
    standin.authorize_and_push(ACCOUNT).await.unwrap();
    app.platform.store().set_owner(ACCOUNT, LOCAL_DEMO_USER, standin.now()).await.unwrap();
    let queue = Queue::at(&emulator(), &subscriber.queue.url);
    assert!(queue.drain().await.is_empty(), "account changes are not the ledger's");

    // Follower A comes through a QR code, writes, leaves; B follows; C only looks at a menu link.
    let qr = standin.follower_message(ACCOUNT, "o_a", "subscribe_qr");
    standin.push_message(ACCOUNT, "o_a", &qr).await;
    standin.push_text(ACCOUNT, "o_a", "你好").await;
    standin.advance_clock(5);
    standin.push_event(ACCOUNT, "o_a", "unsubscribe").await;
    standin.push_event(ACCOUNT, "o_b", "subscribe").await;
    standin.push_event(ACCOUNT, "o_c", "VIEW").await;
    standin.push_event(ACCOUNT, "o_c", "LOCATION").await;
    let batch = batch_from(&queue, 4).await;
    assert_eq!(
        batch["Records"].as_array().unwrap().len(),
        4,
        "menu links and location reports are not routed: {batch:#}"
    );
    // Delivered twice (at least once), and out of order: the same ledger.
    for _ in 0..2 {
        let mut records = batch["Records"].as_array().unwrap().clone();
        records.reverse();
        let answer = follower_ledger::handle(&*app, &json!({"Records": records})).await.unwrap();
        assert_eq!(answer, json!({"batchItemFailures": []}));
    }

    let http = shared::outbound::client_builder().build().unwrap();
    let list: Value =
        http.get(format!("{base}/wechat/authorizers/{ACCOUNT}/followers")).send().await.unwrap().json().await.unwrap();
    let followers = list["data"]["followers"].as_array().unwrap();
    assert_eq!(followers.len(), 2, "{list:#}");
    let a = &followers[0];
    assert_eq!(
        (a["openid"].as_str(), a["subscribed"].as_bool(), a["scene"].as_str()),
        (Some("o_a"), Some(false), Some("123123"))
    );
    assert!(
        a["last_message_at"].as_i64().is_some() && a["unsubscribed_at"].as_i64() > a["last_message_at"].as_i64(),
        "{a}"
    );
    assert!(a["window_open_until"].as_i64().is_some(), "48 hours after the message: {a}");
    assert_eq!((followers[1]["openid"].as_str(), followers[1]["subscribed"].as_bool()), (Some("o_b"), Some(true)));
    assert_eq!(list["data"]["subscribed_count"], 1);
    // Pages of one, following the cursor: only the subscribed follower (a filtered page may be
    // empty and still have a next one, as DynamoDB filters after reading).
    let mut openids = Vec::new();
    let mut cursor = String::new();
    for _ in 0..5 {
        let page: Value = http
            .get(format!("{base}/wechat/authorizers/{ACCOUNT}/followers?subscribed=true&limit=1&cursor={cursor}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        openids.extend(page["data"]["followers"].as_array().unwrap().iter().map(|f| f["openid"].clone()));
        match page["data"]["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(openids, [json!("o_b")]);
    let accounts: Value = http.get(format!("{base}/wechat/authorizers")).send().await.unwrap().json().await.unwrap();
    assert_eq!(accounts["data"][0]["follower_count"], 1, "{accounts:#}");

    // What is not a platform event cannot become one by being delivered again: dropped (and logged).
    let broken = json!({"Records": [
        {"messageId": "bad-json", "body": "{not json"},
        {"messageId": "foreign", "body": json!({"source": "other.app", "detail-type": "x", "detail": {}}).to_string()},
    ]});
    assert_eq!(
        follower_ledger::handle(&*app, &broken).await.unwrap(),
        json!({"batchItemFailures": []}),
        "dropped, not retried"
    );
}

#[tokio::test]
async fn a_follower_store_failure_is_delivered_again_alone() {
    let (app, _bus) = crate::support::memory_app_with_bus(&[]);
    let event = |openid: &str| {
        json!({"source": "wechat.platform", "detail-type": "mp.event.subscribe", "detail": {
            "component_appid": crate::support::appid(), "authorizer_appid": ACCOUNT, "openid": openid, "create_time": 1_700_000_000
        }})
    };
    let batch = json!({"Records": [
        {"messageId": "1", "body": event("o_1").to_string()},
        {"messageId": "2", "body": event("o_2").to_string()},
    ]});
    app.platform.store().fail_follower_writes(1);
    let answer = follower_ledger::handle(&app, &batch).await.unwrap();
    assert_eq!(answer, json!({"batchItemFailures": [{"itemIdentifier": "1"}]}));
    assert!(app.platform.store().follower(ACCOUNT, "o_2").await.unwrap().is_some());
    assert!(app.platform.store().follower(ACCOUNT, "o_1").await.unwrap().is_none(), "nothing half written");
    // Lambda delivers "1" again: recorded; "2" delivered again too is harmless.
    assert_eq!(follower_ledger::handle(&app, &batch).await.unwrap(), json!({"batchItemFailures": []}));
    assert_eq!(app.platform.store().follower_counts(&[ACCOUNT.to_owned()]).await.unwrap()[ACCOUNT], 2);
    // Directly from an EventBridge rule (no queue): a failure fails the invocation (Lambda retries).
    app.platform.store().fail_follower_writes(1);
    assert!(follower_ledger::handle(&app, &event("o_3")).await.is_err());
}

#[tokio::test]
async fn existing_followers_are_imported_from_wechat_resumably_within_its_quota() {
    let standin = crate::support::standin().await;
    let platform = crate::support::platform_on(&standin, MemoryStore::new());
    crate::support::renew_ticket(&standin, &platform).await;
    let code = standin.authorize_directly(ACCOUNT).await.unwrap();
    platform.onboarding().complete_authorization(&Secret::new(code), None).await.unwrap();
    platform.store().set_owner(ACCOUNT, LOCAL_DEMO_USER, standin.now()).await.unwrap();
    let owner = Caller::Dashboard(LOCAL_DEMO_USER.to_owned());
    // Two pages of user/get; one follower is already known from an event (not counted twice).
    standin.seed_followers(ACCOUNT, "o_seed_", 10_050);
    platform
        .store()
        .record_follower(ACCOUNT, "o_seed_000007", standin.now(), &shared::store::FollowerChange::Messaged)
        .await
        .unwrap();

    // The daily quota runs out after 30 chunks: the backfill stops, keeping its place.
    standin.inject_fault("user_info_batch", Fault::Errcode(45009), 1);
    let first = platform.followers().backfill_followers(&owner, ACCOUNT).await.unwrap();
    assert_eq!((first["done"].as_bool(), first["imported"].as_u64()), (Some(false), Some(0)), "{first}");
    assert!(first["stopped"].as_str().unwrap().contains("45009"), "{first}");
    let done = platform.followers().backfill_followers(&owner, ACCOUNT).await.unwrap();
    assert_eq!((done["done"].as_bool(), done["total"].as_u64()), (Some(true), Some(10_050)), "{done}");
    assert_eq!(done["imported"].as_u64(), Some(10_050));
    assert_eq!(standin.calls("user_info_batch"), 1 + 101, "one refused, then 100 + 1 chunks of at most 100");
    assert_eq!(standin.calls("user_get"), 1 + 3, "the refused call's page, then two pages and the empty end");
    let counts = platform.store().follower_counts(&[ACCOUNT.to_owned()]).await.unwrap();
    assert_eq!(counts[ACCOUNT], 10_050);
    let seeded = platform.store().follower(ACCOUNT, "o_seed_000003").await.unwrap().unwrap();
    assert_eq!(
        (seeded.subscribed, seeded.scene.as_deref(), seeded.unionid.as_deref()),
        (true, Some("seed-3"), Some("union_o_seed_000003"))
    );
    assert!(seeded.first_subscribed_at.unwrap() < standin.now());
    // Another user's account, or one without the permission set, imports nothing.
    let mallory = Caller::Dashboard("jwt:x:mallory".to_owned());
    assert!(platform.followers().backfill_followers(&mallory, ACCOUNT).await.is_err());
}
