//! Property tests: round trips over every length and pad value, and hostile input into every
//! parser (never a panic, always a typed error).

use proptest::prelude::*;
use shared::crypto::KeySlot;
use shared::message::{ComponentNotice, Message, Reply};
use shared::push::{self, Envelope, PushError, PushQuery, UrlQuery};
use shared::{CryptoError, WeChatCrypto};
use std::collections::BTreeSet;

const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const OTHER_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const APPID: &str = "wx134c8103faa5a59e";

fn crypto() -> WeChatCrypto {
    WeChatCrypto::new("token", KEY, APPID).expect("crypto")
}

fn query(crypto: &WeChatCrypto, encrypt: &str) -> PushQuery {
    let signature = crypto.msg_signature("1732000000", "42", encrypt);
    PushQuery::from_pairs([
        ("timestamp", "1732000000"),
        ("nonce", "42"),
        ("msg_signature", signature.as_str()),
        ("encrypt_type", "aes"),
    ])
    .expect("query")
}

fn body(encrypt: &str) -> String {
    format!("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
}

#[test]
fn round_trip_for_every_length_0_to_2000_covers_all_pad_values() {
    let c = crypto();
    let mut pads = BTreeSet::new();
    for len in 0..=2000usize {
        // Multibyte content where the length allows it: 3-byte CJK plus ASCII filler.
        let msg: String = "中".repeat(len / 3) + &"a".repeat(len % 3);
        assert_eq!(msg.len(), len);
        let encrypt = c.encrypt_with(KeySlot::Current, b"RANDOMRANDOMRAND", &msg).expect("encrypt");
        let raw_len = encrypt.len() / 4 * 3 - encrypt.bytes().rev().take_while(|&b| b == b'=').count();
        let frame = 20 + len + APPID.len();
        pads.insert(raw_len - frame);
        let opened = push::open(&c, &query(&c, &encrypt), body(&encrypt).as_bytes()).expect("open");
        assert_eq!(opened.xml, msg);
    }
    assert_eq!(pads, (1..=32).collect::<BTreeSet<usize>>());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_unicode_message_round_trips(msg in "\\PC{0,700}", random in any::<[u8; 16]>()) {
        let c = crypto();
        let encrypt = c.encrypt_with(KeySlot::Current, &random, &msg).unwrap();
        let opened = push::open(&c, &query(&c, &encrypt), body(&encrypt).as_bytes()).unwrap();
        prop_assert_eq!(opened.xml, msg);
        prop_assert_eq!(opened.key, KeySlot::Current);
    }

    #[test]
    fn sealed_replies_verify_and_decrypt(content in "\\PC{0,300}", timestamp in "[0-9]{1,12}", nonce in "\\PC{1,40}") {
        let c = crypto();
        let incoming = Message::parse("<xml><ToUserName>gh_1</ToUserName><FromUserName>o_1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>").unwrap();
        let reply = Reply::text(&incoming, 7, content);
        let sealed = push::seal_reply(&c, KeySlot::Current, &reply.render(), &timestamp, &nonce).unwrap();
        // Read it back the way WeChat does: the fields, the signature, then the plaintext.
        let fields = Envelope::parse(sealed.as_bytes()).unwrap();
        let doc = roxml_fields(&sealed);
        prop_assert_eq!(doc.get("TimeStamp").map(String::as_str), Some(timestamp.as_str()));
        prop_assert_eq!(doc.get("Nonce").map(String::as_str), Some(nonce.as_str()));
        let signature = doc.get("MsgSignature").cloned().unwrap();
        prop_assert_eq!(signature, c.msg_signature(&timestamp, &nonce, &fields.encrypt));
        let plain = c.decrypt(&fields.encrypt).unwrap().xml;
        prop_assert_eq!(Reply::parse(&plain).unwrap(), reply);
    }

    #[test]
    fn tampered_ciphertext_never_panics_and_never_verifies(index in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let c = crypto();
        let encrypt = c.encrypt_with(KeySlot::Current, b"0123456789abcdef", "<xml><a>hello</a></xml>").unwrap();
        let q = query(&c, &encrypt);
        let mut tampered = encrypt.clone().into_bytes();
        let i = index.index(tampered.len());
        prop_assume!(tampered[i] != byte);
        tampered[i] = byte;
        let tampered = String::from_utf8_lossy(&tampered).into_owned();
        // The signature no longer holds …
        let err = push::open(&c, &q, body(&tampered).as_bytes()).unwrap_err();
        prop_assert!(matches!(err, PushError::Crypto(CryptoError::InvalidSignature) | PushError::Xml(_)), "{err:?}");
        // … and decrypting it directly is an error or a different frame, never a panic.
        let _ = c.decrypt(&tampered);
    }

    #[test]
    fn arbitrary_bytes_into_every_parser_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        let c = crypto().with_previous_key(OTHER_KEY).unwrap();
        let _ = Envelope::parse(&bytes);
        let _ = Message::parse(&text);
        let _ = ComponentNotice::parse(&text);
        let _ = Reply::parse(&text);
        let _ = c.decrypt(&text);
        let _ = push::open(&c, &query(&c, &text), &bytes);
        let _ = PushQuery::from_pairs([("timestamp", text.as_ref()), ("nonce", "1"), ("msg_signature", text.as_ref())]);
        let _ = UrlQuery::from_pairs([("timestamp", "1"), ("nonce", text.as_ref()), ("echostr", text.as_ref()), ("msg_signature", "x")])
            .map(|q| push::verify_url(&c, &q));
    }

    #[test]
    fn arbitrary_xml_into_every_parser_never_panics(xml in xml_like()) {
        let c = crypto();
        let _ = Envelope::parse(xml.as_bytes());
        let _ = Message::parse(&xml);
        let _ = ComponentNotice::parse(&xml);
        let _ = Reply::parse(&xml);
        // The same XML, authentically encrypted and signed, through the whole push path.
        let encrypt = c.encrypt_with(KeySlot::Current, b"0123456789abcdef", &xml).unwrap();
        let opened = push::open(&c, &query(&c, &encrypt), body(&encrypt).as_bytes()).unwrap();
        prop_assert_eq!(&opened.xml, &xml);
        let _ = Message::parse(&opened.xml);
    }

    #[test]
    fn well_formed_messages_parse_and_keep_their_fields(
        content in "\\PC{0,200}",
        from in "[A-Za-z0-9_-]{1,40}",
        create_time in 0i64..4_000_000_000,
        msg_id in any::<u64>(),
    ) {
        let mut cdata = String::new();
        for (i, part) in content.split("]]>").enumerate() {
            if i > 0 { cdata.push_str("]]]]><![CDATA[>"); }
            cdata.push_str(part);
        }
        let xml = format!(
            "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[{from}]]></FromUserName><CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{cdata}]]></Content><MsgId>{msg_id}</MsgId></xml>"
        );
        let m = Message::parse(&xml).unwrap();
        prop_assert_eq!(m.from_user_name, from);
        prop_assert_eq!(m.create_time, create_time);
        prop_assert_eq!(m.msg_id, Some(msg_id.to_string()));
        // XML 1.0 line-end normalisation applies inside CDATA too.
        let expected = content.replace("\r\n", "\n").replace('\r', "\n");
        prop_assert_eq!(m.kind, shared::message::MessageKind::Text { content: expected });
    }
}

/// Documents that look like WeChat XML: tags from the real vocabulary, CDATA, entities, comments,
/// DTD fragments, stray `<`/`&`, nesting and truncation.
fn xml_like() -> impl Strategy<Value = String> {
    let tag = prop::sample::select(vec![
        "xml",
        "ToUserName",
        "FromUserName",
        "CreateTime",
        "MsgType",
        "Event",
        "Content",
        "MsgId",
        "MsgID",
        "InfoType",
        "AppId",
        "Encrypt",
        "ComponentVerifyTicket",
        "AuthorizerAppid",
        "AuthorizationCode",
        "EventKey",
        "Location_X",
        "Image",
        "MediaId",
        "Articles",
        "item",
        "a",
    ]);
    let text = prop::sample::select(vec![
        "text",
        "event",
        "subscribe",
        "SCAN",
        "LOCATION",
        "component_verify_ticket",
        "authorized",
        "unauthorized",
        "qrscene_1",
        "1",
        "-1",
        "99999999999999999999",
        "23.1",
        "NaN",
        "",
        " ",
        "\n",
        "&amp;",
        "&lt;",
        "&#x4e2d;",
        "&bogus;",
        "&",
        "<",
        "]]>",
        "<![CDATA[x]]>",
        "<![CDATA[",
        "<!-- c -->",
        "<!DOCTYPE xml>",
        "<?pi x?>",
        "中文",
        "\u{0}",
        "\r\n",
    ]);
    let leaf = (tag.clone(), text.clone()).prop_map(|(t, x)| format!("<{t}>{x}</{t}>"));
    let item = prop_oneof![4 => leaf, 1 => text.prop_map(str::to_owned), 1 => tag.clone().prop_map(|t| format!("<{t}/>")), 1 => tag.clone().prop_map(|t| format!("<{t}>"))];
    (tag, prop::collection::vec(item, 0..16), any::<bool>(), 0usize..400).prop_map(|(root, items, close, cut)| {
        let mut doc = format!("<{root}>{}", items.concat());
        if close {
            doc.push_str(&format!("</{root}>"));
        }
        if cut < doc.len() && cut % 3 == 0 {
            let mut at = cut;
            while !doc.is_char_boundary(at) {
                at -= 1;
            }
            doc.truncate(at);
        }
        doc
    })
}

/// The reply's top-level fields via roxmltree, an independent parser.
fn roxml_fields(xml: &str) -> std::collections::HashMap<String, String> {
    let doc = roxmltree::Document::parse(xml).expect("reply is well-formed XML");
    doc.root_element()
        .children()
        .filter(|n| n.is_element())
        .map(|n| (n.tag_name().name().to_owned(), n.children().filter_map(|c| c.text()).collect()))
        .collect()
}
