//! The token store: what the platform cannot afford to lose or get wrong.
//!
//! # Table design (one DynamoDB table)
//!
//! Every item has a string partition key `pk` and a string sort key `sk`. Keys carry the component
//! appid, so one table can serve several platforms (staging and production, say) without mixing.
//!
//! | record | `pk` | `sk` | attributes |
//! |---|---|---|---|
//! | newest verify ticket | `component#{c}` | `ticket` | `ticket`, `create_time`, `updated_at` |
//! | component access token | `component#{c}` | `token` | `token`, `expires_at`, `version`, `updated_at` |
//! | refresh lease | `component#{c}` | `lease#{name}` | `holder`, `lease_until`, `ttl` |
//! | authorizer | `authorizer#{c}#{appid}` | `authorizer` | `authorizer_appid`, `access_token`, `expires_at`, `refresh_token`, `refresh_token_received_ms`, `nick_name`, `head_img`, `user_name`, `principal_name`, `alias`, `qrcode_url`, `service_type`, `verify_type`, `func_info`, `status`, `owner`, `authorized_at`, `updated_at`, `version`, `due_pk`, `owner_pk` |
//! | short-lived marker (retry dedup, single-use state) | `marker#{c}#{key}` | `marker` | `ttl` |
//! | short-lived value (which account an auth code authorized) | `value#{c}#{key}` | `value` | `value`, `ttl` |
//! | reply rules | `rules#{c}#{appid}` | `rules` | `document`, `version`, `updated_at`, `updated_by` |
//! | follower | `follower#{c}#{appid}` | `{openid}` | `subscribed`, `state_at`, `first_subscribed_at`, `last_subscribed_at`, `unsubscribed_at`, `scene`, `last_message_at`, `last_interaction_at`, `unionid` |
//! | follower count | `followers#{c}#{appid}` | `count` | `subscribed` (N, moved only with a follower's state, in one transaction) |
//! | binding (web authorization), both sides in one transaction | `binding#{c}#{appid}` | `openid#{openid}` and `user#{user_ref}` | `openid`, `user_ref`, `unionid`, `bound_at`, `bound_by` |
//! | a medium of an account | `media#{c}#{appid}` | `{handle}` | `kind`, `lifetime`, `format`, `sha256`, `size`, `title`, `introduction`, `media_id`, `url`, `expires_at`, `created_at`, `uploaded_at`, `ttl` (until uploaded) |
//! | an account that left a dashboard user (90 days) | `moved#{c}#{previous owner}` | `{moved_at:012}#{appid}` | `authorizer_appid`, `nick_name`, `moved_at`, `ttl` |
//!
//! - **TTL attribute** `ttl` (epoch seconds) on markers and leases. DynamoDB deletes expired items
//!   only eventually (typically within 48 h), so every read and condition also treats an item
//!   whose `ttl` has passed as absent.
//! - **`due-index`** (GSI, keys only): partition `due_pk` = `due#{c}`, sort `expires_at` (N). It is
//!   sparse: only authorizers with status `authorized` carry `due_pk`, so the due query reads the
//!   due items and nothing else. **Cost:** one `Query` page per 1 MB of keys, i.e. about one read
//!   unit per ~4 KB of due keys (~100 bytes each): 5,000 due accounts ≈ 125 RCU however many
//!   accounts are not due. The single partition value limits writes to the index to ~1,000 per
//!   second, far above one token refresh per account per two hours.
//! - **`owner-index`** (GSI): partition `owner_pk` = `owner#{c}#{owner}`, sort `authorized_at`
//!   (N), projecting the profile and status but **no token**, so the dashboard's list function can
//!   be granted this index alone.
//!
//! # Semantics, enforced with condition expressions (never read-then-write)
//!
//! - An older verify ticket never overwrites a newer one (`create_time` condition).
//! - One caller at a time refreshes the component token: a lease item with an expiry; a crashed
//!   holder's lease simply runs out (`service::token_or_refresh`).
//! - Authorizer updates are conditional on the `version` the caller read; a refresh token is never
//!   removed by any operation and never replaced by one WeChat handed out earlier
//!   (`refresh_token_received_ms`: when its answer arrived, in milliseconds).
//! - `unauthorized` sets status `revoked` and keeps the record; a later authorization restores it.
//!   A late retry of an old `unauthorized` cannot revoke a newer authorization.
//! - [`MarkerStore::remember_once`] is true the first time and false for every retry.

mod dynamodb;
mod keys;
mod memory;
pub mod table;

pub use self::dynamodb::DynamoDbStore;
pub use self::keys::{LeaseName, MarkerKey};
pub use self::memory::MemoryStore;

use std::future::Future;

use crate::secret::Secret;

pub use crate::account::AuthorizerProfile;
pub use crate::clock::Timestamp;
use crate::media::{Format, Kind, Lifetime};

/// The owner of accounts no dashboard user is known to have started (an authorization begun
/// outside our link, or whose link's binding was lost): listed to nobody until a user claims it
/// ([`AuthorizerStore::claim_owner`]). No dashboard identity can take this value: they are
/// namespaced (`jwt:…`, `iam:…`, [`LOCAL_DEMO_USER`]).
pub const UNCLAIMED_OWNER: &str = "unclaimed";

/// The one user of `DASHBOARD_AUTH=unauthenticated-local-demo`.
pub const LOCAL_DEMO_USER: &str = "local:demo";

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist.
    #[error("not found")]
    NotFound,
    /// A condition did not hold: a newer value is stored, the version moved on, the lease is held.
    /// The caller re-reads and decides; nothing was written.
    #[error("condition failed")]
    ConditionFailed,
    /// DynamoDB throttled the request after the SDK's own retries.
    #[error("throttled")]
    Throttled,
    /// DynamoDB could not be reached or timed out (or the table is missing).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored item could not be decoded; names its key, never its secret values.
    #[error("corrupt item {key}: {reason}")]
    Corrupt {
        /// `pk/sk` of the item.
        key: String,
        /// What was wrong.
        reason: String,
    },
    /// Anything else the service reported.
    #[error("store error: {0}")]
    Other(String),
}

/// The newest `component_verify_ticket`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyTicket {
    /// `ComponentVerifyTicket`.
    pub ticket: Secret,
    /// `CreateTime` of the push that carried it.
    pub create_time: Timestamp,
}

/// Outcome of storing a verify ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketWrite {
    /// Stored as the newest ticket.
    Stored,
    /// Not stored: a ticket at least as new is already there (a retry, or pushes out of order).
    Stale,
}

/// The cached `component_access_token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentToken {
    /// The token.
    pub token: Secret,
    /// When it stops working, epoch seconds.
    pub expires_at: Timestamp,
    /// Incremented by every write; writes are conditional on it.
    pub version: u64,
}

/// Where an authorizer's authorization stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthorizerStatus {
    /// Authorized; its tokens are refreshed.
    Authorized,
    /// The admin revoked the authorization (`unauthorized`); the record is kept.
    Revoked,
    /// WeChat refused the refresh token (61023) and recovery failed: the admin must scan again.
    NeedsReauthorization,
}

impl AuthorizerStatus {
    /// The stored and reported spelling (`authorized`, `revoked`, `needs_reauthorization`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authorized => "authorized",
            Self::Revoked => "revoked",
            Self::NeedsReauthorization => "needs_reauthorization",
        }
    }

    /// Parses [`AuthorizerStatus::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "authorized" => Self::Authorized,
            "revoked" => Self::Revoked,
            "needs_reauthorization" => Self::NeedsReauthorization,
            _ => return None,
        })
    }
}

/// Everything stored for one authorized account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerRecord {
    /// The 公众号 / 小程序 appid.
    pub authorizer_appid: String,
    /// `authorizer_access_token`.
    pub access_token: Secret,
    /// When the access token stops working.
    pub expires_at: Timestamp,
    /// `authorizer_refresh_token`: irreplaceable, never deleted.
    pub refresh_token: Secret,
    /// When the answer carrying the stored refresh token arrived (Unix milliseconds); a write
    /// carrying a token received earlier is refused. Milliseconds, not seconds: a refresh and a
    /// re-authorization answered within the same second must still be told apart, or the older
    /// token could overwrite the newer one.
    pub refresh_token_received_ms: i64,
    /// The account's profile.
    pub profile: AuthorizerProfile,
    /// Authorization status.
    pub status: AuthorizerStatus,
    /// The dashboard user the account belongs to.
    pub owner: String,
    /// When the account was (last) authorized.
    pub authorized_at: Timestamp,
    /// When the record last changed.
    pub updated_at: Timestamp,
    /// Incremented by every write of its tokens, status or owner (not of its settings below).
    pub version: u64,
    /// The origins web authorization may send a follower's browser back to, kept by the account's
    /// owner (`https://shop.example.com`); none: web authorization is off for the account.
    pub web_origins: Vec<String>,
}

/// The dashboard's view of an account: the profile and status, no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerSummary {
    /// The appid.
    pub authorizer_appid: String,
    /// The profile.
    pub profile: AuthorizerProfile,
    /// Status.
    pub status: AuthorizerStatus,
    /// When it was (last) authorized.
    pub authorized_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// The result of an authorization (`api_query_auth`, then optionally `api_get_authorizer_info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuthorization {
    /// The appid.
    pub authorizer_appid: String,
    /// `authorizer_access_token`.
    pub access_token: Secret,
    /// When it expires.
    pub expires_at: Timestamp,
    /// `authorizer_refresh_token`.
    pub refresh_token: Secret,
    /// When WeChat's answer arrived (Unix milliseconds): orders refresh tokens.
    pub received_ms: i64,
    /// When the authorization happened, by WeChat's clock when the `authorized` push said so
    /// (its `CreateTime`): revocations are ordered against it, and they carry WeChat's time.
    pub authorized_at: Timestamp,
}

/// A refreshed authorizer token pair, conditional on the version it was computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRefresh {
    /// The appid.
    pub authorizer_appid: String,
    /// The record version the refresh started from.
    pub expected_version: u64,
    /// The new access token.
    pub access_token: Secret,
    /// When it expires.
    pub expires_at: Timestamp,
    /// The refresh token WeChat returned; `None` keeps the stored one.
    pub refresh_token: Option<Secret>,
    /// When WeChat's answer arrived (Unix milliseconds): orders refresh tokens.
    pub received_ms: i64,
}

/// An authorizer whose access token is due, from the due query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueAuthorizer {
    /// The appid.
    pub authorizer_appid: String,
    /// When its access token expires.
    pub expires_at: Timestamp,
}

/// One page of the due query; pass `next` back to continue.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DuePage {
    /// Due authorizers, soonest expiry first.
    pub items: Vec<DueAuthorizer>,
    /// Where the next page starts; `None` when this was the last.
    pub next: Option<String>,
}

/// An account that moved from one dashboard user to another: what the previous owner's console
/// shows, so that an account taken into someone else's tenant does not vanish silently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerMove {
    /// The account.
    pub authorizer_appid: String,
    /// Its name when it moved (the previous owner may know it by that only).
    pub nick_name: String,
    /// When it moved: the `authorized` push's `CreateTime` (a retry records the same move).
    pub moved_at: Timestamp,
}

/// How long a previous owner is told about an account that moved away.
pub const OWNER_MOVE_TTL_SECS: i64 = 90 * 86_400;

/// One page of a dashboard user's accounts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SummaryPage {
    /// The accounts, newest authorization first.
    pub items: Vec<AuthorizerSummary>,
    /// Where the next page starts (opaque); `None` when this was the last.
    pub next: Option<String>,
}

/// The newest verify ticket.
pub trait TicketStore: Send + Sync {
    /// Stores `ticket` unless an equal or newer one (by `create_time`) is stored. One write.
    fn put_verify_ticket(
        &self,
        ticket: &VerifyTicket,
        now: Timestamp,
    ) -> impl Future<Output = Result<TicketWrite, StoreError>> + Send;

    /// The newest ticket, if any arrived.
    fn verify_ticket(&self) -> impl Future<Output = Result<Option<VerifyTicket>, StoreError>> + Send;
}

/// The component access token and the lease that serialises its refresh.
pub trait ComponentTokenStore: Send + Sync {
    /// The cached token, if any.
    fn component_token(&self) -> impl Future<Output = Result<Option<ComponentToken>, StoreError>> + Send;

    /// Stores a new token if the stored version is still `expected_version` (`None`: no token
    /// stored yet). Returns what was stored.
    ///
    /// # Errors
    /// [`StoreError::ConditionFailed`] when another caller stored a token in between.
    fn put_component_token(
        &self,
        token: &Secret,
        expires_at: Timestamp,
        expected_version: Option<u64>,
        now: Timestamp,
    ) -> impl Future<Output = Result<ComponentToken, StoreError>> + Send;

    /// Takes the lease `name` for `holder` until `until`, if it is free, expired, or already
    /// `holder`'s. True when taken.
    fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives the lease back if `holder` still holds it.
    fn release_lease(&self, name: &str, holder: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Authorized accounts.
pub trait AuthorizerStore: Send + Sync {
    /// One account, read consistently.
    fn authorizer(&self, appid: &str) -> impl Future<Output = Result<Option<AuthorizerRecord>, StoreError>> + Send;

    /// Records a (re)authorization: status `authorized`, the new tokens, the profile when given.
    /// Creates the record or restores a revoked one.
    ///
    /// # Errors
    /// [`StoreError::ConditionFailed`] when the stored refresh token was issued after this one.
    fn save_authorization(
        &self,
        authorization: &NewAuthorization,
        now: Timestamp,
    ) -> impl Future<Output = Result<AuthorizerRecord, StoreError>> + Send;

    /// Stores refreshed tokens.
    ///
    /// # Errors
    /// [`StoreError::ConditionFailed`] when the version moved on, the account is no longer
    /// authorized, or a later refresh token is stored; [`StoreError::NotFound`].
    fn update_tokens(
        &self,
        refresh: &TokenRefresh,
        now: Timestamp,
    ) -> impl Future<Output = Result<AuthorizerRecord, StoreError>> + Send;

    /// Replaces the profile, conditional on the version read.
    ///
    /// # Errors
    /// [`StoreError::ConditionFailed`] when the version moved on; [`StoreError::NotFound`].
    fn update_profile(
        &self,
        appid: &str,
        profile: &AuthorizerProfile,
        expected_version: u64,
        now: Timestamp,
    ) -> impl Future<Output = Result<AuthorizerRecord, StoreError>> + Send;

    /// Binds the account to a dashboard user, whoever owned it: only for the authoritative
    /// binding (the user a `pre_auth_code` was issued to).
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    fn set_owner(
        &self,
        appid: &str,
        owner: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<AuthorizerRecord, StoreError>> + Send;

    /// Replaces the account's web-authorization return origins. Neither its version nor its
    /// tokens change: a refresh in flight is not disturbed.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    fn set_web_origins(
        &self,
        appid: &str,
        origins: &[String],
        now: Timestamp,
    ) -> impl Future<Output = Result<AuthorizerRecord, StoreError>> + Send;

    /// Binds the account to `owner` when it is [`UNCLAIMED_OWNER`]'s or already `owner`'s; never
    /// takes an account from another user.
    ///
    /// # Errors
    /// [`StoreError::ConditionFailed`] when another user owns it; [`StoreError::NotFound`].
    fn claim_owner(
        &self,
        appid: &str,
        owner: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<AuthorizerRecord, StoreError>> + Send;

    /// Marks the account `revoked` for an `unauthorized` push created at `event_time`; keeps
    /// everything else.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::ConditionFailed`] when the account was authorized
    /// again after `event_time` (a late retry of an old push).
    fn revoke(
        &self,
        appid: &str,
        event_time: Timestamp,
        now: Timestamp,
    ) -> impl Future<Output = Result<AuthorizerRecord, StoreError>> + Send;

    /// Marks the account `needs_reauthorization` (the refresh token was refused and could not be
    /// recovered), conditional on the version read. The refresh token is kept, and the account
    /// stays in the due query, due again at `retry_at`: the refresher gives it a second chance.
    ///
    /// # Errors
    /// [`StoreError::ConditionFailed`], [`StoreError::NotFound`].
    fn mark_needs_reauthorization(
        &self,
        appid: &str,
        expected_version: u64,
        retry_at: Timestamp,
        now: Timestamp,
    ) -> impl Future<Output = Result<AuthorizerRecord, StoreError>> + Send;

    /// Accounts due before `before` (authorized ones by their access token's expiry, ones that
    /// need re-authorization by their next second chance), soonest first, `limit` per page. Cost grows with the due accounts only (see the module docs).
    fn due_authorizers(
        &self,
        before: Timestamp,
        cursor: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<DuePage, StoreError>> + Send;

    /// One page (at most `limit`) of the accounts of one dashboard user, newest authorization
    /// first, without tokens; pass `next` back as `cursor` to continue.
    ///
    /// # Errors
    /// [`StoreError::Other`] for a cursor that is not one of this owner's.
    fn authorizers_of(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<SummaryPage, StoreError>> + Send;

    /// Records that an account left `previous_owner` (kept [`OWNER_MOVE_TTL_SECS`]). Writing the
    /// same move twice leaves one record.
    fn record_owner_move(
        &self,
        previous_owner: &str,
        moved: &OwnerMove,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The accounts that left `owner` lately, newest first, at most `limit`.
    fn owner_moves(
        &self,
        owner: &str,
        limit: u32,
        now: Timestamp,
    ) -> impl Future<Output = Result<Vec<OwnerMove>, StoreError>> + Send;
}

/// Short-lived markers that expire through TTL.
pub trait MarkerStore: Send + Sync {
    /// True the first time `key` is seen within `ttl_secs`, false for every retry. One
    /// conditional write.
    fn remember_once(
        &self,
        key: &str,
        ttl_secs: i64,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Whether [`MarkerStore::remember_once`] recorded `key` and it has not expired. One strongly
    /// consistent read (the hand-off asks it before publishing, so a retry of a published push
    /// is not published again).
    fn seen(&self, key: &str, now: Timestamp) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Keeps `value` under `key` for `ttl_secs` (overwriting). Used to remember which account an
    /// authorization code authorized, so whichever of the callback and the `authorized` push
    /// comes second can still finish its part. One write.
    fn remember_value(
        &self,
        key: &str,
        value: &str,
        ttl_secs: i64,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The value under `key`, unless expired.
    fn recall(&self, key: &str, now: Timestamp) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Adds one to the counter under `key` (made with `ttl_secs` on first use) and returns the new
    /// count: one atomic write, however many callers count at once. The per-identity limits name a
    /// window in the key, so a counter never outlives its window.
    fn count(&self, key: &str, ttl_secs: i64, now: Timestamp) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Which of an account's versioned documents: each is replaced whole, by a caller naming the
/// version it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// The reply rules ([`crate::rules::RuleSet`]).
    ReplyRules,
    /// The custom menu as the account's editors wrote it (the `menu` module's document, media handles
    /// kept as handles).
    Menu,
}

impl DocumentKind {
    /// The name of the key family the document is stored under (also the IAM key prefix).
    pub fn family(self) -> &'static str {
        match self {
            Self::ReplyRules => "rules",
            Self::Menu => "menu",
        }
    }
}

/// An account's document as stored: its canonical JSON and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    /// The canonical JSON document (e.g. [`crate::rules::RuleSet::to_value`]).
    pub document: String,
    /// Incremented by every save; a save names the version it replaces. 0 is "never saved".
    pub version: u64,
    /// When it was saved.
    pub updated_at: Timestamp,
    /// Who saved it (a dashboard identity or a backend caller).
    pub updated_by: String,
}

/// Per-account documents (reply rules, the menu) with optimistic concurrency: two editors
/// cannot silently overwrite each other.
pub trait DocumentStore: Send + Sync {
    /// The account's document of `kind`, if one was saved. One strongly consistent read.
    fn document(
        &self,
        kind: DocumentKind,
        appid: &str,
    ) -> impl Future<Output = Result<Option<StoredDocument>, StoreError>> + Send;

    /// Replaces the document if the stored version is still `expected_version` (0: none saved
    /// yet). One conditional write.
    ///
    /// # Errors
    /// [`StoreError::ConditionFailed`] when someone saved in between.
    fn save_document(
        &self,
        kind: DocumentKind,
        appid: &str,
        document: &str,
        expected_version: u64,
        by: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<StoredDocument, StoreError>> + Send;
}

/// What a follower did, as the ledger records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowerChange {
    /// Followed the account (through a parametric QR code when `scene` is set).
    Subscribed {
        /// The QR scene.
        scene: Option<String>,
    },
    /// Stopped following.
    Unsubscribed,
    /// Sent a message (opens the 48-hour customer-service window).
    Messaged,
    /// Scanned a QR code or clicked a menu (opens the one-minute window).
    Interacted,
    /// Found following in WeChat's follower list (`user/get` + `user/info/batchget`).
    Imported {
        /// `subscribe_time`.
        subscribed_at: Timestamp,
        /// `qr_scene_str`, when the follower came through a parametric QR code.
        scene: Option<String>,
        /// `unionid`, when the account is bound to an open-platform account.
        unionid: Option<String>,
    },
}

/// One follower of one account, as the ledger knows them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Follower {
    /// The follower's OpenID under this account.
    pub openid: String,
    /// Whether they follow the account now.
    pub subscribed: bool,
    /// When the ledger first saw them follow.
    pub first_subscribed_at: Option<Timestamp>,
    /// When they last followed.
    pub last_subscribed_at: Option<Timestamp>,
    /// When they last stopped following.
    pub unsubscribed_at: Option<Timestamp>,
    /// The QR scene of their last follow, if any.
    pub scene: Option<String>,
    /// The QR scene of the first follow through a QR code the ledger saw (attribution of the
    /// campaign that brought them first).
    pub first_scene: Option<String>,
    /// When they last sent a message.
    pub last_message_at: Option<Timestamp>,
    /// When they last scanned, clicked or followed.
    pub last_interaction_at: Option<Timestamp>,
    /// `unionid`, when known.
    pub unionid: Option<String>,
    /// The ids of the tags the platform put on them (WeChat's tags; a tag put on in WeChat's own
    /// backend shows once the platform tags the follower or reads their tags).
    pub tags: Vec<i64>,
}

/// One page of an account's followers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FollowerPage {
    /// The followers, by OpenID. With a filter, a page may hold fewer than asked: follow `next`.
    pub items: Vec<Follower>,
    /// Where the next page starts (opaque); `None` when this was the last.
    pub next: Option<String>,
}

/// The follower ledger: one record per (account, follower), and each account's count of
/// followers. Every change is ordered by WeChat's `CreateTime`, so events delivered twice or out
/// of order leave the record as the newest says; the count moves only when the subscription state
/// does, in the same transaction.
pub trait FollowerStore: Send + Sync {
    /// Records what `openid` did at `at`.
    fn record_follower(
        &self,
        appid: &str,
        openid: &str,
        at: Timestamp,
        change: &FollowerChange,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// One follower.
    fn follower(&self, appid: &str, openid: &str) -> impl Future<Output = Result<Option<Follower>, StoreError>> + Send;

    /// One page (at most `limit`) of an account's followers, optionally only those who follow
    /// (or no longer follow) it.
    ///
    /// # Errors
    /// [`StoreError::Other`] for a cursor that is not one of this account's.
    fn followers(
        &self,
        appid: &str,
        subscribed: Option<bool>,
        cursor: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<FollowerPage, StoreError>> + Send;

    /// How many followers each account has (an account the ledger knows nothing of has 0).
    fn follower_counts(
        &self,
        appids: &[String],
    ) -> impl Future<Output = Result<std::collections::HashMap<String, u64>, StoreError>> + Send;

    /// Puts tag `tag` on the ledger's record of `openid` (`add`), or takes it off, as WeChat just
    /// did; a follower the ledger does not know is left alone (no record is made for a tag).
    fn tag_follower(
        &self,
        appid: &str,
        openid: &str,
        tag: i64,
        add: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The opaque cursor of a follower page that ended at `openid`.
pub(crate) fn follower_cursor(openid: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("f|{openid}"))
}

/// The OpenID a follower cursor stands for; anything else is refused, never sent to AWS.
pub(crate) fn follower_cursor_openid(cursor: &str) -> Result<String, StoreError> {
    use base64::Engine as _;
    let bad = || StoreError::Other("malformed follower-list cursor".into());
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let openid =
        String::from_utf8(decoded).ok().and_then(|d| d.strip_prefix("f|").map(str::to_owned)).ok_or_else(bad)?;
    if openid.is_empty() || openid.len() > 128 {
        return Err(bad());
    }
    Ok(openid)
}

/// A follower of an account bound to a site's own user (web authorization's `user_ref`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The follower's OpenID at the account.
    pub openid: String,
    /// The site's user id (opaque to the platform).
    pub user_ref: String,
    /// The follower's UnionID, when WeChat gave one.
    pub unionid: Option<String>,
    /// When it was bound.
    pub bound_at: Timestamp,
    /// Who bound it (the caller who redeemed the ticket).
    pub bound_by: String,
}

/// Bindings between an account's followers and a site's users: one per OpenID and one per
/// `user_ref` on each account, found from either side.
pub trait BindingStore: Send + Sync {
    /// Binds both sides in one transaction. Binding the same pair again is a no-op success;
    /// either side already bound to someone else is [`StoreError::ConditionFailed`], nothing
    /// written.
    fn bind(&self, appid: &str, binding: &Binding) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The binding of a follower. One read.
    fn binding_by_openid(
        &self,
        appid: &str,
        openid: &str,
    ) -> impl Future<Output = Result<Option<Binding>, StoreError>> + Send;

    /// The binding of a site's user. One read.
    fn binding_by_user(
        &self,
        appid: &str,
        user_ref: &str,
    ) -> impl Future<Output = Result<Option<Binding>, StoreError>> + Send;

    /// Removes both sides of `binding` in one transaction: false when it is no longer stored
    /// as given (removed or replaced meanwhile), nothing removed.
    fn unbind(&self, appid: &str, binding: &Binding) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// One medium of one account, as the platform keeps it: what was declared when its upload began,
/// and once uploaded, what WeChat calls it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMedium {
    /// The platform's handle ([`crate::media::handle`]).
    pub handle: String,
    /// WeChat's type.
    pub kind: Kind,
    /// Temporary or permanent.
    pub lifetime: Lifetime,
    /// Its format (the declared content type, checked against the bytes before upload).
    pub format: Format,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// A permanent video's title and introduction.
    pub title: Option<String>,
    /// See `title`.
    pub introduction: Option<String>,
    /// WeChat's `media_id` once uploaded (none for an article image).
    pub media_id: Option<String>,
    /// The URL WeChat gave (permanent images, article images).
    pub url: Option<String>,
    /// When a temporary `media_id` stops working.
    pub expires_at: Option<Timestamp>,
    /// When its upload began.
    pub created_at: Timestamp,
    /// When WeChat last took it (`None`: staged, not uploaded yet).
    pub uploaded_at: Option<Timestamp>,
    /// When a send last named it by its handle (a temporary medium in use is renewed).
    pub used_at: Option<Timestamp>,
}

/// What WeChat answered an upload, to store with the medium.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediumUpload {
    /// `media_id`.
    pub media_id: Option<String>,
    /// `url`.
    pub url: Option<String>,
    /// When a temporary `media_id` stops working.
    pub expires_at: Option<Timestamp>,
}

/// One page of an account's media.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MediaPage {
    /// The media, by handle.
    pub items: Vec<StoredMedium>,
    /// Where the next page starts; `None` when this was the last.
    pub next: Option<String>,
}

/// How long a medium whose upload began but never finished is kept.
pub const STAGED_MEDIUM_SECS: i64 = 86_400;

/// Each account's media (`media#{c}#{appid}`, one item per handle).
pub trait MediaStore: Send + Sync {
    /// Records a medium whose upload begins, kept [`STAGED_MEDIUM_SECS`] unless it is uploaded;
    /// a medium already uploaded under the same handle is left as it is and returned.
    fn stage_medium(
        &self,
        appid: &str,
        medium: &StoredMedium,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<StoredMedium>, StoreError>> + Send;

    /// One medium.
    fn medium(
        &self,
        appid: &str,
        handle: &str,
    ) -> impl Future<Output = Result<Option<StoredMedium>, StoreError>> + Send;

    /// Records what WeChat answered its (first or renewed) upload; the medium is kept for good.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    fn record_upload(
        &self,
        appid: &str,
        handle: &str,
        upload: &MediumUpload,
        now: Timestamp,
    ) -> impl Future<Output = Result<StoredMedium, StoreError>> + Send;

    /// One page (at most `limit`) of the account's media, by handle.
    ///
    /// # Errors
    /// [`StoreError::Other`] for a cursor that is not a handle.
    fn media(
        &self,
        appid: &str,
        cursor: Option<&str>,
        limit: u32,
        now: Timestamp,
    ) -> impl Future<Output = Result<MediaPage, StoreError>> + Send;

    /// Forgets a medium; false when there was none.
    fn forget_medium(&self, appid: &str, handle: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records that a send named the medium at `now` (absent: nothing to do).
    fn medium_used(
        &self,
        appid: &str,
        handle: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Puts a temporary medium in the renewal index under when its `media_id` expires
    /// (`renewal#{c}`, one item per medium and expiry; writing it again changes nothing).
    fn schedule_renewal(&self, renewal: &Renewal) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The renewal index's entries expiring before `before`, soonest first, at most `limit`.
    fn renewals_due(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Renewal>, StoreError>> + Send;

    /// Removes an entry from the renewal index (absent: nothing to do).
    fn drop_renewal(&self, renewal: &Renewal) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A temporary medium in the renewal index: the platform re-uploads it before WeChat forgets it
/// while a reply rule names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewal {
    /// The account.
    pub appid: String,
    /// The medium's handle.
    pub handle: String,
    /// When its current `media_id` expires.
    pub expires_at: Timestamp,
}

/// A parametric QR code the platform made for an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredQrCode {
    /// The platform's id: the first 20 hex digits of the ticket's SHA-1 (a scan's push carries
    /// the ticket, so its code is found without a read).
    pub id: String,
    /// The operator's name for it (a campaign, a poster, a shop).
    pub name: String,
    /// The scene the code pushes (`scene_id` as digits, or the `scene_str`).
    pub scene: String,
    /// Whether the scene is a `scene_str`.
    pub scene_is_str: bool,
    /// Permanent (at most [`MAX_PERMANENT_QR_CODES`] per account) or temporary.
    pub permanent: bool,
    /// WeChat's ticket (the image is `showqrcode?ticket=`).
    pub ticket: String,
    /// The text the code holds.
    pub url: String,
    /// When a temporary code stops working.
    pub expires_at: Option<Timestamp>,
    /// When it was made, and by whom.
    pub created_at: Timestamp,
    /// A dashboard identity or a backend caller.
    pub created_by: String,
}

/// Whether `id` is a QR code id as the platform makes them (20 lowercase hex digits).
pub fn is_qr_code_id(id: &str) -> bool {
    id.len() == 20 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Permanent QR codes WeChat makes per account
/// (<https://developers.weixin.qq.com/doc/offiaccount/Account_Management/Generating_a_Parametric_QR_Code.html>).
pub const MAX_PERMANENT_QR_CODES: u64 = 100_000;

/// How keeping a new QR code went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrCodeKept {
    /// Kept (a permanent one counted).
    Kept,
    /// A code with that id was already kept (WeChat answers the same ticket for the same
    /// permanent scene): the kept one.
    Existing(StoredQrCode),
    /// The account has [`MAX_PERMANENT_QR_CODES`] permanent codes: nothing kept.
    Full,
}

/// What a code did on one day (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrDay {
    /// Days since the Unix epoch.
    pub day: i64,
    /// Scans by people who followed already (`SCAN` pushes).
    pub scans: u64,
    /// New follows through the code (`subscribe` pushes with `qrscene_`).
    pub follows: u64,
}

/// One page of an account's QR codes (newest id order is not kept: by id).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QrCodePage {
    /// The codes.
    pub items: Vec<StoredQrCode>,
    /// Where the next page starts; `None` after the last.
    pub next: Option<String>,
}

/// Each account's QR codes and what they did (`qrcode#{c}#{appid}`: one item per code, the count
/// of permanent ones, one item per code and day, and a short-lived marker per counted push).
pub trait QrCodeStore: Send + Sync {
    /// Keeps a code WeChat made; a permanent one only while the account has fewer than `limit`
    /// (the code and the count written together).
    fn keep_qr_code(
        &self,
        appid: &str,
        code: &StoredQrCode,
        limit: u64,
    ) -> impl Future<Output = Result<QrCodeKept, StoreError>> + Send;

    /// One code.
    fn qr_code(&self, appid: &str, id: &str) -> impl Future<Output = Result<Option<StoredQrCode>, StoreError>> + Send;

    /// A page of the account's codes, by id.
    fn qr_codes(
        &self,
        appid: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<QrCodePage, StoreError>> + Send;

    /// How many permanent codes the account has.
    fn permanent_qr_codes(&self, appid: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Counts one push of code `id` on `day` (a follow, or a scan by a follower) once per
    /// `event_id` however often the push is delivered: false when it was already counted.
    fn count_qr_push(
        &self,
        appid: &str,
        id: &str,
        day: i64,
        follow: bool,
        event_id: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// What code `id` did from day `from` to day `to` (both included), the days with any push.
    fn qr_days(
        &self,
        appid: &str,
        id: &str,
        from: i64,
        to: i64,
    ) -> impl Future<Output = Result<Vec<QrDay>, StoreError>> + Send;
}

/// How long the marker of a counted push is kept (EventBridge and SQS redeliver within hours).
pub const QR_PUSH_MARKER_SECS: i64 = 7 * 86_400;

/// One day's calls for an account (days since the epoch in China time), per WeChat API.
pub type DayUsage = (i64, Vec<(String, u64)>);

/// What the platform called for each account, per API and day (China time): WeChat counts
/// the same calls against the account's own quota (`usage#{c}#{appid}`, one item per day with one
/// number per API, moved by one `ADD` per use case).
pub trait UsageStore: Send + Sync {
    /// Adds `calls` (API, how many) to the account's figures of `day`.
    fn meter(
        &self,
        appid: &str,
        day: i64,
        calls: &[(&str, u64)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The account's figures from day `from` to `to` (both included), the days with any call.
    fn usage(&self, appid: &str, from: i64, to: i64) -> impl Future<Output = Result<Vec<DayUsage>, StoreError>> + Send;
}

/// Everything, for adapters that implement all of it.
pub trait TokenStore:
    TicketStore
    + ComponentTokenStore
    + AuthorizerStore
    + MarkerStore
    + DocumentStore
    + FollowerStore
    + BindingStore
    + MediaStore
    + QrCodeStore
    + UsageStore
{
}

impl<
    T: TicketStore
        + ComponentTokenStore
        + AuthorizerStore
        + MarkerStore
        + DocumentStore
        + FollowerStore
        + BindingStore
        + MediaStore
        + QrCodeStore
        + UsageStore,
> TokenStore for T
{
}
