//! Follower tags as WeChat keeps them (`tags/create|get|update|delete`, `tags/members/batchtagging`
//! and `batchuntagging`, `tags/getidlist`), with WeChat's limits and codes
//! (<https://developers.weixin.qq.com/doc/service/api/usermanage/tag/api_createtag>,
//! <https://developers.weixin.qq.com/doc/service/api/usermanage/tag/api_batchtagging>): at most 100
//! tags per account (45056), names of 1 to 30 bytes (45158) and unique (45157), the reserved tags
//! 0, 1 and 2 unchangeable (45058), at most 50 followers per batch (40032), a tag WeChat does not
//! know (45159), at most 20 tags on a follower (45059), a follower of another account (49003).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{World, WxError};

/// Permission sets that may manage tags (any one).
const TAG_SETS: &[i64] = &[2, 100];
/// Tags 0, 1 and 2 are WeChat's own (blacklist, stars, …): never changed by an API.
const RESERVED: i64 = 2;

/// One account's tags and who carries them.
#[derive(Debug, Default)]
pub(crate) struct Tags {
    next: i64,
    names: BTreeMap<i64, String>,
    carried: BTreeMap<String, BTreeSet<i64>>,
}

impl World {
    fn tags_of(&mut self, token: Option<&str>) -> Result<(String, &mut Tags), WxError> {
        let appid = self.token_account(token)?;
        let granted =
            self.accounts.get(&appid).is_some_and(|s| s.account.func_info.iter().any(|id| TAG_SETS.contains(id)));
        if !granted {
            return Err((48001, "api unauthorized"));
        }
        let tags = self.tags.entry(appid.clone()).or_insert_with(|| Tags { next: 100, ..Tags::default() });
        Ok((appid, tags))
    }

    /// `tags/create`.
    pub(crate) fn create_tag(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let name = body.pointer("/tag/name").and_then(Value::as_str).unwrap_or_default().to_owned();
        let (_, tags) = self.tags_of(token)?;
        check_name(tags, &name, None)?;
        if tags.names.len() >= 100 {
            return Err((45056, "too many tags"));
        }
        let id = tags.next;
        tags.next += 1;
        tags.names.insert(id, name.clone());
        Ok(json!({"tag": {"id": id, "name": name}}))
    }

    /// `tags/get`: every tag with how many carry it.
    pub(crate) fn list_tags(&mut self, token: Option<&str>) -> Result<Value, WxError> {
        let (_, tags) = self.tags_of(token)?;
        let count = |id: i64| tags.carried.values().filter(|set| set.contains(&id)).count();
        let list: Vec<Value> =
            tags.names.iter().map(|(id, name)| json!({"id": id, "name": name, "count": count(*id)})).collect();
        Ok(json!({"tags": list}))
    }

    /// `tags/update`.
    pub(crate) fn update_tag(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let id = body.pointer("/tag/id").and_then(Value::as_i64).unwrap_or(-1);
        let name = body.pointer("/tag/name").and_then(Value::as_str).unwrap_or_default().to_owned();
        let (_, tags) = self.tags_of(token)?;
        if (0..=RESERVED).contains(&id) {
            return Err((45058, "can't modify sys tag"));
        }
        if !tags.names.contains_key(&id) {
            return Err((45159, "invalid tag id"));
        }
        check_name(tags, &name, Some(id))?;
        tags.names.insert(id, name);
        Ok(json!({}))
    }

    /// `tags/delete`: the tag goes from every follower too.
    pub(crate) fn delete_tag(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let id = body.pointer("/tag/id").and_then(Value::as_i64).unwrap_or(-1);
        let (_, tags) = self.tags_of(token)?;
        if (0..=RESERVED).contains(&id) {
            return Err((45058, "can't modify sys tag"));
        }
        if tags.names.remove(&id).is_none() {
            return Err((45159, "invalid tag id"));
        }
        for set in tags.carried.values_mut() {
            set.remove(&id);
        }
        Ok(json!({}))
    }

    /// `tags/members/batchtagging` (`tag`) and `batchuntagging` (`!tag`).
    pub(crate) fn tag_members(&mut self, token: Option<&str>, body: &Value, tag: bool) -> Result<Value, WxError> {
        let id = body.get("tagid").and_then(Value::as_i64).unwrap_or(-1);
        let openids: Vec<String> = body
            .get("openid_list")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let appid = self.token_account(token)?;
        if openids.is_empty() || openids.len() > 50 {
            return Err((40032, "invalid openid list size"));
        }
        if openids.iter().any(|o| !self.followers.contains_key(&(appid.clone(), o.clone()))) {
            return Err((49003, "not match openid with appid"));
        }
        let (_, tags) = self.tags_of(token)?;
        if !tags.names.contains_key(&id) {
            return Err((45159, "invalid tag id"));
        }
        if tag && openids.iter().any(|o| tags.carried.get(o).is_some_and(|set| !set.contains(&id) && set.len() >= 20)) {
            return Err((45059, "user tag count exceeded the limit"));
        }
        for openid in openids {
            let set = tags.carried.entry(openid).or_default();
            if tag {
                set.insert(id);
            } else {
                set.remove(&id);
            }
        }
        Ok(json!({}))
    }

    /// `tags/getidlist`: a follower's tags.
    pub(crate) fn tags_of_follower(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let openid = body.get("openid").and_then(Value::as_str).unwrap_or_default().to_owned();
        let appid = self.token_account(token)?;
        if !self.followers.contains_key(&(appid, openid.clone())) {
            return Err((40003, "invalid openid"));
        }
        let (_, tags) = self.tags_of(token)?;
        let ids: Vec<i64> = tags.carried.get(&openid).map(|set| set.iter().copied().collect()).unwrap_or_default();
        Ok(json!({"tagid_list": ids}))
    }
}

impl World {
    /// Whether the account has tag `id` (conditional menus match on tags).
    pub(crate) fn tag_exists(&self, appid: &str, id: i64) -> bool {
        self.tags.get(appid).is_some_and(|tags| tags.names.contains_key(&id))
    }

    /// The tags a follower carries.
    pub(crate) fn tags_carried(&self, appid: &str, openid: &str) -> BTreeSet<i64> {
        self.tags.get(appid).and_then(|tags| tags.carried.get(openid)).cloned().unwrap_or_default()
    }
}

fn check_name(tags: &Tags, name: &str, except: Option<i64>) -> Result<(), WxError> {
    if name.is_empty() || name.len() > 30 {
        return Err((45158, "tag name too long"));
    }
    if tags.names.iter().any(|(id, n)| n == name && Some(*id) != except) {
        return Err((45157, "invalid tag name"));
    }
    Ok(())
}

impl Tags {
    /// Whether the account has tag `id`.
    pub(crate) fn has(&self, id: i64) -> bool {
        self.names.contains_key(&id)
    }

    /// The followers carrying tag `id`.
    pub(crate) fn carriers(&self, id: i64) -> Vec<String> {
        self.carried.iter().filter(|(_, tags)| tags.contains(&id)).map(|(openid, _)| openid.clone()).collect()
    }
}
