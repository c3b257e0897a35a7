//! A checked rule set compiled for the push path: exact keywords, menu keys and scenes in hash
//! maps, every prefix and contains keyword in one Aho-Corasick automaton (one for case-sensitive
//! keywords, one for the rest over the lower-cased text), so a text is matched in one pass over
//! it whatever the number of rules.

use std::borrow::Cow;
use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind};

use super::{KeywordMatch, Rule, RuleSet, Trigger};
use crate::message::{Message, MessageKind, Reply};

/// The compiled form of a [`RuleSet`].
#[derive(Debug, Default)]
pub struct Matcher {
    rules: Vec<Rule>,
    exact: HashMap<String, usize>,
    exact_folded: HashMap<String, usize>,
    partial: Keywords,
    partial_folded: Keywords,
    click: HashMap<String, usize>,
    subscribe: Scenes,
    scan: Scenes,
    default: Option<usize>,
}

/// Prefix and contains keywords of one case mode.
#[derive(Debug, Default)]
struct Keywords {
    automaton: Option<AhoCorasick>,
    /// Per automaton pattern: the rule's position and whether it must match at the start.
    rules: Vec<(usize, bool)>,
}

/// Subscribe or scan rules: by scene, and the one without.
#[derive(Debug, Default)]
struct Scenes {
    by_scene: HashMap<String, usize>,
    any: Option<usize>,
}

impl Scenes {
    fn find(&self, scene: Option<&str>) -> Option<usize> {
        scene.and_then(|s| self.by_scene.get(s).copied()).or(self.any)
    }
}

/// Unicode lower case, without allocating for text that has no upper case ASCII and no non-ASCII.
fn fold(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
        Cow::Owned(text.to_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

impl Keywords {
    fn build(patterns: Vec<String>, rules: Vec<(usize, bool)>) -> Self {
        // The patterns are checked (non-empty, bounded, at most MAX_RULES), so building cannot
        // fail; if it ever did, the keywords would simply not match, and the log says why.
        let automaton = if patterns.is_empty() {
            None
        } else {
            // A contiguous NFA, not the DFA the builder would pick for up to 100 patterns: the
            // worst allowed document took 6 MB as DFAs (a few dozen accounts would fill an
            // event-callback's memory) and 0.2 MB as a contiguous NFA (rules::tests), for a
            // match time still inside the push path's budget (docs/testing.md).
            // https://docs.rs/aho-corasick/1/aho_corasick/enum.AhoCorasickKind.html
            AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .build(&patterns)
                .map_err(|err| tracing::error!(error = %err, "keyword automaton not built; prefix and contains rules are off"))
                .ok()
        };
        Self { automaton, rules }
    }

    /// The best (prefix before contains, then listed first) rule matching `text`, as
    /// `(rank, rule)`.
    fn best(&self, text: &str) -> Option<(u8, usize)> {
        let automaton = self.automaton.as_ref()?;
        let mut best: Option<(u8, usize)> = None;
        for found in automaton.find_overlapping_iter(text) {
            let (rule, prefix) = self.rules[found.pattern().as_usize()];
            if prefix && found.start() != 0 {
                continue;
            }
            let candidate = (u8::from(!prefix), rule);
            if best.is_none_or(|b| candidate < b) {
                best = Some(candidate);
            }
        }
        best
    }
}

impl Matcher {
    /// Compiles a checked set.
    pub fn new(set: RuleSet) -> Self {
        let mut matcher = Self::default();
        let (mut sensitive, mut sensitive_rules) = (Vec::new(), Vec::new());
        let (mut folded, mut folded_rules) = (Vec::new(), Vec::new());
        for (index, rule) in set.rules.iter().enumerate() {
            match &rule.trigger {
                Trigger::Subscribe { scene } => insert_scene(&mut matcher.subscribe, scene, index),
                Trigger::Scan { scene } => insert_scene(&mut matcher.scan, scene, index),
                Trigger::Click { key } => {
                    matcher.click.entry(key.clone()).or_insert(index);
                }
                Trigger::Default => {
                    matcher.default.get_or_insert(index);
                }
                Trigger::Keyword { keyword, mode: KeywordMatch::Exact, ignore_case } => {
                    if *ignore_case {
                        matcher.exact_folded.entry(keyword.to_lowercase()).or_insert(index);
                    } else {
                        matcher.exact.entry(keyword.clone()).or_insert(index);
                    }
                }
                Trigger::Keyword { keyword, mode, ignore_case } => {
                    let prefix = *mode == KeywordMatch::Prefix;
                    if *ignore_case {
                        folded.push(keyword.to_lowercase());
                        folded_rules.push((index, prefix));
                    } else {
                        sensitive.push(keyword.clone());
                        sensitive_rules.push((index, prefix));
                    }
                }
            }
        }
        matcher.partial = Keywords::build(sensitive, sensitive_rules);
        matcher.partial_folded = Keywords::build(folded, folded_rules);
        matcher.rules = set.rules;
        matcher
    }

    /// The bytes the keyword automata take (what a cache of compiled sets must budget for; the
    /// rest of a set is about the size of its stored document).
    pub fn automata_bytes(&self) -> usize {
        [&self.partial, &self.partial_folded]
            .iter()
            .filter_map(|k| k.automaton.as_ref())
            .map(AhoCorasick::memory_usage)
            .sum()
    }

    /// How many rules the set holds.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the set is empty (nothing is ever answered).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rule that answers `message`, by the precedence in [`crate::rules`].
    pub fn rule_for(&self, message: &Message) -> Option<&Rule> {
        let index = match &message.kind {
            MessageKind::Subscribe { scene } => self.subscribe.find(scene.as_ref().map(|s| s.scene.as_str())),
            MessageKind::Scan { scene } => self.scan.find(Some(&scene.scene)),
            MessageKind::Click { key } => self.click.get(key).copied(),
            MessageKind::Text { content } => self.keyword(content).or(self.default),
            MessageKind::Voice { recognition: Some(text), .. } => self.keyword(text).or(self.default),
            MessageKind::Voice { .. }
            | MessageKind::Image { .. }
            | MessageKind::Video { .. }
            | MessageKind::ShortVideo { .. }
            | MessageKind::Location { .. }
            | MessageKind::Link { .. } => self.default,
            _ => None,
        }?;
        self.rules.get(index)
    }

    /// The passive reply to `message`, if a rule answers it.
    pub fn reply(&self, message: &Message, now: i64) -> Option<Reply> {
        self.rule_for(message).map(|rule| Reply::to(message, now, rule.reply.clone()))
    }

    fn keyword(&self, text: &str) -> Option<usize> {
        let text = text.trim();
        if self.rules.is_empty() || text.is_empty() {
            return None;
        }
        let needs_fold = !self.exact_folded.is_empty() || self.partial_folded.automaton.is_some();
        let folded = if needs_fold { fold(text) } else { Cow::Borrowed(text) };
        let exact = [self.exact.get(text), self.exact_folded.get(folded.as_ref())];
        if let Some(index) = exact.into_iter().flatten().min() {
            return Some(*index);
        }
        let sensitive = self.partial.best(text);
        let insensitive = if needs_fold { self.partial_folded.best(&folded) } else { None };
        sensitive.into_iter().chain(insensitive).min().map(|(_, rule)| rule)
    }
}

fn insert_scene(scenes: &mut Scenes, scene: &Option<String>, index: usize) {
    match scene {
        Some(scene) => {
            scenes.by_scene.entry(scene.clone()).or_insert(index);
        }
        None => {
            scenes.any.get_or_insert(index);
        }
    }
}
