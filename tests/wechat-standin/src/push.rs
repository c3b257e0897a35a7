//! Pushes, encrypted and signed exactly as WeChat does, and the release test.

use std::time::Duration;

use serde::Serialize;
use shared::crypto::KeySlot;
use shared::message::{Reply, ReplyKind};

use crate::{RELEASE_TEST_APPID, ReleaseCase, ReleaseReport, StandIn};

/// What the platform answered to one push.
#[derive(Debug, Clone, Serialize)]
pub struct PushResult {
    /// HTTP status (0 when the push could not be delivered).
    pub status: u16,
    /// The raw body.
    pub body: String,
    /// The decrypted reply XML, when the platform answered with an encrypted reply whose
    /// signature verified.
    pub reply_xml: Option<String>,
    /// What was wrong with the delivery or the reply, if anything.
    pub error: Option<String>,
}

impl PushResult {
    /// The passive reply, parsed as WeChat would.
    pub fn reply(&self) -> Option<Reply> {
        self.reply_xml.as_deref().and_then(|xml| Reply::parse(xml).ok())
    }

    fn undelivered(error: String) -> Self {
        Self { status: 0, body: String::new(), reply_xml: None, error: Some(error) }
    }
}

fn random_digits() -> String {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).unwrap_or_default();
    (u32::from_be_bytes(bytes) % 1_000_000_000).to_string()
}

impl StandIn {
    /// Encrypts `xml` and POSTs it like WeChat: `<xml><AppId/><Encrypt/></xml>` to the ticket URL.
    pub(crate) async fn push_component_xml(&self, xml: &str) -> PushResult {
        let Some(url) = self.shared.config.ticket_url.clone() else {
            return PushResult::undelivered("no ticket URL configured".into());
        };
        let envelope_head = format!("<AppId><![CDATA[{}]]></AppId>", self.shared.config.component_appid);
        self.deliver(&url, &envelope_head, None, xml).await
    }

    /// Encrypts `xml` and POSTs it to `<callback base>/<appid>/callback` with `openid`.
    pub(crate) async fn push_to_authorizer(&self, appid: &str, openid: &str, xml: &str) -> PushResult {
        let Some(base) = self.shared.config.callback_base.clone() else {
            return PushResult::undelivered("no callback base configured".into());
        };
        let url = format!("{}/{appid}/callback", base.trim_end_matches('/'));
        let user_name = self.world().user_name(appid);
        let envelope_head = format!("<ToUserName><![CDATA[{user_name}]]></ToUserName>");
        self.deliver(&url, &envelope_head, Some(openid), xml).await
    }

    async fn deliver(&self, url: &str, envelope_head: &str, openid: Option<&str>, xml: &str) -> PushResult {
        let crypto = &self.shared.crypto;
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).unwrap_or_default();
        let encrypt = match crypto.encrypt_with(KeySlot::Current, &random, xml) {
            Ok(encrypt) => encrypt,
            Err(err) => return PushResult::undelivered(err.to_string()),
        };
        // Signed at the stand-in's time (its clock moves with advance_clock), as WeChat signs at its own.
        let (timestamp, nonce) = (self.now().to_string(), random_digits());
        let msg_signature = crypto.msg_signature(&timestamp, &nonce, &encrypt);
        let signature = shared::crypto::signature(&[&self.shared.config.token, &timestamp, &nonce]);
        let body = format!("<xml>\n    {envelope_head}\n    <Encrypt><![CDATA[{encrypt}]]></Encrypt>\n</xml>");
        let mut query = vec![
            ("signature", signature.as_str()),
            ("timestamp", timestamp.as_str()),
            ("nonce", nonce.as_str()),
            ("encrypt_type", "aes"),
            ("msg_signature", msg_signature.as_str()),
        ];
        if let Some(openid) = openid {
            query.push(("openid", openid));
        }
        let response = self
            .shared
            .http
            .post(url)
            .query(&query)
            .header("content-type", "text/xml")
            .body(body)
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(err) => return PushResult::undelivered(err.without_url().to_string()),
        };
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        let mut result = PushResult { status, body, reply_xml: None, error: None };
        if status == 200 && !matches!(result.body.as_str(), "" | "success") {
            match self.open_reply(&result.body) {
                Ok(xml) => result.reply_xml = Some(xml),
                Err(err) => result.error = Some(err),
            }
        }
        result
    }

    /// Verifies and decrypts an encrypted passive reply, as WeChat does before showing it.
    fn open_reply(&self, body: &str) -> Result<String, String> {
        let doc = roxmltree::Document::parse(body).map_err(|e| format!("reply is not XML: {e}"))?;
        let field = |name: &str| {
            doc.root_element()
                .children()
                .find(|n| n.has_tag_name(name))
                .map(|n| n.children().filter_map(|c| c.text()).collect::<String>())
                .ok_or_else(|| format!("reply has no <{name}>"))
        };
        let (encrypt, signature, timestamp, nonce) =
            (field("Encrypt")?, field("MsgSignature")?, field("TimeStamp")?, field("Nonce")?);
        if self.shared.crypto.msg_signature(&timestamp, &nonce, &encrypt) != signature {
            return Err("reply MsgSignature does not verify".into());
        }
        self.shared
            .crypto
            .decrypt(&encrypt)
            .map(|opened| opened.xml)
            .map_err(|e| format!("reply does not decrypt: {e}"))
    }
}

fn case(name: &str, passed: bool, detail: String) -> ReleaseCase {
    ReleaseCase { name: name.to_owned(), passed, detail }
}

fn text_of(result: &PushResult) -> Option<(String, String, String)> {
    let reply = result.reply()?;
    match reply.kind {
        ReplyKind::Text { content } => Some((reply.to_user_name, reply.from_user_name, content)),
        _ => None,
    }
}

/// The 全网发布 test as WeChat runs it against a platform (`docs/wechat.md`, "Release test").
pub(crate) async fn release_test(standin: &StandIn) -> ReleaseReport {
    const OPENID: &str = "ozy4qt1eDxSxzCr0aNT0mXCWfrDE";
    let username = standin.world().user_name(RELEASE_TEST_APPID);
    let mut cases = Vec::new();

    let ticket = standin.push_ticket().await;
    cases.push(case(
        "component_verify_ticket answered `success`",
        ticket.status == 200 && ticket.body == "success",
        format!("HTTP {} {:?}", ticket.status, ticket.body),
    ));

    // The test account authorizes the platform (its `authorized` push carries the code).
    let code = standin.authorize_directly(RELEASE_TEST_APPID).await.unwrap_or_default();

    let text = standin.push_text(RELEASE_TEST_APPID, OPENID, "TESTCOMPONENT_MSG_TYPE_TEXT").await;
    let expected = (OPENID.to_owned(), username.clone(), "TESTCOMPONENT_MSG_TYPE_TEXT_callback".to_owned());
    cases.push(case(
        "text message answered with TESTCOMPONENT_MSG_TYPE_TEXT_callback",
        text_of(&text).as_ref() == Some(&expected),
        format!("HTTP {} reply {:?} error {:?}", text.status, text.reply_xml, text.error),
    ));

    let sent_before = standin.sent_messages().len();
    let api = standin.push_text(RELEASE_TEST_APPID, OPENID, &format!("QUERY_AUTH_CODE:{code}")).await;
    let empty = api.status == 200 && api.body.is_empty();
    let wanted = format!("{code}_from_api");
    let mut delivered = false;
    for _ in 0..50 {
        delivered = standin.sent_messages()[sent_before..].iter().any(|m| {
            m.touser == OPENID && m.msgtype == "text" && m.content == wanted && m.authorizer_appid == RELEASE_TEST_APPID
        });
        if delivered {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cases.push(case(
        "QUERY_AUTH_CODE answered empty, then <code>_from_api via custom send",
        empty && delivered,
        format!("HTTP {} body {:?}; custom send seen: {delivered}", api.status, api.body),
    ));

    let event = standin.push_event(RELEASE_TEST_APPID, OPENID, "LOCATION").await;
    let expected = (OPENID.to_owned(), username, "LOCATIONfrom_callback".to_owned());
    cases.push(case(
        "event answered with <Event>from_callback",
        text_of(&event).as_ref() == Some(&expected),
        format!("HTTP {} reply {:?} error {:?}", event.status, event.reply_xml, event.error),
    ));

    ReleaseReport { cases }
}
