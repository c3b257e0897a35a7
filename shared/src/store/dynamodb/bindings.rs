//! Bindings between followers and a site's users on DynamoDB: two items per binding (one keyed
//! by OpenID, one by `user_ref`) so that either side is one `GetItem`, written and removed
//! together in one `TransactWriteItems` so that the two can never disagree.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};

use super::codec::Reader;
use super::expression::{classify, n, s};
use super::keys::Key;
use super::{DynamoDbStore, Item};
use crate::store::{Binding, BindingStore, StoreError};

/// Either side free, or already this very pair (binding again is a no-op).
const FREE_OR_SAME: &str = "attribute_not_exists(#pk) OR (#openid = :openid AND #user_ref = :user_ref)";
/// Still this very pair.
const SAME: &str = "#openid = :openid AND #user_ref = :user_ref";

pub(super) fn built<T>(result: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, StoreError> {
    result.map_err(|e| StoreError::Other(format!("transaction not built: {e}")))
}

impl DynamoDbStore {
    fn binding_item(&self, key: &Key, binding: &Binding) -> Item {
        let mut item = key.item();
        item.insert("openid".into(), s(&binding.openid));
        item.insert("user_ref".into(), s(&binding.user_ref));
        if let Some(unionid) = &binding.unionid {
            item.insert("unionid".into(), s(unionid));
        }
        item.insert("bound_at".into(), n(binding.bound_at));
        item.insert("bound_by".into(), s(&binding.bound_by));
        item
    }

    async fn read_binding(&self, key: Key) -> Result<Option<Binding>, StoreError> {
        let Some(item) = self.get(&key).await? else {
            return Ok(None);
        };
        let r = Reader { key: &key.name(), item: &item };
        Ok(Some(Binding {
            openid: r.s("openid")?.to_owned(),
            user_ref: r.s("user_ref")?.to_owned(),
            unionid: r.opt_s("unionid")?.map(str::to_owned),
            bound_at: r.n("bound_at")?,
            bound_by: r.s("bound_by")?.to_owned(),
        }))
    }

    /// Runs the items' writes as one transaction: false when a condition failed (nothing
    /// written).
    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<bool, StoreError> {
        let result = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(service))
                if matches!(
                    service.err(),
                    TransactWriteItemsError::TransactionCanceledException(e)
                        if e.cancellation_reasons().iter().any(|r| r.code() == Some("ConditionalCheckFailed"))
                ) =>
            {
                Ok(false)
            }
            Err(err) => Err(classify(err)),
        }
    }
}

fn names() -> std::collections::HashMap<String, String> {
    [("#pk", "pk"), ("#openid", "openid"), ("#user_ref", "user_ref")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn values(binding: &Binding) -> std::collections::HashMap<String, AttributeValue> {
    [(":openid", s(&binding.openid)), (":user_ref", s(&binding.user_ref))]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

impl BindingStore for DynamoDbStore {
    async fn bind(&self, appid: &str, binding: &Binding) -> Result<(), StoreError> {
        let put = |key: Key| -> Result<TransactWriteItem, StoreError> {
            let put = built(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(self.binding_item(&key, binding)))
                    .condition_expression(FREE_OR_SAME)
                    .set_expression_attribute_names(Some(names()))
                    .set_expression_attribute_values(Some(values(binding)))
                    .build(),
            )?;
            Ok(TransactWriteItem::builder().put(put).build())
        };
        let items = vec![
            put(self.keys.binding_by_openid(appid, &binding.openid))?,
            put(self.keys.binding_by_user(appid, &binding.user_ref))?,
        ];
        if self.transact(items).await? { Ok(()) } else { Err(StoreError::ConditionFailed) }
    }

    async fn binding_by_openid(&self, appid: &str, openid: &str) -> Result<Option<Binding>, StoreError> {
        self.read_binding(self.keys.binding_by_openid(appid, openid)).await
    }

    async fn binding_by_user(&self, appid: &str, user_ref: &str) -> Result<Option<Binding>, StoreError> {
        self.read_binding(self.keys.binding_by_user(appid, user_ref)).await
    }

    async fn unbind(&self, appid: &str, binding: &Binding) -> Result<bool, StoreError> {
        let delete = |key: Key| -> Result<TransactWriteItem, StoreError> {
            let delete = built(
                Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key.item()))
                    .condition_expression(SAME)
                    .set_expression_attribute_names(Some(names().into_iter().filter(|(k, _)| k != "#pk").collect()))
                    .set_expression_attribute_values(Some(values(binding)))
                    .build(),
            )?;
            Ok(TransactWriteItem::builder().delete(delete).build())
        };
        let items = vec![
            delete(self.keys.binding_by_openid(appid, &binding.openid))?,
            delete(self.keys.binding_by_user(appid, &binding.user_ref))?,
        ];
        self.transact(items).await
    }
}
