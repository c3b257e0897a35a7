//! AWS Lambda entry point of follower-ledger (an SQS queue subscribed to the platform's bus).
//! All logic lives in `lib.rs`.

// The SQS handler's future nests deeply enough (store, transaction, hand-off) to pass rustc's
// default query depth when its layout is computed.
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::app::App;

// One batch at a time per sandbox: a single-threaded runtime starts faster (no worker threads
// to spawn; measured with scripts/cold_start.py) and the work is I/O, not CPU.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let app = App::from_env()?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let app = &app;
        async move { follower_ledger::handle(app, &event.payload).await.map_err(Error::from) }
    }))
    .await
}
