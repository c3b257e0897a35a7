//! The draft-box endpoints (`world/drafts.rs` keeps the rules).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;

use crate::StandIn;
use crate::api::{Params, api};

pub(crate) fn router(standin: StandIn) -> Router {
    Router::new()
        .route("/cgi-bin/draft/add", post(add))
        .route("/cgi-bin/draft/update", post(update))
        .route("/cgi-bin/draft/get", post(get))
        .route("/cgi-bin/draft/batchget", post(batchget))
        .route("/cgi-bin/draft/delete", post(delete))
        .with_state(standin)
}

fn token(params: &Params) -> Option<&str> {
    params.get("access_token").map(String::as_str)
}

async fn add(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "draft_add", &body, |world, body| world.add_draft(token(&params), body)).await
}

async fn update(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "draft_update", &body, |world, body| world.update_draft(token(&params), body)).await
}

async fn get(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "draft_get", &body, |world, body| world.get_draft(token(&params), body)).await
}

async fn batchget(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "draft_batchget", &body, |world, body| world.batchget_drafts(token(&params), body)).await
}

async fn delete(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "draft_delete", &body, |world, body| world.delete_draft(token(&params), body)).await
}
