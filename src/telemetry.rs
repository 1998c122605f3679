//! Structured logs through `tracing`, to stderr (stdout stays free for command output).
//! `RUST_LOG` overrides `log.level`.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};

/// Requests the HTTP parser refuses (a malformed request line or header) are a client's
/// doing: actix-http answers them with a bare 400 and logs each at ERROR, which would let
/// anyone fill the log. Unless the level names that target itself, it is silenced.
pub const PARSER_ERRORS: &str = "actix_http::h1::dispatcher=off";

/// The filter for `level` (a `tracing` directive list such as `info` or
/// `info,cadenza=debug`), with the parser's per-request errors silenced.
pub fn filter_for(level: &str) -> EnvFilter {
    if level.contains("actix_http") {
        EnvFilter::new(level)
    } else {
        EnvFilter::new(format!("{level},{PARSER_ERRORS}"))
    }
}

pub fn init(settings: &LogSettings) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(level) if !level.trim().is_empty() => filter_for(&level),
        _ => filter_for(&settings.level),
    };
    // Colours only on a terminal: logs sent to a file or a collector stay plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Text => builder.with_target(false).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// The root span of each request. Like tracing-actix-web's default, except that the
/// route is filled in after routing (by the metrics middleware, which looks it up
/// anyway) instead of before it, where finding it means matching the path against every
/// route's pattern a second time: the default cost a vote about a tenth of its CPU.
pub struct RootSpan;

impl tracing_actix_web::RootSpanBuilder for RootSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        use actix_web::HttpMessage;
        use tracing::field::Empty;
        if !tracing::enabled!(tracing::Level::INFO) {
            return tracing::Span::none();
        }
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = Empty,
            http.target = %request.uri().path(),
            http.user_agent = %request
                .headers()
                .get("user-agent")
                .and_then(|h| h.to_str().ok())
                .unwrap_or(""),
            http.status_code = Empty,
            otel.kind = "server",
            otel.status_code = Empty,
            request_id = %request_id,
            exception.message = Empty,
            exception.details = Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parser_errors_are_silenced_unless_asked_for() {
        assert!(
            super::filter_for("info")
                .to_string()
                .contains("actix_http::h1::dispatcher=off")
        );
        assert!(
            !super::filter_for("info,actix_http=debug")
                .to_string()
                .contains("=off")
        );
    }
}
