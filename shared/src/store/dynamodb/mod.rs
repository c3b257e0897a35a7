//! The DynamoDB adapter: every semantic of [`crate::store`] as one request with a condition
//! expression.
//!
//! - `expression.rs`: update and condition expressions, and what a failed request means;
//! - `codec.rs`: records to attributes and back;
//! - `keys.rs`: the table's keys and index partitions;
//! - `impls.rs`: the four token store traits;
//! - `ledger.rs`: reply rules and the follower ledger.
//!
//! The SDK is configured deliberately ([`DynamoDbStore::from_env`]): standard retry mode with 3
//! attempts and a short backoff for throttling and transient errors, a 1 s per-attempt and 2.5 s
//! total timeout, so a store hiccup still leaves room inside WeChat's 5-second push deadline and
//! surfaces as [`StoreError::Unavailable`] (a 5xx, so WeChat retries later) rather than a hang.

mod bindings;
mod codec;
mod expression;
mod impls;
mod keys;
mod ledger;
mod media;
mod qrcodes;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use self::codec::decode_authorizer;
use self::expression::{Update, classify, condition_failure_item};
use self::keys::{Key, Keys};
use super::{AuthorizerRecord, StoreError};
use crate::outbound::SdkHttpClient;

type Item = HashMap<String, AttributeValue>;

/// The token store on DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
    keys: Keys,
}

impl DynamoDbStore {
    /// A store over an existing client.
    pub fn new(client: Client, table: impl Into<String>, component_appid: impl Into<String>) -> Self {
        Self { client, table: table.into(), keys: Keys::new(component_appid.into()) }
    }

    /// A store configured from the AWS environment Lambda provides ([`crate::aws::AwsEnvironment`]), with
    /// this module's retry and timeout policy. Makes no network call.
    pub fn from_env(table: impl Into<String>, component_appid: impl Into<String>) -> Self {
        Self::from_env_with_timeouts(table, component_appid, Duration::from_millis(1000), Duration::from_millis(2500))
    }

    /// [`DynamoDbStore::from_env`] with other per-attempt and total timeouts (tests on a busy
    /// local server use longer ones; they test semantics, not the production latency budget).
    pub fn from_env_with_timeouts(
        table: impl Into<String>,
        component_appid: impl Into<String>,
        attempt: Duration,
        total: Duration,
    ) -> Self {
        let config = crate::aws::dynamodb_config()
            .http_client(SdkHttpClient::shared())
            .retry_config(crate::aws::retries(3))
            .timeout_config(crate::aws::timeouts(attempt, total))
            .build();
        Self::new(Client::from_conf(config), table, component_appid)
    }

    /// The SDK client (for table administration in tests and local runs).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// A strongly consistent read of one item.
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.item()))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item)
    }

    /// One conditional `UpdateItem` (the only place one is built), returning the new item. A
    /// failed condition is [`StoreError::NotFound`] when the item does not exist, else
    /// [`StoreError::ConditionFailed`].
    async fn update(&self, key: &Key, update: Update) -> Result<Item, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.item()))
            .update_expression(update.expression)
            .condition_expression(update.condition)
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(Some(update.values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.attributes.unwrap_or_default()),
            Err(err) => Err(match condition_failure_item(&err) {
                Some(None) => StoreError::NotFound,
                Some(Some(_)) => StoreError::ConditionFailed,
                None => classify(err),
            }),
        }
    }

    /// [`DynamoDbStore::update`] on an authorizer record, decoded.
    async fn update_authorizer(&self, appid: &str, update: Update) -> Result<AuthorizerRecord, StoreError> {
        let key = self.keys.authorizer(appid);
        decode_authorizer(&key.pk, &self.update(&key, update).await?)
    }
}
