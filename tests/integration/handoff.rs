//! The hand-off: every follower push and account change arrives on the bus, once, field by field,
//! with an id that is stable across WeChat's retries; nothing is lost whatever fails.
//!
//! The happy paths run on the local AWS emulator (the real `PutEvents` into a real bus, a rule
//! delivering to an SQS queue the test reads as a business would). The failures are injected:
//! into the in-memory bus and store, and, for what the SDK itself must get right (a partial
//! failure, a slow bus), into a fake EventBridge endpoint the real client talks to.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use serde_json::{Value, json};
use shared::bus::{Bus, BusFault, EventBridgeBus, MemoryBus, SOURCE};
use shared::store::{AuthorizerStore, MemoryStore};
use wechat_standin::StandIn;

use crate::gateway;
use crate::subscriber::{Queue, Subscriber, add_rule, emulator, fresh_subscriber};
use crate::support::{ACCOUNT, appid};

/// Every kind the stand-in pushes, with the detail type it must arrive as and the typed fields
/// the detail must carry (compared with the XML the stand-in sent).
const KINDS: [(&str, &str, &[&str]); 19] = [
    ("text", "mp.message.text", &["content", "msg_id"]),
    ("image", "mp.message.image", &["media_id", "pic_url", "msg_id"]),
    ("voice", "mp.message.voice", &["media_id", "format", "recognition"]),
    ("video", "mp.message.video", &["media_id", "thumb_media_id"]),
    ("shortvideo", "mp.message.shortvideo", &["media_id", "thumb_media_id"]),
    ("location", "mp.message.location", &["latitude", "longitude", "scale", "label"]),
    ("link", "mp.message.link", &["title", "description", "url"]),
    ("subscribe", "mp.event.subscribe", &[]),
    ("subscribe_qr", "mp.event.subscribe", &["scene", "ticket"]),
    ("unsubscribe", "mp.event.unsubscribe", &[]),
    ("SCAN", "mp.event.scan", &["scene", "ticket"]),
    ("LOCATION", "mp.event.location", &["latitude", "longitude", "precision"]),
    ("CLICK", "mp.event.click", &["event_key"]),
    ("VIEW", "mp.event.view", &["event_key", "menu_id"]),
    ("TEMPLATESENDJOBFINISH", "mp.event.templatesendjobfinish", &["msg_id", "status"]),
    ("PUBLISHJOBFINISH", "mp.event.publishjobfinish", &["publish_id", "publish_status", "article_id"]),
    (
        "MASSSENDJOBFINISH",
        "mp.event.masssendjobfinish",
        &["msg_id", "status", "total_count", "filter_count", "sent_count", "error_count"],
    ),
    ("unknown", "mp.event.other", &[]),
    ("miniprogrampage", "mp.message.other", &["msg_id"]),
];

/// A field of WeChat's XML (flat, CDATA or not), to compare the event with what was sent.
fn xml_field(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    let raw = &xml[start..end];
    Some(raw.strip_prefix("<![CDATA[").and_then(|r| r.strip_suffix("]]>")).unwrap_or(raw).to_owned())
}

/// The XML tag a detail field comes from.
fn tag_of(field: &str) -> &'static str {
    match field {
        "content" => "Content",
        "msg_id" => "MsgId",
        "media_id" => "MediaId",
        "pic_url" => "PicUrl",
        "format" => "Format",
        "recognition" => "Recognition",
        "thumb_media_id" => "ThumbMediaId",
        "latitude" => "Latitude",
        "longitude" => "Longitude",
        "scale" => "Scale",
        "label" => "Label",
        "title" => "Title",
        "description" => "Description",
        "url" => "Url",
        "scene" | "event_key" => "EventKey",
        "ticket" => "Ticket",
        "precision" => "Precision",
        "menu_id" => "MenuId",
        "status" => "Status",
        "publish_id" => "publish_id",
        "publish_status" => "publish_status",
        "article_id" => "article_id",
        "total_count" => "TotalCount",
        "filter_count" => "FilterCount",
        "sent_count" => "SentCount",
        "error_count" => "ErrorCount",
        other => panic!("no tag for {other}"),
    }
}

/// Asserts that `detail` says what `xml` said.
fn assert_matches_xml(detail: &Value, xml: &str, fields: &[&str]) {
    assert_eq!(detail["openid"], xml_field(xml, "FromUserName").unwrap().as_str());
    assert_eq!(detail["to_user_name"], xml_field(xml, "ToUserName").unwrap().as_str());
    assert_eq!(detail["create_time"].as_i64().unwrap().to_string(), xml_field(xml, "CreateTime").unwrap());
    assert_eq!(detail["msg_type"], xml_field(xml, "MsgType").unwrap().as_str());
    assert_eq!(detail["event"].as_str().map(str::to_owned), xml_field(xml, "Event"));
    assert_eq!(detail["xml"], xml, "the decrypted XML rides along");
    for field in fields {
        let tag = if *field == "msg_id" && xml.contains("<MsgID>") {
            "MsgID"
        } else if matches!(*field, "latitude" | "longitude") && xml.contains("<Location_X>") {
            if *field == "latitude" { "Location_X" } else { "Location_Y" }
        } else {
            tag_of(field)
        };
        let sent = xml_field(xml, tag).unwrap_or_else(|| panic!("the stand-in sent no <{tag}>: {xml}"));
        let sent = if *field == "scene" { sent.trim_start_matches("qrscene_").to_owned() } else { sent };
        match &detail[*field] {
            Value::String(text) => assert_eq!(text, &sent, "{field}"),
            Value::Number(number) => {
                assert!(
                    (number.as_f64().unwrap() - sent.parse::<f64>().unwrap()).abs() < 1e-9,
                    "{field}: {number} vs {sent}"
                )
            }
            other => panic!("{field} missing or mistyped: {other} in {detail}"),
        }
    }
}

/// Where the test keeps one published event of each detail type, for the schema check
/// (`scripts/check_event_schemas.py`, run by `scripts/test.sh`) and the closing notes.
fn keep_sample(event: &Value) {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/events");
    std::fs::create_dir_all(&dir).unwrap();
    let name = event["detail-type"].as_str().unwrap();
    std::fs::write(dir.join(format!("{name}.json")), serde_json::to_string_pretty(event).unwrap()).unwrap();
}

#[tokio::test]
async fn every_push_and_account_change_arrives_on_the_queue_field_by_field() {
    let Subscriber { bus, queue } = fresh_subscriber().await;
    let store = crate::support::fresh_table().await;
    let (standin, app, _) = gateway::wired_on_bus(store, Arc::new(bus), |_| {}).await;
    standin.push_ticket().await;

    // The admin authorizes: one account.authorized event.
    let (_, pushed) = standin.authorize_and_push(ACCOUNT).await.unwrap();
    assert_eq!((pushed.status, pushed.body.as_str()), (200, "success"));
    let events = queue.expect(1).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    let authorized = &events[0];
    assert_eq!(
        (authorized["source"].as_str(), authorized["detail-type"].as_str()),
        (Some(SOURCE), Some("account.authorized"))
    );
    let detail = &authorized["detail"];
    assert_eq!(
        (
            detail["authorizer_appid"].as_str(),
            detail["component_appid"].as_str(),
            detail["change"].as_str(),
            detail["detected_by"].as_str()
        ),
        (Some(ACCOUNT), Some(appid()), Some("authorized"), Some("component_notice"))
    );
    let user_name = detail["user_name"].as_str().expect("the account's 原始ID").to_owned();
    assert!(detail["func_info"].as_array().is_some_and(|ids| !ids.is_empty()), "{detail}");
    keep_sample(authorized);

    // Every kind of follower push, each from its own follower.
    let mut sent = HashMap::new();
    for (i, (kind, _, _)) in KINDS.iter().enumerate() {
        let openid = format!("o_follower_{i}");
        let xml = standin.follower_message(ACCOUNT, &openid, kind);
        let pushed = standin.push_message(ACCOUNT, &openid, &xml).await;
        assert_eq!((pushed.status, pushed.body.as_str()), (200, "success"), "{kind}");
        sent.insert(openid, (*kind, xml));
    }
    let events = queue.expect(KINDS.len()).await;
    assert_eq!(events.len(), KINDS.len(), "one event per push: {events:#?}");
    let mut ids = std::collections::HashSet::new();
    for event in &events {
        let detail = &event["detail"];
        let (kind, xml) = &sent[detail["openid"].as_str().unwrap()];
        let (_, detail_type, fields) = KINDS.iter().find(|(k, _, _)| k == kind).unwrap();
        assert_eq!(event["detail-type"], *detail_type, "{kind}");
        assert_eq!(
            (detail["authorizer_appid"].as_str(), detail["component_appid"].as_str()),
            (Some(ACCOUNT), Some(appid()))
        );
        assert_eq!(detail["version"], 1);
        assert!(detail["received_at"].as_i64().unwrap() >= detail["create_time"].as_i64().unwrap() * 1000 - 1000);
        assert_matches_xml(detail, xml, fields);
        assert_eq!(detail["to_user_name"], user_name.as_str(), "the account the authorization named");
        assert!(ids.insert(detail["id"].as_str().unwrap().to_owned()), "ids are unique: {detail}");
        if !kind.starts_with("subscribe_") {
            keep_sample(event);
        }
    }

    // The admin authorizes again, through a link issued to another dashboard user than the one
    // who had the account: account.updateauthorized and account.owner_changed.
    app.platform.store().set_owner(ACCOUNT, "jwt:iss:alice", standin.now()).await.unwrap();
    let request = shared::service::LinkRequest {
        user: "jwt:iss:bob",
        auth_type: "1",
        mode: shared::service::LinkMode::Pc,
        biz_appid: None,
    };
    let link = url::Url::parse(&app.platform.dashboard().authorization_link(&request).await.unwrap().url).unwrap();
    let pre_auth_code = link.query_pairs().find(|(k, _)| k == "pre_auth_code").unwrap().1.into_owned();
    let (_, push) = standin.authorize_quietly(ACCOUNT, Some(&pre_auth_code)).unwrap();
    assert_eq!(standin.push_notice(&push).await.body, "success");
    let mut events = queue.expect(2).await;
    events.sort_by_key(|e| e["detail-type"].as_str().unwrap_or_default().to_owned());
    let changes: Vec<_> = events.iter().map(|e| (e["detail-type"].as_str(), e["detail"]["change"].as_str())).collect();
    assert_eq!(
        changes,
        [
            (Some("account.owner_changed"), Some("owner_changed")),
            (Some("account.updateauthorized"), Some("updateauthorized"))
        ]
    );
    let moved = &events[0]["detail"];
    assert_eq!(
        (moved["owner"].as_str(), moved["previous_owner"].as_str()),
        (Some("jwt:iss:bob"), Some("jwt:iss:alice"))
    );
    assert_ne!(moved["id"], events[1]["detail"]["id"], "two changes, two ids");
    events.iter().for_each(keep_sample);

    // The admin revokes: account.unauthorized.
    assert_eq!(standin.revoke(ACCOUNT).await.body, "success");
    let events = queue.expect(1).await;
    assert_eq!(events[0]["detail-type"], "account.unauthorized");
    assert_eq!(events[0]["detail"]["authorizer_appid"], ACCOUNT);
    keep_sample(&events[0]);
}

#[tokio::test]
async fn a_retried_push_is_published_once_and_release_test_accounts_not_at_all() {
    let Subscriber { bus, queue } = fresh_subscriber().await;
    let store = crate::support::fresh_table().await;
    let (standin, _, _) = gateway::wired_on_bus(store, Arc::new(bus), |_| {}).await;
    for kind in ["text", "subscribe"] {
        let xml = standin.follower_message(ACCOUNT, "o_retry", kind);
        for _ in 0..3 {
            let pushed = standin.push_message(ACCOUNT, "o_retry", &xml).await;
            assert_eq!((pushed.status, pushed.body.as_str()), (200, "success"));
        }
    }
    // A sentinel pushed after them: once it arrived, whatever the retries published arrived too.
    assert_eq!(standin.push_text(ACCOUNT, "o_sentinel", "sentinel").await.status, 200);
    let events = until_sentinel(&queue).await;
    assert_eq!(events.len(), 2, "one event per push, not per delivery: {events:#?}");

    // WeChat's release-test account answers the test and publishes nothing.
    let release = "wx570bc396a51b8ff8";
    let xml = standin.follower_message(release, "o_tester", "text");
    assert_eq!(standin.push_message(release, "o_tester", &xml).await.status, 200);
    assert_eq!(standin.push_text(ACCOUNT, "o_sentinel", "sentinel").await.status, 200);
    assert_eq!(until_sentinel(&queue).await, Vec::<Value>::new());
}

/// Every event that arrived on `queue` before the sentinel (a text "sentinel" from `o_sentinel`),
/// which is read and left out. Why a sentinel, not a pause: an absence is only proven once
/// something pushed *after* the pushes in question has arrived; a pause proves nothing on a slow
/// machine and wastes time on a fast one.
async fn until_sentinel(queue: &Queue) -> Vec<Value> {
    let is_sentinel = |e: &Value| e["detail"]["openid"] == "o_sentinel";
    let mut events = Vec::new();
    while !events.iter().any(is_sentinel) {
        events.extend(queue.expect(1).await);
    }
    events.retain(|e| !is_sentinel(e));
    events
}

#[tokio::test]
async fn a_consumer_subscribes_to_one_account_one_type_or_one_keyword_prefix_without_parsing() {
    let Subscriber { bus, queue: everything } = fresh_subscriber().await;
    let name = |what: &str| format!("{}-{what}", bus.bus_name());
    let mut queues = Vec::new();
    for (what, pattern) in [
        ("account", json!({"source": [SOURCE], "detail": {"authorizer_appid": ["wx1000000000000002"]}})),
        ("type", json!({"source": [SOURCE], "detail-type": ["mp.event.subscribe"]})),
        ("keyword", json!({"source": [SOURCE], "detail": {"content": [{"prefix": "订单"}]}})),
    ] {
        let queue = Queue::create(&emulator(), &name(what)).await;
        add_rule(&bus, &name(what), &pattern, &queue).await;
        queues.push(queue);
    }
    let store = crate::support::fresh_table().await;
    let (standin, _, _) = gateway::wired_on_bus(store, Arc::new(bus), |_| {}).await;
    let other = "wx1000000000000002";
    assert_eq!(standin.push_text(ACCOUNT, "o_a", "订单 123 到哪了").await.status, 200);
    assert_eq!(standin.push_text(ACCOUNT, "o_a", "你好").await.status, 200);
    assert_eq!(standin.push_text(other, "o_b", "hello").await.status, 200);
    assert_eq!(standin.push_event(ACCOUNT, "o_c", "subscribe").await.status, 200);
    assert_eq!(everything.expect(4).await.len(), 4);

    let contents = |events: Vec<Value>| {
        let mut seen: Vec<String> = events
            .iter()
            .map(|e| {
                format!("{} {}", e["detail-type"].as_str().unwrap(), e["detail"]["content"].as_str().unwrap_or(""))
            })
            .collect();
        seen.sort();
        seen
    };
    // Sentinels after them, one matching each pattern (the other account's subscribe matches the
    // first two, an 订单 text from the sentinel the third): what arrived before each is all that
    // matched.
    assert_eq!(standin.push_event(other, "o_sentinel", "subscribe").await.status, 200);
    assert_eq!(standin.push_text(ACCOUNT, "o_sentinel", "订单 sentinel").await.status, 200);
    assert_eq!(contents(until_sentinel(&queues[0]).await), ["mp.message.text hello"]);
    assert_eq!(contents(until_sentinel(&queues[1]).await), ["mp.event.subscribe "]);
    assert_eq!(contents(until_sentinel(&queues[2]).await), ["mp.message.text 订单 123 到哪了"]);
}

/// A follower push through event-callback on the in-memory store and bus, with a fault.
struct Faulty {
    app: shared::app::App<MemoryStore>,
    bus: MemoryBus,
}

impl Faulty {
    fn new() -> Self {
        let (app, bus) = crate::support::memory_app_with_bus(&[]);
        Self { app, bus }
    }

    async fn deliver(&self, push: &crate::support::SealedPush) -> u16 {
        let request = push.request(&format!("/wechat/{ACCOUNT}/callback"));
        crate::support::status_and_body(crate::support::Function::EventCallback.handle(&self.app, request).await).0
    }
}

fn text_push(content: &str, msg_id: u64) -> crate::support::SealedPush {
    let now = shared::service::unix_now_ms() / 1000;
    let xml = format!(
        "<xml><ToUserName><![CDATA[gh_1000000000000001]]></ToUserName><FromUserName><![CDATA[o_f]]></FromUserName><CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    );
    crate::support::SealedPush::new(
        &xml,
        "<ToUserName><![CDATA[gh_1000000000000001]]></ToUserName>",
        &now.to_string(),
        "42",
    )
}

#[tokio::test]
async fn a_bus_that_fails_or_refuses_gets_a_503_and_the_retry_publishes_once() {
    for fault in [BusFault::Unavailable, BusFault::Refused] {
        let f = Faulty::new();
        f.bus.fail_next([fault.clone()]);
        let push = text_push("你好", 1);
        assert_eq!(f.deliver(&push).await, 503, "{fault:?}: WeChat must retry");
        assert_eq!(f.app.platform.store().writes(), 0, "{fault:?}: nothing recorded");
        assert_eq!(f.deliver(&push).await, 200, "{fault:?}: the retry");
        assert_eq!(f.deliver(&push).await, 200, "{fault:?}: a later retry");
        let published = f.bus.published();
        assert_eq!(published.len(), 1, "{fault:?}: published once: {published:?}");
        assert_eq!(f.bus.calls(), 2, "{fault:?}: the failed call and the retry's; the later retry read the marker");
    }
}

#[tokio::test]
async fn a_store_that_fails_before_or_after_publishing_loses_nothing() {
    // Before: the marker cannot be read; the push is published anyway and recorded.
    let f = Faulty::new();
    f.app.platform.store().fail_markers(1, 0);
    let push = text_push("before", 2);
    assert_eq!(f.deliver(&push).await, 200);
    assert_eq!(f.deliver(&push).await, 200, "a retry");
    assert_eq!(f.bus.published().len(), 1, "recorded after publishing: the retry was told apart");

    // After: published, the marker not written; a retry publishes again, with the same id.
    let f = Faulty::new();
    f.app.platform.store().fail_markers(0, 1);
    let push = text_push("after", 3);
    assert_eq!(f.deliver(&push).await, 200, "published: nothing to retry");
    assert_eq!(f.deliver(&push).await, 200, "WeChat retries anyway (a lost answer)");
    let published = f.bus.published();
    assert_eq!(published.len(), 2, "the store could not tell: at least once");
    assert_eq!(published[0].id, published[1].id, "the same id, for the consumer to deduplicate");
    assert_eq!(
        published[0].detail,
        published[1].detail.replace(&received_at(&published[1]), &received_at(&published[0]))
    );

    // Both down, then the bus too: 503, and the retry publishes.
    let f = Faulty::new();
    f.app.platform.store().fail_markers(1, 1);
    f.bus.fail_next([BusFault::Unavailable]);
    let push = text_push("both", 4);
    assert_eq!(f.deliver(&push).await, 503);
    assert_eq!(f.deliver(&push).await, 200);
    assert_eq!(f.bus.published().len(), 1);
}

fn received_at(event: &shared::bus::Event) -> String {
    let detail: Value = serde_json::from_str(&event.detail).unwrap();
    format!("\"received_at\":{}", detail["received_at"])
}

/// A fake EventBridge endpoint: answers `PutEvents` as configured, for the real client.
#[derive(Clone, Default)]
struct FakeEventBridge {
    mode: Arc<std::sync::Mutex<FakeMode>>,
    calls: Arc<AtomicUsize>,
}

#[derive(Clone, Default)]
enum FakeMode {
    #[default]
    Accept,
    PartialFailure,
    Status(u16),
    Slow(Duration),
}

impl FakeEventBridge {
    async fn start(&self) -> String {
        let fake = self.clone();
        let app = Router::new().route(
            "/",
            post(move |body: String| {
                let fake = fake.clone();
                async move {
                    fake.calls.fetch_add(1, Ordering::SeqCst);
                    let entries = serde_json::from_str::<Value>(&body).ok().and_then(|b| b["Entries"].as_array().map(Vec::len)).unwrap_or(0);
                    let mode = fake.mode.lock().unwrap().clone();
                    let accepted = json!({"FailedEntryCount": 0, "Entries": (0..entries).map(|i| json!({"EventId": format!("e-{i}")})).collect::<Vec<_>>()});
                    let (status, body) = match mode {
                        FakeMode::Accept => (200, accepted),
                        FakeMode::PartialFailure => (200, json!({"FailedEntryCount": entries, "Entries": (0..entries).map(|_| json!({"ErrorCode": "InternalFailure", "ErrorMessage": "Internal service error"})).collect::<Vec<_>>()})),
                        FakeMode::Status(status) => (status, json!({"__type": "InternalException", "message": "injected"})),
                        FakeMode::Slow(delay) => {
                            tokio::time::sleep(delay).await;
                            (200, accepted)
                        }
                    };
                    (axum::http::StatusCode::from_u16(status).unwrap(), [("content-type", "application/x-amz-json-1.1")], body.to_string())
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0".parse::<SocketAddr>().unwrap()).await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    }

    fn set(&self, mode: FakeMode) {
        *self.mode.lock().unwrap() = mode;
    }
}

#[tokio::test]
async fn the_real_client_reports_partial_failures_errors_and_timeouts_within_its_budget() {
    let fake = FakeEventBridge::default();
    let endpoint = fake.start().await;
    // The production client and timeouts, pointed at the fake.
    let production = EventBridgeBus::from_env("wechat-platform");
    let config = production.client().config().to_builder().endpoint_url(&endpoint).build();
    let bus = EventBridgeBus::new(aws_sdk_eventbridge::Client::from_conf(config), "wechat-platform");
    let event = shared::bus::Event { detail_type: "mp.message.text", id: "x".into(), detail: "{}".into() };

    bus.publish(std::slice::from_ref(&event)).await.expect("accepted");
    fake.set(FakeMode::PartialFailure);
    let err = bus.publish(std::slice::from_ref(&event)).await.unwrap_err();
    assert!(
        matches!(&err, shared::bus::PublishError::Refused { failed: 1, total: 1, code } if code == "InternalFailure"),
        "{err}"
    );
    fake.set(FakeMode::Status(500));
    let before = fake.calls.load(Ordering::SeqCst);
    assert!(matches!(bus.publish(std::slice::from_ref(&event)).await, Err(shared::bus::PublishError::Unavailable(_))));
    assert_eq!(fake.calls.load(Ordering::SeqCst) - before, 2, "a 5xx is retried once");
    fake.set(FakeMode::Slow(Duration::from_secs(4)));
    let started = Instant::now();
    assert!(matches!(bus.publish(std::slice::from_ref(&event)).await, Err(shared::bus::PublishError::Unavailable(_))));
    let took = started.elapsed();
    assert!(took < Duration::from_millis(2600), "a slow bus costs at most its 2 s budget: {took:?}");
    assert!(took >= Duration::from_millis(1900), "both attempts were given their time: {took:?}");
}

#[tokio::test]
async fn a_slow_bus_still_answers_wechat_well_inside_5_seconds() {
    let f = Faulty::new();
    f.bus.fail_next([BusFault::Slow(Duration::from_millis(1500))]);
    let started = Instant::now();
    assert_eq!(f.deliver(&text_push("slow", 5)).await, 200);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(f.bus.published().len(), 1);
}

/// The stand-in is the clock of refresh tests; this one only needs WeChat to refuse tokens.
#[tokio::test]
async fn the_refresher_publishes_needs_reauthorization_and_revocation_once_and_retries_a_failed_publish() {
    let standin = StandIn::start(crate::support::standin_config(), "127.0.0.1:0".parse().unwrap()).await;
    let bus = MemoryBus::new();
    let platform = crate::support::platform(&standin).await.with_bus(Arc::new(bus.clone()));
    let second = "wx1000000000000002";
    for account in [ACCOUNT, second] {
        let code = standin.authorize_directly(account).await.unwrap();
        platform.onboarding().complete_authorization(&shared::Secret::new(code), None).await.unwrap();
    }
    standin.forget_refresh_token(ACCOUNT);
    standin.revoke_silently(second);
    // Both accounts are due; the bus is down for the first run.
    standin.advance_clock(7200);
    bus.set_down(true);
    let report = platform.onboarding().refresh_all(None).await;
    bus.set_down(false);
    assert!(report.has_failures(), "{report:?}");
    assert!(bus.published().is_empty());
    use shared::store::AuthorizerStore;
    for account in [ACCOUNT, second] {
        let record = platform.store().authorizer(account).await.unwrap().unwrap();
        assert_eq!(record.status, shared::store::AuthorizerStatus::Authorized, "nothing changed without its event");
    }
    // The next run publishes and changes both (the daily reconcile ran in the first; the
    // refresh finds both again); a third changes nothing and publishes nothing.
    let report = platform.onboarding().refresh_all(None).await;
    assert!(!report.has_failures(), "{report:?}");
    let mut changes: Vec<(String, String)> = bus
        .published()
        .iter()
        .map(|e| {
            let detail: Value = serde_json::from_str(&e.detail).unwrap();
            assert_eq!(detail["detected_by"], "token_refresher");
            assert!(detail["reason"].as_str().is_some_and(|r| r.contains("errcode")), "{detail}");
            (e.detail_type.to_owned(), detail["authorizer_appid"].as_str().unwrap().to_owned())
        })
        .collect();
    changes.sort();
    assert_eq!(
        changes,
        [
            ("account.needs_reauthorization".to_owned(), ACCOUNT.to_owned()),
            ("account.unauthorized".to_owned(), second.to_owned())
        ]
    );
    platform.onboarding().refresh_all(None).await;
    standin.advance_clock(shared::service::SECOND_CHANCE_SECS + 60);
    platform.onboarding().refresh_all(None).await;
    assert_eq!(bus.published().len(), 2, "a second chance that fails again publishes nothing new");

    // The same events through the emulator's bus, as a consumer receives them (schema samples).
    let Subscriber { bus: real, queue } = fresh_subscriber().await;
    real.publish(&bus.published()).await.expect("published");
    for event in queue.expect(2).await {
        keep_sample(&event);
    }
}

/// A `TEMPLATESENDJOBFINISH` push's status record is data, not bookkeeping: when it cannot be
/// written the push is answered 503, and WeChat's retry stores it (publishing again, same id).
#[tokio::test]
async fn a_template_status_that_cannot_be_stored_is_retried_by_wechat() {
    let f = Faulty::new();
    let now = shared::service::unix_now_ms() / 1000;
    let xml = format!(
        "<xml><ToUserName><![CDATA[gh_1000000000000001]]></ToUserName><FromUserName><![CDATA[o_f]]></FromUserName><CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>200163836</MsgID><Status><![CDATA[success]]></Status></xml>"
    );
    let push = crate::support::SealedPush::new(
        &xml,
        "<ToUserName><![CDATA[gh_1000000000000001]]></ToUserName>",
        &now.to_string(),
        "7",
    );
    f.app.platform.store().fail_value_writes(1);
    assert_eq!(f.deliver(&push).await, 503, "the status was not stored");
    assert_eq!(f.deliver(&push).await, 200, "WeChat's retry");
    assert_eq!(f.deliver(&push).await, 200, "a later retry: recorded, not published again");
    let published = f.bus.published();
    assert_eq!(published.len(), 2, "{published:?}");
    assert_eq!(
        (published[0].id.as_str(), published[0].detail_type),
        (published[1].id.as_str(), "mp.event.templatesendjobfinish")
    );
    use shared::store::MarkerStore;
    let stored = f
        .app
        .platform
        .store()
        .recall(&shared::store::MarkerKey::template_finished(ACCOUNT, "200163836"), now)
        .await
        .unwrap();
    assert!(stored.is_some_and(|s| s.contains("\"status\":\"success\"")));
}

/// `media.renewed`: the token-refresher uploads again a temporary medium a rule names, and says so
/// once, with the new media_id (kept as a sample for the schema check).
#[tokio::test]
async fn a_renewed_medium_is_announced_with_its_new_media_id() {
    use crate::media::{image, png, uploaded};
    let Subscriber { bus, queue } = fresh_subscriber().await;
    let store = crate::support::fresh_table().await;
    let (standin, app, base) = gateway::wired_on_bus(store, Arc::new(bus), |_| {}).await;
    standin.push_ticket().await;
    standin.authorize_and_push(ACCOUNT).await.unwrap();
    assert_eq!(queue.expect(1).await.len(), 1, "account.authorized");
    app.platform.store().set_owner(ACCOUNT, shared::store::LOCAL_DEMO_USER, standin.now()).await.unwrap();
    let http = shared::outbound::client_builder().build().unwrap();
    let file = png(10_000);
    let medium = uploaded(&http, &base, &image(&file, "temporary"), file).await;
    let handle = medium["handle"].as_str().unwrap();
    let rules = json!({"rules": [{"on": "keyword", "keyword": "图", "reply": {"msgtype": "image", "image": {"media_id": handle}}}]});
    let saved = http
        .put(format!("{base}/wechat/authorizers/{ACCOUNT}/reply-rules"))
        .header("if-match", "\"0\"")
        .json(&rules)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);

    standin.advance_clock(3 * 86_400 - 3_600);
    standin.push_ticket().await;
    let staging = crate::support::staging().await;
    let upkeep = token_refresher::Upkeep { edge: None, media: Some(&staging) };
    let report = token_refresher::handle_with(&app, None, upkeep).await;
    assert_eq!(report.media.as_ref().map(|m| m.renewed.len()), Some(1), "{report:?}");
    let events = queue.expect(1).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    let renewed = &events[0];
    assert_eq!(renewed["detail-type"], "media.renewed");
    let detail = &renewed["detail"];
    let stored = shared::store::MediaStore::medium(app.platform.store(), ACCOUNT, handle).await.unwrap().unwrap();
    assert_eq!(detail["handle"], handle);
    assert_eq!(detail["media_id"].as_str(), stored.media_id.as_deref());
    assert_ne!(detail["media_id"], medium["media_id"], "a new media_id");
    assert_eq!(detail["expires_at"].as_i64(), stored.expires_at);
    keep_sample(renewed);
}
