//! What the platform keeps about a send or a publication between the call that made it and the
//! push that reports its outcome. Each record is written by one use case and read by another (the
//! outcome by `inbound.rs` when WeChat pushes it, the call's record by the capability that made
//! the call, and both read back by that capability), so each is one type here, kept as JSON in a
//! marker's value: the writer and the reader cannot drift apart. A field an older record lacks
//! reads as its default.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::Timestamp;

/// A record kept as JSON.
pub(crate) trait Record: Serialize + for<'de> Deserialize<'de> {
    /// The JSON kept.
    fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The record in `text` (`None`: absent, or not one of these).
    fn read(text: Option<&str>) -> Option<Self> {
        text.and_then(|text| serde_json::from_str(text).ok())
    }

    /// The record's fields, to answer with.
    fn fields(&self) -> serde_json::Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(fields)) => fields,
            _ => serde_json::Map::new(),
        }
    }
}

/// A template message sent (`acting/templates.rs`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct TemplateSent {
    pub(crate) msgid: String,
    pub(crate) touser: Value,
    pub(crate) template_id: Value,
    pub(crate) sent_at: Timestamp,
    pub(crate) status: String,
    /// Who sent it: for the platform's logs, never answered.
    pub(crate) sent_by: String,
}

impl Record for TemplateSent {}

/// WeChat's `TEMPLATESENDJOBFINISH` push (`inbound.rs`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct TemplateFinished {
    pub(crate) touser: String,
    pub(crate) status: String,
    pub(crate) finished_at: Timestamp,
}

impl Record for TemplateFinished {}

/// A draft submitted for publication (`acting/publishing.rs`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct PublicationSubmitted {
    pub(crate) media_id: String,
    /// Who submitted it: for the platform's logs, never answered.
    pub(crate) submitted_by: String,
    pub(crate) submitted_at: Timestamp,
}

impl Record for PublicationSubmitted {}

/// WeChat's `PUBLISHJOBFINISH` push (`inbound.rs`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct PublicationFinished {
    pub(crate) publish_status: i64,
    pub(crate) status: String,
    pub(crate) article_id: Option<String>,
    pub(crate) article_urls: Vec<String>,
    pub(crate) fail_idx: Vec<i64>,
    pub(crate) finished_at: Timestamp,
}

impl Record for PublicationFinished {}

/// A mass send made (`acting/mass_send.rs`), kept under its key and under WeChat's `msg_id`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct MassSent {
    pub(crate) msg_id: String,
    pub(crate) msg_data_id: Option<String>,
    /// The audience: `{"all": true}`, `{"tag_id": N}` or `{"openids": <how many>}`.
    pub(crate) to: Value,
    pub(crate) msgtype: String,
    pub(crate) sent_at: Timestamp,
    /// The send's fingerprint ([`crate::service::MassRequest::fingerprint`]): another send under
    /// the same key is refused. Absent from records kept before fingerprints were.
    pub(crate) request: Option<String>,
}

impl Record for MassSent {}

/// WeChat's `MASSSENDJOBFINISH` push (`inbound.rs`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct MassFinished {
    pub(crate) status: String,
    pub(crate) total_count: i64,
    pub(crate) filter_count: i64,
    pub(crate) sent_count: i64,
    pub(crate) error_count: i64,
    pub(crate) finished_at: Timestamp,
}

impl Record for MassFinished {}

/// A customer-service send made under an idempotency key, kept so that the key's retry gets the
/// first result (`acting/customer_service.rs`): one outcome, and the send's fingerprint (absent in
/// records kept before fingerprints were, which replay as they did).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct CustomSendResult {
    /// WeChat took it: the answer the caller got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ok: Option<Value>,
    /// WeChat refused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) refused: Option<SendRefused>,
    /// WeChat's answer was lost: it may have been sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) unknown: bool,
    /// Nothing reached WeChat.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) failed: bool,
    /// The send's fingerprint (`message`).
    #[serde(default, rename = "message", skip_serializing_if = "Option::is_none")]
    pub(crate) fingerprint: Option<String>,
}

/// WeChat's refusal of a kept send.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct SendRefused {
    #[serde(default)]
    pub(crate) errcode: Option<i64>,
    #[serde(default)]
    pub(crate) call: String,
}

impl Record for CustomSendResult {}

/// What a web authorization asks for, kept from its start (minted by a site's server, or opened
/// by the follower's browser) until WeChat's redirect (`web_auth/`). Every field but `user_ref`
/// is required: a record without one is no start at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WebRequest {
    pub(crate) appid: String,
    pub(crate) scope: String,
    pub(crate) return_to: String,
    /// The site's user a minted start binds the follower to.
    #[serde(default)]
    pub(crate) user_ref: Option<String>,
}

impl Record for WebRequest {}

/// Who a follower is, kept under a ticket until the site's server redeems it (`web_auth/`); the
/// redemption answers these fields. Only the account is required (a ticket is redeemed on its
/// own account's route); the rest read as their defaults when absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WebIdentity {
    pub(crate) authorizer_appid: String,
    #[serde(default)]
    pub(crate) openid: String,
    #[serde(default)]
    pub(crate) unionid: Option<String>,
    #[serde(default)]
    pub(crate) scope: String,
    #[serde(default)]
    pub(crate) user_ref: Option<String>,
    /// `{nickname, headimgurl}` for `snsapi_userinfo`, else `null`.
    #[serde(default)]
    pub(crate) profile: Value,
    #[serde(default)]
    pub(crate) authorized_at: Timestamp,
}

impl Record for WebIdentity {}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_record_reads_back_as_written_and_an_older_one_with_its_defaults() {
        let sent = MassSent {
            msg_id: "1000001".into(),
            msg_data_id: None,
            to: json!({"all": true}),
            msgtype: "text".into(),
            sent_at: 1_800_000_000,
            request: Some("abc".into()),
        };
        assert_eq!(MassSent::read(Some(&sent.to_json())), Some(sent));
        // Kept before fingerprints were: no `request`.
        let older = r#"{"msg_id":"7","msg_data_id":null,"to":{"tag_id":101},"msgtype":"mpnews","sent_at":1}"#;
        let older = MassSent::read(Some(older)).expect("an older record");
        assert_eq!((older.msg_id.as_str(), older.request), ("7", None));
        assert_eq!(MassSent::read(Some("not json")), None);
        assert_eq!(MassSent::read(None), None);
    }

    #[test]
    fn a_web_start_needs_every_field_but_its_user_and_an_identity_only_its_account() {
        let request = WebRequest {
            appid: "wx1".into(),
            scope: "snsapi_base".into(),
            return_to: "https://shop.example/back".into(),
            user_ref: None,
        };
        assert_eq!(WebRequest::read(Some(&request.to_json())), Some(request));
        assert_eq!(WebRequest::read(Some(r#"{"appid":"wx1","scope":"snsapi_base"}"#)), None, "no return_to: no start");
        let identity = WebIdentity::read(Some(r#"{"authorizer_appid":"wx1","openid":"o1"}"#)).expect("an identity");
        assert_eq!((identity.openid.as_str(), identity.profile.is_null(), identity.authorized_at), ("o1", true, 0));
        assert_eq!(WebIdentity::read(Some(r#"{"openid":"o1"}"#)), None, "no account: not redeemable");
    }

    #[test]
    fn a_kept_send_is_written_as_before_so_records_kept_by_the_last_build_replay() {
        let sent =
            CustomSendResult { ok: Some(json!({"sent": true})), fingerprint: Some("f1".into()), ..Default::default() };
        assert_eq!(sent.to_json(), r#"{"ok":{"sent":true},"message":"f1"}"#);
        let refused = CustomSendResult {
            refused: Some(SendRefused { errcode: Some(45015), call: "message/custom/send".into() }),
            ..Default::default()
        };
        assert_eq!(refused.to_json(), r#"{"refused":{"errcode":45015,"call":"message/custom/send"}}"#);
        assert_eq!(CustomSendResult { failed: true, ..Default::default() }.to_json(), r#"{"failed":true}"#);
    }
}
