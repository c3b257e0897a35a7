//! Publishing (发布) a draft of the account's draft box. WeChat publishes asynchronously: the
//! submission answers a `publish_id`, WeChat checks the articles and pushes `PUBLISHJOBFINISH`
//! with the outcome (the article's id and links, or which articles failed). The platform keeps
//! both halves under the publication's id, in records of their own (the submission: which
//! draft, by whom, when; the push's outcome, written on the push path as the push's marker, so
//! it costs that push nothing more), and the bus carries the outcome as
//! `mp.event.publishjobfinish` for subscribers. Publishing is not a mass send: nobody is
//! notified and no send quota is spent.
//!
//! A submission is never repeated by the platform: WeChat gives no idempotency key for it, and a
//! repeat after a lost answer would publish twice. After a lost answer the caller looks at the
//! published list (or the draft box, which WeChat empties of a published draft) before trying
//! again.

use serde_json::{Value, json};

use super::{ActError, Caller};
use crate::service::records::{PublicationFinished, PublicationSubmitted, Record};
use crate::service::{ActingStore, Publishing};
use crate::store::MarkerKey;

/// The permission set publishing needs (WeChat's 61007/48001 without it).
pub(super) const PUBLISH_SETS: &[i64] = &[7];
pub(super) const PUBLISH_WHAT: &str = "群发与通知, mass sends and publishing";
/// How long the platform keeps a publication's records (its submission and its outcome).
pub const PUBLICATION_RECORD_SECS: i64 = 30 * 24 * 3600;

/// WeChat's `publish_status` in words
/// (<https://developers.weixin.qq.com/doc/service/api/public/api_freepublish_get>).
pub fn publish_status_name(status: i64) -> &'static str {
    match status {
        0 => "published",
        1 => "publishing",
        2 => "original_check_failed",
        3 => "failed",
        4 => "refused_by_review",
        5 => "deleted_by_account",
        6 => "banned",
        _ => "unknown",
    }
}

fn plausible_id(id: &str, what: &str) -> Result<(), ActError> {
    if !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(ActError::Invalid(format!("{what}: WeChat's id, as WeChat gave it")))
    }
}

impl<S: ActingStore> Publishing<'_, S> {
    /// Submits draft `media_id` for publication: WeChat's `publish_id`. The submission is kept
    /// (which draft, by whom, when) for [`Publishing::publication`].
    ///
    /// # Errors
    /// The account's states; WeChat's refusal (40007: no such draft). A lost answer is reported
    /// as one (the submission may have happened), never retried.
    pub async fn publish_draft(&self, caller: &Caller, appid: &str, media_id: &str) -> Result<String, ActError> {
        plausible_id(media_id, "media_id")?;
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, PUBLISH_SETS, PUBLISH_WHAT)?;
        let publish_id =
            self.with_account_token(record, true, |token| async move {
                self.wechat.submit_publication(&token, media_id).await
            })
            .await?;
        let kept = PublicationSubmitted {
            media_id: media_id.to_owned(),
            submitted_by: caller.name().to_owned(),
            submitted_at: self.now(),
        };
        let key = MarkerKey::publication(appid, &publish_id);
        if let Err(err) = self.store.remember_value(&key, &kept.to_json(), PUBLICATION_RECORD_SECS, self.now()).await {
            // Submitted all the same: the outcome still arrives and is kept under its own key.
            tracing::warn!(authorizer = %appid, publish_id = %publish_id, error = %err, "publication submitted; its submission record not stored");
        }
        tracing::info!(authorizer = %appid, publish_id = %publish_id, draft = %media_id, "publication submitted");
        Ok(publish_id)
    }

    /// A publication: what the platform kept (its submission, and the outcome WeChat pushed), or,
    /// while no outcome was pushed, WeChat's own state of it (`freepublish/get`).
    ///
    /// # Errors
    /// The account's states; WeChat's refusal.
    pub async fn publication(&self, caller: &Caller, appid: &str, publish_id: &str) -> Result<Value, ActError> {
        plausible_id(publish_id, "publish_id")?;
        let record = self.account_for(caller, appid).await?;
        let now = self.now();
        let submitted = self.store.recall(&MarkerKey::publication(appid, publish_id), now).await?;
        let finished = self.store.recall(&MarkerKey::publication_finished(appid, publish_id), now).await?;
        let mut out = json!({"publish_id": publish_id});
        if let (Some(object), Some(submitted)) = (out.as_object_mut(), PublicationSubmitted::read(submitted.as_deref()))
        {
            object.extend(submitted.fields());
            // Who submitted is kept for the logs of the platform, not shown back.
            object.remove("submitted_by");
        }
        match PublicationFinished::read(finished.as_deref()) {
            Some(finished) => {
                if let Some(object) = out.as_object_mut() {
                    object.extend(finished.fields());
                }
                out["source"] = json!("push");
            }
            None => {
                super::require_sets(&record, PUBLISH_SETS, PUBLISH_WHAT)?;
                let state = self
                    .with_account_token(record, false, |token| async move {
                        self.wechat.publication(&token, publish_id).await
                    })
                    .await?;
                let status = state.publish_status.unwrap_or(-1);
                let urls: Vec<String> = state.article_detail.item.into_iter().filter_map(|i| i.article_url).collect();
                out["publish_status"] = json!(status);
                out["status"] = json!(publish_status_name(status));
                out["article_id"] = json!(state.article_id);
                out["article_urls"] = json!(urls);
                out["fail_idx"] = state.fail_idx.unwrap_or_else(|| json!([]));
                out["source"] = json!("wechat");
            }
        }
        Ok(out)
    }

    /// Deletes a published article (`index` 0: all its articles; else the one at `index`, from 1).
    /// Deleting is final at WeChat (the article's links stop working).
    ///
    /// # Errors
    /// The account's states; WeChat's refusal.
    pub async fn delete_publication(
        &self,
        caller: &Caller,
        appid: &str,
        article_id: &str,
        index: u64,
    ) -> Result<(), ActError> {
        plausible_id(article_id, "article_id")?;
        if index > crate::article::MAX_ARTICLES as u64 {
            return Err(ActError::Invalid(format!("index: 0 (all) or 1 to {}", crate::article::MAX_ARTICLES)));
        }
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, PUBLISH_SETS, PUBLISH_WHAT)?;
        self.with_account_token(record, false, |token| async move {
            self.wechat.delete_publication(&token, article_id, index).await
        })
        .await?;
        tracing::info!(authorizer = %appid, article_id, index, "published article deleted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::service::ActError;
    use crate::service::testing::{ACCOUNT, MemoryStaging, backend, permanent_image, world};

    #[tokio::test]
    async fn a_publication_is_submitted_kept_with_its_draft_and_read_from_wechat_until_pushed() {
        let w = world().await;
        let staging = MemoryStaging::default();
        let (cover, _) = permanent_image(&w, &staging, 9).await;
        let publishing = w.platform.publishing();
        let draft = serde_json::from_value(
            json!({"articles": [{"title": "公告", "content": "<p>营业时间</p>", "cover": cover}]}),
        )
        .expect("a draft");
        let media_id = publishing.create_draft(&backend(), ACCOUNT, &draft).await.expect("kept");

        let publish_id = publishing.publish_draft(&backend(), ACCOUNT, &media_id).await.expect("submitted");
        assert_eq!(w.standin.calls("freepublish_submit"), 1);
        let state = publishing.publication(&backend(), ACCOUNT, &publish_id).await.expect("read");
        assert_eq!((&state["media_id"], &state["source"]), (&json!(media_id), &json!("wechat")), "{state}");
        assert!(state.get("submitted_by").is_none(), "who submitted stays in the logs: {state}");
        assert!(state["status"].is_string(), "{state}");

        let refused = publishing.publish_draft(&backend(), ACCOUNT, "not a media id!").await;
        assert!(matches!(refused, Err(ActError::Invalid(_))), "{refused:?}");
        assert_eq!(w.standin.calls("freepublish_submit"), 1, "nothing malformed reached WeChat");
    }
}
