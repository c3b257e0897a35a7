//! What arrives over HTTP before anything is decrypted: the query string of a push and the outer
//! XML envelope.
//!
//! ```text
//! POST <url>?signature=…&timestamp=…&nonce=…&encrypt_type=aes&msg_signature=…[&openid=…]
//! <xml><ToUserName|AppId>…</ToUserName|AppId><Encrypt><![CDATA[…]]></Encrypt></xml>
//! ```
//!
//! Only `<Encrypt>` matters (the official samples rebuild the envelope from it alone); the sibling
//! `ToUserName` (authorizer pushes) or `AppId` (component pushes) is kept for logging only, and in
//! 兼容模式 bodies the plaintext copies next to `Encrypt` are ignored, never trusted.

use super::PushError;
use crate::xml::{self, XmlError};

/// Bodies over this size are refused before parsing. A real push is under 4 KiB; 64 KiB leaves
/// room for long texts while bounding what a hostile client can make us parse.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The signed query string of a safe-mode POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushQuery {
    /// `timestamp`, decimal seconds, kept verbatim because it is signed as text.
    pub timestamp: String,
    /// `nonce`, signed as text.
    pub nonce: String,
    /// `msg_signature`, the 4-part signature over the `<Encrypt>` text.
    pub msg_signature: String,
    /// `signature`, the 3-part one WeChat also sends; informative only ("不要使用signature验证").
    pub signature: Option<String>,
    /// `encrypt_type`; must be `aes` ([`PushQuery::require_aes`]).
    pub encrypt_type: Option<String>,
    /// `openid`: the follower, on authorizer pushes.
    pub openid: Option<String>,
}

impl PushQuery {
    /// Refuses a push whose (signed) `timestamp` is more than `max_age_secs` away from `now`,
    /// either way: a replay of a captured push. `max_age_secs <= 0` turns the check off. Check it
    /// after the signature, so the timestamp is WeChat's.
    ///
    /// # Errors
    /// [`PushError::BadParameter`] for a timestamp that is not an integer,
    /// [`PushError::Stale`] outside the window.
    pub fn check_fresh(&self, now: i64, max_age_secs: i64) -> Result<(), PushError> {
        if max_age_secs <= 0 {
            return Ok(());
        }
        let sent: i64 = self.timestamp.parse().map_err(|_| PushError::BadParameter("timestamp"))?;
        let age = now.saturating_sub(sent);
        if age.saturating_abs() > max_age_secs { Err(PushError::Stale { age }) } else { Ok(()) }
    }

    /// Builds the query from decoded `(name, value)` pairs, as API Gateway delivers them.
    /// Unknown names are ignored; a name repeated with the same value is tolerated.
    ///
    /// # Errors
    /// [`PushError::MissingParameter`] for a missing or empty `timestamp`, `nonce` or
    /// `msg_signature`; [`PushError::BadParameter`] for a repeated name with a different value
    /// or a `timestamp` that is not decimal digits.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, PushError> {
        let mut fields =
            QueryFields::<6>::new(["timestamp", "nonce", "msg_signature", "signature", "encrypt_type", "openid"]);
        fields.read(pairs)?;
        let [timestamp, nonce, msg_signature, signature, encrypt_type, openid] = fields.values;
        let timestamp = required(timestamp, "timestamp")?;
        check_timestamp(&timestamp)?;
        Ok(Self {
            timestamp,
            nonce: required(nonce, "nonce")?,
            msg_signature: required(msg_signature, "msg_signature")?,
            signature,
            encrypt_type,
            openid,
        })
    }

    /// Third-party platforms only ever use safe mode; a push without `encrypt_type=aes` is refused.
    ///
    /// # Errors
    /// [`PushError::NotEncrypted`].
    pub fn require_aes(&self) -> Result<(), PushError> {
        match self.encrypt_type.as_deref() {
            Some("aes") => Ok(()),
            _ => Err(PushError::NotEncrypted),
        }
    }
}

/// The query string of a GET URL verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlQuery {
    /// `timestamp`.
    pub timestamp: String,
    /// `nonce`.
    pub nonce: String,
    /// `echostr`: echoed (plain form) or decrypted (safe form).
    pub echostr: String,
    /// `signature` (3-part), plain form.
    pub signature: Option<String>,
    /// `msg_signature` (4-part over the encrypted `echostr`), safe form.
    pub msg_signature: Option<String>,
}

impl UrlQuery {
    /// Builds the query from decoded `(name, value)` pairs.
    ///
    /// # Errors
    /// As [`PushQuery::from_pairs`]; `echostr` is required, and so is one of `signature` /
    /// `msg_signature`.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, PushError> {
        let mut fields = QueryFields::<5>::new(["timestamp", "nonce", "echostr", "signature", "msg_signature"]);
        fields.read(pairs)?;
        let [timestamp, nonce, echostr, signature, msg_signature] = fields.values;
        let timestamp = required(timestamp, "timestamp")?;
        check_timestamp(&timestamp)?;
        if signature.is_none() && msg_signature.is_none() {
            return Err(PushError::MissingParameter("signature"));
        }
        Ok(Self {
            timestamp,
            nonce: required(nonce, "nonce")?,
            echostr: required(echostr, "echostr")?,
            signature,
            msg_signature,
        })
    }
}

/// The outer XML of a POST push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The Base64 ciphertext, as signed.
    pub encrypt: String,
    /// `ToUserName` (the authorizer's 原始ID) on authorizer pushes.
    pub to_user_name: Option<String>,
    /// `AppId` (the component appid) on component pushes.
    pub appid: Option<String>,
}

impl Envelope {
    /// Parses a POST body.
    ///
    /// # Errors
    /// [`PushError::BodyTooLarge`] over [`MAX_BODY_BYTES`]; [`PushError::Xml`] for anything
    /// that is not UTF-8 XML with an `<xml>` root and a non-empty `<Encrypt>`.
    pub fn parse(body: &[u8]) -> Result<Self, PushError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(PushError::BodyTooLarge { size: body.len(), limit: MAX_BODY_BYTES });
        }
        let text = std::str::from_utf8(body).map_err(|_| PushError::Xml(XmlError("body is not UTF-8".into())))?;
        let fields = xml::Fields::flat(text)?;
        let encrypt = fields
            .get("Encrypt")
            .map(str::trim_ascii)
            .filter(|e| !e.is_empty())
            .ok_or_else(|| PushError::Xml(XmlError("no <Encrypt> element".into())))?;
        Ok(Self {
            encrypt: encrypt.to_owned(),
            to_user_name: fields.string("ToUserName"),
            appid: fields.string("AppId"),
        })
    }
}

/// Collects the values of `N` known query names, refusing conflicting repeats.
struct QueryFields<const N: usize> {
    names: [&'static str; N],
    values: [Option<String>; N],
}

impl<const N: usize> QueryFields<N> {
    fn new(names: [&'static str; N]) -> Self {
        Self { names, values: std::array::from_fn(|_| None) }
    }

    fn read<'a>(&mut self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<(), PushError> {
        for (name, value) in pairs {
            let Some(i) = self.names.iter().position(|known| *known == name) else {
                continue;
            };
            match &self.values[i] {
                Some(previous) if previous != value => return Err(PushError::BadParameter(self.names[i])),
                Some(_) => {}
                None => self.values[i] = Some(value.to_owned()),
            }
        }
        Ok(())
    }
}

fn required(value: Option<String>, name: &'static str) -> Result<String, PushError> {
    value.filter(|v| !v.is_empty()).ok_or(PushError::MissingParameter(name))
}

fn check_timestamp(timestamp: &str) -> Result<(), PushError> {
    if timestamp.len() <= 20 && timestamp.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(PushError::BadParameter("timestamp"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: [(&str, &str); 6] = [
        ("signature", "cc0c594499c1634947d5b502f158ee518947db27"),
        ("timestamp", "1715943329"),
        ("nonce", "1590219412"),
        ("openid", "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"),
        ("encrypt_type", "aes"),
        ("msg_signature", "6c12a4205838198b8fa631b3220723bb07f1015c"),
    ];

    #[test]
    fn reads_the_vector_e_query() {
        let q = PushQuery::from_pairs(FULL).unwrap();
        assert_eq!(q.timestamp, "1715943329");
        assert_eq!(q.openid.as_deref(), Some("o9AgO5Kd5ggOC-bXrbNODIiE3bGY"));
        q.require_aes().unwrap();
    }

    #[test]
    fn missing_or_empty_signed_parameters_are_named() {
        for name in ["timestamp", "nonce", "msg_signature"] {
            let without: Vec<_> = FULL.iter().copied().filter(|(k, _)| *k != name).collect();
            assert_eq!(PushQuery::from_pairs(without).unwrap_err(), PushError::MissingParameter(name));
            let empty: Vec<_> = FULL.iter().map(|&(k, v)| (k, if k == name { "" } else { v })).collect();
            assert_eq!(PushQuery::from_pairs(empty).unwrap_err(), PushError::MissingParameter(name));
        }
    }

    #[test]
    fn conflicting_repeats_and_bad_timestamps_are_refused() {
        let mut repeated = FULL.to_vec();
        repeated.push(("nonce", "1"));
        assert_eq!(PushQuery::from_pairs(repeated).unwrap_err(), PushError::BadParameter("nonce"));
        let mut same = FULL.to_vec();
        same.push(("nonce", "1590219412"));
        assert!(PushQuery::from_pairs(same).is_ok());
        for ts in ["-1", "17e9", "1715943329 ", "123456789012345678901"] {
            let bad: Vec<_> = FULL.iter().map(|&(k, v)| (k, if k == "timestamp" { ts } else { v })).collect();
            assert_eq!(PushQuery::from_pairs(bad).unwrap_err(), PushError::BadParameter("timestamp"), "{ts}");
        }
    }

    #[test]
    fn plaintext_pushes_are_refused() {
        for et in [None, Some("raw"), Some("AES")] {
            let pairs: Vec<_> = FULL
                .iter()
                .copied()
                .filter(|(k, _)| *k != "encrypt_type")
                .chain(et.map(|v| ("encrypt_type", v)))
                .collect();
            let q = PushQuery::from_pairs(pairs).unwrap();
            assert_eq!(q.require_aes().unwrap_err(), PushError::NotEncrypted);
        }
    }

    #[test]
    fn parses_both_envelope_variants() {
        let authorizer = b"<xml>\n    <ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>\n    <Encrypt><![CDATA[abc=]]></Encrypt>\n</xml>";
        let e = Envelope::parse(authorizer).unwrap();
        assert_eq!((e.encrypt.as_str(), e.to_user_name.as_deref(), e.appid), ("abc=", Some("gh_97417a04a28d"), None));
        let component = b"<xml><AppId><![CDATA[wx4cbf8fb2a61b46f9]]></AppId><Encrypt>abc=</Encrypt></xml>";
        let e = Envelope::parse(component).unwrap();
        assert_eq!((e.encrypt.as_str(), e.appid.as_deref()), ("abc=", Some("wx4cbf8fb2a61b46f9")));
    }

    #[test]
    fn bad_envelopes_are_typed_errors() {
        let too_big = vec![b' '; MAX_BODY_BYTES + 1];
        assert!(matches!(Envelope::parse(&too_big), Err(PushError::BodyTooLarge { .. })));
        for bad in [
            &b""[..],
            b"not xml",
            b"<xml><Encrypt>abc</Encrypt>",
            b"<xml><ToUserName>x</ToUserName></xml>",
            b"<xml><Encrypt>  </Encrypt></xml>",
            b"<root><Encrypt>abc</Encrypt></root>",
            b"<xml><Encrypt>\xff\xfe</Encrypt></xml>",
            b"<!DOCTYPE xml [<!ENTITY e \"x\">]><xml><Encrypt>&e;</Encrypt></xml>",
        ] {
            assert!(matches!(Envelope::parse(bad), Err(PushError::Xml(_))), "{}", String::from_utf8_lossy(bad));
        }
    }
}
