//! Versioned documents (reply rules, menus) and the follower ledger on DynamoDB.
//!
//! A follower's subscription state and the account's count move together in one
//! `TransactWriteItems` whose condition says the state really changes (and that the event is
//! newer than the one that set it), so a redelivered or late event can never count a follower
//! twice. Everything else about a follower is one conditional `UpdateItem`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, TransactWriteItem};

use super::bindings::built;
use super::codec::Reader;
use super::expression::{Update, classify, n, s};
use super::keys::Key;
use super::{DynamoDbStore, Item};
use crate::store::{
    DocumentKind, DocumentStore, Follower, FollowerChange, FollowerPage, FollowerStore, StoreError, StoredDocument,
    Timestamp, follower_cursor, follower_cursor_openid,
};

/// The newest-state condition every subscription change carries.
const NEWER: &str = "(attribute_not_exists(#state_at) OR #state_at < :t)";

impl DocumentStore for DynamoDbStore {
    async fn document(&self, kind: DocumentKind, appid: &str) -> Result<Option<StoredDocument>, StoreError> {
        let key = self.keys.document(kind, appid);
        let Some(item) = self.get(&key).await? else {
            return Ok(None);
        };
        let r = Reader { key: &key.name(), item: &item };
        Ok(Some(StoredDocument {
            document: r.s("document")?.to_owned(),
            version: r.version()?,
            updated_at: r.n("updated_at")?,
            updated_by: r.s("updated_by")?.to_owned(),
        }))
    }

    async fn save_document(
        &self,
        kind: DocumentKind,
        appid: &str,
        document: &str,
        expected_version: u64,
        by: &str,
        now: Timestamp,
    ) -> Result<StoredDocument, StoreError> {
        let mut item = self.keys.document(kind, appid).item();
        let version = expected_version + 1;
        item.insert("document".into(), s(document));
        item.insert("version".into(), n(version));
        item.insert("updated_at".into(), n(now));
        item.insert("updated_by".into(), s(by));
        let condition = if expected_version == 0 {
            Update::condition("attribute_not_exists(#pk)")
        } else {
            Update::condition("#version = :expected").value(":expected", n(expected_version))
        };
        if !self.put_if(item, condition).await? {
            return Err(StoreError::ConditionFailed);
        }
        Ok(StoredDocument { document: document.to_owned(), version, updated_at: now, updated_by: by.to_owned() })
    }
}

impl FollowerStore for DynamoDbStore {
    async fn record_follower(
        &self,
        appid: &str,
        openid: &str,
        at: Timestamp,
        change: &FollowerChange,
    ) -> Result<(), StoreError> {
        let key = self.keys.follower(appid, openid);
        let base = |expression: &str, condition: &str| {
            Update::new(expression, condition).value(":openid", s(openid)).value(":t", n(at))
        };
        match change {
            FollowerChange::Subscribed { scene } => {
                let set = with_scene(
                    "SET #openid = :openid, #subscribed = :true, #state_at = :t, #last_subscribed_at = :t, \
                     #first_subscribed_at = if_not_exists(#first_subscribed_at, :t)",
                    scene.is_some(),
                );
                let bind = |update: Update| {
                    let update = update.value(":true", AttributeValue::Bool(true));
                    match scene {
                        Some(scene) => update.value(":scene", s(scene)),
                        None => update,
                    }
                };
                let moving = bind(base(
                    &set,
                    &format!("{NEWER} AND (attribute_not_exists(#subscribed) OR #subscribed = :false)"),
                ))
                .value(":false", AttributeValue::Bool(false));
                if self.change_state(appid, &key, moving, 1).await?
                    || self.update_if_newer(&key, bind(base(&set, NEWER))).await?
                {
                    return Ok(());
                }
                // A late subscribe (delivered after a newer change): the state stands, the history
                // takes it: the last follow if it is the latest one seen, the first if earlier.
                let mut last = Update::new(
                    &with_scene("SET #last_subscribed_at = :t", scene.is_some()),
                    "attribute_not_exists(#last_subscribed_at) OR #last_subscribed_at < :t",
                )
                .value(":t", n(at));
                if let Some(scene) = scene {
                    last = last.value(":scene", s(scene));
                }
                self.update_unless_stale(&key, last).await?;
                let set = if scene.is_some() {
                    "SET #first_subscribed_at = :t, #first_scene = :scene"
                } else {
                    "SET #first_subscribed_at = :t"
                };
                let mut first =
                    Update::new(set, "attribute_not_exists(#first_subscribed_at) OR #first_subscribed_at > :t")
                        .value(":t", n(at));
                if let Some(scene) = scene {
                    first = first.value(":scene", s(scene));
                }
                self.update_unless_stale(&key, first).await
            }
            FollowerChange::Unsubscribed => {
                let set = "SET #openid = :openid, #subscribed = :false, #state_at = :t, #unsubscribed_at = :t";
                let bind = |update: Update| update.value(":false", AttributeValue::Bool(false));
                let moving = bind(base(set, &format!("{NEWER} AND #subscribed = :true")))
                    .value(":true", AttributeValue::Bool(true));
                if self.change_state(appid, &key, moving, -1).await?
                    || self.update_if_newer(&key, bind(base(set, NEWER))).await?
                {
                    return Ok(());
                }
                // A late unsubscribe: the state stands; the last one seen is kept.
                let last = Update::new(
                    "SET #unsubscribed_at = :t",
                    "attribute_not_exists(#unsubscribed_at) OR #unsubscribed_at < :t",
                )
                .value(":t", n(at));
                self.update_unless_stale(&key, last).await
            }
            FollowerChange::Messaged | FollowerChange::Interacted => {
                let field = if *change == FollowerChange::Messaged { "last_message_at" } else { "last_interaction_at" };
                let touch = Update::new(
                    &format!("SET #{field} = :t"),
                    &format!("attribute_exists(#subscribed) AND (attribute_not_exists(#{field}) OR #{field} < :t)"),
                )
                .value(":t", n(at));
                match self.update(&key, touch).await {
                    Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
                    Err(StoreError::NotFound) => {
                        // Only a follower can write to an account: one the ledger did not know
                        // follows it.
                        let create = base(
                            &format!("SET #openid = :openid, #subscribed = :true, #state_at = :t, #{field} = :t"),
                            "attribute_not_exists(#subscribed)",
                        )
                        .value(":true", AttributeValue::Bool(true));
                        // A concurrent delivery created it first: then there is nothing to add.
                        self.change_state(appid, &key, create, 1).await.map(drop)
                    }
                    Err(err) => Err(err),
                }
            }
            FollowerChange::Imported { subscribed_at, scene, unionid } => {
                let mut set = with_scene(
                    "SET #openid = :openid, #subscribed = :true, #state_at = :st, #last_subscribed_at = :st, \
                     #first_subscribed_at = if_not_exists(#first_subscribed_at, :st)",
                    scene.is_some(),
                );
                if unionid.is_some() {
                    set = set.replacen("SET ", "SET #unionid = :unionid, ", 1);
                }
                let mut moving = Update::new(
                    &set,
                    "attribute_not_exists(#subscribed) OR (#subscribed = :false AND #state_at < :st)",
                )
                .value(":openid", s(openid))
                .value(":st", n(*subscribed_at))
                .value(":true", AttributeValue::Bool(true))
                .value(":false", AttributeValue::Bool(false));
                if let Some(scene) = scene {
                    moving = moving.value(":scene", s(scene));
                }
                if let Some(unionid) = unionid {
                    moving = moving.value(":unionid", s(unionid));
                }
                if self.change_state(appid, &key, moving, 1).await? {
                    return Ok(());
                }
                let Some(unionid) = unionid else {
                    return Ok(());
                };
                let update = Update::new("SET #unionid = :unionid", "attribute_exists(#subscribed)")
                    .value(":unionid", s(unionid));
                self.update_unless_stale(&key, update).await
            }
        }
    }

    async fn follower(&self, appid: &str, openid: &str) -> Result<Option<Follower>, StoreError> {
        let key = self.keys.follower(appid, openid);
        match self.get(&key).await? {
            Some(item) => decode_follower(&key.name(), &item).map(Some),
            None => Ok(None),
        }
    }

    async fn followers(
        &self,
        appid: &str,
        subscribed: Option<bool>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<FollowerPage, StoreError> {
        let partition = self.keys.followers(appid);
        let start = match cursor {
            Some(cursor) => Some(self.keys.follower(appid, &follower_cursor_openid(cursor)?).item()),
            None => None,
        };
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_values(":pk", s(&partition))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start);
        if let Some(subscribed) = subscribed {
            request = request
                .filter_expression("#subscribed = :subscribed")
                .expression_attribute_names("#subscribed", "subscribed")
                .expression_attribute_values(":subscribed", AttributeValue::Bool(subscribed));
        }
        let out = request.send().await.map_err(classify)?;
        let items = out
            .items
            .unwrap_or_default()
            .iter()
            .map(|item| decode_follower(&partition, item))
            .collect::<Result<Vec<_>, _>>()?;
        let next = out
            .last_evaluated_key
            .as_ref()
            .and_then(|last| last.get("sk"))
            .and_then(|sk| sk.as_s().ok())
            .map(|openid| follower_cursor(openid));
        Ok(FollowerPage { items, next })
    }

    async fn tag_follower(&self, appid: &str, openid: &str, tag: i64, add: bool) -> Result<(), StoreError> {
        // A number set: adding twice or removing what is not there changes nothing.
        let expression = if add { "ADD #tags :tag" } else { "DELETE #tags :tag" };
        let update = Update::new(expression, "attribute_exists(#openid)")
            .value(":tag", AttributeValue::Ns(vec![tag.to_string()]));
        self.update_unless_stale(&self.keys.follower(appid, openid), update).await
    }

    async fn follower_counts(&self, appids: &[String]) -> Result<HashMap<String, u64>, StoreError> {
        let mut counts: HashMap<String, u64> = appids.iter().map(|appid| (appid.clone(), 0)).collect();
        let by_pk: HashMap<String, &String> =
            appids.iter().map(|appid| (self.keys.follower_count(appid).pk, appid)).collect();
        // BatchGetItem takes at most 100 keys.
        for chunk in appids.chunks(100) {
            let mut keys: Vec<Item> = chunk.iter().map(|appid| self.keys.follower_count(appid).item()).collect();
            // Unprocessed keys (throttling) are asked again, a bounded number of times.
            for _ in 0..3 {
                if keys.is_empty() {
                    break;
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut keys)))
                    .build()
                    .map_err(|e| StoreError::Other(e.to_string()))?;
                let out =
                    self.client.batch_get_item().request_items(&self.table, request).send().await.map_err(classify)?;
                for item in out.responses.unwrap_or_default().remove(&self.table).unwrap_or_default() {
                    let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                    let r = Reader { key: &pk, item: &item };
                    if let Some(appid) = by_pk.get(&pk) {
                        counts.insert((*appid).clone(), u64::try_from(r.n("subscribed")?).unwrap_or(0));
                    }
                }
                keys = out.unprocessed_keys.unwrap_or_default().remove(&self.table).map(|k| k.keys).unwrap_or_default();
            }
            if !keys.is_empty() {
                return Err(StoreError::Throttled);
            }
        }
        Ok(counts)
    }
}

impl DynamoDbStore {
    /// Changes a follower's subscription state and the account's count by `delta`, together.
    /// False when the condition did not hold (the state does not change): nothing was written.
    async fn change_state(&self, appid: &str, key: &Key, update: Update, delta: i64) -> Result<bool, StoreError> {
        let follower = built(
            aws_sdk_dynamodb::types::Update::builder()
                .table_name(&self.table)
                .set_key(Some(key.item()))
                .update_expression(update.expression)
                .condition_expression(update.condition)
                .set_expression_attribute_names(Some(update.names))
                .set_expression_attribute_values(Some(update.values))
                .build(),
        )?;
        let count = built(
            aws_sdk_dynamodb::types::Update::builder()
                .table_name(&self.table)
                .set_key(Some(self.keys.follower_count(appid).item()))
                .update_expression("ADD #subscribed :delta")
                .expression_attribute_names("#subscribed", "subscribed")
                .expression_attribute_values(":delta", n(delta))
                .build(),
        )?;
        self.transact(vec![
            TransactWriteItem::builder().update(follower).build(),
            TransactWriteItem::builder().update(count).build(),
        ])
        .await
    }

    /// One follower update under the newest-state condition: false when the record holds a newer
    /// state (the event is late), nothing written.
    async fn update_if_newer(&self, key: &Key, update: Update) -> Result<bool, StoreError> {
        match self.update(key, update).await {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// One follower update that is simply skipped when the record holds something newer.
    async fn update_unless_stale(&self, key: &Key, update: Update) -> Result<(), StoreError> {
        match self.update(key, update).await {
            Ok(_) | Err(StoreError::ConditionFailed | StoreError::NotFound) => Ok(()),
            Err(err) => Err(err),
        }
    }
}

/// `SET …` plus the scene: set when the change has one, removed when it has none (the record
/// keeps the scene of the *last* follow).
fn with_scene(set: &str, has_scene: bool) -> String {
    // The first scene seen stays: attribution of the campaign that brought the follower first.
    if has_scene {
        format!("{set}, #scene = :scene, #first_scene = if_not_exists(#first_scene, :scene)")
    } else {
        format!("{set} REMOVE #scene")
    }
}

fn decode_follower(key: &str, item: &Item) -> Result<Follower, StoreError> {
    let r = Reader { key, item };
    let subscribed = match item.get("subscribed") {
        Some(AttributeValue::Bool(b)) => *b,
        _ => return Err(r.corrupt("`subscribed` is not a boolean".into())),
    };
    Ok(Follower {
        openid: r.s("openid")?.to_owned(),
        subscribed,
        first_subscribed_at: r.opt_n("first_subscribed_at")?,
        last_subscribed_at: r.opt_n("last_subscribed_at")?,
        unsubscribed_at: r.opt_n("unsubscribed_at")?,
        first_scene: r.opt_s("first_scene")?.map(str::to_owned),
        tags: {
            let mut tags: Vec<i64> = match item.get("tags") {
                Some(AttributeValue::Ns(numbers)) => numbers.iter().filter_map(|n| n.parse().ok()).collect(),
                _ => Vec::new(),
            };
            tags.sort_unstable();
            tags
        },
        scene: r.opt_s("scene")?.map(str::to_owned),
        last_message_at: r.opt_n("last_message_at")?,
        last_interaction_at: r.opt_n("last_interaction_at")?,
        unionid: r.opt_s("unionid")?.map(str::to_owned),
    })
}
