//! AWS Lambda entry point of the token refresher (EventBridge schedule). All logic in `lib.rs`.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::app::App;

// One event at a time per sandbox: a single-threaded runtime starts faster (no worker threads
// to spawn; measured with scripts/cold_start.py) and the work is I/O, not CPU.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let app = App::from_env()?;
    run(service_fn(|_event: LambdaEvent<serde_json::Value>| async {
        Ok::<_, Error>(token_refresher::handle(&app).await)
    }))
    .await
}
