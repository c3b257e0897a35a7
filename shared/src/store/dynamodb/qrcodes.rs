//! Each account's QR codes and its API use on DynamoDB. The use: one item per day under
//! `usage#{c}#{appid}` with one number per WeChat API (`api:menu/create`), moved by one `ADD` per
//! use case. The codes, all under `qrcode#{c}#{appid}`: `code#{id}` per code,
//! `permanent` (the count of permanent codes, moved with each new one in one transaction whose
//! condition is the limit), `day#{id}#{day}` per code and day (atomic `ADD`s), and `seen#{event}`
//! per counted push (with a `ttl`), written in the same transaction as its day's `ADD` so that a
//! redelivered push is never counted twice.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update as UpdateItem};

use super::bindings::built;
use super::codec::Reader;
use super::expression::{classify, n, s};
use super::{DynamoDbStore, Item};
use crate::store::{
    QR_PUSH_MARKER_SECS, QrCodeKept, QrCodePage, QrCodeStore, QrDay, StoreError, StoredQrCode, Timestamp, UsageStore,
    is_qr_code_id,
};

fn decode(partition: &str, item: &Item) -> Result<StoredQrCode, StoreError> {
    let r = Reader { key: partition, item };
    let flag = |name: &str| matches!(item.get(name), Some(aws_sdk_dynamodb::types::AttributeValue::Bool(true)));
    Ok(StoredQrCode {
        id: r.s("sk")?.trim_start_matches("code#").to_owned(),
        name: r.s("name")?.to_owned(),
        scene: r.s("scene")?.to_owned(),
        scene_is_str: flag("scene_is_str"),
        permanent: flag("permanent"),
        ticket: r.s("ticket")?.to_owned(),
        url: r.s("url")?.to_owned(),
        expires_at: r.opt_n("expires_at")?,
        created_at: r.n("created_at")?,
        created_by: r.s("created_by")?.to_owned(),
    })
}

fn number(item: &Item, name: &str) -> u64 {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

impl QrCodeStore for DynamoDbStore {
    async fn keep_qr_code(&self, appid: &str, code: &StoredQrCode, limit: u64) -> Result<QrCodeKept, StoreError> {
        let key = self.keys.qr_code(appid, &code.id);
        let mut item = key.item();
        let bool = aws_sdk_dynamodb::types::AttributeValue::Bool;
        item.insert("name".into(), s(&code.name));
        item.insert("scene".into(), s(&code.scene));
        item.insert("scene_is_str".into(), bool(code.scene_is_str));
        item.insert("permanent".into(), bool(code.permanent));
        item.insert("ticket".into(), s(&code.ticket));
        item.insert("url".into(), s(&code.url));
        item.insert("created_at".into(), n(code.created_at));
        item.insert("created_by".into(), s(&code.created_by));
        if let Some(at) = code.expires_at {
            item.insert("expires_at".into(), n(at));
        }
        let put = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", "pk")
                .build(),
        )?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        if code.permanent {
            let count = built(
                UpdateItem::builder()
                    .table_name(&self.table)
                    .set_key(Some(self.keys.qr_permanent_count(appid).item()))
                    .update_expression("ADD #count :one")
                    .condition_expression("attribute_not_exists(#count) OR #count < :limit")
                    .expression_attribute_names("#count", "count")
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":limit", n(limit))
                    .build(),
            )?;
            items.push(TransactWriteItem::builder().update(count).build());
        }
        if self.transact(items).await? {
            return Ok(QrCodeKept::Kept);
        }
        // Which condition failed: the code was there, or the limit was reached.
        match self.qr_code(appid, &code.id).await? {
            Some(existing) => Ok(QrCodeKept::Existing(existing)),
            None => Ok(QrCodeKept::Full),
        }
    }

    async fn qr_code(&self, appid: &str, id: &str) -> Result<Option<StoredQrCode>, StoreError> {
        let key = self.keys.qr_code(appid, id);
        match self.get(&key).await? {
            Some(item) => decode(&key.name(), &item).map(Some),
            None => Ok(None),
        }
    }

    async fn qr_codes(&self, appid: &str, cursor: Option<&str>, limit: u32) -> Result<QrCodePage, StoreError> {
        if cursor.is_some_and(|c| !is_qr_code_id(c)) {
            return Err(StoreError::Other("malformed QR code cursor".into()));
        }
        let partition = self.keys.qr_codes(appid);
        let start = cursor.map(|id| self.keys.qr_code(appid, id).item());
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :code)")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#sk", "sk")
            .expression_attribute_values(":pk", s(&partition))
            .expression_attribute_values(":code", s("code#"))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let items =
            out.items.unwrap_or_default().iter().map(|item| decode(&partition, item)).collect::<Result<Vec<_>, _>>()?;
        let next = out
            .last_evaluated_key
            .as_ref()
            .and_then(|last| last.get("sk"))
            .and_then(|sk| sk.as_s().ok())
            .map(|sk| sk.trim_start_matches("code#").to_owned());
        Ok(QrCodePage { items, next })
    }

    async fn permanent_qr_codes(&self, appid: &str) -> Result<u64, StoreError> {
        Ok(self.get(&self.keys.qr_permanent_count(appid)).await?.map_or(0, |item| number(&item, "count")))
    }

    async fn count_qr_push(
        &self,
        appid: &str,
        id: &str,
        day: i64,
        follow: bool,
        event_id: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut marker = self.keys.qr_seen(appid, event_id).item();
        marker.insert("ttl".into(), n(now + QR_PUSH_MARKER_SECS));
        // A marker DynamoDB has not deleted yet past its ttl no longer counts as seen.
        let seen = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(marker))
                .condition_expression("attribute_not_exists(#pk) OR #ttl < :now")
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":now", n(now))
                .build(),
        )?;
        let field = if follow { "follows" } else { "scans" };
        let add = built(
            UpdateItem::builder()
                .table_name(&self.table)
                .set_key(Some(self.keys.qr_day(appid, id, day).item()))
                .update_expression("ADD #field :one")
                .expression_attribute_names("#field", field)
                .expression_attribute_values(":one", n(1))
                .build(),
        )?;
        self.transact(vec![
            TransactWriteItem::builder().put(seen).build(),
            TransactWriteItem::builder().update(add).build(),
        ])
        .await
    }

    async fn qr_days(&self, appid: &str, id: &str, from: i64, to: i64) -> Result<Vec<QrDay>, StoreError> {
        let partition = self.keys.qr_codes(appid);
        let (low, high) = (self.keys.qr_day(appid, id, from), self.keys.qr_day(appid, id, to));
        let mut days = Vec::new();
        for item in self.between(&partition, &low, &high).await? {
            let sk = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let day = sk.rsplit('#').next().and_then(|d| d.parse().ok());
            let Some(day) = day else {
                return Err(StoreError::Other(format!("{partition}/{sk}: not a day")));
            };
            days.push(QrDay { day, scans: number(&item, "scans"), follows: number(&item, "follows") });
        }
        Ok(days)
    }
}

impl DynamoDbStore {
    /// The items of `partition` whose sort keys are from `low`'s to `high`'s (a run of days).
    async fn between(
        &self,
        partition: &str,
        low: &super::keys::Key,
        high: &super::keys::Key,
    ) -> Result<Vec<Item>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#sk", "sk")
            .expression_attribute_values(":pk", s(partition))
            .expression_attribute_values(":low", s(low.sk.as_ref()))
            .expression_attribute_values(":high", s(high.sk.as_ref()))
            .send()
            .await
            .map_err(classify)?;
        Ok(out.items.unwrap_or_default())
    }
}

impl UsageStore for DynamoDbStore {
    async fn meter(&self, appid: &str, day: i64, calls: &[(&str, u64)]) -> Result<(), StoreError> {
        if calls.is_empty() {
            return Ok(());
        }
        // One ADD per API in one update (API names go in as placeholders: they hold `/`).
        let mut request =
            self.client.update_item().table_name(&self.table).set_key(Some(self.keys.usage_day(appid, day).item()));
        let mut adds = Vec::new();
        for (i, (api, count)) in calls.iter().enumerate() {
            adds.push(format!("#a{i} :c{i}"));
            request = request
                .expression_attribute_names(format!("#a{i}"), format!("api:{api}"))
                .expression_attribute_values(format!(":c{i}"), n(count));
        }
        request.update_expression(format!("ADD {}", adds.join(", "))).send().await.map_err(classify)?;
        Ok(())
    }

    async fn usage(&self, appid: &str, from: i64, to: i64) -> Result<Vec<crate::store::DayUsage>, StoreError> {
        let partition = self.keys.usage(appid);
        let (low, high) = (self.keys.usage_day(appid, from), self.keys.usage_day(appid, to));
        let mut days = Vec::new();
        for item in self.between(&partition, &low, &high).await? {
            let sk = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let Some(day) = sk.strip_prefix("day#").and_then(|d| d.parse().ok()) else {
                return Err(StoreError::Other(format!("{partition}/{sk}: not a day")));
            };
            let figures = item
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.strip_prefix("api:")?.to_owned(), value.as_n().ok()?.parse().ok()?))
                })
                .collect::<std::collections::BTreeMap<String, u64>>();
            days.push((day, figures.into_iter().collect()));
        }
        Ok(days)
    }
}
