//! The draft-box and publishing endpoints (`world/drafts.rs` keeps the rules).

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
        .route("/cgi-bin/freepublish/submit", post(submit))
        .route("/cgi-bin/freepublish/get", post(publication))
        .route("/cgi-bin/freepublish/batchget", post(publications))
        .route("/cgi-bin/freepublish/delete", post(delete_publication))
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

async fn submit(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    let response =
        api(&s, "freepublish_submit", &body, |world, body| world.submit_publication(token(&params), body)).await;
    // WeChat reports the outcome later, as a push to the account's message URL.
    let due = std::mem::take(&mut s.world().publish_pushes_due);
    for publish_id in due {
        let s = s.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let push = s.world().publish_finished_xml(&publish_id);
            if let Some((appid, xml)) = push {
                // Delivered as WeChat delivers: retried while not answered 200.
                s.deliver_message(&appid, &format!("o_admin_{appid}"), &xml).await;
            }
        });
    }
    response
}

async fn publication(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "freepublish_get", &body, |world, body| world.get_publication(token(&params), body)).await
}

async fn publications(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "freepublish_batchget", &body, |world, body| world.batchget_publications(token(&params), body)).await
}

async fn delete_publication(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "freepublish_delete", &body, |world, body| world.delete_publication(token(&params), body)).await
}
