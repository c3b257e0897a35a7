//! The JSON WeChat sends, decoded leniently: every field optional where WeChat may omit it,
//! unknown fields ignored, numbers accepted as numbers or strings (`"7200"`), `errcode` probed
//! first because errors arrive as HTTP 200.

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;

use super::ApiError;
use crate::account::AuthorizerProfile;
use crate::secret::Secret;

/// Decodes `bytes` as `T` unless it is a `{"errcode": N≠0}` error.
pub(super) fn decode<T: DeserializeOwned>(call: &'static str, bytes: &[u8]) -> Result<T, ApiError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::Decode { call, message: format!("not JSON ({e})") })?;
    if let Some(errcode) = value.get("errcode").and_then(lenient_value)
        && errcode != 0
    {
        let errmsg = value.get("errmsg").and_then(Value::as_str).unwrap_or("").chars().take(300).collect();
        return Err(ApiError::WeChat { call, errcode, errmsg });
    }
    T::deserialize(value).map_err(|e| ApiError::Decode { call, message: e.to_string() })
}

fn lenient_value(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An integer that may arrive as a number or a string, or be absent/null/garbage (→ `None`).
pub(super) fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.as_ref().and_then(lenient_value))
}

/// A string that may arrive as a string or a number, or be absent/null (→ `None`).
pub(super) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// A part of an answer whose shape WeChat does not pin down (UNCONFIRMED): read as `T` when it
/// has `T`'s shape, else as `T`'s default, so the rest of the answer still counts.
pub(super) fn forgiving<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(d: D) -> Result<T, D::Error> {
    Ok(T::deserialize(Value::deserialize(d)?).unwrap_or_default())
}

fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Ok(text(d)?.map(Secret::new))
}

fn required_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    secret(d)?.filter(|s| !s.is_empty()).ok_or_else(|| serde::de::Error::custom("token missing"))
}

#[derive(Debug, Deserialize)]
pub(super) struct Ok {}

/// WeChat's answer without its `errcode`/`errmsg` (0/"ok" once decoded): what the platform passes
/// on as data.
pub(super) fn answer_only(mut answer: Value) -> Value {
    if let Some(object) = answer.as_object_mut() {
        object.remove("errcode");
        object.remove("errmsg");
    }
    answer
}

/// An id WeChat sends as a number or a string (`msgid`, `template_id`), as text.
pub(super) fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[derive(Deserialize)]
pub(super) struct ComponentToken {
    #[serde(deserialize_with = "required_secret")]
    pub(super) component_access_token: Secret,
    #[serde(default, deserialize_with = "lenient")]
    pub(super) expires_in: Option<i64>,
}

#[derive(Deserialize)]
pub(super) struct PreAuthCode {
    #[serde(deserialize_with = "required_secret")]
    pub(super) pre_auth_code: Secret,
    #[serde(default, deserialize_with = "lenient")]
    pub(super) expires_in: Option<i64>,
}

#[derive(Deserialize)]
pub(super) struct QueryAuth {
    pub(super) authorization_info: AuthorizationInfo,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct AuthorizationInfo {
    #[serde(deserialize_with = "text")]
    pub(super) authorizer_appid: Option<String>,
    /// The very old example on WeChat's `api_get_authorizer_info` page says `appid`.
    #[serde(deserialize_with = "text")]
    pub(super) appid: Option<String>,
    #[serde(deserialize_with = "secret")]
    pub(super) authorizer_access_token: Option<Secret>,
    #[serde(deserialize_with = "lenient")]
    pub(super) expires_in: Option<i64>,
    #[serde(deserialize_with = "secret")]
    pub(super) authorizer_refresh_token: Option<Secret>,
    pub(super) func_info: Value,
}

/// `func_info: [{"funcscope_category": {"id": 1}}, …]` → `[1, …]`, skipping anything else.
pub(super) fn func_ids(func_info: &Value) -> Vec<i64> {
    func_info
        .as_array()
        .map(|items| {
            items.iter().filter_map(|item| item.get("funcscope_category")?.get("id").and_then(lenient_value)).collect()
        })
        .unwrap_or_default()
}

#[derive(Deserialize)]
pub(super) struct AuthorizerToken {
    #[serde(deserialize_with = "required_secret")]
    pub(super) authorizer_access_token: Secret,
    #[serde(default, deserialize_with = "lenient")]
    pub(super) expires_in: Option<i64>,
    #[serde(default, deserialize_with = "secret")]
    pub(super) authorizer_refresh_token: Option<Secret>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct AuthorizerInfo {
    authorizer_info: Value,
    authorization_info: AuthorizationInfo,
    /// Old doc examples put it at the top level.
    #[serde(deserialize_with = "text")]
    qrcode_url: Option<String>,
}

impl AuthorizerInfo {
    pub(super) fn into_profile(self) -> AuthorizerProfile {
        let info = &self.authorizer_info;
        let s = |name: &str| info.get(name).and_then(Value::as_str).unwrap_or("").to_owned();
        let id = |name: &str| info.get(name).and_then(|v| v.get("id")).and_then(lenient_value);
        AuthorizerProfile {
            nick_name: s("nick_name"),
            head_img: s("head_img"),
            user_name: s("user_name"),
            principal_name: s("principal_name"),
            alias: s("alias"),
            qrcode_url: Some(s("qrcode_url")).filter(|u| !u.is_empty()).or(self.qrcode_url).unwrap_or_default(),
            service_type: id("service_type_info"),
            verify_type: id("verify_type_info"),
            func_info: func_ids(&self.authorization_info.func_info),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct AuthorizerList {
    #[serde(deserialize_with = "lenient")]
    pub(super) total_count: Option<i64>,
    pub(super) list: Vec<ListRow>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ListRow {
    pub(super) authorizer_appid: String,
    #[serde(deserialize_with = "secret")]
    pub(super) refresh_token: Option<Secret>,
    #[serde(deserialize_with = "lenient")]
    pub(super) auth_time: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_arrive_as_200_with_errcode_even_as_a_string() {
        let err =
            decode::<Ok>("api_query_auth", br#"{"errcode":"61009","errmsg":"code is invalid rid: 1"}"#).unwrap_err();
        assert_eq!(
            err,
            ApiError::WeChat { call: "api_query_auth", errcode: 61009, errmsg: "code is invalid rid: 1".into() }
        );
        assert!(decode::<Ok>("x", br#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        assert!(matches!(decode::<Ok>("x", b"<html>"), Err(ApiError::Decode { .. })));
    }

    #[test]
    fn a_publications_state_is_read_whatever_shape_its_parts_come_in() {
        use crate::wechat::{Publication, PublishedArticle};
        let answer = br#"{"errcode":0,"publish_id":"1","publish_status":"0","article_id":7,
            "article_detail":{"count":1,"item":[{"idx":1,"article_url":"https://mp.weixin.qq.com/s/x"}]},"fail_idx":[]}"#;
        let state: Publication = decode("freepublish/get", answer).unwrap();
        assert_eq!((state.publish_status, state.article_id.as_deref()), (Some(0), Some("7")));
        assert_eq!(
            state.article_detail.item,
            [PublishedArticle { article_url: Some("https://mp.weixin.qq.com/s/x".into()) }]
        );
        // A part of another shape (UNCONFIRMED fields) is left out; the status still counts.
        let odd: Publication = decode("x", br#"{"publish_status":1,"article_detail":{"item":"none"}}"#).unwrap();
        assert_eq!((odd.publish_status, odd.article_detail.item.len()), (Some(1), 0));
        let empty: Publication = decode("x", br#"{"errcode":0,"errmsg":"ok"}"#).unwrap();
        assert_eq!(empty, Publication::default());
    }

    #[test]
    fn token_answers_tolerate_strings_and_unknown_fields() {
        let t: ComponentToken =
            decode("x", br#"{"component_access_token":"tok","expires_in":"7200","extra":1}"#).unwrap();
        assert_eq!((t.component_access_token.expose(), t.expires_in), ("tok", Some(7200)));
        let t: ComponentToken = decode("x", br#"{"component_access_token":"tok"}"#).unwrap();
        assert_eq!(t.expires_in, None);
        assert!(decode::<ComponentToken>("x", br#"{"expires_in":7200}"#).is_err());
        assert!(decode::<ComponentToken>("x", br#"{"component_access_token":""}"#).is_err());
    }

    #[test]
    fn authorizer_info_in_the_current_and_the_old_shape() {
        let current = r#"{"authorizer_info":{"nick_name":"微信SDK Demo Special","head_img":"http://wx.qlogo.cn/mmopen/GPy","service_type_info":{"id":2},"verify_type_info":{"id":"0"},"user_name":"gh_eb5e3a772040","principal_name":"腾讯计算机系统有限公司","business_info":{"open_store":0,"open_scan":"0"},"alias":"paytest01","qrcode_url":"URL","basic_config":{"isPhoneConfigured":true}},"authorization_info":{"authorizer_appid":"wxf8b4f85f3a794e77","authorizer_refresh_token":"r","func_info":[{"funcscope_category":{"id":1}},{"funcscope_category":{"id":2},"confirm_info":{"need_confirm":0}}]}}"#;
        let profile = decode::<AuthorizerInfo>("x", current.as_bytes()).unwrap().into_profile();
        assert_eq!(profile.nick_name, "微信SDK Demo Special");
        assert_eq!((profile.service_type, profile.verify_type), (Some(2), Some(0)));
        assert_eq!((profile.user_name.as_str(), profile.qrcode_url.as_str()), ("gh_eb5e3a772040", "URL"));
        assert_eq!(profile.func_info, [1, 2]);
        let old = br#"{"authorizer_info":{"nick_name":"n","service_type_info":{"id":0}},"qrcode_url":"OLD","authorization_info":{"appid":"wx1","func_info":[]}}"#;
        let profile = decode::<AuthorizerInfo>("x", old).unwrap().into_profile();
        assert_eq!((profile.qrcode_url.as_str(), profile.verify_type), ("OLD", None));
    }

    #[test]
    fn authorizer_list_rows_may_lack_refresh_tokens() {
        let list: AuthorizerList = decode("x", br#"{"total_count":"2","list":[{"authorizer_appid":"a","refresh_token":"r","auth_time":1558000607},{"authorizer_appid":"b"}]}"#).unwrap();
        assert_eq!(list.total_count, Some(2));
        assert_eq!(list.list[1].refresh_token, None);
    }
}
