//! An account's custom menu (自定义菜单) as a document, checked against WeChat's rules before
//! anything is sent, the offending button named by its path (`button[1].sub_button[2].key`).
//!
//! The document is what `menu/create` takes
//! (<https://developers.weixin.qq.com/doc/service/api/custommenu/api_createcustommenu>):
//!
//! ```json
//! {"button": [
//!   {"type": "click", "name": "今日歌曲", "key": "V1001_TODAY_MUSIC"},
//!   {"name": "菜单", "sub_button": [
//!     {"type": "view", "name": "搜索", "url": "https://www.soso.com/"},
//!     {"type": "miniprogram", "name": "小程序", "url": "https://example.com", "appid": "wx…", "pagepath": "pages/index"},
//!     {"type": "scancode_push", "name": "扫码", "key": "SCAN_1"},
//!     {"type": "media_id", "name": "图片", "media_id": "mpim_…"}]}
//! ]}
//! ```
//!
//! The rules, from that page and `menu/addconditional`'s: 1 to 3 top buttons, each either a
//! button or a parent of 1 to 5 sub-buttons; a top name at most 16 bytes, a sub name at most 60;
//! `key` at most 128 bytes; `url` at most 1024 bytes, http or https; links to at most 3 domains
//! across the menu (WeChat's 65316); a `media_id` button names permanent material (a platform
//! handle of permanent material is accepted: the caller resolves it before publishing).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::input;

/// Top-level buttons at most.
pub const MAX_BUTTONS: usize = 3;
/// Sub-buttons of one parent at most.
pub const MAX_SUB_BUTTONS: usize = 5;
/// A top-level button's name, in bytes.
pub const MAX_TOP_NAME_BYTES: usize = 16;
/// A sub-button's name, in bytes (older pages said 40; the current page says 60).
pub const MAX_SUB_NAME_BYTES: usize = 60;
/// A `key`, in bytes.
pub const MAX_KEY_BYTES: usize = 128;
/// A `url`, in bytes.
pub const MAX_URL_BYTES: usize = 1024;
/// Distinct link domains across the menu (WeChat answers 65316 past it).
pub const MAX_DOMAINS: usize = 3;

/// What a button does when tapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `click`, the `scancode_*`, `pic_*` and `location_select` kinds: an event with `key`.
    Key {
        /// WeChat's type.
        kind: KeyKind,
        /// The `EventKey` of the push.
        key: String,
    },
    /// `view`: opens `url`.
    View {
        /// The page.
        url: String,
    },
    /// `miniprogram`: opens a mini program's page (`url` where mini programs do not open).
    MiniProgram {
        /// The fallback page.
        url: String,
        /// The mini program.
        appid: String,
        /// Its page.
        pagepath: String,
    },
    /// `media_id` / `view_limited`: sends or shows permanent material.
    Media {
        /// `media_id` (shown) or `view_limited` (a news page).
        view: bool,
        /// The material's `media_id`, or a platform handle of permanent material.
        media_id: String,
    },
    /// `article_id` / `article_view_limited`: a published article.
    Article {
        /// `article_view_limited` when true.
        view: bool,
        /// The published article's id.
        article_id: String,
    },
}

/// The button types whose tap is an event with the button's `key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `click`.
    Click,
    /// `scancode_push`.
    ScancodePush,
    /// `scancode_waitmsg`.
    ScancodeWaitmsg,
    /// `pic_sysphoto`.
    PicSysphoto,
    /// `pic_photo_or_album`.
    PicPhotoOrAlbum,
    /// `pic_weixin`.
    PicWeixin,
    /// `location_select`.
    LocationSelect,
}

impl KeyKind {
    const ALL: [(Self, &'static str); 7] = [
        (Self::Click, "click"),
        (Self::ScancodePush, "scancode_push"),
        (Self::ScancodeWaitmsg, "scancode_waitmsg"),
        (Self::PicSysphoto, "pic_sysphoto"),
        (Self::PicPhotoOrAlbum, "pic_photo_or_album"),
        (Self::PicWeixin, "pic_weixin"),
        (Self::LocationSelect, "location_select"),
    ];

    /// WeChat's name of the type.
    pub fn as_str(self) -> &'static str {
        Self::ALL.iter().find(|(kind, _)| *kind == self).map_or("click", |(_, name)| name)
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(kind, _)| *kind)
    }
}

/// One button: a name and an action, or a name and its sub-buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// What the follower sees.
    pub name: String,
    /// What a tap does; `None` for a parent.
    pub action: Option<Action>,
    /// A parent's sub-buttons (empty otherwise).
    pub sub_buttons: Vec<Button>,
}

/// A checked menu.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Menu {
    /// The top-level buttons, left to right.
    pub buttons: Vec<Button>,
}

/// Why a menu was refused: where (`button[1].sub_button[0].url`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuError {
    /// The path of the offending field, empty for the whole document.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for MenuError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.path, self.message) }
    }
}

impl std::error::Error for MenuError {}

fn error(path: &str, message: impl Into<String>) -> MenuError {
    MenuError { path: path.to_owned(), message: message.into() }
}

impl Menu {
    /// Checks a menu document (`{"button": [...]}`).
    ///
    /// # Errors
    /// [`MenuError`] naming the first field that breaks WeChat's rules.
    pub fn from_value(value: &Value) -> Result<Self, MenuError> {
        let input: MenuInput = input::refused_at(value).map_err(|r| error(&r.path, r.message))?;
        if input.button.is_empty() || input.button.len() > MAX_BUTTONS {
            return Err(error("button", format!("{} buttons; a menu has 1 to {MAX_BUTTONS}", input.button.len())));
        }
        let buttons = input
            .button
            .into_iter()
            .enumerate()
            .map(|(i, button)| button.check(&format!("button[{i}]"), true))
            .collect::<Result<Vec<_>, _>>()?;
        let menu = Self { buttons };
        let mut domains: Vec<(String, String)> = Vec::new();
        for (path, url) in menu.links() {
            let host = host_of(&url).unwrap_or_default();
            if !domains.iter().any(|(h, _)| *h == host) {
                domains.push((host, path));
            }
        }
        if domains.len() > MAX_DOMAINS {
            let (host, path) = &domains[MAX_DOMAINS];
            return Err(error(
                &format!("{path}.url"),
                format!("links to {host}, a domain beyond the menu's {MAX_DOMAINS} (WeChat: 65316)"),
            ));
        }
        Ok(menu)
    }

    /// The menu as `menu/create` takes it (and as the platform stores and answers it).
    pub fn to_value(&self) -> Value {
        json!({"button": self.buttons.iter().map(button_value).collect::<Vec<_>>()})
    }

    /// Every button with an action, with its path.
    pub fn leaves(&self) -> Vec<(String, &Button)> {
        let mut out = Vec::new();
        for (i, button) in self.buttons.iter().enumerate() {
            if button.sub_buttons.is_empty() {
                out.push((format!("button[{i}]"), button));
            }
            for (j, sub) in button.sub_buttons.iter().enumerate() {
                out.push((format!("button[{i}].sub_button[{j}]"), sub));
            }
        }
        out
    }

    /// [`Menu::leaves`], to change them (a handle replaced by its `media_id`, say).
    pub fn leaves_mut(&mut self) -> Vec<(String, &mut Button)> {
        let mut out = Vec::new();
        for (i, button) in self.buttons.iter_mut().enumerate() {
            if button.sub_buttons.is_empty() {
                out.push((format!("button[{i}]"), button));
                continue;
            }
            for (j, sub) in button.sub_buttons.iter_mut().enumerate() {
                out.push((format!("button[{i}].sub_button[{j}]"), sub));
            }
        }
        out
    }

    /// The keys the menu's buttons push (`click`, `scancode_*`, `pic_*`, `location_select`).
    pub fn keys(&self) -> Vec<String> {
        self.leaves()
            .into_iter()
            .filter_map(|(_, b)| match &b.action {
                Some(Action::Key { key, .. }) => Some(key.clone()),
                _ => None,
            })
            .collect()
    }

    fn links(&self) -> Vec<(String, String)> {
        self.leaves()
            .into_iter()
            .filter_map(|(path, b)| match &b.action {
                Some(Action::View { url } | Action::MiniProgram { url, .. }) => Some((path, url.clone())),
                _ => None,
            })
            .collect()
    }
}

/// Who a conditional menu (个性化菜单) is for: followers carrying a tag, or on one client
/// platform, or both. WeChat no longer matches on sex, region or language (65320 since its
/// privacy change, <https://developers.weixin.qq.com/doc/service/api/custommenu/api_addconditionalmenu>).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchRule {
    /// The tag the followers carry.
    pub tag_id: Option<u64>,
    /// 1 iOS, 2 Android, 3 others.
    pub client_platform_type: Option<u8>,
}

/// A conditional menu: the buttons and whom they are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionalMenu {
    /// The buttons, by the same rules as the default menu.
    pub menu: Menu,
    /// Whom it is for.
    pub rule: MatchRule,
}

impl ConditionalMenu {
    /// Checks `{"button": [...], "matchrule": {"tag_id": "…", "client_platform_type": "…"}}`.
    ///
    /// # Errors
    /// [`MenuError`] naming the first field that breaks WeChat's rules.
    pub fn from_value(value: &Value) -> Result<Self, MenuError> {
        let mut object = value.as_object().cloned().ok_or_else(|| error("", "the menu must be an object"))?;
        let rule = object.remove("matchrule").ok_or_else(|| error("matchrule", "missing: whom the menu is for"))?;
        let rule = rule.as_object().ok_or_else(|| error("matchrule", "must be an object"))?;
        let retired = ["sex", "country", "province", "city", "language"];
        if let Some(field) = rule.keys().find(|k| retired.contains(&k.as_str())) {
            return Err(error(
                &format!("matchrule.{field}"),
                "WeChat no longer matches by sex, region or language (65320): match by tag_id or client_platform_type",
            ));
        }
        if let Some(extra) = rule.keys().find(|k| *k != "tag_id" && *k != "client_platform_type") {
            return Err(error(&format!("matchrule.{extra}"), "unknown: a rule has tag_id and client_platform_type"));
        }
        // WeChat writes both as strings; a number is taken too.
        let number = |name: &str| -> Result<Option<u64>, MenuError> {
            match rule.get(name) {
                None => Ok(None),
                Some(Value::String(s)) if s.is_empty() => Ok(None),
                Some(Value::String(s)) => {
                    s.parse().map(Some).map_err(|_| error(&format!("matchrule.{name}"), "must be a number"))
                }
                Some(Value::Number(n)) => {
                    n.as_u64().map(Some).ok_or_else(|| error(&format!("matchrule.{name}"), "must be a number"))
                }
                Some(_) => Err(error(&format!("matchrule.{name}"), "must be a number")),
            }
        };
        let tag_id = number("tag_id")?;
        let client_platform_type = match number("client_platform_type")? {
            None => None,
            Some(p @ 1..=3) => Some(p as u8),
            Some(_) => {
                return Err(error("matchrule.client_platform_type", "must be 1 (iOS), 2 (Android) or 3 (others)"));
            }
        };
        if tag_id.is_none() && client_platform_type.is_none() {
            return Err(error("matchrule", "empty: name a tag_id or a client_platform_type (WeChat: 65304)"));
        }
        let menu = Menu::from_value(&Value::Object(object))?;
        Ok(Self { menu, rule: MatchRule { tag_id, client_platform_type } })
    }

    /// The menu as `menu/addconditional` takes it.
    pub fn to_value(&self) -> Value {
        let mut value = self.menu.to_value();
        let mut rule = Map::new();
        if let Some(tag) = self.rule.tag_id {
            rule.insert("tag_id".into(), Value::String(tag.to_string()));
        }
        if let Some(platform) = self.rule.client_platform_type {
            rule.insert("client_platform_type".into(), Value::String(platform.to_string()));
        }
        value["matchrule"] = Value::Object(rule);
        value
    }
}

fn host_of(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// A menu as callers write it (`menu/create`'s body); which fields a button may have is checked
/// by its `type` in [`ButtonInput::check`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MenuInput {
    button: Vec<ButtonInput>,
}

/// Every field any button takes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ButtonInput {
    name: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    appid: Option<String>,
    #[serde(default)]
    pagepath: Option<String>,
    #[serde(default)]
    media_id: Option<String>,
    #[serde(default)]
    article_id: Option<String>,
    #[serde(default)]
    sub_button: Option<Vec<ButtonInput>>,
}

impl ButtonInput {
    fn check(self, path: &str, top: bool) -> Result<Button, MenuError> {
        let name = text(path, "name", Some(self.name), if top { MAX_TOP_NAME_BYTES } else { MAX_SUB_NAME_BYTES })?;
        let given = [
            ("type", self.kind.is_some()),
            ("key", self.key.is_some()),
            ("url", self.url.is_some()),
            ("appid", self.appid.is_some()),
            ("pagepath", self.pagepath.is_some()),
            ("media_id", self.media_id.is_some()),
            ("article_id", self.article_id.is_some()),
            ("sub_button", self.sub_button.is_some()),
        ];
        let only = |allowed: &[&str]| match given.iter().find(|(field, present)| *present && !allowed.contains(field)) {
            Some((extra, _)) => Err(error(&format!("{path}.{extra}"), "not a field of this button")),
            None => Ok(()),
        };
        if let Some(subs) = self.sub_button {
            if !top {
                return Err(error(&format!("{path}.sub_button"), "a sub-button cannot have sub-buttons"));
            }
            only(&["sub_button"])?;
            if subs.is_empty() || subs.len() > MAX_SUB_BUTTONS {
                return Err(error(
                    &format!("{path}.sub_button"),
                    format!("{} sub-buttons; a parent has 1 to {MAX_SUB_BUTTONS}", subs.len()),
                ));
            }
            let sub_buttons = subs
                .into_iter()
                .enumerate()
                .map(|(j, sub)| sub.check(&format!("{path}.sub_button[{j}]"), false))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Button { name, action: None, sub_buttons });
        }
        let Some(kind) = self.kind else {
            return Err(error(&format!("{path}.type"), "missing: a button has a type, or sub_button"));
        };
        let action = match kind.as_str() {
            "view" => {
                only(&["type", "url"])?;
                Action::View { url: url(path, self.url)? }
            }
            "miniprogram" => {
                only(&["type", "url", "appid", "pagepath"])?;
                Action::MiniProgram {
                    url: url(path, self.url)?,
                    appid: text(path, "appid", self.appid, 64)?,
                    pagepath: text(path, "pagepath", self.pagepath, MAX_URL_BYTES)?,
                }
            }
            "media_id" | "view_limited" => {
                only(&["type", "media_id"])?;
                Action::Media {
                    view: kind == "view_limited",
                    media_id: text(path, "media_id", self.media_id, MAX_KEY_BYTES)?,
                }
            }
            "article_id" | "article_view_limited" => {
                only(&["type", "article_id"])?;
                Action::Article {
                    view: kind == "article_view_limited",
                    article_id: text(path, "article_id", self.article_id, MAX_KEY_BYTES)?,
                }
            }
            other => {
                let kind = KeyKind::parse(other).ok_or_else(|| {
                    error(
                        &format!("{path}.type"),
                        format!(
                            "{other:?} is not a button type: click, view, miniprogram, scancode_push, scancode_waitmsg, \
                             pic_sysphoto, pic_photo_or_album, pic_weixin, location_select, media_id, view_limited, \
                             article_id, article_view_limited"
                        ),
                    )
                })?;
                only(&["type", "key"])?;
                Action::Key { kind, key: text(path, "key", self.key, MAX_KEY_BYTES)? }
            }
        };
        Ok(Button { name, action: Some(action), sub_buttons: Vec::new() })
    }
}

fn text(path: &str, field: &str, value: Option<String>, max: usize) -> Result<String, MenuError> {
    let at = format!("{path}.{field}");
    let value = value.ok_or_else(|| error(&at, "missing"))?;
    if value.trim().is_empty() {
        return Err(error(&at, "empty"));
    }
    if value.len() > max {
        return Err(error(&at, format!("{} bytes; at most {max} (UTF-8: a Chinese character is 3)", value.len())));
    }
    Ok(value)
}

fn url(path: &str, value: Option<String>) -> Result<String, MenuError> {
    let value = text(path, "url", value, MAX_URL_BYTES)?;
    if host_of(&value).is_none() {
        return Err(error(&format!("{path}.url"), "must be an http or https URL"));
    }
    Ok(value)
}

fn button_value(button: &Button) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(button.name));
    match &button.action {
        None => {
            out.insert("sub_button".into(), json!(button.sub_buttons.iter().map(button_value).collect::<Vec<_>>()));
        }
        Some(Action::Key { kind, key }) => {
            out.insert("type".into(), json!(kind.as_str()));
            out.insert("key".into(), json!(key));
        }
        Some(Action::View { url }) => {
            out.insert("type".into(), json!("view"));
            out.insert("url".into(), json!(url));
        }
        Some(Action::MiniProgram { url, appid, pagepath }) => {
            out.insert("type".into(), json!("miniprogram"));
            out.insert("url".into(), json!(url));
            out.insert("appid".into(), json!(appid));
            out.insert("pagepath".into(), json!(pagepath));
        }
        Some(Action::Media { view, media_id }) => {
            out.insert("type".into(), json!(if *view { "view_limited" } else { "media_id" }));
            out.insert("media_id".into(), json!(media_id));
        }
        Some(Action::Article { view, article_id }) => {
            out.insert("type".into(), json!(if *view { "article_view_limited" } else { "article_id" }));
            out.insert("article_id".into(), json!(article_id));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Value {
        json!({"button": [
            {"type": "click", "name": "今日歌曲", "key": "V1001_TODAY_MUSIC"},
            {"name": "菜单", "sub_button": [
                {"type": "view", "name": "搜索", "url": "https://www.soso.com/"},
                {"type": "miniprogram", "name": "小程序", "url": "https://mp.example.com", "appid": "wx286b93c14bbf93aa", "pagepath": "pages/lunar/index"},
                {"type": "scancode_push", "name": "扫码", "key": "SCAN_1"},
                {"type": "media_id", "name": "图片", "media_id": "MEDIA_ID1"},
                {"type": "article_view_limited", "name": "文章", "article_id": "ARTICLE_1"}]},
            {"type": "location_select", "name": "位置", "key": "WHERE"}
        ]})
    }

    #[test]
    fn wechats_example_menu_is_taken_and_given_back_as_it_was() {
        let menu = Menu::from_value(&example()).unwrap();
        assert_eq!(menu.to_value(), example());
        assert_eq!(menu.keys(), ["V1001_TODAY_MUSIC", "SCAN_1", "WHERE"]);
        assert_eq!(menu.leaves().len(), 7);
    }

    /// Each break of WeChat's rules is refused, naming the field.
    #[test]
    fn every_rule_broken_names_its_field() {
        let click = json!({"type": "click", "name": "a", "key": "K"});
        let cases: Vec<(Value, &str, &str)> = vec![
            (json!({"button": []}), "button", "1 to 3"),
            (json!({"button": [click.clone(), click.clone(), click.clone(), click.clone()]}), "button", "4 buttons"),
            (json!({"button": [1]}), "button[0]", "must be an object"),
            (json!({"button": [{"type": "click", "name": 5, "key": "K"}]}), "button[0].name", "must be a string"),
            (
                json!({"button": [{"type": "click", "name": "a", "key": "K", "color": "red"}]}),
                "button[0]",
                "unknown field \"color\"",
            ),
            (json!({"menu": []}), "", "unknown field"),
            (json!({"button": [{"type": "click", "name": "一二三四五六", "key": "K"}]}), "button[0].name", "18 bytes"),
            (json!({"button": [{"type": "click", "name": "a", "key": "k".repeat(129)}]}), "button[0].key", "129 bytes"),
            (json!({"button": [{"type": "tap", "name": "a", "key": "K"}]}), "button[0].type", "not a button type"),
            (json!({"button": [{"name": "a"}]}), "button[0].type", "missing"),
            (json!({"button": [{"type": "view", "name": "a", "url": "ftp://x"}]}), "button[0].url", "http or https"),
            (
                json!({"button": [{"type": "view", "name": "a", "url": "https://x", "key": "K"}]}),
                "button[0].key",
                "not a field",
            ),
            (json!({"button": [{"name": "a", "sub_button": []}]}), "button[0].sub_button", "1 to 5"),
            (
                json!({"button": [{"name": "a", "sub_button": [{"name": "b", "sub_button": []}]}]}),
                "button[0].sub_button[0].sub_button",
                "cannot have",
            ),
            (
                json!({"button": [{"name": "a", "sub_button": [{"type": "click", "name": "b", "key": " "}]}]}),
                "button[0].sub_button[0].key",
                "empty",
            ),
        ];
        for (document, path, says) in cases {
            let err = Menu::from_value(&document).unwrap_err();
            assert_eq!(err.path, path, "{document}: {err}");
            assert!(err.message.contains(says), "{document}: {err}");
        }
        let six: Vec<Value> = (0..6).map(|i| json!({"type": "click", "name": "s", "key": format!("K{i}")})).collect();
        let err = Menu::from_value(&json!({"button": [{"name": "a", "sub_button": six}]})).unwrap_err();
        assert_eq!((err.path.as_str(), err.message.contains("6 sub-buttons")), ("button[0].sub_button", true));
        // A sub-button's name may be longer than a top button's.
        let long =
            json!({"button": [{"name": "a", "sub_button": [{"type": "click", "name": "一二三四五六", "key": "K"}]}]});
        assert!(Menu::from_value(&long).is_ok());
    }

    #[test]
    fn links_reach_at_most_three_domains() {
        let view = |host: &str| json!({"type": "view", "name": "v", "url": format!("https://{host}/p")});
        let three = json!({"button": [{"name": "a", "sub_button": [view("a.com"), view("b.com"), view("A.com"), view("c.com")]}]});
        assert!(Menu::from_value(&three).is_ok(), "a.com counted once");
        let four = json!({"button": [{"name": "a", "sub_button": [view("a.com"), view("b.com"), view("c.com"), view("d.com")]}]});
        let err = Menu::from_value(&four).unwrap_err();
        assert_eq!(err.path, "button[0].sub_button[3].url");
        assert!(err.message.contains("65316"), "{err}");
    }

    #[test]
    fn a_conditional_menu_names_whom_it_is_for_by_tag_or_platform_only() {
        let buttons = json!([{"type": "click", "name": "会员", "key": "VIP"}]);
        let menu = ConditionalMenu::from_value(&json!({"button": buttons, "matchrule": {"tag_id": "101"}})).unwrap();
        assert_eq!(menu.rule, MatchRule { tag_id: Some(101), client_platform_type: None });
        assert_eq!(menu.to_value()["matchrule"], json!({"tag_id": "101"}));
        let both = json!({"button": buttons, "matchrule": {"tag_id": 7, "client_platform_type": "2"}});
        assert_eq!(ConditionalMenu::from_value(&both).unwrap().rule.client_platform_type, Some(2));
        for (rule, path, says) in [
            (json!({"sex": "1"}), "matchrule.sex", "65320"),
            (json!({"language": "zh_CN"}), "matchrule.language", "65320"),
            (json!({}), "matchrule", "65304"),
            (json!({"tag_id": ""}), "matchrule", "65304"),
            (json!({"tag_id": "x"}), "matchrule.tag_id", "number"),
            (json!({"client_platform_type": "4"}), "matchrule.client_platform_type", "1 (iOS)"),
            (json!({"group": "1"}), "matchrule.group", "unknown"),
        ] {
            let err = ConditionalMenu::from_value(&json!({"button": buttons, "matchrule": rule})).unwrap_err();
            assert_eq!(err.path, path, "{rule}");
            assert!(err.message.contains(says), "{rule}: {err}");
        }
        let err = ConditionalMenu::from_value(&json!({"button": buttons})).unwrap_err();
        assert_eq!(err.path, "matchrule");
        let err = ConditionalMenu::from_value(&json!({"button": [], "matchrule": {"tag_id": "1"}})).unwrap_err();
        assert_eq!(err.path, "button", "the buttons by the default menu's rules");
    }
}
