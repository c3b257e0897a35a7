//! The account's custom menu through the service: the platform's check first (nothing sent when
//! it fails), media handles of permanent material resolved, published to the stand-in (which
//! enforces WeChat's own rules), read back, deleted.

use serde_json::json;
use shared::service::{ActError, Caller};
use shared::store::LOCAL_DEMO_USER;

use crate::media::{image, png, uploaded};
use crate::support::ACCOUNT;

#[tokio::test]
async fn a_menu_is_checked_published_read_back_and_deleted() {
    let (standin, app, base) = crate::media::owned().await;
    let owner = Caller::Dashboard(LOCAL_DEMO_USER.to_owned());
    assert_eq!(app.platform.menu(&owner, ACCOUNT).await.unwrap(), None, "no menu yet");

    let http = shared::outbound::client_builder().build().unwrap();
    let (poster, flyer) = (png(8_000), png(9_000));
    let permanent = uploaded(&http, &base, &image(&poster, "permanent"), poster).await;
    let temporary = uploaded(&http, &base, &image(&flyer, "temporary"), flyer).await;
    let menu = |media: &str| {
        json!({"button": [
            {"type": "click", "name": "今日歌曲", "key": "V1001_TODAY_MUSIC"},
            {"name": "菜单", "sub_button": [
                {"type": "view", "name": "官网", "url": "https://www.example.com/"},
                {"type": "media_id", "name": "海报", "media_id": media}]}
        ]})
    };

    // Published with the handle: WeChat gets the material's media_id; read back as WeChat has it.
    let published = app.platform.publish_menu(&owner, ACCOUNT, &menu(permanent["handle"].as_str().unwrap())).await;
    let published = published.unwrap();
    let at_wechat = menu(permanent["media_id"].as_str().unwrap());
    assert_eq!(published, at_wechat);
    assert_eq!(standin.menu(ACCOUNT), Some(at_wechat.clone()));
    assert_eq!(app.platform.menu(&owner, ACCOUNT).await.unwrap(), Some(at_wechat.clone()));

    // Refused before WeChat, naming the field: a rule of WeChat's broken, a temporary medium.
    let calls = standin.calls("menu_create");
    let mut four = menu("x");
    four["button"] = json!([{"type": "click", "name": "a", "key": "1"}, {"type": "click", "name": "b", "key": "2"},
        {"type": "click", "name": "c", "key": "3"}, {"type": "click", "name": "d", "key": "4"}]);
    let temporary_handle = menu(temporary["handle"].as_str().unwrap());
    for (document, says) in
        [(four, "button: 4 buttons"), (temporary_handle, "button[1].sub_button[1].media_id: a temporary")]
    {
        match app.platform.publish_menu(&owner, ACCOUNT, &document).await {
            Err(ActError::Invalid(message)) => assert!(message.starts_with(says), "{message}"),
            other => panic!("{document}: {other:?}"),
        }
    }
    assert_eq!(standin.calls("menu_create"), calls, "nothing reached WeChat");
    assert_eq!(standin.menu(ACCOUNT), Some(at_wechat), "the menu WeChat has is unchanged");

    // Another user's caller sees no such account; the owner deletes the menu.
    let stranger = Caller::Dashboard("someone-else".to_owned());
    assert!(matches!(app.platform.menu(&stranger, ACCOUNT).await, Err(ActError::NotFound)));
    app.platform.delete_menu(&owner, ACCOUNT).await.unwrap();
    assert_eq!(standin.menu(ACCOUNT), None);
    assert_eq!(app.platform.menu(&owner, ACCOUNT).await.unwrap(), None);
}
