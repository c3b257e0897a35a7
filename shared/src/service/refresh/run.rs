//! One refresher run: the component token, restarting stopped ticket pushes, every account due
//! (a bounded number at a time, within the invocation's deadline), and the daily reconcile with
//! WeChat's authorizer list.

use futures_util::StreamExt as _;

use super::listed::ListedTokens;
use super::{
    CONCURRENCY, DEADLINE_RESERVE, DUE_PAGE, MARGIN_SECS, Reconcile, RefreshOutcome, RefreshReport, TICKET_STALE_SECS,
};
use crate::bus::{AccountChange, AccountEvent};
use crate::secret::Secret;
use crate::service::{CallError, ComponentStore, Onboarding};
use crate::store::{AuthorizerStatus, AuthorizerStore, MarkerKey, MarkerStore, StoreError};

impl<S: ComponentStore + AuthorizerStore + MarkerStore> Onboarding<'_, S> {
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
    /// `api_get_authorizer_list`. Accounts WeChat has not listed two days running are revoked (an
    /// `unauthorized` push we missed); accounts it lists that we do not hold as authorized are stored from the
    /// list's refresh token (an `authorized` push we never processed). Skipped, and retried the
    /// next run, when the list cannot be read whole.
    pub(super) async fn reconcile_daily(&self, now: i64, listed: &ListedTokens) -> Option<Reconcile> {
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
            // One day's absence is not enough: a list that misses a live account once would stop
            // its refreshes until its admin authorizes again. Revoked on the second day running.
            match self.unlisted_yesterday_too(appid, day, now).await {
                Ok(true) => {}
                Ok(false) => {
                    report.unlisted.push(appid.clone());
                    continue;
                }
                Err(err) => {
                    report.failed.push(format!("{appid}: {err}"));
                    continue;
                }
            }
            // The event first (see `mark_revoked`); until it is out the account stays as it was,
            // and tomorrow's reconcile (or its next refresh, answered 61003) tries again: at least
            // once, under one id (the record's version), rather than a revocation nobody heard of.
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
                previous_owner: None,
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
        report.unlisted.sort();
        tracing::info!(listed = report.listed, revoked = ?report.revoked, recovered = ?report.recovered,
            unlisted = ?report.unlisted, "daily reconcile");
        Some(report)
    }

    /// Records that `appid` was missing from WeChat's list on `day`, and says whether it was
    /// missing the day before as well.
    async fn unlisted_yesterday_too(&self, appid: &str, day: i64, now: i64) -> Result<bool, StoreError> {
        self.store.remember_once(&MarkerKey::unlisted(appid, day), 3 * 24 * 3600, now).await?;
        self.store.seen(&MarkerKey::unlisted(appid, day - 1), now).await
    }

    /// Stores a listed account we do not hold as authorized; `false` when it needs nothing (an
    /// account we hold as needing re-authorization gets its second chance from the due query).
    pub(super) async fn store_listed(&self, appid: &str, refresh_token: &Secret, now: i64) -> Result<bool, CallError> {
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
    pub(super) async fn restart_stopped_pushes(&self, now: i64) -> Option<String> {
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
    pub(super) async fn due_accounts(&self, before: i64) -> Result<Vec<String>, StoreError> {
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
}

#[cfg(test)]
mod tests {
    use crate::service::MARGIN_SECS;
    use crate::service::testing::{ACCOUNT, OTHER_ACCOUNT, world};
    use crate::store::AuthorizerStore;

    #[tokio::test]
    async fn a_run_refreshes_the_accounts_due_and_leaves_the_others_alone() {
        let w = world().await;
        let first = w.platform.store.authorizer(ACCOUNT).await.expect("read").expect("kept");
        // A second account authorized an hour later: not due when the first is.
        w.standin.advance_clock(3600);
        w.fresh_ticket().await;
        w.authorize(OTHER_ACCOUNT).await;

        w.standin.advance_clock(first.expires_at - w.standin.now() - MARGIN_SECS + 1);
        let report = w.platform.onboarding().refresh_all(None).await;
        assert_eq!(report.refreshed, [ACCOUNT], "{report:?}");
        assert!(report.needs_reauthorization.is_empty() && report.revoked.is_empty(), "{report:?}");
        let refreshed = w.platform.store.authorizer(ACCOUNT).await.expect("read").expect("kept");
        assert!(refreshed.expires_at > first.expires_at);

        // Straight after: nothing is due, nothing is asked of WeChat.
        let calls = w.standin.calls("api_authorizer_token");
        let again = w.platform.onboarding().refresh_all(None).await;
        assert!(again.refreshed.is_empty(), "{again:?}");
        assert_eq!(w.standin.calls("api_authorizer_token"), calls);
    }
}
