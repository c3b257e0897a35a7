//! Bad input at every HTTP function gets the contract's answer and writes nothing.

use lambda_http::{Body, Request, RequestExt};
use shared::app::App;
use shared::crypto::KeySlot;
use shared::store::MemoryStore;
use std::collections::HashMap;

use crate::support::{Function, SealedPush, appid, memory_app as app};

fn post(path: &str, query: &[(&str, &str)], body: Vec<u8>) -> Request {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in query {
        map.entry((*k).to_owned()).or_default().push((*v).to_owned());
    }
    let mut request = lambda_http::http::Request::builder().method("POST").uri(path).body(Body::Binary(body)).unwrap();
    request = request.with_query_string_parameters(map);
    if let Some(appid) = path.split('/').rev().nth(1) {
        request = request.with_path_parameters(HashMap::from([("appid".to_owned(), appid.to_owned())]));
    }
    request
}

async fn status_of(app: &App<MemoryStore>, function: Function, request: Request) -> u16 {
    let response = function.handle(app, request).await;
    response.status().as_u16()
}

#[tokio::test]
async fn unauthentic_or_malformed_pushes_get_4xx_and_store_nothing() {
    let appid = appid();
    let app = app();
    let ticket = format!(
        "<xml><AppId>{appid}</AppId><CreateTime>1</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>t</ComponentVerifyTicket></xml>"
    );
    for (function, path, head) in [
        (Function::TicketReceiver, "/wechat/component/events", format!("<AppId>{appid}</AppId>")),
        (Function::EventCallback, "/wechat/wx1000000000000001/callback", "<ToUserName>gh_1</ToUserName>".to_owned()),
    ] {
        let SealedPush { query, body } = SealedPush::new(&ticket, &head, "1732000000", "77");
        let q = |skip: &str, replace: Option<(&str, &str)>| -> Vec<(String, String)> {
            query
                .iter()
                .filter(|(k, _)| k != skip)
                .map(|(k, v)| match replace {
                    Some((name, value)) if name == k => (k.clone(), value.to_owned()),
                    _ => (k.clone(), v.clone()),
                })
                .collect()
        };
        let send = |query: Vec<(String, String)>, body: Vec<u8>| {
            let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            post(path, &pairs, body)
        };
        let cases: Vec<(&str, Request, u16)> = vec![
            (
                "wrong signature",
                send(q("", Some(("msg_signature", "0000000000000000000000000000000000000000"))), body.clone()),
                401,
            ),
            ("missing signature", send(q("msg_signature", None), body.clone()), 401),
            ("missing timestamp", send(q("timestamp", None), body.clone()), 401),
            ("plaintext push", send(q("encrypt_type", None), body.clone()), 400),
            ("broken XML", send(q("", None), b"<xml><Encrypt>".to_vec()), 400),
            ("oversized body", send(q("", None), vec![b'x'; 70 * 1024]), 413),
            ("not XML", send(q("", None), b"\xff\xfe\x00garbage".to_vec()), 400),
        ];
        for (name, request, expected) in cases {
            assert_eq!(status_of(&app, function, request).await, expected, "{function}: {name}");
        }
        // Garbage base64 and a ciphertext for another appid, both correctly signed.
        let sign = |encrypt: &str| {
            let signature = app.config.push_crypto().unwrap().msg_signature("1732000000", "77", encrypt);
            let query = [
                ("timestamp", "1732000000"),
                ("nonce", "77"),
                ("encrypt_type", "aes"),
                ("msg_signature", signature.as_str()),
            ];
            post(path, &query, format!("<xml><Encrypt>{encrypt}</Encrypt></xml>").into_bytes())
        };
        assert_eq!(status_of(&app, function, sign("!!!not-base64!!!")).await, 400, "{function}: garbage base64");
        let other =
            shared::WeChatCrypto::new(crate::support::token(), crate::support::key(), "wx_someone_else").unwrap();
        let foreign = other.encrypt_with(KeySlot::Current, b"0123456789abcdef", &ticket).unwrap();
        assert_eq!(status_of(&app, function, sign(&foreign)).await, 400, "{function}: wrong appid");
    }
    assert_eq!(app.platform.store().writes(), 0, "nothing stored");
}

#[tokio::test]
async fn event_callback_needs_an_appid_in_the_path() {
    let app = app();
    let request =
        lambda_http::http::Request::builder().method("POST").uri("/wechat/callback").body(Body::Empty).unwrap();
    assert_eq!(event_callback::handle(&app, request).await.unwrap().status(), 400);
}

#[tokio::test]
async fn auth_callback_refuses_forged_expired_and_missing_state_without_calling_wechat() {
    let app = app();
    let get = |query: &[(&str, &str)]| {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in query {
            map.entry((*k).to_owned()).or_default().push((*v).to_owned());
        }
        lambda_http::http::Request::builder()
            .uri("/wechat/authorize/callback")
            .body(Body::Empty)
            .unwrap()
            .with_query_string_parameters(map)
    };
    let now = app.platform.now();
    let valid = crate::gateway::signer().sign("alice", now + 600);
    let expired = crate::gateway::signer().sign("alice", now - 1);
    let forged = shared::auth_state::StateSigner::new(&shared::Secret::new("not-our-secret")).sign("alice", now + 600);
    for (query, expected) in [
        (vec![("auth_code", "queryauthcode@@@x")], 400),
        (vec![("auth_code", "queryauthcode@@@x"), ("state", forged.as_str())], 403),
        (vec![("auth_code", "queryauthcode@@@x"), ("state", "garbage")], 403),
        (vec![("auth_code", "queryauthcode@@@x"), ("state", expired.as_str())], 400),
        (vec![("state", valid.as_str())], 400),
        (vec![("auth_code", "a"), ("auth_code", "b"), ("state", valid.as_str())], 400),
    ] {
        let response = auth_callback::handle(&app, get(&query)).await.unwrap();
        assert_eq!(response.status().as_u16(), expected, "{query:?}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    }
    assert_eq!(app.platform.store().writes(), 0);
}

#[tokio::test]
async fn url_verification_echoes_only_signed_echostr() {
    let app = app();
    let signature = shared::crypto::signature(&[crate::support::token(), "1714036504", "1514711492"]);
    for (path, function) in [
        ("/wechat/component/events", Function::TicketReceiver),
        ("/wechat/wx1000000000000001/callback", Function::EventCallback),
    ] {
        for (sig, expected) in [(signature.as_str(), 200u16), ("0000000000000000000000000000000000000000", 401)] {
            let query = HashMap::from([
                ("signature".to_owned(), vec![sig.to_owned()]),
                ("timestamp".to_owned(), vec!["1714036504".to_owned()]),
                ("nonce".to_owned(), vec!["1514711492".to_owned()]),
                ("echostr".to_owned(), vec!["4375120948345356249".to_owned()]),
            ]);
            let request = lambda_http::http::Request::builder()
                .method("GET")
                .uri(path)
                .body(Body::Empty)
                .unwrap()
                .with_query_string_parameters(query);
            let response = function.handle(&app, request).await;
            assert_eq!(response.status().as_u16(), expected, "{function}");
            if expected == 200 {
                assert_eq!(response.body(), &Body::Text("4375120948345356249".into()));
            }
        }
    }
    assert_eq!(app.platform.store().writes(), 0);
}

#[tokio::test]
async fn a_captured_push_replayed_outside_the_window_is_refused() {
    let appid = appid();
    let ticket = format!(
        "<xml><AppId>{appid}</AppId><CreateTime>1</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>replayed</ComponentVerifyTicket></xml>"
    );
    let push = |_: &App<MemoryStore>, sent: i64| {
        crate::support::SealedPush::new(&ticket, "", &sent.to_string(), "77").request("/wechat/component/events")
    };
    let app = app();
    assert_eq!(app.config.push_max_age_secs, 300, "on by default");
    let now = app.platform.now();
    for sent in [now - 301, now + 301, now - 86_400] {
        assert_eq!(
            status_of(&app, Function::TicketReceiver, push(&app, sent)).await,
            401,
            "signed {} s ago",
            now - sent
        );
    }
    assert_eq!(app.platform.store().writes(), 0, "replays store nothing");
    assert_eq!(status_of(&app, Function::TicketReceiver, push(&app, now - 290)).await, 200, "inside the window");
    assert_eq!(app.platform.store().writes(), 1);

    // PUSH_MAX_AGE_SECS=0 turns the window off (the committed sample events rely on it).
    let config = crate::support::config(&[("PUSH_MAX_AGE_SECS", "0".to_owned())]);
    let open = crate::support::on_memory_bus(config, MemoryStore::new()).0;
    assert_eq!(status_of(&open, Function::TicketReceiver, push(&open, now - 86_400)).await, 200);
    for bad in ["-1", "five", "1.5"] {
        let lookup = |k: &str| if k == "PUSH_MAX_AGE_SECS" { Some(bad.to_owned()) } else { None };
        let err = shared::config::Config::from_lookup(|k| {
            lookup(k).or_else(|| {
                HashMap::from([
                    ("COMPONENT_APPID", appid),
                    ("COMPONENT_APPSECRET", crate::support::secret()),
                    ("COMPONENT_TOKEN", crate::support::token()),
                    ("COMPONENT_ENCODING_AES_KEY", crate::support::key()),
                    ("TABLE_NAME", "t"),
                    ("DASHBOARD_AUTH", "jwt"),
                ])
                .get(k)
                .map(|v| (*v).to_owned())
            })
        })
        .unwrap_err();
        assert_eq!(err.variable, "PUSH_MAX_AGE_SECS", "{bad}");
    }
}

/// Closed by default: each `DASHBOARD_AUTH` mode answers only requests that carry the identity it
/// promises (a route deployed without its authorizer, or a token without the claims, gets 401
/// `1006` before anything else), and identities are namespaced.
#[tokio::test]
async fn the_dashboard_fails_closed_without_the_identity_its_mode_promises() {
    use serde_json::json;
    let request = |authorizer: Option<serde_json::Value>| {
        let mut event =
            crate::events::http_event("GET", "/wechat/authorizers", "/wechat/authorizers", &[], json!({}), None, false);
        if let Some(authorizer) = authorizer {
            event["requestContext"]["authorizer"] = authorizer;
        }
        lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event")
    };
    let jwt = |claims: serde_json::Value| Some(json!({"jwt": {"claims": claims, "scopes": null}}));
    let iam = |arn: Option<&str>| Some(json!({"iam": {"accountId": "123456789012", "userArn": arn}}));
    let cases = [
        ("jwt", None, 401),
        ("jwt", jwt(json!({"sub": "alice"})), 401),
        ("jwt", jwt(json!({"iss": "https://idp.example"})), 401),
        ("jwt", jwt(json!({"iss": "https://idp.example", "sub": "alice"})), 200),
        ("jwt", iam(Some("arn:aws:iam::123456789012:user/alice")), 401),
        ("iam", None, 401),
        ("iam", iam(None), 401),
        ("iam", jwt(json!({"iss": "https://idp.example", "sub": "alice"})), 401),
        ("iam", iam(Some("arn:aws:iam::123456789012:user/alice")), 200),
        ("unauthenticated-local-demo", None, 200),
    ];
    for (mode, authorizer, expected) in cases {
        let app = crate::support::memory_app_with(&[("DASHBOARD_AUTH", mode.to_owned())]);
        for function in [Function::AuthorizerList, Function::QrUrlIssuer] {
            let response = function.handle(&app, request(authorizer.clone())).await;
            let (status, body) = crate::support::status_and_body(response);
            assert_eq!(status, expected, "{mode} {authorizer:?} at {function}: {body}");
            if expected == 401 {
                assert!(body.contains("\"code\":1006"), "{body}");
            }
        }
        assert_eq!(app.platform.store().writes(), 0);
    }
    // Acting as an account: the dashboard route follows the mode; the backend routes want an IAM
    // caller whatever the mode (only the local demo stands in for one).
    let act = |path: &str, method: &str, authorizer: Option<serde_json::Value>| {
        let body =
            (method == "POST").then(|| json!({"touser": "o", "msgtype": "text", "text": {"content": "x"}}).to_string());
        let mut event = crate::events::http_event(method, path, path, &[], json!({}), body, false);
        if let Some(authorizer) = authorizer {
            event["requestContext"]["authorizer"] = authorizer;
        }
        lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event")
    };
    let dashboard = "/wechat/authorizers/wx1000000000000001/messages";
    let backend_send = "/wechat/backend/authorizers/wx1000000000000001/messages";
    let backend_token = "/wechat/backend/authorizers/wx1000000000000001/access-token";
    let alice = jwt(json!({"iss": "https://idp.example", "sub": "alice"}));
    let role = iam(Some("arn:aws:iam::123456789012:role/orders"));
    // A session of the role, as a backend Lambda or container calls.
    let session = iam(Some("arn:aws:sts::123456789012:assumed-role/orders/shop-backend"));
    let iam_user = iam(Some("arn:aws:iam::123456789012:user/alice"));
    let orders = "arn:aws:iam::123456789012:role/service/orders";
    // (mode, path, method, caller, BACKEND_PRINCIPALS, status); 403: a principal that is not a
    // named backend, 404: the caller is accepted and the (empty) store has no such account.
    let cases = [
        ("jwt", dashboard, "POST", None, "", 401),
        ("jwt", dashboard, "POST", alice.clone(), "", 404),
        ("jwt", backend_send, "POST", alice.clone(), orders, 401),
        ("jwt", backend_token, "GET", alice.clone(), orders, 401),
        ("jwt", backend_token, "GET", None, orders, 401),
        ("jwt", backend_token, "GET", role.clone(), orders, 404),
        ("jwt", backend_token, "GET", role.clone(), "", 403),
        ("iam", backend_send, "POST", role.clone(), orders, 404),
        ("iam", backend_token, "GET", session.clone(), orders, 404),
        ("iam", backend_token, "GET", session.clone(), "arn:aws:iam::123456789012:role/billing", 403),
        ("iam", backend_token, "GET", iam_user.clone(), orders, 403),
        ("iam", dashboard, "POST", iam_user.clone(), orders, 404),
        ("unauthenticated-local-demo", backend_token, "GET", None, "", 404),
    ];
    for (mode, path, method, authorizer, principals, expected) in cases {
        let app = crate::support::memory_app_with(&[
            ("DASHBOARD_AUTH", mode.to_owned()),
            ("BACKEND_PRINCIPALS", principals.to_owned()),
        ]);
        let response = Function::AccountActions.handle(&app, act(path, method, authorizer.clone())).await;
        let (status, body) = crate::support::status_and_body(response);
        assert_eq!(status, expected, "{mode} {method} {path} {authorizer:?} {principals:?}: {body}");
        if expected == 403 {
            assert!(body.contains("\"code\":1020"), "{body}");
        }
        assert_eq!(app.platform.store().writes(), 0);
    }

    // Redeeming a web-authorization ticket is a backend's too: named, or refused before the
    // ticket is looked at.
    let tickets = "/wechat/backend/authorizers/wx1000000000000001/web-tickets";
    for (principals, expected) in [("", 403), ("arn:aws:iam::123456789012:role/billing", 403), (orders, 404)] {
        let app = crate::support::memory_app_with(&[
            ("DASHBOARD_AUTH", "iam".to_owned()),
            ("BACKEND_PRINCIPALS", principals.to_owned()),
            ("OAUTH_RETURN_ORIGINS", "https://shop.example".to_owned()),
        ]);
        let mut event = crate::events::http_event(
            "POST",
            tickets,
            tickets,
            &[],
            json!({}),
            Some(r#"{"ticket":"t"}"#.to_owned()),
            false,
        );
        event["requestContext"]["authorizer"] = session.clone().unwrap();
        let request = lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event");
        let (status, body) = crate::support::status_and_body(Function::AccountActions.handle(&app, request).await);
        assert_eq!(status, expected, "{principals:?}: {body}");
        assert_eq!(app.platform.store().writes(), 0);
    }

    // The identities the modes produce cannot collide with each other or with unclaimed accounts.
    let demo = crate::support::memory_app();
    let owner = |app: &shared::app::App<shared::store::MemoryStore>, authorizer| {
        shared::web::dashboard_user(&request(authorizer), app.config.dashboard_auth)
    };
    assert_eq!(owner(&demo, None).as_deref(), Some("local:demo"));
    let jwt_app = crate::support::memory_app_with(&[("DASHBOARD_AUTH", "jwt".to_owned())]);
    let unclaimed = jwt(json!({"iss": "https://idp.example", "sub": "unclaimed"}));
    assert_eq!(owner(&jwt_app, unclaimed).as_deref(), Some("jwt:https://idp.example:unclaimed"));
}
