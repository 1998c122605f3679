//! The arithmetic of judging, with no database and no HTTP: a judge's weighted total
//! from a rubric, per-entry mean and median, per-judge z-score normalisation within a
//! round, judge agreement and outlier flags, the ranking and advancement (the final
//! combination of jury and public is `results::scoring`). Every function here is
//! deterministic; the unit tests below are worked examples.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::domain::desc;
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
}
