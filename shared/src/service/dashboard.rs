//! The dashboard's two use cases: the signed-in user's accounts, and the link that starts an
//! authorization.
//!
//! The link (`docs/wechat.md`, "Authorization page"): a fresh `pre_auth_code` (single-use), the
//! PC `componentloginpage` URL or the mobile `bindcomponent` link, and a `redirect_uri`
//! (auth-callback) carrying a signed, expiring state that binds the authorization to the user.

use super::{CallError, Platform};
use crate::store::{AuthorizerSummary, StoreError, TokenStore};

/// Where the admin authorizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkMode {
    /// A QR code page on a computer (`componentloginpage`).
    Pc,
    /// A link opened inside WeChat on a phone (`bindcomponent`).
    Mobile,
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
}

/// Why no link could be made.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// A setting the link needs is missing or unusable (names the variable).
    #[error("{0} is not configured or not usable")]
    NotConfigured(&'static str),
    /// The `pre_auth_code` could not be had.
    #[error(transparent)]
    Call(#[from] CallError),
}

impl<S: TokenStore> Platform<S> {
    /// The accounts `owner` authorized, with their profiles and status (no token).
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn accounts_of(&self, owner: &str) -> Result<Vec<AuthorizerSummary>, StoreError> {
        self.store.authorizers_of(owner).await
    }

    /// A fresh authorization link for `request.user`.
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
        let pre = self.create_pre_auth_code().await?;
        let expires_in = pre.expires_in.clamp(60, 1800);
        let state = self.signer.sign(request.user, self.now() + expires_in);
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
        Ok(AuthorizationLink { url: url.into(), expires_in })
    }
}
