//! Parametric QR codes (`qrcode/create`; the image from `showqrcode`) and the JS-SDK ticket
//! (`ticket/getticket`): the account-facing APIs of account-setup.
//!
//! QR codes:
//! (<https://developers.weixin.qq.com/doc/offiaccount/Account_Management/Generating_a_Parametric_QR_Code.html>).
//! Permission set 3.

use serde_json::Value;

use super::{ApiError, WeChatClient, transport};
use crate::secret::Secret;

/// Where WeChat serves a code's image (`showqrcode`, no token: the ticket is the credential).
const SHOWQRCODE_HOST: &str = "https://mp.weixin.qq.com";
/// The largest image taken from `showqrcode` (WeChat's are about 30 KB).
const MAX_IMAGE_BYTES: usize = 1024 * 1024;

/// What `qrcode/create` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrTicket {
    /// The ticket: the code's image is `showqrcode?ticket=`, and scans' pushes carry it.
    pub ticket: String,
    /// The temporary code's life in seconds (`None`: permanent).
    pub expire_seconds: Option<i64>,
    /// The text the code holds (a `weixin.qq.com/q/…` link).
    pub url: String,
}

impl WeChatClient {
    /// `qrcode/create` with `request` (`{action_name, action_info: {scene}, expire_seconds?}`,
    /// already checked).
    ///
    /// # Errors
    /// [`ApiError`] (48001: permission set 3 not granted).
    pub async fn create_qrcode(&self, authorizer_token: &Secret, request: &Value) -> Result<QrTicket, ApiError> {
        let call = "qrcode/create";
        let token = Some(("access_token", authorizer_token));
        let answer: Value = self.post_with(call, "/cgi-bin/qrcode/create", token, request).await?;
        let text = |name: &str| answer.get(name).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
        let ticket = text("ticket").ok_or_else(|| ApiError::Decode { call, message: "no ticket".to_owned() })?;
        Ok(QrTicket {
            ticket,
            expire_seconds: answer.get("expire_seconds").and_then(Value::as_i64),
            url: text("url").unwrap_or_default(),
        })
    }

    /// The image of the code with `ticket` (its bytes and content type). WeChat serves it from
    /// `mp.weixin.qq.com`; a client pointed at another API host (the local stand-in) asks that
    /// host, which serves both.
    ///
    /// # Errors
    /// [`ApiError::Http`] (404: an unknown or expired ticket), [`ApiError::Transport`],
    /// [`ApiError::Decode`] for an answer over 1 MiB.
    pub async fn qrcode_image(&self, ticket: &str) -> Result<(Vec<u8>, String), ApiError> {
        let call = "showqrcode";
        let host = if self.base == crate::config::DEFAULT_API_BASE { SHOWQRCODE_HOST } else { self.base.as_str() };
        let response = self
            .http
            .get(format!("{host}/cgi-bin/showqrcode"))
            .query(&[("ticket", ticket)])
            .send()
            .await
            .map_err(|e| transport(call, &e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ApiError::Http { call, status: status.as_u16() });
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .filter(|t| t.starts_with("image/"))
            .unwrap_or("image/jpeg")
            .to_owned();
        let bytes = response.bytes().await.map_err(|e| transport(call, &e))?;
        if bytes.len() > MAX_IMAGE_BYTES {
            return Err(ApiError::Decode { call, message: format!("an image of {} bytes", bytes.len()) });
        }
        Ok((bytes.to_vec(), content_type))
    }
}

impl WeChatClient {
    /// `ticket/getticket?type=jsapi`: the account's jsapi_ticket and its life in seconds
    /// (<https://developers.weixin.qq.com/doc/service/api/invoice/auth/api_getticket.html>). Called
    /// with the *authorizer's* token: the ticket is the account's, never the platform's.
    ///
    /// # Errors
    /// [`ApiError`] (45009: the account's daily quota for it is spent).
    pub async fn jsapi_ticket(&self, authorizer_token: &Secret) -> Result<(Secret, i64), ApiError> {
        let call = "ticket/getticket";
        let answer: Value = self.get(call, "/cgi-bin/ticket/getticket", authorizer_token, &[("type", "jsapi")]).await?;
        let ticket = answer.get("ticket").and_then(Value::as_str).filter(|t| !t.is_empty());
        let ticket = ticket.ok_or_else(|| ApiError::Decode { call, message: "no ticket".to_owned() })?;
        Ok((Secret::new(ticket), answer.get("expires_in").and_then(Value::as_i64).unwrap_or(7200)))
    }
}
