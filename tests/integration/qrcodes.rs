//! Parametric QR codes through account-setup (issue 35): checked before WeChat is asked, made
//! at the stand-in (which enforces WeChat's rules), listed, their image served; scans make the
//! pushes WeChat makes (a follow through `qrscene_…`, a follower's `SCAN`), which reach the ledger
//! over the bus (the local AWS emulator, through the template's rule) and are counted once per
//! push by day however often they are delivered; the follower keeps the scene that brought them.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Client;
use serde_json::{Value, json};
use shared::store::{AuthorizerStore, LOCAL_DEMO_USER};
use wechat_standin::StandIn;

use crate::gateway;
use crate::replies::{batch_from, ledger_pattern};
use crate::subscriber::{Queue, emulator, subscribe};
use crate::support::ACCOUNT;

async fn post(http: &Client, url: &str, body: Value) -> (u16, Value) {
    let response = http.post(url).json(&body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn get(http: &Client, url: &str) -> (u16, Value) {
    let response = http.get(url).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn codes_are_made_within_wechats_rules_and_count_the_follows_and_scans_they_bring() {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let name = format!("qr-{}-{}", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
    let bus =
        shared::bus::EventBridgeBus::from_env_with_timeouts(&name, Duration::from_secs(5), Duration::from_secs(10));
    let subscriber = subscribe(bus, &name, &ledger_pattern()).await;
    let (standin, app, base) =
        gateway::wired_on_bus(crate::support::fresh_table().await, Arc::new(subscriber.bus), |_| {}).await;
    standin.push_ticket().await;
    standin.authorize_and_push(ACCOUNT).await.unwrap();
    app.platform.store().set_owner(ACCOUNT, LOCAL_DEMO_USER, standin.now()).await.unwrap();
    let queue = Queue::at(&emulator(), &subscriber.queue.url);
    let http = shared::outbound::client_builder().build().unwrap();
    let codes = format!("{base}/wechat/authorizers/{ACCOUNT}/qrcodes");

    // Refused before WeChat, naming the field.
    for (body, says) in [
        (json!({"name": "a", "permanent": true, "scene_id": 100_001}), "scene_id: 1 to 100000"),
        (json!({"name": "a", "scene_str": "x".repeat(65)}), "scene_str"),
        (json!({"name": "a", "scene_id": 7, "expire_seconds": 2_592_001}), "expire_seconds"),
        (json!({"scene_id": 7}), "name"),
    ] {
        let (status, answer) = post(&http, &codes, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["msg"].as_str().unwrap().contains(says), "{answer}");
    }
    assert_eq!(standin.calls("qrcode_create"), 0, "nothing reached WeChat");

    // A temporary code for a week, and a permanent one (the same scene again: the same code).
    let before = standin.now();
    let (status, made) =
        post(&http, &codes, json!({"name": "门店海报", "scene_str": "shop-42", "expire_seconds": 604_800})).await;
    assert_eq!(status, 201, "{made}");
    let poster = made["data"]["code"].clone();
    assert_eq!((poster["kind"].as_str(), poster["status"].as_str()), (Some("temporary"), Some("active")));
    let expires_at = poster["expires_at"].as_i64().unwrap();
    assert!((before + 604_800..=standin.now() + 604_800).contains(&expires_at), "{poster}");
    let (status, made) = post(&http, &codes, json!({"name": "前台", "permanent": true, "scene_id": 9})).await;
    assert_eq!(status, 201, "{made}");
    let desk = made["data"]["code"].clone();
    let (status, again) = post(&http, &codes, json!({"name": "前台 2", "permanent": true, "scene_id": 9})).await;
    assert_eq!((status, &again["data"]["code"], &again["data"]["existing"]), (200, &desk, &json!(true)), "{again}");

    // A welcome for the poster's newcomers: the list links the rule to its code.
    let rules = json!({"rules": [{"on": "subscribe", "scene": "shop-42", "reply": {"msgtype": "text", "text": {"content": "欢迎来到 42 号店"}}}]});
    let saved = http
        .put(format!("{base}/wechat/authorizers/{ACCOUNT}/reply-rules"))
        .header("if-match", "\"0\"")
        .json(&rules)
        .send()
        .await;
    assert_eq!(saved.unwrap().status().as_u16(), 200);
    let (_, list) = get(&http, &codes).await;
    assert_eq!(list["data"]["codes"].as_array().unwrap().len(), 2, "{list}");
    let linked: Vec<(&str, &Value)> =
        list["data"]["codes"].as_array().unwrap().iter().map(|c| (c["scene"].as_str().unwrap(), &c["rules"])).collect();
    assert!(linked.contains(&("shop-42", &json!({"subscribe": 0, "scan": null}))), "{list}");
    assert!(linked.contains(&("9", &json!({"subscribe": null, "scan": null}))), "{list}");
    assert_eq!(
        (list["data"]["permanent_count"].as_u64(), list["data"]["permanent_limit"].as_u64()),
        (Some(1), Some(100_000))
    );

    // The image is WeChat's.
    let id = poster["id"].as_str().unwrap();
    let image = http.get(format!("{codes}/{id}/image")).send().await.unwrap();
    assert_eq!(image.status().as_u16(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");
    let ticket = poster["ticket"].as_str().unwrap();
    assert_eq!(image.bytes().await.unwrap().to_vec(), StandIn::qrcode_image(ticket));

    // A newcomer scans the poster (a follow), scans it again (a scan), and someone else scans the
    // desk's code; a code made elsewhere is not counted.
    let scan_day = shared::service::qr_day(standin.now());
    let welcomed = standin.scan_qrcode(ticket, "o_qr_new").await.unwrap();
    assert!(welcomed.reply_xml.as_deref().unwrap_or_default().contains("欢迎来到 42 号店"), "{welcomed:?}");
    let scanned = standin.scan_qrcode(ticket, "o_qr_new").await.unwrap();
    assert_eq!((scanned.status, scanned.reply_xml.as_deref()), (200, None), "no scan rule: {scanned:?}");
    standin.push_event(ACCOUNT, "o_qr_old", "subscribe").await;
    assert_eq!(standin.scan_qrcode(desk["ticket"].as_str().unwrap(), "o_qr_old").await.unwrap().status, 200);
    assert!(standin.scan_qrcode("no-such-ticket", "o_qr_new").await.is_none());
    let batch = batch_from(&queue, 4).await;
    // Delivered twice: counted once.
    for _ in 0..2 {
        let answer = follower_ledger::handle(&*app, &batch).await.unwrap();
        assert_eq!(answer, json!({"batchItemFailures": []}));
    }

    let (status, figures) = get(&http, &format!("{codes}/{id}?days=7")).await;
    assert_eq!(status, 200, "{figures}");
    // (The scans' day: the one they were made on, or the next if China's midnight came between.)
    let days = [account_setup::date_of(scan_day), account_setup::date_of(shared::service::qr_day(standin.now()))];
    assert_eq!(figures["data"]["totals"], json!({"scans": 1, "follows": 1}), "{figures}");
    assert_eq!(figures["data"]["days"].as_array().unwrap().len(), 1);
    assert!(days.iter().any(|d| figures["data"]["days"][0]["date"] == d.as_str()), "{figures}");
    let (_, figures) = get(&http, &format!("{codes}/{}", desk["id"].as_str().unwrap())).await;
    assert_eq!(figures["data"]["totals"], json!({"scans": 1, "follows": 0}), "an existing follower's scan");

    // The follower keeps the scene that brought them.
    let (_, followers) = get(&http, &format!("{base}/wechat/authorizers/{ACCOUNT}/followers")).await;
    let newcomer =
        followers["data"]["followers"].as_array().unwrap().iter().find(|f| f["openid"] == "o_qr_new").cloned();
    assert_eq!(newcomer.unwrap()["first_scene"], "shop-42", "{followers}");

    // Unknown ids, another user: not found. After a week, the poster's image is gone.
    assert_eq!(get(&http, &format!("{codes}/00000000000000000000")).await.0, 404);
    let stranger = http.get(&codes).header("authorization", "Bearer local-user:someone-else").send().await.unwrap();
    assert_eq!(stranger.status().as_u16(), 404);
    standin.advance_clock(604_801);
    let (status, body) = get(&http, &format!("{codes}/{id}/image")).await;
    assert_eq!((status, body["code"].as_i64()), (404, Some(1026)), "{body}");
    let (_, list) = get(&http, &codes).await;
    let statuses: Vec<&str> =
        list["data"]["codes"].as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert!(statuses.contains(&"expired") && statuses.contains(&"active"), "{list}");
}
