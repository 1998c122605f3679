//! Acoustic fingerprints (rusty-chromaprint), for finding the same recording again
//! even after re-encoding.

use base64::Engine;
use rusty_chromaprint::{Configuration, Fingerprinter};

use super::report::Fingerprint;

pub struct FingerprintBuilder {
    fp: Fingerprinter,
    config: Configuration,
    interleaved: Vec<i16>,
}

impl FingerprintBuilder {
    pub fn new(rate: u32, channels: u32) -> Option<FingerprintBuilder> {
        let config = Configuration::preset_test2();
        let mut fp = Fingerprinter::new(&config);
        fp.start(rate, channels).ok()?;
        Some(FingerprintBuilder {
            fp,
            config,
            interleaved: Vec::new(),
        })
    }

    pub fn feed(&mut self, planes: &[&[f32]]) {
        let frames = planes[0].len();
        let ch = planes.len();
        self.interleaved.clear();
        self.interleaved.resize(frames * ch, 0);
        for (c, p) in planes.iter().enumerate() {
            for (i, &x) in p.iter().enumerate() {
                self.interleaved[i * ch + c] = (x.clamp(-1.0, 1.0) * 32767.0) as i16;
            }
        }
        self.fp.consume(&self.interleaved);
    }

    pub fn finish(mut self) -> Option<Fingerprint> {
        self.fp.finish();
        let items = self.fp.fingerprint();
        if items.is_empty() {
            return None;
        }
        let bytes: Vec<u8> = items.iter().flat_map(|v| v.to_le_bytes()).collect();
        Some(Fingerprint {
            algorithm: "chromaprint/test2".into(),
            data: base64::engine::general_purpose::STANDARD.encode(bytes),
            item_secs: self.config.item_duration_in_seconds() as f64,
        })
    }
}

/// The sub-fingerprints of a report's fingerprint.
pub fn decode(fp: &Fingerprint) -> Option<Vec<u32>> {
    decode_data(&fp.data)
}

/// The sub-fingerprints of a stored fingerprint (base64 of little-endian u32s).
pub fn decode_data(data: &str) -> Option<Vec<u32>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()?;
    Some(
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// Matching segments between two fingerprints' sub-fingerprints, as `(start_a_secs,
/// start_b_secs, length_secs)`, with `step` seconds per item.
pub fn match_items(a: &[u32], b: &[u32], step: f64) -> Vec<(f64, f64, f64)> {
    let config = Configuration::preset_test2();
    rusty_chromaprint::match_fingerprints(a, b, &config)
        .map(|segs| {
            segs.into_iter()
                .map(|s| {
                    (
                        s.offset1 as f64 * step,
                        s.offset2 as f64 * step,
                        s.items_count as f64 * step,
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
