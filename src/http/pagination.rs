//! Cursor pagination: the cursor is an opaque, URL-safe encoding of the last row's
//! sort key, so pages stay stable while rows are added.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::error::AppError;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    pub limit: Option<u32>,
}

impl PageQuery {
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }

    pub fn decode<T: DeserializeOwned>(&self) -> Result<Option<T>, AppError> {
        self.cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(decode_cursor)
            .transpose()
    }
}

pub fn encode_cursor<T: Serialize>(key: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

pub fn decode_cursor<T: DeserializeOwned>(cursor: &str) -> Result<T, AppError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| AppError::invalid("pagination.invalid_cursor"))?;
    serde_json::from_slice(&bytes).map_err(|_| AppError::invalid("pagination.invalid_cursor"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = encode_cursor(&("2026-11-23T00:00:00", "abc"));
        let back: (String, String) = decode_cursor(&c).unwrap();
        assert_eq!(back.1, "abc");
        assert!(decode_cursor::<(String, String)>("%%%").is_err());
        assert!(decode_cursor::<(String, String)>(&encode_cursor(&42)).is_err());
    }

    #[test]
    fn limits_are_clamped() {
        let q = |limit| PageQuery {
            cursor: None,
            limit,
        };
        assert_eq!(q(None).limit(), 20);
        assert_eq!(q(Some(0)).limit(), 1);
        assert_eq!(q(Some(1000)).limit(), 100);
    }
}
