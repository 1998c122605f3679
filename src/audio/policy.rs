//! A competition's technical rules and their presets. Defaults follow common
//! distributor practice. Applying them to a report is `verdict`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Warn,
    Reject,
}

/// What a broken rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Off,
    Warn,
    Reject,
}

impl Severity {
    pub(super) fn outcome(self) -> Outcome {
        match self {
            Severity::Off | Severity::Warn => Outcome::Warn,
            Severity::Reject => Outcome::Reject,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FormatRule {
    /// Codecs accepted: `pcm` (WAV), `flac`, `alac`, `mp3`, `aac`, `vorbis`.
    pub allowed: Vec<String>,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DurationRule {
    pub min_secs: Option<f64>,
    pub max_secs: Option<f64>,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MinRule {
    pub min: f64,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MaxRule {
    pub max: f64,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelsRule {
    pub allowed: Vec<u32>,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoudnessRule {
    pub min_lufs: f64,
    pub max_lufs: f64,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SilenceRule {
    pub max_leading_secs: f64,
    pub max_trailing_secs: f64,
    pub severity: Severity,
}

/// Loudness range (EBU R 128 LRA), in LU: how far the quiet and loud parts are apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RangeRule {
    /// Below this the master is squashed flat (no default: many styles are).
    pub min_lu: Option<f64>,
    /// Above this the quiet parts get lost on a phone at the venue.
    pub max_lu: Option<f64>,
    pub severity: Severity,
}

impl Default for RangeRule {
    fn default() -> Self {
        RangeRule {
            min_lu: None,
            max_lu: Some(20.0),
            severity: Severity::Warn,
        }
    }
}

/// Stereo phase: a mix whose channels cancel (correlation below `min_correlation`)
/// sounds hollow in stereo and loses its centre on a mono speaker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PhaseRule {
    pub min_correlation: f64,
    pub severity: Severity,
}

impl Default for PhaseRule {
    fn default() -> Self {
        PhaseRule {
            min_correlation: 0.0,
            severity: Severity::Warn,
        }
    }
}

/// The rules. Every section has defaults; `severity = "off"` disables one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub formats: FormatRule,
    pub duration: DurationRule,
    /// Minimum sample rate in Hz.
    pub sample_rate: MinRule,
    /// Minimum bit depth of lossless files.
    pub bit_depth: MinRule,
    /// Minimum average bitrate of lossy files, in kbit/s.
    pub lossy_bitrate: MinRule,
    pub channels: ChannelsRule,
    /// Integrated loudness window.
    pub loudness: LoudnessRule,
    /// Maximum true peak in dBTP.
    pub true_peak: MaxRule,
    pub silence: SilenceRule,
    /// Maximum number of clipping runs.
    pub clipping: MaxRule,
    pub loudness_range: RangeRule,
    /// Largest DC offset of any channel, as a fraction of full scale.
    pub dc_offset: MaxRule,
    pub phase: PhaseRule,
}

impl Default for FormatRule {
    fn default() -> Self {
        FormatRule {
            allowed: ["pcm", "flac", "alac", "mp3", "aac", "vorbis"]
                .map(String::from)
                .to_vec(),
            severity: Severity::Reject,
        }
    }
}
impl Default for DurationRule {
    fn default() -> Self {
        DurationRule {
            min_secs: Some(30.0),
            max_secs: Some(15.0 * 60.0),
            severity: Severity::Reject,
        }
    }
}
impl Default for MinRule {
    fn default() -> Self {
        MinRule {
            min: 0.0,
            severity: Severity::Off,
        }
    }
}
impl Default for MaxRule {
    fn default() -> Self {
        MaxRule {
            max: 0.0,
            severity: Severity::Off,
        }
    }
}
impl Default for ChannelsRule {
    fn default() -> Self {
        ChannelsRule {
            allowed: vec![1, 2],
            severity: Severity::Reject,
        }
    }
}
impl Default for LoudnessRule {
    fn default() -> Self {
        LoudnessRule {
            min_lufs: -20.0,
            max_lufs: -7.0,
            severity: Severity::Warn,
        }
    }
}
impl Default for SilenceRule {
    fn default() -> Self {
        SilenceRule {
            max_leading_secs: 2.0,
            max_trailing_secs: 10.0,
            severity: Severity::Warn,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            formats: FormatRule::default(),
            duration: DurationRule::default(),
            sample_rate: MinRule {
                min: 44_100.0,
                severity: Severity::Reject,
            },
            bit_depth: MinRule {
                min: 16.0,
                severity: Severity::Reject,
            },
            lossy_bitrate: MinRule {
                min: 192.0,
                severity: Severity::Warn,
            },
            channels: ChannelsRule::default(),
            loudness: LoudnessRule::default(),
            true_peak: MaxRule {
                max: -1.0,
                severity: Severity::Warn,
            },
            silence: SilenceRule::default(),
            clipping: MaxRule {
                max: 0.0,
                severity: Severity::Warn,
            },
            loudness_range: RangeRule::default(),
            dc_offset: MaxRule {
                max: 0.01,
                severity: Severity::Warn,
            },
            phase: PhaseRule::default(),
        }
    }
}

/// The organiser's starting points, by name (docs/audio-report.md, "Presets").
pub const PRESETS: [&str; 4] = ["default", "streaming", "broadcast", "demo"];

impl Policy {
    /// A named preset: `default` (this server's), `streaming` (streaming-ready masters:
    /// −14 LUFS ±2, true peak ≤ −1 dBTP, 44.1 kHz / 16-bit, clipping refused), `broadcast`
    /// (EBU R128: −23 LUFS ±1, ≤ −1 dBTP, 48 kHz / 24-bit) or `demo` (home demos: every
    /// rule only warns, nothing is refused but an unreadable format or length).
    pub fn preset(name: &str) -> Option<Policy> {
        let d = Policy::default();
        Some(match name {
            "default" => d,
            "streaming" => Policy {
                loudness: LoudnessRule {
                    min_lufs: -16.0,
                    max_lufs: -12.0,
                    severity: Severity::Warn,
                },
                true_peak: MaxRule {
                    max: -1.0,
                    severity: Severity::Reject,
                },
                sample_rate: MinRule {
                    min: 44_100.0,
                    severity: Severity::Reject,
                },
                bit_depth: MinRule {
                    min: 16.0,
                    severity: Severity::Reject,
                },
                clipping: MaxRule {
                    max: 0.0,
                    severity: Severity::Reject,
                },
                ..d
            },
            "broadcast" => Policy {
                loudness: LoudnessRule {
                    min_lufs: -24.0,
                    max_lufs: -22.0,
                    severity: Severity::Reject,
                },
                true_peak: MaxRule {
                    max: -1.0,
                    severity: Severity::Reject,
                },
                sample_rate: MinRule {
                    min: 48_000.0,
                    severity: Severity::Reject,
                },
                bit_depth: MinRule {
                    min: 24.0,
                    severity: Severity::Warn,
                },
                clipping: MaxRule {
                    max: 0.0,
                    severity: Severity::Reject,
                },
                ..d
            },
            "demo" => Policy {
                sample_rate: MinRule {
                    min: 22_050.0,
                    severity: Severity::Warn,
                },
                bit_depth: MinRule {
                    min: 16.0,
                    severity: Severity::Warn,
                },
                lossy_bitrate: MinRule {
                    min: 128.0,
                    severity: Severity::Warn,
                },
                loudness: LoudnessRule {
                    min_lufs: -30.0,
                    max_lufs: -5.0,
                    severity: Severity::Warn,
                },
                clipping: MaxRule {
                    max: 0.0,
                    severity: Severity::Warn,
                },
                ..d
            },
            _ => return None,
        })
    }
}

pub use super::verdict::{RuleVerdict, Verdict, minutes, signed};
