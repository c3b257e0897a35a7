//! An account's API quota: read per API (`openapi/quota/get`,
//! <https://developers.weixin.qq.com/doc/service/api/apimanage/api_getapiquota>) and reset with the
//! account's token (`clear_quota`) or, when its token calls are themselves exhausted, with the
//! component's secret (`component/clear_quota/v2`,
//! <https://developers.weixin.qq.com/doc/oplatform/openApi/openapi/api_componentclearquota_v2.html>).
//! A call made on an account's behalf spends the account's own quota
//! (<https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/openApi/clear_quota.html>).

use serde_json::{Value, json};

use super::{ApiError, WeChatClient};
use crate::secret::Secret;

impl WeChatClient {
    /// `openapi/quota/get` for `cgi_path` (`/cgi-bin/message/custom/send`): WeChat's answer
    /// (`quota{daily_limit, used, remain}`, `rate_limit`, `component_rate_limit`).
    ///
    /// # Errors
    /// [`ApiError`] (76021: a path WeChat does not know).
    pub async fn api_quota(&self, authorizer_token: &Secret, cgi_path: &str) -> Result<Value, ApiError> {
        let token = Some(("access_token", authorizer_token));
        let answer: Value = self
            .post_with("openapi/quota/get", "/cgi-bin/openapi/quota/get", token, &json!({"cgi_path": cgi_path}))
            .await?;
        Ok(super::wire::answer_only(answer))
    }

    /// `clear_quota` for `appid` with its own token.
    ///
    /// # Errors
    /// [`ApiError`] (48006: the month's 10 resets are used).
    pub async fn clear_quota(&self, authorizer_token: &Secret, appid: &str) -> Result<(), ApiError> {
        let token = Some(("access_token", authorizer_token));
        let _: Value = self.post_with("clear_quota", "/cgi-bin/clear_quota", token, &json!({"appid": appid})).await?;
        Ok(())
    }

    /// `component/clear_quota/v2` for the account `appid`, with the component's AppSecret (no
    /// token needed: it works when the token calls are what is exhausted).
    ///
    /// # Errors
    /// [`ApiError`] (48006; a missing secret).
    pub async fn clear_quota_with_secret(&self, appid: &str) -> Result<(), ApiError> {
        self.require_secret("component/clear_quota/v2")?;
        let body = json!({
            "component_appid": self.component_appid,
            "appsecret": self.component_secret.expose(),
            "appid": appid,
        });
        let _: Value =
            self.post_with("component/clear_quota/v2", "/cgi-bin/component/clear_quota/v2", None, &body).await?;
        Ok(())
    }
}
