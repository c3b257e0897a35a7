//! WeChat message crypto (安全模式): signatures, AES-256-CBC with 32-byte PKCS#7, key rotation
//! and URL verification, as pure functions with no I/O.
//!
//! The third-party platform is always in safe mode: one Token, one EncodingAESKey and the
//! **component** appid serve both push URLs, and the appid at the tail of every plaintext, inbound
//! and in our replies, is the component appid (official vector E). Decryption follows §1.6 of the
//! protocol notes exactly; each failure is a [`CryptoError`] that maps to the official error code
//! of WeChat's crypto library (-40001 … -40011) and to an HTTP status.
//!
//! Key rotation follows the official advice: "若当前 EncodingAESKey 解密失败，则尝试用上一次的
//! EncodingAESKey 的解密。回包时，用哪个 Key 解密成功，则用此 Key 加密对应的回包。" The signature
//! does not depend on the key, so only decryption is retried.

mod cipher;
mod signature;

pub use self::cipher::AesKey;
pub use self::signature::{signature, verify as verify_signature};

use crate::message::envelope::{Envelope, PushQuery, UrlQuery};
use crate::secret::Secret;
use crate::xml::push_cdata;

/// Why a push, a URL verification or a reply could not be processed. Each variant maps to the
/// official crypto error code ([`CryptoError::code`]) and to the HTTP status the functions answer
/// with ([`CryptoError::http_status`]); `Display` never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// `msg_signature` / `signature` does not match: the request did not come from WeChat.
    #[error("signature does not match")]
    InvalidSignature,
    /// A query parameter the signature needs is missing or empty (WxJava treats this as a
    /// signature failure too).
    #[error("missing query parameter `{0}`")]
    MissingParameter(&'static str),
    /// A query parameter appears twice with different values, or is malformed.
    #[error("malformed or repeated query parameter `{0}`")]
    BadParameter(&'static str),
    /// `encrypt_type` is absent or not `aes`: third-party platforms are always in safe mode, so a
    /// plaintext push is refused.
    #[error("encrypt_type must be `aes`")]
    NotEncrypted,
    /// The body is larger than [`crate::message::envelope::MAX_BODY_BYTES`].
    #[error("body of {size} bytes exceeds the {limit}-byte limit")]
    BodyTooLarge {
        /// Size of the body received.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The envelope or the decrypted message is not well-formed XML of the expected shape
    /// (includes DTDs and entities, which are refused outright).
    #[error("malformed XML: {0}")]
    Xml(String),
    /// The EncodingAESKey is not 43 alphanumeric characters decoding to 32 bytes.
    #[error("EncodingAESKey must be 43 characters of [A-Za-z0-9]")]
    IllegalAesKey,
    /// The plaintext names another appid than ours.
    #[error("payload is for appid {found:?}")]
    AppIdMismatch {
        /// What the plaintext carried (lossy UTF-8, at most 64 characters).
        found: String,
    },
    /// Encrypting a reply failed (the message is over 4 GiB, or the system RNG failed).
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
    /// A correctly signed push whose `timestamp` is further from now than the replay window: a
    /// captured push sent again later (WeChat's own retries come within seconds).
    #[error("push timestamp is {age} s away from now (replayed?)")]
    Stale {
        /// Now minus the push's timestamp, seconds.
        age: i64,
    },
}

impl CryptoError {
    /// The code WeChat's official crypto library uses for this failure (`ierror.py`).
    pub fn code(&self) -> i32 {
        match self {
            Self::InvalidSignature | Self::MissingParameter(_) | Self::BadParameter(_) | Self::Stale { .. } => -40001,
            Self::NotEncrypted | Self::BodyTooLarge { .. } | Self::Xml(_) => -40002,
            Self::IllegalAesKey => -40004,
            Self::AppIdMismatch { .. } => -40005,
            Self::EncryptAes => -40006,
            Self::DecryptAes { .. } => -40007,
            Self::IllegalBuffer(_) => -40008,
            Self::DecodeBase64 => -40010,
        }
    }

    /// The HTTP status of `contract.md`: 401 when the request is not authentic, 413 for an
    /// oversized body, 400 for anything undecryptable or malformed, 500 for our own failures.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::InvalidSignature | Self::MissingParameter(_) | Self::BadParameter(_) | Self::Stale { .. } => 401,
            Self::BodyTooLarge { .. } => 413,
            Self::NotEncrypted
            | Self::Xml(_)
            | Self::AppIdMismatch { .. }
            | Self::DecryptAes { .. }
            | Self::IllegalBuffer(_)
            | Self::DecodeBase64 => 400,
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
    /// The key that worked; pass it to [`WeChatCrypto::seal_reply`].
    pub key: KeySlot,
}

/// The platform's message crypto: Token, current and previous EncodingAESKey, component appid.
/// Built once at cold start; every method is pure and cheap.
#[derive(Debug, Clone)]
pub struct WeChatCrypto {
    token: Secret,
    app_id: String,
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
        app_id: impl Into<String>,
    ) -> Result<Self, CryptoError> {
        Ok(Self {
            token: token.into(),
            app_id: app_id.into(),
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
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// `msg_signature` over `[token, timestamp, nonce, encrypt]`, lowercase hex.
    pub fn msg_signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        signature::signature_of([self.token.expose(), timestamp, nonce, encrypt])
    }

    /// Checks the 4-part `msg_signature` in constant time.
    ///
    /// # Errors
    /// [`CryptoError::InvalidSignature`].
    pub fn verify_msg_signature(&self, query: &PushQuery, encrypt: &str) -> Result<(), CryptoError> {
        let mut parts = [self.token.expose(), &query.timestamp, &query.nonce, encrypt];
        if verify_signature(&query.msg_signature, &mut parts) { Ok(()) } else { Err(CryptoError::InvalidSignature) }
    }

    /// Decrypts one `<Encrypt>` text with the current key, then with the previous one.
    ///
    /// # Errors
    /// Base64 and length errors come first (they do not depend on the key); when both keys fail,
    /// the current key's error is returned.
    pub fn decrypt(&self, encrypt: &str) -> Result<Opened, CryptoError> {
        let raw = cipher::decode_ciphertext(encrypt)?;
        let Some(previous) = &self.previous else {
            return cipher::open(&self.current, raw, &self.app_id).map(|xml| Opened { xml, key: KeySlot::Current });
        };
        match cipher::open(&self.current, raw.clone(), &self.app_id) {
            Ok(xml) => Ok(Opened { xml, key: KeySlot::Current }),
            Err(current_err) => cipher::open(previous, raw, &self.app_id)
                .map(|xml| Opened { xml, key: KeySlot::Previous })
                .map_err(|_| current_err),
        }
    }

    /// Verifies and decrypts a POST push: size limit, envelope, `encrypt_type=aes`,
    /// `msg_signature`, then decryption. Nothing is decrypted before the signature holds.
    ///
    /// # Errors
    /// The first check that fails, as a [`CryptoError`].
    pub fn open(&self, query: &PushQuery, body: &[u8]) -> Result<Opened, CryptoError> {
        query.require_aes()?;
        let envelope = Envelope::parse(body)?;
        self.verify_msg_signature(query, &envelope.encrypt)?;
        self.decrypt(&envelope.encrypt)
    }

    /// Encrypts `msg` with a caller-chosen 16-byte prefix, returning the `<Encrypt>` text.
    /// Deterministic, for tests and vectors; production code uses [`WeChatCrypto::seal_reply`].
    ///
    /// # Errors
    /// [`CryptoError::EncryptAes`] for a message over 4 GiB.
    pub fn encrypt_with(&self, key: KeySlot, random: &[u8; 16], msg: &str) -> Result<String, CryptoError> {
        cipher::seal(self.key(key), random, msg.as_bytes(), &self.app_id)
    }

    /// The complete encrypted passive reply for `msg` (a rendered reply XML), with a fresh random
    /// prefix from the thread's CSPRNG (ChaCha12 seeded and periodically reseeded from the OS: a
    /// `getrandom` syscall per reply cost ~0.3 µs of a ~1.4 µs reply in a VM).
    ///
    /// `timestamp` and `nonce` are what the reply is signed with; echoing the request's values is
    /// what the official docs suggest ("timestamp、nonce 回填请求中的值即可").
    ///
    /// # Errors
    /// Those of [`WeChatCrypto::seal_reply_with`].
    pub fn seal_reply(&self, key: KeySlot, msg: &str, timestamp: &str, nonce: &str) -> Result<String, CryptoError> {
        use rand::Rng as _;
        let mut random = [0u8; 16];
        rand::rng().fill_bytes(&mut random);
        self.seal_reply_with(key, &random, msg, timestamp, nonce)
    }

    /// [`WeChatCrypto::seal_reply`] with an injected random prefix, so tests are exact.
    ///
    /// # Errors
    /// [`CryptoError::BadParameter`] when `timestamp` is not decimal digits (it is rendered
    /// outside CDATA); [`CryptoError::EncryptAes`] for a message over 4 GiB.
    pub fn seal_reply_with(
        &self,
        key: KeySlot,
        random: &[u8; 16],
        msg: &str,
        timestamp: &str,
        nonce: &str,
    ) -> Result<String, CryptoError> {
        if timestamp.is_empty() || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CryptoError::BadParameter("timestamp"));
        }
        let encrypt = self.encrypt_with(key, random, msg)?;
        let signature = self.msg_signature(timestamp, nonce, &encrypt);
        let mut xml = String::with_capacity(encrypt.len() + nonce.len() + 160);
        xml.push_str("<xml>\n<Encrypt>");
        push_cdata(&mut xml, &encrypt);
        xml.push_str("</Encrypt>\n<MsgSignature>");
        push_cdata(&mut xml, &signature);
        xml.push_str("</MsgSignature>\n<TimeStamp>");
        xml.push_str(timestamp);
        xml.push_str("</TimeStamp>\n<Nonce>");
        push_cdata(&mut xml, nonce);
        xml.push_str("</Nonce>\n</xml>");
        Ok(xml)
    }

    /// Answers a GET URL verification: returns the body to send back.
    ///
    /// - Plain form (`signature`, `timestamp`, `nonce`, `echostr`): the 3-part `signature` must
    ///   match; the `echostr` is returned verbatim.
    /// - Safe form (`msg_signature` present): the 4-part signature over the encrypted `echostr`
    ///   must match; the decrypted `echostr` is returned (WeCom style, vector B).
    ///
    /// Whether WeChat ever sends this to a third-party platform's URLs is unconfirmed (protocol
    /// notes §1.8); answering it correctly costs nothing.
    ///
    /// # Errors
    /// Missing parameters and signature mismatches as [`CryptoError`]; never echoes unverified input.
    pub fn verify_url(&self, query: &UrlQuery) -> Result<String, CryptoError> {
        let echostr = query.echostr.as_str();
        match &query.msg_signature {
            Some(msg_signature) => {
                let mut parts = [self.token.expose(), &query.timestamp, &query.nonce, echostr];
                if !verify_signature(msg_signature, &mut parts) {
                    return Err(CryptoError::InvalidSignature);
                }
                Ok(self.decrypt(echostr)?.xml)
            }
            None => {
                let signature = query.signature.as_deref().ok_or(CryptoError::MissingParameter("signature"))?;
                let mut parts = [self.token.expose(), &query.timestamp, &query.nonce];
                if !verify_signature(signature, &mut parts) {
                    return Err(CryptoError::InvalidSignature);
                }
                Ok(echostr.to_owned())
            }
        }
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
