//! The scheduled refresher: keeps the component token and every authorizer token fresh, and
//! restarts WeChat's ticket pushes when they have stopped.
//!
//! - the component token is refreshed when it expires within the margin (under the store's lease);
//! - authorizers due within the margin come from the store's due query (cost grows with the due
//!   accounts only) and are refreshed with bounded concurrency, each under its own lease; one
//!   failure never stops the rest;
//! - 61023 goes through the recovery path, then `needs_reauthorization`;
//! - when the newest ticket is older than 30 minutes (three missed pushes),
//!   `api_start_push_ticket` is called.
//!
//! Returns and logs a JSON report.

use futures_util::StreamExt;
use serde::Serialize;
use shared::app::App;
use shared::service::RefreshOutcome;
use shared::store::TokenStore;

/// Refresh what expires within this many seconds; the schedule runs well inside it.
pub const MARGIN_SECS: i64 = 20 * 60;
/// Authorizers refreshed at once.
pub const CONCURRENCY: usize = 16;
/// A ticket older than this means pushes have stopped.
pub const TICKET_STALE_SECS: i64 = 30 * 60;

/// What one run did.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Report {
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
    /// `appid: error` for failures.
    pub failed: Vec<String>,
}

/// One run of the refresher.
pub async fn run<S: TokenStore>(app: &App<S>) -> Report {
    let platform = &app.platform;
    let mut report = Report::default();
    let now = platform.now();

    let before = platform.store.component_token().await.ok().flatten().map(|t| t.version);
    report.component_token = match platform.component_token(None).await {
        Ok(_) => {
            let after = platform.store.component_token().await.ok().flatten().map(|t| t.version);
            if after == before { "fresh".into() } else { "refreshed".into() }
        }
        Err(err) => {
            tracing::error!(function = "token-refresher", error = %err, "component token refresh failed");
            format!("failed: {err}")
        }
    };

    match platform.store.verify_ticket().await {
        Ok(ticket) if ticket.as_ref().is_none_or(|t| t.create_time < now - TICKET_STALE_SECS) => {
            tracing::warn!(function = "token-refresher", "ticket pushes seem stopped; calling api_start_push_ticket");
            report.push_ticket = Some(match platform.wechat.start_push_ticket().await {
                Ok(()) => "restarted".into(),
                Err(err) => {
                    tracing::error!(function = "token-refresher", call = err.call(), errcode = err.errcode(), error = %err, "restarting ticket pushes failed");
                    format!("failed: {err}")
                }
            });
        }
        Ok(_) => {}
        Err(err) => report.push_ticket = Some(format!("failed: {err}")),
    }

    let mut due = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        match platform.store.due_authorizers(now + MARGIN_SECS, cursor.as_deref(), 100).await {
            Ok(page) => {
                due.extend(page.items.into_iter().map(|d| d.authorizer_appid));
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            Err(err) => {
                report.failed.push(format!("due query: {err}"));
                break;
            }
        }
    }
    report.due = due.len();

    let outcomes: Vec<(String, Result<RefreshOutcome, String>)> = futures_util::stream::iter(due)
        .map(|appid| async move {
            let outcome = platform.refresh_authorizer(&appid, MARGIN_SECS).await.map_err(|e| e.to_string());
            (appid, outcome)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for (appid, outcome) in outcomes {
        match outcome {
            Ok(RefreshOutcome::Refreshed(_)) => report.refreshed.push(appid),
            Ok(RefreshOutcome::Recovered(_)) => report.recovered.push(appid),
            Ok(RefreshOutcome::NeedsReauthorization(_)) => report.needs_reauthorization.push(appid),
            Ok(RefreshOutcome::NotDue | RefreshOutcome::Busy | RefreshOutcome::NotAuthorized) => {
                report.skipped.push(appid)
            }
            Err(err) => {
                tracing::error!(function = "token-refresher", authorizer = %appid, error = %err, "refresh failed");
                report.failed.push(format!("{appid}: {err}"));
            }
        }
    }
    for list in [
        &mut report.refreshed,
        &mut report.recovered,
        &mut report.skipped,
        &mut report.needs_reauthorization,
        &mut report.failed,
    ] {
        list.sort();
    }
    tracing::info!(function = "token-refresher", report = %serde_json::to_string(&report).unwrap_or_default(), "run complete");
    report
}
