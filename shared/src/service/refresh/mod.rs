//! Authorizer tokens: refresh one under its lease (with WeChat's 61023 recovery), and the
//! refresher's whole run.
//!
//! A run: the component token when it expires within the margin; `api_start_push_ticket` when
//! the newest ticket is older than [`TICKET_STALE_SECS`] (three missed pushes); the accounts due
//! within [`MARGIN_SECS`] from the store's due query (cost grows with the due accounts only),
//! refreshed [`CONCURRENCY`] at a time, each under its own lease, one failure never stopping the
//! rest. On 61023 the refresh token is re-read from `api_get_authorizer_list` (WeChat's advice);
//! when that fails too, the account is marked `needs_reauthorization`.
//!
//! | part | file |
//! |---|---|
//! | the run: component token, stopped pushes, due accounts, the daily reconcile | `run.rs` |
//! | one account's refresh, under its lease: refreshed, recovered, revoked or needing re-authorization | `account.rs` |
//! | WeChat's authorizer list, read once per run and shared | `listed.rs` |

mod account;
mod listed;
mod run;

use serde::Serialize;

use crate::store::AuthorizerRecord;

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
    /// The edge's copy of WeChat's push servers (`current`, `updated: …`, `unchanged: …`,
    /// `failed: …`), when the deployment has an edge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge: Option<String>,
    /// The temporary media renewed or let go, when the deployment has a media bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<crate::service::RenewalReport>,
}

impl RefreshReport {
    /// Whether the run failed as a whole or for any account: the invocation then reports an
    /// error, so Lambda's error metric and alarms see it.
    pub fn has_failures(&self) -> bool {
        self.component_token.starts_with("failed")
            || !self.failed.is_empty()
            || self.edge.as_deref().is_some_and(|edge| edge.starts_with("failed"))
            || self.media.as_ref().is_some_and(|media| !media.failed.is_empty())
    }
}

/// What the daily reconcile with WeChat's list did.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Reconcile {
    /// Accounts WeChat lists: how many.
    pub listed: usize,
    /// Stored as authorized (or awaiting a second chance) but not listed this day nor the day
    /// before: revoked.
    pub revoked: Vec<String>,
    /// Not listed this day but listed the day before (or never checked): kept as they are, and
    /// revoked if tomorrow's list omits them too.
    pub unlisted: Vec<String>,
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
