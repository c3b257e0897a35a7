//! The account's follower tags (标签), which conditional menus and mass sends address: listed,
//! created, renamed and deleted, carried and removed by followers in WeChat's batches of 50, and a
//! follower's tags read. WeChat's limits are checked first where the platform can know them
//! (names of 1 to 30 bytes, WeChat's own tags 0 to 2 unchangeable, at most 100 tags per account)
//! (<https://developers.weixin.qq.com/doc/service/api/usermanage/tag/api_createtag>,
//! <https://developers.weixin.qq.com/doc/service/api/usermanage/tag/api_batchtagging>); the
//! others (20 tags per follower: 45059) come back as WeChat's refusal. Permission set 2 or 100.

use super::{ActError, Caller, plausible_openid};
use crate::service::{ActingStore, Followers, Platform};
use crate::store::{AuthorizerRecord, FollowerStore};
use crate::wechat::{TAG_BATCH, Tag};

/// The permission sets tags need, either (WeChat: 61007 without).
const TAG_SETS: &[i64] = &[2, 100];
const TAG_WHAT: &str = "用户管理, follower management";

/// Tags an account may have (WeChat: 45056 past it).
pub const MAX_TAGS: usize = 100;
/// A tag's name, in bytes (WeChat: 45158).
pub const MAX_TAG_NAME_BYTES: usize = 30;
/// The highest of WeChat's own tags (0 to 2), which no API changes (45058).
const RESERVED_TAG: i64 = 2;
/// Followers one request may tag or untag (sent to WeChat in batches of [`TAG_BATCH`]).
pub const MAX_TAGGED_PER_REQUEST: usize = 500;

impl<S: ActingStore + FollowerStore> Followers<'_, S> {
    /// The account's tags with how many followers carry each.
    ///
    /// # Errors
    /// The account's states; WeChat's refusal (48001: permission set 2 not granted).
    pub async fn tags(&self, caller: &Caller, appid: &str) -> Result<Vec<Tag>, ActError> {
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, TAG_SETS, TAG_WHAT)?;
        self.tags_at_wechat(record).await
    }

    /// Creates a tag; its id.
    ///
    /// # Errors
    /// [`ActError::Invalid`] (the name, the account's 100 tags); the account's states; WeChat's
    /// refusal (45157: the name is taken).
    pub async fn create_tag(&self, caller: &Caller, appid: &str, name: &str) -> Result<Tag, ActError> {
        check_name(name)?;
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, TAG_SETS, TAG_WHAT)?;
        let existing = self.tags_at_wechat(record.clone()).await?;
        if existing.iter().any(|t| t.name == name) {
            return Err(ActError::Invalid(format!("name: the account already has a tag named {name:?}")));
        }
        if existing.len() >= MAX_TAGS {
            return Err(ActError::Invalid(format!("the account has {MAX_TAGS} tags, WeChat's most; delete one first")));
        }
        let id = self
            .with_account_token(record, false, |token| async move { self.wechat.create_tag(&token, name).await })
            .await?;
        tracing::info!(authorizer = %appid, tag = id, "tag created");
        Ok(Tag { id, name: name.to_owned(), count: 0 })
    }

    /// Renames tag `id`.
    ///
    /// # Errors
    /// [`ActError::Invalid`] (the name, WeChat's own tags); the account's states; WeChat's
    /// refusal (45159: no such tag).
    pub async fn rename_tag(&self, caller: &Caller, appid: &str, id: i64, name: &str) -> Result<(), ActError> {
        check_id(id)?;
        check_name(name)?;
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, TAG_SETS, TAG_WHAT)?;
        self.with_account_token(record, false, |token| async move { self.wechat.rename_tag(&token, id, name).await })
            .await
    }

    /// Deletes tag `id` (its followers lose it).
    ///
    /// # Errors
    /// As [`Followers::rename_tag`]; WeChat's 45057 for a tag more than 100,000 followers carry.
    pub async fn delete_tag(&self, caller: &Caller, appid: &str, id: i64) -> Result<(), ActError> {
        check_id(id)?;
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, TAG_SETS, TAG_WHAT)?;
        self.with_account_token(record, false, |token| async move { self.wechat.delete_tag(&token, id).await }).await?;
        tracing::info!(authorizer = %appid, tag = id, "tag deleted");
        Ok(())
    }

    /// Puts tag `id` on `openids` (`tag`), or takes it off, in WeChat's batches of 50; how many
    /// followers were done. A batch WeChat refuses stops the rest (the earlier batches stand:
    /// tagging again is harmless).
    ///
    /// # Errors
    /// [`ActError::Invalid`] (an OpenID, the count); the account's states; WeChat's refusal
    /// (45059: a follower has 20 tags; 49003: not the account's follower).
    pub async fn tag_followers(
        &self,
        caller: &Caller,
        appid: &str,
        id: i64,
        openids: &[String],
        tag: bool,
    ) -> Result<usize, ActError> {
        check_id(id)?;
        if openids.is_empty() || openids.len() > MAX_TAGGED_PER_REQUEST {
            return Err(ActError::Invalid(format!("openids: 1 to {MAX_TAGGED_PER_REQUEST} OpenIDs")));
        }
        if let Some(i) = openids.iter().position(|o| !plausible_openid(o)) {
            return Err(ActError::Invalid(format!("openids[{i}]: not an OpenID")));
        }
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, TAG_SETS, TAG_WHAT)?;
        for batch in openids.chunks(TAG_BATCH) {
            self.with_account_token(record.clone(), false, |token| async move {
                self.wechat.tag_followers(&token, id, batch, tag).await
            })
            .await?;
            // The ledger shows what WeChat now has; a ledger write that fails is only a stale
            // display (WeChat holds the truth), so it is logged, not answered as a failure.
            for openid in batch {
                if let Err(err) = self.store.tag_follower(appid, openid, id, tag).await {
                    tracing::warn!(authorizer = %appid, tag = id, error = %err, "follower's tag not kept in the ledger");
                }
            }
        }
        tracing::info!(authorizer = %appid, tag = id, followers = openids.len(), tagged = tag, "followers tagged");
        Ok(openids.len())
    }

    /// The ids of the tags follower `openid` carries.
    ///
    /// # Errors
    /// [`ActError::Invalid`]; the account's states; WeChat's refusal (40003: not a follower).
    pub async fn follower_tags(&self, caller: &Caller, appid: &str, openid: &str) -> Result<Vec<i64>, ActError> {
        if !plausible_openid(openid) {
            return Err(ActError::Invalid("openid: not an OpenID".into()));
        }
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, TAG_SETS, TAG_WHAT)?;
        let ids = self
            .with_account_token(record, false, |token| async move { self.wechat.follower_tags(&token, openid).await })
            .await?;
        // WeChat's answer brings the ledger's record up to date (tags set in WeChat's backend too).
        if let Ok(Some(known)) = self.store.follower(appid, openid).await {
            for (tag, add) in ids
                .iter()
                .map(|t| (*t, true))
                .chain(known.tags.iter().filter(|t| !ids.contains(t)).map(|t| (*t, false)))
            {
                if let Err(err) = self.store.tag_follower(appid, openid, tag, add).await {
                    tracing::warn!(authorizer = %appid, error = %err, "follower's tags not kept in the ledger");
                }
            }
        }
        Ok(ids)
    }
}

impl<S: ActingStore> Platform<S> {
    /// WeChat's list of the account's tags.
    pub(super) async fn tags_at_wechat(&self, record: AuthorizerRecord) -> Result<Vec<Tag>, ActError> {
        self.with_account_token(record, false, |token| async move { self.wechat.tags(&token).await }).await
    }
}

fn check_name(name: &str) -> Result<(), ActError> {
    if name.trim().is_empty() || name.len() > MAX_TAG_NAME_BYTES {
        return Err(ActError::Invalid(format!(
            "name: 1 to {MAX_TAG_NAME_BYTES} bytes (about 10 Chinese characters); {} given",
            name.len()
        )));
    }
    Ok(())
}

fn check_id(id: i64) -> Result<(), ActError> {
    if id <= RESERVED_TAG {
        return Err(ActError::Invalid(format!("tag {id}: tags 0 to 2 are WeChat's own and cannot be changed")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::service::ActError;
    use crate::service::testing::{ACCOUNT, backend, world};

    #[tokio::test]
    async fn a_tag_is_created_renamed_and_deleted_at_wechat() {
        let w = world().await;
        let tags = w.platform.followers();
        let made = tags.create_tag(&backend(), ACCOUNT, "老顾客").await.expect("created");
        assert!(made.id > super::RESERVED_TAG, "WeChat's own tags are 0 to 2: {made:?}");
        let listed = tags.tags(&backend(), ACCOUNT).await.expect("listed");
        assert!(listed.iter().any(|t| t.id == made.id && t.name == "老顾客" && t.count == 0), "{listed:?}");

        tags.rename_tag(&backend(), ACCOUNT, made.id, "熟客").await.expect("renamed");
        let listed = tags.tags(&backend(), ACCOUNT).await.expect("listed");
        assert!(listed.iter().any(|t| t.id == made.id && t.name == "熟客"), "{listed:?}");

        tags.delete_tag(&backend(), ACCOUNT, made.id).await.expect("deleted");
        let listed = tags.tags(&backend(), ACCOUNT).await.expect("listed");
        assert!(listed.iter().all(|t| t.id != made.id), "{listed:?}");
    }

    #[tokio::test]
    async fn what_wechat_would_refuse_is_refused_before_any_call() {
        let w = world().await;
        let tags = w.platform.followers();
        tags.create_tag(&backend(), ACCOUNT, "老顾客").await.expect("created");
        let creates = w.standin.calls("tags_create");
        for name in ["", "   ", &"标".repeat(11), "老顾客"] {
            let refused = tags.create_tag(&backend(), ACCOUNT, name).await;
            assert!(matches!(refused, Err(ActError::Invalid(_))), "{name:?}: {refused:?}");
        }
        // 10 Chinese characters are 30 bytes: WeChat's most, still taken.
        tags.create_tag(&backend(), ACCOUNT, &"标".repeat(10)).await.expect("30 bytes");
        assert_eq!(w.standin.calls("tags_create"), creates + 1, "only the valid name reached WeChat");

        let renames = w.standin.calls("tags_update");
        for id in [0, 2] {
            let refused = tags.rename_tag(&backend(), ACCOUNT, id, "星标").await;
            assert!(matches!(refused, Err(ActError::Invalid(_))), "WeChat's own tag {id}: {refused:?}");
        }
        assert_eq!(w.standin.calls("tags_update"), renames, "WeChat's own tags never reach WeChat");
        let made = tags.create_tag(&backend(), ACCOUNT, "星标客户").await.expect("created");
        tags.rename_tag(&backend(), ACCOUNT, made.id, "星标").await.expect("renamed");
        assert_eq!(w.standin.calls("tags_update"), renames + 1, "a valid rename does");
    }

    #[tokio::test]
    async fn followers_are_tagged_in_wechats_batches_of_fifty_and_read_back() {
        let w = world().await;
        w.standin.seed_followers(ACCOUNT, "oTagged", 120);
        let tags = w.platform.followers();
        let tag = tags.create_tag(&backend(), ACCOUNT, "活动").await.expect("created");
        let openids: Vec<String> = (0..120).map(|i| format!("oTagged{i:06}")).collect();

        let batches = w.standin.calls("tags_batchtagging");
        let done = tags.tag_followers(&backend(), ACCOUNT, tag.id, &openids, true).await.expect("tagged");
        assert_eq!(done, 120);
        assert_eq!(w.standin.calls("tags_batchtagging"), batches + 3, "120 followers: 50 + 50 + 20");
        let listed = tags.tags(&backend(), ACCOUNT).await.expect("listed");
        assert!(listed.iter().any(|t| t.id == tag.id && t.count == 120), "WeChat counts them: {listed:?}");
        let carried = tags.follower_tags(&backend(), ACCOUNT, "oTagged000119").await.expect("read");
        assert!(carried.contains(&tag.id), "{carried:?}");

        let too_many: Vec<String> = (0..=super::MAX_TAGGED_PER_REQUEST).map(|i| format!("o{i}")).collect();
        let refused = tags.tag_followers(&backend(), ACCOUNT, tag.id, &too_many, true).await;
        assert!(matches!(refused, Err(ActError::Invalid(_))), "{refused:?}");
        let refused = tags.tag_followers(&backend(), ACCOUNT, tag.id, &["not an openid".to_owned()], true).await;
        assert!(matches!(refused, Err(ActError::Invalid(_))), "{refused:?}");
        assert_eq!(w.standin.calls("tags_batchtagging"), batches + 3, "nothing refused reached WeChat");
    }
}
