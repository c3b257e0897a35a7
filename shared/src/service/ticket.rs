//! The component notices pushed to the 授权事件接收URL: the `component_verify_ticket` every ten
//! minutes, and `authorized` / `updateauthorized` / `unauthorized`.
//!
//! WeChat expects `success` once a notice is durably handled, and retries anything else. So a
//! notice is [`Ok`] when it is stored, or when there is nothing it could still add (an unknown
//! `InfoType`, a code the other path already used); it is an error only when a retry can help.

use super::{AuthorizationError, Completion, Platform};
use crate::bus::{AccountChange, AccountEvent, PublishError};
use crate::message::{ComponentNotice, NoticeKind};
use crate::secret::Secret;
use crate::store::AuthorizerRecord;
use crate::store::{MarkerKey, StoreError, TicketWrite, TokenStore, VerifyTicket};

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

impl<S: TokenStore> Platform<S> {
    /// The authoritative owner binding: the user our link's `pre_auth_code` was issued to. An
    /// authorization begun elsewhere (no code, or one we did not issue) changes no owner.
    async fn bind_owner(&self, appid: &str, pre_auth_code: Option<&Secret>) -> Result<Option<String>, StoreError> {
        let Some(code) = pre_auth_code else {
            return Ok(None);
        };
        let Some(user) = self.store.recall(&MarkerKey::pre_auth_code(code), self.now()).await? else {
            return Ok(None);
        };
        self.store.set_owner(appid, &user, self.now()).await?;
        Ok(Some(user))
    }

    /// Hands the account change a notice made off to the bus, once per notice (WeChat's retries
    /// of it carry the same id). Called after the change is stored: when the bus fails, the
    /// notice is answered with a 5xx, and its retry, finding the change already stored, publishes.
    async fn announce(
        &self,
        notice: &ComponentNotice,
        change: AccountChange,
        record: &AuthorizerRecord,
        owner: Option<&str>,
    ) -> Result<(), PublishError> {
        let key = notice.dedup_key();
        let owner = owner.or(Some(record.owner.as_str())).filter(|o| *o != crate::store::UNCLAIMED_OWNER);
        let event = AccountEvent {
            component_appid: &self.pages.component_appid,
            authorizer_appid: &record.authorizer_appid,
            change,
            occurred_at: notice.create_time,
            received_at_ms: self.now_ms(),
            detected_by: "component_notice",
            key: &key,
            owner,
            user_name: Some(&record.profile.user_name),
            nick_name: Some(&record.profile.nick_name),
            func_info: (change != AccountChange::Unauthorized).then_some(record.profile.func_info.as_slice()),
            reason: None,
        }
        .event();
        self.hand_off(&MarkerKey::notice(&key), std::slice::from_ref(&event)).await.map(|_| ()).inspect_err(|err| {
            tracing::error!(authorizer = %record.authorizer_appid, event_id = %event.id, error = %err, "account change stored but not handed off; WeChat will retry the notice");
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
                        let owner = self.bind_owner(&appid, a.pre_auth_code.as_ref()).await?;
                        let change = match &notice.kind {
                            NoticeKind::UpdateAuthorized(_) => AccountChange::UpdateAuthorized,
                            _ => AccountChange::Authorized,
                        };
                        self.announce(notice, change, completion.record(), owner.as_deref()).await?;
                        NoticeOutcome::Authorized {
                            authorizer_appid: appid,
                            owner,
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
