//! The media calls (素材): uploads as multipart bodies streamed from wherever the file is staged
//! (never held whole here), and the permanent library's count, pages and deletion.
//!
//! An upload is sent once: WeChat may have kept a file whose answer was lost, and a second try
//! would keep it twice (a permanent library counts against the account's cap). A transport error,
//! a 5xx or an unreadable answer therefore means the outcome is unknown, and the caller says so.

use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use serde_json::json;

use super::{ApiError, WeChatClient, transport, wire};
use crate::media::{Kind, Lifetime};
use crate::secret::Secret;

/// An upload's whole time: 10 MB over a slow link.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// A file to upload: its bytes as a stream of known length.
pub struct UploadFile<S> {
    /// The file name WeChat is told (it reads the extension).
    pub filename: String,
    /// Its content type.
    pub content_type: &'static str,
    /// Its length in bytes.
    pub size: u64,
    /// The bytes.
    pub bytes: S,
}

/// What WeChat answered an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// The `media_id` (none for an article image).
    pub media_id: Option<String>,
    /// The image's URL (permanent images and article images).
    pub url: Option<String>,
    /// When WeChat made it (temporary media: the 3 days run from here).
    pub created_at: Option<i64>,
}

/// `material/get_materialcount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MaterialCount {
    /// Images.
    pub image: u64,
    /// Voice.
    pub voice: u64,
    /// Videos.
    pub video: u64,
    /// Articles (图文).
    pub news: u64,
}

/// One item of `material/batchget_material`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Material {
    /// Its `media_id`.
    pub media_id: String,
    /// Its name (the uploaded file's).
    pub name: String,
    /// When it last changed.
    pub update_time: i64,
    /// Its URL (images).
    pub url: Option<String>,
}

/// One page of `material/batchget_material`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MaterialPage {
    /// How many of the kind the account keeps.
    pub total: u64,
    /// This page.
    pub items: Vec<Material>,
}

fn u64_of(value: &serde_json::Value, key: &str) -> u64 {
    value.get(key).and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok())).unwrap_or(0)
}

fn str_of(value: &serde_json::Value, key: &str) -> Option<String> {
    value.get(key).and_then(serde_json::Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

impl WeChatClient {
    /// Uploads `file` as a `kind` medium kept for `lifetime`: `media/upload` (temporary),
    /// `material/add_material` (permanent; a video with `video_text`, its title and
    /// introduction), or `media/uploadimg` for [`Kind::ArticleImage`].
    ///
    /// # Errors
    /// [`ApiError`]: 40004 a type WeChat does not take, 40005 the format, 40006 the size, 41005
    /// no file, 48001 no permission set for it, 45009 the daily quota; no usable answer (the
    /// outcome unknown) as a transport, HTTP or decode error.
    pub async fn upload_medium<S>(
        &self,
        authorizer_token: &Secret,
        kind: Kind,
        lifetime: Lifetime,
        file: UploadFile<S>,
        video_text: Option<(&str, &str)>,
    ) -> Result<Uploaded, ApiError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        let (call, path) = match (kind, lifetime) {
            (Kind::ArticleImage, _) => ("media/uploadimg", "/cgi-bin/media/uploadimg"),
            (_, Lifetime::Temporary) => ("media/upload", "/cgi-bin/media/upload"),
            (_, Lifetime::Permanent) => ("material/add_material", "/cgi-bin/material/add_material"),
        };
        let part = reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(file.bytes), file.size)
            .file_name(file.filename)
            .mime_str(file.content_type)
            .map_err(|e| transport(call, &e))?;
        let mut form = reqwest::multipart::Form::new().part("media", part);
        if let Some((title, introduction)) = video_text {
            form = form.text("description", json!({"title": title, "introduction": introduction}).to_string());
        }
        self.record_use(authorizer_token, call);
        let mut query = vec![("access_token", authorizer_token.expose())];
        if kind != Kind::ArticleImage {
            query.push(("type", kind.as_str()));
        }
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .query(&query)
            .multipart(form)
            .timeout(UPLOAD_TIMEOUT)
            .send()
            .await
            .map_err(|e| transport(call, &e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ApiError::Http { call, status: status.as_u16() });
        }
        let bytes = response.bytes().await.map_err(|e| transport(call, &e))?;
        let out: serde_json::Value = wire::decode(call, &bytes)?;
        let uploaded = Uploaded {
            media_id: str_of(&out, "media_id"),
            url: str_of(&out, "url"),
            created_at: out.get("created_at").and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok())),
        };
        if uploaded.media_id.is_none() && uploaded.url.is_none() {
            return Err(ApiError::Decode { call, message: "neither media_id nor url in the answer".to_owned() });
        }
        Ok(uploaded)
    }

    /// `material/get_materialcount`: the account's permanent library, by kind.
    ///
    /// # Errors
    /// [`ApiError`]: 48001 without a permission set for material.
    pub async fn material_count(&self, authorizer_token: &Secret) -> Result<MaterialCount, ApiError> {
        let call = "material/get_materialcount";
        let out: serde_json::Value =
            self.get(call, "/cgi-bin/material/get_materialcount", authorizer_token, &[]).await?;
        Ok(MaterialCount {
            image: u64_of(&out, "image_count"),
            voice: u64_of(&out, "voice_count"),
            video: u64_of(&out, "video_count"),
            news: u64_of(&out, "news_count"),
        })
    }

    /// `material/batchget_material`: `count` (1–20) of the account's permanent `kind` from
    /// `offset`, newest first, including what was made in WeChat's own backend.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn materials(
        &self,
        authorizer_token: &Secret,
        kind: Kind,
        offset: u64,
        count: u64,
    ) -> Result<MaterialPage, ApiError> {
        let call = "material/batchget_material";
        let body = json!({"type": kind.as_str(), "offset": offset, "count": count});
        let token = Some(("access_token", authorizer_token));
        let out: serde_json::Value = self.post_with(call, "/cgi-bin/material/batchget_material", token, &body).await?;
        let items = out
            .get("item")
            .and_then(serde_json::Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| {
                        Some(Material {
                            media_id: str_of(item, "media_id")?,
                            name: str_of(item, "name").unwrap_or_default(),
                            update_time: item.get("update_time").and_then(serde_json::Value::as_i64).unwrap_or(0),
                            url: str_of(item, "url"),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(MaterialPage { total: u64_of(&out, "total_count"), items })
    }

    /// `material/del_material`.
    ///
    /// # Errors
    /// [`ApiError`]: 40007 not the account's material (or already deleted).
    pub async fn delete_material(&self, authorizer_token: &Secret, media_id: &str) -> Result<(), ApiError> {
        let call = "material/del_material";
        let token = Some(("access_token", authorizer_token));
        let _: serde_json::Value =
            self.post_with(call, "/cgi-bin/material/del_material", token, &json!({"media_id": media_id})).await?;
        Ok(())
    }
}
