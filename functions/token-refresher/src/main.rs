//! AWS Lambda entry point of the token refresher (EventBridge schedule). All logic in `lib.rs`.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::app::App;

// One event at a time per sandbox: a single-threaded runtime starts faster (no worker threads
// to spawn; measured with scripts/cold_start.py) and the work is I/O, not CPU.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let app = App::publishing_from_env()?;
    // The optional edge (edge.yaml): a wrong ARN stops the function at start, where it shows.
    let edge = match std::env::var("EDGE_IP_SET_ARN").ok().filter(|arn| !arn.is_empty()) {
        Some(arn) => Some(token_refresher::WafIpSet::from_arn(&arn).map_err(Error::from)?),
        None => None,
    };
    let media = std::env::var("MEDIA_BUCKET").ok().filter(|b| !b.is_empty()).map(token_refresher::S3Staging::from_env);
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let (app, upkeep) = (&app, token_refresher::Upkeep { edge: edge.as_ref(), media: media.as_ref() });
        async move {
            let deadline = token_refresher::deadline_of(event.context.deadline);
            let report = token_refresher::handle_with(app, deadline, upkeep).await;
            token_refresher::emit_metrics(&report);
            if report.has_failures() {
                // A failed invocation: Lambda's Errors metric (and any alarm on it) sees the run.
                return Err(Error::from(format!("refresh run failed: {}", serde_json::to_string(&report)?)));
            }
            Ok(report)
        }
    }))
    .await
}
