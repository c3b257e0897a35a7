//! JS-SDK on behalf of an account (中控): a page of one of the account's sites asks for its
//! `wx.config`, signed with the account's own jsapi_ticket
//! (<https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/Before_Develop/Official_Accounts/js_sdk_instructions.html>).
//! WeChat calls getticket's quota "very limited" and says to keep the ticket centrally: one
//! writer per account fetches it under a lease and keeps it (as a short-lived value, a little
//! less than its life), so any number of callers at once cause one `ticket/getticket`, and every
//! later signature until it is due costs no WeChat call. Only pages on the account's web origins
//! (the sites its owner allowed for web authorization) are signed.

use std::time::Duration;

use super::{ActError, Caller};
use crate::jssdk;
use crate::secret::{Secret, random_bytes};
use crate::service::component_token::holder_id;
use crate::service::{Acting, ActingStore};
use crate::store::{AuthorizerRecord, LeaseName, MarkerKey};

/// The ticket is kept this long less than WeChat's `expires_in`, so a signature never uses a
/// ticket about to lapse.
const TICKET_MARGIN_SECS: i64 = 600;
/// How long one fetch may hold the account's ticket lease.
const TICKET_LEASE_SECS: i64 = 15;
/// How long a caller waits for another caller's fetch before answering busy.
const TICKET_WAIT: Duration = Duration::from_secs(5);
/// How often a waiting caller looks again.
const TICKET_POLL: Duration = Duration::from_millis(50);

/// What a page passes to `wx.config` (with its `jsApiList`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsConfig {
    /// The account's appid (never the platform's).
    pub app_id: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// A random string.
    pub nonce_str: String,
    /// The signature.
    pub signature: String,
    /// The URL signed (the page's, without its fragment).
    pub url: String,
}

impl<S: ActingStore> Acting<'_, S> {
    /// The `wx.config` of the page at `url`, which must be on one of the account's web origins.
    ///
    /// # Errors
    /// [`ActError::Invalid`] (the URL; its origin not allowed); the account's states; WeChat's
    /// refusal of getticket (45009: the account's quota for it is spent); [`ActError::Running`]
    /// when another caller's fetch did not finish in time.
    pub async fn js_config(&self, caller: &Caller, appid: &str, url: &str) -> Result<JsConfig, ActError> {
        let (page, origin) = jssdk::page(url).map_err(ActError::Invalid)?;
        let record = self.account_for(caller, appid).await?;
        if !record.web_origins.iter().any(|allowed| allowed.eq_ignore_ascii_case(&origin)) {
            return Err(ActError::Invalid(format!(
                "url: {origin} is not one of the account's web origins (PUT …/web-origins adds it)"
            )));
        }
        let ticket = self.jsapi_ticket(record).await?;
        let nonce_str: String = random_bytes::<12>().iter().map(|b| format!("{b:02x}")).collect();
        let timestamp = self.now();
        let signature = jssdk::sign(ticket.expose(), &nonce_str, timestamp, &page);
        Ok(JsConfig { app_id: appid.to_owned(), timestamp, nonce_str, signature, url: page })
    }

    /// The account's jsapi_ticket: the kept one, or fetched by one caller at a time.
    async fn jsapi_ticket(&self, record: AuthorizerRecord) -> Result<Secret, ActError> {
        let appid = record.authorizer_appid.clone();
        let key = MarkerKey::jsapi_ticket(&appid);
        let deadline = tokio::time::Instant::now() + TICKET_WAIT;
        loop {
            if let Some(kept) = self.store.recall(&key, self.now()).await? {
                return Ok(Secret::new(kept));
            }
            let (lease, holder, now) = (LeaseName::jsapi_ticket(&appid), holder_id(), self.now());
            if self.store.acquire_lease(&lease, &holder, now + TICKET_LEASE_SECS, now).await? {
                let fetched = self.fetch_jsapi_ticket(record.clone(), &key).await;
                if let Err(err) = self.store.release_lease(&lease, &holder).await {
                    tracing::warn!(authorizer = %appid, error = %err, "jsapi_ticket lease not released; it will expire");
                }
                return fetched;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ActError::Running("the account's jsapi_ticket is being fetched"));
            }
            tokio::time::sleep(TICKET_POLL).await;
        }
    }

    async fn fetch_jsapi_ticket(&self, record: AuthorizerRecord, key: &MarkerKey) -> Result<Secret, ActError> {
        let appid = record.authorizer_appid.clone();
        // A caller that held the lease a moment ago may have kept one while this one waited.
        if let Some(kept) = self.store.recall(key, self.now()).await? {
            return Ok(Secret::new(kept));
        }
        let (ticket, expires_in) = self
            .with_account_token(record, false, |token| async move { self.wechat.jsapi_ticket(&token).await })
            .await?;
        let keep_for = (expires_in - TICKET_MARGIN_SECS).max(60);
        self.store.remember_value(key, ticket.expose(), keep_for, self.now()).await?;
        tracing::info!(authorizer = %appid, keep_for, "jsapi_ticket fetched");
        Ok(ticket)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::service::ActError;
    use crate::service::testing::{ACCOUNT, backend, world};

    #[tokio::test]
    async fn a_page_on_the_accounts_origins_gets_a_config_wechat_accepts_and_others_nothing() {
        let w = world().await;
        let acting = w.platform.acting();
        let page = "https://shop.example.com/item?id=7#reviews";
        let refused = acting.js_config(&backend(), ACCOUNT, page).await;
        assert!(matches!(&refused, Err(ActError::Invalid(why)) if why.contains("web origins")), "{refused:?}");
        assert_eq!(w.standin.calls("ticket_getticket"), 0, "an origin not allowed asks WeChat nothing");

        let origins = json!({"origins": ["https://shop.example.com"]});
        w.platform.web_auth().set_web_origins(&backend(), ACCOUNT, &origins).await.expect("origins set");
        let config = acting.js_config(&backend(), ACCOUNT, page).await.expect("config");
        assert_eq!((config.app_id.as_str(), config.url.as_str()), (ACCOUNT, "https://shop.example.com/item?id=7"));
        assert!(
            w.standin.js_config_valid(ACCOUNT, &config.url, config.timestamp, &config.nonce_str, &config.signature),
            "WeChat's check of the signature: {config:?}"
        );
        let again = acting.js_config(&backend(), ACCOUNT, page).await.expect("config");
        assert_ne!(again.nonce_str, config.nonce_str, "a fresh nonce each time");
        assert_eq!(w.standin.calls("ticket_getticket"), 1, "the jsapi_ticket is kept (WeChat limits getticket a day)");
    }
}
