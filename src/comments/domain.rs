//! The rules of a comment: its length, its moment, the words it may not use, and when
//! reports hide it.

use crate::error::AppError;
use crate::i18n::Locale;

/// The longest comment, in characters (a bullet crosses the screen in a few seconds).
pub const MAX_CHARS: usize = 140;
/// Reports from this many listeners hide a comment until an organiser looks at it.
pub const REPORTS_TO_HIDE: i32 = 3;

/// Words no comment may use, per language (lower case; one per line in the files).
const WORDS_EN: &str = include_str!("../../web/moderation/words-en.txt");
const WORDS_ZH: &str = include_str!("../../web/moderation/words-zh-CN.txt");

fn words(l: Locale) -> impl Iterator<Item = &'static str> {
    match l {
        Locale::ZhCn => WORDS_ZH,
        _ => WORDS_EN,
    }
    .lines()
    .map(str::trim)
    .filter(|w| !w.is_empty() && !w.starts_with('#'))
}

/// A comment's text, trimmed and checked: 1 to 140 characters, one line, and none of
/// the words on either language's list (a listener may write in either).
pub fn parse_body(raw: &str) -> Result<String, AppError> {
    let body: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let n = body.chars().count();
    if n == 0 || n > MAX_CHARS || body.chars().any(char::is_control) {
        return Err(AppError::invalid_with(
            "comment.body_invalid",
            vec![("max", MAX_CHARS.to_string())],
        ));
    }
    if Locale::ALL.iter().any(|l| uses_listed(&body, words(*l))) {
        return Err(AppError::invalid("comment.words_refused"));
    }
    Ok(body)
}

/// Whether `text` uses a listed word: Latin words as whole words (so "class" does not
/// match "ass"), words in Chinese characters anywhere (Chinese has no spaces).
fn uses_listed<'a>(text: &str, list: impl Iterator<Item = &'a str>) -> bool {
    let lower = text.to_lowercase();
    let tokens: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    list.map(str::to_lowercase).any(|w| {
        if w.is_ascii() {
            let parts: Vec<&str> = w.split_whitespace().collect();
            tokens
                .windows(parts.len().max(1))
                .any(|win| win == parts.as_slice())
        } else {
            lower.contains(&w)
        }
    })
}

/// The moment, in milliseconds, within the song (its length when known).
pub fn parse_at(at_secs: f64, duration_secs: Option<f64>) -> Result<i32, AppError> {
    let max = duration_secs.unwrap_or(3_600.0);
    if !at_secs.is_finite() || at_secs < 0.0 || at_secs > max + 0.5 {
        return Err(AppError::invalid("comment.time_invalid"));
    }
    Ok((at_secs.min(max) * 1000.0).round() as i32)
}

/// The messages a song page can show after a comment form came back refused.
const CODES: [&str; 9] = [
    "comment.body_invalid",
    "comment.words_refused",
    "comment.time_invalid",
    "comment.off",
    "comment.email_unverified",
    "comment.guardian_needed",
    "comment.own",
    "comment.too_many",
    "auth.required",
];

/// The message for a refused comment form, from the code the song page was sent back
/// with (unknown codes show nothing).
pub fn message(l: Locale, code: &str) -> Option<String> {
    let code = CODES.iter().find(|c| **c == code)?;
    Some(match *code {
        "comment.body_invalid" => l.tf(
            "error.comment.body_invalid",
            &[("max", &MAX_CHARS.to_string())],
        ),
        c => l.t(&format!("error.{c}")).to_string(),
    })
}

/// A moment as a clock: `0:42`, `3:07`, `1:02:03`.
pub fn clock(at_ms: i32) -> String {
    let s = (at_ms.max(0) / 1000) as u32;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_short_single_lines_without_listed_words() {
        assert_eq!(
            parse_body("  love   the\nbridge ").unwrap(),
            "love the bridge"
        );
        assert_eq!(parse_body("").unwrap_err().code(), "comment.body_invalid");
        assert_eq!(
            parse_body(&"a".repeat(141)).unwrap_err().code(),
            "comment.body_invalid"
        );
        assert!(parse_body(&"好".repeat(140)).is_ok());
        assert_eq!(
            parse_body("you idiot").unwrap_err().code(),
            "comment.words_refused"
        );
        assert_eq!(
            parse_body("IDIOT!").unwrap_err().code(),
            "comment.words_refused"
        );
        // Whole words only in Latin script; anywhere in Chinese.
        assert!(parse_body("idiotic? no, idyllic").is_ok());
        assert_eq!(
            parse_body("真是个白痴啊").unwrap_err().code(),
            "comment.words_refused"
        );
    }

    #[test]
    fn moments_are_inside_the_song() {
        assert_eq!(parse_at(42.0, Some(180.0)).unwrap(), 42_000);
        assert_eq!(parse_at(180.2, Some(180.0)).unwrap(), 180_000);
        assert_eq!(
            parse_at(181.0, Some(180.0)).unwrap_err().code(),
            "comment.time_invalid"
        );
        assert!(parse_at(-1.0, None).is_err());
        assert!(parse_at(f64::NAN, None).is_err());
        assert_eq!(clock(42_000), "0:42");
        assert_eq!(clock(187_900), "3:07");
        assert_eq!(clock(3_723_000), "1:02:03");
    }
}
