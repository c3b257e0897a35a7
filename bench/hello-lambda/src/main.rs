//! Hello world on lambda_http, set up like the platform's functions (tokio main, the default
//! tracing subscriber) so that the cold-start comparison measures only what the functions add.

use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    run(service_fn(|_: Request| async { Ok::<_, Error>(Response::new(Body::from("hello"))) })).await
}
