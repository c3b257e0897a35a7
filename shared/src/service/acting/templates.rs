//! The account's templates (added from WeChat's library: template ids belong to each account) and
//! template messages sent as it, each kept with the delivery status WeChat pushes later.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ActError, Caller, checked_key};
use crate::input::{self, Bounded, Text};
use crate::service::records::{Record, TemplateFinished, TemplateSent};
use crate::service::{Acting, ActingStore};
use crate::store::MarkerKey;

impl<S: ActingStore> Acting<'_, S> {
    /// The account's templates, as WeChat lists them.
    ///
    /// # Errors
    /// [`ActError`].
    pub async fn templates_of(&self, caller: &Caller, appid: &str) -> Result<Vec<Value>, ActError> {
        let record = self.account_for(caller, appid).await?;
        self.with_account_token(record, false, |token| async move { self.wechat.private_templates(&token).await }).await
    }

    /// Adds a template of WeChat's library to the account; its id for this account.
    ///
    /// # Errors
    /// [`ActError`]; [`ActError::Invalid`] for a request without `template_id_short`.
    pub async fn add_template(&self, caller: &Caller, appid: &str, request: &Value) -> Result<Value, ActError> {
        let AddTemplate { template_id_short, keyword_name_list: keywords } =
            input::from_value(request).map_err(ActError::Invalid)?;
        if keywords.len() > 10 {
            return Err(ActError::Invalid("keyword_name_list must be a list of at most 10 names".to_owned()));
        }
        let short = &*template_id_short;
        let record = self.account_for(caller, appid).await?;
        let keywords = &keywords;
        let template_id = self
            .with_account_token(record, false, |token| async move {
                self.wechat.add_template(&token, short, keywords).await
            })
            .await?;
        tracing::info!(authorizer = %appid, template_id_short = short, "template added");
        Ok(json!({"template_id": template_id}))
    }

    /// Sends a template message as the account and keeps its record (30 days), whose status the
    /// `TEMPLATESENDJOBFINISH` push fills in. The idempotency key doubles as WeChat's
    /// `client_msg_id`, so even a request whose answer was lost is not delivered twice by WeChat
    /// within its 10 minutes.
    ///
    /// # Errors
    /// [`ActError`].
    pub async fn send_template_message(
        &self,
        caller: &Caller,
        appid: &str,
        request: &Value,
        idempotency_key: Option<&str>,
    ) -> Result<Value, ActError> {
        let mut body = template_body(request).map_err(ActError::Invalid)?;
        if let Some(key) = idempotency_key {
            checked_key(key)?;
            if body.get("client_msg_id").is_none() {
                body["client_msg_id"] = json!(crate::crypto::signature(&[caller.key(), "\n", key])[..32]);
            }
        }
        let record = self.account_for(caller, appid).await?;
        self.spend(crate::service::SENDS, caller.key()).await?;
        let body = &body;
        let msgid = self
            .with_account_token(record, true, |token| async move { self.wechat.send_template(&token, body).await })
            .await?;
        let kept = TemplateSent {
            msgid: msgid.clone(),
            touser: body["touser"].clone(),
            template_id: body["template_id"].clone(),
            sent_at: self.now(),
            status: "sent".to_owned(),
            sent_by: caller.key().to_owned(),
        };
        let key = MarkerKey::template_message(appid, &msgid);
        if let Err(err) = self
            .store
            .remember_value(&key, &kept.to_json(), crate::service::hand_off::TEMPLATE_RECORD_SECS, self.now())
            .await
        {
            tracing::warn!(authorizer = %appid, error = %err, "template message sent but its record not kept");
        }
        tracing::info!(authorizer = %appid, msgid = %msgid, "template message sent");
        Ok(json!({"msgid": msgid, "status": "sent"}))
    }

    /// A template message's record: to whom, which template, its delivery status.
    ///
    /// # Errors
    /// [`ActError::NotFound`] for a message this platform does not know (or another user's account).
    pub async fn template_message(&self, caller: &Caller, appid: &str, msgid: &str) -> Result<Value, ActError> {
        if msgid.is_empty() || msgid.len() > 32 || !msgid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ActError::Invalid("msgid must be WeChat's number".to_owned()));
        }
        // Owner-scoped like everything else; a revoked account's history stays readable.
        self.owned_account(caller, appid).await?;
        let now = self.now();
        let sent = self.store.recall(&MarkerKey::template_message(appid, msgid), now).await?;
        let finished = self.store.recall(&MarkerKey::template_finished(appid, msgid), now).await?;
        if sent.is_none() && finished.is_none() {
            return Err(ActError::NotFound);
        }
        // What the send recorded, then what WeChat's push said (a message sent elsewhere has only that).
        let mut kept = TemplateSent::read(sent.as_deref()).map(|r| r.fields()).unwrap_or_default();
        kept.extend(TemplateFinished::read(finished.as_deref()).map(|r| r.fields()).unwrap_or_default());
        kept.remove("sent_by");
        kept.insert("msgid".to_owned(), json!(msgid));
        kept.entry("status").or_insert(json!("sent"));
        Ok(Value::Object(kept))
    }
}

/// `POST …/templates`: a template of WeChat's library (`template_id_short`), with the keywords
/// the account wants of it.
#[derive(Deserialize)]
struct AddTemplate {
    template_id_short: Text<64>,
    #[serde(default)]
    keyword_name_list: Vec<String>,
}

/// A template message request checked: `touser`, `template_id`, `data` (`{key: {value}}`),
/// optional `url`, `miniprogram{appid, pagepath}` and `client_msg_id`; only these are sent.
fn template_body(request: &Value) -> Result<Value, String> {
    let request: TemplateRequest = input::from_value(request)?;
    if request.data.is_empty() || request.data.len() > 20 {
        return Err("data must hold 1 to 20 keywords".to_owned());
    }
    if let Some(url) = &request.url {
        let parsed = url::Url::parse(url).map_err(|_| "url must be an absolute URL".to_owned())?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err("url must be http or https".to_owned());
        }
    }
    serde_json::to_value(request).map_err(|e| e.to_string())
}

/// `message/template/send`'s body as callers write it (WeChat's own shape); what WeChat does not
/// read (a keyword's retired `color`, unknown fields) is dropped.
/// <https://developers.weixin.qq.com/doc/service/api/notify/template/api_sendtemplatemessage>
#[derive(Deserialize, Serialize)]
struct TemplateRequest {
    touser: Text<128>,
    template_id: Text<128>,
    data: BTreeMap<String, Keyword>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<Text<1024>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    miniprogram: Option<MiniProgram>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_msg_id: Option<Text<64>>,
}

#[derive(Deserialize, Serialize)]
struct Keyword {
    value: Bounded<1024>,
}

#[derive(Deserialize, Serialize)]
struct MiniProgram {
    appid: Text<64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pagepath: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Value {
        json!({"touser": "o_1", "template_id": "t_1", "data": {"thing2": {"value": "键盘", "color": "#f00"}}})
    }

    #[test]
    fn a_template_request_keeps_only_what_wechat_takes() {
        let mut asked = request();
        asked["url"] = json!("https://shop.example/orders/42");
        asked["miniprogram"] = json!({"appid": "wx_mini", "pagepath": "pages/order", "extra": 1});
        asked["unknown"] = json!("dropped");
        let body = template_body(&asked).unwrap();
        assert_eq!(
            body,
            json!({"touser": "o_1", "template_id": "t_1", "data": {"thing2": {"value": "键盘"}},
                   "url": "https://shop.example/orders/42", "miniprogram": {"appid": "wx_mini", "pagepath": "pages/order"}})
        );
    }

    /// A change that spoils a good request.
    type Spoil = fn(&mut Value);

    #[test]
    fn a_bad_template_request_names_its_field() {
        let cases: [(Spoil, &str); 7] = [
            (|r| r["touser"] = json!(""), "touser is empty"),
            (|r| r["template_id"] = json!(7), "template_id must be a string"),
            (|r| r["data"] = json!({}), "data must hold 1 to 20 keywords"),
            (|r| r["data"] = json!({"k": {"value": 1}}), "data.k.value must be a string"),
            (|r| r["data"] = json!({"k": {"value": "长".repeat(342)}}), "data.k.value is longer than 1024 bytes"),
            (|r| r["url"] = json!("ftp://x.example/"), "url must be http or https"),
            (|r| r["miniprogram"] = json!({"pagepath": "p"}), "miniprogram.appid is missing"),
        ];
        for (spoil, message) in cases {
            let mut asked = request();
            spoil(&mut asked);
            assert_eq!(template_body(&asked).unwrap_err(), message, "{asked}");
        }
        assert_eq!(template_body(&json!([])).unwrap_err(), "the body must be an object");
    }
}
