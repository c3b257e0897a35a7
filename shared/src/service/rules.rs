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

use super::acting::{Unusable, usable_media_id};
use super::{ActError, Caller, DocumentError, Inbound};
use crate::media::{Kind, is_handle};
use crate::message::{Message, ReplyKind};
use crate::rules::{Matcher, RuleError, RuleSet};
use crate::service::ActingStore;
use crate::store::{DocumentKind, DocumentStore, MediaStore, StoreError, StoredMedium};

/// The longest a cached rule set is used before it is read again: the bound on how long a saved
/// change takes to be in effect.
pub const RULES_FRESH_FOR: Duration = Duration::from_secs(30);

/// What one process keeps of compiled rules, in bytes (as [`charge`] counts them): a quarter of
/// an event-callback's 256 MB. The worst document allowed costs about 0.3 MB, so at least 200 of
/// them fit; ordinary ones (a few kilobytes) by the ten thousand. Past the budget the least
/// recently used accounts are dropped, which costs each one read when it is next pushed to.
const CACHE_BUDGET_BYTES: usize = 64 * 1024 * 1024;

/// An account's compiled rules (`None`: it has none), when they were read, when last used (a
/// tick of the cache), and what they are charged.
struct Cached {
    read_at: Instant,
    used: u64,
    matcher: Option<Arc<Matcher>>,
    bytes: usize,
}

/// What a cached entry is charged: the automata, the rules themselves (about twice their stored
/// document), the key and the map's own bookkeeping.
fn charge(appid: &str, matcher: Option<&Matcher>, document_bytes: usize) -> usize {
    matcher.map_or(0, |m| m.automata_bytes() + 2 * document_bytes) + appid.len() + 128
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, Cached>,
    bytes: usize,
    tick: u64,
}

/// Compiled rules per account, bounded by bytes, the least recently used dropped first.
pub(super) struct RulesCache {
    fresh_for: Duration,
    budget: usize,
    entries: Mutex<Entries>,
}

impl RulesCache {
    pub(super) fn new(fresh_for: Duration) -> Self {
        Self::with_budget(fresh_for, CACHE_BUDGET_BYTES)
    }

    fn with_budget(fresh_for: Duration, budget: usize) -> Self {
        Self { fresh_for: fresh_for.min(RULES_FRESH_FOR), budget, entries: Mutex::new(Entries::default()) }
    }

    fn get(&self, appid: &str) -> Option<Option<Arc<Matcher>>> {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.tick += 1;
        let tick = entries.tick;
        let cached = entries.map.get_mut(appid)?;
        if cached.read_at.elapsed() >= self.fresh_for {
            return None;
        }
        cached.used = tick;
        Some(cached.matcher.clone())
    }

    /// Keeps `matcher` for `appid` (compiled from a stored document of `document_bytes`),
    /// dropping the least recently used entries while the budget would be exceeded.
    fn put(&self, appid: &str, matcher: Option<Arc<Matcher>>, document_bytes: usize) {
        let bytes = charge(appid, matcher.as_deref(), document_bytes);
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(old) = entries.map.remove(appid) {
            entries.bytes -= old.bytes;
        }
        if entries.bytes + bytes > self.budget {
            let mut by_use: Vec<(u64, String)> = entries.map.iter().map(|(k, c)| (c.used, k.clone())).collect();
            by_use.sort_unstable();
            for (_, key) in by_use {
                if entries.bytes + bytes <= self.budget {
                    break;
                }
                if let Some(dropped) = entries.map.remove(&key) {
                    entries.bytes -= dropped.bytes;
                }
            }
            tracing::info!(
                kept = entries.map.len(),
                bytes = entries.bytes,
                "reply rules cache over budget: least used dropped"
            );
        }
        entries.tick += 1;
        let used = entries.tick;
        entries.bytes += bytes;
        entries.map.insert(appid.to_owned(), Cached { read_at: Instant::now(), used, matcher, bytes });
    }
}

impl<S: ActingStore + DocumentStore + MediaStore> Inbound<'_, S> {
    /// The passive reply the account's rules give `message`, from the cache when fresh.
    pub(super) async fn rule_reply(&self, appid: &str, message: &Message) -> Option<crate::message::Reply> {
        let matcher = match self.rules.get(appid) {
            Some(cached) => cached,
            None => match self.load_rules(appid).await {
                Ok((matcher, document_bytes)) => {
                    self.rules.put(appid, matcher.clone(), document_bytes);
                    matcher
                }
                Err(err) => {
                    tracing::warn!(authorizer = %appid, error = %err, "reply rules unreadable; answering without a reply");
                    return None;
                }
            },
        }?;
        let mut reply = matcher.reply(message, self.now())?;
        // A medium named by its handle: its current media_id, one read. One WeChat no longer
        // keeps (a temporary medium past its 3 days) or that is gone answers nothing rather than
        // something WeChat would drop: the follower gets no reply, the log says why.
        for (value, kind) in media_fields(&mut reply.kind) {
            if !is_handle(value) {
                continue;
            }
            let medium = self.store.medium(appid, value).await;
            match medium.map_err(|e| e.to_string()).and_then(|m| usable(m.as_ref(), kind, self.now())) {
                Ok(media_id) => *value = media_id,
                Err(why) => {
                    tracing::warn!(authorizer = %appid, handle = %value, why, "reply rule's medium unusable; no reply");
                    return None;
                }
            }
        }
        Some(reply)
    }

    /// The account's compiled rules, and the size of the document they came from.
    async fn load_rules(&self, appid: &str) -> Result<(Option<Arc<Matcher>>, usize), StoreError> {
        let Some(stored) = self.store.document(DocumentKind::ReplyRules, appid).await? else {
            return Ok((None, 0));
        };
        let document_bytes = stored.document.len();
        // Stored documents were checked on save; one that no longer parses (a corrupted item, a
        // rule this build does not know) answers nothing rather than something wrong.
        match RuleSet::from_stored(&stored.document) {
            Ok(set) if set.rules.is_empty() => Ok((None, 0)),
            Ok(set) => Ok((Some(Arc::new(Matcher::new(set))), document_bytes)),
            Err(err) => {
                tracing::error!(authorizer = %appid, version = stored.version, error = %err, "stored reply rules do not parse; no replies");
                Ok((None, 0))
            }
        }
    }

    /// The account's rules and their version (0 and no rules when none were saved).
    ///
    /// # Errors
    /// [`ActError`]: not the caller's account, the store.
    pub async fn reply_rules(&self, caller: &Caller, appid: &str) -> Result<(u64, Value), ActError> {
        self.owned_account(caller, appid).await?;
        Ok(match self.store.document(DocumentKind::ReplyRules, appid).await? {
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
    /// [`DocumentError`].
    pub async fn save_reply_rules(
        &self,
        caller: &Caller,
        appid: &str,
        body: &[u8],
        if_match: Option<u64>,
    ) -> Result<(u64, Value), DocumentError> {
        self.owned_account(caller, appid).await?;
        let mut set = RuleSet::parse(body).map_err(DocumentError::Invalid)?;
        let expected = if_match.ok_or(DocumentError::VersionRequired(DocumentKind::ReplyRules))?;
        // Every handle must be the account's, of the reply's kind, and at WeChat now.
        for (index, rule) in set.rules.iter_mut().enumerate() {
            for (value, kind) in media_fields(&mut rule.reply) {
                if is_handle(value) {
                    let medium = self.store.medium(appid, value).await?;
                    usable(medium.as_ref(), kind, self.now()).map_err(|why| {
                        DocumentError::Invalid(RuleError { index: Some(index), message: format!("{value}: {why}") })
                    })?;
                }
            }
        }
        let canonical = set.to_value();
        let who = match caller {
            Caller::Dashboard(user) | Caller::Backend(user) => user.as_str(),
        };
        let stored = canonical.to_string();
        match self.store.save_document(DocumentKind::ReplyRules, appid, &stored, expected, who, self.now()).await {
            Ok(saved) => {
                tracing::info!(authorizer = %appid, version = saved.version, rules = set.rules.len(), "reply rules saved");
                // This process answers with them at once; others within RULES_FRESH_FOR.
                let matcher = (!set.rules.is_empty()).then(|| Arc::new(Matcher::new(set)));
                self.rules.put(appid, matcher, stored.len());
                let mut document = canonical;
                document["version"] = json!(saved.version);
                document["updated_at"] = json!(saved.updated_at);
                Ok((saved.version, document))
            }
            Err(StoreError::ConditionFailed) => {
                let current = self.store.document(DocumentKind::ReplyRules, appid).await?.map_or(0, |r| r.version);
                Err(DocumentError::Changed { kind: DocumentKind::ReplyRules, expected, current })
            }
            Err(err) => Err(err.into()),
        }
    }
}

/// The fields of a reply that name a medium, each with the kind of medium WeChat expects there.
pub(super) fn media_fields(reply: &mut ReplyKind) -> Vec<(&mut String, Kind)> {
    match reply {
        ReplyKind::Image { media_id } => vec![(media_id, Kind::Image)],
        ReplyKind::Voice { media_id } => vec![(media_id, Kind::Voice)],
        ReplyKind::Video { media_id, .. } => vec![(media_id, Kind::Video)],
        ReplyKind::Music { thumb_media_id, .. } => vec![(thumb_media_id, Kind::Thumb)],
        ReplyKind::Text { .. } | ReplyKind::News(_) => Vec::new(),
    }
}

/// The media_id a reply may use for `medium` where WeChat expects `kind`, or why there is none,
/// in words for the rule's editor and the log.
fn usable(medium: Option<&StoredMedium>, kind: Kind, now: i64) -> Result<String, String> {
    usable_media_id(medium, &[kind], now).map_err(|why| match why {
        Unusable::Missing => "no such medium on this account".to_owned(),
        Unusable::Kind(actual) => format!("a {kind} reply needs a {kind} medium, not {actual}"),
        Unusable::Expired => "expired (WeChat keeps a temporary medium 3 days): declare the file again".to_owned(),
        Unusable::NotUploaded => "not uploaded yet: complete its upload first".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_rule() -> Arc<Matcher> {
        let set = RuleSet::from_value(&json!({"rules": [{"on": "keyword", "keyword": "hi", "match": "contains",
            "reply": {"msgtype": "text", "text": {"content": "hello"}}}]}))
        .unwrap();
        Arc::new(Matcher::new(set))
    }

    /// A reply may use a medium of its kind that WeChat keeps now, and nothing else.
    #[test]
    fn a_reply_uses_only_a_medium_of_its_kind_that_wechat_keeps() {
        let medium = |kind, media_id: Option<&str>, expires_at| StoredMedium {
            handle: "mtim_0".into(),
            kind,
            lifetime: crate::media::Lifetime::Temporary,
            format: crate::media::Format::Png,
            sha256: String::new(),
            size: 1,
            title: None,
            introduction: None,
            media_id: media_id.map(str::to_owned),
            url: None,
            expires_at,
            created_at: 0,
            uploaded_at: Some(0),
            used_at: None,
        };
        let ready = medium(Kind::Image, Some("MID"), Some(100));
        assert_eq!(usable(Some(&ready), Kind::Image, 99).as_deref(), Ok("MID"));
        assert!(usable(Some(&ready), Kind::Image, 100).unwrap_err().starts_with("expired"));
        assert_eq!(usable(Some(&ready), Kind::Voice, 0).unwrap_err(), "a voice reply needs a voice medium, not image");
        assert!(
            usable(Some(&medium(Kind::Image, None, None)), Kind::Image, 0).unwrap_err().starts_with("not uploaded")
        );
        assert_eq!(usable(None, Kind::Image, 0).unwrap_err(), "no such medium on this account");
        let permanent = medium(Kind::Thumb, Some("T"), None);
        assert_eq!(usable(Some(&permanent), Kind::Thumb, i64::MAX).as_deref(), Ok("T"));
    }

    /// The cache holds what its budget allows, drops the least recently used account first, and
    /// keeps its count of bytes true through replacements.
    #[test]
    fn the_rules_cache_is_bounded_by_bytes_and_drops_the_least_recently_used() {
        let matcher = one_rule();
        let each = charge("wx-a", Some(&matcher), 1000);
        let cache = RulesCache::with_budget(RULES_FRESH_FOR, 3 * each);
        for appid in ["wx-a", "wx-b", "wx-c"] {
            cache.put(appid, Some(matcher.clone()), 1000);
        }
        assert!(cache.get("wx-a").is_some(), "a used now");
        cache.put("wx-d", Some(matcher.clone()), 1000);
        assert!(cache.get("wx-b").is_none(), "b, the least recently used, was dropped");
        for kept in ["wx-a", "wx-c", "wx-d"] {
            assert!(cache.get(kept).is_some(), "{kept}");
        }
        // Replacing an entry charges it once.
        cache.put("wx-d", Some(matcher), 1000);
        let entries = cache.entries.lock().unwrap();
        assert_eq!((entries.map.len(), entries.bytes), (3, 3 * each));
    }

    /// However many accounts push, the cache never holds more than its budget; a set bigger than
    /// the whole budget is still kept (alone) for the push that compiled it.
    #[test]
    fn the_rules_cache_never_exceeds_its_budget() {
        let matcher = one_rule();
        let cache = RulesCache::with_budget(RULES_FRESH_FOR, 10_000);
        for i in 0..1000 {
            cache.put(&format!("wx{i:016}"), Some(matcher.clone()), 500);
            let bytes = cache.entries.lock().unwrap().bytes;
            assert!(bytes <= 10_000, "{bytes}");
        }
        cache.put("wx-huge", Some(matcher), 1_000_000);
        let entries = cache.entries.lock().unwrap();
        assert_eq!(entries.map.len(), 1, "only the huge one");
    }
}
