//! Fixed-window rate limits whose counters live in the database, so every server
//! process shares them. Over the limit: 429 with Retry-After.

use std::net::IpAddr;

use actix_web::HttpRequest;
use chrono::{DateTime, Duration, Utc};

use crate::db::{Db, counters};
use crate::error::AppError;

#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Names the bucket family: `sign_in_ip`, `register_ip`, …
    pub name: &'static str,
    pub max: u32,
    pub window_secs: i64,
}

/// Start of the window `now` falls in, and seconds until it ends.
pub fn window(now: DateTime<Utc>, window_secs: i64) -> (DateTime<Utc>, i64) {
    let w = window_secs.max(1);
    let start = now.timestamp().div_euclid(w) * w;
    let start_dt = DateTime::from_timestamp(start, 0).unwrap_or(now);
    (start_dt, (start + w - now.timestamp()).max(1))
}

/// Count a hit for `key` under `limit`; `RateLimited` once past the maximum.
pub async fn check(db: &Db, limit: Limit, key: &str) -> Result<(), AppError> {
    let now = Utc::now();
    let (start, retry_after) = window(now, limit.window_secs);
    let bucket = format!("{}:{key}", limit.name);
    let hits = db
        .run(move |conn| {
            // Now and then, forget old windows.
            if rand::random::<u16>() < 64 {
                let _ = counters::prune(conn, (now - Duration::days(2)).naive_utc());
            }
            Ok(counters::hit(conn, &bucket, start.naive_utc())?)
        })
        .await?;
    if hits as i64 > limit.max as i64 {
        return Err(AppError::RateLimited {
            retry_after: retry_after as u64,
        });
    }
    Ok(())
}

/// The client's address: the connection's peer, unless the peer is a trusted proxy, in
/// which case the last address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(req: &HttpRequest, trusted: &[String]) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    let is_trusted = |ip: &IpAddr| {
        trusted
            .iter()
            .any(|t| t.parse::<IpAddr>().ok().as_ref() == Some(ip))
    };
    match peer {
        Some(p) if is_trusted(&p) => {
            let forwarded = req
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            forwarded
                .split(',')
                .rev()
                .filter_map(|s| s.trim().parse::<IpAddr>().ok())
                .find(|ip| !is_trusted(ip))
                .or(Some(p))
        }
        other => other,
    }
}

/// A key for per-address limits: the address itself (IPv4) or its /64 (IPv6).
pub fn ip_key(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        None => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn windows_are_aligned() {
        let t = DateTime::from_timestamp(1_000_030, 0).unwrap();
        let (start, left) = window(t, 60);
        assert_eq!(start.timestamp(), 1_000_020);
        assert_eq!(left, 50);
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = vec!["10.0.0.1".to_string()];
        let direct = TestRequest::default()
            .peer_addr("203.0.113.9:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "1.2.3.4"))
            .to_http_request();
        assert_eq!(
            client_ip(&direct, &trusted).unwrap().to_string(),
            "203.0.113.9"
        );
        let proxied = TestRequest::default()
            .peer_addr("10.0.0.1:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "6.6.6.6, 198.51.100.7"))
            .to_http_request();
        assert_eq!(
            client_ip(&proxied, &trusted).unwrap().to_string(),
            "198.51.100.7"
        );
        assert_eq!(
            ip_key("2001:db8:1:2:3:4:5:6".parse().ok()),
            "2001:db8:1:2::/64"
        );
    }
}
