//! Matrix products through the `gemm` crate, which picks its AVX-512 (the
//! `x86-v4` feature, enabled) or AVX2/FMA kernels at run time by CPU features.
//! Shared by the fast inference path (batches) and the fused trainer; operands
//! are strided views, so a transposed matrix is never copied.

use gemm::Parallelism;
use rayon::prelude::*;

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
