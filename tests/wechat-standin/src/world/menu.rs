//! Custom menus as WeChat keeps them: one default menu per account (`menu/create`, `menu/get`,
//! `menu/delete`), checked by WeChat's own rules and answered with its error codes
//! (<https://developers.weixin.qq.com/doc/service/api/custommenu/api_createcustommenu>): 1 to 3
//! buttons (40016), 1 to 5 sub-buttons (40023), a known type (40017/40024), names of at most 16 and
//! 60 bytes (40018/40025), keys of at most 128 bytes (40019/40026), URLs of at most 1024 bytes
//! (40020/40027), at most 3 link domains (65316), a `media_id` WeChat keeps as permanent material
//! (40007). Written apart from the platform's own checks on purpose: each catches the other.
//!
//! Conditional menus (`menu/addconditional`, `delconditional`, `trymatch`,
//! <https://developers.weixin.qq.com/doc/service/api/custommenu/api_addconditionalmenu>): only
//! over a default menu (65303), with a match rule (65304) by tag or client platform only (65320
//! for sex, country, province, city or language since the privacy change), a tag the account has
//! (45159), the three link domains counted over every menu (65316); matched newest first; an
//! unknown `menuid` 65301, an unknown follower 65302 (codes as WxJava's `WxMpErrorMsgEnum` lists
//! them).

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
        let mut domains = Vec::new();
        for other in self.conditional.get(&appid).into_iter().flatten() {
            self.check_buttons(&appid, &other["button"], &mut domains)?;
        }
        self.check_buttons(&appid, body, &mut domains)?;
        self.menus.insert(appid, body.clone());
        Ok(json!({}))
    }

    /// The buttons of `menu` by WeChat's rules, their link domains added to `domains`.
    fn check_buttons(&self, appid: &str, menu: &Value, domains: &mut Vec<String>) -> Result<(), WxError> {
        let buttons = menu.get("button").and_then(Value::as_array).ok_or((40016, "invalid button size"))?;
        if buttons.is_empty() || buttons.len() > 3 {
            return Err((40016, "invalid button size"));
        }
        for button in buttons {
            match button.get("sub_button").and_then(Value::as_array) {
                Some(subs) => {
                    name_within(button, 16, (40018, "invalid button name size"))?;
                    if subs.is_empty() || subs.len() > 5 {
                        return Err((40023, "invalid sub button size"));
                    }
                    for sub in subs {
                        self.check_leaf(appid, sub, false, domains)?;
                    }
                }
                None => self.check_leaf(appid, button, true, domains)?,
            }
        }
        if domains.len() > 3 {
            return Err((65316, "menu has too many domains for url jump (at most 3)"));
        }
        Ok(())
    }

    /// `menu/addconditional`: a menu for the followers its `matchrule` names; its `menuid`.
    pub(crate) fn add_conditional_menu(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        self.may_set_menus(&appid)?;
        if !self.menus.contains_key(&appid) {
            return Err((65303, "there is no selfmenu, please create selfmenu first"));
        }
        let rule = body.get("matchrule").and_then(Value::as_object).filter(|r| !r.is_empty());
        let rule = rule.ok_or((65304, "match rule empty"))?;
        if ["sex", "country", "province", "city", "language"].iter().any(|k| rule.contains_key(*k)) {
            return Err((65320, "match rule by sex, region or language is no longer supported"));
        }
        let text = |name: &str| match rule.get(name) {
            None => Some(String::new()),
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => None,
        };
        let (Some(tag_id), Some(platform)) = (text("tag_id"), text("client_platform_type")) else {
            return Err((40035, "invalid args"));
        };
        if tag_id.is_empty() && platform.is_empty() {
            return Err((65304, "match rule empty"));
        }
        if !tag_id.is_empty() {
            let known = tag_id.parse::<i64>().ok().is_some_and(|id| self.tag_exists(&appid, id));
            if !known {
                return Err((45159, "invalid tag id"));
            }
        }
        if !platform.is_empty() && !["1", "2", "3"].contains(&platform.as_str()) {
            return Err((40035, "invalid args"));
        }
        let mut domains = Vec::new();
        for other in self.conditional.get(&appid).into_iter().flatten() {
            self.check_buttons(&appid, &other["button"], &mut domains)?;
        }
        if let Some(default) = self.menus.get(&appid) {
            self.check_buttons(&appid, default, &mut domains)?;
        }
        self.check_buttons(&appid, body, &mut domains)?;
        self.counter += 1;
        let menuid = format!("{}", 400_000_000 + self.counter);
        let menu = json!({
            "button": body["button"].clone(),
            "matchrule": {"tag_id": tag_id, "client_platform_type": platform},
            "menuid": menuid,
        });
        self.conditional.entry(appid).or_default().push(menu);
        Ok(json!({"menuid": menuid}))
    }

    /// `menu/delconditional`.
    pub(crate) fn delete_conditional_menu(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        self.may_set_menus(&appid)?;
        let menuid = match body.get("menuid") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let menus = self.conditional.entry(appid).or_default();
        let before = menus.len();
        menus.retain(|m| m["menuid"] != menuid.as_str());
        if menus.len() == before {
            return Err((65301, "menuid does not exist"));
        }
        Ok(json!({}))
    }

    /// `menu/trymatch`: the menu a follower (`user_id`: an OpenID) sees: the newest conditional
    /// menu whose rule matches their tags, else the default one.
    pub(crate) fn try_match_menu(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        self.may_set_menus(&appid)?;
        let user = body.get("user_id").and_then(Value::as_str).unwrap_or_default().to_owned();
        if !self.followers.contains_key(&(appid.clone(), user.clone())) {
            return Err((65302, "user not exist"));
        }
        let carried = self.tags_carried(&appid, &user);
        let matched = self.conditional.get(&appid).into_iter().flatten().rev().find(|menu| {
            let tag = menu.pointer("/matchrule/tag_id").and_then(Value::as_str).unwrap_or_default();
            // The stand-in's followers have no client platform: a rule naming one matches nobody.
            let platform = menu.pointer("/matchrule/client_platform_type").and_then(Value::as_str).unwrap_or_default();
            platform.is_empty() && tag.parse::<i64>().is_ok_and(|id| carried.contains(&id))
        });
        let menu = matched.or_else(|| self.menus.get(&appid)).ok_or((46003, "menu no exist"))?;
        Ok(json!({"button": menu["button"].clone()}))
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
        let conditional = self.conditional.get(&appid).cloned().unwrap_or_default();
        let mut answer = json!({"menu": {"button": menu["button"].clone()}});
        if !conditional.is_empty() {
            answer["menu"]["menuid"] = json!(format!("{}", 300_000_000 + appid.len()));
            answer["conditionalmenu"] = Value::Array(conditional);
        }
        Ok(answer)
    }

    /// `menu/delete`: the default menu (and the conditional ones) gone.
    pub(crate) fn delete_menu(&mut self, token: Option<&str>) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        self.may_set_menus(&appid)?;
        self.menus.remove(&appid);
        self.conditional.remove(&appid);
        Ok(json!({}))
    }

    /// The account's menu as its admin sets it in WeChat's backend.
    pub(crate) fn set_menu(&mut self, appid: &str, menu: Value) {
        self.menus.insert(appid.to_owned(), menu);
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
