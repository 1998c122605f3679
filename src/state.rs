//! The application state every request handler and job receives, cheap to clone. It
//! holds the infrastructure (settings, database, object store, mailer, the password
//! hasher and token keys, metrics, the shutdown signal) and knows no feature: what a
//! feature keeps for the life of the process (public voting's writer and caches, the
//! sessions that ended) is a *part*, installed by the composition root
//! (`startup::build_state`) and read back by the feature by its type
//! (`state.part::<voting::Runtime>()`), so this module never names it.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::auth::jwt::JwtKeys;
use crate::auth::password::PasswordHasher;
use crate::config::Settings;
use crate::db::Db;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::storage::ObjectStore;

/// Everything a request handler or a job needs.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub storage: ObjectStore,
    pub mailer: Mailer,
    pub hasher: PasswordHasher,
    pub jwt: Arc<JwtKeys>,
    pub metrics: Metrics,
    /// Cancelled when the process starts to stop: long-lived responses (event streams)
    /// end so the drain does not wait for them.
    pub shutdown: CancellationToken,
    parts: Arc<Parts>,
}

/// What features keep for the life of the process, one value per type.
#[derive(Default)]
pub struct Parts(HashMap<TypeId, Arc<dyn Any + Send + Sync>>);

impl Parts {
    /// Add `part` (one per type: a second of the same type replaces the first).
    pub fn with<T: Any + Send + Sync>(mut self, part: T) -> Parts {
        self.0.insert(TypeId::of::<T>(), Arc::new(part));
        self
    }
}

/// The infrastructure a state is made of (see [`AppState::new`]).
pub struct Infrastructure {
    pub settings: Settings,
    pub db: Db,
    pub storage: ObjectStore,
    pub mailer: Mailer,
    pub hasher: PasswordHasher,
    pub jwt: JwtKeys,
}

impl AppState {
    pub fn new(infra: Infrastructure, parts: Parts) -> AppState {
        AppState {
            settings: Arc::new(infra.settings),
            db: infra.db,
            storage: infra.storage,
            mailer: infra.mailer,
            hasher: infra.hasher,
            jwt: Arc::new(infra.jwt),
            metrics: Metrics::new(),
            shutdown: CancellationToken::new(),
            parts: Arc::new(parts),
        }
    }

    /// The part of type `T`. Every part is installed when the state is built, so a
    /// missing one is a wiring mistake, caught by the first test that uses it.
    pub fn part<T: Any + Send + Sync>(&self) -> &T {
        self.parts
            .0
            .get(&TypeId::of::<T>())
            .and_then(|p| p.downcast_ref::<T>())
            .unwrap_or_else(|| {
                panic!(
                    "the application state was built without {}",
                    std::any::type_name::<T>()
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_found_by_type() {
        struct A(u32);
        struct B(&'static str);
        let parts = Parts::default().with(A(1)).with(B("b")).with(A(2));
        let get = |p: &Parts, t| p.0.get(&t).cloned();
        assert_eq!(
            get(&parts, TypeId::of::<A>())
                .unwrap()
                .downcast_ref::<A>()
                .unwrap()
                .0,
            2
        );
        assert_eq!(
            get(&parts, TypeId::of::<B>())
                .unwrap()
                .downcast_ref::<B>()
                .unwrap()
                .0,
            "b"
        );
        assert!(get(&parts, TypeId::of::<u8>()).is_none());
    }
}
