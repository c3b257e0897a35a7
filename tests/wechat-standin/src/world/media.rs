//! Media (素材) as WeChat keeps them: temporary media (`media/upload`) valid 3 days, permanent
//! material (`material/add_material`, listed, counted and deleted), and images for articles
//! (`media/uploadimg`, a URL). WeChat's types, formats and sizes, and its permission sets
//! (<https://developers.weixin.qq.com/doc/service/api/material/temporary/api_uploadtempmedia>,
//! <https://developers.weixin.qq.com/doc/service/api/material/permanent/api_addmaterial>).

use serde_json::{Value, json};

use super::{World, WxError};

/// A temporary medium's life.
const TEMPORARY_SECS: i64 = 3 * 86_400;
/// Permission sets that may upload temporary media (any one).
const TEMPORARY_SETS: &[i64] = &[1, 3, 8, 9, 11, 19, 30, 31, 100];
/// Permission sets that may keep permanent material.
const PERMANENT_SETS: &[i64] = &[11, 100];
/// The stand-in takes the stricter reading of WeChat's image limit (2 MB; another line of the
/// same page says 10 MB).
const IMAGE_MAX: usize = 2 * 1024 * 1024;

/// One file part of an upload (`media`).
#[derive(Debug, Clone)]
pub(crate) struct Part {
    /// The part's file name.
    pub(crate) filename: String,
    /// Its bytes.
    pub(crate) bytes: Vec<u8>,
}

/// A medium WeChat keeps.
#[derive(Debug, Clone)]
pub(crate) struct Medium {
    pub(super) appid: String,
    kind: String,
    pub(super) permanent: bool,
    name: String,
    url: Option<String>,
    created_at: i64,
    /// Its size and first bytes: what a test may compare with what it uploaded.
    pub(crate) size: usize,
    pub(crate) head: Vec<u8>,
}

/// What the first bytes are, by WeChat's idea of each kind: `(kind, formats it takes, limit)`.
fn format_of(bytes: &[u8]) -> &'static str {
    match bytes {
        [0x89, b'P', b'N', b'G', ..] => "png",
        [0xFF, 0xD8, 0xFF, ..] => "jpg",
        [b'G', b'I', b'F', b'8', ..] => "gif",
        [b'#', b'!', b'A', b'M', b'R', ..] => "amr",
        [b'I', b'D', b'3', ..] => "mp3",
        [0xFF, second, ..] if second & 0xE0 == 0xE0 => "mp3",
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => "mp4",
        _ => "unknown",
    }
}

fn rules_of(kind: &str) -> Option<(&'static [&'static str], usize)> {
    Some(match kind {
        "image" => (&["png", "jpg", "gif"], IMAGE_MAX),
        "voice" => (&["amr", "mp3"], 2 * 1024 * 1024),
        "video" => (&["mp4"], 10 * 1024 * 1024),
        "thumb" => (&["jpg"], 64 * 1024),
        _ => return None,
    })
}

impl Medium {
    /// Whether it is a picture (an image or a thumb), as a cover must be.
    pub(crate) fn is_picture(&self) -> bool {
        self.kind == "image" || self.kind == "thumb"
    }
}

impl World {
    fn may_use(&self, appid: &str, sets: &[i64]) -> Result<(), WxError> {
        let granted = self.accounts.get(appid).is_some_and(|s| s.account.func_info.iter().any(|id| sets.contains(id)));
        if granted { Ok(()) } else { Err((48001, "api unauthorized")) }
    }

    fn checked_part<'a>(kind: &str, part: Option<&'a Part>) -> Result<&'a Part, WxError> {
        let (formats, max) = rules_of(kind).ok_or((40004, "invalid media type"))?;
        let part = part.filter(|p| !p.bytes.is_empty()).ok_or((41005, "media data missing"))?;
        if !formats.contains(&format_of(&part.bytes)) {
            return Err((40005, "invalid file type"));
        }
        if part.bytes.len() > max {
            return Err((40006, "invalid meida size"));
        }
        Ok(part)
    }

    fn keep(&mut self, appid: &str, kind: &str, permanent: bool, part: &Part, url: Option<String>) -> String {
        self.counter += 1;
        let media_id = format!("standin_media_{}_{}", self.counter, &kind[..1]);
        let medium = Medium {
            appid: appid.to_owned(),
            kind: kind.to_owned(),
            permanent,
            name: part.filename.clone(),
            url,
            created_at: self.now(),
            size: part.bytes.len(),
            head: part.bytes.iter().take(16).copied().collect(),
        };
        self.media.insert(media_id.clone(), medium);
        media_id
    }

    /// `media/upload`.
    pub(crate) fn upload_temporary(
        &mut self,
        token: Option<&str>,
        kind: &str,
        part: Option<&Part>,
    ) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        self.may_use(&appid, TEMPORARY_SETS)?;
        let part = Self::checked_part(kind, part)?;
        let media_id = self.keep(&appid, kind, false, part, None);
        Ok(json!({"type": kind, "media_id": media_id, "created_at": self.now()}))
    }

    /// `material/add_material`: a video also needs `description` with its title.
    pub(crate) fn add_material(
        &mut self,
        token: Option<&str>,
        kind: &str,
        part: Option<&Part>,
        description: Option<&str>,
    ) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        self.may_use(&appid, PERMANENT_SETS)?;
        let part = Self::checked_part(kind, part)?;
        if kind == "video" {
            let described: Option<Value> = description.and_then(|d| serde_json::from_str(d).ok());
            if described.as_ref().and_then(|d| d.get("title")).and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err((40035, "invalid args: description.title"));
            }
        }
        let url = (kind == "image").then(|| format!("http://mmbiz.qpic.cn/standin/{}/0", self.counter + 1));
        let media_id = self.keep(&appid, kind, true, part, url.clone());
        let mut out = json!({"media_id": media_id});
        if let Some(url) = url {
            out["url"] = json!(url);
        }
        Ok(out)
    }

    /// `media/uploadimg`: JPEG or PNG under 1 MB, answered with a URL.
    pub(crate) fn upload_article_image(&mut self, token: Option<&str>, part: Option<&Part>) -> Result<Value, WxError> {
        self.token_account(token)?;
        let part = part.filter(|p| !p.bytes.is_empty()).ok_or((41005, "media data missing"))?;
        if !["jpg", "png"].contains(&format_of(&part.bytes)) {
            return Err((40005, "invalid file type"));
        }
        if part.bytes.len() >= 1024 * 1024 {
            return Err((40006, "invalid meida size"));
        }
        self.counter += 1;
        Ok(json!({"url": format!("http://mmbiz.qpic.cn/standin_article/{}/0", self.counter)}))
    }

    fn permanent_of<'a>(&'a self, appid: &'a str) -> impl Iterator<Item = (&'a String, &'a Medium)> + 'a {
        self.media.iter().filter(move |(_, m)| m.permanent && m.appid == appid)
    }

    /// `material/get_materialcount`.
    pub(crate) fn material_count(&self, token: Option<&str>) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        self.may_use(&appid, PERMANENT_SETS)?;
        let count = |kind: &str| self.permanent_of(&appid).filter(|(_, m)| m.kind == kind).count();
        Ok(json!({
            "voice_count": count("voice"), "video_count": count("video"),
            "image_count": count("image"), "news_count": 0,
        }))
    }

    /// `material/batchget_material`: `{type, offset, count}` (count 1–20), newest first.
    pub(crate) fn batchget_material(&self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        self.may_use(&appid, PERMANENT_SETS)?;
        let kind = body.get("type").and_then(Value::as_str).unwrap_or_default();
        if !["image", "voice", "video", "news"].contains(&kind) {
            return Err((40004, "invalid media type"));
        }
        let offset = body.get("offset").and_then(Value::as_u64).ok_or((40035, "invalid args: offset"))?;
        let count = body.get("count").and_then(Value::as_u64).filter(|c| (1..=20).contains(c));
        let count = count.ok_or((40035, "invalid args: count"))?;
        let mut all: Vec<(&String, &Medium)> = self.permanent_of(&appid).filter(|(_, m)| m.kind == kind).collect();
        all.sort_by(|a, b| b.1.created_at.cmp(&a.1.created_at).then_with(|| b.0.cmp(a.0)));
        let items: Vec<Value> = all
            .iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(count).unwrap_or(0))
            .map(|(id, m)| {
                let mut item = json!({"media_id": id, "name": m.name, "update_time": m.created_at});
                if let Some(url) = &m.url {
                    item["url"] = json!(url);
                }
                item
            })
            .collect();
        Ok(json!({"total_count": all.len(), "item_count": items.len(), "item": items}))
    }

    /// `material/del_material`.
    pub(crate) fn del_material(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        self.may_use(&appid, PERMANENT_SETS)?;
        let media_id = body.get("media_id").and_then(Value::as_str).unwrap_or_default();
        match self.media.get(media_id) {
            Some(m) if m.permanent && m.appid == appid => {
                self.media.remove(media_id);
                Ok(json!({"errcode": 0, "errmsg": "ok"}))
            }
            _ => Err((40007, "invalid media_id")),
        }
    }

    /// Whether `media_id` is one of `appid`'s and still valid (40007 otherwise), as a send or a
    /// menu using it is checked.
    pub(crate) fn check_media_id(&self, appid: &str, media_id: &str) -> Result<(), WxError> {
        match self.media.get(media_id) {
            Some(m) if m.appid == appid && (m.permanent || self.now() < m.created_at + TEMPORARY_SECS) => Ok(()),
            _ => Err((40007, "invalid media_id")),
        }
    }

    /// A medium as the stand-in keeps it (tests compare it with what they uploaded).
    pub(crate) fn medium(&self, media_id: &str) -> Option<Medium> {
        self.media.get(media_id).cloned()
    }
}
