//! No secret ever reaches the logs. Runs the whole lifecycle (ticket, QR URL, authorization,
//! follower message and reply, release test, refresher, revocation, and bad requests) with every
//! log line of every crate captured at DEBUG (our crates at TRACE), then searches the capture for
//! each secret the run handled: the AppSecret, the message token, the EncodingAESKey, verify
//! tickets, the component access token, authorizer access and refresh tokens, auth codes.
//!
//! One current-thread runtime: the gateway, the stand-in and the handlers all log on this thread,
//! so a thread-local subscriber sees everything without touching the other tests' output.

use crate::gateway::{self, Capture};
use crate::support::{key, secret, token};
use shared::store::{AuthorizerStore, ComponentTokenStore};

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let (capture, guard) = Capture::start(
        "debug,shared=trace,ticket_receiver=trace,event_callback=trace,qr_url_issuer=trace,auth_callback=trace,authorizer_list=trace,token_refresher=trace",
    );
    let (standin, app, base) = gateway::wired(crate::support::fresh_table().await, |_| {}).await;
    let http = shared::outbound::client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let mut secrets: Vec<(String, String)> = vec![
        ("AppSecret".into(), secret().into()),
        ("token".into(), token().into()),
        ("EncodingAESKey".into(), key().into()),
    ];
    let account = "wx1000000000000001";
    assert_eq!(standin.push_ticket().await.body, "success");
    secrets.push(("verify ticket".into(), standin.last_ticket().unwrap()));

    // The admin authorizes in the browser.
    let url = crate::support::via_start_link(&http, &base, "auth_type=1").await;
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap();
    let form =
        [("pre_auth_code", param("pre_auth_code")), ("redirect_uri", param("redirect_uri")), ("appid", account.into())];
    secrets.push(("pre_auth_code".into(), param("pre_auth_code")));
    let redirect = http.post(format!("{}/standin/authorize", standin.base_url())).form(&form).send().await.unwrap();
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    let callback = url::Url::parse(&location).unwrap();
    secrets.extend(
        callback.query_pairs().filter(|(k, _)| k == "auth_code").map(|(_, v)| ("auth_code".into(), v.into_owned())),
    );
    assert_eq!(http.get(&location).send().await.unwrap().status(), 200);
    assert_eq!(http.get(&location).send().await.unwrap().status(), 409, "a reload is refused (and logged)");

    // Followers, WeChat's release test, the refresher, bad requests, revocation.
    assert_eq!(standin.push_text(account, "o_follower_4sXk2", "你好").await.body, "success");
    // An event's retry key names its follower: it reaches the logs only hashed.
    assert_eq!(standin.push_event(account, "o_follower_4sXk2", "subscribe").await.body, "success");
    secrets.push(("follower openid".into(), "o_follower_4sXk2".into()));
    assert!(standin.release_test().await.passed());
    standin.advance_clock(7000);
    let report = token_refresher::handle(&app, None).await;
    assert!(report.failed.is_empty(), "{report:?}");
    let bad = http
        .post(format!("{base}/wechat/component/events?timestamp=1&nonce=2&encrypt_type=aes&msg_signature=00"))
        .body("<xml><Encrypt>AAAA</Encrypt></xml>")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    assert_eq!(standin.revoke(account).await.body, "success");

    // Every token the store now holds, and the ones WeChat issued.
    let component = app.platform.store().component_token().await.unwrap().unwrap();
    secrets.push(("component access token".into(), component.token.expose().to_owned()));
    for appid in [account, wechat_standin::RELEASE_TEST_APPID] {
        let record = app.platform.store().authorizer(appid).await.unwrap().unwrap();
        secrets.push((format!("{appid} access token"), record.access_token.expose().to_owned()));
        secrets.push((format!("{appid} refresh token"), record.refresh_token.expose().to_owned()));
    }
    secrets.push(("refresh token (WeChat's)".into(), standin.refresh_token_of(account).unwrap()));
    secrets.push(("latest verify ticket".into(), standin.last_ticket().unwrap()));

    drop(guard);
    let logs = capture.take();
    assert!(logs.lines().count() > 20, "the flow was logged: {} lines", logs.lines().count());
    for (what, secret) in &secrets {
        assert!(secret.len() >= 8, "{what} is long enough to search for");
        if let Some(line) = logs.lines().find(|line| line.contains(secret.as_str())) {
            panic!("the {what} appears in the logs: {line}");
        }
    }
}
