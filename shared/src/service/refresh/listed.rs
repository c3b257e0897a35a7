//! WeChat's authorizer list (`api_get_authorizer_list`): the refresh tokens WeChat holds, read at
//! most once per refresher run and shared by every account that needs it.

use std::collections::HashMap;

use super::LIST_PAGE;
use crate::secret::Secret;
use crate::service::{CallError, ComponentStore, Platform};

/// `api_get_authorizer_list`, read at most once per refresher run and shared by every account
/// that needs it (61023 recovery, second chances, the daily reconcile).
#[derive(Default)]
pub(crate) struct ListedTokens(tokio::sync::Mutex<Option<HashMap<String, Option<Secret>>>>);

impl<S: ComponentStore> Platform<S> {
    /// The refresh token `api_get_authorizer_list` holds for `appid`; the list is read once per
    /// `listed` (once per refresher run), however many accounts need it.
    pub(super) async fn listed_refresh_token(
        &self,
        appid: &str,
        listed: &ListedTokens,
    ) -> Result<Option<Secret>, CallError> {
        let cached = self.filled(listed).await?;
        Ok(cached.as_ref().and_then(|list| list.get(appid).cloned().flatten()))
    }

    /// The whole of `api_get_authorizer_list` (the daily reconcile), read at most once per `listed`.
    pub(super) async fn listed_all(&self, listed: &ListedTokens) -> Result<HashMap<String, Option<Secret>>, CallError> {
        Ok(self.filled(listed).await?.clone().unwrap_or_default())
    }

    /// `listed`, read from WeChat on first use.
    pub(super) async fn filled<'l>(
        &self,
        listed: &'l ListedTokens,
    ) -> Result<tokio::sync::MutexGuard<'l, Option<HashMap<String, Option<Secret>>>>, CallError> {
        let mut cached = listed.0.lock().await;
        if cached.is_none() {
            *cached = Some(self.authorizer_list_all().await?);
        }
        Ok(cached)
    }

    /// Every account WeChat lists, with its refresh token when WeChat includes it.
    pub(super) async fn authorizer_list_all(&self) -> Result<HashMap<String, Option<Secret>>, CallError> {
        let mut all = HashMap::new();
        let mut offset = 0;
        loop {
            let page = self
                .with_component_token(
                    |token| async move { self.wechat.authorizer_list(&token, offset, LIST_PAGE).await },
                )
                .await?;
            let fetched = u32::try_from(page.list.len()).unwrap_or(u32::MAX);
            all.extend(page.list.into_iter().map(|row| (row.authorizer_appid, row.refresh_token)));
            offset = offset.saturating_add(fetched);
            if fetched == 0 || i64::from(offset) >= page.total_count {
                return Ok(all);
            }
        }
    }

    /// The refresh token WeChat lists for one account (authorization recovery).
    pub(in crate::service) async fn find_listed_refresh_token(&self, appid: &str) -> Result<Option<Secret>, CallError> {
        self.listed_refresh_token(appid, &ListedTokens::default()).await
    }
}

#[cfg(test)]
mod tests {
    use super::ListedTokens;
    use crate::service::testing::{ACCOUNT, OTHER_ACCOUNT, world};

    #[tokio::test]
    async fn wechats_list_is_read_once_per_run_and_names_each_accounts_current_token() {
        let w = world().await;
        w.authorize(OTHER_ACCOUNT).await;
        let listed = ListedTokens::default();
        let reads = w.standin.calls("api_get_authorizer_list");

        for appid in [ACCOUNT, OTHER_ACCOUNT, ACCOUNT] {
            let token = w.platform.listed_refresh_token(appid, &listed).await.expect("the list");
            assert_eq!(token.map(|t| t.expose().to_owned()), w.standin.refresh_token_of(appid), "{appid}");
        }
        let all = w.platform.listed_all(&listed).await.expect("the list");
        assert!(all.contains_key(ACCOUNT) && all.contains_key(OTHER_ACCOUNT), "{:?}", all.keys());
        assert_eq!(w.standin.calls("api_get_authorizer_list"), reads + 1, "one read for the whole run");

        // An account WeChat leaves out of its list has no token there, whatever the store says.
        w.standin.hide_from_list(OTHER_ACCOUNT, true);
        let fresh = ListedTokens::default();
        assert!(w.platform.listed_refresh_token(OTHER_ACCOUNT, &fresh).await.expect("the list").is_none());
    }
}
