//! The rules document as callers write it: serde models of its shape, and the checks that span
//! fields (which fields a trigger takes, the reply's body matching its `msgtype`, counts),
//! turning it into [`Rule`]s. The shape's refusals come from [`crate::input`], in the same words.

use serde::Deserialize;

use super::{
    KeywordMatch, MAX_FIELD_BYTES, MAX_KEY_BYTES, MAX_KEYWORD_BYTES, MAX_NAME_CHARS, MAX_SCENE_BYTES, Rule, Trigger,
};
use crate::input::{Bounded, Text};
use crate::message::{Article, MAX_TEXT_CHARS, ReplyKind};

/// `{"rules": [...]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DocumentInput {
    pub(super) rules: Vec<RuleInput>,
}

/// What makes a rule answer, by its `on`.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum On {
    Subscribe,
    Scan,
    Keyword,
    Click,
    Default,
}

/// One rule: every field any trigger takes; which of them this one may have is checked by its `on`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleInput {
    on: On,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    scene: Option<Text<MAX_SCENE_BYTES>>,
    #[serde(default)]
    keyword: Option<Text<MAX_KEYWORD_BYTES>>,
    #[serde(default, rename = "match")]
    mode: Option<KeywordMatch>,
    #[serde(default)]
    ignore_case: Option<bool>,
    #[serde(default)]
    key: Option<Text<MAX_KEY_BYTES>>,
    #[serde(default)]
    reply: Option<ReplyInput>,
}

/// A reply in the customer-service shape: `msgtype` and the object of that name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyInput {
    msgtype: ReplyType,
    #[serde(default)]
    text: Option<TextBody>,
    #[serde(default)]
    image: Option<MediaBody>,
    #[serde(default)]
    voice: Option<MediaBody>,
    #[serde(default)]
    video: Option<VideoBody>,
    #[serde(default)]
    music: Option<MusicBody>,
    #[serde(default)]
    news: Option<NewsBody>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum ReplyType {
    Text,
    Image,
    Voice,
    Video,
    Music,
    News,
}

type Field = Text<MAX_FIELD_BYTES>;
type Optional = Option<Bounded<MAX_FIELD_BYTES>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextBody {
    content: Text<0>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MediaBody {
    media_id: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VideoBody {
    media_id: Field,
    #[serde(default)]
    title: Optional,
    #[serde(default)]
    description: Optional,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MusicBody {
    thumb_media_id: Field,
    #[serde(default)]
    title: Optional,
    #[serde(default)]
    description: Optional,
    #[serde(default)]
    musicurl: Optional,
    #[serde(default)]
    hqmusicurl: Optional,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewsBody {
    articles: Vec<ArticleBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArticleBody {
    title: Field,
    url: Field,
    #[serde(default)]
    description: Optional,
    #[serde(default)]
    picurl: Optional,
}

fn text(value: Option<Bounded<MAX_FIELD_BYTES>>) -> Option<String> {
    value.map(Bounded::into_string)
}

impl RuleInput {
    /// The rule, or what is wrong with it (the field named, relative to the rule).
    pub(super) fn check(self) -> Result<Rule, String> {
        let (on, allowed): (&str, &[&str]) = match self.on {
            On::Subscribe => ("subscribe", &["name", "on", "scene", "reply"]),
            On::Scan => ("scan", &["name", "on", "scene", "reply"]),
            On::Keyword => ("keyword", &["name", "on", "keyword", "match", "ignore_case", "reply"]),
            On::Click => ("click", &["name", "on", "key", "reply"]),
            On::Default => ("default", &["name", "on", "reply"]),
        };
        let given = [
            ("scene", self.scene.is_some()),
            ("keyword", self.keyword.is_some()),
            ("match", self.mode.is_some()),
            ("ignore_case", self.ignore_case.is_some()),
            ("key", self.key.is_some()),
        ];
        if let Some((extra, _)) = given.iter().find(|(name, present)| *present && !allowed.contains(name)) {
            return Err(format!("unknown field {extra:?} for a {on} rule (allowed: {})", allowed.join(", ")));
        }
        if self.name.as_ref().is_some_and(|name| name.chars().count() > MAX_NAME_CHARS) {
            return Err(format!("name is longer than {MAX_NAME_CHARS} characters"));
        }
        let scene = self.scene.map(Text::into_string);
        let trigger = match self.on {
            On::Subscribe => Trigger::Subscribe { scene },
            On::Scan => Trigger::Scan { scene },
            On::Keyword => {
                let keyword = self.keyword.ok_or("keyword is missing")?.into_string();
                if keyword.trim() != keyword {
                    return Err(
                        "keyword starts or ends with white space, which a (trimmed) message never has".to_owned()
                    );
                }
                let mode = self.mode.unwrap_or(KeywordMatch::Exact);
                Trigger::Keyword { keyword, mode, ignore_case: self.ignore_case.unwrap_or(false) }
            }
            On::Click => Trigger::Click { key: self.key.ok_or("key is missing")?.into_string() },
            On::Default => Trigger::Default,
        };
        let reply = self.reply.ok_or("reply is missing")?.check().map_err(|e| format!("reply{e}"))?;
        Ok(Rule { name: self.name, trigger, reply })
    }
}

impl ReplyInput {
    /// The reply, or what is wrong with it (`.text.content is …`, `: unknown field …`).
    fn check(self) -> Result<ReplyKind, String> {
        let name = match self.msgtype {
            ReplyType::Text => "text",
            ReplyType::Image => "image",
            ReplyType::Voice => "voice",
            ReplyType::Video => "video",
            ReplyType::Music => "music",
            ReplyType::News => "news",
        };
        let bodies = [
            ("text", self.text.is_some()),
            ("image", self.image.is_some()),
            ("voice", self.voice.is_some()),
            ("video", self.video.is_some()),
            ("music", self.music.is_some()),
            ("news", self.news.is_some()),
        ];
        if let Some((extra, _)) = bodies.iter().find(|(body, present)| *present && *body != name) {
            return Err(format!(": unknown field {extra:?} for a {name} reply (allowed: msgtype, {name})"));
        }
        let missing = || format!(".{name} is missing");
        Ok(match self.msgtype {
            ReplyType::Text => {
                let content = self.text.ok_or_else(missing)?.content;
                if content.chars().count() > MAX_TEXT_CHARS {
                    return Err(format!(".text.content is longer than {MAX_TEXT_CHARS} characters"));
                }
                ReplyKind::Text { content: content.into_string() }
            }
            ReplyType::Image => ReplyKind::Image { media_id: self.image.ok_or_else(missing)?.media_id.into_string() },
            ReplyType::Voice => ReplyKind::Voice { media_id: self.voice.ok_or_else(missing)?.media_id.into_string() },
            ReplyType::Video => {
                let video = self.video.ok_or_else(missing)?;
                ReplyKind::Video {
                    media_id: video.media_id.into_string(),
                    title: text(video.title),
                    description: text(video.description),
                }
            }
            ReplyType::Music => {
                let music = self.music.ok_or_else(missing)?;
                ReplyKind::Music {
                    title: text(music.title),
                    description: text(music.description),
                    music_url: text(music.musicurl),
                    hq_music_url: text(music.hqmusicurl),
                    thumb_media_id: music.thumb_media_id.into_string(),
                }
            }
            ReplyType::News => {
                let articles = self.news.ok_or_else(missing)?.articles;
                let count = articles.len();
                let [article]: [ArticleBody; 1] = articles.try_into().map_err(|_| {
                    format!(
                        ".news.articles must hold exactly one article (WeChat drops a passive reply with more), not {count}"
                    )
                })?;
                ReplyKind::News(Article {
                    title: article.title.into_string(),
                    description: text(article.description).unwrap_or_default(),
                    pic_url: text(article.picurl).unwrap_or_default(),
                    url: article.url.into_string(),
                })
            }
        })
    }
}
