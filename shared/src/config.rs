//! Configuration, read once at cold start into one validated struct.
//!
//! The variable names are those of `docs/contract.md` and of `template.yaml`'s `Globals`; a missing or
//! malformed value stops the cold start with a message naming the variable, never a panic inside
//! a request. Secrets are held as [`Secret`] so `?config` in a log line is safe.

use std::fmt;

use crate::crypto::{CryptoError, WeChatCrypto};
use crate::secret::Secret;

/// The production WeChat API host (`WECHAT_API_BASE`'s default).
pub const DEFAULT_API_BASE: &str = "https://api.weixin.qq.com";
/// Default replay window for pushes, seconds.
pub const DEFAULT_PUSH_MAX_AGE_SECS: i64 = 300;

/// The share of an account's daily quota bulk work may use unless `BULK_QUOTA_PERCENT` says
/// otherwise: half, leaving the other half to the account's own day.
pub const DEFAULT_BULK_QUOTA_PERCENT: u64 = 50;
/// Default host of the PC authorization page (componentloginpage).
pub const DEFAULT_PC_PAGE_BASE: &str = "https://mp.weixin.qq.com";
/// Default host of the mobile authorization link (bindcomponent).
pub const DEFAULT_MOBILE_PAGE_BASE: &str = "https://open.weixin.qq.com";

/// How the dashboard routes are protected (`DASHBOARD_AUTH`, required: there is no default, so a
/// deployment is never open by accident). The functions fail closed when a request does not carry
/// the identity the mode promises (the `web` module's `dashboard_user`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DashboardAuth {
    /// `jwt`: API Gateway's JWT authorizer; the user is `jwt:<iss>:<sub>`.
    Jwt,
    /// `iam`: SigV4-signed calls; the user is `iam:<caller ARN>`.
    Iam,
    /// `unauthenticated-local-demo`: no authentication: the user is `local:demo`, or `local:<name>`
    /// when the request says `Authorization: Bearer local-user:<name>`. Local runs and demos only:
    /// anyone who finds the URL sees every account.
    UnauthenticatedLocalDemo,
}

impl DashboardAuth {
    /// The value of `DASHBOARD_AUTH`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jwt => "jwt",
            Self::Iam => "iam",
            Self::UnauthenticatedLocalDemo => "unauthenticated-local-demo",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        [Self::Jwt, Self::Iam, Self::UnauthenticatedLocalDemo].into_iter().find(|mode| mode.as_str() == value)
    }
}

/// An IAM principal as the backend allow-list compares it: a role by
/// `arn:<partition>:iam::<account>:role/<name>` (its path dropped, as the ARN of a session of the
/// role, `arn:<partition>:sts::<account>:assumed-role/<name>/<session>`, has none), a user by its
/// ARN. `None` for anything else (a root user, a federated user, text that is no ARN).
///
/// Why: a role is what a backend is granted; its sessions (one per Lambda instance, container or
/// `AssumeRole` call) come and go under other names, and must all be the same backend.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns>
pub fn canonical_principal(arn: &str) -> Option<String> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(""), Some(account), Some(resource)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let name_ok = |name: &str| {
        !name.is_empty()
            && name.len() <= 128
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    };
    if partition.is_empty() || account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let role = match (service, resource.split_once('/')) {
        ("sts", Some(("assumed-role", rest))) => rest.split('/').next().filter(|n| rest.contains('/') && name_ok(n)),
        ("iam", Some(("role", rest))) => rest.rsplit('/').next().filter(|n| name_ok(n)),
        ("iam", Some(("user", rest))) if rest.split('/').all(name_ok) => {
            return Some(format!("arn:{partition}:iam::{account}:user/{rest}"));
        }
        _ => None,
    }?;
    Some(format!("arn:{partition}:iam::{account}:role/{role}"))
}

/// A configuration problem, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// Everything the functions are configured with.
#[derive(Clone)]
pub struct Config {
    /// `COMPONENT_APPID`.
    pub component_appid: String,
    /// `COMPONENT_APPSECRET`: only the functions that call WeChat's component APIs or sign states
    /// are given it (`template.yaml`); without it those calls fail closed (WeChat's 40125 before
    /// any request leaves, states that never verify elsewhere), see [`Config::has_component_secret`].
    pub component_secret: Secret,
    /// `TABLE_NAME`.
    pub table_name: String,
    /// `WECHAT_API_BASE` (default `https://api.weixin.qq.com`).
    pub wechat_api_base: String,
    /// `WECHAT_AUTH_PAGE_BASE` for the PC page (default `https://mp.weixin.qq.com`).
    pub pc_page_base: String,
    /// `WECHAT_AUTH_PAGE_BASE` for the mobile link (default `https://open.weixin.qq.com`).
    pub mobile_page_base: String,
    /// `AUTH_REDIRECT_URL`: the public URL of auth-callback (needed by qr-url-issuer).
    pub auth_redirect_url: Option<url::Url>,
    /// `DASHBOARD_URL`: where auth-callback sends the admin after success.
    pub dashboard_url: Option<url::Url>,
    /// `AUTHORIZE_START_URL`: the public URL of qr-url-issuer's start route, which the dashboard's
    /// authenticated call links the browser to.
    pub authorize_start_url: Option<url::Url>,
    /// `DASHBOARD_AUTH`: how the dashboard routes are protected.
    pub dashboard_auth: DashboardAuth,
    /// The message crypto from `COMPONENT_TOKEN`, `COMPONENT_ENCODING_AES_KEY` and
    /// `COMPONENT_ENCODING_AES_KEY_PREVIOUS`: only the two push functions are given them; without
    /// them every push is refused ([`Config::push_crypto`]).
    pub crypto: Option<WeChatCrypto>,
    /// `PUSH_MAX_AGE_SECS` (default 300, `0` = off): pushes signed further from now than this are
    /// refused as replays. WeChat retries within seconds; 5 minutes also absorbs clock skew.
    pub push_max_age_secs: i64,
    /// `EVENT_BUS_NAME`: the EventBridge bus follower messages and account changes go to (name or
    /// ARN). Unset, nothing can be handed off and pushes are answered 503 (retried), never dropped.
    pub event_bus_name: Option<String>,
    /// `REPLY_RULES_CACHE_SECS` (default and most 30): how long a process answers pushes from the
    /// reply rules it read before reading them again, i.e. how long a saved change may take to be
    /// in effect. The local run shortens it so a change shows at once.
    pub reply_rules_cache_secs: u64,
    /// `BULK_QUOTA_PERCENT` (default 50, 1–100): the share of an account's daily quota of an API
    /// a bulk operation (the follower backfill) may use, so the account's own work — replies,
    /// sends, its other tools — still has the rest of the day.
    pub bulk_quota_percent: u64,
    /// Web authorization on behalf of accounts (`service/web_auth/`); off until configured.
    pub web_auth: WebAuthConfig,
    /// `BACKEND_PRINCIPALS`: the IAM roles and users that are the platform's backends (the
    /// `/wechat/backend/…` routes), as [`canonical_principal`] writes them. Empty: no backend at
    /// all (closed), whatever IAM lets call the route.
    pub backend_principals: Vec<String>,
}

/// Web authorization's settings. Closed by default: without `OAUTH_REDIRECT_URL` no authorization
/// starts, and for an account none starts until its owner sets its return origins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebAuthConfig {
    /// `WECHAT_OAUTH_BASE` (default `https://open.weixin.qq.com`): where the authorize page is.
    pub oauth_base: String,
    /// `OAUTH_REDIRECT_URL`: web-oauth's callback on the platform's 公众号开发域名, optionally
    /// with `$APPID$` in the host (the account's own sub-domain, as WeChat allows).
    pub redirect_url: Option<String>,
    /// `OAUTH_START_URL`: web-oauth's authorize route as the public reaches it, with `$APPID$`
    /// for the account (`https://api.example.com/wechat/oauth/$APPID$/authorize`): the start
    /// links a site's server mints point there.
    pub start_url: Option<String>,
    /// `OAUTH_RETURN_ORIGINS`, optional: the deployment's ceiling on the origins (`https://shop.example.com`,
    /// comma-separated) an account's owner may let browsers return to; empty, any https origin.
    pub return_origins: Vec<String>,
    /// `DOMAIN_VERIFICATION_FILES`: `name.txt=content` pairs (comma-separated) served at
    /// `/name.txt`, as WeChat asks when a domain is registered.
    pub verification_files: Vec<(String, String)>,
}

impl WebAuthConfig {
    /// Whether the deployment's ceiling (`OAUTH_RETURN_ORIGINS`) lets `origin` be returned to: any
    /// origin when it names none.
    pub fn within_ceiling(&self, origin: &str) -> bool {
        self.return_origins.is_empty() || self.return_origins.iter().any(|allowed| allowed == origin)
    }
}

/// The authorize page's production host.
pub const DEFAULT_OAUTH_BASE: &str = "https://open.weixin.qq.com";

fn web_auth(get: impl Fn(&str) -> Option<String>) -> Result<WebAuthConfig, ConfigError> {
    let oauth_base = match get("WECHAT_OAUTH_BASE") {
        None => DEFAULT_OAUTH_BASE.to_owned(),
        Some(value) => match url::Url::parse(&value) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u.as_str().trim_end_matches('/').to_owned(),
            _ => return Err(ConfigError { variable: "WECHAT_OAUTH_BASE", problem: "must be an http(s) URL".into() }),
        },
    };
    let redirect_url = get("OAUTH_REDIRECT_URL");
    if let Some(value) = &redirect_url {
        let ok = url::Url::parse(&value.replace("$APPID$", "wx0"))
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.query().is_none() && u.fragment().is_none());
        if !ok {
            return Err(ConfigError {
                variable: "OAUTH_REDIRECT_URL",
                problem: "must be an http(s) URL without query or fragment ($APPID$ allowed in the host)".into(),
            });
        }
    }
    let start_url = get("OAUTH_START_URL");
    if let Some(value) = &start_url {
        let ok = value.contains("$APPID$")
            && url::Url::parse(&value.replace("$APPID$", "wx0"))
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.query().is_none() && u.fragment().is_none());
        if !ok {
            return Err(ConfigError {
                variable: "OAUTH_START_URL",
                problem: "must be an http(s) URL with $APPID$ where the account goes, without query or fragment".into(),
            });
        }
    }
    let mut return_origins = Vec::new();
    for item in get("OAUTH_RETURN_ORIGINS").unwrap_or_default().split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let origin = url::Url::parse(item)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.path() == "/" && u.query().is_none())
            .map(|u| u.origin().ascii_serialization())
            .ok_or_else(|| ConfigError {
                variable: "OAUTH_RETURN_ORIGINS",
                problem: format!("{item:?} is not an origin (scheme://host[:port], no path)"),
            })?;
        return_origins.push(origin);
    }
    let mut verification_files = Vec::new();
    for item in get("DOMAIN_VERIFICATION_FILES").unwrap_or_default().split(',').map(str::trim).filter(|i| !i.is_empty())
    {
        let (name, content) = item
            .split_once('=')
            .filter(|(name, content)| {
                name.len() <= 64
                    && name.strip_suffix(".txt").is_some_and(|stem| {
                        !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                    })
                    && !content.is_empty()
                    && content.len() <= 256
            })
            .ok_or_else(|| ConfigError {
                variable: "DOMAIN_VERIFICATION_FILES",
                problem: "must be name.txt=content pairs, comma-separated (names of letters, digits, _ and -)".into(),
            })?;
        verification_files.push((name.to_owned(), content.to_owned()));
    }
    Ok(WebAuthConfig { oauth_base, redirect_url, start_url, return_origins, verification_files })
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("component_appid", &self.component_appid)
            .field("component_secret", &self.component_secret)
            .field("table_name", &self.table_name)
            .field("wechat_api_base", &self.wechat_api_base)
            .field("pc_page_base", &self.pc_page_base)
            .field("mobile_page_base", &self.mobile_page_base)
            .field("auth_redirect_url", &self.auth_redirect_url.as_ref().map(url::Url::as_str))
            .field("dashboard_url", &self.dashboard_url.as_ref().map(url::Url::as_str))
            .field("authorize_start_url", &self.authorize_start_url.as_ref().map(url::Url::as_str))
            .field("dashboard_auth", &self.dashboard_auth)
            .field("push_max_age_secs", &self.push_max_age_secs)
            .field("event_bus_name", &self.event_bus_name)
            .field("reply_rules_cache_secs", &self.reply_rules_cache_secs)
            .field("bulk_quota_percent", &self.bulk_quota_percent)
            .field("web_auth", &self.web_auth)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// The push crypto; `None` for a function without `COMPONENT_TOKEN` and
    /// `COMPONENT_ENCODING_AES_KEY`, which takes no push (`App::push_crypto` says why, as the
    /// push pipeline's error: the configuration knows nothing of pushes).
    pub fn push_crypto(&self) -> Option<&WeChatCrypto> {
        self.crypto.as_ref()
    }

    /// Whether this function was given `COMPONENT_APPSECRET`.
    pub fn has_component_secret(&self) -> bool {
        !self.component_secret.expose().is_empty()
    }

    /// Reads the process environment.
    ///
    /// # Errors
    /// The first missing or malformed variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (tests pass a map; no process environment mutated).
    ///
    /// # Errors
    /// The first missing or malformed variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let required =
            |name: &'static str| get(name).ok_or_else(|| ConfigError { variable: name, problem: "is required".into() });
        let url = |name: &'static str| -> Result<Option<url::Url>, ConfigError> {
            get(name)
                .map(|value| {
                    let parsed = url::Url::parse(&value)
                        .map_err(|e| ConfigError { variable: name, problem: format!("is not a URL ({e})") })?;
                    if matches!(parsed.scheme(), "http" | "https") {
                        Ok(parsed)
                    } else {
                        Err(ConfigError { variable: name, problem: "must be an http(s) URL".into() })
                    }
                })
                .transpose()
        };
        let key_error = |variable: &'static str| {
            move |_: CryptoError| ConfigError { variable, problem: "must be 43 characters of [A-Za-z0-9]".into() }
        };

        let component_appid = required("COMPONENT_APPID")?;
        let component_secret = Secret::new(get("COMPONENT_APPSECRET").unwrap_or_default());
        // The Token and the key come together or not at all (only the push functions get them).
        let crypto = match (get("COMPONENT_TOKEN"), get("COMPONENT_ENCODING_AES_KEY")) {
            (None, None) => None,
            (Some(token), Some(key)) => {
                let mut crypto = WeChatCrypto::new(token, &key, component_appid.as_str())
                    .map_err(key_error("COMPONENT_ENCODING_AES_KEY"))?;
                if let Some(previous) = get("COMPONENT_ENCODING_AES_KEY_PREVIOUS") {
                    crypto = crypto
                        .with_previous_key(&previous)
                        .map_err(key_error("COMPONENT_ENCODING_AES_KEY_PREVIOUS"))?;
                }
                Some(crypto)
            }
            (Some(_), None) => {
                return Err(ConfigError {
                    variable: "COMPONENT_ENCODING_AES_KEY",
                    problem: "is required with COMPONENT_TOKEN".into(),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError {
                    variable: "COMPONENT_TOKEN",
                    problem: "is required with COMPONENT_ENCODING_AES_KEY".into(),
                });
            }
        };
        let page_base = url("WECHAT_AUTH_PAGE_BASE")?.map(|u| u.as_str().trim_end_matches('/').to_owned());
        Ok(Self {
            component_appid,
            component_secret,
            table_name: required("TABLE_NAME")?,
            wechat_api_base: url("WECHAT_API_BASE")?
                .map_or_else(|| DEFAULT_API_BASE.to_owned(), |u| u.as_str().trim_end_matches('/').to_owned()),
            pc_page_base: page_base.clone().unwrap_or_else(|| DEFAULT_PC_PAGE_BASE.to_owned()),
            mobile_page_base: page_base.unwrap_or_else(|| DEFAULT_MOBILE_PAGE_BASE.to_owned()),
            auth_redirect_url: url("AUTH_REDIRECT_URL")?,
            dashboard_url: url("DASHBOARD_URL")?,
            authorize_start_url: url("AUTHORIZE_START_URL")?,
            dashboard_auth: DashboardAuth::parse(&required("DASHBOARD_AUTH")?).ok_or_else(|| ConfigError {
                variable: "DASHBOARD_AUTH",
                problem: "must be jwt, iam or unauthenticated-local-demo".into(),
            })?,
            crypto,
            web_auth: web_auth(get)?,
            backend_principals: get("BACKEND_PRINCIPALS")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| {
                    canonical_principal(item).ok_or_else(|| ConfigError {
                        variable: "BACKEND_PRINCIPALS",
                        problem: format!(
                            "{item:?} is not the ARN of an IAM role or user (arn:aws:iam::123456789012:role/name)"
                        ),
                    })
                })
                .collect::<Result<_, _>>()?,
            event_bus_name: get("EVENT_BUS_NAME"),
            reply_rules_cache_secs: match get("REPLY_RULES_CACHE_SECS") {
                None => 30,
                Some(value) => value.parse::<u64>().ok().filter(|v| *v <= 30).ok_or_else(|| ConfigError {
                    variable: "REPLY_RULES_CACHE_SECS",
                    problem: "must be a whole number of seconds from 0 to 30".into(),
                })?,
            },
            bulk_quota_percent: match get("BULK_QUOTA_PERCENT") {
                None => DEFAULT_BULK_QUOTA_PERCENT,
                Some(value) => {
                    value.parse::<u64>().ok().filter(|v| (1..=100).contains(v)).ok_or_else(|| ConfigError {
                        variable: "BULK_QUOTA_PERCENT",
                        problem: "must be a whole percentage from 1 to 100".into(),
                    })?
                }
            },
            push_max_age_secs: match get("PUSH_MAX_AGE_SECS") {
                None => DEFAULT_PUSH_MAX_AGE_SECS,
                Some(value) => value.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| ConfigError {
                    variable: "PUSH_MAX_AGE_SECS",
                    problem: "must be a whole number of seconds (0 turns the replay check off)".into(),
                })?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn base() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("COMPONENT_APPID", "wx3fdbc0bb2ee1a1e0"),
            ("COMPONENT_APPSECRET", "super-secret"),
            ("COMPONENT_TOKEN", "token"),
            ("COMPONENT_ENCODING_AES_KEY", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
            ("TABLE_NAME", "tokens"),
            ("DASHBOARD_AUTH", "jwt"),
        ])
    }

    fn load(vars: &HashMap<&'static str, &'static str>) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| vars.get(k).map(|v| (*v).to_owned()))
    }

    #[test]
    fn a_backend_is_a_role_whatever_its_session_or_a_user() {
        let role = Some("arn:aws:iam::123456789012:role/orders".to_owned());
        for arn in [
            "arn:aws:iam::123456789012:role/orders",
            "arn:aws:iam::123456789012:role/service/team/orders",
            "arn:aws:sts::123456789012:assumed-role/orders/i-0abc",
            "arn:aws:sts::123456789012:assumed-role/orders/shop-backend-fn",
        ] {
            assert_eq!(canonical_principal(arn), role, "{arn}");
        }
        assert_eq!(
            canonical_principal("arn:aws-cn:iam::123456789012:user/ops/alice").as_deref(),
            Some("arn:aws-cn:iam::123456789012:user/ops/alice")
        );
        for not_one in [
            "",
            "orders",
            "arn:aws:iam::123456789012:root",
            "arn:aws:sts::123456789012:federated-user/bob",
            "arn:aws:sts::123456789012:assumed-role/orders",
            "arn:aws:iam::12345:role/orders",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/or ders",
            "arn:aws:s3:::bucket/key",
        ] {
            assert_eq!(canonical_principal(not_one), None, "{not_one:?}");
        }
        let mut vars = base();
        vars.insert("BACKEND_PRINCIPALS", " arn:aws:iam::123456789012:role/svc/orders , ");
        assert_eq!(load(&vars).unwrap().backend_principals, ["arn:aws:iam::123456789012:role/orders"]);
        vars.insert("BACKEND_PRINCIPALS", "arn:aws:iam::123456789012:role/orders,*");
        assert_eq!(load(&vars).unwrap_err().variable, "BACKEND_PRINCIPALS");
        assert!(load(&base()).unwrap().backend_principals.is_empty(), "none unless named");
    }

    #[test]
    fn defaults_and_redacted_debug() {
        let config = load(&base()).unwrap();
        assert_eq!(config.wechat_api_base, "https://api.weixin.qq.com");
        assert_eq!(
            (config.pc_page_base.as_str(), config.mobile_page_base.as_str()),
            (DEFAULT_PC_PAGE_BASE, DEFAULT_MOBILE_PAGE_BASE)
        );
        assert!(config.auth_redirect_url.is_none());
        assert_eq!(config.bulk_quota_percent, DEFAULT_BULK_QUOTA_PERCENT);
        let debug = format!("{config:?}");
        assert!(!debug.contains("super-secret") && !debug.contains("abcdefghij"), "{debug}");
    }

    #[test]
    fn secrets_are_optional_and_missing_ones_fail_closed() {
        let mut vars = base();
        for name in ["COMPONENT_APPSECRET", "COMPONENT_TOKEN", "COMPONENT_ENCODING_AES_KEY"] {
            vars.remove(name);
        }
        let config = load(&vars).unwrap();
        assert!(!config.has_component_secret());
        assert!(config.push_crypto().is_none());
        let full = load(&base()).unwrap();
        assert!(full.has_component_secret() && full.push_crypto().is_some());
    }

    #[test]
    fn errors_name_the_variable() {
        // The Token and the key come as a pair: one without the other names the missing one.
        for (missing, named) in [
            ("COMPONENT_APPID", "COMPONENT_APPID"),
            ("COMPONENT_TOKEN", "COMPONENT_TOKEN"),
            ("COMPONENT_ENCODING_AES_KEY", "COMPONENT_ENCODING_AES_KEY"),
            ("TABLE_NAME", "TABLE_NAME"),
            ("DASHBOARD_AUTH", "DASHBOARD_AUTH"),
        ] {
            let mut vars = base();
            vars.remove(missing);
            assert_eq!(load(&vars).unwrap_err().variable, named);
        }
        for (name, value) in [
            ("COMPONENT_ENCODING_AES_KEY", "short"),
            ("COMPONENT_ENCODING_AES_KEY_PREVIOUS", "short"),
            ("WECHAT_API_BASE", "not a url"),
            ("AUTH_REDIRECT_URL", "ftp://x/y"),
            ("DASHBOARD_URL", "::"),
            ("AUTHORIZE_START_URL", "javascript:alert(1)"),
            // Closed by default: no spelling of "off" is accepted, only the one demo name.
            ("DASHBOARD_AUTH", "none"),
            ("DASHBOARD_AUTH", "JWT"),
            ("DASHBOARD_AUTH", "unauthenticated"),
            // Bulk work takes a share of the day, never none of it or more than all of it.
            ("BULK_QUOTA_PERCENT", "0"),
            ("BULK_QUOTA_PERCENT", "101"),
            ("BULK_QUOTA_PERCENT", "half"),
        ] {
            let mut vars = base();
            vars.insert(name, value);
            assert_eq!(load(&vars).unwrap_err().variable, name, "{name}={value}");
        }
    }

    #[test]
    fn every_dashboard_mode_is_read() {
        for mode in [DashboardAuth::Jwt, DashboardAuth::Iam, DashboardAuth::UnauthenticatedLocalDemo] {
            let mut vars = base();
            vars.insert("DASHBOARD_AUTH", mode.as_str());
            assert_eq!(load(&vars).unwrap().dashboard_auth, mode);
        }
    }

    #[test]
    fn one_page_base_serves_both_forms() {
        let mut vars = base();
        vars.insert("WECHAT_AUTH_PAGE_BASE", "http://127.0.0.1:9100/");
        vars.insert("WECHAT_API_BASE", "http://127.0.0.1:9100");
        let config = load(&vars).unwrap();
        assert_eq!(config.pc_page_base, "http://127.0.0.1:9100");
        assert_eq!(config.mobile_page_base, "http://127.0.0.1:9100");
        assert_eq!(config.wechat_api_base, "http://127.0.0.1:9100");
    }
}
