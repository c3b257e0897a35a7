//! The only home of the platform's business rules, one file per use case. Function crates
//! translate HTTP requests and scheduled events into calls of these, and outcomes into responses;
//! they never reach the store or the WeChat client themselves ([`Platform`]'s fields are private).
//!
//! | use case | file | called by |
//! |---|---|---|
//! | component token under a lease, calls made with it | `component_token.rs` | every use case that calls WeChat |
//! | authorization: `auth_code` → stored account, both paths, single-use state | `authorization.rs` | ticket-receiver, auth-callback, event-callback (release test) |
//! | authorizer tokens: the run, one account's refresh, WeChat's list | `refresh/` (`run.rs`, `account.rs`, `listed.rs`) | token-refresher |
//! | component notices: ticket, authorized, unauthorized | `ticket.rs` | ticket-receiver |
//! | follower messages and events: the hand-off to the bus, the release test | `inbound.rs` | event-callback |
//! | publishing once per push or account change | `hand_off.rs` | inbound, ticket, refresh |
//! | the dashboard: accounts, the authorization link | `dashboard.rs` | authorizer-list, qr-url-issuer |
//! | acting as an account: who may, a call with its token (`acting/mod.rs`); its token lent, customer-service and template messages | `acting/` (`lending.rs`, `customer_service.rs`, `templates.rs`, `media.rs`) | account-actions |
//! | reply rules: read, replaced (versioned), evaluated on pushes from a cache | `rules.rs` | account-actions, event-callback |
//! | an account's media: declared, staged, sent to WeChat, renewed while in use | `acting/media.rs`, `acting/renewal.rs` | media-library, token-refresher |
//! | the custom menu (versioned, linked to the rules), conditional menus; follower tags | `acting/menus.rs`, `acting/tags.rs` | account-setup |
//! | QR codes, the JS-SDK's config, an account's quota | `acting/qrcodes.rs`, `acting/jssdk.rs`, `acting/quota.rs` | account-setup, follower-ledger |
//! | the draft box: articles checked, reduced and resolved, kept at WeChat; publishing and mass sends with their outcomes | `acting/drafts.rs`, `acting/publishing.rs`, `acting/mass_send.rs` | publishing, event-callback |
//! | the follower ledger: kept from the bus, listed, backfilled from WeChat | `followers.rs` | follower-ledger, account-actions, authorizer-list |
//! | web authorization on behalf of accounts: start, callback, one-time tickets | `web_auth/mod.rs` | web-oauth, account-actions |
//! | what an account's owner and its sites set up: return origins, minted starts | `web_auth/site.rs` | account-actions |
//! | per-identity limits kept in the table | `limits.rs` | dashboard, acting, web authorization |
//! | the edge's list of WeChat's push servers, copied daily | `edge.rs` | token-refresher |
//! | what is kept between a send or a publication and the push with its outcome, one type each | `records.rs` | inbound, templates, publishing, mass sends |
//! | the world the use cases' unit tests run in (the stand-in in-process, a memory store) | `testing.rs` | `#[cfg(test)]` only |
//!
//! Each use case has its own outcome and error types, so a caller matches only what can happen,
//! and its own store bounds: an `impl` names the store traits the use case may touch
//! ([`ComponentStore`], [`ActingStore`] and the stores of its own data), so what it can read or
//! write is said in its header and held by the compiler.

mod acting;
mod authorization;
mod component_token;
mod dashboard;
mod edge;
mod followers;
mod hand_off;
mod inbound;
mod limits;
mod records;
mod refresh;
mod rules;
#[cfg(test)]
mod testing;
mod ticket;
mod web_auth;

pub use self::acting::{
    ActError, Audience, Begun, Caller, DocumentError, IDEMPOTENCY_SECS, JsConfig, KeyLink, LEND_MARGIN_SECS, LentToken,
    MAX_DRAFT_PAGE, MAX_MASS_OPENIDS, MAX_MEDIA_PAGE, MAX_QR_DAYS, MAX_QR_EXPIRE_SECS, MAX_TAG_NAME_BYTES,
    MAX_TAGGED_PER_REQUEST, MAX_TAGS, MassMessage, MassOutcome, MassRequest, MenuState, NewMedium, NewQrCode,
    PUBLICATION_RECORD_SECS, QUOTA_RESETS_PER_MONTH, QrCodeFigures, RENEW_AHEAD_SECS, RenewalReport,
    SERVICE_SENDS_A_MONTH, SUBSCRIPTION_SENDS_A_DAY, Scene, SceneRules, UPLOAD_URL_SECS, kept_key, publish_status_name,
    qr_code_id, qr_day, staging_key,
};
pub use self::authorization::{AuthorizationError, CallbackError, Completion};
pub use self::component_token::{CallError, RefreshPolicy, TokenError, token_or_refresh};
pub use self::dashboard::{
    AuthorizationLink, LinkError, LinkMode, LinkRequest, MAX_MOVES_SHOWN, MAX_PAGE, START_LINK_SECS, StartError,
};
pub use self::edge::{MAX_PUSH_SOURCES, PushSources, push_source_cidrs};
pub use self::followers::{BACKFILL_SLICE, LedgerError, LedgerOutcome, MAX_FOLLOWER_PAGE, MESSAGE_WINDOW_SECS};
pub use self::hand_off::{MARKER_READ_BUDGET, MARKER_WRITE_BUDGET};
pub use self::inbound::{RELEASE_TEST_ACCOUNTS, is_release_test_account};
pub use self::limits::{LIMITS, Limit, Limited, PRE_AUTH_CODES, SENDS, SpendError, WEB_REDEMPTIONS, WEB_STARTS};
pub use self::refresh::{
    CONCURRENCY, DEADLINE_RESERVE, MARGIN_SECS, Reconcile, RefreshOutcome, RefreshReport, SECOND_CHANCE_SECS,
    TICKET_STALE_SECS,
};
pub use self::rules::RULES_FRESH_FOR;
pub use self::ticket::{NoticeError, NoticeOutcome};
pub use self::web_auth::{
    BindingSide, MAX_USER_REF, MAX_WEB_ORIGINS, RedeemError, WEB_START_SECS, WEB_STATE_SECS, WEB_TICKET_SECS,
    WebCallbackError, WebStartError, binding_json,
};
/// Which list of articles a page is of ([`Publishing::article_page`]).
pub use crate::wechat::ArticleList;

use std::sync::Arc;

use crate::auth_state::StateSigner;
use crate::bus::{Bus, NoBus};
use crate::config::{Config, ConfigError};
use crate::store::{AuthorizerStore, ComponentTokenStore, MarkerStore, TicketStore, Timestamp, UsageStore};
use crate::wechat::WeChatClient;

pub use crate::clock::{Clock, unix_now_ms};

/// What a use case that calls WeChat with the component token needs of the store: the ticket
/// WeChat pushed and the token made from it (refreshed under a lease).
pub trait ComponentStore: ComponentTokenStore + TicketStore {}
impl<S: ComponentTokenStore + TicketStore> ComponentStore for S {}

/// What a use case acting as an account needs of the store: [`ComponentStore`], the account and
/// its tokens (refreshed under its lease), markers (single-use keys, kept answers), and the
/// account's API use. Each use case's `impl` adds the stores of its own data, so its header says
/// everything it can touch.
pub trait ActingStore: ComponentStore + AuthorizerStore + MarkerStore + UsageStore {}
impl<S: ComponentStore + AuthorizerStore + MarkerStore + UsageStore> ActingStore for S {}

/// Where the authorization pages are and where WeChat sends the admin back: what
/// [`Dashboard::authorization_link`] needs from the configuration.
#[derive(Debug, Clone)]
struct Pages {
    component_appid: String,
    pc_page_base: String,
    mobile_page_base: String,
    auth_redirect_url: Option<url::Url>,
    authorize_start_url: Option<url::Url>,
}

/// The store, the WeChat client, the policies and the signing key, built once per cold start.
/// The methods every capability shares are this type's; each capability's are on its service
/// ([`Onboarding`], [`Setup`], …: see `services!`), defined in the use case's own file.
pub struct Platform<S> {
    store: S,
    wechat: WeChatClient,
    policy: RefreshPolicy,
    clock: Clock,
    signer: StateSigner,
    start_signer: StateSigner,
    pages: Pages,
    bus: Arc<dyn Bus>,
    rules: rules::RulesCache,
    web: crate::config::WebAuthConfig,
    web_signer: StateSigner,
    /// `BULK_QUOTA_PERCENT`: the share of an account's daily quota bulk work may spend.
    bulk_quota_percent: u64,
    /// The tokens each account's calls were made with since the request began, until the
    /// request settles them ([`Platform::settle_usage`]).
    used_tokens: std::sync::Mutex<std::collections::HashMap<String, Vec<crate::secret::Secret>>>,
}

/// Declares the capability services: each a view of the one [`Platform`] that holds the methods of
/// one capability (in the files the table above names) under the store bounds of each file.
///
/// Why views and not separate structs: the capabilities share the store, the WeChat client, the
/// component and authorizer tokens and the request's metering of the account's quota, which must
/// be one per request (an account's calls are settled once, whichever capability made them). A
/// view borrows all of it for free, and its methods reach the shared parts (`self.store`,
/// `self.authorizer_token(…)`) through `Deref`; what a caller can do is still said by the
/// capability it asks for: `platform.setup().save_menu(…)`.
macro_rules! services {
    ($($(#[$doc:meta])* $name:ident, $getter:ident;)*) => {$(
        $(#[$doc])*
        pub struct $name<'p, S>(&'p Platform<S>);

        impl<S> std::ops::Deref for $name<'_, S> {
            type Target = Platform<S>;
            fn deref(&self) -> &Platform<S> {
                self.0
            }
        }

        impl<S> Platform<S> {
            $(#[$doc])*
            pub fn $getter(&self) -> $name<'_, S> {
                $name(self)
            }
        }
    )*};
}

services! {
    /// Onboarding: component notices (`ticket.rs`), authorization (`authorization.rs`), the
    /// authorizer tokens' refresh (`refresh/`), the edge's list of push servers (`edge.rs`).
    Onboarding, onboarding;
    /// The dashboard: the accounts a user holds, the authorization link (`dashboard.rs`).
    Dashboard, dashboard;
    /// Followers' pushes: the hand-off and the reply (`inbound.rs`), the reply rules (`rules.rs`),
    /// the media they use kept alive (`acting/renewal.rs`).
    Inbound, inbound;
    /// The follower ledger (`followers.rs`) and the account's tags (`acting/tags.rs`).
    Followers, followers;
    /// Acting for an account's backends: its token lent (`acting/lending.rs`), customer-service
    /// and template messages, the JS-SDK's config, the account's quota.
    Acting, acting;
    /// The account's media library (`acting/media.rs`).
    MediaLibrary, media_library;
    /// Drafts, publishing and mass sends (`acting/drafts.rs`, `publishing.rs`, `mass_send.rs`).
    Publishing, publishing;
    /// The custom menu and conditional menus (`acting/menus.rs`), QR codes (`acting/qrcodes.rs`).
    Setup, setup;
    /// Web authorization on behalf of accounts and what their sites set up (`web_auth/`).
    WebAuth, web_auth;
}

impl<S> Platform<S> {
    /// The platform for `config` over `store`, on the system clock.
    ///
    /// # Errors
    /// [`ConfigError`] when the WeChat client cannot be built from `WECHAT_API_BASE`.
    pub fn new(config: &Config, store: S) -> Result<Self, ConfigError> {
        Self::with_clock(config, store, Arc::new(unix_now_ms))
    }

    /// [`Platform::new`] on an injected clock (tests run on the stand-in's).
    ///
    /// # Errors
    /// As [`Platform::new`].
    pub fn with_clock(config: &Config, store: S, clock: Clock) -> Result<Self, ConfigError> {
        let wechat =
            WeChatClient::new(&config.wechat_api_base, config.component_appid.clone(), config.component_secret.clone())
                .map_err(|e| ConfigError { variable: "WECHAT_API_BASE", problem: e.to_string() })?;
        Ok(Self {
            store,
            wechat,
            policy: RefreshPolicy::default(),
            clock,
            signer: StateSigner::new(&config.component_secret),
            start_signer: StateSigner::for_start_links(&config.component_secret),
            pages: Pages {
                component_appid: config.component_appid.clone(),
                pc_page_base: config.pc_page_base.clone(),
                mobile_page_base: config.mobile_page_base.clone(),
                auth_redirect_url: config.auth_redirect_url.clone(),
                authorize_start_url: config.authorize_start_url.clone(),
            },
            bus: Arc::new(NoBus),
            rules: rules::RulesCache::new(std::time::Duration::from_secs(config.reply_rules_cache_secs)),
            web: config.web_auth.clone(),
            web_signer: StateSigner::for_web_authorization(&config.component_secret),
            bulk_quota_percent: config.bulk_quota_percent,
            used_tokens: std::sync::Mutex::default(),
        })
    }

    /// This platform, handing events off to `bus` (without one, every hand-off fails and the
    /// push that needed it is retried: see [`NoBus`]).
    #[must_use]
    pub fn with_bus(mut self, bus: Arc<dyn Bus>) -> Self {
        self.bus = bus;
        self
    }

    /// Now, by this platform's clock, in seconds.
    pub fn now(&self) -> Timestamp {
        self.now_ms().div_euclid(1000)
    }

    /// Now, by this platform's clock, in milliseconds.
    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    /// The store, for tests that check what a flow stored (the `test-support` feature; function
    /// crates never enable it, so their release builds cannot reach the store but through a use
    /// case).
    #[cfg(feature = "test-support")]
    pub fn store(&self) -> &S {
        &self.store
    }
}
