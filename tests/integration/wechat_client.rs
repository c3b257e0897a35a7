//! The WeChat client against the stand-in: every endpoint, every error class, timeouts, retries.

use std::time::{Duration, Instant};

use crate::support::*;
use serde_json::json;
use shared::Secret;
use shared::wechat::{ApiError, ErrorKind, WeChatClient};
use wechat_standin::Fault;

fn kind<T: std::fmt::Debug>(result: Result<T, ApiError>) -> ErrorKind {
    result.expect_err("an error").kind()
}

#[tokio::test]
async fn component_token_accepts_only_pushed_tickets_for_12_hours() {
    let s = standin().await;
    let c = client(&s);
    assert_eq!(kind(c.component_token(&Secret::new("ticket@@@made-up")).await), ErrorKind::TicketInvalid);
    let ticket = ticket(&s).await;
    let token = c.component_token(&ticket).await.unwrap();
    assert_eq!(token.expires_in, 7200);
    assert!(token.token.expose().starts_with("COMPONENT_TOKEN_"));
    s.advance_clock(12 * 3600);
    let err = c.component_token(&ticket).await.unwrap_err();
    assert_eq!((err.kind(), err.errcode()), (ErrorKind::TicketInvalid, Some(61005)));
}

#[tokio::test]
async fn wrong_appid_or_secret_are_config_errors() {
    let s = standin().await;
    let ticket = ticket(&s).await;
    let wrong_secret = WeChatClient::new(&s.base_url(), appid(), Secret::new("nope")).unwrap();
    let err = wrong_secret.component_token(&ticket).await.unwrap_err();
    assert_eq!((err.kind(), err.errcode()), (ErrorKind::Config, Some(40125)));
    let wrong_appid = WeChatClient::new(&s.base_url(), "wx_other", Secret::new(secret())).unwrap();
    assert_eq!(wrong_appid.component_token(&ticket).await.unwrap_err().errcode(), Some(40013));
    assert_eq!(wrong_secret.start_push_ticket().await.unwrap_err().errcode(), Some(40125));
    client(&s).start_push_ticket().await.unwrap();
}

#[tokio::test]
async fn component_tokens_expire_and_are_superseded_after_a_grace() {
    let s = standin().await;
    let c = client(&s);
    let ticket = ticket(&s).await;
    let first = c.component_token(&ticket).await.unwrap().token;
    c.create_pre_auth_code(&first).await.unwrap();
    let second = c.component_token(&ticket).await.unwrap().token;
    // The previous token keeps working for the grace period only.
    c.create_pre_auth_code(&first).await.unwrap();
    s.advance_clock(61);
    let err = c.create_pre_auth_code(&first).await.unwrap_err();
    assert_eq!((err.kind(), err.errcode()), (ErrorKind::TokenInvalid, Some(40001)));
    c.create_pre_auth_code(&second).await.unwrap();
    s.advance_clock(7200);
    let err = c.create_pre_auth_code(&second).await.unwrap_err();
    assert_eq!((err.kind(), err.errcode()), (ErrorKind::TokenInvalid, Some(42001)));
    assert_eq!(kind(c.create_pre_auth_code(&Secret::new("forged")).await), ErrorKind::TokenInvalid);
}

#[tokio::test]
async fn pre_auth_codes_are_fresh_and_auth_codes_single_use() {
    let s = standin().await;
    let c = client(&s);
    let token = c.component_token(&ticket(&s).await).await.unwrap().token;
    let a = c.create_pre_auth_code(&token).await.unwrap();
    let b = c.create_pre_auth_code(&token).await.unwrap();
    assert_ne!(a.token, b.token);
    assert_eq!(a.expires_in, 1800);

    let code = Secret::new(s.authorize_directly(ACCOUNT).await.unwrap());
    let info = c.query_auth(&token, &code).await.unwrap();
    assert_eq!(info.authorizer_appid, ACCOUNT);
    assert_eq!(info.refresh_token.as_ref().map(Secret::expose), s.refresh_token_of(ACCOUNT).as_deref());
    assert!(info.access_token.is_some());
    assert_eq!(info.func_info, [1, 2, 3, 4, 6, 7, 11, 15]);
    // WeChat documents 61009 for a second use of the same code.
    let err = c.query_auth(&token, &code).await.unwrap_err();
    assert_eq!((err.kind(), err.errcode()), (ErrorKind::AuthCodeInvalid, Some(61009)));

    let late = Secret::new(s.authorize_directly(ACCOUNT).await.unwrap());
    s.advance_clock(601);
    let token = c.component_token(&ticket(&s).await).await.unwrap().token;
    let err = c.query_auth(&token, &late).await.unwrap_err();
    assert_eq!((err.kind(), err.errcode()), (ErrorKind::AuthCodeInvalid, Some(61010)));
}

#[tokio::test]
async fn authorizer_tokens_refresh_rotate_and_stop_after_revocation() {
    let mut config = standin_config();
    config.rotate_refresh_tokens = true;
    let s = standin_with(config).await;
    let c = client(&s);
    let token = c.component_token(&ticket(&s).await).await.unwrap().token;
    let code = Secret::new(s.authorize_directly(ACCOUNT).await.unwrap());
    let info = c.query_auth(&token, &code).await.unwrap();
    let old = info.refresh_token.unwrap();
    let refreshed = c.authorizer_token(&token, ACCOUNT, &old).await.unwrap();
    let new = refreshed.refresh_token.unwrap();
    assert_ne!(new, old, "rotation is on");
    assert_eq!(refreshed.expires_in, 7200);
    let err = c.authorizer_token(&token, ACCOUNT, &old).await.unwrap_err();
    assert_eq!((err.kind(), err.errcode()), (ErrorKind::RefreshTokenInvalid, Some(61023)));
    c.authorizer_token(&token, ACCOUNT, &new).await.unwrap();

    s.revoke(ACCOUNT).await;
    let err = c.authorizer_token(&token, ACCOUNT, &new).await.unwrap_err();
    assert_eq!((err.kind(), err.errcode()), (ErrorKind::NotAuthorized, Some(61003)));
    assert_eq!(kind(c.authorizer_info(&token, ACCOUNT).await), ErrorKind::NotAuthorized);
}

#[tokio::test]
async fn authorizer_info_and_list() {
    let s = standin().await;
    let c = client(&s);
    let token = c.component_token(&ticket(&s).await).await.unwrap().token;
    for appid in [ACCOUNT, "wx1000000000000002"] {
        let code = Secret::new(s.authorize_directly(appid).await.unwrap());
        c.query_auth(&token, &code).await.unwrap();
    }
    let profile = c.authorizer_info(&token, ACCOUNT).await.unwrap();
    assert_eq!((profile.nick_name.as_str(), profile.user_name.as_str()), ("示例服务号", "gh_100000000001"));
    assert_eq!((profile.service_type, profile.verify_type), (Some(2), Some(0)));
    let sub = c.authorizer_info(&token, "wx1000000000000002").await.unwrap();
    assert_eq!((sub.service_type, sub.verify_type), (Some(0), Some(-1)));

    let all = c.authorizer_list(&token, 0, 500).await.unwrap();
    assert_eq!(all.total_count, 2);
    assert_eq!(all.list.len(), 2);
    assert!(all.list.iter().all(|row| row.refresh_token.is_some()));
    let page = c.authorizer_list(&token, 1, 1).await.unwrap();
    assert_eq!((page.total_count, page.list.len()), (2, 1));
    assert_eq!(page.list[0].authorizer_appid, "wx1000000000000002");
}

#[tokio::test]
async fn custom_messages_are_sent_as_the_authorizer_and_recorded() {
    let s = standin().await;
    let c = client(&s);
    let token = c.component_token(&ticket(&s).await).await.unwrap().token;
    let code = Secret::new(s.authorize_directly(ACCOUNT).await.unwrap());
    let access = c.query_auth(&token, &code).await.unwrap().access_token.unwrap();
    // WeChat delivers a customer-service message only to a follower who wrote (or followed) lately.
    assert_eq!(c.send_custom_text(&access, "o_follower", "你好").await.unwrap_err().errcode(), Some(43004));
    s.push_text(ACCOUNT, "o_follower", "在吗").await;
    c.send_custom_text(&access, "o_follower", "你好").await.unwrap();
    let sent = s.sent_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].authorizer_appid.as_str(), sent[0].touser.as_str(), sent[0].content.as_str()),
        (ACCOUNT, "o_follower", "你好")
    );
    assert_eq!(kind(c.send_custom_text(&Secret::new("nope"), "o", "x").await), ErrorKind::TokenInvalid);
    s.advance_clock(7201);
    let err = c.send_custom_text(&access, "o_follower", "late").await.unwrap_err();
    assert_eq!(err.errcode(), Some(42001));
    assert_eq!(s.sent_messages().len(), 1);
}

/// The customer-service rules the stand-in enforces, each WeChat error once
/// (<https://developers.weixin.qq.com/doc/service/api/customer/message/api_sendcustommessage>).
#[tokio::test]
async fn customer_service_sends_follow_wechats_window_rules() {
    let s = standin().await;
    let c = client(&s);
    let token = c.component_token(&ticket(&s).await).await.unwrap().token;
    let code = Secret::new(s.authorize_directly(ACCOUNT).await.unwrap());
    let auth = c.query_auth(&token, &code).await.unwrap();
    let (access, refresh) = (auth.access_token.unwrap(), auth.refresh_token.unwrap());
    let text = |to: &str| json!({"touser": to, "msgtype": "text", "text": {"content": "hi"}});
    let code_of = |r: Result<(), shared::wechat::ApiError>| r.err().and_then(|e| e.errcode());

    // A message opens 5 sends for 48 hours.
    s.push_text(ACCOUNT, "o_writer", "hello").await;
    for _ in 0..5 {
        c.send_custom(&access, &text("o_writer")).await.unwrap();
    }
    assert_eq!(code_of(c.send_custom(&access, &text("o_writer")).await), Some(45047), "a sixth");
    s.push_text(ACCOUNT, "o_writer", "again").await;
    c.send_custom(&access, &text("o_writer")).await.unwrap();
    // A follow opens 3 sends for a minute.
    s.push_event(ACCOUNT, "o_new", "subscribe").await;
    for _ in 0..3 {
        c.send_custom(&access, &text("o_new")).await.unwrap();
    }
    assert_eq!(code_of(c.send_custom(&access, &text("o_new")).await), Some(45047));
    s.push_event(ACCOUNT, "o_clicker", "CLICK").await;
    s.advance_clock(61);
    assert_eq!(code_of(c.send_custom(&access, &text("o_clicker")).await), Some(45015), "a minute later");
    // Strangers, unfollowers, and followers who switched messages off.
    assert_eq!(code_of(c.send_custom(&access, &text("o_stranger")).await), Some(43004));
    s.push_event(ACCOUNT, "o_gone", "unsubscribe").await;
    assert_eq!(code_of(c.send_custom(&access, &text("o_gone")).await), Some(43004));
    s.push_text(ACCOUNT, "o_quiet", "hello").await;
    s.set_refuses_messages(ACCOUNT, "o_quiet", true);
    assert_eq!(code_of(c.send_custom(&access, &text("o_quiet")).await), Some(48002));
    // Bodies: one news article at most, every type's fields.
    s.push_text(ACCOUNT, "o_reader", "hello").await;
    let article =
        json!({"title": "t", "description": "d", "url": "https://x.example/", "picurl": "https://x.example/p.png"});
    let news =
        |n: usize| json!({"touser": "o_reader", "msgtype": "news", "news": {"articles": vec![article.clone(); n]}});
    assert_eq!(code_of(c.send_custom(&access, &news(2)).await), Some(45008));
    c.send_custom(&access, &news(1)).await.unwrap();
    let image = json!({"touser": "o_reader", "msgtype": "image", "image": {}});
    assert_eq!(code_of(c.send_custom(&access, &image).await), Some(47001));
    let empty = json!({"touser": "o_reader", "msgtype": "text", "text": {"content": ""}});
    assert_eq!(code_of(c.send_custom(&access, &empty).await), Some(44003));
    // 48 hours after the last message, the window is closed (with tokens of that day).
    s.advance_clock(48 * 3600);
    let token = c.component_token(&ticket(&s).await).await.unwrap().token;
    let access = c.authorizer_token(&token, ACCOUNT, &refresh).await.unwrap().access_token;
    assert_eq!(code_of(c.send_custom(&access, &text("o_reader")).await), Some(45015));
}

#[tokio::test]
async fn injected_faults_map_to_their_class_and_transient_ones_are_retried_once() {
    let s = standin().await;
    let c = client(&s);
    let ticket = ticket(&s).await;
    let calls = |s: &wechat_standin::StandIn| s.calls("api_component_token");

    // One -1 is retried and succeeds; two are reported.
    s.inject_fault("api_component_token", Fault::Errcode(-1), 1);
    c.component_token(&ticket).await.unwrap();
    assert_eq!(calls(&s), 2);
    s.inject_fault("api_component_token", Fault::Errcode(-1), 2);
    assert_eq!(kind(c.component_token(&ticket).await), ErrorKind::SystemBusy);
    assert_eq!(calls(&s), 4);

    // Non-transient errors are not retried.
    for (code, expected) in [(45009, ErrorKind::Quota), (61004, ErrorKind::IpNotWhitelisted)] {
        let before = calls(&s);
        s.inject_fault("api_component_token", Fault::Errcode(code), 1);
        let err = c.component_token(&ticket).await.unwrap_err();
        assert_eq!((err.kind(), err.errcode(), err.call()), (expected, Some(code), "api_component_token"));
        assert_eq!(calls(&s), before + 1);
    }

    // HTTP 5xx and dropped connections: retried once.
    s.inject_fault("api_component_token", Fault::Status(502), 1);
    c.component_token(&ticket).await.unwrap();
    s.inject_fault("api_component_token", Fault::Status(503), 2);
    assert_eq!(kind(c.component_token(&ticket).await), ErrorKind::Http5xx);
    s.inject_fault("api_component_token", Fault::Drop, 1);
    c.component_token(&ticket).await.unwrap();
    s.inject_fault("api_component_token", Fault::Drop, 2);
    assert_eq!(kind(c.component_token(&ticket).await), ErrorKind::Transport);

    // A slow answer times out well inside WeChat's 5-second push deadline, without a retry.
    let before = calls(&s);
    s.inject_fault("api_component_token", Fault::DelayMs(4000), 1);
    let started = Instant::now();
    let err = c.component_token(&ticket).await.unwrap_err();
    assert!(matches!(err, ApiError::Transport { timeout: true, .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(2500), "{:?}", started.elapsed());
    assert_eq!(calls(&s), before + 1);
}

#[tokio::test]
async fn errors_never_carry_tokens_or_secrets() {
    let s = standin().await;
    let c = client(&s);
    let token = c.component_token(&ticket(&s).await).await.unwrap().token;
    let mut errors = Vec::new();
    s.inject_fault("api_query_auth", Fault::Drop, 2);
    errors.push(c.query_auth(&token, &Secret::new("queryauthcode@@@SECRETCODE")).await.unwrap_err());
    errors.push(c.query_auth(&token, &Secret::new("queryauthcode@@@SECRETCODE")).await.unwrap_err());
    let dead = WeChatClient::new("http://127.0.0.1:9", appid(), Secret::new(secret())).unwrap();
    errors.push(dead.create_pre_auth_code(&token).await.unwrap_err());
    errors.push(dead.component_token(&Secret::new("ticket@@@SECRETTICKET")).await.unwrap_err());
    for err in &errors {
        for text in [err.to_string(), format!("{err:?}")] {
            for secret in [token.expose(), secret(), "SECRETCODE", "SECRETTICKET"] {
                assert!(!text.contains(secret), "{text} leaks {secret}");
            }
        }
    }
}

/// A redirect is never followed: following a 307 would resend the body (the AppSecret, the
/// ticket) to wherever the answer points.
#[tokio::test]
async fn redirects_are_never_followed() {
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let elsewhere = format!("http://{}/steal", listener.local_addr().unwrap());
    let counter = seen.clone();
    tokio::spawn(async move {
        let router = axum::Router::new().fallback(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { "got it" }
        });
        axum::serve(listener, router).await.unwrap();
    });
    let s = standin().await;
    let c = client(&s);
    let ticket = ticket(&s).await;
    s.inject_fault("api_component_token", Fault::Redirect(elsewhere), 2);
    let err = c.component_token(&ticket).await.unwrap_err();
    assert!(!err.to_string().contains(secret()), "{err}");
    // Had the client followed the redirect, it would have awaited the target's answer before
    // failing, so the count is final here.
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing reached the redirect's target");
}

/// The menu APIs and WeChat's rules for menus, as the stand-in enforces them; the platform's own
/// check (`shared::menu`) refuses the same breaks before anything is sent.
#[tokio::test]
async fn menus_are_published_read_back_and_deleted_within_wechats_rules() {
    let s = standin().await;
    let c = client(&s);
    let token = c.component_token(&ticket(&s).await).await.unwrap().token;
    let code = Secret::new(s.authorize_directly(ACCOUNT).await.unwrap());
    let access = c.query_auth(&token, &code).await.unwrap().access_token.unwrap();
    assert_eq!(c.menu(&access).await.unwrap(), None, "46003: no menu yet");

    let menu = json!({"button": [
        {"type": "click", "name": "今日歌曲", "key": "V1001_TODAY_MUSIC"},
        {"name": "菜单", "sub_button": [
            {"type": "view", "name": "搜索", "url": "https://www.soso.com/"},
            {"type": "scancode_push", "name": "扫码", "key": "SCAN_1"}]}
    ]});
    let checked = shared::menu::Menu::from_value(&menu).unwrap();
    c.create_menu(&access, &checked.to_value()).await.unwrap();
    assert_eq!(c.menu(&access).await.unwrap().map(|m| m.menu), Some(menu.clone()));
    assert_eq!(s.menu(ACCOUNT), Some(menu));

    // Each break: WeChat's code from the stand-in, and the platform's check names the field.
    let four = json!({"button": [
        {"type": "click", "name": "a", "key": "1"}, {"type": "click", "name": "b", "key": "2"},
        {"type": "click", "name": "c", "key": "3"}, {"type": "click", "name": "d", "key": "4"}]});
    let long_name = json!({"button": [{"type": "click", "name": "一二三四五六", "key": "K"}]});
    let bad_type = json!({"button": [{"type": "tap", "name": "a", "key": "K"}]});
    let view = |host: &str| json!({"type": "view", "name": "v", "url": format!("https://{host}/")});
    let domains =
        json!({"button": [{"name": "a", "sub_button": [view("a.cn"), view("b.cn"), view("c.cn"), view("d.cn")]}]});
    let temporary_medium = json!({"button": [{"type": "media_id", "name": "图", "media_id": "not-kept"}]});
    for (menu, errcode) in
        [(four, 40016), (long_name, 40018), (bad_type, 40017), (domains, 65316), (temporary_medium, 40007)]
    {
        assert_eq!(c.create_menu(&access, &menu).await.unwrap_err().errcode(), Some(errcode), "{menu}");
        if errcode != 40007 {
            assert!(shared::menu::Menu::from_value(&menu).is_err(), "the platform refuses it first: {menu}");
        }
    }
    assert!(s.menu(ACCOUNT).is_some(), "a refused menu changes nothing");

    c.delete_menu(&access).await.unwrap();
    assert_eq!(c.menu(&access).await.unwrap(), None);
}

/// Follower tags and WeChat's limits for them, as the stand-in enforces them.
#[tokio::test]
async fn tags_are_kept_within_wechats_limits() {
    let s = standin().await;
    let c = client(&s);
    let token = c.component_token(&ticket(&s).await).await.unwrap().token;
    let code = Secret::new(s.authorize_directly(ACCOUNT).await.unwrap());
    let access = c.query_auth(&token, &code).await.unwrap().access_token.unwrap();
    s.seed_followers(ACCOUNT, "o_tag_", 51);
    let errcode = |r: Result<(), ApiError>| r.unwrap_err().errcode();

    let vip = c.create_tag(&access, "VIP").await.unwrap();
    assert!(vip >= 100, "{vip}: 0, 1 and 2 are WeChat's own");
    assert_eq!(c.create_tag(&access, "VIP").await.unwrap_err().errcode(), Some(45157));
    assert_eq!(c.create_tag(&access, &"标".repeat(11)).await.unwrap_err().errcode(), Some(45158), "33 bytes");
    c.rename_tag(&access, vip, "老客户").await.unwrap();
    assert_eq!(errcode(c.rename_tag(&access, 2, "x").await), Some(45058));

    let openids: Vec<String> = (0..51).map(|i| format!("o_tag_{i:06}")).collect();
    assert_eq!(errcode(c.tag_followers(&access, vip, &openids, true).await), Some(40032), "51 at once");
    c.tag_followers(&access, vip, &openids[..50], true).await.unwrap();
    assert_eq!(errcode(c.tag_followers(&access, vip, &["o_stranger".to_owned()], true).await), Some(49003));
    assert_eq!(errcode(c.tag_followers(&access, 999, &openids[..1], true).await), Some(45159));
    let listed = c.tags(&access).await.unwrap();
    assert_eq!(listed.iter().map(|t| (t.id, t.name.as_str(), t.count)).collect::<Vec<_>>(), [(vip, "老客户", 50)]);
    assert_eq!(c.follower_tags(&access, "o_tag_000000").await.unwrap(), [vip]);
    c.tag_followers(&access, vip, &openids[..1], false).await.unwrap();
    assert_eq!(c.follower_tags(&access, "o_tag_000000").await.unwrap(), Vec::<i64>::new());

    c.delete_tag(&access, vip).await.unwrap();
    assert!(c.tags(&access).await.unwrap().is_empty());
    assert_eq!(c.follower_tags(&access, "o_tag_000001").await.unwrap(), Vec::<i64>::new(), "gone from followers too");
}
