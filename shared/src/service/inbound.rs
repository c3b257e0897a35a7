//! Follower messages and events pushed to the 消息与事件接收URL: hand each one off to the bus
//! once (`hand_off.rs`), answer by the account's reply rules (`rules.rs`), and answer WeChat's
//! release test (全网发布) for its ten test accounts, whose built-in answers no rule replaces.
//!
//! WeChat re-sends a push it got no answer to within 5 s. The hand-off's marker makes sure a
//! retry is not published (nor its side effects repeated) again, and the answer is recomputed
//! without side effects, so a retry gets the same answer.
//!
//! The release test (`docs/wechat.md`, "Release test"), scoped to WeChat's test accounts:
//! `TESTCOMPONENT_MSG_TYPE_TEXT` → passive reply `TESTCOMPONENT_MSG_TYPE_TEXT_callback`;
//! `QUERY_AUTH_CODE:$code` → empty answer, `api_query_auth($code)` and a customer-service text
//! `$code_from_api`; any event → `<Event>from_callback`.

use super::Inbound;
use super::hand_off::{Delivery, Ledger};
use super::records::{MassFinished, PublicationFinished, Record, TemplateFinished};
use crate::bus::{PublishError, follower_event_keyed};
use crate::message::{Answer, Message, MessageKind, Reply};
use crate::secret::Secret;
use crate::service::ActingStore;
use crate::store::{DocumentStore, MarkerKey, MediaStore};

/// The release test's retry marker: as long as a hand-off's.
const DEDUP_SECS: i64 = super::hand_off::HANDED_OFF_SECS;

/// WeChat's release-test accounts (appid, 原始ID), `docs/wechat.md`, "Release test".
pub const RELEASE_TEST_ACCOUNTS: &[(&str, &str)] = &[
    ("wx570bc396a51b8ff8", "gh_3c884a361561"),
    ("wx9252c5e0bb1836fc", "gh_c0f28a78b318"),
    ("wx8e1097c5bc82cde9", "gh_3f222ed8d140"),
    ("wx14550af28c71a144", "gh_26128078e9ab"),
    ("wxa35b9c23cfe664eb", "gh_2b3713f184a6"),
    ("wxd101a85aa106f53e", "gh_8dad206e9538"),
    ("wxc39235c15087f6f3", "gh_905ae9d01059"),
    ("wx7720d01d4b2a4500", "gh_393666f1fdf4"),
    ("wx05d483572dcd5d8b", "gh_39abb5d4e1b7"),
    ("wx5910277cae6fd970", "gh_7818dcb60240"),
];

/// Whether the push is for one of WeChat's release-test accounts (by appid or 原始ID).
pub fn is_release_test_account(appid: &str, message: &Message) -> bool {
    RELEASE_TEST_ACCOUNTS.iter().any(|(id, user)| *id == appid || *user == message.to_user_name)
}

impl<S: ActingStore + DocumentStore + MediaStore> Inbound<'_, S> {
    /// Handles one verified follower message or event for `appid` (`xml` is its decrypted XML)
    /// and says what to answer: hands it off to the bus (`hand_off.rs`), then computes the
    /// answer, which is the same for WeChat's retries.
    ///
    /// WeChat's release-test accounts are not handed off: their pushes only answer the test, and
    /// their retry marker is bookkeeping, so a store that fails never turns one into an error.
    ///
    /// # Errors
    /// [`PublishError`] when the bus did not take the event: nothing is recorded, the push must be
    /// answered with a 5xx so that WeChat delivers it again, and the retry publishes it.
    pub async fn handle_message(&self, appid: &str, message: &Message, xml: &str) -> Result<Answer, PublishError> {
        let dedup_key = message.dedup_key();
        let marker = MarkerKey::push(appid, &dedup_key);
        let (first, event_id, rule_reply) = if is_release_test_account(appid, message) {
            let first = match self.store.remember_once(&marker, DEDUP_SECS, self.now()).await {
                Ok(first) => first,
                Err(err) => {
                    tracing::warn!(authorizer = %appid, error = %err, "retry marker not written; answering as a first delivery");
                    true
                }
            };
            (first, None, None)
        } else {
            let event =
                follower_event_keyed(&self.pages.component_appid, appid, message, &dedup_key, xml, self.now_ms());
            let ledger = match (&message.kind, &message.msg_id) {
                (MessageKind::TemplateSendJobFinish { status }, Some(msgid)) => Ledger::Finished {
                    key: MarkerKey::template_finished(appid, msgid),
                    record: TemplateFinished {
                        touser: message.from_user_name.clone(),
                        status: status.clone(),
                        finished_at: self.now(),
                    }
                    .to_json(),
                },
                (MessageKind::PublishJobFinish(outcome), _) => Ledger::Finished {
                    key: MarkerKey::publication_finished(appid, &outcome.publish_id),
                    record: PublicationFinished {
                        publish_status: outcome.status,
                        status: crate::service::publish_status_name(outcome.status).to_owned(),
                        article_id: outcome.article_id.clone(),
                        article_urls: outcome.article_urls.clone(),
                        fail_idx: outcome.fail_idx.clone(),
                        finished_at: self.now(),
                    }
                    .to_json(),
                },
                (MessageKind::MassSendJobFinish(outcome), Some(msg_id)) => Ledger::Finished {
                    key: MarkerKey::mass_finished(appid, msg_id),
                    record: MassFinished {
                        status: outcome.status.clone(),
                        total_count: outcome.total,
                        filter_count: outcome.filtered,
                        sent_count: outcome.sent,
                        error_count: outcome.errors,
                        finished_at: self.now(),
                    }
                    .to_json(),
                },
                _ => Ledger::Marker(&marker),
            };
            // The rules are read (when not cached) while the hand-off runs: a cold cache adds no
            // latency to the push, a warm one no request at all.
            let (handed, reply) =
                tokio::join!(self.hand_off_to(&ledger, std::slice::from_ref(&event)), self.rule_reply(appid, message));
            match handed {
                Ok(delivery) => (delivery == Delivery::First, Some(event.id), reply),
                Err(err) => {
                    tracing::error!(authorizer = %appid, event_id = %event.id, detail_type = event.detail_type, error = %err, "push not handed off; WeChat will retry");
                    return Err(err);
                }
            }
        };
        let answer = match rule_reply {
            Some(reply) => Answer::Reply(reply),
            None => self.answer(appid, message, first).await,
        };
        tracing::info!(
            authorizer = %appid,
            msg_type = message.msg_type(),
            event = message.event(),
            // The event id names the push without naming the follower (a hash of the push's key).
            event_id = event_id.as_deref().unwrap_or("release-test"),
            retry = !first,
            answer = match &answer { Answer::Success => "success", Answer::Empty => "empty", Answer::Reply(_) => "reply" },
            "push handled"
        );
        Ok(answer)
    }

    /// What to answer; side effects only when `first` (not a retry).
    async fn answer(&self, appid: &str, message: &Message, first: bool) -> Answer {
        if !is_release_test_account(appid, message) {
            return Answer::Success;
        }
        let now = self.now();
        match &message.kind {
            MessageKind::Text { content } if content == "TESTCOMPONENT_MSG_TYPE_TEXT" => {
                Answer::Reply(Reply::text(message, now, "TESTCOMPONENT_MSG_TYPE_TEXT_callback"))
            }
            MessageKind::Text { content } => match content.strip_prefix("QUERY_AUTH_CODE:") {
                Some(code) => {
                    if first {
                        self.release_api_text(message, code).await;
                    }
                    Answer::Empty
                }
                None => Answer::Success,
            },
            _ => match message.event() {
                Some(event) => Answer::Reply(Reply::text(message, now, format!("{event}from_callback"))),
                None => Answer::Success,
            },
        }
    }

    /// `QUERY_AUTH_CODE:$code`: exchange the code (verbatim, not trimmed) and send
    /// `$code_from_api` to the follower as the test account. When the `authorized` push already
    /// used the code, the tokens it stored serve instead.
    async fn release_api_text(&self, message: &Message, code: &str) {
        let record = match self.onboarding().complete_authorization(&Secret::new(code), None).await {
            Ok(completed) => completed.record().clone(),
            Err(err) => {
                tracing::error!(error = %err, "release test: api_query_auth failed");
                return;
            }
        };
        let content = format!("{code}_from_api");
        match self.wechat.send_custom_text(&record.access_token, &message.from_user_name, &content).await {
            Ok(()) => tracing::info!(authorizer = %record.authorizer_appid, "release test: custom message sent"),
            Err(err) => {
                tracing::error!(call = err.call(), errcode = err.errcode(), error = %err, "release test: custom send failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::message::{Answer, Message, ReplyKind};
    use crate::service::testing::{ACCOUNT, world};

    fn text_push(from: &str, content: &str, msg_id: u64, at: i64) -> String {
        format!(
            "<xml><ToUserName><![CDATA[gh_0000000001]]></ToUserName><FromUserName><![CDATA[{from}]]></FromUserName>\
             <CreateTime>{at}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>\
             <MsgId>{msg_id}</MsgId></xml>"
        )
    }

    #[tokio::test]
    async fn a_followers_text_is_handed_off_once_and_answered_by_the_rules_the_same_on_every_retry() {
        let w = world().await;
        let rules = json!({"rules": [
            {"on": "keyword", "match": "exact", "keyword": "价格", "reply": {"msgtype": "text", "text": {"content": "标准版 99 元/月"}}}
        ]});
        w.first_rules(&rules).await;
        let inbound = w.platform.inbound();
        let before = w.bus.published().len();

        let xml = text_push("oFollower1", "价格", 1001, w.standin.now());
        let message = Message::parse(&xml).expect("a push");
        for attempt in 0..3 {
            match inbound.handle_message(ACCOUNT, &message, &xml).await.expect("handled") {
                Answer::Reply(reply) => {
                    assert_eq!(reply.kind, ReplyKind::Text { content: "标准版 99 元/月".into() }, "attempt {attempt}");
                    assert_eq!(
                        (reply.to_user_name.as_str(), reply.from_user_name.as_str()),
                        ("oFollower1", "gh_0000000001")
                    );
                }
                other => panic!("attempt {attempt}: {other:?}"),
            }
        }
        let published: Vec<_> = w.bus.published().into_iter().skip(before).collect();
        assert_eq!(published.len(), 1, "WeChat's retries are not published again: {published:?}");
        assert_eq!(published[0].detail_type, "mp.message.text");

        // No rule for it: WeChat's "success", still handed off.
        let xml = text_push("oFollower1", "你好", 1002, w.standin.now());
        let answer =
            inbound.handle_message(ACCOUNT, &Message::parse(&xml).expect("a push"), &xml).await.expect("handled");
        assert!(matches!(answer, Answer::Success), "{answer:?}");
        assert_eq!(w.bus.published().len(), before + 2);
    }
}
