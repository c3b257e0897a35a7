//! WeChat message crypto (安全模式): signatures, AES-256-CBC with 32-byte PKCS#7 and key
//! rotation, as pure functions with no I/O: bytes and strings in, bytes and strings out.
//!
//! The third-party platform is always in safe mode: one Token, one EncodingAESKey and the
//! **component** appid serve both push URLs, and the appid at the tail of every plaintext, inbound
//! and in our replies, is the component appid (official vector E). Decryption follows WeChat's
//! published algorithm (`docs/wechat.md`, "Message crypto"); each failure is a [`CryptoError`]
//! that maps to the official error code of WeChat's crypto library (-40001 … -40011). What
//! arrives over HTTP around the ciphertext (query, envelope, replay window) is the `push`
//! module's, which stands on this one.
//!
//! Key rotation follows the official advice: "若当前 EncodingAESKey 解密失败，则尝试用上一次的
//! EncodingAESKey 的解密。回包时，用哪个 Key 解密成功，则用此 Key 加密对应的回包。" The signature
//! does not depend on the key, so only decryption is retried.

mod cipher;
mod signature;

pub use self::cipher::AesKey;
pub use self::signature::{signature, to_hex, verify as verify_signature};

use crate::secret::Secret;

/// Why a signature, a key or a ciphertext failed. Each variant maps to the official crypto error
/// code ([`CryptoError::code`]) and to an HTTP status ([`CryptoError::http_status`]); `Display`
/// never contains a secret. Query, envelope and replay failures are the push pipeline's
/// (`push::PushError`), which wraps this one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// `msg_signature` / `signature` does not match: the request did not come from WeChat.
    #[error("signature does not match")]
    InvalidSignature,
    /// The EncodingAESKey is not 43 alphanumeric characters decoding to 32 bytes.
    #[error("EncodingAESKey must be 43 characters of [A-Za-z0-9]")]
    IllegalAesKey,
    /// The plaintext names another appid than ours.
    #[error("payload is for appid {found:?}")]
    AppIdMismatch {
        /// What the plaintext carried (lossy UTF-8, at most 64 characters).
        found: String,
    },
    /// Encrypting a reply failed (the message is over 4 GiB).
    #[error("cannot encrypt the reply")]
    EncryptAes,
    /// The ciphertext cannot be AES-CBC output of a WeChat frame (length not a positive multiple
    /// of 32).
    #[error("ciphertext of {len} bytes is not a positive multiple of 32")]
    DecryptAes {
        /// Decoded ciphertext length.
        len: usize,
    },
    /// The decrypted buffer is not a valid frame (padding, length field, UTF-8).
    #[error("illegal buffer: {0}")]
    IllegalBuffer(&'static str),
    /// `<Encrypt>` is not valid Base64.
    #[error("Encrypt is not valid base64")]
    DecodeBase64,
}

impl CryptoError {
    /// The code WeChat's official crypto library uses for this failure (`ierror.py`).
    pub fn code(&self) -> i32 {
        match self {
            Self::InvalidSignature => -40001,
            Self::IllegalAesKey => -40004,
            Self::AppIdMismatch { .. } => -40005,
            Self::EncryptAes => -40006,
            Self::DecryptAes { .. } => -40007,
            Self::IllegalBuffer(_) => -40008,
            Self::DecodeBase64 => -40010,
        }
    }

    /// 401 when the request is not authentic, 400 for anything undecryptable, 500 for our own
    /// failures (`docs/contract.md`, "Push URLs").
    pub fn http_status(&self) -> u16 {
        match self {
            Self::InvalidSignature => 401,
            Self::AppIdMismatch { .. } | Self::DecryptAes { .. } | Self::IllegalBuffer(_) | Self::DecodeBase64 => 400,
            Self::IllegalAesKey | Self::EncryptAes => 500,
        }
    }
}

/// Which configured key decrypted a push; the reply must be encrypted with the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySlot {
    /// `COMPONENT_ENCODING_AES_KEY`.
    Current,
    /// `COMPONENT_ENCODING_AES_KEY_PREVIOUS`, the key before a rotation.
    Previous,
}

/// A verified, decrypted push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The decrypted XML, byte-exact (not trimmed: WeChat's plaintexts contain newlines).
    pub xml: String,
    /// The key that worked; pass it to the push layer's `seal_reply`.
    pub key: KeySlot,
}

/// The platform's message crypto: Token, current and previous EncodingAESKey, component appid.
/// Built once at cold start; every method is pure and cheap.
#[derive(Debug, Clone)]
pub struct WeChatCrypto {
    token: Secret,
    appid: String,
    current: AesKey,
    previous: Option<AesKey>,
}

impl WeChatCrypto {
    /// # Errors
    /// [`CryptoError::IllegalAesKey`] for a malformed EncodingAESKey, so a bad configuration fails
    /// the cold start instead of every request.
    pub fn new(
        token: impl Into<Secret>,
        encoding_aes_key: &str,
        appid: impl Into<String>,
    ) -> Result<Self, CryptoError> {
        Ok(Self {
            token: token.into(),
            appid: appid.into(),
            current: AesKey::from_encoding_aes_key(encoding_aes_key)?,
            previous: None,
        })
    }

    /// Adds the EncodingAESKey in use before the last rotation; pushes that fail with the current
    /// key are retried with it.
    ///
    /// # Errors
    /// [`CryptoError::IllegalAesKey`] for a malformed key.
    pub fn with_previous_key(mut self, encoding_aes_key: &str) -> Result<Self, CryptoError> {
        self.previous = Some(AesKey::from_encoding_aes_key(encoding_aes_key)?);
        Ok(self)
    }

    /// The component appid expected at the tail of every plaintext.
    pub fn appid(&self) -> &str {
        &self.appid
    }

    /// `msg_signature` over `[token, timestamp, nonce, encrypt]`, lowercase hex.
    pub fn msg_signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        signature::signature_of([self.token.expose(), timestamp, nonce, encrypt])
    }

    /// Checks the 4-part `msg_signature` over `[token, timestamp, nonce, encrypt]` in constant time.
    ///
    /// # Errors
    /// [`CryptoError::InvalidSignature`].
    pub fn verify_msg_signature(
        &self,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
        msg_signature: &str,
    ) -> Result<(), CryptoError> {
        let mut parts = [self.token.expose(), timestamp, nonce, encrypt];
        if verify_signature(msg_signature, &mut parts) { Ok(()) } else { Err(CryptoError::InvalidSignature) }
    }

    /// Checks the 3-part `signature` over `[token, timestamp, nonce]` (URL verification's plain
    /// form) in constant time.
    ///
    /// # Errors
    /// [`CryptoError::InvalidSignature`].
    pub fn verify_plain_signature(&self, timestamp: &str, nonce: &str, signature: &str) -> Result<(), CryptoError> {
        let mut parts = [self.token.expose(), timestamp, nonce];
        if verify_signature(signature, &mut parts) { Ok(()) } else { Err(CryptoError::InvalidSignature) }
    }

    /// Decrypts one `<Encrypt>` text with the current key, then with the previous one.
    ///
    /// # Errors
    /// Base64 and length errors come first (they do not depend on the key); when both keys fail,
    /// the current key's error is returned.
    pub fn decrypt(&self, encrypt: &str) -> Result<Opened, CryptoError> {
        let raw = cipher::decode_ciphertext(encrypt)?;
        let Some(previous) = &self.previous else {
            return cipher::open(&self.current, raw, &self.appid).map(|xml| Opened { xml, key: KeySlot::Current });
        };
        match cipher::open(&self.current, raw.clone(), &self.appid) {
            Ok(xml) => Ok(Opened { xml, key: KeySlot::Current }),
            Err(current_err) => cipher::open(previous, raw, &self.appid)
                .map(|xml| Opened { xml, key: KeySlot::Previous })
                .map_err(|_| current_err),
        }
    }

    /// Encrypts `msg` with a caller-chosen 16-byte prefix, returning the `<Encrypt>` text.
    /// Deterministic, for tests and vectors; production code seals replies through the `push` module.
    ///
    /// # Errors
    /// [`CryptoError::EncryptAes`] for a message over 4 GiB.
    pub fn encrypt_with(&self, key: KeySlot, random: &[u8; 16], msg: &str) -> Result<String, CryptoError> {
        cipher::seal(self.key(key), random, msg.as_bytes(), &self.appid)
    }

    /// A fresh random prefix for one reply, from the thread's CSPRNG (ChaCha12 seeded and
    /// periodically reseeded from the OS): a `getrandom` syscall per reply cost ~0.3 µs of a
    /// ~1.4 µs reply in a VM.
    pub fn random_prefix() -> [u8; 16] {
        use rand::Rng as _;
        let mut random = [0u8; 16];
        rand::rng().fill_bytes(&mut random);
        random
    }

    fn key(&self, slot: KeySlot) -> &AesKey {
        match (slot, &self.previous) {
            (KeySlot::Previous, Some(previous)) => previous,
            _ => &self.current,
        }
    }
}

#[cfg(test)]
mod tests;
