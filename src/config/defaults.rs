//! The first layer of the settings: the defaults in code, which run Cadenza on its
//! embedded database, a local folder and the outbox (see `docs/configuration.md`).

use std::path::PathBuf;

use secrecy::SecretString;

use super::*;

impl Default for Settings {
    fn default() -> Self {
        Self {
            profile: Profile::Development,
            data_dir: PathBuf::from("data"),
            server: ServerSettings::default(),
            database: DatabaseSettings::default(),
            storage: StorageSettings::default(),
            mail: MailSettings::default(),
            jobs: JobSettings::default(),
            uploads: UploadSettings::default(),
            analysis: AnalysisSettings::default(),
            auth: AuthSettings::default(),
            log: LogSettings::default(),
            metrics: MetricsSettings::default(),
            voting: VotingSettings::default(),
            remix: RemixSettings::default(),
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            public_url: "http://localhost:8080".into(),
            http_workers: 0,
            shutdown_timeout_secs: 30,
            json_limit_bytes: 256 * 1024,
            form_limit_bytes: 64 * 1024,
            trusted_proxies: Vec::new(),
            head_timeout_secs: 10,
            body_idle_secs: 30,
            body_min_bytes_per_sec: 1024,
            body_grace_secs: 10,
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from(""),
            pool_size: 10,
            acquire_timeout_secs: 2,
            statement_timeout_ms: 5000,
            busy_timeout_ms: 5000,
        }
    }
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            backend: StorageBackend::Local,
            local_root: PathBuf::from("objects"),
            s3: S3Settings::default(),
        }
    }
}

impl Default for S3Settings {
    fn default() -> Self {
        Self {
            bucket: "cadenza".into(),
            region: "us-east-1".into(),
            endpoint: String::new(),
            access_key: SecretString::from(""),
            secret_key: SecretString::from(""),
            path_style: true,
            prefix: String::new(),
            create_bucket: false,
            request_timeout_secs: 30,
            max_concurrent_uploads: 8,
        }
    }
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            backend: MailBackend::Outbox,
            from: "Cadenza <no-reply@localhost>".into(),
            outbox_dir: PathBuf::from("outbox"),
            smtp: SmtpSettings::default(),
        }
    }
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: String::new(),
            password: SecretString::from(""),
            ca_file: None,
            timeout_secs: 10,
        }
    }
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            workers: 2,
            poll_interval_ms: 500,
            lease_secs: 300,
            backoff_base_secs: 5,
            backoff_max_secs: 3600,
            shutdown_grace_secs: 20,
            heavy_concurrency: 1,
        }
    }
}

impl Default for UploadSettings {
    fn default() -> Self {
        Self {
            max_bytes: 200 * 1024 * 1024,
            pending_ttl_secs: 3600,
            orphan_grace_secs: 24 * 3600,
            sweep_interval_secs: 600,
            presign_expiry_secs: 900,
            idempotency_ttl_secs: 24 * 3600,
        }
    }
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        Self {
            executable: None,
            memory_mib: 512,
            cpu_secs: 120,
            wall_secs: 180,
            max_duration_secs: 3600.0,
            duplicate_min_secs: 10.0,
            heavy_samples: 10 * 60 * 48_000 * 2,
            max_samples: 60 * 60 * 96_000 * 2,
            rendition_max_mib: 256,
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            secret: SecretString::from(DEFAULT_SECRET),
            argon2_memory_kib: 64 * 1024,
            argon2_iterations: 3,
            max_concurrent_hashes: 0,
            setup_link_hours: 72,
            key_id: "k1".into(),
            previous_secret: None,
            previous_key_id: None,
            previous_retired_at: None,
            access_token_minutes: 15,
            session_days: 14,
            age_of_digital_consent: 14,
            verify_link_hours: 24,
            guardian_link_days: 7,
            throttle_after_failures: 5,
            block_after_failures: 100,
            sign_in_per_ip_per_minute: 30,
            register_per_ip_per_hour: 20,
            mail_per_ip_per_hour: 30,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}
