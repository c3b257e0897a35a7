//! Vectors from implementations that share no code with ours (Python `cryptography` and Node.js
//! `crypto`, which agree byte for byte; see `data/gen_vectors.py`): every pad value 1..=32, three
//! keys and appids, ASCII, CJK, emoji and XML-looking content. Each must encrypt to exactly the
//! same ciphertext, verify with the same signature and decrypt back.

use serde::Deserialize;
use shared::WeChatCrypto;
use shared::crypto::KeySlot;
use shared::push::{self, PushQuery};
use std::collections::BTreeSet;

#[derive(Deserialize)]
struct File {
    token: String,
    timestamp: String,
    nonce: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    key: String,
    appid: String,
    random_hex: String,
    msg: String,
    pad: u8,
    encrypt: String,
    msg_signature: String,
}

fn unhex16(hex: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

#[test]
fn every_pad_length_matches_independent_implementations() {
    let file: File = serde_json::from_str(include_str!("data/reference_vectors.json")).expect("vectors");
    let mut pads = BTreeSet::new();
    for case in &file.cases {
        let crypto = WeChatCrypto::new(file.token.as_str(), &case.key, case.appid.as_str()).expect("key");
        let encrypt = crypto.encrypt_with(KeySlot::Current, &unhex16(&case.random_hex), &case.msg).expect("encrypt");
        assert_eq!(encrypt, case.encrypt, "encrypt {:?} (pad {})", case.msg, case.pad);
        assert_eq!(crypto.msg_signature(&file.timestamp, &file.nonce, &encrypt), case.msg_signature);

        let query = PushQuery::from_pairs([
            ("timestamp", file.timestamp.as_str()),
            ("nonce", file.nonce.as_str()),
            ("msg_signature", case.msg_signature.as_str()),
            ("encrypt_type", "aes"),
        ])
        .expect("query");
        let body = format!(
            "<xml><AppId><![CDATA[{}]]></AppId><Encrypt><![CDATA[{}]]></Encrypt></xml>",
            case.appid, case.encrypt
        );
        let opened = push::open(&crypto, &query, body.as_bytes()).expect("open");
        assert_eq!(opened.xml, case.msg, "decrypt (pad {})", case.pad);
        pads.insert(case.pad);
    }
    assert_eq!(pads, (1..=32).collect::<BTreeSet<u8>>(), "the vectors must cover every pad value");
}
