//! The media endpoints (`world/media.rs` keeps the rules): multipart uploads read whole (WeChat
//! takes at most 10 MB), JSON for the rest.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::response::Response;
use axum::routing::post;

use crate::StandIn;
use crate::api::{Params, api};
use crate::world::Part;

/// More than WeChat's largest medium, so that WeChat's own size errors are what a caller sees.
const BODY_LIMIT: usize = 24 * 1024 * 1024;

pub(crate) fn router(standin: StandIn) -> Router {
    Router::new()
        .route("/cgi-bin/media/upload", post(upload_temporary))
        .route("/cgi-bin/material/add_material", post(add_material))
        .route("/cgi-bin/media/uploadimg", post(upload_article_image))
        .route("/cgi-bin/material/get_materialcount", post(material_count).get(material_count))
        .route("/cgi-bin/material/batchget_material", post(batchget_material))
        .route("/cgi-bin/material/del_material", post(del_material))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(standin)
}

/// The `media` file part and the `description` field of an upload; a body that is not multipart
/// reads as neither (WeChat: 41005).
async fn parts(multipart: Option<Multipart>) -> (Option<Part>, Option<String>) {
    let (mut media, mut description) = (None, None);
    let Some(mut multipart) = multipart else {
        return (None, None);
    };
    while let Ok(Some(field)) = multipart.next_field().await {
        match field.name() {
            Some("media") => {
                let filename = field.file_name().unwrap_or_default().to_owned();
                if let Ok(bytes) = field.bytes().await {
                    media = Some(Part { filename, bytes: bytes.to_vec() });
                }
            }
            Some("description") => description = field.text().await.ok(),
            _ => {}
        }
    }
    (media, description)
}

fn token(params: &Query<std::collections::HashMap<String, String>>) -> Option<&str> {
    params.get("access_token").map(String::as_str)
}

async fn upload_temporary(State(s): State<StandIn>, params: Params, multipart: Option<Multipart>) -> Response {
    let (media, _) = parts(multipart).await;
    let kind = params.get("type").cloned().unwrap_or_default();
    api(&s, "media_upload", &Bytes::from_static(b"{}"), |world, _| {
        world.upload_temporary(token(&params), &kind, media.as_ref())
    })
    .await
}

async fn add_material(State(s): State<StandIn>, params: Params, multipart: Option<Multipart>) -> Response {
    let (media, description) = parts(multipart).await;
    let kind = params.get("type").cloned().unwrap_or_default();
    api(&s, "add_material", &Bytes::from_static(b"{}"), |world, _| {
        world.add_material(token(&params), &kind, media.as_ref(), description.as_deref())
    })
    .await
}

async fn upload_article_image(State(s): State<StandIn>, params: Params, multipart: Option<Multipart>) -> Response {
    let (media, _) = parts(multipart).await;
    api(&s, "media_uploadimg", &Bytes::from_static(b"{}"), |world, _| {
        world.upload_article_image(token(&params), media.as_ref())
    })
    .await
}

async fn material_count(State(s): State<StandIn>, params: Params) -> Response {
    api(&s, "get_materialcount", &Bytes::from_static(b"{}"), |world, _| world.material_count(token(&params))).await
}

async fn batchget_material(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "batchget_material", &body, |world, body| world.batchget_material(token(&params), body)).await
}

async fn del_material(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    api(&s, "del_material", &body, |world, body| world.del_material(token(&params), body)).await
}
