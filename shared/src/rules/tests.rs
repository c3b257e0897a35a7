use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::message::{Message, MessageKind, QrScene};

fn text_reply(content: &str) -> Value {
    json!({"msgtype": "text", "text": {"content": content}})
}

fn message(kind: MessageKind) -> Message {
    Message {
        to_user_name: "gh_account".into(),
        from_user_name: "o_follower".into(),
        create_time: 1_700_000_000,
        msg_id: None,
        kind,
    }
}

fn text(content: &str) -> Message {
    message(MessageKind::Text { content: content.into() })
}

fn answer(matcher: &Matcher, message: &Message) -> Option<String> {
    match &matcher.rule_for(message)?.reply {
        ReplyKind::Text { content } => Some(content.clone()),
        other => Some(format!("{other:?}")),
    }
}

/// The documented precedence, one row per case.
#[test]
fn the_documented_precedence_holds() {
    let document = json!({"rules": [
        {"on": "keyword", "match": "contains", "keyword": "价", "reply": text_reply("contains 价")},
        {"on": "keyword", "match": "prefix", "keyword": "价格", "reply": text_reply("prefix 价格")},
        {"on": "keyword", "match": "exact", "keyword": "价格表", "reply": text_reply("exact 价格表")},
        {"on": "keyword", "match": "prefix", "keyword": "价", "reply": text_reply("prefix 价")},
        {"on": "keyword", "match": "exact", "keyword": "Help", "ignore_case": true, "reply": text_reply("help")},
        {"on": "keyword", "match": "contains", "keyword": "ORDER", "ignore_case": true, "reply": text_reply("order")},
        {"on": "keyword", "match": "contains", "keyword": "Case", "reply": text_reply("Case exactly")},
        {"on": "subscribe", "reply": text_reply("welcome")},
        {"on": "subscribe", "scene": "shop-42", "reply": text_reply("welcome to 42")},
        {"on": "scan", "scene": "shop-42", "reply": text_reply("scanned 42")},
        {"on": "click", "key": "MENU_HELP", "reply": text_reply("menu help")},
        {"on": "default", "reply": text_reply("default")},
    ]});
    let matcher = Matcher::new(RuleSet::from_value(&document).unwrap());
    let scene = |s: &str| QrScene { scene: s.into(), ticket: None };
    let cases: Vec<(Message, Option<&str>)> = vec![
        (text("价格表"), Some("exact 价格表")),
        (text("  价格表 "), Some("exact 价格表")),
        (text("价格表呢"), Some("prefix 价格")),
        (text("价钱"), Some("prefix 价")),
        (text("问价"), Some("contains 价")),
        (text("HELP"), Some("help")),
        (text("help me"), Some("default")),
        (text("my Order 42"), Some("order")),
        (text("a Case"), Some("Case exactly")),
        (text("a case"), Some("default")),
        (text("hello"), Some("default")),
        (message(MessageKind::Subscribe { scene: None }), Some("welcome")),
        (message(MessageKind::Subscribe { scene: Some(scene("shop-42")) }), Some("welcome to 42")),
        (message(MessageKind::Subscribe { scene: Some(scene("shop-7")) }), Some("welcome")),
        (message(MessageKind::Scan { scene: scene("shop-42") }), Some("scanned 42")),
        (message(MessageKind::Scan { scene: scene("shop-7") }), None),
        (message(MessageKind::Click { key: "MENU_HELP".into() }), Some("menu help")),
        (message(MessageKind::Click { key: "OTHER".into() }), None),
        (message(MessageKind::Unsubscribe), None),
        (message(MessageKind::Image { pic_url: "u".into(), media_id: "m".into() }), Some("default")),
        (
            message(MessageKind::Voice {
                media_id: "m".into(),
                format: "amr".into(),
                recognition: Some("价格表".into()),
            }),
            Some("exact 价格表"),
        ),
        (
            message(MessageKind::Voice { media_id: "m".into(), format: "amr".into(), recognition: None }),
            Some("default"),
        ),
    ];
    for (message, expected) in cases {
        assert_eq!(answer(&matcher, &message).as_deref(), expected, "{:?}", message.kind);
    }
    let reply = matcher.reply(&text("价格表"), 42).unwrap();
    assert_eq!(
        (reply.to_user_name.as_str(), reply.from_user_name.as_str(), reply.create_time),
        ("o_follower", "gh_account", 42)
    );
}

#[test]
fn an_empty_set_answers_nothing() {
    let matcher = Matcher::new(RuleSet::default());
    assert!(matcher.is_empty());
    assert_eq!(matcher.rule_for(&text("hello")), None);
    assert_eq!(matcher.rule_for(&message(MessageKind::Subscribe { scene: None })), None);
}

#[test]
fn every_reply_kind_round_trips_through_the_canonical_document() {
    let document = json!({"rules": [
        {"name": "欢迎", "on": "subscribe", "reply": text_reply("你好\n<b>&]]>")},
        {"on": "keyword", "keyword": "图", "reply": {"msgtype": "image", "image": {"media_id": "m1"}}},
        {"on": "keyword", "keyword": "声", "reply": {"msgtype": "voice", "voice": {"media_id": "m2"}}},
        {"on": "keyword", "keyword": "影", "reply": {"msgtype": "video", "video": {"media_id": "m3", "title": "t"}}},
        {"on": "keyword", "keyword": "乐", "reply": {"msgtype": "music", "music": {"thumb_media_id": "m4", "musicurl": "http://m"}}},
        {"on": "keyword", "keyword": "文", "reply": {"msgtype": "news", "news": {"articles": [{"title": "t", "description": "d", "url": "https://u", "picurl": "https://p"}]}}},
    ]});
    let set = RuleSet::from_value(&document).unwrap();
    assert_eq!(set.rules.len(), 6);
    let canonical = set.to_value();
    assert_eq!(RuleSet::from_value(&canonical).unwrap(), set);
    assert_eq!(canonical["rules"][1]["match"], "exact", "the default match is written out");
    assert_eq!(canonical["rules"][0]["name"], "欢迎");
    let matcher = Matcher::new(set);
    let rendered = matcher.reply(&text("乐"), 1).unwrap().render();
    assert!(rendered.contains("<ThumbMediaId><![CDATA[m4]]></ThumbMediaId>"), "{rendered}");
    let rendered = matcher.reply(&message(MessageKind::Subscribe { scene: None }), 1).unwrap().render();
    let parsed = roxmltree::Document::parse(&rendered).unwrap();
    let content = parsed.descendants().find(|n| n.has_tag_name("Content")).unwrap().text().unwrap();
    assert_eq!(content, "你好\n<b>&]]>");
}

#[test]
fn bad_documents_name_the_rule_and_the_field() {
    let rule = |on: Value| json!({"rules": [{"on": "default", "reply": text_reply("ok")}, on]});
    let cases = [
        (json!([]), None, "must be an object"),
        (json!({"rules": {}}), None, "must be a list"),
        (json!({"rules": [], "extra": 1}), None, "unknown field \"extra\""),
        (rule(json!({"reply": text_reply("x")})), Some(1), "on is missing"),
        (
            rule(json!({"on": "later", "reply": text_reply("x")})),
            Some(1),
            "on must be one of subscribe, scan, keyword, click, default (not \"later\")",
        ),
        (rule(json!({"on": "keyword", "reply": text_reply("x")})), Some(1), "keyword is missing"),
        (rule(json!({"on": "keyword", "keyword": " ", "reply": text_reply("x")})), Some(1), "keyword is empty"),
        (rule(json!({"on": "keyword", "keyword": "a ", "reply": text_reply("x")})), Some(1), "white space"),
        (
            rule(json!({"on": "keyword", "keyword": "长".repeat(21), "reply": text_reply("x")})),
            Some(1),
            "longer than 60 bytes",
        ),
        (
            rule(json!({"on": "keyword", "keyword": "a", "match": "regex", "reply": text_reply("x")})),
            Some(1),
            "match must be",
        ),
        (
            rule(json!({"on": "keyword", "keyword": "a", "ignore_case": "yes", "reply": text_reply("x")})),
            Some(1),
            "ignore_case",
        ),
        (rule(json!({"on": "click", "reply": text_reply("x")})), Some(1), "key is missing"),
        (
            rule(json!({"on": "click", "key": "k", "scene": "s", "reply": text_reply("x")})),
            Some(1),
            "unknown field \"scene\"",
        ),
        (
            rule(json!({"on": "subscribe", "scene": "s".repeat(65), "reply": text_reply("x")})),
            Some(1),
            "scene is longer",
        ),
        (rule(json!({"on": "subscribe"})), Some(1), "reply is missing"),
        (
            rule(json!({"on": "subscribe", "reply": {"msgtype": "mpnews", "mpnews": {}}})),
            Some(1),
            "reply: unknown field \"mpnews\" (allowed: msgtype, text, image, voice, video, music, news)",
        ),
        (
            rule(json!({"on": "subscribe", "reply": {"msgtype": "mpnews"}})),
            Some(1),
            "reply.msgtype must be one of text, image, voice, video, music, news (not \"mpnews\")",
        ),
        (rule(json!({"on": "subscribe", "reply": {"msgtype": "text"}})), Some(1), "reply.text is missing"),
        (
            rule(
                json!({"on": "subscribe", "reply": {"msgtype": "text", "text": {"content": "x"}, "image": {"media_id": "m"}}}),
            ),
            Some(1),
            "reply: unknown field \"image\" for a text reply",
        ),
        (
            rule(json!({"on": "subscribe", "reply": {"msgtype": "text", "text": {"content": 5}}})),
            Some(1),
            "reply.text.content must be a string",
        ),
        (
            json!({"rules": [{"on": "default", "reply": text_reply("ok")}, 7]}),
            Some(1),
            "rules[1]: the rule must be an object",
        ),
        (rule(json!({"on": "subscribe", "reply": text_reply("")})), Some(1), "reply.text.content is empty"),
        (
            rule(json!({"on": "subscribe", "reply": text_reply(&"字".repeat(2049))})),
            Some(1),
            "longer than 2048 characters",
        ),
        (
            rule(json!({"on": "subscribe", "reply": {"msgtype": "image", "image": {"media_id": "m", "url": "u"}}})),
            Some(1),
            "unknown field \"url\"",
        ),
        (
            rule(
                json!({"on": "subscribe", "reply": {"msgtype": "news", "news": {"articles": [{"title": "a", "url": "u"}, {"title": "b", "url": "u"}]}}}),
            ),
            Some(1),
            "exactly one article",
        ),
        (rule(json!({"on": "default", "reply": text_reply("again")})), Some(1), "same trigger as rules[0]"),
        (rule(json!({"on": "subscribe", "name": "n".repeat(65), "reply": text_reply("x")})), Some(1), "name is longer"),
    ];
    for (document, index, expected) in cases {
        let err = RuleSet::from_value(&document).unwrap_err();
        assert_eq!(err.index, index, "{document}: {err}");
        assert!(err.to_string().contains(expected), "{document}: {err}");
    }
    let same_ignoring_case = json!({"rules": [
        {"on": "keyword", "keyword": "Hi", "ignore_case": true, "reply": text_reply("1")},
        {"on": "keyword", "keyword": "hI", "reply": text_reply("2")},
    ]});
    assert!(
        RuleSet::from_value(&same_ignoring_case)
            .unwrap_err()
            .to_string()
            .starts_with("rules[1]: it has the same trigger")
    );
}

#[test]
fn limits_are_enforced_on_write() {
    let many: Vec<Value> = (0..=MAX_RULES)
        .map(|i| json!({"on": "keyword", "keyword": format!("k{i}"), "reply": text_reply("x")}))
        .collect();
    let err = RuleSet::from_value(&json!({"rules": many})).unwrap_err();
    assert_eq!(err.to_string(), format!("{} rules; an account may have at most {MAX_RULES}", MAX_RULES + 1));
    let exactly: Vec<Value> = many[..MAX_RULES].to_vec();
    assert_eq!(RuleSet::from_value(&json!({"rules": exactly})).unwrap().rules.len(), MAX_RULES);
    let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
    assert!(RuleSet::parse(&big).unwrap_err().to_string().contains("larger than"));
    assert!(RuleSet::parse(b"{").unwrap_err().to_string().contains("not JSON"));
}

/// The plain reading of the precedence, rule by rule: what the matcher must agree with.
fn reference(set: &RuleSet, content: &str) -> Option<usize> {
    let content = content.trim();
    let fits = |keyword: &str, ignore_case: bool, mode: KeywordMatch| {
        let (text, keyword) = if ignore_case {
            (content.to_lowercase(), keyword.to_lowercase())
        } else {
            (content.to_owned(), keyword.to_owned())
        };
        match mode {
            KeywordMatch::Exact => text == keyword,
            KeywordMatch::Prefix => text.starts_with(&keyword),
            KeywordMatch::Contains => text.contains(&keyword),
        }
    };
    if !content.is_empty() {
        for wanted in [KeywordMatch::Exact, KeywordMatch::Prefix, KeywordMatch::Contains] {
            let found = set.rules.iter().position(|rule| {
                matches!(&rule.trigger, Trigger::Keyword { keyword, mode, ignore_case } if *mode == wanted && fits(keyword, *ignore_case, *mode))
            });
            if found.is_some() {
                return found;
            }
        }
    }
    set.rules.iter().position(|rule| rule.trigger == Trigger::Default)
}

fn keyword_rule() -> impl Strategy<Value = Value> {
    let keyword = prop::sample::select(vec!["a", "ab", "AB", "b", "价", "价格", "Ab", "ba", "格"]);
    let mode = prop::sample::select(vec!["exact", "prefix", "contains"]);
    (keyword, mode, any::<bool>()).prop_map(|(keyword, mode, ignore_case)| {
        json!({"on": "keyword", "keyword": keyword, "match": mode, "ignore_case": ignore_case, "reply": text_reply("x")})
    })
}

proptest! {
    #[test]
    fn the_matcher_agrees_with_the_plain_reading(
        rules in prop::collection::vec(keyword_rule(), 0..12),
        with_default in any::<bool>(),
        content in "[aAbB价格 ]{0,6}",
    ) {
        let mut list = Vec::new();
        for rule in rules {
            // Duplicated triggers are refused on write; keep the first like an operator would.
            let candidate = RuleSet::from_value(&json!({"rules": [rule.clone()]})).unwrap().rules.remove(0);
            if !list.iter().any(|r: &Value| same_trigger(&RuleSet::from_value(&json!({"rules": [r]})).unwrap().rules[0].trigger, &candidate.trigger)) {
                list.push(rule);
            }
        }
        if with_default {
            list.push(json!({"on": "default", "reply": text_reply("d")}));
        }
        let set = RuleSet::from_value(&json!({"rules": list})).unwrap();
        let expected = reference(&set, &content);
        let matcher = Matcher::new(set.clone());
        let got = matcher.rule_for(&text(&content)).cloned();
        prop_assert_eq!(got, expected.map(|i| set.rules[i].clone()), "content {:?}", content);
    }
}

/// The largest rule set by automaton size: 100 case-sensitive and 100 case-insensitive contains
/// keywords of the longest length, with no shared prefix (each its own chain of states).
fn worst_case_set() -> RuleSet {
    let keyword = |i: usize| -> String {
        // 60 bytes (20 three-byte characters), distinct from the first character on.
        (0..MAX_KEYWORD_BYTES / 3)
            .map(|j| char::from_u32(0x4e00 + ((i * 31 + j * 7) % 20000) as u32).unwrap())
            .collect()
    };
    let rules: Vec<Value> = (0..MAX_RULES)
        .map(|i| {
            json!({"on": "keyword", "keyword": keyword(i), "match": "contains", "ignore_case": i % 2 == 0,
                "reply": text_reply("x")})
        })
        .collect();
    RuleSet::from_value(&json!({ "rules": rules })).expect("valid")
}

/// The worst rule document compiles small: a cache of many accounts stays within its byte budget
/// (two dense DFAs of this set took about 6 MB each before, so 21 accounts filled 256 MB).
#[test]
fn the_worst_rule_document_compiles_to_a_small_automaton() {
    let set = worst_case_set();
    assert_eq!(set.rules.len(), MAX_RULES);
    let last: String = match &set.rules[MAX_RULES - 1].trigger {
        Trigger::Keyword { keyword, .. } => keyword.clone(),
        other => panic!("{other:?}"),
    };
    let matcher = Matcher::new(set);
    let bytes = matcher.automata_bytes();
    println!("worst-case document: automata {bytes} bytes");
    assert!(bytes < 512 * 1024, "{bytes} bytes");
    // And it still answers: the last rule's keyword inside a longer text.
    assert!(matcher.rule_for(&text(&format!("请问{last}怎么办"))).is_some());
}
