//! Notices pushed to the 授权事件接收URL, keyed by `InfoType`.
//!
//! Docs: component_verify_ticket
//! <https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/Before_Develop/component_verify_ticket.html>,
//! authorization changes
//! <https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/ThirdParty/token/authorize_event.html>.
//! Field names are exact: `AuthorizerAppid` has a lowercase "ppid".

use super::{bounded_key, create_time, required};
use crate::secret::Secret;
use crate::xml::Fields;
use crate::xml::XmlError;

/// A decrypted component push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentNotice {
    /// `AppId`: the component appid.
    pub appid: String,
    /// `CreateTime`, seconds since the epoch; orders verify tickets.
    pub create_time: i64,
    /// What happened.
    pub kind: NoticeKind,
}

/// The `InfoType`s we act on, plus the raw fallback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeKind {
    /// `component_verify_ticket`, pushed every 10 minutes, valid 12 hours.
    VerifyTicket {
        /// `ComponentVerifyTicket`.
        ticket: Secret,
    },
    /// `authorized`: an admin authorized the platform.
    Authorized(AuthorizationNotice),
    /// `updateauthorized`: the granted permission sets changed.
    UpdateAuthorized(AuthorizationNotice),
    /// `unauthorized`: the admin revoked the authorization.
    Unauthorized {
        /// `AuthorizerAppid`.
        authorizer_appid: String,
    },
    /// Any other `InfoType` (快速注册, 认证, 备案 …), or a known one missing its fields. The raw XML
    /// may hold codes, so it is a [`Secret`].
    Unknown {
        /// `InfoType`.
        info_type: String,
        /// The whole decrypted XML.
        raw: Secret,
    },
}

/// The fields of `authorized` / `updateauthorized`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationNotice {
    /// `AuthorizerAppid`: the 公众号 / 小程序 appid.
    pub authorizer_appid: String,
    /// `AuthorizationCode`, to exchange with `api_query_auth` right away.
    pub authorization_code: Secret,
    /// `AuthorizationCodeExpiredTime`; whether absolute or a duration is unconfirmed, so it is
    /// kept but not relied upon.
    pub authorization_code_expired_time: Option<i64>,
    /// `PreAuthCode` used for this authorization.
    pub pre_auth_code: Option<Secret>,
}

impl ComponentNotice {
    /// Parses a decrypted component push.
    ///
    /// # Errors
    /// [`XmlError`] when the XML is broken or lacks `InfoType` or `CreateTime`.
    pub fn parse(text: &str) -> Result<Self, XmlError> {
        let f = Fields::flat(text)?;
        let info_type = required(&f, "InfoType")?;
        let kind = notice_kind(&f, info_type)
            .unwrap_or_else(|| NoticeKind::Unknown { info_type: info_type.to_owned(), raw: Secret::new(text) });
        Ok(Self { appid: f.string("AppId").unwrap_or_default(), create_time: create_time(&f)?, kind })
    }

    /// The `InfoType` this notice arrived with.
    pub fn info_type(&self) -> &str {
        match &self.kind {
            NoticeKind::VerifyTicket { .. } => "component_verify_ticket",
            NoticeKind::Authorized(_) => "authorized",
            NoticeKind::UpdateAuthorized(_) => "updateauthorized",
            NoticeKind::Unauthorized { .. } => "unauthorized",
            NoticeKind::Unknown { info_type, .. } => info_type,
        }
    }

    /// The authorizer this notice is about, if any.
    pub fn authorizer_appid(&self) -> Option<&str> {
        match &self.kind {
            NoticeKind::Authorized(a) | NoticeKind::UpdateAuthorized(a) => Some(&a.authorizer_appid),
            NoticeKind::Unauthorized { authorizer_appid } => Some(authorizer_appid),
            _ => None,
        }
    }

    /// `(InfoType, AuthorizerAppid, CreateTime)`: equal for WeChat's retries of one notice.
    pub fn dedup_key(&self) -> String {
        bounded_key(format!("info|{}|{}|{}", self.info_type(), self.authorizer_appid().unwrap_or(""), self.create_time))
    }
}

fn notice_kind(f: &Fields<'_>, info_type: &str) -> Option<NoticeKind> {
    let non_empty = |name| f.string(name).filter(|v: &String| !v.trim().is_empty());
    let authorization = || {
        Some(AuthorizationNotice {
            authorizer_appid: non_empty("AuthorizerAppid")?,
            authorization_code: Secret::new(non_empty("AuthorizationCode")?),
            authorization_code_expired_time: f.get("AuthorizationCodeExpiredTime").and_then(|t| t.trim().parse().ok()),
            pre_auth_code: non_empty("PreAuthCode").map(Secret::new),
        })
    };
    Some(match info_type {
        "component_verify_ticket" => {
            NoticeKind::VerifyTicket { ticket: Secret::new(non_empty("ComponentVerifyTicket")?) }
        }
        "authorized" => NoticeKind::Authorized(authorization()?),
        "updateauthorized" => NoticeKind::UpdateAuthorized(authorization()?),
        "unauthorized" => NoticeKind::Unauthorized { authorizer_appid: non_empty("AuthorizerAppid")? },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_real_verify_ticket_push() {
        let xml = "<xml><AppId><![CDATA[wx90ea14d1579219ad]]></AppId>\n<CreateTime>1571123234</CreateTime>\n<InfoType><![CDATA[component_verify_ticket]]></InfoType>\n<ComponentVerifyTicket><![CDATA[ticket@@@UiOpYSEEsvhShWenejR1RXlzq8s12fiTBSiXM0tUrgH9UAaEsLnw_JAeeH6YQlRCRvM8dZbyEr1Bb-CTL5kW9A]]></ComponentVerifyTicket>\n</xml>";
        let n = ComponentNotice::parse(xml).unwrap();
        assert_eq!(n.appid, "wx90ea14d1579219ad");
        assert_eq!(n.create_time, 1_571_123_234);
        assert_eq!(n.info_type(), "component_verify_ticket");
        let NoticeKind::VerifyTicket { ticket } = &n.kind else { panic!("{n:?}") };
        assert!(ticket.expose().starts_with("ticket@@@UiOp"));
        assert!(!format!("{n:?}").contains("ticket@@@"), "Debug must not leak the ticket");
    }

    #[test]
    fn parses_the_doc_example_without_cdata() {
        let xml = "<xml>\n<AppId>some_appid</AppId>\n<CreateTime>1413192605</CreateTime>\n<InfoType>component_verify_ticket</InfoType>\n<ComponentVerifyTicket>some_verify_ticket</ComponentVerifyTicket>\n</xml>";
        let n = ComponentNotice::parse(xml).unwrap();
        assert_eq!(n.kind, NoticeKind::VerifyTicket { ticket: Secret::new("some_verify_ticket") });
    }

    #[test]
    fn parses_authorized_updateauthorized_and_unauthorized() {
        let body = |info: &str| {
            format!(
                "<xml><AppId>wx_component</AppId><CreateTime>1413192760</CreateTime><InfoType>{info}</InfoType>\
                 <AuthorizerAppid>wx_authorizer</AuthorizerAppid><AuthorizationCode>queryauthcode@@@abc</AuthorizationCode>\
                 <AuthorizationCodeExpiredTime>1413196360</AuthorizationCodeExpiredTime><PreAuthCode>preauthcode@@@xyz</PreAuthCode></xml>"
            )
        };
        let expected = AuthorizationNotice {
            authorizer_appid: "wx_authorizer".into(),
            authorization_code: Secret::new("queryauthcode@@@abc"),
            authorization_code_expired_time: Some(1_413_196_360),
            pre_auth_code: Some(Secret::new("preauthcode@@@xyz")),
        };
        let n = ComponentNotice::parse(&body("authorized")).unwrap();
        assert_eq!(n.kind, NoticeKind::Authorized(expected.clone()));
        assert_eq!(n.authorizer_appid(), Some("wx_authorizer"));
        let n = ComponentNotice::parse(&body("updateauthorized")).unwrap();
        assert_eq!(n.kind, NoticeKind::UpdateAuthorized(expected));

        let xml = "<xml>\n<AppId>wx_component</AppId>\n<CreateTime>1413192760</CreateTime>\n<InfoType>unauthorized</InfoType>\n<AuthorizerAppid>wx_authorizer</AuthorizerAppid>\n</xml>";
        let n = ComponentNotice::parse(xml).unwrap();
        assert_eq!(n.kind, NoticeKind::Unauthorized { authorizer_appid: "wx_authorizer".into() });
        assert_eq!(n.dedup_key(), "info|unauthorized|wx_authorizer|1413192760");
    }

    #[test]
    fn unknown_info_types_and_incomplete_known_ones_are_kept_raw() {
        let xml = "<xml><AppId>wx</AppId><CreateTime>1</CreateTime><InfoType>notify_third_fasteregister</InfoType><status>0</status><auth_code>code</auth_code></xml>";
        let n = ComponentNotice::parse(xml).unwrap();
        assert_eq!(n.info_type(), "notify_third_fasteregister");
        assert!(matches!(&n.kind, NoticeKind::Unknown { raw, .. } if raw.expose() == xml));
        let no_code = "<xml><AppId>wx</AppId><CreateTime>1</CreateTime><InfoType>authorized</InfoType><AuthorizerAppid>a</AuthorizerAppid></xml>";
        assert!(matches!(ComponentNotice::parse(no_code).unwrap().kind, NoticeKind::Unknown { .. }));
    }

    #[test]
    fn missing_header_fields_are_errors() {
        for xml in [
            "<xml><AppId>wx</AppId><CreateTime>1</CreateTime></xml>",
            "<xml><AppId>wx</AppId><InfoType>unauthorized</InfoType></xml>",
            "<xml><AppId>wx</AppId><CreateTime>soon</CreateTime><InfoType>unauthorized</InfoType></xml>",
            "<xml><AppId>wx</AppId>",
        ] {
            assert!(matches!(ComponentNotice::parse(xml), Err(XmlError(_))), "{xml}");
        }
    }
}
