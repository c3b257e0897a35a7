//! Mass sends (群发): `message/mass/preview`, `message/mass/sendall` (everyone or a tag),
//! `message/mass/send` (a list of OpenIDs) and `message/mass/get`
//! (<https://developers.weixin.qq.com/doc/service/api/notify/message/api_sendall> and the pages
//! beside it; permission set 7). None of them is retried here: a repeat of a send whose answer
//! was lost would reach every follower twice. WeChat's own guard is `clientmsgid` (45065 for one
//! already used within 24 hours), which the platform always sends.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, WeChatClient};
use crate::secret::Secret;

/// A mass send's ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MassSent {
    /// `msg_id`, as text.
    pub msg_id: String,
    /// `msg_data_id` (an mpnews send's article data), when WeChat gives one.
    pub msg_data_id: Option<String>,
}

impl WeChatClient {
    /// `message/mass/preview` of `body` (`touser` and the message): WeChat's `msg_id`, if any.
    ///
    /// # Errors
    /// [`ApiError`] (43004: not a follower).
    pub async fn mass_preview(&self, authorizer_token: &Secret, body: &Value) -> Result<(), ApiError> {
        let token = Some(("access_token", authorizer_token));
        let _: Value = self.attempt("message/mass/preview", "/cgi-bin/message/mass/preview", token, body).await?;
        Ok(())
    }

    /// `message/mass/sendall` (`filter` set) or `message/mass/send` (`touser` set) of `body`.
    ///
    /// # Errors
    /// [`ApiError`] (45065: the `clientmsgid` was used within 24 hours; 45028: no mass-send quota
    /// left; 48003: the account's admin has not agreed to the mass-send terms; 40130: fewer than
    /// two OpenIDs).
    pub async fn mass_send(&self, authorizer_token: &Secret, body: &Value) -> Result<MassSent, ApiError> {
        let token = Some(("access_token", authorizer_token));
        let (call, path) = if body.get("filter").is_some() {
            ("message/mass/sendall", "/cgi-bin/message/mass/sendall")
        } else {
            ("message/mass/send", "/cgi-bin/message/mass/send")
        };
        let out: Value = self.attempt(call, path, token, body).await?;
        let msg_id = super::wire::id_text(out.get("msg_id"))
            .ok_or_else(|| ApiError::Decode { call, message: "no msg_id in the answer".into() })?;
        Ok(MassSent { msg_id, msg_data_id: super::wire::id_text(out.get("msg_data_id")) })
    }

    /// `message/mass/get`: WeChat's state of a mass send (`msg_status`: `SEND_SUCCESS`,
    /// `SENDING`, `SEND_FAIL`, `DELETE`).
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn mass_status(&self, authorizer_token: &Secret, msg_id: &str) -> Result<MassStatus, ApiError> {
        let token = Some(("access_token", authorizer_token));
        let body = json!({"msg_id": msg_id});
        self.post_with("message/mass/get", "/cgi-bin/message/mass/get", token, &body).await
    }
}

/// WeChat's state of a mass send (`message/mass/get`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct MassStatus {
    /// `SEND_SUCCESS`, `SENDING`, `SEND_FAIL`, `DELETE`; `None`: WeChat did not say.
    #[serde(default, deserialize_with = "super::wire::text")]
    pub msg_status: Option<String>,
}
