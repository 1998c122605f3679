//! Recording HTTP requests by route pattern and status, and their latency, into the
//! process's metrics (`crate::metrics`, exposed at `/metrics`).

use std::time::Instant;

use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

pub use crate::metrics::Metrics;

pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let method = req.method().as_str().to_string();
    let res = next.call(req).await;
    if let Some(m) = metrics {
        let (route, status) = match &res {
            Ok(r) => (
                r.request()
                    .match_pattern()
                    .unwrap_or_else(|| "unmatched".into()),
                r.status(),
            ),
            Err(e) => ("unmatched".to_string(), e.as_response_error().status_code()),
        };
        // The root span leaves the route to be filled in here, after routing.
        tracing::Span::current().record("http.route", route.as_str());
        let status = status.as_u16().to_string();
        m.http_request(&method, &route, &status, start.elapsed().as_secs_f64());
    }
    res
}
