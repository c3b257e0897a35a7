//! DynamoDB calls per request, counted on the wire (an SDK interceptor sees every attempt, retries
//! included), on the local DynamoDB-API server with the stand-in pushing through the local gateway.
//! Budgets: a ticket push is 1 write; a follower message 1 read, 1 `PutEvents` and 1 conditional
//! write (its retry: the read); a QR URL at most 1 read while the component token is fresh. And the refresher's item reads grow with the
//! due accounts, not with all accounts.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use shared::Secret;
use shared::store::{AuthorizerStore, DynamoDbStore, NewAuthorization, TicketStore, VerifyTicket};
use wechat_standin::{Account, StandIn};

use crate::gateway;
use crate::support::appid;

/// The operation of every request sent (`GetItem`, `PutItem`, …), and the items the answers
/// carried (what DynamoDB bills reads by: a query's `ScannedCount`, a found `Item`).
#[derive(Debug, Clone, Default)]
struct Calls {
    operations: Arc<Mutex<Vec<String>>>,
    items_read: Arc<Mutex<u64>>,
}

impl Calls {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.operations.lock().unwrap())
    }

    fn items_read(&self) -> u64 {
        *self.items_read.lock().unwrap()
    }
}

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "CountDynamoDbCalls"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context.request().headers().get("x-amz-target").unwrap_or("?");
        let operation = target.rsplit('.').next().unwrap_or(target).to_owned();
        self.operations.lock().unwrap().push(operation);
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let answer: serde_json::Value =
            context.response().body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or_default();
        let items = answer["ScannedCount"].as_u64().unwrap_or(0) + u64::from(answer.get("Item").is_some());
        *self.items_read.lock().unwrap() += items;
        Ok(())
    }
}

/// A store on a fresh table whose every call is counted.
async fn counting_store() -> (DynamoDbStore, Calls) {
    let plain = crate::support::fresh_table().await;
    let calls = Calls::default();
    let config = plain.client().config().to_builder().interceptor(calls.clone()).build();
    (DynamoDbStore::new(aws_sdk_dynamodb::Client::from_conf(config), plain.table(), appid()), calls)
}

struct Counted {
    standin: StandIn,
    calls: Calls,
    base: String,
    http: reqwest::Client,
}

async fn counted() -> Counted {
    let (store, calls) = counting_store().await;
    // The bus on the emulator, its calls counted with the store's (one list, in order).
    let subscriber = crate::subscriber::fresh_subscriber().await;
    let config = subscriber.bus.client().config().to_builder().interceptor(calls.clone()).build();
    let bus =
        shared::bus::EventBridgeBus::new(aws_sdk_eventbridge::Client::from_conf(config), subscriber.bus.bus_name());
    let (standin, _, base) = gateway::wired_on_bus(store, std::sync::Arc::new(bus), |_| {}).await;
    Counted { standin, calls, base, http: shared::outbound::client_builder().build().unwrap() }
}

fn is_read(operation: &str) -> bool {
    matches!(operation, "GetItem" | "Query" | "Scan" | "BatchGetItem")
}

#[tokio::test]
async fn dynamodb_calls_per_request_stay_within_budget() {
    let c = counted().await;

    // A ticket push: exactly one write, no read.
    let pushed = c.standin.push_ticket().await;
    assert_eq!(pushed.body, "success");
    let calls = c.calls.take();
    assert_eq!(calls.len(), 1, "ticket push: {calls:?}");
    assert!(!is_read(&calls[0]), "ticket push: {calls:?}");

    // The first QR URL fetches the component token (read, lease, write); later ones only read it.
    let url = format!("{}/wechat/authorize-url", c.base);
    assert_eq!(c.http.get(&url).send().await.unwrap().status(), 200);
    let first = c.calls.take();
    // Read the token, take the lease, re-read under it, read the ticket, store, release.
    assert!(first.len() <= 6, "first QR URL (token fetched): {first:?}");
    for _ in 0..3 {
        assert_eq!(c.http.get(&url).send().await.unwrap().status(), 200);
        let calls = c.calls.take();
        assert!(
            calls.len() <= 1 && calls.iter().all(|op| is_read(op)),
            "QR URL, token fresh: {calls:?} (first: {first:?})"
        );
    }

    // A follower message: one read of the hand-off marker, one PutEvents, one conditional write
    // of the marker; WeChat's retry of it: the read only. The account's first push in this
    // process also reads its reply rules (concurrently with the marker); later ones do not.
    for (i, content) in ["你好", "second message"].into_iter().enumerate() {
        let xml = c.standin.follower_message("wx1000000000000001", "o_follower", "text").replace("你好", content);
        let pushed = c.standin.push_message("wx1000000000000001", "o_follower", &xml).await;
        assert_eq!(pushed.body, "success");
        let mut calls = c.calls.take();
        calls.sort();
        let expected: &[&str] =
            if i == 0 { &["GetItem", "GetItem", "PutEvents", "PutItem"] } else { &["GetItem", "PutEvents", "PutItem"] };
        assert_eq!(calls, expected, "follower message {i}");
        let pushed = c.standin.push_message("wx1000000000000001", "o_follower", &xml).await;
        assert_eq!(pushed.body, "success");
        assert_eq!(c.calls.take(), ["GetItem"], "WeChat's retry of it");
    }

    // Acting as the account with a fresh token: one read (the account) and the caller's send
    // counter (one atomic write: docs/contract.md, "Limits") before the send, and the account's
    // API use counted after it (one ADD: docs/contract.md, "Quotas and permission sets").
    let code = c.standin.authorize_directly("wx1000000000000001").await.unwrap();
    assert!(!code.is_empty());
    c.calls.take();
    let messages = format!("{}/wechat/authorizers/wx1000000000000001/messages", c.base);
    let body = serde_json::json!({"touser": "o_follower", "msgtype": "text", "text": {"content": "在的"}});
    // The account is unclaimed (authorized outside the dashboard): the demo user may not act on
    // it, and finding that out is the same one read.
    assert_eq!(c.http.post(&messages).json(&body).send().await.unwrap().status(), 404);
    assert_eq!(c.calls.take(), ["GetItem"], "send to another user's account");
    let backend = format!("{}/wechat/backend/authorizers/wx1000000000000001/messages", c.base);
    let response = c.http.post(&backend).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(
        c.calls.take(),
        ["GetItem", "UpdateItem", "UpdateItem"],
        "a send with a fresh token: the account, its counts"
    );

    // Reply rules saved (the account, one conditional put); a push a cached rule answers costs
    // the hand-off's three calls and nothing more.
    let rules = format!("{}/wechat/backend/authorizers/wx1000000000000001/reply-rules", c.base);
    let document = serde_json::json!({"rules": [
        {"on": "keyword", "keyword": "价格", "reply": {"msgtype": "text", "text": {"content": "标准版 99 元"}}}
    ]});
    let response = c.http.put(&rules).header("if-match", "\"0\"").json(&document).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(c.calls.take(), ["GetItem", "PutItem"], "saving the rules");
    let xml = c.standin.follower_message("wx1000000000000001", "o_follower", "text").replace("你好", "价格");
    let pushed = c.standin.push_message("wx1000000000000001", "o_follower", &xml).await;
    let reply = pushed.reply().expect("an encrypted reply");
    assert_eq!(reply.kind, shared::message::ReplyKind::Text { content: "标准版 99 元".to_owned() });
    assert_eq!(c.calls.take(), ["GetItem", "PutEvents", "PutItem"], "a push answered by a cached rule");
}

/// Items the refresher reads with `due` accounts due among `stored` authorized ones.
async fn refresher_items_read(due: usize, stored: usize) -> (u64, token_refresher::RefreshReport) {
    let appid = |i: usize| format!("wx{i:016}");
    let mut standin_config = crate::support::standin_config();
    standin_config.accounts = (0..due).map(Account::numbered).collect();
    let standin = StandIn::start(standin_config, "127.0.0.1:0".parse().unwrap()).await;
    let (store, calls) = counting_store().await;
    let now = standin.now();
    standin.push_ticket().await;
    let ticket = VerifyTicket { ticket: Secret::new(standin.last_ticket().unwrap()), create_time: now };
    store.put_verify_ticket(&ticket, now).await.unwrap();
    for i in 0..stored {
        let refresh = if i < due {
            standin.authorize_directly(&appid(i)).await.unwrap();
            standin.refresh_token_of(&appid(i)).unwrap()
        } else {
            format!("refresh-{i}")
        };
        let authorization = NewAuthorization {
            authorizer_appid: appid(i),
            access_token: Secret::new(format!("access-{i}")),
            expires_at: now + if i < due { 300 } else { 7000 },
            refresh_token: Secret::new(refresh),
            received_ms: now * 1000,
            authorized_at: now,
        };
        store.save_authorization(&authorization, now).await.unwrap();
    }
    let vars = [("WECHAT_API_BASE", standin.base_url())];
    let app = gateway::app(crate::support::config(&vars), store, &standin);
    // The first run of a day also reconciles with WeChat's list (reading every authorized
    // account's key once a day); what is measured here is every other run.
    let day = standin.now().div_euclid(24 * 3600);
    shared::store::MarkerStore::remember_once(
        app.platform.store(),
        &shared::store::MarkerKey::reconcile(day),
        3600,
        standin.now(),
    )
    .await
    .unwrap();
    let before = calls.items_read();
    let report = token_refresher::handle(&app, None).await;
    (calls.items_read() - before, report)
}

#[tokio::test]
async fn the_refresher_reads_grow_with_due_accounts_not_all() {
    let (among_many, report) = refresher_items_read(12, 240).await;
    assert_eq!((report.due, report.refreshed.len(), report.failed.len()), (12, 12, 0), "{report:?}");
    let (alone, report) = refresher_items_read(12, 12).await;
    assert_eq!((report.due, report.refreshed.len()), (12, 12), "{report:?}");
    assert_eq!(among_many, alone, "228 accounts that are not due cost no reads");
    assert!(alone <= 12 * 4 + 8, "a few reads per due account: {alone}");
}
