//! The signed, expiring value that binds an authorization to the dashboard user who started it.
//!
//! qr-url-issuer puts it in the `redirect_uri`'s own query string (WeChat passes that through);
//! auth-callback verifies it before exchanging the code. Without it, anyone could complete an
//! authorization into someone else's dashboard, or replay an old callback.
//!
//! Format: `base64url(user).expires_at.nonce.base64url(HMAC-SHA256)`, keyed by a key derived from
//! the component secret (so no extra secret has to be configured). Verification is constant time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::sync::OnceLock;

use crate::clock::Timestamp;
use crate::secret::{Secret, random_bytes};

type HmacSha256 = Hmac<Sha256>;

/// Why a state value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// Not a state value at all.
    #[error("malformed state")]
    Malformed,
    /// The signature does not match: forged or tampered.
    #[error("state signature does not match")]
    Forged,
    /// Signed by us, but past its expiry.
    #[error("state has expired")]
    Expired,
}

/// What a verified state value says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateClaims {
    /// The dashboard user.
    pub user: String,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
    /// A random value that makes each state unique (single-use marker key).
    pub nonce: String,
}

/// Signs and verifies state values.
///
/// The key is derived on first use, not at cold start: deriving it makes the `sha2` crate probe
/// the CPU (`cpuid`, which traps to the hypervisor, ~7 µs each on the CI VM), and four of the six
/// functions never sign or verify a state.
#[derive(Clone)]
pub struct StateSigner {
    secret: Secret,
    /// What the values are for: part of the key derivation, so a value signed for one purpose
    /// (a start link) never verifies as another (an authorization state).
    purpose: &'static [u8],
    key: OnceLock<[u8; 32]>,
}

impl std::fmt::Debug for StateSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateSigner(***)")
    }
}

impl StateSigner {
    /// The signer of authorization states (`redirect_uri`'s `state`), keyed from the component
    /// secret.
    pub fn new(component_secret: &Secret) -> Self {
        Self {
            secret: component_secret.clone(),
            purpose: b"wechat-component-lambda/auth-state/v1",
            key: OnceLock::new(),
        }
    }

    /// The signer of the dashboard's start links: same secret, another derived key.
    pub fn for_start_links(component_secret: &Secret) -> Self {
        Self {
            secret: component_secret.clone(),
            purpose: b"wechat-component-lambda/start-link/v1",
            key: OnceLock::new(),
        }
    }

    /// The signer of web authorizations' `state` (WeChat passes it back; at most 128 bytes):
    /// same secret, another derived key.
    pub fn for_web_authorization(component_secret: &Secret) -> Self {
        Self {
            secret: component_secret.clone(),
            purpose: b"wechat-component-lambda/web-oauth/v1",
            key: OnceLock::new(),
        }
    }

    fn key(&self) -> &[u8; 32] {
        self.key.get_or_init(|| {
            // A function deployed without the component secret must not sign with a key anyone
            // can derive: a random one makes its values verify nowhere else (fail closed).
            if self.secret.expose().is_empty() {
                return random_bytes::<32>();
            }
            let mut derive =
                HmacSha256::new_from_slice(self.secret.expose().as_bytes()).expect("HMAC takes any key length");
            derive.update(self.purpose);
            derive.finalize().into_bytes().into()
        })
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(self.key()).expect("HMAC takes any key length");
        mac.update(payload.as_bytes());
        mac
    }

    /// A state value for `user`, valid until `expires_at`.
    pub fn sign(&self, user: &str, expires_at: Timestamp) -> String {
        let nonce = random_bytes::<12>();
        self.sign_with_nonce(user, expires_at, &nonce)
    }

    /// [`StateSigner::sign`] with a given nonce, for reproducible sample events.
    pub fn sign_with_nonce(&self, user: &str, expires_at: Timestamp, nonce: &[u8]) -> String {
        let payload = format!("{}.{expires_at}.{}", URL_SAFE_NO_PAD.encode(user), URL_SAFE_NO_PAD.encode(nonce));
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// Verifies a state value at time `now`.
    ///
    /// # Errors
    /// [`StateError`]: malformed, forged (checked before anything else is trusted), or expired.
    pub fn verify(&self, state: &str, now: Timestamp) -> Result<StateClaims, StateError> {
        if state.len() > 1024 {
            return Err(StateError::Malformed);
        }
        let (payload, signature) = state.rsplit_once('.').ok_or(StateError::Malformed)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| StateError::Malformed)?;
        self.mac(payload).verify_slice(&signature).map_err(|_| StateError::Forged)?;
        let mut parts = payload.split('.');
        let (Some(user), Some(expires_at), Some(nonce), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(StateError::Malformed);
        };
        let user = String::from_utf8(URL_SAFE_NO_PAD.decode(user).map_err(|_| StateError::Malformed)?)
            .map_err(|_| StateError::Malformed)?;
        let expires_at: Timestamp = expires_at.parse().map_err(|_| StateError::Malformed)?;
        if expires_at <= now {
            return Err(StateError::Expired);
        }
        Ok(StateClaims { user, expires_at, nonce: nonce.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> StateSigner {
        StateSigner::new(&Secret::new("component-secret"))
    }

    #[test]
    fn round_trips_and_is_unique() {
        let s = signer();
        let a = s.sign("user-1|with.dots", 2000);
        let b = s.sign("user-1|with.dots", 2000);
        assert_ne!(a, b);
        let claims = s.verify(&a, 1999).unwrap();
        assert_eq!((claims.user.as_str(), claims.expires_at), ("user-1|with.dots", 2000));
        assert_eq!(s.verify(&a, 2000), Err(StateError::Expired));
    }

    #[test]
    fn forged_tampered_and_foreign_states_are_refused() {
        let s = signer();
        let state = s.sign("alice", 2000);
        let (payload, _) = state.rsplit_once('.').unwrap();
        let as_bob = state.replacen(payload.split('.').next().unwrap(), &URL_SAFE_NO_PAD.encode("bob"), 1);
        assert_eq!(s.verify(&as_bob, 1000), Err(StateError::Forged));
        let later = state.replacen(".2000.", ".9999999999.", 1);
        assert_eq!(s.verify(&later, 1000), Err(StateError::Forged));
        let other = StateSigner::new(&Secret::new("another-secret")).sign("alice", 2000);
        assert_eq!(s.verify(&other, 1000), Err(StateError::Forged));
        let start_link = StateSigner::for_start_links(&Secret::new("component-secret")).sign("alice", 2000);
        assert_eq!(s.verify(&start_link, 1000), Err(StateError::Forged), "a start link is not a state");
        for junk in ["", ".", "abc", "a.b.c.d.e", &"x".repeat(2000)] {
            assert!(s.verify(junk, 1000).is_err(), "{junk}");
        }
    }

    #[test]
    fn debug_hides_the_key() {
        assert_eq!(format!("{:?}", signer()), "StateSigner(***)");
    }
}
