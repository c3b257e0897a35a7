//! The WeChat Open Platform HTTP API, as far as the platform uses it (`docs/wechat.md`,
//! "Component APIs").
//!
//! One [`WeChatClient`] is built at cold start (one connection pool, rustls). Every call is a JSON
//! `POST`; WeChat reports errors as HTTP 200 with `{"errcode": N, "errmsg": "…"}`, so a body is an
//! error iff it has a non-zero `errcode`. Responses are decoded leniently: optional fields may be
//! missing, unknown fields are ignored, and numbers may arrive as strings.
//!
//! Timeouts fit WeChat's 5-second push deadline: 1 s to connect, 1.5 s per attempt, and one retry
//! of a transient failure (`-1`, HTTP 5xx, connect error) only when the first attempt failed fast,
//! so one call never takes much more than 3 s. Tokens travel in query strings, so no error ever
//! carries a URL ([`ApiError`] uses reqwest's message *without* the URL).

mod drafts;
mod error;
mod mass;
mod media;
mod menu;
mod publish;
mod qrcode;
mod quota;
mod tags;
mod wire;

pub use self::drafts::ArticleList;
pub use self::error::{ApiError, ErrorKind};
pub use self::mass::MassStatus;
pub use self::media::{Material, MaterialCount, MaterialPage, UploadFile, Uploaded};
pub use self::menu::LiveMenu;
pub use self::publish::{Publication, PublishedArticle, PublishedArticles};
pub use self::qrcode::QrTicket;
pub use self::tags::{TAG_BATCH, Tag};

use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde_json::json;

use crate::account::AuthorizerProfile;
use crate::secret::Secret;

const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1500);
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// A token and its lifetime, as `api_component_token` and `api_create_preauthcode` return them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The token or code.
    pub token: Secret,
    /// Seconds it stays valid.
    pub expires_in: i64,
}

/// `api_query_auth`'s `authorization_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationInfo {
    /// The account that authorized us.
    pub authorizer_appid: String,
    /// `authorizer_access_token` (only when the account has API permissions).
    pub access_token: Option<Secret>,
    /// Its lifetime in seconds.
    pub expires_in: i64,
    /// `authorizer_refresh_token`: irreplaceable, persist it.
    pub refresh_token: Option<Secret>,
    /// Granted permission sets.
    pub func_info: Vec<i64>,
}

/// `api_authorizer_token`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerTokens {
    /// New `authorizer_access_token`.
    pub access_token: Secret,
    /// Its lifetime in seconds.
    pub expires_in: i64,
    /// The refresh token WeChat returned (persist it: whether WeChat rotates it is unconfirmed).
    pub refresh_token: Option<Secret>,
}

/// One row of `api_get_authorizer_list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedAuthorizer {
    /// The appid.
    pub authorizer_appid: String,
    /// Its current refresh token, when WeChat includes it.
    pub refresh_token: Option<Secret>,
    /// When it authorized us.
    pub auth_time: Option<i64>,
}

/// One page of `api_get_authorizer_list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerListPage {
    /// Accounts in total.
    pub total_count: i64,
    /// This page.
    pub list: Vec<ListedAuthorizer>,
}

/// One page of `user/get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowerIds {
    /// `total`: how many follow the account.
    pub total: u64,
    /// The OpenIDs of this page.
    pub openids: Vec<String>,
    /// `next_openid`: where the next page starts (empty at the end).
    pub next: String,
}

/// What `sns/oauth2/component/access_token` says of the person who opened a web authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebIdentity {
    /// Their OpenID at the account.
    pub openid: String,
    /// Their UnionID, when WeChat gives one (not documented for the component variant).
    pub unionid: Option<String>,
    /// The scopes granted (`snsapi_base`, `snsapi_userinfo`).
    pub scope: String,
    /// The user-level token (for `sns/userinfo`), never stored.
    pub access_token: Secret,
}

/// What `user/info/batchget` tells of one follower (numbers accepted as text).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct FollowerInfo {
    /// 1 while following, 0 once gone.
    #[serde(default, deserialize_with = "wire::lenient")]
    pub subscribe: Option<i64>,
    /// The follower.
    #[serde(default, deserialize_with = "wire::text")]
    pub openid: Option<String>,
    /// When they followed (Unix seconds).
    #[serde(default, deserialize_with = "wire::lenient")]
    pub subscribe_time: Option<i64>,
    /// The parametric QR code's scene they followed through.
    #[serde(default, deserialize_with = "wire::text")]
    pub qr_scene_str: Option<String>,
    /// Across the owner's accounts, when WeChat gives it.
    #[serde(default, deserialize_with = "wire::text")]
    pub unionid: Option<String>,
}

/// A follower's profile from `sns/userinfo` (nickname and avatar; WeChat leaves the rest empty
/// since 2021-10-20).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct WebProfile {
    /// The nickname.
    #[serde(default, deserialize_with = "wire::text")]
    pub nickname: Option<String>,
    /// The avatar's URL.
    #[serde(default, deserialize_with = "wire::text")]
    pub headimgurl: Option<String>,
}

/// The WeChat API client.
#[derive(Debug, Clone)]
pub struct WeChatClient {
    http: reqwest::Client,
    base: String,
    component_appid: String,
    component_secret: Secret,
    /// The calls made with an account's token, by a fingerprint of the token, until the use case
    /// that made them takes them ([`WeChatClient::take_usage`]) to count them for the account.
    usage: std::sync::Arc<std::sync::Mutex<Vec<(u64, &'static str)>>>,
}

impl WeChatClient {
    /// A client for `base` (`WECHAT_API_BASE`, default [`crate::config::DEFAULT_API_BASE`]).
    ///
    /// # Errors
    /// [`ApiError::Transport`] if the TLS stack cannot be initialised.
    pub fn new(base: &str, component_appid: impl Into<String>, component_secret: Secret) -> Result<Self, ApiError> {
        let http = crate::outbound::client_builder()
            // Never follow a redirect: WeChat sends none, and following a 307 would resend the
            // body (the AppSecret, tickets, codes) to wherever the answer points.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(ATTEMPT_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(50))
            .user_agent(concat!("wechat-component-lambda/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| transport("client", &e))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            component_appid: component_appid.into(),
            component_secret,
            usage: std::sync::Arc::default(),
        })
    }

    /// Notes a call made with an account's token (WeChat counts it against the account's quota).
    fn record_use(&self, token: &Secret, call: &'static str) {
        let mut usage = self.usage.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Calls nobody takes (a follower's web-authorization token) must not pile up in a
        // long-lived sandbox: past the bound, the oldest half goes.
        if usage.len() >= MAX_UNTAKEN_USAGE {
            usage.drain(..MAX_UNTAKEN_USAGE / 2);
        }
        usage.push((fingerprint(token), call));
    }

    /// The calls made with `tokens` since they were last taken (each once, whoever takes them).
    pub fn take_usage(&self, tokens: &[&Secret]) -> Vec<&'static str> {
        let prints: Vec<u64> = tokens.iter().map(|t| fingerprint(t)).collect();
        let mut usage = self.usage.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (mine, others): (Vec<_>, Vec<_>) = usage.drain(..).partition(|(print, _)| prints.contains(print));
        *usage = others;
        mine.into_iter().map(|(_, call)| call).collect()
    }

    /// The component appid this client calls for.
    pub fn component_appid(&self) -> &str {
        &self.component_appid
    }

    /// A function deployed without `COMPONENT_APPSECRET` never sends an empty one: it gets
    /// WeChat's own answer for a wrong secret (40125) without a request leaving.
    fn require_secret(&self, call: &'static str) -> Result<(), ApiError> {
        if self.component_secret.expose().is_empty() {
            return Err(ApiError::WeChat {
                call,
                errcode: 40125,
                errmsg: "COMPONENT_APPSECRET is not configured for this function".to_owned(),
            });
        }
        Ok(())
    }

    /// `api_start_push_ticket`: asks WeChat to resume `component_verify_ticket` pushes.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn start_push_ticket(&self) -> Result<(), ApiError> {
        self.require_secret("api_start_push_ticket")?;
        let body = json!({"component_appid": self.component_appid, "component_secret": self.component_secret.expose()});
        self.post::<wire::Ok>("api_start_push_ticket", "/cgi-bin/component/api_start_push_ticket", None, &body).await?;
        Ok(())
    }

    /// `api_component_token`: a component access token from a verify ticket.
    ///
    /// # Errors
    /// [`ApiError`]; 61005/61006 for a stale ticket.
    pub async fn component_token(&self, ticket: &Secret) -> Result<IssuedToken, ApiError> {
        self.require_secret("api_component_token")?;
        let body = json!({
            "component_appid": self.component_appid,
            "component_appsecret": self.component_secret.expose(),
            "component_verify_ticket": ticket.expose(),
        });
        let out: wire::ComponentToken =
            self.post("api_component_token", "/cgi-bin/component/api_component_token", None, &body).await?;
        Ok(IssuedToken { token: out.component_access_token, expires_in: out.expires_in.unwrap_or(7200) })
    }

    /// `api_create_preauthcode`: a fresh, single-use pre-authorization code.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn create_pre_auth_code(&self, component_token: &Secret) -> Result<IssuedToken, ApiError> {
        let body = json!({"component_appid": self.component_appid});
        let out: wire::PreAuthCode = self
            .post("api_create_preauthcode", "/cgi-bin/component/api_create_preauthcode", Some(component_token), &body)
            .await?;
        Ok(IssuedToken { token: out.pre_auth_code, expires_in: out.expires_in.unwrap_or(1800) })
    }

    /// `api_query_auth`: exchanges an authorization code (single-use) for the account's tokens.
    ///
    /// # Errors
    /// [`ApiError`]; 61009/61010 for a used or expired code.
    pub async fn query_auth(
        &self,
        component_token: &Secret,
        auth_code: &Secret,
    ) -> Result<AuthorizationInfo, ApiError> {
        let body = json!({"component_appid": self.component_appid, "authorization_code": auth_code.expose()});
        let out: wire::QueryAuth =
            self.post("api_query_auth", "/cgi-bin/component/api_query_auth", Some(component_token), &body).await?;
        let info = out.authorization_info;
        let appid = info.authorizer_appid.or(info.appid).filter(|a| !a.is_empty()).ok_or_else(|| ApiError::Decode {
            call: "api_query_auth",
            message: "authorization_info has no authorizer_appid".into(),
        })?;
        Ok(AuthorizationInfo {
            authorizer_appid: appid,
            access_token: info.authorizer_access_token.filter(|t| !t.is_empty()),
            expires_in: info.expires_in.unwrap_or(7200),
            refresh_token: info.authorizer_refresh_token.filter(|t| !t.is_empty()),
            func_info: wire::func_ids(&info.func_info),
        })
    }

    /// `api_authorizer_token`: a new authorizer access token from its refresh token.
    ///
    /// # Errors
    /// [`ApiError`]; 61023 for a refused refresh token.
    pub async fn authorizer_token(
        &self,
        component_token: &Secret,
        authorizer_appid: &str,
        refresh_token: &Secret,
    ) -> Result<AuthorizerTokens, ApiError> {
        let body = json!({
            "component_appid": self.component_appid,
            "authorizer_appid": authorizer_appid,
            "authorizer_refresh_token": refresh_token.expose(),
        });
        let out: wire::AuthorizerToken = self
            .post("api_authorizer_token", "/cgi-bin/component/api_authorizer_token", Some(component_token), &body)
            .await?;
        Ok(AuthorizerTokens {
            access_token: out.authorizer_access_token,
            expires_in: out.expires_in.unwrap_or(7200),
            refresh_token: out.authorizer_refresh_token.filter(|t| !t.is_empty()),
        })
    }

    /// `api_get_authorizer_info`: the account's profile and granted permission sets.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn authorizer_info(
        &self,
        component_token: &Secret,
        authorizer_appid: &str,
    ) -> Result<AuthorizerProfile, ApiError> {
        let body = json!({"component_appid": self.component_appid, "authorizer_appid": authorizer_appid});
        let out: wire::AuthorizerInfo = self
            .post("api_get_authorizer_info", "/cgi-bin/component/api_get_authorizer_info", Some(component_token), &body)
            .await?;
        Ok(out.into_profile())
    }

    /// `api_get_authorizer_list`: one page (`count` ≤ 500) of the accounts that authorized us,
    /// with their current refresh tokens.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn authorizer_list(
        &self,
        component_token: &Secret,
        offset: u32,
        count: u32,
    ) -> Result<AuthorizerListPage, ApiError> {
        let body = json!({"component_appid": self.component_appid, "offset": offset, "count": count.min(500)});
        let out: wire::AuthorizerList = self
            .post("api_get_authorizer_list", "/cgi-bin/component/api_get_authorizer_list", Some(component_token), &body)
            .await?;
        Ok(AuthorizerListPage {
            total_count: out.total_count.unwrap_or(0),
            list: out
                .list
                .into_iter()
                .filter(|row| !row.authorizer_appid.is_empty())
                .map(|row| ListedAuthorizer {
                    authorizer_appid: row.authorizer_appid,
                    refresh_token: row.refresh_token.filter(|t| !t.is_empty()),
                    auth_time: row.auth_time,
                })
                .collect(),
        })
    }

    /// `message/custom/send` (text), sent as the authorizer with its access token.
    ///
    /// # Errors
    /// [`ApiError`]; 45015 outside the 48-hour window.
    pub async fn send_custom_text(
        &self,
        authorizer_token: &Secret,
        to_openid: &str,
        content: &str,
    ) -> Result<(), ApiError> {
        let body = json!({"touser": to_openid, "msgtype": "text", "text": {"content": content}});
        self.post_with::<wire::Ok>(
            "message/custom/send",
            "/cgi-bin/message/custom/send",
            Some(("access_token", authorizer_token)),
            &body,
        )
        .await?;
        Ok(())
    }

    /// `message/custom/send` with any message body (`touser`, `msgtype` and its object), sent as
    /// the authorizer. **Never retried here**: a timeout or a dropped connection may come after
    /// WeChat delivered the message, and a blind retry would send it twice (WxJava #2098); the
    /// caller decides, knowing the outcome is unknown ([`ErrorKind::Transport`]).
    ///
    /// # Errors
    /// [`ApiError`]: 45015 outside the window, 45047 over its count, 43004 not following, 48002
    /// messages switched off, 40001/42001 the token, …
    pub async fn send_custom(&self, authorizer_token: &Secret, body: &serde_json::Value) -> Result<(), ApiError> {
        self.attempt::<wire::Ok>(
            "message/custom/send",
            "/cgi-bin/message/custom/send",
            Some(("access_token", authorizer_token)),
            body,
        )
        .await?;
        Ok(())
    }

    /// `message/template/send` as the authorizer: WeChat's `msgid`. Never retried here, like
    /// [`WeChatClient::send_custom`] (`client_msg_id` is WeChat's own guard against a repeat).
    ///
    /// # Errors
    /// [`ApiError`]: 40037 not this account's template, 43004 not following, 47003 a value that
    /// does not fit its keyword, 45009 the daily quota, …
    pub async fn send_template(&self, authorizer_token: &Secret, body: &serde_json::Value) -> Result<String, ApiError> {
        let call = "message/template/send";
        let out: serde_json::Value = self
            .attempt(call, "/cgi-bin/message/template/send", Some(("access_token", authorizer_token)), body)
            .await?;
        wire::id_text(out.get("msgid")).ok_or_else(|| ApiError::Decode { call, message: "no msgid".to_owned() })
    }

    /// `template/api_add_template`: a template of WeChat's library added to the account (its own
    /// id returned: template ids are per account).
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn add_template(
        &self,
        authorizer_token: &Secret,
        template_id_short: &str,
        keyword_names: &[String],
    ) -> Result<String, ApiError> {
        let call = "template/api_add_template";
        let body = json!({"template_id_short": template_id_short, "keyword_name_list": keyword_names});
        let out: serde_json::Value = self
            .post_with(call, "/cgi-bin/template/api_add_template", Some(("access_token", authorizer_token)), &body)
            .await?;
        wire::id_text(out.get("template_id"))
            .ok_or_else(|| ApiError::Decode { call, message: "no template_id".to_owned() })
    }

    /// `template/get_all_private_template`: the account's templates, as WeChat lists them.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn private_templates(&self, authorizer_token: &Secret) -> Result<Vec<serde_json::Value>, ApiError> {
        let call = "template/get_all_private_template";
        let out: serde_json::Value =
            self.get(call, "/cgi-bin/template/get_all_private_template", authorizer_token, &[]).await?;
        Ok(out.get("template_list").and_then(serde_json::Value::as_array).cloned().unwrap_or_default())
    }

    /// `user/get`: one page (up to 10,000) of the account's followers' OpenIDs after
    /// `next_openid` (empty: from the start). A page that lists nothing, or comes without a
    /// `next_openid`, is the end (WeChat: "最后一次返回时next_openid可能为空表示列表结束",
    /// <https://developers.weixin.qq.com/doc/service/api/usermanage/userinfo/api_getfans>).
    ///
    /// # Errors
    /// [`ApiError`]: 48001 without the user-management permission set, 45009 the daily quota.
    pub async fn follower_ids(&self, authorizer_token: &Secret, next_openid: &str) -> Result<FollowerIds, ApiError> {
        let call = "user/get";
        let out: serde_json::Value =
            self.get(call, "/cgi-bin/user/get", authorizer_token, &[("next_openid", next_openid)]).await?;
        let openids: Vec<String> = out
            .pointer("/data/openid")
            .and_then(serde_json::Value::as_array)
            .map(|list| list.iter().filter_map(serde_json::Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let next = out.get("next_openid").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
        Ok(FollowerIds { total: out.get("total").and_then(serde_json::Value::as_u64).unwrap_or(0), openids, next })
    }

    /// `user/info/batchget`: what WeChat tells of up to 100 followers (`subscribe`,
    /// `subscribe_time`, `unionid`, `qr_scene_str`, …; no nickname or avatar since 2021).
    ///
    /// # Errors
    /// [`ApiError`]: 40032 more than 100, 48001 without the permission set.
    pub async fn follower_infos(
        &self,
        authorizer_token: &Secret,
        openids: &[String],
    ) -> Result<Vec<FollowerInfo>, ApiError> {
        let call = "user/info/batchget";
        let list: Vec<serde_json::Value> = openids.iter().map(|o| json!({"openid": o, "lang": "zh_CN"})).collect();
        let out: serde_json::Value = self
            .post_with(
                call,
                "/cgi-bin/user/info/batchget",
                Some(("access_token", authorizer_token)),
                &json!({"user_list": list}),
            )
            .await?;
        // Each follower read on its own: one entry of an unexpected shape costs that entry only.
        let list = out.get("user_info_list").and_then(serde_json::Value::as_array);
        Ok(list.into_iter().flatten().filter_map(|info| serde::Deserialize::deserialize(info).ok()).collect())
    }

    /// `sns/oauth2/component/access_token`: the code WeChat gave a web authorization, exchanged
    /// for who the person is. Takes the *component* token (an authorizer's gets 48001), and the
    /// code is single-use (40163) and short-lived (40029)
    /// (<https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/Before_Develop/Official_Accounts/official_account_website_authorization.html>).
    /// Not retried: a code that reached WeChat once is spent.
    ///
    /// # Errors
    /// [`ApiError`]: 40029 invalid or expired code, 40163 used code, 40001/42001 component token.
    pub async fn web_identity(
        &self,
        component_token: &Secret,
        authorizer_appid: &str,
        code: &Secret,
    ) -> Result<WebIdentity, ApiError> {
        let call = "sns/oauth2/component/access_token";
        let query = [
            ("appid", authorizer_appid),
            ("code", code.expose()),
            ("grant_type", "authorization_code"),
            ("component_appid", self.component_appid.as_str()),
            ("component_access_token", component_token.expose()),
        ];
        let out: serde_json::Value = self.get_query(call, "/sns/oauth2/component/access_token", &query).await?;
        let text = |name: &str| out.get(name).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
        let openid = text("openid");
        if openid.is_empty() {
            return Err(ApiError::Decode { call, message: "no openid in the answer".to_owned() });
        }
        Ok(WebIdentity {
            openid,
            unionid: Some(text("unionid")).filter(|u| !u.is_empty()),
            scope: text("scope"),
            access_token: Secret::new(text("access_token")),
        })
    }

    /// `sns/userinfo` with the user-level token of an `snsapi_userinfo` authorization: nickname
    /// and avatar (no sex or region since 2021-10-20, the fields are left empty by WeChat).
    ///
    /// # Errors
    /// [`ApiError`]: 48001 for an `snsapi_base` token, 40001/42001 an invalid token.
    pub async fn web_profile(&self, user_token: &Secret, openid: &str) -> Result<WebProfile, ApiError> {
        let query = [("access_token", user_token.expose()), ("openid", openid), ("lang", "zh_CN")];
        self.get_query("sns/userinfo", "/sns/userinfo", &query).await
    }

    /// `getcallbackip` with the component token: the addresses and ranges WeChat pushes from
    /// (<https://developers.weixin.qq.com/doc/service/api/base/api_getcallbackip.html>).
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn callback_ips(&self, component_token: &Secret) -> Result<Vec<String>, ApiError> {
        let call = "getcallbackip";
        let out: serde_json::Value = self.get(call, "/cgi-bin/getcallbackip", component_token, &[]).await?;
        Ok(out
            .get("ip_list")
            .and_then(serde_json::Value::as_array)
            .map(|list| list.iter().filter_map(serde_json::Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default())
    }

    /// One GET with the authorizer's token (a read: safe to ask again, so never an outcome
    /// question like a send's).
    async fn get<T: DeserializeOwned>(
        &self,
        call: &'static str,
        path: &str,
        authorizer_token: &Secret,
        query: &[(&str, &str)],
    ) -> Result<T, ApiError> {
        let mut full = vec![("access_token", authorizer_token.expose())];
        full.extend_from_slice(query);
        self.record_use(authorizer_token, call);
        self.get_query(call, path, &full).await
    }

    async fn get_query<T: DeserializeOwned>(
        &self,
        call: &'static str,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ApiError> {
        let response =
            self.http.get(format!("{}{path}", self.base)).query(query).send().await.map_err(|e| transport(call, &e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ApiError::Http { call, status: status.as_u16() });
        }
        let bytes = response.bytes().await.map_err(|e| transport(call, &e))?;
        wire::decode(call, &bytes)
    }

    async fn post<T: DeserializeOwned>(
        &self,
        call: &'static str,
        path: &str,
        component_token: Option<&Secret>,
        body: &serde_json::Value,
    ) -> Result<T, ApiError> {
        self.post_with(call, path, component_token.map(|t| ("component_access_token", t)), body).await
    }

    async fn post_with<T: DeserializeOwned>(
        &self,
        call: &'static str,
        path: &str,
        token: Option<(&str, &Secret)>,
        body: &serde_json::Value,
    ) -> Result<T, ApiError> {
        let started = Instant::now();
        let first = self.attempt(call, path, token, body).await;
        match first {
            Err(err) if err.kind().is_transient() && started.elapsed() < ATTEMPT_TIMEOUT / 2 => {
                tracing::warn!(call, error = %err, "transient WeChat failure, retrying once");
                tokio::time::sleep(RETRY_PAUSE).await;
                self.attempt(call, path, token, body).await
            }
            other => other,
        }
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        call: &'static str,
        path: &str,
        token: Option<(&str, &Secret)>,
        body: &serde_json::Value,
    ) -> Result<T, ApiError> {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some((name, token)) = token {
            if name == "access_token" {
                self.record_use(token, call);
            }
            request = request.query(&[(name, token.expose())]);
        }
        let response = request.send().await.map_err(|e| transport(call, &e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ApiError::Http { call, status: status.as_u16() });
        }
        let bytes = response.bytes().await.map_err(|e| transport(call, &e))?;
        wire::decode(call, &bytes)
    }
}

/// Calls kept for their use cases to take, at most.
const MAX_UNTAKEN_USAGE: usize = 10_000;

/// An in-process fingerprint of a token (never stored or logged; tells accounts' calls apart).
fn fingerprint(token: &Secret) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    token.expose().hash(&mut hasher);
    hasher.finish()
}

fn transport(call: &'static str, err: &reqwest::Error) -> ApiError {
    // `without_url`: the URL's query carries the access token.
    let timeout = err.is_timeout();
    let mut message = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = source {
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&e.to_string());
        source = e.source();
    }
    // reqwest's Display names the URL; strip any query string that slipped into the chain.
    let message = strip_queries(&message);
    ApiError::Transport { call, timeout, message }
}

/// Removes `?query` parts from URLs inside an error message.
fn strip_queries(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_query = false;
    for c in message.chars() {
        match c {
            '?' => in_query = true,
            ')' | ' ' | ',' if in_query => {
                in_query = false;
                out.push(c);
            }
            _ if in_query => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_stripped_from_error_messages() {
        let m =
            strip_queries("error sending request for url (http://x/api?component_access_token=SECRET&a=b): refused");
        assert_eq!(m, "error sending request for url (http://x/api): refused");
        assert!(!m.contains("SECRET"));
    }

    #[test]
    fn debug_hides_the_secret() {
        let client = WeChatClient::new("http://127.0.0.1:1", "wx_c", Secret::new("the-app-secret")).unwrap();
        assert!(!format!("{client:?}").contains("the-app-secret"));
    }
}
