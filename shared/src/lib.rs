//! Building blocks for the WeChat Open Platform third-party platform (微信开放平台 第三方平台)
//! Lambdas. Each function crate is a thin translation between HTTP or a scheduled event and the
//! use cases in [`service`]; everything else stands below that.
//!
//! # Layers
//!
//! Dependencies point down only: a module imports only modules of rows below its own. The test
//! `shared/tests/layers.rs` holds every import to this chart and `docs/architecture.md`'s list of
//! dependencies to the imports, naming what disagrees.
//!
//! ```text
//! functions/*                  HTTP / EventBridge ⇄ use cases (never the store or WeChat directly)
//! app, web                     the container built at cold start; requests and responses
//! service                      every business rule, one file per use case
//! store, wechat, bus, staging  the DynamoDB token store; the WeChat API client; the hand-off; the media bucket
//! push, auth_state             the inbound pipeline; the signed authorization state
//! rules                        an account's reply rules: the document, its checks, the matcher
//! message                      typed component notices, follower messages, passive replies
//! config                       the environment, read once at cold start
//! crypto, xml                  signatures and AES (bytes in, bytes out); the little XML we need
//! account, clock, secret, outbound, logging, metrics, aws, media, menu, jssdk, article    leaves
//! input                        contract bodies into serde models, refusals naming the field
//! ```
//!
//! Hostile input never panics anywhere in this crate: every parser returns a typed error, and
//! [`push::PushError`] maps each to WeChat's official crypto code and an HTTP status.
#![deny(missing_docs)]

pub mod account;
pub mod app;
pub mod article;
pub mod auth_state;
pub mod aws;
pub mod bus;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod input;
pub mod jssdk;
pub mod logging;
pub mod media;
pub mod menu;
pub mod message;
pub mod metrics;
pub mod outbound;
pub mod push;
pub mod rules;
mod secret;
pub mod service;
pub mod staging;
pub mod store;
pub mod web;
pub mod wechat;
mod xml;

pub use crate::config::Config;
pub use crate::crypto::{CryptoError, WeChatCrypto};
pub use crate::secret::Secret;
pub use crate::xml::XmlError;
#[doc(hidden)]
pub use crate::xml::{FieldList as __XmlFieldList, differential as __xml_differential};
