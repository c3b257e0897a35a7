//! The custom-menu endpoints (`world/menu.rs` keeps the rules).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};

use crate::StandIn;
use crate::api::{Params, api};

pub(crate) fn router(standin: StandIn) -> Router {
    Router::new()
        .route("/cgi-bin/menu/create", post(create))
        .route("/cgi-bin/menu/get", get(read))
        .route("/cgi-bin/menu/delete", get(delete))
        .route("/cgi-bin/menu/addconditional", post(add_conditional))
        .route("/cgi-bin/menu/delconditional", post(delete_conditional))
        .route("/cgi-bin/menu/trymatch", post(try_match))
        .with_state(standin)
}

fn token(params: &Params) -> Option<&str> {
    params.get("access_token").map(String::as_str)
}

async fn create(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "menu_create", &body, |world, menu| world.create_menu(token(&params), menu)).await
}

async fn read(State(s): State<StandIn>, params: Params) -> Response {
    api(&s, "menu_get", &Bytes::from_static(b"{}"), |world, _| world.get_menu(token(&params))).await
}

async fn delete(State(s): State<StandIn>, params: Params) -> Response {
    api(&s, "menu_delete", &Bytes::from_static(b"{}"), |world, _| world.delete_menu(token(&params))).await
}

async fn add_conditional(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "menu_addconditional", &body, |world, menu| world.add_conditional_menu(token(&params), menu)).await
}

async fn delete_conditional(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "menu_delconditional", &body, |world, b| world.delete_conditional_menu(token(&params), b)).await
}

async fn try_match(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "menu_trymatch", &body, |world, b| world.try_match_menu(token(&params), b)).await
}
