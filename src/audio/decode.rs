//! Decoding with symphonia: the format is decided by content (never the file name),
//! sample rate and channel count are validated before anything is allocated from them,
//! and decoding stops at a cap counted from frames actually decoded.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

use super::AnalysisError;
use super::report::DecodeWarning;

/// Safety limits for one analysis.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Stop (and fail with `audio.too_long`) after this much decoded audio.
    pub max_decoded_secs: f64,
    pub min_sample_rate: u32,
    pub max_sample_rate: u32,
    pub max_channels: u32,
    /// Give up when this many packets in a row fail to decode.
    pub max_consecutive_decode_errors: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decoded_secs: 30.0 * 60.0,
            min_sample_rate: 8_000,
            max_sample_rate: 192_000,
            max_channels: 8,
            max_consecutive_decode_errors: 100,
        }
    }
}

/// What the stream declares, validated.
#[derive(Debug, Clone)]
pub struct StreamInfo {
    pub container: String,
    pub codec: String,
    pub codec_long: String,
    pub lossless: bool,
    pub float_samples: bool,
    pub sample_rate: u32,
    pub channels: u32,
    pub bit_depth: Option<u32>,
    pub declared_frames: Option<u64>,
    pub file_size: u64,
}

/// An open, validated audio stream, ready to decode.
pub struct Source {
    pub info: StreamInfo,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    limits: Limits,
    planes: Vec<Vec<f32>>,
    pub decoded_frames: u64,
    /// Float samples that were NaN or infinite, replaced by silence.
    pub invalid_samples: u64,
    pub warnings: Vec<DecodeWarning>,
}

/// What the first bytes say the file is, for a clear answer when symphonia cannot read it.
pub fn sniff(head: &[u8]) -> &'static str {
    let at = |off: usize, magic: &[u8]| {
        head.len() >= off + magic.len() && &head[off..off + magic.len()] == magic
    };
    let contains = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if head.is_empty() {
        "empty"
    } else if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
        "aiff"
    } else if at(0, b"OggS") && contains(b"OpusHead") {
        "opus"
    } else if at(0, b"\x1a\x45\xdf\xa3") {
        "matroska"
    } else if at(4, b"ftyp") {
        "mp4"
    } else if at(0, b"RIFF") && at(8, b"AVI ") {
        "video"
    } else if at(0, b"RIFF") && at(8, b"WAVE") {
        "wav"
    } else if at(0, b"fLaC") {
        "flac"
    } else if at(0, b"OggS") {
        "ogg"
    } else if at(0, b"ID3") || (head.len() > 1 && head[0] == 0xff && head[1] & 0xe0 == 0xe0) {
        "mp3"
    } else if at(0, b"%PDF") {
        "pdf"
    } else if at(0, b"PK\x03\x04") {
        "zip"
    } else if at(0, b"\x7fELF") || at(0, b"MZ") {
        "executable"
    } else if at(0, b"\x89PNG") || at(0, b"\xff\xd8\xff") || at(0, b"GIF8") {
        "image"
    } else if head.iter().take(512).all(|b| b.is_ascii()) {
        "text"
    } else {
        "unknown"
    }
}

/// Whether an MP4 file has a video track (a `hdlr` box with handler `vide`).
fn mp4_has_video(path: &Path) -> std::io::Result<bool> {
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(false);
        }
        carry.extend_from_slice(&buf[..n]);
        if carry
            .windows(16)
            .any(|w| &w[0..4] == b"hdlr" && &w[12..16] == b"vide")
        {
            return Ok(true);
        }
        let keep = carry.len().saturating_sub(16);
        carry.drain(..keep);
    }
}

fn container_name(short: &str) -> String {
    match short {
        "wave" | "wav" | "riff" => "wav",
        "isomp4" | "mp4" => "mp4",
        "mpa" | "mp3" => "mp3",
        other => other,
    }
    .to_string()
}

fn map_open_error(e: SymphoniaError, kind: &'static str) -> AnalysisError {
    match e {
        SymphoniaError::Unsupported(_) => AnalysisError::Unsupported {
            detected: kind.to_string(),
        },
        SymphoniaError::LimitError(what) => AnalysisError::Corrupt(format!("limit: {what}")),
        SymphoniaError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            if matches!(
                kind,
                "empty" | "text" | "unknown" | "pdf" | "zip" | "executable" | "image"
            ) {
                AnalysisError::Unsupported {
                    detected: kind.to_string(),
                }
            } else {
                AnalysisError::Corrupt("the file ends before its audio starts".into())
            }
        }
        other => AnalysisError::Corrupt(other.to_string()),
    }
}

impl Source {
    pub fn open(path: &Path, limits: Limits) -> Result<Source, AnalysisError> {
        let mut file = File::open(path).map_err(|e| AnalysisError::Io(e.to_string()))?;
        let file_size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut head = vec![0u8; 4096];
        let n = read_up_to(&mut file, &mut head).map_err(|e| AnalysisError::Io(e.to_string()))?;
        head.truncate(n);
        let kind = sniff(&head);
        match kind {
            "empty" => return Err(AnalysisError::Empty),
            "aiff" | "opus" | "matroska" | "video" | "pdf" | "zip" | "executable" | "image"
            | "text" => {
                return Err(AnalysisError::Unsupported {
                    detected: kind.to_string(),
                });
            }
            "mp4" if mp4_has_video(path).unwrap_or(false) => {
                return Err(AnalysisError::Unsupported {
                    detected: "video".into(),
                });
            }
            _ => {}
        }

        let file = File::open(path).map_err(|e| AnalysisError::Io(e.to_string()))?;
        let mss = MediaSourceStream::new(Box::new(file), MediaSourceStreamOptions::default());
        let format = symphonia::default::get_probe()
            .probe(
                &Hint::new(),
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| map_open_error(e, kind))?;
        let container = container_name(format.format_info().short_name);

        if format
            .tracks()
            .iter()
            .any(|t| matches!(t.codec_params, Some(CodecParameters::Video(_))))
        {
            return Err(AnalysisError::Unsupported {
                detected: "video".into(),
            });
        }
        let track = format
            .default_track(TrackType::Audio)
            .ok_or(AnalysisError::NoAudio)?;
        let track_id = track.id;
        let declared_frames = track.num_frames;
        let params = match &track.codec_params {
            Some(CodecParameters::Audio(p)) => p.clone(),
            _ => return Err(AnalysisError::NoAudio),
        };

        // Validate before anything is sized by these numbers.
        let sample_rate = params
            .sample_rate
            .ok_or_else(|| AnalysisError::InvalidStream("no sample rate".into()))?;
        if sample_rate < limits.min_sample_rate || sample_rate > limits.max_sample_rate {
            return Err(AnalysisError::InvalidStream(format!(
                "sample rate {sample_rate} Hz"
            )));
        }
        if let Some(ch) = &params.channels {
            let n = ch.count() as u32;
            if n == 0 || n > limits.max_channels {
                return Err(AnalysisError::InvalidStream(format!("{n} channels")));
            }
        }

        let registry = symphonia::default::get_codecs();
        let registered =
            registry
                .get_audio_decoder(params.codec)
                .ok_or(AnalysisError::Unsupported {
                    detected: "codec".into(),
                })?;
        let codec = codec_name(registered.codec.info.short_name);
        let codec_long = registered.codec.info.long_name.to_string();
        let decoder = registry
            .make_audio_decoder(&params, &AudioDecoderOptions::default())
            .map_err(|e| map_open_error(e, kind))?;

        let lossless = matches!(codec.as_str(), "pcm" | "flac" | "alac");
        let short = registered.codec.info.short_name.to_ascii_lowercase();
        let float_samples = short.starts_with("pcm_f")
            || params
                .sample_format
                .is_some_and(|f| format!("{f:?}").to_ascii_lowercase().starts_with('f'));
        let bit_depth = if lossless {
            params.bits_per_sample.filter(|b| (1..=64).contains(b))
        } else {
            None
        };
        let channels = params
            .channels
            .as_ref()
            .map(|c| c.count() as u32)
            .unwrap_or(0);
        Ok(Source {
            info: StreamInfo {
                container,
                codec,
                codec_long,
                lossless,
                float_samples,
                sample_rate,
                channels,
                bit_depth,
                declared_frames,
                file_size,
            },
            format,
            decoder,
            track_id,
            limits,
            planes: Vec::new(),
            decoded_frames: 0,
            invalid_samples: 0,
            warnings: Vec::new(),
        })
    }

    fn warn(&mut self, code: &str, detail: impl Into<String>) {
        if self.warnings.len() < 20 && !self.warnings.iter().any(|w| w.code == code) {
            self.warnings.push(DecodeWarning {
                code: code.to_string(),
                detail: detail.into(),
            });
        }
    }

    /// Decode everything, handing each buffer to `sink` as planar f32 (one slice per
    /// channel, all the same length).
    pub fn decode_all(&mut self, mut sink: impl FnMut(&[&[f32]])) -> Result<(), AnalysisError> {
        let max_frames = (self.limits.max_decoded_secs * self.info.sample_rate as f64) as u64;
        let mut consecutive_errors = 0u32;
        let mut decode_errors = 0u64;
        loop {
            let packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(SymphoniaError::IoError(e)) => {
                    // A truncated file: keep what was decoded, and say so.
                    self.warn("truncated", format!("the file ends unexpectedly: {e}"));
                    break;
                }
                Err(SymphoniaError::ResetRequired) => {
                    return Err(AnalysisError::InvalidStream(
                        "the stream changes its format midway".into(),
                    ));
                }
                Err(SymphoniaError::DecodeError(e)) => {
                    decode_errors += 1;
                    consecutive_errors += 1;
                    self.warn("demux_error", e);
                    if consecutive_errors > self.limits.max_consecutive_decode_errors {
                        return Err(AnalysisError::Corrupt(format!(
                            "too many damaged packets: {e}"
                        )));
                    }
                    continue;
                }
                Err(e) => return Err(AnalysisError::Corrupt(e.to_string())),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let buf = match self.decoder.decode(&packet) {
                Ok(b) => b,
                Err(SymphoniaError::DecodeError(e)) | Err(SymphoniaError::Unsupported(e)) => {
                    decode_errors += 1;
                    consecutive_errors += 1;
                    self.warn("decode_error", e);
                    if consecutive_errors > self.limits.max_consecutive_decode_errors {
                        return Err(AnalysisError::Corrupt(format!(
                            "too many damaged packets: {e}"
                        )));
                    }
                    continue;
                }
                Err(SymphoniaError::IoError(e)) => {
                    self.warn("truncated", format!("a packet ends unexpectedly: {e}"));
                    continue;
                }
                Err(SymphoniaError::LimitError(e)) => {
                    return Err(AnalysisError::Corrupt(format!("limit: {e}")));
                }
                Err(e) => return Err(AnalysisError::Corrupt(e.to_string())),
            };
            consecutive_errors = 0;
            let spec = buf.spec();
            let channels = spec.channels().count() as u32;
            if spec.rate() != self.info.sample_rate
                || (self.info.channels != 0 && channels != self.info.channels)
            {
                return Err(AnalysisError::InvalidStream(
                    "the stream changes its format midway".into(),
                ));
            }
            if channels == 0 || channels > self.limits.max_channels {
                return Err(AnalysisError::InvalidStream(format!("{channels} channels")));
            }
            self.info.channels = channels;
            let frames = buf.frames();
            if frames == 0 {
                continue;
            }
            self.decoded_frames += frames as u64;
            if self.decoded_frames > max_frames {
                return Err(AnalysisError::TooLong {
                    limit_secs: self.limits.max_decoded_secs,
                });
            }
            buf.copy_to_vecs_planar::<f32>(&mut self.planes);
            if self.info.float_samples {
                // A damaged float file can hold NaN or infinities: they are measured as
                // silence and counted, so the report says what is wrong (never a crash).
                for p in self.planes.iter_mut() {
                    for x in p[..frames].iter_mut().filter(|x| !x.is_finite()) {
                        *x = 0.0;
                        self.invalid_samples += 1;
                    }
                }
            }
            let views: Vec<&[f32]> = self.planes.iter().map(|p| &p[..frames]).collect();
            sink(&views);
        }
        if self.invalid_samples > 0 {
            let n = self.invalid_samples;
            self.warn(
                "invalid_samples",
                format!("{n} samples were not numbers and were read as silence"),
            );
        }
        if decode_errors > 0 {
            let n = decode_errors;
            self.warn(
                "damaged_packets",
                format!("{n} damaged packets were skipped"),
            );
        }
        if let Some(declared) = self.info.declared_frames
            && declared > 0
            && self.decoded_frames + self.info.sample_rate as u64 / 10 < declared
        {
            let (got, want) = (self.decoded_frames, declared);
            self.warn(
                "truncated",
                format!("decoded {got} of {want} declared frames"),
            );
        }
        if self.decoded_frames == 0 {
            return Err(AnalysisError::Empty);
        }
        Ok(())
    }
}

fn codec_name(short: &str) -> String {
    let s = short.to_ascii_lowercase();
    if s.starts_with("pcm") {
        "pcm".into()
    } else if s.contains("mp3") || s == "mpa" {
        "mp3".into()
    } else if s.contains("aac") {
        "aac".into()
    } else {
        s
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut total = 0;
    while total < buf.len() {
        let n = file.read(&mut buf[total..])?;
        if n == 0 {
            break;
        }
        total += n;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn sniffing_names_what_we_refuse() {
        assert_eq!(sniff(b""), "empty");
        assert_eq!(sniff(b"FORM\0\0\0\x10AIFFCOMM"), "aiff");
        assert_eq!(
            sniff(b"OggS\0\x02\0\0\0\0\0\0\0\0\x01\x02\x03\x04\0\0\0\0\0\0\0\0\x01\x13OpusHead"),
            "opus"
        );
        assert_eq!(sniff(b"\x1a\x45\xdf\xa3\x01\x02"), "matroska");
        assert_eq!(sniff(b"\0\0\0\x20ftypisom"), "mp4");
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), "wav");
        assert_eq!(sniff(b"%PDF-1.7"), "pdf");
        assert_eq!(sniff(b"<html><body>"), "text");
        assert_eq!(sniff(b"\x7fELF\x02"), "executable");
        assert_eq!(sniff(b"ID3\x04\0"), "mp3");
    }
}
