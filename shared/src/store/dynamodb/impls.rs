//! The four store traits on DynamoDB, each operation one request.

use aws_sdk_dynamodb::types::AttributeValue;

use super::codec::{NOT_OLDER, Reader, SET_PROFILE, decode_authorizer, profile_values};
use super::expression::{Update, classify, n, s};
use super::keys::Keys;
use super::{DynamoDbStore, Item};
use crate::secret::Secret;
use crate::store::table::{DUE_INDEX, OWNER_INDEX};
use crate::store::{
    AuthorizerProfile, AuthorizerRecord, AuthorizerStatus, AuthorizerStore, AuthorizerSummary, ComponentToken,
    ComponentTokenStore, DueAuthorizer, DuePage, MarkerStore, NewAuthorization, OWNER_MOVE_TTL_SECS, OwnerMove,
    StoreError, SummaryPage, TicketStore, TicketWrite, Timestamp, TokenRefresh, UNCLAIMED_OWNER, VerifyTicket,
};

impl TicketStore for DynamoDbStore {
    async fn put_verify_ticket(&self, ticket: &VerifyTicket, now: Timestamp) -> Result<TicketWrite, StoreError> {
        let update = Update::new(
            "SET #ticket = :ticket, #create_time = :create_time, #updated_at = :now",
            "attribute_not_exists(#pk) OR #create_time < :create_time",
        )
        .value(":ticket", s(ticket.ticket.expose()))
        .value(":create_time", n(ticket.create_time))
        .value(":now", n(now));
        match self.update(&self.keys.ticket(), update).await {
            Ok(_) => Ok(TicketWrite::Stored),
            Err(StoreError::ConditionFailed) => Ok(TicketWrite::Stale),
            Err(err) => Err(err),
        }
    }

    async fn verify_ticket(&self) -> Result<Option<VerifyTicket>, StoreError> {
        let key = self.keys.ticket();
        let Some(item) = self.get(&key).await? else {
            return Ok(None);
        };
        let r = Reader { key: &key.name(), item: &item };
        Ok(Some(VerifyTicket { ticket: Secret::new(r.s("ticket")?), create_time: r.n("create_time")? }))
    }
}

impl ComponentTokenStore for DynamoDbStore {
    async fn component_token(&self) -> Result<Option<ComponentToken>, StoreError> {
        let key = self.keys.component_token();
        let Some(item) = self.get(&key).await? else {
            return Ok(None);
        };
        let r = Reader { key: &key.name(), item: &item };
        Ok(Some(ComponentToken {
            token: Secret::new(r.s("token")?),
            expires_at: r.n("expires_at")?,
            version: r.version()?,
        }))
    }

    async fn put_component_token(
        &self,
        token: &Secret,
        expires_at: Timestamp,
        expected_version: Option<u64>,
        now: Timestamp,
    ) -> Result<ComponentToken, StoreError> {
        let version = expected_version.map_or(1, |v| v + 1);
        let mut item = self.keys.component_token().item();
        item.insert("token".into(), s(token.expose()));
        item.insert("expires_at".into(), n(expires_at));
        item.insert("version".into(), n(version));
        item.insert("updated_at".into(), n(now));
        let condition = match expected_version {
            None => Update::condition("attribute_not_exists(#pk)"),
            Some(v) => Update::condition("#version = :expected").value(":expected", n(v)),
        };
        if self.put_if(item, condition).await? {
            Ok(ComponentToken { token: token.clone(), expires_at, version })
        } else {
            Err(StoreError::ConditionFailed)
        }
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut item = self.keys.lease(name);
        item.insert("holder".into(), s(holder));
        item.insert("lease_until".into(), n(until));
        item.insert("ttl".into(), n(until + 3600));
        let condition = Update::condition("attribute_not_exists(#pk) OR #lease_until <= :now OR #holder = :holder")
            .value(":now", n(now))
            .value(":holder", s(holder));
        self.put_if(item, condition).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(self.keys.lease(name)))
            .condition_expression("#holder = :holder")
            .expression_attribute_names("#holder", "holder")
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        match result.map_err(classify) {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(err) => Err(err),
        }
    }
}

impl AuthorizerStore for DynamoDbStore {
    async fn authorizer(&self, appid: &str) -> Result<Option<AuthorizerRecord>, StoreError> {
        let key = self.keys.authorizer(appid);
        match self.get(&key).await? {
            None => Ok(None),
            Some(item) => decode_authorizer(&key.pk, &item).map(Some),
        }
    }

    async fn save_authorization(&self, a: &NewAuthorization, now: Timestamp) -> Result<AuthorizerRecord, StoreError> {
        let expression = String::from(
            "SET #authorizer_appid = :appid, #access_token = :access_token, #expires_at = :expires_at, \
             #refresh_token = :refresh_token, #refresh_token_received_ms = :received_ms, #status = :authorized, \
             #due_pk = :due_pk, #authorized_at = :authorized_at, #updated_at = :now, \
             #version = if_not_exists(#version, :zero) + :one, \
             #owner = if_not_exists(#owner, :owner), #owner_pk = if_not_exists(#owner_pk, :owner_pk)",
        );
        // A new account is unclaimed; an existing one keeps its owner (owners change only through
        // set_owner and claim_owner).
        let owner = UNCLAIMED_OWNER;
        let update = Update::new(&expression, &format!("attribute_not_exists(#pk) OR {NOT_OLDER}"))
            .value(":appid", s(&a.authorizer_appid))
            .value(":access_token", s(a.access_token.expose()))
            .value(":expires_at", n(a.expires_at))
            .value(":refresh_token", s(a.refresh_token.expose()))
            .value(":received_ms", n(a.received_ms))
            .value(":authorized", s(AuthorizerStatus::Authorized.as_str()))
            .value(":due_pk", s(self.keys.due_partition()))
            .value(":authorized_at", n(a.authorized_at))
            .value(":now", n(now))
            .value(":zero", n(0))
            .value(":one", n(1))
            .value(":owner", s(owner))
            .value(":owner_pk", s(self.keys.owner_partition(owner)));
        self.update_authorizer(&a.authorizer_appid, update).await
    }

    async fn update_tokens(&self, r: &TokenRefresh, now: Timestamp) -> Result<AuthorizerRecord, StoreError> {
        let (expression, condition) = if r.refresh_token.is_some() {
            (
                "SET #access_token = :access_token, #expires_at = :expires_at, #refresh_token = :refresh_token, \
                 #refresh_token_received_ms = :received_ms, #updated_at = :now, #version = #version + :one",
                format!("#version = :expected AND #status = :authorized AND {NOT_OLDER}"),
            )
        } else {
            (
                "SET #access_token = :access_token, #expires_at = :expires_at, #updated_at = :now, \
                 #version = #version + :one",
                "#version = :expected AND #status = :authorized".to_owned(),
            )
        };
        let mut update = Update::new(expression, &condition)
            .value(":access_token", s(r.access_token.expose()))
            .value(":expires_at", n(r.expires_at))
            .value(":now", n(now))
            .value(":one", n(1))
            .value(":expected", n(r.expected_version))
            .value(":authorized", s(AuthorizerStatus::Authorized.as_str()));
        if let Some(refresh_token) = &r.refresh_token {
            update = update.value(":refresh_token", s(refresh_token.expose())).value(":received_ms", n(r.received_ms));
        }
        self.update_authorizer(&r.authorizer_appid, update).await
    }

    async fn update_profile(
        &self,
        appid: &str,
        profile: &AuthorizerProfile,
        expected_version: u64,
        now: Timestamp,
    ) -> Result<AuthorizerRecord, StoreError> {
        let expression = format!("SET {SET_PROFILE}, #updated_at = :now, #version = #version + :one");
        let update = Update::new(&expression, "#version = :expected")
            .value(":now", n(now))
            .value(":one", n(1))
            .value(":expected", n(expected_version));
        self.update_authorizer(appid, profile_values(update, profile)).await
    }

    async fn set_owner(&self, appid: &str, owner: &str, now: Timestamp) -> Result<AuthorizerRecord, StoreError> {
        self.assign_owner(appid, owner, Update::condition("attribute_exists(#pk)"), now).await
    }

    async fn set_web_origins(
        &self,
        appid: &str,
        origins: &[String],
        now: Timestamp,
    ) -> Result<AuthorizerRecord, StoreError> {
        let update = Update::new("SET #web_origins = :origins, #updated_at = :now", "attribute_exists(#pk)")
            .value(":origins", AttributeValue::L(origins.iter().map(|o| s(o.as_str())).collect()))
            .value(":now", n(now));
        self.update_authorizer(appid, update).await
    }

    async fn claim_owner(&self, appid: &str, owner: &str, now: Timestamp) -> Result<AuthorizerRecord, StoreError> {
        let condition = Update::condition("attribute_exists(#pk) AND (#owner = :unclaimed OR #owner = :owner)")
            .value(":unclaimed", s(UNCLAIMED_OWNER));
        self.assign_owner(appid, owner, condition, now).await
    }

    async fn revoke(&self, appid: &str, event_time: Timestamp, now: Timestamp) -> Result<AuthorizerRecord, StoreError> {
        let condition = "attribute_exists(#pk) AND #authorized_at <= :event_time";
        self.leave_authorized(appid, AuthorizerStatus::Revoked, condition, (":event_time", n(event_time)), now).await
    }

    async fn mark_needs_reauthorization(
        &self,
        appid: &str,
        expected_version: u64,
        retry_at: Timestamp,
        now: Timestamp,
    ) -> Result<AuthorizerRecord, StoreError> {
        let update = Update::new(
            "SET #status = :status, #expires_at = :retry_at, #updated_at = :now, #version = #version + :one",
            "#version = :expected",
        )
        .value(":status", s(AuthorizerStatus::NeedsReauthorization.as_str()))
        .value(":retry_at", n(retry_at))
        .value(":now", n(now))
        .value(":one", n(1))
        .value(":expected", n(expected_version));
        self.update_authorizer(appid, update).await
    }

    async fn due_authorizers(
        &self,
        before: Timestamp,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<DuePage, StoreError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(DUE_INDEX)
            .key_condition_expression("#due_pk = :due_pk AND #expires_at < :before")
            .expression_attribute_names("#due_pk", "due_pk")
            .expression_attribute_names("#expires_at", "expires_at")
            .expression_attribute_values(":due_pk", s(self.keys.due_partition()))
            .expression_attribute_values(":before", n(before))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX));
        if let Some(cursor) = cursor {
            request = request.set_exclusive_start_key(Some(self.keys.due_start(cursor)?));
        }
        let out = request.send().await.map_err(classify)?;
        let mut items = Vec::new();
        for item in out.items.unwrap_or_default() {
            let key = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let r = Reader { key: &key, item: &item };
            let appid =
                self.keys.appid_of(&key).ok_or_else(|| r.corrupt("due-index entry outside this component".into()))?;
            items.push(DueAuthorizer { authorizer_appid: appid.to_owned(), expires_at: r.n("expires_at")? });
        }
        let next = out.last_evaluated_key.as_ref().map(Keys::due_cursor);
        Ok(DuePage { items, next })
    }

    async fn authorizers_of(&self, owner: &str, cursor: Option<&str>, limit: u32) -> Result<SummaryPage, StoreError> {
        let partition = self.keys.owner_partition(owner);
        let start = cursor.map(|cursor| self.keys.owner_start(&partition, cursor)).transpose()?;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(OWNER_INDEX)
            .key_condition_expression("#owner_pk = :owner_pk")
            .expression_attribute_names("#owner_pk", "owner_pk")
            .expression_attribute_values(":owner_pk", s(partition))
            .scan_index_forward(false)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let mut items = Vec::new();
        for item in out.items.unwrap_or_default() {
            let key = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let r = Reader { key: &key, item: &item };
            items.push(AuthorizerSummary {
                authorizer_appid: r.s("authorizer_appid")?.to_owned(),
                profile: r.profile()?,
                status: r.status()?,
                authorized_at: r.n("authorized_at")?,
                updated_at: r.n("updated_at")?,
            });
        }
        let next = out.last_evaluated_key.filter(|key| !key.is_empty()).as_ref().map(Keys::owner_cursor);
        Ok(SummaryPage { items, next })
    }

    async fn record_owner_move(
        &self,
        previous_owner: &str,
        moved: &OwnerMove,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut item = self.keys.owner_move(previous_owner, moved.moved_at, &moved.authorizer_appid).item();
        item.insert("authorizer_appid".into(), s(&moved.authorizer_appid));
        item.insert("nick_name".into(), s(&moved.nick_name));
        item.insert("moved_at".into(), n(moved.moved_at));
        item.insert("ttl".into(), n(now + OWNER_MOVE_TTL_SECS));
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(classify)?;
        Ok(())
    }

    async fn owner_moves(&self, owner: &str, limit: u32, now: Timestamp) -> Result<Vec<OwnerMove>, StoreError> {
        let partition = self.keys.owner_moves(owner);
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            // TTL deletion lags by up to days: an expired record is not shown.
            .filter_expression("#ttl >= :now")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":pk", s(&partition))
            .expression_attribute_values(":now", n(now))
            .scan_index_forward(false)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(classify)?;
        out.items
            .unwrap_or_default()
            .iter()
            .map(|item| {
                let r = Reader { key: &partition, item };
                Ok(OwnerMove {
                    authorizer_appid: r.s("authorizer_appid")?.to_owned(),
                    nick_name: r.s("nick_name")?.to_owned(),
                    moved_at: r.n("moved_at")?,
                })
            })
            .collect()
    }
}

impl MarkerStore for DynamoDbStore {
    async fn remember_once(&self, key: &str, ttl_secs: i64, now: Timestamp) -> Result<bool, StoreError> {
        let mut item = self.keys.marker(key).item();
        item.insert("ttl".into(), n(now + ttl_secs.max(1)));
        self.put_if(item, Update::condition("attribute_not_exists(#pk) OR #ttl < :now").value(":now", n(now))).await
    }

    async fn seen(&self, key: &str, now: Timestamp) -> Result<bool, StoreError> {
        let key = self.keys.marker(key);
        let Some(item) = self.get(&key).await? else {
            return Ok(false);
        };
        // TTL deletion lags expiry by up to days: an expired marker counts as absent.
        Ok(Reader { key: &key.pk, item: &item }.n("ttl")? >= now)
    }

    async fn count(&self, key: &str, ttl_secs: i64, now: Timestamp) -> Result<u64, StoreError> {
        let update = Update::new(
            "ADD #count :one SET #ttl = if_not_exists(#ttl, :ttl)",
            "attribute_not_exists(#pk) OR attribute_exists(#count)",
        )
        .value(":one", n(1))
        .value(":ttl", n(now + ttl_secs.max(1)));
        let key = self.keys.marker(key);
        let item = self.update(&key, update).await?;
        let count = Reader { key: &key.pk, item: &item }.n("count")?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn remember_value(&self, key: &str, value: &str, ttl_secs: i64, now: Timestamp) -> Result<(), StoreError> {
        let mut item = self.keys.value(key).item();
        item.insert("value".into(), s(value));
        item.insert("ttl".into(), n(now + ttl_secs.max(1)));
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(classify)?;
        Ok(())
    }

    async fn recall(&self, key: &str, now: Timestamp) -> Result<Option<String>, StoreError> {
        let key = self.keys.value(key);
        let Some(item) = self.get(&key).await? else {
            return Ok(None);
        };
        let r = Reader { key: &key.pk, item: &item };
        if r.n("ttl")? < now {
            return Ok(None);
        }
        Ok(Some(r.s("value")?.to_owned()))
    }
}

impl DynamoDbStore {
    /// Moves an account out of `authorized` (and out of the due index) when `condition`, with its
    /// one bound value, holds.
    async fn leave_authorized(
        &self,
        appid: &str,
        status: AuthorizerStatus,
        condition: &str,
        (name, value): (&str, AttributeValue),
        now: Timestamp,
    ) -> Result<AuthorizerRecord, StoreError> {
        let update = Update::new(
            "SET #status = :status, #updated_at = :now, #version = #version + :one REMOVE #due_pk",
            condition,
        )
        .value(":status", s(status.as_str()))
        .value(":now", n(now))
        .value(":one", n(1))
        .value(name, value);
        self.update_authorizer(appid, update).await
    }

    /// One conditional `PutItem`: `true` when written, `false` when the condition failed.
    pub(super) async fn put_if(&self, item: Item, condition: Update) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition.condition)
            .set_expression_attribute_names(Some(condition.names))
            .set_expression_attribute_values((!condition.values.is_empty()).then_some(condition.values))
            .send()
            .await;
        match result.map_err(classify) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Sets the owner (and its index partition) when `condition` holds.
    async fn assign_owner(
        &self,
        appid: &str,
        owner: &str,
        condition: Update,
        now: Timestamp,
    ) -> Result<AuthorizerRecord, StoreError> {
        let update = Update::new(
            "SET #owner = :owner, #owner_pk = :owner_pk, #updated_at = :now, #version = #version + :one",
            &condition.condition,
        )
        .values(condition.values)
        .value(":owner", s(owner))
        .value(":owner_pk", s(self.keys.owner_partition(owner)))
        .value(":now", n(now))
        .value(":one", n(1));
        self.update_authorizer(appid, update).await
    }
}
