//! The round settings form: numbers arrive as text and the rubric as one row of
//! fields per criterion; this turns them into a round's input (and back, to show the
//! form again with the musician's text after an error).

use std::collections::HashMap;

use serde::Deserialize;

use super::model::*;
use super::scoring::{Advancement, Criterion};
use crate::error::AppError;

/// The round settings form. Numbers arrive as text; the rubric as one row of fields per
/// criterion (`criterion.{i}.name`, `.weight`, `.min`, `.max`, `.description`, the
/// hidden `.key` that keeps a criterion's scores when it is renamed, and `.remove`).
#[derive(Deserialize, Default, Clone)]
pub(super) struct RoundForm {
    #[serde(default)]
    pub(super) name: String,
    #[serde(default)]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) opens_at: String,
    #[serde(default)]
    pub(super) closes_at: String,
    pub(super) blind: Option<String>,
    #[serde(default)]
    pub(super) judges_per_entry: String,
    #[serde(default)]
    pub(super) advancement: String,
    #[serde(default)]
    pub(super) top_n: String,
    pub(super) per_category: Option<String>,
    #[serde(default)]
    pub(super) min_score: String,
    #[serde(default)]
    pub(super) ranking_basis: String,
    #[serde(default)]
    pub(super) min_listen_percent: String,
    #[serde(default)]
    pub(super) others_scores: String,
    #[serde(default)]
    pub(super) feedback_release: String,
    #[serde(default)]
    pub(super) reminder_hours: String,
    /// The rubric rows and anything else the form carried.
    #[serde(flatten)]
    pub(super) rows: HashMap<String, String>,
}

/// One rubric row as the form shows it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CriterionRow {
    pub key: String,
    pub name: String,
    pub weight: String,
    pub min: String,
    pub max: String,
    pub description: String,
}

impl CriterionRow {
    pub(super) fn of(c: &Criterion) -> CriterionRow {
        CriterionRow {
            key: c.key.clone(),
            name: c.name.clone(),
            weight: c.weight.to_string(),
            min: c.min.to_string(),
            max: c.max.to_string(),
            description: c.description.clone(),
        }
    }

    pub fn is_blank(&self) -> bool {
        self.name.trim().is_empty()
            && self.weight.trim().is_empty()
            && self.description.trim().is_empty()
    }
}

/// Rows a form always offers beyond those filled in, for pages without JavaScript.
const SPARE_ROWS: usize = 2;

fn num(s: &str, code: &'static str) -> Result<i64, AppError> {
    s.trim().parse().map_err(|_| AppError::invalid(code))
}

/// The rubric rows of a form, in their order, without removed and blank ones.
pub(super) fn criterion_rows(fields: &HashMap<String, String>) -> Vec<CriterionRow> {
    let mut indices: Vec<usize> = fields
        .keys()
        .filter_map(|k| {
            k.strip_prefix("criterion.")?
                .split('.')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    indices.sort_unstable();
    indices.dedup();
    let get = |i: usize, f: &str| {
        fields
            .get(&format!("criterion.{i}.{f}"))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    indices
        .into_iter()
        .filter(|&i| !fields.contains_key(&format!("criterion.{i}.remove")))
        .map(|i| CriterionRow {
            key: get(i, "key"),
            name: get(i, "name"),
            weight: get(i, "weight").trim_end_matches('%').trim().to_string(),
            min: get(i, "min"),
            max: get(i, "max"),
            description: get(i, "description"),
        })
        .filter(|r| !r.is_blank())
        .collect()
}

/// The rubric the rows describe; a row that is not whole says which one (numbered
/// as the page shows them).
pub fn parse_criterion_rows(rows: &[CriterionRow]) -> Result<Vec<CriterionInput>, AppError> {
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let bad = || {
                AppError::invalid_with(
                    "judging.rubric_row_invalid",
                    vec![("row", (i + 1).to_string())],
                )
            };
            let int = |s: &str| s.trim().parse::<i64>().map_err(|_| bad());
            if r.name.trim().is_empty() {
                return Err(bad());
            }
            Ok(CriterionInput {
                key: Some(r.key.clone()).filter(|k| !k.is_empty()),
                name: r.name.clone(),
                description: r.description.clone(),
                weight: int(&r.weight)?,
                min: int(&r.min)?,
                max: int(&r.max)?,
            })
        })
        .collect()
}

pub(super) fn rows_into(fields: &mut HashMap<String, String>, rows: &[CriterionRow]) {
    fields.retain(|k, _| !k.starts_with("criterion."));
    for (i, r) in rows.iter().enumerate() {
        for (f, v) in [
            ("key", &r.key),
            ("name", &r.name),
            ("weight", &r.weight),
            ("min", &r.min),
            ("max", &r.max),
            ("description", &r.description),
        ] {
            fields.insert(format!("criterion.{i}.{f}"), v.clone());
        }
    }
}

impl RoundForm {
    pub(super) fn of(r: &RoundView, tz: &str) -> RoundForm {
        let (adv, n, per, min) = match &r.advancement {
            Advancement::TopN { n, per_category } => {
                ("top_n", n.to_string(), *per_category, String::new())
            }
            Advancement::Threshold { min_score } => {
                ("threshold", String::new(), false, min_score.to_string())
            }
            Advancement::Manual => ("manual", String::new(), false, String::new()),
        };
        RoundForm {
            name: r.name.clone(),
            kind: r.kind.clone(),
            opens_at: crate::competitions::domain::local_input(
                r.opens_at.map(|t| t.naive_utc()),
                tz,
            ),
            closes_at: crate::competitions::domain::local_input(
                r.closes_at.map(|t| t.naive_utc()),
                tz,
            ),
            blind: r.blind.then(|| "on".into()),
            judges_per_entry: r.judges_per_entry.to_string(),
            advancement: adv.into(),
            top_n: n,
            per_category: per.then(|| "on".into()),
            min_score: min,
            ranking_basis: r.ranking_basis.clone(),
            min_listen_percent: r.min_listen_percent.to_string(),
            others_scores: r.others_scores.clone(),
            feedback_release: r.feedback_release.clone(),
            reminder_hours: r.reminder_hours.to_string(),
            rows: HashMap::new(),
        }
        .with_rows(&r.rubric.iter().map(CriterionRow::of).collect::<Vec<_>>())
    }

    /// A new round's form: the default rubric, its names in the organiser's language.
    pub(super) fn defaults(l: crate::i18n::Locale) -> RoundForm {
        RoundForm {
            kind: STANDARD.into(),
            blind: Some("on".into()),
            judges_per_entry: "3".into(),
            advancement: "top_n".into(),
            top_n: "10".into(),
            ranking_basis: "normalised".into(),
            min_listen_percent: "0".into(),
            others_scores: "after_scoring".into(),
            feedback_release: "round".into(),
            reminder_hours: "24".into(),
            ..RoundForm::default()
        }
        .with_rows(
            &super::domain::default_rubric()
                .iter()
                .map(|c| CriterionRow {
                    name: l
                        .t(&format!("judging.default_criterion_{}", c.key))
                        .to_string(),
                    ..CriterionRow::of(c)
                })
                .collect::<Vec<_>>(),
        )
    }

    pub(super) fn with_rows(mut self, rows: &[CriterionRow]) -> RoundForm {
        rows_into(&mut self.rows, rows);
        self
    }

    /// The rubric rows to show: those the form holds, then a few empty ones.
    pub(super) fn criteria(&self) -> Vec<CriterionRow> {
        let mut rows = criterion_rows(&self.rows);
        let spare = SPARE_ROWS.min(super::domain::MAX_CRITERIA.saturating_sub(rows.len()));
        rows.extend(std::iter::repeat_n(CriterionRow::default(), spare));
        rows
    }

    /// The weights given so far, for the running total beside the rubric.
    pub(super) fn weight_total(&self) -> i64 {
        criterion_rows(&self.rows)
            .iter()
            .filter_map(|r| r.weight.parse::<i64>().ok())
            .sum()
    }

    pub(super) fn input(&self) -> Result<RoundInput, AppError> {
        let advancement = match self.advancement.as_str() {
            "top_n" => Advancement::TopN {
                n: usize::try_from(num(&self.top_n, "judging.advancement_invalid")?)
                    .map_err(|_| AppError::invalid("judging.advancement_invalid"))?,
                per_category: self.per_category.is_some(),
            },
            "threshold" => Advancement::Threshold {
                min_score: self
                    .min_score
                    .trim()
                    .parse()
                    .map_err(|_| AppError::invalid("judging.advancement_invalid"))?,
            },
            _ => Advancement::Manual,
        };
        Ok(RoundInput {
            name: Some(self.name.clone()),
            kind: Some(if self.kind.is_empty() {
                STANDARD.into()
            } else {
                self.kind.clone()
            }),
            opens_at: Some(self.opens_at.clone()),
            closes_at: Some(self.closes_at.clone()),
            rubric: Some(parse_criterion_rows(&criterion_rows(&self.rows))?),
            blind: Some(self.blind.is_some()),
            judges_per_entry: Some(num(
                &self.judges_per_entry,
                "judging.judges_per_entry_invalid",
            )?),
            advancement: Some(advancement),
            ranking_basis: Some(self.ranking_basis.clone()),
            min_listen_percent: Some(num(
                &self.min_listen_percent,
                "judging.listen_share_invalid",
            )?),
            others_scores: Some(self.others_scores.clone()),
            feedback_release: Some(self.feedback_release.clone()).filter(|f| !f.is_empty()),
            reminder_hours: Some(num(&self.reminder_hours, "judging.reminder_invalid")?),
            anchors: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn rubric_rows_parse_in_order_without_removed_or_blank_rows() {
        let f = fields(&[
            ("criterion.10.name", "Last"),
            ("criterion.10.weight", "20"),
            ("criterion.10.min", "1"),
            ("criterion.10.max", "10"),
            ("criterion.2.name", "Originality"),
            ("criterion.2.key", "orig"),
            ("criterion.2.weight", "80%"),
            ("criterion.2.min", "0"),
            ("criterion.2.max", "5"),
            ("criterion.2.description", "New ideas"),
            ("criterion.3.name", "Gone"),
            ("criterion.3.weight", "5"),
            ("criterion.3.remove", "on"),
            ("criterion.4.name", ""),
            ("criterion.4.min", "1"),
            ("criterion.4.max", "10"),
            ("name", "Round one"),
        ]);
        let rows = criterion_rows(&f);
        assert_eq!(rows.len(), 2, "{rows:?}");
        let r = parse_criterion_rows(&rows).unwrap();
        assert_eq!(r[0].name, "Originality");
        assert_eq!(r[0].key.as_deref(), Some("orig"));
        assert_eq!(r[0].weight, 80);
        assert_eq!((r[0].min, r[0].max), (0, 5));
        assert_eq!(r[0].description, "New ideas");
        assert_eq!(r[1].name, "Last");
        assert_eq!(r[1].key, None);
    }

    #[test]
    fn a_rubric_row_that_is_not_whole_is_named() {
        let f = fields(&[
            ("criterion.0.name", "A"),
            ("criterion.0.weight", "50"),
            ("criterion.0.min", "1"),
            ("criterion.0.max", "10"),
            ("criterion.1.name", "B"),
            ("criterion.1.weight", "x"),
            ("criterion.1.min", "1"),
            ("criterion.1.max", "10"),
        ]);
        let e = parse_criterion_rows(&criterion_rows(&f)).unwrap_err();
        assert_eq!(e.code(), "judging.rubric_row_invalid");
        let f = fields(&[("criterion.0.weight", "50"), ("criterion.0.min", "1")]);
        let e = parse_criterion_rows(&criterion_rows(&f)).unwrap_err();
        assert_eq!(e.code(), "judging.rubric_row_invalid");
    }

    #[test]
    fn a_form_shows_its_rows_and_spare_ones() {
        let f = RoundForm::defaults(crate::i18n::Locale::En);
        let rows = f.criteria();
        let n = super::super::domain::default_rubric().len();
        assert_eq!(rows.len(), n + SPARE_ROWS);
        assert_eq!(f.weight_total(), 100);
        assert!(rows[n].is_blank());
        assert_eq!(rows[0].name, "Originality");
        assert_eq!(rows[0].key, "originality");
        let zh = RoundForm::defaults(crate::i18n::Locale::ZhCn).criteria();
        assert_eq!(
            zh[0].name, "原创性",
            "a new round's rubric is in the organiser's language"
        );
    }
}
