//! Each account's media on DynamoDB: one item per handle under the account's partition. A
//! staged medium carries a `ttl` (its upload never finished: DynamoDB forgets it); recording the
//! upload removes it.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::codec::Reader;
use super::expression::{Update, classify, n, s};
use super::{DynamoDbStore, Item};
use crate::media::{Format, Kind, Lifetime};
use crate::store::{
    MediaPage, MediaStore, MediumUpload, Renewal, STAGED_MEDIUM_SECS, StoreError, StoredMedium, Timestamp,
};

fn decode(partition: &str, item: &Item) -> Result<StoredMedium, StoreError> {
    let r = Reader { key: partition, item };
    let bad = |what: &str| r.corrupt(format!("unknown {what}"));
    let size = u64::try_from(r.n("size")?).map_err(|_| bad("size"))?;
    Ok(StoredMedium {
        handle: r.s("sk")?.to_owned(),
        kind: Kind::parse(r.s("kind")?).ok_or_else(|| bad("kind"))?,
        lifetime: Lifetime::parse(r.s("lifetime")?).ok_or_else(|| bad("lifetime"))?,
        format: Format::from_content_type(r.s("format")?).ok_or_else(|| bad("format"))?,
        sha256: r.s("sha256")?.to_owned(),
        size,
        title: r.opt_s("title")?.map(str::to_owned),
        introduction: r.opt_s("introduction")?.map(str::to_owned),
        media_id: r.opt_s("media_id")?.map(str::to_owned),
        url: r.opt_s("url")?.map(str::to_owned),
        expires_at: r.opt_n("expires_at")?,
        created_at: r.n("created_at")?,
        uploaded_at: r.opt_n("uploaded_at")?,
        used_at: r.opt_n("used_at")?,
    })
}

impl MediaStore for DynamoDbStore {
    async fn stage_medium(
        &self,
        appid: &str,
        medium: &StoredMedium,
        now: Timestamp,
    ) -> Result<Option<StoredMedium>, StoreError> {
        let key = self.keys.medium(appid, &medium.handle);
        let mut item = key.item();
        item.insert("kind".into(), s(medium.kind.as_str()));
        item.insert("lifetime".into(), s(medium.lifetime.as_str()));
        item.insert("format".into(), s(medium.format.content_type()));
        item.insert("sha256".into(), s(&medium.sha256));
        item.insert("size".into(), n(medium.size));
        item.insert("created_at".into(), n(medium.created_at));
        item.insert("ttl".into(), n(now + STAGED_MEDIUM_SECS));
        for (name, value) in [("title", &medium.title), ("introduction", &medium.introduction)] {
            if let Some(value) = value {
                item.insert(name.into(), s(value));
            }
        }
        // A medium already uploaded under this handle is kept; a staged one is begun again.
        if self
            .put_if(item, Update::condition("attribute_not_exists(#pk) OR attribute_not_exists(#uploaded_at)"))
            .await?
        {
            return Ok(None);
        }
        self.medium(appid, &medium.handle).await
    }

    async fn medium(&self, appid: &str, handle: &str) -> Result<Option<StoredMedium>, StoreError> {
        let key = self.keys.medium(appid, handle);
        self.get(&key).await?.map(|item| decode(&key.pk, &item)).transpose()
    }

    async fn record_upload(
        &self,
        appid: &str,
        handle: &str,
        upload: &MediumUpload,
        now: Timestamp,
    ) -> Result<StoredMedium, StoreError> {
        let key = self.keys.medium(appid, handle);
        // Each answer field is set when WeChat gave it and removed otherwise (a renewed upload
        // replaces the whole answer).
        let fields = [
            ("media_id", upload.media_id.as_ref().map(s)),
            ("url", upload.url.as_ref().map(s)),
            ("expires_at", upload.expires_at.map(n)),
        ];
        let mut set = vec!["#uploaded_at = :now".to_owned()];
        let mut remove = vec!["#ttl".to_owned()];
        for (name, value) in &fields {
            match value {
                Some(_) => set.push(format!("#{name} = :{name}")),
                None => remove.push(format!("#{name}")),
            }
        }
        let expression = format!("SET {} REMOVE {}", set.join(", "), remove.join(", "));
        let mut update = Update::new(&expression, "attribute_exists(#pk)").value(":now", n(now));
        for (name, value) in fields {
            if let Some(value) = value {
                update = update.value(&format!(":{name}"), value);
            }
        }
        let item = self.update(&key, update).await?;
        decode(&key.pk, &item)
    }

    async fn media(
        &self,
        appid: &str,
        cursor: Option<&str>,
        limit: u32,
        now: Timestamp,
    ) -> Result<MediaPage, StoreError> {
        if cursor.is_some_and(|c| !crate::media::is_handle(c)) {
            return Err(StoreError::Other("malformed media cursor".into()));
        }
        let partition = self.keys.media(appid);
        let start = cursor.map(|handle| self.keys.medium(appid, handle).item());
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            // A staged medium past its `ttl` may linger until DynamoDB deletes it: not shown.
            .filter_expression("attribute_not_exists(#ttl) OR #ttl >= :now")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":pk", s(&partition))
            .expression_attribute_values(":now", n(now))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let items =
            out.items.unwrap_or_default().iter().map(|item| decode(&partition, item)).collect::<Result<_, _>>()?;
        let next =
            out.last_evaluated_key.as_ref().and_then(|last| last.get("sk")).and_then(|sk| sk.as_s().ok()).cloned();
        Ok(MediaPage { items, next })
    }

    async fn forget_medium(&self, appid: &str, handle: &str) -> Result<bool, StoreError> {
        let key = self.keys.medium(appid, handle);
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key.item()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.attributes.is_some_and(|old: std::collections::HashMap<String, AttributeValue>| !old.is_empty()))
    }

    async fn medium_used(&self, appid: &str, handle: &str, now: Timestamp) -> Result<(), StoreError> {
        let key = self.keys.medium(appid, handle);
        let update = Update::new("SET #used_at = :now", "attribute_exists(#pk)").value(":now", n(now));
        match self.update(&key, update).await {
            Ok(_) | Err(StoreError::ConditionFailed | StoreError::NotFound) => Ok(()),
            Err(err) => Err(err),
        }
    }

    async fn schedule_renewal(&self, renewal: &Renewal) -> Result<(), StoreError> {
        let mut item = self.keys.renewal(renewal).item();
        item.insert("appid".into(), s(&renewal.appid));
        item.insert("handle".into(), s(&renewal.handle));
        item.insert("expires_at".into(), n(renewal.expires_at));
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map(|_| ()).map_err(classify)
    }

    async fn renewals_due(&self, before: Timestamp, limit: u32) -> Result<Vec<Renewal>, StoreError> {
        let partition = self.keys.renewals();
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk < :before")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#sk", "sk")
            .expression_attribute_values(":pk", s(&partition))
            .expression_attribute_values(":before", s(format!("{:012}", before.max(0))))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        out.items
            .unwrap_or_default()
            .iter()
            .map(|item| {
                let r = Reader { key: &partition, item };
                Ok(Renewal {
                    appid: r.s("appid")?.to_owned(),
                    handle: r.s("handle")?.to_owned(),
                    expires_at: r.n("expires_at")?,
                })
            })
            .collect()
    }

    async fn drop_renewal(&self, renewal: &Renewal) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(self.keys.renewal(renewal).item()))
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }
}
