//! AI use: a competition's rule (allowed, allowed with disclosure, not allowed) and an
//! entry's disclosure of what AI helped with. The rule is the competition's; the entry
//! form asks, judges read the disclosure beside the entry (never the identity), and the
//! results, song and album pages show it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::AppError;
use crate::i18n::Locale;

/// A competition's rule on AI use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AiRule {
    /// AI may be used; saying what for is welcome, not needed.
    #[default]
    Allowed,
    /// AI may be used, and every entry says whether and what for before it is saved.
    Disclose,
    /// No AI: an entry that declares a use is refused.
    Forbidden,
}

impl AiRule {
    pub const ALL: [AiRule; 3] = [AiRule::Allowed, AiRule::Disclose, AiRule::Forbidden];

    pub fn as_str(self) -> &'static str {
        match self {
            AiRule::Allowed => "allowed",
            AiRule::Disclose => "disclose",
            AiRule::Forbidden => "forbidden",
        }
    }

    /// A stored rule; anything unknown reads as the default.
    pub fn of_stored(s: &str) -> AiRule {
        AiRule::parse(s).unwrap_or_default()
    }

    pub fn parse(s: &str) -> Option<AiRule> {
        AiRule::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The rule read from an organiser's input.
    pub fn from_input(s: &str) -> Result<AiRule, AppError> {
        AiRule::parse(s.trim()).ok_or_else(|| AppError::invalid("competition.ai_rule_invalid"))
    }
}

/// What AI may have helped with, in the order the form asks.
pub const USES: [&str; 6] = [
    "lyrics",
    "melody",
    "arrangement",
    "vocals",
    "mixing",
    "full",
];

/// A disclosure from the musician's input: known uses, each once, in the form's order.
/// `[]` means "no AI was used".
pub fn parse_uses(list: &[String]) -> Result<Vec<&'static str>, AppError> {
    for u in list {
        if !USES.contains(&u.trim()) {
            return Err(AppError::invalid_with(
                "entry.ai_use_invalid",
                vec![("uses", USES.join(", "))],
            ));
        }
    }
    Ok(USES
        .into_iter()
        .filter(|u| list.iter().any(|x| x.trim() == *u))
        .collect())
}

/// The stored form: `None` not answered, `Some("")` none, else comma-separated.
pub fn encode(uses: &[&str]) -> String {
    uses.join(",")
}

/// A stored disclosure read back (`None`: the musician has not answered).
pub fn decode(stored: Option<&str>) -> Option<Vec<String>> {
    stored.map(|s| {
        s.split(',')
            .filter(|u| USES.contains(u))
            .map(str::to_string)
            .collect()
    })
}

/// Whether a disclosure keeps the rule; the error names what to change.
pub fn check(rule: AiRule, disclosed: Option<&[String]>) -> Result<(), AppError> {
    match (rule, disclosed) {
        (AiRule::Disclose, None) => Err(AppError::invalid("entry.ai_disclosure_required")),
        (AiRule::Forbidden, Some(uses)) if !uses.is_empty() => Err(AppError::invalid_with(
            "entry.ai_use_forbidden",
            vec![("uses", uses.join(", "))],
        )),
        _ => Ok(()),
    }
}

/// A disclosure in words for a reader of `l`: "Lyrics, Mixing / mastering", or "No AI
/// used"; `None` when the musician did not say.
pub fn describe(l: Locale, disclosed: Option<&[String]>) -> Option<String> {
    let uses = disclosed?;
    if uses.is_empty() {
        return Some(l.t("ai.none_used").to_string());
    }
    Some(
        uses.iter()
            .map(|u| label(l, u))
            .collect::<Vec<_>>()
            .join(l.t("ai.separator")),
    )
}

/// One use's name in `l`.
pub fn label(l: Locale, u: &str) -> &'static str {
    match u {
        "lyrics" => l.t("ai.use_lyrics"),
        "melody" => l.t("ai.use_melody"),
        "arrangement" => l.t("ai.use_arrangement"),
        "vocals" => l.t("ai.use_vocals"),
        "mixing" => l.t("ai.use_mixing"),
        _ => l.t("ai.use_full"),
    }
}

/// A disclosure as pages and the API show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AiDisclosure {
    /// The uses declared (`[]`: no AI used).
    pub uses: Vec<String>,
    /// The uses in the reader's language, or "No AI used".
    pub summary: String,
}

impl AiDisclosure {
    /// The disclosure to show, when the musician answered.
    pub fn of(l: Locale, stored: Option<&str>) -> Option<AiDisclosure> {
        let uses = decode(stored)?;
        Some(AiDisclosure {
            summary: describe(l, Some(&uses)).unwrap_or_default(),
            uses,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn uses_are_known_once_and_in_order() {
        assert_eq!(
            parse_uses(&s(&["mixing", "lyrics", "mixing"])).unwrap(),
            vec!["lyrics", "mixing"]
        );
        assert_eq!(parse_uses(&[]).unwrap(), Vec::<&str>::new());
        let e = parse_uses(&s(&["ghostwriter"])).unwrap_err();
        assert_eq!(e.code(), "entry.ai_use_invalid");
    }

    #[test]
    fn stored_round_trip_keeps_unanswered_apart_from_none() {
        assert_eq!(decode(None), None);
        assert_eq!(decode(Some("")), Some(vec![]));
        assert_eq!(
            decode(Some(&encode(&["melody", "full"]))),
            Some(s(&["melody", "full"]))
        );
    }

    #[test]
    fn the_rule_is_kept() {
        let none: Vec<String> = vec![];
        let some = s(&["vocals"]);
        assert!(check(AiRule::Allowed, None).is_ok());
        assert!(check(AiRule::Allowed, Some(&some)).is_ok());
        assert_eq!(
            check(AiRule::Disclose, None).unwrap_err().code(),
            "entry.ai_disclosure_required"
        );
        assert!(check(AiRule::Disclose, Some(&none)).is_ok());
        assert!(check(AiRule::Disclose, Some(&some)).is_ok());
        assert!(check(AiRule::Forbidden, None).is_ok());
        assert!(check(AiRule::Forbidden, Some(&none)).is_ok());
        assert_eq!(
            check(AiRule::Forbidden, Some(&some)).unwrap_err().code(),
            "entry.ai_use_forbidden"
        );
    }

    #[test]
    fn described_in_both_languages() {
        let uses = s(&["lyrics", "mixing"]);
        let en = describe(Locale::En, Some(&uses)).unwrap();
        let zh = describe(Locale::ZhCn, Some(&uses)).unwrap();
        assert!(en.contains("Lyrics"), "{en}");
        assert_ne!(en, zh);
        assert_eq!(describe(Locale::En, None), None);
        assert_eq!(describe(Locale::En, Some(&[])).unwrap(), "No AI used");
        assert_eq!(AiRule::of_stored("nonsense"), AiRule::Allowed);
    }
}
