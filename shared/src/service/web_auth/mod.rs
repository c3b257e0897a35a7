//! Web authorization on behalf of an account (代公众号发起网页授权): a site learns who the
//! follower in front of it is, and may bind them to its own user.
//!
//! 0. What the account's owner and its sites' servers do first (`site.rs`): the return origins,
//!    kept per account by its owner (none: web authorization is off for the account), and the
//!    starts a site's server mints to bind a follower to its user.
//! 1. [`WebAuth::start_web_authorization`] (a public link: it only identifies) or
//!    [`WebAuth::start_minted_web_authorization`] (a start minted by the site's server, single
//!    use, the only kind that carries a `user_ref`): the return target checked against the
//!    account's origins (no open redirect), the account authorized with the web-service permission
//!    set (4), the request kept under a random nonce for [`WEB_STATE_SECS`], and WeChat's
//!    authorize URL with a signed `state` of about 75 bytes (WeChat allows 128) that names only
//!    that nonce.
//! 2. [`WebAuth::finish_web_authorization`]: the state verified and used up (single-use, before
//!    WeChat is called), the code exchanged with the **component** token (an authorizer's is
//!    refused with 48001), `sns/userinfo` for `snsapi_userinfo`, and a one-time ticket the
//!    browser carries back to the site.
//! 3. [`WebAuth::redeem_web_ticket`]: the site's server redeems the ticket on the account's own
//!    route (once, within [`WEB_TICKET_SECS`]; a ticket of another account is unknown there) and
//!    learns the OpenID; nothing that identifies the follower is ever taken from a query string.
//!    When the site names the `user_ref` its minted start carried (its session's user), the
//!    follower is bound to it. A public start carries none and cannot bind; a start minted for
//!    another user cannot bind either, because the site confirms the user on its own side.
//! 4. [`WebAuth::binding`] and [`WebAuth::unbind`]: a binding found from either side, removed
//!    as a pair (owner-scoped like every dashboard action).
//!
//! Protocol: <https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/Before_Develop/Official_Accounts/official_account_website_authorization.html>.

mod site;

pub use self::site::{MAX_WEB_ORIGINS, WEB_START_SECS};

use serde_json::{Value, json};

use super::{ActError, CallError, Caller, WebAuth};
use crate::auth_state::StateError;
use crate::config::WebAuthConfig;
use crate::secret::Secret;
use crate::service::ActingStore;
use crate::service::records::{Record, WebIdentity, WebRequest};
use crate::store::{AuthorizerRecord, AuthorizerStatus, Binding, BindingStore, MarkerKey, StoreError};
use crate::wechat::ApiError;

/// How long a started authorization may take to come back (WeChat's code lives 5 minutes; the
/// follower may read the consent page first).
pub const WEB_STATE_SECS: i64 = 600;
/// How long the site has to redeem a ticket.
pub const WEB_TICKET_SECS: i64 = 120;
/// The longest `user_ref` a site may carry through an authorization.
pub const MAX_USER_REF: usize = 128;
/// Permission set 4, 网页服务: without it WeChat answers the authorize page with "该链接无法访问".
const WEB_SERVICE_SET: i64 = 4;

/// Why an authorization could not start. Each is a page for the follower's browser.
#[derive(Debug, thiserror::Error)]
pub enum WebStartError {
    /// Web authorization is not configured (`OAUTH_REDIRECT_URL`, `OAUTH_RETURN_ORIGINS`).
    #[error("web authorization is not configured")]
    NotConfigured,
    /// `scope` is not `snsapi_base` or `snsapi_userinfo`.
    #[error("scope must be snsapi_base or snsapi_userinfo")]
    BadScope,
    /// `return_to` is missing, not a URL, or not on one of the account's origins.
    #[error("return_to is not on one of the account's origins")]
    ReturnNotAllowed,
    /// The account's owner has set no return origins: web authorization is off for it.
    #[error("web authorization is off for the account (no return origins)")]
    NotEnabled,
    /// A minted start that is unknown, expired, already opened, or of another account.
    #[error("the start is unknown, expired or already used")]
    StartUnknown,
    /// `user_ref` is longer than [`MAX_USER_REF`] or has control characters.
    #[error("user_ref is malformed")]
    BadUserRef,
    /// The account is unknown to the platform, or no longer authorizes it.
    #[error("the account does not authorize the platform")]
    NotAuthorized,
    /// The account did not grant the web-service permission set.
    #[error("the account did not grant web service (permission set 4)")]
    NoWebPermission,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a callback did not identify the follower. Each is a page for the follower's browser.
#[derive(Debug, thiserror::Error)]
pub enum WebCallbackError {
    /// No state, a forged one, or one for another account.
    #[error("the state is not the platform's")]
    StateInvalid,
    /// The state is older than [`WEB_STATE_SECS`].
    #[error("the state has expired")]
    StateExpired,
    /// The state came back before (a reload, or a replayed URL).
    #[error("the state was already used")]
    StateUsed,
    /// The follower declined (WeChat sent no code). The return target, to offer a way back.
    #[error("the follower declined")]
    Denied {
        /// Where the site wanted the browser back.
        return_to: String,
    },
    /// WeChat says the code was already used (40163).
    #[error("the code was already used")]
    CodeUsed,
    /// WeChat says the code is invalid or expired (40029).
    #[error("the code is invalid or expired")]
    CodeInvalid,
    /// WeChat refused or could not be reached.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a ticket was not redeemed.
#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    /// Unknown, expired, or the account is not the caller's (one answer for all three).
    #[error("no such ticket")]
    NotFound,
    /// Redeemed before.
    #[error("the ticket was already redeemed")]
    Used,
    /// The site asked to bind a `user_ref` other than the one the authorization started with
    /// (the ticket is spent: it was not this user's).
    #[error("the ticket was started for another user_ref")]
    UserRefMismatch,
    /// The caller is over its limit of redemptions (nothing looked at).
    #[error(transparent)]
    Limited(crate::service::Limited),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::service::SpendError> for RedeemError {
    fn from(err: crate::service::SpendError) -> Self {
        match err {
            crate::service::SpendError::Limited(limited) => Self::Limited(limited),
            crate::service::SpendError::Store(err) => Self::Store(err),
        }
    }
}

/// Which side of a binding a caller names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingSide<'a> {
    /// The follower's OpenID.
    OpenId(&'a str),
    /// The site's user id.
    UserRef(&'a str),
}

/// A binding as the API shows it.
pub fn binding_json(binding: &Binding) -> Value {
    json!({
        "openid": binding.openid, "user_ref": binding.user_ref, "unionid": binding.unionid,
        "bound_at": binding.bound_at, "bound_by": binding.bound_by,
    })
}

/// A started authorization as kept under its nonce.
pub(super) fn request_json(appid: &str, scope: &str, return_to: &str, user_ref: Option<&str>) -> String {
    let (appid, scope, return_to) = (appid.to_owned(), scope.to_owned(), return_to.to_owned());
    WebRequest { appid, scope, return_to, user_ref: user_ref.map(str::to_owned) }.to_json()
}

/// `return_to`, if it is an absolute http(s) URL on one of the account's origins (and, when the
/// deployment names some, on one of `OAUTH_RETURN_ORIGINS`, which may have narrowed since).
pub(super) fn allowed_return(config: &WebAuthConfig, origins: &[String], return_to: &str) -> Option<url::Url> {
    let url = url::Url::parse(return_to).ok()?;
    let origin = url.origin().ascii_serialization();
    (matches!(url.scheme(), "http" | "https") && origins.contains(&origin) && config.within_ceiling(&origin))
        .then_some(url)
}

/// Whether `scope` is one web authorization asks WeChat for.
pub(super) fn valid_scope(scope: &str) -> bool {
    matches!(scope, "snsapi_base" | "snsapi_userinfo")
}

/// What the account itself must allow for a start to `return_to` (whoever starts it): return
/// origins set, `return_to` on one of them, and the web-service permission set granted. The
/// checked target.
pub(super) fn account_allows(
    config: &WebAuthConfig,
    record: &AuthorizerRecord,
    return_to: &str,
) -> Result<url::Url, WebStartError> {
    if record.web_origins.is_empty() {
        return Err(WebStartError::NotEnabled);
    }
    let return_to = allowed_return(config, &record.web_origins, return_to).ok_or(WebStartError::ReturnNotAllowed)?;
    if !record.profile.func_info.contains(&WEB_SERVICE_SET) {
        return Err(WebStartError::NoWebPermission);
    }
    Ok(return_to)
}

/// WeChat's authorize URL: the parameters in its exact order, every value fully percent-encoded.
fn authorize_url(base: &str, appid: &str, redirect_uri: &str, scope: &str, state: &str, component: &str) -> String {
    let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    format!(
        "{base}/connect/oauth2/authorize?appid={}&redirect_uri={}&response_type=code&scope={}&state={}&component_appid={}#wechat_redirect",
        enc(appid),
        enc(redirect_uri),
        enc(scope),
        enc(state),
        enc(component),
    )
}

impl<S: ActingStore + BindingStore> WebAuth<'_, S> {
    /// The verification file named `name` (`MP_verify_….txt`), if configured.
    pub fn verification_file(&self, name: &str) -> Option<&str> {
        self.web.verification_files.iter().find(|(n, _)| n == name).map(|(_, content)| content.as_str())
    }

    /// Starts a web authorization for `appid` from a public link: WeChat's authorize URL to send
    /// the browser to. It identifies the follower only (no `user_ref`: anyone can make such a link).
    ///
    /// # Errors
    /// [`WebStartError`]; nothing is stored unless the request is valid.
    pub async fn start_web_authorization(
        &self,
        appid: &str,
        scope: &str,
        return_to: &str,
    ) -> Result<String, WebStartError> {
        self.begin_web_authorization(appid, scope, return_to, None).await
    }

    /// Starts the web authorization a site's server minted (`start`, single-use): the request it
    /// carries, `user_ref` included, goes on to WeChat.
    ///
    /// # Errors
    /// [`WebStartError::StartUnknown`] for a start that is unknown, expired, used, or minted for
    /// another account; then as [`WebAuth::start_web_authorization`].
    pub async fn start_minted_web_authorization(&self, appid: &str, start: &Secret) -> Result<String, WebStartError> {
        let now = self.now();
        let text = self.store.recall(&MarkerKey::web_start(start), now).await?.ok_or(WebStartError::StartUnknown)?;
        let minted = WebRequest::read(Some(&text)).ok_or(WebStartError::StartUnknown)?;
        let WebRequest { appid: minted_for, scope, return_to, user_ref } = &minted;
        if minted_for != appid
            || !self.store.remember_once(&MarkerKey::web_start_used(start), WEB_START_SECS * 2, now).await?
        {
            return Err(WebStartError::StartUnknown);
        }
        self.begin_web_authorization(appid, scope, return_to, user_ref.as_deref()).await
    }

    async fn begin_web_authorization(
        &self,
        appid: &str,
        scope: &str,
        return_to: &str,
        user_ref: Option<&str>,
    ) -> Result<String, WebStartError> {
        let config = &self.web;
        let Some(redirect) = config.redirect_url.as_deref() else {
            return Err(WebStartError::NotConfigured);
        };
        if !valid_scope(scope) {
            return Err(WebStartError::BadScope);
        }
        if user_ref.is_some_and(|r| !valid_user_ref(r)) {
            return Err(WebStartError::BadUserRef);
        }
        let record = self.store.authorizer(appid).await?.ok_or(WebStartError::NotAuthorized)?;
        if record.status != AuthorizerStatus::Authorized {
            return Err(WebStartError::NotAuthorized);
        }
        let return_to = account_allows(config, &record, return_to)?;
        let now = self.now();
        let state = self.web_signer.sign("", now + WEB_STATE_SECS);
        let nonce = state.split('.').nth(2).unwrap_or_default();
        let request = request_json(appid, scope, return_to.as_str(), user_ref);
        self.store.remember_value(&MarkerKey::web_request(nonce), &request, WEB_STATE_SECS, now).await?;
        let redirect_uri = redirect.replace("$APPID$", appid);
        Ok(authorize_url(&config.oauth_base, appid, &redirect_uri, scope, &state, &self.pages.component_appid))
    }

    /// Completes a web authorization from WeChat's redirect: where to send the browser (the
    /// site's `return_to` with `wx_ticket`).
    ///
    /// # Errors
    /// [`WebCallbackError`]: the state is checked and used up before WeChat is called.
    pub async fn finish_web_authorization(
        &self,
        state: &str,
        code: Option<Secret>,
        appid_param: Option<&str>,
    ) -> Result<String, WebCallbackError> {
        let now = self.now();
        let claims = self.web_signer.verify(state, now).map_err(|e| match e {
            StateError::Expired => WebCallbackError::StateExpired,
            StateError::Malformed | StateError::Forged => WebCallbackError::StateInvalid,
        })?;
        let key = MarkerKey::web_request(&claims.nonce);
        let Some(text) = self.store.recall(&key, now).await? else {
            return Err(WebCallbackError::StateExpired);
        };
        let WebRequest { appid, return_to, user_ref, .. } =
            WebRequest::read(Some(&text)).ok_or(WebCallbackError::StateInvalid)?;
        if appid_param.is_some_and(|a| a != appid) {
            return Err(WebCallbackError::StateInvalid);
        }
        if !self.store.remember_once(&MarkerKey::web_state(&claims.nonce), WEB_STATE_SECS * 2, now).await? {
            return Err(WebCallbackError::StateUsed);
        }
        let Some(code) = code else {
            return Err(WebCallbackError::Denied { return_to });
        };
        let identity = self
            .with_component_token(|token| {
                let (wechat, appid, code) = (&self.wechat, appid.as_str(), &code);
                async move { wechat.web_identity(&token, appid, code).await }
            })
            .await
            .map_err(|err| match err {
                CallError::WeChat(api) if api.errcode() == Some(40163) => WebCallbackError::CodeUsed,
                CallError::WeChat(api) if api.errcode() == Some(40029) => WebCallbackError::CodeInvalid,
                other => WebCallbackError::Call(other),
            })?;
        let mut profile = Value::Null;
        if identity.scope.split(',').any(|s| s == "snsapi_userinfo") {
            let info = self.wechat.web_profile(&identity.access_token, &identity.openid).await.map_err(api_call)?;
            profile = json!({
                "nickname": info.nickname.unwrap_or_default(),
                "headimgurl": info.headimgurl.unwrap_or_default(),
            });
        }
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes).map_err(|e| StoreError::Unavailable(format!("no randomness for a ticket: {e}")))?;
        let ticket = Secret::new(base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes));
        let kept = WebIdentity {
            authorizer_appid: appid,
            openid: identity.openid,
            unionid: identity.unionid,
            scope: identity.scope,
            user_ref,
            profile,
            authorized_at: now,
        };
        self.store.remember_value(&MarkerKey::web_ticket(&ticket), &kept.to_json(), WEB_TICKET_SECS, now).await?;
        let mut back = url::Url::parse(&return_to).map_err(|_| WebCallbackError::StateInvalid)?;
        back.query_pairs_mut().append_pair("wx_ticket", ticket.expose());
        Ok(back.into())
    }

    /// Redeems a ticket once: who the follower is (`authorizer_appid`, `openid`, `unionid`,
    /// `scope`, `user_ref`, and `profile` for `snsapi_userinfo`).
    ///
    /// # Errors
    /// [`RedeemError`]: a ticket of another account is unknown; a dashboard user redeems only
    /// tickets of their own accounts.
    pub async fn redeem_web_ticket(
        &self,
        caller: &Caller,
        appid: &str,
        ticket: &Secret,
        bind_user_ref: Option<&str>,
    ) -> Result<Value, RedeemError> {
        let now = self.now();
        let Some(text) = self.store.recall(&MarkerKey::web_ticket(ticket), now).await? else {
            return Err(RedeemError::NotFound);
        };
        let identity = WebIdentity::read(Some(&text)).ok_or(RedeemError::NotFound)?;
        // Redeemed on its own account's route only: a server allowed one account learns nothing
        // of another's followers.
        if identity.authorizer_appid != appid {
            return Err(RedeemError::NotFound);
        }
        match self.owned_account(caller, appid).await {
            Ok(_) => {}
            Err(ActError::Token(CallError::Store(err))) => return Err(RedeemError::Store(err)),
            Err(_) => return Err(RedeemError::NotFound),
        }
        // Counted once a ticket is found (a miss stores nothing; a ticket's 192 random bits are not
        // guessed), before it is spent: over the limit, the ticket stays redeemable.
        self.spend(crate::service::WEB_REDEMPTIONS, caller.name()).await?;
        if !self.store.remember_once(&MarkerKey::web_ticket_redeemed(ticket), WEB_TICKET_SECS * 2, now).await? {
            return Err(RedeemError::Used);
        }
        let Some(user_ref) = bind_user_ref else {
            return Ok(Value::Object(identity.fields()));
        };
        if identity.user_ref.as_deref() != Some(user_ref) {
            tracing::warn!(authorizer = %appid, "a ticket redeemed for another user_ref than it was started with");
            return Err(RedeemError::UserRefMismatch);
        }
        let binding = Binding {
            openid: identity.openid.clone(),
            user_ref: user_ref.to_owned(),
            unionid: identity.unionid.clone(),
            bound_at: now,
            bound_by: caller.name().to_owned(),
        };
        let mut answer = Value::Object(identity.fields());
        match self.store.bind(appid, &binding).await {
            Ok(()) => answer["binding"] = binding_json(&binding),
            // The identity stands; the site learns why nothing was bound and may unbind first.
            Err(StoreError::ConditionFailed) => {
                answer["binding"] = Value::Null;
                answer["binding_refused"] =
                    Value::from("the follower or the user_ref is already bound to someone else on this account");
            }
            Err(err) => return Err(RedeemError::Store(err)),
        }
        Ok(answer)
    }

    /// The binding of one side on `appid`, if the caller may see the account.
    ///
    /// # Errors
    /// [`ActError::NotFound`] for another user's account; store failures.
    pub async fn binding(
        &self,
        caller: &Caller,
        appid: &str,
        side: BindingSide<'_>,
    ) -> Result<Option<Binding>, ActError> {
        self.owned_account(caller, appid).await?;
        Ok(match side {
            BindingSide::OpenId(openid) => self.store.binding_by_openid(appid, openid).await?,
            BindingSide::UserRef(user_ref) => self.store.binding_by_user(appid, user_ref).await?,
        })
    }

    /// Removes the binding of one side (both of its items): the removed binding, or `None` when
    /// there was none.
    ///
    /// # Errors
    /// As [`WebAuth::binding`].
    pub async fn unbind(
        &self,
        caller: &Caller,
        appid: &str,
        side: BindingSide<'_>,
    ) -> Result<Option<Binding>, ActError> {
        // Read, then remove exactly that pair (a concurrent rebind is not removed by mistake).
        for _ in 0..3 {
            let Some(binding) = self.binding(caller, appid, side).await? else {
                return Ok(None);
            };
            if self.store.unbind(appid, &binding).await? {
                return Ok(Some(binding));
            }
        }
        Err(ActError::InProgress)
    }
}

/// A site's user id: 1 to [`MAX_USER_REF`] bytes, no control character.
pub(super) fn valid_user_ref(user_ref: &str) -> bool {
    !user_ref.is_empty() && user_ref.len() <= MAX_USER_REF && !user_ref.chars().any(char::is_control)
}

fn api_call(err: ApiError) -> WebCallbackError {
    WebCallbackError::Call(CallError::WeChat(err))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{RedeemError, WebCallbackError};
    use crate::secret::Secret;
    use crate::service::testing::{ACCOUNT, backend, query, world_with};

    #[tokio::test]
    async fn a_follower_is_identified_once_by_a_ticket_redeemed_once() {
        let w = world_with(&[("OAUTH_REDIRECT_URL", "http://127.0.0.1/wechat/oauth/callback")]).await;
        let web = w.platform.web_auth();
        let origins = json!({"origins": ["https://shop.example.com"]});
        web.set_web_origins(&backend(), ACCOUNT, &origins).await.expect("origins set");
        let elsewhere = web.start_web_authorization(ACCOUNT, "snsapi_base", "https://elsewhere.example/x").await;
        assert!(elsewhere.is_err(), "a return target off the account's origins: {elsewhere:?}");

        // The follower's browser: WeChat's authorize URL, then WeChat's redirect with a code.
        let wechat = web
            .start_web_authorization(ACCOUNT, "snsapi_base", "https://shop.example.com/bind")
            .await
            .expect("started");
        let browser =
            crate::outbound::client_builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        let answer = browser.get(&wechat).header("cookie", "wx_user=alice").send().await.expect("WeChat answers");
        let callback = answer.headers()["location"].to_str().expect("a redirect").to_owned();
        assert!(
            callback.starts_with("http://127.0.0.1/wechat/oauth/callback?"),
            "on the platform's domain: {callback}"
        );
        let (code, state) = (query(&callback, "code"), query(&callback, "state"));

        let back = web.finish_web_authorization(&state, Some(Secret::new(code.clone())), None).await.expect("finished");
        assert!(back.starts_with("https://shop.example.com/bind?wx_ticket="), "only a ticket goes back: {back}");
        let again = web.finish_web_authorization(&state, Some(Secret::new(code)), None).await;
        assert!(matches!(again, Err(WebCallbackError::StateUsed)), "a reload: {again:?}");

        let ticket = Secret::new(query(&back, "wx_ticket"));
        let who = web.redeem_web_ticket(&backend(), ACCOUNT, &ticket, None).await.expect("redeemed");
        assert_eq!(who["openid"], json!(wechat_standin::openid_for(ACCOUNT, "alice")), "{who}");
        let twice = web.redeem_web_ticket(&backend(), ACCOUNT, &ticket, None).await;
        assert!(matches!(twice, Err(RedeemError::Used)), "a ticket is single-use: {twice:?}");
    }
}
