//! The store suite on the DynamoDB adapter, against a real DynamoDB-API server (moto) on
//! loopback, reached through `AWS_ENDPOINT_URL_DYNAMODB` exactly as a deployed function reaches
//! DynamoDB. `bash scripts/test.sh` starts the server; every test creates its own table from the
//! code's definition, so tests run in parallel without sharing state.

mod store {
    pub(crate) mod suite;
}

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;

use shared::store::table::TABLE;
use shared::store::{AuthorizerStore, DynamoDbStore, StoreError, TicketStore};

const COMPONENT: &str = "wx_component_test";

async fn fresh_store() -> DynamoDbStore {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run the tests with `bash scripts/test.sh`, which starts a local DynamoDB-API server"
    );
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let table = format!("tokens-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
    let store = DynamoDbStore::from_env_with_timeouts(
        &table,
        COMPONENT,
        std::time::Duration::from_secs(5),
        std::time::Duration::from_secs(12),
    );
    TABLE.create(store.client(), &table).await.expect("create table");
    store
}

store_suite!(async { Arc::new(fresh_store().await) });

#[tokio::test]
async fn corrupted_items_are_errors_naming_their_key() {
    let store = fresh_store().await;
    let pk = format!("authorizer#{COMPONENT}#wx_corrupt");
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item("pk", AttributeValue::S(pk.clone()))
        .item("sk", AttributeValue::S("authorizer".into()))
        .item("authorizer_appid", AttributeValue::S("wx_corrupt".into()))
        .item("access_token", AttributeValue::S("TOKEN-VALUE".into()))
        .item("expires_at", AttributeValue::S("soon".into()))
        .send()
        .await
        .unwrap();
    let err = store.authorizer("wx_corrupt").await.unwrap_err();
    assert!(matches!(&err, StoreError::Corrupt { key, .. } if *key == pk), "{err:?}");
    assert!(!err.to_string().contains("TOKEN-VALUE"));

    store
        .client()
        .put_item()
        .table_name(store.table())
        .item("pk", AttributeValue::S(format!("component#{COMPONENT}")))
        .item("sk", AttributeValue::S("ticket".into()))
        .item("ticket", AttributeValue::N("12".into()))
        .send()
        .await
        .unwrap();
    assert!(matches!(store.verify_ticket().await, Err(StoreError::Corrupt { .. })));
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_not_a_hang() {
    // A port nothing listens on: bound and held by a socket that never listens, so connecting is
    // refused at once and no other test can take the port meanwhile (a port freed and reused
    // later could be anybody's).
    let held = tokio::net::TcpSocket::new_v4().unwrap();
    held.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = held.local_addr().unwrap().port();
    let config = shared::aws::dynamodb_config()
        .http_client(shared::outbound::SdkHttpClient::shared())
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(2))
        .build();
    let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::from_conf(config), "tokens", COMPONENT);
    let started = std::time::Instant::now();
    let err = store.verify_ticket().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn a_missing_table_is_unavailable() {
    let store = DynamoDbStore::from_env("no-such-table", COMPONENT);
    assert_eq!(store.verify_ticket().await, Err(StoreError::Unavailable("table not found".into())));
}
