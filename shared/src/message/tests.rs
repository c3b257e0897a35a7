//! The sample XML of every message and event type (`docs/wechat.md`, "Follower messages and
//! events"), and the replies.

use super::*;

fn parse(xml: &str) -> Message {
    Message::parse(xml).unwrap_or_else(|e| panic!("{e}: {xml}"))
}

const HEAD: &str = "<ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>";

fn sample(rest: &str) -> String {
    format!("<xml>{HEAD}{rest}</xml>")
}

#[test]
fn text() {
    let m = parse(&sample(
        "<CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[this is a test]]></Content><MsgId>1234567890123456</MsgId>",
    ));
    assert_eq!(m.to_user_name, "toUser");
    assert_eq!(m.from_user_name, "fromUser");
    assert_eq!(m.create_time, 1_348_831_860);
    assert_eq!(m.msg_id.as_deref(), Some("1234567890123456"));
    assert_eq!(m.kind, MessageKind::Text { content: "this is a test".into() });
    assert_eq!((m.msg_type(), m.event()), ("text", None));
    assert_eq!(m.dedup_key(), "msg|toUser|1234567890123456");
}

#[test]
fn image() {
    let m = parse(&sample(
        "<CreateTime>1348831860</CreateTime><MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[this is a url]]></PicUrl><MediaId><![CDATA[media_id]]></MediaId><MsgId>1234567890123456</MsgId>",
    ));
    assert_eq!(m.kind, MessageKind::Image { pic_url: "this is a url".into(), media_id: "media_id".into() });
}

#[test]
fn voice_with_and_without_recognition() {
    let plain = parse(&sample(
        "<CreateTime>1357290913</CreateTime><MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[media_id]]></MediaId><Format><![CDATA[Format]]></Format><MsgId>1234567890123456</MsgId>",
    ));
    assert_eq!(
        plain.kind,
        MessageKind::Voice { media_id: "media_id".into(), format: "Format".into(), recognition: None }
    );
    let recognised = parse(&sample(
        "<CreateTime>1357290913</CreateTime><MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[media_id]]></MediaId><Format><![CDATA[Format]]></Format><Recognition><![CDATA[腾讯微信团队]]></Recognition><MsgId>1234567890123456</MsgId>",
    ));
    assert_eq!(
        recognised.kind,
        MessageKind::Voice {
            media_id: "media_id".into(),
            format: "Format".into(),
            recognition: Some("腾讯微信团队".into())
        }
    );
}

#[test]
fn video_and_shortvideo() {
    let body = |t: &str| {
        sample(&format!(
            "<CreateTime>1357290913</CreateTime><MsgType><![CDATA[{t}]]></MsgType><MediaId><![CDATA[media_id]]></MediaId><ThumbMediaId><![CDATA[thumb_media_id]]></ThumbMediaId><MsgId>1234567890123456</MsgId>"
        ))
    };
    assert_eq!(
        parse(&body("video")).kind,
        MessageKind::Video { media_id: "media_id".into(), thumb_media_id: "thumb_media_id".into() }
    );
    let short = parse(&body("shortvideo"));
    assert_eq!(
        short.kind,
        MessageKind::ShortVideo { media_id: "media_id".into(), thumb_media_id: "thumb_media_id".into() }
    );
    assert_eq!(short.msg_type(), "shortvideo");
}

#[test]
fn location() {
    let m = parse(&sample(
        "<CreateTime>1351776360</CreateTime><MsgType><![CDATA[location]]></MsgType><Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale><Label><![CDATA[位置信息]]></Label><MsgId>1234567890123456</MsgId>",
    ));
    assert_eq!(
        m.kind,
        MessageKind::Location { latitude: 23.134521, longitude: 113.358803, scale: 20.0, label: "位置信息".into() }
    );
}

#[test]
fn link() {
    let m = parse(&sample(
        "<CreateTime>1351776360</CreateTime><MsgType><![CDATA[link]]></MsgType><Title><![CDATA[公众平台官网链接]]></Title><Description><![CDATA[公众平台官网链接]]></Description><Url><![CDATA[url]]></Url><MsgId>1234567890123456</MsgId>",
    ));
    assert_eq!(
        m.kind,
        MessageKind::Link {
            title: "公众平台官网链接".into(),
            description: "公众平台官网链接".into(),
            url: "url".into()
        }
    );
}

fn event(rest: &str) -> Message {
    parse(&format!(
        "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[FromUser]]></FromUserName><CreateTime>123456789</CreateTime><MsgType><![CDATA[event]]></MsgType>{rest}</xml>"
    ))
}

#[test]
fn subscribe_plain_and_from_a_parametric_qr_code() {
    let plain = event("<Event><![CDATA[subscribe]]></Event>");
    assert_eq!(plain.kind, MessageKind::Subscribe { scene: None });
    assert_eq!((plain.msg_type(), plain.event()), ("event", Some("subscribe")));
    assert_eq!(plain.msg_id, None);
    assert_eq!(plain.dedup_key(), "evt|toUser|FromUser|123456789|subscribe");
    // Some pushes carry an empty EventKey on a plain subscribe.
    assert_eq!(
        event("<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[]]></EventKey>").kind,
        MessageKind::Subscribe { scene: None }
    );

    let qr = event(
        "<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_123123]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket>",
    );
    assert_eq!(
        qr.kind,
        MessageKind::Subscribe { scene: Some(QrScene { scene: "123123".into(), ticket: Some("TICKET".into()) }) }
    );
}

#[test]
fn unsubscribe_and_scan() {
    let u = event("<Event><![CDATA[unsubscribe]]></Event>");
    assert_eq!(u.kind, MessageKind::Unsubscribe);
    assert_ne!(u.dedup_key(), event("<Event><![CDATA[subscribe]]></Event>").dedup_key());
    let scan = event(
        "<Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[SCENE_VALUE]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket>",
    );
    assert_eq!(
        scan.kind,
        MessageKind::Scan { scene: QrScene { scene: "SCENE_VALUE".into(), ticket: Some("TICKET".into()) } }
    );
    assert_eq!(scan.event(), Some("SCAN"));
}

#[test]
fn location_report_click_and_view() {
    let loc = parse(
        "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName><CreateTime>123456789</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[LOCATION]]></Event><Latitude>23.137466</Latitude><Longitude>113.352425</Longitude><Precision>119.385040</Precision></xml>",
    );
    assert_eq!(
        loc.kind,
        MessageKind::LocationReport { latitude: 23.137466, longitude: 113.352425, precision: 119.38504 }
    );
    assert_eq!(loc.event(), Some("LOCATION"));
    let click = event("<Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[EVENTKEY]]></EventKey>");
    assert_eq!(click.kind, MessageKind::Click { key: "EVENTKEY".into() });
    let view = event("<Event><![CDATA[VIEW]]></Event><EventKey><![CDATA[www.qq.com]]></EventKey>");
    assert_eq!(view.kind, MessageKind::View { url: "www.qq.com".into(), menu_id: None });
    let view =
        event("<Event><![CDATA[VIEW]]></Event><EventKey><![CDATA[www.qq.com]]></EventKey><MenuId>MENUID</MenuId>");
    assert_eq!(view.kind, MessageKind::View { url: "www.qq.com".into(), menu_id: Some("MENUID".into()) });
}

#[test]
fn template_send_job_finish_uses_msg_id_with_capital_d() {
    let m = parse(
        "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName><FromUserName><![CDATA[oia2TjuEGTNoeX76QEjQNrcURxG8]]></FromUserName><CreateTime>1395658920</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>200163836</MsgID><Status><![CDATA[success]]></Status></xml>",
    );
    assert_eq!(m.kind, MessageKind::TemplateSendJobFinish { status: "success".into() });
    assert_eq!(m.msg_id.as_deref(), Some("200163836"));
    assert_eq!(m.dedup_key(), "msg|gh_7f083739789a|200163836");
}

#[test]
fn multi_line_pushes_parse_like_one_line_ones() {
    let xml = "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>";
    let m = parse(xml);
    assert_eq!(m.kind, MessageKind::Text { content: "abcdteT".into() });
    // Content is not trimmed.
    let spaced = parse(&sample(
        "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content><![CDATA[  two\nlines ]]></Content><MsgId>1</MsgId>",
    ));
    assert_eq!(spaced.kind, MessageKind::Text { content: "  two\nlines ".into() });
}

#[test]
fn unknown_types_and_events_are_kept_raw() {
    let xml = sample(
        "<CreateTime>1</CreateTime><MsgType><![CDATA[miniprogrampage]]></MsgType><Title>t</Title><MsgId>9</MsgId>",
    );
    let m = parse(&xml);
    assert_eq!(m.kind, MessageKind::Unknown { msg_type: "miniprogrampage".into(), event: None, raw: xml.clone() });
    assert_eq!(m.msg_type(), "miniprogrampage");

    // The debug_demo event of vector E.
    let e = event("<Event><![CDATA[debug_demo]]></Event><debug_str><![CDATA[hello world]]></debug_str>");
    assert!(
        matches!(&e.kind, MessageKind::Unknown { msg_type, event: Some(ev), .. } if msg_type == "event" && ev == "debug_demo")
    );
    assert_eq!(e.event(), Some("debug_demo"));
    assert_eq!(e.dedup_key(), "evt|toUser|FromUser|123456789|debug_demo");

    // Known types whose fields do not parse are kept raw too, never guessed.
    let bad_location = sample(
        "<CreateTime>1</CreateTime><MsgType>location</MsgType><Location_X>north</Location_X><Location_Y>1</Location_Y><MsgId>2</MsgId>",
    );
    assert!(matches!(parse(&bad_location).kind, MessageKind::Unknown { .. }));
    let no_content = sample("<CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>3</MsgId>");
    assert!(matches!(parse(&no_content).kind, MessageKind::Unknown { .. }));
    let event_without_name = event("");
    assert!(matches!(event_without_name.kind, MessageKind::Unknown { event: None, .. }));
}

#[test]
fn broken_or_headerless_xml_is_an_error() {
    for xml in [
        "",
        "<xml>",
        "<xml><ToUserName>a</ToUserName></xml>",
        &sample("<MsgType>text</MsgType><Content>x</Content>"),
        &sample("<CreateTime>yesterday</CreateTime><MsgType>text</MsgType>"),
        &sample("<CreateTime>1</CreateTime>"),
        "<xml><FromUserName>f</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>",
    ] {
        assert!(matches!(Message::parse(xml), Err(XmlError(_))), "{xml}");
    }
}

#[test]
fn very_long_dedup_keys_are_digested() {
    let long_user = "o".repeat(1000);
    let m = parse(&format!(
        "<xml><ToUserName>gh</ToUserName><FromUserName>{long_user}</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>"
    ));
    let key = m.dedup_key();
    assert!(key.starts_with("sha1|") && key.len() == 45, "{key}");
}

// ---- replies ----

fn incoming() -> Message {
    parse(
        "<xml><ToUserName><![CDATA[gh_3c884a361561]]></ToUserName><FromUserName><![CDATA[ozy4qt1eDxSxzCr0aNT0mXCWfrDE]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[TESTCOMPONENT_MSG_TYPE_TEXT]]></Content><MsgId>7</MsgId></xml>",
    )
}

#[test]
fn text_reply_swaps_addresses_and_renders_the_documented_shape() {
    let reply = Reply::text(&incoming(), 12_345_678, "你好");
    assert_eq!(
        reply.render(),
        "<xml><ToUserName><![CDATA[ozy4qt1eDxSxzCr0aNT0mXCWfrDE]]></ToUserName><FromUserName><![CDATA[gh_3c884a361561]]></FromUserName><CreateTime>12345678</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content></xml>"
    );
}

#[test]
fn every_reply_kind_round_trips() {
    let kinds = [
        ReplyKind::Text { content: "line1\nline2 ]]> <b>&amp;".into() },
        ReplyKind::Image { media_id: "media_id".into() },
        ReplyKind::Voice { media_id: "media_id".into() },
        ReplyKind::Video { media_id: "m".into(), title: Some("title".into()), description: Some("desc ]]>".into()) },
        ReplyKind::Video { media_id: "m".into(), title: None, description: None },
        ReplyKind::Music {
            title: Some("TITLE".into()),
            description: Some("DESCRIPTION".into()),
            music_url: Some("MUSIC_Url".into()),
            hq_music_url: Some("HQ_MUSIC_Url".into()),
            thumb_media_id: "media_id".into(),
        },
        ReplyKind::News(Article {
            title: "title1".into(),
            description: "description1".into(),
            pic_url: "picurl".into(),
            url: "url?a=1&b=2".into(),
        }),
    ];
    for kind in kinds {
        let reply = Reply::to(&incoming(), 99, kind);
        let rendered = reply.render();
        assert_eq!(Reply::parse(&rendered).unwrap(), reply, "{rendered}");
    }
}

#[test]
fn news_and_music_render_the_documented_elements() {
    let news = Reply::to(
        &incoming(),
        1,
        ReplyKind::News(Article { title: "t".into(), description: "d".into(), pic_url: "p".into(), url: "u".into() }),
    )
    .render();
    assert!(news.contains("<MsgType><![CDATA[news]]></MsgType><ArticleCount>1</ArticleCount><Articles><item><Title><![CDATA[t]]></Title><Description><![CDATA[d]]></Description><PicUrl><![CDATA[p]]></PicUrl><Url><![CDATA[u]]></Url></item></Articles></xml>"), "{news}");
    let image = Reply::to(&incoming(), 1, ReplyKind::Image { media_id: "m".into() }).render();
    assert!(
        image.ends_with("<MsgType><![CDATA[image]]></MsgType><Image><MediaId><![CDATA[m]]></MediaId></Image></xml>"),
        "{image}"
    );
}

#[test]
fn reply_parse_rejects_what_wechat_would_reject() {
    assert!(Reply::parse("<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime><MsgType>json</MsgType></xml>").is_err());
    assert!(Reply::parse("<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>").is_err());
    assert!(Reply::parse("{\"msgtype\":\"text\"}").is_err());
}
