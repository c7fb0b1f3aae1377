//! The Tree-structured Parzen Estimator (the `tpe` crate): one optimiser per
//! parameter, as in Optuna's independent TPE. Each works in its own
//! coordinate: the logarithm for log ranges, the value itself otherwise, with
//! whole-number ranges widened by half a step on each side so that every grid
//! value gets the same share before rounding.

use rand_tpe::SeedableRng;
use rand_tpe::rngs::StdRng;
use tpe::TpeOptimizer;

use super::space::{ParamRange, SearchSpace, TrialParams};

/// Proposes trials from the results told so far.
pub struct TpeSampler {
    params: Vec<(String, ParamRange, TpeOptimizer)>,
    seed: u64,
}

impl TpeSampler {
    /// `space` must have passed [`SearchSpace::validate`] (with the steps of
    /// whole-number parameters filled in).
    pub fn new(space: &SearchSpace, seed: u64) -> Self {
        let params = space
            .iter()
            .filter_map(|(name, range)| {
                let (start, end) = coordinate_range(range);
                // A validated range is never empty; one that were would simply not be searched.
                let range_in_coordinate = tpe::range(start, end).ok()?;
                Some((name.to_string(), *range, TpeOptimizer::new(tpe::parzen_estimator(), range_in_coordinate)))
            })
            .collect();
        Self { params, seed }
    }

    /// Trial `number`'s values, each inside its range and on its grid. The
    /// random draws depend only on the seed and the number, so a resumed study
    /// proposes a redone trial as the first run did (given the same results told).
    pub fn ask(&mut self, number: usize) -> TrialParams {
        let rng = &mut StdRng::seed_from_u64(self.seed ^ (number as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        self.params
            .iter_mut()
            .map(|(name, range, optimizer)| {
                // The parzen estimator cannot fail to sample; the midpoint keeps a value if it did.
                let x = optimizer.ask(rng).unwrap_or_else(|_| mid(coordinate_range(range)));
                (name.clone(), range.snap(from_coordinate(range, x)))
            })
            .collect()
    }

    /// A finished trial's result (lower is better). A parameter the trial
    /// did not use, or a value outside the range (the preset's own, which
    /// may lie off the space), counts as unused.
    pub fn tell(&mut self, params: &TrialParams, value: f64) {
        if value.is_nan() {
            return;
        }
        for (name, range, optimizer) in &mut self.params {
            let x = match params.get(name.as_str()) {
                Some(&v) if range.contains(v) => to_coordinate(range, v),
                _ => f64::NAN,
            };
            // Both cases are excluded above (NaN value, value outside the range).
            let _ = optimizer.tell(x, value);
        }
    }
}

fn coordinate_range(range: &ParamRange) -> (f64, f64) {
    match (range.step, range.log) {
        (_, true) => (range.low.ln(), next_up(range.high.ln())),
        (Some(step), false) => (range.low - step / 2.0, range.snap(range.high) + step / 2.0),
        (None, false) => (range.low, next_up(range.high)),
    }
}

fn to_coordinate(range: &ParamRange, value: f64) -> f64 {
    if range.log { value.ln() } else { value }
}

fn from_coordinate(range: &ParamRange, x: f64) -> f64 {
    if range.log { x.exp() } else { x }
}

fn mid((start, end): (f64, f64)) -> f64 {
    0.5 * (start + end)
}

/// The end of a half-open range that still holds `x`.
fn next_up(x: f64) -> f64 {
    x + x.abs().max(1.0) * 1e-12
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ModelKind;
    use crate::tune::space::with_steps;

    #[test]
    fn proposals_stay_inside_the_space() {
        for model in ModelKind::ALL {
            let space = with_steps(&SearchSpace::default_for(model), model);
            let mut sampler = TpeSampler::new(&space, 7);
            for trial in 0..60 {
                let params = sampler.ask(trial);
                assert_eq!(params.len(), space.params.len());
                for (name, value) in &params {
                    let range = space.params[name];
                    assert!(range.contains(*value), "{model} {name} = {value} outside {range:?}");
                    if let Some(step) = range.step {
                        let k = (value - range.low) / step;
                        assert!((k - k.round()).abs() < 1e-9, "{name} = {value} off the grid");
                    }
                }
                sampler.tell(&params, (trial as f64 * 0.37).sin());
            }
        }
    }

    #[test]
    fn proposals_move_towards_good_values() {
        // One parameter, the objective its distance to 0.8: after 40 trials
        // TPE's proposals gather near the optimum.
        let space = SearchSpace {
            params: [("dropout".to_string(), ParamRange { low: 0.0, high: 0.95, step: None, log: false })].into(),
        };
        let mut sampler = TpeSampler::new(&space, 3);
        let mut late = Vec::new();
        for trial in 0..60 {
            let params = sampler.ask(trial);
            let x = params["dropout"];
            sampler.tell(&params, (x - 0.8).abs());
            if trial >= 40 {
                late.push((x - 0.8).abs());
            }
        }
        let mean = late.iter().sum::<f64>() / late.len() as f64;
        assert!(mean < 0.15, "late proposals are {mean} from the optimum on average");
    }

    #[test]
    fn a_fresh_sampler_told_the_same_results_proposes_the_same_trial() {
        let space = with_steps(&SearchSpace::default_for(ModelKind::IknetOriginal), ModelKind::IknetOriginal);
        let mut first = TpeSampler::new(&space, 5);
        let told: Vec<_> = (1..4).map(|n| (first.ask(n), n as f64)).collect();
        told.iter().for_each(|(p, v)| first.tell(p, *v));
        // A resumed study: a new sampler, told the finished trials, asked the same number.
        let mut resumed = TpeSampler::new(&space, 5);
        told.iter().for_each(|(p, v)| resumed.tell(p, *v));
        assert_eq!(first.ask(4), resumed.ask(4));
        assert_ne!(resumed.ask(4), resumed.ask(5));
    }
}
