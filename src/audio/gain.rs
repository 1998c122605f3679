//! Fair playback: the gain that brings a track to a common loudness without clipping.
//! The judges' player applies it in the browser; the public renditions carry it in the
//! file itself, so every listener hears every song at the same loudness.

/// The loudness every entry is played at (judges' player and public renditions).
pub const REFERENCE_LUFS: f64 = -18.0;
/// No entry is turned up so far that its true peak would pass this.
pub const PEAK_CEILING_DBTP: f64 = -1.0;

/// The playback gain that brings a track to [`REFERENCE_LUFS`], limited by its
/// true-peak headroom so nothing clips. Loud masters are turned down; quiet ones up
/// only as far as their peaks allow.
pub fn playback_gain(integrated_lufs: Option<f64>, true_peak_dbtp: Option<f64>) -> f64 {
    let Some(i) = integrated_lufs.filter(|v| v.is_finite()) else {
        return 0.0;
    };
    let mut g = REFERENCE_LUFS - i;
    if let Some(tp) = true_peak_dbtp.filter(|v| v.is_finite()) {
        g = g.min(PEAK_CEILING_DBTP - tp);
    }
    (g.clamp(-40.0, 20.0) * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gain_reaches_the_reference_without_clipping() {
        // A loud master (−8 LUFS, −0.1 dBTP) is turned down by 10 dB.
        assert_eq!(playback_gain(Some(-8.0), Some(-0.1)), -10.0);
        // A quiet one (−24 LUFS) would need +6 dB but its peak at −4 dBTP allows +3.
        assert_eq!(playback_gain(Some(-24.0), Some(-4.0)), 3.0);
        // Plenty of headroom: the full +6 dB.
        assert_eq!(playback_gain(Some(-24.0), Some(-12.0)), 6.0);
        assert_eq!(playback_gain(None, Some(-1.0)), 0.0);
    }
}
