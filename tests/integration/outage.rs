//! DynamoDB unavailable: the store is reached through a TCP proxy in front of the local
//! DynamoDB-API server that the test switches off (connections refused at once) and on again.
//! While it is off every function answers a clear 5xx (so WeChat retries later) and nothing is
//! written; when it is back, WeChat's retry of the very same push succeeds, exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::gateway;
use crate::support::appid;
use shared::store::{AuthorizerStore, DynamoDbStore, TicketStore};
use tokio::net::{TcpListener, TcpStream};

/// Forwards connections to `upstream` while up; closes them at once while down.
#[derive(Clone)]
pub(crate) struct Switch(Arc<AtomicBool>);

impl Switch {
    async fn start(upstream: String) -> (Self, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let up = Switch(Arc::new(AtomicBool::new(true)));
        let state = up.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { continue };
                if !state.0.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        (up, address)
    }

    pub(crate) fn set(&self, up: bool) {
        self.0.store(up, Ordering::SeqCst);
    }
}

/// A fresh table, and a store that reaches it only through a [`Switch`] (plus a direct one).
pub(crate) async fn switched_store() -> (Switch, DynamoDbStore, DynamoDbStore) {
    // A table on the real server, then a store that reaches it only through the switch.
    let direct = crate::support::fresh_table().await;
    let upstream = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap().trim_start_matches("http://").to_owned();
    let (switch, proxied) = Switch::start(upstream).await;
    let config = direct
        .client()
        .config()
        .to_builder()
        .endpoint_url(proxied)
        .timeout_config(
            aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(4))
                .build(),
        )
        .build();
    let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::from_conf(config), direct.table(), appid());

    (switch, store, direct)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_gets_5xx_and_writes_nothing_then_the_retry_lands_once() {
    let (switch, store, direct) = switched_store().await;
    let (standin, app, base) = gateway::wired(store, |_| {}).await;
    let http = shared::outbound::client_builder().build().unwrap();
    let account = "wx1000000000000001";

    // Healthy: a ticket and an authorized account.
    assert_eq!(standin.push_ticket().await.body, "success");
    standin.authorize_directly(account).await.unwrap();
    let record = direct.authorizer(account).await.unwrap().expect("authorized while the store was up");

    // Ten minutes later the store goes away.
    standin.advance_clock(600);
    switch.set(false);
    let ticket_push = standin.push_ticket().await;
    assert!(ticket_push.status >= 500 && ticket_push.body != "success", "ticket push: {ticket_push:?}");
    // A follower's message carries nothing that needs the store (only the retry marker is
    // bookkeeping): answered normally, so followers never see "该公众号暂时无法提供服务".
    let message = standin.push_text(account, "o_follower", "still there?").await;
    assert_eq!((message.status, message.body.as_str()), (200, "success"), "follower message: {message:?}");
    let response = http.get(format!("{base}/wechat/authorizers")).send().await.unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!((status, body["code"].as_i64()), (503, Some(1004)), "{body}");
    // The start link needs no store; opening it does (the link is single-use).
    let body: serde_json::Value =
        http.get(format!("{base}/wechat/authorize-url")).send().await.unwrap().json().await.unwrap();
    let start = http.get(body["data"]["start_url"].as_str().expect("a start link")).send().await.unwrap();
    assert_eq!(start.status(), 503);
    let state = crate::gateway::signer().sign("default", app.platform.now() + 600);
    let callback = http
        .get(format!("{base}/wechat/authorize/callback?state={state}&auth_code=queryauthcode@@@x"))
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), 503);
    let report = token_refresher::handle(&app, None).await;
    assert!(report.component_token.starts_with("failed"), "{report:?}");
    // Nothing changed behind the proxy's back.
    assert_eq!(direct.authorizer(account).await.unwrap().unwrap(), record);
    let stored_ticket = direct.verify_ticket().await.unwrap().unwrap();
    assert_ne!(
        Some(stored_ticket.ticket.expose().to_owned()),
        standin.last_ticket(),
        "the failed ticket was not stored"
    );

    // Back: WeChat's retry of the same ticket push is stored; a second retry is a no-op success.
    switch.set(true);
    let retried = standin.push_ticket_again().await;
    assert_eq!((retried.status, retried.body.as_str()), (200, "success"));
    let stored = direct.verify_ticket().await.unwrap().unwrap();
    assert_eq!(Some(stored.ticket.expose().to_owned()), standin.last_ticket());
    assert_eq!(standin.push_ticket_again().await.body, "success");
    assert_eq!(direct.verify_ticket().await.unwrap().unwrap(), stored);
}
