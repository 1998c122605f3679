//! The command line: `serve` (default), `worker`, `migrate`, `admin …`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::i18n::Locale;
use crate::jobs::store as job_store;
use crate::startup::{Application, build_state, run_workers_until_stopped};

#[derive(Parser, Debug)]
#[command(name = "cadenza", version, about = "Run music creativity competitions")]
pub struct Cli {
    /// A TOML configuration file (default: ./cadenza.toml when present).
    #[arg(long, global = true, env = "CADENZA_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the web app and the API, with job workers in-process (the default).
    Serve,
    /// Run job workers only.
    Worker {
        /// How many workers (default: jobs.workers, at least 1).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Analyse an audio file: loudness, peaks, silence, clipping, and the verdict of a
    /// policy. Exit code 0 pass, 10 warn, 20 reject, 30 unreadable.
    Analyze {
        file: PathBuf,
        /// Print JSON (the report, and the verdict when a policy is given).
        #[arg(long)]
        json: bool,
        /// A policy file (TOML, or JSON by extension) to judge the file against.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Skip the acoustic fingerprint.
        #[arg(long)]
        no_fingerprint: bool,
        /// Stop decoding after this many seconds of audio.
        #[arg(long, default_value_t = 1800.0)]
        max_duration: f64,
        /// Language of the text report: en or zh-CN.
        #[arg(long, default_value = "en")]
        lang: String,
        /// Only decode (the benchmark's floor); prints the number of frames.
        #[arg(long, hide = true)]
        decode_only: bool,
        /// Only read the header: print its rate, channels and length as JSON (the
        /// workers estimate an analysis's cost from it).
        #[arg(long)]
        probe: bool,
        /// Write a clean 16-bit WAV rendition (no tags) of the file here, instead of a
        /// report; prints the number of frames. The judging workers use it.
        #[arg(long, value_name = "OUT")]
        render: Option<PathBuf>,
        /// With --render: multiply the audio by this gain (dB) before writing it (the
        /// public renditions are loudness-matched this way).
        #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
        render_gain_db: f64,
        /// With --render: the largest rendition written, in bytes (the audio is cut
        /// there). Renditions are also at most stereo and 48 kHz.
        #[arg(long, default_value_t = 256 * 1024 * 1024)]
        render_max_bytes: u64,
        /// Write an album's release files of the file into this folder (track.flac and
        /// track.mp3, tagged), scaled by --render-gain-db; prints what the engine
        /// measures on them as JSON. The album workers use it.
        #[arg(long, value_name = "DIR")]
        release: Option<PathBuf>,
        /// With --release: the tags, as a JSON file (`audio::release::ReleaseTags`).
        #[arg(long, value_name = "FILE")]
        release_tags: Option<PathBuf>,
        /// With --release: the cover picture (JPEG or PNG) to embed.
        #[arg(long, value_name = "FILE")]
        release_cover: Option<PathBuf>,
    },
    /// Administration tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Create an organiser account and print a one-time link to set its password.
    CreateOrganiser {
        #[arg(long)]
        email: String,
        /// Language of the welcome email: en or zh-CN.
        #[arg(long, default_value = "en")]
        lang: String,
    },
    /// Give an existing account a site role: `admin` (the site administration, for the
    /// first admin) or `organiser`.
    Grant {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["admin", "organiser"])]
        role: String,
    },
    /// Queue a self-test job (storage round trip) and wait for a worker to run it.
    Selftest {
        /// Keep the job running this many milliseconds after its checks.
        #[arg(long, default_value_t = 0)]
        hold_ms: u64,
        /// Only queue it; do not wait.
        #[arg(long)]
        no_wait: bool,
    },
    /// Count jobs by status.
    Jobs,
    /// List the live serve and worker processes (seen in the last 15 seconds).
    Processes,
    /// Run every job that is due now, then exit (for operators and scripts).
    RunJobs,
    /// Remove unfinished uploads past their time and objects no row refers to.
    Sweep,
    /// Count what the deployment holds: rows per table, objects, and each voting round's
    /// tally hash. With --compare, check against an earlier census (exit 1 on any
    /// difference): the restore drill's check.
    Census {
        /// Print JSON (to keep, and to compare later).
        #[arg(long)]
        json: bool,
        /// A census saved earlier with --json that this one must equal.
        #[arg(long, value_name = "FILE")]
        compare: Option<PathBuf>,
    },
    /// Copy every object of the store into a folder (the object half of a backup).
    BackupObjects {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Store every file of a folder made by backup-objects as the object of its key.
    RestoreObjects {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

/// `cadenza analyze --release DIR`: the album's release files of one track, and what
/// the engine measures on them (JSON), or the typed error (JSON) and exit code 30.
fn release_files(
    file: &std::path::Path,
    dir: &std::path::Path,
    gain_db: f64,
    tags: Option<&std::path::Path>,
    cover: Option<&std::path::Path>,
    limits: crate::audio::Limits,
    caps: crate::audio::RenditionCaps,
) -> ExitCode {
    use crate::audio::AnalysisError;
    let made = (|| {
        let tags: crate::audio::release::ReleaseTags = match tags {
            Some(p) => std::fs::read(p)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .ok_or_else(|| AnalysisError::Io("the tags file is unreadable".into()))?,
            None => Default::default(),
        };
        let cover = cover
            .map(std::fs::read)
            .transpose()
            .map_err(|e| AnalysisError::Io(format!("the cover: {e}")))?;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            crate::audio::release::make_release(
                file,
                dir,
                gain_db,
                &tags,
                cover.as_deref(),
                limits,
                caps,
            )
        }))
        .unwrap_or_else(|_| Err(AnalysisError::Crashed("the encoder failed".into())))
    })();
    match made {
        Ok(out) => {
            println!("{}", serde_json::to_string(&out).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{}", serde_json::to_string(&e).unwrap_or_default());
            eprintln!("{}: {e}", file.display());
            ExitCode::from(crate::audio::cli::EXIT_UNREADABLE)
        }
    }
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    // Analysis needs no configuration, database or runtime: it is also the isolated
    // child process the workers start, so it stays single-threaded and small.
    if let Some(Command::Analyze {
        file,
        json,
        policy,
        no_fingerprint,
        max_duration,
        lang,
        decode_only,
        probe,
        render,
        render_gain_db,
        render_max_bytes,
        release,
        release_tags,
        release_cover,
    }) = &cli.command
    {
        let Some(locale) = Locale::parse(lang) else {
            eprintln!("cadenza analyze: --lang must be en or zh-CN");
            return ExitCode::from(2);
        };
        let options = crate::audio::Options {
            limits: crate::audio::Limits {
                max_decoded_secs: *max_duration,
                ..crate::audio::Limits::default()
            },
            fingerprint: !no_fingerprint,
        };
        let caps = crate::audio::RenditionCaps {
            max_bytes: *render_max_bytes,
        };
        if let Some(dir) = release {
            return release_files(
                file,
                dir,
                *render_gain_db,
                release_tags.as_deref(),
                release_cover.as_deref(),
                options.limits,
                caps,
            );
        }
        if let Some(out) = render {
            return match crate::audio::render_wav(file, out, options.limits, *render_gain_db, caps)
            {
                Ok(frames) => {
                    println!("{frames}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{}: {}", file.display(), e.message(locale));
                    ExitCode::from(crate::audio::cli::EXIT_UNREADABLE)
                }
            };
        }
        if *probe {
            return match crate::audio::probe(file, options.limits) {
                Ok(p) => {
                    println!("{}", serde_json::to_string(&p).unwrap_or_default());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    // The typed error, for the worker to keep.
                    println!("{}", serde_json::to_string(&e).unwrap_or_default());
                    eprintln!("{}: {}", file.display(), e.message(locale));
                    ExitCode::from(crate::audio::cli::EXIT_UNREADABLE)
                }
            };
        }
        if *decode_only {
            return match crate::audio::decode_only(file, options.limits) {
                Ok(frames) => {
                    println!("{frames}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{}: {}", file.display(), e.message(locale));
                    ExitCode::from(crate::audio::cli::EXIT_UNREADABLE)
                }
            };
        }
        return ExitCode::from(crate::audio::cli::run(
            file,
            *json,
            policy.as_deref(),
            options,
            locale,
        ));
    }
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cadenza: {e}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(&settings.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cadenza: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(dispatch(cli.command.unwrap_or(Command::Serve), settings));
    match result {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "cadenza failed");
            eprintln!("cadenza: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => {
            let app = Application::build(settings).await?;
            app.run_until_stopped().await?;
        }
        Command::Worker { workers } => {
            let n = workers.unwrap_or(settings.jobs.workers).max(1);
            let registry = Arc::new(crate::startup::jobs::standard(&settings));
            let state = build_state(settings, None).await?;
            run_workers_until_stopped(state, registry, n).await?;
        }
        Command::Migrate => {
            // Building the state applies migrations.
            let state = build_state(settings, None).await?;
            println!("database is up to date ({})", state.db.backend().name());
        }
        Command::Admin { command } => return admin(command, settings).await,
        Command::Analyze { .. } => unreachable!("handled before the runtime starts"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn admin(command: AdminCommand, settings: Settings) -> anyhow::Result<ExitCode> {
    let state = build_state(settings, None).await?;
    match command {
        AdminCommand::CreateOrganiser { email, lang } => {
            let locale = Locale::parse(&lang)
                .ok_or_else(|| anyhow::anyhow!("--lang must be en or zh-CN"))?;
            match crate::accounts::service::create_organiser(&state, &email, locale).await {
                Ok(link) => {
                    let what = if link.created {
                        "Created organiser"
                    } else {
                        "Made organiser"
                    };
                    println!("{what} {}.", link.email);
                    println!(
                        "Open this link to set the password (it works once, for {} hours):",
                        state.settings.auth.setup_link_hours
                    );
                    println!("{}", link.url);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("cadenza: {}", e.message(Locale::En));
                    Ok(ExitCode::from(2))
                }
            }
        }
        AdminCommand::Grant { email, role } => {
            let role = crate::accounts::admin::SiteRole::parse(&role)
                .map_err(|e| anyhow::anyhow!(e.message(Locale::En)))?;
            let user = match crate::accounts::admin::find_by_email(&state, &email).await {
                Ok(u) => u,
                Err(crate::error::AppError::NotFound) => {
                    eprintln!(
                        "cadenza: no account has the address {email}. Register it first, or make it \
                         with `cadenza admin create-organiser --email {email}`."
                    );
                    return Ok(ExitCode::from(2));
                }
                Err(e) => {
                    eprintln!("cadenza: {}", e.message(Locale::En));
                    return Ok(ExitCode::from(2));
                }
            };
            match crate::accounts::admin::grant(&state, None, &user.id, role).await {
                Ok(v) => {
                    println!("{} now has the roles: {}.", v.email, v.roles.join(", "));
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("cadenza: {}", e.message(Locale::En));
                    Ok(ExitCode::from(2))
                }
            }
        }
        AdminCommand::Selftest { hold_ms, no_wait } => {
            let id = state
                .db
                .run(move |c| {
                    crate::jobs::enqueue(
                        c,
                        &crate::startup::jobs::Selftest { hold_ms },
                        chrono::Utc::now().naive_utc(),
                        None,
                    )
                })
                .await?;
            println!("queued self-test job {id}");
            if no_wait {
                return Ok(ExitCode::SUCCESS);
            }
            let deadline = tokio::time::Instant::now()
                + Duration::from_secs(60)
                + Duration::from_millis(hold_ms);
            loop {
                let job = state.db.run(move |c| job_store::find(c, id)).await?;
                match job.as_ref().map(|j| j.status.as_str()) {
                    Some(job_store::DONE) => {
                        println!("self-test passed: a worker ran it and the object store answered");
                        return Ok(ExitCode::SUCCESS);
                    }
                    Some(job_store::DEAD) => {
                        println!(
                            "self-test failed: {}",
                            job.and_then(|j| j.last_error).unwrap_or_default()
                        );
                        return Ok(ExitCode::FAILURE);
                    }
                    _ if tokio::time::Instant::now() > deadline => {
                        println!(
                            "self-test not finished after 60 s: is a worker running (`cadenza serve` or `cadenza worker`)?"
                        );
                        return Ok(ExitCode::FAILURE);
                    }
                    _ => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        }
        AdminCommand::RunJobs => {
            let n = crate::jobs::run_pending_jobs(
                &state,
                std::sync::Arc::new(crate::startup::jobs::standard(&state.settings)),
            )
            .await;
            println!("ran {n} job(s)");
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::Sweep => match crate::submissions::sweeper::sweep(&state).await {
            Ok(r) => {
                println!(
                    "removed {} unfinished upload(s), {} orphan object(s), {} expired idempotency key(s)",
                    r.stale_uploads, r.orphan_objects, r.idempotency_keys
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                println!("sweep failed: {e}");
                Ok(ExitCode::FAILURE)
            }
        },
        AdminCommand::Census { json, compare } => {
            let census = crate::admin::census(&state).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&census)?);
            } else {
                for (table, n) in &census.tables {
                    println!("{n:>10} {table}");
                }
                println!(
                    "{:>10} objects ({} bytes)",
                    census.objects, census.object_bytes
                );
                for (round, hash) in &census.tally_hashes {
                    println!("voting round {round}: tally hash {hash}");
                }
            }
            if let Some(path) = compare {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
                let expected: crate::admin::Census = serde_json::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("{} is not a census: {e}", path.display()))?;
                let diff = crate::admin::compare(&expected, &census);
                if !diff.is_empty() {
                    for d in &diff {
                        eprintln!("differs: {d}");
                    }
                    return Ok(ExitCode::FAILURE);
                }
                eprintln!(
                    "matches {}: {} tables, {} objects, {} tally hash(es)",
                    path.display(),
                    census.tables.len(),
                    census.objects,
                    census.tally_hashes.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::BackupObjects { dir } => {
            let (n, bytes) = crate::admin::backup_objects(&state, &dir).await?;
            println!("copied {n} object(s), {bytes} bytes, to {}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::RestoreObjects { dir } => {
            let (n, bytes) = crate::admin::restore_objects(&state, &dir).await?;
            println!(
                "stored {n} object(s), {bytes} bytes, from {}",
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::Processes => {
            let live = state
                .db
                .run(|c| crate::db::processes::live(c, None, crate::processes::LIVE_FOR))
                .await?;
            if live.is_empty() {
                println!("no live processes");
            }
            for p in live {
                println!(
                    "{:<7} {} pid {} v{} since {} (seen {})",
                    p.kind, p.host, p.pid, p.version, p.started_at, p.seen_at
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::Jobs => {
            let counts = state.db.run(job_store::count_by_status).await?;
            if counts.is_empty() {
                println!("no jobs");
            }
            for (status, n) in counts {
                println!("{status:>8} {n}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
