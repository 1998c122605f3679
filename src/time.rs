//! Time in one place: the server's clock as naive UTC (how times are stored), UTC times
//! shown in a competition's time zone for a reader's language, and times an organiser
//! typed in that zone read back as UTC.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::AppError;
use crate::i18n::Locale;

/// Now, as stored: naive UTC.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// A stored (naive UTC) time as UTC.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// A time (or none: "—") shown in `tz` for a reader of `l` (see [`local_label_in`]).
pub fn when(t: impl Into<Option<DateTime<Utc>>>, tz: &str, l: Locale) -> String {
    t.into()
        .map(|t| local_label_in(t.naive_utc(), tz, l))
        .unwrap_or_else(|| "—".into())
}

pub fn parse_time_zone(raw: &str) -> Result<Tz, AppError> {
    raw.trim()
        .parse::<Tz>()
        .map_err(|_| AppError::invalid("competition.time_zone_invalid"))
}

/// A time as UTC: RFC 3339 with its own offset, or a local time in `tz`. `None` for "".
pub fn parse_time(raw: &str, tz: Tz) -> Result<Option<NaiveDateTime>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.naive_utc()));
    }
    let local = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
        .ok_or_else(|| {
            AppError::invalid_with("competition.time_invalid", vec![("value", raw.into())])
        })?;
    // A local time skipped by a daylight-saving change does not exist; an ambiguous one
    // takes the earlier instant.
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            Ok(Some(t.naive_utc()))
        }
        chrono::LocalResult::None => Err(AppError::invalid_with(
            "competition.time_invalid",
            vec![("value", raw.into())],
        )),
    }
}

/// A UTC time shown in `tz`, as `2026-12-01 09:00 (Asia/Shanghai)`.
pub fn local_label(t: NaiveDateTime, tz_name: &str) -> String {
    let tz: Tz = tz_name.parse().unwrap_or(chrono_tz::UTC);
    format!(
        "{} ({tz_name})",
        tz.from_utc_datetime(&t).format("%Y-%m-%d %H:%M")
    )
}

/// A UTC time shown in `tz` for a reader of `l`: the zone's name for English readers
/// (`2026-12-01 09:00 (Asia/Shanghai)`), its offset for Chinese ones
/// (`2026-12-01 09:00（UTC+8）`), whose pages carry no English words.
pub fn local_label_in(t: NaiveDateTime, tz_name: &str, l: Locale) -> String {
    if l == Locale::En {
        return local_label(t, tz_name);
    }
    let tz: Tz = tz_name.parse().unwrap_or(chrono_tz::UTC);
    let local = tz.from_utc_datetime(&t);
    let secs = chrono::Offset::fix(local.offset()).local_minus_utc();
    let (sign, secs) = if secs < 0 { ('-', -secs) } else { ('+', secs) };
    let offset = match (secs / 3600, (secs % 3600) / 60) {
        (0, 0) => String::new(),
        (h, 0) => format!("{sign}{h}"),
        (h, m) => format!("{sign}{h}:{m:02}"),
    };
    format!("{}（UTC{offset}）", local.format("%Y-%m-%d %H:%M"))
}

/// The value for an `<input type="datetime-local">` in `tz`.
pub fn local_input(t: Option<NaiveDateTime>, tz_name: &str) -> String {
    let tz: Tz = tz_name.parse().unwrap_or(chrono_tz::UTC);
    t.map(|t| {
        tz.from_utc_datetime(&t)
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    })
    .unwrap_or_default()
}
