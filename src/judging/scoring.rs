//! The arithmetic of judging, with no database and no HTTP: a judge's weighted total
//! from a rubric, per-entry mean and median, per-judge z-score normalisation within a
//! round, judge agreement and outlier flags, the ranking, advancement, and the final
//! combination of jury and public ranks or scores. Every function here is
//! deterministic; the unit tests below are worked examples.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One criterion of a rubric: a weight in percent and an integer scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Criterion {
    /// Stable key the scores use (`c1`, `c2`, … or the organiser's own).
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Percent; a rubric's weights add up to 100.
    pub weight: u32,
    pub min: i32,
    pub max: i32,
}

/// A judge's total for one entry on a 0–100 scale: each criterion mapped onto 0–1 by
/// its scale, weighted by its share. `None` if a criterion is missing or off-scale.
pub fn weighted_total(rubric: &[Criterion], values: &BTreeMap<String, i32>) -> Option<f64> {
    let weights: u32 = rubric.iter().map(|c| c.weight).sum();
    if rubric.is_empty() || weights == 0 {
        return None;
    }
    let mut sum = 0.0;
    for c in rubric {
        let v = *values.get(&c.key)?;
        if v < c.min || v > c.max || c.max <= c.min {
            return None;
        }
        sum += c.weight as f64 * (v - c.min) as f64 / (c.max - c.min) as f64;
    }
    Some(sum / weights as f64 * 100.0)
}

/// One judge's total for one entry.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeScore {
    pub judge: String,
    pub entry: String,
    pub total: f64,
}

fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// The population standard deviation.
fn sd(xs: &[f64]) -> Option<f64> {
    let m = mean(xs)?;
    Some((xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64).sqrt())
}

pub fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn pearson(xs: &[f64], ys: &[f64]) -> Option<f64> {
    let (mx, my) = (mean(xs)?, mean(ys)?);
    let cov: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let vx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let vy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
    (vx > 1e-12 && vy > 1e-12).then(|| cov / (vx * vy).sqrt())
}

/// A judge needs this many scores in the round for their own mean and spread to be
/// used; below it (or with no spread at all) their scores are standardised against
/// the whole round instead.
pub const MIN_SCORES_FOR_OWN_SCALE: usize = 3;

/// Each score as a z-score within its judge's scores in the round: how far above or
/// below that judge's own average, in that judge's own spread. Removes harsh and
/// lenient judges' offsets, and stretched or squeezed use of the scale.
pub fn normalise(scores: &[JudgeScore]) -> Vec<f64> {
    let all: Vec<f64> = scores.iter().map(|s| s.total).collect();
    let pooled = (mean(&all).unwrap_or(0.0), sd(&all).unwrap_or(0.0));
    let mut by_judge: HashMap<&str, Vec<f64>> = HashMap::new();
    for s in scores {
        by_judge.entry(&s.judge).or_default().push(s.total);
    }
    let scale: HashMap<&str, (f64, f64)> = by_judge
        .iter()
        .map(|(j, xs)| {
            let own = (mean(xs).unwrap_or(0.0), sd(xs).unwrap_or(0.0));
            let use_own = xs.len() >= MIN_SCORES_FOR_OWN_SCALE && own.1 > 1e-9;
            (*j, if use_own { own } else { pooled })
        })
        .collect();
    scores
        .iter()
        .map(|s| {
            let (m, d) = scale[s.judge.as_str()];
            if d > 1e-9 { (s.total - m) / d } else { 0.0 }
        })
        .collect()
}

/// An entry's figures in a round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EntryStanding {
    pub entry: String,
    /// Number of scores.
    pub scores: usize,
    /// Raw mean of the judges' totals (0–100).
    pub mean: Option<f64>,
    pub median: Option<f64>,
    /// Mean of the judges' z-scores.
    pub normalised: Option<f64>,
    /// 1-based place by the round's basis; entries without scores come last.
    pub rank: usize,
}

/// What a round ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    Normalised,
    Mean,
    Median,
}

impl Basis {
    pub fn parse(s: &str) -> Option<Basis> {
        match s {
            "normalised" => Some(Basis::Normalised),
            "mean" => Some(Basis::Mean),
            "median" => Some(Basis::Median),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Normalised => "normalised",
            Basis::Mean => "mean",
            Basis::Median => "median",
        }
    }

    fn of(self, s: &EntryStanding) -> Option<f64> {
        match self {
            Basis::Normalised => s.normalised,
            Basis::Mean => s.mean,
            Basis::Median => s.median,
        }
    }
}

fn desc(a: Option<f64>, b: Option<f64>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.total_cmp(&a),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

/// Rank `entries` (in a stable order, e.g. by their codes) from `scores`: by the
/// basis, then raw mean, then median, then the given order.
pub fn rank(entries: &[String], scores: &[JudgeScore], basis: Basis) -> Vec<EntryStanding> {
    let z = normalise(scores);
    let mut raw: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut zs: HashMap<&str, Vec<f64>> = HashMap::new();
    for (s, z) in scores.iter().zip(z) {
        raw.entry(&s.entry).or_default().push(s.total);
        zs.entry(&s.entry).or_default().push(z);
    }
    let mut out: Vec<(usize, EntryStanding)> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let r = raw.get(e.as_str()).cloned().unwrap_or_default();
            let z = zs.get(e.as_str()).cloned().unwrap_or_default();
            (
                i,
                EntryStanding {
                    entry: e.clone(),
                    scores: r.len(),
                    mean: mean(&r),
                    median: median(&r),
                    normalised: mean(&z),
                    rank: 0,
                },
            )
        })
        .collect();
    out.sort_by(|(ia, a), (ib, b)| {
        desc(basis.of(a), basis.of(b))
            .then(desc(a.mean, b.mean))
            .then(desc(a.median, b.median))
            .then(ia.cmp(ib))
    });
    out.into_iter()
        .enumerate()
        .map(|(i, (_, mut s))| {
            s.rank = i + 1;
            s
        })
        .collect()
}

/// How a judge scored compared with the rest of the panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JudgeAgreement {
    pub judge: String,
    pub scores: usize,
    pub mean: Option<f64>,
    /// Pearson correlation of this judge's totals with the other judges' mean on the
    /// same entries (at least 3 shared entries).
    pub correlation: Option<f64>,
    /// Mean of (this judge − the others' mean) on shared entries, in points.
    pub bias: Option<f64>,
    /// `disagrees`, `harsh` or `lenient`, when the judge stands out.
    pub outlier: Option<String>,
}

/// Below this correlation with the rest of the panel a judge is flagged `disagrees`.
pub const OUTLIER_CORRELATION: f64 = 0.3;
/// A bias beyond this many standard deviations of all scores flags `harsh` or `lenient`.
pub const OUTLIER_BIAS_SD: f64 = 1.0;

/// Each judge's agreement with the panel, and the panel's overall agreement (the mean
/// of the judges' correlations).
pub fn agreement(scores: &[JudgeScore]) -> (Vec<JudgeAgreement>, Option<f64>) {
    let all: Vec<f64> = scores.iter().map(|s| s.total).collect();
    let spread = sd(&all).unwrap_or(0.0);
    let mut by_entry: HashMap<&str, Vec<(&str, f64)>> = HashMap::new();
    for s in scores {
        by_entry
            .entry(&s.entry)
            .or_default()
            .push((&s.judge, s.total));
    }
    let mut judges: Vec<&str> = scores.iter().map(|s| s.judge.as_str()).collect();
    judges.sort();
    judges.dedup();
    let mut out = Vec::new();
    let mut rs = Vec::new();
    for j in judges {
        let own: Vec<f64> = scores
            .iter()
            .filter(|s| s.judge == j)
            .map(|s| s.total)
            .collect();
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for s in scores.iter().filter(|s| s.judge == j) {
            let others: Vec<f64> = by_entry[s.entry.as_str()]
                .iter()
                .filter(|(o, _)| *o != j)
                .map(|(_, t)| *t)
                .collect();
            if let Some(m) = mean(&others) {
                xs.push(s.total);
                ys.push(m);
            }
        }
        let correlation = if xs.len() >= 3 {
            pearson(&xs, &ys)
        } else {
            None
        };
        let bias = (!xs.is_empty())
            .then(|| xs.iter().zip(&ys).map(|(x, y)| x - y).sum::<f64>() / xs.len() as f64);
        let outlier = if correlation.is_some_and(|r| r < OUTLIER_CORRELATION) {
            Some("disagrees")
        } else if spread > 1e-9 && bias.is_some_and(|b| b < -OUTLIER_BIAS_SD * spread) {
            Some("harsh")
        } else if spread > 1e-9 && bias.is_some_and(|b| b > OUTLIER_BIAS_SD * spread) {
            Some("lenient")
        } else {
            None
        };
        if let Some(r) = correlation {
            rs.push(r);
        }
        out.push(JudgeAgreement {
            judge: j.to_string(),
            scores: own.len(),
            mean: mean(&own),
            correlation,
            bias,
            outlier: outlier.map(str::to_string),
        });
    }
    (out, mean(&rs))
}

/// How a round picks the entries that go on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Advancement {
    /// The best `n` overall, or the best `n` of each category.
    TopN {
        n: usize,
        #[serde(default)]
        per_category: bool,
    },
    /// Every entry whose raw mean reaches `min_score` (0–100).
    Threshold { min_score: f64 },
    /// The organiser picks.
    Manual,
}

/// The entries the rule advances, from a ranking (best first) and each entry's category.
pub fn advance_by_rule(
    rule: &Advancement,
    ranking: &[EntryStanding],
    category_of: &HashMap<String, Option<String>>,
) -> Vec<String> {
    match rule {
        Advancement::Manual => Vec::new(),
        Advancement::Threshold { min_score } => ranking
            .iter()
            .filter(|s| s.mean.is_some_and(|m| m + 1e-9 >= *min_score))
            .map(|s| s.entry.clone())
            .collect(),
        Advancement::TopN { n, per_category } => {
            let scored = ranking.iter().filter(|s| s.scores > 0);
            if *per_category {
                let mut taken: HashMap<Option<String>, usize> = HashMap::new();
                scored
                    .filter(|s| {
                        let k = category_of.get(&s.entry).cloned().flatten();
                        let c = taken.entry(k).or_default();
                        *c += 1;
                        *c <= *n
                    })
                    .map(|s| s.entry.clone())
                    .collect()
            } else {
                scored.take(*n).map(|s| s.entry.clone()).collect()
            }
        }
    }
}

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

    fn crit(key: &str, weight: u32, min: i32, max: i32) -> Criterion {
        Criterion {
            key: key.into(),
            name: key.into(),
            description: String::new(),
            weight,
            min,
            max,
        }
    }

    fn s(judge: &str, entry: &str, total: f64) -> JudgeScore {
        JudgeScore {
            judge: judge.into(),
            entry: entry.into(),
            total,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn weighted_total_worked_example() {
        // Originality 30%, Musicality 30%, Production 20%, Fidelity 20%, all on 1–10.
        let rubric = [
            crit("orig", 30, 1, 10),
            crit("mus", 30, 1, 10),
            crit("prod", 20, 1, 10),
            crit("fid", 20, 1, 10),
        ];
        let v: BTreeMap<String, i32> = [("orig", 10), ("mus", 7), ("prod", 4), ("fid", 1)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        // 30·9/9 + 30·6/9 + 20·3/9 + 20·0/9 = 30 + 20 + 6.667 + 0 = 56.667
        assert!(close(weighted_total(&rubric, &v).unwrap(), 56.666_666_666));
        let mut missing = v.clone();
        missing.remove("fid");
        assert_eq!(weighted_total(&rubric, &missing), None);
        let mut off = v.clone();
        off.insert("fid".into(), 11);
        assert_eq!(weighted_total(&rubric, &off), None);
    }

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn z_scores_remove_a_harsh_judges_offset() {
        // Judge A scores 60, 70, 80; judge B (harsh) scores the same entries 30, 40, 50.
        let scores = vec![
            s("A", "e1", 60.0),
            s("A", "e2", 70.0),
            s("A", "e3", 80.0),
            s("B", "e1", 30.0),
            s("B", "e2", 40.0),
            s("B", "e3", 50.0),
        ];
        let z = normalise(&scores);
        // Each judge: mean 70 / 40, population sd = sqrt(200/3) = 8.165.
        let d = (200.0f64 / 3.0).sqrt();
        assert!(close(z[0], -10.0 / d));
        assert!(close(z[1], 0.0));
        assert!(close(z[2], 10.0 / d));
        assert_eq!(z[0..3], z[3..6], "the offset is gone");
    }

    #[test]
    fn a_judge_with_too_few_scores_uses_the_round_scale() {
        let scores = vec![
            s("A", "e1", 40.0),
            s("A", "e2", 60.0),
            s("A", "e3", 80.0),
            s("B", "e1", 80.0),
        ];
        let z = normalise(&scores);
        // Pooled: mean 65, sd = sqrt(((25²)+(5²)+(15²)+(15²))/4) = sqrt(275) = 16.583
        assert!(close(z[3], 15.0 / 275f64.sqrt()));
        // A uses their own: mean 60, sd 16.33
        assert!(close(z[0], -20.0 / (800.0f64 / 3.0).sqrt()));
    }

    #[test]
    fn ranking_by_normalised_can_differ_from_raw_mean() {
        // A lenient judge (A, scores 90+) sees e1 and e2; a harsh one (B) sees e2 and e3;
        // C sees e1 and e3. Raw means favour e1 (seen by the lenient judge).
        let scores = vec![
            s("A", "e1", 95.0),
            s("A", "e2", 92.0),
            s("A", "e4", 90.0),
            s("B", "e2", 50.0),
            s("B", "e3", 56.0),
            s("B", "e4", 40.0),
            s("C", "e1", 60.0),
            s("C", "e3", 70.0),
            s("C", "e4", 50.0),
        ];
        let entries: Vec<String> = ["e1", "e2", "e3", "e4"].map(String::from).to_vec();
        let by_mean = rank(&entries, &scores, Basis::Mean);
        assert_eq!(by_mean[0].entry, "e1"); // (95+60)/2 = 77.5
        assert!(close(by_mean[0].mean.unwrap(), 77.5));
        assert_eq!(by_mean[1].entry, "e2"); // 71
        let by_z = rank(&entries, &scores, Basis::Normalised);
        assert_eq!(by_z[0].entry, "e3", "top for both judges who heard it");
        assert_eq!(by_z.last().unwrap().entry, "e4");
        assert_eq!(
            by_z.iter().map(|s| s.rank).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
    }

    #[test]
    fn unscored_entries_rank_last() {
        let entries: Vec<String> = ["a", "b"].map(String::from).to_vec();
        let r = rank(&entries, &[s("J", "b", 10.0)], Basis::Normalised);
        assert_eq!(r[0].entry, "b");
        assert_eq!(r[1].entry, "a");
        assert_eq!(r[1].scores, 0);
        assert_eq!(r[1].mean, None);
    }

    #[test]
    fn agreement_flags_a_judge_who_disagrees_and_a_harsh_one() {
        let mut scores = Vec::new();
        let truth = [90.0, 80.0, 70.0, 60.0, 50.0];
        for (i, t) in truth.iter().enumerate() {
            let e = format!("e{i}");
            scores.push(s("A", &e, *t));
            scores.push(s("B", &e, *t + 2.0));
            scores.push(s("E", &e, *t - 1.0));
            scores.push(s("C", &e, 100.0 - *t)); // reversed
            scores.push(s("D", &e, *t - 40.0)); // same order, far harsher
        }
        let (judges, overall) = agreement(&scores);
        let get = |j: &str| judges.iter().find(|x| x.judge == j).unwrap();
        assert_eq!(get("C").outlier.as_deref(), Some("disagrees"));
        assert!(get("C").correlation.unwrap() < 0.0);
        assert_eq!(get("D").outlier.as_deref(), Some("harsh"));
        assert_eq!(get("A").outlier, None);
        assert_eq!(get("E").outlier, None);
        assert_eq!(get("B").scores, 5);
        assert!(overall.unwrap() < 1.0);
    }

    #[test]
    fn advancement_rules() {
        let entries: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let scores = vec![
            s("J", "a", 90.0),
            s("J", "b", 80.0),
            s("J", "c", 70.0),
            s("J", "d", 60.0),
        ];
        let ranking = rank(&entries, &scores, Basis::Mean);
        let cats: HashMap<String, Option<String>> = [
            ("a", Some("song")),
            ("b", Some("song")),
            ("c", Some("instrumental")),
            ("d", Some("instrumental")),
        ]
        .into_iter()
        .map(|(e, c)| (e.to_string(), c.map(String::from)))
        .collect();
        let top2 = Advancement::TopN {
            n: 2,
            per_category: false,
        };
        assert_eq!(advance_by_rule(&top2, &ranking, &cats), ["a", "b"]);
        let per = Advancement::TopN {
            n: 1,
            per_category: true,
        };
        assert_eq!(advance_by_rule(&per, &ranking, &cats), ["a", "c"]);
        let thr = Advancement::Threshold { min_score: 70.0 };
        assert_eq!(advance_by_rule(&thr, &ranking, &cats), ["a", "b", "c"]);
        assert!(advance_by_rule(&Advancement::Manual, &ranking, &cats).is_empty());
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
