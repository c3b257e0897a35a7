//! Set-up shared by the stand-in's own tests: its credentials come from `tests/platform.json`.
#![allow(dead_code, unreachable_pub)]

use wechat_standin::platform::test_credentials;
use wechat_standin::{Config, StandIn};

pub const ACCOUNT: &str = "wx1000000000000001";

pub fn appid() -> &'static str {
    &test_credentials().appid
}

pub fn token() -> &'static str {
    &test_credentials().token
}

pub fn key() -> &'static str {
    &test_credentials().encoding_aes_key
}

pub fn config() -> Config {
    test_credentials().standin_config()
}

pub async fn standin_with(config: Config) -> StandIn {
    StandIn::start(config, "127.0.0.1:0".parse().expect("addr")).await
}

pub async fn standin() -> StandIn {
    standin_with(config()).await
}

pub fn client(standin: &StandIn) -> shared::wechat::WeChatClient {
    let credentials = test_credentials();
    shared::wechat::WeChatClient::new(
        &standin.base_url(),
        credentials.appid.as_str(),
        shared::Secret::new(credentials.secret.as_str()),
    )
    .expect("client")
}

/// Pushes a ticket (as WeChat does every 10 minutes) and returns it.
pub async fn ticket(standin: &StandIn) -> shared::Secret {
    standin.push_ticket().await;
    shared::Secret::new(standin.last_ticket().expect("a ticket was pushed"))
}
