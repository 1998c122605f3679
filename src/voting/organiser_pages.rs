//! The organiser's voting pages: the rounds of a competition, a round's settings, the
//! line-up, review of held votes, opening and closing now, the audit and recounting.
//! Every form works without JavaScript.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;

use super::domain;
use super::model::*;
use super::service;
use crate::accounts::model::AuthUser;
use crate::accounts::model::PageUser;
use crate::competitions::domain::{local_input, parse_time};
use crate::competitions::service as competitions;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{PageCtx, form_error, render_with_status, see_other};

use crate::time::when;

/// The settings form, as text fields.
#[derive(Default, Clone)]
struct RoundForm {
    /// The competition's own language: `title` is in it.
    source: String,
    title: String,
    /// The title in the other languages, by tag.
    title_tr: std::collections::BTreeMap<String, String>,
    opens_at: String,
    closes_at: String,
    votes_per_voter: String,
    votes_per_entry: String,
    votes_per_day: String,
    counts_visible: String,
    min_listen_secs: String,
    allowlist: String,
    burst_per_minute: String,
    new_account_minutes: String,
    new_accounts: String,
    pattern_min_voters: String,
    /// The songs ticked (the new-vote form).
    entries: Vec<String>,
}

impl RoundForm {
    fn policies(&self) -> [&'static str; 3] {
        domain::NEW_ACCOUNT_POLICIES
    }

    /// The other languages' title fields: (tag, native name, value).
    fn other_titles(&self) -> Vec<(&'static str, &'static str, String)> {
        let source = crate::i18n::content::source_of(&self.source);
        crate::i18n::Locale::ALL
            .iter()
            .filter(|l| **l != source)
            .map(|l| {
                (
                    l.tag(),
                    l.native_name(),
                    self.title_tr.get(l.tag()).cloned().unwrap_or_default(),
                )
            })
            .collect()
    }

    fn of(r: &VotingRoundView, tz: &str, source: &str) -> RoundForm {
        RoundForm {
            source: source.to_string(),
            title_tr: r
                .translations
                .0
                .iter()
                .filter_map(|(tag, m)| Some((tag.clone(), m.get("title")?.clone())))
                .collect(),
            title: r.title.clone(),
            opens_at: local_input(Some(r.opens_at.naive_utc()), tz),
            closes_at: local_input(Some(r.closes_at.naive_utc()), tz),
            votes_per_voter: r.votes_per_voter.to_string(),
            votes_per_entry: r.votes_per_entry.to_string(),
            votes_per_day: r.votes_per_day.map(|d| d.to_string()).unwrap_or_default(),
            counts_visible: r.counts_visible.clone(),
            min_listen_secs: r.min_listen_secs.to_string(),
            allowlist: r.allowlist.clone().unwrap_or_default().join("\n"),
            burst_per_minute: r.burst_per_minute.to_string(),
            new_account_minutes: r.new_account_minutes.to_string(),
            new_accounts: r.new_accounts.clone(),
            pattern_min_voters: r.pattern_min_voters.to_string(),
            entries: Vec::new(),
        }
    }

    fn defaults(tz: &str, source: &str) -> RoundForm {
        let now = chrono::Utc::now().naive_utc();
        RoundForm {
            source: source.to_string(),
            title_tr: Default::default(),
            title: String::new(),
            opens_at: local_input(Some(now), tz),
            closes_at: local_input(Some(now + chrono::Duration::days(7)), tz),
            votes_per_voter: "20".into(),
            votes_per_entry: "20".into(),
            votes_per_day: String::new(),
            counts_visible: domain::VISIBLE_AFTER_CLOSE.into(),
            min_listen_secs: "0".into(),
            allowlist: String::new(),
            burst_per_minute: "60".into(),
            new_account_minutes: "5".into(),
            new_accounts: domain::NEW_VENUE.into(),
            pattern_min_voters: "5".into(),
            entries: Vec::new(),
        }
    }

    fn from_body(body: &[u8]) -> RoundForm {
        let all: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
        let p: HashMap<String, String> = all.iter().cloned().collect();
        let g = |k: &str| p.get(k).cloned().unwrap_or_default();
        RoundForm {
            source: g("source"),
            title_tr: p
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("title_tr.")?.to_string(), v.clone())))
                .collect(),
            title: g("title"),
            opens_at: g("opens_at"),
            closes_at: g("closes_at"),
            votes_per_voter: g("votes_per_voter"),
            votes_per_entry: g("votes_per_entry"),
            votes_per_day: g("votes_per_day"),
            counts_visible: g("counts_visible"),
            min_listen_secs: g("min_listen_secs"),
            allowlist: g("allowlist"),
            burst_per_minute: g("burst_per_minute"),
            new_account_minutes: g("new_account_minutes"),
            new_accounts: g("new_accounts"),
            pattern_min_voters: g("pattern_min_voters"),
            entries: all
                .iter()
                .filter(|(k, _)| k == "entry")
                .map(|(_, v)| v.clone())
                .collect(),
        }
    }

    fn input(&self, tz: &str) -> Result<VotingRoundInput, AppError> {
        let zone = tz.parse().unwrap_or(chrono_tz::UTC);
        let num = |s: &str| -> Result<Option<i64>, AppError> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            s.parse().map(Some).map_err(|_| {
                AppError::invalid_with(
                    "vote.cap_invalid",
                    vec![("min", "0".into()), ("max", "100".into())],
                )
            })
        };
        let time = |s: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>, AppError> {
            Ok(parse_time(s, zone)?.map(|t| t.and_utc()))
        };
        Ok(VotingRoundInput {
            title: Some(self.title.clone()),
            translations: Some(
                self.title_tr
                    .iter()
                    .filter(|(_, v)| !v.trim().is_empty())
                    .map(|(tag, v)| {
                        (
                            tag.clone(),
                            std::collections::BTreeMap::from([("title".to_string(), v.clone())]),
                        )
                    })
                    .collect(),
            ),
            opens_at: time(&self.opens_at)?,
            closes_at: time(&self.closes_at)?,
            votes_per_voter: num(&self.votes_per_voter)?,
            votes_per_entry: num(&self.votes_per_entry)?,
            votes_per_day: Some(num(&self.votes_per_day)?.unwrap_or(0)),
            counts_visible: Some(self.counts_visible.clone()).filter(|s| !s.is_empty()),
            min_listen_secs: num(&self.min_listen_secs)?,
            allowlist: Some(
                self.allowlist
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
            // Ticked songs (the new-vote form); none ticked: the finalists.
            entry_ids: (!self.entries.is_empty()).then(|| self.entries.clone()),
            burst_per_minute: num(&self.burst_per_minute)?,
            new_account_minutes: num(&self.new_account_minutes)?,
            new_accounts: Some(self.new_accounts.clone()).filter(|s| !s.is_empty()),
            pattern_min_voters: num(&self.pattern_min_voters)?,
        })
    }
}

#[derive(Template)]
#[template(path = "voting/rounds.html")]
struct RoundsPage {
    ctx: PageCtx,
    c: crate::competitions::model::CompetitionView,
    rounds: Vec<(VotingRoundView, String, String)>,
    f: RoundForm,
    error: Option<String>,
    /// Songs that can be put to a vote, finalists first; whether a round was decided.
    candidates: Vec<VotingEntryItem>,
    decided: bool,
    /// Whether the reader may make rounds (an organiser, not a moderator).
    manages: bool,
}

impl RoundsPage {
    fn ticked(&self, e: &VotingEntryItem) -> bool {
        if self.f.entries.is_empty() {
            e.finalist
        } else {
            self.f.entries.contains(&e.entry_id)
        }
    }
}

async fn rounds_page(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    cid: &str,
    f: Option<RoundForm>,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let c = competitions::moderated_view(state, who, cid).await?;
    let rounds = service::list_rounds(state, Some(who), &c.id)
        .await?
        .into_iter()
        .map(|r| {
            let (o, cl) = (
                when(r.opens_at, &c.time_zone, ctx.l),
                when(r.closes_at, &c.time_zone, ctx.l),
            );
            (r, o, cl)
        })
        .collect();
    let f = f.unwrap_or_else(|| RoundForm::defaults(&c.time_zone, &c.language));
    // A moderator sees the rounds (to review held votes) but cannot make one.
    let (candidates, decided, manages) = match super::manage::candidates(state, who, &c.id).await {
        Err(AppError::NotFound) => (Vec::new(), false, false),
        other => {
            let (candidates, decided) = other?;
            (candidates, decided, true)
        }
    };
    render_with_status(
        &RoundsPage {
            ctx: ctx.signed_in(&who.user.display_name),
            manages,
            c,
            rounds,
            f,
            error,
            candidates,
            decided,
        },
        status,
    )
}

#[get("/organise/{id}/voting")]
async fn rounds_show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    rounds_page(&state, ctx, &who, &id, None, None, StatusCode::OK).await
}

#[post("/organise/{id}/voting")]
async fn rounds_create(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let f = RoundForm::from_body(&body);
    let c = competitions::managed_view(&state, &who, &id).await?;
    let result = match f.input(&c.time_zone) {
        Ok(input) => service::create_round(&state, &who, &id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => Ok(see_other(&format!("/organise/voting/{}", r.id))),
        Err(e) if form_error(&e) => {
            let (msg, status) = (e.message(ctx.l), e.status());
            rounds_page(&state, ctx, &who, &id, Some(f), Some(msg), status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "voting/round.html")]
struct RoundPage {
    ctx: PageCtx,
    r: VotingRoundView,
    competition_title: String,
    f: RoundForm,
    board: Leaderboard,
    integrity: IntegritySummary,
    held: Vec<(ReviewItem, String)>,
    struck: Vec<(ReviewItem, String)>,
    /// Held votes per rule, for "restore every vote this rule holds".
    held_rules: Vec<(String, usize)>,
    line_up: VotingEntries,
    error: Option<String>,
    notice: Option<String>,
    share_url: String,
    /// Whether the reader may change the round (an organiser, not a moderator).
    manages: bool,
}

async fn round_page(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    rid: &str,
    f: Option<RoundForm>,
    (error, notice): (Option<String>, Option<String>),
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (i, organiser) = service::visible(state, Some(who), rid).await?;
    if !organiser {
        return Err(AppError::NotFound);
    }
    let tz = i.competition.time_zone.clone();
    let r = service::view(&i.row, &i.competition, i.entries.len(), true);
    let board = service::leaderboard(state, Some(who), rid, None).await?;
    let integrity = service::integrity(state, Some(who), rid).await?;
    let label = |x: ReviewItem| {
        let t = when(x.cast_at, &tz, ctx.l);
        (x, t)
    };
    let held: Vec<(ReviewItem, String)> =
        service::review_list(state, who, rid, domain::QUARANTINED)
            .await?
            .into_iter()
            .map(label)
            .collect();
    let struck = service::review_list(state, who, rid, domain::INVALIDATED)
        .await?
        .into_iter()
        .map(label)
        .collect();
    let f = f.unwrap_or_else(|| RoundForm::of(&r, &tz, &i.competition.language));
    let mut held_rules: Vec<(String, usize)> = Vec::new();
    for (v, _) in &held {
        let rule: String = v.rule.clone().unwrap_or_else(|| domain::RULE_MANUAL.into());
        match held_rules.iter_mut().find(|(r, _)| *r == rule) {
            Some((_, n)) => *n += 1,
            None => held_rules.push((rule, 1)),
        }
    }
    // A moderator reviews votes; the songs, the dates and the settings are the
    // organisers' (they see the line-up, not the forms that change it).
    let manages = competitions::may_manage(who, &i.competition);
    let line_up = if manages {
        super::manage::entries(state, who, rid).await?
    } else {
        VotingEntries {
            round_id: rid.to_string(),
            locked: true,
            entries: i
                .entries
                .iter()
                .map(|e| VotingEntryItem {
                    entry_id: e.id.clone(),
                    title: e.title.clone(),
                    musician: e.musician.clone(),
                    category: i.category_in(e.category_id.as_deref(), ctx.l),
                    finalist: false,
                })
                .collect(),
            candidates: Vec::new(),
        }
    };
    let competition_title = i.competition.title_in(ctx.l);
    render_with_status(
        &RoundPage {
            manages,
            competition_title,
            ctx: ctx.signed_in(&who.user.display_name),
            share_url: format!(
                "{}/c/{}/vote/{}",
                state.settings.base_url(),
                i.competition.slug,
                r.id
            ),
            r,
            f,
            board,
            integrity,
            held,
            struck,
            held_rules,
            line_up,
            error,
            notice,
        },
        status,
    )
}

/// The round page again, with a note of what was just done.
async fn done(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    id: &str,
    note: String,
) -> Result<HttpResponse, AppError> {
    round_page(
        state,
        ctx,
        who,
        id,
        None,
        (None, Some(note)),
        StatusCode::OK,
    )
    .await
}

#[get("/organise/voting/{id}")]
async fn round_show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    round_page(&state, ctx, &who, &id, None, (None, None), StatusCode::OK).await
}

#[post("/organise/voting/{id}")]
async fn round_update(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let f = RoundForm::from_body(&body);
    let i = service::info(&state, &id).await?;
    let mut result = f.input(&i.competition.time_zone);
    if let Ok(input) = &mut result {
        // Unchanged fields are not sent again, so a started round keeps its caps.
        if input.opens_at.map(|t| t.naive_utc()) == Some(i.row.opens_at)
            || input
                .opens_at
                .is_some_and(|t| (t.naive_utc() - i.row.opens_at).num_seconds().abs() < 60)
        {
            input.opens_at = None;
        }
        if input.votes_per_voter == Some(i64::from(i.row.votes_per_voter)) {
            input.votes_per_voter = None;
        }
        if input.votes_per_entry == Some(i64::from(i.row.votes_per_entry)) {
            input.votes_per_entry = None;
        }
    }
    let result = match result {
        Ok(input) => service::update_round(&state, &who, &id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/organise/voting/{id}"))),
        Err(e) if form_error(&e) => {
            let (msg, status) = (e.message(ctx.l), e.status());
            round_page(&state, ctx, &who, &id, Some(f), (Some(msg), None), status).await
        }
        Err(e) => Err(e),
    }
}

#[post("/organise/voting/{id}/review")]
async fn round_review(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let all: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| {
        all.iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let ids: Vec<i64> = all
        .iter()
        .filter(|(k, _)| k == "vote")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let rule = Some(get("rule")).filter(|r| !r.is_empty());
    let input = ReviewInput {
        vote_ids: if rule.is_some() { Vec::new() } else { ids },
        rule,
        action: get("action"),
        reason: get("reason"),
    };
    match service::review(&state, &who, &id, input).await {
        Ok(out) => {
            let n = ctx.tf("voting.review_done", "count", &out.changed.to_string());
            done(&state, ctx, &who, &id, n).await
        }
        Err(e) if form_error(&e) => {
            let (msg, status) = (e.message(ctx.l), e.status());
            round_page(&state, ctx, &who, &id, None, (Some(msg), None), status).await
        }
        Err(e) => Err(e),
    }
}

/// Songs put into the vote or taken out (before it opens), with the reason.
#[post("/organise/voting/{id}/line-up")]
async fn round_line_up(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let all: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let of = |k: &str| -> Vec<String> {
        all.iter()
            .filter(|(a, _)| a == k)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let input = EntriesChange {
        add: of("add"),
        remove: of("remove"),
        reason: of("reason").into_iter().next().unwrap_or_default(),
    };
    match super::manage::change_entries(&state, &who, &id, input).await {
        Ok(v) => {
            let n = ctx.tf(
                "voting.line_up_saved",
                "count",
                &v.entries.len().to_string(),
            );
            done(&state, ctx, &who, &id, n).await
        }
        Err(e) if form_error(&e) => {
            let (msg, status) = (e.message(ctx.l), e.status());
            round_page(&state, ctx, &who, &id, None, (Some(msg), None), status).await
        }
        Err(e) => Err(e),
    }
}

/// "Open now" / "Close now", then the round page with what was done.
async fn open_close(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    id: &str,
    open: bool,
) -> Result<HttpResponse, AppError> {
    match super::manage::open_or_close_now(state, who, id, open).await {
        Ok(_) => {
            let key = if open {
                "voting.opened_now"
            } else {
                "voting.closed_now"
            };
            let n = ctx.t(key).to_string();
            done(state, ctx, who, id, n).await
        }
        Err(e) if form_error(&e) => {
            let (msg, status) = (e.message(ctx.l), e.status());
            round_page(state, ctx, who, id, None, (Some(msg), None), status).await
        }
        Err(e) => Err(e),
    }
}

#[post("/organise/voting/{id}/open-now")]
async fn round_open_now(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    open_close(&state, ctx, &who, &id, true).await
}

#[post("/organise/voting/{id}/close-now")]
async fn round_close_now(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    open_close(&state, ctx, &who, &id, false).await
}

#[post("/organise/voting/{id}/audit")]
async fn round_audit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let out = service::run_audit(&state, &who, &id).await?;
    let n = ctx.tf("voting.audit_done", "count", &out.quarantined.to_string());
    done(&state, ctx, &who, &id, n).await
}

#[post("/organise/voting/{id}/recompute")]
async fn round_recompute(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let out = service::recompute(&state, &who, &id).await?;
    let key = if out.matched {
        "voting.recompute_matched"
    } else {
        "voting.recompute_fixed"
    };
    let n = ctx.tf(key, "hash", &out.tally_hash);
    done(&state, ctx, &who, &id, n).await
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(rounds_show)
        .service(rounds_create)
        .service(round_review)
        .service(round_line_up)
        .service(round_open_now)
        .service(round_close_now)
        .service(round_audit)
        .service(round_recompute)
        .service(round_show)
        .service(round_update);
}
