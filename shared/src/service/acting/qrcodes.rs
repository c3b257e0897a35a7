//! Parametric QR codes (带参数二维码) for campaigns: made at WeChat with the platform's checks of
//! WeChat's rules first
//! (<https://developers.weixin.qq.com/doc/offiaccount/Account_Management/Generating_a_Parametric_QR_Code.html>:
//! temporary codes up to 30 days with a non-zero 32-bit `scene_id` or a `scene_str`, permanent
//! codes with `scene_id` 1 to 100,000 or a `scene_str` of 1 to 64 characters, at most 100,000
//! permanent codes per account), kept with a name, listed, their image fetched from WeChat, and
//! counted from the pushes their scans cause (follows and scans by day, by the follower ledger:
//! [`Setup::count_qr_push`]).

use serde::Deserialize;
use serde_json::Value;

use super::{ActError, Caller};
use crate::input;
use crate::rules::{RuleSet, Trigger};
use crate::service::{ActingStore, Setup};
use crate::store::{
    DocumentKind, MAX_PERMANENT_QR_CODES, QrCodeKept, QrCodePage, QrDay, StoreError, StoredQrCode, Timestamp,
    is_qr_code_id,
};
use crate::store::{DocumentStore, QrCodeStore};

/// A temporary code's longest life, and the platform's default for one (30 days).
pub const MAX_QR_EXPIRE_SECS: i64 = 2_592_000;
/// A temporary code's shortest life the platform makes (WeChat takes less; a minute is the least
/// a poster is any use for).
pub(crate) const MIN_QR_EXPIRE_SECS: i64 = 60;
/// A permanent `scene_id` is 1 to this.
pub(crate) const MAX_PERMANENT_SCENE_ID: u64 = 100_000;
/// A temporary `scene_id` is a non-zero 32-bit integer (taken as signed: 1 to 2^31 - 1).
pub(crate) const MAX_TEMPORARY_SCENE_ID: u64 = 2_147_483_647;
/// A `scene_str`, in characters.
pub(crate) const MAX_SCENE_STR_CHARS: usize = 64;
/// A code's name, in characters (the platform's own limit).
pub(crate) const MAX_QR_NAME_CHARS: usize = 64;
/// The most days of figures one read answers.
pub const MAX_QR_DAYS: i64 = 90;

/// `{name, permanent?, scene_id | scene_str, expire_seconds?}` as a caller writes it. An
/// optional field is absent or of its type: `null` is neither.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QrCodeInput {
    #[serde(default, deserialize_with = "input::present")]
    name: Option<String>,
    #[serde(default)]
    permanent: bool,
    #[serde(default, deserialize_with = "input::present")]
    scene_id: Option<u64>,
    #[serde(default, deserialize_with = "input::present")]
    scene_str: Option<String>,
    #[serde(default, deserialize_with = "input::present")]
    expire_seconds: Option<i64>,
}

/// What a code pushes when scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scene {
    /// `scene_id`.
    Id(u64),
    /// `scene_str`.
    Str(String),
}

/// A code to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQrCode {
    /// The operator's name for it.
    pub name: String,
    /// Permanent or temporary.
    pub permanent: bool,
    /// Its scene.
    pub scene: Scene,
    /// A temporary code's life (default [`MAX_QR_EXPIRE_SECS`]).
    pub expire_seconds: Option<i64>,
}

impl NewQrCode {
    /// Reads `{name, permanent?, scene_id | scene_str, expire_seconds?}`, checked against WeChat's
    /// rules; the field named when one is broken.
    ///
    /// # Errors
    /// The reason, naming the field.
    pub fn from_value(body: &Value) -> Result<Self, String> {
        let input: QrCodeInput = input::from_value(body)?;
        let name = input.name.as_deref().unwrap_or_default().trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_QR_NAME_CHARS {
            return Err(format!("name: 1 to {MAX_QR_NAME_CHARS} characters, what the code is for"));
        }
        let permanent = input.permanent;
        let scene = match (input.scene_id, input.scene_str) {
            (Some(id), None) => {
                let max = if permanent { MAX_PERMANENT_SCENE_ID } else { MAX_TEMPORARY_SCENE_ID };
                if !(1..=max).contains(&id) {
                    return Err(format!("scene_id: 1 to {max} for a {} code", kind(permanent)));
                }
                Scene::Id(id)
            }
            (None, Some(text)) => {
                let chars = text.chars().count();
                if chars == 0 || chars > MAX_SCENE_STR_CHARS || text.chars().any(char::is_control) {
                    return Err(format!("scene_str: 1 to {MAX_SCENE_STR_CHARS} printable characters"));
                }
                Scene::Str(text)
            }
            _ => return Err("one of scene_id (a number) or scene_str (text) is required".into()),
        };
        let expire_seconds = match (input.expire_seconds, permanent) {
            (None, _) => None,
            (Some(_), true) => return Err("expire_seconds: a permanent code does not expire".into()),
            (Some(secs), false) if (MIN_QR_EXPIRE_SECS..=MAX_QR_EXPIRE_SECS).contains(&secs) => Some(secs),
            (Some(_), false) => {
                return Err(format!(
                    "expire_seconds: {MIN_QR_EXPIRE_SECS} to {MAX_QR_EXPIRE_SECS} (30 days, WeChat's longest)"
                ));
            }
        };
        Ok(Self { name, permanent, scene, expire_seconds })
    }

    /// The request `qrcode/create` takes.
    fn request(&self) -> Value {
        let (action, scene) = match (&self.scene, self.permanent) {
            (Scene::Id(id), false) => ("QR_SCENE", serde_json::json!({"scene_id": id})),
            (Scene::Id(id), true) => ("QR_LIMIT_SCENE", serde_json::json!({"scene_id": id})),
            (Scene::Str(text), false) => ("QR_STR_SCENE", serde_json::json!({"scene_str": text})),
            (Scene::Str(text), true) => ("QR_LIMIT_STR_SCENE", serde_json::json!({"scene_str": text})),
        };
        let mut request = serde_json::json!({"action_name": action, "action_info": {"scene": scene}});
        if !self.permanent {
            request["expire_seconds"] = serde_json::json!(self.expire_seconds.unwrap_or(MAX_QR_EXPIRE_SECS));
        }
        request
    }
}

fn kind(permanent: bool) -> &'static str {
    if permanent { "permanent" } else { "temporary" }
}

/// The platform's id of the code with `ticket` (a scan's push carries the ticket).
pub fn qr_code_id(ticket: &str) -> String {
    crate::crypto::signature(&[ticket])[..20].to_owned()
}

/// The day (in China Standard Time, days since the epoch) of a Unix time.
pub fn qr_day(at: Timestamp) -> i64 {
    crate::clock::china_day(at)
}

/// The reply rules a code's scans reach (positions in the account's rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SceneRules {
    /// The rule welcoming a new follower through the code (`subscribe` with its scene).
    pub subscribe: Option<usize>,
    /// The rule answering a follower's scan of it (`scan` with its scene).
    pub scan: Option<usize>,
}

/// A code with its figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrCodeFigures {
    /// The code.
    pub code: StoredQrCode,
    /// The days with any push, oldest first.
    pub days: Vec<QrDay>,
}

impl<S: ActingStore + DocumentStore + QrCodeStore> Setup<'_, S> {
    /// Makes a code at WeChat and keeps it; `true` with it when WeChat answered a permanent code
    /// the account already had (the same scene).
    ///
    /// # Errors
    /// [`ActError::Invalid`] (the account's permanent codes all made); the account's states;
    /// WeChat's refusal (48001: permission set 3 not granted).
    pub async fn create_qr_code(
        &self,
        caller: &Caller,
        appid: &str,
        new: &NewQrCode,
    ) -> Result<(StoredQrCode, bool), ActError> {
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, &[3], "账号服务, account services (parametric QR codes)")?;
        if new.permanent && self.store.permanent_qr_codes(appid).await? >= MAX_PERMANENT_QR_CODES {
            return Err(full());
        }
        let request = new.request();
        let sent = &request;
        let made = self
            .with_account_token(record, false, |token| async move { self.wechat.create_qrcode(&token, sent).await })
            .await?;
        let now = self.now();
        let code = StoredQrCode {
            id: qr_code_id(&made.ticket),
            name: new.name.clone(),
            scene: match &new.scene {
                Scene::Id(id) => id.to_string(),
                Scene::Str(text) => text.clone(),
            },
            scene_is_str: matches!(new.scene, Scene::Str(_)),
            permanent: new.permanent,
            expires_at: made.expire_seconds.filter(|_| !new.permanent).map(|secs| now + secs),
            ticket: made.ticket,
            url: made.url,
            created_at: now,
            created_by: match caller {
                Caller::Dashboard(user) | Caller::Backend(user) => user.clone(),
            },
        };
        match self.store.keep_qr_code(appid, &code, MAX_PERMANENT_QR_CODES).await? {
            QrCodeKept::Kept => {
                tracing::info!(authorizer = %appid, code = %code.id, permanent = code.permanent, "QR code made");
                Ok((code, false))
            }
            QrCodeKept::Existing(existing) => Ok((existing, true)),
            QrCodeKept::Full => {
                // Another request took the last place between the count and now.
                tracing::warn!(authorizer = %appid, code = %code.id, "QR code made at WeChat but over the limit here");
                Err(full())
            }
        }
    }

    /// A page of the account's codes and how many of them are permanent.
    ///
    /// # Errors
    /// [`ActError`]: not the caller's account, a malformed cursor, the store.
    pub async fn qr_codes(
        &self,
        caller: &Caller,
        appid: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(QrCodePage, u64, Vec<SceneRules>), ActError> {
        self.owned_account(caller, appid).await?;
        let page = match self.store.qr_codes(appid, cursor, limit).await {
            Err(StoreError::Other(reason)) if cursor.is_some() => return Err(ActError::Invalid(reason)),
            other => other?,
        };
        let rules = self.scene_rules(appid, &page.items).await?;
        Ok((page, self.store.permanent_qr_codes(appid).await?, rules))
    }

    /// For each code, the reply rules its scene reaches: the first subscribe and scan rules naming
    /// the scene, else the first without one (which answer every code).
    async fn scene_rules(&self, appid: &str, codes: &[StoredQrCode]) -> Result<Vec<SceneRules>, ActError> {
        let rules = match self.store.document(DocumentKind::ReplyRules, appid).await? {
            Some(stored) => RuleSet::from_stored(&stored.document).unwrap_or_default(),
            None => RuleSet::default(),
        };
        let find = |scene: &str, subscribe: bool| {
            let named = |wanted: Option<&str>| {
                rules.rules.iter().position(|rule| match (&rule.trigger, subscribe) {
                    (Trigger::Subscribe { scene: s }, true) | (Trigger::Scan { scene: s }, false) => {
                        s.as_deref() == wanted
                    }
                    _ => false,
                })
            };
            named(Some(scene)).or_else(|| named(None))
        };
        Ok(codes.iter().map(|c| SceneRules { subscribe: find(&c.scene, true), scan: find(&c.scene, false) }).collect())
    }

    /// One code with what it did over the last `days` days (today included).
    ///
    /// # Errors
    /// [`ActError::NoQrCode`]; not the caller's account; the store.
    pub async fn qr_code(&self, caller: &Caller, appid: &str, id: &str, days: i64) -> Result<QrCodeFigures, ActError> {
        self.owned_account(caller, appid).await?;
        let code = self.kept_qr_code(appid, id).await?;
        let today = qr_day(self.now());
        let days = self.store.qr_days(appid, id, today - days.clamp(1, MAX_QR_DAYS) + 1, today).await?;
        Ok(QrCodeFigures { code, days })
    }

    /// The code's image as WeChat serves it (bytes and content type).
    ///
    /// # Errors
    /// [`ActError::NoQrCode`] (also a temporary code past its expiry); WeChat's failure.
    pub async fn qr_code_image(&self, caller: &Caller, appid: &str, id: &str) -> Result<(Vec<u8>, String), ActError> {
        self.owned_account(caller, appid).await?;
        let code = self.kept_qr_code(appid, id).await?;
        if code.expires_at.is_some_and(|at| at <= self.now()) {
            return Err(ActError::NoQrCode);
        }
        self.wechat.qrcode_image(&code.ticket).await.map_err(|err| match err {
            crate::wechat::ApiError::Http { status: 404, .. } => ActError::NoQrCode,
            err => ActError::Refused(err),
        })
    }

    /// Counts a push a scan of the code with `ticket` caused, once per `event_id`: a follow
    /// (`subscribe` with `qrscene_`) or a scan by a follower (`SCAN`). Pushes of codes the
    /// platform did not make are not counted. Called by the follower ledger.
    ///
    /// # Errors
    /// The store.
    pub async fn count_qr_push(
        &self,
        appid: &str,
        ticket: &str,
        follow: bool,
        event_id: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let id = qr_code_id(ticket);
        if self.store.qr_code(appid, &id).await?.is_none() {
            return Ok(false);
        }
        self.store.count_qr_push(appid, &id, qr_day(at), follow, event_id, self.now()).await
    }

    async fn kept_qr_code(&self, appid: &str, id: &str) -> Result<StoredQrCode, ActError> {
        if !is_qr_code_id(id) {
            return Err(ActError::NoQrCode);
        }
        self.store.qr_code(appid, id).await?.ok_or(ActError::NoQrCode)
    }
}

fn full() -> ActError {
    ActError::Invalid(format!(
        "the account has {MAX_PERMANENT_QR_CODES} permanent QR codes, WeChat's most: use a temporary code (up to 30 days)"
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_code_is_checked_against_wechats_rules_before_anything_is_sent() {
        let code = NewQrCode::from_value(&json!({"name": "门店海报", "scene_str": "shop-42"})).unwrap();
        assert_eq!(
            code.request(),
            json!({"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "shop-42"}}, "expire_seconds": 2_592_000})
        );
        let forever = NewQrCode::from_value(&json!({"name": "a", "permanent": true, "scene_id": 100_000})).unwrap();
        assert_eq!(
            forever.request(),
            json!({"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100_000}}})
        );
        for (body, says) in [
            (json!({"scene_id": 1}), "name"),
            (json!({"name": "a", "permanent": true, "scene_id": 100_001}), "scene_id: 1 to 100000"),
            (json!({"name": "a", "scene_id": 0}), "scene_id: 1 to 2147483647"),
            (json!({"name": "a", "scene_id": 2_147_483_648_u64}), "scene_id"),
            (json!({"name": "a", "scene_str": "x".repeat(65)}), "scene_str"),
            (json!({"name": "a", "scene_str": ""}), "scene_str"),
            (json!({"name": "a", "scene_id": 1, "scene_str": "b"}), "one of scene_id"),
            (json!({"name": "a", "scene_id": 1, "expire_seconds": 2_592_001}), "expire_seconds"),
            (json!({"name": "a", "scene_id": 1, "expire_seconds": 30}), "expire_seconds"),
            (json!({"name": "a", "permanent": true, "scene_id": 1, "expire_seconds": 60}), "does not expire"),
            (json!({"name": "a", "scene_id": 1, "color": "red"}), "unknown field"),
            (json!({"name": "a", "scene_id": 1, "permanent": null}), "permanent must be"),
            (json!({"name": "a", "scene_id": 1, "expire_seconds": null}), "expire_seconds"),
        ] {
            let err = NewQrCode::from_value(&body).unwrap_err();
            assert!(err.contains(says), "{body}: {err}");
        }
    }

    #[test]
    fn days_are_counted_in_china_time_and_ids_come_from_tickets() {
        // 2026-12-05 16:00 UTC is 2026-12-06 00:00 in Beijing: the next day there.
        let before = 1_796_486_399;
        assert_eq!(qr_day(before + 1), qr_day(before) + 1);
        assert_eq!(qr_day(before + 1) - qr_day(before + 1 - 86_400), 1);
        assert_eq!(
            qr_code_id(
                "gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJAAIEZ23sUwMEmm3sUw=="
            ),
            qr_code_id(
                "gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJAAIEZ23sUwMEmm3sUw=="
            )
        );
        assert!(is_qr_code_id(&qr_code_id("t")));
        assert_ne!(qr_code_id("t1"), qr_code_id("t2"));
    }

    #[tokio::test]
    async fn a_code_is_made_once_per_scene_and_each_push_counted_once() {
        use crate::service::testing::{ACCOUNT, backend, world};
        let w = world().await;
        let setup = w.platform.setup();
        let new =
            NewQrCode::from_value(&json!({"name": "门店海报", "permanent": true, "scene_str": "shop-1"})).unwrap();
        let (code, existing) = setup.create_qr_code(&backend(), ACCOUNT, &new).await.expect("made");
        assert!(!existing && code.permanent && code.expires_at.is_none(), "{code:?}");
        assert_eq!((code.scene.as_str(), code.scene_is_str), ("shop-1", true));
        let (again, existing) = setup.create_qr_code(&backend(), ACCOUNT, &new).await.expect("asked again");
        assert!(existing, "WeChat answers a permanent scene's code again: the one kept");
        assert_eq!(again.id, code.id);

        // A push delivered twice (WeChat retries) counts once; a code not made here counts nothing.
        let now = w.platform.now();
        assert!(setup.count_qr_push(ACCOUNT, &code.ticket, false, "scan-1", now).await.unwrap());
        assert!(!setup.count_qr_push(ACCOUNT, &code.ticket, false, "scan-1", now).await.unwrap());
        assert!(setup.count_qr_push(ACCOUNT, &code.ticket, true, "follow-1", now).await.unwrap());
        assert!(!setup.count_qr_push(ACCOUNT, "gQ-not-made-here", false, "scan-2", now).await.unwrap());
        let figures = setup.qr_code(&backend(), ACCOUNT, &code.id, 7).await.expect("figures");
        let totals = figures.days.iter().fold((0, 0), |(s, f), d| (s + d.scans, f + d.follows));
        assert_eq!(totals, (1, 1), "{:?}", figures.days);
    }
}
