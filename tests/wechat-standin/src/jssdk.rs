//! `ticket/getticket` (the account's jsapi_ticket and wx_card ticket,
//! <https://developers.weixin.qq.com/doc/service/api/invoice/auth/api_getticket.html>) and the check
//! WeChat's client makes of a page's `wx.config` (here a function tests call, and
//! `POST /standin/jssdk/verify`).
//!
//! A ticket lives 7,200 s; asking again within that time answers the same ticket. WeChat calls
//! the API's quota "very limited" without a number: the stand-in's daily limit for it is 100 calls
//! per account (`quota.rs`), then 45009, so a platform that asks per page fails fast.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use crate::StandIn;
use crate::api::{Params, api};
use crate::world::{World, WxError};

/// A ticket's life.
const TICKET_SECS: i64 = 7200;

pub(crate) fn router(standin: StandIn) -> Router {
    Router::new()
        .route("/cgi-bin/ticket/getticket", get(getticket))
        .route("/standin/jssdk/verify", post(verify))
        .with_state(standin)
}

async fn getticket(State(s): State<StandIn>, params: Params) -> Response {
    let token = params.get("access_token").cloned();
    let kind = params.get("type").cloned().unwrap_or_default();
    api(&s, "ticket_getticket", &axum::body::Bytes::from_static(b"{}"), |world, _| {
        world.get_ticket(token.as_deref(), &kind)
    })
    .await
}

#[derive(Deserialize)]
struct Verify {
    appid: String,
    url: String,
    timestamp: i64,
    #[serde(rename = "nonceStr")]
    nonce_str: String,
    signature: String,
}

/// `{"ok": true}` when the config is what WeChat's client accepts for the page.
async fn verify(State(s): State<StandIn>, axum::Json(v): axum::Json<Verify>) -> Response {
    let ok = s.world().js_config_valid(&v.appid, &v.url, v.timestamp, &v.nonce_str, &v.signature);
    axum::Json(json!({"ok": ok})).into_response()
}

impl World {
    /// `ticket/getticket`.
    pub(crate) fn get_ticket(&mut self, token: Option<&str>, kind: &str) -> Result<Value, WxError> {
        let appid = self.token_account(token)?;
        if kind != "jsapi" && kind != "wx_card" {
            return Err((40097, "invalid args"));
        }
        let now = self.now();
        self.counter += 1;
        let fresh = format!("{kind}_{}_{}", &appid[appid.len() - 4..], self.counter);
        let entry = self.tickets_js.entry((appid, kind.to_owned())).or_insert((fresh.clone(), now + TICKET_SECS));
        if entry.1 <= now {
            *entry = (fresh, now + TICKET_SECS);
        }
        Ok(json!({"ticket": entry.0, "expires_in": TICKET_SECS}))
    }

    /// Whether a page's `wx.config` would pass WeChat's check: the account's appid, its current
    /// jsapi_ticket, the page's URL without its fragment, SHA-1 over the four fields in order.
    pub(crate) fn js_config_valid(&self, appid: &str, url: &str, timestamp: i64, nonce: &str, signature: &str) -> bool {
        let Some((ticket, expires)) = self.tickets_js.get(&(appid.to_owned(), "jsapi".to_owned())) else {
            return false;
        };
        if *expires <= self.now() {
            return false;
        }
        let page = url.split('#').next().unwrap_or_default();
        let text = format!("jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={page}");
        let expected: String = Sha1::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        expected == signature
    }
}
