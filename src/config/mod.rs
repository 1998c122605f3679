//! Layered, typed configuration: defaults in code → optional `cadenza.toml` →
//! `CADENZA__SECTION__KEY` environment variables. Unknown keys are an error.
//! Every key is documented in `docs/configuration.md`.

mod defaults;

use std::path::{Path, PathBuf};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

/// The signing secret used when none is configured. Production refuses it.
pub const DEFAULT_SECRET: &str = "insecure-development-secret-change-me";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    #[default]
    Development,
    Production,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub profile: Profile,
    /// Folder for everything the embedded defaults keep on disk.
    pub data_dir: PathBuf,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub storage: StorageSettings,
    pub mail: MailSettings,
    pub jobs: JobSettings,
    pub uploads: UploadSettings,
    pub analysis: AnalysisSettings,
    pub auth: AuthSettings,
    pub log: LogSettings,
    pub metrics: MetricsSettings,
    pub voting: VotingSettings,
    pub remix: RemixSettings,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// The address people use to reach Cadenza; links in emails are built from it.
    pub public_url: String,
    /// HTTP worker threads; 0 means one per core.
    pub http_workers: usize,
    /// Seconds to finish in-flight requests after SIGTERM.
    pub shutdown_timeout_secs: u64,
    /// Largest JSON body accepted, in bytes.
    pub json_limit_bytes: usize,
    /// Largest form body accepted, in bytes.
    pub form_limit_bytes: usize,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed; everyone
    /// else's client address is the connection's.
    pub trusted_proxies: Vec<String>,
    /// The request line and headers must arrive within this many seconds (408 after).
    pub head_timeout_secs: u64,
    /// A request body that sends nothing for this long is cut off (408).
    pub body_idle_secs: u64,
    /// After `body_grace_secs`, a request body must have averaged at least this many
    /// bytes a second, or it is cut off (408): a trickled body cannot hold a connection.
    pub body_min_bytes_per_sec: u64,
    pub body_grace_secs: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` or `postgres://…`; the scheme picks the backend.
    #[serde(serialize_with = "redact")]
    pub url: SecretString,
    pub pool_size: u32,
    /// Seconds to wait for a pooled connection before failing the request.
    pub acquire_timeout_secs: u64,
    /// PostgreSQL statement timeout, in milliseconds.
    pub statement_timeout_ms: u64,
    /// SQLite busy timeout, in milliseconds.
    pub busy_timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    Local,
    S3,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    pub backend: StorageBackend,
    /// Root folder of the local store; relative paths are under `data_dir`.
    pub local_root: PathBuf,
    pub s3: S3Settings,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Settings {
    pub bucket: String,
    pub region: String,
    /// Endpoint URL of an S3-compatible server; empty means AWS.
    pub endpoint: String,
    #[serde(serialize_with = "redact")]
    pub access_key: SecretString,
    #[serde(serialize_with = "redact")]
    pub secret_key: SecretString,
    /// Path-style addressing (`endpoint/bucket/key`), needed by most self-hosted servers.
    pub path_style: bool,
    /// Key prefix inside the bucket, so several deployments can share one bucket.
    pub prefix: String,
    /// Create the bucket at start-up if it does not exist.
    pub create_bucket: bool,
    /// Seconds before a single S3 request gives up.
    pub request_timeout_secs: u64,
    /// Uploads streamed to the store at once by this process. Each holds up to about
    /// 24 MiB of parts in memory (an 8 MiB part in flight, the next being read), so this bounds the
    /// process's upload memory whatever the number or size of uploads; more wait their
    /// turn (and answer 503 after `request_timeout_secs`).
    pub max_concurrent_uploads: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MailBackend {
    Outbox,
    Smtp,
    Memory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Implicit TLS (usually port 465).
    Tls,
    /// Plain connection upgraded with STARTTLS (usually port 587).
    Starttls,
    /// No encryption: only for local sinks such as Mailpit.
    Plain,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    pub backend: MailBackend,
    /// The From header of every message.
    pub from: String,
    /// Folder for `.eml` files of the outbox backend; relative paths are under `data_dir`.
    pub outbox_dir: PathBuf,
    pub smtp: SmtpSettings,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: String,
    #[serde(serialize_with = "redact")]
    pub password: SecretString,
    /// Extra PEM root certificate to trust (for a private mail server).
    pub ca_file: Option<PathBuf>,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobSettings {
    /// Workers `serve` runs in-process; 0 leaves jobs to `cadenza worker`.
    pub workers: usize,
    /// Milliseconds between polls of an empty queue.
    pub poll_interval_ms: u64,
    /// Seconds a claimed job stays leased without a heartbeat.
    pub lease_secs: u64,
    /// First retry delay in seconds; it doubles per attempt.
    pub backoff_base_secs: u64,
    pub backoff_max_secs: u64,
    /// Seconds a worker waits for the job in hand after SIGTERM before releasing it.
    pub shutdown_grace_secs: u64,
    /// Expensive analyses (the `heavy` lane) running at once across all workers; the
    /// other workers stay free for ordinary jobs. 0 stops the heavy lane.
    pub heavy_concurrency: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct UploadSettings {
    /// Largest audio file accepted, in bytes; enforced while the body streams.
    pub max_bytes: u64,
    /// Seconds an upload may stay unfinished before the sweeper removes it.
    pub pending_ttl_secs: u64,
    /// Seconds an object without a row is left alone before the sweeper deletes it.
    pub orphan_grace_secs: u64,
    /// Seconds between sweeps (0: never sweep automatically).
    pub sweep_interval_secs: u64,
    /// Seconds a presigned upload URL stays valid.
    pub presign_expiry_secs: u32,
    /// Seconds an Idempotency-Key is remembered.
    pub idempotency_ttl_secs: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisSettings {
    /// The `cadenza` binary the worker runs as the sandbox (default: this executable).
    pub executable: Option<PathBuf>,
    /// Address-space limit of the analysing child, MiB.
    pub memory_mib: u64,
    /// CPU-time limit of the analysing child, seconds.
    pub cpu_secs: u64,
    /// Wall-clock limit, seconds.
    pub wall_secs: u64,
    /// Longest decoded duration analysed, seconds.
    pub max_duration_secs: f64,
    /// Shortest matching stretch, in seconds, that flags two entries as the same recording.
    pub duplicate_min_secs: f64,
    /// Samples (seconds × rate × channels, from the file's header) above which an
    /// analysis runs in the `heavy` lane. Default: 10 minutes of 48 kHz stereo.
    pub heavy_samples: u64,
    /// Samples above which a file is refused without being analysed (with a message
    /// saying what to send instead). Default: 60 minutes of 96 kHz stereo.
    pub max_samples: u64,
    /// The storage budget of each rendition (the judges' copy and the public copy of an
    /// entry), MiB. Renditions are 16-bit WAV, at most stereo and 48 kHz: 256 MiB holds
    /// 23 minutes.
    pub rendition_max_mib: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Secret for signing; production refuses the default.
    #[serde(serialize_with = "redact")]
    pub secret: SecretString,
    /// Argon2id memory cost in KiB.
    pub argon2_memory_kib: u32,
    /// Argon2id iterations.
    pub argon2_iterations: u32,
    /// Hashes computed at once; 0 means one per core.
    pub max_concurrent_hashes: usize,
    /// Hours a password set-up link stays valid.
    pub setup_link_hours: i64,
    /// Identifier (`kid`) of the current signing key.
    pub key_id: String,
    /// The previous signing secret, kept to verify tokens it signed until
    /// `previous_retired_at` + one access-token lifetime.
    #[serde(serialize_with = "redact_opt")]
    pub previous_secret: Option<SecretString>,
    pub previous_key_id: Option<String>,
    /// When the previous key stopped signing (RFC 3339).
    pub previous_retired_at: Option<String>,
    /// Access-token lifetime in minutes.
    pub access_token_minutes: i64,
    /// Absolute lifetime of a sign-in session (refresh token family), in days.
    pub session_days: i64,
    /// Below this age an account waits for a guardian's consent.
    pub age_of_digital_consent: u32,
    /// Hours an email verification link stays valid.
    pub verify_link_hours: i64,
    /// Days a guardian consent link stays valid.
    pub guardian_link_days: i64,
    /// Failed sign-ins before each further try must wait (doubling).
    pub throttle_after_failures: i32,
    /// Failed sign-ins after which only a password reset lets the account in again.
    pub block_after_failures: i32,
    /// Sign-in attempts per client address per minute.
    pub sign_in_per_ip_per_minute: u32,
    /// Registrations per client address per hour.
    pub register_per_ip_per_hour: u32,
    /// Emails a client address may cause per hour (verification resends, resets, links).
    pub mail_per_ip_per_hour: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// A tracing filter such as `info` or `cadenza=debug,info`.
    pub level: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemixSettings {
    /// Seconds a signed download link of a stem or a song stays valid.
    pub download_link_secs: u64,
}

impl Default for RemixSettings {
    fn default() -> Self {
        RemixSettings {
            download_link_secs: 300,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// If set, `/metrics` requires `Authorization: Bearer <token>`.
    #[serde(serialize_with = "redact_opt")]
    pub token: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct VotingSettings {
    /// PBKDF2 iterations per proof-of-work attempt (ALTCHA `cost`).
    pub pow_cost: u32,
    /// The server picks the solution's counter below this; a browser tries half of it
    /// on average, so `pow_cost × pow_max_counter / 2` iterations is the expected work.
    pub pow_max_counter: u32,
    /// Seconds a challenge stays valid.
    pub pow_expiry_secs: i64,
    /// Vote requests per client address per minute (sustained) …
    pub ip_per_minute: u32,
    /// … and how many may come at once.
    pub ip_burst: u32,
    /// Vote requests per network (/24 or /48) per minute.
    pub network_per_minute: u32,
    /// Vote requests per voter per minute.
    pub voter_per_minute: u32,
    /// The limits above are for the whole deployment: each live `serve` process keeps
    /// its share (limit ÷ processes), which holds behind a balancer that spreads a
    /// client's requests (round robin, least connections). With a balancer that pins a
    /// client to one process (IP hash), set false: each process then keeps the whole limit.
    pub split_limits: bool,
    /// Networks (CIDR) exempt from the per-address and per-network limits everywhere;
    /// a round can add its own venue networks.
    pub allowlist: Vec<String>,
    /// Group-commit writers per process on PostgreSQL (SQLite always uses one).
    pub writers: usize,
    /// Most votes written in one group commit.
    pub batch_max: usize,
    /// Votes that may wait for the writer before senders wait too.
    pub queue: usize,
    /// Seconds a voter's account facts are reused on the vote path (sign-out reaches
    /// voting within this time).
    pub voter_cache_secs: u64,
    /// Milliseconds a leaderboard read from the tallies is reused.
    pub leaderboard_cache_ms: u64,
    /// Seconds a vote must be old before the audit's mark passes it (it may still be
    /// being written when the audit reads; see `service::audit_step`).
    pub audit_margin_secs: u64,
}

impl Default for VotingSettings {
    fn default() -> Self {
        Self {
            pow_cost: 5000,
            pow_max_counter: 400,
            pow_expiry_secs: 600,
            ip_per_minute: 120,
            ip_burst: 30,
            network_per_minute: 600,
            voter_per_minute: 5,
            split_limits: true,
            allowlist: Vec::new(),
            writers: 2,
            batch_max: 1000,
            queue: 20_000,
            voter_cache_secs: 15,
            leaderboard_cache_ms: 500,
            audit_margin_secs: 120,
        }
    }
}

/// Secrets serialize as a marker, never as their value (`Serialize` exists for docs and diagnostics).
fn redact<S: Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("<redacted>")
}

fn redact_opt<S: Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str("<redacted>"),
        None => s.serialize_none(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration is invalid: {0}")]
    Invalid(String),
    #[error("the production profile refuses to start: {0}")]
    Production(String),
}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        // figment's messages name the key and the source (file or environment variable).
        let all: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
        ConfigError::Invalid(all.join("; "))
    }
}

impl Settings {
    /// Load settings from the defaults, an optional TOML file and the environment.
    ///
    /// `explicit` is a file named with `--config` or `CADENZA_CONFIG`: it must exist.
    /// Otherwise `./cadenza.toml` is read when present.
    pub fn load(explicit: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut figment = Figment::new();
        match explicit {
            Some(path) => {
                if !path.is_file() {
                    return Err(ConfigError::Invalid(format!(
                        "config file {} does not exist",
                        path.display()
                    )));
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None if Path::new("cadenza.toml").is_file() => {
                figment = figment.merge(Toml::file_exact("cadenza.toml"));
            }
            None => {}
        }
        figment = figment.merge(Env::prefixed("CADENZA__").split("__"));
        Self::from_figment(figment)
    }

    pub fn from_figment(figment: Figment) -> Result<Settings, ConfigError> {
        let mut settings: Settings = figment.extract()?;
        settings.resolve();
        settings.validate()?;
        Ok(settings)
    }

    /// Fill derived defaults: paths under `data_dir` and the SQLite URL.
    fn resolve(&mut self) {
        if self.database.url.expose_secret().is_empty() {
            let path = self.data_dir.join("cadenza.db");
            self.database.url = SecretString::from(format!("sqlite://{}", path.display()));
        }
        if self.storage.local_root.is_relative() {
            self.storage.local_root = self.data_dir.join(&self.storage.local_root);
        }
        if self.mail.outbox_dir.is_relative() {
            self.mail.outbox_dir = self.data_dir.join(&self.mail.outbox_dir);
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = self.database.url.expose_secret();
        if !(url.starts_with("sqlite://")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid(
                "database.url must start with sqlite://, postgres:// or postgresql://".into(),
            ));
        }
        if url::Url::parse(&self.server.public_url).is_err() {
            return Err(ConfigError::Invalid(
                "server.public_url must be an absolute URL".into(),
            ));
        }
        if self.storage.backend == StorageBackend::S3 && self.storage.s3.bucket.is_empty() {
            return Err(ConfigError::Invalid("storage.s3.bucket is empty".into()));
        }
        if self.database.pool_size == 0 {
            return Err(ConfigError::Invalid(
                "database.pool_size must be at least 1".into(),
            ));
        }
        if self.profile == Profile::Production {
            if self.mail.backend != MailBackend::Smtp {
                return Err(ConfigError::Production(
                    "mail.backend must be \"smtp\" (the outbox and memory mailers deliver nothing)"
                        .into(),
                ));
            }
            let secret = self.auth.secret.expose_secret();
            if secret == DEFAULT_SECRET || secret.len() < 32 {
                return Err(ConfigError::Production(
                    "auth.secret must be set to a random value of at least 32 characters".into(),
                ));
            }
            if !self.server.public_url.starts_with("https://") {
                return Err(ConfigError::Production(
                    "server.public_url must be an https:// URL".into(),
                ));
            }
        }
        Ok(())
    }

    pub fn is_https(&self) -> bool {
        self.server.public_url.starts_with("https://")
    }

    /// `public_url` without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.server.public_url.trim_end_matches('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str) -> Result<Settings, ConfigError> {
        Settings::from_figment(Figment::new().merge(Toml::string(toml)))
    }

    #[test]
    fn defaults_are_embedded() {
        let s = load("").unwrap();
        assert_eq!(s.server.host, "127.0.0.1");
        assert_eq!(s.server.port, 8080);
        assert_eq!(s.database.url.expose_secret(), "sqlite://data/cadenza.db");
        assert_eq!(s.storage.local_root, PathBuf::from("data/objects"));
        assert_eq!(s.mail.outbox_dir, PathBuf::from("data/outbox"));
        assert_eq!(s.mail.backend, MailBackend::Outbox);
        assert!(s.jobs.workers > 0);
    }

    #[test]
    fn unknown_keys_are_errors() {
        let e = load("[server]\nprot = 1\n").unwrap_err().to_string();
        assert!(e.contains("prot"), "{e}");
        assert!(load("colour = 1\n").is_err());
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns figment::Error
    fn file_then_environment_layers() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "cadenza.toml",
                "[server]\nport = 9000\nhost = \"0.0.0.0\"\n",
            )?;
            jail.set_env("CADENZA__SERVER__PORT", "9100");
            jail.set_env("CADENZA__STORAGE__S3__BUCKET", "media");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.server.port, 9100, "environment beats the file");
            assert_eq!(s.server.host, "0.0.0.0", "the file beats the defaults");
            assert_eq!(s.storage.s3.bucket, "media");
            jail.set_env("CADENZA__SERVER__PROT", "1");
            let e = Settings::load(None).unwrap_err().to_string();
            assert!(e.contains("prot"), "an unknown variable is named: {e}");
            Ok(())
        });
    }

    #[test]
    fn an_explicit_config_file_must_exist() {
        assert!(Settings::load(Some(Path::new("/no/such/cadenza.toml"))).is_err());
    }

    #[test]
    fn production_refuses_unsafe_settings() {
        let good = r#"
            profile = "production"
            [server]
            public_url = "https://contest.example.org"
            [mail]
            backend = "smtp"
            [auth]
            secret = "0123456789abcdef0123456789abcdef-x"
        "#;
        assert!(load(good).is_ok());
        let outbox = good.replace("backend = \"smtp\"", "backend = \"outbox\"");
        assert!(matches!(load(&outbox), Err(ConfigError::Production(m)) if m.contains("mail")));
        let http = good.replace("https://", "http://");
        assert!(matches!(load(&http), Err(ConfigError::Production(m)) if m.contains("public_url")));
        let default_secret = good.replace("0123456789abcdef0123456789abcdef-x", DEFAULT_SECRET);
        assert!(
            matches!(load(&default_secret), Err(ConfigError::Production(m)) if m.contains("secret"))
        );
    }

    #[test]
    fn secrets_never_serialize() {
        let s = load(
            "[auth]\nsecret = \"very-secret-value\"\n[database]\nurl = \"postgres://u:pw@h/db\"\n",
        )
        .unwrap();
        let text = toml::to_string(&s).unwrap();
        assert!(
            !text.contains("very-secret-value") && !text.contains("pw@h"),
            "{text}"
        );
        assert!(text.contains("<redacted>"));
    }

    fn flatten(prefix: &str, v: &toml::Value, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flatten(&key, v, out);
                }
            }
            _ => out.push(prefix.to_string()),
        }
    }

    /// Every key the code accepts is documented in docs/configuration.md, in its section.
    #[test]
    fn every_key_is_documented() {
        let docs = include_str!("../../docs/configuration.md");
        let mut documented = std::collections::HashSet::new();
        let mut section = String::new();
        for line in docs.lines() {
            if line.starts_with("## Top level") {
                section.clear();
            } else if line.starts_with('#') && line.contains("`[") {
                let start = line.find("`[").unwrap() + 2;
                let end = line[start..].find(']').unwrap() + start;
                section = line[start..end].to_string();
            } else if let Some(cell) = line.strip_prefix("| `") {
                let first = cell.split('|').next().unwrap_or("");
                for name in format!("`{first}").split('`').skip(1).step_by(2) {
                    let key = if section.is_empty() {
                        name.to_string()
                    } else {
                        format!("{section}.{name}")
                    };
                    documented.insert(key);
                }
            }
        }
        let mut defaults = Settings::default();
        defaults.metrics.token = Some(SecretString::from("x"));
        defaults.mail.smtp.ca_file = Some(PathBuf::from("x"));
        let value = toml::Value::try_from(&defaults).unwrap();
        let mut keys = Vec::new();
        flatten("", &value, &mut keys);
        let missing: Vec<_> = keys.iter().filter(|k| !documented.contains(*k)).collect();
        assert!(
            missing.is_empty(),
            "undocumented configuration keys: {missing:?}"
        );
        assert!(keys.len() > 30);
    }

    #[test]
    fn bad_database_scheme_is_refused() {
        assert!(load("[database]\nurl = \"mysql://x\"\n").is_err());
    }
}
