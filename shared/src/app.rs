//! Everything a function needs, built once per cold start: the configuration and the platform
//! (store, WeChat client, policies, signing key). No network call happens here: the AWS SDK
//! resolves credentials and WeChat is called only when a request needs it.

use std::sync::Arc;

use crate::bus::{Bus, EventBridgeBus, NoBus};
use crate::config::{Config, ConfigError};
use crate::crypto::Opened;
use crate::message::{Answer, ComponentNotice, Message};
use crate::push::{self, PushAnswer, PushError, PushQuery};
use crate::service::Platform;
use crate::store::{DynamoDbStore, TokenStore};

/// The functions' dependency container.
pub struct App<S> {
    /// Validated configuration.
    pub config: Config,
    /// The use cases (`crate::service`).
    pub platform: Platform<S>,
}

impl App<DynamoDbStore> {
    /// Builds the production app from the environment, for a function that publishes nothing
    /// (its hand-offs would fail: [`NoBus`]). Its binary does not link the EventBridge client.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let store = DynamoDbStore::from_env(config.table_name.clone(), config.component_appid.clone());
        Self::new(config, store)
    }

    /// [`App::from_env`] for a function that hands events off: the bus `EVENT_BUS_NAME` names
    /// (event-callback, ticket-receiver, token-refresher; `docs/events.md`). Without the variable
    /// every hand-off fails, so pushes are answered 503 and retried rather than handed to no one.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the variable.
    pub fn publishing_from_env() -> Result<Self, ConfigError> {
        let Self { config, platform } = Self::from_env()?;
        let bus: Arc<dyn Bus> = match &config.event_bus_name {
            Some(name) => Arc::new(EventBridgeBus::from_env(name.clone())),
            None => {
                tracing::error!("EVENT_BUS_NAME is not set: every hand-off will fail and pushes will be answered 503");
                Arc::new(NoBus)
            }
        };
        Ok(Self { platform: platform.with_bus(bus), config })
    }
}

impl<S: TokenStore> App<S> {
    /// An app over any store (tests use the in-memory one), on the system clock.
    ///
    /// # Errors
    /// [`ConfigError`] when the HTTP client cannot be built.
    pub fn new(config: Config, store: S) -> Result<Self, ConfigError> {
        let platform = Platform::new(&config, store)?;
        Ok(Self { config, platform })
    }

    /// An app over a ready platform (tests inject a clock).
    pub fn with_platform(config: Config, platform: Platform<S>) -> Self {
        Self { config, platform }
    }

    /// The push crypto, or [`PushError::NotConfigured`] for a function not given it: every push
    /// to it is refused (500), never answered unverified.
    ///
    /// # Errors
    /// [`PushError::NotConfigured`].
    pub fn push_crypto(&self) -> Result<&crate::crypto::WeChatCrypto, PushError> {
        self.config.push_crypto().ok_or(PushError::NotConfigured)
    }

    /// Verifies and decrypts a push, then refuses it as a replay when its (now authentic)
    /// timestamp is outside `PUSH_MAX_AGE_SECS`: the one check both push URLs share.
    ///
    /// # Errors
    /// Those of [`push::open`] and [`PushQuery::check_fresh`].
    pub fn open_push(&self, query: &PushQuery, body: &[u8]) -> Result<Opened, PushError> {
        let opened = push::open(self.push_crypto()?, query, body)?;
        query.check_fresh(self.platform.now(), self.config.push_max_age_secs)?;
        Ok(opened)
    }

    /// A follower's message or event pushed to `/wechat/{appid}/callback`, from the query and the
    /// body to the answer: opened, parsed, handled (handed off to the bus once, WeChat's release
    /// test answered), and a reply sealed with the key that opened the push. One call, so the
    /// function crate only reads the request and writes the response.
    pub async fn follower_push<'a>(
        &self,
        appid: &str,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        body: &[u8],
    ) -> PushAnswer {
        let opened = PushQuery::from_pairs(pairs).and_then(|query| Ok((self.open_push(&query, body)?, query)));
        let (opened, query) = match opened {
            Ok(opened) => opened,
            Err(err) => return PushAnswer::Rejected(err),
        };
        let message = match Message::parse(&opened.xml) {
            Ok(message) => message,
            Err(err) => return PushAnswer::Rejected(err.into()),
        };
        match self.platform.inbound().handle_message(appid, &message, &opened.xml).await {
            Err(_) => PushAnswer::Retry,
            Ok(Answer::Success) => PushAnswer::Success,
            Ok(Answer::Empty) => PushAnswer::Empty,
            Ok(Answer::Reply(reply)) => {
                let sealed = self.push_crypto().and_then(|crypto| {
                    push::seal_reply(crypto, opened.key, &reply.render(), &query.timestamp, &query.nonce)
                });
                match sealed {
                    Ok(sealed) => PushAnswer::Reply(sealed),
                    // Handed off already: `success` at least stops WeChat's retries.
                    Err(err) => {
                        tracing::error!(authorizer = %appid, error = %err, "cannot encrypt the reply; answering success");
                        PushAnswer::Success
                    }
                }
            }
        }
    }

    /// A component notice pushed to `/wechat/component/events` (the verify ticket,
    /// `authorized`, `updateauthorized`, `unauthorized`), from the query and the body to the
    /// answer: `success` once it is durably handled, [`PushAnswer::Retry`] when the store or
    /// WeChat failed.
    pub async fn component_push<'a>(
        &self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        body: &[u8],
    ) -> PushAnswer {
        let notice = PushQuery::from_pairs(pairs)
            .and_then(|query| self.open_push(&query, body))
            .and_then(|opened| ComponentNotice::parse(&opened.xml).map_err(PushError::from));
        let notice = match notice {
            Ok(notice) => notice,
            Err(err) => return PushAnswer::Rejected(err),
        };
        match self.platform.onboarding().handle_notice(&notice).await {
            Ok(outcome) => {
                if matches!(outcome, crate::service::NoticeOutcome::Ticket { .. }) {
                    // Every verified ticket push counts (a stale one is still WeChat pushing).
                    crate::metrics::emit(crate::metrics::Metric::VerifyTicketStored, 1);
                }
                PushAnswer::Success
            }
            Err(err) => {
                tracing::error!(info_type = notice.info_type(), error = %err, "push not handled; WeChat will retry");
                PushAnswer::Retry
            }
        }
    }
}
