//! Custom menus as WeChat keeps them: one default menu per account (`menu/create`, `menu/get`,
//! `menu/delete`), checked by WeChat's own rules and answered with its error codes
//! (<https://developers.weixin.qq.com/doc/service/api/custommenu/api_createcustommenu>): 1 to 3
//! buttons (40016), 1 to 5 sub-buttons (40023), a known type (40017/40024), names of at most 16 and
//! 60 bytes (40018/40025), keys of at most 128 bytes (40019/40026), URLs of at most 1024 bytes
//! (40020/40027), at most 3 link domains (65316), a `media_id` WeChat keeps as permanent material
//! (40007). Written apart from the platform's own checks on purpose: each catches the other.

use serde_json::{Value, json};

use super::{World, WxError};

/// The permission set menus need.
const MENU_SET: i64 = 15;

const KEY_TYPES: &[&str] = &[
    "click",
    "scancode_push",
    "scancode_waitmsg",
    "pic_sysphoto",
    "pic_photo_or_album",
    "pic_weixin",
    "location_select",
];

impl World {
    fn may_set_menus(&self, appid: &str) -> Result<(), WxError> {
        let granted = self.accounts.get(appid).is_some_and(|s| s.account.func_info.contains(&MENU_SET));
        if granted { Ok(()) } else { Err((61007, "api is unauthorized to component")) }
    }

    /// `menu/create`: replaces the account's default menu.
    pub(crate) fn create_menu(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        self.may_set_menus(&appid)?;
        let buttons = body.get("button").and_then(Value::as_array).ok_or((40016, "invalid button size"))?;
        if buttons.is_empty() || buttons.len() > 3 {
            return Err((40016, "invalid button size"));
        }
        let mut domains: Vec<String> = Vec::new();
        for button in buttons {
            match button.get("sub_button").and_then(Value::as_array) {
                Some(subs) => {
                    name_within(button, 16, (40018, "invalid button name size"))?;
                    if subs.is_empty() || subs.len() > 5 {
                        return Err((40023, "invalid sub button size"));
                    }
                    for sub in subs {
                        self.check_leaf(&appid, sub, false, &mut domains)?;
                    }
                }
                None => self.check_leaf(&appid, button, true, &mut domains)?,
            }
        }
        if domains.len() > 3 {
            return Err((65316, "menu has too many domains for url jump (at most 3)"));
        }
        self.menus.insert(appid, body.clone());
        Ok(json!({}))
    }

    fn check_leaf(&self, appid: &str, button: &Value, top: bool, domains: &mut Vec<String>) -> Result<(), WxError> {
        let codes = |top_code, sub_code, top_msg, sub_msg| if top { (top_code, top_msg) } else { (sub_code, sub_msg) };
        name_within(
            button,
            if top { 16 } else { 60 },
            codes(40018, 40025, "invalid button name size", "invalid sub button name size"),
        )?;
        let kind = button.get("type").and_then(Value::as_str).unwrap_or_default();
        let field = |name: &str| button.get(name).and_then(Value::as_str).unwrap_or_default();
        let url = |domains: &mut Vec<String>| {
            let url = field("url");
            let host = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"))
                .and_then(|rest| rest.split(['/', '?', '#', ':']).next())
                .filter(|host| !host.is_empty() && url.len() <= 1024)
                .ok_or(codes(40020, 40027, "invalid button url size", "invalid sub button url size"))?;
            let host = host.to_ascii_lowercase();
            if !domains.contains(&host) {
                domains.push(host);
            }
            Ok::<(), WxError>(())
        };
        match kind {
            k if KEY_TYPES.contains(&k) => {
                let key = field("key");
                if key.is_empty() || key.len() > 128 {
                    return Err(codes(40019, 40026, "invalid button key size", "invalid sub button key size"));
                }
            }
            "view" => url(domains)?,
            "miniprogram" => {
                url(domains)?;
                if field("appid").is_empty() || field("pagepath").is_empty() {
                    return Err((40166, "invalid appid or pagepath"));
                }
            }
            "media_id" | "view_limited" => {
                let kept = self.media.get(field("media_id")).is_some_and(|m| m.appid == appid && m.permanent);
                if !kept {
                    return Err((40007, "invalid media_id"));
                }
            }
            "article_id" | "article_view_limited" => {
                if field("article_id").is_empty() {
                    return Err((40007, "invalid media_id"));
                }
            }
            _ => return Err(codes(40017, 40024, "invalid button type", "invalid sub button type")),
        }
        Ok(())
    }

    /// `menu/get`: the default menu as WeChat answers it (46003 when there is none).
    pub(crate) fn get_menu(&self, token: Option<&str>) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        self.may_set_menus(&appid)?;
        let menu = self.menus.get(&appid).ok_or((46003, "menu no exist"))?;
        Ok(json!({"menu": {"button": menu["button"].clone()}}))
    }

    /// `menu/delete`: the default menu (and the conditional ones) gone.
    pub(crate) fn delete_menu(&mut self, token: Option<&str>) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        self.may_set_menus(&appid)?;
        self.menus.remove(&appid);
        Ok(json!({}))
    }

    /// The account's menu, as a test reads it.
    pub(crate) fn menu_of(&self, appid: &str) -> Option<Value> {
        self.menus.get(appid).cloned()
    }
}

fn name_within(button: &Value, max: usize, code: WxError) -> Result<(), WxError> {
    let name = button.get("name").and_then(Value::as_str).unwrap_or_default();
    if name.is_empty() || name.len() > max { Err(code) } else { Ok(()) }
}
