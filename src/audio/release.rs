//! Release files for an album: a track gain-normalised to the album's loudness (never
//! limited: where the gain would push the true peak past the ceiling the track is
//! brought only as far as the ceiling allows), encoded as FLAC (flac-codec) and as MP3
//! (LAME through mp3lame-encoder), tagged (lofty: Vorbis comments and ID3v2), and
//! measured again by this engine on the encoded files. Run in the limited child
//! (`cadenza analyze --release DIR`), like every other job that decodes a user's file.

use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{AnalysisError, Limits, Options, RenditionCaps, analyze_file, render_wav};

/// The album's default loudness target (streaming services' reference).
pub const DEFAULT_TARGET_LUFS: f64 = -14.0;
/// No release file's true peak passes this.
pub const CEILING_DBTP: f64 = -1.0;
/// The MP3 encoder's bit rate (kbit/s, constant).
pub const MP3_KBPS: u32 = 320;

/// The gain a release gets, and whether the peak ceiling held it below the target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReleaseGain {
    pub gain_db: f64,
    /// The gain the target alone asked for was more than the true peak allows: the
    /// track is at the highest level that keeps its peaks under the ceiling.
    pub peak_limited: bool,
}

/// The gain that brings a track measured at `integrated_lufs` with `true_peak_dbtp` to
/// `target_lufs`, or, when that would put its true peak above `ceiling_dbtp -
/// headroom_db`, the largest gain that does not. `headroom_db` is what the encoders
/// add to the peaks (measured on the encoded files and fed back).
pub fn release_gain(
    integrated_lufs: f64,
    true_peak_dbtp: f64,
    target_lufs: f64,
    ceiling_dbtp: f64,
    headroom_db: f64,
) -> ReleaseGain {
    let wanted = target_lufs - integrated_lufs;
    let allowed = ceiling_dbtp - headroom_db.max(0.0) - true_peak_dbtp;
    let (g, limited) = if wanted > allowed {
        (allowed, true)
    } else {
        (wanted, false)
    };
    ReleaseGain {
        gain_db: (g.clamp(-40.0, 40.0) * 1000.0).round() / 1000.0,
        peak_limited: limited,
    }
}

/// What the tags of a release file say.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReleaseTags {
    pub title: String,
    pub artist: String,
    pub album: String,
    pub album_artist: String,
    pub track: u32,
    pub track_total: u32,
    pub year: u32,
    pub composers: Vec<String>,
    pub lyrics: String,
    /// Free text: the painting or prompt behind the song, and the AI disclosure.
    pub comment: String,
}

/// One encoded file as measured by the engine after encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncodedFile {
    pub path: PathBuf,
    pub size_bytes: u64,
    pub integrated_lufs: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
    pub duration_secs: f64,
}

/// What `cadenza analyze --release` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseOutput {
    pub flac: EncodedFile,
    pub mp3: EncodedFile,
    pub sample_rate: u32,
    pub channels: u16,
    pub frames: u64,
}

fn failed(what: &str, e: impl std::fmt::Display) -> AnalysisError {
    AnalysisError::Crashed(format!("{what}: {e}"))
}

/// Make `track.flac` and `track.mp3` of `source` in `dir`, scaled by `gain_db`, tagged
/// with `tags` and the `cover` picture (JPEG or PNG), then measure both.
pub fn make_release(
    source: &Path,
    dir: &Path,
    gain_db: f64,
    tags: &ReleaseTags,
    cover: Option<&[u8]>,
    limits: Limits,
    caps: RenditionCaps,
) -> Result<ReleaseOutput, AnalysisError> {
    let wav = dir.join("track.wav");
    let frames = render_wav(source, &wav, limits, gain_db, caps)?;
    let pcm = Pcm::open(&wav)?;
    let (rate, channels) = (pcm.rate, pcm.channels);
    let flac = dir.join("track.flac");
    let mp3 = dir.join("track.mp3");
    encode_flac(Pcm::open(&wav)?, &flac)?;
    encode_mp3(pcm, &mp3)?;
    let _ = std::fs::remove_file(&wav);
    write_tags(&flac, tags, cover)?;
    write_tags(&mp3, tags, cover)?;
    Ok(ReleaseOutput {
        flac: measure(&flac, limits)?,
        mp3: measure(&mp3, limits)?,
        sample_rate: rate,
        channels,
        frames,
    })
}

/// Loudness and true peak of an encoded file, as the engine measures every upload.
pub fn measure(path: &Path, limits: Limits) -> Result<EncodedFile, AnalysisError> {
    let r = analyze_file(
        path,
        &Options {
            limits,
            fingerprint: false,
        },
    )?;
    Ok(EncodedFile {
        path: path.to_path_buf(),
        size_bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        integrated_lufs: r.loudness.integrated_lufs,
        true_peak_dbtp: r.peaks.true_peak_dbtp,
        duration_secs: r.format.duration_secs,
    })
}

/// The 16-bit PCM of a rendition (the WAV `render_wav` writes: a 44-byte header).
struct Pcm {
    r: std::io::BufReader<std::fs::File>,
    rate: u32,
    channels: u16,
    frames: u64,
}

impl Pcm {
    fn open(path: &Path) -> Result<Pcm, AnalysisError> {
        let mut f = std::fs::File::open(path).map_err(|e| failed("rendition", e))?;
        let mut h = [0u8; 44];
        f.read_exact(&mut h).map_err(|e| failed("rendition", e))?;
        let channels = u16::from_le_bytes([h[22], h[23]]);
        let rate = u32::from_le_bytes([h[24], h[25], h[26], h[27]]);
        let data = u32::from_le_bytes([h[40], h[41], h[42], h[43]]) as u64;
        if &h[0..4] != b"RIFF" || channels == 0 || rate == 0 {
            return Err(failed("rendition", "not a rendition"));
        }
        f.seek(SeekFrom::Start(44))
            .map_err(|e| failed("rendition", e))?;
        Ok(Pcm {
            r: std::io::BufReader::with_capacity(1 << 20, f),
            rate,
            channels,
            frames: data / (2 * channels as u64),
        })
    }

    /// The next interleaved samples (up to `frames` frames); empty at the end.
    fn next(&mut self, frames: usize, out: &mut Vec<i16>) -> Result<(), AnalysisError> {
        out.clear();
        let mut bytes = vec![0u8; frames * self.channels as usize * 2];
        let mut filled = 0;
        while filled < bytes.len() {
            let n = self
                .r
                .read(&mut bytes[filled..])
                .map_err(|e| failed("rendition", e))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        let whole = filled / (2 * self.channels as usize) * self.channels as usize;
        out.extend(
            bytes[..whole * 2]
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]])),
        );
        Ok(())
    }
}

const CHUNK_FRAMES: usize = 8192;

fn encode_flac(mut pcm: Pcm, out: &Path) -> Result<(), AnalysisError> {
    use flac_codec::encode::{FlacSampleWriter, Options};
    let file = std::fs::File::create(out).map_err(|e| failed("flac", e))?;
    let total = pcm.frames * pcm.channels as u64;
    let mut w = FlacSampleWriter::new(
        BufWriter::with_capacity(1 << 20, file),
        Options::default(),
        pcm.rate,
        16,
        pcm.channels as u8,
        Some(total),
    )
    .map_err(|e| failed("flac", e))?;
    let mut buf = Vec::new();
    let mut wide = Vec::new();
    loop {
        pcm.next(CHUNK_FRAMES, &mut buf)?;
        if buf.is_empty() {
            break;
        }
        wide.clear();
        wide.extend(buf.iter().map(|&s| s as i32));
        w.write(&wide).map_err(|e| failed("flac", e))?;
    }
    w.finalize().map_err(|e| failed("flac", e))
}

fn encode_mp3(mut pcm: Pcm, out: &Path) -> Result<(), AnalysisError> {
    use mp3lame_encoder::{Bitrate, Builder, FlushNoGap, InterleavedPcm, MonoPcm, Quality};
    let lame = |e: &dyn std::fmt::Display| failed("mp3", e.to_string());
    let mut b = Builder::new().ok_or_else(|| failed("mp3", "no encoder"))?;
    b.set_num_channels(pcm.channels as u8)
        .map_err(|e| lame(&e))?;
    b.set_sample_rate(pcm.rate).map_err(|e| lame(&e))?;
    b.set_brate(Bitrate::Kbps320).map_err(|e| lame(&e))?;
    b.set_quality(Quality::NearBest).map_err(|e| lame(&e))?;
    // The "Info" frame carries the encoder's delay and padding: players that read it
    // (and this engine's decoder) play the track gaplessly.
    b.set_to_write_vbr_tag(true).map_err(|e| lame(&e))?;
    let mut enc = b.build().map_err(|e| lame(&e))?;
    let file = std::fs::File::create(out).map_err(|e| failed("mp3", e))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut buf = Vec::new();
    let mut coded: Vec<u8> = Vec::new();
    loop {
        pcm.next(CHUNK_FRAMES, &mut buf)?;
        if buf.is_empty() {
            break;
        }
        coded.clear();
        coded.reserve(mp3lame_encoder::max_required_buffer_size(
            buf.len() / pcm.channels as usize,
        ));
        if pcm.channels == 1 {
            enc.encode_to_vec(MonoPcm(&buf[..]), &mut coded)
        } else {
            enc.encode_to_vec(InterleavedPcm(&buf[..]), &mut coded)
        }
        .map_err(|e| lame(&e))?;
        w.write_all(&coded).map_err(|e| failed("mp3", e))?;
    }
    coded.clear();
    coded.reserve(7200);
    enc.flush_to_vec::<FlushNoGap>(&mut coded)
        .map_err(|e| lame(&e))?;
    w.write_all(&coded).map_err(|e| failed("mp3", e))?;
    let mut file = w.into_inner().map_err(|e| failed("mp3", e.error()))?;
    let mut tag = Vec::new();
    if enc.lame_tag_size() > 0 && enc.lame_tag_encode_to_vec(&mut tag).is_some() {
        // The first frame was written as a placeholder for it.
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(&tag))
            .map_err(|e| failed("mp3", e))?;
    }
    file.sync_all().map_err(|e| failed("mp3", e))
}

/// Write `tags` (and the cover) into an encoded file, in its own kind of tag: Vorbis
/// comments and a picture block in FLAC, ID3v2.4 in MP3.
pub fn write_tags(
    path: &Path,
    tags: &ReleaseTags,
    cover: Option<&[u8]>,
) -> Result<(), AnalysisError> {
    use lofty::config::WriteOptions;
    use lofty::file::TaggedFileExt;
    use lofty::picture::{MimeType, Picture, PictureType};
    use lofty::prelude::{Accessor, ItemKey, TagExt};
    use lofty::tag::Tag;
    let tf = lofty::read_from_path(path).map_err(|e| failed("tags", e))?;
    let mut tag = Tag::new(tf.primary_tag_type());
    tag.set_title(tags.title.clone());
    tag.set_artist(tags.artist.clone());
    tag.set_album(tags.album.clone());
    if !tags.album_artist.is_empty() {
        tag.insert_text(ItemKey::AlbumArtist, tags.album_artist.clone());
    }
    tag.set_track(tags.track);
    if tags.track_total > 0 {
        tag.set_track_total(tags.track_total);
    }
    if tags.year > 0 {
        tag.insert_text(ItemKey::RecordingDate, tags.year.to_string());
    }
    if !tags.composers.is_empty() {
        tag.insert_text(ItemKey::Composer, tags.composers.join("; "));
    }
    if !tags.lyrics.is_empty() {
        tag.insert_text(ItemKey::Lyrics, tags.lyrics.clone());
    }
    if !tags.comment.is_empty() {
        tag.set_comment(tags.comment.clone());
    }
    if let Some(bytes) = cover {
        let mime = match crate::media::image_type(bytes) {
            Some("image/png") => MimeType::Png,
            _ => MimeType::Jpeg,
        };
        tag.push_picture(Picture::new_unchecked(
            PictureType::CoverFront,
            Some(mime),
            None,
            bytes.to_vec(),
        ));
    }
    tag.save_to_path(path, WriteOptions::default())
        .map_err(|e| failed("tags", e))
}

/// The tags read back from a release file (tests and the checks after encoding).
pub fn read_tags(path: &Path) -> Result<(ReleaseTags, Option<Vec<u8>>), AnalysisError> {
    use lofty::file::TaggedFileExt;
    use lofty::prelude::{Accessor, ItemKey};
    let tf = lofty::read_from_path(path).map_err(|e| failed("tags", e))?;
    let tag = tf.primary_tag().ok_or_else(|| failed("tags", "no tag"))?;
    let text = |k: &ItemKey| tag.get_string(k).unwrap_or_default().to_string();
    let year = text(&ItemKey::RecordingDate)
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(0);
    Ok((
        ReleaseTags {
            title: tag.title().unwrap_or_default().to_string(),
            artist: tag.artist().unwrap_or_default().to_string(),
            album: tag.album().unwrap_or_default().to_string(),
            album_artist: text(&ItemKey::AlbumArtist),
            track: tag.track().unwrap_or(0),
            track_total: tag.track_total().unwrap_or(0),
            year,
            composers: text(&ItemKey::Composer)
                .split("; ")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            lyrics: text(&ItemKey::Lyrics),
            comment: tag.comment().unwrap_or_default().to_string(),
        },
        tag.pictures().first().map(|p| p.data().to_vec()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gain_reaches_the_target_or_stops_at_the_ceiling() {
        // A quiet master with headroom is brought up to the target.
        let g = release_gain(-20.0, -8.0, -14.0, -1.0, 0.0);
        assert_eq!(
            g,
            ReleaseGain {
                gain_db: 6.0,
                peak_limited: false
            }
        );
        // A loud one is turned down: never limited.
        let g = release_gain(-8.0, -0.1, -14.0, -1.0, 0.0);
        assert_eq!(
            g,
            ReleaseGain {
                gain_db: -6.0,
                peak_limited: false
            }
        );
        // A quiet one with loud peaks goes only as far as the ceiling allows.
        let g = release_gain(-22.0, -4.0, -14.0, -1.0, 0.0);
        assert_eq!(
            g,
            ReleaseGain {
                gain_db: 3.0,
                peak_limited: true
            }
        );
        // What the encoder adds to the peaks comes off the allowance.
        let g = release_gain(-22.0, -4.0, -14.0, -1.0, 0.4);
        assert_eq!(
            g,
            ReleaseGain {
                gain_db: 2.6,
                peak_limited: true
            }
        );
        // Exactly at the ceiling is not limited.
        let g = release_gain(-20.0, -7.0, -14.0, -1.0, 0.0);
        assert!(!g.peak_limited);
    }

    /// A stereo test signal as a 16-bit WAV: a 440 Hz tone at `amp` left and a 660 Hz
    /// one right, `secs` long.
    fn tone(path: &Path, secs: f64, amp: f64) {
        let rate = 44_100u32;
        let n = (secs * rate as f64) as usize;
        let mut body = Vec::with_capacity(n * 4);
        for i in 0..n {
            let t = i as f64 / rate as f64;
            for f in [440.0, 660.0] {
                let v = (amp * (2.0 * std::f64::consts::PI * f * t).sin() * 32767.0) as i16;
                body.extend_from_slice(&v.to_le_bytes());
            }
        }
        let mut h = Vec::new();
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&(36 + body.len() as u32).to_le_bytes());
        h.extend_from_slice(b"WAVEfmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        h.extend_from_slice(&1u16.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&rate.to_le_bytes());
        h.extend_from_slice(&(rate * 4).to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&16u16.to_le_bytes());
        h.extend_from_slice(b"data");
        h.extend_from_slice(&(body.len() as u32).to_le_bytes());
        h.extend_from_slice(&body);
        std::fs::write(path, h).unwrap();
    }

    #[test]
    fn release_files_are_tagged_and_at_the_asked_level() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("in.wav");
        tone(&src, 12.0, 0.1);
        let before = measure(&src, Limits::default()).unwrap();
        let i = before.integrated_lufs.unwrap();
        let tp = before.true_peak_dbtp.unwrap();
        let g = release_gain(i, tp, -14.0, CEILING_DBTP, 0.0);
        let tags = ReleaseTags {
            title: "Night Ferry".into(),
            artist: "Mei".into(),
            album: "Paintings into Songs".into(),
            album_artist: "Various".into(),
            track: 2,
            track_total: 3,
            year: 2026,
            composers: vec!["Mei".into(), "Jun Li".into()],
            lyrics: "灯火 across the water".into(),
            comment: "Inspired by: Along the River".into(),
        };
        let cover = {
            let mut png = Vec::new();
            let mut e = png::Encoder::new(&mut png, 2, 2);
            e.set_color(png::ColorType::Rgb);
            e.set_depth(png::BitDepth::Eight);
            e.write_header()
                .unwrap()
                .write_image_data(&[9; 12])
                .unwrap();
            png
        };
        let out = make_release(
            &src,
            dir.path(),
            g.gain_db,
            &tags,
            Some(&cover),
            Limits::default(),
            RenditionCaps::default(),
        )
        .unwrap();
        for f in [&out.flac, &out.mp3] {
            let l = f.integrated_lufs.unwrap();
            assert!(
                (l - (i + g.gain_db)).abs() < 0.2,
                "{f:?} vs {}",
                i + g.gain_db
            );
            assert!((f.duration_secs - 12.0).abs() < 0.1, "{f:?}");
            let (back, pic) = read_tags(&f.path).unwrap();
            assert_eq!(back, tags, "{}", f.path.display());
            assert_eq!(pic.as_deref(), Some(&cover[..]));
        }
    }
}
