//! Proof of work (ALTCHA v2, PBKDF2/SHA-256) and listening tickets.
//!
//! Challenges are made in the crate's deterministic mode: the server picks the counter,
//! so the expected work is `cost × max_counter / 2` PBKDF2 iterations, and it signs the
//! derived key, so checking a solution is two HMACs (no key derivation). Every challenge
//! names the round and the voter it is for and expires after `pow_expiry_secs`; its nonce
//! is its id, stored with the vote under a unique constraint, so a solution is spent
//! once.

use std::collections::BTreeMap;

use altcha::{Challenge, CreateChallengeOptions, Payload, VerifySolutionOptions};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

use crate::error::AppError;

pub const ALGORITHM: &str = "PBKDF2/SHA-256";

#[derive(Clone)]
pub struct Pow {
    secret: String,
    key_secret: String,
    ticket_secret: Vec<u8>,
    pub cost: u32,
    pub max_counter: u32,
    pub expiry_secs: i64,
}

/// A checked solution: the challenge's id (spent with the vote) and its cost.
#[derive(Debug, Clone)]
pub struct Solved {
    pub id: String,
    pub cost: u32,
}

fn derive(master: &[u8], label: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(master).expect("any key length");
    m.update(label.as_bytes());
    m.finalize().into_bytes().to_vec()
}

impl Pow {
    /// Keys for signing challenges, derived keys and tickets, all from the one site secret.
    pub fn new(master_secret: &[u8], cost: u32, max_counter: u32, expiry_secs: i64) -> Pow {
        Pow {
            secret: hex::encode(derive(master_secret, "cadenza/pow/challenge")),
            key_secret: hex::encode(derive(master_secret, "cadenza/pow/key")),
            ticket_secret: derive(master_secret, "cadenza/voting/listen-ticket"),
            cost: cost.max(1),
            max_counter: max_counter.max(1),
            expiry_secs,
        }
    }

    /// A fresh challenge for `voter` in `round`.
    pub fn challenge(&self, round: &str, voter: &str, now: i64) -> Result<Challenge, AppError> {
        let mut data = BTreeMap::new();
        data.insert("round".to_string(), serde_json::Value::from(round));
        data.insert("voter".to_string(), serde_json::Value::from(voter));
        altcha::create_challenge(CreateChallengeOptions {
            algorithm: ALGORITHM.into(),
            cost: self.cost,
            counter: Some(rand::rng().random_range(0..self.max_counter)),
            data: Some(data),
            expires_at: Some(now + self.expiry_secs),
            hmac_signature_secret: Some(self.secret.clone()),
            hmac_key_signature_secret: Some(self.key_secret.clone()),
            ..Default::default()
        })
        .map_err(|e| AppError::internal(format!("altcha: {e}")))
    }

    /// Check a solution sent with a vote: base64 of `{"challenge":…,"solution":…}` (the
    /// ALTCHA payload) or that JSON itself.
    pub fn verify(&self, token: &str, round: &str, voter: &str) -> Result<Solved, AppError> {
        let bad = || AppError::invalid("vote.pow_invalid");
        let token = token.trim();
        if token.is_empty() {
            return Err(AppError::invalid("vote.pow_required"));
        }
        if token.len() > 8192 {
            return Err(bad());
        }
        let json = if token.starts_with('{') {
            token.as_bytes().to_vec()
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(token)
                .map_err(|_| bad())?
        };
        let payload: Payload = serde_json::from_slice(&json).map_err(|_| bad())?;
        let p = &payload.challenge.parameters;
        let named = |k: &str| {
            p.data
                .as_ref()
                .and_then(|d| d.get(k))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        if p.algorithm != ALGORITHM {
            return Err(bad());
        }
        let mut opts =
            VerifySolutionOptions::new(&payload.challenge, &payload.solution, self.secret.clone());
        opts.hmac_key_signature_secret = Some(self.key_secret.clone());
        let result = altcha::verify_solution(opts).map_err(|_| bad())?;
        if result.expired {
            return Err(AppError::invalid("vote.pow_expired"));
        }
        if !result.verified {
            return Err(bad());
        }
        // Signed, so these are ours: a solution for another round or voter is refused.
        if named("round").as_deref() != Some(round) || named("voter").as_deref() != Some(voter) {
            return Err(bad());
        }
        Ok(Solved {
            id: p.nonce.clone(),
            cost: p.cost,
        })
    }

    fn ticket_mac(&self, round: &str, voter: &str, entry: &str, started: i64) -> Hmac<Sha256> {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.ticket_secret).expect("any key length");
        m.update(format!("{round}\n{voter}\n{entry}\n{started}").as_bytes());
        m
    }

    /// A signed note that `voter` started listening to `entry` at `started` (seconds).
    pub fn listen_ticket(&self, round: &str, voter: &str, entry: &str, started: i64) -> String {
        let mac = self
            .ticket_mac(round, voter, entry, started)
            .finalize()
            .into_bytes();
        format!("{started}.{}", hex::encode(&mac[..16]))
    }

    /// When listening started, if the ticket is genuine and for this vote.
    pub fn listening_since(
        &self,
        ticket: &str,
        round: &str,
        voter: &str,
        entry: &str,
    ) -> Option<i64> {
        let (started, mac) = ticket.split_once('.')?;
        let started: i64 = started.parse().ok()?;
        let mac = hex::decode(mac).ok().filter(|m| m.len() == 16)?;
        self.ticket_mac(round, voter, entry, started)
            .verify_truncated_left(&mac)
            .ok()
            .map(|_| started)
    }
}

/// Solve a challenge here (tests, benchmarks and the command-line voter).
pub fn solve(challenge: &Challenge) -> Option<String> {
    let solution =
        altcha::solve_challenge(altcha::SolveChallengeOptions::new(challenge)).ok()??;
    let payload = Payload {
        challenge: challenge.clone(),
        solution,
    };
    Some(base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&payload).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pow() -> Pow {
        Pow::new(b"test-secret", 10, 20, 600)
    }

    #[test]
    fn a_solved_challenge_verifies_once_for_its_round_and_voter() {
        let p = pow();
        let now = chrono::Utc::now().timestamp();
        let c = p.challenge("r1", "alice", now).unwrap();
        let token = solve(&c).unwrap();
        let ok = p.verify(&token, "r1", "alice").unwrap();
        assert_eq!(ok.id, c.parameters.nonce);
        assert_eq!(ok.cost, 10);
        assert_eq!(
            p.verify(&token, "r2", "alice").unwrap_err().code(),
            "vote.pow_invalid"
        );
        assert_eq!(
            p.verify(&token, "r1", "bob").unwrap_err().code(),
            "vote.pow_invalid"
        );
        // Another server's secret does not verify it.
        let other = Pow::new(b"other", 10, 20, 600);
        assert_eq!(
            other.verify(&token, "r1", "alice").unwrap_err().code(),
            "vote.pow_invalid"
        );
    }

    #[test]
    fn tampering_and_expiry_are_refused() {
        let p = pow();
        let now = chrono::Utc::now().timestamp();
        let mut c = p.challenge("r1", "alice", now).unwrap();
        let token = solve(&c).unwrap();
        let mut payload: Payload = serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(&token)
                .unwrap(),
        )
        .unwrap();
        payload.challenge.parameters.cost = 1;
        let forged = serde_json::to_string(&payload).unwrap();
        assert_eq!(
            p.verify(&forged, "r1", "alice").unwrap_err().code(),
            "vote.pow_invalid"
        );
        payload.challenge.parameters.cost = 10;
        payload.solution.derived_key = "00".repeat(32);
        let wrong = serde_json::to_string(&payload).unwrap();
        assert_eq!(
            p.verify(&wrong, "r1", "alice").unwrap_err().code(),
            "vote.pow_invalid"
        );
        // A challenge that expired 1 s ago.
        c = p.challenge("r1", "alice", now - 601).unwrap();
        let old = solve(&c).unwrap();
        assert_eq!(
            p.verify(&old, "r1", "alice").unwrap_err().code(),
            "vote.pow_expired"
        );
        assert_eq!(
            p.verify("", "r1", "alice").unwrap_err().code(),
            "vote.pow_required"
        );
        assert_eq!(
            p.verify("%%%", "r1", "alice").unwrap_err().code(),
            "vote.pow_invalid"
        );
    }

    #[test]
    fn listen_tickets_are_bound_to_voter_and_entry() {
        let p = pow();
        let t = p.listen_ticket("r", "v", "e", 1000);
        assert_eq!(p.listening_since(&t, "r", "v", "e"), Some(1000));
        assert_eq!(p.listening_since(&t, "r", "v", "other"), None);
        assert_eq!(p.listening_since("999.00", "r", "v", "e"), None);
        let earlier = t.replacen("1000", "900", 1);
        assert_eq!(p.listening_since(&earlier, "r", "v", "e"), None);
    }

    /// The server's cost of checking a solution (the fast path: two HMACs and the
    /// payload's JSON). Run by scripts/bench-pow.sh.
    #[test]
    #[ignore]
    fn verification_cost() {
        let p = Pow::new(b"bench", 5000, 1, 600);
        let now = chrono::Utc::now().timestamp();
        let tokens: Vec<String> = (0..200)
            .map(|_| solve(&p.challenge("r", "v", now).unwrap()).unwrap())
            .collect();
        let t = std::time::Instant::now();
        let rounds = 50;
        for _ in 0..rounds {
            for tok in &tokens {
                p.verify(tok, "r", "v").unwrap();
            }
        }
        let per = t.elapsed().as_secs_f64() * 1e6 / (rounds * tokens.len()) as f64;
        println!("BENCH pow verify_us={per:.1} (cost 5000, fast path)");
    }
}
