//! Each function's DynamoDB policy held to the keys its code uses. Every store call of a broad
//! flow through every function is recorded on the wire (an SDK interceptor reads each request's
//! `pk` values and index names) with the function whose handler made it; `template.yaml` must
//! allow exactly those key families (`dynamodb:LeadingKeys`) and indexes, so a new store call
//! without a policy fails here, not in production (moto, like DynamoDB Local, enforces no IAM).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use serde_json::{Value, json};
use shared::store::{AuthorizerStore, DynamoDbStore, LOCAL_DEMO_USER};

use crate::gateway::{self, CURRENT};
use crate::layout::{function_resource, policy_statements, statement_actions, template};
use crate::support::{ACCOUNT, appid};

/// Function name → the key families (`component`, `authorizer`, …) and `index:<name>` it used.
#[derive(Debug, Clone, Default)]
struct Used(Arc<Mutex<BTreeMap<String, BTreeSet<String>>>>);

/// Every `"pk": {"S": …}` in a request, and the index it queries.
fn families(request: &Value, out: &mut BTreeSet<String>) {
    match request {
        Value::Object(map) => {
            if let Some(pk) = map.get("pk").and_then(|v| v.get("S")).and_then(Value::as_str) {
                out.insert(pk.split('#').next().unwrap_or(pk).to_owned());
            }
            if let Some(index) = map.get("IndexName").and_then(Value::as_str) {
                out.insert(format!("index:{index}"));
            }
            for (key, value) in map {
                // A query names its partition in the values, not under `pk`.
                if key == "KeyConditionExpression" || key == "ExpressionAttributeValues" {
                    continue;
                }
                families(value, out);
            }
            // The partition is the value `#pk = :name` binds (a sort-key condition's values,
            // `code#…`, are not partitions).
            let condition = map.get("KeyConditionExpression").and_then(Value::as_str);
            if let Some(condition) = condition.filter(|_| !map.contains_key("IndexName")) {
                let placeholder = condition.split("#pk = ").nth(1).map(|rest| {
                    rest.split(|c: char| !(c.is_alphanumeric() || c == ':' || c == '_')).next().unwrap_or("")
                });
                let values = map.get("ExpressionAttributeValues").and_then(Value::as_object);
                let pk = placeholder.and_then(|p| values?.get(p)?.get("S")?.as_str());
                let Some(pk) = pk else { panic!("a query without `#pk = :value`: {condition}") };
                out.insert(pk.split('#').next().unwrap_or(pk).to_owned());
            }
        }
        Value::Array(items) => items.iter().for_each(|item| families(item, out)),
        _ => {}
    }
}

impl Intercept for Used {
    fn name(&self) -> &'static str {
        "RecordKeyFamilies"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body: Value =
            context.request().body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or_default();
        let function = CURRENT.try_with(|f| (*f).to_owned()).unwrap_or_else(|_| "(test set-up)".to_owned());
        let mut found = BTreeSet::new();
        families(&body, &mut found);
        self.0.lock().unwrap().entry(function).or_default().extend(found);
        Ok(())
    }
}

/// What `template.yaml` allows each function on the table: the `LeadingKeys` families of its
/// table statements, and `index:<name>` for each index it may query.
fn allowed() -> BTreeMap<String, BTreeSet<String>> {
    let template = template();
    let mut out = BTreeMap::new();
    for function in crate::support::Function::ALL {
        let mut families = BTreeSet::new();
        for statement in policy_statements(function_resource(&template, function.name())) {
            if !statement_actions(statement).iter().any(|a| a.starts_with("dynamodb:")) {
                continue;
            }
            let resource = statement["Resource"].as_str().unwrap_or_default();
            if let Some(index) = resource.split("/index/").nth(1) {
                families.insert(format!("index:{index}"));
                continue;
            }
            let keys = &statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
            let keys = keys.as_vec().unwrap_or_else(|| panic!("{function}: a table statement without LeadingKeys"));
            for key in keys {
                // `!Sub "marker#${ComponentAppId}#*"` reads as its string.
                let key = key.as_str().unwrap_or_default();
                families.insert(key.split('#').next().unwrap_or(key).to_owned());
            }
        }
        out.insert(function.name().to_owned(), families);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_functions_table_policy_is_exactly_the_keys_its_code_uses() {
    let used = Used::default();
    let plain = crate::support::fresh_table().await;
    let config = plain.client().config().to_builder().interceptor(used.clone()).build();
    let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::from_conf(config), plain.table(), appid());
    let (standin, app, base) = gateway::wired(store, |_| {}).await;
    let http = crate::web_auth::browser();

    // ticket-receiver, qr-url-issuer, auth-callback: a ticket, an authorization in the browser.
    standin.push_ticket().await;
    let url = crate::support::via_start_link(&http, &base, "auth_type=1").await;
    let params: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    let form = [
        ("pre_auth_code", params["pre_auth_code"].as_str()),
        ("redirect_uri", params["redirect_uri"].as_str()),
        ("appid", ACCOUNT),
    ];
    let redirect = http.post(format!("{}/standin/authorize", standin.base_url())).form(&form).send().await.unwrap();
    let callback = redirect.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(http.get(callback).send().await.unwrap().status(), 200);
    app.platform.store().set_owner(ACCOUNT, LOCAL_DEMO_USER, standin.now()).await.unwrap();
    // authorizer-list, console.
    assert_eq!(http.get(format!("{base}/wechat/authorizers")).send().await.unwrap().status(), 200);
    assert_eq!(http.get(format!("{base}/console")).send().await.unwrap().status(), 200);

    // account-actions: rules, a follower's message answered, the ledger, sending, the token,
    // followers and their backfill, bindings.
    let account = format!("{base}/wechat/authorizers/{ACCOUNT}");
    let rules = json!({"rules": [{"on": "default", "reply": {"msgtype": "text", "text": {"content": "收到"}}}]});
    let saved =
        http.put(format!("{account}/reply-rules")).header("if-match", "\"0\"").json(&rules).send().await.unwrap();
    assert_eq!(saved.status(), 200);
    assert!(standin.push_text(ACCOUNT, "o_policy", "你好").await.reply().is_some());
    standin.push_event(ACCOUNT, "o_policy", "subscribe").await;
    let event = json!({"version": "0", "id": "e1", "detail-type": "mp.event.subscribe", "source": "wechat.platform",
        "time": "2026-12-04T00:00:00Z", "detail": {"id": "d1", "authorizer_appid": ACCOUNT, "openid": "o_policy",
        "create_time": standin.now(), "event": "subscribe", "msg_type": "event", "component_appid": appid()}});
    let batch = json!({"Records": [{"messageId": "m1", "body": event.to_string()}]});
    let ledger = CURRENT.scope("follower-ledger", follower_ledger::handle(&*app, &batch)).await.unwrap();
    assert_eq!(ledger["batchItemFailures"], json!([]));
    let message = json!({"touser": "o_policy", "msgtype": "text", "text": {"content": "在的"}});
    let sent = http.post(format!("{account}/messages")).header("idempotency-key", "k1").json(&message).send().await;
    assert_eq!(sent.unwrap().status(), 200);
    // (The functions share one process here, so event-callback's rules cache was filled by the
    // save; a push for an account whose rules it never read shows the read Lambda would make.)
    standin.push_text("wx1000000000000002", "o_policy", "你好").await;
    let backend = format!("{base}/wechat/backend/authorizers/{ACCOUNT}");
    assert_eq!(http.get(format!("{backend}/access-token")).send().await.unwrap().status(), 200);
    assert_eq!(http.get(format!("{account}/followers")).send().await.unwrap().status(), 200);
    assert_eq!(http.post(format!("{account}/followers/backfill")).send().await.unwrap().status(), 200);

    // media-library: a file declared, put in the bucket, sent to WeChat (the token refreshed
    // first), listed.
    let file = crate::media::png(2_000);
    let declared = json!({"type": "image", "content_type": "image/png", "size": file.len(),
        "sha256": crate::media::sha256_hex(&file)});
    let begun: Value =
        http.post(format!("{account}/media")).json(&declared).send().await.unwrap().json().await.unwrap();
    let upload = &begun["data"]["upload"];
    let mut put = http.put(upload["url"].as_str().unwrap()).body(file);
    for (name, value) in upload["headers"].as_object().unwrap() {
        put = put.header(name, value.as_str().unwrap());
    }
    assert_eq!(put.send().await.unwrap().status(), 200);
    let handle = begun["data"]["medium"]["handle"].as_str().unwrap();
    // (Near the token's expiry: the upload refreshes it first, under the account's lease.)
    standin.advance_clock(7150);
    assert_eq!(http.post(format!("{account}/media/{handle}/complete")).send().await.unwrap().status(), 200);
    assert_eq!(http.get(format!("{account}/media")).send().await.unwrap().status(), 200);
    // account-actions again: a rule names the medium (checked on save), so the refresher keeps it.
    let rules = json!({"rules": [{"on": "keyword", "keyword": "图", "reply": {"msgtype": "image", "image": {"media_id": handle}}}]});
    let saved =
        http.put(format!("{account}/reply-rules")).header("if-match", "\"1\"").json(&rules).send().await.unwrap();
    assert_eq!(saved.status(), 200);
    // event-callback: the rule answers with the medium's media_id (read at the reply).
    assert!(standin.push_text(ACCOUNT, "o_policy", "图").await.reply().is_some());

    // account-setup: a menu naming the temporary medium is refused (read: media#); one published
    // and kept (menu#, its lease under component#), read back with the rules answering its keys.
    let with_medium = json!({"button": [{"type": "media_id", "name": "图", "media_id": handle}]});
    let refused = http.put(format!("{account}/menu")).header("if-match", "\"0\"").json(&with_medium).send().await;
    assert_eq!(refused.unwrap().status(), 400);
    let menu = json!({"button": [{"type": "click", "name": "帮助", "key": "HELP"}]});
    let saved = http.put(format!("{account}/menu")).header("if-match", "\"0\"").json(&menu).send().await;
    assert_eq!(saved.unwrap().status(), 200);
    assert_eq!(http.get(format!("{account}/menu")).send().await.unwrap().status(), 200);
    // A tag put on the follower (follower#: the ledger shows it), and their tags read back.
    let tag: Value =
        http.post(format!("{account}/tags")).json(&json!({"name": "常客"})).send().await.unwrap().json().await.unwrap();
    let tag_id = tag["data"]["tag"]["id"].as_i64().unwrap();
    let tagged =
        http.post(format!("{account}/tags/{tag_id}/followers")).json(&json!({"openids": ["o_policy"]})).send().await;
    assert_eq!(tagged.unwrap().status(), 200);
    assert_eq!(http.get(format!("{account}/tags?openid=o_policy")).send().await.unwrap().status(), 200);
    // A QR code made and read back (qrcode#); its scan counted by follower-ledger (qrcode#).
    let made = http.post(format!("{account}/qrcodes")).json(&json!({"name": "海报", "scene_id": 3})).send().await;
    let made: Value = made.unwrap().json().await.unwrap();
    let code = &made["data"]["code"];
    let one = format!("{account}/qrcodes/{}", code["id"].as_str().unwrap());
    assert_eq!(http.get(&one).send().await.unwrap().status(), 200);
    assert_eq!(http.get(format!("{account}/qrcodes")).send().await.unwrap().status(), 200);
    let scan = json!({"version": "0", "id": "e2", "detail-type": "mp.event.scan", "source": "wechat.platform",
        "time": "2026-12-04T00:00:00Z", "detail": {"id": "d2", "authorizer_appid": ACCOUNT, "openid": "o_policy",
        "create_time": standin.now(), "event": "SCAN", "msg_type": "event", "component_appid": appid(),
        "scene": "3", "ticket": code["ticket"]}});
    let batch = json!({"Records": [{"messageId": "m2", "body": scan.to_string()}]});
    let ledger = CURRENT.scope("follower-ledger", follower_ledger::handle(&*app, &batch)).await.unwrap();
    assert_eq!(ledger["batchItemFailures"], json!([]));
    let figures: Value = http.get(&one).send().await.unwrap().json().await.unwrap();
    assert_eq!(figures["data"]["totals"]["scans"], 1, "{figures}");

    // publishing: a draft with a permanent image as its cover (media#), read back and deleted.
    let cover_file = crate::media::png(10_000);
    let cover = crate::media::uploaded(&http, &base, &crate::media::image(&cover_file, "permanent"), cover_file).await;
    let draft = json!({"articles": [{"title": "新品", "content": "<p>新品</p>", "cover": cover["handle"]}]});
    let added: Value = http.post(format!("{account}/drafts")).json(&draft).send().await.unwrap().json().await.unwrap();
    let one = format!("{account}/drafts/{}", added["data"]["media_id"].as_str().unwrap());
    assert_eq!(http.get(&one).send().await.unwrap().status(), 200);
    assert_eq!(http.delete(&one).send().await.unwrap().status(), 200);
    // A draft published (its submission kept: value#) and the publication read back.
    let added: Value = http.post(format!("{account}/drafts")).json(&draft).send().await.unwrap().json().await.unwrap();
    let published = http.post(format!("{account}/drafts/{}/publish", added["data"]["media_id"].as_str().unwrap()));
    let published: Value = published.send().await.unwrap().json().await.unwrap();
    let publication = format!("{account}/publications/{}", published["data"]["publish_id"].as_str().unwrap());
    assert_eq!(http.get(publication).send().await.unwrap().status(), 200);
    // A mass send to everyone (counted once per key: marker#; kept: value#).
    let mass = json!({"to": {"all": true}, "msgtype": "text", "text": {"content": "本周上新"}});
    let sent = http.post(format!("{account}/broadcasts")).header("idempotency-key", "policy-1").json(&mass);
    assert_eq!(sent.send().await.unwrap().status(), 202);

    // web-oauth: the owner sets the shop's origin and the shop mints a start (account-actions);
    // a follower identified and bound; the binding found and removed.
    let origins = json!({"origins": [crate::gateway::SHOP]});
    assert_eq!(http.put(format!("{account}/web-origins")).json(&origins).send().await.unwrap().status(), 200);
    // account-setup: a page of the shop gets its wx.config (the account's ticket kept: value#).
    let page = json!({"url": format!("{}/p", crate::gateway::SHOP)});
    assert_eq!(http.post(format!("{account}/jssdk/config")).json(&page).send().await.unwrap().status(), 200);
    // account-setup: a quota read and a reset (the month's resets counted: marker#).
    let quota = http.get(format!("{account}/quota?cgi_path=/cgi-bin/qrcode/create")).send().await;
    assert_eq!(quota.unwrap().status(), 200);
    assert_eq!(http.post(format!("{account}/quota/reset")).send().await.unwrap().status(), 200);
    let callback = crate::web_auth::to_callback(&base, &standin, "snsapi_userinfo", "alice", true).await;
    let back = http.get(callback).send().await.unwrap().headers()["location"].to_str().unwrap().to_owned();
    let ticket = back.split("wx_ticket=").nth(1).unwrap().to_owned();
    let redeemed: Value = http
        .post(format!("{backend}/web-tickets"))
        .json(&json!({"ticket": ticket, "user_ref": "shop-user-42"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(redeemed["data"]["binding"].is_object(), "{redeemed}");
    assert_eq!(http.get(format!("{account}/bindings?user_ref=shop-user-42")).send().await.unwrap().status(), 200);
    assert_eq!(http.delete(format!("{account}/bindings?user_ref=shop-user-42")).send().await.unwrap().status(), 200);

    // event-callback: the release test (it authorizes its own account). Then, near expiry, a
    // backend borrows the token (refreshed under the account's lease), and token-refresher runs.
    assert!(standin.release_test().await.passed());
    standin.advance_clock(7000);
    assert_eq!(http.get(format!("{backend}/access-token")).send().await.unwrap().status(), 200);
    // (Hours before WeChat forgets the temporary medium: the run uploads it again.)
    standin.advance_clock(2 * 86_400 + 14 * 3_600);
    standin.push_ticket().await;
    let staging = crate::support::staging().await;
    let upkeep = token_refresher::Upkeep { edge: None, media: Some(&staging) };
    let report = CURRENT.scope("token-refresher", token_refresher::handle_with(&app, None, upkeep)).await;
    assert!(!report.has_failures(), "{report:?}");
    assert_eq!(report.media.map(|m| m.renewed.len()), Some(1));
    // publishing, once the account's token has run out: the list refreshes it (component#).
    standin.advance_clock(7_300);
    assert_eq!(http.get(format!("{account}/drafts")).send().await.unwrap().status(), 200);

    // ticket-receiver again: another user authorizes the account through their own link, and
    // the account moves to them; authorizer-list shows the previous owner that it left.
    let mallory = "Bearer local-user:mallory";
    let answer: Value = http
        .get(format!("{base}/wechat/authorize-url?auth_type=1"))
        .header("authorization", mallory)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let page = http.get(answer["data"]["start_url"].as_str().unwrap()).send().await.unwrap().text().await.unwrap();
    let params: std::collections::HashMap<_, _> =
        crate::support::authorize_link_in(&page).query_pairs().into_owned().collect();
    let form = [
        ("pre_auth_code", params["pre_auth_code"].as_str()),
        ("redirect_uri", params["redirect_uri"].as_str()),
        ("appid", ACCOUNT),
    ];
    // (The browser stops at WeChat's redirect: the push WeChat sends moves the account.)
    let redirect = http.post(format!("{}/standin/authorize", standin.base_url())).form(&form).send().await.unwrap();
    assert_eq!(redirect.status(), 302);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let list: Value = http.get(format!("{base}/wechat/authorizers")).send().await.unwrap().json().await.unwrap();
        if list["moved_away"][0]["authorizer_appid"] == ACCOUNT {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the push never moved the account: {list}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let used = used.0.lock().unwrap().clone();
    let allowed = allowed();
    for function in crate::support::Function::ALL {
        let name = function.name();
        let uses = used.get(name).cloned().unwrap_or_default();
        let may = allowed.get(name).cloned().unwrap_or_default();
        assert_eq!(uses, may, "{name}: the keys its code used (left) and what template.yaml allows (right)");
    }
}
