//! Automatic assignment of judges to entries, with no database: each entry gets `k`
//! judges, loads stay balanced, and no judge gets an entry they may not judge (a
//! declared conflict, a shared affiliation, their own entry).
//!
//! The method: the entries with the fewest eligible judges are served first, and each
//! takes the least-loaded eligible judges, ties broken by a seeded hash so that no one
//! is favoured by the order of the lists. Without constraints the loads differ by at
//! most one; with constraints, an entry that cannot get `k` judges is reported short
//! rather than given a forbidden one. (HotCRP solves the same problem as a min-cost
//! flow; for our single "balance the load" objective the greedy order gives the same
//! balance and is far simpler to explain to an organiser.)

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Default)]
pub struct Problem {
    pub entries: Vec<String>,
    pub judges: Vec<String>,
    /// Judges per entry.
    pub k: usize,
    /// `(judge, entry)` pairs that must not happen.
    pub forbidden: HashSet<(String, String)>,
    /// Active assignments that stay: `(judge, entry)`.
    pub existing: Vec<(String, String)>,
    pub seed: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// New `(judge, entry)` pairs.
    pub new: Vec<(String, String)>,
    /// Entries that could not get `k` judges, with how many are missing.
    pub short: Vec<(String, usize)>,
}

/// A stable pseudo-random number for `parts`, so ties break the same way each time
/// for the same seed and differently for different rounds.
pub fn tie(seed: &str, a: &str, b: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(seed.as_bytes());
    h.update([0]);
    h.update(a.as_bytes());
    h.update([0]);
    h.update(b.as_bytes());
    let d = h.finalize();
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// A stable 64-bit mix (splitmix64's finaliser).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub fn assign(p: &Problem) -> Plan {
    // Hash each judge and entry once; a pair's tie-break is a cheap mix of the two.
    let jh: HashMap<&str, u64> = p
        .judges
        .iter()
        .map(|j| (j.as_str(), tie(&p.seed, "judge", j)))
        .collect();
    let eh: HashMap<&str, u64> = p
        .entries
        .iter()
        .map(|e| (e.as_str(), tie(&p.seed, "entry", e)))
        .collect();
    let pair = |j: &str, e: &str| mix(jh[j] ^ eh[e].rotate_left(29));
    let mut forbid: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (j, e) in &p.forbidden {
        forbid.entry(e.as_str()).or_default().insert(j.as_str());
    }
    let allowed = |j: &str, e: &str| forbid.get(e).is_none_or(|s| !s.contains(j));
    let mut load: HashMap<&str, usize> = p.judges.iter().map(|j| (j.as_str(), 0)).collect();
    let mut on: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (j, e) in &p.existing {
        if let Some(l) = load.get_mut(j.as_str()) {
            *l += 1;
        }
        on.entry(e.as_str()).or_default().insert(j.as_str());
    }
    let mut order: Vec<(usize, u64, &str)> = p
        .entries
        .iter()
        .map(|e| {
            let eligible = p.judges.iter().filter(|j| allowed(j, e)).count();
            (eligible, eh[e.as_str()], e.as_str())
        })
        .collect();
    order.sort();
    let mut plan = Plan::default();
    for (_, _, e) in order {
        let have = on.get(e).map_or(0, HashSet::len);
        let need = p.k.saturating_sub(have);
        for _ in 0..need {
            // The least-loaded eligible judge; among equals, the smallest tie value.
            let mut best: Option<(usize, u64, &str)> = None;
            for j in p.judges.iter().map(String::as_str) {
                if !allowed(j, e) || on.get(e).is_some_and(|s| s.contains(j)) {
                    continue;
                }
                let l = load[j];
                if best.is_some_and(|(bl, _, _)| l > bl) {
                    continue;
                }
                let t = pair(j, e);
                if best.is_none_or(|(bl, bt, _)| (l, t) < (bl, bt)) {
                    best = Some((l, t, j));
                }
            }
            match best {
                Some((_, _, j)) => {
                    *load.get_mut(j).expect("judge has a load") += 1;
                    on.entry(e).or_default().insert(j);
                    plan.new.push((j.to_string(), e.to_string()));
                }
                None => {
                    let missing = p.k - on.get(e).map_or(0, HashSet::len);
                    plan.short.push((e.to_string(), missing));
                    break;
                }
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    }

    fn loads(plan: &Plan, judges: &[String]) -> Vec<usize> {
        judges
            .iter()
            .map(|j| plan.new.iter().filter(|(x, _)| x == j).count())
            .collect()
    }

    #[test]
    fn every_entry_gets_k_judges_and_loads_differ_by_at_most_one() {
        // 10 entries × 3 judges = 30 assignments over 4 judges: loads 8, 8, 7, 7.
        let p = Problem {
            entries: names("e", 10),
            judges: names("j", 4),
            k: 3,
            seed: "round-1".into(),
            ..Problem::default()
        };
        let plan = assign(&p);
        assert!(plan.short.is_empty());
        assert_eq!(plan.new.len(), 30);
        for e in &p.entries {
            let js: HashSet<_> = plan
                .new
                .iter()
                .filter(|(_, x)| x == e)
                .map(|(j, _)| j)
                .collect();
            assert_eq!(js.len(), 3, "{e} has three different judges");
        }
        let mut l = loads(&plan, &p.judges);
        l.sort();
        assert_eq!(l, [7, 7, 8, 8]);
    }

    #[test]
    fn conflicts_are_never_assigned_and_the_constrained_entry_goes_first() {
        // e0 may only be judged by j2 and j3; with k = 2 it must get exactly those.
        let mut forbidden = HashSet::new();
        forbidden.insert(("j0".to_string(), "e0".to_string()));
        forbidden.insert(("j1".to_string(), "e0".to_string()));
        let p = Problem {
            entries: names("e", 4),
            judges: names("j", 4),
            k: 2,
            forbidden: forbidden.clone(),
            seed: "s".into(),
            ..Problem::default()
        };
        let plan = assign(&p);
        assert!(plan.short.is_empty());
        for pair in &plan.new {
            assert!(!forbidden.contains(pair), "{pair:?} is forbidden");
        }
        let mut e0: Vec<_> = plan
            .new
            .iter()
            .filter(|(_, e)| e == "e0")
            .map(|(j, _)| j.as_str())
            .collect();
        e0.sort();
        assert_eq!(e0, ["j2", "j3"]);
        assert_eq!(loads(&plan, &p.judges), [2, 2, 2, 2]);
    }

    #[test]
    fn an_entry_that_cannot_be_covered_is_reported_short() {
        let mut forbidden = HashSet::new();
        forbidden.insert(("j0".to_string(), "e0".to_string()));
        let p = Problem {
            entries: vec!["e0".into()],
            judges: names("j", 2),
            k: 2,
            forbidden,
            seed: "s".into(),
            ..Problem::default()
        };
        let plan = assign(&p);
        assert_eq!(plan.new, [("j1".to_string(), "e0".to_string())]);
        assert_eq!(plan.short, [("e0".to_string(), 1)]);
    }

    #[test]
    fn top_up_keeps_existing_assignments_and_prefers_the_least_loaded() {
        // j0 dropped out of e0; j1 already judges e0; j2 has two entries, j3 none.
        let p = Problem {
            entries: vec!["e0".into()],
            judges: vec!["j1".into(), "j2".into(), "j3".into()],
            k: 2,
            existing: vec![
                ("j1".into(), "e0".into()),
                ("j2".into(), "e1".into()),
                ("j2".into(), "e2".into()),
            ],
            seed: "s".into(),
            ..Problem::default()
        };
        let plan = assign(&p);
        assert_eq!(plan.new, [("j3".to_string(), "e0".to_string())]);
    }

    #[test]
    fn the_seed_changes_who_gets_what_but_not_the_balance() {
        let base = Problem {
            entries: names("e", 6),
            judges: names("j", 6),
            k: 1,
            ..Problem::default()
        };
        let a = assign(&Problem {
            seed: "a".into(),
            ..base.clone()
        });
        let b = assign(&Problem {
            seed: "b".into(),
            ..base.clone()
        });
        assert_eq!(loads(&a, &base.judges), [1; 6]);
        assert_eq!(loads(&b, &base.judges), [1; 6]);
        assert_ne!(a.new, b.new);
        assert_eq!(
            a,
            assign(&Problem {
                seed: "a".into(),
                ..base
            })
        );
    }
}

/// The scale benchmark (not a test: it asserts nothing about time). Run it with
/// `scripts/bench-judging.sh`; figures are in docs/benchmarks.md.
#[cfg(test)]
mod bench {
    use std::time::Instant;

    use super::*;
    use crate::judging::scoring::{self, Basis, JudgeScore};

    #[test]
    #[ignore = "benchmark: scripts/bench-judging.sh"]
    fn bench_assignment_and_ranking_at_scale() {
        for (entries, judges, k) in [(1_000, 20, 3), (10_000, 60, 3), (50_000, 200, 3)] {
            let e: Vec<String> = (0..entries).map(|i| format!("e{i}")).collect();
            let j: Vec<String> = (0..judges).map(|i| format!("j{i}")).collect();
            // One declared conflict or shared affiliation per 50 entries.
            let forbidden: HashSet<(String, String)> = (0..entries)
                .step_by(50)
                .map(|i| (format!("j{}", i % judges), format!("e{i}")))
                .collect();
            let t = Instant::now();
            let plan = assign(&Problem {
                entries: e.clone(),
                judges: j.clone(),
                k,
                forbidden,
                existing: Vec::new(),
                seed: "bench".into(),
            });
            let assign_ms = t.elapsed().as_secs_f64() * 1000.0;
            let scores: Vec<JudgeScore> = plan
                .new
                .iter()
                .enumerate()
                .map(|(n, (judge, entry))| JudgeScore {
                    judge: judge.clone(),
                    entry: entry.clone(),
                    total: ((n * 7919) % 1000) as f64 / 10.0,
                })
                .collect();
            let t = Instant::now();
            let ranked = scoring::rank(&e, &scores, Basis::Normalised);
            let rank_ms = t.elapsed().as_secs_f64() * 1000.0;
            let t = Instant::now();
            let (_, overall) = scoring::agreement(&scores);
            let agree_ms = t.elapsed().as_secs_f64() * 1000.0;
            let mut loads: HashMap<&str, usize> = HashMap::new();
            for (judge, _) in &plan.new {
                *loads.entry(judge).or_default() += 1;
            }
            let (lo, hi) = (loads.values().min().unwrap(), loads.values().max().unwrap());
            println!(
                "BENCH entries={entries} judges={judges} k={k} assignments={} short={} load={lo}..{hi} \
                 assign_ms={assign_ms:.0} rank_ms={rank_ms:.0} agreement_ms={agree_ms:.0} ranked={} agreement={:?}",
                plan.new.len(),
                plan.short.len(),
                ranked.len(),
                overall.map(|x| (x * 100.0).round() / 100.0)
            );
        }
    }
}
