//! The table's keys (`pk`, `sk`) and index partitions, in one place. Every key carries the
//! component appid, so one table can serve several platforms (staging and production, say)
//! without mixing. The layout is documented in [`crate::store`].

use std::borrow::Cow;
use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::Item;
use super::expression::s;
use crate::store::{DocumentKind, StoreError};

/// The keys of one component's items.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    component: String,
}

/// A `(pk, sk)` pair.
pub(super) struct Key {
    pub(super) pk: String,
    pub(super) sk: Cow<'static, str>,
}

impl Key {
    /// The key as a DynamoDB item (for `Key` and as the start of a `PutItem`).
    pub(super) fn item(&self) -> Item {
        HashMap::from([("pk".to_owned(), s(&self.pk)), ("sk".to_owned(), s(self.sk.as_ref()))])
    }

    /// The key as it appears in error messages.
    pub(super) fn name(&self) -> String {
        format!("{}/{}", self.pk, self.sk)
    }
}

impl Keys {
    pub(super) fn new(component_appid: String) -> Self {
        Self { component: component_appid }
    }

    /// The newest verify ticket.
    pub(super) fn ticket(&self) -> Key {
        Key { pk: self.component_pk(), sk: Cow::Borrowed("ticket") }
    }

    /// The component access token.
    pub(super) fn component_token(&self) -> Key {
        Key { pk: self.component_pk(), sk: Cow::Borrowed("token") }
    }

    /// A refresh lease (its own sort key under the component).
    pub(super) fn lease(&self, name: &str) -> Item {
        HashMap::from([("pk".to_owned(), s(self.component_pk())), ("sk".to_owned(), s(format!("lease#{name}")))])
    }

    /// An authorized account.
    pub(super) fn authorizer(&self, appid: &str) -> Key {
        Key { pk: format!("{}{appid}", self.authorizer_prefix()), sk: Cow::Borrowed("authorizer") }
    }

    /// A retry marker.
    pub(super) fn marker(&self, key: &str) -> Key {
        Key { pk: format!("marker#{}#{key}", self.component), sk: Cow::Borrowed("marker") }
    }

    /// A short-lived value.
    pub(super) fn value(&self, key: &str) -> Key {
        Key { pk: format!("value#{}#{key}", self.component), sk: Cow::Borrowed("value") }
    }

    /// An account's versioned document of `kind` (`rules#…`, `menu#…`).
    pub(super) fn document(&self, kind: DocumentKind, appid: &str) -> Key {
        let family = kind.family();
        Key { pk: format!("{family}#{}#{appid}", self.component), sk: Cow::Borrowed(family) }
    }

    /// The partition of an account's followers (one item per OpenID).
    pub(super) fn followers(&self, appid: &str) -> String {
        format!("follower#{}#{appid}", self.component)
    }

    /// One follower of an account.
    pub(super) fn follower(&self, appid: &str, openid: &str) -> Key {
        Key { pk: self.followers(appid), sk: Cow::Owned(openid.to_owned()) }
    }

    /// The two items of a binding: by OpenID and by the site's user.
    pub(super) fn binding_by_openid(&self, appid: &str, openid: &str) -> Key {
        Key { pk: format!("binding#{}#{appid}", self.component), sk: Cow::Owned(format!("openid#{openid}")) }
    }

    pub(super) fn binding_by_user(&self, appid: &str, user_ref: &str) -> Key {
        Key { pk: format!("binding#{}#{appid}", self.component), sk: Cow::Owned(format!("user#{user_ref}")) }
    }

    /// An account's follower count.
    pub(super) fn follower_count(&self, appid: &str) -> Key {
        Key { pk: format!("followers#{}#{appid}", self.component), sk: Cow::Borrowed("count") }
    }

    /// The due-index partition (authorized accounts only).
    pub(super) fn due_partition(&self) -> String {
        format!("due#{}", self.component)
    }

    /// The owner-index partition of one dashboard user.
    pub(super) fn owner_partition(&self, owner: &str) -> String {
        format!("owner#{}#{owner}", self.component)
    }

    /// The partition of an account's media (one item per handle).
    pub(super) fn media(&self, appid: &str) -> String {
        format!("media#{}#{appid}", self.component)
    }

    /// One medium of an account.
    pub(super) fn medium(&self, appid: &str, handle: &str) -> Key {
        Key { pk: self.media(appid), sk: Cow::Owned(handle.to_owned()) }
    }

    /// The partition of an account's API use, one item per day.
    pub(super) fn usage(&self, appid: &str) -> String {
        format!("usage#{}#{appid}", self.component)
    }

    /// The account's API use on one day (zero-padded so the days sort).
    pub(super) fn usage_day(&self, appid: &str, day: i64) -> Key {
        Key { pk: self.usage(appid), sk: Cow::Owned(format!("day#{day:06}")) }
    }

    /// The partition of an account's QR codes, their counts and daily figures.
    pub(super) fn qr_codes(&self, appid: &str) -> String {
        format!("qrcode#{}#{appid}", self.component)
    }

    /// One QR code.
    pub(super) fn qr_code(&self, appid: &str, id: &str) -> Key {
        Key { pk: self.qr_codes(appid), sk: Cow::Owned(format!("code#{id}")) }
    }

    /// How many permanent QR codes the account has.
    pub(super) fn qr_permanent_count(&self, appid: &str) -> Key {
        Key { pk: self.qr_codes(appid), sk: Cow::Borrowed("permanent") }
    }

    /// One code's figures on one day (days since the epoch, zero-padded so they sort).
    pub(super) fn qr_day(&self, appid: &str, id: &str, day: i64) -> Key {
        Key { pk: self.qr_codes(appid), sk: Cow::Owned(format!("day#{id}#{day:06}")) }
    }

    /// That a push (by its event id) was counted.
    pub(super) fn qr_seen(&self, appid: &str, event_id: &str) -> Key {
        Key { pk: self.qr_codes(appid), sk: Cow::Owned(format!("seen#{event_id}")) }
    }

    /// The renewal index (temporary media the platform keeps at WeChat, by expiry).
    pub(super) fn renewals(&self) -> String {
        format!("renewal#{}", self.component)
    }

    /// One entry of the renewal index: sorted by expiry (zero-padded), then account and handle.
    pub(super) fn renewal(&self, renewal: &crate::store::Renewal) -> Key {
        let sk = format!("{:012}#{}#{}", renewal.expires_at.max(0), renewal.appid, renewal.handle);
        Key { pk: self.renewals(), sk: Cow::Owned(sk) }
    }

    /// The partition of the accounts that left a dashboard user (one item per move).
    pub(super) fn owner_moves(&self, owner: &str) -> String {
        format!("moved#{}#{owner}", self.component)
    }

    /// One move away from `owner`, sorted by when (zero-padded seconds) so the newest reads first.
    pub(super) fn owner_move(&self, owner: &str, moved_at: i64, appid: &str) -> Key {
        Key { pk: self.owner_moves(owner), sk: Cow::Owned(format!("{moved_at:012}#{appid}")) }
    }

    /// The appid of an authorizer's `pk`, when it is one of this component's.
    pub(super) fn appid_of<'k>(&self, pk: &'k str) -> Option<&'k str> {
        pk.strip_prefix(&self.authorizer_prefix())
    }

    /// The due query's cursor for the last key of a page: `expires_at|pk`.
    pub(super) fn due_cursor(last: &Item) -> String {
        let expires_at = last.get("expires_at").and_then(|v| v.as_n().ok()).cloned().unwrap_or_default();
        let pk = last.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        format!("{expires_at}|{pk}")
    }

    /// The start key a due-query cursor stands for; anything else is refused, never sent to AWS.
    pub(super) fn due_start(&self, cursor: &str) -> Result<Item, StoreError> {
        let bad = || StoreError::Other("malformed due-query cursor".into());
        let (expires_at, pk) = cursor.split_once('|').ok_or_else(bad)?;
        expires_at.parse::<i64>().map_err(|_| bad())?;
        if self.appid_of(pk).is_none() {
            return Err(bad());
        }
        Ok(HashMap::from([
            ("pk".to_owned(), s(pk)),
            ("sk".to_owned(), s("authorizer")),
            ("due_pk".to_owned(), s(self.due_partition())),
            ("expires_at".to_owned(), AttributeValue::N(expires_at.to_owned())),
        ]))
    }

    /// The owner query's cursor for the last key of a page: `authorized_at|pk`, Base64url so
    /// callers treat it as opaque.
    pub(super) fn owner_cursor(last: &Item) -> String {
        use base64::Engine as _;
        let authorized_at = last.get("authorized_at").and_then(|v| v.as_n().ok()).cloned().unwrap_or_default();
        let pk = last.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{authorized_at}|{pk}"))
    }

    /// The start key an owner-query cursor stands for, in `partition` (the caller's own, so a
    /// cursor can never page into another user's accounts); anything else is refused.
    pub(super) fn owner_start(&self, partition: &str, cursor: &str) -> Result<Item, StoreError> {
        use base64::Engine as _;
        let bad = || StoreError::Other("malformed account-list cursor".into());
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
        let (authorized_at, pk) = decoded.split_once('|').ok_or_else(bad)?;
        authorized_at.parse::<i64>().map_err(|_| bad())?;
        if self.appid_of(pk).is_none() {
            return Err(bad());
        }
        Ok(HashMap::from([
            ("pk".to_owned(), s(pk)),
            ("sk".to_owned(), s("authorizer")),
            ("owner_pk".to_owned(), s(partition)),
            ("authorized_at".to_owned(), AttributeValue::N(authorized_at.to_owned())),
        ]))
    }

    fn component_pk(&self) -> String {
        format!("component#{}", self.component)
    }

    fn authorizer_prefix(&self) -> String {
        format!("authorizer#{}#", self.component)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let keys = Keys::new("wxc".into());
        let start = keys.due_start("7200|authorizer#wxc#wx1").unwrap();
        assert_eq!(Keys::due_cursor(&start), "7200|authorizer#wxc#wx1");
        for bad in ["", "7200", "x|authorizer#wxc#wx1", "7200|authorizer#other#wx1", "7200|marker#wxc#x"] {
            assert!(keys.due_start(bad).is_err(), "{bad}");
        }
        assert_eq!(keys.appid_of(&keys.authorizer("wx1").pk), Some("wx1"));
        let partition = keys.owner_partition("jwt:iss:alice");
        let start = keys
            .owner_start(
                &partition,
                &Keys::owner_cursor(&HashMap::from([
                    ("authorized_at".to_owned(), AttributeValue::N("17".into())),
                    ("pk".to_owned(), s("authorizer#wxc#wx1")),
                ])),
            )
            .unwrap();
        assert_eq!(start.get("owner_pk"), Some(&s(partition.as_str())), "the caller's own partition");
        for bad in ["", "!!", "MTd8bWFya2VyI3d4YyN4"] {
            assert!(keys.owner_start(&partition, bad).is_err(), "{bad}");
        }
    }
}
