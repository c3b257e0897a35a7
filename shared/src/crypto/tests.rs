//! The official and derived vectors (`docs/wechat.md`, "Message crypto"), plus rotation and
//! rejection cases.

use super::*;
use crate::push::{self, PushError, PushQuery, UrlQuery};

const KEY_ABC: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const KEY_ZERO: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

fn push_query(timestamp: &str, nonce: &str, msg_signature: &str) -> PushQuery {
    PushQuery::from_pairs([
        ("timestamp", timestamp),
        ("nonce", nonce),
        ("msg_signature", msg_signature),
        ("encrypt_type", "aes"),
    ])
    .unwrap()
}

fn envelope(encrypt: &str) -> String {
    format!("<xml><ToUserName><![CDATA[toUser]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
}

// ---- Vector A: encryption with a fixed random prefix (official Java sample test) ----

const A1: &str = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==";
const A2_MSG: &str = "<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName><FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime><MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]></Title><Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>";
const A2: &str = "jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb";
const H: &str = "jn1L23DB+6ELqJ+6bruv24kfnRA9CJ8qXRQfcTjuspbcu/BSVDHix6RSI3nK3z+fMd03dqZ5HIPCrQNNDa2xYd47apRHAo9FEf57/GQVWffqnF3WzheksoIGmk00BgBc";

fn crypto_a() -> WeChatCrypto {
    WeChatCrypto::new("pamtest", KEY_ABC, "wxb11529c136998cb6").unwrap()
}

#[test]
fn vector_a1_encrypts_exactly_and_decrypts_back() {
    let c = crypto_a();
    let encrypt = c.encrypt_with(KeySlot::Current, b"aaaabbbbccccdddd", "我是中文abcd123").unwrap();
    assert_eq!(encrypt, A1);
    assert_eq!(c.msg_signature("1409304348", "xxxxxx", A1), "82c962d39941aa48552f90ef55aa323dc620cc10");
    assert_eq!(c.decrypt(A1).unwrap().xml, "我是中文abcd123");
}

#[test]
fn vector_a2_encrypts_exactly_and_opens_as_a_push() {
    let c = crypto_a();
    assert_eq!(A2_MSG.len(), 435);
    assert_eq!(c.encrypt_with(KeySlot::Current, b"aaaabbbbccccdddd", A2_MSG).unwrap(), A2);
    let signature = c.msg_signature("1409304348", "xxxxxx", A2);
    let opened = push::open(&c, &push_query("1409304348", "xxxxxx", &signature), envelope(A2).as_bytes()).unwrap();
    assert_eq!(opened, Opened { xml: A2_MSG.to_owned(), key: KeySlot::Current });
}

#[test]
fn vector_h_full_block_of_padding() {
    let c = crypto_a();
    assert_eq!(c.encrypt_with(KeySlot::Current, b"aaaabbbbccccdddd", "abcdefghijklmnopqrstuvwxyz").unwrap(), H);
    assert_eq!(c.msg_signature("1409304348", "xxxxxx", H), "2b07674cc11d69d1eb5a852d4d239f5190949b19");
    assert_eq!(c.decrypt(H).unwrap().xml, "abcdefghijklmnopqrstuvwxyz");
}

// ---- Vector B: 4-part signature and encrypted echostr (official WeCom sample) ----

#[test]
fn vector_b_safe_mode_url_verification() {
    let c = WeChatCrypto::new("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7").unwrap();
    let echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
    let pairs = |sig: &'static str| {
        UrlQuery::from_pairs([
            ("msg_signature", sig),
            ("timestamp", "1409659589"),
            ("nonce", "263014780"),
            ("echostr", echostr),
        ])
        .unwrap()
    };
    assert_eq!(
        push::verify_url(&c, &pairs("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3")).unwrap(),
        "1616140317555161061"
    );
    assert_eq!(
        push::verify_url(&c, &pairs("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd4")).unwrap_err(),
        PushError::Crypto(CryptoError::InvalidSignature)
    );
}

#[test]
fn plain_url_verification_echoes_only_when_signed() {
    // Vector P1: token AAAAA.
    let c = WeChatCrypto::new("AAAAA", KEY_ZERO, "wx134c8103faa5a59e").unwrap();
    let query = |sig| {
        UrlQuery::from_pairs([
            ("signature", sig),
            ("timestamp", "1714036504"),
            ("nonce", "1514711492"),
            ("echostr", "4375120948345356249"),
        ])
        .unwrap()
    };
    assert_eq!(
        push::verify_url(&c, &query("f464b24fc39322e44b38aa78f5edd27bd1441696")).unwrap(),
        "4375120948345356249"
    );
    assert_eq!(
        push::verify_url(&c, &query("0464b24fc39322e44b38aa78f5edd27bd1441696")).unwrap_err(),
        PushError::Crypto(CryptoError::InvalidSignature)
    );
    let unsigned = UrlQuery::from_pairs([("timestamp", "1"), ("nonce", "2"), ("echostr", "3")]);
    assert_eq!(unsigned.unwrap_err(), PushError::MissingParameter("signature"));
}

// ---- Vectors C and D: official 公众号 samples ----

const CD_MSG_C: &str = "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>";

#[test]
fn vector_c_compat_mode_body_uses_only_encrypt() {
    let c = WeChatCrypto::new("spamtest", KEY_ABC, "wx2c2769f8efd9abc2").unwrap();
    let body = "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]></Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=]]></Encrypt></xml>";
    let query = push_query("1409735669", "1320562132", "5d197aaffba7e9b25a30732f161a50dee96bd5fa");
    let opened = push::open(&c, &query, body.as_bytes()).unwrap();
    assert_eq!(opened.xml, CD_MSG_C);
    assert_eq!(opened.xml.len(), 280);
}

#[test]
fn vector_d_official_cpp_sample() {
    let c = WeChatCrypto::new("spamtest", KEY_ABC, "wx2c2769f8efd9abc2").unwrap();
    let encrypt = "mfBCs65c67CeJw22u4VT2TD73q5H06+ocrAIxswCaeZ/d/Lw0msSZFHY0teqgSYiI1zR2gD2DKrB3TIrmX/liNSDrGqS8jSI/WPeKB5VPr7Ezr7gomZAyGCwJSgT1TRFWPfONGJMxuj2nk4faTuspAuVIFQ6SHwZuJBZC7mcJp7Cgr9cUhATQWDbOPaE7ukZBTV2YqyzH+UI2AK+J1S47cE79k1RX8t0hcTz/O0hlK8DGXKnvYv88qKQcI7z4iaajqHfRVZKBNyOODabs+It+ZfM3dWTeFcPgDbGtIEnpt/EDtuuA/zMvtkaKdHdswPnVZQ+xdwbYr3ldGvfT8HlEYEgkgKaThxTFobVlwzu2ZkXCjicbP3xdr15Iq48ObgzPpqYuZ3IEoyggZDKClquk0u0orMck4GTF/XyE8yGzc4=";
    let query = push_query("1410349438", "298025754", "003fee52ecc56afb46c00b5c7721be87860ce785");
    let opened = push::open(&c, &query, envelope(encrypt).as_bytes()).unwrap();
    let expected = CD_MSG_C.replace("1409735668", "1410349438").replace("6054768590064713728", "6057404712141979648");
    assert_eq!(opened.xml, expected);
}

// ---- Vector E: the official third-party platform example, push and reply ----

const E_ENCRYPT: &str = "D7yzvUNAL930rd28wf21s4hvXhz0L6Uit/p2Di6C5DHyYGpEgdBRnKjBec34JwoQXicwaZC7fOVihW80F4VtsdvE//1vr7oAbqjDv8KenVp+ajKYpJnyQ4zMRhIC+a31fCVOMC03FfzV/QuC94kBP55a+Za3sJgvAn+ZbsNqZI5DkyuzkhQN8OBqCzFhizGmy0xpM0MEA4agpvE+RuNO1rhHTtuJB5yltw1FiYzecSXJ+y/D2r81VkRn2eYjh2ltsoyfbDR7Is6ookXIFxTfyeNyeHxMeT4KN5WpCDmSbTcUYrbBUlkGLJ9n/rU8YOywma6G7aTb7KZKOqCxgfoUlYEZPk4FUL/TK7ShriFDMVCLyjQJ15Ob++agDWtcxhfUfe6HIoIpRW8mKNBQiY/Jd1svvuskA1wLef1RTtzKfMpagSCX/laZINmdnX4zrF6kIaR9P4xQrWXbsTFHTYe0Mg==";
const E_MSG: &str = "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>\n<FromUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></FromUserName>\n<CreateTime>1715943329</CreateTime>\n<MsgType><![CDATA[event]]></MsgType>\n<Event><![CDATA[debug_demo]]></Event>\n<debug_str><![CDATA[hello world]]></debug_str>\n</xml>";

fn crypto_e() -> WeChatCrypto {
    WeChatCrypto::new("AAAAA", KEY_ZERO, "wx134c8103faa5a59e").unwrap()
}

fn query_e() -> PushQuery {
    PushQuery::from_pairs([
        ("signature", "cc0c594499c1634947d5b502f158ee518947db27"),
        ("timestamp", "1715943329"),
        ("nonce", "1590219412"),
        ("openid", "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"),
        ("encrypt_type", "aes"),
        ("msg_signature", "6c12a4205838198b8fa631b3220723bb07f1015c"),
    ])
    .unwrap()
}

fn body_e() -> String {
    format!(
        "<xml>\n    <ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>\n    <Encrypt><![CDATA[{E_ENCRYPT}]]></Encrypt>\n</xml>"
    )
}

#[test]
fn vector_e_third_party_push_opens_byte_exact() {
    let opened = push::open(&crypto_e(), &query_e(), body_e().as_bytes()).unwrap();
    assert_eq!(opened.xml, E_MSG);
    assert_eq!(opened.xml.len(), 292);
    assert_eq!(opened.key, KeySlot::Current);
}

#[test]
fn vector_e_reply_is_byte_exact() {
    let msg = "<xml><demo_resp>[CDATA[good luck]]</demo_resp></xml>";
    let reply =
        push::seal_reply_with(&crypto_e(), KeySlot::Current, b"999951349e8ee746", msg, "1713424427", "415670741")
            .unwrap();
    let expected = "<xml>\n<Encrypt><![CDATA[hE8R6mGXHkJJjU72KxzKUd1GEkKJaEZq7vRL8XgK3o+00k8JGq6+pZJUIlTSyhsX+bxIBQ72g3GyvDdIZcr6+3HAZbSvPT9t/o11MI7d6WELwqrGd7jMnV0zv3Zc9Nq7]]></Encrypt>\n<MsgSignature><![CDATA[03e0812039325c2712ef5f0f980fd14c70d6e307]]></MsgSignature>\n<TimeStamp>1713424427</TimeStamp>\n<Nonce><![CDATA[415670741]]></Nonce>\n</xml>";
    assert_eq!(reply, expected);
}

#[test]
fn vector_e_with_the_mini_program_appid_is_rejected() {
    // The tail is the component appid, not the authorizer's: a platform configured with the
    // authorizer appid must refuse the push (-40005).
    let c = WeChatCrypto::new("AAAAA", KEY_ZERO, "wxba5fad812f8e6fb9").unwrap();
    let err = push::open(&c, &query_e(), body_e().as_bytes()).unwrap_err();
    assert_eq!(err, PushError::Crypto(CryptoError::AppIdMismatch { found: "wx134c8103faa5a59e".into() }));
    assert_eq!(err.code(), -40005);
}

#[test]
fn seal_reply_uses_a_fresh_random_prefix_each_time() {
    let c = crypto_e();
    let a = push::seal_reply(&c, KeySlot::Current, "<xml/>", "1", "2").unwrap();
    let b = push::seal_reply(&c, KeySlot::Current, "<xml/>", "1", "2").unwrap();
    assert_ne!(a, b);
    assert!(push::seal_reply(&c, KeySlot::Current, "<xml/>", "1<", "2").is_err());
}

// ---- rejection: each failure has its own error and official code ----

#[test]
fn wrong_signature_is_rejected_before_decryption() {
    let q = push_query("1715943329", "1590219412", "6c12a4205838198b8fa631b3220723bb07f1015d");
    let err = push::open(&crypto_e(), &q, body_e().as_bytes()).unwrap_err();
    assert_eq!(
        (err.clone(), err.code(), err.http_status()),
        (PushError::Crypto(CryptoError::InvalidSignature), -40001, 401)
    );
    // Same signature, other nonce.
    let q = push_query("1715943329", "1590219413", "6c12a4205838198b8fa631b3220723bb07f1015c");
    assert_eq!(
        push::open(&crypto_e(), &q, body_e().as_bytes()).unwrap_err(),
        PushError::Crypto(CryptoError::InvalidSignature)
    );
    // Other token.
    let c = WeChatCrypto::new("AAAAB", KEY_ZERO, "wx134c8103faa5a59e").unwrap();
    assert_eq!(
        push::open(&c, &query_e(), body_e().as_bytes()).unwrap_err(),
        PushError::Crypto(CryptoError::InvalidSignature)
    );
}

#[test]
fn plaintext_push_is_refused() {
    let mut q = query_e();
    q.encrypt_type = None;
    assert_eq!(push::open(&crypto_e(), &q, body_e().as_bytes()).unwrap_err(), PushError::NotEncrypted);
}

/// Encrypts raw frame bytes (no framing, no padding added) with the all-zero vector-E key.
fn raw_ciphertext(plain: &[u8]) -> String {
    use aes::Aes256;
    use base64::Engine as _;
    use cbc::cipher::block_padding::NoPadding;
    use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
    let mut buf = plain.to_vec();
    let len = buf.len();
    cbc::Encryptor::<Aes256>::new(&[0u8; 32].into(), &[0u8; 16].into())
        .encrypt_padded::<NoPadding>(&mut buf, len)
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(buf)
}

fn frame(msg: &[u8], len_field: u32, appid: &[u8], pad: u8, pad_len: usize) -> Vec<u8> {
    let mut f = b"0123456789abcdef".to_vec();
    f.extend_from_slice(&len_field.to_be_bytes());
    f.extend_from_slice(msg);
    f.extend_from_slice(appid);
    f.extend(std::iter::repeat_n(pad, pad_len));
    f
}

#[test]
fn bad_padding_length_field_and_appid_each_have_their_error() {
    let c = crypto_e();
    let appid = b"wx134c8103faa5a59e";
    // 20 + 2 + 18 = 40 bytes; pad 24 to 64.
    let good = frame(b"hi", 2, appid, 24, 24);
    assert_eq!(c.decrypt(&raw_ciphertext(&good)).unwrap().xml, "hi");

    for pad in [0u8, 33, 255] {
        let err = c.decrypt(&raw_ciphertext(&frame(b"hi", 2, appid, pad, 24))).unwrap_err();
        assert_eq!(err, CryptoError::IllegalBuffer("pad byte out of 1..=32"), "pad {pad}");
        assert_eq!(err.code(), -40008);
    }
    // Pad 32 on a 32-byte buffer leaves nothing for the header.
    let err = c.decrypt(&raw_ciphertext(&[32u8; 32])).unwrap_err();
    assert_eq!(err, CryptoError::IllegalBuffer("frame shorter than its 20-byte header"));
    // Length fields past the end, including ones that would overflow.
    for len in [21u32, 100, u32::MAX] {
        let err = c.decrypt(&raw_ciphertext(&frame(b"hi", len, appid, 24, 24))).unwrap_err();
        assert_eq!(err, CryptoError::IllegalBuffer("length field runs past the frame"), "len {len}");
    }
    // The length field decides where the appid starts.
    let err = c.decrypt(&raw_ciphertext(&frame(b"hi", 1, appid, 24, 24))).unwrap_err();
    assert_eq!(err, CryptoError::AppIdMismatch { found: "iwx134c8103faa5a59e".into() });
    let err = c.decrypt(&raw_ciphertext(&frame(b"hi", 2, b"wx000000000000000a", 24, 24))).unwrap_err();
    assert_eq!(err, CryptoError::AppIdMismatch { found: "wx000000000000000a".into() });
    // Invalid UTF-8 inside a well-formed frame.
    let err = c.decrypt(&raw_ciphertext(&frame(b"\xff\xfe", 2, appid, 24, 24))).unwrap_err();
    assert_eq!(err, CryptoError::IllegalBuffer("message is not UTF-8"));
}

#[test]
fn garbage_base64_and_wrong_block_sizes_are_rejected() {
    let c = crypto_e();
    for bad in ["***", "abc", "AAAA=AAA", "中文"] {
        let err = c.decrypt(bad).unwrap_err();
        assert_eq!((err.clone(), err.code()), (CryptoError::DecodeBase64, -40010), "{bad}");
    }
    for len in [0usize, 16, 31, 33, 48] {
        use base64::Engine as _;
        let text = base64::engine::general_purpose::STANDARD.encode(vec![7u8; len]);
        let err = c.decrypt(&text).unwrap_err();
        assert_eq!((err.clone(), err.code()), (CryptoError::DecryptAes { len }, -40007));
    }
}

// ---- key rotation ----

#[test]
fn rotation_falls_back_to_the_previous_key_and_replies_with_it() {
    let old = crypto_e();
    let rotated =
        WeChatCrypto::new("AAAAA", KEY_ABC, "wx134c8103faa5a59e").unwrap().with_previous_key(KEY_ZERO).unwrap();

    // A push encrypted with the old key opens with the previous slot …
    let opened = push::open(&rotated, &query_e(), body_e().as_bytes()).unwrap();
    assert_eq!(opened, Opened { xml: E_MSG.to_owned(), key: KeySlot::Previous });
    // … and the reply made with that slot is readable by the old key only.
    let sealed = rotated.encrypt_with(opened.key, b"0000000000000000", "<xml>reply</xml>").unwrap();
    assert_eq!(old.decrypt(&sealed).unwrap().xml, "<xml>reply</xml>");
    assert!(WeChatCrypto::new("AAAAA", KEY_ABC, "wx134c8103faa5a59e").unwrap().decrypt(&sealed).is_err());

    // A push encrypted with the new key uses the current slot.
    let fresh = rotated.encrypt_with(KeySlot::Current, b"0000000000000000", "<xml>new</xml>").unwrap();
    assert_eq!(rotated.decrypt(&fresh).unwrap().key, KeySlot::Current);

    // Without a previous key the old push fails with the current key's error.
    let unrotated = WeChatCrypto::new("AAAAA", KEY_ABC, "wx134c8103faa5a59e").unwrap();
    assert!(matches!(
        unrotated.decrypt(E_ENCRYPT).unwrap_err(),
        CryptoError::IllegalBuffer(_) | CryptoError::AppIdMismatch { .. }
    ));
}

#[test]
fn illegal_keys_fail_construction() {
    assert_eq!(WeChatCrypto::new("t", "short", "wx").unwrap_err(), CryptoError::IllegalAesKey);
    assert_eq!(crypto_e().with_previous_key("short").unwrap_err(), CryptoError::IllegalAesKey);
}

#[test]
fn debug_output_holds_no_secret() {
    let c = WeChatCrypto::new("my-secret-token", KEY_ABC, "wx134c8103faa5a59e")
        .unwrap()
        .with_previous_key(KEY_ZERO)
        .unwrap();
    let debug = format!("{c:?}");
    assert!(!debug.contains("my-secret-token"), "{debug}");
    assert!(!debug.contains("abcdefghij"), "{debug}");
    assert!(debug.contains("wx134c8103faa5a59e"));
}
