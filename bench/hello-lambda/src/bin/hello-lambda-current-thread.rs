//! The hello world of `main.rs` on a single-threaded runtime, as the platform's functions run:
//! a second baseline, so the cold-start table separates what the runtime flavour saves from what
//! the functions add.

use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    run(service_fn(|_: Request| async { Ok::<_, Error>(Response::new(Body::from("hello"))) })).await
}
