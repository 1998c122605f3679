//! Message catalogs (English and Simplified Chinese) and language negotiation.
//!
//! Catalogs live in `web/i18n/*.toml` and are compiled into the binary. Keys are
//! dotted (`nav.home`, `error.not_found`); `{name}` placeholders are filled by
//! [`Locale::tf`]. A unit test checks that both catalogs have the same keys and
//! the same placeholders.

pub mod content;

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Locale {
    #[default]
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    ZhCn,
}

/// The cookie that remembers a browser's language.
pub const LANG_COOKIE: &str = "lang";
/// The language a poster's QR code chose, kept for the visit (a session cookie).
pub const VISIT_LANG_COOKIE: &str = "visit-lang";

type Catalog = HashMap<String, String>;

static CATALOGS: LazyLock<[Catalog; 2]> = LazyLock::new(|| {
    [
        parse_catalog(include_str!("../web/i18n/en.toml")),
        parse_catalog(include_str!("../web/i18n/zh-CN.toml")),
    ]
});

fn parse_catalog(src: &str) -> Catalog {
    // The catalogs are part of the binary and checked by unit tests; a broken one is a build defect.
    let table: toml::Table = toml::from_str(src).expect("message catalog is valid TOML");
    let mut out = HashMap::new();
    flatten("", &toml::Value::Table(table), &mut out);
    out
}

fn flatten(prefix: &str, value: &toml::Value, out: &mut Catalog) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        toml::Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::ZhCn];

    /// The BCP 47 tag, as used in `lang` attributes and the cookie.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhCn => "zh-CN",
        }
    }

    /// The language's own name, for the language switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::ZhCn => "简体中文",
        }
    }

    fn index(self) -> usize {
        match self {
            Locale::En => 0,
            Locale::ZhCn => 1,
        }
    }

    /// Parse a tag exactly as we write it (cookie, stored preference, form value).
    pub fn parse(tag: &str) -> Option<Locale> {
        match tag.trim().to_ascii_lowercase().as_str() {
            "en" | "en-us" | "en-gb" => Some(Locale::En),
            "zh-cn" | "zh-hans" | "zh" | "zh-hans-cn" | "zh-sg" => Some(Locale::ZhCn),
            _ => None,
        }
    }

    /// Pick the best supported language from an `Accept-Language` header.
    pub fn negotiate(accept_language: &str) -> Option<Locale> {
        let mut best: Option<(f32, Locale)> = None;
        for part in accept_language.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|v| v.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            let locale = if tag == "en" || tag.starts_with("en-") {
                Some(Locale::En)
            } else if tag == "zh"
                || tag.starts_with("zh-cn")
                || tag.starts_with("zh-hans")
                || tag == "zh-sg"
            {
                Some(Locale::ZhCn)
            } else {
                None
            };
            if let Some(l) = locale
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, l));
            }
        }
        best.map(|(_, l)| l)
    }

    /// The message for `key`, falling back to English, then to the key itself.
    pub fn t(self, key: &str) -> &'static str {
        let catalogs: &'static [Catalog; 2] = &CATALOGS;
        catalogs[self.index()]
            .get(key)
            .or_else(|| catalogs[0].get(key))
            .map(String::as_str)
            .unwrap_or_else(|| {
                tracing::warn!(key, "missing message");
                // Leak-free fallback: a static marker; the key is logged above.
                "⟨missing message⟩"
            })
    }

    /// Whether a message exists for `key`.
    pub fn has(self, key: &str) -> bool {
        CATALOGS[self.index()].contains_key(key)
    }

    /// The message for `key` with `{name}` placeholders filled.
    pub fn tf(self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.t(key).to_string();
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn placeholders(s: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut rest = s;
        while let Some(start) = rest.find('{') {
            if let Some(end) = rest[start..].find('}') {
                out.insert(rest[start + 1..start + end].to_string());
                rest = &rest[start + end + 1..];
            } else {
                break;
            }
        }
        out
    }

    #[test]
    fn catalogs_have_the_same_keys_and_placeholders() {
        let en = &CATALOGS[0];
        let zh = &CATALOGS[1];
        let en_keys: BTreeSet<_> = en.keys().collect();
        let zh_keys: BTreeSet<_> = zh.keys().collect();
        let missing_zh: Vec<_> = en_keys.difference(&zh_keys).collect();
        let missing_en: Vec<_> = zh_keys.difference(&en_keys).collect();
        assert!(missing_zh.is_empty(), "missing in zh-CN: {missing_zh:?}");
        assert!(missing_en.is_empty(), "missing in en: {missing_en:?}");
        for k in en.keys() {
            assert_eq!(
                placeholders(&en[k]),
                placeholders(&zh[k]),
                "placeholders differ for {k}"
            );
        }
    }

    #[test]
    fn negotiation_honours_quality() {
        assert_eq!(
            Locale::negotiate("zh-CN,zh;q=0.9,en;q=0.8"),
            Some(Locale::ZhCn)
        );
        assert_eq!(Locale::negotiate("en-US,en;q=0.9"), Some(Locale::En));
        assert_eq!(
            Locale::negotiate("fr-FR, zh;q=0.5, en;q=0.4"),
            Some(Locale::ZhCn)
        );
        assert_eq!(Locale::negotiate("fr-FR"), None);
        assert_eq!(Locale::negotiate("zh-TW"), None);
        assert_eq!(Locale::negotiate("en;q=0, zh-Hans"), Some(Locale::ZhCn));
        assert_eq!(Locale::negotiate(""), None);
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            Locale::En.tf("error.payload_too_large", &[("limit", "2 MiB")]),
            "That is too big: the limit is 2 MiB. Send something smaller."
        );
        assert!(
            Locale::ZhCn
                .tf("error.payload_too_large", &[("limit", "2 MiB")])
                .contains("2 MiB")
        );
    }

    #[test]
    fn parse_round_trips_tags() {
        for l in Locale::ALL {
            assert_eq!(Locale::parse(l.tag()), Some(l));
        }
        assert_eq!(Locale::parse("de"), None);
    }
}
