//! The draft box (草稿箱) as WeChat keeps it
//! (<https://developers.weixin.qq.com/doc/service/api/draftbox/draftmanage/api_draft_add> and the
//! pages beside it): permission set 11 or 100 (48001 without); 1 to 8 articles; a title of at most
//! 32 characters (45003), an author of at most 16 (45110), a digest of at most 128 (45004),
//! content under 20,000 characters and 1 MB (45002), a cover that is the account's permanent
//! image or thumb (40007). Like WeChat it keeps the HTML without its scripts and drops images not
//! on its own host, silently: a test reading a draft back sees what WeChat would have kept.

use serde_json::{Value, json};

use super::{World, WxError};

/// The sets either of which opens the draft box.
const DRAFT_SETS: &[i64] = &[11, 100];
/// The set publishing needs.
const PUBLISH_SET: i64 = 7;

/// A publication WeChat keeps: its articles once published.
#[derive(Debug, Clone)]
pub(crate) struct Publication {
    appid: String,
    /// 0 published, 1 publishing, 3 failed, …
    pub(crate) status: i64,
    article_id: Option<String>,
    /// The published articles (`None` once deleted), with their links.
    articles: Vec<Option<(Value, String)>>,
    fail_idx: Vec<i64>,
    update_time: i64,
}

/// A draft WeChat keeps.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub(super) appid: String,
    articles: Vec<Value>,
    update_time: i64,
}

impl World {
    fn draft_account(&self, token: Option<&str>) -> Result<String, WxError> {
        let appid = self.token_account(token)?;
        let granted =
            self.accounts.get(&appid).is_some_and(|s| s.account.func_info.iter().any(|id| DRAFT_SETS.contains(id)));
        if granted { Ok(appid) } else { Err((48001, "api unauthorized")) }
    }

    /// One article as WeChat keeps it, or its refusal.
    fn kept_article(&self, appid: &str, article: &Value) -> Result<Value, WxError> {
        let text = |name: &str| article.get(name).and_then(Value::as_str).unwrap_or_default();
        let chars = |name: &str| text(name).chars().count();
        if text("title").is_empty() {
            return Err((44003, "empty news data"));
        }
        if chars("title") > 32 {
            return Err((45003, "title size out of limit"));
        }
        if chars("author") > 16 {
            return Err((45110, "author size out of limit"));
        }
        if chars("digest") > 128 {
            return Err((45004, "description size out of limit"));
        }
        if chars("content") >= 20_000 || text("content").len() >= 1024 * 1024 {
            return Err((45002, "content size out of limit"));
        }
        let thumb = text("thumb_media_id");
        let cover_ok = self.media.get(thumb).is_some_and(|m| m.appid == appid && m.permanent && m.is_picture());
        if !cover_ok {
            return Err((40007, "invalid media_id"));
        }
        let mut kept = article.clone();
        kept["content"] = json!(wechat_keeps(text("content")));
        kept["url"] = json!(format!("http://mp.weixin.qq.com/s?__biz=standin&mid={}", self.counter));
        Ok(kept)
    }

    fn drafts_of(&self, appid: &str, media_id: &str) -> Result<&Draft, WxError> {
        self.drafts.get(media_id).filter(|d| d.appid == appid).ok_or((40007, "invalid media_id"))
    }

    /// `draft/add`.
    pub(crate) fn add_draft(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.draft_account(token)?;
        let articles = body.get("articles").and_then(Value::as_array).filter(|a| (1..=8).contains(&a.len()));
        let articles = articles.ok_or((44003, "empty news data"))?;
        let kept = articles.iter().map(|a| self.kept_article(&appid, a)).collect::<Result<Vec<_>, _>>()?;
        self.counter += 1;
        let media_id = format!("standin_draft_{}", self.counter);
        self.drafts.insert(media_id.clone(), Draft { appid, articles: kept, update_time: self.now() });
        Ok(json!({"media_id": media_id}))
    }

    /// `draft/update`.
    pub(crate) fn update_draft(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.draft_account(token)?;
        let media_id = body.get("media_id").and_then(Value::as_str).unwrap_or_default().to_owned();
        let count = self.drafts_of(&appid, &media_id)?.articles.len();
        let index = body.get("index").and_then(Value::as_u64).and_then(|i| usize::try_from(i).ok());
        let index = index.filter(|i| *i < count).ok_or((40035, "invalid args: index"))?;
        let kept = self.kept_article(&appid, body.get("articles").unwrap_or(&Value::Null))?;
        let now = self.now();
        let draft = self.drafts.get_mut(&media_id).ok_or((40007, "invalid media_id"))?;
        draft.articles[index] = kept;
        draft.update_time = now;
        Ok(json!({"errcode": 0, "errmsg": "ok"}))
    }

    /// `draft/get`.
    pub(crate) fn get_draft(&self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.draft_account(token)?;
        let media_id = body.get("media_id").and_then(Value::as_str).unwrap_or_default();
        Ok(json!({"news_item": self.drafts_of(&appid, media_id)?.articles}))
    }

    /// `draft/batchget`: newest first, `count` 1–20, `no_content` 1 leaves the content out.
    pub(crate) fn batchget_drafts(&self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.draft_account(token)?;
        let offset = body.get("offset").and_then(Value::as_u64).ok_or((40035, "invalid args: offset"))?;
        let count = body.get("count").and_then(Value::as_u64).filter(|c| (1..=20).contains(c));
        let count = count.ok_or((40035, "invalid args: count"))?;
        let no_content = body.get("no_content").and_then(Value::as_u64) == Some(1);
        let mut all: Vec<(&String, &Draft)> = self.drafts.iter().filter(|(_, d)| d.appid == appid).collect();
        all.sort_by(|a, b| b.1.update_time.cmp(&a.1.update_time).then_with(|| b.0.cmp(a.0)));
        let items: Vec<Value> = all
            .iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(count).unwrap_or(0))
            .map(|(id, d)| {
                let news: Vec<Value> = d
                    .articles
                    .iter()
                    .map(|a| {
                        let mut a = a.clone();
                        if no_content {
                            a.as_object_mut().map(|o| o.remove("content"));
                        }
                        a
                    })
                    .collect();
                json!({"media_id": id, "content": {"news_item": news}, "update_time": d.update_time})
            })
            .collect();
        Ok(json!({"total_count": all.len(), "item_count": items.len(), "item": items}))
    }

    /// `draft/delete`.
    pub(crate) fn delete_draft(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.draft_account(token)?;
        let media_id = body.get("media_id").and_then(Value::as_str).unwrap_or_default().to_owned();
        self.drafts_of(&appid, &media_id)?;
        self.drafts.remove(&media_id);
        Ok(json!({"errcode": 0, "errmsg": "ok"}))
    }

    /// `freepublish/submit`: the draft leaves the box and is published (the outcome is kept at
    /// once and pushed as `PUBLISHJOBFINISH` by the caller of this, shortly after). The next
    /// publications a test marked as failing end with status 3.
    pub(crate) fn submit_publication(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        let granted = self.accounts.get(&appid).is_some_and(|s| s.account.func_info.contains(&PUBLISH_SET));
        if !granted {
            return Err((48001, "api unauthorized"));
        }
        let media_id = body.get("media_id").and_then(Value::as_str).unwrap_or_default().to_owned();
        let draft = self.drafts_of(&appid, &media_id)?.clone();
        self.drafts.remove(&media_id);
        self.counter += 1;
        let publish_id = format!("{}", 2_247_000_000 + self.counter);
        let fails = self.failing_publications > 0;
        self.failing_publications = self.failing_publications.saturating_sub(1);
        let now = self.now();
        let publication = if fails {
            Publication {
                appid,
                status: 3,
                article_id: None,
                articles: Vec::new(),
                fail_idx: vec![1],
                update_time: now,
            }
        } else {
            let article_id = format!("standin_article_{}", self.counter);
            let articles = draft
                .articles
                .into_iter()
                .enumerate()
                .map(|(i, a)| Some((a, format!("http://mp.weixin.qq.com/s/{article_id}_{}", i + 1))))
                .collect();
            Publication {
                appid,
                status: 0,
                article_id: Some(article_id),
                articles,
                fail_idx: Vec::new(),
                update_time: now,
            }
        };
        self.publications.insert(publish_id.clone(), publication);
        self.publish_pushes_due.push(publish_id.clone());
        Ok(json!({"errcode": 0, "errmsg": "ok", "publish_id": publish_id, "msg_data_id": self.counter}))
    }

    /// The `PUBLISHJOBFINISH` push for `publish_id`: the account and the XML.
    pub(crate) fn publish_finished_xml(&self, publish_id: &str) -> Option<(String, String)> {
        let p = self.publications.get(publish_id)?;
        let items: String = p
            .articles
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.as_ref().map(|(_, url)| (i, url)))
            .map(|(i, url)| format!("<item><idx>{}</idx><article_url><![CDATA[{url}]]></article_url></item>", i + 1))
            .collect();
        let fails: String = p.fail_idx.iter().map(|i| format!("<fail_idx>{i}</fail_idx>")).collect();
        let article_id =
            p.article_id.as_deref().map(|a| format!("<article_id><![CDATA[{a}]]></article_id>")).unwrap_or_default();
        let xml = format!(
            "<xml><ToUserName><![CDATA[{}]]></ToUserName><FromUserName><![CDATA[o_admin_{}]]></FromUserName><CreateTime>{}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[PUBLISHJOBFINISH]]></Event><PublishEventInfo><publish_id>{publish_id}</publish_id><publish_status>{}</publish_status>{article_id}<article_detail><count>{}</count>{items}</article_detail>{fails}</PublishEventInfo></xml>",
            self.user_name(&p.appid),
            p.appid,
            self.now(),
            p.status,
            p.articles.len(),
        );
        Some((p.appid.clone(), xml))
    }

    fn publication_of(&self, appid: &str, publish_id: &str) -> Result<&Publication, WxError> {
        self.publications.get(publish_id).filter(|p| p.appid == appid).ok_or((40007, "invalid media_id"))
    }

    /// `freepublish/get`.
    pub(crate) fn get_publication(&self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        let publish_id = match body.get("publish_id") {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err((40035, "invalid args: publish_id")),
        };
        let p = self.publication_of(&appid, &publish_id)?;
        let items: Vec<Value> = p
            .articles
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.as_ref().map(|(_, url)| json!({"idx": i + 1, "article_url": url})))
            .collect();
        Ok(json!({"publish_id": publish_id, "publish_status": p.status, "article_id": p.article_id,
            "article_detail": {"count": items.len(), "item": items}, "fail_idx": p.fail_idx}))
    }

    /// `freepublish/batchget`: the published articles, newest first.
    pub(crate) fn batchget_publications(&self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        let offset = body.get("offset").and_then(Value::as_u64).ok_or((40035, "invalid args: offset"))?;
        let count = body.get("count").and_then(Value::as_u64).filter(|c| (1..=20).contains(c));
        let count = count.ok_or((40035, "invalid args: count"))?;
        let no_content = body.get("no_content").and_then(Value::as_u64) == Some(1);
        let mut all: Vec<&Publication> = self
            .publications
            .values()
            .filter(|p| p.appid == appid && p.status == 0 && p.articles.iter().any(Option::is_some))
            .collect();
        all.sort_by(|a, b| b.update_time.cmp(&a.update_time).then_with(|| b.article_id.cmp(&a.article_id)));
        let items: Vec<Value> = all
            .iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(count).unwrap_or(0))
            .map(|p| {
                let news: Vec<Value> = p
                    .articles
                    .iter()
                    .flatten()
                    .map(|(a, url)| {
                        let mut a = a.clone();
                        a["url"] = json!(url);
                        a["is_deleted"] = json!(false);
                        if no_content {
                            a.as_object_mut().map(|o| o.remove("content"));
                        }
                        a
                    })
                    .collect();
                json!({"article_id": p.article_id, "content": {"news_item": news}, "update_time": p.update_time})
            })
            .collect();
        Ok(json!({"total_count": all.len(), "item_count": items.len(), "item": items}))
    }

    /// `freepublish/delete`: `index` 0 deletes every article, else the one at `index` (from 1).
    pub(crate) fn delete_publication(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        let article_id = body.get("article_id").and_then(Value::as_str).unwrap_or_default();
        let index = body.get("index").and_then(Value::as_u64).unwrap_or(0);
        let p = self
            .publications
            .values_mut()
            .find(|p| p.appid == appid && p.article_id.as_deref() == Some(article_id))
            .ok_or((40007, "invalid media_id"))?;
        let index = usize::try_from(index).unwrap_or(usize::MAX);
        match index {
            0 => p.articles.iter_mut().for_each(|a| *a = None),
            i if i <= p.articles.len() && p.articles[i - 1].is_some() => p.articles[i - 1] = None,
            _ => return Err((40035, "invalid args: index")),
        }
        Ok(json!({"errcode": 0, "errmsg": "ok"}))
    }

    /// The drafts an account has (tests count them).
    pub(crate) fn draft_count(&self, appid: &str) -> usize {
        self.drafts.values().filter(|d| d.appid == appid).count()
    }
}

/// The HTML WeChat keeps: without `<script>` elements, and without images off its own host.
fn wechat_keeps(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let lower = rest.to_ascii_lowercase();
        let end = rest.find('>').map_or(rest.len(), |e| e + 1);
        if lower.starts_with("<script") {
            rest = lower.find("</script>").map_or("", |e| &rest[e + 9..]);
        } else if lower.starts_with("<img") && !rest[..end].contains("mmbiz.qpic.cn/") {
            rest = &rest[end..];
        } else {
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}
