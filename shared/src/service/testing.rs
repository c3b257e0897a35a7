//! The world a use case's unit tests run in: the platform over a fresh memory store, WeChat being
//! the stand-in started in the test's own process (the one the integration tests and the local run
//! use, which enforces WeChat's rules: quotas, permission sets, limits, single-use codes), the
//! component ticket stored and one account authorized. A test of a rule beside the rule, in
//! milliseconds, with nothing to start outside the test (the stand-in listens on a loopback port
//! of its own). Also `Platform::for_tests`, for the use cases that call no WeChat (the limits, the
//! hand-off), and the fixtures the tests share (files, declarations, query parameters).

use std::sync::Arc;

use wechat_standin::StandIn;
use wechat_standin::platform::test_credentials;

use super::{Caller, Platform};
use crate::bus::MemoryBus;
use crate::config::Config;
use crate::secret::Secret;
use crate::store::{MemoryStore, TicketStore, VerifyTicket};

/// The account [`world`] authorizes (one of the stand-in's own).
pub(crate) const ACCOUNT: &str = "wx1000000000000001";
/// Another of the stand-in's accounts, for tests of more than one ([`World::authorize`]).
pub(crate) const OTHER_ACCOUNT: &str = "wx1000000000000002";

/// A backend (IAM): may act on any account.
pub(crate) fn backend() -> Caller {
    Caller::Backend("arn:aws:iam::123456789012:role/unit-test".to_owned())
}

/// The stand-in, the platform the use cases run on and the bus it hands events to.
pub(crate) struct World {
    pub(crate) standin: StandIn,
    pub(crate) platform: Platform<MemoryStore>,
    pub(crate) bus: MemoryBus,
}

/// The stand-in started, its ticket stored, [`ACCOUNT`] authorized (as a backend's: no owner).
pub(crate) async fn world() -> World {
    world_with(&[]).await
}

/// [`world`] with more configuration (`AUTH_REDIRECT_URL`, say).
pub(crate) async fn world_with(more: &[(&'static str, &str)]) -> World {
    let standin = StandIn::start(test_credentials().standin_config(), "127.0.0.1:0".parse().expect("addr")).await;
    let mut vars = test_credentials().variables();
    // Every WeChat the platform reaches is the stand-in: its API, authorization and web pages.
    for name in ["WECHAT_API_BASE", "WECHAT_AUTH_PAGE_BASE", "WECHAT_OAUTH_BASE"] {
        vars.push((name, standin.base_url()));
    }
    vars.extend(more.iter().map(|(name, value)| (*name, (*value).to_owned())));
    let config = config(&vars);

    let clock = standin.clone();
    let bus = MemoryBus::new();
    let platform = Platform::with_clock(&config, MemoryStore::new(), Arc::new(move || clock.now_ms()))
        .expect("platform")
        .with_bus(Arc::new(bus.clone()));
    let world = World { standin, platform, bus };
    world.fresh_ticket().await;
    world.authorize(ACCOUNT).await;
    world
}

/// The configuration of `vars` (a later name wins over an earlier one).
fn config(vars: &[(&str, String)]) -> Config {
    Config::from_lookup(|name| vars.iter().rev().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))
        .expect("a configuration")
}

/// A platform over a fresh memory store on `clock` whose WeChat is unreachable, for the use cases
/// that call no WeChat (the configuration holds only what every function needs).
impl Platform<MemoryStore> {
    pub(crate) fn for_tests(clock: crate::service::Clock) -> Self {
        let vars = [("COMPONENT_APPID", "wx3fdbc0bb2ee1a1e0"), ("TABLE_NAME", "t"), ("DASHBOARD_AUTH", "iam")];
        let vars: Vec<(&str, String)> = vars.iter().map(|(n, v)| (*n, (*v).to_owned())).collect();
        Self::with_clock(&config(&vars), MemoryStore::new(), clock).expect("a platform")
    }
}

/// The value of query parameter `name` in `url`.
pub(crate) fn query(url: &str, name: &str) -> String {
    let url = url::Url::parse(url).expect("a URL");
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).expect(name)
}

/// A file of `len` bytes a PNG's signature starts (what the library checks of a PNG), its other
/// bytes set by `seed`: another seed, another file.
pub(crate) fn png(len: usize, seed: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend((0..len - bytes.len()).map(|i| u8::try_from(i % 251).unwrap_or(0) ^ seed));
    bytes
}

/// `bytes` declared as a PNG image of `lifetime` (size and SHA-256 as they are).
pub(crate) fn declared_image(bytes: &[u8], lifetime: crate::media::Lifetime) -> crate::service::NewMedium {
    use sha2::{Digest, Sha256};
    crate::service::NewMedium {
        kind: crate::media::Kind::Image,
        lifetime,
        content_type: "image/png".to_owned(),
        size: bytes.len() as u64,
        sha256: crate::crypto::to_hex(&Sha256::digest(bytes)),
        title: None,
        introduction: None,
    }
}

/// The staging bucket in memory: [`MemoryStaging::put`] is the caller's `PUT` to the upload URL.
#[derive(Default)]
pub(crate) struct MemoryStaging(std::sync::Mutex<std::collections::HashMap<String, bytes::Bytes>>);

impl MemoryStaging {
    /// The caller's upload of `bytes` to `key`'s presigned URL.
    pub(crate) fn put(&self, key: &str, bytes: &[u8]) {
        self.files().insert(key.to_owned(), bytes::Bytes::copy_from_slice(bytes));
    }

    /// Whether a file is at `key`.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.files().contains_key(key)
    }

    fn files(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, bytes::Bytes>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl crate::staging::Staging for MemoryStaging {
    async fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        _size: u64,
        _sha256_hex: &str,
        _expires_in: u64,
    ) -> Result<crate::staging::UploadUrl, String> {
        Ok(crate::staging::UploadUrl {
            url: format!("memory://staging/{key}"),
            method: "PUT",
            headers: vec![("content-type".to_owned(), content_type.to_owned())],
        })
    }

    async fn open(&self, key: &str) -> Result<Option<(u64, crate::staging::StagedBytes)>, String> {
        Ok(self.files().get(key).cloned().map(|bytes| {
            let size = bytes.len() as u64;
            let stream: crate::staging::StagedBytes = Box::pin(futures_util::stream::iter([Ok(bytes)]));
            (size, stream)
        }))
    }

    async fn remove(&self, key: &str) -> Result<(), String> {
        self.files().remove(key);
        Ok(())
    }

    async fn keep(&self, from: &str, to: &str) -> Result<(), String> {
        let file = self.files().get(from).cloned().ok_or_else(|| format!("nothing at {from}"))?;
        self.files().insert(to.to_owned(), file);
        Ok(())
    }
}

/// A permanent image in [`ACCOUNT`]'s library (declared, put in `staging`, sent to WeChat): its
/// handle and WeChat's `media_id`.
pub(crate) async fn permanent_image(world: &World, staging: &MemoryStaging, seed: u8) -> (String, String) {
    image(world, staging, seed, crate::media::Lifetime::Permanent).await
}

/// An image of `lifetime` in [`ACCOUNT`]'s library, as [`permanent_image`].
pub(crate) async fn image(
    world: &World,
    staging: &MemoryStaging,
    seed: u8,
    lifetime: crate::media::Lifetime,
) -> (String, String) {
    use crate::service::Begun;
    let file = png(4_016, seed);
    let new = declared_image(&file, lifetime);
    let library = world.platform.media_library();
    let handle = match library.begin_upload(&backend(), ACCOUNT, &new, staging).await.expect("begun") {
        Begun::Upload(medium, _) => medium.handle,
        Begun::Existing(medium) => return (medium.handle, medium.media_id.expect("sent to WeChat")),
    };
    staging.put(&crate::service::staging_key(ACCOUNT, &handle), &file);
    let stored = library.complete_upload(&backend(), ACCOUNT, &handle, staging).await.expect("completed");
    (handle, stored.media_id.expect("WeChat's media_id"))
}

impl World {
    /// `appid` authorized at WeChat (as a backend's: no owner) and its authorization completed.
    pub(crate) async fn authorize(&self, appid: &str) {
        let (code, _) = self.standin.authorize_quietly(appid, None).expect("the stand-in knows the account");
        self.platform.onboarding().complete_authorization(&Secret::new(code), None).await.expect("authorized");
    }

    /// `rules` saved as [`ACCOUNT`]'s first reply rules.
    pub(crate) async fn first_rules(&self, rules: &serde_json::Value) {
        let body = rules.to_string();
        self.platform.inbound().save_reply_rules(&backend(), ACCOUNT, body.as_bytes(), Some(0)).await.expect("saved");
    }

    /// WeChat's newest ticket stored, as the ticket receiver would have (WeChat pushes one every
    /// 10 minutes; the stand-in refuses a component token from one older than 12 hours).
    pub(crate) async fn fresh_ticket(&self) {
        self.standin.push_ticket().await;
        let ticket = Secret::new(self.standin.last_ticket().expect("a ticket was pushed"));
        let now = self.standin.now();
        self.platform.store.put_verify_ticket(&VerifyTicket { ticket, create_time: now }, now).await.expect("ticket");
    }
}
