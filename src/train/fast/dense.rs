//! Dense layers for training: the forward pass keeps every layer's input and
//! activation slope, the backward pass turns the output gradient into weight
//! and bias gradients. Every product is one call of the `gemm` crate, which
//! picks its AVX-512 (the `x86-v4` feature, enabled) or AVX2/FMA kernels at run
//! time by CPU features; transposed operands are strided views, never copies.

use gemm::Parallelism;
use rayon::prelude::*;

use super::activation::{Act, bias_activation, through_activation};

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

/// How the products use more than one thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Threading {
    /// gemm's own rayon parallelism inside each product.
    Gemm,
    /// Each product's output rows cut into one block per thread, each block a
    /// single-threaded product (no packing shared between threads).
    #[default]
    SplitRows,
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

/// A matrix read through strides: element `(i, j)` is `data[i · row_stride + j · col_stride]`.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> View<'a> {
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self { data, rows, cols, row_stride: cols, col_stride: 1 }
    }

    pub fn transposed(self) -> Self {
        Self { rows: self.cols, cols: self.rows, row_stride: self.col_stride, col_stride: self.row_stride, ..self }
    }

    /// `count` rows from row `start` on.
    fn rows_from(self, start: usize, count: usize) -> Self {
        Self { data: &self.data[start * self.row_stride..], rows: count, ..self }
    }

    /// Whether every element the strides reach lies in `data`.
    fn in_bounds(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride < self.data.len()
    }
}

/// `dst = a · b`, `dst` row-major `a.rows × b.cols`.
pub fn matmul(dst: &mut [f32], a: View<'_>, b: View<'_>, threads: usize, threading: Threading) {
    let (m, n) = (a.rows, b.cols);
    assert_eq!(dst.len(), m * n, "dst is a.rows × b.cols");
    match threading {
        _ if threads <= 1 || m < 2 => product(dst, a, b, Parallelism::None),
        Threading::Gemm => product(dst, a, b, Parallelism::Rayon(threads)),
        Threading::SplitRows => {
            // Blocks of whole rows, a multiple of 8 where the rows allow (the kernels' height).
            let block = m.div_ceil(threads).next_multiple_of(8).min(m);
            dst.par_chunks_mut(block * n).enumerate().for_each(|(k, d)| {
                let rows = d.len() / n;
                product(d, a.rows_from(k * block, rows), b, Parallelism::None);
            });
        }
    }
}

/// One gemm call: `dst = a · b`.
fn product(dst: &mut [f32], a: View<'_>, b: View<'_>, parallelism: Parallelism) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(b.rows == k && dst.len() == m * n, "shapes: {m}×{k} · {}×{n} into {}", b.rows, dst.len());
    assert!(a.in_bounds() && b.in_bounds(), "strided views stay inside their slices");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        dst.fill(0.0);
        return;
    }
    // SAFETY: gemm reads `a` at `i·rs + p·cs` for i < m, p < k and `b` at
    // `p·rs + j·cs` for p < k, j < n, which the asserts above keep inside the
    // slices (`in_bounds`), and writes `dst` at `i·n + j`, inside `m × n`
    // values. `read_dst = false`: dst is only written (`dst = 1 · a · b`), and
    // the shared slices cannot overlap the `&mut` one.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: View<'_>, b: View<'_>) -> Vec<f32> {
        let at = |v: &View<'_>, i: usize, j: usize| v.data[i * v.row_stride + j * v.col_stride];
        let mut out = vec![0.0; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                out[i * b.cols + j] = (0..a.cols).map(|p| at(&a, i, p) * at(&b, p, j)).sum();
            }
        }
        out
    }

    #[test]
    fn products_of_strided_views_match_the_definition() {
        let values = |n: usize, seed: usize| -> Vec<f32> {
            (0..n).map(|i| (((i + seed) * 7919) % 1000) as f32 / 500.0 - 1.0).collect()
        };
        let (m, k, n) = (37, 21, 19);
        let (x, w, t) = (values(m * k, 1), values(k * n, 2), values(n * k, 3));
        let cases = [
            (View::row_major(&x, m, k), View::row_major(&w, k, n)),
            (View::row_major(&x, m, k), View::row_major(&t, n, k).transposed()),
            (View::row_major(&x, k, m).transposed(), View::row_major(&w, k, n)),
        ];
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("a 2-thread pool");
        for (a, b) in cases {
            let want = naive(a, b);
            for (threads, threading) in [(1, Threading::SplitRows), (2, Threading::SplitRows), (2, Threading::Gemm)] {
                let mut got = vec![f32::NAN; a.rows * b.cols];
                pool.install(|| matmul(&mut got, a, b, threads, threading));
                let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0f32, f32::max);
                assert!(worst < 1e-4, "{threads} threads {threading:?}: {worst}");
            }
        }
    }
}
