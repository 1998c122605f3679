//! The composition root, on top of everything: it builds the state (and installs what
//! features keep in it), registers every feature's routes and the middleware, wires the
//! job registry, and runs the HTTP server (bound to a port, 0 in tests) and the
//! in-process job workers side by side until a signal or a stop request.

pub mod jobs;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::error::{JsonPayloadError, QueryPayloadError, UrlencodedError};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpServer, web};
use actix_web_lab::middleware::CatchPanic;
use tokio_util::sync::CancellationToken;
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::jwt::JwtKeys;
use crate::auth::password::PasswordHasher;
use crate::config::Settings;
use crate::db::Db;
use crate::error::AppError;
use crate::http::{envelope, health, metrics, security};
use crate::jobs::JobRegistry;
use crate::mail::Mailer;
use crate::openapi::ApiDoc;
use crate::state::{AppState, Infrastructure, Parts};
use crate::storage::ObjectStore;
use crate::voting::VotingState as _;

/// Build the application state: connect to the database (applying migrations), the
/// object store and the mailer, and install what features keep for the life of the
/// process (public voting's writer and caches, the sessions that ended).
pub async fn build_state(settings: Settings, mailer: Option<Mailer>) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(&settings.data_dir).ok();
    let db = Db::connect(&settings.database)?;
    let migrator = db.clone();
    let applied = tokio::task::spawn_blocking(move || migrator.migrate()).await??;
    for m in &applied {
        tracing::info!(migration = %m, backend = db.backend().name(), "applied migration");
    }
    if applied
        .iter()
        .any(|m| m.replace(['-', '_'], "").starts_with("20261202000011"))
    {
        // Entries analysed before the duplicate index existed join it once.
        let n = db
            .run(crate::submissions::service::index_fingerprint_backlog)
            .await
            .map_err(|e| anyhow::anyhow!("indexing fingerprints: {e}"))?;
        tracing::info!(
            entries = n,
            "indexed earlier fingerprints for duplicate checks"
        );
    }
    let storage = ObjectStore::from_settings(&settings.storage)
        .await
        .map_err(|e| anyhow::anyhow!("object store: {e}"))?;
    let mailer = match mailer {
        Some(m) => m,
        None => Mailer::from_settings(&settings.mail)?,
    };
    let hasher = PasswordHasher::new(&settings.auth)?;
    let jwt = JwtKeys::from_settings(&settings)?;
    let parts = Parts::default()
        .with(crate::voting::Runtime::start(&settings, db.clone())?)
        .with(crate::accounts::Revocations::new(Duration::from_secs(
            24 * 3600,
        )))
        .with(personal_data())
        .with(crate::submissions::sweeper::Referenced(vec![
            crate::accounts::service::avatar_keys,
            crate::competitions::service::image_keys,
            crate::judging::service::rendition_keys,
            crate::remix::service::file_keys,
            crate::album::service::keys,
        ]))
        .with(crate::submissions::sections::EntrySections(vec![
            Box::new(crate::results::outcome::OutcomeSection),
            Box::new(crate::remix::pages::RemixSection),
        ]));
    Ok(AppState::new(
        Infrastructure {
            settings,
            db,
            storage,
            mailer,
            hasher,
            jwt,
        },
        parts,
    ))
}

/// The features that hold personal data, as accounts asks them (export, erasure, a
/// guardian's withdrawn consent). Judging comes before submissions: it finds the
/// renditions it made through the uploads that submissions then removes.
fn personal_data() -> crate::accounts::holders::Holders {
    crate::accounts::holders::Holders(vec![
        Box::new(crate::judging::service::JudgingData),
        Box::new(crate::submissions::service::EntryData),
        Box::new(crate::voting::service::VotingData),
        Box::new(crate::remix::links::LicenceData),
        Box::new(crate::comments::service::CommentData),
        Box::new(crate::album::service::AlbumData),
    ])
}

type RouteHook = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

/// Options for [`Application`]; tests add routes, job kinds or a captured mailer.
pub struct ApplicationBuilder {
    settings: Settings,
    mailer: Option<Mailer>,
    registry: JobRegistry,
    extra_routes: Vec<RouteHook>,
    handle_signals: bool,
}

impl ApplicationBuilder {
    pub fn mailer(mut self, mailer: Mailer) -> Self {
        self.mailer = Some(mailer);
        self
    }

    pub fn job_registry(mut self, registry: JobRegistry) -> Self {
        self.registry = registry;
        self
    }

    pub fn routes(mut self, f: impl Fn(&mut web::ServiceConfig) + Send + Sync + 'static) -> Self {
        self.extra_routes.push(Arc::new(f));
        self
    }

    /// Whether SIGTERM/SIGINT stop the application (the binary: yes; tests: no).
    pub fn handle_signals(mut self, yes: bool) -> Self {
        self.handle_signals = yes;
        self
    }

    pub async fn build(self) -> anyhow::Result<Application> {
        let state = build_state(self.settings, self.mailer).await?;
        let s = &state.settings.server;
        let listener = TcpListener::bind((s.host.as_str(), s.port))
            .map_err(|e| anyhow::anyhow!("cannot listen on {}:{}: {e}", s.host, s.port))?;
        let port = listener.local_addr()?.port();
        let server = http_server(state.clone(), listener, self.extra_routes)?;
        Ok(Application {
            port,
            server,
            shutdown: state.shutdown.clone(),
            state,
            registry: Arc::new(self.registry),
            handle_signals: self.handle_signals,
        })
    }
}

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    registry: Arc<JobRegistry>,
    shutdown: CancellationToken,
    handle_signals: bool,
}

/// Stops a running [`Application`] gracefully from elsewhere (tests).
#[derive(Clone)]
pub struct StopHandle {
    server: ServerHandle,
    shutdown: CancellationToken,
}

impl StopHandle {
    pub async fn stop(&self) {
        self.shutdown.cancel();
        self.server.stop(true).await;
    }
}

impl Application {
    pub fn builder(settings: Settings) -> ApplicationBuilder {
        ApplicationBuilder {
            registry: jobs::standard(&settings),
            settings,
            mailer: None,
            extra_routes: Vec::new(),
            handle_signals: true,
        }
    }

    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        Self::builder(settings).build().await
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn registry(&self) -> Arc<JobRegistry> {
        self.registry.clone()
    }

    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            server: self.server.handle(),
            shutdown: self.shutdown.clone(),
        }
    }

    /// Serve HTTP and run the configured number of in-process workers until a signal
    /// (SIGTERM, SIGINT) or a stop request; then drain requests and let workers finish
    /// or release their jobs.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let workers = crate::jobs::spawn_workers(
            &self.state,
            self.registry.clone(),
            self.state.settings.jobs.workers,
            &self.shutdown,
        );
        tracing::info!(
            port = self.port,
            workers = workers.len(),
            database = self.state.db.backend().name(),
            storage = self.state.storage.backend_name(),
            mail = self.state.mailer.backend_name(),
            "cadenza is serving"
        );
        let heartbeat = crate::processes::spawn_heartbeat(
            &self.state,
            "serve",
            self.shutdown.clone(),
            |state, serving| state.voting().share_limits(serving),
        );
        let _revocations =
            crate::accounts::revocations::spawn_watch(&self.state, self.shutdown.clone());
        let mut server = tokio::spawn(self.server);
        let shutdown = self.shutdown.clone();
        let signals = self.handle_signals;
        tokio::select! {
            res = &mut server => {
                shutdown.cancel();
                res??;
            }
            _ = wait_for_signal(signals) => {
                tracing::info!("stopping: draining requests and jobs");
                shutdown.cancel();
                handle.stop(true).await;
                server.await??;
            }
            _ = shutdown.cancelled() => {
                handle.stop(true).await;
                server.await??;
            }
        }
        for w in workers {
            let _ = w.await;
        }
        let _ = heartbeat.await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Run only job workers (the `worker` subcommand) until a signal.
pub async fn run_workers_until_stopped(
    state: AppState,
    registry: Arc<JobRegistry>,
    n: usize,
) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let workers = crate::jobs::spawn_workers(&state, registry, n.max(1), &shutdown);
    let heartbeat =
        crate::processes::spawn_heartbeat(&state, "worker", shutdown.clone(), |_, _| {});
    tracing::info!(
        workers = workers.len(),
        database = state.db.backend().name(),
        "job workers running"
    );
    wait_for_signal(true).await;
    tracing::info!("stopping: finishing or releasing jobs in hand");
    shutdown.cancel();
    for w in workers {
        let _ = w.await;
    }
    let _ = heartbeat.await;
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal(enabled: bool) {
    if !enabled {
        return std::future::pending().await;
    }
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => tracing::info!("received SIGTERM"),
                _ = int.recv() => tracing::info!("received SIGINT"),
            }
        }
        _ => {
            tracing::warn!("cannot install signal handlers; stop with a kill");
            std::future::pending::<()>().await
        }
    }
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    match err {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => AppError::PayloadTooLarge {
            limit: limit as u64,
        },
        JsonPayloadError::ContentType => AppError::UnsupportedMediaType,
        JsonPayloadError::Deserialize(e) => {
            AppError::invalid_with("request.invalid_json", vec![("reason", e.to_string())])
        }
        other if crate::http::body::is_too_slow(&other.to_string()) => {
            crate::http::body::too_slow()
        }
        other => {
            AppError::invalid_with("request.invalid_json", vec![("reason", other.to_string())])
        }
    }
    .into()
}

fn form_error(err: UrlencodedError, _req: &HttpRequest) -> actix_web::Error {
    match err {
        UrlencodedError::Overflow { limit, .. } => AppError::PayloadTooLarge {
            limit: limit as u64,
        },
        UrlencodedError::ContentType => AppError::UnsupportedMediaType,
        other if crate::http::body::is_too_slow(&other.to_string()) => {
            crate::http::body::too_slow()
        }
        _ => AppError::invalid("request.invalid_form"),
    }
    .into()
}

fn query_error(_err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    AppError::invalid("request.malformed").into()
}

async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}

fn http_server(
    state: AppState,
    listener: TcpListener,
    extra: Vec<RouteHook>,
) -> anyhow::Result<Server> {
    let s = state.settings.server.clone();
    let data = web::Data::new(state);
    let openapi = ApiDoc::openapi();
    let mut server = HttpServer::new(move || {
        let mut app = App::new()
            .app_data(data.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(s.json_limit_bytes)
                    .error_handler(json_error),
            )
            .app_data(
                web::FormConfig::default()
                    .limit(s.form_limit_bytes)
                    .error_handler(form_error),
            )
            .app_data(web::QueryConfig::default().error_handler(query_error))
            // Bodies read whole (pictures: avatars up to 1 MiB, covers and prompt
            // pictures up to 5 MiB): each handler refuses above its own limit (413).
            .app_data(web::PayloadConfig::new(
                crate::competitions::service::MAX_IMAGE_BYTES
                    .max(crate::accounts::profile::MAX_AVATAR_BYTES)
                    + 1,
            ))
            .wrap(from_fn(crate::http::body::pace_guard))
            .wrap(CatchPanic::default())
            .wrap(from_fn(crate::accounts::extract::page_nav))
            .wrap(from_fn(crate::accounts::extract::renew_session))
            .wrap(from_fn(crate::web::remember_visit_language))
            .wrap(from_fn(security::csrf_guard))
            .wrap(from_fn(envelope::envelope))
            .wrap(from_fn(crate::http::compress::compress))
            .wrap(from_fn(metrics::record))
            .wrap(from_fn(security::security_headers))
            .wrap(TracingLogger::<crate::telemetry::RootSpan>::new())
            .service(health::livez)
            .service(health::readyz)
            .service(health::metrics)
            .service(
                SwaggerUi::new("/api/docs/{_:.*}").url("/api/v1/openapi.json", openapi.clone()),
            )
            // Routes are tried in the order they are registered, each a pattern match:
            // the ones a live show hammers (votes, challenges, leaderboards) go first.
            .configure(crate::voting::routes::configure)
            .configure(crate::competitions::routes::configure)
            .configure(crate::exhibition::routes::configure)
            .configure(crate::exhibition::pages::configure)
            .configure(crate::show::routes::configure)
            .configure(crate::album::routes::configure)
            .configure(crate::album::pages::configure)
            .configure(crate::comments::routes::configure)
            .configure(crate::comments::pages::configure)
            .configure(crate::show::pages::configure)
            .configure(crate::remix::routes::configure)
            .configure(crate::remix::pages::configure)
            .configure(crate::submissions::routes::configure)
            .configure(crate::judging::routes::configure)
            .configure(crate::results::routes::configure)
            .configure(crate::judging::feedback::configure)
            .configure(crate::voting::pages::configure)
            .configure(crate::voting::organiser_pages::configure)
            .configure(crate::judging::pages::configure)
            .configure(crate::results::organiser_pages::configure)
            .configure(crate::results::pages::configure)
            .configure(crate::judging::judge_pages::configure)
            .configure(crate::site::pages::configure)
            .configure(crate::competitions::pages::configure)
            .configure(crate::competitions::editor::configure)
            .configure(crate::submissions::pages::configure)
            .configure(crate::accounts::routes::configure)
            .configure(crate::accounts::api::configure)
            .configure(crate::accounts::account_api::configure)
            .configure(crate::accounts::pages::configure)
            .configure(crate::accounts::guardian_pages::configure)
            .configure(crate::accounts::team_pages::configure)
            .configure(crate::accounts::admin_pages::configure)
            .configure(crate::audit::routes::configure)
            .configure(crate::audit::pages::configure)
            .configure(crate::accounts::recovery_pages::configure)
            .configure(crate::web::configure);
        for hook in &extra {
            let hook = hook.clone();
            app = app.configure(move |cfg| hook(cfg));
        }
        app.default_service(web::to(not_found))
    })
    .listen(listener)?
    .disable_signals()
    .shutdown_timeout(s.shutdown_timeout_secs);
    if s.http_workers > 0 {
        server = server.workers(s.http_workers);
    }
    // Slow or stalled clients cannot hold a connection open forever.
    server = server
        .client_request_timeout(Duration::from_secs(s.head_timeout_secs.max(1)))
        .client_disconnect_timeout(Duration::from_secs(5));
    Ok(server.run())
}
