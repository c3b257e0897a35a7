//! The account's draft box (草稿箱): articles written through the platform are checked against
//! WeChat's rules first (`crate::article`: the field named, the HTML reduced to what WeChat keeps,
//! nothing sent when anything is wrong), their cover and images resolved from the account's media
//! library (a cover must be permanent material; an image in the content is an uploaded article
//! image), and only then added at WeChat. WeChat keeps the drafts: they are listed, read, updated
//! and deleted there, so the platform holds no second copy to drift from it.

use std::collections::HashMap;

use serde_json::Value;

use super::publishing::{PUBLISH_SETS, PUBLISH_WHAT};
use super::{ActError, Caller};
use crate::article::{ArticleInput, DraftInput, Resolve};
use crate::media::{Kind, Lifetime};
use crate::service::{ActingStore, Publishing};
use crate::store::{MediaStore, StoredMedium};
use crate::wechat::ArticleList;

/// The permission sets the draft box needs (either; WeChat: 48001/61007 without them).
const DRAFT_SETS: &[i64] = &[11, 100];
const DRAFT_WHAT: &str = "素材管理, the draft box and material";
/// Drafts on one page of the list (WeChat's `count`: 1 to 20).
pub const MAX_DRAFT_PAGE: u64 = 20;

/// The account's media named by a draft, looked up before the draft is checked.
struct Library {
    media: HashMap<String, Option<StoredMedium>>,
    now: i64,
}

impl Library {
    fn named(&self, handle: &str) -> Result<&StoredMedium, String> {
        self.media
            .get(handle)
            .and_then(Option::as_ref)
            .ok_or_else(|| format!("{handle:?}: no medium of this account has that handle"))
    }
}

impl Resolve for Library {
    fn cover(&self, handle: &str) -> Result<String, String> {
        let medium = self.named(handle)?;
        if medium.lifetime != Lifetime::Permanent {
            return Err(format!(
                "{handle:?} is a temporary medium; a cover must be permanent material (an image kept with permanent: true)"
            ));
        }
        if !matches!(medium.kind, Kind::Image | Kind::Thumb) {
            return Err(format!("{handle:?} is {}; a cover is an image", medium.kind));
        }
        medium.media_id.clone().ok_or_else(|| format!("{handle:?} is not uploaded to WeChat yet"))
    }

    fn image(&self, handle: &str) -> Result<String, String> {
        let medium = self.named(handle)?;
        let fits =
            medium.kind == Kind::ArticleImage || (medium.kind == Kind::Image && medium.lifetime == Lifetime::Permanent);
        if !fits {
            return Err(format!("media:{handle} is {}; an image in an article is an article_image", medium.kind));
        }
        if medium.expires_at.is_some_and(|at| at <= self.now) {
            return Err(format!("media:{handle} has expired"));
        }
        medium.url.clone().ok_or_else(|| format!("media:{handle} is not uploaded to WeChat yet"))
    }
}

/// A draft's `media_id` as a path names it.
fn draft_id(media_id: &str) -> Result<&str, ActError> {
    let plausible = !media_id.is_empty() && media_id.len() <= 128 && media_id.bytes().all(|b| b.is_ascii_graphic());
    if plausible { Ok(media_id) } else { Err(ActError::Invalid("the draft's media_id, as WeChat gave it".into())) }
}

impl<S: ActingStore + MediaStore> Publishing<'_, S> {
    /// The media a draft names, by handle (`None`: not the account's).
    async fn library(&self, appid: &str, handles: Vec<String>) -> Result<Library, ActError> {
        let mut media = HashMap::new();
        for handle in handles {
            let medium = if crate::media::is_handle(&handle) { self.store.medium(appid, &handle).await? } else { None };
            media.insert(handle, medium);
        }
        Ok(Library { media, now: self.now() })
    }

    /// Adds a draft at WeChat: WeChat's `media_id` of it.
    ///
    /// # Errors
    /// [`ActError::Invalid`] naming the field (nothing sent); the account's states; WeChat's
    /// refusal.
    pub async fn create_draft(&self, caller: &Caller, appid: &str, draft: &DraftInput) -> Result<String, ActError> {
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, DRAFT_SETS, DRAFT_WHAT)?;
        let library = self.library(appid, draft.handles()).await?;
        let articles = draft.to_wechat(&library).map_err(ActError::Invalid)?;
        // Like a send: an answer lost after the request left may mean the draft was made.
        let media_id = self
            .with_account_token(record, true, |token| {
                let articles = &articles;
                async move { self.wechat.add_draft(&token, articles).await }
            })
            .await?;
        tracing::info!(authorizer = %appid, draft = %media_id, articles = articles.len(), "draft added");
        Ok(media_id)
    }

    /// Replaces article `index` of a draft (read first: the draft must be there and have it).
    ///
    /// # Errors
    /// As [`Publishing::create_draft`]; [`ActError::Invalid`] for an index the draft has not.
    pub async fn update_draft(
        &self,
        caller: &Caller,
        appid: &str,
        media_id: &str,
        index: usize,
        article: &ArticleInput,
    ) -> Result<(), ActError> {
        let media_id = draft_id(media_id)?;
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, DRAFT_SETS, DRAFT_WHAT)?;
        let items = self
            .with_account_token(record.clone(), false, |token| async move { self.wechat.draft(&token, media_id).await })
            .await?;
        let count = items.as_array().map_or(0, Vec::len);
        if index >= count {
            return Err(ActError::Invalid(format!("index: the draft has {count} article(s), numbered from 0")));
        }
        let handles = DraftInput { articles: vec![article.clone()] }.handles();
        let library = self.library(appid, handles).await?;
        let body = article.to_wechat(&format!("articles[{index}]"), count == 1, &library).map_err(ActError::Invalid)?;
        self.with_account_token(record, false, |token| {
            let body = &body;
            async move { self.wechat.update_draft(&token, media_id, index, body).await }
        })
        .await?;
        tracing::info!(authorizer = %appid, draft = %media_id, index, "draft updated");
        Ok(())
    }

    /// A draft's articles as WeChat keeps them.
    ///
    /// # Errors
    /// The account's states; WeChat's refusal (40007: no such draft).
    pub async fn draft(&self, caller: &Caller, appid: &str, media_id: &str) -> Result<Value, ActError> {
        let media_id = draft_id(media_id)?;
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, DRAFT_SETS, DRAFT_WHAT)?;
        self.with_account_token(record, false, |token| async move { self.wechat.draft(&token, media_id).await }).await
    }

    /// A page of the account's drafts or published articles, newest first (`total_count`,
    /// `item`), with or without their content: the two lists need different permission sets.
    ///
    /// # Errors
    /// The account's states; WeChat's refusal.
    pub async fn article_page(
        &self,
        caller: &Caller,
        appid: &str,
        list: ArticleList,
        offset: u64,
        count: u64,
        with_content: bool,
    ) -> Result<Value, ActError> {
        let record = self.account_for(caller, appid).await?;
        match list {
            ArticleList::Drafts => super::require_sets(&record, DRAFT_SETS, DRAFT_WHAT)?,
            ArticleList::Published => super::require_sets(&record, PUBLISH_SETS, PUBLISH_WHAT)?,
        }
        let count = count.clamp(1, MAX_DRAFT_PAGE);
        self.with_account_token(record, false, |token| async move {
            self.wechat.article_page(&token, list, offset, count, with_content).await
        })
        .await
    }

    /// Deletes a draft at WeChat.
    ///
    /// # Errors
    /// The account's states; WeChat's refusal (40007: no such draft).
    pub async fn delete_draft(&self, caller: &Caller, appid: &str, media_id: &str) -> Result<(), ActError> {
        let media_id = draft_id(media_id)?;
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, DRAFT_SETS, DRAFT_WHAT)?;
        self.with_account_token(record, false, |token| async move { self.wechat.delete_draft(&token, media_id).await })
            .await?;
        tracing::info!(authorizer = %appid, draft = %media_id, "draft deleted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::article::DraftInput;
    use crate::service::ActError;
    use crate::service::testing::{ACCOUNT, MemoryStaging, backend, permanent_image, world};

    fn draft(value: serde_json::Value) -> DraftInput {
        serde_json::from_value(value).expect("a draft's shape")
    }

    #[tokio::test]
    async fn a_draft_is_kept_at_wechat_with_its_cover_resolved_and_a_foreign_image_never_sent() {
        let w = world().await;
        let staging = MemoryStaging::default();
        let (cover, cover_id) = permanent_image(&w, &staging, 7).await;
        let publishing = w.platform.publishing();

        let media_id = publishing
            .create_draft(
                &backend(),
                ACCOUNT,
                &draft(json!({"articles": [
                    {"title": "新品上市", "content": "<p>春季新品</p><script>alert(1)</script>", "cover": cover}
                ]})),
            )
            .await
            .expect("kept at WeChat");
        assert_eq!(w.standin.draft_count(ACCOUNT), 1);
        let kept = publishing.draft(&backend(), ACCOUNT, &media_id).await.expect("read back");
        let article = &kept[0];
        assert_eq!((&article["title"], &article["thumb_media_id"]), (&json!("新品上市"), &json!(cover_id)), "{kept}");
        let content = article["content"].as_str().unwrap_or_default();
        assert!(content.contains("春季新品") && !content.contains("script"), "reduced to what WeChat keeps: {content}");

        for (refused, why) in [
            (
                json!({"articles": [{"title": "外链", "content": "<img src=\"https://elsewhere.example/a.png\">", "cover": cover}]}),
                "elsewhere.example",
            ),
            (json!({"articles": [{"title": "无封面", "content": "<p>x</p>"}]}), "cover"),
        ] {
            let answer = publishing.create_draft(&backend(), ACCOUNT, &draft(refused)).await;
            assert!(matches!(&answer, Err(ActError::Invalid(m)) if m.contains(why)), "{why}: {answer:?}");
        }
        assert_eq!(w.standin.draft_count(ACCOUNT), 1, "nothing refused reached WeChat");
    }
}
