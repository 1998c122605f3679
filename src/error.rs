//! One error type for the whole application. Every variant has an HTTP status and a
//! stable dotted code; the human message comes from the message catalogs in the
//! reader's language (see `http::envelope`, which renders error bodies with the
//! request id). Internal causes are logged, never returned.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde::Serialize;
use serde_json::{Value, json};

use crate::i18n::Locale;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The thing asked for does not exist, or the caller may not know it exists.
    #[error("not found")]
    NotFound,
    /// Input that parsed but breaks a rule. `code` is stable; `params` fill the message.
    #[error("invalid input: {code}")]
    Invalid {
        code: &'static str,
        params: Vec<(&'static str, String)>,
        details: Value,
    },
    #[error("authentication required")]
    Unauthorized,
    /// Wrong email or password (said the same way for unknown accounts).
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("forbidden")]
    Forbidden,
    #[error("cross-site request refused")]
    CrossSite,
    #[error("conflict: {code}")]
    Conflict { code: &'static str },
    #[error("payload too large (limit {limit} bytes)")]
    PayloadTooLarge { limit: u64 },
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// A refusal with its own status and code (400, 403, 415…) and message parameters.
    #[error("refused ({status}): {code}")]
    Refused {
        status: StatusCode,
        code: &'static str,
        params: Vec<(&'static str, String)>,
    },
    #[error("rate limited, retry after {retry_after}s")]
    RateLimited { retry_after: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The JSON error body: `{"error":{"code","message","details","request_id"}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, dotted, machine-readable code, e.g. `http.cross_site`.
    pub code: String,
    /// A message in the reader's language (English or Simplified Chinese).
    pub message: String,
    /// Facts about the error a client can act on (a limit, a field), or null.
    #[schema(value_type = Option<Object>, nullable)]
    pub details: Value,
    /// Quote this id when reporting a problem; it finds the request in the logs.
    pub request_id: Option<String>,
}

impl AppError {
    pub fn invalid(code: &'static str) -> Self {
        AppError::Invalid {
            code,
            params: Vec::new(),
            details: Value::Null,
        }
    }

    pub fn invalid_with(code: &'static str, params: Vec<(&'static str, String)>) -> Self {
        let details = Value::Object(
            params
                .iter()
                .map(|(k, v)| ((*k).to_string(), Value::String(v.clone())))
                .collect(),
        );
        AppError::Invalid {
            code,
            params,
            details,
        }
    }

    pub fn refused(status: StatusCode, code: &'static str) -> Self {
        AppError::Refused {
            status,
            code,
            params: Vec::new(),
        }
    }

    pub fn refused_with(
        status: StatusCode,
        code: &'static str,
        params: Vec<(&'static str, String)>,
    ) -> Self {
        AppError::Refused {
            status,
            code,
            params,
        }
    }

    pub fn internal(msg: impl std::fmt::Display) -> Self {
        AppError::Internal(anyhow::anyhow!("{msg}"))
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound => "not_found",
            AppError::Invalid { code, .. } => code,
            AppError::Unauthorized => "auth.required",
            AppError::InvalidCredentials => "auth.invalid_credentials",
            AppError::Forbidden => "auth.forbidden",
            AppError::CrossSite => "http.cross_site",
            AppError::Conflict { code } => code,
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::UnsupportedMediaType => "http.unsupported_media_type",
            AppError::Refused { code, .. } => code,
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Unavailable(_) => "service.unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized | AppError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::CrossSite => StatusCode::FORBIDDEN,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Refused { status, .. } => *status,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message in `locale`, with this error's parameters filled in.
    pub fn message(&self, locale: Locale) -> String {
        let key = format!("error.{}", self.code());
        let params: Vec<(&str, String)> = match self {
            AppError::Invalid { params, .. } | AppError::Refused { params, .. } => {
                params.iter().map(|(k, v)| (*k, v.clone())).collect()
            }
            AppError::PayloadTooLarge { limit } => vec![("limit", human_bytes(*limit))],
            AppError::RateLimited { retry_after } => vec![("seconds", retry_after.to_string())],
            _ => Vec::new(),
        };
        let args: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if locale.has(&key) {
            locale.tf(&key, &args)
        } else {
            locale.t("error.internal").to_string()
        }
    }

    pub fn details(&self) -> Value {
        match self {
            AppError::Invalid { details, .. } => details.clone(),
            AppError::PayloadTooLarge { limit } => json!({ "limit_bytes": limit }),
            AppError::RateLimited { retry_after } => json!({ "retry_after_secs": retry_after }),
            _ => Value::Null,
        }
    }

    /// The body for `locale`, with the request id when known.
    pub fn body(&self, locale: Locale, request_id: Option<String>) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message: self.message(locale),
                details: self.details(),
                request_id,
            },
        }
    }

    /// A plain status from outside our code (actix's own errors) mapped to our codes.
    pub fn from_status(status: StatusCode) -> AppError {
        match status.as_u16() {
            400 => AppError::invalid("request.malformed"),
            401 => AppError::Unauthorized,
            403 => AppError::Forbidden,
            404 => AppError::NotFound,
            405 => AppError::invalid("request.method_not_allowed"),
            413 => AppError::PayloadTooLarge { limit: 0 },
            415 => AppError::UnsupportedMediaType,
            429 => AppError::RateLimited { retry_after: 1 },
            503 => AppError::Unavailable("upstream".into()),
            s if s < 500 => AppError::invalid("request.malformed"),
            _ => AppError::internal(format!("status {status}")),
        }
    }
}

pub fn human_bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else if n >= KIB {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} bytes")
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    /// A fallback body in English without a request id; `http::envelope` replaces it
    /// with one in the reader's language that carries the request id.
    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status());
        match self {
            AppError::RateLimited { retry_after } => {
                res.insert_header(("Retry-After", retry_after.to_string()));
            }
            // Busy or away for a moment: a client (or a proxy) may come back shortly.
            AppError::Unavailable(_) => {
                res.insert_header(("Retry-After", "2"));
            }
            _ => {}
        }
        res.json(self.body(Locale::En, None))
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                AppError::Unavailable("database connection closed".into())
            }
            // A statement or lock timeout, or the server shutting down under us: the
            // database is slow or away, not our bug; the caller may retry.
            Error::DatabaseError(_, ref info) if is_transient(info.message()) => {
                AppError::Unavailable(format!("database: {}", info.message()))
            }
            other => AppError::Internal(anyhow::Error::new(other).context("database")),
        }
    }
}

/// PostgreSQL's messages for a statement or lock timeout, a deadlock, a server that is
/// shutting down or starting, and a lost connection; SQLite's for a write lock held
/// longer than the busy timeout (diesel reports these without a kind of their own).
fn is_transient(message: &str) -> bool {
    const TRANSIENT: [&str; 11] = [
        "database is locked",
        "database table is locked",
        "database is busy",
        "deadlock detected",
        "canceling statement due to statement timeout",
        "canceling statement due to lock timeout",
        "terminating connection due to administrator command",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
        "server closed the connection unexpectedly",
    ];
    TRANSIENT.iter().any(|t| message.contains(t))
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Unavailable(format!("database pool: {e}"))
    }
}

impl From<crate::i18n::content::Refusal> for AppError {
    fn from(r: crate::i18n::content::Refusal) -> Self {
        AppError::invalid_with(r.code, r.params)
    }
}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound => AppError::NotFound,
            StorageError::TooLarge { limit } => AppError::PayloadTooLarge { limit },
            StorageError::InvalidRange => AppError::invalid("storage.invalid_range"),
            StorageError::Unavailable(m) => AppError::Unavailable(m),
            // The client's body failed (cut, or too slow): its problem, said plainly.
            e @ StorageError::Source(_) => interrupted(&e),
            other => AppError::Internal(anyhow::Error::new(other).context("storage")),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("template"))
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("blocking task"))
    }
}

/// The marker of a request body that arrived too slowly (the pace guard in
/// `http::body` fails the read with it).
pub const TOO_SLOW: &str = "the request body arrived too slowly";

/// The answer to a request whose body arrived too slowly (408 `http.too_slow`).
pub fn too_slow() -> AppError {
    AppError::Refused {
        status: actix_web::http::StatusCode::REQUEST_TIMEOUT,
        code: "http.too_slow",
        params: Vec::new(),
    }
}

/// Whether a body-read failure's message is the pace guard's.
pub fn is_too_slow(message: &str) -> bool {
    message.contains(TOO_SLOW)
}

/// The answer to an upload whose body failed while it was read: too slow, or cut.
pub fn interrupted(e: &StorageError) -> AppError {
    match e {
        StorageError::Source(m) if is_too_slow(m) => too_slow(),
        _ => AppError::invalid("entry.upload_interrupted"),
    }
}

/// A use case's answer on a page that shows it only when there is one: a refusal (a
/// 4xx: not found, not allowed, not yet) means "nothing to show", while a failure (a
/// 5xx: the database, the store) still fails the page instead of hiding itself.
pub trait OrNone<T> {
    fn or_none(self) -> Result<Option<T>, AppError>;
}

impl<T> OrNone<T> for Result<T, AppError> {
    fn or_none(self) -> Result<Option<T>, AppError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status().is_client_error() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_messages_in_both_languages() {
        let samples = [
            AppError::NotFound,
            AppError::Unauthorized,
            AppError::Forbidden,
            AppError::CrossSite,
            AppError::PayloadTooLarge { limit: 1 },
            AppError::UnsupportedMediaType,
            AppError::RateLimited { retry_after: 3 },
            AppError::Unavailable("x".into()),
            AppError::internal("x"),
            AppError::invalid("request.malformed"),
            AppError::invalid("request.method_not_allowed"),
            AppError::invalid("request.invalid_json"),
            AppError::invalid("request.invalid_form"),
            AppError::invalid("storage.invalid_range"),
            AppError::invalid("account.token_invalid"),
            AppError::invalid("account.password_too_short"),
            AppError::invalid("account.password_too_long"),
            AppError::invalid("account.passwords_differ"),
            AppError::invalid("pagination.invalid_cursor"),
        ];
        for e in samples {
            for l in Locale::ALL {
                let key = format!("error.{}", e.code());
                assert!(l.has(&key), "{} has no message for {key}", l.tag());
            }
        }
    }

    #[test]
    fn statuses_and_codes_are_stable() {
        assert_eq!(AppError::CrossSite.status(), StatusCode::FORBIDDEN);
        assert_eq!(AppError::CrossSite.code(), "http.cross_site");
        assert_eq!(
            AppError::PayloadTooLarge { limit: 5 }.status().as_u16(),
            413
        );
        assert_eq!(AppError::invalid("x.y").status().as_u16(), 422);
        assert_eq!(
            AppError::from_status(StatusCode::NOT_FOUND).code(),
            "not_found"
        );
    }

    #[test]
    fn internal_causes_never_reach_the_body() {
        let e = AppError::internal("password=hunter2 in SELECT");
        let body = serde_json::to_string(&e.body(Locale::En, Some("r1".into()))).unwrap();
        assert!(!body.contains("hunter2"));
        assert!(body.contains("\"code\":\"internal\""));
        assert!(body.contains("r1"));
    }

    #[test]
    fn a_busy_database_is_unavailable_not_internal() {
        struct Info(&'static str);
        impl diesel::result::DatabaseErrorInformation for Info {
            fn message(&self) -> &str {
                self.0
            }
            fn details(&self) -> Option<&str> {
                None
            }
            fn hint(&self) -> Option<&str> {
                None
            }
            fn table_name(&self) -> Option<&str> {
                None
            }
            fn column_name(&self) -> Option<&str> {
                None
            }
            fn constraint_name(&self) -> Option<&str> {
                None
            }
            fn statement_position(&self) -> Option<i32> {
                None
            }
        }
        for m in [
            "database is locked",
            "deadlock detected",
            "database table is locked",
        ] {
            let e: AppError = diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::Unknown,
                Box::new(Info(m)),
            )
            .into();
            assert_eq!(e.status().as_u16(), 503, "{m}");
            assert_eq!(e.code(), "service.unavailable");
            let res = e.error_response();
            assert_eq!(res.headers().get("Retry-After").unwrap(), "2");
        }
        let other: AppError = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new(Info("no such column: x")),
        )
        .into();
        assert_eq!(other.status().as_u16(), 500);
    }

    #[test]
    fn human_bytes_reads_well() {
        assert_eq!(human_bytes(200 * 1024 * 1024), "200 MiB");
        assert_eq!(human_bytes(2048), "2 KiB");
        assert_eq!(human_bytes(12), "12 bytes");
    }
}
