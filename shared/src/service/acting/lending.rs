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
