//! The JS-SDK's `wx.config` signature for a page of an authorized account
//! (<https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/JS-SDK.html>, appendix 1): SHA-1
//! of `jsapi_ticket=…&noncestr=…&timestamp=…&url=…` (the four keys in ASCII order, the values
//! raw, the page's URL without its `#…`), in lowercase hex. A third-party platform signs with the
//! *account's* ticket and the page configures the *account's* appid
//! (<https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/Before_Develop/Official_Accounts/js_sdk_instructions.html>):
//! three SDKs shipped bugs mixing the platform's in.

use sha1::{Digest, Sha1};

/// A page URL's longest accepted length (WeChat pages are short; this bounds what is signed).
pub const MAX_PAGE_URL_BYTES: usize = 2048;

/// The signature of `url` (already without its fragment) for `wx.config`.
pub fn sign(ticket: &str, nonce_str: &str, timestamp: i64, url: &str) -> String {
    let text = format!("jsapi_ticket={ticket}&noncestr={nonce_str}&timestamp={timestamp}&url={url}");
    Sha1::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A page URL as it is signed (its `#…` dropped) and its origin (`scheme://host[:port]`, which
/// must be one of the account's web origins).
///
/// # Errors
/// Why it is not a page URL the platform signs for.
pub fn page(url: &str) -> Result<(String, String), String> {
    let url = url.split('#').next().unwrap_or_default();
    if url.len() > MAX_PAGE_URL_BYTES || url.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(format!("url: at most {MAX_PAGE_URL_BYTES} bytes, no spaces or control characters"));
    }
    let (scheme, rest) = url
        .split_once("://")
        .filter(|(scheme, _)| *scheme == "https" || *scheme == "http")
        .ok_or("url: the page's full address, http:// or https://")?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err("url: the page's full address, with its host".into());
    }
    Ok((url.to_owned(), format!("{scheme}://{}", authority.to_ascii_lowercase())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_wechats() {
        // WeChat's documented example (JS-SDK appendix 1).
        let ticket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg";
        assert_eq!(
            sign(ticket, "Wm3WZYTPz0wzccnW", 1_414_587_457, "http://mp.weixin.qq.com"),
            "f4d90daf4b3bca3078ab155816175ba34c443a7b"
        );
        assert_eq!(
            sign(ticket, "Wm3WZYTPz0wzccnW", 1_414_587_457, "http://mp.weixin.qq.com?params=value"),
            "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
        );
    }

    #[test]
    fn a_page_is_signed_without_its_fragment_and_named_by_its_origin() {
        assert_eq!(
            page("https://Shop.Example.com:8443/p/1?x=2#top"),
            Ok(("https://Shop.Example.com:8443/p/1?x=2".to_owned(), "https://shop.example.com:8443".to_owned()))
        );
        for bad in [
            "ftp://a/b",
            "/relative",
            "https://",
            "https://user@evil.com/",
            "https://a b/",
            &format!("https://a/{}", "x".repeat(3000)),
        ] {
            assert!(page(bad).is_err(), "{bad}");
        }
    }
}
