//! Set-up shared by the stand-in's tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use shared::Secret;
use shared::service::Platform;
use shared::store::table::TABLE;
use shared::store::{DynamoDbStore, TicketStore, VerifyTicket};
use shared::wechat::WeChatClient;
use wechat_standin::{Config, StandIn};

pub const APPID: &str = "wx3fdbc0bb2ee1a1e0";
pub const SECRET: &str = "test-component-secret-0123456789";
pub const TOKEN: &str = "testtoken";
pub const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
pub const ACCOUNT: &str = "wx1000000000000001";

pub fn config() -> Config {
    Config::new(APPID, SECRET, TOKEN, KEY)
}

pub async fn standin_with(config: Config) -> StandIn {
    StandIn::start(config, "127.0.0.1:0".parse().expect("addr")).await
}

pub async fn standin() -> StandIn {
    standin_with(config()).await
}

pub fn client(standin: &StandIn) -> WeChatClient {
    WeChatClient::new(&standin.base_url(), APPID, Secret::new(SECRET)).expect("client")
}

/// Pushes a ticket (as WeChat does every 10 minutes) and returns it.
pub async fn ticket(standin: &StandIn) -> Secret {
    standin.push_ticket().await;
    Secret::new(standin.last_ticket().expect("a ticket was pushed"))
}

/// A fresh table on the local DynamoDB-API server started by `scripts/test.sh`.
pub async fn store() -> DynamoDbStore {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run the tests with `bash scripts/test.sh`"
    );
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let table = format!("standin-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
    let store = DynamoDbStore::from_env_with_timeouts(
        &table,
        APPID,
        std::time::Duration::from_secs(5),
        std::time::Duration::from_secs(12),
    );
    TABLE.create(store.client(), &table).await.expect("create table");
    store
}

/// The platform's services on DynamoDB, on the stand-in's clock, with a ticket already stored
/// (as the ticket receiver would have done).
pub async fn platform(standin: &StandIn) -> Platform<DynamoDbStore> {
    let store = store().await;
    let ticket = ticket(standin).await;
    store.put_verify_ticket(&VerifyTicket { ticket, create_time: standin.now() }, standin.now()).await.expect("ticket");
    platform_on(standin, store)
}

/// The platform's configuration with the stand-in as WeChat.
pub fn platform_config(standin: &StandIn) -> shared::Config {
    let map = std::collections::HashMap::from([
        ("COMPONENT_APPID", APPID.to_owned()),
        ("COMPONENT_APPSECRET", SECRET.to_owned()),
        ("COMPONENT_TOKEN", TOKEN.to_owned()),
        ("COMPONENT_ENCODING_AES_KEY", KEY.to_owned()),
        ("TABLE_NAME", "unused".to_owned()),
        ("WECHAT_API_BASE", standin.base_url()),
    ]);
    shared::Config::from_lookup(|k| map.get(k).cloned()).expect("config")
}

/// The platform's services on `store`, on the stand-in's clock, with no ticket stored.
pub fn platform_on(standin: &StandIn, store: DynamoDbStore) -> Platform<DynamoDbStore> {
    let clock_source = standin.clone();
    Platform::with_clock(&platform_config(standin), store, Arc::new(move || clock_source.now_ms())).expect("platform")
}
