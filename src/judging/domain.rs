//! Rules of judging input: rubrics, round settings, scores, comments, affiliations;
//! and the small calculations judges' pages rely on (listening coverage, the
//! loudness-matching gain, codes and aliases).

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDateTime;
use chrono_tz::Tz;

use super::model::{
    AffiliationItem, CALIBRATION, CriterionInput, RoundInput, RoundRow, STANDARD, ScoreInput,
};
use super::scoring::{Advancement, Basis, Criterion};
use crate::competitions::domain::parse_time;
use crate::error::AppError;

pub const MAX_CRITERIA: usize = 12;
pub const MAX_NAME: usize = 80;
pub const MAX_DESCRIPTION: usize = 500;
pub const MAX_COMMENT: usize = 4000;
pub const MAX_JUDGES_PER_ENTRY: i64 = 50;

fn bad(code: &'static str) -> AppError {
    AppError::invalid(code)
}

fn text(raw: &str, max: usize, code: &'static str) -> Result<String, AppError> {
    let t = raw.trim();
    if t.chars().count() > max {
        return Err(AppError::invalid_with(code, vec![("max", max.to_string())]));
    }
    Ok(t.to_string())
}

/// The default rubric: the four criteria of the museum competition.
pub fn default_rubric() -> Vec<Criterion> {
    [
        ("originality", "Originality", 30),
        ("musicality", "Musicality", 30),
        ("production", "Production", 20),
        ("fidelity", "Fidelity to the prompt", 20),
    ]
    .into_iter()
    .map(|(k, n, w)| Criterion {
        key: k.into(),
        name: n.into(),
        description: String::new(),
        weight: w,
        min: 1,
        max: 10,
    })
    .collect()
}

/// A rubric: 1 to 12 criteria, each named, with a whole-number scale of at least two
/// steps (0 to 100 at most) and a positive weight; the weights add up to 100.
pub fn parse_rubric(items: &[CriterionInput]) -> Result<Vec<Criterion>, AppError> {
    if items.is_empty() || items.len() > MAX_CRITERIA {
        return Err(AppError::invalid_with(
            "judging.rubric_size",
            vec![("max", MAX_CRITERIA.to_string())],
        ));
    }
    let mut keys = HashSet::new();
    let mut out = Vec::new();
    for (i, c) in items.iter().enumerate() {
        let name = text(&c.name, MAX_NAME, "judging.criterion_name_too_long")?;
        if name.is_empty() {
            return Err(bad("judging.criterion_name_missing"));
        }
        let key = match c.key.as_deref().map(str::trim) {
            Some(k) if !k.is_empty() => {
                if k.len() > 40
                    || !k
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
                {
                    return Err(bad("judging.criterion_key_invalid"));
                }
                k.to_string()
            }
            _ => format!("c{}", i + 1),
        };
        if !keys.insert(key.clone()) {
            return Err(bad("judging.criterion_key_invalid"));
        }
        if !(1..=100).contains(&c.weight) {
            return Err(bad("judging.weights_invalid"));
        }
        if c.min < 0 || c.max > 100 || c.max <= c.min {
            return Err(bad("judging.scale_invalid"));
        }
        out.push(Criterion {
            key,
            name,
            description: text(
                &c.description,
                MAX_DESCRIPTION,
                "judging.criterion_description_too_long",
            )?,
            weight: c.weight as u32,
            min: c.min as i32,
            max: c.max as i32,
        });
    }
    if out.iter().map(|c| c.weight).sum::<u32>() != 100 {
        return Err(bad("judging.weights_invalid"));
    }
    Ok(out)
}

pub fn parse_advancement(a: &Advancement) -> Result<Advancement, AppError> {
    match a {
        Advancement::TopN { n, .. } if *n == 0 || *n > 100_000 => {
            Err(bad("judging.advancement_invalid"))
        }
        Advancement::Threshold { min_score } if !(0.0..=100.0).contains(min_score) => {
            Err(bad("judging.advancement_invalid"))
        }
        other => Ok(other.clone()),
    }
}

/// Apply `input` to `row` (a new round or an existing one). `has_scores`: the rubric
/// can no longer change.
pub fn apply_round_input(
    row: &mut RoundRow,
    input: &RoundInput,
    tz: Tz,
    has_scores: bool,
) -> Result<(), AppError> {
    if let Some(n) = &input.name {
        let n = text(n, MAX_NAME, "judging.round_name_too_long")?;
        if n.is_empty() {
            return Err(bad("judging.round_name_missing"));
        }
        row.name = n;
    }
    if let Some(k) = &input.kind {
        if k != STANDARD && k != CALIBRATION {
            return Err(bad("judging.kind_invalid"));
        }
        row.kind = k.clone();
    }
    if let Some(t) = &input.opens_at {
        row.opens_at = parse_time(t, tz)?;
    }
    if let Some(t) = &input.closes_at {
        row.closes_at = parse_time(t, tz)?;
    }
    if let (Some(o), Some(c)) = (row.opens_at, row.closes_at)
        && c <= o
    {
        return Err(bad("judging.window_invalid"));
    }
    if let Some(r) = &input.rubric {
        let rubric = parse_rubric(r)?;
        let current = row.rubric();
        if has_scores && rubric != current {
            return Err(AppError::Conflict {
                code: "judging.rubric_locked",
            });
        }
        row.rubric = serde_json::to_string(&rubric).map_err(AppError::internal)?;
    }
    if let Some(b) = input.blind {
        row.blind = b;
    }
    if let Some(k) = input.judges_per_entry {
        if !(1..=MAX_JUDGES_PER_ENTRY).contains(&k) {
            return Err(bad("judging.judges_per_entry_invalid"));
        }
        row.judges_per_entry = k as i32;
    }
    if let Some(a) = &input.advancement {
        row.advancement =
            serde_json::to_string(&parse_advancement(a)?).map_err(AppError::internal)?;
    }
    if let Some(b) = &input.ranking_basis {
        row.ranking_basis = Basis::parse(b)
            .ok_or_else(|| bad("judging.basis_invalid"))?
            .as_str()
            .to_string();
    }
    if let Some(p) = input.min_listen_percent {
        if !(0..=100).contains(&p) {
            return Err(bad("judging.listen_share_invalid"));
        }
        row.min_listen_permille = (p * 10) as i32;
    }
    if let Some(o) = &input.others_scores {
        if !matches!(o.as_str(), "never" | "after_scoring" | "always") {
            return Err(bad("judging.others_scores_invalid"));
        }
        row.others_scores = o.clone();
    }
    if let Some(f) = &input.feedback_release {
        if !matches!(f.as_str(), "round" | "final") {
            return Err(bad("judging.feedback_release_invalid"));
        }
        row.feedback_release = f.clone();
    }
    if let Some(h) = input.reminder_hours {
        if !(0..=24 * 14).contains(&h) {
            return Err(bad("judging.reminder_invalid"));
        }
        row.reminder_hours = h as i32;
    }
    Ok(())
}

/// A judge's marks: one whole number on each criterion's scale, for every criterion.
pub fn parse_score(
    rubric: &[Criterion],
    input: &ScoreInput,
) -> Result<BTreeMap<String, i32>, AppError> {
    let mut out = BTreeMap::new();
    for c in rubric {
        let v = *input.criteria.get(&c.key).ok_or_else(|| {
            AppError::invalid_with("judging.score_missing", vec![("criterion", c.name.clone())])
        })?;
        if v < c.min as i64 || v > c.max as i64 {
            return Err(AppError::invalid_with(
                "judging.score_out_of_range",
                vec![
                    ("criterion", c.name.clone()),
                    ("min", c.min.to_string()),
                    ("max", c.max.to_string()),
                ],
            ));
        }
        out.insert(c.key.clone(), v as i32);
    }
    if let Some(k) = input
        .criteria
        .keys()
        .find(|k| !rubric.iter().any(|c| &c.key == *k))
    {
        return Err(AppError::invalid_with(
            "judging.unknown_criterion",
            vec![("criterion", k.clone())],
        ));
    }
    Ok(out)
}

pub fn parse_comment(body: &str) -> Result<String, AppError> {
    let b = text(body, MAX_COMMENT, "judging.comment_too_long")?;
    if b.is_empty() {
        return Err(bad("judging.comment_empty"));
    }
    Ok(b.replace("\r\n", "\n"))
}

pub fn parse_visibility(v: Option<&str>) -> Result<&'static str, AppError> {
    match v.unwrap_or("panel") {
        "panel" => Ok("panel"),
        "musician" => Ok("musician"),
        _ => Err(bad("judging.visibility_invalid")),
    }
}

pub const AFFILIATION_KINDS: [&str; 4] = ["school", "label", "teacher", "studio"];
pub const MAX_AFFILIATIONS: usize = 20;

/// Fold an affiliation for matching: case, accents of spacing and punctuation do not
/// make two schools different.
pub fn affiliation_key(value: &str) -> String {
    value
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

pub fn parse_affiliations(
    items: &[AffiliationItem],
) -> Result<Vec<(String, String, String)>, AppError> {
    if items.len() > MAX_AFFILIATIONS {
        return Err(AppError::invalid_with(
            "judging.affiliations_too_many",
            vec![("max", MAX_AFFILIATIONS.to_string())],
        ));
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for a in items {
        if !AFFILIATION_KINDS.contains(&a.kind.as_str()) {
            return Err(bad("judging.affiliation_kind_invalid"));
        }
        let value = text(&a.value, MAX_NAME, "judging.affiliation_too_long")?;
        let key = affiliation_key(&value);
        if key.is_empty() {
            continue;
        }
        if seen.insert((a.kind.clone(), key.clone())) {
            out.push((a.kind.clone(), key, value));
        }
    }
    Ok(out)
}

/// Buckets of the listening-coverage map.
pub const COVERAGE_BUCKETS: usize = 200;

/// Mark `from..to` seconds of a `duration`-second track as played in `map` (one
/// character a bucket) and return the new map and the share played in permille.
/// A bucket counts once at least half of it was played.
pub fn add_listening(map: &str, duration: f64, from: f64, to: f64) -> (String, i32) {
    let mut bits: Vec<u8> = map.bytes().collect();
    bits.resize(COVERAGE_BUCKETS, b'0');
    if duration > 0.0 && from.is_finite() && to.is_finite() && to > from {
        let (from, to) = (from.max(0.0), to.min(duration));
        let width = duration / COVERAGE_BUCKETS as f64;
        for (i, b) in bits.iter_mut().enumerate() {
            let (s, e) = (i as f64 * width, (i + 1) as f64 * width);
            let overlap = (to.min(e) - from.max(s)).max(0.0);
            if overlap >= width / 2.0 - 1e-9 {
                *b = b'1';
            }
        }
    }
    let played = bits.iter().filter(|b| **b == b'1').count();
    let permille = (played * 1000 / COVERAGE_BUCKETS) as i32;
    (String::from_utf8(bits).unwrap_or_default(), permille)
}

/// Whether musicians may read the judges' feedback of round `r`: once it is decided
/// when it releases per round, else with the competition's published results.
pub fn feedback_released(r: &super::model::RoundRow, results_published: bool) -> bool {
    results_published || (r.feedback_release == "round" && r.status == super::model::DECIDED)
}

/// Seconds of slack in the time bound on listening (a player buffers ahead, and the
/// first request and the first report are not at the same instant).
pub const LISTEN_GRACE_SECS: f64 = 1.0;

/// Mark bytes `start..=end` of a `size`-byte rendition as streamed in `map` (the same
/// buckets as [`add_listening`]; a 16-bit WAV's bytes map linearly onto its time).
/// A bucket counts once at least half of it was sent.
pub fn add_streamed(map: &str, size: u64, start: u64, end: u64) -> String {
    let mut bits: Vec<u8> = map.bytes().collect();
    bits.resize(COVERAGE_BUCKETS, b'0');
    if size > 0 && end >= start {
        let width = size as f64 / COVERAGE_BUCKETS as f64;
        let (from, to) = (start as f64, (end + 1).min(size) as f64);
        for (i, b) in bits.iter_mut().enumerate() {
            let (s, e) = (i as f64 * width, (i + 1) as f64 * width);
            if (to.min(e) - from.max(s)).max(0.0) >= width / 2.0 - 1e-9 {
                *b = b'1';
            }
        }
    }
    String::from_utf8(bits).unwrap_or_default()
}

/// The share of a `duration`-second track (permille) a judge has proved they heard:
/// buckets the player reported *and* the server streamed to them, and never more than
/// the time since the first audio was streamed (plus [`LISTEN_GRACE_SECS`]) allows.
pub fn proven_permille(listened: &str, streamed: &str, duration: f64, elapsed_secs: f64) -> i32 {
    if duration <= 0.0 || !elapsed_secs.is_finite() {
        return 0;
    }
    let both = listened
        .bytes()
        .zip(streamed.bytes())
        .filter(|(l, s)| *l == b'1' && *s == b'1')
        .count();
    let by_time = ((elapsed_secs.max(0.0) + LISTEN_GRACE_SECS) / duration * COVERAGE_BUCKETS as f64)
        .floor() as usize;
    (both.min(by_time) * 1000 / COVERAGE_BUCKETS) as i32
}

pub use crate::audio::gain::{REFERENCE_LUFS, playback_gain};

/// A weighted total (0–100) on the scale the judge marked with: `7.5 / 10` when every
/// criterion shares one scale (1–10 marks), else `75 / 100`.
pub fn on_judge_scale(total: f64, rubric: &[super::scoring::Criterion]) -> String {
    let scales: std::collections::HashSet<(i32, i32)> =
        rubric.iter().map(|c| (c.min, c.max)).collect();
    match scales.into_iter().collect::<Vec<_>>().as_slice() {
        [(min, max)] if max > min && *max != 100 => {
            let v = f64::from(*min) + total / 100.0 * f64::from(max - min);
            format!("{v:.1} / {max}")
        }
        _ => format!("{total:.0} / 100"),
    }
}

/// A short code for an entry in a round, e.g. `K7F3Q` (no 0/O, 1/I).
pub fn new_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// An opaque alias: 128 random bits.
pub fn new_alias() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub fn is_alias(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `now` is past the moment a reminder is due.
pub fn reminder_due(closes_at: Option<NaiveDateTime>, hours: i32, now: NaiveDateTime) -> bool {
    match closes_at {
        Some(c) if hours > 0 => now >= c - chrono::Duration::hours(hours as i64) && now < c,
        _ => false,
    }
}

/// Best first: larger values before smaller, and a missing value last.
pub fn desc(a: Option<f64>, b: Option<f64>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.total_cmp(&a),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ci(name: &str, weight: i64, min: i64, max: i64) -> CriterionInput {
        CriterionInput {
            key: None,
            name: name.into(),
            description: String::new(),
            weight,
            min,
            max,
        }
    }

    #[test]
    fn rubric_rules() {
        let ok = parse_rubric(&[ci("Originality", 60, 1, 10), ci("Production", 40, 0, 5)]).unwrap();
        assert_eq!(ok[0].key, "c1");
        assert_eq!(ok[1].key, "c2");
        let code = |r: Result<Vec<Criterion>, AppError>| r.unwrap_err().code();
        assert_eq!(code(parse_rubric(&[])), "judging.rubric_size");
        assert_eq!(
            code(parse_rubric(&[ci("A", 50, 1, 10), ci("B", 40, 1, 10)])),
            "judging.weights_invalid"
        );
        assert_eq!(
            code(parse_rubric(&[ci("A", 100, 5, 5)])),
            "judging.scale_invalid"
        );
        assert_eq!(
            code(parse_rubric(&[ci("A", 100, -1, 5)])),
            "judging.scale_invalid"
        );
        assert_eq!(
            code(parse_rubric(&[ci(" ", 100, 1, 5)])),
            "judging.criterion_name_missing"
        );
        let mut dup = vec![ci("A", 50, 1, 10), ci("B", 50, 1, 10)];
        dup[0].key = Some("x".into());
        dup[1].key = Some("x".into());
        assert_eq!(code(parse_rubric(&dup)), "judging.criterion_key_invalid");
        assert_eq!(default_rubric().iter().map(|c| c.weight).sum::<u32>(), 100);
    }

    #[test]
    fn scores_must_cover_the_rubric_on_its_scale() {
        let rubric = default_rubric();
        let mut m: BTreeMap<String, i64> = rubric.iter().map(|c| (c.key.clone(), 5)).collect();
        assert_eq!(
            parse_score(
                &rubric,
                &ScoreInput {
                    criteria: m.clone()
                }
            )
            .unwrap()
            .len(),
            4
        );
        m.insert("musicality".into(), 11);
        let e = parse_score(
            &rubric,
            &ScoreInput {
                criteria: m.clone(),
            },
        )
        .unwrap_err();
        assert_eq!(e.code(), "judging.score_out_of_range");
        m.remove("musicality");
        let e = parse_score(
            &rubric,
            &ScoreInput {
                criteria: m.clone(),
            },
        )
        .unwrap_err();
        assert_eq!(e.code(), "judging.score_missing");
        m.insert("musicality".into(), 3);
        m.insert("vibes".into(), 3);
        let e = parse_score(&rubric, &ScoreInput { criteria: m }).unwrap_err();
        assert_eq!(e.code(), "judging.unknown_criterion");
    }

    #[test]
    fn proof_of_listening_needs_streamed_audio_and_time() {
        let (heard, _) = add_listening("", 100.0, 0.0, 100.0);
        // A forged report with nothing streamed proves nothing.
        assert_eq!(proven_permille(&heard, "", 100.0, 1e6), 0);
        // Everything streamed at once: bounded by the time since.
        let all = add_streamed("", 1_000_000, 0, 999_999);
        assert_eq!(proven_permille(&heard, &all, 100.0, 9.0), 100);
        assert_eq!(proven_permille(&heard, &all, 100.0, 200.0), 1000);
        // Only the first half was streamed (a ranged request).
        let half = add_streamed("", 1_000_000, 0, 499_999);
        assert_eq!(proven_permille(&heard, &half, 100.0, 200.0), 500);
        // Streamed but not reported heard does not count either.
        let (first_tenth, _) = add_listening("", 100.0, 0.0, 10.0);
        assert_eq!(proven_permille(&first_tenth, &all, 100.0, 200.0), 100);
        // Ranges add up.
        let more = add_streamed(&half, 1_000_000, 500_000, 999_999);
        assert_eq!(more, all);
        assert_eq!(proven_permille(&heard, &more, 0.0, 200.0), 0);
    }

    #[test]
    fn listening_coverage_merges_segments() {
        let (m, p) = add_listening("", 100.0, 0.0, 50.0);
        assert_eq!(p, 500);
        let (m, p) = add_listening(&m, 100.0, 25.0, 75.0);
        assert_eq!(p, 750, "overlap counts once");
        let (_, p) = add_listening(&m, 100.0, 75.0, 1e9);
        assert_eq!(p, 1000, "clamped to the track");
        let (_, p) = add_listening("", 100.0, 10.0, 10.1);
        assert_eq!(p, 0, "a sliver of a bucket is not listening");
        let (_, p) = add_listening("", 100.0, 40.0, f64::NAN);
        assert_eq!(p, 0);
        let (_, p) = add_listening("", 0.0, 0.0, 10.0);
        assert_eq!(p, 0);
    }

    #[test]
    fn totals_are_shown_on_the_scale_the_judge_used() {
        use super::super::scoring::Criterion;
        let c = |min, max| Criterion {
            key: "k".into(),
            name: "n".into(),
            description: String::new(),
            weight: 50,
            min,
            max,
        };
        // Marks of 1–10: a total of 50 is 5.5 out of 10, not "50.0".
        assert_eq!(on_judge_scale(50.0, &[c(1, 10), c(1, 10)]), "5.5 / 10");
        assert_eq!(on_judge_scale(100.0, &[c(0, 5)]), "5.0 / 5");
        // Mixed scales: the weighted total out of 100.
        assert_eq!(on_judge_scale(62.4, &[c(1, 10), c(0, 5)]), "62 / 100");
    }

    #[test]
    fn affiliations_fold_case_and_spacing() {
        assert_eq!(
            affiliation_key("Central Conservatory"),
            affiliation_key(" central  conservatory. ")
        );
        assert_eq!(affiliation_key("北京 第一中学"), "北京第一中学");
        let a = parse_affiliations(&[
            AffiliationItem {
                kind: "school".into(),
                value: "Central Conservatory".into(),
            },
            AffiliationItem {
                kind: "school".into(),
                value: "central conservatory".into(),
            },
        ])
        .unwrap();
        assert_eq!(a.len(), 1);
        let e = parse_affiliations(&[AffiliationItem {
            kind: "club".into(),
            value: "x".into(),
        }])
        .unwrap_err();
        assert_eq!(e.code(), "judging.affiliation_kind_invalid");
    }

    #[test]
    fn reminders_fall_due_inside_the_last_hours() {
        let c = chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        assert!(!reminder_due(Some(c), 24, c - chrono::Duration::hours(25)));
        assert!(reminder_due(Some(c), 24, c - chrono::Duration::hours(23)));
        assert!(!reminder_due(Some(c), 24, c), "not after the close");
        assert!(!reminder_due(Some(c), 0, c - chrono::Duration::hours(1)));
        assert!(!reminder_due(None, 24, c));
    }

    #[test]
    fn codes_and_aliases() {
        let c = new_code();
        assert_eq!(c.len(), 5);
        assert!(!c.contains('0') && !c.contains('O') && !c.contains('I') && !c.contains('1'));
        assert!(is_alias(&new_alias()));
        assert!(!is_alias("../etc/passwd"));
    }
}
