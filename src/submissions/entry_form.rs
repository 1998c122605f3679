//! The entry form: the fields a musician fills in (details, credits, samples, the
//! declarations and the AI question), read back from a submitted form into the API's
//! input, and filled from an entry to edit it.

use serde::Deserialize;

use super::model::{Credits, EntryInput, EntryView, SampleUse};
use crate::competitions::domain::ai;

#[derive(Deserialize, Default, Clone)]
pub(super) struct EntryForm {
    pub(super) title: String,
    #[serde(default)]
    pub(super) prompt_id: String,
    #[serde(default)]
    pub(super) category_id: String,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) lyrics: String,
    #[serde(default)]
    pub(super) co_writers: String,
    #[serde(default)]
    pub(super) producer: String,
    #[serde(default)]
    pub(super) other_credits: String,
    /// One sample per line: `what | source | licence`.
    #[serde(default)]
    pub(super) samples: String,
    pub(super) samples_declared: Option<String>,
    pub(super) originality_declared: Option<String>,
    /// "No AI was used", and each use AI helped with (ticked: present).
    pub(super) ai_none: Option<String>,
    pub(super) ai_lyrics: Option<String>,
    pub(super) ai_melody: Option<String>,
    pub(super) ai_arrangement: Option<String>,
    pub(super) ai_vocals: Option<String>,
    pub(super) ai_mixing: Option<String>,
    pub(super) ai_full: Option<String>,
    /// What a remix is made from: `pack:<id>`, `song` (then `remix_song`) or empty.
    #[serde(default)]
    pub(super) remix_source: String,
    /// A published song's address or id.
    #[serde(default)]
    pub(super) remix_song: String,
}

/// One tick box of the AI question.
pub(super) struct AiChoice {
    pub(super) name: String,
    pub(super) label: &'static str,
    pub(super) checked: bool,
}

impl EntryForm {
    fn ai_field(&mut self, u: &str) -> &mut Option<String> {
        match u {
            "lyrics" => &mut self.ai_lyrics,
            "melody" => &mut self.ai_melody,
            "arrangement" => &mut self.ai_arrangement,
            "vocals" => &mut self.ai_vocals,
            "mixing" => &mut self.ai_mixing,
            _ => &mut self.ai_full,
        }
    }

    fn ai_ticked(&self, u: &str) -> bool {
        match u {
            "lyrics" => &self.ai_lyrics,
            "melody" => &self.ai_melody,
            "arrangement" => &self.ai_arrangement,
            "vocals" => &self.ai_vocals,
            "mixing" => &self.ai_mixing,
            _ => &self.ai_full,
        }
        .is_some()
    }

    /// The uses ticked; `[]` for "no AI", `None` when nothing is ticked.
    pub(super) fn ai_use(&self) -> Option<Vec<String>> {
        let uses: Vec<String> = ai::USES
            .iter()
            .filter(|u| self.ai_ticked(u))
            .map(|u| u.to_string())
            .collect();
        (self.ai_none.is_some() || !uses.is_empty()).then_some(uses)
    }

    /// The AI question's tick boxes in the reader's language.
    pub(super) fn ai_choices(&self, l: &crate::i18n::Locale) -> Vec<AiChoice> {
        let l = *l;
        ai::USES
            .iter()
            .map(|u| AiChoice {
                name: format!("ai_{u}"),
                label: ai::label(l, u),
                checked: self.ai_ticked(u),
            })
            .collect()
    }

    pub(super) fn of(v: &EntryView) -> EntryForm {
        let mut f = EntryForm::of_view(v);
        if let Some(d) = &v.ai_use {
            if d.uses.is_empty() {
                f.ai_none = Some("on".into());
            }
            for u in &d.uses {
                *f.ai_field(u) = Some("on".into());
            }
        }
        f
    }

    fn of_view(v: &EntryView) -> EntryForm {
        EntryForm {
            title: v.title.clone(),
            prompt_id: v.prompt.as_ref().map(|p| p.id.clone()).unwrap_or_default(),
            category_id: v
                .category
                .as_ref()
                .map(|p| p.id.clone())
                .unwrap_or_default(),
            description: v.description.clone(),
            lyrics: v.lyrics.clone(),
            co_writers: v.credits.co_writers.join(", "),
            producer: v.credits.producer.clone(),
            other_credits: v.credits.others.clone(),
            samples: v
                .samples
                .iter()
                .map(|s| format!("{} | {} | {}", s.description, s.source, s.licence))
                .collect::<Vec<_>>()
                .join("\n"),
            samples_declared: v.samples_declared.then(|| "on".into()),
            originality_declared: v.originality_declared.then(|| "on".into()),
            remix_source: String::new(),
            remix_song: String::new(),
            ..EntryForm::default()
        }
    }

    pub(super) fn input(&self) -> EntryInput {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        EntryInput {
            title: Some(self.title.clone()),
            prompt_id: opt(&self.prompt_id),
            category_id: opt(&self.category_id),
            description: Some(self.description.clone()),
            lyrics: Some(self.lyrics.clone()),
            credits: Some(Credits {
                co_writers: self
                    .co_writers
                    .split([',', '\n'])
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
                producer: self.producer.clone(),
                others: self.other_credits.clone(),
            }),
            samples: Some(
                self.samples
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| {
                        let mut parts = l.split('|').map(|p| p.trim().to_string());
                        SampleUse {
                            description: parts.next().unwrap_or_default(),
                            source: parts.next().unwrap_or_default(),
                            licence: parts.next().unwrap_or_default(),
                        }
                    })
                    .collect(),
            ),
            samples_declared: Some(self.samples_declared.is_some()),
            originality_declared: Some(self.originality_declared.is_some()),
            ai_use: self.ai_use(),
            remix_of: crate::remix::model::SourceInput::from_form(
                &self.remix_source,
                &self.remix_song,
            ),
        }
    }
}
