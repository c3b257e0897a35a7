//! What an account's owner and its sites' servers set up before a follower comes: the origins web
//! authorization may return to (per account, kept by its owner: a site allowed for one merchant is
//! not allowed for another's followers), and the starts a site's server mints to bind a follower
//! to its own user (the only starts that carry a `user_ref`, so that no one can start a binding
//! for someone else's user from a public link).

use serde::Deserialize;
use serde_json::{Value, json};

use super::{MAX_USER_REF, WebStartError, account_allows, request_json, valid_scope, valid_user_ref};
use crate::config::WebAuthConfig;
use crate::input::{self, Text};
use crate::secret::Secret;
use crate::service::{ActError, ActingStore, Caller, WebAuth};
use crate::store::{MarkerKey, StoreError};

/// The most return origins an account may have.
pub const MAX_WEB_ORIGINS: usize = 10;
/// How long a minted start may wait to be opened (the site redirects the browser at once).
pub const WEB_START_SECS: i64 = 300;

/// `text` as an origin an owner may allow: `https://host[:port]` with nothing after it (`http`
/// only for `localhost` and `127.0.0.1`, the local run's sites), within the deployment's ceiling
/// when it names one.
fn checked_origin(config: &WebAuthConfig, text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|_| format!("{text:?} is not a URL"))?;
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1"));
    if !(url.scheme() == "https" || (url.scheme() == "http" && local)) {
        return Err(format!("{text:?} must be https"));
    }
    let origin = url.origin().ascii_serialization();
    if text.trim_end_matches('/') != origin || !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{text:?} is not an origin: scheme://host[:port], nothing after it"));
    }
    if !config.within_ceiling(&origin) {
        return Err(format!("{origin} is not among the origins this platform allows (OAUTH_RETURN_ORIGINS)"));
    }
    Ok(origin)
}

/// The origins of a request body `{"origins": ["https://…", …]}`, checked and without repeats.
fn origins_of(config: &WebAuthConfig, request: &Value) -> Result<Vec<String>, String> {
    let OriginsInput { origins: list } = input::from_value(request)?;
    if list.len() > MAX_WEB_ORIGINS {
        return Err(format!("{} origins; an account may have at most {MAX_WEB_ORIGINS}", list.len()));
    }
    let mut origins: Vec<String> = Vec::with_capacity(list.len());
    for (i, text) in list.iter().enumerate() {
        let origin = checked_origin(config, text).map_err(|why| format!("origins[{i}]: {why}"))?;
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    Ok(origins)
}

/// `PUT …/web-origins`: the whole list (an empty one turns web authorization off).
#[derive(Deserialize)]
struct OriginsInput {
    origins: Vec<String>,
}

/// `POST …/web-starts`: what the start asks for, as the site's server writes it.
#[derive(Deserialize)]
struct StartInput {
    scope: Text<32>,
    return_to: Text<0>,
    #[serde(default)]
    user_ref: Option<String>,
}

impl<S: ActingStore> WebAuth<'_, S> {
    /// The account's web-authorization return origins.
    ///
    /// # Errors
    /// [`ActError`]: not the caller's account, the store.
    pub async fn web_origins(&self, caller: &Caller, appid: &str) -> Result<Value, ActError> {
        let record = self.owned_account(caller, appid).await?;
        Ok(json!({"origins": record.web_origins}))
    }

    /// Replaces the account's return origins (an empty list turns web authorization off for it).
    ///
    /// # Errors
    /// [`ActError::Invalid`] naming the origin at fault; not the caller's account; the store.
    pub async fn set_web_origins(&self, caller: &Caller, appid: &str, request: &Value) -> Result<Value, ActError> {
        let origins = origins_of(&self.web, request).map_err(ActError::Invalid)?;
        self.owned_account(caller, appid).await?;
        let record = self.store.set_web_origins(appid, &origins, self.now()).await.map_err(|err| match err {
            StoreError::NotFound => ActError::NotFound,
            other => other.into(),
        })?;
        tracing::info!(authorizer = %appid, origins = ?record.web_origins, by = caller.name(), "web origins set");
        Ok(json!({"origins": record.web_origins}))
    }

    /// Mints a start for a site's server: `{"scope", "return_to", "user_ref"?}` checked as the
    /// authorization would check it, kept for [`WEB_START_SECS`], and the link the site sends the
    /// follower's browser to (`start_url`, single-use). Only such a start carries `user_ref`.
    ///
    /// # Errors
    /// [`ActError::Invalid`] (the field named, or web authorization not configured); the
    /// account's state; the store.
    pub async fn mint_web_start(&self, caller: &Caller, appid: &str, request: &Value) -> Result<Value, ActError> {
        let invalid = |why: &str| ActError::Invalid(why.to_owned());
        let Some(start_url) = self.web.start_url.as_deref() else {
            return Err(invalid("web authorization is not configured on this platform (OAUTH_START_URL)"));
        };
        let StartInput { scope, return_to, user_ref } = input::from_value(request).map_err(ActError::Invalid)?;
        if !valid_scope(&scope) {
            return Err(invalid("scope must be snsapi_base or snsapi_userinfo"));
        }
        if user_ref.as_deref().is_some_and(|r| !valid_user_ref(r)) {
            return Err(ActError::Invalid(format!(
                "user_ref must be 1 to {MAX_USER_REF} bytes without control characters"
            )));
        }
        let (scope, return_to, user_ref) = (&*scope, &*return_to, user_ref.as_deref());
        let record = self.account_for(caller, appid).await?;
        // The account's own conditions, as the start will check them again when opened.
        account_allows(&self.web, &record, return_to).map_err(|refused| {
            ActError::Invalid(match refused {
                WebStartError::NotEnabled => {
                    "the account has no return origins yet: PUT …/web-origins first".to_owned()
                }
                WebStartError::ReturnNotAllowed => {
                    "return_to must be an absolute URL on one of the account's origins".to_owned()
                }
                WebStartError::NoWebPermission => {
                    "the account did not grant web service (permission set 4); its admin must authorize again with it"
                        .to_owned()
                }
                other => other.to_string(),
            })
        })?;
        self.spend(crate::service::WEB_STARTS, caller.name()).await?;
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes).map_err(|e| StoreError::Unavailable(format!("no randomness for a start: {e}")))?;
        let start = Secret::new(base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes));
        let minted = request_json(appid, scope, return_to, user_ref);
        self.store.remember_value(&MarkerKey::web_start(&start), &minted, WEB_START_SECS, self.now()).await?;
        let link = format!("{}?start={}", start_url.replace("$APPID$", appid), start.expose());
        Ok(json!({"start_url": link, "expires_in": WEB_START_SECS}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_allows_origins_not_urls_and_https_beyond_the_local_run() {
        let open = WebAuthConfig::default();
        assert_eq!(checked_origin(&open, "https://shop.example.com").unwrap(), "https://shop.example.com");
        assert_eq!(checked_origin(&open, "https://shop.example.com/").unwrap(), "https://shop.example.com");
        assert_eq!(checked_origin(&open, "https://shop.example.com:8443").unwrap(), "https://shop.example.com:8443");
        assert_eq!(checked_origin(&open, "http://127.0.0.1:9200").unwrap(), "http://127.0.0.1:9200");
        for bad in [
            "shop.example.com",
            "http://shop.example.com",
            "https://shop.example.com/bind",
            "https://shop.example.com?x=1",
            "https://user@shop.example.com",
            "javascript:alert(1)",
            "https://SHOP.example.com",
        ] {
            assert!(checked_origin(&open, bad).is_err(), "{bad}");
        }
        let ceiling = WebAuthConfig { return_origins: vec!["https://a.example".into()], ..WebAuthConfig::default() };
        assert!(checked_origin(&ceiling, "https://a.example").is_ok());
        assert!(checked_origin(&ceiling, "https://b.example").unwrap_err().contains("OAUTH_RETURN_ORIGINS"));
    }

    #[test]
    fn an_origins_document_names_the_entry_at_fault() {
        let open = WebAuthConfig::default();
        let of = |value: Value| origins_of(&open, &value);
        assert_eq!(
            of(json!({"origins": ["https://a.example", "https://a.example/", "https://b.example"]})).unwrap(),
            ["https://a.example", "https://b.example"]
        );
        assert_eq!(of(json!({"origins": []})).unwrap(), Vec::<String>::new());
        assert!(of(json!({"origins": ["https://a.example", "ftp://b"]})).unwrap_err().starts_with("origins[1]:"));
        assert!(of(json!({"origins": [1]})).unwrap_err().starts_with("origins[0]"));
        assert!(of(json!({"origin": "https://a.example"})).is_err());
        let eleven: Vec<String> = (0..11).map(|i| format!("https://s{i}.example")).collect();
        assert!(of(json!({ "origins": eleven })).unwrap_err().contains("at most 10"));
    }
}
