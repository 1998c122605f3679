//! EBU Tech 3341 (loudness, true peak) and Tech 3342 (loudness range) test cases,
//! generated from their published definitions, measured by the engine's meter, and
//! checked against the tolerances the documents give (±0.1 LU for loudness, ±1 LU for
//! loudness range, +0.2/−0.4 dB for true peak). Programme-material cases (3341 #7 and
//! #8, 3342 #5 and #6) need the EBU's own recordings and are not reproduced.

use cadenza::audio::meter::{Meter, MeterResult};

use crate::signals::{sine, sine_steps};

fn measure(rate: u32, planes: &[Vec<f32>]) -> MeterResult {
    let mut m = Meter::new(rate, planes.len() as u32).unwrap();
    let n = planes[0].len();
    let mut start = 0;
    while start < n {
        let end = (start + 4096).min(n);
        let views: Vec<&[f32]> = planes.iter().map(|p| &p[start..end]).collect();
        m.feed(&views).unwrap();
        start = end;
    }
    m.finish().unwrap()
}

fn stereo(x: Vec<f32>) -> Vec<Vec<f32>> {
    vec![x.clone(), x]
}

fn assert_near(what: &str, got: Option<f64>, want: f64, tol: f64) {
    let got = got.unwrap_or_else(|| panic!("{what}: no value"));
    assert!(
        (got - want).abs() <= tol,
        "{what}: {got} is not within ±{tol} of {want}"
    );
}

const RATE: u32 = 48_000;

#[test]
fn tech3341_case1_stereo_sine_at_minus_23() {
    let r = measure(RATE, &stereo(sine_steps(RATE, &[(-23.0, 20.0)])));
    assert_near("I", r.loudness.integrated_lufs, -23.0, 0.1);
    assert_near("max M", r.loudness.max_momentary_lufs, -23.0, 0.1);
    assert_near("max S", r.loudness.max_short_term_lufs, -23.0, 0.1);
}

#[test]
fn tech3341_case2_stereo_sine_at_minus_33() {
    let r = measure(RATE, &stereo(sine_steps(RATE, &[(-33.0, 20.0)])));
    assert_near("I", r.loudness.integrated_lufs, -33.0, 0.1);
    assert_near("max M", r.loudness.max_momentary_lufs, -33.0, 0.1);
    assert_near("max S", r.loudness.max_short_term_lufs, -33.0, 0.1);
}

#[test]
fn tech3341_case3_relative_gate() {
    let r = measure(
        RATE,
        &stereo(sine_steps(
            RATE,
            &[(-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)],
        )),
    );
    assert_near("I", r.loudness.integrated_lufs, -23.0, 0.1);
}

#[test]
fn tech3341_case4_absolute_and_relative_gates() {
    let steps = [
        (-72.0, 10.0),
        (-36.0, 10.0),
        (-23.0, 60.0),
        (-36.0, 10.0),
        (-72.0, 10.0),
    ];
    let r = measure(RATE, &stereo(sine_steps(RATE, &steps)));
    assert_near("I", r.loudness.integrated_lufs, -23.0, 0.1);
}

#[test]
fn tech3341_case5_level_changes() {
    let r = measure(
        RATE,
        &stereo(sine_steps(
            RATE,
            &[(-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)],
        )),
    );
    assert_near("I", r.loudness.integrated_lufs, -23.0, 0.1);
}

#[test]
fn tech3341_case6_five_channels_with_surround_weighting() {
    // L, R, C, Ls, Rs; surround channels weigh +1.5 dB.
    let planes: Vec<Vec<f32>> = [-28.0, -28.0, -24.0, -30.0, -30.0]
        .iter()
        .map(|db| sine_steps(RATE, &[(*db, 20.0)]))
        .collect();
    let r = measure(RATE, &planes);
    assert_near("I", r.loudness.integrated_lufs, -23.0, 0.1);
}

#[test]
fn tech3341_case9_short_term_is_constant() {
    // 1.34 s at −20 dBFS, 1.66 s at −30 dBFS, repeated: every 3 s window reads −23.0.
    let mut steps = Vec::new();
    for _ in 0..5 {
        steps.push((-20.0, 1.34));
        steps.push((-30.0, 1.66));
    }
    let r = measure(RATE, &stereo(sine_steps(RATE, &steps)));
    assert_near("max S", r.loudness.max_short_term_lufs, -23.0, 0.1);
    for (i, v) in r.loudness.short_term.values.iter().enumerate().skip(2) {
        assert_near(&format!("S at {} s", i + 1), v.map(f64::from), -23.0, 0.1);
    }
}

#[test]
fn tech3341_case12_momentary_is_constant() {
    // 0.18 s at −20 dBFS, 0.22 s at −30 dBFS, repeated: every 400 ms window reads −23.0.
    let mut steps = Vec::new();
    for _ in 0..25 {
        steps.push((-20.0, 0.18));
        steps.push((-30.0, 0.22));
    }
    let r = measure(RATE, &stereo(sine_steps(RATE, &steps)));
    assert_near("max M", r.loudness.max_momentary_lufs, -23.0, 0.1);
}

/// True peak: sines whose peak falls between samples, at −6 dBTP.
fn true_peak_case(rate: u32, freq: f64, phase: f64, expected_sample_peak: f64) {
    let mut x = sine(rate, 5.0, freq, -6.0, phase);
    // Fade in and out over 20 ms: a sine switched on at full level is a step, whose
    // ringing is a real (and larger) inter-sample peak.
    let fade = (rate / 50) as usize;
    let n = x.len();
    for i in 0..fade {
        let g = (0.5 - 0.5 * (std::f64::consts::PI * i as f64 / fade as f64).cos()) as f32;
        x[i] *= g;
        x[n - 1 - i] *= g;
    }
    let r = measure(rate, &stereo(x));
    let tp = r.peaks.true_peak_dbtp.unwrap();
    assert!(
        (-6.0 - 0.4..=-6.0 + 0.2).contains(&tp),
        "{freq} Hz at {phase}°: true peak {tp} dBTP, want −6.0 +0.2/−0.4"
    );
    assert_near(
        "sample peak",
        r.peaks.sample_peak_dbfs,
        expected_sample_peak,
        0.05,
    );
}

#[test]
fn tech3341_case15_true_peak_quarter_rate_in_phase() {
    true_peak_case(48_000, 12_000.0, 0.0, -6.0);
}

#[test]
fn tech3341_case16_true_peak_quarter_rate_at_45_degrees() {
    true_peak_case(48_000, 12_000.0, 45.0, -6.0 - 3.01);
}

#[test]
fn tech3341_case17_true_peak_sixth_rate_at_60_degrees() {
    true_peak_case(
        48_000,
        8_000.0,
        60.0,
        -6.0 + 20.0 * (60f64.to_radians().sin()).log10(),
    );
}

#[test]
fn tech3341_case18_true_peak_eighth_rate_at_67_5_degrees() {
    true_peak_case(
        48_000,
        6_000.0,
        67.5,
        -6.0 + 20.0 * (67.5f64.to_radians().sin()).log10(),
    );
}

#[test]
fn true_peak_at_44_1_khz() {
    true_peak_case(44_100, 11_025.0, 45.0, -6.0 - 3.01);
}

#[test]
fn tech3342_case1() {
    let r = measure(
        RATE,
        &stereo(sine_steps(RATE, &[(-20.0, 20.0), (-30.0, 20.0)])),
    );
    assert_near("LRA", r.loudness.range_lu, 10.0, 1.0);
}

#[test]
fn tech3342_case2() {
    let r = measure(
        RATE,
        &stereo(sine_steps(RATE, &[(-20.0, 20.0), (-15.0, 20.0)])),
    );
    assert_near("LRA", r.loudness.range_lu, 5.0, 1.0);
}

#[test]
fn tech3342_case3() {
    let r = measure(
        RATE,
        &stereo(sine_steps(RATE, &[(-40.0, 20.0), (-20.0, 20.0)])),
    );
    assert_near("LRA", r.loudness.range_lu, 20.0, 1.0);
}

#[test]
fn tech3342_case4() {
    let steps = [
        (-50.0, 20.0),
        (-35.0, 20.0),
        (-20.0, 20.0),
        (-35.0, 20.0),
        (-50.0, 20.0),
    ];
    let r = measure(RATE, &stereo(sine_steps(RATE, &steps)));
    assert_near("LRA", r.loudness.range_lu, 15.0, 1.0);
}

/// The engine's meter against the ebur128 crate (libebur128's algorithm) on music.
#[test]
fn agrees_with_the_ebur128_crate() {
    use ebur128::{EbuR128, Mode};
    for rate in [44_100u32, 48_000, 96_000] {
        let [l, r] = crate::signals::music(rate, 30.0, 42, -1.0);
        let ours = measure(rate, &[l.clone(), r.clone()]);
        let mut e = EbuR128::new(
            2,
            rate,
            Mode::I | Mode::M | Mode::SAMPLE_PEAK | Mode::TRUE_PEAK,
        )
        .unwrap();
        e.add_frames_planar_f32(&[&l, &r]).unwrap();
        let i = e.loudness_global().unwrap();
        let ours_i = ours.loudness.integrated_lufs.unwrap();
        assert!(
            (ours_i - i).abs() < 0.01,
            "{rate} Hz: integrated {ours_i} vs ebur128 {i}"
        );
        let sp = 20.0
            * e.sample_peak(0)
                .unwrap()
                .max(e.sample_peak(1).unwrap())
                .log10();
        assert!((ours.peaks.sample_peak_dbfs.unwrap() - sp).abs() < 0.01);
        let tp = 20.0 * e.true_peak(0).unwrap().max(e.true_peak(1).unwrap()).log10();
        let ours_tp = ours.peaks.true_peak_dbtp.unwrap();
        // Our longer filter reads the same or a little higher (closer to the analogue peak).
        assert!(
            ours_tp >= tp - 0.05 && ours_tp <= tp + 0.5,
            "{rate} Hz: true peak {ours_tp} vs ebur128 {tp}"
        );
    }
}
