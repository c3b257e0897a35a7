//! One account's refresh, under its lease: refreshed; on 61023 recovered from WeChat's authorizer
//! list; revoked; or, when nothing works, needing re-authorization (with a daily second chance).
//! New tokens are stored only if no newer ones were stored meanwhile.

use super::listed::ListedTokens;
use super::{RefreshOutcome, SECOND_CHANCE_SECS};
use crate::bus::{AccountChange, AccountEvent};
use crate::secret::Secret;
use crate::service::ComponentStore;
use crate::service::component_token::holder_id;
use crate::service::{CallError, Onboarding};
use crate::store::{
    AuthorizerRecord, AuthorizerStatus, AuthorizerStore, LeaseName, MarkerKey, MarkerStore, StoreError, TokenRefresh,
};
use crate::wechat::{AuthorizerTokens, ErrorKind};

impl<S: ComponentStore + AuthorizerStore + MarkerStore> Onboarding<'_, S> {
    /// Refreshes one authorizer's access token if it expires within `margin` seconds, under a
    /// per-account lease so concurrent runs never spend the same refresh token twice.
    ///
    /// # Errors
    /// Store failures and WeChat failures other than 61023 and 61003 (which have their outcomes).
    pub async fn refresh_authorizer(&self, appid: &str, margin: i64) -> Result<RefreshOutcome, CallError> {
        self.refresh_listed(appid, margin, &ListedTokens::default()).await
    }

    pub(super) async fn refresh_listed(
        &self,
        appid: &str,
        margin: i64,
        listed: &ListedTokens,
    ) -> Result<RefreshOutcome, CallError> {
        let now = self.now();
        let lease = LeaseName::authorizer(appid);
        let holder = holder_id();
        if !self.store.acquire_lease(&lease, &holder, now + 30, now).await? {
            return Ok(RefreshOutcome::Busy);
        }
        let outcome = self.refresh_leased(appid, margin, listed).await;
        if let Err(err) = self.store.release_lease(&lease, &holder).await {
            tracing::warn!(authorizer = %appid, error = %err, "could not release the refresh lease; it will expire");
        }
        outcome
    }

    pub(super) async fn refresh_leased(
        &self,
        appid: &str,
        margin: i64,
        listed: &ListedTokens,
    ) -> Result<RefreshOutcome, CallError> {
        let Some(record) = self.store.authorizer(appid).await? else {
            return Ok(RefreshOutcome::NotAuthorized);
        };
        match record.status {
            AuthorizerStatus::Revoked => return Ok(RefreshOutcome::NotAuthorized),
            AuthorizerStatus::NeedsReauthorization if record.expires_at <= self.now() => {
                return self.second_chance(&record, listed).await;
            }
            AuthorizerStatus::NeedsReauthorization => return Ok(RefreshOutcome::NotDue),
            AuthorizerStatus::Authorized => {}
        }
        if record.expires_at - margin > self.now() {
            return Ok(RefreshOutcome::NotDue);
        }
        match self.exchange(appid, &record.refresh_token).await {
            Ok(tokens) => {
                Ok(self.store_tokens(&record, tokens).await?.map_or(RefreshOutcome::Busy, RefreshOutcome::Refreshed))
            }
            Err(CallError::WeChat(err)) if err.kind() == ErrorKind::RefreshTokenInvalid => {
                self.recover(&record, listed).await
            }
            Err(CallError::WeChat(err)) if err.kind() == ErrorKind::NotAuthorized => self.mark_revoked(&record).await,
            Err(err) => Err(err),
        }
    }

    /// `api_authorizer_token` with `refresh_token`.
    pub(super) async fn exchange(&self, appid: &str, refresh_token: &Secret) -> Result<AuthorizerTokens, CallError> {
        self.with_component_token(
            |token| async move { self.wechat.authorizer_token(&token, appid, refresh_token).await },
        )
        .await
    }

    /// Hands off an account change the refresher found, once per `record` version it changed.
    pub(super) async fn announce_change(
        &self,
        record: &AuthorizerRecord,
        change: AccountChange,
        version: u64,
        reason: &str,
    ) -> Result<(), CallError> {
        let key = format!("{}|v{version}", change.name());
        let owner = Some(record.owner.as_str()).filter(|o| *o != crate::store::UNCLAIMED_OWNER);
        let event = AccountEvent {
            component_appid: &self.pages.component_appid,
            authorizer_appid: &record.authorizer_appid,
            change,
            occurred_at: self.now(),
            received_at_ms: self.now_ms(),
            detected_by: "token_refresher",
            key: &key,
            owner,
            previous_owner: None,
            user_name: Some(&record.profile.user_name),
            nick_name: Some(&record.profile.nick_name),
            func_info: None,
            reason: Some(reason),
        }
        .event();
        let marker = MarkerKey::account_change(&record.authorizer_appid, change.name(), version);
        self.hand_off(&marker, std::slice::from_ref(&event)).await.map(|_| ()).map_err(|err| {
            tracing::error!(authorizer = %record.authorizer_appid, event_id = %event.id, error = %err, "account change not handed off");
            err.into()
        })
    }

    /// 61003: the account no longer authorizes us (an `unauthorized` push we missed): revoked.
    /// The event goes out first: a revoked account is never looked at again, so an event whose
    /// publish failed could not be retried later; this way the account stays as it was, the run
    /// reports the failure, and the next run tries again.
    pub(super) async fn mark_revoked(&self, record: &AuthorizerRecord) -> Result<RefreshOutcome, CallError> {
        let appid = &record.authorizer_appid;
        tracing::warn!(authorizer = %appid, "WeChat says the account no longer authorizes us (61003): revoked");
        if record.status != AuthorizerStatus::Revoked {
            self.announce_change(
                record,
                AccountChange::Unauthorized,
                record.version,
                "WeChat errcode 61003: the account no longer authorizes the platform",
            )
            .await?;
        }
        match self.store.revoke(appid, record.authorized_at.max(self.now()), self.now()).await {
            Ok(revoked) => Ok(RefreshOutcome::Revoked(revoked)),
            Err(StoreError::ConditionFailed) => Ok(RefreshOutcome::Busy),
            Err(err) => Err(err.into()),
        }
    }

    /// 61023: WeChat's staff advise re-reading the refresh token from `api_get_authorizer_list`.
    pub(super) async fn recover(
        &self,
        record: &AuthorizerRecord,
        listed: &ListedTokens,
    ) -> Result<RefreshOutcome, CallError> {
        let appid = record.authorizer_appid.as_str();
        tracing::warn!(authorizer = %appid, "refresh token refused (61023); trying api_get_authorizer_list");
        if let Some(refresh_token) =
            self.listed_refresh_token(appid, listed).await?.filter(|t| *t != record.refresh_token)
        {
            match self.exchange(appid, &refresh_token).await {
                Ok(mut tokens) => {
                    tokens.refresh_token = tokens.refresh_token.or(Some(refresh_token));
                    return Ok(self
                        .store_tokens(record, tokens)
                        .await?
                        .map_or(RefreshOutcome::Busy, RefreshOutcome::Recovered));
                }
                Err(CallError::WeChat(err)) if err.kind() == ErrorKind::RefreshTokenInvalid => {}
                Err(CallError::WeChat(err)) if err.kind() == ErrorKind::NotAuthorized => {
                    return self.mark_revoked(record).await;
                }
                Err(err) => return Err(err),
            }
        }
        self.needs_reauthorization(record).await
    }

    /// Gives up on the account for a day: `needs_reauthorization`, due again tomorrow.
    ///
    /// The event goes out first, as for a revocation: while the publish fails, the account stays
    /// authorized and due, and the next run tries again. If the change then loses a race (the
    /// admin re-authorized that instant), the `account.authorized` event of the new authorization
    /// follows it.
    pub(super) async fn needs_reauthorization(&self, record: &AuthorizerRecord) -> Result<RefreshOutcome, CallError> {
        let appid = record.authorizer_appid.as_str();
        let now = self.now();
        if record.status == AuthorizerStatus::Authorized {
            self.announce_change(
                record,
                AccountChange::NeedsReauthorization,
                record.version,
                "the refresh token was refused (WeChat errcode 61023) and api_get_authorizer_list had no working one",
            )
            .await?;
        }
        match self.store.mark_needs_reauthorization(appid, record.version, now + SECOND_CHANCE_SECS, now).await {
            Ok(marked) => {
                tracing::error!(authorizer = %appid, "refresh token unrecoverable: the admin must authorize again (retried daily)");
                Ok(RefreshOutcome::NeedsReauthorization(marked))
            }
            Err(StoreError::ConditionFailed) => Ok(RefreshOutcome::Busy),
            Err(err) => Err(err.into()),
        }
    }

    /// A day after an account was given up: the stored refresh token, then the listed one; when
    /// either works the account is authorized again (owner and authorization time kept).
    pub(super) async fn second_chance(
        &self,
        record: &AuthorizerRecord,
        listed: &ListedTokens,
    ) -> Result<RefreshOutcome, CallError> {
        let appid = record.authorizer_appid.as_str();
        // The stored token first: the list is read only when it is refused.
        let mut refresh_token = record.refresh_token.clone();
        loop {
            match self.exchange(appid, &refresh_token).await {
                Ok(tokens) => {
                    let restored = self.authorization_from(appid, tokens, refresh_token, Some(record.authorized_at));
                    let stored = self.store.save_authorization(&restored, self.now()).await?;
                    tracing::info!(authorizer = %appid, "second chance: the account works again");
                    return Ok(RefreshOutcome::Recovered(stored));
                }
                Err(CallError::WeChat(err)) if err.kind() == ErrorKind::RefreshTokenInvalid => {}
                Err(CallError::WeChat(err)) if err.kind() == ErrorKind::NotAuthorized => {
                    return self.mark_revoked(record).await;
                }
                Err(err) => return Err(err),
            }
            let listed = self.listed_refresh_token(appid, listed).await?;
            match listed.filter(|t| *t != record.refresh_token && *t != refresh_token) {
                Some(token) => refresh_token = token,
                None => break,
            }
        }
        self.needs_reauthorization(record).await
    }

    /// Stores refreshed tokens, retrying when the version moved on under us but our tokens are
    /// still the newest: an unrelated write (profile, owner), or — when WeChat returned a refresh
    /// token — a re-authorization answered before our refresh (often carrying the very token we
    /// just spent; WeChat may have rotated it, and the new one must not be dropped). The store's
    /// condition refuses any token received before the stored one, so the retry cannot regress.
    /// `None` when the account was revoked, or re-authorized with newer tokens, meanwhile.
    pub(super) async fn store_tokens(
        &self,
        record: &AuthorizerRecord,
        tokens: AuthorizerTokens,
    ) -> Result<Option<AuthorizerRecord>, StoreError> {
        let received_ms = self.now_ms();
        let now = received_ms.div_euclid(1000);
        let mut refresh = TokenRefresh {
            authorizer_appid: record.authorizer_appid.clone(),
            expected_version: record.version,
            access_token: tokens.access_token,
            expires_at: now + tokens.expires_in,
            refresh_token: tokens.refresh_token,
            received_ms,
        };
        for _ in 0..3 {
            match self.store.update_tokens(&refresh, now).await {
                Ok(stored) => return Ok(Some(stored)),
                Err(StoreError::ConditionFailed) => {
                    let Some(current) = self.store.authorizer(&record.authorizer_appid).await? else {
                        return Ok(None);
                    };
                    let ours_newest = current.status == AuthorizerStatus::Authorized
                        && if refresh.refresh_token.is_some() {
                            current.refresh_token_received_ms <= received_ms
                        } else {
                            current.refresh_token == record.refresh_token
                                && current.refresh_token_received_ms == record.refresh_token_received_ms
                        };
                    if !ours_newest {
                        return Ok(None);
                    }
                    refresh.expected_version = current.version;
                }
                Err(err) => return Err(err),
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use crate::service::testing::{ACCOUNT, backend, world};
    use crate::service::{ActError, RefreshOutcome};
    use crate::store::{AuthorizerStatus, AuthorizerStore};

    #[tokio::test]
    async fn a_token_is_refreshed_when_due_with_the_refresh_token_wechat_rotated_to() {
        let w = world().await;
        let onboarding = w.platform.onboarding();
        let kept = w.platform.store.authorizer(ACCOUNT).await.expect("read").expect("kept");
        assert!(matches!(onboarding.refresh_authorizer(ACCOUNT, 600).await, Ok(RefreshOutcome::NotDue)));
        assert_eq!(w.standin.calls("api_authorizer_token"), 0, "a fresh token asks WeChat nothing");

        w.standin.advance_clock(kept.expires_at - w.standin.now() - 599);
        let outcome = onboarding.refresh_authorizer(ACCOUNT, 600).await.expect("refreshed");
        let RefreshOutcome::Refreshed(record) = outcome else { panic!("{outcome:?}") };
        assert_ne!(record.access_token.expose(), kept.access_token.expose());
        assert!(record.expires_at > kept.expires_at);
        let stored = w.platform.store.authorizer(ACCOUNT).await.expect("read").expect("kept");
        assert_eq!(Some(stored.refresh_token.expose().to_owned()), w.standin.refresh_token_of(ACCOUNT));
    }

    #[tokio::test]
    async fn a_refresh_token_wechat_forgot_marks_the_account_for_authorization_and_stops_acting() {
        let w = world().await;
        let onboarding = w.platform.onboarding();
        let kept = w.platform.store.authorizer(ACCOUNT).await.expect("read").expect("kept");
        w.standin.forget_refresh_token(ACCOUNT);
        w.standin.advance_clock(kept.expires_at - w.standin.now() + 1);

        let outcome = onboarding.refresh_authorizer(ACCOUNT, 600).await.expect("an outcome");
        assert!(matches!(outcome, RefreshOutcome::NeedsReauthorization(_)), "{outcome:?}");
        let stored = w.platform.store.authorizer(ACCOUNT).await.expect("read").expect("kept, not deleted");
        assert_eq!(stored.status, AuthorizerStatus::NeedsReauthorization);
        assert_eq!(stored.refresh_token.expose(), kept.refresh_token.expose(), "the last token is never thrown away");
        let refused = w.platform.acting().lend_token(&backend(), ACCOUNT).await;
        assert!(matches!(refused, Err(ActError::NeedsReauthorization)), "{refused:?}");
    }
}
