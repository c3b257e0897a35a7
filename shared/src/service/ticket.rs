//! The component notices pushed to the 授权事件接收URL: the `component_verify_ticket` every ten
//! minutes, and `authorized` / `updateauthorized` / `unauthorized`.
//!
//! WeChat expects `success` once a notice is durably handled, and retries anything else. So a
//! notice is [`Ok`] when it is stored, or when there is nothing it could still add (an unknown
//! `InfoType`, a code the other path already used); it is an error only when a retry can help.

use super::{AuthorizationError, Completion, Onboarding};
use crate::bus::{AccountChange, AccountEvent, PublishError};
use crate::message::{ComponentNotice, NoticeKind};
use crate::secret::Secret;
use crate::service::ComponentStore;
use crate::store::{AuthorizerRecord, AuthorizerStore, MarkerStore};
use crate::store::{MarkerKey, OwnerMove, StoreError, TicketWrite, UNCLAIMED_OWNER, VerifyTicket};

/// What a handled notice did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeOutcome {
    /// A verify ticket, stored (`true`) or older than the stored one (`false`).
    Ticket {
        /// Whether it replaced the stored ticket.
        stored: bool,
    },
    /// An authorization, stored: by this push, by the browser callback first, or recovered.
    Authorized {
        /// The account.
        authorizer_appid: String,
        /// The dashboard user the push's `pre_auth_code` was issued to, now its owner.
        owner: Option<String>,
        /// Which path stored it.
        how: &'static str,
    },
    /// The code was used by the other path before it could be recorded, or expired: nothing
    /// this push can add, and retrying would not help either.
    CodeUnusable,
    /// The account is revoked.
    Revoked,
    /// A revocation of an account we never stored.
    UnknownRevoked,
    /// A revocation older than the account's last authorization.
    StaleRevocation,
    /// An `InfoType` we do not handle, acknowledged so WeChat stops retrying.
    Ignored,
}

/// How long a notice that moved an account remembers whom from: longer than WeChat retries a
/// notice.
const OWNER_MOVE_MEMORY_SECS: i64 = 86_400;

/// Who an authorization's push gave the account to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OwnerBinding {
    /// The user the push's `pre_auth_code` was issued to.
    owner: String,
    /// Whom the account belonged to before, when that was someone else.
    previous: Option<String>,
}

/// Why a notice must be retried.
#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    /// Completing the authorization failed.
    #[error(transparent)]
    Authorization(#[from] AuthorizationError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The account change was stored but not handed off to the bus.
    #[error(transparent)]
    Bus(#[from] PublishError),
}

impl<S: ComponentStore + AuthorizerStore + MarkerStore> Onboarding<'_, S> {
    /// The authoritative owner binding: the user our link's `pre_auth_code` was issued to. An
    /// authorization begun elsewhere (no code, or one we did not issue) changes no owner. When
    /// the account belonged to someone else, the move is recorded for the previous owner (their
    /// console says the account left them) before anything is announced.
    async fn bind_owner(
        &self,
        record: &AuthorizerRecord,
        notice: &ComponentNotice,
        pre_auth_code: Option<&Secret>,
    ) -> Result<Option<OwnerBinding>, StoreError> {
        let Some(code) = pre_auth_code else {
            return Ok(None);
        };
        let Some(user) = self.store.recall(&MarkerKey::pre_auth_code(code), self.now()).await? else {
            return Ok(None);
        };
        let appid = &record.authorizer_appid;
        // Who held the account before this notice: the record read just before, or, on a retry
        // of a notice that already moved it (the bus failed the first time), what that attempt
        // remembered, so the retry announces the move too.
        let remembered = MarkerKey::owner_move(&notice.dedup_key());
        let previous = if record.owner == user {
            self.store.recall(&remembered, self.now()).await?
        } else {
            (record.owner != UNCLAIMED_OWNER).then(|| record.owner.clone())
        };
        if let Some(previous) = previous.as_deref().filter(|_| record.owner != user) {
            self.store.remember_value(&remembered, previous, OWNER_MOVE_MEMORY_SECS, self.now()).await?;
            let moved = OwnerMove {
                authorizer_appid: appid.clone(),
                nick_name: record.profile.nick_name.clone(),
                moved_at: notice.create_time,
            };
            self.store.record_owner_move(previous, &moved, self.now()).await?;
            tracing::warn!(authorizer = %appid, "account moved to another dashboard user by a new authorization");
        }
        self.store.set_owner(appid, &user, self.now()).await?;
        Ok(Some(OwnerBinding { owner: user, previous }))
    }

    /// Hands the account change a notice made off to the bus, once per notice (WeChat's retries
    /// of it carry the same id), with an [`AccountChange::OwnerChanged`] beside it when the
    /// notice moved the account. Called after the change is stored: when the bus fails, the
    /// notice is answered with a 5xx, and its retry, finding the change already stored, publishes.
    async fn announce(
        &self,
        notice: &ComponentNotice,
        change: AccountChange,
        record: &AuthorizerRecord,
        binding: Option<&OwnerBinding>,
    ) -> Result<(), PublishError> {
        let key = notice.dedup_key();
        let owner = binding
            .map(|b| b.owner.as_str())
            .or(Some(record.owner.as_str()))
            .filter(|o| *o != crate::store::UNCLAIMED_OWNER);
        let account_event = |change: AccountChange, key: &str, previous_owner: Option<&str>| {
            AccountEvent {
                component_appid: &self.pages.component_appid,
                authorizer_appid: &record.authorizer_appid,
                change,
                occurred_at: notice.create_time,
                received_at_ms: self.now_ms(),
                detected_by: "component_notice",
                key,
                owner,
                previous_owner,
                user_name: Some(&record.profile.user_name),
                nick_name: Some(&record.profile.nick_name),
                func_info: (change != AccountChange::Unauthorized).then_some(record.profile.func_info.as_slice()),
                reason: None,
            }
            .event()
        };
        let mut events = vec![account_event(change, &key, None)];
        if let Some(previous) = binding.and_then(|b| b.previous.as_deref()) {
            events.push(account_event(AccountChange::OwnerChanged, &format!("{key}#owner"), Some(previous)));
        }
        self.hand_off(&MarkerKey::notice(&key), &events).await.map(|_| ()).inspect_err(|err| {
            tracing::error!(authorizer = %record.authorizer_appid, event_id = %events[0].id, error = %err, "account change stored but not handed off; WeChat will retry the notice");
        })
    }

    /// Applies one verified component notice.
    ///
    /// # Errors
    /// [`NoticeError`] when WeChat should deliver it again.
    pub async fn handle_notice(&self, notice: &ComponentNotice) -> Result<NoticeOutcome, NoticeError> {
        let info_type = notice.info_type();
        let outcome = match &notice.kind {
            NoticeKind::VerifyTicket { ticket } => {
                let ticket = VerifyTicket { ticket: ticket.clone(), create_time: notice.create_time };
                let written = self.store.put_verify_ticket(&ticket, self.now()).await?;
                NoticeOutcome::Ticket { stored: written == TicketWrite::Stored }
            }
            NoticeKind::Authorized(a) | NoticeKind::UpdateAuthorized(a) => {
                let pushed = Some((a.authorizer_appid.as_str(), notice.create_time));
                match self.complete_authorization(&a.authorization_code, pushed).await {
                    Ok(completion) => {
                        let appid = completion.record().authorizer_appid.clone();
                        let binding = self.bind_owner(completion.record(), notice, a.pre_auth_code.as_ref()).await?;
                        let change = match &notice.kind {
                            NoticeKind::UpdateAuthorized(_) => AccountChange::UpdateAuthorized,
                            _ => AccountChange::Authorized,
                        };
                        self.announce(notice, change, completion.record(), binding.as_ref()).await?;
                        NoticeOutcome::Authorized {
                            authorizer_appid: appid,
                            owner: binding.map(|b| b.owner),
                            how: match completion {
                                Completion::Completed(_) => "completed by the push",
                                Completion::AlreadyCompleted(_) => "completed by the callback",
                                Completion::Recovered(_) => "recovered from api_get_authorizer_list",
                            },
                        }
                    }
                    Err(AuthorizationError::CodeInvalid(err)) => {
                        tracing::warn!(info_type, authorizer = %a.authorizer_appid, errcode = err.errcode(), "authorization code already used or expired");
                        NoticeOutcome::CodeUnusable
                    }
                    Err(err) => return Err(err.into()),
                }
            }
            NoticeKind::Unauthorized { authorizer_appid } => {
                match self.store.revoke(authorizer_appid, notice.create_time, self.now()).await {
                    Ok(revoked) => {
                        self.announce(notice, AccountChange::Unauthorized, &revoked, None).await?;
                        NoticeOutcome::Revoked
                    }
                    Err(StoreError::NotFound) => NoticeOutcome::UnknownRevoked,
                    Err(StoreError::ConditionFailed) => NoticeOutcome::StaleRevocation,
                    Err(err) => return Err(err.into()),
                }
            }
            NoticeKind::Unknown { .. } => NoticeOutcome::Ignored,
        };
        tracing::info!(info_type, create_time = notice.create_time, outcome = ?outcome, "component notice handled");
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::NoticeOutcome;
    use crate::message::ComponentNotice;
    use crate::service::testing::{ACCOUNT, world};

    #[tokio::test]
    async fn an_authorized_push_is_completed_and_handed_off_once_however_often_wechat_retries_it() {
        let w = world().await;
        let (_, xml) = w.standin.authorize_quietly(ACCOUNT, None).expect("authorized at WeChat");
        let notice = ComponentNotice::parse(&xml).expect("WeChat's notice");
        let onboarding = w.platform.onboarding();
        let before = w.bus.published().len();

        let outcome = onboarding.handle_notice(&notice).await.expect("applied");
        assert!(
            matches!(&outcome, NoticeOutcome::Authorized { authorizer_appid, owner: None, .. } if authorizer_appid == ACCOUNT),
            "{outcome:?}"
        );
        let published: Vec<_> = w.bus.published().into_iter().skip(before).collect();
        assert_eq!(published.len(), 1, "{published:?}");
        assert!(published[0].detail.contains(ACCOUNT), "{:?}", published[0]);

        // WeChat did not get our answer and pushes the same notice again: nothing new anywhere.
        let exchanges = w.standin.calls("api_query_auth");
        onboarding.handle_notice(&notice).await.expect("applied again");
        assert_eq!(w.bus.published().len(), before + 1, "handed off once");
        assert_eq!(w.standin.calls("api_query_auth"), exchanges + 1, "one more exchange: WeChat refuses the used code");
    }
}
