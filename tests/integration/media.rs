//! Media (素材) through the API, as a merchant's browser or a backend uploads them: declare, `PUT`
//! to the presigned URL (the local AWS emulator's S3), complete, and the file is WeChat's (the
//! stand-in keeps what it received). Every bad input is a clear 4xx with nothing sent to WeChat.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use shared::store::{AuthorizerStore, LOCAL_DEMO_USER};
use wechat_standin::{Fault, StandIn};

use crate::gateway;
use crate::support::ACCOUNT;

/// A PNG-shaped file of `len` bytes (the signature, then filler), unique to each call: its handle
/// (from its SHA-256) and so its staging key are this test's own, whatever an earlier run left in
/// the emulator's bucket.
pub(crate) fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend(rand::random::<[u8; 16]>());
    bytes.extend((0..len.saturating_sub(bytes.len())).map(|i| u8::try_from(i % 251).unwrap_or(0)));
    bytes.truncate(len);
    bytes
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The platform behind the gateway, the account authorized and the local demo user's.
pub(crate) async fn owned() -> (StandIn, gateway::Shared, String) {
    let (standin, app, base) = gateway::wired(crate::support::fresh_table().await, |_| {}).await;
    standin.push_ticket().await;
    standin.authorize_and_push(ACCOUNT).await.unwrap();
    app.platform.store().set_owner(ACCOUNT, LOCAL_DEMO_USER, standin.now()).await.unwrap();
    (standin, app, base)
}

/// `POST …/media` with `declaration`: status and body.
async fn begin(http: &reqwest::Client, base: &str, declaration: &Value) -> (u16, Value) {
    let response = http.post(format!("{base}/wechat/authorizers/{ACCOUNT}/media")).json(declaration).send().await;
    let response = response.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// The `PUT` a browser makes to the upload URL, with the headers it was told to send.
async fn put(http: &reqwest::Client, upload: &Value, bytes: Vec<u8>) -> u16 {
    let mut request = http.put(upload["url"].as_str().unwrap()).body(bytes);
    for (name, value) in upload["headers"].as_object().unwrap() {
        request = request.header(name, value.as_str().unwrap());
    }
    request.send().await.unwrap().status().as_u16()
}

async fn complete(http: &reqwest::Client, base: &str, handle: &str) -> (u16, Value) {
    let url = format!("{base}/wechat/authorizers/{ACCOUNT}/media/{handle}/complete");
    let response = http.post(url).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// `GET url`: its JSON body.
async fn get_json(http: &reqwest::Client, url: String) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

/// `POST url` with `body`: its JSON answer.
async fn post_json(http: &reqwest::Client, url: &str, body: &Value) -> Value {
    http.post(url).json(body).send().await.unwrap().json().await.unwrap()
}

pub(crate) fn image(bytes: &[u8], lifetime: &str) -> Value {
    json!({"type": "image", "lifetime": lifetime, "content_type": "image/png", "size": bytes.len(), "sha256": sha256_hex(bytes)})
}

#[tokio::test]
async fn an_image_goes_to_wechat_through_the_bucket_once_and_is_sent_as_the_account() {
    let (standin, _app, base) = owned().await;
    let http = shared::outbound::client_builder().build().unwrap();
    let file = png(150_000);

    // Declared, uploaded to the bucket, completed: WeChat has exactly these bytes.
    let (status, begun) = begin(&http, &base, &image(&file, "temporary")).await;
    assert_eq!(status, 201, "{begun}");
    let medium = &begun["data"]["medium"];
    assert_eq!((medium["status"].as_str(), medium["media_id"].as_str()), (Some("staged"), None));
    let handle = medium["handle"].as_str().unwrap().to_owned();
    let (status, body) = complete(&http, &base, &handle).await;
    assert_eq!((status, body["code"].as_i64()), (409, Some(1023)), "nothing uploaded yet: {body}");
    assert_eq!(put(&http, &begun["data"]["upload"], file.clone()).await, 200);
    // WeChat fails the first upload (a system error): completing again works at once, nothing
    // left held.
    standin.inject_fault("media_upload", Fault::Errcode(-1), 1);
    let (status, failed) = complete(&http, &base, &handle).await;
    assert_eq!((status, failed["errcode"].as_i64()), (422, Some(-1)), "{failed}");
    let calls = standin.calls("media_upload");
    let (status, done) = complete(&http, &base, &handle).await;
    assert_eq!(status, 200, "{done}");
    let medium = &done["data"]["medium"];
    assert_eq!(medium["status"], "ready");
    let media_id = medium["media_id"].as_str().unwrap().to_owned();
    assert_eq!(standin.medium(&media_id), Some((file.len(), file[..16].to_vec())));
    assert_eq!(medium["expires_at"].as_i64(), medium["uploaded_at"].as_i64().map(|at| at + 3 * 86_400));
    assert_eq!(standin.calls("media_upload"), calls + 1);

    // Completing again, or declaring the same file again, uploads nothing more.
    assert_eq!(complete(&http, &base, &handle).await.1["data"]["medium"]["media_id"], media_id.as_str());
    let (status, again) = begin(&http, &base, &image(&file, "temporary")).await;
    assert_eq!((status, again["data"]["existing"].as_bool()), (200, Some(true)), "{again}");
    assert!(again["data"]["upload"].is_null());
    assert_eq!(standin.calls("media_upload"), calls + 1, "one upload to WeChat for one file");

    // Listed and read back; a follower who wrote gets it as a customer-service image.
    let list: Value = get_json(&http, format!("{base}/wechat/authorizers/{ACCOUNT}/media")).await;
    assert_eq!(list["data"]["media"].as_array().map(Vec::len), Some(1), "{list}");
    let one: Value = get_json(&http, format!("{base}/wechat/authorizers/{ACCOUNT}/media/{handle}")).await;
    assert_eq!(one["data"]["medium"]["media_id"], media_id.as_str());
    standin.push_text(ACCOUNT, "o_media", "在吗").await;
    let send = json!({"touser": "o_media", "msgtype": "image", "image": {"media_id": media_id}});
    let sent = http.post(format!("{base}/wechat/authorizers/{ACCOUNT}/messages")).json(&send).send().await.unwrap();
    assert_eq!(sent.status(), 200, "{}", sent.text().await.unwrap());
    // By the handle: WeChat gets the medium's media_id.
    let by_handle = json!({"touser": "o_media", "msgtype": "image", "image": {"media_id": handle}});
    let sent =
        http.post(format!("{base}/wechat/authorizers/{ACCOUNT}/messages")).json(&by_handle).send().await.unwrap();
    assert_eq!(sent.status(), 200, "{}", sent.text().await.unwrap());
    // (The stand-in answers 40007 to a media_id it does not keep: the handle itself never reached it.)
    // An image's handle where WeChat wants a voice: refused before WeChat, naming the field.
    let as_voice = json!({"touser": "o_media", "msgtype": "voice", "voice": {"media_id": handle}});
    let refused =
        http.post(format!("{base}/wechat/authorizers/{ACCOUNT}/messages")).json(&as_voice).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let refused: Value = refused.json().await.unwrap();
    assert!(refused["msg"].as_str().unwrap().contains("voice.media_id: a medium of type image"), "{refused}");
    let delivered: Vec<_> = standin.sent_messages().into_iter().filter(|m| m.touser == "o_media").collect();
    assert_eq!(delivered.len(), 2, "{delivered:?}");

    // Three days later WeChat no longer knows it: the API says expired, WeChat refuses a send.
    standin.advance_clock(3 * 86_400 + 1);
    standin.push_ticket().await; // (WeChat pushes one every ten minutes: the old one is stale by now)
    let one: Value = get_json(&http, format!("{base}/wechat/authorizers/{ACCOUNT}/media/{handle}")).await;
    assert_eq!(one["data"]["medium"]["status"], "expired");
    standin.push_text(ACCOUNT, "o_media", "还在吗").await;
    let refused = post_json(&http, &format!("{base}/wechat/authorizers/{ACCOUNT}/messages"), &send).await;
    assert_eq!(
        (refused["errcode"].as_i64(), refused["reason"].as_str()),
        (Some(40007), Some("invalid_media_id")),
        "{refused}"
    );
    // By its handle: 1025, and one call uploads it again from the file the platform kept (no
    // second upload from the browser); the send by handle then goes.
    let messages = format!("{base}/wechat/authorizers/{ACCOUNT}/messages");
    let expired = post_json(&http, &messages, &by_handle).await;
    assert_eq!(expired["code"], 1025, "{expired}");
    let (status, renewed) = complete(&http, &base, &handle).await;
    assert_eq!(status, 200, "{renewed}");
    let renewed_id = renewed["data"]["medium"]["media_id"].as_str().unwrap();
    assert_ne!(renewed_id, media_id);
    assert_eq!(standin.medium(renewed_id).map(|(len, _)| len), Some(file.len()));
    let sent = http.post(&messages).json(&by_handle).send().await.unwrap();
    assert_eq!(sent.status(), 200, "{}", sent.text().await.unwrap());
}

#[tokio::test]
async fn permanent_material_is_listed_counted_and_deleted_at_wechat() {
    let (standin, _app, base) = owned().await;
    let http = shared::outbound::client_builder().build().unwrap();
    let file = png(20_000);
    let (status, begun) = begin(&http, &base, &image(&file, "permanent")).await;
    assert_eq!(status, 201, "{begun}");
    assert_eq!(put(&http, &begun["data"]["upload"], file).await, 200);
    let handle = begun["data"]["medium"]["handle"].as_str().unwrap().to_owned();
    let (status, done) = complete(&http, &base, &handle).await;
    assert_eq!(status, 200, "{done}");
    let medium = &done["data"]["medium"];
    assert!(medium["url"].as_str().is_some_and(|u| u.starts_with("http")), "{medium}");
    assert!(medium["expires_at"].is_null(), "permanent: no expiry");
    let media_id = medium["media_id"].as_str().unwrap().to_owned();

    let library = format!("{base}/wechat/authorizers/{ACCOUNT}/media/wechat-library");
    let count: Value = get_json(&http, format!("{library}/count")).await;
    assert_eq!(count["data"]["image"], 1, "{count}");
    let page: Value = get_json(&http, format!("{library}?type=image&offset=0&count=20")).await;
    assert_eq!(page["data"]["items"][0]["media_id"], media_id.as_str(), "{page}");
    let bad = http.get(format!("{library}?type=image&count=21")).send().await.unwrap();
    assert_eq!(bad.status(), 400);

    // An image for an article's HTML: permanent by nature, answered with a URL, no media_id.
    let mut jpeg = png(30_000);
    jpeg[..4].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
    let declared =
        json!({"type": "article_image", "content_type": "image/jpeg", "size": jpeg.len(), "sha256": sha256_hex(&jpeg)});
    let (status, begun) = begin(&http, &base, &declared).await;
    assert_eq!((status, begun["data"]["medium"]["lifetime"].as_str()), (201, Some("permanent")), "{begun}");
    assert_eq!(put(&http, &begun["data"]["upload"], jpeg).await, 200);
    let (status, done) = complete(&http, &base, begun["data"]["medium"]["handle"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{done}");
    assert!(done["data"]["medium"]["media_id"].is_null() && done["data"]["medium"]["url"].is_string(), "{done}");
    assert_eq!(standin.calls("media_uploadimg"), 1);

    let deleted = http.delete(format!("{base}/wechat/authorizers/{ACCOUNT}/media/{handle}")).send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(standin.medium(&media_id), None, "deleted at WeChat");
    let gone = http.get(format!("{base}/wechat/authorizers/{ACCOUNT}/media/{handle}")).send().await.unwrap();
    assert_eq!(gone.status(), 404);
    let count: Value = get_json(&http, format!("{library}/count")).await;
    assert_eq!(count["data"]["image"], 0);
}

#[tokio::test]
async fn every_bad_file_is_refused_clearly_and_nothing_reaches_wechat() {
    let (standin, _app, base) = owned().await;
    let http = shared::outbound::client_builder().build().unwrap();
    let file = png(10_000);

    // Declarations WeChat would refuse: 400 naming the rule, nothing stored.
    for (declaration, says) in [
        (
            json!({"type": "image", "content_type": "image/png", "size": 3 << 20, "sha256": sha256_hex(&file)}),
            "at most",
        ),
        (json!({"type": "image", "content_type": "image/bmp", "size": 10, "sha256": sha256_hex(&file)}), "must be"),
        (json!({"type": "image", "content_type": "image/png", "size": 0, "sha256": sha256_hex(&file)}), "empty"),
        (
            json!({"type": "sticker", "content_type": "image/png", "size": 10, "sha256": sha256_hex(&file)}),
            "type must be",
        ),
        (
            json!({"type": "video", "lifetime": "permanent", "content_type": "video/mp4", "size": 10, "sha256": sha256_hex(&file)}),
            "title",
        ),
        (json!({"type": "image", "content_type": "image/png", "size": 10, "sha256": "abc"}), "SHA-256"),
        (
            json!({"type": "image", "lifetime": {}, "content_type": "image/png", "size": 10, "sha256": sha256_hex(&file)}),
            "lifetime",
        ),
    ] {
        let (status, body) = begin(&http, &base, &declaration).await;
        assert_eq!((status, body["code"].as_i64()), (400, Some(1001)), "{declaration}: {body}");
        assert!(body["msg"].as_str().is_some_and(|m| m.contains(says)), "{says}: {body}");
    }
    let listed: Value = get_json(&http, format!("{base}/wechat/authorizers/{ACCOUNT}/media")).await;
    assert_eq!(listed["data"]["media"], json!([]), "nothing stored");

    // Declared as a PNG, but the bytes are a JPEG of the same length and checksum as declared:
    // refused before WeChat sees a byte.
    let mut jpeg = file.clone();
    jpeg[..4].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
    let (status, begun) = begin(&http, &base, &image(&jpeg, "temporary")).await;
    assert_eq!(status, 201);
    assert_eq!(put(&http, &begun["data"]["upload"], jpeg).await, 200);
    let handle = begun["data"]["medium"]["handle"].as_str().unwrap();
    let (status, body) = complete(&http, &base, handle).await;
    assert_eq!((status, body["code"].as_i64()), (422, Some(1024)), "{body}");
    assert!(body["msg"].as_str().unwrap().contains("image/jpeg"), "{body}");

    // A body other than the declared one (the bucket takes only the declared checksum, length and
    // type: the emulator may not check them all, so the platform checks again). Either way WeChat
    // keeps nothing.
    let (_, begun) = begin(&http, &base, &image(&file, "temporary")).await;
    let other = png(file.len());
    let stored = put(&http, &begun["data"]["upload"], other).await;
    let handle = begun["data"]["medium"]["handle"].as_str().unwrap();
    if stored == 200 {
        let (status, body) = complete(&http, &base, handle).await;
        assert_eq!((status, body["code"].as_i64()), (422, Some(1024)), "{body}");
        assert!(body["msg"].as_str().unwrap().contains("SHA-256"), "{body}");
    } else {
        assert!((400..500).contains(&stored), "the bucket refused the body: {stored}");
    }
    let truncated = &file[..file.len() / 2];
    let (_, begun) = begin(&http, &base, &image(&png(4_000), "temporary")).await;
    let _ = put(&http, &begun["data"]["upload"], truncated.to_vec()).await;
    let (status, body) = complete(&http, &base, begun["data"]["medium"]["handle"].as_str().unwrap()).await;
    assert!(matches!(status, 409 | 422), "{status} {body}");
    assert_eq!(standin.calls("media_upload"), 0, "nothing reached WeChat");

    // Another account's handle, or none at all.
    let other_account = format!("{base}/wechat/authorizers/wx1000000000000002/media/{handle}");
    assert_eq!(http.get(other_account).send().await.unwrap().status(), 404);
    let unknown = format!("{base}/wechat/authorizers/{ACCOUNT}/media/mtim_{}", "0".repeat(32));
    let body = get_json(&http, unknown).await;
    assert_eq!(body["code"], 1022);
}

/// Declared, put in the bucket and sent to WeChat: the medium's JSON.
pub(crate) async fn uploaded(http: &reqwest::Client, base: &str, declaration: &Value, bytes: Vec<u8>) -> Value {
    let (status, begun) = begin(http, base, declaration).await;
    assert_eq!(status, 201, "{begun}");
    assert_eq!(put(http, &begun["data"]["upload"], bytes).await, 200);
    let (status, done) = complete(http, base, begun["data"]["medium"]["handle"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{done}");
    done["data"]["medium"].clone()
}

#[tokio::test]
async fn a_reply_rule_answers_with_a_medium_by_its_handle_while_wechat_keeps_it() {
    let (standin, _app, base) = owned().await;
    let http = shared::outbound::client_builder().build().unwrap();
    let file = png(40_000);
    let medium = uploaded(&http, &base, &image(&file, "temporary"), file).await;
    let (handle, media_id) = (medium["handle"].as_str().unwrap(), medium["media_id"].as_str().unwrap());
    let rules_url = format!("{base}/wechat/authorizers/{ACCOUNT}/reply-rules");
    let save = |reply: Value, version: &str| {
        let rules = json!({"rules": [{"on": "keyword", "match": "exact", "keyword": "图片", "reply": reply}]});
        http.put(&rules_url).header("if-match", format!("\"{version}\"")).json(&rules).send()
    };

    // Refused on save, naming the rule: a handle of no medium, or of a medium of another kind.
    let unknown = json!({"msgtype": "image", "image": {"media_id": format!("mtim_{}", "0".repeat(32))}});
    let as_voice = json!({"msgtype": "voice", "voice": {"media_id": handle}});
    for (reply, says) in [(unknown, "no such medium"), (as_voice, "a voice reply needs a voice medium, not image")] {
        let body: Value = save(reply, "0").await.unwrap().json().await.unwrap();
        assert_eq!((body["code"].as_i64(), body["rule"].as_i64()), (Some(1001), Some(0)), "{body}");
        assert!(body["msg"].as_str().unwrap().contains(says), "{body}");
    }

    // Saved with the handle (kept as written); a follower's keyword gets WeChat's media_id.
    let saved = save(json!({"msgtype": "image", "image": {"media_id": handle}}), "0").await.unwrap();
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    let stored = get_json(&http, rules_url.clone()).await;
    assert_eq!(stored["data"]["rules"][0]["reply"]["image"]["media_id"], handle);
    let pushed = standin.push_text(ACCOUNT, "o_reply", "图片").await;
    let reply = pushed.reply().unwrap_or_else(|| panic!("a reply: {pushed:?}"));
    assert_eq!(reply.kind, shared::message::ReplyKind::Image { media_id: media_id.to_owned() });
    assert!(standin.medium(media_id).is_some(), "an id WeChat keeps");

    // Three days later WeChat no longer keeps it: no reply rather than one WeChat would drop.
    standin.advance_clock(3 * 86_400 + 1);
    let pushed = standin.push_text(ACCOUNT, "o_reply", "图片").await;
    assert_eq!((pushed.body.as_str(), pushed.reply_xml.as_deref()), ("success", None), "{pushed:?}");
}

#[tokio::test]
async fn a_temporary_medium_a_rule_names_is_uploaded_again_before_wechat_forgets_it() {
    let (standin, app, base) = owned().await;
    let http = shared::outbound::client_builder().build().unwrap();
    let staging = crate::support::staging().await;
    let upkeep = token_refresher::Upkeep { edge: None, media: Some(&staging) };
    let (named, unnamed, sent) = (png(30_000), png(20_000), png(25_000));
    let named = uploaded(&http, &base, &image(&named, "temporary"), named).await;
    let unnamed = uploaded(&http, &base, &image(&unnamed, "temporary"), unnamed).await;
    let sent = uploaded(&http, &base, &image(&sent, "temporary"), sent).await;
    // The third is sent by its handle (a follower wrote): in use, though no rule names it.
    standin.push_text(ACCOUNT, "o_sender", "在吗").await;
    let by_handle = json!({"touser": "o_sender", "msgtype": "image", "image": {"media_id": sent["handle"]}});
    let response =
        http.post(format!("{base}/wechat/authorizers/{ACCOUNT}/messages")).json(&by_handle).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let (handle, first_id) = (named["handle"].as_str().unwrap(), named["media_id"].as_str().unwrap().to_owned());
    let rules = json!({"rules": [{"on": "keyword", "keyword": "图", "reply": {"msgtype": "image", "image": {"media_id": handle}}}]});
    let url = format!("{base}/wechat/authorizers/{ACCOUNT}/reply-rules");
    assert_eq!(http.put(&url).header("if-match", "\"0\"").json(&rules).send().await.unwrap().status(), 200);
    let kept = |handle: &str| shared::service::kept_key(ACCOUNT, handle);
    let is_kept = |key: String| {
        let staging = staging.clone();
        async move { shared::staging::Staging::open(&staging, &key).await.unwrap().is_some() }
    };
    assert!(is_kept(kept(handle)).await && is_kept(kept(unnamed["handle"].as_str().unwrap())).await);

    // Nothing is due while both have days left.
    let report = token_refresher::handle_with(&app, None, upkeep).await;
    assert_eq!(report.media, Some(Default::default()), "{report:?}");

    // Six hours before WeChat forgets them: the one the rule names and the one sent are uploaded
    // again (a new media_id, three more days), the other is let go with its file.
    standin.advance_clock(3 * 86_400 - 6 * 3_600);
    standin.push_ticket().await;
    let uploads = standin.calls("media_upload");
    let report = token_refresher::handle_with(&app, None, upkeep).await;
    let media = report.media.clone().unwrap();
    let mut renewed = media.renewed.clone();
    renewed.sort();
    let mut expected = [format!("{ACCOUNT}/{handle}"), format!("{ACCOUNT}/{}", sent["handle"].as_str().unwrap())];
    expected.sort();
    assert_eq!(renewed, expected, "{report:?}");
    assert_eq!(media.released, [format!("{ACCOUNT}/{}", unnamed["handle"].as_str().unwrap())], "{report:?}");
    assert!(!report.has_failures(), "{report:?}");
    assert_eq!(standin.calls("media_upload"), uploads + 2);
    assert!(is_kept(kept(handle)).await && !is_kept(kept(unnamed["handle"].as_str().unwrap())).await);
    let one: Value = get_json(&http, format!("{base}/wechat/authorizers/{ACCOUNT}/media/{handle}")).await;
    let renewed_id = one["data"]["medium"]["media_id"].as_str().unwrap().to_owned();
    assert_ne!(renewed_id, first_id);
    assert_eq!(standin.medium(&renewed_id).map(|(len, _)| len), Some(30_000), "the same file at WeChat");

    // Past the first upload's 3 days: the rule still answers, with the renewed id.
    standin.advance_clock(7 * 3_600);
    let pushed = standin.push_text(ACCOUNT, "o_renewed", "图").await;
    let reply = pushed.reply().unwrap_or_else(|| panic!("a reply: {pushed:?}"));
    assert_eq!(reply.kind, shared::message::ReplyKind::Image { media_id: renewed_id });
    // The next run finds nothing due; deleting the medium takes its kept file too.
    let report = token_refresher::handle_with(&app, None, upkeep).await;
    assert_eq!(report.media.map(|m| m.renewed.len()), Some(0));
    let deleted = http.delete(format!("{base}/wechat/authorizers/{ACCOUNT}/media/{handle}")).send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    assert!(!is_kept(kept(handle)).await);
}

/// A file far larger than a socket's buffers: its bytes flow from the bucket to WeChat with no
/// other call waiting in between (the emulator serves one request at a time, so a completion that
/// read the head and then called the store would wait on itself until the store's timeout).
#[tokio::test]
async fn a_large_video_streams_from_the_bucket_to_wechat() {
    let (standin, _app, base) = owned().await;
    let http = shared::outbound::client_builder().build().unwrap();
    let mut video = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom".to_vec();
    video.extend(rand::random::<[u8; 16]>());
    video.resize(4 * 1024 * 1024, 7);
    let declared = json!({"type": "video", "lifetime": "temporary", "content_type": "video/mp4",
        "size": video.len(), "sha256": sha256_hex(&video)});
    let medium = uploaded(&http, &base, &declared, video.clone()).await;
    let media_id = medium["media_id"].as_str().unwrap();
    assert_eq!(standin.medium(media_id), Some((video.len(), video[..16].to_vec())));
}
