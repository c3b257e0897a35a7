//! The optional edge (`edge.yaml`: AWS WAF on CloudFront in front of the API) lets the two push
//! routes answer WeChat's push servers only. Their addresses change, and WeChat asks that the
//! list be fetched once a day rather than kept for long
//! (<https://developers.weixin.qq.com/doc/service/api/base/api_getcallbackip.html>), so the
//! refresher copies `getcallbackip` into the web ACL's IP set once a day.
//!
//! A list that cannot be right (empty, or an entry that is not an IPv4 address or range) changes
//! nothing: an emptied set would refuse every real push.

use std::future::Future;
use std::net::Ipv4Addr;

use super::Onboarding;
use crate::service::ComponentStore;
use crate::store::{MarkerKey, MarkerStore};

/// AWS WAF's ceiling on addresses in one IP set
/// (<https://docs.aws.amazon.com/waf/latest/developerguide/limits.html>).
pub const MAX_PUSH_SOURCES: usize = 10_000;

/// Where the edge keeps the addresses WeChat pushes from.
pub trait PushSources: Send + Sync {
    /// Makes the set exactly `cidrs` (canonical IPv4 CIDRs, sorted); `Ok(true)` when that
    /// changed it.
    fn replace(&self, cidrs: &[String]) -> impl Future<Output = Result<bool, String>> + Send;
}

/// WeChat's list as canonical CIDRs (`1.2.3.4` → `1.2.3.4/32`, host bits cleared), sorted and
/// without repeats.
///
/// # Errors
/// The reason, for a list the edge must not take: empty, too long, or an entry that is not an
/// IPv4 address or range.
pub fn push_source_cidrs(list: &[String]) -> Result<Vec<String>, String> {
    if list.is_empty() {
        return Err("WeChat listed no address".to_owned());
    }
    let mut cidrs = Vec::with_capacity(list.len());
    for entry in list {
        let (address, prefix) = entry.trim().split_once('/').unwrap_or((entry.trim(), "32"));
        let address: Ipv4Addr = address.parse().map_err(|_| format!("not an IPv4 address: {entry:?}"))?;
        let prefix: u32 = prefix
            .parse()
            .ok()
            .filter(|p| (8..=32).contains(p))
            .ok_or_else(|| format!("not a range the edge takes (/8 to /32): {entry:?}"))?;
        let mask = u32::MAX << (32 - prefix);
        cidrs.push(format!("{}/{prefix}", Ipv4Addr::from(u32::from(address) & mask)));
    }
    cidrs.sort();
    cidrs.dedup();
    if cidrs.len() > MAX_PUSH_SOURCES {
        return Err(format!("{} ranges, more than an IP set holds ({MAX_PUSH_SOURCES})", cidrs.len()));
    }
    Ok(cidrs)
}

impl<S: ComponentStore + MarkerStore> Onboarding<'_, S> {
    /// Copies WeChat's push servers into `sources` once a UTC day (the first run of the day; a
    /// failed copy is tried again by the next run). Returns what happened, in words, for the
    /// run's report; a failure starts with `failed`.
    pub async fn sync_push_sources(&self, sources: &impl PushSources) -> String {
        let now = self.now();
        let key = MarkerKey::edge_sync(now.div_euclid(86_400));
        match self.store.seen(&key, now).await {
            Ok(true) => return "current".to_owned(),
            Ok(false) => {}
            Err(err) => return format!("failed: {err}"),
        }
        let listed = self.with_component_token(|token| async move { self.wechat.callback_ips(&token).await }).await;
        let cidrs = match listed.map_err(|err| err.to_string()).and_then(|list| push_source_cidrs(&list)) {
            Ok(cidrs) => cidrs,
            Err(reason) => {
                tracing::error!(reason, "WeChat's push servers not copied to the edge");
                return format!("failed: {reason}");
            }
        };
        let changed = match sources.replace(&cidrs).await {
            Ok(changed) => changed,
            Err(reason) => {
                tracing::error!(reason, "the edge's IP set could not be updated");
                return format!("failed: {reason}");
            }
        };
        if let Err(err) = self.store.remember_once(&key, 2 * 86_400, now).await {
            // Copied anyway: the next run copies again, which changes nothing.
            tracing::warn!(error = %err, "edge copy not remembered");
        }
        let what = if changed { "updated" } else { "unchanged" };
        tracing::info!(ranges = cidrs.len(), what, "edge IP set {what}");
        format!("{what}: {} ranges", cidrs.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn wechats_list_becomes_canonical_ranges() {
        let cidrs = push_source_cidrs(&list(&["101.226.103.0/25", "127.0.0.2", " 10.1.2.3/24 ", "127.0.0.2/32"]));
        assert_eq!(cidrs.unwrap(), list(&["10.1.2.0/24", "101.226.103.0/25", "127.0.0.2/32"]));
    }

    #[test]
    fn a_list_the_edge_must_not_take_changes_nothing() {
        for bad in [&[][..], &["not-an-ip"], &["1.2.3.4/33"], &["1.2.3.4/4"], &["::1"], &["1.2.3.4/x"]] {
            let err = push_source_cidrs(&list(bad)).unwrap_err();
            assert!(!err.is_empty(), "{bad:?}");
        }
        let many: Vec<String> = (0..=MAX_PUSH_SOURCES).map(|i| format!("10.{}.{}.0/24", i / 256, i % 256)).collect();
        assert!(push_source_cidrs(&many).unwrap_err().contains("more than an IP set holds"));
    }
}
