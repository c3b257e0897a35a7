//! AWS Lambda entry point of the qr-url-issuer function. All logic lives in `lib.rs`.

use lambda_http::{Error, Request, run, service_fn};
use shared::app::App;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let app = App::from_env().await?;
    run(service_fn(|request: Request| qr_url_issuer::handle(&app, request))).await
}
