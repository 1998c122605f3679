//! `spawn_app()`: the real application on a random port with a fresh database
//! (SQLite file, or a fresh PostgreSQL database), real storage (local folder, or a
//! prefix in an S3 bucket) and a captured mailer.
//!
//! The leg is chosen by the environment (the test script sets it):
//! - `CADENZA_TEST_DB` = `sqlite` (default) or `postgres`, with `CADENZA_TEST_PG_URL`
//!   naming a server we may create databases on;
//! - `CADENZA_TEST_STORE` = `local` (default) or `s3`, with `CADENZA_TEST_S3_ENDPOINT`,
//!   `CADENZA_TEST_S3_BUCKET`, `CADENZA_TEST_S3_ACCESS_KEY`, `CADENZA_TEST_S3_SECRET_KEY`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cadenza::config::Settings;
use cadenza::jobs::{JobRegistry, run_pending_jobs};
use cadenza::mail::Email;
use cadenza::startup::{Application, ApplicationBuilder, StopHandle};
use cadenza::state::AppState;
use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use figment::Figment;
use figment::providers::{Format, Toml};
use tempfile::TempDir;

/// An environment variable a leg needs. Outside CI a missing one skips the test
/// (returns None, with a note); with `CI=true` it fails the test.
pub fn require_env(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{name} is not set: this leg cannot run, and CI=true forbids skipping it");
            }
            eprintln!("skipped: {name} is not set (run the whole suite with scripts/test.sh)");
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestDb {
    Sqlite,
    Postgres,
}

pub fn test_db() -> TestDb {
    match std::env::var("CADENZA_TEST_DB").as_deref() {
        Ok("postgres") => TestDb::Postgres,
        _ => TestDb::Sqlite,
    }
}

pub fn test_store_is_s3() -> bool {
    std::env::var("CADENZA_TEST_STORE").as_deref() == Ok("s3")
}

/// A fresh, empty PostgreSQL database; dropped when the value is dropped.
pub struct PgDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl PgDatabase {
    pub fn create() -> PgDatabase {
        let admin_url = require_env("CADENZA_TEST_PG_URL")
            .expect("CADENZA_TEST_PG_URL is needed for the PostgreSQL leg");
        let name = format!("cadenza_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn =
            PgConnection::establish(&admin_url).expect("connect to the test PostgreSQL server");
        conn.batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create test database");
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&admin_url);
        PgDatabase {
            url: format!("{base}/{name}"),
            admin_url,
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin_url) {
            let _ = conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// Everything a test app lives on: a temp folder and maybe a PostgreSQL database.
pub struct TestEnv {
    pub dir: TempDir,
    /// Kept alive so the database is dropped with the environment.
    _pg: Option<PgDatabase>,
    pub config_path: PathBuf,
    pub toml: String,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        Self::with_extra("")
    }

    /// `extra` is TOML appended to the generated configuration.
    pub fn with_extra(extra: &str) -> TestEnv {
        let pg = (test_db() == TestDb::Postgres).then(PgDatabase::create);
        let url = pg.as_ref().map(|p| p.url.clone());
        Self::create(pg, url.as_deref(), extra)
    }

    /// An environment on a database the test provides (a private cluster).
    pub fn on_database(url: &str, extra: &str) -> TestEnv {
        Self::create(None, Some(url), extra)
    }

    fn create(pg: Option<PgDatabase>, url: Option<&str>, extra: &str) -> TestEnv {
        let dir = tempfile::tempdir().expect("temp dir");
        let toml = test_toml(dir.path(), url, extra);
        let config_path = dir.path().join("cadenza.toml");
        std::fs::write(&config_path, &toml).expect("write test config");
        TestEnv {
            dir,
            _pg: pg,
            config_path,
            toml,
        }
    }

    /// Edit the generated configuration (and its file) before the app starts.
    pub fn replace_in_config(&mut self, from: &str, to: &str) {
        assert!(self.toml.contains(from), "the test config has no {from:?}");
        self.toml = self.toml.replace(from, to);
        std::fs::write(&self.config_path, &self.toml).expect("write test config");
    }

    pub fn settings(&self) -> Settings {
        Settings::from_figment(Figment::new().merge(Toml::string(&self.toml)))
            .expect("test settings are valid")
    }
}

fn toml_str(s: &str) -> String {
    format!("{s:?}")
}

fn test_toml(dir: &Path, pg_url: Option<&str>, extra: &str) -> String {
    let mut t = format!(
        "data_dir = {}\n\
         [server]\nhost = \"127.0.0.1\"\nport = 0\npublic_url = \"http://127.0.0.1\"\nhttp_workers = 2\n\
         [mail]\nbackend = \"memory\"\nfrom = \"Cadenza Test <test@cadenza.invalid>\"\n\
         [jobs]\nworkers = 0\nbackoff_base_secs = 0\nlease_secs = 30\n\
         [auth]\nargon2_memory_kib = 1024\nargon2_iterations = 1\n\
         [log]\nlevel = \"warn\"\n\
         [uploads]\nmax_bytes = 209715200\nsweep_interval_secs = 0\npending_ttl_secs = 3600\norphan_grace_secs = 86400\n\
         [analysis]\nexecutable = {}\n",
        toml_str(&dir.display().to_string()),
        toml_str(env!("CARGO_BIN_EXE_cadenza"))
    );
    if let Some(url) = pg_url {
        t.push_str(&format!(
            "[database]\nurl = {}\npool_size = 5\n",
            toml_str(url)
        ));
    }
    if test_store_is_s3() {
        let endpoint = require_env("CADENZA_TEST_S3_ENDPOINT").expect("S3 endpoint");
        let bucket = require_env("CADENZA_TEST_S3_BUCKET").expect("S3 bucket");
        let ak = require_env("CADENZA_TEST_S3_ACCESS_KEY").expect("S3 access key");
        let sk = require_env("CADENZA_TEST_S3_SECRET_KEY").expect("S3 secret key");
        t.push_str(&format!(
            "[storage]\nbackend = \"s3\"\n[storage.s3]\nendpoint = {}\nbucket = {}\naccess_key = {}\nsecret_key = {}\n\
             path_style = true\nprefix = \"t-{}\"\ncreate_bucket = true\n",
            toml_str(&endpoint),
            toml_str(&bucket),
            toml_str(&ak),
            toml_str(&sk),
            uuid::Uuid::new_v4().simple()
        ));
    }
    // Later sections may add keys to the tables above only by naming new tables.
    t.push_str(extra);
    t
}

pub struct TestApp {
    pub address: String,
    pub state: AppState,
    pub registry: Arc<JobRegistry>,
    /// Follows no redirects; keeps cookies.
    pub client: reqwest::Client,
    stop: StopHandle,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pub env: TestEnv,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(TestEnv::new(), |b| b).await
}

pub async fn spawn_app_with(
    env: TestEnv,
    customize: impl FnOnce(ApplicationBuilder) -> ApplicationBuilder,
) -> TestApp {
    let builder = Application::builder(env.settings()).handle_signals(false);
    let app = customize(builder)
        .build()
        .await
        .expect("the application builds");
    let port = app.port();
    let state = app.state().clone();
    let registry = app.registry();
    let stop = app.stop_handle();
    let server = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("http client");
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        state,
        registry,
        client,
        stop,
        server: Some(server),
        env,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn run_pending_jobs(&self) -> usize {
        run_pending_jobs(&self.state, self.registry.clone()).await
    }

    pub fn emails(&self) -> Vec<Email> {
        self.state.mailer.captured()
    }

    /// Stop gracefully and wait until the server has stopped.
    pub async fn shutdown(mut self) {
        self.stop.stop().await;
        if let Some(s) = self.server.take() {
            let _ = s.await;
        }
    }
}

/// Path and query of an absolute URL (links in emails use the public URL).
pub fn path_of(url: &str) -> String {
    let u = url::Url::parse(url).expect("absolute URL");
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    }
}

/// The first URL in `text` that contains `needle`.
pub fn find_link(text: &str, needle: &str) -> Option<String> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| c == '"' || c == '<' || c == '>' || c == '\''))
        .find(|w| w.starts_with("http") && w.contains(needle))
        .map(str::to_string)
}

pub const SECURITY_HEADERS: [&str; 5] = [
    "content-security-policy",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "cross-origin-opener-policy",
];

pub fn assert_security_headers(res: &reqwest::Response) {
    for h in SECURITY_HEADERS {
        assert!(
            res.headers().contains_key(h),
            "{} {} lacks {h}",
            res.status(),
            res.url()
        );
    }
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
}

/// A small real PNG picture (4 × 3).
pub fn tiny_png() -> Vec<u8> {
    picture_png(4, 3)
}

/// A real PNG picture of `w` × `h` pixels (a gradient).
pub fn picture_png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 255 / w.max(1)) as u8, (y * 255 / h.max(1)) as u8, 120])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}
