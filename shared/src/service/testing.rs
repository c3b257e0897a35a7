//! The world a use case's unit tests run in: the platform over a fresh memory store, WeChat being
//! the stand-in started in the test's own process (the one the integration tests and the local run
//! use, which enforces WeChat's rules: quotas, permission sets, limits, single-use codes), the
//! component ticket stored and one account authorized. A test of a rule beside the rule, in
//! milliseconds, with no server to start.

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
    let standin = StandIn::start(test_credentials().standin_config(), "127.0.0.1:0".parse().expect("addr")).await;
    let mut vars = test_credentials().variables();
    vars.push(("WECHAT_API_BASE", standin.base_url()));
    let config = Config::from_lookup(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))
        .expect("the test credentials' configuration");

    standin.push_ticket().await;
    let ticket = Secret::new(standin.last_ticket().expect("a ticket was pushed"));
    let store = MemoryStore::new();
    store.put_verify_ticket(&VerifyTicket { ticket, create_time: standin.now() }, standin.now()).await.expect("ticket");

    let clock = standin.clone();
    let bus = MemoryBus::new();
    let platform = Platform::with_clock(&config, store, Arc::new(move || clock.now_ms()))
        .expect("platform")
        .with_bus(Arc::new(bus.clone()));
    let (code, _) = standin.authorize_quietly(ACCOUNT, None).expect("the stand-in knows the account");
    platform.onboarding().complete_authorization(&Secret::new(code), None).await.expect("authorized");
    World { standin, platform, bus }
}
