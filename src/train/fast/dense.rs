//! Dense layers for training: the forward pass keeps every layer's input and
//! activation slope, the backward pass turns the output gradient into weight
//! and bias gradients. Every product is one [`matmul`] (the `gemm` crate);
//! transposed operands are strided views, never copies.

use rayon::prelude::*;

use super::activation::{Act, bias_activation, through_activation};
use crate::models::fast::matmul::{Threading, View, matmul};

/// `y = act(x · W + b)` with `W` row-major `[inputs, outputs]`, as burn's `Linear` holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    pub inputs: usize,
    pub outputs: usize,
    pub act: Act,
}

/// Gradients of one layer's parameters, laid out like them.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerGrads {
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
}

impl LayerGrads {
    pub fn zeros(layer: &Layer) -> Self {
        Self { weights: vec![0.0; layer.weights.len()], bias: vec![0.0; layer.bias.len()] }
    }
}

/// What the forward pass keeps for the backward pass, and the buffers of the
/// backward pass; grown on first use, then reused.
#[derive(Debug, Clone, Default)]
pub struct Cache {
    rows: usize,
    /// `activations[0]` is the input, `activations[l + 1]` layer `l`'s output.
    activations: Vec<Vec<f32>>,
    /// `slopes[l]`: layer `l`'s activation derivative at its pre-activation.
    slopes: Vec<Vec<f32>>,
    /// Gradient of the loss w.r.t. the current layer's output, and the previous one's.
    grad: Vec<f32>,
    grad_below: Vec<f32>,
}

impl Cache {
    /// The network's output of the last forward pass (`rows × outputs`).
    pub fn output(&self) -> &[f32] {
        self.activations.last().map_or(&[], |a| a.as_slice())
    }
}

/// Runs `input` (`rows × layers[0].inputs`) through `layers`, keeping what
/// [`backward`] needs in `cache`.
pub fn forward(layers: &[Layer], input: &[f32], rows: usize, cache: &mut Cache, threads: usize, threading: Threading) {
    let depth = layers.len();
    cache.rows = rows;
    cache.activations.resize_with(depth + 1, Vec::new);
    cache.slopes.resize_with(depth, Vec::new);
    cache.activations[0].clear();
    cache.activations[0].extend_from_slice(input);
    for (l, layer) in layers.iter().enumerate() {
        let (below, above) = cache.activations.split_at_mut(l + 1);
        let (x, z) = (&below[l], &mut above[0]);
        z.resize(rows * layer.outputs, 0.0);
        cache.slopes[l].resize(rows * layer.outputs, 0.0);
        let x = View::row_major(x, rows, layer.inputs);
        let w = View::row_major(&layer.weights, layer.inputs, layer.outputs);
        matmul(z, x, w, threads, threading);
        activate(z, &mut cache.slopes[l], &layer.bias, layer.act, threads);
    }
}

/// Gradients of every layer's parameters into `grads` from `output_grad`,
/// the loss gradient w.r.t. the last forward pass's output.
pub fn backward(
    layers: &[Layer],
    cache: &mut Cache,
    output_grad: &[f32],
    grads: &mut [LayerGrads],
    threads: usize,
    threading: Threading,
) {
    let rows = cache.rows;
    cache.grad.clear();
    cache.grad.extend_from_slice(output_grad);
    for (l, layer) in layers.iter().enumerate().rev() {
        let g = &mut grads[l];
        g.bias.fill(0.0);
        // dZ = dA ⊙ act'(Z); db = Σ_rows dZ
        through_activation(&mut cache.grad, &cache.slopes[l], &mut g.bias);
        let dz = View::row_major(&cache.grad, rows, layer.outputs);
        // dW = Xᵀ · dZ
        let xt = View::row_major(&cache.activations[l], rows, layer.inputs).transposed();
        matmul(&mut g.weights, xt, dz, threads, threading);
        if l > 0 {
            // dX = dZ · Wᵀ
            cache.grad_below.resize(rows * layer.inputs, 0.0);
            let wt = View::row_major(&layer.weights, layer.inputs, layer.outputs).transposed();
            matmul(&mut cache.grad_below, dz, wt, threads, threading);
            std::mem::swap(&mut cache.grad, &mut cache.grad_below);
        }
    }
}

/// Rows of an activation pass per rayon task.
const ROWS_PER_TASK: usize = 32;

fn activate(z: &mut [f32], slopes: &mut [f32], bias: &[f32], act: Act, threads: usize) {
    if threads > 1 {
        let block = ROWS_PER_TASK * bias.len();
        z.par_chunks_mut(block).zip(slopes.par_chunks_mut(block)).for_each(|(z, s)| bias_activation(z, s, bias, act));
    } else {
        bias_activation(z, slopes, bias, act);
    }
}
