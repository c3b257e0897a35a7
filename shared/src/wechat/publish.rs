//! Publishing (发布) a draft: `freepublish/submit`, `freepublish/get`, `freepublish/batchget`
//! and `freepublish/delete`
//! (<https://developers.weixin.qq.com/doc/service/api/public/api_freepublish_submit> and the pages
//! beside it; permission set 7). Publishing is asynchronous: WeChat answers a `publish_id` and
//! pushes `PUBLISHJOBFINISH` when it is done. Submitting is never retried here: a repeat of a
//! submission whose answer was lost would publish the article twice.

use serde_json::{Value, json};

use super::{ApiError, WeChatClient};
use crate::secret::Secret;

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

    /// `freepublish/get`: WeChat's state of a publication (`publish_status`, `article_id`,
    /// `article_detail`, `fail_idx`).
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn publication(&self, authorizer_token: &Secret, publish_id: &str) -> Result<Value, ApiError> {
        let token = Some(("access_token", authorizer_token));
        let body = json!({"publish_id": publish_id});
        let out: Value = self.post_with("freepublish/get", "/cgi-bin/freepublish/get", token, &body).await?;
        Ok(super::wire::answer_only(out))
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
