//! Reply rules: read and replaced through the dashboard API (owner-scoped, checked, with
//! optimistic concurrency), and evaluated on every push from a per-process cache.
//!
//! The cache keeps each account's compiled rules for [`RULES_FRESH_FOR`] (30 s by default,
//! `REPLY_RULES_CACHE_SECS` may only shorten it): a warm event-callback answers most pushes
//! without reading the rules, and a change is in effect everywhere within that bound. An
//! account without rules is cached too (as "none"), so it costs no read either. A read that
//! fails is not cached: the push is answered without a reply and the next push tries again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{ActError, Caller, Platform};
use crate::message::Message;
use crate::rules::{Matcher, RuleError, RuleSet};
use crate::store::{StoreError, TokenStore};

/// The longest a cached rule set is used before it is read again: the bound on how long a saved
/// change takes to be in effect.
pub const RULES_FRESH_FOR: Duration = Duration::from_secs(30);

/// The most accounts whose rules one process keeps (a few hundred kilobytes at most); past it the
/// cache starts over, which costs one read per account.
const MAX_CACHED_ACCOUNTS: usize = 10_000;

/// An account's compiled rules (`None`: it has none), and when they were read.
type Cached = (Instant, Option<Arc<Matcher>>);

/// Compiled rules per account, with when they were read.
pub(super) struct RulesCache {
    fresh_for: Duration,
    entries: Mutex<HashMap<String, Cached>>,
}

impl RulesCache {
    pub(super) fn new(fresh_for: Duration) -> Self {
        Self { fresh_for: fresh_for.min(RULES_FRESH_FOR), entries: Mutex::new(HashMap::new()) }
    }

    fn get(&self, appid: &str) -> Option<Option<Arc<Matcher>>> {
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (read_at, matcher) = entries.get(appid)?;
        (read_at.elapsed() < self.fresh_for).then(|| matcher.clone())
    }

    fn put(&self, appid: &str, matcher: Option<Arc<Matcher>>) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_CACHED_ACCOUNTS && !entries.contains_key(appid) {
            entries.clear();
        }
        entries.insert(appid.to_owned(), (Instant::now(), matcher));
    }
}

/// Why saving rules failed.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The document is wrong; names the rule.
    #[error(transparent)]
    Invalid(RuleError),
    /// The request did not say which version it replaces (`If-Match`).
    #[error("say which version you replace: If-Match: \"<version>\" (\"0\" when the account has no rules yet)")]
    VersionRequired,
    /// Someone saved another version since the caller read theirs.
    #[error("the rules changed since version {expected}: now version {current}; read them again and redo the change")]
    Changed {
        /// The version the caller replaces.
        expected: u64,
        /// The version stored now.
        current: u64,
    },
    /// The account, the store.
    #[error(transparent)]
    Act(#[from] ActError),
}

impl From<StoreError> for RulesError {
    fn from(err: StoreError) -> Self {
        Self::Act(err.into())
    }
}

impl<S: TokenStore> Platform<S> {
    /// The passive reply the account's rules give `message`, from the cache when fresh.
    pub(super) async fn rule_reply(&self, appid: &str, message: &Message) -> Option<crate::message::Reply> {
        let matcher = match self.rules.get(appid) {
            Some(cached) => cached,
            None => match self.load_rules(appid).await {
                Ok(matcher) => {
                    self.rules.put(appid, matcher.clone());
                    matcher
                }
                Err(err) => {
                    tracing::warn!(authorizer = %appid, error = %err, "reply rules unreadable; answering without a reply");
                    return None;
                }
            },
        }?;
        matcher.reply(message, self.now())
    }

    async fn load_rules(&self, appid: &str) -> Result<Option<Arc<Matcher>>, StoreError> {
        let Some(stored) = self.store.reply_rules(appid).await? else {
            return Ok(None);
        };
        // Stored documents were checked on save; one that no longer parses (a corrupted item, a
        // rule this build does not know) answers nothing rather than something wrong.
        match serde_json::from_str::<Value>(&stored.document)
            .map_err(|e| e.to_string())
            .and_then(|value| RuleSet::from_value(&value).map_err(|e| e.to_string()))
        {
            Ok(set) if set.rules.is_empty() => Ok(None),
            Ok(set) => Ok(Some(Arc::new(Matcher::new(set)))),
            Err(err) => {
                tracing::error!(authorizer = %appid, version = stored.version, error = %err, "stored reply rules do not parse; no replies");
                Ok(None)
            }
        }
    }

    /// The account's rules and their version (0 and no rules when none were saved).
    ///
    /// # Errors
    /// [`ActError`]: not the caller's account, the store.
    pub async fn reply_rules(&self, caller: &Caller, appid: &str) -> Result<(u64, Value), ActError> {
        self.owned_account(caller, appid).await?;
        Ok(match self.store.reply_rules(appid).await? {
            None => (0, json!({"version": 0, "rules": []})),
            Some(stored) => {
                let mut document: Value =
                    serde_json::from_str(&stored.document).unwrap_or_else(|_| json!({"rules": []}));
                document["version"] = json!(stored.version);
                document["updated_at"] = json!(stored.updated_at);
                (stored.version, document)
            }
        })
    }

    /// Replaces the account's rules when the stored version is still `if_match`; returns the new
    /// version. Revoked accounts keep their rules editable (they apply again once re-authorized).
    ///
    /// # Errors
    /// [`RulesError`].
    pub async fn save_reply_rules(
        &self,
        caller: &Caller,
        appid: &str,
        body: &[u8],
        if_match: Option<u64>,
    ) -> Result<(u64, Value), RulesError> {
        self.owned_account(caller, appid).await?;
        let set = RuleSet::parse(body).map_err(RulesError::Invalid)?;
        let expected = if_match.ok_or(RulesError::VersionRequired)?;
        let canonical = set.to_value();
        let who = match caller {
            Caller::Dashboard(user) | Caller::Backend(user) => user.as_str(),
        };
        match self.store.save_reply_rules(appid, &canonical.to_string(), expected, who, self.now()).await {
            Ok(saved) => {
                tracing::info!(authorizer = %appid, version = saved.version, rules = set.rules.len(), "reply rules saved");
                // This process answers with them at once; others within RULES_FRESH_FOR.
                self.rules.put(appid, (!set.rules.is_empty()).then(|| Arc::new(Matcher::new(set))));
                let mut document = canonical;
                document["version"] = json!(saved.version);
                document["updated_at"] = json!(saved.updated_at);
                Ok((saved.version, document))
            }
            Err(StoreError::ConditionFailed) => {
                let current = self.store.reply_rules(appid).await?.map_or(0, |r| r.version);
                Err(RulesError::Changed { expected, current })
            }
            Err(err) => Err(err.into()),
        }
    }
}
