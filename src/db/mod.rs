//! The database: one diesel `MultiConnection` over PostgreSQL and SQLite, pooled with
//! r2d2, backend chosen by the URL scheme. Diesel is synchronous, so every query runs
//! through [`Db::run`] on tokio's blocking pool, never on an actix worker thread.
//!
//! The few statements that must differ per backend live in [`backend`]; what
//! `MultiConnection` cannot run itself is dispatched once by [`on_backend!`]. Here too:
//! the audit log writer ([`audit`]), the job queue's table ([`queue`]), idempotency
//! keys, counters and the process heartbeat's rows.

pub mod audit;
pub mod backend;
pub mod counters;
pub mod idempotency;
pub mod processes;
pub mod queue;
pub mod schema;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ConnectionError};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use secrecy::ExposeSecret;

use crate::config::DatabaseSettings;
use crate::error::AppError;

pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Run the same diesel expression on whichever concrete connection this is: for what
/// `MultiConnection` cannot run itself (batch inserts, `ON CONFLICT`), written once.
/// `crate::db::on_backend!(conn, |c| query.execute(c))`.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Pg($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else if url.starts_with("sqlite://") {
            Some(Backend::Sqlite)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// Opens connections for the pool and applies per-backend session settings:
/// WAL, foreign keys and a busy timeout on SQLite; a statement timeout on PostgreSQL.
#[derive(Debug, Clone)]
pub struct DbManager {
    backend: Backend,
    url: String,
    statement_timeout_ms: u64,
    busy_timeout_ms: u64,
    health: Arc<DbHealth>,
    /// More `SET` statements run on each new PostgreSQL connection.
    setup: &'static str,
}

/// Whether the database looked unreachable at the last try: a connection could not be
/// opened, a pooled one turned out dead, or a call outlived its deadline. While it is
/// down, callers wait for a connection only [`DOWN_ACQUIRE`] instead of the full
/// `acquire_timeout_secs`, so requests fail fast; any success clears it.
#[derive(Debug, Default)]
struct DbHealth {
    down: AtomicBool,
}

impl DbHealth {
    fn mark_down(&self) {
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!("the database does not answer; failing fast until it does");
        }
    }

    fn mark_up(&self) {
        if self.down.load(Ordering::Relaxed) && self.down.swap(false, Ordering::Relaxed) {
            tracing::info!("the database answers again");
        }
    }

    fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }
}

/// How long a caller waits for a connection while the database is known to be down.
const DOWN_ACQUIRE: Duration = Duration::from_millis(250);

impl DbManager {
    pub fn new(settings: &DatabaseSettings) -> Result<DbManager, ConnectionError> {
        DbManager::with_setup(settings, "", Arc::new(DbHealth::default()))
    }

    /// `setup`: more `SET` statements for each new PostgreSQL connection.
    fn with_setup(
        settings: &DatabaseSettings,
        setup: &'static str,
        health: Arc<DbHealth>,
    ) -> Result<DbManager, ConnectionError> {
        let url = settings.url.expose_secret();
        let backend = Backend::from_url(url).ok_or_else(|| {
            ConnectionError::InvalidConnectionUrl("unsupported database URL scheme".into())
        })?;
        Ok(DbManager {
            backend,
            url: url.to_string(),
            statement_timeout_ms: settings.statement_timeout_ms,
            busy_timeout_ms: settings.busy_timeout_ms,
            health,
            setup,
        })
    }

    pub fn establish(&self) -> Result<DbConnection, ConnectionError> {
        let conn = self.open();
        match &conn {
            Ok(_) => self.health.mark_up(),
            Err(_) => self.health.mark_down(),
        }
        conn
    }

    fn open(&self) -> Result<DbConnection, ConnectionError> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&with_connect_timeout(&self.url))?;
                conn.batch_execute(&format!(
                    "SET statement_timeout = {}; SET lock_timeout = {}; SET TIME ZONE 'UTC'; {}",
                    self.statement_timeout_ms, self.statement_timeout_ms, self.setup
                ))
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Pg(conn))
            }
            Backend::Sqlite => {
                let path = self.url.trim_start_matches("sqlite://");
                if path != ":memory:"
                    && let Some(parent) = Path::new(path).parent()
                    && !parent.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        ConnectionError::BadConnection(format!(
                            "cannot create {}: {e}",
                            parent.display()
                        ))
                    })?;
                }
                let mut conn = SqliteConnection::establish(path)?;
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON;",
                    self.busy_timeout_ms
                ))
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// A hung server (its port open, its processes stopped) must not hold a connection
/// attempt forever: libpq's `connect_timeout`, unless the URL sets one.
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}connect_timeout=2")
}

/// Mark a connection that turned out dead as broken, so the pool drops it instead of
/// handing it out again (diesel only calls a connection broken inside a failed
/// transaction; a PostgreSQL connection whose server went away outside one would
/// otherwise fail every caller it is lent to).
fn mark_broken(conn: &mut DbConnection) {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    match conn {
        DbConnection::Pg(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).set_in_error()
        }
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).set_in_error()
        }
    }
}

impl ManageConnection for DbManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        self.establish().map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

pub type DbPool = Pool<DbManager>;
pub type PooledDb = PooledConnection<DbManager>;

/// The pool plus the backend it talks to. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    backend: Backend,
    health: Arc<DbHealth>,
    acquire: Duration,
    /// The longest a call may take before its caller is answered 503: waiting for a
    /// connection, one statement at the statement timeout, and a second to spare. A
    /// hung server (no answer at all, so no statement timeout either) costs a request
    /// no more than this.
    deadline: Duration,
}

impl Db {
    /// Build the pool. Connections are opened lazily, so this succeeds while the
    /// database is down; `/readyz` reports it.
    pub fn connect(settings: &DatabaseSettings) -> anyhow::Result<Db> {
        Db::connect_with(
            settings,
            settings.pool_size,
            "",
            Arc::new(DbHealth::default()),
        )
    }

    /// The group-commit vote writers' own pool on PostgreSQL (`size` connections): each
    /// connection plans prepared statements once, generically. The writers run the same
    /// few statements thousands of times a second with arrays of varying length, whose
    /// custom plans PostgreSQL would otherwise make again on every execution; the rest
    /// of the application keeps the default, because range queries such as the audit's
    /// need plans made for their values (decision 0022). On SQLite: this pool.
    pub fn for_vote_writers(&self, settings: &DatabaseSettings, size: u32) -> anyhow::Result<Db> {
        match self.backend {
            Backend::Sqlite => Ok(self.clone()),
            // The same health: a database found down by the writers is down for everybody.
            Backend::Postgres => Db::connect_with(
                settings,
                size,
                "SET plan_cache_mode = force_generic_plan;",
                self.health.clone(),
            ),
        }
    }

    fn connect_with(
        settings: &DatabaseSettings,
        size: u32,
        setup: &'static str,
        health: Arc<DbHealth>,
    ) -> anyhow::Result<Db> {
        let manager = DbManager::with_setup(settings, setup, health)?;
        let backend = manager.backend;
        let health = manager.health.clone();
        let acquire = Duration::from_secs(settings.acquire_timeout_secs.max(1));
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(0))
            .connection_timeout(acquire)
            .test_on_check_out(false)
            .build_unchecked(manager);
        let statement = Duration::from_millis(match backend {
            Backend::Postgres => settings.statement_timeout_ms,
            Backend::Sqlite => settings.busy_timeout_ms,
        });
        Ok(Db {
            pool,
            backend,
            health,
            acquire,
            deadline: acquire + statement + Duration::from_secs(1),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// The longest a call waits for the database: a connection, the statement, and a
    /// second more.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Run `f` with a pooled connection on the blocking pool.
    pub async fn run<F, T>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.run_within(self.deadline, f).await
    }

    /// [`Db::run`], answered by `until` at the latest (for work that several calls share
    /// one deadline for: a vote's batch tries the fast path, then the careful one).
    pub async fn run_until<F, T>(&self, until: tokio::time::Instant, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Err(AppError::Unavailable(
                "no time was left to ask the database".into(),
            ));
        }
        self.run_within(left.min(self.deadline), f).await
    }

    async fn run_within<F, T>(&self, deadline: Duration, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let health = self.health.clone();
        let wait = if health.is_down() {
            DOWN_ACQUIRE.min(self.acquire)
        } else {
            self.acquire
        }
        .min(deadline);
        let call = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get_timeout(wait)?;
            let out = f(&mut conn);
            match &out {
                Ok(_) => health.mark_up(),
                // A dead connection answers a ping at once with an error.
                Err(AppError::Unavailable(_)) if conn.ping().is_err() => {
                    mark_broken(&mut conn);
                    health.mark_down();
                }
                Err(_) => {}
            }
            out
        });
        match tokio::time::timeout(deadline, call).await {
            Ok(joined) => joined?,
            Err(_) => {
                // The blocking call goes on (and returns its connection when the
                // database answers); its caller is answered now.
                self.health.mark_down();
                Err(AppError::Unavailable(
                    "the database did not answer in time".into(),
                ))
            }
        }
    }

    /// Run `f` inside a transaction. On SQLite the transaction takes the write lock when
    /// it begins (`BEGIN IMMEDIATE`): a deferred one that reads first and then writes
    /// cannot wait for the lock when another connection is committing, and fails at once
    /// with "database is locked" (the busy timeout does not cover that upgrade).
    pub async fn transaction<F, T>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| transaction(conn, f)).await
    }

    /// [`Db::transaction`] answered by `until` at the latest (see [`Db::run_until`]).
    pub async fn transaction_until<F, T>(
        &self,
        until: tokio::time::Instant,
        f: F,
    ) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.run_until(until, move |conn| transaction(conn, f))
            .await
    }

    /// Apply pending migrations. On PostgreSQL an advisory lock lets several
    /// processes start at once without racing.
    pub fn migrate(&self) -> anyhow::Result<Vec<String>> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
        run_migrations(&mut conn)
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), AppError> {
        self.run(|conn| conn.ping().map_err(AppError::from)).await
    }
}

/// A transaction on this connection; on SQLite an immediate one (see [`Db::transaction`]).
pub fn transaction<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let DbConnection::Sqlite(c) = conn else {
        return conn.transaction(f);
    };
    if AnsiTransactionManager::transaction_manager_status_mut(c)
        .transaction_depth()?
        .is_some()
    {
        return conn.transaction(f);
    }
    AnsiTransactionManager::begin_transaction_sql(&mut *c, "BEGIN IMMEDIATE")?;
    let result = f(conn);
    let DbConnection::Sqlite(c) = conn else {
        return result;
    };
    match result {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(c)?;
            Ok(value)
        }
        Err(e) => {
            // The error that matters is f's; a failed rollback leaves the connection
            // broken, which the pool notices.
            let _ = AnsiTransactionManager::rollback_transaction(c);
            Err(e)
        }
    }
}

impl From<ConnectionError> for AppError {
    fn from(e: ConnectionError) -> Self {
        AppError::Unavailable(format!("database: {e}"))
    }
}

const MIGRATION_LOCK: i64 = 0x0063_6164_656e_7a61; // "cadenza"

pub fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<Vec<String>> {
    let applied = match conn {
        DbConnection::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let result = c
                .run_pending_migrations(PG_MIGRATIONS)
                .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>());
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
            result
        }
        DbConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>()),
    };
    applied.map_err(|e| anyhow::anyhow!("migration failed: {e}"))
}

/// Tables and columns of the current database, for the schema-parity test and `admin`:
/// `(table, column, nullable, type class)`, sorted. Diesel's own bookkeeping is left out.
#[derive(diesel::QueryableByName)]
struct RowCount {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Every table of the schema (migrations' bookkeeping excluded), sorted.
pub fn table_names(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    let mut names: Vec<String> = describe_schema(conn)
        .map_err(AppError::Internal)?
        .into_iter()
        .map(|(t, ..)| t)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Rows in `table`, a name from [`table_names`] (quoted as an identifier).
pub fn count_rows(conn: &mut DbConnection, table: &str) -> Result<i64, AppError> {
    use diesel::RunQueryDsl;
    let q = format!(
        "SELECT COUNT(*) AS n FROM \"{}\"",
        table.replace('"', "\"\"")
    );
    Ok(diesel::sql_query(q).get_result::<RowCount>(conn)?.n)
}

pub fn describe_schema(
    conn: &mut DbConnection,
) -> anyhow::Result<Vec<(String, String, bool, String)>> {
    backend::describe_schema(conn)
}
