//! Building blocks for the WeChat Open Platform third-party platform (微信开放平台 第三方平台)
//! Lambdas.
//!
//! Everything WeChat sends us is signed and AES-encrypted, and every reply we send must be too, so
//! the six functions all stand on this crate:
//!
//! - [`crypto`]: `msg_signature` / `signature`, AES-256-CBC with WeChat's 32-byte PKCS#7, the
//!   `random16 | len | msg | appid` frame, key rotation and `echostr` verification. Pure functions,
//!   no I/O, pinned by the official test vectors.
//! - [`message`]: the POST envelope and the query string of a push, typed component notices
//!   (`InfoType`), typed authorizer messages and events (`MsgType` / `Event`) with a raw fallback,
//!   and passive replies with CDATA-safe rendering.
//! - [`store`]: the DynamoDB-backed token store (verify ticket, component token with a refresh
//!   lease, authorized accounts, retry markers), an in-memory twin with the same semantics, and
//!   the table definition `template.yaml` is held to.
//! - [`Secret`]: a string whose `Debug` never prints it, for tickets, codes and tokens.
//!
//! Hostile input never panics anywhere in this crate: every parser returns a typed error that maps
//! to the official WeChat crypto error codes (-40001 … -40011) and to an HTTP status.
#![deny(missing_docs)]

pub mod app;
pub mod auth_state;
pub mod config;
pub mod crypto;
pub mod logging;
pub mod message;
pub mod outbound;
pub mod push;
mod secret;
pub mod service;
pub mod store;
pub mod web;
pub mod wechat;
pub mod xml;

pub use crate::config::Config;
pub use crate::crypto::{CryptoError, WeChatCrypto};
pub use crate::secret::Secret;
#[doc(hidden)]
pub use crate::xml::{FieldList as __XmlFieldList, differential as __xml_differential};
