//! Duplicate recordings: an entry whose audio is the same music as another entry's,
//! even re-encoded, is flagged for the organisers.
//!
//! The check never scans every earlier entry and never runs inside a write
//! transaction:
//! * *Flat* stretches of a fingerprint (silence, a held tone, digital hum: the same
//!   sub-fingerprint many times in a row) say nothing about the music. They are never
//!   indexed, and before two fingerprints are compared they are replaced by values no
//!   other recording shares, so two songs that each end in 12 s of silence do not match,
//!   and an hour of silence costs nothing.
//! * Each analysed entry's informative sub-fingerprints are indexed by their top
//!   [`KEY_BITS`] bits (sampled by value, one key in [`SAMPLE`], so every recording
//!   samples the same keys), in `fingerprint_keys`. Candidates are the entries that
//!   share enough keys; only those (at most [`MAX_CANDIDATES`]) are compared in full.
//!   The cost follows the number of shared keys, not the number of entries.
//! * The candidates are looked up on a read connection, compared outside the database,
//!   and only the index rows and the flags are written, in the short transaction that
//!   saves the report. The same file checked twice gives the same answer.

use std::collections::{BTreeSet, HashMap};

use super::model::{Flag, MatchRange};
use super::store;
use crate::audio::fingerprint;
use crate::db::DbConnection;
use crate::error::AppError;

/// Bits of a sub-fingerprint that make its index key (chromaprint's first classifiers).
pub const KEY_BITS: u32 = 20;
/// One key value in this many is indexed.
pub const SAMPLE: u32 = 4;
/// A run of at least this many identical sub-fingerprints (about 2 s) is flat.
pub const FLAT_RUN: usize = 16;
/// Entries compared in full at most, the ones sharing most keys first.
pub const MAX_CANDIDATES: usize = 20;
/// Keys an entry must share with this one to be compared.
const MIN_SHARED: usize = 3;

/// A fingerprint made ready for matching: flat items masked, the informative length known.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub items: Vec<u32>,
    /// Items that are not flat.
    pub informative: usize,
    pub item_secs: f64,
}

/// Which items belong to a flat run.
fn flat_items(items: &[u32]) -> Vec<bool> {
    let mut flat = vec![false; items.len()];
    let mut start = 0;
    for i in 1..=items.len() {
        if i == items.len() || items[i] != items[start] {
            if i - start >= FLAT_RUN {
                flat[start..i].iter_mut().for_each(|f| *f = true);
            }
            start = i;
        }
    }
    flat
}

/// SplitMix64: a well-spread value per (seed, position).
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Mask the flat stretches of a fingerprint's items with values seeded by the
/// recording's own informative content: they match nothing in another recording.
pub fn prepare_items(raw: &[u32], item_secs: f64) -> Prepared {
    let flat = flat_items(raw);
    let seed = raw
        .iter()
        .zip(&flat)
        .filter(|(_, f)| !**f)
        .fold(0x00C0_FFEEu64, |h, (v, _)| mix(h ^ *v as u64));
    let mut informative = 0;
    let items = raw
        .iter()
        .zip(&flat)
        .enumerate()
        .map(|(i, (v, f))| {
            if *f {
                mix(seed ^ (i as u64).wrapping_mul(0x1000_0001)) as u32
            } else {
                informative += 1;
                *v
            }
        })
        .collect();
    Prepared {
        items,
        informative,
        item_secs,
    }
}

/// The index keys of a fingerprint's informative items (distinct, sampled by value).
pub fn keys(raw: &[u32]) -> Vec<i32> {
    let flat = flat_items(raw);
    let set: BTreeSet<i32> = raw
        .iter()
        .zip(&flat)
        .filter(|(_, f)| !**f)
        .map(|(v, _)| v >> (32 - KEY_BITS))
        .filter(|k| mix(*k as u64).is_multiple_of(SAMPLE as u64))
        .map(|k| k as i32)
        .collect();
    set.into_iter().collect()
}

/// Whether a recording has enough informative audio to be worth comparing at all.
pub fn comparable(p: &Prepared, min_secs: f64) -> bool {
    p.informative as f64 * p.item_secs >= min_secs
}

/// An entry found to share keys: its id, competition, title and stored fingerprint.
pub struct Candidate {
    pub id: String,
    pub competition_id: String,
    pub title: String,
    pub fingerprint: String,
}

/// The entries (not withdrawn, other than `entry_id`) sharing most of `keys`, up to
/// [`MAX_CANDIDATES`]. Read-only.
pub fn candidates(
    conn: &mut DbConnection,
    entry_id: &str,
    keys: &[i32],
) -> Result<Vec<Candidate>, AppError> {
    let mut shared: HashMap<String, usize> = HashMap::new();
    for id in store::entries_sharing_keys(conn, entry_id, keys)? {
        *shared.entry(id).or_default() += 1;
    }
    let mut ranked: Vec<(String, usize)> = shared
        .into_iter()
        .filter(|(_, n)| *n >= MIN_SHARED)
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(MAX_CANDIDATES);
    let ids: Vec<String> = ranked.into_iter().map(|(id, _)| id).collect();
    let rows = store::fingerprints_of(conn, &ids)?;
    let mut out: Vec<Candidate> = rows
        .into_iter()
        .map(|(id, competition_id, title, fingerprint)| Candidate {
            id,
            competition_id,
            title,
            fingerprint,
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Matching segments of two prepared fingerprints: `(start_a, start_b, length)` in seconds.
pub fn matches(a: &Prepared, b: &Prepared) -> Vec<(f64, f64, f64)> {
    fingerprint::match_items(&a.items, &b.items, a.item_secs)
}

/// Compare with each candidate; the flags for those matching at least `min_secs`.
/// CPU only: call it off the async threads and outside any transaction.
pub fn flags(me: &Prepared, candidates: &[Candidate], min_secs: f64) -> Vec<Flag> {
    let mut out = Vec::new();
    for c in candidates {
        let Some(raw) = fingerprint::decode_data(&c.fingerprint) else {
            continue;
        };
        let other = prepare_items(&raw, me.item_secs);
        if !comparable(&other, min_secs) {
            continue;
        }
        let segs = matches(me, &other);
        let total: f64 = segs.iter().map(|s| s.2).sum();
        if total >= min_secs {
            out.push(Flag {
                kind: "duplicate_audio".into(),
                other_entry_id: c.id.clone(),
                other_title: c.title.clone(),
                other_competition_id: c.competition_id.clone(),
                ranges: segs
                    .into_iter()
                    .map(|(a, b, len)| MatchRange {
                        start_secs: (a * 10.0).round() / 10.0,
                        other_start_secs: (b * 10.0).round() / 10.0,
                        length_secs: (len * 10.0).round() / 10.0,
                    })
                    .collect(),
            });
        }
    }
    out
}

/// Replace an entry's index rows with `keys` (in the caller's transaction).
pub fn index(conn: &mut DbConnection, entry_id: &str, keys: &[i32]) -> Result<(), AppError> {
    store::replace_fingerprint_keys(conn, entry_id, keys)
}

/// Remove an entry from the index (its audio was replaced, withdrawn or erased).
pub fn unindex(conn: &mut DbConnection, entry_id: &str) -> Result<(), AppError> {
    store::replace_fingerprint_keys(conn, entry_id, &[])
}

/// Index entries analysed before the index existed (run once, when the migration that
/// made the index is applied). Returns how many were indexed.
pub fn index_backlog(conn: &mut DbConnection) -> Result<usize, AppError> {
    let rows = store::unindexed_fingerprints(conn)?;
    let mut n = 0;
    for (id, data) in rows {
        let Some(raw) = fingerprint::decode_data(&data) else {
            continue;
        };
        let k = keys(&raw);
        if !k.is_empty() {
            crate::db::transaction(conn, |c| index(c, &id, &k))?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn music(n: usize, seed: u64) -> Vec<u32> {
        (0..n).map(|i| mix(seed ^ i as u64) as u32).collect()
    }

    #[test]
    fn silence_is_flat_and_never_indexed() {
        let silence = vec![0x1234_5678u32; 2000];
        assert!(keys(&silence).is_empty());
        let p = prepare_items(&silence, 0.124);
        assert_eq!(p.informative, 0);
        assert!(!comparable(&p, 10.0));
    }

    #[test]
    fn songs_ending_in_the_same_silence_do_not_match() {
        let tail = vec![0xAAAA_0000u32; 100]; // 12 s of the same value
        let mut a = music(400, 1);
        a.extend(&tail);
        let mut b = music(400, 2);
        b.extend(&tail);
        let (pa, pb) = (prepare_items(&a, 0.124), prepare_items(&b, 0.124));
        let total: f64 = matches(&pa, &pb).iter().map(|s| s.2).sum();
        assert!(total < 10.0, "matched {total} s of silence");
        // Unmasked, the silence alone would have matched.
        let raw: f64 = matches(
            &Prepared {
                items: a.clone(),
                informative: a.len(),
                item_secs: 0.124,
            },
            &Prepared {
                items: b.clone(),
                informative: b.len(),
                item_secs: 0.124,
            },
        )
        .iter()
        .map(|s| s.2)
        .sum();
        assert!(
            raw >= 10.0,
            "the test needs silence that would match: {raw}"
        );
    }

    #[test]
    fn the_same_recording_matches_and_shares_keys() {
        let a = music(600, 7);
        let ka = keys(&a);
        assert!(ka.len() > 50, "{}", ka.len());
        // A re-encoding flips a low bit here and there.
        let b: Vec<u32> = a
            .iter()
            .enumerate()
            .map(|(i, v)| if i % 3 == 0 { v ^ 1 } else { *v })
            .collect();
        let kb = keys(&b);
        let shared = ka.iter().filter(|k| kb.contains(k)).count();
        assert!(shared * 10 >= ka.len() * 9);
        let total: f64 = matches(&prepare_items(&a, 0.124), &prepare_items(&b, 0.124))
            .iter()
            .map(|s| s.2)
            .sum();
        assert!(total > 60.0, "{total}");
        // Deterministic.
        assert_eq!(keys(&a), ka);
    }
}
