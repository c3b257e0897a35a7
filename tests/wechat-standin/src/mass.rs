//! The mass-send endpoints (`world/mass.rs` keeps the rules).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;

use crate::StandIn;
use crate::api::{Params, api};

pub(crate) fn router(standin: StandIn) -> Router {
    Router::new()
        .route("/cgi-bin/message/mass/preview", post(preview))
        .route("/cgi-bin/message/mass/sendall", post(sendall))
        .route("/cgi-bin/message/mass/send", post(send))
        .route("/cgi-bin/message/mass/get", post(get))
        .with_state(standin)
}

fn token(params: &Params) -> Option<&str> {
    params.get("access_token").map(String::as_str)
}

async fn preview(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "mass_preview", &body, |world, body| world.mass_preview(token(&params), body)).await
}

async fn sendall(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    send_as(s, "mass_sendall", params, body).await
}

async fn send(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    send_as(s, "mass_send", params, body).await
}

async fn send_as(s: StandIn, endpoint: &'static str, params: Params, body: Bytes) -> Response {
    let before = s.world().last_mass_send();
    let response = api(&s, endpoint, &body, |world, body| world.mass_send(token(&params), body)).await;
    // WeChat reports the result later, as a push to the account's message URL.
    let after = s.world().last_mass_send();
    if let Some(msg_id) = after.filter(|id| Some(*id) != before) {
        let s = s.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let push = s.world().mass_finished_xml(msg_id);
            if let Some((appid, xml)) = push {
                s.deliver_message(&appid, &format!("o_admin_{appid}"), &xml).await;
            }
        });
    }
    response
}

async fn get(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "mass_get", &body, |world, body| world.mass_get(token(&params), body)).await
}
