//! Every call the platform makes for an account spends the *account's* daily quota, and WeChat
//! allows 10 resets a month per account. The account's owner reads an API's quota here and
//! resets it within a budget the platform keeps: the 11th reset of a month is refused before
//! WeChat is asked (WeChat would answer 48006, and an automated retry loop would otherwise burn
//! the month's resets at once). When the account's token cannot be had (its token calls are
//! exhausted too), the reset falls back to the component's AppSecret
//! (`component/clear_quota/v2`), which needs no token.

use super::{ActError, Caller};
use crate::service::{Acting, ActingStore, Platform};
use crate::store::{DayUsage, MarkerKey};

/// Resets an account may make a month (WeChat's 10, both kinds of reset together).
pub const QUOTA_RESETS_PER_MONTH: u64 = 10;
/// The longest `cgi_path` taken.
const MAX_CGI_PATH_BYTES: usize = 128;

impl<S: ActingStore> Acting<'_, S> {
    /// WeChat's quota of the account for the API at `cgi_path`.
    ///
    /// # Errors
    /// [`ActError::Invalid`] (the path); the account's states; WeChat's refusal (76021: a path
    /// WeChat does not know).
    pub async fn api_quota(&self, caller: &Caller, appid: &str, cgi_path: &str) -> Result<serde_json::Value, ActError> {
        let plausible = cgi_path.starts_with('/')
            && cgi_path.len() <= MAX_CGI_PATH_BYTES
            && cgi_path.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_-.".contains(&b));
        if !plausible {
            return Err(ActError::Invalid("cgi_path: the API's path, as /cgi-bin/message/custom/send".into()));
        }
        let record = self.account_for(caller, appid).await?;
        let answer = self
            .with_account_token(record, false, |token| async move { self.wechat.api_quota(&token, cgi_path).await })
            .await?;
        note_figures(appid, cgi_path, &answer);
        Ok(answer)
    }

    /// What the platform called for the account over the last `days` days (today included), per
    /// day (China time) and API: the days with any call, oldest first.
    ///
    /// # Errors
    /// Not the caller's account; the store.
    pub async fn api_usage(&self, caller: &Caller, appid: &str, days: i64) -> Result<Vec<DayUsage>, ActError> {
        self.owned_account(caller, appid).await?;
        let today = super::qrcodes::qr_day(self.now());
        Ok(self.store.usage(appid, today - days.clamp(1, 90) + 1, today).await?)
    }

    /// Resets the account's daily quotas; how many of the month's resets are used with this one.
    ///
    /// # Errors
    /// [`ActError::Invalid`] when the month's resets are used (nothing asked of WeChat); the
    /// account's states; WeChat's refusal.
    pub async fn reset_quota(&self, caller: &Caller, appid: &str) -> Result<u64, ActError> {
        let record = self.account_for(caller, appid).await?;
        let month = month_of(self.now());
        // The budget is taken before WeChat is asked: a reset whose answer is lost still counts,
        // so the platform never asks for an 11th.
        let key = MarkerKey::quota_resets(appid, month);
        let used = self.store.count(&key, 40 * 86_400, self.now()).await?;
        if used > QUOTA_RESETS_PER_MONTH {
            return Err(ActError::Invalid(format!(
                "the account's {QUOTA_RESETS_PER_MONTH} quota resets of this month are used (WeChat's limit); the next is possible on the 1st, China time"
            )));
        }
        let with_token = self
            .with_account_token(record, false, |token| async move { self.wechat.clear_quota(&token, appid).await })
            .await;
        match with_token {
            Ok(()) => {}
            // No token to be had: the component's secret needs none.
            Err(ActError::Token(err)) => {
                tracing::warn!(authorizer = %appid, error = %err, "no token for clear_quota; resetting with the component's secret");
                self.wechat.clear_quota_with_secret(appid).await.map_err(ActError::Refused)?;
            }
            Err(err) => return Err(err),
        }
        tracing::info!(authorizer = %appid, used, "quota reset");
        Ok(used)
    }
}

/// What bulk work (the follower backfill; mass sends later) may still spend of one API today:
/// the configured share of the account's daily limit, less what WeChat says is used. Read once
/// per slice of work, so the account's own traffic in between is taken into account next time.
#[derive(Debug, Clone)]
pub(crate) struct BulkBudget {
    /// WeChat's path of the API, as `openapi/quota/get` names it.
    pub(crate) api: &'static str,
    daily_limit: u64,
    used: u64,
    percent: u64,
    /// Calls left to this slice; `None` when WeChat could not say (only 45009 stops then).
    left: Option<u64>,
}

impl BulkBudget {
    /// Takes one call from the budget; false when there is none left.
    pub(crate) fn spend(&mut self) -> bool {
        match &mut self.left {
            None => true,
            Some(0) => false,
            Some(left) => {
                *left -= 1;
                true
            }
        }
    }

    /// Why the work stopped, for the caller.
    pub(crate) fn refusal(&self) -> String {
        format!(
            "bulk work keeps to {}% of the account's daily quota of {} ({} of {} used when this slice began); it resumes after WeChat's day turns (midnight, China time) or a quota reset",
            self.percent, self.api, self.used, self.daily_limit
        )
    }

    /// The figures behind [`BulkBudget::refusal`], as JSON.
    pub(crate) fn figures(&self) -> serde_json::Value {
        serde_json::json!({"api": self.api, "daily_limit": self.daily_limit, "used": self.used, "percent": self.percent})
    }
}

impl<S: ActingStore> Platform<S> {
    /// The bulk budget of the account's API `api` for one slice of work (asks WeChat's
    /// `openapi/quota/get` once). When WeChat cannot say, the work goes on unguarded with a
    /// warning (45009 still stops it): a bulk job never fails only because the guard is blind.
    pub(crate) async fn bulk_budget(&self, record: &crate::store::AuthorizerRecord, api: &'static str) -> BulkBudget {
        let percent = self.bulk_quota_percent;
        let answer = self
            .with_account_token(record.clone(), false, |token| async move { self.wechat.api_quota(&token, api).await })
            .await;
        let figure = |answer: &serde_json::Value, name: &str| answer["quota"][name].as_u64();
        match answer {
            Ok(answer) if figure(&answer, "daily_limit").is_some() => {
                note_figures(&record.authorizer_appid, api, &answer);
                let daily_limit = figure(&answer, "daily_limit").unwrap_or_default();
                let used = figure(&answer, "used").unwrap_or_default();
                let left = (daily_limit * percent / 100).saturating_sub(used);
                BulkBudget { api, daily_limit, used, percent, left: Some(left) }
            }
            other => {
                let error = other.err().map(|e| e.to_string()).unwrap_or_else(|| "no quota in the answer".into());
                tracing::warn!(authorizer = %record.authorizer_appid, api, %error, "no quota figures; bulk work goes on unguarded");
                BulkBudget { api, daily_limit: 0, used: 0, percent, left: None }
            }
        }
    }
}

/// Counts an account near one of its limits ([`crate::metrics::Metric::AccountQuotaNear`], an
/// alarm watches it) when WeChat's `quota` figures say so.
fn note_figures(appid: &str, api: &str, answer: &serde_json::Value) {
    if let Some((used, limit)) = near_limit(answer) {
        tracing::warn!(authorizer = %appid, api, used, limit, "an account is near its daily quota of an API");
        crate::metrics::emit(crate::metrics::Metric::AccountQuotaNear, 1);
    }
}

/// `(used, daily_limit)` when WeChat's figures are past [`crate::metrics::QUOTA_NEAR_PERCENT`].
fn near_limit(answer: &serde_json::Value) -> Option<(u64, u64)> {
    let limit = answer["quota"]["daily_limit"].as_u64().filter(|l| *l > 0)?;
    let used = answer["quota"]["used"].as_u64()?;
    (used.saturating_mul(100) >= limit.saturating_mul(crate::metrics::QUOTA_NEAR_PERCENT)).then_some((used, limit))
}

/// `year * 100 + month` of a Unix time in China time, the month WeChat counts resets in.
fn month_of(at: i64) -> i64 {
    let (year, month, _) = crate::clock::civil_date(crate::clock::china_day(at));
    year * 100 + month
}

#[cfg(test)]
mod tests {
    use crate::service::testing::{ACCOUNT, backend, world};
    use crate::service::{ActError, QUOTA_RESETS_PER_MONTH};

    #[test]
    fn eighty_percent_of_a_day_is_near_its_limit() {
        let figures = |used: u64, limit: u64| serde_json::json!({"quota": {"daily_limit": limit, "used": used}});
        assert_eq!(super::near_limit(&figures(79, 100)), None);
        assert_eq!(super::near_limit(&figures(80, 100)), Some((80, 100)));
        assert_eq!(super::near_limit(&figures(5, 5)), Some((5, 5)));
        assert_eq!(super::near_limit(&figures(0, 0)), None, "no limit known");
        assert_eq!(super::near_limit(&serde_json::json!({"errcode": 76021})), None);
    }

    #[test]
    fn months_turn_at_china_midnight() {
        // 2026-11-30 16:00 UTC is 2026-12-01 00:00 in Beijing.
        let turn = 1_796_054_400;
        assert_eq!(super::month_of(turn - 1), 202_611);
        assert_eq!(super::month_of(turn), 202_612);
    }

    #[tokio::test]
    async fn the_months_resets_are_counted_and_the_eleventh_never_reaches_wechat() {
        let w = world().await;
        let acting = w.platform.acting();
        for n in 1..=QUOTA_RESETS_PER_MONTH {
            assert_eq!(acting.reset_quota(&backend(), ACCOUNT).await.expect("reset"), n);
        }
        assert_eq!(w.standin.calls("clear_quota"), QUOTA_RESETS_PER_MONTH);
        let refused = acting.reset_quota(&backend(), ACCOUNT).await;
        assert!(matches!(&refused, Err(ActError::Invalid(why)) if why.contains("used")), "{refused:?}");
        assert_eq!(w.standin.calls("clear_quota"), QUOTA_RESETS_PER_MONTH, "the 11th was not asked");
    }
}
