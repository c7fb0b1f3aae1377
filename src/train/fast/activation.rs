//! The CycleIK activations with their derivatives, in one pass over a layer's
//! pre-activations: GELU (exact, erf form, as burn's `gelu`) and tanh.
//!
//! `erf`, `exp` and `tanh` are branch-free polynomials / rational functions so
//! that the loops vectorise; libm's calls would cost as much as the matrix
//! products. The loops run compiled for AVX2 where the CPU has it (see
//! [`with_avx2`]).

/// Activation of a hidden or output layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Gelu,
    Tanh,
}

/// `z ← act(z + bias)` row by row and `slope ← act'(z + bias)`, for `z` and
/// `slope` of `rows × bias.len()` values.
pub fn bias_activation(z: &mut [f32], slope: &mut [f32], bias: &[f32], act: Act) {
    assert_eq!(z.len(), slope.len(), "pre-activations and slopes have one value each");
    assert!(z.len().is_multiple_of(bias.len()), "z is rows × outputs");
    with_avx2(|| {
        for (row, slope_row) in z.chunks_exact_mut(bias.len()).zip(slope.chunks_exact_mut(bias.len())) {
            activate_row(row, slope_row, bias, act);
        }
    });
}

/// `grad ← grad ⊙ slope` (the gradient through the activation), adding each
/// column's sum to `bias_grad` (the bias gradient).
pub fn through_activation(grad: &mut [f32], slope: &[f32], bias_grad: &mut [f32]) {
    assert_eq!(grad.len(), slope.len(), "one slope per gradient value");
    with_avx2(|| {
        for (row, slope_row) in grad.chunks_exact_mut(bias_grad.len()).zip(slope.chunks_exact(bias_grad.len())) {
            for ((g, s), b) in row.iter_mut().zip(slope_row).zip(bias_grad.iter_mut()) {
                *g *= s;
                *b += *g;
            }
        }
    });
}

#[inline(always)]
fn activate_row(z: &mut [f32], slope: &mut [f32], bias: &[f32], act: Act) {
    // One loop per activation, so each vectorises.
    match act {
        Act::Gelu => {
            for ((v, s), b) in z.iter_mut().zip(slope.iter_mut()).zip(bias) {
                let x = *v + b;
                let cdf = 0.5 + 0.5 * erf(x * std::f32::consts::FRAC_1_SQRT_2);
                // φ(x) = exp(−x²/2) / √(2π)
                let pdf = 0.398_942_3 * exp_nonpositive(-0.5 * x * x);
                *v = x * cdf;
                *s = cdf + x * pdf;
            }
        }
        Act::Tanh => {
            for ((v, s), b) in z.iter_mut().zip(slope.iter_mut()).zip(bias) {
                let t = tanh(*v + b);
                *v = t;
                *s = 1.0 - t * t;
            }
        }
    }
}

/// Runs `work` compiled for AVX2 and FMA where the CPU has them (8 lanes
/// instead of SSE's 4), as it is elsewhere. `work` and the functions it calls
/// are `#[inline(always)]`, so they are compiled inside the AVX2 function.
#[inline(always)]
pub fn with_avx2<R>(work: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        fn run<R>(work: impl FnOnce() -> R) -> R {
            work()
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has the features `run` is compiled for (checked just above).
            return unsafe { run(work) };
        }
    }
    work()
}

/// erf as a rational function (Eigen's float coefficients; |error| ≤ 5e-7).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10f32;
    for c in [2.770_681_4e-8, -2.101_024e-6, -5.692_506_4e-5, -7.349_906_3e-4, -2.954_600_1e-3, -1.609_603_3e-2] {
        p = p * x2 + c;
    }
    let mut q = -1.456_607_2e-5f32;
    for c in [-2.133_740_6e-4, -1.682_827e-3, -7.373_329e-3, -1.426_474e-2] {
        q = q * x2 + c;
    }
    x * p / q
}

/// tanh as a rational function (Eigen's float coefficients; |error| ≤ 5e-7).
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let x = x.clamp(-7.905_311, 7.905_311);
    let x2 = x * x;
    let mut p = -2.760_768_5e-16f32;
    for c in [2.000_187_9e-13, -8.604_672e-11, 5.122_297e-8, 1.485_722_4e-5, 6.372_619_3e-4, 4.893_524_6e-3] {
        p = p * x2 + c;
    }
    let mut q = 1.198_258_4e-6f32;
    for c in [1.185_347_1e-4, 2.268_434_6e-3, 4.893_525e-3] {
        q = q * x2 + c;
    }
    x * p / q
}

/// `exp(x)` for `x ≤ 0` (relative error ≤ 2e-7; flushes to 0 below −87):
/// `2ⁿ · exp(r)` with `n = round(x / ln 2)` and a degree-6 polynomial on
/// `|r| ≤ ln 2 / 2`.
#[inline(always)]
pub fn exp_nonpositive(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2²³: adding it rounds to an integer
    let x = x.max(-87.0);
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    // ln 2 split in two so that n · ln 2 subtracts without rounding error.
    let r = (x - n * 0.693_145_75) - n * 1.428_606_8e-6;
    let mut p = 1.0 / 720.0f32;
    for c in [1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        p = p * r + c;
    }
    // n ∈ [−126, 0]: 2ⁿ is a normal float with exponent bits n + 127.
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approximations_match_libm() {
        let (mut erf_worst, mut tanh_worst, mut exp_worst) = (0.0f32, 0.0f32, 0.0f32);
        for i in -80_000..=80_000 {
            let x = i as f32 / 8_000.0;
            erf_worst = erf_worst.max((erf(x) - libm::erff(x)).abs());
            tanh_worst = tanh_worst.max((tanh(x) - libm::tanhf(x)).abs());
            let e = -x.abs() * 8.0;
            exp_worst = exp_worst.max(((exp_nonpositive(e) - libm::expf(e)) / libm::expf(e).max(1e-30)).abs());
        }
        assert!(erf_worst < 5e-7 && tanh_worst < 5e-7, "erf {erf_worst} tanh {tanh_worst}");
        assert!(exp_worst < 1e-6, "exp {exp_worst}");
        assert!(exp_nonpositive(-200.0) < 1e-37);
    }

    #[test]
    fn slopes_are_the_derivatives() {
        for act in [Act::Gelu, Act::Tanh] {
            for i in -40..=40 {
                let x = i as f32 / 8.0;
                let h = 1e-2f32;
                let value = |x: f32| {
                    let (mut z, mut s) = ([x], [0.0]);
                    bias_activation(&mut z, &mut s, &[0.0], act);
                    (z[0] as f64, s[0] as f64)
                };
                let numeric = (value(x + h).0 - value(x - h).0) / (2.0 * h as f64);
                assert!((value(x).1 - numeric).abs() < 2e-4, "{act:?} at {x}: {} vs {numeric}", value(x).1);
            }
        }
    }
}
