//! The ballot: who is voting (the signed-in voter's facts, cached), the proof-of-work
//! challenge, listening tickets, and casting a vote, cheapest checks first.

use super::VotingState as _;
use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use chrono::{NaiveDateTime, Utc};

use super::domain::{self, Caps, VoteFact};
use super::model::*;
use super::service::*;
use super::{RoundInfo, VoterFacts};
use crate::auth::request::access_token;
use crate::db::idempotency;
use crate::error::AppError;
use crate::http::ratelimit;
use crate::state::AppState;

/// A request to the ballot, read once at the edge into plain values: the signed-in
/// voter (401 without one), the `Idempotency-Key` as sent, the client's address (through
/// the trusted proxies) and its user agent. Handlers take it after their body, so a
/// malformed body is still answered before authentication, as for every other route.
pub struct VoteRequest {
    pub voter: Arc<VoterFacts>,
    pub idempotency_key: Option<String>,
    /// The client's address, when the connection tells it.
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: String,
}

impl actix_web::FromRequest for VoteRequest {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<actix_web::web::Data<AppState>>().cloned();
        let token = access_token(req);
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        };
        let idempotency_key = header("idempotency-key");
        let user_agent = header("user-agent").unwrap_or_default();
        let ip = state
            .as_ref()
            .map(|s| ratelimit::client_ip(req, &s.settings.server.trusted_proxies));
        Box::pin(async move {
            let Some(state) = state else {
                return Err(AppError::Unauthorized.into());
            };
            let ip = ip.flatten();
            Ok(VoteRequest {
                voter: voter(&state, token).await?,
                idempotency_key,
                ip,
                user_agent,
            })
        })
    }
}

/// The facts about the signed-in voter (cached a few seconds; no reads on a hit).
///
/// The cache is keyed by the token's SHA-256: a token seen before had its signature
/// checked then, and a token's signature cannot change, only its time run out; so a hit
/// checks the token's validity window and whether its session has ended since, and skips
/// the signature check and the claims' parsing (a sixth of a vote's cost on the server).
pub async fn voter(state: &AppState, token: Option<String>) -> Result<Arc<VoterFacts>, AppError> {
    use sha2::Digest as _;
    let token = token.ok_or(AppError::Unauthorized)?;
    let now = Utc::now();
    let key: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
    let runtime = state.voting();
    if let Some(hit) = runtime.voters.get(&key) {
        let ended =
            crate::accounts::service::session_ended(state, &hit.session_id, &hit.facts.user_id);
        if !ended
            && crate::auth::jwt::within_validity(hit.valid_from, hit.valid_until, now.timestamp())
        {
            return Ok(hit.facts.clone());
        }
        runtime.voters.invalidate(&key);
        if ended {
            return Err(AppError::Unauthorized);
        }
    }
    let claims = state
        .jwt
        .verify(&token, now)
        .map_err(|_| AppError::Unauthorized)?;
    if crate::accounts::service::session_ended(state, &claims.sid, &claims.sub) {
        return Err(AppError::Unauthorized);
    }
    let (user, sid, _, _) = crate::accounts::service::authenticate(state, &token).await?;
    let facts = Arc::new(VoterFacts {
        user_id: user.id.clone(),
        verified: user.email_verified_at.is_some(),
        created_at: user.created_at,
        email_domain: user
            .email
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default(),
    });
    runtime.voters.insert(
        key,
        Arc::new(super::SignedInVoter {
            session_id: sid,
            valid_from: claims.nbf,
            valid_until: claims.exp,
            facts: facts.clone(),
        }),
    );
    Ok(facts)
}

pub(super) fn open_for_voting(i: &RoundInfo, now: NaiveDateTime) -> Result<(), AppError> {
    if !i.competition.is_published() {
        return Err(AppError::NotFound);
    }
    if now < i.row.opens_at {
        return Err(AppError::Conflict {
            code: "vote.not_open",
        });
    }
    if now >= i.row.closes_at {
        return Err(AppError::Conflict {
            code: "vote.closed",
        });
    }
    Ok(())
}

/// A proof-of-work challenge for the signed-in voter in round `id`.
pub async fn challenge(
    state: &AppState,
    r: &VoteRequest,
    id: &str,
) -> Result<altcha::Challenge, AppError> {
    let v = &r.voter;
    let i = info(state, id).await?;
    open_for_voting(&i, now())?;
    if !v.verified {
        return Err(AppError::refused(
            StatusCode::FORBIDDEN,
            "vote.email_unverified",
        ));
    }
    state
        .voting()
        .pow
        .challenge(&i.row.id, &v.user_id, Utc::now().timestamp())
}

/// A listening ticket: the voter started playing `entry` now.
pub async fn listen(
    state: &AppState,
    r: &VoteRequest,
    id: &str,
    input: ListenInput,
) -> Result<ListenTicket, AppError> {
    let v = &r.voter;
    let i = info(state, id).await?;
    if i.entry(&input.entry_id).is_none() {
        return Err(AppError::invalid("vote.entry_not_in_round"));
    }
    let started = Utc::now();
    Ok(ListenTicket {
        ticket: state.voting().pow.listen_ticket(
            &i.row.id,
            &v.user_id,
            &input.entry_id,
            started.timestamp(),
        ),
        started_at: started,
        counts_from: started + chrono::Duration::seconds(i64::from(i.row.min_listen_secs)),
    })
}

/// Cast a vote. Checks run cheapest first; the vote is acknowledged after COMMIT.
pub async fn cast(
    state: &AppState,
    r: &VoteRequest,
    id: &str,
    input: VoteInput,
) -> Result<VoteReceipt, AppError> {
    let v = &r.voter;
    let key = idempotency::parse_key(r.idempotency_key.as_deref())?;
    let i = info(state, id).await?;
    let ip = r.ip;
    let allowlisted =
        domain::allowed(&i.allow, ip) || domain::allowed(&state.voting().global_allow, ip);
    state.voting().check_limits(ip, allowlisted, &v.user_id)?;
    let now_dt = Utc::now();
    let now = now_dt.naive_utc();
    open_for_voting(&i, now)?;
    if !v.verified {
        return Err(AppError::refused(
            StatusCode::FORBIDDEN,
            "vote.email_unverified",
        ));
    }
    if i.withdrawn.contains(&input.entry_id) {
        return Err(AppError::Conflict {
            code: "vote.entry_withdrawn",
        });
    }
    let entry = i
        .entry(&input.entry_id)
        .ok_or_else(|| AppError::invalid("vote.entry_not_in_round"))?;
    if entry.musician_id == v.user_id {
        return Err(AppError::refused(StatusCode::FORBIDDEN, "vote.own_entry"));
    }
    let solved = state
        .voting()
        .pow
        .verify(&input.pow, &i.row.id, &v.user_id)?;
    let listened = input
        .listen_ticket
        .as_deref()
        .and_then(|t| {
            state
                .voting()
                .pow
                .listening_since(t, &i.row.id, &v.user_id, &entry.id)
        })
        .map(|started| now_dt.timestamp() - started)
        .unwrap_or(0);
    if i.row.min_listen_secs > 0 && listened < i64::from(i.row.min_listen_secs) {
        return Err(AppError::Refused {
            status: StatusCode::CONFLICT,
            code: "vote.listen_first",
            params: vec![
                ("seconds", i.row.min_listen_secs.to_string()),
                (
                    "left",
                    (i64::from(i.row.min_listen_secs) - listened.max(0)).to_string(),
                ),
            ],
        });
    }
    let network = domain::network_of(ip);
    let ua = r.user_agent.as_str();
    let fact = VoteFact {
        id: 0,
        voter: v.user_id.clone(),
        entry: entry.id.clone(),
        at: now_dt.timestamp(),
        network: network.clone(),
        ua_hash: domain::ua_hash(ua),
        account_age_secs: (now - v.created_at).num_seconds(),
        email_domain: v.email_domain.clone(),
    };
    let rules = rule_settings(&i.row);
    let mut rule = domain::single_vote_rule(&fact, &rules, allowlisted);
    if rule.is_none()
        && !allowlisted
        && state
            .voting()
            .burst(&i.row.id, &network, fact.at, rules.burst_per_minute)
    {
        rule = Some(domain::RULE_BURST);
    }
    let vote = NewVote {
        round_id: i.row.id.clone(),
        voter_id: v.user_id.clone(),
        entry_id: entry.id.clone(),
        cast_at: now,
        day: day_of(&i.competition, now),
        slot: 0,
        entry_slot: 0,
        day_slot: 0,
        idempotency_key: key,
        pow_id: solved.id,
        pow_cost: solved.cost as i32,
        network,
        ua_hash: fact.ua_hash,
        account_age_secs: fact.account_age_secs,
        initial_status: if rule.is_some() {
            domain::QUARANTINED
        } else {
            domain::COUNTED
        }
        .into(),
        initial_rule: rule.map(str::to_string),
    };
    let caps = Caps {
        per_voter: i.row.votes_per_voter as u32,
        per_entry: i.row.votes_per_entry as u32,
        per_day: i.row.votes_per_day.map(|d| d as u32),
    };
    let stored = state.voting().writer.submit(vote, caps).await?;
    state.metrics.vote(stored.replayed);
    Ok(VoteReceipt {
        vote_id: stored.id,
        round_id: i.row.id.clone(),
        entry_id: stored.entry_id,
        status: stored.status,
        cast_at: utc(stored.cast_at),
        remaining: caps.per_voter.saturating_sub(stored.slot as u32),
        replayed: stored.replayed,
    })
}
