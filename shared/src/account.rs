//! What an authorized account is, as WeChat describes it. Below the store and the WeChat client,
//! which both speak of it (the client reads it from `api_get_authorizer_info`, the store keeps
//! it), so neither imports the other for it.

/// What `api_get_authorizer_info` tells about an account, plus the granted permission sets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthorizerProfile {
    /// `nick_name` (may be empty).
    pub nick_name: String,
    /// `head_img` URL.
    pub head_img: String,
    /// `user_name`: the 原始ID `gh_…`, the `ToUserName` of its pushes.
    pub user_name: String,
    /// `principal_name` (主体名称).
    pub principal_name: String,
    /// `alias` (微信号).
    pub alias: String,
    /// `qrcode_url`.
    pub qrcode_url: String,
    /// `service_type_info.id`: 0 订阅号, 1 升级后的订阅号, 2 服务号.
    pub service_type: Option<i64>,
    /// `verify_type_info.id`: -1 未认证, 0 微信认证, ….
    pub verify_type: Option<i64>,
    /// `func_info[].funcscope_category.id`: the permission sets granted.
    pub func_info: Vec<i64>,
}
