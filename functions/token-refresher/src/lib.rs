//! The scheduled refresher (EventBridge, every 10 minutes): keeps the component token and every
//! authorizer token fresh, and restarts WeChat's ticket pushes when they have stopped; it also uploads
//! again the temporary media in use (named by a reply rule or sent) before WeChat forgets them. The rules
//! are [`shared::service`]'s `refresh_all`; this crate runs it within the invocation's time, logs
//! the report as JSON and reports a run with failures as a failed invocation. With the optional
//! edge, it also keeps the edge's list of WeChat's push servers current (`edge.rs`).

mod edge;

pub use self::edge::{WafIpSet, parse_ip_set_arn, waf_client};
use shared::app::App;
pub use shared::service::{CONCURRENCY, MARGIN_SECS, PushSources, RefreshReport, TICKET_STALE_SECS};
pub use shared::staging::S3Staging;
use shared::store::TokenStore;

/// One run of the refresher; `deadline` is the invocation's (none in tests that do not care).
pub async fn handle<S: TokenStore>(app: &App<S>, deadline: Option<std::time::Instant>) -> RefreshReport {
    handle_with(app, deadline, Upkeep::default()).await
}

/// What a run keeps besides the tokens, when the deployment has it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Upkeep<'a> {
    /// The optional edge (`EDGE_IP_SET_ARN`): WeChat's push servers copied to it once a day.
    pub edge: Option<&'a WafIpSet>,
    /// The media staging bucket (`MEDIA_BUCKET`): temporary media in use uploaded
    /// again before WeChat forgets them.
    pub media: Option<&'a S3Staging>,
}

/// [`handle`], and the `upkeep` the deployment has, after the tokens (a token run is never
/// delayed by either).
pub async fn handle_with<S: TokenStore>(
    app: &App<S>,
    deadline: Option<std::time::Instant>,
    upkeep: Upkeep<'_>,
) -> RefreshReport {
    let mut report = app.platform.onboarding().refresh_all(deadline).await;
    if let Some(edge) = upkeep.edge {
        report.edge = Some(app.platform.onboarding().sync_push_sources(edge).await);
    }
    if let Some(staging) = upkeep.media {
        report.media = Some(app.platform.inbound().renew_media(staging).await);
    }
    let json = serde_json::to_string(&report).unwrap_or_default();
    if report.has_failures() {
        tracing::error!(function = "token-refresher", report = %json, "run complete with failures");
    } else {
        tracing::info!(function = "token-refresher", report = %json, "run complete");
    }
    report
}

/// Lambda's deadline (Unix milliseconds) as an [`std::time::Instant`]; `None` when it is not in
/// the future (a runtime that sets none), so that nothing is deferred for want of a deadline.
pub fn deadline_of(deadline_ms: u64) -> Option<std::time::Instant> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let left = deadline_ms.checked_sub(now_ms).filter(|left| *left > 0)?;
    Some(std::time::Instant::now() + std::time::Duration::from_millis(left))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_in_the_past_or_absent_is_none() {
        assert!(deadline_of(0).is_none());
        let in_a_minute =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() + 60_000;
        let deadline = deadline_of(u64::try_from(in_a_minute).unwrap()).expect("in the future");
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(left > std::time::Duration::from_secs(55) && left <= std::time::Duration::from_secs(60), "{left:?}");
    }
}

/// The run's metrics for the alarms (`shared::metrics`): a failed component token, the
/// accounts not refreshed, and those newly needing re-authorization. Zeros are written too, so
/// that an alarm sees a healthy run as data, not as missing data.
pub fn metrics_of(report: &RefreshReport) -> [(shared::metrics::Metric, u64); 3] {
    use shared::metrics::Metric;
    let count = |list: &[String]| u64::try_from(list.len()).unwrap_or(u64::MAX);
    [
        (Metric::ComponentTokenRefreshFailed, u64::from(report.component_token.starts_with("failed"))),
        (Metric::AuthorizerRefreshFailed, count(&report.failed)),
        (Metric::NeedsReauthorization, count(&report.needs_reauthorization)),
    ]
}

/// Writes [`metrics_of`] as embedded-metric-format lines.
pub fn emit_metrics(report: &RefreshReport) {
    for (metric, value) in metrics_of(report) {
        shared::metrics::emit(metric, value);
    }
}

#[cfg(test)]
mod metric_tests {
    use super::*;
    use shared::metrics::Metric;

    #[test]
    fn a_run_becomes_the_alarms_metrics() {
        let healthy =
            RefreshReport { component_token: "refreshed".into(), refreshed: vec!["wx1".into()], ..Default::default() };
        assert_eq!(
            metrics_of(&healthy),
            [
                (Metric::ComponentTokenRefreshFailed, 0),
                (Metric::AuthorizerRefreshFailed, 0),
                (Metric::NeedsReauthorization, 0)
            ]
        );
        let broken = RefreshReport {
            component_token: "failed: WeChat refused (61005)".into(),
            failed: vec!["wx1".into(), "wx2".into()],
            needs_reauthorization: vec!["wx3".into()],
            ..Default::default()
        };
        assert_eq!(
            metrics_of(&broken),
            [
                (Metric::ComponentTokenRefreshFailed, 1),
                (Metric::AuthorizerRefreshFailed, 2),
                (Metric::NeedsReauthorization, 1)
            ]
        );
    }
}
