//! The final combination of jury and public, with no database and no HTTP: ranks
//! become points (Eurovision's 12, 10, 8 …, Borda) or scores are rescaled, weighted in
//! percent, and ties are broken by the declared rules in order. Deterministic; the unit
//! tests below are worked examples.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::judging::domain::desc;

/// How jury and public are combined into final results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Ranks become 12, 10, 8, 7 … 1 points (top ten), as at Eurovision.
    Eurovision,
    /// Rank r of n gets n − r points.
    Borda,
    /// Scores rescaled to 0–1 (jury: normalised score; public: share of the top count).
    Scores,
}

/// The tie-break rules, applied in the order declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TieBreak {
    /// The better jury rank wins.
    JuryRank,
    /// The better public rank wins.
    PublicRank,
    /// The higher jury median wins.
    JuryMedian,
    /// The entry submitted first wins.
    EarliestEntry,
}

pub const EUROVISION_POINTS: [f64; 10] = [12.0, 10.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0];

pub fn rank_points(method: Method, rank: usize, n: usize) -> f64 {
    match method {
        Method::Eurovision => EUROVISION_POINTS.get(rank - 1).copied().unwrap_or(0.0),
        Method::Borda => n.saturating_sub(rank) as f64,
        Method::Scores => 0.0,
    }
}

/// One entry's input to the final combination.
#[derive(Debug, Clone, PartialEq)]
pub struct Finalist {
    pub entry: String,
    pub jury_rank: usize,
    pub jury_score: Option<f64>,
    pub jury_median: Option<f64>,
    /// Public votes, once public voting exists.
    pub public_votes: Option<u64>,
    /// Order of submission (smaller is earlier).
    pub submitted: i64,
}

/// One line of the final results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Placing {
    pub entry: String,
    pub place: usize,
    pub points: f64,
    pub jury_rank: usize,
    pub jury_points: f64,
    pub public_rank: Option<usize>,
    pub public_points: Option<f64>,
    /// Counted public votes, when there was a public vote.
    #[serde(default)]
    pub public_votes: Option<u64>,
    /// The tie-break rule that separated this entry from the one above, if any.
    pub tie_break: Option<TieBreak>,
}

/// Combine the jury (and the public, when there are votes) with weights in percent.
pub fn combine(
    finalists: &[Finalist],
    method: Method,
    jury_weight: u32,
    public_weight: u32,
    tie_breaks: &[TieBreak],
) -> Vec<Placing> {
    let n = finalists.len();
    let has_public = finalists.iter().any(|f| f.public_votes.is_some());
    // Public ranks: more votes first, ties by jury rank.
    let mut public_rank: HashMap<&str, usize> = HashMap::new();
    if has_public {
        let mut v: Vec<&Finalist> = finalists.iter().collect();
        v.sort_by(|a, b| {
            b.public_votes
                .unwrap_or(0)
                .cmp(&a.public_votes.unwrap_or(0))
                .then(a.jury_rank.cmp(&b.jury_rank))
        });
        for (i, f) in v.iter().enumerate() {
            public_rank.insert(&f.entry, i + 1);
        }
    }
    let (jw, pw) = if has_public {
        (jury_weight as f64 / 100.0, public_weight as f64 / 100.0)
    } else {
        (1.0, 0.0)
    };
    let jury_scores: Vec<f64> = finalists.iter().filter_map(|f| f.jury_score).collect();
    let (jmin, jmax) = jury_scores
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
    let top_votes = finalists
        .iter()
        .filter_map(|f| f.public_votes)
        .max()
        .unwrap_or(0);
    let mut out: Vec<(Placing, &Finalist)> = finalists
        .iter()
        .map(|f| {
            let pr = public_rank.get(f.entry.as_str()).copied();
            let (jp, pp) = match method {
                Method::Scores => {
                    let j = match f.jury_score {
                        Some(s) if jmax - jmin > 1e-12 => (s - jmin) / (jmax - jmin),
                        Some(_) => 1.0,
                        None => 0.0,
                    };
                    let p = f.public_votes.map(|v| {
                        if top_votes > 0 {
                            v as f64 / top_votes as f64
                        } else {
                            0.0
                        }
                    });
                    (j, p)
                }
                _ => (
                    rank_points(method, f.jury_rank, n),
                    pr.map(|r| rank_points(method, r, n)),
                ),
            };
            let points = jw * jp + pw * pp.unwrap_or(0.0);
            (
                Placing {
                    entry: f.entry.clone(),
                    place: 0,
                    points: (points * 1000.0).round() / 1000.0,
                    jury_rank: f.jury_rank,
                    jury_points: (jp * 1000.0).round() / 1000.0,
                    public_rank: pr,
                    public_points: pp.map(|p| (p * 1000.0).round() / 1000.0),
                    public_votes: f.public_votes,
                    tie_break: None,
                },
                f,
            )
        })
        .collect();
    let decide = |a: &(Placing, &Finalist),
                  b: &(Placing, &Finalist)|
     -> Option<(std::cmp::Ordering, TieBreak)> {
        for t in tie_breaks {
            let o = match t {
                TieBreak::JuryRank => a.1.jury_rank.cmp(&b.1.jury_rank),
                TieBreak::PublicRank => {
                    a.0.public_rank
                        .unwrap_or(usize::MAX)
                        .cmp(&b.0.public_rank.unwrap_or(usize::MAX))
                }
                TieBreak::JuryMedian => desc(a.1.jury_median, b.1.jury_median),
                TieBreak::EarliestEntry => a.1.submitted.cmp(&b.1.submitted),
            };
            if o != std::cmp::Ordering::Equal {
                return Some((o, *t));
            }
        }
        None
    };
    out.sort_by(|a, b| {
        b.0.points
            .total_cmp(&a.0.points)
            .then_with(|| {
                decide(a, b)
                    .map(|(o, _)| o)
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
            .then(a.1.jury_rank.cmp(&b.1.jury_rank))
            .then(a.1.entry.cmp(&b.1.entry))
    });
    let mut placings: Vec<Placing> = Vec::with_capacity(n);
    for i in 0..out.len() {
        let mut p = out[i].0.clone();
        p.place = i + 1;
        if i > 0 && (out[i - 1].0.points - p.points).abs() < 1e-9 {
            p.tie_break = decide(&out[i - 1], &out[i]).map(|(_, t)| t);
            if p.tie_break.is_none() {
                // Nothing separates them: they share the place.
                p.place = placings[i - 1].place;
            }
        }
        placings.push(p);
    }
    placings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    fn fin(e: &str, jury_rank: usize, votes: Option<u64>, submitted: i64) -> Finalist {
        Finalist {
            entry: e.into(),
            jury_rank,
            jury_score: Some(1.0 / jury_rank as f64),
            jury_median: Some(100.0 - jury_rank as f64),
            public_votes: votes,
            submitted,
        }
    }

    #[test]
    fn eurovision_fifty_fifty_worked_example() {
        // Jury: a, b, c. Public: c (300), a (200), b (100).
        // a: 12 jury + 10 public → 0.5·12 + 0.5·10 = 11
        // b: 10 + 8 → 9;  c: 8 + 12 → 10
        let f = [
            fin("a", 1, Some(200), 1),
            fin("b", 2, Some(100), 2),
            fin("c", 3, Some(300), 3),
        ];
        let p = combine(&f, Method::Eurovision, 50, 50, &[TieBreak::JuryRank]);
        assert_eq!(
            p.iter().map(|x| x.entry.as_str()).collect::<Vec<_>>(),
            ["a", "c", "b"]
        );
        assert!(close(p[0].points, 11.0));
        assert!(close(p[1].points, 10.0));
        assert!(close(p[2].points, 9.0));
        assert_eq!(p[1].public_rank, Some(1));
    }

    #[test]
    fn jury_only_until_there_are_votes() {
        let f = [fin("a", 2, None, 1), fin("b", 1, None, 2)];
        let p = combine(&f, Method::Borda, 50, 50, &[]);
        assert_eq!(p[0].entry, "b");
        assert!(close(p[0].points, 1.0)); // n − rank = 2 − 1, full weight to the jury
        assert!(close(p[1].points, 0.0));
        assert_eq!(p[0].public_rank, None);
    }

    #[test]
    fn tie_breaks_apply_in_the_declared_order() {
        // Borda with equal weights: a (jury 1, public 2) and b (jury 2, public 1) tie.
        let f = [fin("a", 1, Some(10), 2), fin("b", 2, Some(20), 1)];
        let by_public = combine(&f, Method::Borda, 50, 50, &[TieBreak::PublicRank]);
        assert_eq!(by_public[0].entry, "b");
        assert_eq!(by_public[1].tie_break, Some(TieBreak::PublicRank));
        let by_jury = combine(&f, Method::Borda, 50, 50, &[TieBreak::JuryRank]);
        assert_eq!(by_jury[0].entry, "a");
        let by_time = combine(&f, Method::Borda, 50, 50, &[TieBreak::EarliestEntry]);
        assert_eq!(by_time[0].entry, "b");
        // No rule: they share first place.
        let shared = combine(&f, Method::Borda, 50, 50, &[]);
        assert_eq!(shared[0].place, 1);
        assert_eq!(shared[1].place, 1);
    }

    #[test]
    fn scores_method_rescales_both_sides() {
        let mut a = fin("a", 1, Some(50), 1);
        a.jury_score = Some(2.0);
        let mut b = fin("b", 2, Some(100), 2);
        b.jury_score = Some(0.0);
        // a: 0.7·1 + 0.3·0.5 = 0.85;  b: 0.7·0 + 0.3·1 = 0.3
        let p = combine(&[a, b], Method::Scores, 70, 30, &[]);
        assert_eq!(p[0].entry, "a");
        assert!(close(p[0].points, 0.85));
        assert!(close(p[1].points, 0.3));
    }

    #[test]
    fn eurovision_points_stop_after_ten() {
        assert_eq!(rank_points(Method::Eurovision, 1, 20), 12.0);
        assert_eq!(rank_points(Method::Eurovision, 3, 20), 8.0);
        assert_eq!(rank_points(Method::Eurovision, 10, 20), 1.0);
        assert_eq!(rank_points(Method::Eurovision, 11, 20), 0.0);
        assert_eq!(rank_points(Method::Borda, 1, 20), 19.0);
    }
}
