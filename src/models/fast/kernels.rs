//! The inner loops: one-row products over panel-packed weights and the fused
//! epilogue, with AVX2/FMA/F16C and AVX-512 VNNI versions chosen at run time
//! and portable fallbacks that compute the same thing.

use super::Activation;
use super::pack::{QUAD, padded, panels};

/// `y = x · W` for one row, `W` panel-packed f32.
pub fn gemv_f32(x: &[f32], w: &[f32], y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: the CPU has the features; the sizes are checked inside.
        return unsafe { avx2::gemv_f32(x, w, y) };
    }
    portable_gemv(x, w, y, |v| v);
}

/// `y = x · W` for one row, `W` panel-packed IEEE half-precision bits.
pub fn gemv_f16(x: &[f32], w: &[u16], y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: as above.
        return unsafe { avx2::gemv_f16(x, w, y) };
    }
    portable_gemv(x, w, y, |b| half::f16::from_bits(b).to_f32());
}

fn portable_gemv<T: Copy>(x: &[f32], w: &[T], y: &mut [f32], widen: impl Fn(T) -> f32) {
    let n = y.len();
    assert_eq!(w.len(), x.len() * padded(n), "weights are inputs × padded outputs");
    let mut at = 0;
    for (start, width) in panels(padded(n)) {
        let mut acc = [0.0f32; 64];
        for (xi, row) in x.iter().zip(w[at..at + x.len() * width].chunks_exact(width)) {
            for (v, &wij) in acc.iter_mut().zip(row) {
                *v += xi * widen(wij);
            }
        }
        let real = width.min(n - start);
        y[start..start + real].copy_from_slice(&acc[..real]);
        at += x.len() * width;
    }
}

/// `sums = u · W` over u8 inputs (`u.len()` a multiple of 4) and int8 weights
/// in [`super::pack::pack_quads`]'s layout; `sums` has the padded outputs.
/// Integer sums are exact, so every version gives the same answer.
pub fn dot_quads(u: &[u8], w: &[i8], sums: &mut [i32]) {
    assert!(u.len().is_multiple_of(QUAD) && sums.len().is_multiple_of(8), "padded sizes");
    assert_eq!(w.len(), u.len() * sums.len(), "weights are padded inputs × padded outputs");
    #[cfg(target_arch = "x86_64")]
    if vnni::available() {
        // SAFETY: the CPU has the features; the sizes are checked above.
        return unsafe { vnni::dot_quads(u, w, sums) };
    }
    let mut at = 0;
    for (start, width) in panels(sums.len()) {
        let acc = &mut sums[start..start + width];
        acc.fill(0);
        for quad in u.chunks_exact(QUAD) {
            for (a, ws) in acc.iter_mut().zip(w[at..at + QUAD * width].chunks_exact(QUAD)) {
                *a += quad.iter().zip(ws).map(|(&q, &v)| q as i32 * v as i32).sum::<i32>();
            }
            at += QUAD * width;
        }
    }
}

/// One row of activations as u8 in `out`: `q + 128` with `q = round(x / s)`,
/// `s = max |x| / 127`; returns `s`. Branch-free so that it vectorises.
pub fn quantize(x: &[f32], out: &mut Vec<u8>) -> f32 {
    // Eight running maxima: a single one would chain every comparison.
    let mut lanes = [0.0f32; 8];
    let chunks = x.chunks_exact(8);
    let tail = chunks.remainder().iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for chunk in chunks {
        for (m, v) in lanes.iter_mut().zip(chunk) {
            *m = m.max(v.abs());
        }
    }
    let largest = lanes.iter().fold(tail, |m, &v| m.max(v));
    let (step, inverse) = if largest > 0.0 { (largest / 127.0, 127.0 / largest) } else { (0.0, 0.0) };
    // Adding 1.5 · 2²³ rounds to the nearest integer (ties to even) and leaves
    // it in the low mantissa bits, where the u8 is read off.
    const ROUND: f32 = 12_582_912.0;
    out.clear();
    out.extend(x.iter().map(|v| (v * inverse + 128.0 + ROUND).to_bits() as u8));
    step
}

/// `y = act(y + bias [+ skip])`.
pub fn finish(y: &mut [f32], bias: &[f32], skip: Option<&[f32]>, activation: Activation) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: the CPU has the features.
        return unsafe { avx2::finish(y, bias, skip, activation) };
    }
    finish_portable(y, bias, skip, activation);
}

#[inline(always)]
fn finish_portable(y: &mut [f32], bias: &[f32], skip: Option<&[f32]>, activation: Activation) {
    y.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
    if let Some(skip) = skip {
        y.iter_mut().zip(skip).for_each(|(v, s)| *v += s);
    }
    // One loop per activation, so each one vectorises.
    match activation {
        Activation::Identity => {}
        Activation::Relu => y.iter_mut().for_each(|v| *v = v.max(0.0)),
        Activation::Gelu => y.iter_mut().for_each(|v| *v = gelu(*v)),
        Activation::Tanh => y.iter_mut().for_each(|v| *v = tanh(*v)),
        Activation::LeakyRelu => y.iter_mut().for_each(|v| *v = if *v < 0.0 { 0.01 * *v } else { *v }),
        Activation::Celu => y.iter_mut().for_each(|v| *v = v.max(0.0) + v.min(0.0).exp_m1()),
        Activation::Selu => y.iter_mut().for_each(|v| *v = selu(*v)),
    }
}

/// SELU with PyTorch's constants.
#[inline(always)]
fn selu(x: f32) -> f32 {
    const ALPHA: f32 = 1.673_263_2;
    const SCALE: f32 = 1.050_701;
    SCALE * (x.max(0.0) + ALPHA * x.min(0.0).exp_m1())
}

/// Exact GELU as burn computes it, `x/2 · (1 + erf(x/√2))`, with `erf`
/// as a rational function (the XLA/Eigen float coefficients; |error| ≤ 5e-7).
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = -2.726_142_3e-10f32;
    let p = p.mul_add(x2, 2.770_681_4e-8);
    let p = p.mul_add(x2, -2.101_024e-6);
    let p = p.mul_add(x2, -5.692_506_4e-5);
    let p = p.mul_add(x2, -7.349_906_3e-4);
    let p = p.mul_add(x2, -2.954_600_1e-3);
    let p = p.mul_add(x2, -1.609_603_3e-2);
    let q = -1.456_607_2e-5f32;
    let q = q.mul_add(x2, -2.133_740_6e-4);
    let q = q.mul_add(x2, -1.682_827e-3);
    let q = q.mul_add(x2, -7.373_329e-3);
    let q = q.mul_add(x2, -1.426_474e-2);
    x * p / q
}

/// tanh as a rational function (Eigen's float coefficients; |error| ≤ 5e-7).
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let x = x.clamp(-7.905_311, 7.905_311);
    let x2 = x * x;
    let p = -2.760_768_5e-16f32;
    let p = p.mul_add(x2, 2.000_187_9e-13);
    let p = p.mul_add(x2, -8.604_672e-11);
    let p = p.mul_add(x2, 5.122_297e-8);
    let p = p.mul_add(x2, 1.485_722_4e-5);
    let p = p.mul_add(x2, 6.372_619_3e-4);
    let p = p.mul_add(x2, 4.893_524_6e-3);
    let q = 1.198_258_4e-6f32;
    let q = q.mul_add(x2, 1.185_347_1e-4);
    let q = q.mul_add(x2, 2.268_434_6e-3);
    let q = q.mul_add(x2, 4.893_525e-3);
    x * p / q
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::super::pack::{padded, panels};
    use super::Activation;

    pub fn available() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c")
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn finish(y: &mut [f32], bias: &[f32], skip: Option<&[f32]>, activation: Activation) {
        super::finish_portable(y, bias, skip, activation);
    }

    /// One matrix-vector kernel per weight type: `$load` turns 8 weights at
    /// `p` into 8 floats.
    macro_rules! gemv_kernel {
        ($name:ident, $panel:ident, $t:ty, |$p:ident| $load:expr) => {
            /// One panel of `8 × K` outputs at `w` (`inputs × 8K`, contiguous),
            /// in `K × U` accumulators: `U` sets take turns over the inputs, so
            /// that narrow panels too keep enough FMAs in flight to hide their latency.
            #[target_feature(enable = "avx2,fma,f16c")]
            unsafe fn $panel<const K: usize, const U: usize>(x: &[f32], w: *const $t, y: *mut f32) {
                let mut acc = [[_mm256_setzero_ps(); K]; U];
                let step = |set: &mut [__m256; K], i: usize| {
                    let xb = _mm256_set1_ps(x[i]);
                    // SAFETY: the caller passes a panel of inputs × 8K weights.
                    let row = unsafe { w.add(i * 8 * K) };
                    for (k, a) in set.iter_mut().enumerate() {
                        let $p = unsafe { row.add(8 * k) };
                        *a = _mm256_fmadd_ps(xb, unsafe { $load }, *a);
                    }
                };
                let turns = x.len() / U;
                for t in 0..turns {
                    for (u, set) in acc.iter_mut().enumerate() {
                        step(set, t * U + u);
                    }
                }
                for i in turns * U..x.len() {
                    step(&mut acc[0], i);
                }
                for k in 0..K {
                    let sum = acc.iter().skip(1).fold(acc[0][k], |s, set| _mm256_add_ps(s, set[k]));
                    // SAFETY: the caller passes room for 8K outputs.
                    unsafe { _mm256_storeu_ps(y.add(8 * k), sum) };
                }
            }

            #[target_feature(enable = "avx2,fma,f16c")]
            pub unsafe fn $name(x: &[f32], w: &[$t], y: &mut [f32]) {
                let (inputs, n) = (x.len(), y.len());
                assert_eq!(w.len(), inputs * padded(n), "weights are inputs × padded outputs");
                let mut at = 0;
                for (start, width) in panels(padded(n)) {
                    // The last panel may hang over the real outputs: it writes to `spill`.
                    let mut spill = [0.0f32; 64];
                    let direct = start + width <= n;
                    // SAFETY: panels tile the padded outputs, and each one's weights follow the previous one's.
                    let (p, out) = unsafe {
                        (w.as_ptr().add(at), if direct { y.as_mut_ptr().add(start) } else { spill.as_mut_ptr() })
                    };
                    match width {
                        64 => unsafe { $panel::<8, 1>(x, p, out) },
                        32 => unsafe { $panel::<4, 2>(x, p, out) },
                        _ => unsafe { $panel::<1, 8>(x, p, out) },
                    }
                    if !direct {
                        y[start..].copy_from_slice(&spill[..n - start]);
                    }
                    at += inputs * width;
                }
            }
        };
    }

    gemv_kernel!(gemv_f32, panel_f32, f32, |p| _mm256_loadu_ps(p));
    gemv_kernel!(gemv_f16, panel_f16, u16, |p| _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i)));
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    //! u8 × i8 dot products with `vpdpbusd` (AVX-512 VNNI on 256-bit
    //! registers): 32 multiply-adds per instruction, four times an f32 FMA's.

    use std::arch::x86_64::*;

    use super::super::pack::{QUAD, panels};

    pub fn available() -> bool {
        is_x86_feature_detected!("avx512vnni") && is_x86_feature_detected!("avx512vl")
    }

    /// One panel of `8 × K` outputs in `K × U` accumulators of 8 sums (`U`
    /// sets take turns over the groups of inputs, as in the f32 kernel).
    #[target_feature(enable = "avx2,avx512vnni,avx512vl")]
    unsafe fn panel<const K: usize, const U: usize>(u: &[u8], w: *const i8, sums: *mut i32) {
        let mut acc = [[_mm256_setzero_si256(); K]; U];
        let groups = u.len() / QUAD;
        let step = |acc: &mut [__m256i; K], g: usize| {
            let quad = &u[g * QUAD..g * QUAD + QUAD];
            let xb = _mm256_set1_epi32(i32::from_le_bytes([quad[0], quad[1], quad[2], quad[3]]));
            // SAFETY: the caller passes a panel of (inputs / 4) × 32K weights.
            let row = unsafe { w.add(g * 32 * K) };
            for (k, a) in acc.iter_mut().enumerate() {
                *a = _mm256_dpbusd_epi32(*a, xb, unsafe { _mm256_loadu_si256(row.add(32 * k) as *const __m256i) });
            }
        };
        for t in 0..groups / U {
            for (v, set) in acc.iter_mut().enumerate() {
                step(set, t * U + v);
            }
        }
        for g in groups / U * U..groups {
            step(&mut acc[0], g);
        }
        for k in 0..K {
            let sum = acc.iter().skip(1).fold(acc[0][k], |s, set| _mm256_add_epi32(s, set[k]));
            // SAFETY: the caller passes room for 8K sums.
            unsafe { _mm256_storeu_si256(sums.add(8 * k) as *mut __m256i, sum) };
        }
    }

    #[target_feature(enable = "avx2,avx512vnni,avx512vl")]
    pub unsafe fn dot_quads(u: &[u8], w: &[i8], sums: &mut [i32]) {
        let mut at = 0;
        for (start, width) in panels(sums.len()) {
            // SAFETY: the padded outputs are a multiple of 8, so every panel is 64, 32 or 8 wide.
            let (p, out) = unsafe { (w.as_ptr().add(at), sums.as_mut_ptr().add(start)) };
            match width {
                64 => unsafe { panel::<8, 1>(u, p, out) },
                32 => unsafe { panel::<4, 2>(u, p, out) },
                _ => unsafe { panel::<1, 8>(u, p, out) },
            }
            at += u.len() * width;
        }
    }
}
