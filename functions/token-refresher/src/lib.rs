//! The scheduled refresher (EventBridge, every 10 minutes): keeps the component token and every
//! authorizer token fresh, and restarts WeChat's ticket pushes when they have stopped. The rules
//! are [`shared::service`]'s `refresh_all`; this crate runs it and logs the report as JSON.

use shared::app::App;
pub use shared::service::{CONCURRENCY, MARGIN_SECS, RefreshReport, TICKET_STALE_SECS};
use shared::store::TokenStore;

/// One run of the refresher.
pub async fn handle<S: TokenStore>(app: &App<S>) -> RefreshReport {
    let report = app.platform.refresh_all().await;
    tracing::info!(function = "token-refresher", report = %serde_json::to_string(&report).unwrap_or_default(), "run complete");
    report
}
