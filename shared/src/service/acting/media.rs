//! Media (素材) of an account: a file goes to a staging bucket first (API Gateway and Lambda
//! take 6 MB at most, WeChat takes videos of 10 MB), then from there to WeChat, streamed.
//!
//! 1. [`MediaLibrary::begin_upload`]: the declared kind, lifetime, content type, size and SHA-256
//!    are checked against WeChat's rules (`crate::media`); the same file already uploaded
//!    (same account, kind, lifetime and SHA-256: the same handle) is answered at once; otherwise
//!    the medium is recorded as staged and a short-lived upload URL is returned, which only takes
//!    exactly the declared bytes (the staging adapter signs size, type and checksum).
//! 2. The caller `PUT`s the file there.
//! 3. [`MediaLibrary::complete_upload`]: the staged object is checked again (its size, the format its
//!    first bytes show) before anything is sent to WeChat, then streamed to WeChat while its
//!    SHA-256 is computed; bytes other than the declared ones abort the upload mid-way, so WeChat
//!    keeps nothing. WeChat's answer is recorded, and the staged object removed.
//!
//! Permanent material is listed, counted and deleted at WeChat ([`MediaLibrary::materials`],
//! [`MediaLibrary::material_count`], [`MediaLibrary::delete_medium`]), including what was made in
//! WeChat's own backend.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use super::{ActError, Caller, sent_error};
use crate::crypto::to_hex;
use crate::media::{self, Kind, Lifetime, MAX_VIDEO_TEXT_CHARS, SNIFF_BYTES, TEMPORARY_SECS};
use crate::secret::Secret;
use crate::service::ActingStore;
use crate::service::component_token::holder_id;
use crate::service::{CallError, MediaLibrary, Platform};
use crate::staging::{StagedBytes, Staging, UploadUrl};
use crate::store::{AuthorizerRecord, DocumentStore, LeaseName, MediaPage, MediaStore, MediumUpload, StoredMedium};
use crate::wechat::{MaterialCount, MaterialPage, UploadFile};

/// How long an upload URL works.
pub const UPLOAD_URL_SECS: u64 = 900;
/// Media per page at most.
pub const MAX_MEDIA_PAGE: u32 = 100;
/// How long one completion holds the medium (others are told it is in progress).
const COMPLETION_SECS: i64 = 120;

/// What a caller declares of a file before uploading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMedium {
    /// WeChat's type.
    pub kind: Kind,
    /// Temporary or permanent.
    pub lifetime: Lifetime,
    /// The content type.
    pub content_type: String,
    /// The size in bytes.
    pub size: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
    /// A permanent video's title (required then) and introduction.
    pub title: Option<String>,
    /// See `title`.
    pub introduction: Option<String>,
}

/// What [`MediaLibrary::begin_upload`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    /// The same file is already the account's: nothing to upload.
    Existing(StoredMedium),
    /// Upload the file here, then complete.
    Upload(StoredMedium, UploadUrl),
}

/// The staging key of one account's medium.
pub fn staging_key(appid: &str, handle: &str) -> String {
    format!("uploads/{appid}/{handle}")
}

/// Where a temporary medium's file is kept for its renewals (no lifecycle rule: it stays while
/// the medium is renewed, and goes with it).
pub fn kept_key(appid: &str, handle: &str) -> String {
    format!("kept/{appid}/{handle}")
}

/// Why a medium named by its handle cannot stand where WeChat wants a `media_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// No such medium on the account.
    Missing,
    /// A medium of this kind, where WeChat takes others.
    Kind(Kind),
    /// A temporary medium past its 3 days.
    Expired,
    /// Never completed: WeChat has no `media_id` for it.
    NotUploaded,
}

impl From<Unusable> for ActError {
    fn from(why: Unusable) -> Self {
        match why {
            Unusable::Missing => Self::NoMedium,
            Unusable::Kind(kind) => Self::Invalid(format!("a medium of type {kind} cannot stand here")),
            Unusable::Expired => Self::MediumExpired,
            Unusable::NotUploaded => Self::NotUploaded,
        }
    }
}

/// The `media_id` WeChat keeps now for `medium`, where it takes a medium of one of `fits`: what
/// sends, replies and menus put in place of a handle.
pub(crate) fn usable_media_id(medium: Option<&StoredMedium>, fits: &[Kind], now: i64) -> Result<String, Unusable> {
    let medium = medium.ok_or(Unusable::Missing)?;
    if !fits.contains(&medium.kind) {
        return Err(Unusable::Kind(medium.kind));
    }
    if medium.expires_at.is_some_and(|at| at <= now) {
        return Err(Unusable::Expired);
    }
    medium.media_id.clone().ok_or(Unusable::NotUploaded)
}

/// The declaration checked: kind and lifetime together, type, size, checksum, a video's texts.
fn checked(new: &NewMedium) -> Result<media::Format, ActError> {
    if new.kind.permanent_only() && new.lifetime != Lifetime::Permanent {
        return Err(ActError::Invalid(format!("{} media are permanent only", new.kind)));
    }
    let format =
        media::check_declared(new.kind, &new.content_type, new.size).map_err(|e| ActError::Invalid(e.to_string()))?;
    if !media::is_sha256_hex(&new.sha256) {
        return Err(ActError::Invalid("sha256 must be the file's SHA-256 in 64 lowercase hex digits".into()));
    }
    let long = |text: &Option<String>| text.as_ref().is_some_and(|t| t.chars().count() > MAX_VIDEO_TEXT_CHARS);
    if long(&new.title) || long(&new.introduction) {
        return Err(ActError::Invalid(format!(
            "title and introduction take at most {MAX_VIDEO_TEXT_CHARS} characters"
        )));
    }
    let needs_title = new.kind == Kind::Video && new.lifetime == Lifetime::Permanent;
    if needs_title && new.title.as_ref().is_none_or(|t| t.trim().is_empty()) {
        return Err(ActError::Invalid("a permanent video needs a title (WeChat's description.title)".into()));
    }
    if !needs_title && (new.title.is_some() || new.introduction.is_some()) {
        return Err(ActError::Invalid("title and introduction are for permanent videos only".into()));
    }
    Ok(format)
}

/// Passes a stream on while computing its SHA-256; ends it with an error instead of its last
/// bytes when the digest is not `expected`, so the receiver never sees a complete body.
struct Verified {
    inner: StagedBytes,
    hasher: Option<Sha256>,
    expected: String,
    /// Set when the bytes differed from the declaration.
    differed: Arc<AtomicBool>,
}

impl Stream for Verified {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(hasher) = self.hasher.as_mut() {
                    hasher.update(&chunk);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => {
                let digest = self.hasher.take().map(|h| to_hex(&h.finalize()));
                if digest.is_some_and(|d| d != self.expected) {
                    self.differed.store(true, Ordering::Relaxed);
                    return Poll::Ready(Some(Err(std::io::Error::other("the file is not the one declared"))));
                }
                Poll::Ready(None)
            }
            other => other,
        }
    }
}

impl<S: ActingStore + DocumentStore + MediaStore> MediaLibrary<'_, S> {
    /// Step 1: checks the declaration and answers the medium already uploaded, or an upload URL.
    ///
    /// # Errors
    /// [`ActError::Invalid`] naming the rule broken (nothing stored); [`ActError::NotFound`] and
    /// the account's other states; [`ActError::Staging`].
    pub async fn begin_upload(
        &self,
        caller: &Caller,
        appid: &str,
        new: &NewMedium,
        staging: &impl Staging,
    ) -> Result<Begun, ActError> {
        let format = checked(new)?;
        self.account_for(caller, appid).await?;
        let medium = StoredMedium {
            handle: media::handle(new.kind, new.lifetime, &new.sha256),
            kind: new.kind,
            lifetime: new.lifetime,
            format,
            sha256: new.sha256.clone(),
            size: new.size,
            title: new.title.clone(),
            introduction: new.introduction.clone(),
            media_id: None,
            url: None,
            expires_at: None,
            created_at: self.now(),
            uploaded_at: None,
            used_at: None,
        };
        if let Some(existing) = self.store.stage_medium(appid, &medium, self.now()).await? {
            if existing.expires_at.is_none_or(|at| at > self.now()) {
                return Ok(Begun::Existing(existing));
            }
            // A temporary medium past its 3 days: the same file is uploaded anew, same handle.
            self.store.forget_medium(appid, &medium.handle).await?;
            if let Some(existing) = self.store.stage_medium(appid, &medium, self.now()).await? {
                return Ok(Begun::Existing(existing));
            }
        }
        let key = staging_key(appid, &medium.handle);
        let url = staging
            .upload_url(&key, format.content_type(), new.size, &new.sha256, UPLOAD_URL_SECS)
            .await
            .map_err(ActError::Staging)?;
        Ok(Begun::Upload(medium, url))
    }

    /// Step 3: sends the staged file to WeChat and records its answer (the medium as it is when
    /// it was uploaded already; a temporary medium past its 3 days is sent again from its kept
    /// file).
    ///
    /// # Errors
    /// [`ActError::NoMedium`]; [`ActError::NotUploaded`] while nothing is staged;
    /// [`ActError::NotAsDeclared`] when the staged file is not the declared one (nothing sent,
    /// or the upload aborted before WeChat kept it); [`ActError::Running`] while another
    /// completion runs; WeChat's refusal, or [`ActError::OutcomeUnknown`] without an answer.
    pub async fn complete_upload(
        &self,
        caller: &Caller,
        appid: &str,
        handle: &str,
        staging: &impl Staging,
    ) -> Result<StoredMedium, ActError> {
        let record = self.account_for(caller, appid).await?;
        let medium = self.existing_medium(appid, handle).await?;
        // A temporary medium past its 3 days is uploaded again from its kept file: one call
        // renews what a send needs (1025 says so).
        let renewing = medium.uploaded_at.is_some();
        if renewing && medium.expires_at.is_none_or(|at| at > self.now()) {
            return Ok(medium);
        }
        let key = if renewing { kept_key(appid, handle) } else { staging_key(appid, handle) };
        let stored = self.upload_leased(record, &medium, &key, staging).await?;
        if stored.lifetime == Lifetime::Temporary {
            self.keep_for_renewal(appid, &stored, staging, !renewing).await;
        }
        if !renewing && let Err(err) = staging.remove(&key).await {
            // The bucket's lifecycle rule removes it within a day anyway.
            tracing::warn!(authorizer = %appid, handle, error = %err, "staged file not removed");
        }
        tracing::info!(authorizer = %appid, handle, kind = %medium.kind, size = medium.size, "medium uploaded to WeChat");
        Ok(stored)
    }

    async fn existing_medium(&self, appid: &str, handle: &str) -> Result<StoredMedium, ActError> {
        if !media::is_handle(handle) {
            return Err(ActError::NoMedium);
        }
        self.store.medium(appid, handle).await?.ok_or(ActError::NoMedium)
    }

    /// One medium of the account.
    ///
    /// # Errors
    /// [`ActError::NoMedium`], and the account's states.
    pub async fn medium(&self, caller: &Caller, appid: &str, handle: &str) -> Result<StoredMedium, ActError> {
        self.owned_account(caller, appid).await?;
        self.existing_medium(appid, handle).await
    }

    /// One page of the account's media (the platform's handles).
    ///
    /// # Errors
    /// [`ActError::Invalid`] for a cursor that is not one this list returned.
    pub async fn media(
        &self,
        caller: &Caller,
        appid: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<MediaPage, ActError> {
        self.owned_account(caller, appid).await?;
        self.store.media(appid, cursor, limit.clamp(1, MAX_MEDIA_PAGE), self.now()).await.map_err(|err| match err {
            crate::store::StoreError::Other(_) => ActError::Invalid("cursor is not one this list returned".into()),
            other => other.into(),
        })
    }

    /// Deletes a medium: permanent material at WeChat first (40007, already gone, counts as
    /// deleted), then the platform's record.
    ///
    /// # Errors
    /// [`ActError::NoMedium`]; WeChat's refusal.
    pub async fn delete_medium(
        &self,
        caller: &Caller,
        appid: &str,
        handle: &str,
        staging: &impl Staging,
    ) -> Result<(), ActError> {
        let record = self.account_for(caller, appid).await?;
        let medium = self.existing_medium(appid, handle).await?;
        if let (Lifetime::Permanent, Some(media_id)) = (medium.lifetime, medium.media_id.clone()) {
            let deleted = self
                .with_account_token(record, false, |token| {
                    let media_id = media_id.clone();
                    async move { self.wechat.delete_material(&token, &media_id).await }
                })
                .await;
            match deleted {
                Ok(()) => {}
                Err(ActError::Refused(e) | ActError::Token(CallError::WeChat(e))) if e.errcode() == Some(40007) => {}
                Err(err) => return Err(err),
            }
        }
        self.store.forget_medium(appid, handle).await?;
        // (Its renewal entry, if any, finds no medium and goes at the next run.)
        if medium.lifetime == Lifetime::Temporary
            && let Err(err) = staging.remove(&kept_key(appid, handle)).await
        {
            tracing::warn!(authorizer = %appid, handle, error = %err, "kept file not removed");
        }
        Ok(())
    }

    /// WeChat's count of the account's permanent material (what WeChat's own backend made too).
    ///
    /// # Errors
    /// The account's states; WeChat's refusal (48001: no permission set for material).
    pub async fn material_count(&self, caller: &Caller, appid: &str) -> Result<MaterialCount, ActError> {
        let record = self.account_for(caller, appid).await?;
        self.with_account_token(record, false, |token| async move { self.wechat.material_count(&token).await }).await
    }

    /// One page of WeChat's list of the account's permanent `kind` (20 at most per page).
    ///
    /// # Errors
    /// [`ActError::Invalid`] for a kind WeChat does not list or a count outside 1–20.
    pub async fn materials(
        &self,
        caller: &Caller,
        appid: &str,
        kind: Kind,
        offset: u64,
        count: u64,
    ) -> Result<MaterialPage, ActError> {
        if !matches!(kind, Kind::Image | Kind::Voice | Kind::Video) {
            return Err(ActError::Invalid("type must be image, voice or video".into()));
        }
        if !(1..=20).contains(&count) {
            return Err(ActError::Invalid("count must be 1 to 20".into()));
        }
        let record = self.account_for(caller, appid).await?;
        self.with_account_token(record, false, |token| async move {
            self.wechat.materials(&token, kind, offset, count).await
        })
        .await
    }
}

impl<S: ActingStore + MediaStore> Platform<S> {
    /// `medium`'s file at `key` sent to WeChat as the account of `record`, under the medium's
    /// upload lease (one upload at a time; given back whatever happened, so that a failed upload
    /// can be tried again at once).
    ///
    /// The token and the lease come before the file is opened: once open, its bytes flow to WeChat
    /// without waiting on anything else (a reader idle mid-body holds its connection; the local
    /// emulator, one request at a time, would even wait for it). The token first: an account
    /// WeChat refuses leaves nothing held.
    pub(super) async fn upload_leased(
        &self,
        record: AuthorizerRecord,
        medium: &StoredMedium,
        key: &str,
        staging: &impl Staging,
    ) -> Result<StoredMedium, ActError> {
        let appid = record.authorizer_appid.clone();
        let handle = medium.handle.as_str();
        let token = self.fresh_token(record, COMPLETION_SECS).await?;
        let (lease, holder, now) = (LeaseName::medium_upload(&appid, handle), holder_id(), self.now());
        if !self.store.acquire_lease(&lease, &holder, now + COMPLETION_SECS, now).await? {
            return Err(ActError::Running("this medium is being uploaded"));
        }
        let uploaded = self.upload_checked(&appid, medium, key, staging, &token.access_token).await;
        self.meter_calls(&appid, &[&token.access_token], uploaded.is_ok()).await;
        if let Err(err) = self.store.release_lease(&lease, &holder).await {
            tracing::warn!(authorizer = %appid, handle, error = %err, "upload lease not released; it will expire");
        }
        uploaded
    }

    /// The file at `key` checked against the declaration (its size, and the format its
    /// first bytes show) before anything leaves for WeChat, then streamed to WeChat.
    async fn upload_checked(
        &self,
        appid: &str,
        medium: &StoredMedium,
        key: &str,
        staging: &impl Staging,
        access_token: &Secret,
    ) -> Result<StoredMedium, ActError> {
        let staging_error = ActError::Staging;
        let Some((size, mut bytes)) = staging.open(key).await.map_err(staging_error)? else {
            return Err(ActError::NotUploaded);
        };
        if size != medium.size {
            return Err(ActError::NotAsDeclared(format!(
                "the uploaded file has {size} bytes, not the declared {}",
                medium.size
            )));
        }
        let mut head = Vec::with_capacity(SNIFF_BYTES * 4);
        while head.len() < SNIFF_BYTES {
            match bytes.next().await {
                Some(Ok(chunk)) => head.extend_from_slice(&chunk),
                Some(Err(e)) => return Err(staging_error(e.to_string())),
                None => break,
            }
        }
        media::check_bytes(medium.format, &head).map_err(|e| ActError::NotAsDeclared(e.to_string()))?;
        let whole: StagedBytes =
            Box::pin(futures_util::stream::once(async move { Ok(Bytes::from(head)) }).chain(bytes));
        self.upload_staged(appid, medium, size, whole, access_token).await
    }

    /// Streams the staged file to WeChat, checking its SHA-256 on the way, and records what WeChat
    /// answered.
    async fn upload_staged(
        &self,
        appid: &str,
        medium: &StoredMedium,
        size: u64,
        bytes: StagedBytes,
        access_token: &Secret,
    ) -> Result<StoredMedium, ActError> {
        let handle = medium.handle.as_str();
        let differed = Arc::new(AtomicBool::new(false));
        let verified = Verified {
            inner: bytes,
            hasher: Some(Sha256::new()),
            expected: medium.sha256.clone(),
            differed: differed.clone(),
        };
        let file = UploadFile {
            filename: format!("{handle}.{}", medium.format.extension()),
            content_type: medium.format.content_type(),
            size,
            bytes: verified,
        };
        let texts = medium.title.as_deref().map(|t| (t, medium.introduction.as_deref().unwrap_or_default()));
        let answer = self.wechat.upload_medium(access_token, medium.kind, medium.lifetime, file, texts).await;
        let uploaded = match answer {
            Err(_) if differed.load(Ordering::Relaxed) => {
                tracing::warn!(authorizer = %appid, handle, "staged file differs from its declaration; upload aborted");
                return Err(ActError::NotAsDeclared("the uploaded file's SHA-256 is not the declared one".into()));
            }
            Err(err) => return Err(sent_error(appid, err)),
            Ok(uploaded) => uploaded,
        };
        let expires_at = (medium.lifetime == Lifetime::Temporary)
            .then(|| uploaded.created_at.unwrap_or_else(|| self.now()) + TEMPORARY_SECS);
        let upload = MediumUpload { media_id: uploaded.media_id, url: uploaded.url, expires_at };
        Ok(self.store.record_upload(appid, handle, &upload, self.now()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(kind: Kind, lifetime: Lifetime, content_type: &str, size: u64) -> NewMedium {
        NewMedium {
            kind,
            lifetime,
            content_type: content_type.into(),
            size,
            sha256: "0".repeat(64),
            title: None,
            introduction: None,
        }
    }

    #[test]
    fn a_declaration_breaking_a_rule_is_refused_with_the_rule() {
        assert!(checked(&new(Kind::Image, Lifetime::Temporary, "image/png", 10)).is_ok());
        let refused = |n: &NewMedium| match checked(n) {
            Err(ActError::Invalid(reason)) => reason,
            other => panic!("{other:?}"),
        };
        assert!(refused(&new(Kind::ArticleImage, Lifetime::Temporary, "image/png", 10)).contains("permanent only"));
        assert!(refused(&new(Kind::Image, Lifetime::Temporary, "image/png", 3 << 20)).contains("at most"));
        let mut bad_sha = new(Kind::Image, Lifetime::Temporary, "image/png", 10);
        bad_sha.sha256 = "xyz".into();
        assert!(refused(&bad_sha).contains("SHA-256"));
        let video = new(Kind::Video, Lifetime::Permanent, "video/mp4", 10);
        assert!(refused(&video).contains("needs a title"));
        let titled = NewMedium { title: Some("新品".into()), ..video.clone() };
        assert!(checked(&titled).is_ok());
        let long = NewMedium { introduction: Some("长".repeat(MAX_VIDEO_TEXT_CHARS + 1)), ..titled };
        assert!(refused(&long).contains("at most"));
        let stray = NewMedium { title: Some("x".into()), ..new(Kind::Image, Lifetime::Permanent, "image/png", 10) };
        assert!(refused(&stray).contains("permanent videos only"));
    }

    #[tokio::test]
    async fn a_stream_other_than_declared_ends_in_an_error_before_its_end() {
        let run = |expected: String| async move {
            let chunks = vec![Ok(Bytes::from_static(b"hello ")), Ok(Bytes::from_static(b"world"))];
            let differed = Arc::new(AtomicBool::new(false));
            let stream = Verified {
                inner: Box::pin(futures_util::stream::iter(chunks)),
                hasher: Some(Sha256::new()),
                expected,
                differed: differed.clone(),
            };
            let items: Vec<_> = stream.collect().await;
            (items.iter().filter(|i| i.is_err()).count(), differed.load(Ordering::Relaxed))
        };
        let right = to_hex(&Sha256::digest(b"hello world"));
        assert_eq!(run(right).await, (0, false));
        assert_eq!(run("0".repeat(64)).await, (1, true));
    }

    #[tokio::test]
    async fn a_file_reaches_wechat_as_declared_once_and_another_file_never() {
        use crate::service::testing::{ACCOUNT, MemoryStaging, backend, declared_image as declared, png, world};
        let w = world().await;
        let (library, staging) = (w.platform.media_library(), MemoryStaging::default());
        let file = png(20_000, 1);

        let Begun::Upload(medium, url) = library
            .begin_upload(&backend(), ACCOUNT, &declared(&file, Lifetime::Permanent), &staging)
            .await
            .expect("begun")
        else {
            panic!("a new file is uploaded")
        };
        assert_eq!(url.method, "PUT");
        let early = library.complete_upload(&backend(), ACCOUNT, &medium.handle, &staging).await;
        assert!(matches!(early, Err(ActError::NotUploaded)), "{early:?}");

        staging.put(&staging_key(ACCOUNT, &medium.handle), &file);
        let stored = library.complete_upload(&backend(), ACCOUNT, &medium.handle, &staging).await.expect("completed");
        let media_id = stored.media_id.clone().expect("WeChat's media_id");
        let received = w.standin.medium(&media_id);
        assert!(received == Some((file.len(), file[..16].to_vec())), "WeChat has this file, whole");
        assert!(!staging.has(&staging_key(ACCOUNT, &medium.handle)), "the staged file is removed");

        // The same file declared again is the same medium: nothing to upload.
        let again = library.begin_upload(&backend(), ACCOUNT, &declared(&file, Lifetime::Permanent), &staging).await;
        assert!(matches!(&again, Ok(Begun::Existing(m)) if m.handle == medium.handle), "{again:?}");

        // Another file put where this one was declared: refused, WeChat receives nothing whole.
        let other = png(20_000, 2);
        let Begun::Upload(swapped, _) = library
            .begin_upload(&backend(), ACCOUNT, &declared(&png(20_000, 3), Lifetime::Permanent), &staging)
            .await
            .expect("begun")
        else {
            panic!("a new file is uploaded")
        };
        staging.put(&staging_key(ACCOUNT, &swapped.handle), &other);
        let uploads = w.standin.calls("add_material");
        let refused = library.complete_upload(&backend(), ACCOUNT, &swapped.handle, &staging).await;
        assert!(matches!(refused, Err(ActError::NotAsDeclared(_))), "{refused:?}");
        let kept = library.medium(&backend(), ACCOUNT, &swapped.handle).await.expect("read");
        assert_eq!(kept.media_id, None, "no media_id kept for a file WeChat did not keep: {kept:?}");
        assert_eq!(w.standin.calls("add_material"), uploads, "the upload was cut short: WeChat took nothing");
    }
}
