//! The inbound pipeline of both push URLs: what arrives over HTTP, checked in a fixed order before
//! anything is parsed as a message, and the encrypted passive reply that goes back.
//!
//! ```text
//! query (PushQuery) → size limit → envelope (<Encrypt>) → encrypt_type=aes → msg_signature
//!   → decrypt (current key, then the previous one) → replay window → plaintext XML
//! ```
//!
//! Nothing is decrypted before the signature holds, and the replay window is checked after it, so
//! the timestamp it reads is WeChat's. Every refusal is one [`PushError`], which alone decides the
//! official error code and the HTTP status (`docs/contract.md`, "Push URLs"). This module sits
//! above [`crate::crypto`] (bytes in, bytes out) and `crate::xml`, and below the services.

mod envelope;

pub use self::envelope::{Envelope, MAX_BODY_BYTES, PushQuery, UrlQuery};

use crate::crypto::{CryptoError, KeySlot, Opened, WeChatCrypto};
use crate::xml::{XmlError, push_cdata};

/// What a push URL answers, decided in one call from the request's parts (`App::follower_push`,
/// `App::component_push`): the function only turns it into HTTP (`web::push_answer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushAnswer {
    /// `success`: handled, WeChat stops delivering it.
    Success,
    /// An empty 200: handled, nothing to say (WeChat's release test, for one case).
    Empty,
    /// A passive reply, encrypted with the key that opened the push.
    Reply(String),
    /// Authentic but not handled (the store, the bus or WeChat failed; logged where it failed):
    /// 503, so WeChat delivers it again and the retry does the work.
    Retry,
    /// Refused before anything happened: not authentic, too large, malformed, a replay.
    Rejected(PushError),
}

/// Why a push or a URL verification was refused, or a reply could not be sealed. Each variant
/// maps to the code of WeChat's official crypto library ([`PushError::code`]) and to the HTTP
/// status the push URLs answer with ([`PushError::http_status`]); `Display` never shows a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
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
    /// The body is larger than [`MAX_BODY_BYTES`].
    #[error("body of {size} bytes exceeds the {limit}-byte limit")]
    BodyTooLarge {
        /// Size of the body received.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The envelope or the decrypted message is not XML of the expected shape.
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// The signature, the key or the ciphertext failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// This function was not given `COMPONENT_TOKEN` and `COMPONENT_ENCODING_AES_KEY`: it takes
    /// no push (a deployment mistake, answered 500 so that WeChat retries once it is fixed).
    #[error("this function has no push Token and key (COMPONENT_TOKEN, COMPONENT_ENCODING_AES_KEY)")]
    NotConfigured,
    /// A correctly signed push whose `timestamp` is further from now than the replay window: a
    /// captured push sent again later (WeChat's own retries come within seconds).
    #[error("push timestamp is {age} s away from now (replayed?)")]
    Stale {
        /// Now minus the push's timestamp, seconds.
        age: i64,
    },
}

impl PushError {
    /// The code WeChat's official crypto library uses for this failure (`ierror.py`).
    pub fn code(&self) -> i32 {
        match self {
            Self::MissingParameter(_) | Self::BadParameter(_) | Self::Stale { .. } => -40001,
            Self::NotEncrypted | Self::BodyTooLarge { .. } | Self::Xml(_) => -40002,
            Self::Crypto(err) => err.code(),
            Self::NotConfigured => -40003,
        }
    }

    /// The HTTP status of `docs/contract.md`: 401 when the request is not authentic, 413 for an
    /// oversized body, 400 for anything undecryptable or malformed, 500 for our own failures.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::MissingParameter(_) | Self::BadParameter(_) | Self::Stale { .. } => 401,
            Self::BodyTooLarge { .. } => 413,
            Self::NotEncrypted | Self::Xml(_) => 400,
            Self::Crypto(err) => err.http_status(),
            Self::NotConfigured => 500,
        }
    }
}

/// Verifies and decrypts a POST push: size limit, envelope, `encrypt_type=aes`, `msg_signature`,
/// then decryption. Nothing is decrypted before the signature holds. The replay window is the
/// caller's ([`PushQuery::check_fresh`]), since it needs a clock.
///
/// # Errors
/// The first check that fails.
pub fn open(crypto: &WeChatCrypto, query: &PushQuery, body: &[u8]) -> Result<Opened, PushError> {
    query.require_aes()?;
    let envelope = Envelope::parse(body)?;
    crypto.verify_msg_signature(&query.timestamp, &query.nonce, &envelope.encrypt, &query.msg_signature)?;
    Ok(crypto.decrypt(&envelope.encrypt)?)
}

/// The complete encrypted passive reply for `msg` (a rendered reply XML), with a fresh random
/// prefix (see [`WeChatCrypto::random_prefix`]).
///
/// `timestamp` and `nonce` are what the reply is signed with; echoing the request's values is what
/// WeChat's documentation suggests ("timestamp、nonce 回填请求中的值即可", `docs/wechat.md`).
///
/// # Errors
/// Those of [`seal_reply_with`].
pub fn seal_reply(
    crypto: &WeChatCrypto,
    key: KeySlot,
    msg: &str,
    timestamp: &str,
    nonce: &str,
) -> Result<String, PushError> {
    seal_reply_with(crypto, key, &WeChatCrypto::random_prefix(), msg, timestamp, nonce)
}

/// [`seal_reply`] with an injected random prefix, so tests are exact.
///
/// # Errors
/// [`PushError::BadParameter`] when `timestamp` is not decimal digits (it is rendered outside
/// CDATA); [`CryptoError::EncryptAes`] for a message over 4 GiB.
pub fn seal_reply_with(
    crypto: &WeChatCrypto,
    key: KeySlot,
    random: &[u8; 16],
    msg: &str,
    timestamp: &str,
    nonce: &str,
) -> Result<String, PushError> {
    if timestamp.is_empty() || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PushError::BadParameter("timestamp"));
    }
    let encrypt = crypto.encrypt_with(key, random, msg)?;
    let signature = crypto.msg_signature(timestamp, nonce, &encrypt);
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
/// - Plain form (`signature`, `timestamp`, `nonce`, `echostr`): the 3-part `signature` must match;
///   the `echostr` is returned verbatim.
/// - Safe form (`msg_signature` present): the 4-part signature over the encrypted `echostr` must
///   match; the decrypted `echostr` is returned (WeCom style, vector B).
///
/// Whether WeChat ever sends this to a third-party platform's URLs is unconfirmed
/// (`docs/wechat.md`, "URL verification"); answering it correctly costs nothing.
///
/// # Errors
/// Signature mismatches and undecryptable `echostr`s; never echoes unverified input.
pub fn verify_url(crypto: &WeChatCrypto, query: &UrlQuery) -> Result<String, PushError> {
    let echostr = query.echostr.as_str();
    match &query.msg_signature {
        Some(msg_signature) => {
            crypto.verify_msg_signature(&query.timestamp, &query.nonce, echostr, msg_signature)?;
            Ok(crypto.decrypt(echostr)?.xml)
        }
        None => {
            let signature = query.signature.as_deref().ok_or(PushError::MissingParameter("signature"))?;
            crypto.verify_plain_signature(&query.timestamp, &query.nonce, signature)?;
            Ok(echostr.to_owned())
        }
    }
}
