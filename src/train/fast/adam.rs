//! Adam as burn 0.22 computes it (`AdamConfig` with β₁ 0.9, β₂ 0.999, ε 1e-8
//! and optional gradient-norm clipping per parameter tensor), in place over
//! plain parameter slices.
//!
//! burn's update: `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`, then
//! `p ← p − lr · m · c / (√v + ε·b)` with `b = √(1 − β₂ᵗ)` and `c = b / (1 − β₁ᵗ)`
//! (the bias corrections folded into one factor), all in f32.

use rayon::prelude::*;

use super::activation::with_avx2;

const BETA_1: f32 = 0.9;
const BETA_2: f32 = 0.999;
const EPSILON: f32 = 1e-8;
/// Values per rayon task when more than one thread runs the update.
const CHUNK: usize = 16 * 1024;

/// One parameter tensor's moments.
#[derive(Debug, Clone, Default)]
struct Moments {
    first: Vec<f32>,
    second: Vec<f32>,
}

/// Adam's state for a list of parameter tensors.
#[derive(Debug, Clone)]
pub struct Adam {
    moments: Vec<Moments>,
    time: i32,
    clip_norm: Option<f32>,
}

impl Adam {
    /// `sizes`: the number of values of each parameter tensor, in the order [`Adam::step`] gets them.
    pub fn new(sizes: &[usize], clip_norm: Option<f32>) -> Self {
        let moments = sizes.iter().map(|&n| Moments { first: vec![0.0; n], second: vec![0.0; n] }).collect();
        Self { moments, time: 0, clip_norm }
    }

    /// Steps taken so far.
    pub fn time(&self) -> i32 {
        self.time
    }

    /// One update of every tensor of `params` by its gradient in `grads`
    /// (same order and sizes as at [`Adam::new`]).
    pub fn step<'a>(
        &mut self,
        lr: f64,
        params: impl Iterator<Item = &'a mut [f32]>,
        grads: impl Iterator<Item = &'a mut [f32]>,
        threads: usize,
    ) {
        self.time += 1;
        let b = (1.0 - BETA_2.powi(self.time)).sqrt();
        let factor = b / (1.0 - BETA_1.powi(self.time));
        let (lr, eps) = (lr as f32, EPSILON * b);
        for ((moments, param), grad) in self.moments.iter_mut().zip(params).zip(grads) {
            assert!(param.len() == grad.len() && grad.len() == moments.first.len(), "sizes as at Adam::new");
            if let Some(limit) = self.clip_norm {
                clip_to_norm(grad, limit);
            }
            let run = |(((p, g), m), v): (((&mut [f32], &[f32]), &mut [f32]), &mut [f32])| {
                with_avx2(|| update(p, g, m, v, lr, factor, eps))
            };
            let (m, v) = (&mut moments.first, &mut moments.second);
            if threads > 1 && param.len() > CHUNK {
                param
                    .par_chunks_mut(CHUNK)
                    .zip(grad.par_chunks(CHUNK))
                    .zip(m.par_chunks_mut(CHUNK))
                    .zip(v.par_chunks_mut(CHUNK))
                    .for_each(run);
            } else {
                run((((param, &*grad), m.as_mut_slice()), v.as_mut_slice()));
            }
        }
    }
}

#[inline(always)]
fn update(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], lr: f32, factor: f32, eps: f32) {
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *m = *m * BETA_1 + g * (1.0 - BETA_1);
        *v = *v * BETA_2 + g * g * (1.0 - BETA_2);
        *p -= lr * (*m * factor / (v.sqrt() + eps));
    }
}

/// burn's norm clipping: `g ← g · min(1, limit / (‖g‖ + f32::MIN_POSITIVE))`.
fn clip_to_norm(grad: &mut [f32], limit: f32) {
    let norm = grad.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt() as f32;
    let coefficient = (limit / (norm + f32::MIN_POSITIVE)).min(1.0);
    if coefficient < 1.0 {
        grad.iter_mut().for_each(|v| *v *= coefficient);
    }
}
