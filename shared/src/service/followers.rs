//! The follower ledger: who follows each account, since when, through which QR scene, and when
//! they last wrote (the 48-hour customer-service window opens with a message).
//!
//! The ledger is a consumer of the platform's own events (`follower-ledger`, behind an SQS queue
//! subscribed to the bus), not a second write on the push path: a push still costs one marker
//! read, one `PutEvents` and one marker write. It is as fresh as the bus and the queue's polling
//! make it (seconds), at least once and in any order: every change carries WeChat's
//! `CreateTime`, and the store applies only what is newer (`store::FollowerStore`).
//!
//! Followers from before the authorization are imported from WeChat ([`Followers::backfill_followers`]):
//! `user/get` pages of 10,000 OpenIDs, `user/info/batchget` chunks of 100, resumable, one
//! bounded slice of work per call.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use super::{ActError, Caller, Followers};
use crate::bus::SOURCE;
use crate::input::{self, Text};
use crate::service::ActingStore;
use crate::store::{DocumentStore, Follower, FollowerChange, FollowerStore, MarkerKey, QrCodeStore, StoreError};
use crate::wechat::{ErrorKind, FollowerInfo};

/// The most followers one page of the list returns.
pub const MAX_FOLLOWER_PAGE: u32 = 100;

/// The customer-service window a message opens: 48 hours
/// (<https://developers.weixin.qq.com/doc/service/api/customer/message/api_sendcustommessage>).
pub const MESSAGE_WINDOW_SECS: i64 = 48 * 3600;

/// How long one backfill call works before it saves its place and answers (the function's
/// timeout is 10 s; the caller calls again until `done`).
pub const BACKFILL_SLICE: Duration = Duration::from_secs(7);

/// `user/info/batchget` takes at most 100 OpenIDs.
const BATCH: usize = 100;

/// Follower writes in flight at once during a backfill.
const WRITES_IN_FLIGHT: usize = 16;

/// How long a backfill's place is kept between calls.
const BACKFILL_PROGRESS_SECS: i64 = 7 * 24 * 3600;

/// What the ledger did with one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerOutcome {
    /// The follower's record was updated (or was already newer).
    Recorded,
    /// The event says nothing about a follower (an account change, a template report, a menu
    /// link, another platform's event): nothing to do.
    Ignored,
}

/// Why an event could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Not an event of this platform's contract: retrying will not help.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// The store failed: retry the event.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An event of the bus as EventBridge delivers it (`docs/events.md`): its envelope, and the
/// detail read as [`FollowerDetail`] once the event is one the ledger keeps.
#[derive(Deserialize)]
struct BusEvent {
    #[serde(default)]
    source: Option<String>,
    #[serde(rename = "detail-type")]
    detail_type: String,
    #[serde(default)]
    detail: Value,
}

/// What every follower event's detail carries (the bus writes it: `bus/`), as the ledger reads
/// it; fields it does not read are ignored.
#[derive(Deserialize)]
struct FollowerDetail {
    component_appid: String,
    authorizer_appid: Text<128>,
    openid: Text<128>,
    create_time: i64,
    #[serde(default)]
    scene: Option<String>,
    /// A parametric QR code's ticket, on a follow or scan through one.
    #[serde(default)]
    ticket: Option<String>,
    /// The event's stable id (a scan is counted once per id).
    #[serde(default)]
    id: Option<String>,
}

/// Where a backfill stands, kept between calls.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
struct Backfill {
    /// The `next_openid` the current page was fetched with.
    page_start: String,
    /// How many OpenIDs of that page are imported.
    offset: usize,
    /// Imported so far, over every call.
    imported: u64,
    /// WeChat's `total` at the last page.
    total: u64,
    done: bool,
}

impl<S: ActingStore + DocumentStore + FollowerStore + QrCodeStore> Followers<'_, S> {
    /// Records one event of the bus (as EventBridge delivers it: `detail-type`, `detail`) in the
    /// follower ledger.
    ///
    /// # Errors
    /// [`LedgerError::Malformed`] (drop it), [`LedgerError::Store`] (retry it).
    pub async fn record_follower_event(&self, event: &Value) -> Result<LedgerOutcome, LedgerError> {
        let event = BusEvent::deserialize(event)
            .map_err(|e| LedgerError::Malformed(format!("not an event of the bus: {e}")))?;
        if event.source.as_deref().is_some_and(|s| s != SOURCE) {
            return Ok(LedgerOutcome::Ignored);
        }
        let detail_type = event.detail_type.as_str();
        let follow = detail_type == "mp.event.subscribe";
        let scan = detail_type == "mp.event.scan";
        if !(follow
            || scan
            || detail_type.starts_with("mp.message.")
            || ["mp.event.unsubscribe", "mp.event.click"].contains(&detail_type))
        {
            return Ok(LedgerOutcome::Ignored);
        }
        let detail: FollowerDetail =
            input::from_value(&event.detail).map_err(|e| LedgerError::Malformed(format!("detail: {e}")))?;
        if detail.component_appid != self.pages.component_appid {
            return Ok(LedgerOutcome::Ignored);
        }
        let change = match detail_type {
            "mp.event.subscribe" => FollowerChange::Subscribed { scene: detail.scene },
            "mp.event.unsubscribe" => FollowerChange::Unsubscribed,
            "mp.event.scan" | "mp.event.click" => FollowerChange::Interacted,
            _ => FollowerChange::Messaged,
        };
        let (appid, openid, at) = (&*detail.authorizer_appid, &*detail.openid, detail.create_time);
        self.store.record_follower(appid, openid, at, &change).await?;
        // A scan of a parametric QR code: counted for the code (once per event id), a follow when
        // it brought a new follower.
        let ticket = detail.ticket.as_deref().filter(|t| !t.is_empty() && t.len() <= 512);
        let event_id = detail.id.as_deref().filter(|id| !id.is_empty() && id.len() <= 128);
        if let (Some(ticket), Some(event_id)) = (ticket, event_id)
            && (follow || scan)
        {
            self.setup().count_qr_push(appid, ticket, follow, event_id, at).await?;
        }
        Ok(LedgerOutcome::Recorded)
    }

    /// One page of the account's followers, as JSON for the dashboard.
    ///
    /// # Errors
    /// [`ActError`]: not the caller's account, a malformed cursor, the store.
    pub async fn page(
        &self,
        caller: &Caller,
        appid: &str,
        subscribed: Option<bool>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Value, ActError> {
        self.owned_account(caller, appid).await?;
        let page = match self.store.followers(appid, subscribed, cursor, limit.clamp(1, MAX_FOLLOWER_PAGE)).await {
            Err(StoreError::Other(reason)) if cursor.is_some() => return Err(ActError::Invalid(reason)),
            other => other?,
        };
        let now = self.now();
        let items: Vec<Value> = page.items.iter().map(|f| follower_json(f, now)).collect();
        let count = self.store.follower_counts(&[appid.to_owned()]).await?.get(appid).copied().unwrap_or(0);
        Ok(json!({"followers": items, "next_cursor": page.next, "subscribed_count": count}))
    }

    /// Imports the account's existing followers from WeChat, for at most [`BACKFILL_SLICE`];
    /// call again until `done`. Resumes where the last call stopped (mid-page too), and stops
    /// early, keeping its place, when WeChat's daily quota is spent (45009).
    ///
    /// # Errors
    /// [`ActError`].
    pub async fn backfill_followers(&self, caller: &Caller, appid: &str) -> Result<Value, ActError> {
        let record = self.account_for(caller, appid).await?;
        let key = MarkerKey::backfill(appid);
        let mut progress: Backfill = match self.store.recall(&key, self.now()).await? {
            Some(text) => serde_json::from_str(&text).unwrap_or_default(),
            None => Backfill::default(),
        };
        if progress.done {
            // A finished backfill starts over when asked again (new followers are in the ledger
            // already; this re-reads WeChat's list and adds any the events missed).
            progress = Backfill::default();
        }
        let deadline = Instant::now() + BACKFILL_SLICE;
        let mut pages_budget = self.bulk_budget(&record, "/cgi-bin/user/get").await;
        let mut infos_budget = self.bulk_budget(&record, "/cgi-bin/user/info/batchget").await;
        let mut stopped = None;
        let mut held_by = None;
        while Instant::now() < deadline {
            if !pages_budget.spend() {
                held_by = Some(pages_budget.clone());
                break;
            }
            let start = progress.page_start.clone();
            let page = self
                .with_account_token(record.clone(), false, |token| {
                    let start = start.clone();
                    async move { self.wechat.follower_ids(&token, &start).await }
                })
                .await;
            let page = match page {
                Ok(page) => page,
                Err(err) => {
                    stopped = Some(err);
                    break;
                }
            };
            progress.total = page.total;
            if page.openids.is_empty() {
                progress.done = true;
                break;
            }
            for chunk in page.openids[progress.offset.min(page.openids.len())..].chunks(BATCH) {
                if Instant::now() >= deadline {
                    break;
                }
                if !infos_budget.spend() {
                    held_by = Some(infos_budget.clone());
                    break;
                }
                let infos = self
                    .with_account_token(record.clone(), false, |token| async move {
                        self.wechat.follower_infos(&token, chunk).await
                    })
                    .await;
                let infos = match infos {
                    Ok(infos) => infos,
                    Err(err) => {
                        stopped = Some(err);
                        break;
                    }
                };
                let imported = self.import(appid, &infos).await?;
                progress.imported += imported;
                progress.offset += chunk.len();
            }
            if stopped.is_some() || held_by.is_some() || progress.offset < page.openids.len() {
                break;
            }
            if page.next.is_empty() {
                progress.done = true;
                break;
            }
            progress = Backfill { page_start: page.next, offset: 0, ..progress };
        }
        self.store
            .remember_value(
                &key,
                &serde_json::to_string(&progress).unwrap_or_default(),
                BACKFILL_PROGRESS_SECS,
                self.now(),
            )
            .await?;
        tracing::info!(authorizer = %appid, imported = progress.imported, total = progress.total, done = progress.done, "follower backfill slice");
        let mut out = json!({"done": progress.done, "imported": progress.imported, "total": progress.total});
        if let Some(budget) = held_by {
            tracing::info!(authorizer = %appid, api = budget.api, "follower backfill held by the bulk share of the quota");
            out["stopped"] = json!(budget.refusal());
            out["quota_guard"] = budget.figures();
        }
        match stopped {
            None => {}
            Some(ActError::Token(super::CallError::WeChat(err)) | ActError::Refused(err))
                if err.kind() == ErrorKind::Quota =>
            {
                out["stopped"] = json!(
                    "WeChat's daily quota for this account is spent (45009); call again tomorrow, the backfill resumes where it stopped"
                );
            }
            Some(err) => return Err(err),
        }
        Ok(out)
    }

    /// Records one `batchget` answer: the followers it lists as following, concurrently.
    async fn import(&self, appid: &str, infos: &[FollowerInfo]) -> Result<u64, StoreError> {
        let given = |text: &Option<String>| text.clone().filter(|s| !s.is_empty());
        let changes: Vec<(String, FollowerChange)> = infos
            .iter()
            .filter(|info| info.subscribe == Some(1))
            .filter_map(|info| {
                Some((
                    given(&info.openid)?,
                    FollowerChange::Imported {
                        subscribed_at: info.subscribe_time.unwrap_or(0),
                        scene: given(&info.qr_scene_str),
                        unionid: given(&info.unionid),
                    },
                ))
            })
            .collect();
        let now = self.now();
        for group in changes.chunks(WRITES_IN_FLIGHT) {
            // A vector of futures (not a stream of closures): the handler's future stays `Send`.
            let writes: Vec<_> =
                group.iter().map(|(openid, change)| self.store.record_follower(appid, openid, now, change)).collect();
            futures_util::future::join_all(writes).await.into_iter().collect::<Result<Vec<()>, _>>()?;
        }
        Ok(changes.len() as u64)
    }
}

/// A follower as the dashboard shows them, with whether a customer-service message can reach
/// them now (`window_open_until`: 48 hours after their last message).
fn follower_json(follower: &Follower, now: i64) -> Value {
    let window = follower.last_message_at.map(|t| t + MESSAGE_WINDOW_SECS).filter(|until| *until > now);
    json!({
        "openid": follower.openid,
        "subscribed": follower.subscribed,
        "first_subscribed_at": follower.first_subscribed_at,
        "last_subscribed_at": follower.last_subscribed_at,
        "unsubscribed_at": follower.unsubscribed_at,
        "scene": follower.scene,
        "first_scene": follower.first_scene,
        "tags": follower.tags,
        "last_message_at": follower.last_message_at,
        "last_interaction_at": follower.last_interaction_at,
        "unionid": follower.unionid,
        "window_open_until": window,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{LedgerError, LedgerOutcome};
    use crate::service::testing::{ACCOUNT, backend, world};

    #[tokio::test]
    async fn the_ledger_reads_the_events_the_bus_writes_and_names_what_is_wrong_with_others() {
        let w = world().await;
        let component = w.platform.pages.component_appid.clone();
        let xml = "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_new]]></FromUserName>\
                   <CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>\
                   <Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_shop-1]]></EventKey></xml>";
        let message = crate::message::Message::parse(xml).expect("a follow");
        let written = crate::bus::follower_event(&component, ACCOUNT, &message, xml, 1_700_000_000_123);
        let delivered = |detail_type: &str, detail: Value| json!({"source": crate::bus::SOURCE, "detail-type": detail_type, "detail": detail});
        let detail: Value = serde_json::from_str(&written.detail).expect("JSON");
        let followers = w.platform.followers();
        let recorded = followers.record_follower_event(&delivered(written.detail_type, detail.clone())).await;
        assert!(matches!(recorded, Ok(LedgerOutcome::Recorded)), "{recorded:?}");
        let page = followers.page(&backend(), ACCOUNT, Some(true), None, 10).await.expect("page");
        assert_eq!(page["followers"][0]["openid"], "o_new", "{page}");
        assert_eq!(page["followers"][0]["scene"], "shop-1", "{page}");

        let mut no_openid = detail.clone();
        no_openid.as_object_mut().unwrap().remove("openid");
        let refused = followers.record_follower_event(&delivered("mp.event.subscribe", no_openid)).await;
        assert!(
            matches!(&refused, Err(LedgerError::Malformed(why)) if why == "detail: openid is missing"),
            "{refused:?}"
        );
        let mut elsewhere = detail.clone();
        elsewhere["component_appid"] = json!("wx_another_platform");
        let ignored = followers.record_follower_event(&delivered("mp.event.subscribe", elsewhere)).await;
        assert!(matches!(ignored, Ok(LedgerOutcome::Ignored)), "{ignored:?}");
        let other_kind = followers.record_follower_event(&delivered("mp.event.templatesendjobfinish", json!({}))).await;
        assert!(matches!(other_kind, Ok(LedgerOutcome::Ignored)), "{other_kind:?}");
    }

    #[tokio::test]
    async fn an_accounts_followers_are_imported_from_wechat_once_and_counted() {
        let w = world().await;
        w.standin.seed_followers(ACCOUNT, "oSeed", 30);
        let followers = w.platform.followers();
        let empty = followers.page(&backend(), ACCOUNT, Some(true), None, 50).await.expect("page");
        assert_eq!((empty["followers"].as_array().map(Vec::len), &empty["subscribed_count"]), (Some(0), &0.into()));

        let report = followers.backfill_followers(&backend(), ACCOUNT).await.expect("backfilled");
        assert_eq!((&report["done"], &report["imported"], &report["total"]), (&true.into(), &30.into(), &30.into()));
        let page = followers.page(&backend(), ACCOUNT, Some(true), None, 50).await.expect("page");
        assert_eq!(page["followers"].as_array().map(Vec::len), Some(30), "{page}");
        assert_eq!(page["subscribed_count"], 30);

        // Asked again, it starts over and finds the same 30: the count does not double.
        let again = followers.backfill_followers(&backend(), ACCOUNT).await.expect("backfilled again");
        assert_eq!(again["done"], true, "{again}");
        let page = followers.page(&backend(), ACCOUNT, Some(true), None, 50).await.expect("page");
        assert_eq!(page["subscribed_count"], 30, "{page}");
    }
}
