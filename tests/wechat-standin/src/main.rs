//! The WeChat stand-in as a process, for local runs: `cargo run -p wechat-standin`.
//!
//! Configured from the environment, with the platform's own variable names where they mean the
//! same thing:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `STANDIN_ADDR` | `127.0.0.1:9100` | where to listen |
//! | `COMPONENT_APPID`, `COMPONENT_APPSECRET`, `COMPONENT_TOKEN`, `COMPONENT_ENCODING_AES_KEY` | — (required) | the platform credentials the stand-in checks and encrypts with |
//! | `STANDIN_TICKET_URL` | none | the platform's 授权事件接收URL |
//! | `STANDIN_CALLBACK_BASE` | none | the 消息与事件接收URL base (`<base>/<appid>/callback`) |
//! | `STANDIN_TICKET_EVERY_SECS` | `600` | ticket push interval (0: only on demand) |
//! | `STANDIN_ROTATE_REFRESH_TOKENS` | `false` | rotate refresh tokens on every refresh |
//! | `STANDIN_AUTHORIZER_TOKEN_TTL_SECS` | `7200` | authorizer access-token lifetime |

use std::net::SocketAddr;
use std::time::Duration;

use wechat_standin::{Config, StandIn};

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn required(name: &str) -> Result<String, String> {
    var(name).ok_or_else(|| format!("{name} is required"))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    tracing_subscriber::fmt().with_env_filter(var("RUST_LOG").unwrap_or_else(|| "info".into())).init();
    let addr: SocketAddr = var("STANDIN_ADDR")
        .unwrap_or_else(|| "127.0.0.1:9100".into())
        .parse()
        .map_err(|e| format!("STANDIN_ADDR: {e}"))?;
    let mut config = Config::new(
        &required("COMPONENT_APPID")?,
        &required("COMPONENT_APPSECRET")?,
        &required("COMPONENT_TOKEN")?,
        &required("COMPONENT_ENCODING_AES_KEY")?,
    );
    shared::crypto::AesKey::from_encoding_aes_key(&config.encoding_aes_key)
        .map_err(|e| format!("COMPONENT_ENCODING_AES_KEY: {e}"))?;
    config.ticket_url = var("STANDIN_TICKET_URL");
    config.callback_base = var("STANDIN_CALLBACK_BASE");
    let every: u64 = var("STANDIN_TICKET_EVERY_SECS")
        .map_or(Ok(600), |v| v.parse())
        .map_err(|e| format!("STANDIN_TICKET_EVERY_SECS: {e}"))?;
    config.ticket_every = (every > 0 && config.ticket_url.is_some()).then(|| Duration::from_secs(every));
    config.rotate_refresh_tokens = var("STANDIN_ROTATE_REFRESH_TOKENS").is_some_and(|v| v == "true" || v == "1");
    if let Some(ttl) = var("STANDIN_AUTHORIZER_TOKEN_TTL_SECS") {
        config.authorizer_token_ttl = ttl.parse().map_err(|e| format!("STANDIN_AUTHORIZER_TOKEN_TTL_SECS: {e}"))?;
    }
    let standin = StandIn::start(config, addr).await;
    println!("WeChat stand-in listening on {}", standin.base_url());
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}
