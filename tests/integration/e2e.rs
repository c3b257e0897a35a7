//! End to end through `cargo lambda watch`: every function is a real process behind the Lambda
//! Runtime API, invoked over HTTP as API Gateway (a function URL) or EventBridge (the invoke API)
//! would; the WeChat stand-in is a separate process pushing to it; the store is the local
//! DynamoDB-API server.
//!
//! These tests need that whole set-up, so they are `#[ignore]`d in a plain `cargo test` and run by
//! `scripts/test.sh` as `scripts/run-local.sh --then cargo test … --test e2e -- --ignored`, which
//! exports `WATCH_URL`, `STANDIN_URL` and the functions' environment (credentials, table, endpoint).
//!
//! Each test is independent of every other test, flow and earlier run on the same platform: it
//! gives the stand-in an account of its own (a new appid), calls the dashboard as a user of its own
//! (the local demo's `local-user:` token) and reads the bus through a queue of its own, subscribed
//! to its account alone. Nothing it asserts can come from what another step left behind.

use std::collections::BTreeMap;
use std::time::Duration;

#[path = "subscriber.rs"]
mod subscriber;

use serde_json::{Value, json};
use shared::config::Config;
use shared::crypto::KeySlot;
use shared::store::{AuthorizerStatus, AuthorizerStore, ComponentTokenStore, DynamoDbStore, TicketStore};

const NEEDS: &str = "needs the local platform: run by scripts/test.sh through scripts/run-local.sh --then";
/// The nick name of each test's account, as WeChat's authorization info gives it.
const NICK: &str = "示例服务号";

struct Env {
    watch: String,
    standin: String,
    http: reqwest::Client,
    config: Config,
    store: DynamoDbStore,
    /// This test's account: new to the stand-in, so new to the platform.
    account: String,
    /// A name of this test's own (its dashboard user, its queue, its followers).
    run: String,
}

/// `prefix` and 12 hex digits no other test or run uses.
fn unique(prefix: &str) -> String {
    format!("{prefix}{:012x}", rand::random::<u64>() >> 16)
}

async fn env() -> Env {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: {NEEDS}"));
    let run = unique("e2e-");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer local-user:{run}").parse().expect("a header value"));
    let config = Config::from_env().unwrap_or_else(|e| panic!("the functions' environment: {e}"));
    let store = DynamoDbStore::from_env_with_timeouts(
        config.table_name.clone(),
        config.component_appid.clone(),
        Duration::from_secs(5),
        Duration::from_secs(20),
    );
    let e = Env {
        watch: var("WATCH_URL"),
        standin: var("STANDIN_URL"),
        // Generous: the first request to a function makes cargo lambda watch start it. Every call
        // carries this test's dashboard user (the stand-in ignores it).
        http: shared::outbound::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(120))
            .default_headers(headers)
            .build()
            .unwrap(),
        config,
        store,
        account: format!("wx{:016x}", rand::random::<u64>()),
        run,
    };
    let (status, body) = e
        .standin(
            "accounts",
            json!({"appid": e.account, "user_name": format!("gh_{}", &e.account[6..]), "nick_name": NICK,
                   "principal_name": "示例科技有限公司", "service_type": 2, "verify_type": 0,
                   "func_info": [1, 2, 3, 4, 6, 7, 11, 15]}),
        )
        .await;
    assert_eq!(status, 204, "the stand-in took the account: {body}");
    e
}

impl Env {
    fn function(&self, name: &str) -> String {
        format!("{}/lambda-url/{name}", self.watch)
    }

    async fn get_json(&self, url: &str) -> (u16, Value) {
        let response = self.http.get(url).header("accept", "application/json").send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// A control call on the stand-in (WeChat's side): `(status, JSON answer)`.
    async fn standin(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self.http.post(format!("{}/standin/{path}", self.standin)).json(&body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A queue of this test's own, subscribed on the platform's bus to its account's events alone.
    async fn own_queue(&self) -> subscriber::Queue {
        let bus_name = std::env::var("EVENT_BUS_NAME").unwrap_or_else(|_| panic!("EVENT_BUS_NAME: {NEEDS}"));
        let bus = shared::bus::EventBridgeBus::from_env_with_timeouts(
            &bus_name,
            Duration::from_secs(5),
            Duration::from_secs(10),
        );
        let queue = subscriber::Queue::create(&subscriber::emulator(), &self.run).await;
        let pattern = json!({"source": [shared::bus::SOURCE], "detail": {"authorizer_appid": [self.account]}});
        subscriber::add_rule(&bus, &self.run, &pattern, &queue).await;
        queue
    }

    /// Every item in the table, each as its key (`pk/sk`) and its fields, in order.
    async fn scan(&self) -> BTreeMap<String, String> {
        let mut items = BTreeMap::new();
        let mut start = None;
        loop {
            let page = self
                .store
                .client()
                .scan()
                .table_name(self.store.table())
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            for item in page.items() {
                let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                let fields: BTreeMap<&String, String> = item.iter().map(|(k, v)| (k, format!("{v:?}"))).collect();
                items.insert(format!("{}/{}", text("pk"), text("sk")), format!("{fields:?}"));
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return items;
            }
        }
    }

    /// Every item but the follower ledger's (`follower#…`, `followers#…`): what "nothing stored"
    /// is checked against. The ledger is left out because it is written asynchronously, from its
    /// queue, for what earlier steps caused; whether a bad request reached it is checked by its
    /// account instead ([`Self::items_naming`]).
    async fn items(&self) -> BTreeMap<String, String> {
        let mut items = self.scan().await;
        items.retain(|key, _| !key.starts_with("follower#") && !key.starts_with("followers#"));
        items
    }

    /// The keys of every item, the ledger's included, that name `appid`.
    async fn items_naming(&self, appid: &str) -> Vec<String> {
        self.scan().await.into_keys().filter(|key| key.contains(appid)).collect()
    }

    /// A push signed and encrypted with the platform's credentials, around `xml`.
    fn sealed(&self, xml: &str, head: &str) -> (String, String) {
        let encrypt =
            self.config.push_crypto().unwrap().encrypt_with(KeySlot::Current, b"e2e-random-16byt", xml).unwrap();
        let timestamp = shared::service::unix_now_ms().div_euclid(1000).to_string();
        let signature = self.config.push_crypto().unwrap().msg_signature(&timestamp, "4242", &encrypt);
        (
            format!("timestamp={timestamp}&nonce=4242&encrypt_type=aes&msg_signature={signature}"),
            format!("<xml>{head}<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"),
        )
    }

    /// A JSON call to account-actions (with an `Idempotency-Key` when given): `(status, JSON answer)`.
    async fn post_json(&self, url: &str, body: &Value, idempotency_key: Option<&str>) -> (u16, Value) {
        let mut request = self.http.post(url).json(body);
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn post(&self, url: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
        self.post_as(url, "text/xml", body).await
    }

    async fn post_as(&self, url: &str, content_type: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
        let response = self.http.post(url).header("content-type", content_type).body(body).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

#[tokio::test]
#[ignore = "needs the local platform: run by scripts/test.sh through scripts/run-local.sh --then"]
async fn the_lifecycle_through_the_lambda_runtime() {
    let e = env().await;
    let account = e.account.as_str();
    let queue = e.own_queue().await;

    // run-local.sh had WeChat push a ticket; the ticket receiver stored it.
    assert!(e.store.verify_ticket().await.unwrap().is_some(), "a pushed ticket is stored");
    let (status, pushed) = e.standin("push/ticket", json!({})).await;
    assert_eq!((status, pushed["status"].as_u64(), pushed["body"].as_str()), (200, Some(200), Some("success")));

    // The dashboard asks for a start link; the browser opens it and gets our page.
    let (status, body) = e.get_json(&format!("{}?auth_type=1", e.function("qr-url-issuer"))).await;
    assert_eq!((status, body["code"].as_i64()), (200, Some(0)), "{body}");
    let start = e.http.get(body["data"]["start_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(start.status(), 200);
    let page = start.text().await.unwrap();
    let href = page.split("id=\"authorize\" href=\"").nth(1).and_then(|r| r.split('"').next()).expect("the button");
    let url = url::Url::parse(&href.replace("&amp;", "&")).unwrap();
    assert!(url.as_str().starts_with(&format!("{}/cgi-bin/componentloginpage?", e.standin)), "{url}");
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap();

    // The admin's browser: WeChat's page, Authorize, redirected to auth-callback.
    let page = e.http.get(url.as_str()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let form =
        [("pre_auth_code", param("pre_auth_code")), ("redirect_uri", param("redirect_uri")), ("appid", account.into())];
    let redirect = e.http.post(format!("{}/standin/authorize", e.standin)).form(&form).send().await.unwrap();
    assert_eq!(redirect.status(), 302);
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&e.function("auth-callback")), "{location}");
    let callback = e.http.get(&location).send().await.unwrap();
    assert_eq!(callback.status(), 200);
    assert!(callback.text().await.unwrap().contains("示例服务号"));
    let record = e.store.authorizer(account).await.unwrap().expect("the authorizer is stored");
    assert_eq!(record.status, AuthorizerStatus::Authorized);
    // The same callback URL again: refused, nothing changes.
    let again = e.http.get(&location).send().await.unwrap();
    assert_eq!(again.status(), 409);
    assert_eq!(e.store.authorizer(account).await.unwrap().unwrap(), record);

    // The dashboard lists it.
    let (status, list) = e.get_json(&e.function("authorizer-list")).await;
    assert_eq!((status, list["code"].as_i64()), (200, Some(0)), "{list}");
    let item = list["data"].as_array().unwrap().iter().find(|i| i["authorizer_appid"] == account).unwrap();
    assert_eq!((item["status"].as_str(), item["nick_name"].as_str()), (Some("authorized"), Some("示例服务号")));

    // Followers write and subscribe: WeChat gets `success` from event-callback.
    let (status, text) = e.standin("push/text", json!({"appid": account, "content": "你好"})).await;
    assert_eq!((status, text["status"].as_u64(), text["body"].as_str()), (200, Some(200), Some("success")), "{text}");
    let (_, event) = e.standin("push/event", json!({"appid": account, "event": "subscribe"})).await;
    assert_eq!((event["status"].as_u64(), event["body"].as_str()), (Some(200), Some("success")), "{event}");

    // ... and the business reads each from its queue: the bus (EventBridge on the local emulator)
    // delivered the authorization and both pushes through the example subscriber's rule.
    let events = queue.expect(3).await;
    let of = |detail_type: &str| {
        events
            .iter()
            .find(|e| e["detail-type"] == detail_type && e["detail"]["authorizer_appid"] == account)
            .unwrap_or_else(|| panic!("no {detail_type} among {events:#?}"))
    };
    let authorized = &of("account.authorized")["detail"];
    assert_eq!(
        (authorized["change"].as_str(), authorized["nick_name"].as_str()),
        (Some("authorized"), Some("示例服务号"))
    );
    let text = &of("mp.message.text")["detail"];
    assert_eq!((text["content"].as_str(), text["msg_type"].as_str()), (Some("你好"), Some("text")), "{text}");
    assert_eq!(text["component_appid"], e.config.component_appid.as_str());
    assert!(text["xml"].as_str().is_some_and(|xml| xml.contains("你好")), "{text}");
    assert_eq!(text["id"].as_str().map(str::len), Some(40), "{text}");
    let subscribe = &of("mp.event.subscribe")["detail"];
    assert_eq!((subscribe["event"].as_str(), subscribe["msg_type"].as_str()), (Some("subscribe"), Some("event")));

    // The business answers as the account (account-actions): the follower just wrote, so WeChat's
    // window is open; the stand-in records the customer-service message.
    let follower = text["openid"].as_str().unwrap().to_owned();
    let messages = format!("{}/wechat/authorizers/{account}/messages", e.function("account-actions"));
    let reply = json!({"touser": follower, "msgtype": "text", "text": {"content": "您好，请问有什么可以帮您？"}});
    let (status, body) = e.post_json(&messages, &reply, Some("e2e-1")).await;
    assert_eq!((status, &body["code"], &body["data"]["sent"]), (200, &json!(0), &json!(true)), "{body}");
    let (status, again) = e.post_json(&messages, &reply, Some("e2e-1")).await;
    assert_eq!((status, &again), (200, &body), "the same key again: the first answer");
    let sent: Vec<Value> =
        e.http.get(format!("{}/standin/sent", e.standin)).send().await.unwrap().json().await.unwrap();
    let ours: Vec<&Value> =
        sent.iter().filter(|m| m["touser"] == follower.as_str() && m["authorizer_appid"] == account).collect();
    assert_eq!(ours.len(), 1, "sent once: {sent:#?}");
    assert_eq!(ours[0]["content"], "您好，请问有什么可以帮您？");
    // A stranger: WeChat refuses, the caller reads why.
    let stranger = json!({"touser": "o_stranger", "msgtype": "text", "text": {"content": "hi"}});
    let (status, body) = e.post_json(&messages, &stranger, None).await;
    assert_eq!((status, &body["errcode"], &body["reason"]), (422, &json!(43004), &json!("not_following")), "{body}");
    // A template message: the account's template added from the library, sent, and its status
    // filled in by WeChat's TEMPLATESENDJOBFINISH push through event-callback.
    let account_url = format!("{}/wechat/authorizers/{account}", e.function("account-actions"));
    let (_, added) =
        e.post_json(&format!("{account_url}/templates"), &json!({"template_id_short": "OPENTM207498902"}), None).await;
    let template_id = added["data"]["template_id"].as_str().unwrap_or_else(|| panic!("{added}")).to_owned();
    let shipped = json!({"touser": follower, "template_id": template_id,
        "data": {"character_string1": {"value": "42"}, "thing2": {"value": "键盘"}, "time3": {"value": "2026-12-02 10:00"}}});
    let (_, sent) = e.post_json(&format!("{account_url}/template-messages"), &shipped, None).await;
    let msgid = sent["data"]["msgid"].as_str().unwrap_or_else(|| panic!("{sent}")).to_owned();
    let mut status = Value::Null;
    for _ in 0..100 {
        let (_, record) = e.get_json(&format!("{account_url}/template-messages/{msgid}")).await;
        status = record["data"]["status"].clone();
        if status != "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "success");

    // A backend borrows the token (the local demo stands in for IAM).
    let (status, token) = e
        .get_json(&format!("{}/wechat/backend/authorizers/{account}/access-token", e.function("account-actions")))
        .await;
    assert_eq!(status, 200, "{token}");
    let stored = e.store.authorizer(account).await.unwrap().unwrap();
    assert_eq!(token["data"]["access_token"], stored.access_token.expose());

    // The account answers by rule, and the ledger knows its followers.
    replies_and_followers(&e).await;
    queue.drain().await;

    // WeChat's full-network release test, all four cases.
    let (status, report) = e.standin("release-test", json!({})).await;
    assert_eq!(status, 200, "{report:#}");

    // The scheduled refresher, invoked as EventBridge would: the stand-in issues short-lived
    // authorizer tokens here (scripts/test.sh), so the account is already due.
    let schedule =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/token-refresher/schedule.json"))
            .unwrap();
    let invoke = format!("{}/2015-03-31/functions/token-refresher/invocations", e.watch);
    let (status, report) = e.post(&invoke, schedule).await;
    assert_eq!(status, 200, "{report}");
    let report: Value = serde_json::from_str(&report).unwrap();
    let refreshed: Vec<&str> = report["refreshed"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(refreshed.contains(&account), "{report:#}");
    assert_eq!(report["failed"], json!([]), "{report:#}");
    let renewed = e.store.authorizer(account).await.unwrap().unwrap();
    assert_ne!(renewed.access_token.expose(), record.access_token.expose(), "a new access token is stored");
    assert_eq!(renewed.refresh_token.expose(), record.refresh_token.expose(), "the refresh token is kept");

    // The admin revokes: listed as revoked, the record (and its refresh token) kept.
    let (_, revoked) = e.standin("push/unauthorized", json!({"appid": account})).await;
    assert_eq!(revoked["body"].as_str(), Some("success"), "{revoked}");
    let (_, list) = e.get_json(&e.function("authorizer-list")).await;
    let item = list["data"].as_array().unwrap().iter().find(|i| i["authorizer_appid"] == account).unwrap();
    assert_eq!(item["status"], "revoked");
    let kept = e.store.authorizer(account).await.unwrap().unwrap();
    assert_eq!((kept.status, kept.refresh_token.expose()), (AuthorizerStatus::Revoked, record.refresh_token.expose()));
    let events = queue.expect(1).await;
    assert!(
        events.iter().any(|e| e["detail-type"] == "account.unauthorized" && e["detail"]["authorizer_appid"] == account),
        "{events:#?}"
    );

    // Through the real runtime (at FUNCTION_LOG_LEVEL, TRACE under scripts/test.sh): no secret of
    // this flow is in what the functions wrote, raw events included.
    let Ok(log_dir) = std::env::var("LOG_DIR") else { return };
    let logs = std::fs::read_to_string(format!("{log_dir}/watch.log")).expect("the functions' log");
    let code =
        url::Url::parse(&location).unwrap().query_pairs().find(|(k, _)| k == "auth_code").unwrap().1.into_owned();
    let component = e.store.component_token().await.unwrap().expect("a component token");
    let ticket = e.store.verify_ticket().await.unwrap().expect("a ticket");
    let secrets = [
        ("auth_code", code),
        ("component access token", component.token.expose().to_owned()),
        ("verify ticket", ticket.ticket.expose().to_owned()),
        ("first access token", record.access_token.expose().to_owned()),
        ("renewed access token", renewed.access_token.expose().to_owned()),
        ("refresh token", kept.refresh_token.expose().to_owned()),
        ("AppSecret", e.config.component_secret.expose().to_owned()),
    ];
    for (what, secret) in secrets {
        if let Some(line) = logs.lines().find(|line| line.contains(secret.as_str())) {
            panic!("the {what} appears in the functions' log: {line}");
        }
    }
}

/// Reply rules saved through account-actions answer pushes in event-callback (a separate process,
/// its rules cache shortened to a second by run-local.sh); the ledger is kept by follower-ledger
/// from its queue (delivered by run-local.sh's pump, as Lambda's SQS event source would).
async fn replies_and_followers(e: &Env) {
    let account = e.account.as_str();
    let rules_url = format!("{}/wechat/authorizers/{account}/reply-rules", e.function("account-actions"));
    let text = |content: &str| json!({"msgtype": "text", "text": {"content": content}});
    let mut rules = json!({"rules": [
        {"name": "welcome", "on": "subscribe", "reply": text("欢迎关注示例服务号")},
        {"on": "keyword", "match": "contains", "keyword": "价格", "ignore_case": true, "reply": text("标准版 99 元/月")},
        {"on": "default", "reply": text("收到，客服稍后回复")}
    ]});
    let current = e.http.get(&rules_url).send().await.unwrap();
    let etag = current.headers()["etag"].to_str().unwrap().to_owned();
    let save = |rules: Value, etag: String| {
        let request = e.http.put(&rules_url).header("if-match", etag).json(&rules);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let etag = response.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
            (status, etag, response.json::<Value>().await.unwrap())
        }
    };
    let (status, saved, body) = save(rules.clone(), etag.clone()).await;
    assert_eq!(status, 200, "{body}");
    let saved = saved.expect("an ETag");
    let (status, _, stale) = save(rules.clone(), etag).await;
    assert_eq!((status, &stale["code"]), (412, &json!(1013)), "a second editor on the old version: {stale}");

    // The replies, decrypted by the stand-in as WeChat would.
    let reply = |kind: &'static str, body: Value| async move {
        let (status, pushed) = e.standin(kind, body).await;
        assert_eq!(status, 200, "{pushed}");
        let xml = pushed["reply_xml"].as_str().unwrap_or_else(|| panic!("an encrypted reply: {pushed}"));
        match shared::message::Reply::parse(xml).unwrap().kind {
            shared::message::ReplyKind::Text { content } => content,
            other => panic!("a text reply, not {other:?}"),
        }
    };
    // event-callback may have read "no rules" for this account just before the save (the pushes
    // above) and keeps that for its cache bound (REPLY_RULES_CACHE_SECS, a second locally): a
    // follower of its own asks until the save's default rule answers, at most 30 s. Nothing
    // answered this account before the save, so that answer is the save's effect.
    let probe = json!({"appid": account, "openid": format!("o_probe_{}", e.run), "content": "在吗"});
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, pushed) = e.standin("push/text", probe.clone()).await;
        assert_eq!(status, 200, "{pushed}");
        let answered = pushed["reply_xml"].as_str().and_then(|xml| shared::message::Reply::parse(xml).ok());
        if let Some(reply) = answered {
            assert_eq!(
                reply.kind,
                shared::message::ReplyKind::Text { content: "收到，客服稍后回复".to_owned() },
                "the only rule that answers this text"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the saved rules never answered: {pushed}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let follower = format!("o_{}", e.run);
    let follower = follower.as_str();
    let subscribe = json!({"appid": account, "openid": follower, "event": "subscribe"});
    assert_eq!(reply("push/event", subscribe.clone()).await, "欢迎关注示例服务号");
    let price = json!({"appid": account, "openid": follower, "content": "请问价格多少？"});
    assert_eq!(reply("push/text", price.clone()).await, "标准版 99 元/月");
    let other = json!({"appid": account, "openid": follower, "content": "在吗"});
    assert_eq!(reply("push/text", other).await, "收到，客服稍后回复");

    // The rules edited: in effect within event-callback's cache bound.
    rules["rules"][1]["reply"] = text("标准版限时 79 元/月");
    let (status, _, body) = save(rules, saved).await;
    assert_eq!(status, 200, "{body}");
    let mut answer = String::new();
    for _ in 0..50 {
        answer = reply("push/text", price.clone()).await;
        if answer != "标准版 99 元/月" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(answer, "标准版限时 79 元/月");

    // The follower, listed once follower-ledger has taken the events from its queue.
    let followers = format!("{}/wechat/authorizers/{account}/followers?subscribed=true", e.function("account-actions"));
    let mut listed = Value::Null;
    for _ in 0..100 {
        let (status, body) = e.get_json(&followers).await;
        assert_eq!(status, 200, "{body}");
        listed = body["data"]["followers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["openid"] == follower)
            .cloned()
            .unwrap_or(Value::Null);
        if listed["last_message_at"].is_i64() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(listed["subscribed"], true, "{listed}");
    assert!(listed["last_subscribed_at"].is_i64() && listed["last_message_at"].is_i64(), "{listed}");
    assert!(listed["window_open_until"].as_i64() > listed["last_message_at"].as_i64(), "{listed}");
    let (_, accounts) = e.get_json(&e.function("authorizer-list")).await;
    let item = accounts["data"].as_array().unwrap().iter().find(|i| i["authorizer_appid"] == account).unwrap();
    assert!(item["follower_count"].as_u64() >= Some(1), "{item}");
}

#[tokio::test]
#[ignore = "needs the local platform: run by scripts/test.sh through scripts/run-local.sh --then"]
async fn bad_requests_through_the_lambda_runtime_store_nothing() {
    let e = env().await;
    let account = e.account.as_str();
    let appid = e.config.component_appid.clone();
    let ticket = format!(
        "<xml><AppId><![CDATA[{appid}]]></AppId><CreateTime>1</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>forged</ComponentVerifyTicket></xml>"
    );
    let head = format!("<AppId><![CDATA[{appid}]]></AppId>");
    let (query, good) = e.sealed(&ticket, &head);
    let tampered = good.replacen("<Encrypt><![CDATA[", "<Encrypt><![CDATA[A", 1);
    let (wrong_appid_query, wrong_appid) = {
        let other = shared::crypto::WeChatCrypto::new(
            shared::Secret::new("othertoken"),
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            "wx0000000000000bad",
        )
        .unwrap();
        let encrypt = other.encrypt_with(KeySlot::Current, b"e2e-random-16byt", &ticket).unwrap();
        let signature = e.config.push_crypto().unwrap().msg_signature("1", "2", &encrypt);
        (
            format!("timestamp=1&nonce=2&encrypt_type=aes&msg_signature={signature}"),
            format!("<xml>{head}<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"),
        )
    };
    let huge = format!("<xml>{head}<Encrypt><![CDATA[{}]]></Encrypt></xml>", "A".repeat(200 * 1024));

    let before = e.items().await;
    let ticket_url = e.function("ticket-receiver");
    let callback_url = format!("{}/{account}/callback", e.function("event-callback"));
    for url in [&ticket_url, &callback_url] {
        let cases: Vec<(&str, String, Vec<u8>, &[u16])> = vec![
            ("no query", url.clone(), good.clone().into_bytes(), &[401]),
            (
                "wrong signature",
                format!("{url}?{}", query.replace("msg_signature=", "msg_signature=0")),
                good.clone().into_bytes(),
                &[401],
            ),
            ("tampered ciphertext", format!("{url}?{query}"), tampered.clone().into_bytes(), &[401]),
            ("wrong appid", format!("{url}?{wrong_appid_query}"), wrong_appid.clone().into_bytes(), &[400, 401]),
            ("not XML", format!("{url}?{query}"), b"{\"json\": true}".to_vec(), &[400]),
            ("invalid UTF-8", format!("{url}?{query}"), vec![0xff, 0xfe, b'<', 0x80], &[400]),
            (
                "entity trick",
                format!("{url}?{query}"),
                b"<!DOCTYPE x [<!ENTITY a \"b\">]><xml><Encrypt>&a;</Encrypt></xml>".to_vec(),
                &[400],
            ),
            ("oversized body", format!("{url}?{query}"), huge.clone().into_bytes(), &[413]),
            ("repeated parameter", format!("{url}?{query}&nonce=other"), good.clone().into_bytes(), &[401]),
        ];
        for (name, target, body, expected) in cases {
            // Bytes that are not UTF-8 reach a function base64-encoded, as API Gateway sends binary
            // media types; cargo lambda watch answers 500 itself for a non-UTF-8 text body.
            let content_type = if std::str::from_utf8(&body).is_ok() { "text/xml" } else { "application/octet-stream" };
            let (status, answer) = e.post_as(&target, content_type, body).await;
            assert!(expected.contains(&status), "{name} at {url}: {status} {answer}");
            assert_ne!(answer, "success", "{name} at {url}");
        }
    }
    let (status, body) = e.get_json(&format!("{}?auth_type=7", e.function("qr-url-issuer"))).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(1001)), "{body}");
    let forged =
        e.http.get(format!("{}?state=forged.state&auth_code=x", e.function("auth-callback"))).send().await.unwrap();
    assert_eq!(forged.status(), 403);
    let missing = e.http.get(e.function("auth-callback")).send().await.unwrap();
    assert_eq!(missing.status(), 400);
    let after = e.items().await;
    let changed: Vec<&String> = before
        .iter()
        .filter(|(key, item)| after.get(*key) != Some(item))
        .map(|(key, _)| key)
        .chain(after.keys().filter(|key| !before.contains_key(*key)))
        .collect();
    assert!(changed.is_empty(), "bad requests stored nothing, yet these items changed: {changed:?}");
    assert_eq!(e.items_naming(account).await, Vec::<String>::new(), "nothing about the account they named");
}
