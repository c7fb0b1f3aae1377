//! Weight layouts for the one-row kernels. The outputs are cut into panels
//! (64, 32 or 8 wide, then the rest) and each panel's weights are stored
//! input-major and contiguous: a pass over a panel reads one run of memory,
//! which the prefetchers follow, where row-major weights would jump by a row
//! for every input.

/// Panel widths, widest first (8 floats fill one AVX register).
const PANEL_WIDTHS: [usize; 3] = [64, 32, 8];

/// `(first output, width)` of each panel of `outputs`.
pub fn panels(outputs: usize) -> impl Iterator<Item = (usize, usize)> {
    let mut start = 0;
    std::iter::from_fn(move || {
        let rest = outputs - start;
        (rest > 0).then(|| {
            let width = PANEL_WIDTHS.into_iter().find(|&w| w <= rest).unwrap_or(rest);
            start += width;
            (start - width, width)
        })
    })
}

/// Outputs as stored: a multiple of 8, so that every panel fills whole
/// registers (the padding weights are zero and their outputs are dropped).
pub fn padded(outputs: usize) -> usize {
    outputs.next_multiple_of(8)
}

/// Row-major `[inputs, outputs]` weights in panel order, outputs padded.
pub fn pack<T: Copy + Default>(weights: &[T], outputs: usize) -> Vec<T> {
    let padded_outputs = padded(outputs);
    let mut packed = Vec::with_capacity(weights.len() / outputs.max(1) * padded_outputs);
    for (start, width) in panels(padded_outputs) {
        for row in weights.chunks_exact(outputs) {
            let real = width.min(outputs.saturating_sub(start));
            packed.extend_from_slice(&row[start..start + real]);
            packed.extend(std::iter::repeat_n(T::default(), width - real));
        }
    }
    packed
}

/// [`pack`] undone into `out` (row-major `[inputs, outputs]` again, without
/// the padding), each value passed through `widen`.
pub fn unpack_into<T: Copy, U: Copy + Default>(packed: &[T], outputs: usize, out: &mut Vec<U>, widen: impl Fn(T) -> U) {
    let inputs = packed.len().checked_div(padded(outputs)).unwrap_or(0);
    out.clear();
    out.resize(inputs * outputs, U::default());
    let mut values = packed.iter().map(|&v| widen(v));
    for (start, width) in panels(padded(outputs)) {
        let real = width.min(outputs.saturating_sub(start));
        for row in out.chunks_exact_mut(outputs) {
            for (w, v) in row[start..start + real].iter_mut().zip(values.by_ref()) {
                *w = v;
            }
            values.by_ref().take(width - real).for_each(drop);
        }
    }
}

/// Inputs of the int8 layout come in groups of 4 (one u8×i8 dot product).
pub const QUAD: usize = 4;

/// Quantised row-major `[inputs, outputs]` weights in the layout of the u8×i8
/// dot-product kernel: inputs padded to a multiple of 4 and outputs to a
/// multiple of 8 (with zeros), panels as above, and within a panel, per group
/// of 4 inputs, each output's 4 weights side by side.
pub fn pack_quads(weights: &[i8], inputs: usize, outputs: usize) -> Vec<i8> {
    let (padded_inputs, padded_outputs) = (inputs.next_multiple_of(QUAD), padded(outputs));
    let at = |i: usize, j: usize| if i < inputs && j < outputs { weights[i * outputs + j] } else { 0 };
    let mut packed = Vec::with_capacity(padded_inputs * padded_outputs);
    for (start, width) in panels(padded_outputs) {
        for group in (0..padded_inputs).step_by(QUAD) {
            for j in start..start + width {
                packed.extend((group..group + QUAD).map(|i| at(i, j)));
            }
        }
    }
    packed
}

/// [`pack_quads`] undone: row-major `[inputs, outputs]` without the padding.
pub fn unpack_quads(packed: &[i8], inputs: usize, outputs: usize) -> Vec<i8> {
    let (padded_inputs, padded_outputs) = (inputs.next_multiple_of(QUAD), padded(outputs));
    let mut weights = vec![0; inputs * outputs];
    let mut values = packed.iter().copied();
    for (start, width) in panels(padded_outputs) {
        for group in (0..padded_inputs).step_by(QUAD) {
            for j in start..start + width {
                for i in group..group + QUAD {
                    let v = values.next().unwrap_or(0);
                    if i < inputs && j < outputs {
                        weights[i * outputs + j] = v;
                    }
                }
            }
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_cover_every_output_once() {
        for outputs in [1, 4, 7, 8, 9, 50, 63, 64, 100, 256, 300, 1000] {
            let mut next = 0;
            for (start, width) in panels(outputs) {
                assert_eq!(start, next);
                assert!(width > 0);
                next += width;
            }
            assert_eq!(next, outputs);
        }
    }

    #[test]
    fn layouts_round_trip() {
        for (inputs, outputs) in [(7, 400), (13, 4), (3, 100), (256, 8)] {
            let weights: Vec<i8> = (0..inputs * outputs).map(|v| (v % 251) as i8).collect();
            let packed = pack(&weights, outputs);
            assert_eq!(packed.len(), inputs * padded(outputs));
            let mut unpacked = Vec::new();
            unpack_into(&packed, outputs, &mut unpacked, |v| v);
            assert_eq!(unpacked, weights);
            let quads = pack_quads(&weights, inputs, outputs);
            assert_eq!(quads.len(), inputs.next_multiple_of(4) * outputs.next_multiple_of(8));
            assert_eq!(unpack_quads(&quads, inputs, outputs), weights);
        }
    }
}
