//! A training batch gathered from [`Samples`] into reused buffers, the way
//! the burn trainer builds its batch tensors: the chosen rows, then for the
//! generator `repeated` copies of the first row, every row with fresh noise.

use rand::Rng;

use super::FastBatch;
use crate::models::NoiseSpec;
use crate::train::batches::Samples;

/// The buffers behind a [`FastBatch`].
#[derive(Debug, Clone, Default)]
pub struct BatchBuffers {
    inputs: Vec<f32>,
    positions: Vec<f32>,
    rotations: Vec<f32>,
    variance_rows: usize,
}

impl BatchBuffers {
    /// Rows `indices` of `samples`, then `repeated` copies of the first one
    /// (the generator's variance rows); `noise` appends `spec.dim` uniform
    /// values from `[low, high)` to every row's input.
    pub fn gather(
        &mut self,
        samples: &Samples,
        indices: &[usize],
        repeated: usize,
        noise: Option<(NoiseSpec, &mut impl Rng)>,
    ) -> FastBatch<'_> {
        self.inputs.clear();
        self.positions.clear();
        self.rotations.clear();
        let first = indices.first().copied();
        let rows = indices.iter().copied().chain(first.into_iter().flat_map(|i| std::iter::repeat_n(i, repeated)));
        let mut noise = noise;
        for i in rows {
            let (input, position, rotation) = samples.row(i);
            self.inputs.extend_from_slice(input);
            if let Some((spec, rng)) = noise.as_mut() {
                self.inputs.extend((0..spec.dim).map(|_| rng.random_range(spec.low..spec.high) as f32));
            }
            self.positions.extend_from_slice(position);
            self.rotations.extend_from_slice(rotation);
        }
        self.variance_rows = if first.is_some() { repeated } else { 0 };
        FastBatch {
            inputs: &self.inputs,
            positions: &self.positions,
            rotations: &self.rotations,
            variance_rows: self.variance_rows,
        }
    }
}
