//! The hot path of every push, measured: verify + decrypt + parse of a realistic text-message push
//! (~550-byte body), render + encrypt + sign of the text reply, and the same reply chosen by an
//! account's 200 reply rules (the rules' share of the 5 seconds WeChat allows).
//!
//! Run: `cargo bench -p shared --bench hot_path`.

use criterion::{Criterion, criterion_group, criterion_main};
use shared::WeChatCrypto;
use shared::crypto::KeySlot;
use shared::message::{Message, Reply};
use shared::push::{self, Envelope, PushQuery};
use shared::rules::{Matcher, RuleSet};
use std::hint::black_box;

const TOKEN: &str = "pamtest";
const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APPID: &str = "wxb11529c136998cb6";
const TIMESTAMP: &str = "1715943329";
const NONCE: &str = "1590219412";

/// A follower's text message as WeChat sends it (multi-line, CDATA), ~300 bytes of plaintext.
const TEXT: &str = "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>\n<FromUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></FromUserName>\n<CreateTime>1715943329</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[请问活动几点开始？]]></Content>\n<MsgId>24589245892458924589</MsgId>\n</xml>";

fn push(crypto: &WeChatCrypto) -> (PushQuery, Vec<u8>) {
    let encrypt = crypto.encrypt_with(KeySlot::Current, b"0123456789abcdef", TEXT).expect("encrypt");
    let body = format!(
        "<xml>\n    <ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>\n    <Encrypt><![CDATA[{encrypt}]]></Encrypt>\n</xml>"
    );
    let signature = crypto.msg_signature(TIMESTAMP, NONCE, &encrypt);
    let query = PushQuery::from_pairs([
        ("signature", "cc0c594499c1634947d5b502f158ee518947db27"),
        ("timestamp", TIMESTAMP),
        ("nonce", NONCE),
        ("openid", "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"),
        ("encrypt_type", "aes"),
        ("msg_signature", &signature),
    ])
    .expect("query");
    (query, body.into_bytes())
}

/// 200 rules of every kind, as a busy account might keep them: 60 exact keywords, 50 prefixes,
/// 50 substrings (half case-insensitive), 20 menu keys, 15 subscribe scenes and the plain
/// subscribe, 3 scan scenes and a default. The one that answers [`TEXT`] ("活动") is a substring
/// rule listed late, so nothing is found by luck of order.
fn rules_200() -> Matcher {
    Matcher::new(RuleSet::from_stored(&document_200()).expect("200 valid rules"))
}

/// [`rules_200`]'s document as the platform stores it (canonical JSON).
fn document_200() -> String {
    let text = |content: String| serde_json::json!({"msgtype": "text", "text": {"content": content}});
    let mut rules = Vec::new();
    for i in 0..60 {
        rules.push(
            serde_json::json!({"on": "keyword", "keyword": format!("关键词{i}"), "reply": text(format!("答复 {i}"))}),
        );
    }
    for i in 0..50 {
        rules.push(serde_json::json!({"on": "keyword", "match": "prefix", "keyword": format!("order{i}-"), "ignore_case": i % 2 == 0, "reply": text(format!("订单 {i}"))}));
    }
    for i in 0..49 {
        rules.push(serde_json::json!({"on": "keyword", "match": "contains", "keyword": format!("产品{i}号"), "ignore_case": i % 2 == 0, "reply": text(format!("产品 {i}"))}));
    }
    rules.push(serde_json::json!({"on": "keyword", "match": "contains", "keyword": "活动", "reply": text("收到，活动十点开始。".into())}));
    for i in 0..20 {
        rules.push(serde_json::json!({"on": "click", "key": format!("MENU_{i}"), "reply": text(format!("菜单 {i}"))}));
    }
    rules.push(serde_json::json!({"on": "subscribe", "reply": text("欢迎关注".into())}));
    for i in 0..15 {
        rules.push(serde_json::json!({"on": "subscribe", "scene": format!("shop-{i}"), "reply": text(format!("欢迎光临 {i} 号店"))}));
    }
    for i in 0..3 {
        rules.push(
            serde_json::json!({"on": "scan", "scene": format!("shop-{i}"), "reply": text(format!("又见面了 {i}"))}),
        );
    }
    rules.push(serde_json::json!({"on": "default", "reply": text("收到，客服稍后回复".into())}));
    assert_eq!(rules.len(), 200);
    let set = RuleSet::from_value(&serde_json::json!({ "rules": rules })).expect("200 valid rules");
    set.to_value().to_string()
}

fn hot_path(c: &mut Criterion) {
    let crypto = WeChatCrypto::new(TOKEN, KEY, APPID).expect("crypto");
    let (query, body) = push(&crypto);
    eprintln!("push body: {} bytes", body.len());

    c.bench_function("push: verify + decrypt + parse (text)", |b| {
        b.iter(|| {
            let opened = push::open(&crypto, black_box(&query), black_box(&body)).expect("open");
            Message::parse(&opened.xml).expect("parse")
        })
    });

    // The push path with the hand-off's event built (what event-callback does before PutEvents):
    // the budget is this within 10 % of the line above.
    c.bench_function("push: verify + decrypt + parse + event (text)", |b| {
        b.iter(|| {
            let opened = push::open(&crypto, black_box(&query), black_box(&body)).expect("open");
            let message = Message::parse(&opened.xml).expect("parse");
            // What event-callback does: the dedup key (also its marker's), then the event.
            let key = message.dedup_key();
            shared::bus::follower_event_keyed(
                APPID,
                "wx1000000000000001",
                &message,
                &key,
                &opened.xml,
                1_715_943_329_000,
            )
        })
    });

    // The push path's parts, to see where its time goes (not budgeted one by one).
    let mut parts = c.benchmark_group("push parts");
    let opened = push::open(&crypto, &query, &body).expect("open");
    let envelope = Envelope::parse(&body).expect("envelope");
    parts.bench_function("envelope parse", |b| b.iter(|| Envelope::parse(black_box(&body)).expect("envelope")));
    parts.bench_function("msg_signature verify", |b| {
        b.iter(|| {
            crypto
                .verify_msg_signature(
                    black_box(&query.timestamp),
                    black_box(&query.nonce),
                    black_box(&envelope.encrypt),
                    black_box(&query.msg_signature),
                )
                .expect("verify")
        })
    });
    parts.bench_function("decrypt", |b| b.iter(|| crypto.decrypt(black_box(&envelope.encrypt)).expect("decrypt")));
    parts.bench_function("message parse", |b| b.iter(|| Message::parse(black_box(&opened.xml)).expect("parse")));
    let message = Message::parse(&opened.xml).expect("parse");
    parts.bench_function("event (id + detail)", |b| {
        b.iter(|| shared::bus::follower_event(APPID, "wx1000000000000001", black_box(&message), &opened.xml, 1))
    });
    parts.bench_function("event id (SHA-1)", |b| {
        b.iter(|| {
            shared::bus::event_id(APPID, "wx1000000000000001", black_box("msg|gh_97417a04a28d|24589245892458924589"))
        })
    });
    parts.finish();

    let incoming = Message::parse(TEXT).expect("parse");
    c.bench_function("reply: render + encrypt + sign (text)", |b| {
        b.iter(|| {
            let reply = Reply::text(black_box(&incoming), 1_715_943_330, "收到，活动十点开始。");
            push::seal_reply(&crypto, KeySlot::Current, &reply.render(), TIMESTAMP, NONCE).expect("seal")
        })
    });

    let matcher = rules_200();
    let answered = matcher.reply(&incoming, 1_715_943_330).expect("the substring rule answers").render();
    assert!(answered.contains("收到，活动十点开始。"), "the late substring rule answers: {answered}");
    c.bench_function("reply by rule (200 rules): match + render + encrypt + sign (text)", |b| {
        b.iter(|| {
            let reply = matcher.reply(black_box(&incoming), 1_715_943_330).expect("rule");
            push::seal_reply(&crypto, KeySlot::Current, &reply.render(), TIMESTAMP, NONCE).expect("seal")
        })
    });
    c.bench_function("reply by rule (200 rules): match only", |b| {
        b.iter(|| matcher.rule_for(black_box(&incoming)).expect("rule").reply.clone())
    });
    // What a push costs when event-callback's copy of the account's rules is stale (at most every
    // 30 s per account): the stored document read, checked again and compiled.
    let document = document_200();
    c.bench_function("rules: load a stored 200-rule document (read + check + compile)", |b| {
        b.iter(|| Matcher::new(RuleSet::from_stored(black_box(&document)).expect("rules")))
    });
    // A JS-SDK config from the kept ticket: the page URL checked and the SHA-1 signature (the
    // ticket read is one DynamoDB GetItem, not timed here).
    let ticket = "bxLdikRXVbTPdHSM05e5u5sUoXNKd8-41ZO3MhKoyN5OfkWITDGgnr2fwJ0m9E8NYzWKVZvdVtaUgWvsdshFKA";
    let page = "https://shop.example.com/orders/42?from=menu#paid";
    c.bench_function("js-sdk config: page check + signature", |b| {
        b.iter(|| {
            let (url, _origin) = shared::jssdk::page(black_box(page)).expect("page");
            shared::jssdk::sign(ticket, "Wm3WZYTPz0wzccnW", 1_414_587_457, &url)
        })
    });
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
