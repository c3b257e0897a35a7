//! The item codec: records to attribute values and back. Every decoding error names the item's
//! key and the attribute, never a value (values are tokens).

use aws_sdk_dynamodb::types::AttributeValue;

use super::Item;
use super::expression::{Update, n, s};
use crate::secret::Secret;
use crate::store::{AuthorizerProfile, AuthorizerRecord, AuthorizerStatus, StoreError, UNCLAIMED_OWNER};

/// A write's refresh token was received no earlier than the stored one.
pub(super) const NOT_OLDER: &str = "#refresh_token_received_ms <= :received_ms";

/// Sets every profile attribute from [`profile_values`]' placeholders.
pub(super) const SET_PROFILE: &str = "#nick_name = :nick_name, #head_img = :head_img, #user_name = :user_name, \
     #principal_name = :principal_name, #alias = :alias, #qrcode_url = :qrcode_url, \
     #service_type = :service_type, #verify_type = :verify_type, #func_info = :func_info";

/// Reads attributes of one item; every error names the item's key and the attribute, never a value.
pub(super) struct Reader<'a> {
    pub(super) key: &'a str,
    pub(super) item: &'a Item,
}

impl<'a> Reader<'a> {
    pub(super) fn corrupt(&self, reason: String) -> StoreError {
        StoreError::Corrupt { key: self.key.to_owned(), reason }
    }

    pub(super) fn opt_s(&self, name: &str) -> Result<Option<&'a str>, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(value)) => Ok(Some(value)),
            Some(_) => Err(self.corrupt(format!("`{name}` is not a string"))),
        }
    }

    pub(super) fn s(&self, name: &str) -> Result<&'a str, StoreError> {
        self.opt_s(name)?.ok_or_else(|| self.corrupt(format!("`{name}` is missing")))
    }

    pub(super) fn opt_n(&self, name: &str) -> Result<Option<i64>, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(value)) => {
                value.parse().map(Some).map_err(|_| self.corrupt(format!("`{name}` is not an integer")))
            }
            Some(_) => Err(self.corrupt(format!("`{name}` is not a number"))),
        }
    }

    pub(super) fn n(&self, name: &str) -> Result<i64, StoreError> {
        self.opt_n(name)?.ok_or_else(|| self.corrupt(format!("`{name}` is missing")))
    }

    pub(super) fn version(&self) -> Result<u64, StoreError> {
        u64::try_from(self.n("version")?).map_err(|_| self.corrupt("`version` is negative".into()))
    }

    pub(super) fn numbers(&self, name: &str) -> Result<Vec<i64>, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(Vec::new()),
            Some(AttributeValue::L(items)) => items
                .iter()
                .map(|v| match v {
                    AttributeValue::N(n) => {
                        n.parse().map_err(|_| self.corrupt(format!("`{name}` holds a non-integer")))
                    }
                    _ => Err(self.corrupt(format!("`{name}` holds a non-number"))),
                })
                .collect(),
            Some(_) => Err(self.corrupt(format!("`{name}` is not a list"))),
        }
    }

    /// A list of strings; absent (or null) is empty.
    pub(super) fn strings(&self, name: &str) -> Result<Vec<String>, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(Vec::new()),
            Some(AttributeValue::L(items)) => items
                .iter()
                .map(|v| match v {
                    AttributeValue::S(text) => Ok(text.clone()),
                    _ => Err(self.corrupt(format!("`{name}` holds a non-string"))),
                })
                .collect(),
            Some(_) => Err(self.corrupt(format!("`{name}` is not a list"))),
        }
    }

    pub(super) fn status(&self) -> Result<AuthorizerStatus, StoreError> {
        let text = self.s("status")?;
        AuthorizerStatus::parse(text).ok_or_else(|| self.corrupt(format!("unknown status {text:?}")))
    }

    pub(super) fn profile(&self) -> Result<AuthorizerProfile, StoreError> {
        let text = |name| self.opt_s(name).map(|v| v.unwrap_or_default().to_owned());
        Ok(AuthorizerProfile {
            nick_name: text("nick_name")?,
            head_img: text("head_img")?,
            user_name: text("user_name")?,
            principal_name: text("principal_name")?,
            alias: text("alias")?,
            qrcode_url: text("qrcode_url")?,
            service_type: self.opt_n("service_type")?,
            verify_type: self.opt_n("verify_type")?,
            func_info: self.numbers("func_info")?,
        })
    }
}

pub(super) fn decode_authorizer(key: &str, item: &Item) -> Result<AuthorizerRecord, StoreError> {
    let r = Reader { key, item };
    Ok(AuthorizerRecord {
        authorizer_appid: r.s("authorizer_appid")?.to_owned(),
        access_token: Secret::new(r.s("access_token")?),
        expires_at: r.n("expires_at")?,
        refresh_token: Secret::new(r.s("refresh_token")?),
        refresh_token_received_ms: r.n("refresh_token_received_ms")?,
        profile: r.profile()?,
        status: r.status()?,
        owner: r.opt_s("owner")?.unwrap_or(UNCLAIMED_OWNER).to_owned(),
        authorized_at: r.n("authorized_at")?,
        updated_at: r.n("updated_at")?,
        version: r.version()?,
        web_origins: r.strings("web_origins")?,
    })
}

pub(super) fn profile_values(update: Update, profile: &AuthorizerProfile) -> Update {
    let optional = |v: Option<i64>| v.map_or(AttributeValue::Null(true), n);
    update
        .value(":nick_name", s(&profile.nick_name))
        .value(":head_img", s(&profile.head_img))
        .value(":user_name", s(&profile.user_name))
        .value(":principal_name", s(&profile.principal_name))
        .value(":alias", s(&profile.alias))
        .value(":qrcode_url", s(&profile.qrcode_url))
        .value(":service_type", optional(profile.service_type))
        .value(":verify_type", optional(profile.verify_type))
        .value(":func_info", AttributeValue::L(profile.func_info.iter().map(|id| n(*id)).collect()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn corrupt_items_name_their_key_not_their_values() {
        let item: Item = HashMap::from([
            ("authorizer_appid".to_owned(), s("wx1")),
            ("access_token".to_owned(), s("SECRET-TOKEN")),
            ("expires_at".to_owned(), s("not a number")),
        ]);
        let err = decode_authorizer("authorizer#c#wx1", &item).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("authorizer#c#wx1") && text.contains("expires_at"), "{text}");
        assert!(!text.contains("SECRET-TOKEN"), "{text}");
    }

    #[test]
    fn an_authorizer_round_trips_through_its_attributes() {
        let profile = AuthorizerProfile {
            nick_name: "公众号".into(),
            service_type: Some(2),
            verify_type: None,
            func_info: vec![1, 15],
            ..AuthorizerProfile::default()
        };
        let update = profile_values(Update::new(&format!("SET {SET_PROFILE}"), "attribute_exists(#pk)"), &profile);
        let mut item: Item =
            update.values.iter().map(|(k, v)| (k.trim_start_matches(':').to_owned(), v.clone())).collect();
        for (name, value) in [
            ("authorizer_appid", s("wx1")),
            ("access_token", s("at")),
            ("expires_at", n(7200)),
            ("refresh_token", s("rt")),
            ("refresh_token_received_ms", n(1_000)),
            ("status", s("needs_reauthorization")),
            ("authorized_at", n(1)),
            ("updated_at", n(2)),
            ("version", n(3)),
        ] {
            item.insert(name.to_owned(), value);
        }
        let record = decode_authorizer("k", &item).unwrap();
        assert_eq!(record.profile, profile);
        assert_eq!(record.status, AuthorizerStatus::NeedsReauthorization);
        assert_eq!(record.owner, UNCLAIMED_OWNER, "no owner attribute: unclaimed");
        assert_eq!((record.refresh_token_received_ms, record.version), (1_000, 3));
        item.insert("version".into(), n(-1));
        assert!(matches!(decode_authorizer("k", &item), Err(StoreError::Corrupt { .. })));
        item.insert("version".into(), n(3));
        item.insert("status".into(), s("gone"));
        assert!(matches!(decode_authorizer("k", &item), Err(StoreError::Corrupt { .. })));
        item.insert("status".into(), s("authorized"));
        decode_authorizer("k", &item).unwrap();
        item.remove("refresh_token_received_ms");
        assert!(decode_authorizer("k", &item).is_err(), "every record has its refresh token's receive time");
    }
}
