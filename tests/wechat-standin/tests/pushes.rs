//! The stand-in's pushes and authorization page against a minimal receiver built on the shared
//! crypto: pushes verify and decrypt exactly like WeChat's, replies are verified and decrypted
//! like WeChat does, and the page enforces single-use pre_auth_codes.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::routing::post;
use common::*;
use shared::WeChatCrypto;
use shared::crypto::KeySlot;
use shared::message::{ComponentNotice, Message, MessageKind, NoticeKind, Reply, ReplyKind};
use shared::push::{self, PushQuery};

#[derive(Clone, Default)]
struct Receiver {
    notices: Arc<Mutex<Vec<ComponentNotice>>>,
    messages: Arc<Mutex<Vec<(String, Message)>>>,
}

fn crypto() -> WeChatCrypto {
    WeChatCrypto::new(token(), key(), appid()).unwrap()
}

fn query(params: &HashMap<String, String>) -> PushQuery {
    PushQuery::from_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap()
}

async fn component(State(r): State<Receiver>, Query(params): Query<HashMap<String, String>>, body: Bytes) -> String {
    let opened = push::open(&crypto(), &query(&params), &body).expect("an authentic push");
    r.notices.lock().unwrap().push(ComponentNotice::parse(&opened.xml).unwrap());
    "success".into()
}

async fn callback(
    State(r): State<Receiver>,
    Path(appid): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> String {
    let q = query(&params);
    let opened = push::open(&crypto(), &q, &body).expect("an authentic push");
    let message = Message::parse(&opened.xml).unwrap();
    assert_eq!(q.openid.as_deref(), Some(message.from_user_name.as_str()));
    r.messages.lock().unwrap().push((appid, message.clone()));
    match &message.kind {
        MessageKind::Text { content } if content == "silence" => String::new(),
        MessageKind::Text { content } => {
            let reply = Reply::text(&message, 1, format!("echo: {content}"));
            push::seal_reply(&crypto(), opened.key, &reply.render(), &q.timestamp, &q.nonce).unwrap()
        }
        _ => "success".into(),
    }
}

async fn receiver() -> (Receiver, String) {
    let state = Receiver::default();
    let app = Router::new()
        .route("/component", post(component))
        .route("/wechat/{appid}/callback", post(callback))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0".parse::<SocketAddr>().unwrap()).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (state, base)
}

async fn wired() -> (wechat_standin::StandIn, Receiver) {
    let (receiver, base) = receiver().await;
    let mut config = config();
    config.ticket_url = Some(format!("{base}/component"));
    config.callback_base = Some(format!("{base}/wechat"));
    (standin_with(config).await, receiver)
}

#[tokio::test]
async fn ticket_pushes_are_authentic_and_carry_the_ticket_the_api_accepts() {
    let (s, r) = wired().await;
    let result = s.push_ticket().await;
    assert_eq!((result.status, result.body.as_str(), result.error), (200, "success", None));
    let notices = r.notices.lock().unwrap().clone();
    let NoticeKind::VerifyTicket { ticket } = &notices[0].kind else { panic!("{notices:?}") };
    assert_eq!(Some(ticket.expose().to_owned()), s.last_ticket());
    assert_eq!(notices[0].appid, appid());
    client(&s).component_token(ticket).await.unwrap();
}

#[tokio::test]
async fn follower_messages_and_encrypted_replies_round_trip() {
    let (s, r) = wired().await;
    let result = s.push_text(ACCOUNT, "o_follower", "你好 ]]> <b>").await;
    assert_eq!(result.error, None);
    let reply = result.reply().expect("a verified, decrypted reply");
    assert_eq!(reply.kind, ReplyKind::Text { content: "echo: 你好 ]]> <b>".into() });
    assert_eq!((reply.to_user_name.as_str(), reply.from_user_name.as_str()), ("o_follower", "gh_100000000001"));
    let silent = s.push_text(ACCOUNT, "o_follower", "silence").await;
    assert_eq!((silent.status, silent.body.as_str(), silent.reply_xml), (200, "", None));
    let event = s.push_event(ACCOUNT, "o_follower", "subscribe").await;
    assert_eq!(event.body, "success");
    let messages = r.messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 3);
    assert!(messages.iter().all(|(appid, _)| appid == ACCOUNT));
    assert_eq!(messages[2].1.kind, MessageKind::Subscribe { scene: None });
}

#[tokio::test]
async fn replies_that_do_not_verify_are_flagged() {
    let (s, _r) = wired().await;
    // A reply sealed with another token does not verify at WeChat.
    let other = WeChatCrypto::new("other-token", key(), appid()).unwrap();
    let sealed = push::seal_reply(&other, KeySlot::Current, "<xml/>", "1", "2").unwrap();
    let app = Router::new().route("/wechat/{appid}/callback", post(move || async move { sealed }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0".parse::<SocketAddr>().unwrap()).await.unwrap();
    let base = format!("http://{}/wechat", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut config = config();
    config.callback_base = Some(base);
    let s2 = standin_with(config).await;
    let result = s2.push_text(ACCOUNT, "o", "hi").await;
    assert_eq!(result.error.as_deref(), Some("reply MsgSignature does not verify"));
    drop(s);
}

#[tokio::test]
async fn authorization_page_redirects_once_per_pre_auth_code_and_pushes_authorized() {
    let (s, r) = wired().await;
    let c = client(&s);
    let token = c.component_token(&ticket(&s).await).await.unwrap().token;
    let pre = c.create_pre_auth_code(&token).await.unwrap().token;
    let http = shared::outbound::client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page_url = |component: &str, code: &str| {
        let mut url = url::Url::parse(&format!("{}/cgi-bin/componentloginpage", s.base_url())).unwrap();
        url.query_pairs_mut()
            .append_pair("component_appid", component)
            .append_pair("pre_auth_code", code)
            .append_pair("redirect_uri", "https://platform.example/wechat/authorize/callback?state=abc")
            .append_pair("auth_type", "1");
        url
    };

    let page = http.get(page_url(appid(), pre.expose())).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("authorize-wx1000000000000001") && html.contains("示例服务号"), "{html}");
    assert_eq!(http.get(page_url("wx_other", pre.expose())).send().await.unwrap().status(), 400);
    assert_eq!(http.get(page_url(appid(), "preauthcode@@@forged")).send().await.unwrap().status(), 400);

    let form = [
        ("pre_auth_code", pre.expose()),
        ("redirect_uri", "https://platform.example/wechat/authorize/callback?state=abc"),
        ("appid", ACCOUNT),
    ];
    let redirect = http.post(format!("{}/standin/authorize", s.base_url())).form(&form).send().await.unwrap();
    assert_eq!(redirect.status(), 302);
    let location = url::Url::parse(redirect.headers()["location"].to_str().unwrap()).unwrap();
    let params: HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(location.path(), "/wechat/authorize/callback");
    assert_eq!((params["state"].as_str(), params["expires_in"].as_str()), ("abc", "600"));
    let auth_code = params["auth_code"].clone();

    // A second use of the same pre_auth_code fails, as WeChat documents ("仅能使用一次").
    let again = http.post(format!("{}/standin/authorize", s.base_url())).form(&form).send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert!(again.text().await.unwrap().contains("already been used"));
    assert_eq!(http.get(page_url(appid(), pre.expose())).send().await.unwrap().status(), 400);

    // WeChat pushes `authorized` with the same code.
    for _ in 0..50 {
        if r.notices.lock().unwrap().iter().any(|n| matches!(n.kind, NoticeKind::Authorized(_))) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let notices = r.notices.lock().unwrap().clone();
    let authorization = notices
        .iter()
        .find_map(|n| match &n.kind {
            NoticeKind::Authorized(a) => Some(a.clone()),
            _ => None,
        })
        .expect("an authorized push");
    assert_eq!(
        (authorization.authorizer_appid.as_str(), authorization.authorization_code.expose()),
        (ACCOUNT, auth_code.as_str())
    );
    assert_eq!(authorization.pre_auth_code.as_ref().map(|p| p.expose()), Some(pre.expose()));

    // Unauthorized arrives too.
    s.revoke(ACCOUNT).await;
    assert!(
        r.notices
            .lock()
            .unwrap()
            .iter()
            .any(|n| matches!(&n.kind, NoticeKind::Unauthorized { authorizer_appid } if authorizer_appid == ACCOUNT))
    );
}

#[tokio::test]
async fn the_control_api_drives_the_stand_in_over_http() {
    let (s, r) = wired().await;
    let http = shared::outbound::client_builder().build().unwrap();
    let base = s.base_url();
    assert_eq!(http.get(format!("{base}/standin/health")).send().await.unwrap().text().await.unwrap(), "ok");
    let pushed: serde_json::Value =
        http.post(format!("{base}/standin/push/ticket")).send().await.unwrap().json().await.unwrap();
    assert_eq!(pushed["body"], "success");
    let text: serde_json::Value = http
        .post(format!("{base}/standin/push/text"))
        .json(&serde_json::json!({"appid": ACCOUNT, "openid": "o_x", "content": "hi"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(text["reply_xml"].as_str().unwrap().contains("echo: hi"));
    let fault = serde_json::json!({"endpoint": "api_component_token", "fault": {"kind": "errcode", "value": 45009}});
    assert_eq!(http.post(format!("{base}/standin/faults")).json(&fault).send().await.unwrap().status(), 204);
    let err = client(&s).component_token(&shared::Secret::new(s.last_ticket().unwrap())).await.unwrap_err();
    assert_eq!(err.errcode(), Some(45009));
    let calls: serde_json::Value = http
        .get(format!("{base}/standin/calls?endpoint=api_component_token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls["calls"], 1);
    assert_eq!(r.notices.lock().unwrap().len(), 1);
}
