//! Access tokens: short-lived JWTs, HS256 only, with a `kid` so keys can rotate. The
//! previous key verifies (never signs) for one token lifetime after it was retired.
//! `exp`, `nbf`, `iss`, `aud` and `sub` are required (a string-typed `nbf`/`exp` fails,
//! CVE-2026-25537), the header must say `typ: at+jwt`, and headers that point at keys
//! (`jku`, `x5u`, `jwk`) are refused.

use chrono::{DateTime, Utc};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Settings;

pub const ACCESS_TYP: &str = "at+jwt";
const LEEWAY_SECS: u64 = 30;

/// Whether `now` (seconds since the epoch) is inside a token's validity window, `nbf` to
/// `exp`, stretched by the leeway for clocks that disagree.
pub fn within_validity(nbf: i64, exp: i64, now: i64) -> bool {
    let leeway = LEEWAY_SECS as i64;
    nbf - leeway <= now && now <= exp + leeway
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user's id.
    pub sub: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    /// The sign-in session the token belongs to.
    pub sid: String,
}

struct VerifyKey {
    kid: String,
    key: DecodingKey,
    /// Tokens under this key are refused after this instant (the previous key only).
    until: Option<i64>,
}

pub struct JwtKeys {
    kid: String,
    signing: EncodingKey,
    verifying: Vec<VerifyKey>,
    issuer: String,
    audience: String,
    ttl_secs: i64,
}

/// The HMAC key for a configured secret (its own key, separate from other uses of the secret).
fn derive(secret: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"cadenza access token v1\0");
    h.update(secret.as_bytes());
    h.finalize().to_vec()
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("unknown key id")]
    UnknownKey,
    #[error("wrong token type")]
    WrongType,
    #[error("invalid token: {0}")]
    Invalid(String),
}

impl JwtKeys {
    pub fn from_settings(s: &Settings) -> anyhow::Result<JwtKeys> {
        let a = &s.auth;
        let ttl_secs = a.access_token_minutes.max(1) * 60;
        let current = derive(a.secret.expose_secret());
        let mut verifying = vec![VerifyKey {
            kid: a.key_id.clone(),
            key: DecodingKey::from_secret(&current),
            until: None,
        }];
        if let (Some(prev), Some(kid)) = (&a.previous_secret, &a.previous_key_id) {
            let retired = match &a.previous_retired_at {
                Some(t) => DateTime::parse_from_rfc3339(t)
                    .map_err(|e| anyhow::anyhow!("auth.previous_retired_at: {e}"))?
                    .with_timezone(&Utc),
                None => {
                    anyhow::bail!("auth.previous_retired_at is required with auth.previous_secret")
                }
            };
            if kid == &a.key_id {
                anyhow::bail!("auth.previous_key_id must differ from auth.key_id");
            }
            verifying.push(VerifyKey {
                kid: kid.clone(),
                key: DecodingKey::from_secret(&derive(prev.expose_secret())),
                until: Some(retired.timestamp() + ttl_secs + LEEWAY_SECS as i64),
            });
        }
        let base = s.base_url().to_string();
        Ok(JwtKeys {
            kid: a.key_id.clone(),
            signing: EncodingKey::from_secret(&current),
            verifying,
            issuer: base.clone(),
            audience: format!("{base}/api"),
            ttl_secs,
        })
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    pub fn issue(&self, user_id: &str, session_id: &str, now: DateTime<Utc>) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some(ACCESS_TYP.to_string());
        let t = now.timestamp();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_string(),
            exp: t + self.ttl_secs,
            nbf: t,
            iat: t,
            sid: session_id.to_string(),
        };
        // Encoding HS256 with a key we built cannot fail; an empty token would simply not verify.
        encode(&header, &claims, &self.signing).unwrap_or_default()
    }

    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, TokenError> {
        if token.len() > 4096 {
            return Err(TokenError::Malformed);
        }
        let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::Invalid("algorithm".into()));
        }
        if header.typ.as_deref() != Some(ACCESS_TYP) {
            return Err(TokenError::WrongType);
        }
        if header.jku.is_some() || header.x5u.is_some() || header.jwk.is_some() {
            return Err(TokenError::Invalid("key reference in header".into()));
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = self
            .verifying
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(TokenError::UnknownKey)?;
        if key.until.is_some_and(|u| now.timestamp() > u) {
            return Err(TokenError::UnknownKey);
        }
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        v.validate_nbf = true;
        v.leeway = LEEWAY_SECS;
        let data = decode::<AccessClaims>(token, &key.key, &v)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        // jsonwebtoken checks against the wall clock; check our clock too (tests inject time).
        let c = data.claims;
        if !within_validity(c.nbf, c.exp, now.timestamp()) {
            return Err(TokenError::Invalid("outside its validity".into()));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_validity_window_has_the_leeway_on_both_sides() {
        let (nbf, exp) = (1_000, 2_000);
        assert!(within_validity(nbf, exp, 1_500));
        assert!(within_validity(nbf, exp, nbf - 30));
        assert!(!within_validity(nbf, exp, nbf - 31));
        assert!(within_validity(nbf, exp, exp + 30));
        assert!(!within_validity(nbf, exp, exp + 31));
    }
    use figment::Figment;
    use figment::providers::{Format, Toml};

    fn keys(extra: &str) -> JwtKeys {
        let s = Settings::from_figment(Figment::new().merge(Toml::string(extra))).unwrap();
        JwtKeys::from_settings(&s).unwrap()
    }

    #[test]
    fn round_trip() {
        let k = keys("");
        let now = Utc::now();
        let t = k.issue("user-1", "sess-1", now);
        let c = k.verify(&t, now).unwrap();
        assert_eq!((c.sub.as_str(), c.sid.as_str()), ("user-1", "sess-1"));
        assert_eq!(c.exp - c.iat, 15 * 60);
        let h = decode_header(&t).unwrap();
        assert_eq!(h.kid.as_deref(), Some("k1"));
        assert_eq!(h.typ.as_deref(), Some("at+jwt"));
    }

    #[test]
    fn the_previous_key_verifies_for_one_lifetime_only() {
        let old =
            keys("[auth]\nsecret = \"old-secret-old-secret-old-secret!!\"\nkey_id = \"k0\"\n");
        let now = Utc::now();
        let token = old.issue("u", "s", now);
        let retired = now.to_rfc3339();
        let new = keys(&format!(
            "[auth]\nsecret = \"new-secret-new-secret-new-secret!!\"\nkey_id = \"k1\"\n\
             previous_secret = \"old-secret-old-secret-old-secret!!\"\nprevious_key_id = \"k0\"\n\
             previous_retired_at = \"{retired}\"\n"
        ));
        assert!(new.verify(&token, now).is_ok());
        let later = now + chrono::Duration::minutes(16);
        assert_eq!(new.verify(&token, later), Err(TokenError::UnknownKey));
        // And the new key signs.
        let fresh = new.issue("u", "s", now);
        assert_eq!(decode_header(&fresh).unwrap().kid.as_deref(), Some("k1"));
        assert!(
            keys("").verify(&fresh, now).is_err(),
            "a different secret does not verify"
        );
    }
}
