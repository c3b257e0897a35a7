//! Hostile input, generated: 10,000 malformed requests per HTTP function, each an API Gateway v2
//! event deserialised by lambda_http exactly as in Lambda (so Base64-encoded bodies are decoded
//! by the real code), then handled. Every answer must be one of the contract's 4xx statuses (never
//! `success`, never 5xx), no handler may panic, and the store must see no write. The account
//! list, whose only input is the caller's identity, gets 10,000 hostile identities instead.
//!
//! Seeded, so a failure names a reproducible case (`HOSTILE_SEED` to explore other seeds).

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_http::Body;
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng as _};
use serde_json::json;
use shared::app::App;
use shared::crypto::KeySlot;
use shared::store::MemoryStore;

use crate::events::http_event;
use crate::support::{Function, appid, memory_app as app, status_and_body};

const PER_FUNCTION: usize = 10_000;
const ACCOUNT: &str = "wx1000000000000001";

fn seed() -> u64 {
    std::env::var("HOSTILE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_2026)
}

/// One malformed push: its query, its body bytes, and whether API Gateway Base64-encodes it.
struct Push {
    kind: &'static str,
    query: Vec<(&'static str, String)>,
    body: Vec<u8>,
    base64: bool,
}

fn random_bytes(rng: &mut StdRng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.random_range(0..=255u8)).collect()
}

fn signed_query(app: &App<MemoryStore>, encrypt: &str, rng: &mut StdRng) -> Vec<(&'static str, String)> {
    let timestamp = rng.random_range(1_600_000_000u64..1_900_000_000).to_string();
    let nonce = rng.random_range(0..u32::MAX).to_string();
    let signature = app.config.push_crypto().unwrap().msg_signature(&timestamp, &nonce, encrypt);
    vec![("timestamp", timestamp), ("nonce", nonce), ("encrypt_type", "aes".into()), ("msg_signature", signature)]
}

fn envelope(encrypt: &str) -> Vec<u8> {
    format!("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>").into_bytes()
}

/// A ciphertext of `plain` framed for `appid` with our key (so only what follows decryption fails).
fn sealed(app: &App<MemoryStore>, plain: &str, rng: &mut StdRng) -> String {
    let random: [u8; 16] = std::array::from_fn(|_| rng.random_range(0..=255u8));
    app.config.push_crypto().unwrap().encrypt_with(KeySlot::Current, &random, plain).unwrap()
}

fn generate(app: &App<MemoryStore>, rng: &mut StdRng, head: &str) -> Push {
    let valid_xml = format!(
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content><MsgId>1</MsgId>{head}</xml>"
    );
    let good = sealed(app, &valid_xml, rng);
    let (kind, encrypt, body): (&'static str, String, Option<Vec<u8>>) = match rng.random_range(0..14u32) {
        0 => {
            // Bad Base64: characters outside the alphabet, signed so decoding is reached.
            let mut chars: Vec<char> = good.chars().collect();
            for _ in 0..rng.random_range(1..6) {
                let at = rng.random_range(0..chars.len());
                chars[at] = ['!', '*', '-', '_', ' ', '=', '\u{e9}'][rng.random_range(0..7)];
            }
            ("bad base64", chars.into_iter().collect(), None)
        }
        1 => {
            let cut = rng.random_range(1..good.len());
            ("truncated ciphertext", good[..cut].to_owned(), None)
        }
        2 => {
            // Whole Base64 of a length that is not a multiple of the AES block (or of 32).
            let len = loop {
                let len = rng.random_range(1..600usize);
                if !len.is_multiple_of(32) {
                    break len;
                }
            };
            ("wrong block size", STANDARD.encode(random_bytes(rng, len)), None)
        }
        3 => {
            let len = 32 * rng.random_range(1..20usize);
            ("random blocks", STANDARD.encode(random_bytes(rng, len)), None)
        }
        4 => {
            let other =
                shared::WeChatCrypto::new(crate::support::token(), crate::support::key(), "wx00000000000bad").unwrap();
            ("wrong appid", other.encrypt_with(KeySlot::Current, b"0123456789abcdef", &valid_xml).unwrap(), None)
        }
        5 => {
            let depth = rng.random_range(65..3000);
            let xml = format!("<xml>{}{}</xml>", "<a>".repeat(depth), "</a>".repeat(depth));
            ("deep XML inside", sealed(app, &xml, rng), None)
        }
        6 => {
            let tricks = [
                "<!DOCTYPE xml [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]><xml><Content>&b;</Content></xml>",
                "<!DOCTYPE xml [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><xml><Content>&x;</Content></xml>",
                "<xml><Content>&unknown;</Content></xml>",
                "<xml><MsgType>text</MsgType><Content>&#xD800;</Content></xml>",
                "<xml><MsgType>text</MsgType></xml>",
                "<xml><FromUserName>a</FromUserName><CreateTime>soon</CreateTime><MsgType>text</MsgType></xml>",
                "<notxml/>",
                "",
            ];
            ("entity or field trick inside", sealed(app, tricks[rng.random_range(0..tricks.len())], rng), None)
        }
        7 => {
            let len = rng.random_range(1..2000);
            ("invalid UTF-8 body", String::new(), Some(random_bytes(rng, len).into_iter().map(|b| b | 0x80).collect()))
        }
        8 => {
            let size = rng.random_range(64 * 1024 + 1..200 * 1024);
            ("oversized body", String::new(), Some(vec![b'<'; size]))
        }
        9 => {
            let depth = rng.random_range(65..5000);
            let xml = format!("<xml>{}{}</xml>", "<a>".repeat(depth), "</a>".repeat(depth));
            ("deep XML envelope", good.clone(), Some(xml.into_bytes()))
        }
        10 => {
            let n = rng.random_range(4100..7000);
            let xml = format!("<xml>{}<Encrypt>{good}</Encrypt></xml>", "<F>x</F>".repeat(n));
            ("huge XML envelope", good.clone(), Some(xml.into_bytes()))
        }
        11 => {
            let xml = format!("<!DOCTYPE xml [<!ENTITY e \"{good}\">]><xml><Encrypt>&e;</Encrypt></xml>");
            ("entity trick envelope", good.clone(), Some(xml.into_bytes()))
        }
        12 => ("missing or repeated parameter", good.clone(), None),
        _ => {
            let mut body = envelope(&good);
            let cut = rng.random_range(0..body.len());
            body.truncate(cut);
            ("truncated envelope", good.clone(), Some(body))
        }
    };
    let mut query = signed_query(app, &encrypt, rng);
    if kind == "missing or repeated parameter" {
        let at = rng.random_range(0..query.len());
        if rng.random_bool(0.5) {
            query.remove(at);
        } else {
            let (name, _) = query[at].clone();
            query.push((name, format!("other{}", rng.random_range(0..1000u32))));
        }
    }
    let body = body.unwrap_or_else(|| envelope(&encrypt));
    Push { kind, query, body, base64: rng.random_bool(0.5) }
}

fn event(
    method: &str,
    path: &str,
    route: &str,
    query: &[(&str, String)],
    body: &[u8],
    base64: bool,
) -> lambda_http::Request {
    let body = if base64 { STANDARD.encode(body) } else { String::from_utf8_lossy(body).into_owned() };
    // A repeated name reaches the handler the way API Gateway sends it: comma-joined in
    // queryStringParameters, both values in rawQueryString.
    let mut joined: HashMap<&str, String> = HashMap::new();
    for (k, v) in query {
        joined.entry(k).and_modify(|e| *e = format!("{e},{v}")).or_insert_with(|| v.clone());
    }
    let joined: Vec<(&str, String)> = joined.into_iter().collect();
    let mut value = http_event(method, path, route, query, json!({"content-type": "text/xml"}), Some(body), base64);
    value["queryStringParameters"] = json!(joined.into_iter().collect::<HashMap<_, _>>());
    lambda_http::request::from_str(&value.to_string()).expect("an API Gateway event")
}

async fn answer(app: &App<MemoryStore>, function: Function, request: lambda_http::Request) -> (u16, String) {
    status_and_body(function.handle(app, request).await)
}

#[tokio::test]
async fn ten_thousand_malformed_pushes_per_push_function() {
    let appid = appid();
    let app = app();
    let mut rng = StdRng::seed_from_u64(seed());
    for (function, path, route, head) in [
        (
            Function::TicketReceiver,
            "/wechat/component/events".to_owned(),
            "/wechat/component/events",
            format!("<AppId>{appid}</AppId>"),
        ),
        (Function::EventCallback, format!("/wechat/{ACCOUNT}/callback"), "/wechat/{appid}/callback", String::new()),
    ] {
        let mut kinds: HashMap<&str, usize> = HashMap::new();
        for i in 0..PER_FUNCTION {
            let push = generate(&app, &mut rng, &head);
            let request = event("POST", &path, route, &push.query, &push.body, push.base64);
            let request = if function == Function::EventCallback {
                lambda_http::RequestExt::with_path_parameters(
                    request,
                    HashMap::from([("appid".to_owned(), ACCOUNT.to_owned())]),
                )
            } else {
                request
            };
            let (status, body) = answer(&app, function, request).await;
            assert!(
                matches!(status, 400 | 401 | 413),
                "{function} case {i} ({}, base64 {}): {status} {body}",
                push.kind,
                push.base64
            );
            assert_ne!(body, "success", "{function} case {i} ({})", push.kind);
            *kinds.entry(push.kind).or_default() += 1;
        }
        assert_eq!(kinds.len(), 14, "every kind of malformation was generated for {function}: {kinds:?}");
    }
    assert_eq!(app.platform.store().writes(), 0, "malformed pushes stored nothing");
}

#[tokio::test]
async fn ten_thousand_malformed_dashboard_and_callback_requests() {
    let app = app();
    let mut rng = StdRng::seed_from_u64(seed() ^ 0xda5b);
    let valid_state = crate::gateway::signer().sign("alice", app.platform.now() + 600);
    let names = ["auth_type", "mode", "biz_appid", "state", "auth_code", "expires_in", "x"];
    let values = [
        "0",
        "4",
        "7",
        "-1",
        "1e3",
        "tablet",
        "<script>",
        "wx",
        "%00",
        "🙂",
        "a,b",
        "",
        "pc",
        "1",
        "wx1000000000000001",
    ];
    for (function, path) in
        [(Function::QrUrlIssuer, "/wechat/authorize-url"), (Function::AuthCallback, "/wechat/authorize/callback")]
    {
        for i in 0..PER_FUNCTION {
            let mut query: Vec<(&str, String)> = (0..rng.random_range(1..6))
                .map(|_| {
                    let name = names[rng.random_range(0..names.len())];
                    let value = if rng.random_bool(0.1) {
                        "v".repeat(rng.random_range(1000..20_000))
                    } else {
                        values[rng.random_range(0..values.len())].to_owned()
                    };
                    (name, value)
                })
                .collect();
            if function == Function::QrUrlIssuer {
                // Make it malformed for sure: an out-of-range auth_type or mode, or a conflicting repeat.
                match rng.random_range(0..3u32) {
                    0 => query.push(("auth_type", ["0", "7", "x", "-1"][rng.random_range(0..4)].into())),
                    1 => query.push(("mode", ["tablet", "PC ", "<b>"][rng.random_range(0..3)].into())),
                    _ => query.extend([("auth_type", "1".into()), ("auth_type", "2".into())]),
                }
            } else if rng.random_bool(0.3) {
                // A genuine state with a tampered byte.
                let mut state = valid_state.clone().into_bytes();
                let at = rng.random_range(0..state.len());
                state[at] = if state[at] == b'A' { b'B' } else { b'A' };
                query.push(("state", String::from_utf8_lossy(&state).into_owned()));
                query.push(("auth_code", "queryauthcode@@@x".into()));
            }
            let request = event("GET", path, path, &query, b"", false);
            let (status, body) = answer(&app, function, request).await;
            assert!(matches!(status, 400 | 403), "{function} case {i} {query:?}: {status} {body}");
        }
    }
    assert_eq!(app.platform.store().writes(), 0, "malformed requests stored nothing");
}

/// authorizer-list's main input is who is asking (`DASHBOARD_AUTH=jwt`: the JWT's `iss` and
/// `sub`; other query parameters and the body are ignored), so its hostile requests are hostile
/// identities: missing, empty, overlong, look-alike and injection-shaped claims, with random query
/// strings and bodies. Each must get either 401 `1006` or exactly its own accounts (never another
/// user's, never the unclaimed ones), no token in any answer, and no write.
#[tokio::test]
async fn ten_thousand_hostile_identities_at_the_account_list() {
    use shared::Secret;
    use shared::store::{AuthorizerStore, NewAuthorization, UNCLAIMED_OWNER};

    const ISSUER: &str = "https://idp.example";
    let app = crate::support::memory_app_with(&[("DASHBOARD_AUTH", "jwt".to_owned())]);
    let owners = ["jwt:https://idp.example:alice", "jwt:https://idp.example:bob", UNCLAIMED_OWNER];
    let mut accounts: HashMap<&str, Vec<String>> = HashMap::new();
    let mut secrets = Vec::new();
    for i in 0..9 {
        let owner = owners[i % 3];
        let appid = format!("wx{:016}", 2_000 + i);
        let (access, refresh) = (format!("ACCESS-secret()-{i}"), format!("REFRESH-secret()-{i}"));
        let authorization = NewAuthorization {
            authorizer_appid: appid.clone(),
            access_token: Secret::new(access.clone()),
            expires_at: 1_900_000_000,
            refresh_token: Secret::new(refresh.clone()),
            received_ms: 1_732_000_000_000,
            authorized_at: 1_732_000_000,
        };
        app.platform.store().save_authorization(&authorization, 1_732_000_000).await.unwrap();
        app.platform.store().set_owner(&appid, owner, 1_732_000_000).await.unwrap();
        accounts.entry(owner).or_default().push(appid);
        secrets.extend([access, refresh]);
    }
    let writes = app.platform.store().writes();
    let mut rng = StdRng::seed_from_u64(seed() ^ 0x1157);
    let look_alikes = [
        "alice ",
        " alice",
        "ALICE",
        "alice\0",
        "alice\u{200b}",
        "%61lice",
        "alice#",
        "owner#alice",
        "bob,alice",
        "unclaimed",
        "default",
        "local:demo",
        "https://idp.example:alice",
        "*",
        "' OR 1=1 --",
        "{\"S\":\"alice\"}",
        "alice\nbob",
        "🙂",
        "null",
        "undefined",
    ];
    let mut outcomes: HashMap<&str, usize> = HashMap::new();
    for i in 0..PER_FUNCTION {
        // None: no authorizer at all; Some(None): an authorizer without `sub`.
        let sub: Option<Option<String>> = match rng.random_range(0..8u32) {
            0 => None,
            1 => Some(None),
            2 => Some(Some(String::new())),
            3 => Some(Some("a".repeat(rng.random_range(257..20_000)))),
            4 => Some(Some(["alice", "bob"][rng.random_range(0..2)].to_owned())),
            5 => Some(Some("x".repeat(256))),
            6 => {
                let len = rng.random_range(1..64);
                Some(Some(String::from_utf8_lossy(&random_bytes(&mut rng, len)).into_owned()))
            }
            _ => Some(Some(look_alikes[rng.random_range(0..look_alikes.len())].to_owned())),
        };
        let query: Vec<(&str, String)> = (0..rng.random_range(0..4))
            .map(|_| (["owner", "sub", "user", "iss"][rng.random_range(0..4)], owners[rng.random_range(0..3)].into()))
            .collect();
        let len = rng.random_range(0..512);
        let body = random_bytes(&mut rng, len);
        let method = ["GET", "POST", "DELETE"][rng.random_range(0..3)];
        let base64 = rng.random_bool(0.5);
        let body = if base64 { STANDARD.encode(&body) } else { String::from_utf8_lossy(&body).into_owned() };
        let mut value =
            http_event(method, "/wechat/authorizers", "/wechat/authorizers", &query, json!({}), Some(body), base64);
        // One in eight tokens has no issuer: also refused (an identity is the pair).
        let with_issuer = rng.random_range(0..8u32) != 0;
        if let Some(sub) = &sub {
            let mut claims = sub.as_ref().map_or_else(|| json!({}), |s| json!({"sub": s}));
            if with_issuer {
                claims["iss"] = json!(ISSUER);
            }
            value["requestContext"]["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
        }
        let request = lambda_http::request::from_str(&value.to_string()).expect("an API Gateway event");
        let response = authorizer_list::handle(&app, request).await.expect("handlers answer every request");
        let status = response.status().as_u16();
        let text = match response.into_body() {
            Body::Text(t) => t,
            other => panic!("case {i}: a JSON text body, got {other:?}"),
        };
        let answer: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let expected_owner = match &sub {
            Some(Some(s)) if with_issuer && !s.is_empty() && s.len() <= 256 => Some(format!("jwt:{ISSUER}:{s}")),
            _ => None,
        };
        match expected_owner {
            None => {
                assert_eq!((status, &answer["code"]), (401, &json!(1006)), "case {i} sub {sub:?}: {text}");
                *outcomes.entry("refused").or_default() += 1;
            }
            Some(owner) => {
                assert_eq!((status, &answer["code"]), (200, &json!(0)), "case {i} sub {sub:?}: {text}");
                let mut listed: Vec<&str> = answer["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["authorizer_appid"].as_str().unwrap())
                    .collect();
                listed.sort_unstable();
                let own: Vec<&str> =
                    accounts.get(owner.as_str()).map_or(Vec::new(), |v| v.iter().map(String::as_str).collect());
                assert_eq!(listed, own, "case {i}: sub {sub:?} sees exactly its own accounts");
                *outcomes.entry(if own.is_empty() { "empty list" } else { "own accounts" }).or_default() += 1;
            }
        }
        assert!(!secrets.iter().any(|s| text.contains(s.as_str())), "case {i}: a token in the answer");
    }
    assert_eq!(outcomes.len(), 3, "refused, own accounts and empty lists all generated: {outcomes:?}");
    assert_eq!(app.platform.store().writes(), writes, "listing stored nothing");
}

/// Web authorization's three routes, hostile: random and malformed starts (scopes, return
/// targets off the allow-list or not URLs at all, `user_ref`s that a public link may not carry,
/// junk minted-start tokens, repeats), callbacks with tampered or foreign states and junk codes,
/// and junk redemptions on the account's route. Each must be
/// a 4xx page or answer, and nothing may be stored or sent to WeChat (the account is unknown,
/// the states are not ours, the tickets never issued).
#[tokio::test]
async fn ten_thousand_hostile_web_authorization_requests() {
    let app = crate::support::memory_app_with(&[
        ("OAUTH_REDIRECT_URL", "https://wechat.example.com/wechat/oauth/callback".to_owned()),
        ("OAUTH_RETURN_ORIGINS", "https://shop.example.com".to_owned()),
    ]);
    let mut rng = StdRng::seed_from_u64(seed() ^ 0x0a17);
    let genuine =
        shared::auth_state::StateSigner::for_web_authorization(&shared::Secret::new(crate::support::secret()))
            .sign("", app.platform.now() + 600);
    let scopes = ["snsapi_base", "snsapi_userinfo", "snsapi_login", "", "SNSAPI_BASE", "snsapi_base,x", "<b>"];
    let returns = [
        "https://shop.example.com/bind",
        "https://shop.example.com.evil.example/",
        "https://evil.example/?https://shop.example.com",
        "//evil.example",
        "javascript:alert(1)",
        "/relative",
        "",
        "https://shop.example.com@evil.example/",
    ];
    let refs = ["shop-user-1".to_owned(), String::new(), "x".repeat(129), "a\u{0}b".to_owned(), "🙂".repeat(40)];
    for i in 0..PER_FUNCTION {
        let (function, request) = match i % 3 {
            0 => {
                let mut query: Vec<(&str, String)> = Vec::new();
                if rng.random_bool(0.9) {
                    query.push(("scope", scopes[rng.random_range(0..scopes.len())].to_owned()));
                }
                if rng.random_bool(0.9) {
                    query.push(("return_to", returns[rng.random_range(0..returns.len())].to_owned()));
                }
                if rng.random_bool(0.5) {
                    query.push(("user_ref", refs[rng.random_range(0..refs.len())].clone()));
                }
                if rng.random_bool(0.1) {
                    query.push(("scope", "snsapi_base".to_owned()));
                }
                if rng.random_bool(0.2) {
                    query.push(("start", ["", "x", &"s".repeat(65), "%00"][rng.random_range(0..4)].to_owned()));
                }
                let appid = if rng.random_bool(0.8) {
                    ACCOUNT.to_owned()
                } else {
                    format!("wx{:016}", rng.random_range(0..99u64))
                };
                let path = format!("/wechat/oauth/{appid}/authorize");
                (Function::WebOauth, event("GET", &path, "/wechat/oauth/{appid}/authorize", &query, b"", false))
            }
            1 => {
                let mut state = genuine.clone().into_bytes();
                let at = rng.random_range(0..state.len());
                state[at] = if state[at] == b'A' { b'B' } else { b'A' };
                let state = match rng.random_range(0..4u32) {
                    0 => String::from_utf8_lossy(&state).into_owned(),
                    1 => "x".repeat(rng.random_range(0..3000)),
                    2 => format!("{genuine}.{genuine}"),
                    _ => String::new(),
                };
                let mut query = vec![("state", state)];
                if rng.random_bool(0.7) {
                    query.push(("code", ["0617x", "", "%00", &"c".repeat(600)][rng.random_range(0..4)].to_owned()));
                }
                if rng.random_bool(0.5) {
                    query.push(("appid", ACCOUNT.to_owned()));
                }
                let path = "/wechat/oauth/callback";
                (Function::WebOauth, event("GET", path, path, &query, b"", false))
            }
            _ => {
                let body = match rng.random_range(0..5u32) {
                    0 => random_bytes(&mut rng, 64),
                    1 => json!({"ticket": "x".repeat(rng.random_range(0..100))}).to_string().into_bytes(),
                    2 => json!({"ticket": "t", "user_ref": rng.random_range(0..9)}).to_string().into_bytes(),
                    3 => json!({"ticket": ["t"]}).to_string().into_bytes(),
                    _ => b"{}".to_vec(),
                };
                let path = format!("/wechat/backend/authorizers/{ACCOUNT}/web-tickets");
                let route = "/wechat/backend/authorizers/{appid}/{proxy+}";
                (Function::AccountActions, event("POST", &path, route, &[], &body, rng.random_bool(0.3)))
            }
        };
        let (status, body) = answer(&app, function, request).await;
        assert!((400..500).contains(&status), "case {i}: {status} {body}");
        assert!(!body.contains("\"openid\""), "case {i}: {body}");
    }
    assert_eq!(app.platform.store().writes(), 0, "hostile web-authorization requests stored nothing");
}
