//! Races on the real DynamoDB-API server: WeChat delivering the same push 100 times at once, and
//! refresher runs racing each other, re-authorizations and callbacks for the same accounts.

use futures_util::future::join_all;
use shared::store::{AuthorizerStatus, AuthorizerStore};
use wechat_standin::{RELEASE_TEST_APPID, StandIn};

use crate::gateway::{self, Shared};

async fn world(rotate: bool) -> (StandIn, Shared, String) {
    let (standin, app, base) =
        gateway::wired(crate::support::fresh_table().await, |c| c.rotate_refresh_tokens = rotate).await;
    assert_eq!(standin.push_ticket().await.body, "success");
    (standin, app, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_duplicates_are_processed_once_and_answered_alike() {
    let (standin, _app, base) = world(false).await;
    let code = standin.authorize_directly(RELEASE_TEST_APPID).await.unwrap();
    let query_auth_before = standin.calls("api_query_auth");
    // The tester writes (WeChat opens the customer-service window the test's reply is sent in).
    standin.follower_message(RELEASE_TEST_APPID, "ozy4qt1eDxSxzCr0aNT0mXCWfrDE", "text");

    // One push, as WeChat would retry it: same query, same body, 100 times at once. Its side
    // effect (api_query_auth, then a custom message) must happen exactly once.
    let xml = format!(
        "<xml><ToUserName><![CDATA[gh_3c884a361561]]></ToUserName><FromUserName><![CDATA[ozy4qt1eDxSxzCr0aNT0mXCWfrDE]]></FromUserName><CreateTime>{}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[QUERY_AUTH_CODE:{code}]]></Content><MsgId>24600000000000001</MsgId></xml>",
        standin.now()
    );
    let push = crate::support::SealedPush::new(
        &xml,
        "<ToUserName><![CDATA[gh_3c884a361561]]></ToUserName>",
        &standin.now().to_string(),
        "4242",
    );
    let url = format!(
        "{base}/wechat/{RELEASE_TEST_APPID}/callback?{}&openid=ozy4qt1eDxSxzCr0aNT0mXCWfrDE",
        push.query_string()
    );
    let body = push.body;
    let http = shared::outbound::client_builder().build().unwrap();
    let answers = join_all((0..100).map(|_| {
        let (http, url, body) = (http.clone(), url.clone(), body.clone());
        async move {
            let response = http.post(url).body(body).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    }))
    .await;
    assert!(answers.iter().all(|a| *a == (200, String::new())), "all answered alike (empty): {:?}", &answers[..3]);
    // The first delivery sends the custom message before it answers, so once every answer is in,
    // every send that happened has happened: no pause needed to see a second one.
    assert_eq!(standin.sent_messages().len(), 1, "{:?}", standin.sent_messages());
    assert_eq!(standin.calls("api_query_auth") - query_auth_before, 1, "the code was exchanged once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_refreshers_reauthorizations_and_callbacks_lose_no_refresh_token() {
    // WeChat rotating refresh tokens on every refresh is the hardest case: each refresh makes the
    // previous token useless, so storing an older one would strand the account. Right after each
    // race every account must hold WeChat's current refresh token (no repair by a later run).
    let (standin, app, _) = world(true).await;
    let accounts = ["wx1000000000000001", "wx1000000000000002"];
    for appid in accounts {
        standin.authorize_directly(appid).await.unwrap();
    }
    let component_calls = standin.calls("api_component_token");
    for round in 0..3 {
        // Two hours later: every token due, the component token expired.
        standin.advance_clock(7000);
        standin.push_ticket().await;
        let refreshers = join_all((0..8).map(|_| token_refresher::handle(&app, None)));
        let reauthorizations = join_all(accounts.map(|appid| standin.authorize_directly(appid)));
        let (reports, codes) = tokio::join!(refreshers, reauthorizations);
        for report in &reports {
            assert!(report.failed.is_empty() && report.needs_reauthorization.is_empty(), "round {round}: {report:?}");
        }
        assert!(codes.iter().all(Option::is_some));
        assert_eq!(standin.calls("api_component_token") - component_calls, 2 * round + 1, "one refresh per expiry");
        // authorize_directly returns once the `authorized` push was answered, i.e. stored.
        holds_current_tokens(&standin, &app, accounts, &format!("round {round}, right after the race")).await;

        // The next scheduled run settles every account on WeChat's current refresh token.
        standin.advance_clock(7000);
        standin.push_ticket().await;
        let report = token_refresher::handle(&app, None).await;
        assert!(report.failed.is_empty() && report.needs_reauthorization.is_empty(), "round {round}: {report:?}");
        assert!(report.recovered.is_empty(), "round {round}: no stored token needed the 61023 recovery: {report:?}");
        holds_current_tokens(&standin, &app, accounts, &format!("round {round}, next run")).await;
    }
}

async fn holds_current_tokens(standin: &StandIn, app: &Shared, accounts: [&str; 2], when: &str) {
    for appid in accounts {
        let record = app.platform.store().authorizer(appid).await.unwrap().unwrap();
        assert_eq!(record.status, AuthorizerStatus::Authorized, "{when}: {appid}");
        assert_eq!(
            Some(record.refresh_token.expose().to_owned()),
            standin.refresh_token_of(appid),
            "{when}: {appid} holds WeChat's current refresh token"
        );
    }
}
