//! The account's custom menu at WeChat: publish (`menu/create`), read back (`menu/get`, which
//! also shows a menu set in WeChat's own backend) and delete (`menu/delete`)
//! (<https://developers.weixin.qq.com/doc/service/api/custommenu/api_createcustommenu>,
//! <https://developers.weixin.qq.com/doc/service/api/custommenu/api_getmenu>); conditional menus
//! for the followers a tag or a client platform names (`menu/addconditional`, `delconditional`,
//! `trymatch`, <https://developers.weixin.qq.com/doc/service/api/custommenu/api_addconditionalmenu>).
//! Permission set 15.

use serde_json::Value;

use super::{ApiError, WeChatClient};
use crate::secret::Secret;

/// The account's menus as `menu/get` answers them.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveMenu {
    /// The default menu, `{"button": [...]}` (WeChat's `menuid` left out).
    pub menu: Value,
    /// The conditional menus, oldest first, each with its `button`, `matchrule` and `menuid`.
    pub conditional: Vec<Value>,
}

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

    /// `menu/get`: the default menu and the conditional ones as WeChat has them; `None` when the
    /// account has none (46003).
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn menu(&self, authorizer_token: &Secret) -> Result<Option<LiveMenu>, ApiError> {
        match self.get::<Value>("menu/get", "/cgi-bin/menu/get", authorizer_token, &[]).await {
            Ok(answer) => Ok(answer.get("menu").map(|menu| LiveMenu {
                menu: serde_json::json!({"button": menu.get("button").cloned().unwrap_or_default()}),
                conditional: answer.get("conditionalmenu").and_then(Value::as_array).cloned().unwrap_or_default(),
            })),
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

    /// `menu/addconditional` with `menu` (`{"button": [...], "matchrule": {...}}`, already
    /// checked): WeChat's `menuid`.
    ///
    /// # Errors
    /// [`ApiError`] (65303 no default menu, 65304 empty rule, 45159 unknown tag, 65316 domains).
    pub async fn add_conditional_menu(&self, authorizer_token: &Secret, menu: &Value) -> Result<String, ApiError> {
        let token = Some(("access_token", authorizer_token));
        let answer: Value = self.post_with("menu/addconditional", "/cgi-bin/menu/addconditional", token, menu).await?;
        Ok(match answer.get("menuid") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        })
    }

    /// `menu/delconditional`.
    ///
    /// # Errors
    /// [`ApiError`] (65301 no such menu).
    pub async fn delete_conditional_menu(&self, authorizer_token: &Secret, menuid: &str) -> Result<(), ApiError> {
        let token = Some(("access_token", authorizer_token));
        let body = serde_json::json!({"menuid": menuid});
        let _: Value = self.post_with("menu/delconditional", "/cgi-bin/menu/delconditional", token, &body).await?;
        Ok(())
    }

    /// `menu/trymatch`: the menu the follower `openid` sees (`{"button": [...]}`).
    ///
    /// # Errors
    /// [`ApiError`] (65302 no such follower).
    pub async fn try_match_menu(&self, authorizer_token: &Secret, openid: &str) -> Result<Value, ApiError> {
        let token = Some(("access_token", authorizer_token));
        let body = serde_json::json!({"user_id": openid});
        self.post_with("menu/trymatch", "/cgi-bin/menu/trymatch", token, &body).await
    }
}
