//! The follower-tag endpoints (`world/tags.rs` keeps the rules).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};

use crate::StandIn;
use crate::api::{Params, api};

pub(crate) fn router(standin: StandIn) -> Router {
    Router::new()
        .route("/cgi-bin/tags/create", post(create))
        .route("/cgi-bin/tags/get", get(list))
        .route("/cgi-bin/tags/update", post(update))
        .route("/cgi-bin/tags/delete", post(delete))
        .route("/cgi-bin/tags/members/batchtagging", post(tag))
        .route("/cgi-bin/tags/members/batchuntagging", post(untag))
        .route("/cgi-bin/tags/getidlist", post(of_follower))
        .with_state(standin)
}

fn token(params: &Params) -> Option<&str> {
    params.get("access_token").map(String::as_str)
}

async fn create(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "tags_create", &body, |world, body| world.create_tag(token(&params), body)).await
}

async fn list(State(s): State<StandIn>, params: Params) -> Response {
    api(&s, "tags_get", &Bytes::from_static(b"{}"), |world, _| world.list_tags(token(&params))).await
}

async fn update(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "tags_update", &body, |world, body| world.update_tag(token(&params), body)).await
}

async fn delete(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "tags_delete", &body, |world, body| world.delete_tag(token(&params), body)).await
}

async fn tag(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "tags_batchtagging", &body, |world, body| world.tag_members(token(&params), body, true)).await
}

async fn untag(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "tags_batchuntagging", &body, |world, body| world.tag_members(token(&params), body, false)).await
}

async fn of_follower(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "tags_getidlist", &body, |world, body| world.tags_of_follower(token(&params), body)).await
}
