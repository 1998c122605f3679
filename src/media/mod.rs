//! What an uploaded file is, by its first bytes rather than its name or the type the
//! client claimed: the pictures Cadenza accepts (avatars, covers, prompts, posters)
//! and the audio the engine decodes; and the file name a musician's file is kept under.
//! [`picture`] measures pictures and makes the narrower copies pages show.

pub mod picture;

use actix_web::http::StatusCode;

use crate::error::AppError;

/// Containers the engine decodes.
const DECODABLE: [&str; 5] = ["wav", "flac", "mp3", "mp4", "ogg"];

/// The type of a PNG, JPEG or WebP picture, by content; `None` for anything else.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// The type served for audio whose first bytes are `head`.
pub fn audio_mime(head: &[u8]) -> &'static str {
    match crate::audio::decode::sniff(head) {
        "wav" => "audio/wav",
        "flac" => "audio/flac",
        "mp3" => "audio/mpeg",
        "mp4" => "audio/mp4",
        "ogg" => "audio/ogg",
        _ => "application/octet-stream",
    }
}

/// Refuse what is not audio the engine reads, from the first bytes.
pub fn check_audio_head(head: &[u8]) -> Result<(), AppError> {
    let kind = crate::audio::decode::sniff(head);
    if DECODABLE.contains(&kind) {
        return Ok(());
    }
    Err(match kind {
        "empty" => AppError::invalid("entry.audio_empty"),
        "opus" | "aiff" | "matroska" => AppError::Refused {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "entry.format_unsupported",
            params: vec![("kind", kind.to_string())],
        },
        other => AppError::Refused {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "entry.not_audio",
            params: vec![("kind", other.to_string())],
        },
    })
}

/// Bidirectional override and isolate marks: they make a name read backwards on screen
/// ("song\u{202e}3pm.exe" shows as "songexe.mp3").
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The original file name, kept only as metadata: no path, no control characters,
/// at most 200 characters.
pub fn sanitise_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| {
            !c.is_control()
                && !is_bidi_control(*c)
                && !matches!(c, '"' | '<' | '>' | '|' | '*' | '?' | ':')
        })
        .take(200)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "audio".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_known_by_their_bytes() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(image_type(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(image_type(b"GIF89a"), None);
    }

    #[test]
    fn file_names_are_sanitised() {
        assert_eq!(sanitise_file_name("C:\\music\\My Song.wav"), "My Song.wav");
        assert_eq!(sanitise_file_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitise_file_name("a\u{0}b<script>.mp3"), "abscript.mp3");
        assert_eq!(sanitise_file_name(".hidden"), "hidden");
        // A right-to-left override cannot make a name read backwards.
        assert_eq!(sanitise_file_name("song\u{202e}3pm.exe"), "song3pm.exe");
        assert_eq!(sanitise_file_name(""), "audio");
        assert_eq!(sanitise_file_name(&"x".repeat(500)).len(), 200);
    }

    #[test]
    fn only_decodable_audio_passes_the_first_bytes() {
        assert!(check_audio_head(b"RIFF\x24\x00\x00\x00WAVEfmt ").is_ok());
        assert!(check_audio_head(b"fLaC\x00\x00\x00\x22").is_ok());
        assert!(check_audio_head(b"ID3\x04\x00\x00\x00\x00").is_ok());
        assert_eq!(
            check_audio_head(b"%PDF-1.7 ...").unwrap_err().code(),
            "entry.not_audio"
        );
        assert_eq!(
            check_audio_head(b"\x89PNG\r\n\x1a\n")
                .unwrap_err()
                .status()
                .as_u16(),
            415
        );
        assert_eq!(
            check_audio_head(b"").unwrap_err().code(),
            "entry.audio_empty"
        );
        assert_eq!(
            check_audio_head(b"FORM\x00\x00\x00\x00AIFF")
                .unwrap_err()
                .code(),
            "entry.format_unsupported"
        );
    }
}
