//! JS-SDK on behalf of an account (issue 36): a page's `wx.config` signed with the account's own
//! jsapi_ticket (the stand-in checks it as WeChat's client does), only for pages on the
//! account's web origins, the ticket fetched once however many pages ask at once and kept until
//! it is due.

use serde_json::{Value, json};

use crate::gateway::SHOP;
use crate::support::ACCOUNT;

#[tokio::test]
async fn pages_get_their_config_signed_with_the_accounts_ticket_fetched_once() {
    let (standin, _app, base) = crate::media::owned().await;
    let http = shared::outbound::client_builder().build().unwrap();
    let config = format!("{base}/wechat/authorizers/{ACCOUNT}/jssdk/config");
    let ask = |url: String| {
        let (http, config) = (http.clone(), config.clone());
        async move {
            let response = http.post(&config).json(&json!({"url": url})).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };

    // No web origins yet, and pages elsewhere: refused before WeChat is asked.
    let (status, body) = ask(format!("{SHOP}/p/1")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("web origins"), "{body}");
    let origins =
        http.put(format!("{base}/wechat/authorizers/{ACCOUNT}/web-origins")).json(&json!({"origins": [SHOP]}));
    assert_eq!(origins.send().await.unwrap().status().as_u16(), 200);
    for (url, says) in
        [("https://evil.example.com/p", "not one of the account's web origins"), ("/p/1", "full address")]
    {
        let (status, body) = ask(url.to_owned()).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["msg"].as_str().unwrap().contains(says), "{body}");
    }
    assert_eq!(standin.calls("ticket_getticket"), 0);

    // Fifty pages at once: one getticket; each config passes WeChat's check for its own page.
    let pages: Vec<String> = (0..50).map(|i| format!("{SHOP}/products/{i}?from=menu#reviews")).collect();
    let answers = futures_util::future::join_all(pages.iter().cloned().map(ask)).await;
    assert_eq!(standin.calls("ticket_getticket"), 1, "one fetch for fifty callers");
    for (page, (status, body)) in pages.iter().zip(&answers) {
        assert_eq!(*status, 200, "{body}");
        let c = &body["data"];
        assert_eq!(c["appId"], ACCOUNT, "the account's appid, never the platform's");
        assert_eq!(c["url"], page.split('#').next().unwrap());
        let valid = standin.js_config_valid(
            ACCOUNT,
            page,
            c["timestamp"].as_i64().unwrap(),
            c["nonceStr"].as_str().unwrap(),
            c["signature"].as_str().unwrap(),
        );
        assert!(valid, "WeChat's check of {page}: {c}");
        // Signed for that page only.
        assert!(!standin.js_config_valid(
            ACCOUNT,
            &pages[(pages.iter().position(|p| p == page).unwrap() + 1) % 50],
            c["timestamp"].as_i64().unwrap(),
            c["nonceStr"].as_str().unwrap(),
            c["signature"].as_str().unwrap()
        ));
    }

    // From the kept ticket: no WeChat call. Once it is due (10 minutes before WeChat's 2 hours),
    // fetched again.
    assert_eq!(ask(format!("{SHOP}/again")).await.0, 200);
    assert_eq!(standin.calls("ticket_getticket"), 1);
    standin.advance_clock(7200 - 600 + 1);
    standin.push_ticket().await;
    let (status, body) = ask(format!("{SHOP}/later")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(standin.calls("ticket_getticket"), 2);

    // Another user: no such account.
    let stranger = http
        .post(&config)
        .header("authorization", "Bearer local-user:someone-else")
        .json(&json!({"url": format!("{SHOP}/p")}));
    assert_eq!(stranger.send().await.unwrap().status().as_u16(), 404);
}
