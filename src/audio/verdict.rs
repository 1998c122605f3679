//! A competition's technical rules applied to a report: pass, warn or reject per rule,
//! each with a stable code and a message (English, Simplified Chinese) that tells a
//! young musician what to fix.

use serde::{Deserialize, Serialize};

use super::policy::*;
use super::report::Report;
use crate::i18n::Locale;

/// One rule's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleVerdict {
    /// The rule: `formats`, `duration`, `sample_rate`, …
    pub rule: String,
    pub outcome: Outcome,
    /// Stable code, e.g. `audio.true_peak_too_high`; `audio.ok` when the rule passed.
    pub code: String,
    /// What was measured, formatted for people (`+0.4 dBTP`).
    pub measured: String,
    /// The limit, formatted for people (`−1.0 dBTP`).
    pub limit: String,
}

impl RuleVerdict {
    /// The message for the musician: what is wrong and how to fix it, or that all is well.
    pub fn message(&self, locale: Locale) -> String {
        let key = if self.outcome == Outcome::Pass {
            format!("audio.pass.{}", self.rule)
        } else {
            format!("error.{}", self.code)
        };
        locale.tf(&key, &[("value", &self.measured), ("limit", &self.limit)])
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The worst outcome of any rule.
    pub outcome: Outcome,
    pub rules: Vec<RuleVerdict>,
}

/// `−1.0`, `+0.4`: signed, with a real minus sign.
pub fn signed(x: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, x.abs());
    if x < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("\u{2212}{s}")
    } else if x > 0.0 {
        format!("+{s}")
    } else {
        s
    }
}

pub fn minutes(secs: f64) -> String {
    let s = secs.round() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

fn trim(x: f64) -> String {
    let s = format!("{x:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

impl Policy {
    pub fn evaluate(&self, r: &Report) -> Verdict {
        let mut rules = Vec::new();
        let mut push = |rule: &str,
                        broken: Option<&'static str>,
                        severity: Severity,
                        measured: String,
                        limit: String| {
            if severity == Severity::Off {
                return;
            }
            let (outcome, code) = match broken {
                Some(code) => (severity.outcome(), code),
                None => (Outcome::Pass, "audio.ok"),
            };
            rules.push(RuleVerdict {
                rule: rule.to_string(),
                outcome,
                code: code.to_string(),
                measured,
                limit,
            });
        };
        let f = &r.format;

        let allowed = self
            .formats
            .allowed
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&f.codec));
        push(
            "formats",
            (!allowed).then_some("audio.format_not_allowed"),
            self.formats.severity,
            format_label(&f.codec),
            self.formats
                .allowed
                .iter()
                .map(|c| format_label(c))
                .collect::<Vec<_>>()
                .join(", "),
        );

        let d = f.duration_secs;
        if let Some(min) = self.duration.min_secs
            && d < min
        {
            push(
                "duration",
                Some("audio.too_short"),
                self.duration.severity,
                minutes(d),
                minutes(min),
            );
        } else if let Some(max) = self.duration.max_secs
            && d > max
        {
            push(
                "duration",
                Some("audio.too_long"),
                self.duration.severity,
                minutes(d),
                minutes(max),
            );
        } else {
            let limit = match (self.duration.min_secs, self.duration.max_secs) {
                (Some(a), Some(b)) => format!("{}–{}", minutes(a), minutes(b)),
                (Some(a), None) => format!("≥ {}", minutes(a)),
                (None, Some(b)) => format!("≤ {}", minutes(b)),
                (None, None) => "–".into(),
            };
            push("duration", None, self.duration.severity, minutes(d), limit);
        }

        push(
            "sample_rate",
            ((f.sample_rate as f64) < self.sample_rate.min).then_some("audio.sample_rate_too_low"),
            self.sample_rate.severity,
            format!("{} Hz", f.sample_rate),
            format!("{} Hz", self.sample_rate.min as u64),
        );

        if f.lossless
            && let Some(bits) = f.bit_depth
        {
            push(
                "bit_depth",
                ((bits as f64) < self.bit_depth.min).then_some("audio.bit_depth_too_low"),
                self.bit_depth.severity,
                format!("{bits}"),
                format!("{}", self.bit_depth.min as u32),
            );
        }
        if !f.lossless
            && let Some(kbps) = f.bitrate_kbps
        {
            push(
                "lossy_bitrate",
                (kbps < self.lossy_bitrate.min).then_some("audio.lossy_bitrate_too_low"),
                self.lossy_bitrate.severity,
                format!("{:.0}", kbps),
                format!("{:.0}", self.lossy_bitrate.min),
            );
        }

        push(
            "channels",
            (!self.channels.allowed.contains(&f.channels)).then_some("audio.channels_not_allowed"),
            self.channels.severity,
            f.channels.to_string(),
            self.channels
                .allowed
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        );

        match r.loudness.integrated_lufs {
            None => push(
                "loudness",
                Some("audio.silent"),
                // Nothing to hear is never only a warning.
                if self.loudness.severity == Severity::Off {
                    Severity::Off
                } else {
                    Severity::Reject
                },
                "–".into(),
                format!("{} LUFS", signed(self.loudness.min_lufs, 0)),
            ),
            Some(l) if l < self.loudness.min_lufs => push(
                "loudness",
                Some("audio.too_quiet"),
                self.loudness.severity,
                signed(l, 1),
                signed(self.loudness.min_lufs, 1),
            ),
            Some(l) if l > self.loudness.max_lufs => push(
                "loudness",
                Some("audio.too_loud"),
                self.loudness.severity,
                signed(l, 1),
                signed(self.loudness.max_lufs, 1),
            ),
            Some(l) => push(
                "loudness",
                None,
                self.loudness.severity,
                signed(l, 1),
                format!(
                    "{} … {}",
                    signed(self.loudness.min_lufs, 1),
                    signed(self.loudness.max_lufs, 1)
                ),
            ),
        }

        // Damaged samples are never only a warning: the audio is not what was made.
        if r.format.invalid_samples > 0 {
            push(
                "samples",
                Some("audio.invalid_samples"),
                Severity::Reject,
                r.format.invalid_samples.to_string(),
                "0".into(),
            );
        }

        if let Some(tp) = r.peaks.true_peak_dbtp {
            push(
                "true_peak",
                (tp > self.true_peak.max).then_some("audio.true_peak_too_high"),
                self.true_peak.severity,
                signed(tp, 1),
                signed(self.true_peak.max, 1),
            );
        }

        if !r.silence.all_silent {
            // Each end is its own finding: a track too quiet at both ends says so once,
            // so the musician trims both before uploading again.
            let start = r.silence.leading_secs > self.silence.max_leading_secs;
            let end = r.silence.trailing_secs > self.silence.max_trailing_secs;
            if start {
                push(
                    "silence",
                    Some("audio.leading_silence_too_long"),
                    self.silence.severity,
                    trim(r.silence.leading_secs),
                    trim(self.silence.max_leading_secs),
                );
            }
            if end {
                push(
                    "silence",
                    Some("audio.trailing_silence_too_long"),
                    self.silence.severity,
                    trim(r.silence.trailing_secs),
                    trim(self.silence.max_trailing_secs),
                );
            }
            if !start && !end {
                push(
                    "silence",
                    None,
                    self.silence.severity,
                    format!(
                        "{} / {}",
                        trim(r.silence.leading_secs),
                        trim(r.silence.trailing_secs)
                    ),
                    format!(
                        "{} / {}",
                        trim(self.silence.max_leading_secs),
                        trim(self.silence.max_trailing_secs)
                    ),
                );
            }
        }

        push(
            "clipping",
            ((r.clipping.runs as f64) > self.clipping.max).then_some("audio.clipping"),
            self.clipping.severity,
            r.clipping.runs.to_string(),
            format!("{}", self.clipping.max as u64),
        );

        if let Some(lra) = r.loudness.range_lu {
            let lr = &self.loudness_range;
            let broken = if lr.max_lu.is_some_and(|m| lra > m) {
                Some("audio.range_too_wide")
            } else if lr.min_lu.is_some_and(|m| lra < m) {
                Some("audio.range_too_narrow")
            } else {
                None
            };
            let limit = match (lr.min_lu, lr.max_lu) {
                (Some(a), Some(b)) => format!("{a:.0}–{b:.0}"),
                (Some(a), None) => format!("≥ {a:.0}"),
                (None, Some(b)) => format!("≤ {b:.0}"),
                (None, None) => "–".into(),
            };
            let limit = match broken {
                Some("audio.range_too_wide") => format!("{:.0}", lr.max_lu.unwrap_or_default()),
                Some(_) => format!("{:.0}", lr.min_lu.unwrap_or_default()),
                None => limit,
            };
            push(
                "loudness_range",
                broken,
                lr.severity,
                format!("{lra:.1}"),
                limit,
            );
        }

        if let Some(dc) = r
            .dc_offset
            .iter()
            .map(|d| d.abs())
            .fold(None, |m: Option<f64>, d| Some(m.map_or(d, |m| m.max(d))))
        {
            push(
                "dc_offset",
                (dc > self.dc_offset.max).then_some("audio.dc_offset"),
                self.dc_offset.severity,
                format!("{:.1}", dc * 100.0),
                format!("{:.1}", self.dc_offset.max * 100.0),
            );
        }

        if f.channels >= 2
            && let Some(c) = r.stereo.as_ref().and_then(|st| st.correlation)
        {
            push(
                "phase",
                (c < self.phase.min_correlation).then_some("audio.phase_cancels"),
                self.phase.severity,
                format!("{c:+.2}"),
                format!("{:+.2}", self.phase.min_correlation),
            );
        }

        let outcome = rules
            .iter()
            .map(|v| v.outcome)
            .max()
            .unwrap_or(Outcome::Pass);
        Verdict { outcome, rules }
    }
}

fn format_label(codec: &str) -> String {
    match codec {
        "pcm" => "WAV".into(),
        "flac" => "FLAC".into(),
        "alac" => "ALAC".into(),
        "mp3" => "MP3".into(),
        "aac" => "AAC".into(),
        "vorbis" => "Ogg Vorbis".into(),
        other => other.to_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::report::*;

    #[test]
    fn loudness_range_dc_offset_and_phase_have_verdicts() {
        let p = Policy::default();
        let mut r = sample_report();
        r.dc_offset = vec![0.0001, 0.0];
        r.stereo = Some(Stereo {
            correlation: Some(0.8),
            min_window_correlation: Some(0.5),
            negative_secs: 0.0,
        });
        let rule = |v: &Verdict, name: &str| {
            v.rules
                .iter()
                .find(|x| x.rule == name)
                .cloned()
                .unwrap_or_else(|| panic!("no {name} rule"))
        };
        let v = p.evaluate(&r);
        for name in ["loudness_range", "dc_offset", "phase"] {
            assert_eq!(rule(&v, name).outcome, Outcome::Pass, "{name}");
        }
        r.loudness.range_lu = Some(24.5);
        r.dc_offset = vec![0.001, -0.03];
        r.stereo = Some(Stereo {
            correlation: Some(-0.4),
            min_window_correlation: Some(-0.5),
            negative_secs: 100.0,
        });
        let v = p.evaluate(&r);
        let lra = rule(&v, "loudness_range");
        assert_eq!(
            (lra.outcome, lra.code.as_str()),
            (Outcome::Warn, "audio.range_too_wide")
        );
        assert_eq!((lra.measured.as_str(), lra.limit.as_str()), ("24.5", "20"));
        let dc = rule(&v, "dc_offset");
        assert_eq!(
            (dc.code.as_str(), dc.measured.as_str()),
            ("audio.dc_offset", "3.0")
        );
        let ph = rule(&v, "phase");
        assert_eq!(
            (ph.code.as_str(), ph.measured.as_str()),
            ("audio.phase_cancels", "-0.40")
        );
        for l in Locale::ALL {
            for x in [&lra, &dc, &ph] {
                let m = x.message(l);
                assert!(!m.contains('{') && !m.starts_with("error."), "{m}");
            }
        }
        // A squashed master only when the competition asks.
        let mut strict = Policy::default();
        strict.loudness_range.min_lu = Some(3.0);
        r.loudness.range_lu = Some(1.2);
        let v = strict.evaluate(&r);
        assert_eq!(rule(&v, "loudness_range").code, "audio.range_too_narrow");
    }

    #[test]
    fn the_streaming_preset_refuses_clipping_and_the_default_only_warns() {
        let mut r = sample_report();
        r.clipping.runs = 3;
        let outcome = |p: &Policy| rule(&p.evaluate(&r), "clipping").outcome;
        assert_eq!(
            outcome(&Policy::preset("streaming").unwrap()),
            Outcome::Reject
        );
        assert_eq!(outcome(&Policy::default()), Outcome::Warn);
        for name in PRESETS {
            assert!(Policy::preset(name).is_some(), "{name}");
        }
        assert!(Policy::preset("loud").is_none());
    }

    pub fn sample_report() -> Report {
        Report {
            schema: SCHEMA.into(),
            format: FormatInfo {
                container: "wav".into(),
                codec: "pcm".into(),
                codec_long: "PCM".into(),
                lossless: true,
                float_samples: false,
                sample_rate: 44_100,
                bit_depth: Some(24),
                channels: 2,
                duration_secs: 200.0,
                frames: 8_820_000,
                bitrate_kbps: Some(2117.0),
                file_size_bytes: 52_920_044,
                invalid_samples: 0,
            },
            loudness: Loudness {
                integrated_lufs: Some(-14.0),
                range_lu: Some(6.0),
                max_momentary_lufs: Some(-9.0),
                max_short_term_lufs: Some(-11.0),
                short_term: Curve {
                    step_secs: 1.0,
                    values: vec![],
                },
            },
            peaks: Peaks {
                sample_peak_dbfs: Some(-1.5),
                true_peak_dbtp: Some(-1.2),
                channels: vec![],
            },
            silence: Silence {
                threshold_dbfs: -60.0,
                leading_secs: 0.1,
                trailing_secs: 1.0,
                total_secs: 1.1,
                all_silent: false,
            },
            clipping: Clipping {
                min_run: 3,
                runs: 0,
                clipped_samples: 0,
                first_runs: vec![],
            },
            dc_offset: vec![0.0, 0.0],
            stereo: None,
            waveform: Waveform {
                buckets: 0,
                min: vec![],
                max: vec![],
            },
            fingerprint: None,
            landmarks: None,
            warnings: vec![],
        }
    }

    fn rule<'a>(v: &'a Verdict, name: &str) -> &'a RuleVerdict {
        v.rules
            .iter()
            .find(|r| r.rule == name)
            .unwrap_or_else(|| panic!("no verdict for {name}"))
    }

    #[test]
    fn a_good_master_passes_every_rule() {
        let v = Policy::default().evaluate(&sample_report());
        assert_eq!(v.outcome, Outcome::Pass, "{v:#?}");
        assert!(v.rules.len() >= 9);
        for r in &v.rules {
            assert_eq!(r.code, "audio.ok");
            for l in Locale::ALL {
                assert!(!r.message(l).contains("missing"), "{} {}", r.rule, l.tag());
            }
        }
    }

    #[test]
    fn hot_true_peak_gets_the_actionable_message() {
        let mut r = sample_report();
        r.peaks.true_peak_dbtp = Some(0.4);
        let v = Policy::default().evaluate(&r);
        assert_eq!(v.outcome, Outcome::Warn);
        let tp = rule(&v, "true_peak");
        assert_eq!(tp.code, "audio.true_peak_too_high");
        assert_eq!(
            tp.message(Locale::En),
            "Your track peaks at +0.4 dBTP; the limit is \u{2212}1.0 dBTP. Lower your limiter's ceiling to \u{2212}1.0 dB and export again."
        );
        assert!(tp.message(Locale::ZhCn).contains("+0.4 dBTP"));
        let strict = Policy {
            true_peak: MaxRule {
                max: -1.0,
                severity: Severity::Reject,
            },
            ..Policy::default()
        };
        assert_eq!(strict.evaluate(&r).outcome, Outcome::Reject);
    }

    #[test]
    fn each_rule_breaks_with_its_own_code() {
        let p = Policy::default();
        type Change = Box<dyn Fn(&mut Report)>;
        let cases: Vec<(Change, &str, &str, Outcome)> = vec![
            (
                Box::new(|r| r.format.codec = "opus".into()),
                "formats",
                "audio.format_not_allowed",
                Outcome::Reject,
            ),
            (
                Box::new(|r| r.format.duration_secs = 12.0),
                "duration",
                "audio.too_short",
                Outcome::Reject,
            ),
            (
                Box::new(|r| r.format.duration_secs = 3600.0),
                "duration",
                "audio.too_long",
                Outcome::Reject,
            ),
            (
                Box::new(|r| r.format.sample_rate = 22_050),
                "sample_rate",
                "audio.sample_rate_too_low",
                Outcome::Reject,
            ),
            (
                Box::new(|r| r.format.bit_depth = Some(8)),
                "bit_depth",
                "audio.bit_depth_too_low",
                Outcome::Reject,
            ),
            (
                Box::new(|r| {
                    r.format.lossless = false;
                    r.format.bit_depth = None;
                    r.format.bitrate_kbps = Some(128.0);
                }),
                "lossy_bitrate",
                "audio.lossy_bitrate_too_low",
                Outcome::Warn,
            ),
            (
                Box::new(|r| r.format.channels = 6),
                "channels",
                "audio.channels_not_allowed",
                Outcome::Reject,
            ),
            (
                Box::new(|r| r.loudness.integrated_lufs = Some(-27.0)),
                "loudness",
                "audio.too_quiet",
                Outcome::Warn,
            ),
            (
                Box::new(|r| r.loudness.integrated_lufs = Some(-5.0)),
                "loudness",
                "audio.too_loud",
                Outcome::Warn,
            ),
            (
                Box::new(|r| r.loudness.integrated_lufs = None),
                "loudness",
                "audio.silent",
                Outcome::Reject,
            ),
            (
                Box::new(|r| r.silence.leading_secs = 4.0),
                "silence",
                "audio.leading_silence_too_long",
                Outcome::Warn,
            ),
            (
                Box::new(|r| r.silence.trailing_secs = 12.5),
                "silence",
                "audio.trailing_silence_too_long",
                Outcome::Warn,
            ),
            (
                Box::new(|r| r.clipping.runs = 7),
                "clipping",
                "audio.clipping",
                Outcome::Warn,
            ),
        ];
        // Samples that are not numbers: refused, with the count.
        let mut r = sample_report();
        r.format.invalid_samples = 16;
        let v = p.evaluate(&r);
        let bad = rule(&v, "samples");
        assert_eq!(
            (bad.code.as_str(), bad.outcome),
            ("audio.invalid_samples", Outcome::Reject)
        );
        assert_eq!(v.outcome, Outcome::Reject);
        assert!(bad.message(Locale::ZhCn).contains("16"));
        // Silence at both ends: both are reported.
        let mut r = sample_report();
        r.silence.leading_secs = 12.0;
        r.silence.trailing_secs = 21.0;
        let v = p.evaluate(&r);
        let codes: Vec<&str> = v
            .rules
            .iter()
            .filter(|x| x.rule == "silence")
            .map(|x| x.code.as_str())
            .collect();
        assert_eq!(
            codes,
            [
                "audio.leading_silence_too_long",
                "audio.trailing_silence_too_long"
            ]
        );
        for (change, name, code, outcome) in cases {
            let mut r = sample_report();
            change(&mut r);
            let v = p.evaluate(&r);
            let rv = rule(&v, name);
            assert_eq!((rv.code.as_str(), rv.outcome), (code, outcome), "{name}");
            assert_eq!(v.outcome, outcome);
            for l in Locale::ALL {
                let m = rv.message(l);
                assert!(
                    !m.contains('{') && !m.contains("missing"),
                    "{code} in {}: {m}",
                    l.tag()
                );
            }
        }
    }

    #[test]
    fn severity_off_disables_a_rule() {
        let mut r = sample_report();
        r.clipping.runs = 50;
        let p = Policy {
            clipping: MaxRule {
                max: 0.0,
                severity: Severity::Off,
            },
            ..Policy::default()
        };
        let v = p.evaluate(&r);
        assert!(v.rules.iter().all(|x| x.rule != "clipping"));
        assert_eq!(v.outcome, Outcome::Pass);
    }

    #[test]
    fn policies_parse_from_toml_and_refuse_unknown_keys() {
        let p: Policy = toml::from_str("[true_peak]\nmax = -2.0\nseverity = \"reject\"\n").unwrap();
        assert_eq!(p.true_peak.max, -2.0);
        assert_eq!(p.duration, DurationRule::default());
        assert!(toml::from_str::<Policy>("[true_peek]\nmax = 1\n").is_err());
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(signed(-1.0, 1), "\u{2212}1.0");
        assert_eq!(signed(0.4, 1), "+0.4");
        assert_eq!(signed(-0.01, 1), "0.0");
        assert_eq!(minutes(95.4), "1:35");
    }
}
