//! Coverage-guided fuzzing of everything a push goes through: the envelope, decryption and the
//! two message parsers, raw; and the whole verified path (`push::open`) over input sealed
//! with the platform's key and correctly signed, so the parsers behind the crypto are reached too.
//! Invariants besides "never panics": the verified path yields exactly what parsing the
//! plaintext directly yields, the flat XML scanner reads what roxmltree reads, and the hand-off's
//! event of any parsed message is JSON within EventBridge's size limit.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use shared::WeChatCrypto;
use shared::crypto::KeySlot;
use shared::message::{ComponentNotice, Message};
use shared::push::{self, Envelope, PushQuery};

static CRYPTO: LazyLock<WeChatCrypto> = LazyLock::new(|| {
    WeChatCrypto::new("fuzztoken", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wxfuzz0000000000").unwrap()
});

fuzz_target!(|data: &[u8]| {
    let crypto = &*CRYPTO;
    let _ = Envelope::parse(data);
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = crypto.decrypt(text);
    // The flat scanner against roxmltree: whatever the DOM accepts, the scanner accepts with the
    // same fields (line ends aside: roxmltree keeps a `\r` before a reference). Known, deliberate
    // differences: the scanner's depth limit; references beyond U+10FFFF, which roxmltree reads
    // as U+FFFD and XML (and the scanner) refuses; and namespaces (WeChat uses none; the DOM
    // reads local names, so `<:xml>` is its `<xml>`).
    let (flat, dom) = shared::__xml_differential(text);
    if let Some(dom) = dom
        && !text.contains("xmlns")
        && !has_prefixed_name(text)
    {
        let eol = |v: Vec<(String, String)>| -> Vec<(String, String)> {
            v.into_iter().map(|(k, t)| (k, t.replace("\r\n", "\n").replace('\r', "\n"))).collect()
        };
        match flat {
            Ok(flat) => assert_eq!(eol(flat), eol(dom), "{text:?}"),
            Err(err) => assert!(
                err.contains("too deep") || err.contains("invalid character reference") && text.contains("&#"),
                "the scanner refused what roxmltree reads: {err}: {text:?}"
            ),
        }
    }
    let direct = Message::parse(text);
    let _ = ComponentNotice::parse(text);

    let encrypt = crypto.encrypt_with(KeySlot::Current, b"fuzzfuzzfuzzfuzz", text).unwrap();
    let signature = crypto.msg_signature("1700000000", "1", &encrypt);
    let query = PushQuery::from_pairs([
        ("timestamp", "1700000000"),
        ("nonce", "1"),
        ("encrypt_type", "aes"),
        ("msg_signature", signature.as_str()),
    ])
    .unwrap();
    let body = format!("<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>");
    let opened = push::open(&crypto, &query, body.as_bytes()).expect("our own sealed push opens");
    assert_eq!(opened.xml, text);
    assert_eq!(Message::parse(&opened.xml).is_ok(), direct.is_ok());

    // The hand-off's event for whatever parsed: valid JSON, under EventBridge's entry limit, and
    // the ids it promises.
    if let Ok(message) = &direct {
        let event = shared::bus::follower_event("wxfuzz0000000000", "wx1000000000000001", message, text, 1);
        assert!(event.detail.len() <= shared::bus::MAX_DETAIL_BYTES, "{}", event.detail.len());
        let detail: serde_json::Value = serde_json::from_str(&event.detail).expect("the detail is JSON");
        assert_eq!(detail["id"].as_str(), Some(event.id.as_str()));
        assert_eq!(detail["openid"].as_str(), Some(message.from_user_name.as_str()));
    }
});

/// Whether a tag name in `text` contains a `:` (a namespace prefix, or an empty one).
fn has_prefixed_name(text: &str) -> bool {
    text.split('<').skip(1).any(|tag| {
        let tag = tag.strip_prefix('/').unwrap_or(tag);
        tag.split(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/').next().is_some_and(|name| name.contains(':'))
    })
}
