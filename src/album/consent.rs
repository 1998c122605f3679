//! Agreements to an album's release terms: a musician agrees for their tracks; for a
//! minor (or an unknown age) a guardian agrees too, through a link sent by email. The
//! organiser can ask everyone who has not agreed yet.

use actix_web::http::StatusCode;

use super::model::*;
use super::service::{Loaded, load};
use super::store;
use crate::accounts::model::AuthUser;
use crate::competitions::model::CompetitionRow;
use crate::competitions::service as competitions;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::mail::{self, MailAction, MailContent};
use crate::state::AppState;
use crate::time::now;

fn album_of(conn: &mut DbConnection, id: &str) -> Result<(CompetitionRow, AlbumRow), AppError> {
    let c = competitions::find(conn, id)?.ok_or(AppError::NotFound)?;
    let a = store::find(conn, &c.id)?.ok_or(AppError::NotFound)?;
    Ok((c, a))
}

/// The musician's own tracks on the album (404 `album.not_on_album` when none).
fn mine(loaded: Vec<Loaded>, who: &AuthUser) -> Result<Vec<Loaded>, AppError> {
    let mine: Vec<Loaded> = loaded
        .into_iter()
        .filter(|l| l.entry.musician_id == who.user.id)
        .collect();
    if mine.is_empty() {
        return Err(AppError::refused(
            StatusCode::NOT_FOUND,
            "album.not_on_album",
        ));
    }
    Ok(mine)
}

/// The terms a musician is asked to agree to, and their tracks on the album.
pub async fn terms_for(state: &AppState, who: &AuthUser, id: &str) -> Result<TermsView, AppError> {
    let (w, id) = (who.clone(), id.to_string());
    state
        .db
        .run(move |conn| {
            let (c, a) = album_of(conn, &id)?;
            let mine = mine(load(conn, &c, &a)?, &w)?;
            let minor = mine.iter().any(|l| l.minor);
            let agreement = mine.iter().map(|l| l.agreement).max_by_key(|g| match g {
                Agreement::WaitingForMusician => 2,
                Agreement::WaitingForGuardian => 1,
                Agreement::Agreed => 0,
            });
            Ok(TermsView {
                competition_id: c.id,
                album_title: a.title,
                terms: a.terms,
                terms_version: a.terms_version,
                tracks: mine.iter().map(|l| l.entry.title.clone()).collect(),
                agreement,
                minor,
                guardian_email_known: mine.iter().any(|l| {
                    l.musician
                        .as_ref()
                        .is_some_and(|u| u.guardian_email.is_some())
                        || l.consent
                            .as_ref()
                            .is_some_and(|c| c.guardian_email.is_some())
                }),
            })
        })
        .await
}

/// A musician agrees to the album's terms (the version they read) for each of their
/// tracks. A minor's guardian is then sent a link to agree too (to the address on the
/// account, or the one given here).
pub async fn agree(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    input: AgreeInput,
) -> Result<TermsView, AppError> {
    crate::submissions::service::check_account(who)?;
    let given = match input.guardian_email.as_deref().map(str::trim) {
        Some(e) if !e.is_empty() => Some(
            crate::accounts::domain::EmailAddress::parse(e)?
                .as_str()
                .to_string(),
        ),
        _ => None,
    };
    let (w, cid) = (who.clone(), id.to_string());
    let base = state.settings.server.public_url.clone();
    state
        .db
        .transaction(move |conn| {
            let (c, a) = album_of(conn, &cid)?;
            if input.terms_version != a.terms_version {
                return Err(AppError::Conflict {
                    code: "album.terms_changed",
                });
            }
            let now = now();
            for l in mine(load(conn, &c, &a)?, &w)? {
                let mut row = l.consent.clone().unwrap_or_else(|| ConsentRow {
                    competition_id: c.id.clone(),
                    entry_id: l.entry.id.clone(),
                    ..ConsentRow::default()
                });
                row.musician_terms = Some(a.terms_version);
                row.musician_agreed_at = Some(now);
                if l.minor && row.guardian_terms != Some(a.terms_version) {
                    let email = given
                        .clone()
                        .or_else(|| row.guardian_email.clone())
                        .or_else(|| l.musician.as_ref().and_then(|u| u.guardian_email.clone()))
                        .ok_or_else(|| AppError::invalid("album.guardian_email_needed"))?;
                    row.guardian_email = Some(email);
                    ask_guardian(conn, &base, &c, &a, &l, &mut row)?;
                }
                store::save_consent(conn, &row)?;
            }
            Ok(())
        })
        .await?;
    terms_for(state, who, id).await
}

/// A fresh link for the guardian (the old one stops working), sent by email.
fn ask_guardian(
    conn: &mut DbConnection,
    base: &str,
    c: &CompetitionRow,
    a: &AlbumRow,
    l: &Loaded,
    row: &mut ConsentRow,
) -> Result<(), AppError> {
    let Some(email) = row.guardian_email.clone() else {
        return Ok(());
    };
    let (token, hash) = crate::accounts::service::new_token();
    row.guardian_token_hash = Some(hash);
    let lang = l
        .musician
        .as_ref()
        .map(|u| u.language())
        .unwrap_or_default();
    let name = l
        .musician
        .as_ref()
        .map(|u| u.display_name.clone())
        .unwrap_or_default();
    let m = MailContent {
        locale: lang,
        to: email,
        subject: lang.tf("mail.album_guardian_subject", &[("album", &a.title)]),
        paragraphs: vec![lang.tf(
            "mail.album_guardian_body",
            &[
                ("name", &name),
                ("title", &l.entry.title),
                ("album", &a.title),
                ("competition", &c.title_in(lang)),
            ],
        )],
        action: Some(MailAction {
            label: lang.t("mail.album_guardian_button").to_string(),
            url: format!("{base}/albums/guardian?token={token}"),
        }),
    }
    .render()
    .map_err(AppError::internal)?;
    mail::enqueue(conn, &m, now())?;
    Ok(())
}

/// What a guardian's link shows: the album, the young musician's stage name, their
/// tracks and the terms.
pub struct GuardianView {
    pub album_title: String,
    pub musician: String,
    pub track: String,
    pub terms: String,
    pub terms_version: i32,
    pub agreed: bool,
}

fn by_token(
    conn: &mut DbConnection,
    token: &str,
) -> Result<(CompetitionRow, AlbumRow, Loaded), AppError> {
    let hash = crate::accounts::service::hash_token(token);
    let row = store::consent_by_token(conn, &hash)?
        .ok_or_else(|| AppError::invalid("album.link_invalid"))?;
    let (c, a) = album_of(conn, &row.competition_id)?;
    let l = load(conn, &c, &a)?
        .into_iter()
        .find(|l| l.entry.id == row.entry_id)
        .ok_or_else(|| AppError::invalid("album.link_invalid"))?;
    Ok((c, a, l))
}

pub async fn guardian_view(state: &AppState, token: &str) -> Result<GuardianView, AppError> {
    let token = token.to_string();
    state
        .db
        .run(move |conn| {
            let (_, a, l) = by_token(conn, &token)?;
            Ok(GuardianView {
                album_title: a.title,
                musician: l.track.artist.clone(),
                track: l.entry.title.clone(),
                terms: a.terms,
                terms_version: a.terms_version,
                agreed: l.agreement == Agreement::Agreed,
            })
        })
        .await
}

/// A guardian agrees, through the link they were sent, to the terms they read.
pub async fn guardian_agree(state: &AppState, input: GuardianAgreeInput) -> Result<(), AppError> {
    let name =
        crate::submissions::service::clean_text(&input.name, 200, "album.guardian_name_invalid")?;
    if name.is_empty() {
        return Err(AppError::invalid("album.guardian_name_invalid"));
    }
    state
        .db
        .transaction(move |conn| {
            let (_, a, l) = by_token(conn, &input.token)?;
            if input.terms_version != a.terms_version {
                return Err(AppError::Conflict {
                    code: "album.terms_changed",
                });
            }
            let mut row = l
                .consent
                .ok_or_else(|| AppError::invalid("album.link_invalid"))?;
            row.guardian_terms = Some(a.terms_version);
            row.guardian_agreed_at = Some(now());
            row.guardian_name = Some(name);
            store::save_consent(conn, &row)
        })
        .await
}

/// Email every musician whose track waits for their agreement, and send a fresh link to
/// the guardians still awaited. Returns how many messages went out.
pub async fn ask_everyone(state: &AppState, who: &AuthUser, id: &str) -> Result<usize, AppError> {
    let base = state.settings.server.public_url.clone();
    competitions::with_managed(state, who, id, move |conn, _, c| {
        let a = store::find(conn, &c.id)?
            .ok_or_else(|| AppError::refused(StatusCode::NOT_FOUND, "album.none"))?;
        let mut sent = 0;
        let mut told = std::collections::HashSet::new();
        for l in load(conn, &c, &a)? {
            match l.agreement {
                Agreement::Agreed => {}
                Agreement::WaitingForMusician => {
                    let Some(u) = &l.musician else { continue };
                    if u.erased_at.is_some() || !told.insert(u.id.clone()) {
                        continue;
                    }
                    let lang = u.language();
                    let m = MailContent {
                        locale: lang,
                        to: u.email.clone(),
                        subject: lang.tf("mail.album_terms_subject", &[("album", &a.title)]),
                        paragraphs: vec![lang.tf(
                            "mail.album_terms_body",
                            &[("title", &l.entry.title), ("album", &a.title)],
                        )],
                        action: Some(MailAction {
                            label: lang.t("mail.album_terms_button").to_string(),
                            url: format!("{base}/albums/{}/terms", c.id),
                        }),
                    }
                    .render()
                    .map_err(AppError::internal)?;
                    mail::enqueue(conn, &m, now())?;
                    sent += 1;
                }
                Agreement::WaitingForGuardian => {
                    let Some(mut row) = l.consent.clone() else {
                        continue;
                    };
                    if row.guardian_email.is_some() {
                        ask_guardian(conn, &base, &c, &a, &l, &mut row)?;
                        store::save_consent(conn, &row)?;
                        sent += 1;
                    }
                }
            }
        }
        Ok(sent)
    })
    .await
}

/// The album's part of a person's data: their songs' agreements to release terms (with
/// the guardian's name and address, who agreed for them), in the export; erased with the
/// account, which takes their songs off any album.
pub struct AlbumData;

impl crate::accounts::service::PersonalData for AlbumData {
    fn export(
        &self,
        conn: &mut DbConnection,
        user_id: &str,
        out: &mut serde_json::Map<String, serde_json::Value>,
    ) -> Result<Vec<(String, String)>, AppError> {
        let ids = entry_ids(conn, user_id)?;
        let when = |t: Option<chrono::NaiveDateTime>| t.map(|t| t.and_utc().to_rfc3339());
        out.insert(
            "album_agreements".into(),
            serde_json::Value::Array(
                store::consents_of_entries(conn, &ids)?
                    .into_iter()
                    .map(|c| {
                        serde_json::json!({
                            "competition_id": c.competition_id, "song": c.entry_id,
                            "terms_version": c.musician_terms,
                            "agreed_at": when(c.musician_agreed_at),
                            "guardian_name": c.guardian_name, "guardian_email": c.guardian_email,
                            "guardian_agreed_at": when(c.guardian_agreed_at),
                        })
                    })
                    .collect(),
            ),
        );
        Ok(Vec::new())
    }

    fn erase(
        &self,
        conn: &mut DbConnection,
        user_id: &str,
        _now: chrono::NaiveDateTime,
    ) -> Result<Vec<String>, AppError> {
        let ids = entry_ids(conn, user_id)?;
        store::delete_consents_of_entries(conn, &ids)?;
        Ok(Vec::new())
    }
}

fn entry_ids(conn: &mut DbConnection, user_id: &str) -> Result<Vec<String>, AppError> {
    Ok(
        crate::submissions::service::entries_of_musician(conn, user_id)?
            .into_iter()
            .map(|e| e.id)
            .collect(),
    )
}
