//! The account's custom menu as a versioned document, like the reply rules: read with its
//! version, replaced by a caller naming the version it replaces (`If-Match`), checked against
//! WeChat's rules first (`crate::menu`: the offending button named, nothing sent), published with
//! `menu/create`, and only then stored, all under one lease per account so that WeChat and the
//! store never keep two different menus. What WeChat has is read back beside it: a menu set in
//! WeChat's own backend shows as it is, and `in_sync` says whether it is still the one published
//! here. A `media_id` button may name a media handle of the account's permanent material (kept as
//! a handle in the document, WeChat gets its `media_id`).
//!
//! Conditional menus (by tag or client platform) live at WeChat only: WeChat gives each a
//! `menuid` and has no edit, so they are added, listed (with the default menu) and deleted.
//!
//! Each click key is linked to the reply rule that answers it, and what does not meet is flagged:
//! a menu key no rule answers, a click rule whose key no menu carries.

use serde::Serialize;
use serde_json::{Value, json};

use super::{ActError, Caller, DocumentError, usable_media_id};
use crate::media::{Kind, Lifetime, is_handle};
use crate::menu::{Action, ConditionalMenu, KeyKind, Menu};
use crate::rules::{RuleSet, Trigger};
use crate::service::component_token::holder_id;
use crate::service::{ActingStore, Setup};
use crate::store::{DocumentKind, DocumentStore, FollowerStore, LeaseName, MediaStore, StoreError, Timestamp};

/// The permission set menus need (WeChat: 61007 without it).
const MENU_SETS: &[i64] = &[15];
const MENU_WHAT: &str = "自定义菜单, the custom menu";

/// How long a publication may hold the account's menu lease (a WeChat call and a store write).
const MENU_LEASE_SECS: i64 = 30;

/// The account's menu: the document kept here, what WeChat has, and how they meet the rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MenuState {
    /// The version of the document kept here (0: never saved); the `ETag`.
    pub version: u64,
    /// When and by whom it was saved.
    pub updated_at: Option<Timestamp>,
    /// Who saved it (a dashboard identity or a backend caller).
    pub updated_by: Option<String>,
    /// The menu as its editors wrote it (media handles kept); `null` when never saved here or
    /// deleted.
    pub menu: Option<Value>,
    /// The default menu WeChat has now (`null`: none).
    pub live: Option<Value>,
    /// The conditional menus WeChat has, oldest first (each with `button`, `matchrule`, `menuid`).
    pub conditional: Vec<Value>,
    /// Whether WeChat's default menu is the one last published here (false after a change in
    /// WeChat's own backend).
    pub in_sync: bool,
    /// Each key of the menu that pushes a click and the rule that answers it.
    pub keys: Vec<KeyLink>,
    /// Click rules (by position in the reply rules) whose key no menu carries.
    pub unused_click_rules: Vec<usize>,
}

/// A menu key and the reply rule that answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyLink {
    /// Where the button is (`button[1].sub_button[0]`), in the default menu or a conditional one
    /// (`conditional[0].button[…]`).
    pub path: String,
    /// The button's key.
    pub key: String,
    /// The first click rule with that key (its position in the reply rules); `null`: a tap gets
    /// no reply.
    pub rule: Option<usize>,
}

impl<S: ActingStore + DocumentStore + FollowerStore + MediaStore> Setup<'_, S> {
    /// The account's menu: the kept document, what WeChat has, and the links to the rules.
    ///
    /// # Errors
    /// The account's states; WeChat's refusal (61007: permission set 15 not granted).
    pub async fn menu(&self, caller: &Caller, appid: &str) -> Result<MenuState, ActError> {
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, MENU_SETS, MENU_WHAT)?;
        let stored = self.store.document(DocumentKind::Menu, appid).await?;
        let live =
            self.with_account_token(record, false, |token| async move { self.wechat.menu(&token).await }).await?;
        let kept: Value = stored.as_ref().and_then(|s| serde_json::from_str(&s.document).ok()).unwrap_or_default();
        let published = kept.get("published").filter(|v| !v.is_null());
        let (live, conditional) = live.map_or((None, Vec::new()), |l| (Some(l.menu), l.conditional));
        let canonical = |menu: &Value| Menu::from_value(menu).map(|m| m.to_value()).unwrap_or_else(|_| menu.clone());
        let in_sync = match (published, &live) {
            (None, None) => true,
            (Some(published), Some(live)) => canonical(published) == canonical(live),
            _ => stored.is_none(),
        };
        let menu = kept.get("menu").filter(|v| !v.is_null()).cloned();
        let (keys, unused_click_rules) = self.key_links(appid, menu.as_ref().or(live.as_ref()), &conditional).await?;
        Ok(MenuState {
            version: stored.as_ref().map_or(0, |s| s.version),
            updated_at: stored.as_ref().map(|s| s.updated_at),
            updated_by: stored.map(|s| s.updated_by),
            menu,
            live,
            conditional,
            in_sync,
            keys,
            unused_click_rules,
        })
    }

    /// Checks `document` against WeChat's rules, resolves media handles, publishes it and keeps
    /// it as version `if_match + 1`; nothing is sent when the version is not the kept one.
    ///
    /// # Errors
    /// [`DocumentError`]: the check (naming the button and field), the version, a publication
    /// running, the account's states, WeChat's refusal.
    pub async fn save_menu(
        &self,
        caller: &Caller,
        appid: &str,
        document: &Value,
        if_match: Option<u64>,
    ) -> Result<MenuState, DocumentError> {
        let written = Menu::from_value(document).map_err(|e| ActError::Invalid(e.to_string()))?;
        let expected = if_match.ok_or(DocumentError::VersionRequired(DocumentKind::Menu))?;
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, MENU_SETS, MENU_WHAT)?;
        let mut wire = written.clone();
        self.resolve_menu_media(appid, &mut wire).await?;
        let wire = wire.to_value();
        let sent = &wire;
        self.under_menu_lease(appid, expected, caller, &written.to_value(), Some(&wire), || async move {
            self.with_account_token(record, false, |token| async move { self.wechat.create_menu(&token, sent).await })
                .await
        })
        .await?;
        tracing::info!(authorizer = %appid, buttons = written.leaves().len(), "menu published");
        Ok(self.menu(caller, appid).await?)
    }

    /// Deletes the account's menu at WeChat (the conditional ones go with it) and keeps "no
    /// menu" as version `if_match + 1`.
    ///
    /// # Errors
    /// As [`Setup::save_menu`].
    pub async fn delete_menu(
        &self,
        caller: &Caller,
        appid: &str,
        if_match: Option<u64>,
    ) -> Result<MenuState, DocumentError> {
        let expected = if_match.ok_or(DocumentError::VersionRequired(DocumentKind::Menu))?;
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, MENU_SETS, MENU_WHAT)?;
        self.under_menu_lease(appid, expected, caller, &Value::Null, None, || async move {
            self.with_account_token(record, false, |token| async move { self.wechat.delete_menu(&token).await }).await
        })
        .await?;
        tracing::info!(authorizer = %appid, "menu deleted");
        Ok(self.menu(caller, appid).await?)
    }

    /// Adds a conditional menu (checked like the default one, its tag one the account has);
    /// WeChat's `menuid`.
    ///
    /// # Errors
    /// [`ActError::Invalid`] naming the field; the account's states; WeChat's refusal (65303: no
    /// default menu yet).
    pub async fn add_conditional_menu(
        &self,
        caller: &Caller,
        appid: &str,
        document: &Value,
    ) -> Result<String, ActError> {
        let mut menu = ConditionalMenu::from_value(document).map_err(|e| ActError::Invalid(e.to_string()))?;
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, MENU_SETS, MENU_WHAT)?;
        self.resolve_menu_media(appid, &mut menu.menu).await?;
        if let Some(tag) = menu.rule.tag_id {
            let tags = self.tags_at_wechat(record.clone()).await?;
            if !tags.iter().any(|t| u64::try_from(t.id).ok() == Some(tag)) {
                return Err(ActError::Invalid(format!("matchrule.tag_id: the account has no tag {tag}")));
            }
        }
        let wire = menu.to_value();
        let sent = &wire;
        let menuid =
            self.with_account_token(record, false, |token| async move {
                self.wechat.add_conditional_menu(&token, sent).await
            })
            .await?;
        tracing::info!(authorizer = %appid, menuid, "conditional menu added");
        Ok(menuid)
    }

    /// Deletes a conditional menu by WeChat's `menuid`.
    ///
    /// # Errors
    /// The account's states; WeChat's refusal (65301: no such menu).
    pub async fn delete_conditional_menu(&self, caller: &Caller, appid: &str, menuid: &str) -> Result<(), ActError> {
        if menuid.is_empty() || menuid.len() > 32 || !menuid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ActError::Invalid("menuid must be the number WeChat gave the conditional menu".into()));
        }
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, MENU_SETS, MENU_WHAT)?;
        self.with_account_token(record, false, |token| async move {
            self.wechat.delete_conditional_menu(&token, menuid).await
        })
        .await?;
        tracing::info!(authorizer = %appid, menuid, "conditional menu deleted");
        Ok(())
    }

    /// The menu the follower `openid` sees (WeChat's `trymatch`).
    ///
    /// # Errors
    /// The account's states; WeChat's refusal (65302: no such follower).
    pub async fn menu_for_follower(&self, caller: &Caller, appid: &str, openid: &str) -> Result<Value, ActError> {
        if !super::plausible_openid(openid) {
            return Err(ActError::Invalid("openid is not an OpenID".into()));
        }
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, MENU_SETS, MENU_WHAT)?;
        self.with_account_token(record, false, |token| async move { self.wechat.try_match_menu(&token, openid).await })
            .await
    }

    /// Runs `publish` and keeps `written` (`published`: WeChat's form) as the next version, under
    /// the account's menu lease; nothing runs when the kept version is not `expected`.
    async fn under_menu_lease<F, Fut>(
        &self,
        appid: &str,
        expected: u64,
        caller: &Caller,
        written: &Value,
        published: Option<&Value>,
        publish: F,
    ) -> Result<(), DocumentError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(), ActError>>,
    {
        let (lease, holder, now) = (LeaseName::menu(appid), holder_id(), self.now());
        if !self.store.acquire_lease(&lease, &holder, now + MENU_LEASE_SECS, now).await? {
            return Err(ActError::Running("the menu is being published").into());
        }
        let result = async {
            let current = self.store.document(DocumentKind::Menu, appid).await?.map_or(0, |d| d.version);
            if current != expected {
                return Err(DocumentError::Changed { kind: DocumentKind::Menu, expected, current });
            }
            publish().await?;
            let who = match caller {
                Caller::Dashboard(user) | Caller::Backend(user) => user.as_str(),
            };
            let kept = json!({"menu": written, "published": published}).to_string();
            match self.store.save_document(DocumentKind::Menu, appid, &kept, expected, who, self.now()).await {
                Ok(_) => Ok(()),
                Err(StoreError::ConditionFailed) => {
                    let current = self.store.document(DocumentKind::Menu, appid).await?.map_or(0, |d| d.version);
                    Err(DocumentError::Changed { kind: DocumentKind::Menu, expected, current })
                }
                Err(err) => Err(err.into()),
            }
        }
        .await;
        if let Err(err) = self.store.release_lease(&lease, &holder).await {
            tracing::warn!(authorizer = %appid, error = %err, "menu lease not released; it will expire");
        }
        result
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

    /// The click keys of `menu` and of the conditional menus, each with the rule answering it,
    /// and the click rules no menu carries the key of.
    async fn key_links(
        &self,
        appid: &str,
        menu: Option<&Value>,
        conditional: &[Value],
    ) -> Result<(Vec<KeyLink>, Vec<usize>), ActError> {
        let rules = match self.store.document(DocumentKind::ReplyRules, appid).await? {
            Some(stored) => RuleSet::from_stored(&stored.document).unwrap_or_default(),
            None => RuleSet::default(),
        };
        let click_rule =
            |key: &str| rules.rules.iter().position(|r| matches!(&r.trigger, Trigger::Click { key: k } if k == key));
        let mut keys = Vec::new();
        let menus = menu.into_iter().map(|m| (String::new(), m.clone())).chain(
            conditional.iter().enumerate().map(|(i, c)| (format!("conditional[{i}]."), json!({"button": c["button"]}))),
        );
        for (prefix, value) in menus {
            let Ok(parsed) = Menu::from_value(&value) else { continue };
            for (path, button) in parsed.leaves() {
                if let Some(Action::Key { kind: KeyKind::Click, key }) = &button.action {
                    keys.push(KeyLink { path: format!("{prefix}{path}"), key: key.clone(), rule: click_rule(key) });
                }
            }
        }
        let unused = rules
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(&r.trigger, Trigger::Click { key } if !keys.iter().any(|k| k.key == *key)))
            .map(|(i, _)| i)
            .collect();
        Ok((keys, unused))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::service::testing::{ACCOUNT, backend, world};
    use crate::service::{ActError, DocumentError};

    fn menu(name: &str) -> serde_json::Value {
        json!({"button": [
            {"type": "click", "name": name, "key": "TODAY"},
            {"name": "更多", "sub_button": [{"type": "view", "name": "官网", "url": "https://www.example.com/"}]}
        ]})
    }

    #[tokio::test]
    async fn a_menu_is_published_under_the_version_it_replaces_and_a_stale_one_sends_nothing() {
        let w = world().await;
        let setup = w.platform.setup();
        let state = setup.menu(&backend(), ACCOUNT).await.expect("read");
        assert_eq!((state.version, state.live.clone()), (0, None), "{state:?}");

        let saved = setup.save_menu(&backend(), ACCOUNT, &menu("今日"), Some(0)).await.expect("published");
        assert_eq!(saved.version, 1);
        assert!(saved.in_sync, "{saved:?}");
        let at_wechat = w.standin.menu(ACCOUNT).expect("WeChat has the menu");
        assert_eq!(at_wechat["button"][0]["name"], "今日", "{at_wechat}");
        let creates = w.standin.calls("menu_create");

        // Someone else's edit was read at version 0: refused, nothing sent, WeChat's menu kept.
        let stale = setup.save_menu(&backend(), ACCOUNT, &menu("明日"), Some(0)).await;
        assert!(matches!(stale, Err(DocumentError::Changed { expected: 0, current: 1, .. })), "{stale:?}");
        let unsaid = setup.save_menu(&backend(), ACCOUNT, &menu("明日"), None).await;
        assert!(matches!(unsaid, Err(DocumentError::VersionRequired(_))), "{unsaid:?}");
        assert_eq!(w.standin.calls("menu_create"), creates, "nothing sent");
        assert_eq!(w.standin.menu(ACCOUNT).expect("kept")["button"][0]["name"], "今日");

        let deleted = setup.delete_menu(&backend(), ACCOUNT, Some(1)).await.expect("deleted");
        assert_eq!((deleted.version, deleted.menu, deleted.live), (2, None, None));
    }

    #[tokio::test]
    async fn a_menu_wechat_would_refuse_is_refused_by_name_before_any_call() {
        let w = world().await;
        let setup = w.platform.setup();
        let four = json!({"button": [
            {"type": "click", "name": "一", "key": "A"}, {"type": "click", "name": "二", "key": "B"},
            {"type": "click", "name": "三", "key": "C"}, {"type": "click", "name": "四", "key": "D"}
        ]});
        let unsafe_link = json!({"button": [{"type": "view", "name": "官网", "url": "javascript:alert(1)"}]});
        for document in [four, unsafe_link, json!({"button": []}), json!("menu")] {
            let refused = setup.save_menu(&backend(), ACCOUNT, &document, Some(0)).await;
            assert!(
                matches!(&refused, Err(DocumentError::Act(ActError::Invalid(why))) if !why.is_empty()),
                "{document}: {refused:?}"
            );
        }
        assert_eq!(w.standin.calls("menu_create"), 0, "nothing reached WeChat");
        assert_eq!(setup.menu(&backend(), ACCOUNT).await.expect("read").version, 0, "nothing kept");
    }
}
