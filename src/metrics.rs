//! Prometheus metrics of the process: HTTP requests by route pattern and status, request
//! latency, job outcomes, votes and poster scans. The HTTP middleware that records
//! requests is `http::metrics`; `/metrics` exposes them.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    jobs: IntCounterVec,
    votes: IntCounterVec,
    poster_scans: prometheus::IntCounter,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new_custom(Some("cadenza".into()), None)
            .expect("static metric prefix is valid");
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by method, route pattern and status",
            ),
            &["method", "route", "status"],
        )
        .expect("static metric definition");
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route pattern",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route"],
        )
        .expect("static metric definition");
        let jobs = IntCounterVec::new(
            Opts::new("jobs_total", "Job executions by kind and outcome"),
            &["kind", "outcome"],
        )
        .expect("static metric definition");
        let votes = IntCounterVec::new(
            Opts::new(
                "votes_total",
                "Votes acknowledged: recorded, or a retry answered again",
            ),
            &["outcome"],
        )
        .expect("static metric definition");
        let poster_scans = prometheus::IntCounter::with_opts(Opts::new(
            "poster_scans_total",
            "Scans of exhibition posters' QR codes",
        ))
        .expect("static metric definition");
        let build = IntGauge::with_opts(
            Opts::new("build_info", "Build information")
                .const_label("version", env!("CARGO_PKG_VERSION")),
        )
        .expect("static metric definition");
        build.set(1);
        for c in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(jobs.clone()),
            Box::new(votes.clone()),
            Box::new(poster_scans.clone()),
            Box::new(build),
        ] {
            registry.register(c).expect("metrics are registered once");
        }
        Metrics {
            registry,
            http_requests,
            http_duration,
            jobs,
            votes,
            poster_scans,
        }
    }

    /// One HTTP request answered: by method, route pattern and status, and its latency.
    pub fn http_request(&self, method: &str, route: &str, status: &str, secs: f64) {
        self.http_requests
            .with_label_values(&[method, route, status])
            .inc();
        self.http_duration
            .with_label_values(&[method, route])
            .observe(secs);
    }

    pub fn poster_scan(&self) {
        self.poster_scans.inc();
    }

    pub fn job_outcome(&self, kind: &str, outcome: &str) {
        self.jobs.with_label_values(&[kind, outcome]).inc();
    }

    pub fn vote(&self, replayed: bool) {
        self.votes
            .with_label_values(&[if replayed { "replayed" } else { "recorded" }])
            .inc();
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(e) = encoder.encode(&self.registry.gather(), &mut buf) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
