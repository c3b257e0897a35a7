//! The component's side of WeChat: tickets, component tokens, pre_auth and auth codes,
//! authorizations and revocations, authorizer tokens and what WeChat says of an account.

use serde_json::{Value, json};

use super::*;

impl World {
    pub(crate) fn new_ticket(&mut self, component_appid: &str) -> String {
        let ticket = self.mint("ticket@@@");
        let now = self.now();
        self.tickets.insert(ticket.clone(), now);
        self.last_ticket = Some(ticket.clone());
        Self::ticket_xml(component_appid, &ticket, now)
    }

    /// The push of the newest ticket again, byte for byte what WeChat retries.
    pub(crate) fn last_ticket_xml(&self, component_appid: &str) -> Option<String> {
        let ticket = self.last_ticket.as_ref()?;
        Some(Self::ticket_xml(component_appid, ticket, *self.tickets.get(ticket)?))
    }

    pub(super) fn ticket_xml(component_appid: &str, ticket: &str, created: i64) -> String {
        format!(
            "<xml><AppId><![CDATA[{component_appid}]]></AppId>\n<CreateTime>{created}</CreateTime>\n<InfoType><![CDATA[component_verify_ticket]]></InfoType>\n<ComponentVerifyTicket><![CDATA[{ticket}]]></ComponentVerifyTicket>\n</xml>"
        )
    }

    /// The admin authorizes: a fresh refresh token (the previous one stops working, as WeChat
    /// documents), a single-use auth code, and the `authorized`/`updateauthorized` push XML.
    pub(crate) fn authorize(
        &mut self,
        appid: &str,
        pre_auth_code: Option<&str>,
        component_appid: &str,
    ) -> Option<(String, String)> {
        let code = self.mint("queryauthcode@@@");
        let refresh_token = self.mint("refreshtoken@@@");
        let now = self.now();
        let state = self.accounts.get_mut(appid)?;
        let info_type = if state.authorized { "updateauthorized" } else { "authorized" };
        state.authorized = true;
        state.refresh_token = refresh_token;
        state.auth_time = now;
        self.auth_codes
            .insert(code.clone(), Code { expires: now + AUTH_CODE_TTL, used: false, appid: appid.to_owned() });
        let pre = pre_auth_code.map(|p| format!("\n<PreAuthCode><![CDATA[{p}]]></PreAuthCode>")).unwrap_or_default();
        let xml = format!(
            "<xml><AppId><![CDATA[{component_appid}]]></AppId>\n<CreateTime>{now}</CreateTime>\n<InfoType><![CDATA[{info_type}]]></InfoType>\n<AuthorizerAppid><![CDATA[{appid}]]></AuthorizerAppid>\n<AuthorizationCode><![CDATA[{code}]]></AuthorizationCode>\n<AuthorizationCodeExpiredTime>{}</AuthorizationCodeExpiredTime>{pre}\n</xml>",
            now + AUTH_CODE_TTL
        );
        Some((code, xml))
    }

    pub(crate) fn revoke(&mut self, appid: &str, component_appid: &str) -> String {
        if let Some(state) = self.accounts.get_mut(appid) {
            state.authorized = false;
            state.access_tokens.clear();
        }
        let now = self.now();
        format!(
            "<xml><AppId><![CDATA[{component_appid}]]></AppId>\n<CreateTime>{now}</CreateTime>\n<InfoType><![CDATA[unauthorized]]></InfoType>\n<AuthorizerAppid><![CDATA[{appid}]]></AuthorizerAppid>\n</xml>"
        )
    }

    pub(crate) fn check_component(&self, body: &Value, expected_appid: &str) -> Result<(), WxError> {
        match body.get("component_appid").and_then(Value::as_str) {
            Some(appid) if appid == expected_appid => Ok(()),
            _ => Err((40013, "invalid appid")),
        }
    }

    /// A component access token as WeChat checks it: known, unexpired, not superseded for longer
    /// than the grace period.
    pub(crate) fn check_component_token(&self, token: Option<&str>, grace: i64) -> Result<(), WxError> {
        let now = self.now();
        let Some(state) = token.and_then(|t| self.component_tokens.get(t)) else {
            return Err((40001, "invalid credential, access_token is invalid or not latest"));
        };
        if state.expires <= now {
            return Err((42001, "access_token expired"));
        }
        if state.superseded_at.is_some_and(|at| at + grace <= now) {
            return Err((40001, "invalid credential, access_token is invalid or not latest"));
        }
        Ok(())
    }

    pub(crate) fn issue_component_token(&mut self, ticket: Option<&str>) -> Result<Value, WxError> {
        let now = self.now();
        let issued = ticket.and_then(|t| self.tickets.get(t)).copied().ok_or((61006, "component ticket is invalid"))?;
        if issued + TICKET_VALID <= now {
            return Err((61005, "component ticket is expired"));
        }
        for state in self.component_tokens.values_mut() {
            state.superseded_at.get_or_insert(now);
        }
        let token = self.mint("COMPONENT_TOKEN_");
        self.component_tokens
            .insert(token.clone(), ComponentToken { expires: now + COMPONENT_TOKEN_TTL, superseded_at: None });
        Ok(json!({"component_access_token": token, "expires_in": COMPONENT_TOKEN_TTL}))
    }

    pub(crate) fn issue_pre_auth_code(&mut self) -> Value {
        let code = self.mint("preauthcode@@@");
        let now = self.now();
        self.pre_auth_codes
            .insert(code.clone(), Code { expires: now + PRE_AUTH_CODE_TTL, used: false, appid: String::new() });
        json!({"pre_auth_code": code, "expires_in": PRE_AUTH_CODE_TTL})
    }

    /// Checks (and with `consume`, uses up) a pre_auth_code for the authorization page.
    pub(crate) fn take_pre_auth_code(&mut self, code: &str, consume: bool) -> Result<(), &'static str> {
        let now = self.now();
        let state = self.pre_auth_codes.get_mut(code).ok_or("pre_auth_code is invalid")?;
        if state.used {
            return Err("pre_auth_code has already been used");
        }
        if state.expires <= now {
            return Err("pre_auth_code has expired");
        }
        state.used |= consume;
        Ok(())
    }

    pub(super) fn issue_access_token(&mut self, appid: &str) -> String {
        let token = self.mint("AUTHORIZER_TOKEN_");
        let expires = self.now() + self.authorizer_token_ttl;
        if let Some(state) = self.accounts.get_mut(appid) {
            state.access_tokens.insert(token.clone(), expires);
        }
        token
    }

    pub(super) fn func_info(state: &AccountState) -> Value {
        Value::Array(state.account.func_info.iter().map(|id| json!({"funcscope_category": {"id": id}})).collect())
    }

    pub(crate) fn query_auth(&mut self, code: Option<&str>) -> Result<Value, WxError> {
        let now = self.now();
        let state = code.and_then(|c| self.auth_codes.get_mut(c)).ok_or((61009, "code is invalid"))?;
        if state.used {
            return Err((61009, "code is invalid"));
        }
        if state.expires <= now {
            return Err((61010, "code is expired"));
        }
        state.used = true;
        let appid = state.appid.clone();
        let access_token = self.issue_access_token(&appid);
        let account = self.accounts.get(&appid).ok_or((61003, "component is not authorized by this account"))?;
        Ok(json!({"authorization_info": {
            "authorizer_appid": appid,
            "authorizer_access_token": access_token,
            "expires_in": self.authorizer_token_ttl,
            "authorizer_refresh_token": account.refresh_token,
            "func_info": Self::func_info(account),
        }}))
    }

    pub(crate) fn authorizer_token(&mut self, body: &Value, rotate: bool) -> Result<Value, WxError> {
        let appid = body.get("authorizer_appid").and_then(Value::as_str).unwrap_or_default().to_owned();
        let given = body.get("authorizer_refresh_token").and_then(Value::as_str).unwrap_or_default();
        let state = self
            .accounts
            .get(&appid)
            .filter(|s| s.authorized)
            .ok_or((61003, "component is not authorized by this account"))?;
        if given.is_empty() || given != state.refresh_token {
            return Err((61023, "refresh_token is invalid"));
        }
        if rotate {
            self.rotate_refresh_token(&appid);
        }
        let access_token = self.issue_access_token(&appid);
        let refresh_token = self.refresh_token_of(&appid).unwrap_or_default();
        Ok(
            json!({"authorizer_access_token": access_token, "expires_in": self.authorizer_token_ttl, "authorizer_refresh_token": refresh_token}),
        )
    }

    pub(crate) fn refresh_token_of(&self, appid: &str) -> Option<String> {
        self.accounts.get(appid).map(|s| s.refresh_token.clone())
    }

    pub(crate) fn rotate_refresh_token(&mut self, appid: &str) -> Option<String> {
        let token = self.mint("refreshtoken@@@");
        let state = self.accounts.get_mut(appid)?;
        state.refresh_token = token.clone();
        Some(token)
    }

    /// WeChat honours `token` for `appid` again (and lists it).
    pub(crate) fn restore_refresh_token(&mut self, appid: &str, token: &str) {
        if let Some(state) = self.accounts.get_mut(appid) {
            state.refresh_token = token.to_owned();
        }
    }

    /// The admin revoked the authorization but the `unauthorized` push never arrived.
    pub(crate) fn revoke_silently(&mut self, appid: &str) {
        if let Some(state) = self.accounts.get_mut(appid) {
            state.authorized = false;
            state.access_tokens.clear();
        }
    }

    /// Whether `api_get_authorizer_list` leaves `appid` out although it is authorized.
    pub(crate) fn hide_from_list(&mut self, appid: &str, hidden: bool) {
        if let Some(state) = self.accounts.get_mut(appid) {
            state.hidden_from_list = hidden;
        }
    }

    /// WeChat no longer honours any refresh token of `appid`, and its authorizer list omits it.
    pub(crate) fn forget_refresh_token(&mut self, appid: &str) {
        if let Some(state) = self.accounts.get_mut(appid) {
            state.refresh_token.clear();
        }
    }

    pub(crate) fn authorizer_info(&self, body: &Value) -> Result<Value, WxError> {
        let appid = body.get("authorizer_appid").and_then(Value::as_str).unwrap_or_default();
        let state = self
            .accounts
            .get(appid)
            .filter(|s| s.authorized)
            .ok_or((61003, "component is not authorized by this account"))?;
        let a = &state.account;
        Ok(json!({
            "authorizer_info": {
                "nick_name": a.nick_name,
                "head_img": format!("http://wx.qlogo.cn/mmopen/{}/0", a.appid),
                "service_type_info": {"id": a.service_type},
                "verify_type_info": {"id": a.verify_type},
                "user_name": a.user_name,
                "principal_name": a.principal_name,
                "alias": "",
                "qrcode_url": format!("http://mmbiz.qpic.cn/mmbiz_jpg/{}/0", a.appid),
                "business_info": {"open_pay": 0, "open_shake": 0, "open_scan": 0, "open_card": 0, "open_store": 0},
                "account_status": 1
            },
            "authorization_info": {"authorizer_appid": a.appid, "authorizer_refresh_token": state.refresh_token, "func_info": Self::func_info(state)}
        }))
    }

    pub(crate) fn authorizer_list(&self, body: &Value) -> Value {
        let offset = body.get("offset").and_then(Value::as_u64).unwrap_or(0);
        let count = body.get("count").and_then(Value::as_u64).unwrap_or(500).min(500);
        let mut authorized: Vec<&AccountState> =
            self.accounts.values().filter(|s| s.authorized && !s.hidden_from_list).collect();
        authorized.sort_by(|a, b| a.account.appid.cmp(&b.account.appid));
        let page: Vec<Value> = authorized
            .iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(count).unwrap_or(0))
            .map(|s| {
                let mut row = json!({"authorizer_appid": s.account.appid, "auth_time": s.auth_time});
                if !s.refresh_token.is_empty() {
                    row["refresh_token"] = json!(s.refresh_token);
                }
                row
            })
            .collect();
        json!({"total_count": authorized.len(), "list": page})
    }
}
