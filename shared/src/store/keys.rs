//! The names under which the platform's short-lived records are stored: one constructor per
//! kind, so no other module spells a key and two kinds can never collide.

use std::ops::Deref;

use crate::crypto::signature;
use crate::secret::Secret;

/// The key of a marker or a remembered value ([`super::MarkerStore`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerKey(String);

impl MarkerKey {
    /// Which account an `auth_code` authorized. The code itself is single-use but still a
    /// credential for ten minutes, so only its SHA-1 is stored.
    pub fn auth_code(code: &Secret) -> Self {
        Self(format!("authcode|{}", signature(&[code.expose()])))
    }

    /// Which dashboard user a `pre_auth_code` was issued to (hashed like an auth code): the
    /// `authorized` push names the code, and the account lands with that user.
    pub fn pre_auth_code(code: &Secret) -> Self {
        Self(format!("preauth|{}", signature(&[code.expose()])))
    }

    /// That a dashboard start link (by its nonce) was opened.
    pub fn start_link(nonce: &str) -> Self {
        Self(format!("start|{nonce}"))
    }

    /// That the daily reconcile ran on `day` (days since the epoch, UTC).
    pub fn reconcile(day: i64) -> Self {
        Self(format!("reconcile|{day}"))
    }

    /// That `appid` was missing from WeChat's authorizer list on `day` (the daily reconcile
    /// revokes only on a second day running).
    pub fn unlisted(appid: &str, day: i64) -> Self {
        Self(format!("unlisted|{appid}|{day}"))
    }

    /// That the edge's copy of WeChat's push servers was made on `day` (days since the epoch).
    pub fn edge_sync(day: i64) -> Self {
        Self(format!("edgesync|{day}"))
    }

    /// Whom a component notice (by its dedup key) moved an account from: a retry of the notice
    /// announces the move although the account is already with its new owner.
    pub fn owner_move(dedup: &str) -> Self {
        Self(format!("ownermove|{dedup}"))
    }

    /// A per-identity counter: `limit` for the identity whose SHA-1 is `who`, in window `window`.
    pub fn rate(limit: &str, who: &str, window: i64) -> Self {
        Self(format!("rate|{limit}|{who}|{window}"))
    }

    /// How many quota resets an account made in `month` (`yyyymm`).
    pub fn quota_resets(appid: &str, month: i64) -> Self {
        Self(format!("quotareset|{appid}|{month}"))
    }

    /// An account's jsapi_ticket, kept a little less than its life (a credential: never logged).
    pub fn jsapi_ticket(appid: &str) -> Self {
        Self(format!("jsticket|{appid}"))
    }

    /// That an authorization state (by its nonce) was used.
    pub fn auth_state(nonce: &str) -> Self {
        Self(format!("state|{nonce}"))
    }

    /// A started web authorization (by its state's nonce): the account, scope, return target
    /// and `user_ref` the state stands for.
    pub fn web_request(nonce: &str) -> Self {
        Self(format!("webreq|{nonce}"))
    }

    /// That a web authorization's state (by its nonce) came back once.
    pub fn web_state(nonce: &str) -> Self {
        Self(format!("webstate|{nonce}"))
    }

    /// Who a web-authorization ticket identifies. The ticket is a bearer credential until it is
    /// redeemed, so only its SHA-1 is stored.
    pub fn web_ticket(ticket: &Secret) -> Self {
        Self(format!("webticket|{}", signature(&[ticket.expose()])))
    }

    /// A web authorization a site's server minted, by its start token (a bearer credential until
    /// opened: only its SHA-1 is stored).
    pub fn web_start(start: &Secret) -> Self {
        Self(format!("webstart|{}", signature(&[start.expose()])))
    }

    /// That a minted start was opened.
    pub fn web_start_used(start: &Secret) -> Self {
        Self(format!("webstartused|{}", signature(&[start.expose()])))
    }

    /// That a web-authorization ticket was redeemed.
    pub fn web_ticket_redeemed(ticket: &Secret) -> Self {
        Self(format!("webredeemed|{}", signature(&[ticket.expose()])))
    }

    /// That a component notice was handed off (`dedup` is the notice's own key).
    pub fn notice(dedup: &str) -> Self {
        Self(format!("notice|{dedup}"))
    }

    /// That an account change the refresher detected was handed off.
    pub fn account_change(appid: &str, change: &str, version: u64) -> Self {
        Self(format!("account|{appid}|{change}|{version}"))
    }

    /// That a medium's upload expiring at `expires_at` was announced (`media.renewed`).
    pub fn media_renewed(appid: &str, handle: &str, expires_at: i64) -> Self {
        Self(format!("renewed|{appid}|{handle}|{expires_at}"))
    }

    /// The result of a request to act as `appid`, under the caller's idempotency key (hashed with
    /// the caller: both are the caller's text, and a key must stay short).
    pub fn idempotency(appid: &str, caller: &str, key: &str) -> Self {
        Self(format!("idem|{appid}|{}", signature(&[caller, "\n", key])))
    }

    /// That a request under that idempotency key started.
    pub fn idempotency_claim(appid: &str, caller: &str, key: &str) -> Self {
        Self(format!("idemclaim|{appid}|{}", signature(&[caller, "\n", key])))
    }

    /// A template message `appid` sent (by WeChat's `msgid`): to whom, which template, when.
    pub fn template_message(appid: &str, msgid: &str) -> Self {
        Self(format!("tmplmsg|{appid}|{msgid}"))
    }

    /// Its delivery status, from the `TEMPLATESENDJOBFINISH` push. A record of its own: the push
    /// can arrive while the send is still writing the message's record, and neither may
    /// overwrite the other.
    pub fn template_finished(appid: &str, msgid: &str) -> Self {
        Self(format!("tmplfin|{appid}|{msgid}"))
    }

    /// A publication `appid` submitted through the platform (`freepublish/submit`): which draft,
    /// by whom, when.
    pub fn publication(appid: &str, publish_id: &str) -> Self {
        Self(format!("publish|{appid}|{publish_id}"))
    }

    /// How it ended, from the `PUBLISHJOBFINISH` push: a record of its own, like
    /// [`MarkerKey::template_finished`], so the push and the submission never overwrite each other.
    pub fn publication_finished(appid: &str, publish_id: &str) -> Self {
        Self(format!("publishfin|{appid}|{publish_id}"))
    }

    /// A mass send by the caller's idempotency key (`clientmsgid`): its `msg_id` once WeChat
    /// answered.
    pub fn mass_by_client(appid: &str, clientmsgid: &str) -> Self {
        Self(format!("massclient|{appid}|{clientmsgid}"))
    }

    /// A mass send the platform made: to whom, what, when.
    pub fn mass_message(appid: &str, msg_id: &str) -> Self {
        Self(format!("mass|{appid}|{msg_id}"))
    }

    /// How it ended, from the `MASSSENDJOBFINISH` push (a record of its own).
    pub fn mass_finished(appid: &str, msg_id: &str) -> Self {
        Self(format!("massfin|{appid}|{msg_id}"))
    }

    /// That a mass send under `clientmsgid` was counted against the account's budget (a retry
    /// with the same key is not counted again).
    pub fn mass_counted(appid: &str, clientmsgid: &str) -> Self {
        Self(format!("masscounted|{appid}|{clientmsgid}"))
    }

    /// The account's mass sends of a period (`day` for subscription accounts, `month` for
    /// sends to everyone of service accounts).
    pub fn mass_budget(appid: &str, period: &str) -> Self {
        Self(format!("massbudget|{appid}|{period}"))
    }

    /// Where an import of `appid`'s existing followers stands.
    pub fn backfill(appid: &str) -> Self {
        Self(format!("backfill|{appid}"))
    }

    /// That a push to `appid` was handed off (`dedup` is the message's own key).
    pub fn push(appid: &str, dedup: &str) -> Self {
        Self(format!("push|{appid}|{dedup}"))
    }
}

impl Deref for MarkerKey {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// The name of a refresh lease ([`super::ComponentTokenStore::acquire_lease`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseName(String);

impl LeaseName {
    /// The lease that serialises component token refreshes.
    pub fn component_token() -> Self {
        Self("component_token".to_owned())
    }

    /// The lease on one authorizer's refresh token.
    pub fn authorizer(appid: &str) -> Self {
        Self(format!("authorizer#{appid}"))
    }

    /// The lease on one medium's upload to WeChat (one completion at a time; given back when it
    /// ends, so that a failed one can be retried at once).
    pub fn medium_upload(appid: &str, handle: &str) -> Self {
        Self(format!("mediaupload#{appid}#{handle}"))
    }

    /// The lease on fetching one account's jsapi_ticket (one getticket however many ask).
    pub fn jsapi_ticket(appid: &str) -> Self {
        Self(format!("jsticket#{appid}"))
    }

    /// The lease on one account's menu: a publication at WeChat and the version stored after it
    /// happen together, so two editors never leave WeChat with one menu and the store with the
    /// other.
    pub fn menu(appid: &str) -> Self {
        Self(format!("menu#{appid}"))
    }
}

impl Deref for LeaseName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}
