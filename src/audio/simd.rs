//! Small reductions written with eight independent lanes, so the compiler turns them
//! into vector instructions (a plain `fold` with `f32::max` or a running float sum is a
//! serial chain it may not reorder).

const LANES: usize = 8;

/// Largest magnitude.
#[inline]
pub fn peak(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            let v = c[i].abs();
            acc[i] = if v > acc[i] { v } else { acc[i] };
        }
    }
    let mut m = rest
        .iter()
        .fold(0f32, |m, v| if v.abs() > m { v.abs() } else { m });
    for a in acc {
        if a > m {
            m = a;
        }
    }
    m
}

/// Smallest and largest value.
#[inline]
pub fn min_max(x: &[f32]) -> (f32, f32) {
    let mut lo = [f32::INFINITY; LANES];
    let mut hi = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            lo[i] = if c[i] < lo[i] { c[i] } else { lo[i] };
            hi[i] = if c[i] > hi[i] { c[i] } else { hi[i] };
        }
    }
    let (mut l, mut h) = (f32::INFINITY, f32::NEG_INFINITY);
    for v in rest.iter().chain(lo.iter()) {
        if *v < l {
            l = *v;
        }
    }
    for v in rest.iter().chain(hi.iter()) {
        if *v > h {
            h = *v;
        }
    }
    (l, h)
}

/// Sum (for the DC offset), accumulated in lanes and returned in f64.
#[inline]
pub fn sum(x: &[f32]) -> f64 {
    let mut acc = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            acc[i] += c[i];
        }
    }
    acc.iter().map(|v| *v as f64).sum::<f64>() + rest.iter().map(|v| *v as f64).sum::<f64>()
}

/// Σ l·r, Σ l², Σ r² (for stereo correlation).
#[inline]
pub fn dot3(l: &[f32], r: &[f32]) -> (f64, f64, f64) {
    let n = l.len().min(r.len());
    let (l, r) = (&l[..n], &r[..n]);
    let mut lr = [0f32; LANES];
    let mut ll = [0f32; LANES];
    let mut rr = [0f32; LANES];
    let lc = l.chunks_exact(LANES);
    let rc = r.chunks_exact(LANES);
    let (lrest, rrest) = (lc.remainder(), rc.remainder());
    for (a, b) in lc.zip(rc) {
        for i in 0..LANES {
            lr[i] += a[i] * b[i];
            ll[i] += a[i] * a[i];
            rr[i] += b[i] * b[i];
        }
    }
    let total = |v: [f32; LANES]| v.iter().map(|x| *x as f64).sum::<f64>();
    let (mut x, mut y, mut z) = (total(lr), total(ll), total(rr));
    for (a, b) in lrest.iter().zip(rrest) {
        x += (*a * *b) as f64;
        y += (*a * *a) as f64;
        z += (*b * *b) as f64;
    }
    (x, y, z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reductions_match_the_plain_versions() {
        let x: Vec<f32> = (0..1003)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 60.0)
            .collect();
        let y: Vec<f32> = x.iter().rev().copied().collect();
        assert_eq!(peak(&x), x.iter().fold(0f32, |m, v| m.max(v.abs())));
        let (lo, hi) = min_max(&x);
        assert_eq!(lo, x.iter().cloned().fold(f32::MAX, f32::min));
        assert_eq!(hi, x.iter().cloned().fold(f32::MIN, f32::max));
        let s: f64 = x.iter().map(|v| *v as f64).sum();
        assert!((sum(&x) - s).abs() < 1e-3);
        let (a, b, c) = dot3(&x, &y);
        let want: f64 = x.iter().zip(&y).map(|(p, q)| (*p * *q) as f64).sum();
        assert!((a - want).abs() < 1e-2);
        assert!((b - x.iter().map(|v| (*v * *v) as f64).sum::<f64>()).abs() < 1e-2);
        assert!(c > 0.0);
        assert_eq!(peak(&[]), 0.0);
    }
}
