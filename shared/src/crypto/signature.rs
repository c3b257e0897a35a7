//! WeChat's signatures: SHA-1 over the lexicographically sorted parts, as lowercase hex.
//!
//! - `msg_signature` (safe mode, inbound and in replies) signs `[token, timestamp, nonce, Encrypt]`.
//! - `signature` (plain mode, GET `echostr` verification) signs `[token, timestamp, nonce]`.
//!
//! "Sorted" is a plain byte-order sort (Java `Arrays.sort`, Python `sorted`); every input is ASCII
//! in practice and byte order is what the reference implementations produce for the rest too.
//! Verification compares the raw digests in constant time so that a forger learns nothing from
//! response timing.

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// SHA-1 of the sorted parts, hashed part by part (no concatenated copy).
pub(crate) fn digest(parts: &mut [&str]) -> [u8; 20] {
    parts.sort_unstable();
    let mut hasher = Sha1::new();
    for part in parts.iter() {
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

/// The signature WeChat computes over `parts`, as 40 lowercase hex characters.
///
/// ```
/// // The plain signature of a GET `echostr` verification.
/// let sig = shared::crypto::signature(&["AAAAA", "1714036504", "1514711492"]);
/// assert_eq!(sig, "f464b24fc39322e44b38aa78f5edd27bd1441696");
/// ```
pub fn signature(parts: &[&str]) -> String {
    let mut parts: Vec<&str> = parts.to_vec();
    to_hex(&digest(&mut parts))
}

/// [`signature`] over a fixed number of parts, sorted in place on the stack (every reply signs
/// four; the `Vec` above is one allocation per reply).
pub(crate) fn signature_of<const N: usize>(mut parts: [&str; N]) -> String {
    to_hex(&digest(&mut parts))
}

/// True when `given` (hex, either case) is the signature of `parts`. Constant time in the digest;
/// a `given` that is not 40 hex characters is simply false.
pub fn verify(given: &str, parts: &mut [&str]) -> bool {
    let Some(given) = from_hex(given) else {
        return false;
    };
    digest(parts).ct_eq(&given).into()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `bytes` in lowercase hex (digests as WeChat and S3 write them).
pub fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

fn from_hex(text: &str) -> Option<[u8; 20]> {
    let text = text.as_bytes();
    if text.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_signature_vectors_p1_p2_p3() {
        let cases = [
            (["AAAAA", "1714036504", "1514711492"], "f464b24fc39322e44b38aa78f5edd27bd1441696"),
            (["AAAAA", "1714037059", "486452656"], "899cf89e464efb63f54ddac96b0a0a235f53aa78"),
            (["AAAAA", "1715943329", "1590219412"], "cc0c594499c1634947d5b502f158ee518947db27"),
        ];
        for (parts, expected) in cases {
            assert_eq!(signature(&parts), expected);
            assert!(verify(expected, &mut parts.clone()));
            assert!(verify(&expected.to_uppercase(), &mut parts.clone()));
        }
    }

    #[test]
    fn order_of_parts_does_not_matter() {
        let a = signature(&["pamtest", "1409304348", "xxxxxx", "abc"]);
        let b = signature(&["abc", "xxxxxx", "pamtest", "1409304348"]);
        assert_eq!(a, b);
    }

    #[test]
    fn rejects_wrong_short_long_and_non_hex_signatures() {
        let mut parts = ["AAAAA", "1714036504", "1514711492"];
        let good = "f464b24fc39322e44b38aa78f5edd27bd1441696";
        assert!(!verify("f464b24fc39322e44b38aa78f5edd27bd1441697", &mut parts));
        assert!(!verify(&good[..39], &mut parts));
        assert!(!verify(&format!("{good}0"), &mut parts));
        assert!(!verify("g464b24fc39322e44b38aa78f5edd27bd1441696", &mut parts));
        assert!(!verify("", &mut parts));
        // A different nonce signs differently.
        assert!(!verify(good, &mut ["AAAAA", "1714036504", "1514711493"]));
    }
}
