//! The account's access token lent to trusted backends: one central service refreshes authorizer
//! tokens, so no backend refreshes one itself and races the others into 40001.

use super::{ActError, Caller};
use crate::secret::Secret;
use crate::service::{Acting, ActingStore};
use crate::store::Timestamp;

/// A lent token is valid for at least this long (seconds); one closer to expiry is refreshed first.
pub const LEND_MARGIN_SECS: i64 = 5 * 60;

/// An access token lent to a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LentToken {
    /// `authorizer_access_token`.
    pub access_token: Secret,
    /// When it stops working (Unix seconds).
    pub expires_at: Timestamp,
}

impl<S: ActingStore> Acting<'_, S> {
    /// The account's access token, valid for at least [`LEND_MARGIN_SECS`] (refreshed first under
    /// the account's lease when closer to expiry; concurrent callers wait for that one refresh).
    ///
    /// # Errors
    /// [`ActError`].
    pub async fn lend_token(&self, caller: &Caller, appid: &str) -> Result<LentToken, ActError> {
        let record = self.account_for(caller, appid).await?;
        let token = self.fresh_token(record, LEND_MARGIN_SECS).await?;
        tracing::info!(authorizer = %appid, caller = caller.key(), expires_at = token.expires_at, "access token lent");
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use futures_util::future::join_all;

    use super::LEND_MARGIN_SECS;
    use crate::service::testing::{ACCOUNT, backend, world};
    use crate::service::{ActError, Caller};

    #[tokio::test]
    async fn a_token_is_lent_to_backends_only_and_refreshed_once_for_every_caller_near_expiry() {
        let w = world().await;
        let acting = w.platform.acting();
        let someone = Caller::Dashboard("someone-else".to_owned());
        assert!(matches!(acting.lend_token(&someone, ACCOUNT).await, Err(ActError::NotFound)), "not theirs");

        let lent = acting.lend_token(&backend(), ACCOUNT).await.expect("lent");
        assert!(lent.expires_at - w.standin.now() >= LEND_MARGIN_SECS, "{lent:?}");
        let refreshes = w.standin.calls("api_authorizer_token");

        // Close to expiry: ten callers at once, one refresh, the same new token for all.
        w.standin.advance_clock(lent.expires_at - w.standin.now() - LEND_MARGIN_SECS + 1);
        let caller = backend();
        let all = join_all((0..10).map(|_| acting.lend_token(&caller, ACCOUNT))).await;
        assert_eq!(w.standin.calls("api_authorizer_token"), refreshes + 1, "one refresh for every caller");
        let tokens: Vec<_> = all.into_iter().map(|t| t.expect("lent").access_token.expose().to_owned()).collect();
        assert!(tokens.iter().all(|t| *t == tokens[0] && *t != lent.access_token.expose()), "{}", tokens.len());
    }
}
