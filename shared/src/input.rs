//! Contract bodies read into their serde models, refused in words that name the field and the rule
//! broken: `rules[2].reply.text.content is empty`, `touser is missing`,
//! `match must be one of exact, prefix, contains (not "regex")`.
//!
//! A model states its shape in its types: field names, `deny_unknown_fields` where a stray field is
//! a caller's mistake, enums for closed lists, [`Text`] and [`Bounded`] for strings with a bound.
//! What spans fields (a count, a range that depends on another field) is checked by the model's
//! conversion into the domain type, naming the same paths. serde's own refusals ("missing field
//! \`x\`") are put into these words here, once, so every body reads alike and the console can
//! translate them (`functions/console/assets/console.js`, `ruleWords`).

use std::fmt;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Every contract body is an object. (serde would also read a struct from a list of its fields
/// in order: a body written so is refused here, and a nested list too short for its object by
/// `words`; a nested list of exactly its object's fields is read as that object.)
const NOT_AN_OBJECT: &str = "the body must be an object";

/// Reads a parsed body into its model.
///
/// # Errors
/// The first field at fault and what is wrong with it.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    refused_at(value).map_err(|refusal| refusal.to_string())
}

/// [`from_value`], the field at fault kept apart from what is wrong with it (for a model whose
/// errors carry the path on their own, like the menu's).
///
/// # Errors
/// The [`Refusal`].
pub fn refused_at<T: DeserializeOwned>(value: &Value) -> Result<T, Refusal> {
    if !value.is_object() {
        return Err(Refusal { path: String::new(), message: NOT_AN_OBJECT.to_owned() });
    }
    serde_path_to_error::deserialize(value).map_err(|err| words(&path_of(err.path()), &err.inner().to_string()))
}

/// Why a body was refused: where, and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `rules[2].reply.text.content`; empty for the body as a whole.
    pub path: String,
    /// `is empty`, `must be a string`, `unknown field "x" (allowed: …)`.
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.path.as_str(), self.message.starts_with("unknown field")) {
            ("", _) => f.write_str(&self.message),
            (path, true) => write!(f, "{path}: {}", self.message),
            (path, false) => write!(f, "{path} {}", self.message),
        }
    }
}

/// Reads a body as received into its model.
///
/// # Errors
/// "the body is not JSON: …", or as [`from_value`].
pub fn from_slice<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    if body.trim_ascii_start().first().is_some_and(|b| *b != b'{') && serde_json::from_slice::<Value>(body).is_ok() {
        return Err(NOT_AN_OBJECT.to_owned());
    }
    let mut json = serde_json::Deserializer::from_slice(body);
    let model = serde_path_to_error::deserialize(&mut json).map_err(|err| {
        if err.inner().is_syntax() || err.inner().is_eof() {
            not_json(err.inner())
        } else {
            words(&path_of(err.path()), without_position(&err.inner().to_string())).to_string()
        }
    })?;
    json.end().map_err(|err| not_json(&err))?;
    Ok(model)
}

fn not_json(err: &serde_json::Error) -> String {
    format!("the body is not JSON: {}", without_position(&err.to_string()))
}

/// serde_json's message without its " at line 1 column 7": the field is named instead.
fn without_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

/// `rules[2].reply.text`: map keys joined by dots, list positions in brackets.
fn path_of(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key } | serde_path_to_error::Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&short(key));
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    out
}

/// serde's refusal at `path`, in the platform's words.
fn words(path: &str, message: &str) -> Refusal {
    let at = |message: String| Refusal { path: path.to_owned(), message };
    let whole = |message: String| match path {
        "" => Refusal { path: String::new(), message: format!("the body {message}") },
        _ => at(message),
    };
    if let Some(name) = message.strip_prefix("missing field `").and_then(|rest| rest.strip_suffix('`')) {
        let path = if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
        return Refusal { path, message: "is missing".to_owned() };
    }
    if let Some((name, allowed)) = message.strip_prefix("unknown field `").and_then(|rest| rest.split_once('`')) {
        // serde_path_to_error names the unknown key as the last segment.
        let within = path.strip_suffix(short(name).as_str()).map(|p| p.trim_end_matches('.')).unwrap_or(path);
        return Refusal {
            path: within.to_owned(),
            message: format!("unknown field {:?} (allowed: {})", short(name), listed(allowed)),
        };
    }
    if let Some((value, allowed)) = message.strip_prefix("unknown variant `").and_then(|rest| rest.split_once('`')) {
        return whole(format!("must be one of {} (not {:?})", listed(allowed), short(value)));
    }
    if message.starts_with("invalid length ") && message.contains(", expected struct ") {
        return whole("must be an object".to_owned());
    }
    let wrong = message.strip_prefix("invalid type: ").or_else(|| message.strip_prefix("invalid value: "));
    if let Some((_, expected)) = wrong.and_then(|rest| rest.rsplit_once(", expected ")) {
        return whole(format!("must be {}", expected_words(expected)));
    }
    at(message.to_owned())
}

/// A caller's key or value as a refusal repeats it: at most 64 characters, so a huge one is
/// neither answered back whole nor logged whole.
fn short(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// serde's "expected one of `a`, `b`" (or "expected `a`", "there are no fields") as "a, b".
fn listed(tail: &str) -> String {
    let names: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
}

/// What a serde visitor expects, as a caller would say it.
fn expected_words(expected: &str) -> &str {
    match expected {
        "a string" | "a borrowed string" => "a string",
        "a boolean" => "true or false",
        "a sequence" => "a list",
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        other if other.starts_with("struct ") || other == "a map" => "an object",
        other if other.starts_with("enum ") => "a string",
        other => other,
    }
}

/// For `#[serde(default, deserialize_with = "input::present")]` on an `Option` field: absent is
/// `None`, but `null` is refused like any other value not of the field's type (serde's `Option`
/// would take it as absent), where a body's `null` is more likely a caller's bug than a choice.
///
/// # Errors
/// The field's type's own.
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// A required string: not blank, and at most `MAX` bytes (`0`: bounded by the model's own check).
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Text<const MAX: usize>(String);

/// An optional string's value: at most `MAX` bytes, blank allowed.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Bounded<const MAX: usize>(String);

impl<'de, const MAX: usize> Deserialize<'de> for Text<MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        if value.trim().is_empty() {
            return Err(D::Error::custom("is empty"));
        }
        if MAX > 0 && value.len() > MAX {
            return Err(D::Error::custom(format_args!("is longer than {MAX} bytes")));
        }
        Ok(Self(value))
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for Bounded<MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        if value.len() > MAX {
            return Err(D::Error::custom(format_args!("is longer than {MAX} bytes")));
        }
        Ok(Self(value))
    }
}

macro_rules! string_like {
    ($($name:ident),*) => {$(
        impl<const MAX: usize> $name<MAX> {
            /// The string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl<const MAX: usize> std::ops::Deref for $name<MAX> {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl<const MAX: usize> fmt::Debug for $name<MAX> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }
    )*};
}

string_like!(Text, Bounded);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        items: Vec<Item>,
        #[serde(default)]
        flag: Option<bool>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        kind: Kind,
        name: Text<8>,
        #[serde(default)]
        note: Option<Bounded<4>>,
        #[serde(default)]
        count: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        One,
        Two,
    }

    #[test]
    fn serdes_refusals_name_the_field_in_the_platforms_words() {
        let item = |extra: Value| {
            let mut item = json!({"kind": "one", "name": "n"});
            item.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            json!({"items": [item, item]})
        };
        let second = |extra: Value| {
            let mut doc = item(json!({}));
            let mut changed = item(extra)["items"][0].clone();
            if let Some(cut) = changed.get("cut").and_then(Value::as_str).map(str::to_owned) {
                changed.as_object_mut().unwrap().remove(&cut);
                changed.as_object_mut().unwrap().remove("cut");
            }
            doc["items"][1] = changed;
            doc
        };
        let cases = [
            (json!([]), "the body must be an object"),
            (json!({}), "items is missing"),
            (json!({"items": {}}), "items must be a list"),
            (json!({"items": [], "other": 1}), "unknown field \"other\" (allowed: items, flag)"),
            (json!({"items": [], "flag": "yes"}), "flag must be true or false"),
            (second(json!({"cut": "name"})), "items[1].name is missing"),
            (second(json!({"name": " "})), "items[1].name is empty"),
            (second(json!({"name": "123456789"})), "items[1].name is longer than 8 bytes"),
            (second(json!({"name": 5})), "items[1].name must be a string"),
            (second(json!({"note": "12345"})), "items[1].note is longer than 4 bytes"),
            (second(json!({"kind": "three"})), "items[1].kind must be one of one, two (not \"three\")"),
            (second(json!({"count": -1})), "items[1].count must be a whole number, 0 or more"),
            (second(json!({"count": 1.5})), "items[1].count must be a whole number, 0 or more"),
            (second(json!({"what": 1})), "items[1]: unknown field \"what\" (allowed: kind, name, note, count)"),
            (json!({"items": [7]}), "items[0] must be an object"),
            (json!({"items": [[]]}), "items[0] must be an object"),
        ];
        for (body, expected) in cases {
            assert_eq!(from_value::<Doc>(&body).unwrap_err(), expected, "{body}");
            assert_eq!(from_slice::<Doc>(body.to_string().as_bytes()).unwrap_err(), expected, "{body}");
        }
        let long = "x".repeat(100);
        let refused = from_value::<Doc>(&json!({"items": [], long.clone(): 1})).unwrap_err();
        assert_eq!(refused, format!("unknown field \"{}…\" (allowed: items, flag)", "x".repeat(64)));
        let refused = from_value::<Doc>(&json!({"items": [{"kind": long, "name": "n"}]})).unwrap_err();
        assert_eq!(refused, format!("items[0].kind must be one of one, two (not \"{}…\")", "x".repeat(64)));
        let fine: Doc = from_value(&json!({"items": [{"kind": "two", "name": " a ", "note": ""}]})).unwrap();
        assert_eq!(&*fine.items[0].name, " a ");
    }

    #[derive(Debug, Deserialize)]
    struct Optional {
        #[serde(default, deserialize_with = "present")]
        n: Option<u32>,
    }

    #[test]
    fn absent_is_none_but_null_is_refused_where_a_field_says_so() {
        assert_eq!(from_value::<Optional>(&json!({})).unwrap().n, None);
        assert_eq!(from_value::<Optional>(&json!({"n": 3})).unwrap().n, Some(3));
        assert_eq!(from_value::<Optional>(&json!({"n": null})).unwrap_err(), "n must be a whole number, 0 or more");
        // The field at fault kept apart, for errors that carry their own path.
        let refusal = refused_at::<Doc>(&json!({"items": [{"kind": "one", "name": ""}]})).unwrap_err();
        assert_eq!((refusal.path.as_str(), refusal.message.as_str()), ("items[0].name", "is empty"));
    }

    #[test]
    fn a_body_that_is_not_json_says_so() {
        for body in [&b"{"[..], b"{\"items\": []} x", b"\xff"] {
            let refused = from_slice::<Doc>(body).unwrap_err();
            assert!(refused.starts_with("the body is not JSON: "), "{refused}");
            assert!(!refused.contains(" at line "), "{refused}");
        }
    }
}
