//! The world a use case's unit tests run in: the platform over a fresh memory store, WeChat being
//! the stand-in started in the test's own process (the one the integration tests and the local run
//! use, which enforces WeChat's rules: quotas, permission sets, limits, single-use codes), the
//! component ticket stored and one account authorized. A test of a rule beside the rule, in
//! milliseconds, with nothing to start outside the test (the stand-in listens on a loopback port
//! of its own).

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
    let config = Config::from_lookup(|name| vars.iter().rev().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))
        .expect("the test credentials' configuration");

    let clock = standin.clone();
    let bus = MemoryBus::new();
    let platform = Platform::with_clock(&config, MemoryStore::new(), Arc::new(move || clock.now_ms()))
        .expect("platform")
        .with_bus(Arc::new(bus.clone()));
    let world = World { standin, platform, bus };
    world.fresh_ticket().await;
    let (code, _) = world.standin.authorize_quietly(ACCOUNT, None).expect("the stand-in knows the account");
    world.platform.onboarding().complete_authorization(&Secret::new(code), None).await.expect("authorized");
    world
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
    use sha2::{Digest, Sha256};

    use crate::media::Kind;
    use crate::service::{Begun, NewMedium};
    let mut file = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    file.extend((0..4_000).map(|i: u32| u8::try_from(i % 251).unwrap_or(0) ^ seed));
    let new = NewMedium {
        kind: Kind::Image,
        lifetime,
        content_type: "image/png".to_owned(),
        size: file.len() as u64,
        sha256: Sha256::digest(&file).iter().map(|b| format!("{b:02x}")).collect(),
        title: None,
        introduction: None,
    };
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
