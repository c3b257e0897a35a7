//! Operational metrics as CloudWatch embedded-metric-format (EMF) lines: one JSON object per
//! line on stdout, which CloudWatch Logs turns into a metric in [`NAMESPACE`]. No network call on
//! any request (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>);
//! Lambda passes a Rust function's stdout through as written
//! (<https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html>).
//! `template.yaml`'s alarms read these.

use std::io::Write as _;

/// The metrics' CloudWatch namespace (the template's alarms name it too).
pub const NAMESPACE: &str = "WeChatPlatform";

/// What the platform counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// A `component_verify_ticket` was stored (WeChat pushes one every 10 minutes; none for 30
    /// minutes means pushes stopped).
    VerifyTicketStored,
    /// The refresher could not refresh the component token.
    ComponentTokenRefreshFailed,
    /// Authorizer tokens the refresher could not refresh in a run.
    AuthorizerRefreshFailed,
    /// Accounts the refresher found newly needing their admin to authorize again.
    NeedsReauthorization,
    /// A call for an account met WeChat's 45009: one of the account's daily API quotas is spent
    /// (its owner may reset it, 10 times a month).
    AccountQuotaSpent,
    /// WeChat's figures for one of an account's APIs, read by the platform, showed it past
    /// [`QUOTA_NEAR_PERCENT`] of the day's limit.
    AccountQuotaNear,
}

/// How much of an API's daily limit counts as near it.
pub const QUOTA_NEAR_PERCENT: u64 = 80;

impl Metric {
    /// The metric's name in CloudWatch.
    pub fn name(self) -> &'static str {
        match self {
            Self::VerifyTicketStored => "VerifyTicketStored",
            Self::ComponentTokenRefreshFailed => "ComponentTokenRefreshFailed",
            Self::AuthorizerRefreshFailed => "AuthorizerRefreshFailed",
            Self::NeedsReauthorization => "NeedsReauthorization",
            Self::AccountQuotaSpent => "AccountQuotaSpent",
            Self::AccountQuotaNear => "AccountQuotaNear",
        }
    }
}

/// The EMF line for `value` of `metric` at `timestamp_ms` (no dimensions: one series per metric,
/// which is what the alarms watch).
pub fn line(metric: Metric, value: u64, timestamp_ms: i64) -> String {
    let name = metric.name();
    format!(
        "{{\"_aws\":{{\"Timestamp\":{timestamp_ms},\"CloudWatchMetrics\":[{{\"Namespace\":\"{NAMESPACE}\",\"Dimensions\":[[]],\"Metrics\":[{{\"Name\":\"{name}\",\"Unit\":\"Count\"}}]}}]}},\"{name}\":{value}}}"
    )
}

/// Writes `value` of `metric` now, as one line on stdout (a write error is ignored: a metric
/// must never fail a request).
pub fn emit(metric: Metric, value: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", line(metric, value, now));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_the_embedded_metric_format() {
        let line = line(Metric::VerifyTicketStored, 1, 1_732_000_000_000);
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        let directive = &value["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(value["_aws"]["Timestamp"], 1_732_000_000_000u64);
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], serde_json::json!([[]]));
        assert_eq!(directive["Metrics"][0]["Name"], "VerifyTicketStored");
        // The value sits at the top level under the metric's name, as the specification requires.
        assert_eq!(value["VerifyTicketStored"], 1);
        assert!(!line.contains('\n'));
    }
}
