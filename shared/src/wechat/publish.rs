//! Publishing (发布) a draft: `freepublish/submit`, `freepublish/get`, `freepublish/batchget`
//! and `freepublish/delete`
//! (<https://developers.weixin.qq.com/doc/service/api/public/api_freepublish_submit> and the pages
//! beside it; permission set 7). Publishing is asynchronous: WeChat answers a `publish_id` and
//! pushes `PUBLISHJOBFINISH` when it is done. Submitting is never retried here: a repeat of a
//! submission whose answer was lost would publish the article twice.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, WeChatClient};
use crate::secret::Secret;

/// WeChat's state of a publication (`freepublish/get`), read leniently: the page documents the
/// fields by example only, so a number may come as text and a part of another shape is left out
/// rather than failing the whole answer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Publication {
    /// 0 published, 1 publishing, 2 refused as not original, 3 failed, 4 refused by review,
    /// 5 deleted after success, 6 banned after success; `None`: WeChat did not say.
    #[serde(default, deserialize_with = "super::wire::lenient")]
    pub publish_status: Option<i64>,
    /// The published article's id (when published).
    #[serde(default, deserialize_with = "super::wire::text")]
    pub article_id: Option<String>,
    /// The published articles.
    #[serde(default, deserialize_with = "super::wire::forgiving")]
    pub article_detail: PublishedArticles,
    /// The positions of the articles that failed (WeChat's own list, passed on).
    #[serde(default)]
    pub fail_idx: Option<Value>,
}

/// `article_detail`: the articles of a publication.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PublishedArticles {
    /// One per article, in order.
    #[serde(default, deserialize_with = "super::wire::forgiving")]
    pub item: Vec<PublishedArticle>,
}

/// One published article.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PublishedArticle {
    /// Its permanent link.
    #[serde(default, deserialize_with = "super::wire::text")]
    pub article_url: Option<String>,
}

impl WeChatClient {
    /// `freepublish/submit` of draft `media_id`: the `publish_id`.
    ///
    /// # Errors
    /// [`ApiError`] (40007: no such draft; 53503: the draft is not publishable).
    pub async fn submit_publication(&self, authorizer_token: &Secret, media_id: &str) -> Result<String, ApiError> {
        let token = Some(("access_token", authorizer_token));
        let call = "freepublish/submit";
        let out: Value =
            self.attempt(call, "/cgi-bin/freepublish/submit", token, &json!({"media_id": media_id})).await?;
        // WeChat writes `publish_id` as a number in some answers and as text in others.
        super::wire::id_text(out.get("publish_id"))
            .ok_or_else(|| ApiError::Decode { call, message: "no publish_id in the answer".into() })
    }

    /// `freepublish/get`: WeChat's state of a publication.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn publication(&self, authorizer_token: &Secret, publish_id: &str) -> Result<Publication, ApiError> {
        let token = Some(("access_token", authorizer_token));
        let body = json!({"publish_id": publish_id});
        self.post_with("freepublish/get", "/cgi-bin/freepublish/get", token, &body).await
    }

    /// `freepublish/delete`: the published article `article_id` (all of it with `index` 0, else
    /// the article at `index`, from 1).
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn delete_publication(
        &self,
        authorizer_token: &Secret,
        article_id: &str,
        index: u64,
    ) -> Result<(), ApiError> {
        let token = Some(("access_token", authorizer_token));
        let body = json!({"article_id": article_id, "index": index});
        let _: Value = self.post_with("freepublish/delete", "/cgi-bin/freepublish/delete", token, &body).await?;
        Ok(())
    }
}
