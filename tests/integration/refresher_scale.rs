//! One token-refresher run at scale: `DUE` accounts due among `ALL` authorized ones, the WeChat
//! stand-in answering every `api_authorizer_token` after `DELAY_MS`. Prints the wall time, what was
//! refreshed, and the store's item reads, next to the same run with only the due accounts stored
//! (reads must not grow with the accounts that are not due).
//!
//! Run: `cargo bench -p integration-tests --bench refresher_scale` (or `scripts/bench.sh refresher`);
//! `DUE`, `ALL` and `DELAY_MS` override 5,000 / 50,000 / 50.
//!
//! The store here is the in-memory twin: what is timed is the refresher's own concurrency against
//! WeChat's latency, not the local DynamoDB-API server (single-threaded, ~ms per call). That the
//! DynamoDB adapter reads only due items is a test (`refresher_reads` in the integration tests).

use std::sync::Arc;
use std::time::Instant;

use shared::Secret;
use shared::app::App;
use shared::config::Config;
use shared::service::Platform;
use shared::store::{AuthorizerStore, MarkerStore, MemoryStore, NewAuthorization, TicketStore, VerifyTicket};
use wechat_standin::platform::test_credentials;
use wechat_standin::{Account, Fault, StandIn};

fn var(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn appid(i: usize) -> String {
    format!("wx{i:016}")
}

struct Outcome {
    seconds: f64,
    due: usize,
    refreshed: usize,
    failed: usize,
    reads: u64,
    wechat_calls: u64,
}

async fn run(due: usize, all: usize, delay_ms: u64) -> Outcome {
    let mut standin_config = test_credentials().standin_config();
    standin_config.accounts = (0..due).map(Account::numbered).collect();
    let standin = StandIn::start(standin_config, "127.0.0.1:0".parse().unwrap()).await;
    let mut map: std::collections::HashMap<&str, String> = test_credentials().variables().into_iter().collect();
    map.insert("WECHAT_API_BASE", standin.base_url());
    let config = Config::from_lookup(|k| map.get(k).cloned()).expect("config");
    let clock = standin.clone();
    let platform = Platform::with_clock(&config, MemoryStore::new(), Arc::new(move || clock.now_ms()))
        .expect("platform")
        .with_bus(std::sync::Arc::new(shared::bus::MemoryBus::new()));
    let app = App::with_platform(config, platform);
    let store = app.platform.store();
    let now = standin.now();

    // WeChat's side: a ticket and the due accounts authorized (their refresh tokens are real).
    standin.push_ticket().await;
    let ticket = standin.last_ticket().expect("ticket");
    store.put_verify_ticket(&VerifyTicket { ticket: Secret::new(ticket), create_time: now }, now).await.unwrap();
    for i in 0..all {
        let id = appid(i);
        let (refresh, expires_at) = if i < due {
            standin.authorize_directly(&id).await.expect("authorize");
            (standin.refresh_token_of(&id).unwrap(), now + 300)
        } else {
            (format!("refresh-{i}"), now + 7000)
        };
        let authorization = NewAuthorization {
            authorizer_appid: id,
            access_token: Secret::new(format!("access-{i}")),
            expires_at,
            refresh_token: Secret::new(refresh),
            received_ms: now * 1000,
            authorized_at: now,
        };
        store.save_authorization(&authorization, now).await.unwrap();
    }
    standin.inject_fault("api_authorizer_token", Fault::DelayMs(delay_ms), due * 2);
    standin.inject_fault("api_component_token", Fault::DelayMs(delay_ms), 1);

    let reads_before = store.reads();
    let started = Instant::now();
    // Timed: an ordinary run (the day's reconcile with WeChat's list is another run's work).
    let day = now.div_euclid(24 * 3600);
    store.remember_once(&shared::store::MarkerKey::reconcile(day), 3600, now).await.unwrap();
    let report = token_refresher::handle(&app, None).await;
    let seconds = started.elapsed().as_secs_f64();
    Outcome {
        seconds,
        due: report.due,
        refreshed: report.refreshed.len(),
        failed: report.failed.len(),
        reads: store.reads() - reads_before,
        wechat_calls: standin.calls("api_authorizer_token"),
    }
}

fn main() {
    let due = var("DUE", 5_000);
    let all = var("ALL", 50_000).max(due);
    let delay = var("DELAY_MS", 50) as u64;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    println!("token-refresher, one run: WeChat answers after {delay} ms, concurrency {}", token_refresher::CONCURRENCY);
    println!(
        "{:>8} {:>8} {:>9} {:>9} {:>7} {:>12} {:>12}",
        "due", "stored", "seconds", "refreshed", "failed", "WeChat calls", "items read"
    );
    for stored in [all, due] {
        let o = runtime.block_on(run(due, stored, delay));
        println!(
            "{:>8} {:>8} {:>9.2} {:>9} {:>7} {:>12} {:>12}",
            o.due, stored, o.seconds, o.refreshed, o.failed, o.wechat_calls, o.reads
        );
        assert_eq!((o.due, o.refreshed, o.failed), (due, due, 0), "every due account refreshed");
    }
    println!("(target: <= 30 s for 5,000 due among 50,000; items read the same in both rows)");
}
