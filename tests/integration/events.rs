//! `events/`: sample API Gateway (HTTP API, payload 2.0) events for every function, made
//! reproducibly from the test credentials in `events/README.md` (fixed random prefix, timestamp
//! and nonce), and the handler tests that load the same files.
//!
//! The files are generated here: run `UPDATE_EVENTS=1 bash scripts/test.sh` (or
//! `UPDATE_EVENTS=1 cargo test -p integration-tests events`) to rewrite them; otherwise a test
//! fails when a committed file differs from what the generator makes, so they never drift.

use std::path::PathBuf;

use serde_json::{Value, json};
use shared::app::App;
use shared::crypto::KeySlot;
use shared::store::{FollowerStore, MemoryStore, TicketStore};

use crate::support::{Function, appid, token};

const TIMESTAMP: &str = "1732000000";
const NONCE: &str = "1320562132";
const RANDOM: &[u8; 16] = b"eventsrandom0000";
const OPENID: &str = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M";
const ACCOUNT: &str = "wx1000000000000001";

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

pub(crate) fn http_event(
    method: &str,
    path: &str,
    route: &str,
    query: &[(&str, String)],
    headers: Value,
    body: Option<String>,
    base64: bool,
) -> Value {
    let raw_query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let mut event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {route}"),
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "domainName": "wechat.example.com",
            "domainPrefix": "wechat",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "Mozilla/4.0"},
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "routeKey": format!("{method} {route}"),
            "stage": "$default",
            "time": "19/Nov/2024:07:06:40 +0000",
            "timeEpoch": 1_732_000_000_000u64
        },
        "isBase64Encoded": base64
    });
    if !query.is_empty() {
        event["queryStringParameters"] =
            Value::Object(query.iter().map(|(k, v)| ((*k).to_owned(), Value::from(v.clone()))).collect());
    }
    if let Some(body) = body {
        event["body"] = Value::from(body);
    }
    event
}

/// A signed, encrypted push of `xml`, as WeChat sends it.
fn push(app: &App<MemoryStore>, path: &str, route: &str, head: &str, xml: &str, openid: bool, base64: bool) -> Value {
    let crypto = app.config.push_crypto().unwrap();
    let encrypt = crypto.encrypt_with(KeySlot::Current, RANDOM, xml).expect("encrypt");
    let mut query = vec![
        ("signature", shared::crypto::signature(&[token(), TIMESTAMP, NONCE])),
        ("timestamp", TIMESTAMP.to_owned()),
        ("nonce", NONCE.to_owned()),
    ];
    if openid {
        query.push(("openid", OPENID.to_owned()));
    }
    query.push(("encrypt_type", "aes".to_owned()));
    query.push(("msg_signature", crypto.msg_signature(TIMESTAMP, NONCE, &encrypt)));
    let body = format!("<xml>\n    {head}\n    <Encrypt><![CDATA[{encrypt}]]></Encrypt>\n</xml>");
    let body = if base64 {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        body
    };
    http_event("POST", path, route, &query, json!({"content-type": "text/xml"}), Some(body), base64)
}

fn with_path_appid(mut event: Value, appid: &str) -> Value {
    event["pathParameters"] = json!({"appid": appid});
    event
}

/// An account-actions request on [`ACCOUNT`] as API Gateway delivers it through the greedy route
/// of the dashboard (`family` "") or backend (`"/backend"`) family.
fn account_action(method: &str, family: &str, proxy: &str, headers: Value, body: Option<String>) -> Value {
    let path = format!("/wechat{family}/authorizers/{ACCOUNT}/{proxy}");
    let route = format!("/wechat{family}/authorizers/{{appid}}/{{proxy+}}");
    let mut event = http_event(method, &path, &route, &[], headers, body, false);
    event["pathParameters"] = json!({"appid": ACCOUNT, "proxy": proxy});
    event["routeKey"] = Value::from(format!("ANY {route}"));
    event["requestContext"]["routeKey"] = event["routeKey"].clone();
    event
}

/// A request to a capability with routes of its own (`…/{capability}` and `…/{capability}/{proxy+}`)
/// on [`ACCOUNT`]: `proxy` empty for `…/{capability}`, else the part after it.
fn capability_action(capability: &str, method: &str, proxy: &str, headers: Value, body: Option<String>) -> Value {
    let (path, route) = if proxy.is_empty() {
        (format!("/wechat/authorizers/{ACCOUNT}/{capability}"), format!("/wechat/authorizers/{{appid}}/{capability}"))
    } else {
        (
            format!("/wechat/authorizers/{ACCOUNT}/{capability}/{proxy}"),
            format!("/wechat/authorizers/{{appid}}/{capability}/{{proxy+}}"),
        )
    };
    let mut event = http_event(method, &path, &route, &[], headers, body, false);
    event["pathParameters"] =
        if proxy.is_empty() { json!({"appid": ACCOUNT}) } else { json!({"appid": ACCOUNT, "proxy": proxy}) };
    event["routeKey"] = Value::from(format!("ANY {route}"));
    event["requestContext"]["routeKey"] = event["routeKey"].clone();
    event
}

/// A media-library request (JSON in and out).
fn media_action(method: &str, proxy: &str, body: Option<String>) -> Value {
    let headers = json!({"content-type": "application/json", "accept": "application/json"});
    capability_action("media", method, proxy, headers, body)
}

fn tampered(mut event: Value) -> Value {
    event["queryStringParameters"]["msg_signature"] = Value::from("0000000000000000000000000000000000000000");
    let raw = event["rawQueryString"].as_str().unwrap_or_default().to_owned();
    let cut = raw.find("msg_signature=").map_or(raw.len(), |i| i);
    event["rawQueryString"] =
        Value::from(format!("{}msg_signature=0000000000000000000000000000000000000000", &raw[..cut]));
    event
}

fn garbage(mut event: Value) -> Value {
    event["body"] = Value::from("<xml><Encrypt><![CDATA[!!!this is not base64!!!]]></Encrypt>");
    event
}

/// Every sample event: `(function, file, event)`.
fn generate() -> Vec<(Function, &'static str, Value)> {
    let appid = appid();
    let app = events_app();
    let component = |xml: &str| {
        push(
            &app,
            "/wechat/component/events",
            "/wechat/component/events",
            &format!("<AppId><![CDATA[{appid}]]></AppId>"),
            xml,
            false,
            false,
        )
    };
    let ticket = format!(
        "<xml><AppId><![CDATA[{appid}]]></AppId>\n<CreateTime>{TIMESTAMP}</CreateTime>\n<InfoType><![CDATA[component_verify_ticket]]></InfoType>\n<ComponentVerifyTicket><![CDATA[ticket@@@events-sample-ticket]]></ComponentVerifyTicket>\n</xml>"
    );
    let authorized = format!(
        "<xml><AppId><![CDATA[{appid}]]></AppId>\n<CreateTime>{TIMESTAMP}</CreateTime>\n<InfoType><![CDATA[authorized]]></InfoType>\n<AuthorizerAppid><![CDATA[{ACCOUNT}]]></AuthorizerAppid>\n<AuthorizationCode><![CDATA[queryauthcode@@@events-sample-code]]></AuthorizationCode>\n<AuthorizationCodeExpiredTime>1732000600</AuthorizationCodeExpiredTime>\n<PreAuthCode><![CDATA[preauthcode@@@events-sample]]></PreAuthCode>\n</xml>"
    );
    let unauthorized = format!(
        "<xml><AppId><![CDATA[{appid}]]></AppId>\n<CreateTime>{TIMESTAMP}</CreateTime>\n<InfoType><![CDATA[unauthorized]]></InfoType>\n<AuthorizerAppid><![CDATA[{ACCOUNT}]]></AuthorizerAppid>\n</xml>"
    );
    let callback_path = format!("/wechat/{ACCOUNT}/callback");
    let authorizer = |xml: &str, base64: bool| {
        with_path_appid(
            push(
                &app,
                &callback_path,
                "/wechat/{appid}/callback",
                "<ToUserName><![CDATA[gh_100000000001]]></ToUserName>",
                xml,
                true,
                base64,
            ),
            ACCOUNT,
        )
    };
    let text = format!(
        "<xml><ToUserName><![CDATA[gh_100000000001]]></ToUserName>\n<FromUserName><![CDATA[{OPENID}]]></FromUserName>\n<CreateTime>{TIMESTAMP}</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[你好]]></Content>\n<MsgId>24589245892458924589</MsgId>\n</xml>"
    );
    let subscribe = format!(
        "<xml><ToUserName><![CDATA[gh_100000000001]]></ToUserName>\n<FromUserName><![CDATA[{OPENID}]]></FromUserName>\n<CreateTime>{TIMESTAMP}</CreateTime>\n<MsgType><![CDATA[event]]></MsgType>\n<Event><![CDATA[subscribe]]></Event>\n<EventKey><![CDATA[qrscene_spring]]></EventKey>\n<Ticket><![CDATA[gQH47joAAAAAAAAAASxodHRw]]></Ticket>\n</xml>"
    );
    let test_text = format!(
        "<xml><ToUserName><![CDATA[gh_3c884a361561]]></ToUserName>\n<FromUserName><![CDATA[{OPENID}]]></FromUserName>\n<CreateTime>{TIMESTAMP}</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[TESTCOMPONENT_MSG_TYPE_TEXT]]></Content>\n<MsgId>24589245892458924590</MsgId>\n</xml>"
    );
    let release_path = "/wechat/wx570bc396a51b8ff8/callback";
    let release = with_path_appid(
        push(
            &app,
            release_path,
            "/wechat/{appid}/callback",
            "<ToUserName><![CDATA[gh_3c884a361561]]></ToUserName>",
            &test_text,
            true,
            false,
        ),
        "wx570bc396a51b8ff8",
    );
    let get = |path: &str, query: &[(&str, String)], accept: &str| {
        http_event("GET", path, path, query, json!({"accept": accept}), None, false)
    };
    let signer = crate::gateway::signer();
    vec![
        (Function::TicketReceiver, "component-verify-ticket.json", component(&ticket)),
        (Function::TicketReceiver, "authorized.json", component(&authorized)),
        (Function::TicketReceiver, "unauthorized.json", component(&unauthorized)),
        (Function::TicketReceiver, "bad-signature.json", tampered(component(&ticket))),
        (Function::TicketReceiver, "garbage-body.json", garbage(component(&ticket))),
        (Function::EventCallback, "text-message.json", authorizer(&text, false)),
        (Function::EventCallback, "text-message-base64.json", authorizer(&text, true)),
        (Function::EventCallback, "subscribe-event.json", authorizer(&subscribe, false)),
        (Function::EventCallback, "release-test-text.json", release),
        (Function::EventCallback, "bad-signature.json", tampered(authorizer(&text, false))),
        (Function::EventCallback, "garbage-body.json", garbage(authorizer(&text, false))),
        (
            Function::QrUrlIssuer,
            "get.json",
            get("/wechat/authorize-url", &[("auth_type", "1".into()), ("mode", "pc".into())], "application/json"),
        ),
        (Function::QrUrlIssuer, "get-html.json", get("/wechat/authorize-url", &[], "text/html")),
        (
            Function::QrUrlIssuer,
            "bad-auth-type.json",
            get("/wechat/authorize-url", &[("auth_type", "9".into())], "application/json"),
        ),
        (
            Function::AuthCallback,
            "redirect.json",
            get(
                "/wechat/authorize/callback",
                &[
                    ("state", signer.sign_with_nonce("default", 4_102_444_800, b"events-sample")),
                    ("auth_code", "queryauthcode@@@events-sample-code".into()),
                    ("expires_in", "600".into()),
                ],
                "text/html",
            ),
        ),
        (
            Function::AuthCallback,
            "forged-state.json",
            get(
                "/wechat/authorize/callback",
                &[
                    ("state", "ZGVmYXVsdA.4102444800.AAAA.forged".into()),
                    ("auth_code", "queryauthcode@@@x".into()),
                    ("expires_in", "600".into()),
                ],
                "text/html",
            ),
        ),
        (Function::AuthorizerList, "get.json", get("/wechat/authorizers", &[], "application/json")),
        (
            Function::AccountActions,
            "send-text.json",
            account_action(
                "POST",
                "",
                "messages",
                json!({"content-type": "application/json", "idempotency-key": "order-42-shipped"}),
                Some(json!({"touser": OPENID, "msgtype": "text", "text": {"content": "您的订单已发货"}}).to_string()),
            ),
        ),
        (
            Function::AccountActions,
            "bad-body.json",
            account_action(
                "POST",
                "",
                "messages",
                json!({"content-type": "application/json"}),
                Some("{not json".to_owned()),
            ),
        ),
        (
            Function::AccountActions,
            "lend-token.json",
            account_action("GET", "/backend", "access-token", json!({"accept": "application/json"}), None),
        ),
        (
            Function::AccountActions,
            "put-reply-rules.json",
            account_action(
                "PUT",
                "",
                "reply-rules",
                json!({"content-type": "application/json", "if-match": "\"0\""}),
                Some(
                    json!({"rules": [
                        {"name": "欢迎", "on": "subscribe", "reply": {"msgtype": "text", "text": {"content": "欢迎关注！回复“价格”看价目表"}}},
                        {"on": "keyword", "match": "exact", "keyword": "价格", "reply": {"msgtype": "text", "text": {"content": "标准版 99 元/月"}}},
                        {"on": "default", "reply": {"msgtype": "text", "text": {"content": "收到，客服稍后回复您"}}}
                    ]})
                    .to_string(),
                ),
            ),
        ),
        (
            Function::AccountActions,
            "redeem-web-ticket.json",
            account_action(
                "POST",
                "/backend",
                "web-tickets",
                json!({"content-type": "application/json"}),
                Some(json!({"ticket": "sample-ticket-from-wx_ticket", "user_ref": "shop-user-42"}).to_string()),
            ),
        ),
        (
            Function::AccountActions,
            "followers.json",
            account_action("GET", "", "followers", json!({"accept": "application/json"}), None),
        ),
        (
            Function::MediaLibrary,
            "declare-image.json",
            media_action(
                "POST",
                "",
                Some(
                    json!({"type": "image", "lifetime": "permanent", "content_type": "image/png", "size": 48213,
                        "sha256": "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"})
                    .to_string(),
                ),
            ),
        ),
        (Function::MediaLibrary, "complete.json", media_action("POST", "mpim_5f70bf18a086007016e948b04aed3b82/complete", None)),
        (Function::MediaLibrary, "list.json", media_action("GET", "", None)),
        (
            Function::MediaLibrary,
            "bad-declaration.json",
            media_action(
                "POST",
                "",
                Some(
                    json!({"type": "image", "content_type": "image/bmp", "size": 10,
                        "sha256": "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"})
                    .to_string(),
                ),
            ),
        ),
        (Function::AccountSetup, "menu.json", capability_action("menu", "GET", "", json!({"accept": "application/json"}), None)),
        (
            Function::AccountSetup,
            "save-menu.json",
            capability_action(
                "menu",
                "PUT",
                "",
                json!({"content-type": "application/json", "if-match": "\"3\""}),
                Some(
                    json!({"button": [
                        {"type": "click", "name": "今日推荐", "key": "TODAY"},
                        {"name": "服务", "sub_button": [
                            {"type": "view", "name": "官网", "url": "https://www.example.com/"},
                            {"type": "media_id", "name": "海报", "media_id": "mpim_5f70bf18a086007016e948b04aed3b82"}]}]})
                    .to_string(),
                ),
            ),
        ),
        (
            Function::AccountSetup,
            "bad-menu.json",
            capability_action(
                "menu",
                "PUT",
                "",
                json!({"content-type": "application/json", "if-match": "\"0\""}),
                Some(json!({"button": [{"type": "click", "name": "一个太长的菜单名字", "key": "K"}]}).to_string()),
            ),
        ),
        (
            Function::AccountSetup,
            "create-qrcode.json",
            capability_action(
                "qrcodes",
                "POST",
                "",
                json!({"content-type": "application/json"}),
                Some(json!({"name": "门店海报", "scene_str": "shop-42", "expire_seconds": 604_800}).to_string()),
            ),
        ),
        (
            Function::AccountSetup,
            "tag-followers.json",
            capability_action(
                "tags",
                "POST",
                "101/followers",
                json!({"content-type": "application/json"}),
                Some(json!({"openids": ["o6_bmjrPTlm6_2sgVt7hMZOPfL2M"]}).to_string()),
            ),
        ),
        (
            Function::Publishing,
            "create-draft.json",
            capability_action(
                "drafts",
                "POST",
                "",
                json!({"content-type": "application/json"}),
                Some(
                    json!({"articles": [{
                        "title": "冬季新品上市", "author": "小店", "digest": "三款新品，周末到店有礼",
                        "content": "<p>本周新品：</p><p><img src=\"media:mpar_3c5d0e7f2a9b41c8a6b7d2e1f0a9c8b7\"></p>",
                        "source_url": "https://shop.example.com/new", "cover": "mpim_9a8b7c6d5e4f40312a1b2c3d4e5f6a7b",
                        "comments": "followers"}]})
                    .to_string(),
                ),
            ),
        ),
        (
            Function::Publishing,
            "bad-draft.json",
            capability_action(
                "drafts",
                "POST",
                "",
                json!({"content-type": "application/json"}),
                Some(json!({"articles": [{"title": "冬季新品上市"}]}).to_string()),
            ),
        ),
        (Function::Publishing, "drafts.json", capability_action("drafts", "GET", "", json!({}), None)),
        (Function::Console, "page.json", http_event("GET", "/console", "/console", &[], json!({"accept": "text/html"}), None, false)),
        (Function::Console, "script.json", {
            let mut event = http_event("GET", "/console/console.js", "/console/{asset}", &[], json!({"accept": "*/*"}), None, false);
            event["pathParameters"] = json!({"asset": "console.js"});
            event
        }),
        (Function::Console, "not-found.json", {
            let mut event = http_event("GET", "/console/secrets.json", "/console/{asset}", &[], json!({"accept": "*/*"}), None, false);
            event["pathParameters"] = json!({"asset": "secrets.json"});
            event
        }),
        (Function::WebOauth, "authorize.json", web_authorize("snsapi_userinfo")),
        (Function::WebOauth, "bad-scope.json", web_authorize("snsapi_login")),
        (
            Function::WebOauth,
            "forged-state.json",
            http_event(
                "GET",
                "/wechat/oauth/callback",
                "/wechat/oauth/callback",
                &[
                    ("code", "0617sample".into()),
                    ("state", ".4102444800.AAAAAAAAAAAAAAAA.forged".into()),
                    ("appid", ACCOUNT.into()),
                ],
                json!({"accept": "text/html"}),
                None,
                false,
            ),
        ),
        (
            Function::WebOauth,
            "verification-file.json",
            {
                let mut event =
                    http_event("GET", "/MP_verify_sample.txt", "/{file}", &[], json!({"accept": "*/*"}), None, false);
                event["pathParameters"] = json!({"file": "MP_verify_sample.txt"});
                event
            },
        ),
    ]
}

/// A follower's browser starting a web authorization on [`ACCOUNT`] for a shop's page.
fn web_authorize(scope: &str) -> Value {
    let query = [("scope", scope.to_owned()), ("return_to", "https://shop.example.com/account/bind".to_owned())];
    let path = format!("/wechat/oauth/{ACCOUNT}/authorize");
    let event = http_event(
        "GET",
        &path,
        "/wechat/oauth/{appid}/authorize",
        &query,
        json!({"accept": "text/html"}),
        None,
        false,
    );
    with_path_appid(event, ACCOUNT)
}

/// The app the events are made for: the credentials of `events/README.md`, an in-memory store,
/// and WeChat unreachable (so nothing here can call out).
fn events_app() -> App<MemoryStore> {
    // The committed samples are signed with fixed 2024 timestamps: no replay window for them.
    let config = crate::support::config(&[
        ("PUSH_MAX_AGE_SECS", "0".to_owned()),
        ("WECHAT_API_BASE", "http://127.0.0.1:9".to_owned()),
        ("AUTH_REDIRECT_URL", "https://wechat.example.com/wechat/authorize/callback".to_owned()),
        ("AUTHORIZE_START_URL", "https://wechat.example.com/wechat/authorize-start".to_owned()),
        ("OAUTH_REDIRECT_URL", "https://wechat.example.com/wechat/oauth/callback".to_owned()),
        ("OAUTH_RETURN_ORIGINS", "https://shop.example.com".to_owned()),
        ("DOMAIN_VERIFICATION_FILES", "MP_verify_sample.txt=sample0123456789".to_owned()),
    ]);
    crate::support::on_memory_bus(config, MemoryStore::new()).0
}

#[test]
fn committed_events_are_what_the_generator_makes() {
    let update = std::env::var_os("UPDATE_EVENTS").is_some();
    let mut stale = Vec::new();
    for (function, file, event) in generate() {
        let path = events_dir().join(function.name()).join(file);
        let text = serde_json::to_string_pretty(&event).unwrap() + "\n";
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(stale.is_empty(), "events differ from the generator (rerun with UPDATE_EVENTS=1): {stale:?}");
}

fn load(function: Function, file: &str) -> lambda_http::Request {
    let text = std::fs::read_to_string(events_dir().join(function.name()).join(file)).expect("event file");
    lambda_http::request::from_str(&text).expect("an API Gateway event")
}

async fn call(app: &App<MemoryStore>, function: Function, file: &str) -> (u16, String) {
    let request = load(function, file);
    crate::support::status_and_body(function.handle(app, request).await)
}

#[tokio::test]
async fn ticket_receiver_events() {
    let app = events_app();
    assert_eq!(call(&app, Function::TicketReceiver, "bad-signature.json").await.0, 401);
    assert_eq!(call(&app, Function::TicketReceiver, "garbage-body.json").await.0, 400);
    assert_eq!(app.platform.store().writes(), 0);
    assert_eq!(call(&app, Function::TicketReceiver, "component-verify-ticket.json").await, (200, "success".into()));
    let ticket = app.platform.store().verify_ticket().await.unwrap().unwrap();
    assert_eq!((ticket.ticket.expose(), ticket.create_time), ("ticket@@@events-sample-ticket", 1_732_000_000));
    // A retry is answered alike and changes nothing.
    let writes = app.platform.store().writes();
    assert_eq!(call(&app, Function::TicketReceiver, "component-verify-ticket.json").await, (200, "success".into()));
    assert_eq!(app.platform.store().writes(), writes);
    // unauthorized for an account never stored: acknowledged.
    assert_eq!(call(&app, Function::TicketReceiver, "unauthorized.json").await, (200, "success".into()));
}

#[tokio::test]
async fn event_callback_events() {
    let app = events_app();
    assert_eq!(call(&app, Function::EventCallback, "bad-signature.json").await.0, 401);
    assert_eq!(call(&app, Function::EventCallback, "garbage-body.json").await.0, 400);
    assert_eq!(app.platform.store().writes(), 0);
    assert_eq!(call(&app, Function::EventCallback, "text-message.json").await, (200, "success".into()));
    // The same push, Base64-encoded by API Gateway, is the same message: a retry.
    assert_eq!(call(&app, Function::EventCallback, "text-message-base64.json").await, (200, "success".into()));
    assert_eq!(app.platform.store().writes(), 1, "processed once");
    assert_eq!(call(&app, Function::EventCallback, "subscribe-event.json").await, (200, "success".into()));
    let (status, body) = call(&app, Function::EventCallback, "release-test-text.json").await;
    assert_eq!(status, 200);
    let reply = decrypt_reply(&app, &body);
    assert!(reply.contains("TESTCOMPONENT_MSG_TYPE_TEXT_callback"), "{reply}");
}

fn decrypt_reply(app: &App<MemoryStore>, body: &str) -> String {
    let envelope = shared::push::Envelope::parse(body.as_bytes()).expect("an encrypted reply");
    app.config.push_crypto().unwrap().decrypt(&envelope.encrypt).expect("decrypts").xml
}

#[tokio::test]
async fn dashboard_and_callback_events() {
    let app = events_app();
    // Bad input writes nothing.
    assert_eq!(call(&app, Function::QrUrlIssuer, "bad-auth-type.json").await.0, 400);
    assert_eq!(call(&app, Function::AuthCallback, "forged-state.json").await.0, 403);
    let (status, body) = call(&app, Function::AuthorizerList, "get.json").await;
    assert_eq!(
        (status, body.as_str()),
        (200, "{\"code\":0,\"data\":[],\"moved_away\":[],\"next_cursor\":null,\"user\":\"local:demo\"}")
    );
    assert_eq!(app.platform.store().writes(), 0);
    // The JSON call is a start link: no WeChat call, nothing stored.
    let (status, body) = call(&app, Function::QrUrlIssuer, "get.json").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"start_url\":\"https://wechat.example.com/wechat/authorize-start?token="), "{body}");
    assert_eq!(app.platform.store().writes(), 0);
    // The page spends a pre_auth_code: no ticket yet (and WeChat unreachable) is a clear 503.
    let (status, body) = call(&app, Function::QrUrlIssuer, "get-html.json").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"code\":1002"), "{body}");
    // The sample callback carries a valid state but a sample code: a clear page, not a 500.
    let (status, body) = call(&app, Function::AuthCallback, "redirect.json").await;
    assert!((400..500).contains(&status) || status == 503, "{status} {body}");
    assert!(body.contains("<title>"));
}

#[test]
fn the_schedule_event_is_an_eventbridge_event() {
    let text = std::fs::read_to_string(events_dir().join("token-refresher/schedule.json")).unwrap();
    let event: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (event["source"].as_str(), event["detail-type"].as_str()),
        (Some("aws.events"), Some("Scheduled Event"))
    );
}

#[tokio::test]
async fn account_actions_events() {
    let app = events_app();
    assert_eq!(call(&app, Function::AccountActions, "bad-body.json").await.0, 400);
    // No such account in an empty store: not found, nothing sent, nothing stored.
    let (status, body) = call(&app, Function::AccountActions, "send-text.json").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("\"code\":1007"), "{body}");
    assert_eq!(call(&app, Function::AccountActions, "lend-token.json").await.0, 404);
    assert_eq!(app.platform.store().writes(), 0);
}

#[tokio::test]
async fn media_library_events() {
    let app = events_app();
    let (status, body) = call(&app, Function::MediaLibrary, "bad-declaration.json").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("image/bmp"), "the rule named: {body}");
    // No such account in an empty store: not found, no upload URL, nothing stored.
    for file in ["declare-image.json", "complete.json", "list.json"] {
        let (status, body) = call(&app, Function::MediaLibrary, file).await;
        assert_eq!(status, 404, "{file}: {body}");
        assert!(body.contains("\"code\":1007"), "{file}: {body}");
    }
    assert_eq!(app.platform.store().writes(), 0);
}

#[tokio::test]
async fn account_setup_events() {
    let app = events_app();
    let (status, body) = call(&app, Function::AccountSetup, "bad-menu.json").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("button[0].name"), "the button named: {body}");
    // No such account in an empty store: not found, nothing sent, nothing stored.
    for file in ["menu.json", "save-menu.json", "tag-followers.json", "create-qrcode.json"] {
        let (status, body) = call(&app, Function::AccountSetup, file).await;
        assert_eq!(status, 404, "{file}: {body}");
        assert!(body.contains("\"code\":1007"), "{file}: {body}");
    }
    assert_eq!(app.platform.store().writes(), 0);
}

#[tokio::test]
async fn publishing_events() {
    let app = events_app();
    let (status, body) = call(&app, Function::Publishing, "bad-draft.json").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("content"), "the field named: {body}");
    // No such account in an empty store: not found, nothing sent, nothing stored.
    for file in ["create-draft.json", "drafts.json"] {
        let (status, body) = call(&app, Function::Publishing, file).await;
        assert_eq!(status, 404, "{file}: {body}");
        assert!(body.contains("\"code\":1007"), "{file}: {body}");
    }
    assert_eq!(app.platform.store().writes(), 0);
}

#[tokio::test]
async fn console_events() {
    let app = events_app();
    let (status, page) = call(&app, Function::Console, "page.json").await;
    assert_eq!(status, 200);
    assert!(page.contains("<script src=\"/console/console.js\" defer></script>"), "{page}");
    assert!(page.contains("content=\"gateway\""), "the deployment's routes: {page}");
    let (status, script) = call(&app, Function::Console, "script.json").await;
    assert_eq!(status, 200);
    assert!(script.contains("textContent"));
    for markup in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("] {
        assert!(!script.contains(markup), "the script never writes markup or evaluates text: {markup}");
    }
    assert_eq!(call(&app, Function::Console, "not-found.json").await.0, 404);
    // The page's policy: its own script and styles only, no inline script, no framing.
    let response = Function::Console.handle(&app, load(Function::Console, "page.json")).await;
    let policy = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    for directive in ["default-src 'none'", "script-src 'self';", "connect-src 'self'", "frame-ancestors 'none'"] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    assert!(!page.contains("<script>") && !page.contains(" on"), "no inline script or handler in the page");
    assert_eq!(app.platform.store().writes() + app.platform.store().reads(), 0, "the console touches no data");
}

#[tokio::test]
async fn the_console_serves_the_api_reference_under_its_own_policy() {
    let app = events_app();
    let get = |path: &str| {
        let request = lambda_http::http::Request::builder().uri(path).body(lambda_http::Body::Empty).unwrap();
        Function::Console.handle(&app, request)
    };
    let page = get("/console/api").await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-security-policy"], console::policy(None), "the console's policy, unchanged");
    let html = crate::support::status_and_body(page).1;
    for asset in
        ["/console/swagger-ui-bundle.js", "/console/api.js", "/console/swagger-ui.css", "/console/openapi.yaml"]
    {
        assert!(html.contains(&format!("\"{asset}\"")), "{asset} in {html}");
    }
    assert!(!html.contains("<script>") && !html.contains(" on"), "no inline script or handler");
    // The document served is the repository's, byte for byte.
    let document = get("/console/openapi.yaml").await;
    let served = crate::support::status_and_body(document).1;
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.yaml")).unwrap();
    assert_eq!(served, committed);
    // Swagger UI goes out gzipped, as vendored (a gzip stream starts 1f 8b).
    let bundle = get("/console/swagger-ui-bundle.js").await;
    assert_eq!(bundle.headers()["content-encoding"], "gzip");
    match bundle.body() {
        lambda_http::Body::Binary(bytes) => assert!(bytes.starts_with(&[0x1f, 0x8b]) && bytes.len() > 100_000),
        other => panic!("a binary body, not {other:?}"),
    }
    assert_eq!(get("/console/swagger-ui-bundle.js.map").await.status(), 404);
}

#[tokio::test]
async fn web_oauth_events() {
    let app = events_app();
    // Bad input and an unknown account store nothing.
    let (status, body) = call(&app, Function::WebOauth, "bad-scope.json").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("snsapi_base or snsapi_userinfo"), "{body}");
    let (status, body) = call(&app, Function::WebOauth, "authorize.json").await;
    assert_eq!(status, 404, "no such account in an empty store: {body}");
    assert!(body.contains("公众号未授权"), "{body}");
    assert_eq!(call(&app, Function::WebOauth, "forged-state.json").await.0, 403);
    let (status, body) = call(&app, Function::AccountActions, "redeem-web-ticket.json").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("\"code\":1015"), "{body}");
    assert_eq!(app.platform.store().writes(), 0);
    assert_eq!(call(&app, Function::WebOauth, "verification-file.json").await, (200, "sample0123456789".to_owned()));
}

#[tokio::test]
async fn the_ledger_sample_is_a_queue_batch_the_ledger_records() {
    let app = events_app();
    let text = std::fs::read_to_string(events_dir().join("follower-ledger/subscribe-batch.json")).unwrap();
    let batch: Value = serde_json::from_str(&text).unwrap();
    let answer = follower_ledger::handle(&app, &batch).await.unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let follower = app.platform.store().follower("wx1000000000000001", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M").await.unwrap();
    let follower = follower.expect("recorded");
    assert!(follower.subscribed);
    assert_eq!((follower.scene.as_deref(), follower.last_subscribed_at), (Some("shop-42"), Some(1_714_550_400)));
}

#[tokio::test]
async fn reply_rules_samples_need_an_account() {
    let app = events_app();
    for file in ["put-reply-rules.json", "followers.json"] {
        let (status, body) = call(&app, Function::AccountActions, file).await;
        assert_eq!(status, 404, "{file}: {body}");
    }
    assert_eq!(app.platform.store().writes(), 0);
}
