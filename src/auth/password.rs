//! Password hashing with Argon2id. Hashing is slow and memory-hungry on purpose, so it
//! runs on the blocking pool and at most N hashes run at once.

use std::sync::Arc;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
};
use tokio::sync::Semaphore;

use crate::config::AuthSettings;
use crate::error::AppError;

/// A password within the length rules (8 to 256 characters, counted as characters).
/// No composition rules, no truncation, no case change.
pub struct Password(String);

impl Password {
    pub const MIN: usize = 8;
    pub const MAX: usize = 256;

    pub fn parse(raw: &str) -> Result<Password, AppError> {
        let n = raw.chars().count();
        if n < Self::MIN {
            return Err(AppError::invalid_with(
                "account.password_too_short",
                vec![("min", Self::MIN.to_string())],
            ));
        }
        if n > Self::MAX {
            return Err(AppError::invalid_with(
                "account.password_too_long",
                vec![("max", Self::MAX.to_string())],
            ));
        }
        Ok(Password(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified against when the account does not exist,
    /// so sign-in takes the same time either way.
    dummy: Arc<String>,
}

impl PasswordHasher {
    pub fn new(settings: &AuthSettings) -> anyhow::Result<PasswordHasher> {
        let params = Params::new(
            settings.argon2_memory_kib,
            settings.argon2_iterations,
            1,
            None,
        )
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        let n = if settings.max_concurrent_hashes == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        } else {
            settings.max_concurrent_hashes
        };
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let dummy = argon2
            .hash_password(uuid::Uuid::new_v4().to_string().as_bytes())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
            .to_string();
        Ok(PasswordHasher {
            params,
            permits: Arc::new(Semaphore::new(n)),
            dummy: Arc::new(dummy),
        })
    }

    /// Spend the time of a verification on nothing (unknown accounts).
    pub async fn verify_dummy(&self, password: &str) {
        let p = Password::parse(password)
            .unwrap_or_else(|_| Password::parse("placeholder-password").expect("valid literal"));
        let _ = self.verify(p, self.dummy.as_str().to_string()).await;
    }

    /// Whether a stored hash was made with other parameters than today's (rehash it).
    pub fn needs_rehash(&self, phc: &str) -> bool {
        match PasswordHash::new(phc) {
            Ok(h) => {
                h.algorithm.as_str() != "argon2id"
                    || h.params.get_decimal("m") != Some(self.params.m_cost())
                    || h.params.get_decimal("t") != Some(self.params.t_cost())
                    || h.params.get_decimal("p") != Some(self.params.p_cost())
            }
            Err(_) => true,
        }
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// The PHC string for `password`.
    pub async fn hash(&self, password: Password) -> Result<String, AppError> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        let argon2 = self.argon2();
        tokio::task::spawn_blocking(move || {
            argon2
                .hash_password(password.expose().as_bytes())
                .map(|h| h.to_string())
                .map_err(AppError::internal)
        })
        .await?
    }

    /// Whether `password` matches the stored PHC string.
    pub async fn verify(&self, password: Password, phc: String) -> Result<bool, AppError> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        let argon2 = self.argon2();
        tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&phc).map_err(AppError::internal)?;
            Ok(argon2
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok())
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_argon2id() {
        let settings = AuthSettings {
            argon2_memory_kib: 8 * 1024,
            argon2_iterations: 1,
            ..AuthSettings::default()
        };
        let h = PasswordHasher::new(&settings).unwrap();
        let phc = h
            .hash(Password::parse("correct horse battery").unwrap())
            .await
            .unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"), "{phc}");
        assert!(
            h.verify(
                Password::parse("correct horse battery").unwrap(),
                phc.clone()
            )
            .await
            .unwrap()
        );
        assert!(
            !h.verify(Password::parse("wrong horse battery").unwrap(), phc)
                .await
                .unwrap()
        );
    }
}
