//! Request bodies: a pace every body must keep (a trickled body is cut off), and
//! streaming a body into a service that wants a `Send` stream.

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use crate::error::AppError;
use crate::state::AppState;
use crate::storage::{ByteStream, StorageError};

/// How fast a request body must arrive.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Longest wait for the next piece.
    pub idle: Duration,
    /// After `grace`, the average rate since the first byte was awaited must be at least this.
    pub min_bytes_per_sec: u64,
    pub grace: Duration,
}

/// The message every cut-off body carries, recognised where bodies are read.
pub use crate::error::{TOO_SLOW, interrupted, is_too_slow, too_slow};

impl Pace {
    /// How long the next piece may take, for a body that has delivered `bytes` in
    /// `waited` (the time spent waiting on the client; time we spent not reading, say
    /// while the upload waited its turn, is not the client's and does not count).
    fn allowance(&self, bytes: u64, waited: Duration) -> Duration {
        let earned = if self.min_bytes_per_sec == 0 {
            Duration::MAX / 4
        } else {
            Duration::from_secs_f64(bytes as f64 / self.min_bytes_per_sec as f64)
        };
        self.grace.max(earned).saturating_sub(waited).min(self.idle)
    }

    /// `inner` with the pace enforced: when it falls behind, the stream ends with a
    /// timed-out error instead of waiting on.
    pub fn guard<S>(self, inner: S) -> impl Stream<Item = Result<Bytes, PayloadError>>
    where
        S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
    {
        futures_util::stream::unfold(
            (inner, 0u64, Duration::ZERO, false),
            move |(mut inner, bytes, waited, done)| async move {
                if done {
                    return None;
                }
                let asked = Instant::now();
                let allowed = self.allowance(bytes, waited);
                match tokio::time::timeout(allowed, inner.next()).await {
                    Ok(Some(Ok(chunk))) => {
                        let n = bytes + chunk.len() as u64;
                        Some((Ok(chunk), (inner, n, waited + asked.elapsed(), false)))
                    }
                    Ok(Some(Err(e))) => Some((Err(e), (inner, bytes, waited, true))),
                    Ok(None) => None,
                    Err(_) => {
                        tracing::warn!(bytes, "cut off a request body that arrived too slowly");
                        let e = std::io::Error::new(std::io::ErrorKind::TimedOut, TOO_SLOW);
                        Some((Err(PayloadError::Io(e)), (inner, bytes, waited, true)))
                    }
                }
            },
        )
    }
}

/// Middleware: every request body keeps the configured [`Pace`].
pub async fn pace_guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // A request without a body (most reads) has nothing to pace.
    let has_body = {
        let h = req.headers();
        h.contains_key(actix_web::http::header::TRANSFER_ENCODING)
            || h.get(actix_web::http::header::CONTENT_LENGTH)
                .is_some_and(|v| v.as_bytes() != b"0")
    };
    if has_body && let Some(state) = req.app_data::<web::Data<AppState>>() {
        let s = &state.settings.server;
        let pace = Pace {
            idle: Duration::from_secs(s.body_idle_secs.max(1)),
            min_bytes_per_sec: s.body_min_bytes_per_sec,
            grace: Duration::from_secs(s.body_grace_secs),
        };
        let payload = req.take_payload();
        let guarded: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
            // Fused: a reader may poll again after the end (multipart does).
            Box::pin(pace.guard(payload).fuse());
        req.set_payload(Payload::from(guarded));
    }
    next.call(req).await
}

/// The answer to a body that was cut off for its pace.
/// Run `work` on the request body as a [`ByteStream`]. The body itself is not `Send`; a
/// small bounded channel hands its chunks over. When `work` fails before the body was
/// read to its end, the connection is closed (it cannot carry another request).
pub async fn with_body<F, Fut>(
    mut payload: actix_web::web::Payload,
    work: F,
) -> Result<HttpResponse, AppError>
where
    F: FnOnce(ByteStream) -> Fut,
    Fut: std::future::Future<Output = Result<HttpResponse, AppError>>,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, StorageError>>(4);
    // Returns whether the whole body was read.
    let pump = async move {
        while let Some(chunk) = payload.next().await {
            let item = chunk.map_err(|e| StorageError::Source(e.to_string()));
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                return false;
            }
        }
        true
    };
    let body: ByteStream = Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|v| (v, rx))
    }));
    let (read_all, result) = futures_util::join!(pump, work(body));
    match result {
        Ok(res) => Ok(res),
        Err(e) => {
            let mut res = HttpResponse::from_error(e);
            if !read_all {
                res.head_mut()
                    .set_connection_type(actix_web::http::ConnectionType::Close);
            }
            Ok(res)
        }
    }
}

/// Read until `n` bytes (or the end) have arrived; returns them and the rest of the stream
/// (also for other uploads that sniff their first bytes).
pub async fn peek(body: ByteStream, n: usize) -> Result<(Bytes, ByteStream), AppError> {
    // Fused: once the body has ended it answers "no more" again instead of panicking.
    let mut body = body.fuse();
    let mut head = BytesMut::new();
    while head.len() < n {
        match body.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(e)) => return Err(interrupted(&e)),
            None => break,
        }
    }
    Ok((head.freeze(), Box::pin(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pace() -> Pace {
        Pace {
            idle: Duration::from_secs(30),
            min_bytes_per_sec: 1000,
            grace: Duration::from_secs(10),
        }
    }

    #[test]
    fn the_allowance_follows_the_bytes_delivered() {
        let s = Duration::from_secs;
        // Nothing yet: the grace period.
        assert_eq!(pace().allowance(0, s(0)), s(10));
        assert_eq!(pace().allowance(0, s(4)), s(6));
        // 50 kB at 1 kB/s earns 50 s, but no single wait may pass the idle limit.
        assert_eq!(pace().allowance(50_000, s(5)), s(30));
        assert_eq!(pace().allowance(20_000, s(5)), s(15));
        // Behind the pace: nothing more.
        assert_eq!(pace().allowance(5_000, s(12)), s(0));
    }

    /// The pace at a hundredth of the scale, so the test runs in real time quickly.
    fn quick_pace() -> Pace {
        Pace {
            idle: Duration::from_secs(2),
            min_bytes_per_sec: 1000,
            grace: Duration::from_millis(200),
        }
    }

    fn every(ms: u64, bytes: usize, n: usize) -> impl Stream<Item = Result<Bytes, PayloadError>> {
        futures_util::stream::iter(0..n).then(move |_| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, PayloadError>(Bytes::from(vec![b'x'; bytes]))
        })
    }

    #[tokio::test]
    async fn a_trickled_body_is_cut_off_and_a_steady_one_is_not() {
        // One byte every 20 ms (50 B/s against 1,000 B/s): cut once the grace is over.
        let got: Vec<_> = Box::pin(quick_pace().guard(Box::pin(every(20, 1, 500))))
            .collect()
            .await;
        let last = got.last().unwrap();
        assert!(matches!(last, Err(PayloadError::Io(e)) if e.to_string() == TOO_SLOW));
        assert!(got.len() < 50, "cut early: {} pieces", got.len());

        // 200 bytes every 20 ms (10 kB/s): never cut.
        let got: Vec<_> = Box::pin(quick_pace().guard(Box::pin(every(20, 200, 40))))
            .collect()
            .await;
        assert_eq!(got.len(), 40);
        assert!(got.iter().all(Result::is_ok));

        // A reader that pauses longer than the grace (its upload waits its turn) does not
        // count against a client whose bytes are already there.
        let mut guarded = Box::pin(quick_pace().guard(Box::pin(every(0, 1, 5))));
        let mut n = 0;
        while let Some(item) = guarded.next().await {
            assert!(item.is_ok());
            n += 1;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        assert_eq!(n, 5);
    }
}
