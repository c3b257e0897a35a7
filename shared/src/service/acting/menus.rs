//! The account's custom menu: read back from WeChat (a menu set in WeChat's own backend shows as
//! it is), published after the platform's own check of WeChat's rules (`crate::menu`: the
//! offending button named, nothing sent), and deleted explicitly. A `media_id` button may name a
//! media handle of the account's permanent material: WeChat gets its `media_id`.

use serde_json::Value;

use super::{ActError, Caller, usable_media_id};
use crate::media::{Kind, Lifetime, is_handle};
use crate::menu::{Action, Menu};
use crate::service::Platform;
use crate::store::TokenStore;

impl<S: TokenStore> Platform<S> {
    /// The account's menu as WeChat has it (`{"button": [...]}`); `None` when it has none.
    ///
    /// # Errors
    /// The account's states; WeChat's refusal (61007: permission set 15 not granted).
    pub async fn menu(&self, caller: &Caller, appid: &str) -> Result<Option<Value>, ActError> {
        let record = self.account_for(caller, appid).await?;
        self.with_account_token(record, false, |token| async move { self.wechat.menu(&token).await }).await
    }

    /// Checks `document` against WeChat's rules, resolves media handles, and publishes it; the
    /// menu as published (WeChat's form).
    ///
    /// # Errors
    /// [`ActError::Invalid`] naming the button and field; [`ActError::NoMedium`]; the account's
    /// states; WeChat's refusal.
    pub async fn publish_menu(&self, caller: &Caller, appid: &str, document: &Value) -> Result<Value, ActError> {
        let record = self.account_for(caller, appid).await?;
        let mut menu = Menu::from_value(document).map_err(|e| ActError::Invalid(e.to_string()))?;
        self.resolve_menu_media(appid, &mut menu).await?;
        let wire = menu.to_value();
        let sent = &wire;
        self.with_account_token(record, false, |token| async move { self.wechat.create_menu(&token, sent).await })
            .await?;
        tracing::info!(authorizer = %appid, buttons = menu.leaves().len(), "menu published");
        Ok(wire)
    }

    /// Deletes the account's menu (WeChat deletes the conditional menus with it).
    ///
    /// # Errors
    /// The account's states; WeChat's refusal.
    pub async fn delete_menu(&self, caller: &Caller, appid: &str) -> Result<(), ActError> {
        let record = self.account_for(caller, appid).await?;
        self.with_account_token(record, false, |token| async move { self.wechat.delete_menu(&token).await }).await?;
        tracing::info!(authorizer = %appid, "menu deleted");
        Ok(())
    }

    /// Each `media_id` button naming a handle gets the medium's `media_id`: it must be the
    /// account's permanent material (WeChat's menus take no temporary media).
    async fn resolve_menu_media(&self, appid: &str, menu: &mut Menu) -> Result<(), ActError> {
        for (path, button) in menu.leaves_mut() {
            let Some(Action::Media { media_id, .. }) = &mut button.action else { continue };
            if !is_handle(media_id) {
                continue;
            }
            let medium = self.store.medium(appid, media_id).await?;
            if medium.as_ref().is_some_and(|m| m.lifetime != Lifetime::Permanent) {
                return Err(ActError::Invalid(format!(
                    "{path}.media_id: a temporary medium; a menu takes permanent material only"
                )));
            }
            *media_id = usable_media_id(medium.as_ref(), &Kind::ALL, self.now())?;
        }
        Ok(())
    }
}
