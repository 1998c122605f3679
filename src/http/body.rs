//! Streaming a request body into a service that wants a `Send` stream.

use actix_web::HttpResponse;
use futures_util::StreamExt;

use crate::error::AppError;
use crate::storage::{ByteStream, StorageError};

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
