//! The draft box (草稿箱) of an account: `draft/add`, `draft/update`, `draft/get`,
//! `draft/batchget`, `draft/count` and `draft/delete`
//! (<https://developers.weixin.qq.com/doc/service/api/draftbox/draftmanage/api_draft_add> and the
//! pages beside it; permission sets 11 or 100). Adding is never retried here: a repeat would make
//! a second draft.

use serde_json::{Value, json};

use super::{ApiError, WeChatClient};
use crate::secret::Secret;

/// `draft/add`'s answer.
#[derive(serde::Deserialize)]
struct Added {
    media_id: String,
}

/// The two lists of an account's articles WeChat pages the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArticleList {
    /// The draft box.
    Drafts,
    /// The published articles (发表记录).
    Published,
}

impl WeChatClient {
    /// `draft/add` with checked `articles`: the draft's `media_id`.
    ///
    /// # Errors
    /// [`ApiError`] (40007: a cover that is not the account's permanent material).
    pub async fn add_draft(&self, authorizer_token: &Secret, articles: &[Value]) -> Result<String, ApiError> {
        let call = "draft/add";
        let token = Some(("access_token", authorizer_token));
        let out: Added = self.attempt(call, "/cgi-bin/draft/add", token, &json!({"articles": articles})).await?;
        Ok(out.media_id)
    }

    /// `draft/update`: article `index` of draft `media_id` replaced.
    ///
    /// # Errors
    /// [`ApiError`] (40007: no such draft).
    pub async fn update_draft(
        &self,
        authorizer_token: &Secret,
        media_id: &str,
        index: usize,
        article: &Value,
    ) -> Result<(), ApiError> {
        let body = json!({"media_id": media_id, "index": index, "articles": article});
        let token = Some(("access_token", authorizer_token));
        let _: Value = self.post_with("draft/update", "/cgi-bin/draft/update", token, &body).await?;
        Ok(())
    }

    /// `draft/get`: the draft's `news_item` as WeChat keeps it.
    ///
    /// # Errors
    /// [`ApiError`] (40007: no such draft).
    pub async fn draft(&self, authorizer_token: &Secret, media_id: &str) -> Result<Value, ApiError> {
        let token = Some(("access_token", authorizer_token));
        let mut out: Value =
            self.post_with("draft/get", "/cgi-bin/draft/get", token, &json!({"media_id": media_id})).await?;
        Ok(out.get_mut("news_item").map(Value::take).unwrap_or_else(|| json!([])))
    }

    /// One page of `list` (`draft/batchget` or `freepublish/batchget`, paged alike):
    /// `{total_count, item_count, item}` from `offset` (`count` 1–20), with or without the content.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn article_page(
        &self,
        authorizer_token: &Secret,
        list: ArticleList,
        offset: u64,
        count: u64,
        with_content: bool,
    ) -> Result<Value, ApiError> {
        let (api, path) = match list {
            ArticleList::Drafts => ("draft/batchget", "/cgi-bin/draft/batchget"),
            ArticleList::Published => ("freepublish/batchget", "/cgi-bin/freepublish/batchget"),
        };
        let body = json!({"offset": offset, "count": count, "no_content": u8::from(!with_content)});
        let out: Value = self.post_with(api, path, Some(("access_token", authorizer_token)), &body).await?;
        Ok(super::wire::answer_only(out))
    }

    /// `draft/delete`.
    ///
    /// # Errors
    /// [`ApiError`] (40007: no such draft).
    pub async fn delete_draft(&self, authorizer_token: &Secret, media_id: &str) -> Result<(), ApiError> {
        let token = Some(("access_token", authorizer_token));
        let _: Value =
            self.post_with("draft/delete", "/cgi-bin/draft/delete", token, &json!({"media_id": media_id})).await?;
        Ok(())
    }
}
