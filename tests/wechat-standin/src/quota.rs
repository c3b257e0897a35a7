//! Every account's daily API quota, as WeChat keeps it: each call an account's token makes is
//! counted per API and day, an API past its daily limit answers 45009, and the quota APIs read
//! and reset it (<https://developers.weixin.qq.com/doc/service/api/apimanage/api_getapiquota>,
//! <https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/openApi/clear_quota.html>,
//! <https://developers.weixin.qq.com/doc/oplatform/openApi/openapi/api_componentclearquota_v2.html>):
//! `openapi/quota/get` (76021 for a path it does not know), `clear_quota` with the account's
//! token (40013 for another appid), `component/clear_quota/v2` with the component's secret; both
//! resets share 10 a month per account (48006 past them). The counts are made in
//! `World::token_account`, which every API of an account goes through.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use crate::StandIn;
use crate::api::{Params, api};
use crate::world::{World, WxError};

/// The APIs whose quota `openapi/quota/get` reads: WeChat's path, the stand-in's endpoint name,
/// and the daily limit of a service account (the stand-in's numbers where WeChat publishes none).
pub(crate) const APIS: &[(&str, &str, u64)] = &[
    ("/cgi-bin/message/custom/send", "custom_send", 500_000),
    ("/cgi-bin/message/template/send", "template_send", 100_000),
    ("/cgi-bin/menu/create", "menu_create", 1000),
    ("/cgi-bin/menu/get", "menu_get", 10_000),
    ("/cgi-bin/menu/delete", "menu_delete", 1000),
    ("/cgi-bin/menu/addconditional", "menu_addconditional", 2000),
    ("/cgi-bin/menu/delconditional", "menu_delconditional", 2000),
    ("/cgi-bin/menu/trymatch", "menu_trymatch", 20_000),
    ("/cgi-bin/tags/create", "tags_create", 100_000),
    ("/cgi-bin/tags/get", "tags_get", 100_000),
    ("/cgi-bin/tags/update", "tags_update", 100_000),
    ("/cgi-bin/tags/delete", "tags_delete", 100_000),
    ("/cgi-bin/tags/getidlist", "tags_getidlist", 100_000),
    ("/cgi-bin/tags/members/batchtagging", "tags_batchtagging", 100_000),
    ("/cgi-bin/tags/members/batchuntagging", "tags_batchuntagging", 100_000),
    ("/cgi-bin/qrcode/create", "qrcode_create", 100_000),
    ("/cgi-bin/ticket/getticket", "ticket_getticket", 100),
    ("/cgi-bin/user/get", "user_get", 500),
    ("/cgi-bin/user/info/batchget", "user_info_batch", 100_000),
    ("/cgi-bin/media/upload", "media_upload", 100_000),
    ("/cgi-bin/media/uploadimg", "media_uploadimg", 100_000),
    ("/cgi-bin/material/add_material", "add_material", 10_000),
    ("/cgi-bin/material/del_material", "del_material", 10_000),
    ("/cgi-bin/material/batchget_material", "batchget_material", 10_000),
    ("/cgi-bin/material/get_materialcount", "get_materialcount", 10_000),
    ("/cgi-bin/draft/add", "draft_add", 10_000),
    ("/cgi-bin/draft/update", "draft_update", 10_000),
    ("/cgi-bin/draft/get", "draft_get", 10_000),
    ("/cgi-bin/draft/batchget", "draft_batchget", 10_000),
    ("/cgi-bin/draft/delete", "draft_delete", 10_000),
    ("/cgi-bin/message/mass/preview", "mass_preview", 100),
    ("/cgi-bin/message/mass/sendall", "mass_sendall", 100),
    ("/cgi-bin/message/mass/send", "mass_send", 100),
    ("/cgi-bin/message/mass/get", "mass_get", 10_000),
    ("/cgi-bin/freepublish/submit", "freepublish_submit", 10_000),
    ("/cgi-bin/freepublish/get", "freepublish_get", 10_000),
    ("/cgi-bin/freepublish/batchget", "freepublish_batchget", 10_000),
    ("/cgi-bin/freepublish/delete", "freepublish_delete", 10_000),
    ("/cgi-bin/template/api_add_template", "add_template", 100_000),
    ("/cgi-bin/template/get_all_private_template", "private_templates", 100_000),
];

/// Resets an account may make a month (both kinds together).
const RESETS_PER_MONTH: u64 = 10;

pub(crate) fn router(standin: StandIn) -> Router {
    Router::new()
        .route("/cgi-bin/openapi/quota/get", post(quota_get))
        .route("/cgi-bin/clear_quota", post(clear_quota))
        .route("/cgi-bin/component/clear_quota/v2", post(clear_quota_v2))
        .with_state(standin)
}

async fn quota_get(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    let token = params.get("access_token").cloned();
    api(&s, "quota_get", &body, |world, body| world.quota_get(token.as_deref(), body)).await
}

async fn clear_quota(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    let token = params.get("access_token").cloned();
    api(&s, "clear_quota", &body, |world, body| {
        let appid = world.token_account(token.as_deref())?;
        if body.get("appid").and_then(Value::as_str) != Some(appid.as_str()) {
            return Err((40013, "invalid appid"));
        }
        world.reset_quota(&appid)
    })
    .await
}

async fn clear_quota_v2(State(s): State<StandIn>, body: Bytes) -> Response {
    let (component, secret) = (s.config().component_appid.clone(), s.config().component_secret.clone());
    api(&s, "clear_quota_v2", &body, |world, body| {
        let text = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
        if text("component_appid") != component || text("appsecret") != secret {
            return Err((40125, "invalid appsecret"));
        }
        let appid = text("appid");
        if !world.knows_account(&appid) {
            return Err((40013, "invalid appid"));
        }
        world.reset_quota(&appid)
    })
    .await
}

impl World {
    /// `openapi/quota/get`.
    pub(crate) fn quota_get(&mut self, token: Option<&str>, body: &Value) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        let path = body.get("cgi_path").and_then(Value::as_str).unwrap_or_default();
        if !path.starts_with('/') {
            return Err((76003, "invalid cgi_path format"));
        }
        let (_, endpoint, default) = APIS.iter().find(|(p, ..)| *p == path).ok_or((76021, "cgi_path not found"))?;
        let limit = self.daily_limit(endpoint, *default);
        let used = self.used_today(&appid, endpoint);
        Ok(json!({
            "quota": {"daily_limit": limit, "used": used, "remain": limit.saturating_sub(used)},
            "rate_limit": {"call_count": 0, "refresh_second": 60},
            "component_rate_limit": {"call_count": 0, "refresh_second": 60},
        }))
    }

    fn reset_quota(&mut self, appid: &str) -> Result<Value, WxError> {
        let month = self.month();
        let resets = self.quota_resets.entry((appid.to_owned(), month)).or_default();
        if *resets >= RESETS_PER_MONTH {
            return Err((48006, "forbid to clear quota because of reaching the limit"));
        }
        *resets += 1;
        self.clear_usage(appid);
        Ok(json!({}))
    }

    /// The limit of `endpoint` a test set, else WeChat's.
    pub(crate) fn daily_limit(&self, endpoint: &str, default: u64) -> u64 {
        self.quota_limits.get(endpoint).copied().unwrap_or(default)
    }

    /// The month (calendar, UTC+8 as WeChat counts) of now: `year * 12 + month`.
    fn month(&self) -> i64 {
        let days = (self.now() + 8 * 3600).div_euclid(86_400);
        // Howard Hinnant's civil_from_days, year and month only.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        (yoe + era * 400 + i64::from(m <= 2)) * 12 + m
    }
}

#[cfg(test)]
mod tests {
    /// The stand-in's sources that route WeChat's APIs.
    const ROUTERS: &[&str] = &[
        include_str!("api.rs"),
        include_str!("drafts.rs"),
        include_str!("mass.rs"),
        include_str!("jssdk.rs"),
        include_str!("media.rs"),
        include_str!("menu.rs"),
        include_str!("qrcodes.rs"),
        include_str!("quota.rs"),
        include_str!("tags.rs"),
    ];

    /// Paths no account's quota is spent on: the component's own APIs (its token, its quota),
    /// the pages, the QR image (no token), and the quota APIs themselves.
    const NOT_AN_ACCOUNTS: &[&str] = &[
        "/cgi-bin/component/",
        "/cgi-bin/componentloginpage",
        "/cgi-bin/getcallbackip",
        "/cgi-bin/showqrcode",
        "/cgi-bin/openapi/quota/get",
        "/cgi-bin/clear_quota",
    ];

    /// Every account API the stand-in serves has a daily limit (a new one fails here until it
    /// has its row in `APIS`).
    #[test]
    fn every_account_api_served_has_a_daily_limit() {
        let mut served = 0;
        for source in ROUTERS {
            for (at, _) in source.match_indices(".route(\"/cgi-bin/") {
                let path = source[at + 8..].split('"').next().unwrap_or_default();
                if NOT_AN_ACCOUNTS.iter().any(|exempt| path.starts_with(exempt)) {
                    continue;
                }
                served += 1;
                assert!(super::APIS.iter().any(|(p, ..)| *p == path), "{path} has no daily limit in APIS");
            }
        }
        assert!(served >= super::APIS.len(), "{served} account APIs routed, {} limits", super::APIS.len());
    }
}
