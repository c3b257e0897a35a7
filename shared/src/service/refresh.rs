//! Authorizer tokens: refresh one under its lease (with WeChat's 61023 recovery), and the
//! refresher's whole run.
//!
//! A run: the component token when it expires within the margin; `api_start_push_ticket` when
//! the newest ticket is older than [`TICKET_STALE_SECS`] (three missed pushes); the accounts due
//! within [`MARGIN_SECS`] from the store's due query (cost grows with the due accounts only),
//! refreshed [`CONCURRENCY`] at a time, each under its own lease, one failure never stopping the
//! rest. On 61023 the refresh token is re-read from `api_get_authorizer_list` (WeChat's advice);
//! when that fails too, the account is marked `needs_reauthorization`.

use std::collections::HashMap;

use futures_util::StreamExt as _;
use serde::Serialize;

use super::component_token::holder_id;
use super::{CallError, Platform};
use crate::bus::{AccountChange, AccountEvent};
use crate::secret::Secret;
use crate::store::{AuthorizerRecord, AuthorizerStatus, LeaseName, MarkerKey, StoreError, TokenRefresh, TokenStore};
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

/// How long an account that needs re-authorization waits for its next second chance.
pub const SECOND_CHANCE_SECS: i64 = 24 * 3600;

/// `api_get_authorizer_list`, read at most once per refresher run and shared by every account
/// that needs it (61023 recovery, second chances, the daily reconcile).
#[derive(Default)]
pub(crate) struct ListedTokens(tokio::sync::Mutex<Option<HashMap<String, Option<Secret>>>>);

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
    /// 61003: WeChat says the account no longer authorizes us: marked `revoked`.
    Revoked(AuthorizerRecord),
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
    /// Appids WeChat says no longer authorize us (61003, or absent from the daily reconcile).
    pub revoked: Vec<String>,
    /// The daily reconcile with `api_get_authorizer_list`, when this run did it.
    pub reconcile: Option<Reconcile>,
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

/// What the daily reconcile with WeChat's list did.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Reconcile {
    /// Accounts WeChat lists: how many.
    pub listed: usize,
    /// Stored as authorized (or awaiting a second chance) but not listed: revoked.
    pub revoked: Vec<String>,
    /// Listed but not stored, or stored as revoked (an authorization whose push we never got):
    /// stored from the list's refresh token.
    pub recovered: Vec<String>,
    /// `appid: error` for accounts the reconcile could not settle (the next day retries).
    pub failed: Vec<String>,
}

/// A refresh is not started with less than this left before the invocation's deadline (one
/// refresh takes at most a few WeChat calls of a few seconds each), nor with less than a fifth of
/// the run's whole budget left (short local invocations).
pub const DEADLINE_RESERVE: std::time::Duration = std::time::Duration::from_secs(20);

impl<S: TokenStore> Platform<S> {
    /// One run of the refresher. Never fails as a whole: each part's failure is in the report.
    /// With a `deadline` (the invocation's), no account is started with less than
    /// [`DEADLINE_RESERVE`] (or a fifth of the run's budget, if less) left; those are reported
    /// `deferred`.
    pub async fn refresh_all(&self, deadline: Option<std::time::Instant>) -> RefreshReport {
        let started = std::time::Instant::now();
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

        let listed = ListedTokens::default();
        let listed = &listed;
        let reserve = deadline.map(|d| DEADLINE_RESERVE.min(d.saturating_duration_since(started) / 5));
        let time_left = move || match (deadline, reserve) {
            (Some(deadline), Some(reserve)) => deadline.saturating_duration_since(std::time::Instant::now()) > reserve,
            _ => true,
        };
        let outcomes: Vec<(String, Option<Result<RefreshOutcome, CallError>>)> = futures_util::stream::iter(due)
            .map(|appid| async move {
                if !time_left() {
                    return (appid, None);
                }
                let outcome = self.refresh_listed(&appid, MARGIN_SECS, listed).await;
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
                Some(Ok(RefreshOutcome::Revoked(_))) => report.revoked.push(appid),
                Some(Ok(RefreshOutcome::NotDue | RefreshOutcome::Busy | RefreshOutcome::NotAuthorized)) => {
                    report.skipped.push(appid)
                }
                Some(Err(err)) => {
                    tracing::error!(authorizer = %appid, error = %err, "refresh failed");
                    report.failed.push(format!("{appid}: {err}"));
                }
            }
        }
        if time_left() {
            report.reconcile = self.reconcile_daily(now, listed).await;
        }
        for list in [
            &mut report.revoked,
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

    /// Once a day (the first run of each UTC day): compares the stored accounts with
    /// `api_get_authorizer_list`. Accounts WeChat no longer lists are revoked (an `unauthorized`
    /// push we missed); accounts it lists that we do not hold as authorized are stored from the
    /// list's refresh token (an `authorized` push we never processed). Skipped, and retried the
    /// next run, when the list cannot be read whole.
    async fn reconcile_daily(&self, now: i64, listed: &ListedTokens) -> Option<Reconcile> {
        let day = now.div_euclid(24 * 3600);
        match self.store.remember_once(&MarkerKey::reconcile(day), 2 * 24 * 3600, now).await {
            Ok(true) => {}
            Ok(false) => return None,
            Err(err) => {
                tracing::warn!(error = %err, "reconcile skipped: store unavailable");
                return None;
            }
        }
        let mut report = Reconcile::default();
        // An error leaves the day's marker in place: the failure is reported, tomorrow retries.
        let list = match self.listed_all(listed).await {
            Ok(list) => list,
            Err(err) => {
                report.failed.push(format!("api_get_authorizer_list: {err}"));
                return Some(report);
            }
        };
        report.listed = list.len();
        let stored = match self.due_accounts(i64::MAX).await {
            Ok(stored) => stored,
            Err(err) => {
                report.failed.push(format!("stored accounts: {err}"));
                return Some(report);
            }
        };
        for appid in stored.iter().filter(|appid| !list.contains_key(*appid)) {
            // The event first (see `mark_revoked`); until it is out the account stays as it was,
            // and tomorrow's reconcile (or its next refresh, answered 61003) tries again.
            let announced = match self.store.authorizer(appid).await {
                Ok(Some(record)) if record.status != AuthorizerStatus::Revoked => self
                    .announce_change(
                        &record,
                        AccountChange::Unauthorized,
                        record.version,
                        "not in api_get_authorizer_list any more",
                    )
                    .await
                    .map_err(|err| err.to_string()),
                Ok(_) => Ok(()),
                Err(err) => Err(err.to_string()),
            };
            if let Err(err) = announced {
                report.failed.push(format!("{appid}: {err}"));
                continue;
            }
            match self.store.revoke(appid, now, now).await {
                Ok(_) => report.revoked.push(appid.clone()),
                Err(StoreError::ConditionFailed) => {}
                Err(err) => report.failed.push(format!("{appid}: {err}")),
            }
        }
        for (appid, refresh_token) in &list {
            if stored.contains(appid) {
                continue;
            }
            let Some(refresh_token) = refresh_token else { continue };
            // Announced first, so that an account stored from the list is never silently new.
            let event = AccountEvent {
                component_appid: &self.pages.component_appid,
                authorizer_appid: appid,
                change: AccountChange::Authorized,
                occurred_at: now,
                received_at_ms: self.now_ms(),
                detected_by: "token_refresher",
                key: &format!("authorized|listed|{day}"),
                owner: None,
                user_name: None,
                nick_name: None,
                func_info: None,
                reason: Some("listed by api_get_authorizer_list but never stored (its authorized push was missed)"),
            }
            .event();
            let marker = MarkerKey::account_change(appid, "authorized-listed", u64::try_from(day).unwrap_or(0));
            if let Err(err) = self.hand_off(&marker, std::slice::from_ref(&event)).await {
                report.failed.push(format!("{appid}: {err}"));
                continue;
            }
            match self.store_listed(appid, refresh_token, now).await {
                Ok(true) => report.recovered.push(appid.clone()),
                Ok(false) => {}
                Err(err) => report.failed.push(format!("{appid}: {err}")),
            }
        }
        report.revoked.sort();
        report.recovered.sort();
        tracing::info!(listed = report.listed, revoked = ?report.revoked, recovered = ?report.recovered, "daily reconcile");
        Some(report)
    }

    /// Stores a listed account we do not hold as authorized; `false` when it needs nothing (an
    /// account we hold as needing re-authorization gets its second chance from the due query).
    async fn store_listed(&self, appid: &str, refresh_token: &Secret, now: i64) -> Result<bool, CallError> {
        if let Some(record) = self.store.authorizer(appid).await?
            && record.status != AuthorizerStatus::Revoked
        {
            return Ok(false);
        }
        let tokens = self.exchange(appid, refresh_token).await?;
        let authorization = self.authorization_from(appid, tokens, refresh_token.clone(), Some(now));
        self.store.save_authorization(&authorization, now).await?;
        Ok(true)
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
    /// Store failures and WeChat failures other than 61023 and 61003 (which have their outcomes).
    pub async fn refresh_authorizer(&self, appid: &str, margin: i64) -> Result<RefreshOutcome, CallError> {
        self.refresh_listed(appid, margin, &ListedTokens::default()).await
    }

    async fn refresh_listed(
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

    async fn refresh_leased(
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
    async fn exchange(&self, appid: &str, refresh_token: &Secret) -> Result<AuthorizerTokens, CallError> {
        self.with_component_token(
            |token| async move { self.wechat.authorizer_token(&token, appid, refresh_token).await },
        )
        .await
    }

    /// Hands off an account change the refresher found, once per `record` version it changed.
    async fn announce_change(
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
    async fn mark_revoked(&self, record: &AuthorizerRecord) -> Result<RefreshOutcome, CallError> {
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
    async fn recover(&self, record: &AuthorizerRecord, listed: &ListedTokens) -> Result<RefreshOutcome, CallError> {
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
    async fn needs_reauthorization(&self, record: &AuthorizerRecord) -> Result<RefreshOutcome, CallError> {
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
    async fn second_chance(
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

    /// The refresh token `api_get_authorizer_list` holds for `appid`; the list is read once per
    /// `listed` (once per refresher run), however many accounts need it.
    async fn listed_refresh_token(&self, appid: &str, listed: &ListedTokens) -> Result<Option<Secret>, CallError> {
        let cached = self.filled(listed).await?;
        Ok(cached.as_ref().and_then(|list| list.get(appid).cloned().flatten()))
    }

    /// The whole of `api_get_authorizer_list` (the daily reconcile), read at most once per `listed`.
    async fn listed_all(&self, listed: &ListedTokens) -> Result<HashMap<String, Option<Secret>>, CallError> {
        Ok(self.filled(listed).await?.clone().unwrap_or_default())
    }

    /// `listed`, read from WeChat on first use.
    async fn filled<'l>(
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
    async fn authorizer_list_all(&self) -> Result<HashMap<String, Option<Secret>>, CallError> {
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
    pub(super) async fn find_listed_refresh_token(&self, appid: &str) -> Result<Option<Secret>, CallError> {
        self.listed_refresh_token(appid, &ListedTokens::default()).await
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
