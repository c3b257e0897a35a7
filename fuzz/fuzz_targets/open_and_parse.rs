//! Coverage-guided fuzzing of everything a push goes through: the envelope, decryption and the
//! two message parsers, raw; and the whole verified path (`WeChatCrypto::open`) over input sealed
//! with the platform's key and correctly signed, so the parsers behind the crypto are reached too.
//! Invariant besides "never panics": the verified path yields exactly what parsing the
//! plaintext directly yields.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use shared::WeChatCrypto;
use shared::crypto::KeySlot;
use shared::message::{ComponentNotice, Envelope, Message, PushQuery};

static CRYPTO: LazyLock<WeChatCrypto> = LazyLock::new(|| {
    WeChatCrypto::new("fuzztoken", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wxfuzz0000000000").unwrap()
});

fuzz_target!(|data: &[u8]| {
    let crypto = &*CRYPTO;
    let _ = Envelope::parse(data);
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = crypto.decrypt(text);
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
    let opened = crypto.open(&query, body.as_bytes()).expect("our own sealed push opens");
    assert_eq!(opened.xml, text);
    assert_eq!(Message::parse(&opened.xml).is_ok(), direct.is_ok());
});
