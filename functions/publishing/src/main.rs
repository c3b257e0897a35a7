//! AWS Lambda entry point of publishing. All logic lives in `lib.rs`.

use lambda_http::{Error, Request, run, service_fn};
use shared::app::App;

// One event at a time per sandbox: a single-threaded runtime starts faster (no worker threads
// to spawn; measured with scripts/cold_start.py) and the work is I/O, not CPU.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let app = App::from_env()?;
    run(service_fn(|request: Request| publishing::handle(&app, request))).await
}
