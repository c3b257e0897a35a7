//! The stand-in authorization page (componentloginpage / bindcomponent): lists the accounts the
//! admin could authorize and, on "Authorize", redirects the browser to `redirect_uri` with
//! `auth_code` and `expires_in` while pushing `authorized`, as WeChat does.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::StandIn;

use shared::web::escape_html as escape;

fn error_page(message: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>授权失败</title></head><body><h1>授权失败</h1><p id=\"error\">{}</p></body></html>",
        escape(message)
    );
    (StatusCode::BAD_REQUEST, Html(body)).into_response()
}

pub(crate) async fn login_page(State(s): State<StandIn>, Query(params): Query<HashMap<String, String>>) -> Response {
    let get = |name: &str| params.get(name).map(String::as_str).unwrap_or("");
    if get("component_appid") != s.config().component_appid {
        return error_page("component_appid is invalid");
    }
    let redirect_uri = get("redirect_uri");
    if !(redirect_uri.starts_with("http://") || redirect_uri.starts_with("https://")) {
        return error_page("redirect_uri must be an absolute http(s) URL");
    }
    let pre_auth_code = get("pre_auth_code");
    if let Err(err) = s.world().take_pre_auth_code(pre_auth_code, false) {
        return error_page(err);
    }
    let biz_appid = get("biz_appid");
    let accounts: Vec<_> =
        s.world().account_list().into_iter().filter(|a| biz_appid.is_empty() || a.appid == biz_appid).collect();
    let mut items = String::new();
    for account in &accounts {
        items.push_str(&format!(
            "<li><form method=\"post\" action=\"/standin/authorize\">\
             <input type=\"hidden\" name=\"pre_auth_code\" value=\"{code}\">\
             <input type=\"hidden\" name=\"redirect_uri\" value=\"{redirect}\">\
             <input type=\"hidden\" name=\"appid\" value=\"{appid}\">\
             <span class=\"nick\">{nick}</span> <code>{user}</code> \
             <button type=\"submit\" id=\"authorize-{appid}\">Authorize 授权</button></form></li>",
            code = escape(pre_auth_code),
            redirect = escape(redirect_uri),
            appid = escape(&account.appid),
            nick = escape(&account.nick_name),
            user = escape(&account.user_name),
        ));
    }
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>公众号授权 (WeChat stand-in)</title></head>\
         <body><h1>授权给第三方平台 {component}</h1><p>WeChat stand-in: choose the account whose admin you are.</p>\
         <ul id=\"accounts\">{items}</ul></body></html>",
        component = escape(&s.config().component_appid),
    ))
    .into_response()
}

#[derive(serde::Deserialize)]
pub(crate) struct AuthorizeForm {
    pre_auth_code: String,
    redirect_uri: String,
    appid: String,
}

pub(crate) async fn authorize(State(s): State<StandIn>, Form(form): Form<AuthorizeForm>) -> Response {
    if let Err(err) = s.world().take_pre_auth_code(&form.pre_auth_code, true) {
        return error_page(err);
    }
    let component = s.config().component_appid.clone();
    let Some((code, xml)) = s.world().authorize(&form.appid, Some(&form.pre_auth_code), &component) else {
        return error_page("unknown account");
    };
    let pusher = s.clone();
    tokio::spawn(async move {
        pusher.push_component_xml(&xml).await;
    });
    let Ok(mut url) = url::Url::parse(&form.redirect_uri) else {
        return error_page("redirect_uri is not a URL");
    };
    url.query_pairs_mut().append_pair("auth_code", &code).append_pair("expires_in", "600");
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}
