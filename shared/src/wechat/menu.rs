//! The account's custom menu at WeChat: publish (`menu/create`), read back (`menu/get`, which
//! also shows a menu set in WeChat's own backend) and delete (`menu/delete`)
//! (<https://developers.weixin.qq.com/doc/service/api/custommenu/api_createcustommenu>,
//! <https://developers.weixin.qq.com/doc/service/api/custommenu/api_getmenu>). Permission set 15.

use serde_json::Value;

use super::{ApiError, WeChatClient};
use crate::secret::Secret;

/// WeChat's answer to `menu/get` for an account without a menu.
const NO_MENU: i64 = 46003;

impl WeChatClient {
    /// `menu/create` with `menu` (`{"button": [...]}`, already checked): replaces the default menu.
    ///
    /// # Errors
    /// [`ApiError`] (40016–40027 a button WeChat refuses, 65316 too many link domains, 61007 set
    /// 15 not granted).
    pub async fn create_menu(&self, authorizer_token: &Secret, menu: &Value) -> Result<(), ApiError> {
        let token = Some(("access_token", authorizer_token));
        let _: Value = self.post_with("menu/create", "/cgi-bin/menu/create", token, menu).await?;
        Ok(())
    }

    /// `menu/get`: the default menu (`{"button": [...]}`) as WeChat has it; `None` when the
    /// account has none (46003).
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn menu(&self, authorizer_token: &Secret) -> Result<Option<Value>, ApiError> {
        match self.get::<Value>("menu/get", "/cgi-bin/menu/get", authorizer_token, &[]).await {
            Ok(answer) => Ok(answer.get("menu").cloned()),
            Err(err) if err.errcode() == Some(NO_MENU) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// `menu/delete`: the default menu and every conditional one.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn delete_menu(&self, authorizer_token: &Secret) -> Result<(), ApiError> {
        let _: Value = self.get("menu/delete", "/cgi-bin/menu/delete", authorizer_token, &[]).await?;
        Ok(())
    }
}
