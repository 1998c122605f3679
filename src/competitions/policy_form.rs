//! The audio rules section of the competition editor: each rule's numbers, checks and
//! what breaking it does, shown from a policy (and its presets) and read back from the
//! form into the competition's policy.

use std::collections::BTreeMap;

use super::editor::Values;
use crate::audio::policy::{Policy, Severity};
use crate::error::AppError;
use crate::http::form::FormData;
use crate::web::PageCtx;

/// Each rule's numbers: (rule, [(param, optional)]).
const RULE_NUMBERS: [(&str, &[(&str, bool)]); 13] = [
    ("formats", &[]),
    ("duration", &[("min_secs", true), ("max_secs", true)]),
    ("sample_rate", &[("min", false)]),
    ("bit_depth", &[("min", false)]),
    ("lossy_bitrate", &[("min", false)]),
    ("channels", &[]),
    ("loudness", &[("min_lufs", false), ("max_lufs", false)]),
    ("true_peak", &[("max", false)]),
    (
        "silence",
        &[("max_leading_secs", false), ("max_trailing_secs", false)],
    ),
    ("clipping", &[("max", false)]),
    ("loudness_range", &[("min_lu", true), ("max_lu", true)]),
    ("dc_offset", &[("max", false)]),
    ("phase", &[("min_correlation", false)]),
];

const FORMATS: [(&str, &str); 6] = [
    ("pcm", "WAV / AIFF"),
    ("flac", "FLAC"),
    ("alac", "ALAC"),
    ("mp3", "MP3"),
    ("aac", "AAC"),
    ("vorbis", "Ogg Vorbis"),
];

/// A number of one audio rule.
pub(super) struct NumField {
    pub(super) name: String,
    pub(super) label: &'static str,
    pub(super) value: String,
    /// Empty allowed (no limit).
    pub(super) optional: bool,
}

/// A tick box of one audio rule (a format, a channel count).
pub(super) struct CheckField {
    pub(super) name: String,
    pub(super) label: String,
    pub(super) checked: bool,
}

/// One audio rule: what it checks, its numbers, and what breaking it does.
pub(super) struct RuleField {
    pub(super) key: &'static str,
    pub(super) label: &'static str,
    pub(super) help: &'static str,
    pub(super) severity: &'static str,
    pub(super) numbers: Vec<NumField>,
    pub(super) checks: Vec<CheckField>,
}

pub(super) fn num(x: f64) -> String {
    let s = format!("{x}");
    s.replace('-', "\u{2212}")
}

pub(super) fn opt_num(x: Option<f64>) -> String {
    x.map(num).unwrap_or_default()
}

/// The policy as form values: `policy.loudness.min_lufs`, `policy.formats.flac`, …
pub(super) fn policy_values(p: &Policy, v: &mut BTreeMap<String, String>) {
    let sev = |s: Severity| match s {
        Severity::Off => "off",
        Severity::Warn => "warn",
        Severity::Reject => "reject",
    };
    let mut put = |k: &str, val: String| {
        v.insert(format!("policy.{k}"), val);
    };
    put("formats.severity", sev(p.formats.severity).into());
    for f in &p.formats.allowed {
        put(&format!("formats.{f}"), "on".into());
    }
    put("duration.severity", sev(p.duration.severity).into());
    put("duration.min_secs", opt_num(p.duration.min_secs));
    put("duration.max_secs", opt_num(p.duration.max_secs));
    put("sample_rate.severity", sev(p.sample_rate.severity).into());
    put("sample_rate.min", num(p.sample_rate.min));
    put("bit_depth.severity", sev(p.bit_depth.severity).into());
    put("bit_depth.min", num(p.bit_depth.min));
    put(
        "lossy_bitrate.severity",
        sev(p.lossy_bitrate.severity).into(),
    );
    put("lossy_bitrate.min", num(p.lossy_bitrate.min));
    put("channels.severity", sev(p.channels.severity).into());
    for n in &p.channels.allowed {
        put(&format!("channels.{n}"), "on".into());
    }
    put("loudness.severity", sev(p.loudness.severity).into());
    put("loudness.min_lufs", num(p.loudness.min_lufs));
    put("loudness.max_lufs", num(p.loudness.max_lufs));
    put("true_peak.severity", sev(p.true_peak.severity).into());
    put("true_peak.max", num(p.true_peak.max));
    put("silence.severity", sev(p.silence.severity).into());
    put("silence.max_leading_secs", num(p.silence.max_leading_secs));
    put(
        "silence.max_trailing_secs",
        num(p.silence.max_trailing_secs),
    );
    put("clipping.severity", sev(p.clipping.severity).into());
    put("clipping.max", num(p.clipping.max));
    put(
        "loudness_range.severity",
        sev(p.loudness_range.severity).into(),
    );
    put("loudness_range.min_lu", opt_num(p.loudness_range.min_lu));
    put("loudness_range.max_lu", opt_num(p.loudness_range.max_lu));
    put("dc_offset.severity", sev(p.dc_offset.severity).into());
    put("dc_offset.max", num(p.dc_offset.max));
    put("phase.severity", sev(p.phase.severity).into());
    put("phase.min_correlation", num(p.phase.min_correlation));
}

pub(super) fn rule_fields(ctx: &PageCtx, v: &Values) -> Vec<RuleField> {
    RULE_NUMBERS
        .iter()
        .map(|(key, numbers)| {
            let severity = match v.get(&format!("policy.{key}.severity")).as_str() {
                "off" => "off",
                "reject" => "reject",
                _ => "warn",
            };
            let checks = match *key {
                "formats" => FORMATS
                    .iter()
                    .map(|(f, label)| CheckField {
                        name: format!("policy.formats.{f}"),
                        label: label.to_string(),
                        checked: !v.get(&format!("policy.formats.{f}")).is_empty(),
                    })
                    .collect(),
                "channels" => [(1, "policy_form.mono"), (2, "policy_form.stereo")]
                    .iter()
                    .map(|(n, label)| CheckField {
                        name: format!("policy.channels.{n}"),
                        label: ctx.t(label).to_string(),
                        checked: !v.get(&format!("policy.channels.{n}")).is_empty(),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            RuleField {
                key,
                label: ctx.tk("policy_form.rule_", key),
                help: ctx.tk("policy_form.help_", key),
                severity,
                numbers: numbers
                    .iter()
                    .map(|(param, optional)| NumField {
                        name: format!("policy.{key}.{param}"),
                        label: ctx.tk("policy_form.param_", format!("{key}_{param}")),
                        value: v.get(&format!("policy.{key}.{param}")),
                        optional: *optional,
                    })
                    .collect(),
                checks,
            }
        })
        .collect()
}

/// The policy a submitted form describes (a chosen preset wins over the fields).
pub(super) fn policy_of(f: &FormData, current: &Policy) -> Result<serde_json::Value, AppError> {
    let preset = f.get("policy_preset");
    if !preset.is_empty() {
        let p = Policy::preset(preset).ok_or_else(|| {
            AppError::invalid_with(
                "competition.policy_invalid",
                vec![("reason", format!("no preset named {preset}"))],
            )
        })?;
        return serde_json::to_value(p).map_err(AppError::internal);
    }
    let mut p = serde_json::to_value(current).map_err(AppError::internal)?;
    for (key, numbers) in RULE_NUMBERS {
        let sev = f.get(&format!("policy.{key}.severity"));
        if !sev.is_empty() {
            p[key]["severity"] = sev.into();
        }
        for (param, optional) in numbers {
            let name = format!("policy.{key}.{param}");
            let Some(raw) = f.text.get(&name) else {
                continue;
            };
            let raw = raw.trim().replace('\u{2212}', "-");
            if raw.is_empty() {
                if *optional {
                    p[key][param] = serde_json::Value::Null;
                    continue;
                }
                return Err(AppError::invalid_with(
                    "competition.policy_invalid",
                    vec![("reason", format!("{key}: a number is needed"))],
                ));
            }
            let x: f64 = raw.parse().map_err(|_| {
                AppError::invalid_with(
                    "competition.policy_invalid",
                    vec![("reason", format!("{key}: {raw} is not a number"))],
                )
            })?;
            p[key][param] = x.into();
        }
    }
    // Tick boxes: only when the form carried the section (its severity).
    if f.text.contains_key("policy.formats.severity") {
        let allowed: Vec<&str> = FORMATS
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| f.checked(&format!("policy.formats.{k}")))
            .collect();
        p["formats"]["allowed"] = allowed.into();
    }
    if f.text.contains_key("policy.channels.severity") {
        let allowed: Vec<u32> = [1u32, 2]
            .into_iter()
            .filter(|n| f.checked(&format!("policy.channels.{n}")))
            .collect();
        p["channels"]["allowed"] = allowed.into();
    }
    Ok(p)
}
