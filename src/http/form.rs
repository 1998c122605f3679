//! HTML forms that carry files (`multipart/form-data`), read whole into text fields
//! and files, each with a limit. For forms of a few fields and pictures; uploads of
//! audio stream through `submissions::upload` instead.

use std::collections::HashMap;

use actix_multipart::Multipart;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::error::AppError;

/// Limits for one form.
#[derive(Debug, Clone, Copy)]
pub struct FormLimits {
    /// Largest text field, in bytes.
    pub text: usize,
    /// All text fields together.
    pub all_text: usize,
    /// Largest file.
    pub file: usize,
    /// All files together.
    pub all_files: usize,
    /// Most fields (text and files).
    pub fields: usize,
}

/// A file a form carried (a file input left empty carries none).
#[derive(Debug, Clone)]
pub struct FormFile {
    pub file_name: String,
    pub bytes: Bytes,
}

/// What a form sent: text by field name (the last value wins) and files by field name.
#[derive(Debug, Default)]
pub struct FormData {
    pub text: HashMap<String, String>,
    pub files: HashMap<String, FormFile>,
}

impl FormData {
    pub fn get(&self, name: &str) -> &str {
        self.text.get(name).map(String::as_str).unwrap_or("")
    }

    /// Whether the box named `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.text.contains_key(name)
    }
}

/// Read a multipart form within `limits`: 413 past a size limit, 422 when it is not a form.
pub async fn read(mut payload: Multipart, limits: FormLimits) -> Result<FormData, AppError> {
    let bad = |_| AppError::invalid("request.invalid_form");
    let mut out = FormData::default();
    let (mut text_total, mut file_total, mut count) = (0usize, 0usize, 0usize);
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(bad)?;
        count += 1;
        if count > limits.fields {
            return Err(AppError::invalid("request.invalid_form"));
        }
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_string);
        let (limit, total, total_limit) = match file_name {
            Some(_) => (limits.file, &mut file_total, limits.all_files),
            None => (limits.text, &mut text_total, limits.all_text),
        };
        let mut buf = BytesMut::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(bad)?;
            buf.extend_from_slice(&chunk);
            *total += chunk.len();
            if buf.len() > limit {
                return Err(AppError::PayloadTooLarge {
                    limit: limit as u64,
                });
            }
            if *total > total_limit {
                return Err(AppError::PayloadTooLarge {
                    limit: total_limit as u64,
                });
            }
        }
        match file_name {
            // An empty file input sends a part with no name and no bytes.
            Some(f) if !buf.is_empty() => {
                out.files.insert(
                    name,
                    FormFile {
                        file_name: f,
                        bytes: buf.freeze(),
                    },
                );
            }
            Some(_) => {}
            None => {
                let s = String::from_utf8(buf.to_vec())
                    .map_err(|_| AppError::invalid("request.invalid_form"))?;
                out.text.insert(name, s);
            }
        }
    }
    Ok(out)
}
