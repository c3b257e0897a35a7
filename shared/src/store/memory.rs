//! An in-memory adapter with exactly the semantics of [`super::DynamoDbStore`], for fast tests
//! of services and handlers. The same test suite runs against both (`shared/tests/store_*.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use super::{
    AuthorizerProfile, AuthorizerRecord, AuthorizerStatus, AuthorizerStore, AuthorizerSummary, Binding, BindingStore,
    ComponentToken, ComponentTokenStore, DocumentKind, DocumentStore, DueAuthorizer, DuePage, Follower, FollowerChange,
    FollowerPage, FollowerStore, MarkerStore, MediaPage, MediaStore, MediumUpload, NewAuthorization,
    OWNER_MOVE_TTL_SECS, OwnerMove, QR_PUSH_MARKER_SECS, QrCodeKept, QrCodePage, QrCodeStore, QrDay, Renewal,
    STAGED_MEDIUM_SECS, StoreError, StoredDocument, StoredMedium, StoredQrCode, SummaryPage, TicketStore, TicketWrite,
    Timestamp, TokenRefresh, UNCLAIMED_OWNER, UsageStore, VerifyTicket,
};

/// The token store in a mutex. Cheap to create; one per test.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

/// One previous owner's moves by when and appid, each with when its record expires.
type OwnerMoves = BTreeMap<(Timestamp, String), (OwnerMove, Timestamp)>;

/// One account's bindings: OpenID → binding, and `user_ref` → OpenID.
type AccountBindings = (HashMap<String, Binding>, HashMap<String, String>);

#[derive(Debug, Default)]
struct State {
    ticket: Option<VerifyTicket>,
    component_token: Option<ComponentToken>,
    leases: HashMap<String, (String, Timestamp)>,
    authorizers: HashMap<String, AuthorizerRecord>,
    markers: HashMap<String, Timestamp>,
    values: HashMap<String, (String, Timestamp)>,
    /// Per-identity counters: the count and when it expires.
    counters: HashMap<String, (u64, Timestamp)>,
    documents: HashMap<(DocumentKind, String), StoredDocument>,
    /// Per account, per OpenID (ordered, like the table's sort key): the follower and the
    /// `CreateTime` of the change that set their subscription state.
    followers: HashMap<String, BTreeMap<String, (Follower, Timestamp)>>,
    follower_counts: HashMap<String, i64>,
    /// Per account: its media by handle, each with when a staged one is forgotten.
    media: HashMap<String, BTreeMap<String, (StoredMedium, Option<Timestamp>)>>,
    /// The renewal index: (expiry, account, handle).
    renewals: std::collections::BTreeSet<(Timestamp, String, String)>,
    /// Per previous owner: the accounts that left them, by when and appid, with when the record
    /// expires.
    moves: HashMap<String, OwnerMoves>,
    /// Per account: the bindings by both sides.
    bindings: HashMap<String, AccountBindings>,
    /// Per account: its QR codes by id.
    qr_codes: HashMap<String, BTreeMap<String, StoredQrCode>>,
    /// Per (account, code, day): scans and follows.
    qr_days: BTreeMap<(String, String, i64), (u64, u64)>,
    /// Calls per (account, day): per API.
    usage: BTreeMap<(String, i64), BTreeMap<String, u64>>,
    /// Counted pushes (account, event id) with when the marker expires.
    qr_seen: HashMap<(String, String), Timestamp>,
    writes: u64,
    reads: u64,
    /// Marker reads ([`MarkerStore::seen`]) and marker writes ([`MarkerStore::remember_once`])
    /// still to fail, for tests of a store failing before or after a hand-off.
    failing_marker_reads: u32,
    failing_marker_writes: u32,
    failing_value_writes: u32,
    failing_follower_writes: u32,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many writes succeeded so far (tests assert that bad input writes nothing).
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }

    /// How many items reads returned so far, as DynamoDB would count them (a page of the due
    /// query counts its items): the refresher's reads must grow with the due accounts only.
    pub fn reads(&self) -> u64 {
        self.lock().reads
    }

    /// The next `reads` marker reads and `writes` marker writes fail as an unreachable DynamoDB
    /// would ([`StoreError::Unavailable`]).
    pub fn fail_markers(&self, reads: u32, writes: u32) {
        let mut state = self.lock();
        state.failing_marker_reads = reads;
        state.failing_marker_writes = writes;
    }

    /// The next `writes` value writes ([`MarkerStore::remember_value`]) fail as an unreachable
    /// DynamoDB would.
    pub fn fail_value_writes(&self, writes: u32) {
        self.lock().failing_value_writes = writes;
    }

    /// The next `writes` follower writes ([`FollowerStore::record_follower`]) fail as an
    /// unreachable DynamoDB would, writing nothing: the ledger's consumer must have that one
    /// event delivered again, and only that one.
    pub fn fail_follower_writes(&self, writes: u32) {
        self.lock().failing_follower_writes = writes;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied write: every write below is
        // computed first and applied with one assignment, so the state is still consistent.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl State {
    fn authorizer_mut(&mut self, appid: &str) -> Result<&mut AuthorizerRecord, StoreError> {
        self.authorizers.get_mut(appid).ok_or(StoreError::NotFound)
    }

    /// Applies `change` to an authorizer when `condition` holds, bumping `updated_at` and `version`
    /// exactly as every conditional `UpdateItem` of the DynamoDB adapter does.
    fn update_authorizer(
        &mut self,
        appid: &str,
        now: Timestamp,
        condition: impl FnOnce(&AuthorizerRecord) -> bool,
        change: impl FnOnce(&mut AuthorizerRecord),
    ) -> Result<AuthorizerRecord, StoreError> {
        let record = self.authorizer_mut(appid)?;
        if !condition(record) {
            return Err(StoreError::ConditionFailed);
        }
        let mut next = record.clone();
        change(&mut next);
        next.updated_at = now;
        next.version += 1;
        *record = next.clone();
        Ok(self.wrote(next))
    }

    fn wrote<T>(&mut self, value: T) -> T {
        self.writes += 1;
        value
    }
}

impl TicketStore for MemoryStore {
    async fn put_verify_ticket(&self, ticket: &VerifyTicket, _now: Timestamp) -> Result<TicketWrite, StoreError> {
        let mut state = self.lock();
        if state.ticket.as_ref().is_some_and(|stored| stored.create_time >= ticket.create_time) {
            return Ok(TicketWrite::Stale);
        }
        state.ticket = Some(ticket.clone());
        Ok(state.wrote(TicketWrite::Stored))
    }

    async fn verify_ticket(&self) -> Result<Option<VerifyTicket>, StoreError> {
        let mut state = self.lock();
        state.reads += 1;
        Ok(state.ticket.clone())
    }
}

impl ComponentTokenStore for MemoryStore {
    async fn component_token(&self) -> Result<Option<ComponentToken>, StoreError> {
        let mut state = self.lock();
        state.reads += 1;
        Ok(state.component_token.clone())
    }

    async fn put_component_token(
        &self,
        token: &crate::Secret,
        expires_at: Timestamp,
        expected_version: Option<u64>,
        _now: Timestamp,
    ) -> Result<ComponentToken, StoreError> {
        let mut state = self.lock();
        if state.component_token.as_ref().map(|t| t.version) != expected_version {
            return Err(StoreError::ConditionFailed);
        }
        let stored =
            ComponentToken { token: token.clone(), expires_at, version: expected_version.map_or(1, |v| v + 1) };
        state.component_token = Some(stored.clone());
        Ok(state.wrote(stored))
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let free = match state.leases.get(name) {
            None => true,
            Some((current, lease_until)) => *lease_until <= now || current == holder,
        };
        if free {
            state.leases.insert(name.to_owned(), (holder.to_owned(), until));
            state.wrote(());
        }
        Ok(free)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let mut state = self.lock();
        if state.leases.get(name).is_some_and(|(current, _)| current == holder) {
            state.leases.remove(name);
            state.wrote(());
        }
        Ok(())
    }
}

impl AuthorizerStore for MemoryStore {
    async fn authorizer(&self, appid: &str) -> Result<Option<AuthorizerRecord>, StoreError> {
        let mut state = self.lock();
        state.reads += 1;
        Ok(state.authorizers.get(appid).cloned())
    }

    async fn save_authorization(&self, a: &NewAuthorization, now: Timestamp) -> Result<AuthorizerRecord, StoreError> {
        let mut state = self.lock();
        let existing = state.authorizers.get(&a.authorizer_appid);
        if existing.is_some_and(|r| r.refresh_token_received_ms > a.received_ms) {
            return Err(StoreError::ConditionFailed);
        }
        let record = AuthorizerRecord {
            authorizer_appid: a.authorizer_appid.clone(),
            access_token: a.access_token.clone(),
            expires_at: a.expires_at,
            refresh_token: a.refresh_token.clone(),
            refresh_token_received_ms: a.received_ms,
            profile: existing.map(|r| r.profile.clone()).unwrap_or_default(),
            status: AuthorizerStatus::Authorized,
            owner: existing.map_or_else(|| UNCLAIMED_OWNER.to_owned(), |r| r.owner.clone()),
            authorized_at: a.authorized_at,
            updated_at: now,
            version: existing.map_or(0, |r| r.version) + 1,
            web_origins: existing.map(|r| r.web_origins.clone()).unwrap_or_default(),
        };
        state.authorizers.insert(a.authorizer_appid.clone(), record.clone());
        Ok(state.wrote(record))
    }

    async fn update_tokens(&self, r: &TokenRefresh, now: Timestamp) -> Result<AuthorizerRecord, StoreError> {
        let regresses =
            |record: &AuthorizerRecord| r.refresh_token.is_some() && record.refresh_token_received_ms > r.received_ms;
        self.lock().update_authorizer(
            &r.authorizer_appid,
            now,
            |record| {
                record.version == r.expected_version
                    && record.status == AuthorizerStatus::Authorized
                    && !regresses(record)
            },
            |next| {
                next.access_token = r.access_token.clone();
                next.expires_at = r.expires_at;
                if let Some(refresh_token) = &r.refresh_token {
                    next.refresh_token = refresh_token.clone();
                    next.refresh_token_received_ms = r.received_ms;
                }
            },
        )
    }

    async fn update_profile(
        &self,
        appid: &str,
        profile: &AuthorizerProfile,
        expected_version: u64,
        now: Timestamp,
    ) -> Result<AuthorizerRecord, StoreError> {
        self.lock().update_authorizer(
            appid,
            now,
            |r| r.version == expected_version,
            |next| next.profile = profile.clone(),
        )
    }

    async fn set_owner(&self, appid: &str, owner: &str, now: Timestamp) -> Result<AuthorizerRecord, StoreError> {
        self.lock().update_authorizer(appid, now, |_| true, |next| next.owner = owner.to_owned())
    }

    async fn set_web_origins(
        &self,
        appid: &str,
        origins: &[String],
        now: Timestamp,
    ) -> Result<AuthorizerRecord, StoreError> {
        let mut state = self.lock();
        let record = state.authorizer_mut(appid)?;
        record.web_origins = origins.to_vec();
        record.updated_at = now;
        let record = record.clone();
        Ok(state.wrote(record))
    }

    async fn claim_owner(&self, appid: &str, owner: &str, now: Timestamp) -> Result<AuthorizerRecord, StoreError> {
        let claimable = |r: &AuthorizerRecord| r.owner == UNCLAIMED_OWNER || r.owner == owner;
        self.lock().update_authorizer(appid, now, claimable, |next| next.owner = owner.to_owned())
    }

    async fn revoke(&self, appid: &str, event_time: Timestamp, now: Timestamp) -> Result<AuthorizerRecord, StoreError> {
        let status = AuthorizerStatus::Revoked;
        self.lock().update_authorizer(appid, now, |r| r.authorized_at <= event_time, |next| next.status = status)
    }

    async fn mark_needs_reauthorization(
        &self,
        appid: &str,
        expected_version: u64,
        retry_at: Timestamp,
        now: Timestamp,
    ) -> Result<AuthorizerRecord, StoreError> {
        self.lock().update_authorizer(
            appid,
            now,
            |r| r.version == expected_version,
            |next| {
                next.status = AuthorizerStatus::NeedsReauthorization;
                next.expires_at = retry_at;
            },
        )
    }

    async fn due_authorizers(
        &self,
        before: Timestamp,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<DuePage, StoreError> {
        let mut state = self.lock();
        let mut due: Vec<(Timestamp, &str)> = state
            .authorizers
            .values()
            .filter(|r| r.status != AuthorizerStatus::Revoked && r.expires_at < before)
            .map(|r| (r.expires_at, r.authorizer_appid.as_str()))
            .collect();
        due.sort_unstable();
        // The cursor is the last (expires_at, appid) returned, like DynamoDB's LastEvaluatedKey.
        let start = match cursor {
            None => 0,
            Some(cursor) => {
                let (expires_at, appid) = cursor
                    .split_once('|')
                    .and_then(|(e, a)| Some((e.parse::<Timestamp>().ok()?, a)))
                    .ok_or_else(|| StoreError::Other("malformed due-query cursor".into()))?;
                due.partition_point(|entry| *entry <= (expires_at, appid))
            }
        };
        let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        let page: Vec<DueAuthorizer> = due[start..]
            .iter()
            .take(limit)
            .map(|(expires_at, appid)| DueAuthorizer { authorizer_appid: (*appid).to_owned(), expires_at: *expires_at })
            .collect();
        let next = (start + page.len() < due.len())
            .then(|| page.last().map(|last| format!("{}|{}", last.expires_at, last.authorizer_appid)))
            .flatten();
        state.reads += page.len() as u64;
        Ok(DuePage { items: page, next })
    }

    async fn authorizers_of(&self, owner: &str, cursor: Option<&str>, limit: u32) -> Result<SummaryPage, StoreError> {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let after = cursor
            .map(|cursor| {
                let bad = || StoreError::Other("malformed account-list cursor".into());
                let text = String::from_utf8(engine.decode(cursor).map_err(|_| bad())?).map_err(|_| bad())?;
                let (at, appid) = text.split_once('|').ok_or_else(bad)?;
                if appid.is_empty() || !appid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    return Err(bad());
                }
                Ok::<_, StoreError>((at.parse::<i64>().map_err(|_| bad())?, appid.to_owned()))
            })
            .transpose()?;
        let state = self.lock();
        let mut list: Vec<AuthorizerSummary> = state
            .authorizers
            .values()
            .filter(|r| r.owner == owner)
            .map(|r| AuthorizerSummary {
                authorizer_appid: r.authorizer_appid.clone(),
                profile: r.profile.clone(),
                status: r.status,
                authorized_at: r.authorized_at,
                updated_at: r.updated_at,
            })
            .collect();
        // Newest first, like the owner index read backwards.
        let order = |a: &AuthorizerSummary| (std::cmp::Reverse(a.authorized_at), a.authorizer_appid.clone());
        list.sort_by_key(order);
        if let Some((at, appid)) = after {
            let position = (std::cmp::Reverse(at), appid);
            list.retain(|item| order(item) > position);
        }
        let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        let next = (list.len() > limit).then(|| {
            let last = &list[limit - 1];
            engine.encode(format!("{}|{}", last.authorized_at, last.authorizer_appid))
        });
        list.truncate(limit);
        Ok(SummaryPage { items: list, next })
    }

    async fn record_owner_move(
        &self,
        previous_owner: &str,
        moved: &OwnerMove,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let expires = now + OWNER_MOVE_TTL_SECS;
        let key = (moved.moved_at, moved.authorizer_appid.clone());
        state.moves.entry(previous_owner.to_owned()).or_default().insert(key, (moved.clone(), expires));
        state.wrote(());
        Ok(())
    }

    async fn owner_moves(&self, owner: &str, limit: u32, now: Timestamp) -> Result<Vec<OwnerMove>, StoreError> {
        let mut state = self.lock();
        let moves: Vec<OwnerMove> = state
            .moves
            .get(owner)
            .map(|moves| {
                let live = moves.values().rev().filter(|(_, expires)| *expires >= now);
                live.take(usize::try_from(limit).unwrap_or(usize::MAX)).map(|(m, _)| m.clone()).collect()
            })
            .unwrap_or_default();
        state.reads += moves.len() as u64;
        Ok(moves)
    }
}

impl MarkerStore for MemoryStore {
    async fn remember_once(&self, key: &str, ttl_secs: i64, now: Timestamp) -> Result<bool, StoreError> {
        let mut state = self.lock();
        if state.failing_marker_writes > 0 {
            state.failing_marker_writes -= 1;
            return Err(StoreError::Unavailable("injected marker write failure".to_owned()));
        }
        if state.markers.get(key).is_some_and(|expires| *expires >= now) {
            return Ok(false);
        }
        state.markers.insert(key.to_owned(), now + ttl_secs.max(1));
        Ok(state.wrote(true))
    }

    async fn seen(&self, key: &str, now: Timestamp) -> Result<bool, StoreError> {
        let mut state = self.lock();
        if state.failing_marker_reads > 0 {
            state.failing_marker_reads -= 1;
            return Err(StoreError::Unavailable("injected marker read failure".to_owned()));
        }
        state.reads += 1;
        Ok(state.markers.get(key).is_some_and(|expires| *expires >= now))
    }

    async fn count(&self, key: &str, ttl_secs: i64, now: Timestamp) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let expired = state.counters.get(key).is_some_and(|(_, expires)| *expires < now);
        if expired {
            state.counters.remove(key);
        }
        let entry = state.counters.entry(key.to_owned()).or_insert((0, now + ttl_secs.max(1)));
        entry.0 += 1;
        let count = entry.0;
        Ok(state.wrote(count))
    }

    async fn remember_value(&self, key: &str, value: &str, ttl_secs: i64, now: Timestamp) -> Result<(), StoreError> {
        let mut state = self.lock();
        if state.failing_value_writes > 0 {
            state.failing_value_writes -= 1;
            return Err(StoreError::Unavailable("injected value write failure".to_owned()));
        }
        state.values.insert(key.to_owned(), (value.to_owned(), now + ttl_secs.max(1)));
        state.wrote(());
        Ok(())
    }

    async fn recall(&self, key: &str, now: Timestamp) -> Result<Option<String>, StoreError> {
        let mut state = self.lock();
        state.reads += 1;
        Ok(state.values.get(key).filter(|(_, expires)| *expires >= now).map(|(value, _)| value.clone()))
    }
}

impl BindingStore for MemoryStore {
    async fn bind(&self, appid: &str, binding: &Binding) -> Result<(), StoreError> {
        let mut state = self.lock();
        let (by_openid, by_user) = state.bindings.entry(appid.to_owned()).or_default();
        let same = |b: &Binding| b.openid == binding.openid && b.user_ref == binding.user_ref;
        let openid_free = by_openid.get(&binding.openid).is_none_or(same);
        let user_free = by_user.get(&binding.user_ref).is_none_or(|openid| *openid == binding.openid);
        if !(openid_free && user_free) {
            return Err(StoreError::ConditionFailed);
        }
        by_openid.insert(binding.openid.clone(), binding.clone());
        by_user.insert(binding.user_ref.clone(), binding.openid.clone());
        state.wrote(());
        Ok(())
    }

    async fn binding_by_openid(&self, appid: &str, openid: &str) -> Result<Option<Binding>, StoreError> {
        let mut state = self.lock();
        state.reads += 1;
        Ok(state.bindings.get(appid).and_then(|(by_openid, _)| by_openid.get(openid)).cloned())
    }

    async fn binding_by_user(&self, appid: &str, user_ref: &str) -> Result<Option<Binding>, StoreError> {
        let mut state = self.lock();
        state.reads += 1;
        Ok(state
            .bindings
            .get(appid)
            .and_then(|(by_openid, by_user)| by_user.get(user_ref).and_then(|openid| by_openid.get(openid)))
            .cloned())
    }

    async fn unbind(&self, appid: &str, binding: &Binding) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let Some((by_openid, by_user)) = state.bindings.get_mut(appid) else {
            return Ok(false);
        };
        let stored = by_openid.get(&binding.openid).is_some_and(|b| b.user_ref == binding.user_ref);
        if !stored {
            return Ok(false);
        }
        by_openid.remove(&binding.openid);
        by_user.remove(&binding.user_ref);
        state.wrote(());
        Ok(true)
    }
}

impl DocumentStore for MemoryStore {
    async fn document(&self, kind: DocumentKind, appid: &str) -> Result<Option<StoredDocument>, StoreError> {
        let mut state = self.lock();
        state.reads += 1;
        Ok(state.documents.get(&(kind, appid.to_owned())).cloned())
    }

    async fn save_document(
        &self,
        kind: DocumentKind,
        appid: &str,
        document: &str,
        expected_version: u64,
        by: &str,
        now: Timestamp,
    ) -> Result<StoredDocument, StoreError> {
        let mut state = self.lock();
        let key = (kind, appid.to_owned());
        if state.documents.get(&key).map_or(0, |r| r.version) != expected_version {
            return Err(StoreError::ConditionFailed);
        }
        let saved = StoredDocument {
            document: document.to_owned(),
            version: expected_version + 1,
            updated_at: now,
            updated_by: by.to_owned(),
        };
        state.documents.insert(key, saved.clone());
        Ok(state.wrote(saved))
    }
}

/// What a change does to a follower record (`None`: the record as it was, absent), as the
/// DynamoDB adapter's conditions decide it: the new record and state time, and how the account's
/// count moves. `None` when the change is stale and nothing is written.
fn follow(
    openid: &str,
    current: Option<&(Follower, Timestamp)>,
    at: Timestamp,
    change: &FollowerChange,
) -> Option<((Follower, Timestamp), i64)> {
    let newer = current.is_none_or(|(_, state_at)| *state_at < at);
    let was_subscribed = current.is_some_and(|(f, _)| f.subscribed);
    let (mut follower, mut state_at) =
        current.cloned().unwrap_or_else(|| (Follower { openid: openid.to_owned(), ..Follower::default() }, at));
    let delta = match change {
        FollowerChange::Subscribed { scene } => {
            if !newer {
                // A late subscribe: the state stands, the history takes it.
                let before = follower.clone();
                if follower.last_subscribed_at.is_none_or(|t| t < at) {
                    follower.last_subscribed_at = Some(at);
                    follower.scene.clone_from(scene);
                    if follower.first_scene.is_none() {
                        follower.first_scene.clone_from(scene);
                    }
                }
                if follower.first_subscribed_at.is_none_or(|t| t > at) {
                    follower.first_subscribed_at = Some(at);
                    if scene.is_some() {
                        follower.first_scene.clone_from(scene);
                    }
                }
                return (follower != before).then_some(((follower, state_at), 0));
            }
            follower.subscribed = true;
            state_at = at;
            follower.last_subscribed_at = Some(at);
            follower.first_subscribed_at.get_or_insert(at);
            follower.scene.clone_from(scene);
            if follower.first_scene.is_none() {
                follower.first_scene.clone_from(scene);
            }
            i64::from(!was_subscribed)
        }
        FollowerChange::Unsubscribed => {
            if !newer {
                // A late unsubscribe: the state stands; the last one seen is kept.
                if follower.unsubscribed_at.is_some_and(|t| t >= at) {
                    return None;
                }
                follower.unsubscribed_at = Some(at);
                return Some(((follower, state_at), 0));
            }
            follower.subscribed = false;
            state_at = at;
            follower.unsubscribed_at = Some(at);
            -i64::from(was_subscribed)
        }
        FollowerChange::Messaged | FollowerChange::Interacted => {
            let field = if *change == FollowerChange::Messaged {
                &mut follower.last_message_at
            } else {
                &mut follower.last_interaction_at
            };
            if current.is_some() {
                if field.is_some_and(|t| t >= at) {
                    return None;
                }
                *field = Some(at);
                0
            } else {
                // Only a follower can write to an account: one the ledger did not know follows it.
                *field = Some(at);
                follower.subscribed = true;
                1
            }
        }
        FollowerChange::Imported { subscribed_at, scene, unionid } => {
            let takes = current.is_none_or(|(f, state_at)| !f.subscribed && *state_at < *subscribed_at);
            if !takes {
                if unionid.is_none() {
                    return None;
                }
                follower.unionid.clone_from(unionid);
                return Some(((follower, state_at), 0));
            }
            follower.subscribed = true;
            state_at = *subscribed_at;
            follower.last_subscribed_at = Some(*subscribed_at);
            follower.first_subscribed_at.get_or_insert(*subscribed_at);
            follower.scene.clone_from(scene);
            if follower.first_scene.is_none() {
                follower.first_scene.clone_from(scene);
            }
            if unionid.is_some() {
                follower.unionid.clone_from(unionid);
            }
            i64::from(!was_subscribed)
        }
    };
    Some(((follower, state_at), delta))
}

impl FollowerStore for MemoryStore {
    async fn record_follower(
        &self,
        appid: &str,
        openid: &str,
        at: Timestamp,
        change: &FollowerChange,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        if state.failing_follower_writes > 0 {
            state.failing_follower_writes -= 1;
            return Err(StoreError::Unavailable("injected follower write failure".to_owned()));
        }
        let current = state.followers.get(appid).and_then(|m| m.get(openid));
        let Some((record, delta)) = follow(openid, current, at, change) else {
            return Ok(());
        };
        state.followers.entry(appid.to_owned()).or_default().insert(openid.to_owned(), record);
        *state.follower_counts.entry(appid.to_owned()).or_default() += delta;
        state.wrote(());
        Ok(())
    }

    async fn follower(&self, appid: &str, openid: &str) -> Result<Option<Follower>, StoreError> {
        let mut state = self.lock();
        state.reads += 1;
        Ok(state.followers.get(appid).and_then(|m| m.get(openid)).map(|(f, _)| f.clone()))
    }

    async fn followers(
        &self,
        appid: &str,
        subscribed: Option<bool>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<FollowerPage, StoreError> {
        let start = cursor.map(super::follower_cursor_openid).transpose()?;
        let mut state = self.lock();
        let Some(all) = state.followers.get(appid) else {
            return Ok(FollowerPage::default());
        };
        // Like a DynamoDB query with a filter: `limit` records are read, then filtered.
        let read: Vec<&Follower> = all
            .iter()
            .filter(|(openid, _)| start.as_deref().is_none_or(|s| openid.as_str() > s))
            .take(limit.max(1) as usize + 1)
            .map(|(_, (f, _))| f)
            .collect();
        let more = read.len() > limit.max(1) as usize;
        let read = &read[..read.len().min(limit.max(1) as usize)];
        let next = if more { read.last().map(|f| super::follower_cursor(&f.openid)) } else { None };
        let items: Vec<Follower> =
            read.iter().filter(|f| subscribed.is_none_or(|s| f.subscribed == s)).map(|f| (*f).clone()).collect();
        state.reads += read.len() as u64;
        Ok(FollowerPage { items, next })
    }

    async fn tag_follower(&self, appid: &str, openid: &str, tag: i64, add: bool) -> Result<(), StoreError> {
        let mut state = self.lock();
        let Some((follower, _)) = state.followers.get_mut(appid).and_then(|f| f.get_mut(openid)) else {
            return Ok(());
        };
        let had = follower.tags.contains(&tag);
        if add && !had {
            follower.tags.push(tag);
            follower.tags.sort_unstable();
        } else if !add && had {
            follower.tags.retain(|t| *t != tag);
        }
        state.wrote(());
        Ok(())
    }

    async fn follower_counts(&self, appids: &[String]) -> Result<HashMap<String, u64>, StoreError> {
        let mut state = self.lock();
        state.reads += appids.len() as u64;
        Ok(appids
            .iter()
            .map(|appid| (appid.clone(), state.follower_counts.get(appid).copied().unwrap_or(0).max(0) as u64))
            .collect())
    }
}

impl MediaStore for MemoryStore {
    async fn stage_medium(
        &self,
        appid: &str,
        medium: &StoredMedium,
        now: Timestamp,
    ) -> Result<Option<StoredMedium>, StoreError> {
        let mut state = self.lock();
        let media = state.media.entry(appid.to_owned()).or_default();
        if let Some((existing, None)) = media.get(&medium.handle) {
            return Ok(Some(existing.clone()));
        }
        media.insert(medium.handle.clone(), (medium.clone(), Some(now + STAGED_MEDIUM_SECS)));
        state.wrote(());
        Ok(None)
    }

    async fn medium(&self, appid: &str, handle: &str) -> Result<Option<StoredMedium>, StoreError> {
        let mut state = self.lock();
        state.reads += 1;
        Ok(state.media.get(appid).and_then(|m| m.get(handle)).map(|(medium, _)| medium.clone()))
    }

    async fn record_upload(
        &self,
        appid: &str,
        handle: &str,
        upload: &MediumUpload,
        now: Timestamp,
    ) -> Result<StoredMedium, StoreError> {
        let mut state = self.lock();
        let entry = state.media.get_mut(appid).and_then(|m| m.get_mut(handle)).ok_or(StoreError::NotFound)?;
        entry.0.media_id.clone_from(&upload.media_id);
        entry.0.url.clone_from(&upload.url);
        entry.0.expires_at = upload.expires_at;
        entry.0.uploaded_at = Some(now);
        entry.1 = None;
        let medium = entry.0.clone();
        Ok(state.wrote(medium))
    }

    async fn media(
        &self,
        appid: &str,
        cursor: Option<&str>,
        limit: u32,
        now: Timestamp,
    ) -> Result<MediaPage, StoreError> {
        if cursor.is_some_and(|c| !crate::media::is_handle(c)) {
            return Err(StoreError::Other("malformed media cursor".into()));
        }
        let mut state = self.lock();
        let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        let live: Vec<StoredMedium> = state
            .media
            .get(appid)
            .map(|media| {
                media
                    .iter()
                    .filter(|(handle, _)| cursor.is_none_or(|c| handle.as_str() > c))
                    .filter(|(_, (_, forget_at))| forget_at.is_none_or(|at| at >= now))
                    .map(|(_, (medium, _))| medium.clone())
                    .take(limit + 1)
                    .collect()
            })
            .unwrap_or_default();
        state.reads += live.len() as u64;
        let mut items = live;
        let next = (items.len() > limit).then(|| items[limit - 1].handle.clone());
        items.truncate(limit);
        Ok(MediaPage { items, next })
    }

    async fn forget_medium(&self, appid: &str, handle: &str) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let removed = state.media.get_mut(appid).and_then(|m| m.remove(handle)).is_some();
        if removed {
            state.wrote(());
        }
        Ok(removed)
    }

    async fn medium_used(&self, appid: &str, handle: &str, now: Timestamp) -> Result<(), StoreError> {
        let mut state = self.lock();
        if let Some(entry) = state.media.get_mut(appid).and_then(|m| m.get_mut(handle)) {
            entry.0.used_at = Some(now);
            state.wrote(());
        }
        Ok(())
    }

    async fn schedule_renewal(&self, renewal: &Renewal) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.renewals.insert((renewal.expires_at, renewal.appid.clone(), renewal.handle.clone()));
        state.wrote(());
        Ok(())
    }

    async fn renewals_due(&self, before: Timestamp, limit: u32) -> Result<Vec<Renewal>, StoreError> {
        let mut state = self.lock();
        state.reads += 1;
        let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        Ok(state
            .renewals
            .iter()
            .take_while(|(expires_at, _, _)| *expires_at < before)
            .take(limit)
            .map(|(expires_at, appid, handle)| Renewal {
                appid: appid.clone(),
                handle: handle.clone(),
                expires_at: *expires_at,
            })
            .collect())
    }

    async fn drop_renewal(&self, renewal: &Renewal) -> Result<(), StoreError> {
        let mut state = self.lock();
        if state.renewals.remove(&(renewal.expires_at, renewal.appid.clone(), renewal.handle.clone())) {
            state.wrote(());
        }
        Ok(())
    }
}

impl QrCodeStore for MemoryStore {
    async fn keep_qr_code(&self, appid: &str, code: &StoredQrCode, limit: u64) -> Result<QrCodeKept, StoreError> {
        let mut state = self.lock();
        let codes = state.qr_codes.entry(appid.to_owned()).or_default();
        if let Some(existing) = codes.get(&code.id) {
            return Ok(QrCodeKept::Existing(existing.clone()));
        }
        let permanent = codes.values().filter(|c| c.permanent).count() as u64;
        if code.permanent && permanent >= limit {
            return Ok(QrCodeKept::Full);
        }
        codes.insert(code.id.clone(), code.clone());
        Ok(state.wrote(QrCodeKept::Kept))
    }

    async fn qr_code(&self, appid: &str, id: &str) -> Result<Option<StoredQrCode>, StoreError> {
        let mut state = self.lock();
        state.reads += 1;
        Ok(state.qr_codes.get(appid).and_then(|codes| codes.get(id)).cloned())
    }

    async fn qr_codes(&self, appid: &str, cursor: Option<&str>, limit: u32) -> Result<QrCodePage, StoreError> {
        if cursor.is_some_and(|c| !super::is_qr_code_id(c)) {
            return Err(StoreError::Other("malformed QR code cursor".into()));
        }
        let mut state = self.lock();
        state.reads += 1;
        let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        let codes = state.qr_codes.get(appid);
        let after: Vec<&StoredQrCode> = codes
            .into_iter()
            .flat_map(|c| c.values())
            .filter(|c| cursor.is_none_or(|after| c.id.as_str() > after))
            .collect();
        let items: Vec<StoredQrCode> = after.iter().take(limit).map(|c| (*c).clone()).collect();
        let next = (after.len() > limit).then(|| items.last().map(|c| c.id.clone())).flatten();
        Ok(QrCodePage { items, next })
    }

    async fn permanent_qr_codes(&self, appid: &str) -> Result<u64, StoreError> {
        let mut state = self.lock();
        state.reads += 1;
        Ok(state.qr_codes.get(appid).map_or(0, |codes| codes.values().filter(|c| c.permanent).count() as u64))
    }

    async fn count_qr_push(
        &self,
        appid: &str,
        id: &str,
        day: i64,
        follow: bool,
        event_id: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let seen = (appid.to_owned(), event_id.to_owned());
        if state.qr_seen.get(&seen).is_some_and(|expires| *expires > now) {
            return Ok(false);
        }
        state.qr_seen.insert(seen, now + QR_PUSH_MARKER_SECS);
        let counts = state.qr_days.entry((appid.to_owned(), id.to_owned(), day)).or_default();
        if follow {
            counts.1 += 1;
        } else {
            counts.0 += 1;
        }
        Ok(state.wrote(true))
    }

    async fn qr_days(&self, appid: &str, id: &str, from: i64, to: i64) -> Result<Vec<QrDay>, StoreError> {
        let mut state = self.lock();
        state.reads += 1;
        let range = (appid.to_owned(), id.to_owned(), from)..=(appid.to_owned(), id.to_owned(), to);
        Ok(state
            .qr_days
            .range(range)
            .map(|((_, _, day), (scans, follows))| QrDay { day: *day, scans: *scans, follows: *follows })
            .collect())
    }
}

impl UsageStore for MemoryStore {
    async fn meter(&self, appid: &str, day: i64, calls: &[(&str, u64)]) -> Result<(), StoreError> {
        if calls.is_empty() {
            return Ok(());
        }
        let mut state = self.lock();
        let figures = state.usage.entry((appid.to_owned(), day)).or_default();
        for (api, count) in calls {
            *figures.entry((*api).to_owned()).or_default() += count;
        }
        state.wrote(());
        Ok(())
    }

    async fn usage(&self, appid: &str, from: i64, to: i64) -> Result<Vec<super::DayUsage>, StoreError> {
        let mut state = self.lock();
        state.reads += 1;
        let range = (appid.to_owned(), from)..=(appid.to_owned(), to);
        Ok(state
            .usage
            .range(range)
            .map(|((_, day), figures)| (*day, figures.iter().map(|(k, v)| (k.clone(), *v)).collect()))
            .collect())
    }
}
