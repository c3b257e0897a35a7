//! The dashboard's use cases: the signed-in user's accounts (a page at a time), and starting an
//! authorization.
//!
//! WeChat only shows its authorization page when the browser arrives from a page on the
//! registered domain, and a browser navigation carries no `Authorization` header. So the
//! dashboard's authenticated call gets a **start link** ([`Dashboard::start_link`]): signed,
//! short-lived, single-use, naming the user. Opening it ([`Dashboard::open_start_link`]) spends a
//! `pre_auth_code` and serves the page; the link's signature is what authorizes that request.
//!
//! Every authorization link (`docs/wechat.md`, "Authorization page") carries a fresh
//! `pre_auth_code` (single-use) remembered with the user it was issued to (the `authorized`
//! push names it: the account lands with that user), and a `redirect_uri` (auth-callback) with a
//! signed, expiring state naming the user.

use super::{CallError, Dashboard};
use crate::auth_state::StateError;
use crate::service::ComponentStore;
use crate::store::{AuthorizerStore, FollowerStore, MarkerStore};
use crate::store::{MarkerKey, OwnerMove, StoreError, SummaryPage};

/// How long a start link can be opened.
pub const START_LINK_SECS: i64 = 300;
/// Accounts per page at most.
pub const MAX_PAGE: u32 = 100;
/// Accounts that moved away shown at most.
pub const MAX_MOVES_SHOWN: u32 = 10;

/// Where the admin authorizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkMode {
    /// A QR code page on a computer (`componentloginpage`).
    Pc,
    /// A link opened inside WeChat on a phone (`bindcomponent`).
    Mobile,
}

impl LinkMode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pc => "pc",
            Self::Mobile => "mobile",
        }
    }
}

/// What the dashboard asked for.
#[derive(Debug, Clone)]
pub struct LinkRequest<'a> {
    /// The signed-in user the authorization will belong to.
    pub user: &'a str,
    /// WeChat's `auth_type` (which kinds of account may authorize).
    pub auth_type: &'a str,
    /// PC page or mobile link.
    pub mode: LinkMode,
    /// Restrict the authorization to this account.
    pub biz_appid: Option<&'a str>,
}

/// A link to WeChat's authorization page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationLink {
    /// The URL to open (from a page on the registered domain).
    pub url: String,
    /// Seconds the link (its `pre_auth_code` and state) stays usable.
    pub expires_in: i64,
    /// The dashboard user the account will belong to: the page says so, so that an admin sent a
    /// link by someone else sees whose tenant they are about to authorize into.
    pub for_user: String,
}

/// Why no link could be made.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// A setting the link needs is missing or unusable (names the variable).
    #[error("{0} is not configured or not usable")]
    NotConfigured(&'static str),
    /// The `pre_auth_code` could not be had, or its binding not stored.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The user has started too many authorizations lately (no `pre_auth_code` minted).
    #[error(transparent)]
    Limited(crate::service::Limited),
}

impl From<crate::service::SpendError> for LinkError {
    fn from(err: crate::service::SpendError) -> Self {
        match err {
            crate::service::SpendError::Limited(limited) => Self::Limited(limited),
            crate::service::SpendError::Store(err) => Self::Call(CallError::Store(err)),
        }
    }
}

/// Why a start link was not honoured.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Past its few minutes.
    #[error("the start link has expired")]
    Expired,
    /// Not signed by us, or not a start link at all.
    #[error("the start link is not ours")]
    Invalid,
    /// Opened before: each link starts one authorization.
    #[error("the start link was already used")]
    Used,
    /// Making the WeChat link failed.
    #[error(transparent)]
    Link(#[from] LinkError),
}

impl<S: ComponentStore + AuthorizerStore + FollowerStore + MarkerStore> Dashboard<'_, S> {
    /// One page (at most [`MAX_PAGE`]) of the accounts `owner` manages, with their profiles and
    /// status (no token).
    ///
    /// # Errors
    /// [`StoreError`], including a cursor that is not one of this owner's pages.
    pub async fn accounts_of(&self, owner: &str, cursor: Option<&str>, limit: u32) -> Result<SummaryPage, StoreError> {
        self.store.authorizers_of(owner, cursor, limit.clamp(1, MAX_PAGE)).await
    }

    /// The accounts that left `owner` for another dashboard user lately (at most
    /// [`MAX_MOVES_SHOWN`], newest first): shown beside the list, so an account authorized into
    /// someone else's tenant does not just vanish from its owner's console.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn accounts_moved_away(&self, owner: &str) -> Result<Vec<OwnerMove>, StoreError> {
        self.store.owner_moves(owner, MAX_MOVES_SHOWN, self.now()).await
    }

    /// How many follow each of `appids` (the follower ledger's counts; one batched read).
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn follower_counts(
        &self,
        appids: &[String],
    ) -> Result<std::collections::HashMap<String, u64>, StoreError> {
        self.store.follower_counts(appids).await
    }

    /// A start link for `request` (no WeChat call, nothing stored): the dashboard's authenticated
    /// call returns it and the browser opens it without a header.
    ///
    /// # Errors
    /// [`LinkError::NotConfigured`] without `AUTHORIZE_START_URL`.
    pub fn start_link(&self, request: &LinkRequest<'_>) -> Result<AuthorizationLink, LinkError> {
        let Some(mut url) = self.pages.authorize_start_url.clone() else {
            return Err(LinkError::NotConfigured("AUTHORIZE_START_URL"));
        };
        let subject = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("u", request.user)
            .append_pair("t", request.auth_type)
            .append_pair("m", request.mode.as_str())
            .append_pair("b", request.biz_appid.unwrap_or_default())
            .finish();
        let token = self.start_signer.sign(&subject, self.now() + START_LINK_SECS);
        url.query_pairs_mut().append_pair("token", &token);
        Ok(AuthorizationLink { url: url.into(), expires_in: START_LINK_SECS, for_user: request.user.to_owned() })
    }

    /// Opens a start link: verified, consumed with one conditional write, then the WeChat link
    /// for the user it names.
    ///
    /// # Errors
    /// [`StartError`].
    pub async fn open_start_link(&self, token: &str) -> Result<AuthorizationLink, StartError> {
        let now = self.now();
        let claims = self.start_signer.verify(token, now).map_err(|err| match err {
            StateError::Expired => StartError::Expired,
            StateError::Malformed | StateError::Forged => StartError::Invalid,
        })?;
        if claims.expires_at - now > START_LINK_SECS {
            return Err(StartError::Invalid);
        }
        let fields: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(claims.user.as_bytes()).into_owned().collect();
        let field = |name: &str| fields.get(name).map(String::as_str);
        let (Some(user), Some(auth_type), Some(mode), Some(biz)) = (field("u"), field("t"), field("m"), field("b"))
        else {
            return Err(StartError::Invalid);
        };
        let mode = match mode {
            "pc" => LinkMode::Pc,
            "mobile" => LinkMode::Mobile,
            _ => return Err(StartError::Invalid),
        };
        let used = !self
            .store
            .remember_once(&MarkerKey::start_link(&claims.nonce), START_LINK_SECS * 2, now)
            .await
            .map_err(|err| LinkError::Call(err.into()))?;
        if used {
            return Err(StartError::Used);
        }
        let request = LinkRequest { user, auth_type, mode, biz_appid: (!biz.is_empty()).then_some(biz) };
        Ok(self.authorization_link(&request).await?)
    }

    /// A fresh authorization link for `request.user`; the `pre_auth_code` is remembered with the
    /// user it was issued to.
    ///
    /// # Errors
    /// [`LinkError::NotConfigured`] before WeChat is called; the `pre_auth_code`'s failures.
    pub async fn authorization_link(&self, request: &LinkRequest<'_>) -> Result<AuthorizationLink, LinkError> {
        let Some(mut redirect_uri) = self.pages.auth_redirect_url.clone() else {
            return Err(LinkError::NotConfigured("AUTH_REDIRECT_URL"));
        };
        let (base, path) = match request.mode {
            LinkMode::Mobile => (&self.pages.mobile_page_base, "/wxaopen/safe/bindcomponent"),
            LinkMode::Pc => (&self.pages.pc_page_base, "/cgi-bin/componentloginpage"),
        };
        let mut url =
            url::Url::parse(&format!("{base}{path}")).map_err(|_| LinkError::NotConfigured("WECHAT_AUTH_PAGE_BASE"))?;
        self.spend(crate::service::PRE_AUTH_CODES, request.user).await?;
        let pre = self.create_pre_auth_code().await?;
        let expires_in = pre.expires_in.clamp(60, 1800);
        let now = self.now();
        // The binding outlives the code by an hour: the `authorized` push may come late.
        self.store
            .remember_value(&MarkerKey::pre_auth_code(&pre.token), request.user, expires_in + 3600, now)
            .await
            .map_err(CallError::Store)?;
        let state = self.signer.sign(request.user, now + expires_in);
        redirect_uri.query_pairs_mut().append_pair("state", &state);
        {
            let mut query = url.query_pairs_mut();
            if request.mode == LinkMode::Mobile {
                query.append_pair("action", "bindcomponent").append_pair("no_scan", "1");
            }
            query
                .append_pair("component_appid", &self.pages.component_appid)
                .append_pair("pre_auth_code", pre.token.expose())
                // Encoded as a whole (encodeURIComponent): its own query (state) survives the trip.
                .append_pair("redirect_uri", redirect_uri.as_str())
                .append_pair("auth_type", request.auth_type);
            if let Some(biz_appid) = request.biz_appid {
                query.append_pair("biz_appid", biz_appid);
            }
        }
        if request.mode == LinkMode::Mobile {
            url.set_fragment(Some("wechat_redirect"));
        }
        Ok(AuthorizationLink { url: url.into(), expires_in, for_user: request.user.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::{LinkMode, LinkRequest, StartError};
    use crate::message::ComponentNotice;
    use crate::service::testing::{OTHER_ACCOUNT, query, world_with};

    #[tokio::test]
    async fn a_start_link_opens_once_and_the_account_authorized_through_it_is_its_users_alone() {
        let w = world_with(&[
            ("AUTH_REDIRECT_URL", "https://platform.example/wechat/authorize/callback"),
            ("AUTHORIZE_START_URL", "https://platform.example/wechat/authorize-start"),
        ])
        .await;
        let dashboard = w.platform.dashboard();
        let request = LinkRequest { user: "alice", auth_type: "1", mode: LinkMode::Pc, biz_appid: None };
        let start = dashboard.start_link(&request).expect("a start link");
        assert_eq!(start.for_user, "alice");
        let token = query(&start.url, "token");

        let link = dashboard.open_start_link(&token).await.expect("opened");
        assert!(matches!(dashboard.open_start_link(&token).await, Err(StartError::Used)), "one authorization per link");
        assert!(matches!(dashboard.open_start_link("forged").await, Err(StartError::Invalid)));
        let pre_auth_code = query(&link.url, "pre_auth_code");

        // The admin authorizes another account on WeChat's page; WeChat pushes `authorized`.
        let (_, xml) = w.standin.authorize_quietly(OTHER_ACCOUNT, Some(&pre_auth_code)).expect("authorized at WeChat");
        let notice = ComponentNotice::parse(&xml).expect("WeChat's notice");
        w.platform.onboarding().handle_notice(&notice).await.expect("applied");

        let alice = dashboard.accounts_of("alice", None, 50).await.expect("alice's accounts");
        assert_eq!(alice.items.iter().map(|a| a.authorizer_appid.as_str()).collect::<Vec<_>>(), [OTHER_ACCOUNT]);
        let bob = dashboard.accounts_of("bob", None, 50).await.expect("bob's accounts");
        assert!(bob.items.is_empty(), "{bob:?}");
    }
}
