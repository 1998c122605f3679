//! Text that organisers type (titles, stories, rules, category names), in more than
//! one language. A record keeps its text in its own language (the competition's
//! `language`) in its ordinary columns, and the other languages in a `translations`
//! column as JSON: `{"zh-CN": {"title": "…", "story": "…"}}`. A new language needs a
//! catalogue, never a migration. Readers get their language where it was given and
//! the record's own language otherwise, and pages say which one they show.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Locale;

/// The other languages' text of one record, by language tag and field name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object, example = json!({"zh-CN": {"title": "千里江山图"}}))]
pub struct Translations(pub BTreeMap<String, BTreeMap<String, String>>);

impl Translations {
    /// The stored JSON; a value that does not parse reads as no translations.
    pub fn from_stored(s: &str) -> Translations {
        serde_json::from_str(s).unwrap_or_default()
    }

    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// The text of `field` in `l`, if one was given.
    pub fn get(&self, l: Locale, field: &str) -> Option<&str> {
        self.0
            .get(l.tag())
            .and_then(|m| m.get(field))
            .map(String::as_str)
            .filter(|s| !s.trim().is_empty())
    }

    /// Set (or, with an empty value, remove) the text of `field` in `l`.
    pub fn set(&mut self, l: Locale, field: &str, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            if let Some(m) = self.0.get_mut(l.tag()) {
                m.remove(field);
                if m.is_empty() {
                    self.0.remove(l.tag());
                }
            }
        } else {
            self.0
                .entry(l.tag().to_string())
                .or_default()
                .insert(field.to_string(), value.to_string());
        }
    }

    /// `field` for a reader of `want`: the translation if there is one, else `base`.
    pub fn text<'a>(&'a self, base: &'a str, want: Locale, field: &str) -> &'a str {
        self.get(want, field).unwrap_or(base)
    }

    /// The language `field` is shown in to a reader of `want`, for a record written in `source`.
    pub fn shown(&self, source: Locale, want: Locale, field: &str) -> Locale {
        if want != source && self.get(want, field).is_some() {
            want
        } else {
            source
        }
    }

    /// Drop the text kept for `source` (the record's own language lives in its columns).
    pub fn without(mut self, source: Locale) -> Translations {
        self.0.remove(source.tag());
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// For a reader of `l` shown text in `shown` (a tag): the sentence that says so, or
/// nothing when it is their language.
pub fn shown_note(l: Locale, shown: &str) -> Option<String> {
    let shown = Locale::parse(shown)?;
    (shown != l).then(|| l.tf("content.shown_in", &[("language", shown.native_name())]))
}

/// A record's own language as stored; an unknown tag reads as English.
pub fn source_of(tag: &str) -> Locale {
    Locale::parse(tag).unwrap_or_default()
}

/// Why content an organiser sent was refused: a stable code and its parameters (the
/// error module makes it a 422 with the message in the reader's language).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub params: Vec<(&'static str, String)>,
}

/// The language a record is written in, from what an organiser sent.
pub fn parse_language(raw: &str) -> Result<Locale, Refusal> {
    Locale::parse(raw).ok_or_else(|| Refusal {
        code: "content.language_invalid",
        params: vec![("languages", languages_list())],
    })
}

fn languages_list() -> String {
    Locale::ALL
        .iter()
        .map(|l| l.tag())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An organiser's translations, checked: known languages only (not the record's own),
/// known fields only, each value parsed by `parse(field, value)`. Empty values are dropped.
pub fn parse_translations<E: From<Refusal>>(
    raw: &BTreeMap<String, BTreeMap<String, String>>,
    source: Locale,
    fields: &[&str],
    mut parse: impl FnMut(&str, &str) -> Result<String, E>,
) -> Result<Translations, E> {
    let mut out = Translations::default();
    for (tag, texts) in raw {
        let l = parse_language(tag)?;
        for (field, value) in texts {
            if !fields.contains(&field.as_str()) {
                return Err(Refusal {
                    code: "content.field_unknown",
                    params: vec![("field", field.clone()), ("fields", fields.join(", "))],
                }
                .into());
            }
            if value.trim().is_empty() {
                continue;
            }
            if l == source {
                // The record's own language is its ordinary field.
                return Err(Refusal {
                    code: "content.language_is_source",
                    params: vec![("language", l.tag().to_string())],
                }
                .into());
            }
            let v = parse(field, value)?;
            out.set(l, field, &v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    fn zh(title: &str) -> Translations {
        let mut t = Translations::default();
        t.set(Locale::ZhCn, "title", title);
        t
    }

    #[test]
    fn a_reader_gets_their_language_and_falls_back_to_the_records_own() {
        let t = zh("千里江山图");
        assert_eq!(t.text("A Thousand Li", Locale::ZhCn, "title"), "千里江山图");
        assert_eq!(
            t.text("A Thousand Li", Locale::En, "title"),
            "A Thousand Li"
        );
        assert_eq!(t.shown(Locale::En, Locale::ZhCn, "title"), Locale::ZhCn);
        // No Chinese story: the English one, and the page says it is English.
        assert_eq!(
            t.text("Blue and green", Locale::ZhCn, "story"),
            "Blue and green"
        );
        assert_eq!(t.shown(Locale::En, Locale::ZhCn, "story"), Locale::En);
    }

    #[test]
    fn setting_empty_text_removes_it_and_the_stored_form_round_trips() {
        let mut t = zh("千里江山图");
        let stored = t.to_stored();
        assert_eq!(stored, r#"{"zh-CN":{"title":"千里江山图"}}"#);
        assert_eq!(Translations::from_stored(&stored), t);
        t.set(Locale::ZhCn, "title", "  ");
        assert!(t.is_empty());
        assert!(Translations::from_stored("not json").is_empty());
    }

    #[test]
    fn organisers_translations_are_checked() {
        let ok = |_: &str, v: &str| Ok(v.trim().to_string());
        let raw = |tag: &str, field: &str, v: &str| {
            BTreeMap::from([(
                tag.to_string(),
                BTreeMap::from([(field.to_string(), v.to_string())]),
            )])
        };
        let t =
            parse_translations(&raw("zh", "title", " 标题 "), Locale::En, &["title"], ok).unwrap();
        assert_eq!(t.get(Locale::ZhCn, "title"), Some("标题"));
        let code = |r: Result<Translations, AppError>| r.unwrap_err().code();
        assert_eq!(
            code(parse_translations(
                &raw("fr", "title", "x"),
                Locale::En,
                &["title"],
                ok
            )),
            "content.language_invalid"
        );
        assert_eq!(
            code(parse_translations(
                &raw("zh-CN", "colour", "x"),
                Locale::En,
                &["title"],
                ok
            )),
            "content.field_unknown"
        );
        assert_eq!(
            code(parse_translations(
                &raw("en", "title", "x"),
                Locale::En,
                &["title"],
                ok
            )),
            "content.language_is_source"
        );
        // An empty value in the record's own language is simply nothing.
        assert!(
            parse_translations(&raw("en", "title", ""), Locale::En, &["title"], ok)
                .unwrap()
                .is_empty()
        );
    }
}
