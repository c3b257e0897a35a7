//! AWS Lambda entry point of console. All logic lives in `lib.rs`.

use lambda_http::{Error, Request, run, service_fn};

// One event at a time per sandbox: a single-threaded runtime starts faster (no worker threads
// to spawn; measured with scripts/cold_start.py) and the work is I/O, not CPU.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    // The page holds no secret and reads no configuration but where the APIs are, where the
    // operator signs in, and where the browser uploads media (its policy names that origin).
    let settings = console::Settings::from_env();
    let settings = &settings;
    run(service_fn(|request: Request| async move { Ok::<_, Error>(console::handle(&request, settings)) })).await
}
