//! Temporary media that reply rules name, uploaded again before WeChat forgets them.
//!
//! WeChat keeps a temporary medium 3 days
//! (<https://developers.weixin.qq.com/doc/service/api/material/temporary/api_uploadtempmedia>),
//! and a passive reply has 5 seconds: no time to upload anything. So the platform keeps each
//! temporary medium's file (`kept/…` in the staging bucket) and an entry in the renewal index
//! under its expiry; the token-refresher's run uploads again, from the kept file, each medium
//! that expires within [`RENEW_AHEAD_SECS`] while it is in use (a reply rule of its account names
//! it, or a send named its handle within the last 3 days), and lets the others go (entry and
//! file). A rule therefore always answers with a `media_id` WeChat keeps, and a handle sent at
//! least every 3 days always resolves to one; one that expired anyway (the renewal failed for
//! half a day, or it was let go) is uploaded again by `POST …/complete` or the next run.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::ActError;
use super::media::kept_key;
use crate::bus::MediaRenewed;
use crate::media::{Lifetime, TEMPORARY_SECS};
use crate::service::{ActingStore, Inbound, Platform};
use crate::staging::Staging;
use crate::store::{AuthorizerStatus, DocumentKind, DocumentStore, MarkerKey, MediaStore, Renewal, StoredMedium};

/// How long before its expiry a medium is uploaded again: two of the refresher's runs a day
/// would still do.
pub const RENEW_AHEAD_SECS: i64 = 12 * 3600;
/// Media renewed per run at most (each up to 10 MB through the function): the rest wait for the
/// next run, ten minutes later, well inside [`RENEW_AHEAD_SECS`].
const RENEWALS_PER_RUN: u32 = 20;

/// What a run did, for its report: `appid/handle` of each medium.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RenewalReport {
    /// Uploaded again: a new `media_id`, 3 more days.
    pub renewed: Vec<String>,
    /// Let go: no rule names it any more, the medium or account is gone.
    pub released: Vec<String>,
    /// Not renewed this run, with why (tried again next run).
    pub failed: Vec<String>,
}

enum Outcome {
    Renewed,
    Released,
}

impl<S: ActingStore + DocumentStore + MediaStore> Inbound<'_, S> {
    /// One run: every indexed medium expiring within [`RENEW_AHEAD_SECS`] renewed or let go.
    pub async fn renew_media(&self, staging: &impl Staging) -> RenewalReport {
        let mut report = RenewalReport::default();
        let due = match self.store.renewals_due(self.now() + RENEW_AHEAD_SECS, RENEWALS_PER_RUN).await {
            Ok(due) => due,
            Err(err) => {
                report.failed.push(format!("renewal query: {err}"));
                return report;
            }
        };
        // Each account's rules are read once per run, however many of its media are due.
        let mut named: HashMap<String, HashSet<String>> = HashMap::new();
        for entry in due {
            let label = format!("{}/{}", entry.appid, entry.handle);
            match self.renew(&entry, staging, &mut named).await {
                Ok(Outcome::Renewed) => report.renewed.push(label),
                Ok(Outcome::Released) => report.released.push(label),
                Err(why) => {
                    tracing::error!(authorizer = %entry.appid, handle = %entry.handle, why, "medium not renewed");
                    report.failed.push(format!("{label}: {why}"));
                }
            }
        }
        report
    }

    async fn renew(
        &self,
        entry: &Renewal,
        staging: &impl Staging,
        named: &mut HashMap<String, HashSet<String>>,
    ) -> Result<Outcome, String> {
        let (appid, handle) = (entry.appid.as_str(), entry.handle.as_str());
        let medium = self.store.medium(appid, handle).await.map_err(|e| e.to_string())?;
        let medium = match medium {
            Some(m) if m.lifetime == Lifetime::Temporary && m.expires_at == Some(entry.expires_at) => m,
            // Uploaded again since (its newer entry is in the index): this one is stale. The
            // upload is announced if an earlier run could not (the marker makes it once).
            Some(m) if m.lifetime == Lifetime::Temporary => {
                self.announce_renewal(appid, &m).await?;
                return self.release(entry, staging, false).await;
            }
            _ => return self.release(entry, staging, true).await,
        };
        let record = self.store.authorizer(appid).await.map_err(|e| e.to_string())?;
        let record = match record {
            Some(r) if r.status == AuthorizerStatus::Authorized => r,
            Some(r) if r.status == AuthorizerStatus::NeedsReauthorization => {
                return Err("the account needs reauthorization".into());
            }
            _ => return self.release(entry, staging, true).await,
        };
        // In use: a reply rule names it, or a send named it within WeChat's 3 days.
        let sent_lately = medium.used_at.is_some_and(|at| at > self.now() - TEMPORARY_SECS);
        if !sent_lately && !self.named_by_rules(appid, named).await?.contains(handle) {
            return self.release(entry, staging, true).await;
        }
        let renewed =
            self.upload_leased(record, &medium, &kept_key(appid, handle), staging).await.map_err(|e| match e {
                ActError::NotUploaded => "its kept file is gone".to_owned(),
                other => other.to_string(),
            })?;
        let next = Renewal { expires_at: renewed.expires_at.unwrap_or(entry.expires_at), ..entry.clone() };
        self.store.schedule_renewal(&next).await.map_err(|e| e.to_string())?;
        // Announced before the old entry goes: if the bus fails, the next run finds the old entry
        // stale and announces then.
        self.announce_renewal(appid, &renewed).await?;
        self.store.drop_renewal(entry).await.map_err(|e| e.to_string())?;
        tracing::info!(authorizer = %appid, handle, expires_at = next.expires_at, "temporary medium renewed");
        Ok(Outcome::Renewed)
    }

    /// Publishes `media.renewed` for the medium's current upload, once (a marker per upload).
    async fn announce_renewal(&self, appid: &str, medium: &StoredMedium) -> Result<(), String> {
        let (Some(media_id), Some(expires_at)) = (medium.media_id.as_deref(), medium.expires_at) else {
            return Ok(());
        };
        let event = MediaRenewed {
            component_appid: &self.pages.component_appid,
            authorizer_appid: appid,
            handle: &medium.handle,
            kind: medium.kind.as_str(),
            media_id,
            expires_at,
            renewed_at_ms: medium.uploaded_at.unwrap_or_default() * 1000,
        }
        .event();
        let marker = MarkerKey::media_renewed(appid, &medium.handle, expires_at);
        self.hand_off(&marker, std::slice::from_ref(&event))
            .await
            .map(|_| ())
            .map_err(|e| format!("not announced: {e}"))
    }

    /// Takes the entry out of the index and, when `with_file`, the kept file too.
    async fn release(&self, entry: &Renewal, staging: &impl Staging, with_file: bool) -> Result<Outcome, String> {
        if with_file {
            staging.remove(&kept_key(&entry.appid, &entry.handle)).await?;
        }
        self.store.drop_renewal(entry).await.map_err(|e| e.to_string())?;
        Ok(Outcome::Released)
    }

    /// The media handles the account's reply rules name.
    async fn named_by_rules<'a>(
        &self,
        appid: &str,
        named: &'a mut HashMap<String, HashSet<String>>,
    ) -> Result<&'a HashSet<String>, String> {
        if !named.contains_key(appid) {
            let handles = self.rule_handles(appid).await?;
            named.insert(appid.to_owned(), handles);
        }
        Ok(&named[appid])
    }

    async fn rule_handles(&self, appid: &str) -> Result<HashSet<String>, String> {
        let Some(stored) = self.store.document(DocumentKind::ReplyRules, appid).await.map_err(|e| e.to_string())?
        else {
            return Ok(HashSet::new());
        };
        let mut set = crate::rules::RuleSet::from_stored(&stored.document).map_err(|e| e.to_string())?;
        Ok(set
            .rules
            .iter_mut()
            .flat_map(|rule| crate::service::rules::media_fields(&mut rule.reply))
            .map(|(value, _)| value.clone())
            .filter(|value| crate::media::is_handle(value))
            .collect())
    }
}

impl<S: MediaStore> Platform<S> {
    /// Keeps a temporary medium's file (`copy`: from where it was staged) and puts it in the
    /// renewal index (what fails is logged: the medium works for its 3 days anyway).
    pub(super) async fn keep_for_renewal(
        &self,
        appid: &str,
        medium: &StoredMedium,
        staging: &impl Staging,
        copy: bool,
    ) {
        let Some(expires_at) = medium.expires_at else { return };
        let (from, to) = (super::staging_key(appid, &medium.handle), kept_key(appid, &medium.handle));
        if copy && let Err(err) = staging.keep(&from, &to).await {
            tracing::warn!(authorizer = %appid, handle = %medium.handle, error = %err, "file not kept: no renewal");
            return;
        }
        let renewal = Renewal { appid: appid.to_owned(), handle: medium.handle.clone(), expires_at };
        if let Err(err) = self.store.schedule_renewal(&renewal).await {
            tracing::warn!(authorizer = %appid, handle = %medium.handle, error = %err, "renewal not scheduled");
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::RENEW_AHEAD_SECS;
    use crate::media::{Lifetime, TEMPORARY_SECS};
    use crate::service::kept_key;
    use crate::service::testing::{ACCOUNT, MemoryStaging, image, world};
    use crate::store::MediaStore;

    #[tokio::test]
    async fn a_temporary_medium_a_rule_names_is_uploaded_again_before_wechat_forgets_it_and_the_others_let_go() {
        let w = world().await;
        let staging = MemoryStaging::default();
        let (named, first_id) = image(&w, &staging, 1, Lifetime::Temporary).await;
        let (unused, _) = image(&w, &staging, 2, Lifetime::Temporary).await;
        assert!(staging.has(&kept_key(ACCOUNT, &named)) && staging.has(&kept_key(ACCOUNT, &unused)), "files kept");
        let rules = json!({"rules": [{"on": "keyword", "keyword": "图", "reply": {"msgtype": "image", "image": {"media_id": named}}}]});
        w.first_rules(&rules).await;

        let inbound = w.platform.inbound();
        let early = inbound.renew_media(&staging).await;
        assert!(early.renewed.is_empty() && early.released.is_empty(), "nothing due yet: {early:?}");

        w.standin.advance_clock(TEMPORARY_SECS - RENEW_AHEAD_SECS + 60);
        w.fresh_ticket().await;
        let report = inbound.renew_media(&staging).await;
        assert_eq!(report.renewed, [format!("{ACCOUNT}/{named}")], "{report:?}");
        assert_eq!(report.released, [format!("{ACCOUNT}/{unused}")], "{report:?}");
        assert!(report.failed.is_empty(), "{report:?}");

        let renewed = w.platform.store.medium(ACCOUNT, &named).await.expect("read").expect("kept");
        let new_id = renewed.media_id.clone().expect("a new media_id");
        assert_ne!(new_id, first_id);
        assert!(w.standin.medium(&new_id).is_some(), "WeChat has it again");
        assert!(renewed.expires_at.is_some_and(|at| at > w.standin.now() + TEMPORARY_SECS - 60), "{renewed:?}");
        assert!(!staging.has(&kept_key(ACCOUNT, &unused)), "a medium let go leaves no file behind");
        assert!(staging.has(&kept_key(ACCOUNT, &named)), "the renewed one keeps its file for the next time");
    }
}
