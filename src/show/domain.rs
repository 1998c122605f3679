//! The reveal, as a televised final runs it: every song's jury points, the lowest of
//! the jury's ranking first; then every song's public points in the same order, so the
//! lead can change until the last; then the final places. The sequence is a pure
//! function of the results and the step: pressing back and next again shows the same.

use serde::{Deserialize, Serialize};

use super::model::{RevealLine, RevealView};

/// A song as the results computed it, with its points split into the jury's part and
/// the public's part of its total (weighted, so the parts add up to the total).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Finalist {
    pub entry_id: String,
    pub title: String,
    pub musician: String,
    pub place: usize,
    pub jury_rank: usize,
    pub jury: f64,
    /// `None` when there was no public vote.
    pub public: Option<f64>,
}

impl Finalist {
    /// A song's parts from its results line: `points = jury_weight × jury_points +
    /// public_weight × public_points` (weights in percent); without a public vote the
    /// jury counts alone.
    pub fn split(
        points: f64,
        jury_points: f64,
        public_points: Option<f64>,
        jury_weight: u32,
    ) -> (f64, Option<f64>) {
        match public_points {
            None => (points, None),
            Some(_) => {
                let jury = round3(jury_points * jury_weight as f64 / 100.0);
                (jury, Some(round3(points - jury)))
            }
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The order songs are called in: the jury's lowest first.
fn call_order(list: &[Finalist]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..list.len()).collect();
    order.sort_by(|&a, &b| {
        list[b]
            .jury_rank
            .cmp(&list[a].jury_rank)
            .then_with(|| list[a].entry_id.cmp(&list[b].entry_id))
    });
    order
}

fn has_public(list: &[Finalist]) -> bool {
    list.iter().any(|f| f.public.is_some())
}

/// How many presses the whole reveal takes: one per song for the jury, one per song for
/// the public (when there was a public vote), and the final places.
pub fn steps(list: &[Finalist]) -> u32 {
    let n = list.len() as u32;
    if n == 0 {
        return 0;
    }
    n + if has_public(list) { n } else { 0 } + 1
}

fn stage_of(list: &[Finalist], step: u32) -> Option<&'static str> {
    let n = list.len() as u32;
    let total = steps(list);
    if step == 0 || step > total {
        None
    } else if step == total {
        Some("final")
    } else if step <= n {
        Some("jury")
    } else {
        Some("public")
    }
}

/// What the presenter screen shows at `step` (1 … `steps`).
pub fn at(list: &[Finalist], step: u32) -> RevealView {
    let n = list.len();
    let total = steps(list);
    let step = step.min(total);
    let order = call_order(list);
    let jury_shown = (step as usize).min(n);
    let public_shown = if has_public(list) {
        (step as usize).saturating_sub(n).min(n)
    } else {
        0
    };
    let done = step == total && total > 0;
    let mut lines: Vec<(usize, RevealLine)> = list
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let k = order.iter().position(|&x| x == i).unwrap_or(n);
            let jury = (k < jury_shown || done).then_some(f.jury);
            let public = if k < public_shown || done {
                f.public
            } else {
                None
            };
            let line = RevealLine {
                entry_id: f.entry_id.clone(),
                title: f.title.clone(),
                musician: f.musician.clone(),
                total: round3(jury.unwrap_or(0.0) + public.unwrap_or(0.0)),
                jury,
                public,
                place: done.then_some(f.place),
            };
            (i, line)
        })
        .collect();
    if done {
        lines.sort_by_key(|(_, l)| l.place.unwrap_or(usize::MAX));
    } else {
        // Highest revealed total first; songs level so far by title, which says
        // nothing of what is still to come.
        lines.sort_by(|(_, a), (_, b)| {
            b.total
                .total_cmp(&a.total)
                .then_with(|| a.title.to_lowercase().cmp(&b.title.to_lowercase()))
                .then_with(|| a.entry_id.cmp(&b.entry_id))
        });
    }
    let current = match stage_of(list, step) {
        Some("final") => list
            .iter()
            .find(|f| f.place == 1)
            .map(|f| f.entry_id.clone()),
        Some("jury") => order
            .get(step as usize - 1)
            .map(|&i| list[i].entry_id.clone()),
        Some(_) => order
            .get(step as usize - 1 - n)
            .map(|&i| list[i].entry_id.clone()),
        None => None,
    };
    RevealView {
        step,
        steps: total,
        stage: stage_of(list, step).unwrap_or("jury").to_string(),
        current,
        lines: lines.into_iter().map(|(_, l)| l).collect(),
        next: stage_of(list, step + 1).map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(id: &str, place: usize, jury_rank: usize, jury: f64, public: Option<f64>) -> Finalist {
        Finalist {
            entry_id: id.into(),
            title: format!("Song {id}"),
            musician: "M".into(),
            place,
            jury_rank,
            jury,
            public,
        }
    }

    /// A final where the public turns the jury's order: A leads the jury, C wins.
    fn final3() -> Vec<Finalist> {
        vec![
            f("a", 2, 1, 6.0, Some(4.0)),
            f("b", 3, 2, 5.0, Some(1.0)),
            f("c", 1, 3, 4.0, Some(6.0)),
        ]
    }

    #[test]
    fn jury_then_public_lowest_first_then_the_places() {
        let list = final3();
        assert_eq!(steps(&list), 7);
        // Jury: C (3rd of the jury) first, then B, then A.
        let s1 = at(&list, 1);
        assert_eq!(
            (s1.stage.as_str(), s1.current.as_deref()),
            ("jury", Some("c"))
        );
        assert_eq!(s1.lines[0].entry_id, "c");
        assert_eq!(s1.lines[0].jury, Some(4.0));
        assert!(
            s1.lines[1..]
                .iter()
                .all(|l| l.jury.is_none() && l.total == 0.0)
        );
        assert_eq!(s1.next.as_deref(), Some("jury"));
        let s3 = at(&list, 3);
        assert_eq!(s3.current.as_deref(), Some("a"));
        let ids: Vec<&str> = s3.lines.iter().map(|l| l.entry_id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"], "the jury's order after the jury");
        assert_eq!(s3.next.as_deref(), Some("public"));
        // Public: C first, and C takes the lead at once.
        let s4 = at(&list, 4);
        assert_eq!(
            (s4.stage.as_str(), s4.current.as_deref()),
            ("public", Some("c"))
        );
        assert_eq!(s4.lines[0].entry_id, "c");
        assert_eq!(s4.lines[0].total, 10.0);
        assert!(s4.lines.iter().all(|l| l.place.is_none()));
        // Final: the places, as the results have them.
        let s7 = at(&list, 7);
        assert_eq!(
            (s7.stage.as_str(), s7.current.as_deref()),
            ("final", Some("c"))
        );
        let places: Vec<(&str, Option<usize>)> = s7
            .lines
            .iter()
            .map(|l| (l.entry_id.as_str(), l.place))
            .collect();
        assert_eq!(places, [("c", Some(1)), ("a", Some(2)), ("b", Some(3))]);
        assert_eq!(s7.next, None);
        // The sum of the parts is each song's total.
        assert!(
            s7.lines
                .iter()
                .all(|l| l.total == l.jury.unwrap() + l.public.unwrap())
        );
    }

    #[test]
    fn nothing_leaks_before_it_is_revealed() {
        // Before any public points, songs level on zero are by title, not by rank.
        let list = vec![f("x", 1, 2, 1.0, None), f("y", 2, 1, 2.0, None)];
        assert_eq!(steps(&list), 3, "no public vote: jury steps and the places");
        let s1 = at(&list, 1);
        assert_eq!(s1.current.as_deref(), Some("x"));
        assert_eq!(s1.lines[0].entry_id, "x");
        assert_eq!(at(&list, 2).next.as_deref(), Some("final"));
        assert_eq!(at(&list, 3).stage, "final");
    }

    #[test]
    fn parts_add_up_to_the_results_points() {
        // Eurovision, 50/50: 12 jury points and 8 public points make 10.
        let (j, p) = Finalist::split(10.0, 12.0, Some(8.0), 50);
        assert_eq!((j, p), (6.0, Some(4.0)));
        assert_eq!(Finalist::split(0.667, 0.667, None, 50), (0.667, None));
        assert_eq!(steps(&[]), 0);
    }
}
