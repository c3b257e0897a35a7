//! Follower tags at WeChat (conditional menus and mass sends address them): create, list, rename,
//! delete, tag and untag followers in batches of at most [`TAG_BATCH`], a follower's tags
//! (<https://developers.weixin.qq.com/doc/service/api/usermanage/tag/api_createtag>,
//! <https://developers.weixin.qq.com/doc/service/api/usermanage/tag/api_batchtagging>).
//! Permission set 2.

use serde_json::{Value, json};

use super::{ApiError, WeChatClient};
use crate::secret::Secret;

/// Followers per `batchtagging` / `batchuntagging` call at most (WeChat: 40032 past it).
pub const TAG_BATCH: usize = 50;

/// One of the account's tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// WeChat's id (0, 1 and 2 are WeChat's own).
    pub id: i64,
    /// Its name.
    pub name: String,
    /// How many followers carry it.
    pub count: u64,
}

impl WeChatClient {
    /// `tags/create`: the new tag's id.
    ///
    /// # Errors
    /// [`ApiError`] (45157 a name in use, 45158 over 30 bytes, 45056 the account's 100 tags).
    pub async fn create_tag(&self, authorizer_token: &Secret, name: &str) -> Result<i64, ApiError> {
        let token = Some(("access_token", authorizer_token));
        let out: Value =
            self.post_with("tags/create", "/cgi-bin/tags/create", token, &json!({"tag": {"name": name}})).await?;
        Ok(out.pointer("/tag/id").and_then(Value::as_i64).unwrap_or(-1))
    }

    /// `tags/get`: every tag of the account.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn tags(&self, authorizer_token: &Secret) -> Result<Vec<Tag>, ApiError> {
        let out: Value = self.get("tags/get", "/cgi-bin/tags/get", authorizer_token, &[]).await?;
        let list = out.get("tags").and_then(Value::as_array).cloned().unwrap_or_default();
        Ok(list
            .iter()
            .filter_map(|tag| {
                Some(Tag {
                    id: tag.get("id")?.as_i64()?,
                    name: tag.get("name")?.as_str()?.to_owned(),
                    count: tag.get("count").and_then(Value::as_u64).unwrap_or(0),
                })
            })
            .collect())
    }

    /// `tags/update`: renames tag `id`.
    ///
    /// # Errors
    /// [`ApiError`] (45058 a tag of WeChat's own, 45157, 45158).
    pub async fn rename_tag(&self, authorizer_token: &Secret, id: i64, name: &str) -> Result<(), ApiError> {
        let token = Some(("access_token", authorizer_token));
        let body = json!({"tag": {"id": id, "name": name}});
        let _: Value = self.post_with("tags/update", "/cgi-bin/tags/update", token, &body).await?;
        Ok(())
    }

    /// `tags/delete`: tag `id` goes, from every follower too.
    ///
    /// # Errors
    /// [`ApiError`] (45058, 45057 a tag more than 100,000 followers carry).
    pub async fn delete_tag(&self, authorizer_token: &Secret, id: i64) -> Result<(), ApiError> {
        let token = Some(("access_token", authorizer_token));
        let _: Value =
            self.post_with("tags/delete", "/cgi-bin/tags/delete", token, &json!({"tag": {"id": id}})).await?;
        Ok(())
    }

    /// `tags/members/batchtagging` (`tag`) or `batchuntagging`: at most [`TAG_BATCH`] followers.
    ///
    /// # Errors
    /// [`ApiError`] (40032 over the batch, 45159 no such tag, 45059 a follower's 20 tags, 49003 a
    /// follower of another account).
    pub async fn tag_followers(
        &self,
        authorizer_token: &Secret,
        id: i64,
        openids: &[String],
        tag: bool,
    ) -> Result<(), ApiError> {
        let token = Some(("access_token", authorizer_token));
        let (call, path) = if tag {
            ("tags/members/batchtagging", "/cgi-bin/tags/members/batchtagging")
        } else {
            ("tags/members/batchuntagging", "/cgi-bin/tags/members/batchuntagging")
        };
        let _: Value = self.post_with(call, path, token, &json!({"openid_list": openids, "tagid": id})).await?;
        Ok(())
    }

    /// `tags/getidlist`: the tags a follower carries.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn follower_tags(&self, authorizer_token: &Secret, openid: &str) -> Result<Vec<i64>, ApiError> {
        let token = Some(("access_token", authorizer_token));
        let out: Value =
            self.post_with("tags/getidlist", "/cgi-bin/tags/getidlist", token, &json!({"openid": openid})).await?;
        Ok(out
            .get("tagid_list")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default())
    }
}
