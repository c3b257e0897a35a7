//! Everything a function needs, built once per cold start: configuration, the store, the WeChat
//! client, the services and the state signer. No network call happens here: the AWS SDK resolves
//! credentials and WeChat is called only when a request needs it.

use crate::config::{Config, ConfigError};
use crate::crypto::Opened;
use crate::push::{self, PushError, PushQuery};
use crate::service::Platform;
use crate::state::StateSigner;
use crate::store::{DynamoDbStore, TokenStore};
use crate::wechat::WeChatClient;

/// The functions' dependency container.
pub struct App<S> {
    /// Validated configuration.
    pub config: Config,
    /// Store + WeChat client + policies.
    pub platform: Platform<S>,
    /// Signs and verifies the authorization state value.
    pub signer: StateSigner,
}

impl App<DynamoDbStore> {
    /// Builds the production app from the environment.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let store = DynamoDbStore::from_env(config.table_name.clone(), config.component_appid.clone());
        Self::new(config, store)
    }
}

impl<S: TokenStore> App<S> {
    /// An app over any store (tests use the in-memory one).
    ///
    /// # Errors
    /// [`ConfigError`] when the HTTP client cannot be built.
    pub fn new(config: Config, store: S) -> Result<Self, ConfigError> {
        let wechat =
            WeChatClient::new(&config.wechat_api_base, config.component_appid.clone(), config.component_secret.clone())
                .map_err(|e| ConfigError { variable: "WECHAT_API_BASE", problem: e.to_string() })?;
        Ok(Self::with_platform(config.clone(), Platform::new(store, wechat)))
    }

    /// Verifies and decrypts a push, then refuses it as a replay when its (now authentic)
    /// timestamp is outside `PUSH_MAX_AGE_SECS`: the one check both push URLs share.
    ///
    /// # Errors
    /// Those of [`push::open`] and [`PushQuery::check_fresh`].
    pub fn open_push(&self, query: &PushQuery, body: &[u8]) -> Result<Opened, PushError> {
        let opened = push::open(&self.config.crypto, query, body)?;
        query.check_fresh(self.platform.now(), self.config.push_max_age_secs)?;
        Ok(opened)
    }

    /// An app over a ready platform (tests inject a clock).
    pub fn with_platform(config: Config, platform: Platform<S>) -> Self {
        let signer = StateSigner::new(&config.component_secret);
        Self { config, platform, signer }
    }
}
