//! Web authorization on behalf of an account (代公众号发起网页授权), as WeChat runs it
//! (<https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/Before_Develop/Official_Accounts/official_account_website_authorization.html>):
//!
//! - `GET /connect/oauth2/authorize`: the parameters in WeChat's exact order; the account must have
//!   authorized the platform with the web-service permission set (4), `redirect_uri` must be on the
//!   platform's 公众号开发域名 (or an `{appid}.` sub-domain of it), `state` at most 128 bytes.
//!   `snsapi_base` answers at once; `snsapi_userinfo` shows a consent page whose "允许" sends
//!   `redirect_uri?code=…&state=…&appid=…` and "拒绝" sends `redirect_uri?state=…` (no code).
//! - `GET /sns/oauth2/component/access_token`: only the *component* token is accepted (an
//!   authorizer's gives 48001); codes are single-use (40163) and expire after 5 minutes (40029).
//! - `GET /sns/userinfo`: only for `snsapi_userinfo` tokens (48001 otherwise); today's fields: no
//!   sex or region since 2021-10-20.
//!
//! Who the WeChat user is comes from the `wx_user` cookie (set by `GET /standin/wechat-user`),
//! else `web-user`: a browser test can be two different people.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};

use crate::StandIn;
use crate::world::{World, WxError};
use shared::web::escape_html as escape;

/// A code lives 5 minutes and is used once.
const CODE_TTL: i64 = 300;
/// User-level access tokens last 2 hours.
const SNS_TOKEN_TTL: i64 = 7200;
/// The parameters of the authorize URL, in the only order WeChat accepts.
const ORDER: [&str; 6] = ["appid", "redirect_uri", "response_type", "scope", "state", "component_appid"];

/// The web-authorization state of the world.
#[derive(Debug, Default)]
pub(crate) struct WebAuth {
    codes: HashMap<String, OauthCode>,
    tokens: HashMap<String, SnsToken>,
    /// Codes handed out, in order (tests read how many were issued).
    pub(crate) issued: u64,
}

#[derive(Debug)]
struct OauthCode {
    appid: String,
    user: String,
    scope: String,
    expires: i64,
    used: bool,
}

#[derive(Debug)]
struct SnsToken {
    openid: String,
    user: String,
    scope: String,
    expires: i64,
}

/// A WeChat user's OpenID at one account (OpenIDs differ per account).
pub fn openid_for(appid: &str, user: &str) -> String {
    let tail = appid.get(appid.len().saturating_sub(4)..).unwrap_or(appid);
    format!("o{tail}_{user}")
}

/// The user's UnionID (the same across the accounts of one open-platform account).
pub fn unionid_for(user: &str) -> String {
    format!("u_{user}")
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{t}</title></head><body><h1 id=\"wechat-title\">{t}</h1>{body}</body></html>",
        t = escape(title)
    );
    (status, Html(html)).into_response()
}

/// WeChat's own words when a parameter is wrong.
fn unreachable_link(reason: &str) -> Response {
    page(StatusCode::OK, "该链接无法访问", &format!("<p id=\"error\">{}</p>", escape(reason)))
}

fn user_of(headers: &HeaderMap) -> String {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix("wx_user="))
        .find(|u| !u.is_empty() && u.len() <= 32 && u.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .unwrap_or("web-user")
        .to_owned()
}

/// `GET /standin/wechat-user?name=…`: who the browser is, from now on.
pub(crate) async fn set_user(RawQuery(query): RawQuery) -> Response {
    let name = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if name.is_empty() || name.len() > 32 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return (StatusCode::BAD_REQUEST, "name: 1-32 letters, digits or '-'").into_response();
    }
    (StatusCode::OK, [(header::SET_COOKIE, format!("wx_user={name}; Path=/"))], format!("you are {name}"))
        .into_response()
}

/// `GET /connect/oauth2/authorize`.
pub(crate) async fn authorize(State(s): State<StandIn>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    let expected: Vec<&str> = ORDER.iter().copied().filter(|n| *n != "state" || names.contains(&"state")).collect();
    if names != expected {
        return unreachable_link(&format!("parameters must be exactly {expected:?} in this order, got {names:?}"));
    }
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str());
    let (appid, redirect_uri, scope, state) = (get("appid"), get("redirect_uri"), get("scope"), get("state"));
    if get("component_appid") != s.config().component_appid {
        return unreachable_link("component_appid is not this platform");
    }
    if get("response_type") != "code" {
        return unreachable_link("response_type must be code");
    }
    if state.len() > 128 {
        return unreachable_link("state is longer than 128 bytes");
    }
    let scopes: Vec<&str> = scope.split(',').collect();
    if scopes.is_empty() || !scopes.iter().all(|s| matches!(*s, "snsapi_base" | "snsapi_userinfo")) {
        return unreachable_link("scope must be snsapi_base or snsapi_userinfo");
    }
    if let Err(reason) = s.world().may_authorize_web(appid) {
        return unreachable_link(reason);
    }
    let Ok(redirect) = url::Url::parse(redirect_uri) else {
        return unreachable_link("redirect_uri is not an absolute URL");
    };
    if !on_platform_domain(&redirect, appid, &s.config().web_domains) {
        return unreachable_link("redirect_uri is not on the platform's 公众号开发域名 (redirect_uri 参数错误)");
    }
    let user = user_of(&headers);
    if scopes.contains(&"snsapi_userinfo") {
        let nick = s.world().nick_name(appid);
        let hidden =
            |name: &str, value: &str| format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", escape(value));
        let fields = [
            hidden("appid", appid),
            hidden("redirect_uri", redirect_uri),
            hidden("scope", scope),
            hidden("state", state),
        ]
        .concat();
        return page(
            StatusCode::OK,
            "微信授权",
            &format!(
                "<p id=\"asks\"><b>{nick}</b> 申请获取你的昵称、头像</p><p>WeChat stand-in, signed in as <code id=\"user\">{user}</code></p>\
                 <form method=\"post\" action=\"/standin/oauth/consent\">{fields}\
                 <button type=\"submit\" name=\"answer\" value=\"allow\" id=\"allow\">允许</button> \
                 <button type=\"submit\" name=\"answer\" value=\"deny\" id=\"deny\">拒绝</button></form>",
                nick = escape(&nick),
                user = escape(&user),
            ),
        );
    }
    let code = s.world().issue_oauth_code(appid, &user, scope);
    redirect_with(redirect, Some((&code, appid)), state)
}

#[derive(serde::Deserialize)]
pub(crate) struct Consent {
    appid: String,
    redirect_uri: String,
    scope: String,
    state: String,
    answer: String,
}

/// `POST /standin/oauth/consent`: the user's answer on the consent page.
pub(crate) async fn consent(State(s): State<StandIn>, headers: HeaderMap, Form(form): Form<Consent>) -> Response {
    let Ok(redirect) = url::Url::parse(&form.redirect_uri) else {
        return unreachable_link("redirect_uri is not an absolute URL");
    };
    if !on_platform_domain(&redirect, &form.appid, &s.config().web_domains) {
        return unreachable_link("redirect_uri is not on the platform's 公众号开发域名");
    }
    if form.answer != "allow" {
        return redirect_with(redirect, None, &form.state);
    }
    let code = s.world().issue_oauth_code(&form.appid, &user_of(&headers), &form.scope);
    redirect_with(redirect, Some((&code, &form.appid)), &form.state)
}

fn redirect_with(mut url: url::Url, code: Option<(&str, &str)>, state: &str) -> Response {
    {
        let mut query = url.query_pairs_mut();
        if let Some((code, _)) = code {
            query.append_pair("code", code);
        }
        query.append_pair("state", state);
        if let Some((_, appid)) = code {
            query.append_pair("appid", appid);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

/// The redirect's host is one of the platform's web domains, or `{appid}.` one of them.
fn on_platform_domain(url: &url::Url, appid: &str, domains: &[String]) -> bool {
    let Some(host) = url.host_str() else { return false };
    let host = host.to_ascii_lowercase();
    domains.iter().any(|d| {
        let d = d.to_ascii_lowercase();
        host == d || host.strip_suffix(&d).and_then(|h| h.strip_suffix('.')) == Some(&appid.to_ascii_lowercase())
    })
}

impl World {
    /// The account authorized the platform and granted it web service (permission set 4).
    pub(crate) fn may_authorize_web(&self, appid: &str) -> Result<(), &'static str> {
        match self.grants(appid) {
            None => Err("the account has not authorized this platform"),
            Some(sets) if !sets.contains(&4) => {
                Err("the account has not granted the platform web service (scope 权限)")
            }
            Some(_) => Ok(()),
        }
    }

    pub(crate) fn issue_oauth_code(&mut self, appid: &str, user: &str, scope: &str) -> String {
        let code = self.mint("oauthcode_");
        let expires = self.now() + CODE_TTL;
        self.web.issued += 1;
        self.web.codes.insert(
            code.clone(),
            OauthCode { appid: appid.to_owned(), user: user.to_owned(), scope: scope.to_owned(), expires, used: false },
        );
        code
    }

    /// `sns/oauth2/component/access_token`.
    pub(crate) fn oauth_exchange(
        &mut self,
        params: &HashMap<String, String>,
        component_appid: &str,
        grace: i64,
    ) -> Result<Value, WxError> {
        let get = |name: &str| params.get(name).map_or("", String::as_str);
        if get("component_appid") != component_appid {
            return Err((40013, "invalid appid"));
        }
        let token = get("component_access_token");
        if self.is_authorizer_token(token) {
            return Err((48001, "api unauthorized"));
        }
        self.check_component_token(Some(token), grace)?;
        if get("grant_type") != "authorization_code" {
            return Err((40002, "invalid grant_type"));
        }
        let now = self.now();
        let code = self.web.codes.get_mut(get("code")).ok_or((40029, "invalid code"))?;
        if code.appid != get("appid") {
            return Err((40029, "invalid code"));
        }
        if code.used {
            return Err((40163, "code been used"));
        }
        if code.expires <= now {
            return Err((40029, "invalid code"));
        }
        code.used = true;
        let (appid, user, scope) = (code.appid.clone(), code.user.clone(), code.scope.clone());
        let access_token = self.mint("SNS_TOKEN_");
        let refresh_token = self.mint("SNS_REFRESH_");
        let openid = openid_for(&appid, &user);
        self.web.tokens.insert(
            access_token.clone(),
            SnsToken { openid: openid.clone(), user: user.clone(), scope: scope.clone(), expires: now + SNS_TOKEN_TTL },
        );
        Ok(json!({
            "access_token": access_token, "expires_in": SNS_TOKEN_TTL, "refresh_token": refresh_token,
            "openid": openid, "scope": scope, "unionid": unionid_for(&user),
        }))
    }

    /// `sns/userinfo`.
    pub(crate) fn sns_userinfo(&self, params: &HashMap<String, String>) -> Result<Value, WxError> {
        let get = |name: &str| params.get(name).map_or("", String::as_str);
        let token = self
            .web
            .tokens
            .get(get("access_token"))
            .ok_or((40001, "invalid credential, access_token is invalid or not latest"))?;
        if token.expires <= self.now() {
            return Err((42001, "access_token expired"));
        }
        if !token.scope.split(',').any(|s| s == "snsapi_userinfo") {
            return Err((48001, "api unauthorized"));
        }
        if get("openid") != token.openid {
            return Err((40003, "invalid openid"));
        }
        // Since 2021-10-20 no sex or region: the fields stay, empty.
        Ok(json!({
            "openid": token.openid, "nickname": format!("微信用户 {}", token.user), "sex": 0,
            "province": "", "city": "", "country": "",
            "headimgurl": format!("https://thirdwx.qlogo.cn/standin/{}/132", token.user),
            "privilege": [], "unionid": unionid_for(&token.user),
        }))
    }
}
