//! AWS Lambda entry point of console. All logic lives in `lib.rs`.

use lambda_http::{Error, Request, run, service_fn};

// One event at a time per sandbox: a single-threaded runtime starts faster (no worker threads
// to spawn; measured with scripts/cold_start.py) and the work is I/O, not CPU.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    // The page holds no secret and reads no configuration but where the APIs are and where the
    // operator signs in.
    let routes = console::Routes::from_env();
    let sign_in = console::SignIn::from_env();
    let sign_in = sign_in.as_ref();
    run(service_fn(|request: Request| async move { Ok::<_, Error>(console::handle(&request, routes, sign_in)) })).await
}
