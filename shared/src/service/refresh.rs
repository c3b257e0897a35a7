//! Authorizer tokens: refresh one under its lease (with WeChat's 61023 recovery), and the
//! refresher's whole run.
//!
//! A run: the component token when it expires within the margin; `api_start_push_ticket` when
//! the newest ticket is older than [`TICKET_STALE_SECS`] (three missed pushes); the accounts due
//! within [`MARGIN_SECS`] from the store's due query (cost grows with the due accounts only),
//! refreshed [`CONCURRENCY`] at a time, each under its own lease, one failure never stopping the
//! rest. On 61023 the refresh token is re-read from `api_get_authorizer_list` (WeChat's advice);
//! when that fails too, the account is marked `needs_reauthorization`.

use futures_util::StreamExt as _;
use serde::Serialize;

use super::component_token::holder_id;
use super::{CallError, Platform};
use crate::secret::Secret;
use crate::store::{AuthorizerRecord, AuthorizerStatus, LeaseName, StoreError, TokenRefresh, TokenStore};
use crate::wechat::{AuthorizerTokens, ErrorKind};

/// Refresh what expires within this many seconds; the schedule (10 minutes) runs well inside it.
pub const MARGIN_SECS: i64 = 20 * 60;
/// Authorizers refreshed at once.
pub const CONCURRENCY: usize = 16;
/// A ticket older than this means WeChat's pushes have stopped.
pub const TICKET_STALE_SECS: i64 = 30 * 60;
/// Due accounts read per page of the due query.
const DUE_PAGE: u32 = 100;
/// Accounts read per page of `api_get_authorizer_list` (WeChat's maximum is 500).
const LIST_PAGE: u32 = 500;

/// What happened to one authorizer in a refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// New tokens stored.
    Refreshed(AuthorizerRecord),
    /// The refresh token was refused (61023) but the one from `api_get_authorizer_list` worked.
    Recovered(AuthorizerRecord),
    /// Its token is not due (another run refreshed it first).
    NotDue,
    /// Another run holds this account's lease, or wrote first.
    Busy,
    /// Not authorized any more (revoked, needs re-authorization, unknown).
    NotAuthorized,
    /// 61023 and no working refresh token could be recovered: marked `needs_reauthorization`.
    NeedsReauthorization(AuthorizerRecord),
}

/// What one refresher run did; logged and returned as JSON.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct RefreshReport {
    /// `refreshed`, `fresh`, or `failed: …` for the component token.
    pub component_token: String,
    /// Whether `api_start_push_ticket` was called, and how it went.
    pub push_ticket: Option<String>,
    /// Accounts found due.
    pub due: usize,
    /// Appids refreshed.
    pub refreshed: Vec<String>,
    /// Appids whose refused refresh token was recovered.
    pub recovered: Vec<String>,
    /// Appids skipped (refreshed meanwhile, leased by another run, no longer authorized).
    pub skipped: Vec<String>,
    /// Appids that now need re-authorization.
    pub needs_reauthorization: Vec<String>,
    /// Appids not started because the run's time was nearly up (the next run takes them).
    pub deferred: Vec<String>,
    /// `appid: error` for failures.
    pub failed: Vec<String>,
}

impl RefreshReport {
    /// Whether the run failed as a whole or for any account: the invocation then reports an
    /// error, so Lambda's error metric and alarms see it.
    pub fn has_failures(&self) -> bool {
        self.component_token.starts_with("failed") || !self.failed.is_empty()
    }
}

/// A refresh is not started with less than this left before the invocation's deadline: one
/// refresh takes at most a few WeChat calls of a few seconds each.
pub const DEADLINE_RESERVE: std::time::Duration = std::time::Duration::from_secs(20);

impl<S: TokenStore> Platform<S> {
    /// One run of the refresher. Never fails as a whole: each part's failure is in the report.
    /// With a `deadline` (the invocation's), no account is started with less than
    /// [`DEADLINE_RESERVE`] left; those are reported `deferred`.
    pub async fn refresh_all(&self, deadline: Option<std::time::Instant>) -> RefreshReport {
        let mut report = RefreshReport::default();
        let now = self.now();

        let before = self.component_token_version().await;
        report.component_token = match self.component_token(None).await {
            Ok(_) if self.component_token_version().await == before => "fresh".into(),
            Ok(_) => "refreshed".into(),
            Err(err) => {
                tracing::error!(error = %err, "component token refresh failed");
                format!("failed: {err}")
            }
        };
        report.push_ticket = self.restart_stopped_pushes(now).await;

        let due = match self.due_accounts(now + MARGIN_SECS).await {
            Ok(due) => due,
            Err(err) => {
                report.failed.push(format!("due query: {err}"));
                Vec::new()
            }
        };
        report.due = due.len();

        let time_left =
            move || deadline.is_none_or(|d| d.saturating_duration_since(std::time::Instant::now()) > DEADLINE_RESERVE);
        let outcomes: Vec<(String, Option<Result<RefreshOutcome, CallError>>)> = futures_util::stream::iter(due)
            .map(|appid| async move {
                if !time_left() {
                    return (appid, None);
                }
                let outcome = self.refresh_authorizer(&appid, MARGIN_SECS).await;
                (appid, Some(outcome))
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (appid, outcome) in outcomes {
            match outcome {
                None => report.deferred.push(appid),
                Some(Ok(RefreshOutcome::Refreshed(_))) => report.refreshed.push(appid),
                Some(Ok(RefreshOutcome::Recovered(_))) => report.recovered.push(appid),
                Some(Ok(RefreshOutcome::NeedsReauthorization(_))) => report.needs_reauthorization.push(appid),
                Some(Ok(RefreshOutcome::NotDue | RefreshOutcome::Busy | RefreshOutcome::NotAuthorized)) => {
                    report.skipped.push(appid)
                }
                Some(Err(err)) => {
                    tracing::error!(authorizer = %appid, error = %err, "refresh failed");
                    report.failed.push(format!("{appid}: {err}"));
                }
            }
        }
        for list in [
            &mut report.refreshed,
            &mut report.recovered,
            &mut report.skipped,
            &mut report.needs_reauthorization,
            &mut report.deferred,
            &mut report.failed,
        ] {
            list.sort();
        }
        report
    }

    /// WeChat pushes a ticket every 10 minutes; when the newest is older than
    /// [`TICKET_STALE_SECS`], the pushes have stopped and `api_start_push_ticket` restarts them.
    async fn restart_stopped_pushes(&self, now: i64) -> Option<String> {
        match self.store.verify_ticket().await {
            Ok(ticket) if ticket.as_ref().is_none_or(|t| t.create_time < now - TICKET_STALE_SECS) => {
                tracing::warn!("ticket pushes seem stopped; calling api_start_push_ticket");
                Some(match self.wechat.start_push_ticket().await {
                    Ok(()) => "restarted".into(),
                    Err(err) => {
                        tracing::error!(call = err.call(), errcode = err.errcode(), error = %err, "restarting ticket pushes failed");
                        format!("failed: {err}")
                    }
                })
            }
            Ok(_) => None,
            Err(err) => Some(format!("failed: {err}")),
        }
    }

    /// Every account whose token expires before `before`, through the due query's pages.
    async fn due_accounts(&self, before: i64) -> Result<Vec<String>, StoreError> {
        let mut due = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.store.due_authorizers(before, cursor.as_deref(), DUE_PAGE).await?;
            due.extend(page.items.into_iter().map(|d| d.authorizer_appid));
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(due),
            }
        }
    }

    /// Refreshes one authorizer's access token if it expires within `margin` seconds, under a
    /// per-account lease so concurrent runs never spend the same refresh token twice.
    ///
    /// # Errors
    /// Store failures and WeChat failures other than 61023 (which has its own outcome).
    pub async fn refresh_authorizer(&self, appid: &str, margin: i64) -> Result<RefreshOutcome, CallError> {
        let now = self.now();
        let lease = LeaseName::authorizer(appid);
        let holder = holder_id();
        if !self.store.acquire_lease(&lease, &holder, now + 30, now).await? {
            return Ok(RefreshOutcome::Busy);
        }
        let outcome = self.refresh_leased(appid, margin).await;
        if let Err(err) = self.store.release_lease(&lease, &holder).await {
            tracing::warn!(authorizer = %appid, error = %err, "could not release the refresh lease; it will expire");
        }
        outcome
    }

    async fn refresh_leased(&self, appid: &str, margin: i64) -> Result<RefreshOutcome, CallError> {
        let Some(record) = self.store.authorizer(appid).await? else {
            return Ok(RefreshOutcome::NotAuthorized);
        };
        if record.status != AuthorizerStatus::Authorized {
            return Ok(RefreshOutcome::NotAuthorized);
        }
        if record.expires_at - margin > self.now() {
            return Ok(RefreshOutcome::NotDue);
        }
        let refreshed = self
            .with_component_token(|token| {
                let refresh_token = record.refresh_token.clone();
                async move { self.wechat.authorizer_token(&token, appid, &refresh_token).await }
            })
            .await;
        match refreshed {
            Ok(tokens) => {
                Ok(self.store_tokens(&record, tokens).await?.map_or(RefreshOutcome::Busy, RefreshOutcome::Refreshed))
            }
            Err(CallError::WeChat(err)) if err.kind() == ErrorKind::RefreshTokenInvalid => self.recover(&record).await,
            Err(err) => Err(err),
        }
    }

    /// 61023: WeChat's staff advise re-reading the refresh token from `api_get_authorizer_list`.
    async fn recover(&self, record: &AuthorizerRecord) -> Result<RefreshOutcome, CallError> {
        let appid = record.authorizer_appid.as_str();
        tracing::warn!(authorizer = %appid, "refresh token refused (61023); trying api_get_authorizer_list");
        let listed = self.find_listed_refresh_token(appid).await?;
        if let Some(refresh_token) = listed.filter(|t| *t != record.refresh_token) {
            let retried = self
                .with_component_token(|token| {
                    let refresh_token = refresh_token.clone();
                    async move { self.wechat.authorizer_token(&token, appid, &refresh_token).await }
                })
                .await;
            match retried {
                Ok(mut tokens) => {
                    tokens.refresh_token = tokens.refresh_token.or(Some(refresh_token));
                    return Ok(self
                        .store_tokens(record, tokens)
                        .await?
                        .map_or(RefreshOutcome::Busy, RefreshOutcome::Recovered));
                }
                Err(CallError::WeChat(err)) if err.kind() == ErrorKind::RefreshTokenInvalid => {}
                Err(err) => return Err(err),
            }
        }
        match self.store.mark_needs_reauthorization(appid, record.version, self.now()).await {
            Ok(marked) => {
                tracing::error!(authorizer = %appid, "refresh token unrecoverable: the admin must authorize again");
                Ok(RefreshOutcome::NeedsReauthorization(marked))
            }
            Err(StoreError::ConditionFailed) => Ok(RefreshOutcome::Busy),
            Err(err) => Err(err.into()),
        }
    }

    pub(super) async fn find_listed_refresh_token(&self, appid: &str) -> Result<Option<Secret>, CallError> {
        let mut offset = 0;
        loop {
            let page = self
                .with_component_token(
                    |token| async move { self.wechat.authorizer_list(&token, offset, LIST_PAGE).await },
                )
                .await?;
            if let Some(row) = page.list.iter().find(|row| row.authorizer_appid == appid) {
                return Ok(row.refresh_token.clone());
            }
            let fetched = u32::try_from(page.list.len()).unwrap_or(u32::MAX);
            offset = offset.saturating_add(fetched);
            if fetched == 0 || i64::from(offset) >= page.total_count {
                return Ok(None);
            }
        }
    }

    /// Stores refreshed tokens, retrying when the version moved on under us but our tokens are
    /// still the newest: an unrelated write (profile, owner), or — when WeChat returned a refresh
    /// token — a re-authorization answered before our refresh (often carrying the very token we
    /// just spent; WeChat may have rotated it, and the new one must not be dropped). The store's
    /// condition refuses any token received before the stored one, so the retry cannot regress.
    /// `None` when the account was revoked, or re-authorized with newer tokens, meanwhile.
    async fn store_tokens(
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
