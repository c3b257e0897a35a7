//! AES-256-CBC with WeChat's framing and its 32-byte PKCS#7.
//!
//! ```text
//! FullStr = random(16) ‖ msg_len(u32, big-endian) ‖ msg ‖ appid
//! Encrypt = base64( AES-256-CBC( PKCS7_32(FullStr), key = AESKey, iv = AESKey[..16] ) )
//! ```
//!
//! WeChat pads to a multiple of **32** bytes (pad values 1..=32), although AES blocks are 16
//! bytes, so a generic 16-byte PKCS#7 unpadder rejects every valid message whose pad is 17..=32.
//! We therefore run CBC without library padding and pad/unpad by hand, bounds-checking every
//! step: hostile ciphertext yields a typed error, never a panic or an out-of-range slice.

use aes::Aes256;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, InnerIvInit, KeyInit};
use std::fmt;
use std::sync::OnceLock;

use super::CryptoError;

/// WeChat's padding block, from the official docs: "K 为秘钥字节数（采用 32）".
pub(crate) const PAD_BLOCK: usize = 32;
/// `random(16) ‖ msg_len(4)`.
const HEADER: usize = 20;

/// The EncodingAESKey is 43 characters of Base64 whose last character usually carries non-zero
/// spare bits (WeChat's keys end in `G`, `C`, `R`, …): the strict engine rejects such keys, so the
/// key alone is decoded with trailing bits allowed. Ciphertext keeps the strict engine.
const KEY_ENGINE: GeneralPurpose =
    GeneralPurpose::new(&alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true));

/// A decoded EncodingAESKey; its AES key schedule is expanded once, on first use.
///
/// Why lazily: expanding it makes the `aes` crate probe the CPU (`cpuid`, three feature groups),
/// and `cpuid` traps to the hypervisor: ~7 µs per instruction on the 2-core CI VM, some 40 µs of
/// every cold start. Four of the six functions never decrypt, so only the push functions pay it,
/// at their first push. The key itself is still decoded and validated at cold start.
#[derive(Clone)]
pub struct AesKey {
    key: [u8; 32],
    cipher: OnceLock<Aes256>,
    iv: [u8; 16],
}

impl fmt::Debug for AesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AesKey(***)")
    }
}

impl AesKey {
    /// Decodes the 43-character EncodingAESKey (消息加解密Key) as `Base64_Decode(key + "=")`.
    ///
    /// # Errors
    /// [`CryptoError::IllegalAesKey`] (-40004) unless the key is exactly 43 characters of
    /// `[A-Za-z0-9]` decoding to 32 bytes.
    pub fn from_encoding_aes_key(encoding_aes_key: &str) -> Result<Self, CryptoError> {
        if encoding_aes_key.len() != 43 || !encoding_aes_key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(CryptoError::IllegalAesKey);
        }
        let mut padded = [0u8; 44];
        padded[..43].copy_from_slice(encoding_aes_key.as_bytes());
        padded[43] = b'=';
        let mut key = [0u8; 33];
        let len = KEY_ENGINE.decode_slice(padded, &mut key).map_err(|_| CryptoError::IllegalAesKey)?;
        let key: [u8; 32] = key[..len].try_into().map_err(|_| CryptoError::IllegalAesKey)?;
        Ok(Self::from_bytes(&key))
    }

    /// A key from its 32 raw bytes; the IV is the first 16 of them, as in every official sample.
    pub fn from_bytes(key: &[u8; 32]) -> Self {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&key[..16]);
        Self { key: *key, cipher: OnceLock::new(), iv }
    }

    fn cipher(&self) -> Aes256 {
        self.cipher.get_or_init(|| Aes256::new((&self.key).into())).clone()
    }

    fn decryptor(&self) -> cbc::Decryptor<Aes256> {
        cbc::Decryptor::inner_iv_init(self.cipher(), (&self.iv).into())
    }

    fn encryptor(&self) -> cbc::Encryptor<Aes256> {
        cbc::Encryptor::inner_iv_init(self.cipher(), (&self.iv).into())
    }
}

/// Base64-decodes the `<Encrypt>` text, rejecting anything that cannot be CBC ciphertext of a
/// WeChat frame before any AES work is done.
pub(crate) fn decode_ciphertext(encrypt: &str) -> Result<Vec<u8>, CryptoError> {
    // base64-simd (AVX2/SSSE3/NEON, detected at run time; already in the tree through
    // aws-smithy-types): canonical standard Base64 like the `base64` crate's STANDARD, trailing
    // bits checked, at a fraction of the cost on the ~450-character ciphertext of every push.
    let raw = base64_simd::STANDARD.decode_to_vec(encrypt.trim_ascii()).map_err(|_| CryptoError::DecodeBase64)?;
    if raw.is_empty() || !raw.len().is_multiple_of(PAD_BLOCK) {
        return Err(CryptoError::DecryptAes { len: raw.len() });
    }
    Ok(raw)
}

/// Decrypts `raw` in place and returns the message as UTF-8, checking the trailing appid.
///
/// The decrypt algorithm of `docs/wechat.md` ("Message crypto"): CBC with no library padding,
/// 32-byte PKCS#7 with `1 <= pad <= 32`, the 20-byte header, `20 + msg_len <= len`, the appid tail.
/// Like every official decoder we do not insist that all pad bytes equal `pad`.
pub(crate) fn open(key: &AesKey, mut raw: Vec<u8>, appid: &str) -> Result<String, CryptoError> {
    let len = raw.len();
    if len == 0 || !len.is_multiple_of(PAD_BLOCK) {
        return Err(CryptoError::DecryptAes { len });
    }
    key.decryptor().decrypt_padded::<NoPadding>(&mut raw).map_err(|_| CryptoError::DecryptAes { len })?;

    let pad = usize::from(raw[len - 1]);
    if !(1..=PAD_BLOCK).contains(&pad) {
        return Err(CryptoError::IllegalBuffer("pad byte out of 1..=32"));
    }
    let body_len = len - pad;
    if body_len < HEADER {
        return Err(CryptoError::IllegalBuffer("frame shorter than its 20-byte header"));
    }
    let msg_len = u32::from_be_bytes([raw[16], raw[17], raw[18], raw[19]]);
    let msg_end = usize::try_from(msg_len)
        .ok()
        .and_then(|n| n.checked_add(HEADER))
        .filter(|&end| end <= body_len)
        .ok_or(CryptoError::IllegalBuffer("length field runs past the frame"))?;
    if &raw[msg_end..body_len] != appid.as_bytes() {
        let found = String::from_utf8_lossy(&raw[msg_end..body_len]);
        return Err(CryptoError::AppIdMismatch { found: found.chars().take(64).collect() });
    }
    raw.truncate(msg_end);
    raw.drain(..HEADER);
    String::from_utf8(raw).map_err(|_| CryptoError::IllegalBuffer("message is not UTF-8"))
}

/// Frames, pads to 32 and encrypts `msg`, returning the Base64 `<Encrypt>` text.
pub(crate) fn seal(key: &AesKey, random: &[u8; 16], msg: &[u8], appid: &str) -> Result<String, CryptoError> {
    let msg_len = u32::try_from(msg.len()).map_err(|_| CryptoError::EncryptAes)?;
    let frame_len = HEADER + msg.len() + appid.len();
    // A full block of 32 × 0x20 when the frame is already aligned: pad is never 0.
    let pad = PAD_BLOCK - frame_len % PAD_BLOCK;
    let mut buf = Vec::with_capacity(frame_len + pad);
    buf.extend_from_slice(random);
    buf.extend_from_slice(&msg_len.to_be_bytes());
    buf.extend_from_slice(msg);
    buf.extend_from_slice(appid.as_bytes());
    // `pad` is 1..=32, so the cast cannot truncate.
    buf.resize(frame_len + pad, pad as u8);
    let total = buf.len();
    key.encryptor().encrypt_padded::<NoPadding>(&mut buf, total).map_err(|_| CryptoError::EncryptAes)?;
    Ok(base64_simd::STANDARD.encode_to_string(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn decodes_keys_whose_last_character_has_spare_bits() {
        // The strict engine rejects this key (`G` carries non-zero trailing bits).
        assert!(base64::engine::general_purpose::STANDARD.decode(format!("{KEY_A}=")).is_err());
        let key = AesKey::from_encoding_aes_key(KEY_A).unwrap();
        assert_eq!(hex(&key.iv), "69b71d79f8218a39259a7a29aabb2dba");
        // Vector B's key.
        let key = AesKey::from_encoding_aes_key("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C").unwrap();
        assert_eq!(hex(&key.iv), "8d69989bbaabe67328014c194631ad07");
    }

    #[test]
    fn rejects_illegal_keys() {
        for bad in [
            "",
            "abc",
            &KEY_A[..42],
            &format!("{KEY_A}A"),
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF=",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF+",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF中",
        ] {
            assert_eq!(AesKey::from_encoding_aes_key(bad).unwrap_err(), CryptoError::IllegalAesKey, "{bad}");
        }
    }

    /// The SIMD decoder must accept and refuse exactly what the `base64` crate's STANDARD does
    /// (canonical padding, zero trailing bits, no whitespace or URL-safe characters inside).
    #[test]
    fn ciphertext_decoding_matches_the_base64_crate() {
        use base64::engine::general_purpose::STANDARD;
        let mut cases: Vec<String> = vec![
            String::new(),
            "=".into(),
            "QQ".into(),
            "QQ==".into(),
            "QR==".into(),
            "QUI=".into(),
            "QUJ=".into(),
            "QUJD".into(),
            "QU JD".into(),
            "QU\nJD".into(),
            "-_-_".into(),
            "QUJD====".into(),
            "QUJDRA=".into(),
        ];
        let mut state = 0x2545_f491_u32;
        for len in 0..200usize {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state.to_le_bytes()[0]
                })
                .collect();
            let text = STANDARD.encode(&bytes);
            cases.push(text.clone());
            if !text.is_empty() {
                let at = usize::try_from(state).unwrap_or(0) % text.len();
                for replacement in ["A", "/", "+", "=", "-", " ", "\u{e9}"] {
                    let mut mutated = text.clone();
                    mutated.replace_range(at..=at, replacement);
                    cases.push(mutated);
                }
            }
        }
        for case in &cases {
            assert_eq!(
                base64_simd::STANDARD.decode_to_vec(case.as_bytes()).ok(),
                STANDARD.decode(case).ok(),
                "{case:?}"
            );
        }
    }

    #[test]
    fn key_debug_is_redacted() {
        let key = AesKey::from_encoding_aes_key(KEY_A).unwrap();
        assert_eq!(format!("{key:?}"), "AesKey(***)");
    }
}
