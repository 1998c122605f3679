//! Posters and QR codes for an exhibition: what a poster leads to, its code, its scans.

use std::collections::HashMap;

use chrono::Utc;
use rand::Rng;

use super::model::*;
use super::store;
use crate::accounts::model::AuthUser;
use crate::competitions::model::{CompetitionView, PromptView};
use crate::competitions::service as competitions;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::state::AppState;
use crate::submissions::service as submissions;
use crate::voting::model::EntryInfo;
use crate::voting::service as voting;

/// What a poster shows and where a scan of it leads.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: &'static str,
    pub competition: CompetitionView,
    /// The prompt shown: the poster's own, or the entry's.
    pub prompt: Option<PromptView>,
    /// The entry and the voting round whose page shows it.
    pub entry: Option<(String, EntryInfo)>,
    /// The voting round (id, title) of a `vote` poster.
    pub round: Option<(String, String)>,
}

impl Target {
    pub fn target_id(&self) -> String {
        match self.kind {
            PROMPT => self
                .prompt
                .as_ref()
                .map(|p| p.id.clone())
                .unwrap_or_default(),
            ENTRY => self
                .entry
                .as_ref()
                .map(|(_, e)| e.id.clone())
                .unwrap_or_default(),
            VOTE => self
                .round
                .as_ref()
                .map(|(id, _)| id.clone())
                .unwrap_or_default(),
            _ => self.competition.id.clone(),
        }
    }

    /// How the target is named in addresses: the slug for a competition, else its id.
    pub fn key(&self) -> String {
        match self.kind {
            COMPETITION => self.competition.slug.clone(),
            _ => self.target_id(),
        }
    }

    pub fn title(&self) -> String {
        match (self.kind, &self.prompt, &self.entry) {
            (ENTRY, _, Some((_, e))) => e.title.clone(),
            (PROMPT, Some(p), _) => p.title.clone(),
            _ => match (self.kind, &self.round) {
                (VOTE, Some((_, title))) => title.clone(),
                _ => self.competition.title.clone(),
            },
        }
    }

    /// The page a scan opens (a phone's page: the song with its play and vote buttons,
    /// the prompt, or the competition).
    pub fn page_path(&self) -> String {
        let slug = &self.competition.slug;
        match (self.kind, &self.prompt, &self.entry) {
            (ENTRY, _, Some((round, e))) => format!("/c/{slug}/vote/{round}/{}", e.id),
            (PROMPT, Some(p), _) => format!("/c/{slug}/prompts/{}", p.id),
            _ => match (self.kind, &self.round) {
                (VOTE, Some((id, _))) => format!("/c/{slug}/vote/{id}"),
                _ => format!("/c/{slug}"),
            },
        }
    }

    pub fn poster_path(&self, lang: Locale) -> String {
        poster_path(self.kind, &self.key(), lang)
    }

    pub fn qr_path(&self, lang: Locale, ext: &str) -> String {
        qr_path(self.kind, &self.key(), lang, ext)
    }
}

/// The printable poster of `key` (a competition's slug, a prompt's or entry's id).
pub fn poster_path(kind: &str, key: &str, lang: Locale) -> String {
    format!("/posters/{kind}/{key}?lang={}", lang.tag())
}

/// The QR code image (`svg` or `png`) of a poster.
pub fn qr_path(kind: &str, key: &str, lang: Locale, ext: &str) -> String {
    format!("/posters/{kind}/{key}/qr.{ext}?lang={}", lang.tag())
}

pub fn parse_kind(kind: &str) -> Result<&'static str, AppError> {
    KINDS
        .iter()
        .find(|k| **k == kind)
        .copied()
        .ok_or(AppError::NotFound)
}

/// What `key` names, as `who` may see it (a draft competition only for its organisers;
/// an entry only while a visible voting round has it), its text in `l` where given.
pub async fn resolve(
    state: &AppState,
    who: Option<&AuthUser>,
    kind: &'static str,
    key: &str,
    l: Locale,
) -> Result<Target, AppError> {
    match kind {
        COMPETITION => Ok(Target {
            kind,
            competition: competitions::public_view(state, who, key)
                .await?
                .localised(l),
            prompt: None,
            entry: None,
            round: None,
        }),
        VOTE => {
            let (i, _) = voting::visible(state, who, key).await?;
            let competition = competitions::public_view(state, who, &i.competition.id)
                .await?
                .localised(l);
            Ok(Target {
                kind,
                competition,
                prompt: None,
                entry: None,
                round: Some((i.row.id.clone(), i.row.title_in(l))),
            })
        }
        PROMPT => {
            let id = key.to_string();
            let p = state
                .db
                .run(move |conn| competitions::find_prompt(conn, &id))
                .await?
                .ok_or(AppError::NotFound)?;
            let competition = competitions::public_view(state, who, &p.competition_id)
                .await?
                .localised(l);
            let prompt = competition
                .prompts
                .iter()
                .find(|x| x.id == p.id)
                .cloned()
                .ok_or(AppError::NotFound)?;
            Ok(Target {
                kind,
                competition,
                prompt: Some(prompt),
                entry: None,
                round: None,
            })
        }
        _ => {
            let id = key.to_string();
            let e = state
                .db
                .run(move |conn| submissions::find_entry(conn, &id))
                .await?
                .ok_or(AppError::NotFound)?;
            let competition = competitions::public_view(state, who, &e.competition_id)
                .await?
                .localised(l);
            let entry = voting::round_of_entry(state, who, &competition.id, &e.id)
                .await?
                .ok_or(AppError::NotFound)?;
            let prompt = e
                .prompt_id
                .as_ref()
                .and_then(|pid| competition.prompts.iter().find(|p| &p.id == pid))
                .cloned();
            Ok(Target {
                kind,
                competition,
                prompt,
                entry: Some(entry),
                round: None,
            })
        }
    }
}

/// A short code nobody can guess or count through.
fn new_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn view_of(state: &AppState, t: &Target, row: &PosterRow, lang: Locale) -> PosterView {
    let base = state.settings.base_url();
    PosterView {
        code: row.id.clone(),
        kind: row.kind.clone(),
        target_id: row.target_id.clone(),
        title: t.title(),
        lang: row.lang.clone(),
        scan_url: format!("{base}/p/{}", row.id),
        poster_url: t.poster_path(lang),
        qr_svg_url: t.qr_path(lang, "svg"),
        qr_png_url: t.qr_path(lang, "png"),
        created_at: row.created_at.and_utc(),
        scans: None,
        scans_by_day: None,
    }
}

/// The poster of `key` in `lang` (made on its first view), with its target.
pub async fn poster(
    state: &AppState,
    who: Option<&AuthUser>,
    kind: &str,
    key: &str,
    lang: Locale,
) -> Result<(Target, PosterView), AppError> {
    let kind = parse_kind(kind)?;
    let t = resolve(state, who, kind, key, lang).await?;
    let (cid, target, tag) = (t.competition.id.clone(), t.target_id(), lang.tag());
    let row = state
        .db
        .run(move |conn| {
            if let Some(row) = store::find_target(conn, kind, &target, tag)? {
                return Ok(row);
            }
            store::insert_if_absent(
                conn,
                &PosterRow {
                    id: new_code(),
                    competition_id: cid,
                    kind: kind.to_string(),
                    target_id: target.clone(),
                    lang: tag.to_string(),
                    created_at: Utc::now().naive_utc(),
                },
            )?;
            store::find_target(conn, kind, &target, tag)?
                .ok_or_else(|| AppError::internal("poster vanished"))
        })
        .await?;
    let v = view_of(state, &t, &row, lang);
    Ok((t, v))
}

/// A scan: counted for its poster and day (nothing about who scanned), and the page it
/// opens, in the poster's language.
pub async fn scan(state: &AppState, code: &str) -> Result<String, AppError> {
    let c = code.to_string();
    let row = state
        .db
        .run(move |conn| store::find(conn, &c))
        .await?
        .ok_or(AppError::NotFound)?;
    let kind = parse_kind(&row.kind)?;
    // As the public sees it now: an entry leads to the round that shows it today.
    let t = resolve(state, None, kind, &row.target_id, Locale::default()).await?;
    let tz: chrono_tz::Tz = t.competition.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let day = Utc::now().with_timezone(&tz).format("%Y-%m-%d").to_string();
    let id = row.id.clone();
    state
        .db
        .run(move |conn| store::count_scan(conn, &id, &day))
        .await?;
    state.metrics.poster_scan();
    Ok(format!("{}?lang={}", t.page_path(), row.lang))
}

/// A competition's posters with their scans (its organisers only).
pub async fn stats(
    state: &AppState,
    who: &AuthUser,
    competition: &str,
) -> Result<Vec<PosterView>, AppError> {
    let c = competitions::managed_view(state, who, competition).await?;
    let cid = c.id.clone();
    let (rows, scans, entries) = state
        .db
        .run(move |conn| {
            let rows = store::of_competition(conn, &cid)?;
            let scans = store::scans_of(conn, &cid)?;
            let ids: Vec<String> = rows
                .iter()
                .filter(|r| r.kind == ENTRY)
                .map(|r| r.target_id.clone())
                .collect();
            let entries = submissions::find_entries(conn, &ids)?;
            Ok((rows, scans, entries))
        })
        .await?;
    let mut by_poster: HashMap<String, Vec<ScanDay>> = HashMap::new();
    for (poster, day, n) in scans {
        by_poster.entry(poster).or_default().push(ScanDay {
            day,
            scans: n.max(0) as u64,
        });
    }
    let base = state.settings.base_url();
    Ok(rows
        .into_iter()
        .map(|r| {
            let lang = Locale::parse(&r.lang).unwrap_or_default();
            let (title, key) = match r.kind.as_str() {
                PROMPT => (
                    c.prompts
                        .iter()
                        .find(|p| p.id == r.target_id)
                        .map(|p| p.title.clone())
                        .unwrap_or_default(),
                    r.target_id.clone(),
                ),
                ENTRY => (
                    entries
                        .get(&r.target_id)
                        .map(|e| e.title.clone())
                        .unwrap_or_default(),
                    r.target_id.clone(),
                ),
                VOTE => (c.title.clone(), r.target_id.clone()),
                _ => (c.title.clone(), c.slug.clone()),
            };
            let days = by_poster.remove(&r.id).unwrap_or_default();
            PosterView {
                scan_url: format!("{base}/p/{}", r.id),
                poster_url: poster_path(&r.kind, &key, lang),
                qr_svg_url: qr_path(&r.kind, &key, lang, "svg"),
                qr_png_url: qr_path(&r.kind, &key, lang, "png"),
                code: r.id,
                kind: r.kind,
                target_id: r.target_id,
                title,
                lang: r.lang,
                created_at: r.created_at.and_utc(),
                scans: Some(days.iter().map(|d| d.scans).sum()),
                scans_by_day: Some(days),
            }
        })
        .collect())
}
