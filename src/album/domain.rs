//! The album's rules, without a database: whether a track's agreement is complete,
//! the digests that tell when release files are out of date, the tags each file
//! carries, and the names of the files in the ZIP.

use sha2::{Digest, Sha256};

use super::model::{Agreement, ConsentRow};
use crate::audio::release::ReleaseTags;

/// Loudness targets an organiser may choose (LUFS): from broadcast to loud masters.
pub const TARGET_RANGE: std::ops::RangeInclusive<f64> = -23.0..=-9.0;
pub const MAX_TITLE: usize = 200;
pub const MAX_DESCRIPTION: usize = 2000;
pub const MAX_TERMS: usize = 20_000;
pub const MAX_CREDIT: usize = 300;
pub const MAX_LYRICS: usize = 10_000;

/// Where a track's agreement stands under terms version `terms`: the musician's to the
/// current terms, and for a minor a guardian's too.
pub fn agreement(consent: Option<&ConsentRow>, terms: i32, minor: bool) -> Agreement {
    let Some(c) = consent else {
        return Agreement::WaitingForMusician;
    };
    if c.musician_terms != Some(terms) || c.musician_agreed_at.is_none() {
        return Agreement::WaitingForMusician;
    }
    if minor && (c.guardian_terms != Some(terms) || c.guardian_agreed_at.is_none()) {
        return Agreement::WaitingForGuardian;
    }
    Agreement::Agreed
}

/// The digest of what a track's release files are made from: the audio, the tags, the
/// cover and the loudness target. Files made from another digest are out of date.
pub fn track_digest(
    upload_id: &str,
    tags: &ReleaseTags,
    cover_key: Option<&str>,
    target: f64,
) -> String {
    let mut h = Sha256::new();
    h.update(upload_id.as_bytes());
    h.update(b"\n");
    h.update(serde_json::to_vec(tags).unwrap_or_default());
    h.update(b"\n");
    h.update(cover_key.unwrap_or("").as_bytes());
    h.update(format!("\n{target:.2}\nv1").as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// The digest of a whole release: its tracks' digests in order (only the agreed ones
/// are in it) and the terms version they were agreed under.
pub fn album_digest(track_digests: &[String], terms_version: i32) -> String {
    let mut h = Sha256::new();
    for d in track_digests {
        h.update(d.as_bytes());
        h.update(b"\n");
    }
    h.update(format!("terms {terms_version}").as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// What one track's release files say about it.
pub struct TagSource<'a> {
    pub album_title: &'a str,
    pub album_artist: &'a str,
    pub year: i32,
    pub number: usize,
    pub total: usize,
    pub title: &'a str,
    pub artist: &'a str,
    pub composers: &'a [String],
    pub lyrics: &'a str,
    /// The painting or prompt behind the song.
    pub inspired_by: Option<&'a str>,
    /// The AI disclosure in words (English: the tags are read by players everywhere).
    pub ai: Option<&'a str>,
}

pub fn tags(s: &TagSource) -> ReleaseTags {
    let mut comment = Vec::new();
    if let Some(p) = s.inspired_by {
        comment.push(format!("Inspired by: {p}"));
    }
    if let Some(a) = s.ai {
        comment.push(format!("AI use: {a}"));
    }
    ReleaseTags {
        title: s.title.to_string(),
        artist: s.artist.to_string(),
        album: s.album_title.to_string(),
        album_artist: s.album_artist.to_string(),
        track: s.number as u32,
        track_total: s.total as u32,
        year: s.year.max(0) as u32,
        composers: s.composers.to_vec(),
        lyrics: s.lyrics.to_string(),
        comment: comment.join("\n"),
    }
}

/// A file name inside the ZIP: `01 Artist - Title.flac`, with nothing a file system
/// or an unzip tool could misread (no separators, no control characters, not too long).
pub fn file_name(number: usize, artist: &str, title: &str, ext: &str) -> String {
    format!("{number:02} {} - {}.{ext}", clean(artist), clean(title))
}

/// The ZIP's name: `Artist - Title.zip`, cleaned like the files in it.
pub fn zip_name(artist: &str, title: &str) -> String {
    format!("{} - {}.zip", clean(artist), clean(title))
}

/// A name part without separators, control or direction characters, at most 80 long.
fn clean(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_control() || "/\\:*?\"<>|".contains(c) || crate::media::is_bidi_control(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    let t = t.trim().trim_start_matches('.').to_string();
    t.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agreed(m: Option<i32>, g: Option<i32>) -> ConsentRow {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        ConsentRow {
            musician_terms: m,
            musician_agreed_at: m.map(|_| t),
            guardian_terms: g,
            guardian_agreed_at: g.map(|_| t),
            ..ConsentRow::default()
        }
    }

    #[test]
    fn a_track_is_in_only_with_every_agreement_to_the_current_terms() {
        assert_eq!(agreement(None, 1, false), Agreement::WaitingForMusician);
        assert_eq!(
            agreement(Some(&agreed(Some(1), None)), 1, false),
            Agreement::Agreed
        );
        // Terms changed since: asked again.
        assert_eq!(
            agreement(Some(&agreed(Some(1), None)), 2, false),
            Agreement::WaitingForMusician
        );
        // A minor needs a guardian too, to the same terms.
        assert_eq!(
            agreement(Some(&agreed(Some(2), None)), 2, true),
            Agreement::WaitingForGuardian
        );
        assert_eq!(
            agreement(Some(&agreed(Some(2), Some(1))), 2, true),
            Agreement::WaitingForGuardian
        );
        assert_eq!(
            agreement(Some(&agreed(Some(2), Some(2))), 2, true),
            Agreement::Agreed
        );
        // A guardian alone is not the musician's agreement.
        assert_eq!(
            agreement(Some(&agreed(None, Some(2))), 2, true),
            Agreement::WaitingForMusician
        );
    }

    #[test]
    fn digests_change_with_what_the_files_are_made_from() {
        let t = ReleaseTags {
            title: "A".into(),
            ..ReleaseTags::default()
        };
        let d = track_digest("u1", &t, None, -14.0);
        assert_eq!(d, track_digest("u1", &t, None, -14.0));
        assert_ne!(d, track_digest("u2", &t, None, -14.0));
        assert_ne!(d, track_digest("u1", &t, Some("k"), -14.0));
        assert_ne!(d, track_digest("u1", &t, None, -16.0));
        let t2 = ReleaseTags {
            title: "B".into(),
            ..ReleaseTags::default()
        };
        assert_ne!(d, track_digest("u1", &t2, None, -14.0));
        let a = album_digest(std::slice::from_ref(&d), 1);
        assert_ne!(a, album_digest(std::slice::from_ref(&d), 2));
        assert_ne!(a, album_digest(&[d.clone(), d], 1));
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(
            file_name(3, "Mei", "Night Ferry", "flac"),
            "03 Mei - Night Ferry.flac"
        );
        assert_eq!(file_name(12, "a/b", "../x:y", "mp3"), "12 a_b - _x_y.mp3");
        assert_eq!(
            file_name(1, "墨", "山水\u{202e}", "mp3"),
            "01 墨 - 山水_.mp3"
        );
    }
}
