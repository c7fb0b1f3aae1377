//! Hyperband pruning (Li et al. 2018) as Optuna runs it: several brackets of
//! asynchronous successive halving. Bracket `b` checks a trial at the epoch
//! rungs `min · η^(b + k)` below the maximum; at a rung, a trial goes on only
//! when its value is among the best `1/η` of the values every trial of its
//! bracket reported there (the best one when fewer than η have). Trials are
//! spread over the brackets in proportion to Hyperband's budgets, so most go
//! to the aggressive bracket and a few are never pruned.

use std::collections::BTreeMap;

/// Whether a trial goes on after a reported epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Continue,
    Prune,
}

/// The brackets and rungs of a study (its state lives in [`Rungs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hyperband {
    pub min_epochs: usize,
    pub max_epochs: usize,
    /// The reduction factor η.
    pub eta: usize,
}

/// The values reported at each (bracket, rung) so far.
#[derive(Debug, Clone, Default)]
pub struct Rungs {
    values: BTreeMap<(usize, usize), Vec<f64>>,
}

impl Hyperband {
    /// η = 3 from the first epoch on, as Optuna's default.
    pub fn new(max_epochs: usize) -> Self {
        Self { min_epochs: 1, max_epochs: max_epochs.max(1), eta: 3 }
    }

    /// ⌊log_η(max / min)⌋ + 1.
    pub fn brackets(&self) -> usize {
        let mut count = 1;
        let mut resource = self.min_epochs.max(1);
        while resource * self.eta <= self.max_epochs {
            resource *= self.eta;
            count += 1;
        }
        count
    }

    /// Hyperband's share of trials for bracket `b`: ⌈n · η^s / (s + 1)⌉, with
    /// s = n − 1 − b rungs below the top.
    fn budget(&self, bracket: usize) -> usize {
        let n = self.brackets();
        let s = n - 1 - bracket;
        (n * self.eta.pow(s as u32)).div_ceil(s + 1)
    }

    /// The bracket of trial `number`: a fixed hash of the number over the
    /// budgets, so a resumed study puts every trial where it was.
    pub fn bracket_of(&self, number: usize) -> usize {
        let total: usize = (0..self.brackets()).map(|b| self.budget(b)).sum();
        let mut slot = (mix(number as u64) % total as u64) as usize;
        for bracket in 0..self.brackets() {
            let budget = self.budget(bracket);
            if slot < budget {
                return bracket;
            }
            slot -= budget;
        }
        0
    }

    /// The rung index when `epochs` completed epochs are a rung of `bracket`.
    pub fn rung_at(&self, bracket: usize, epochs: usize) -> Option<usize> {
        let mut resource = self.min_epochs.max(1) * self.eta.pow(bracket as u32);
        let mut rung = 0;
        while resource < self.max_epochs {
            if resource == epochs {
                return Some(rung);
            }
            resource *= self.eta;
            rung += 1;
        }
        None
    }

    /// Records trial `number`'s `value` after `epochs` epochs and decides.
    pub fn report(&self, rungs: &mut Rungs, number: usize, epochs: usize, value: f64) -> Decision {
        let bracket = self.bracket_of(number);
        let Some(rung) = self.rung_at(bracket, epochs) else { return Decision::Continue };
        if !value.is_finite() {
            return Decision::Prune;
        }
        let competing = rungs.values.entry((bracket, rung)).or_default();
        competing.push(value);
        let mut sorted = competing.clone();
        sorted.sort_by(f64::total_cmp);
        let keep = (sorted.len() / self.eta).max(1);
        if value <= sorted[keep - 1] { Decision::Continue } else { Decision::Prune }
    }

    /// Puts a finished trial's reported values back (a resumed study).
    pub fn replay(&self, rungs: &mut Rungs, number: usize, curve: &[f64]) {
        let bracket = self.bracket_of(number);
        for (epoch, &value) in curve.iter().enumerate() {
            if let Some(rung) = self.rung_at(bracket, epoch + 1)
                && value.is_finite()
            {
                rungs.values.entry((bracket, rung)).or_default().push(value);
            }
        }
    }
}

/// SplitMix64's finaliser: spreads consecutive numbers over the slots.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_and_rungs_follow_hyperband() {
        let hb = Hyperband::new(9);
        assert_eq!(hb.brackets(), 3);
        assert_eq!((hb.budget(0), hb.budget(1), hb.budget(2)), (9, 5, 3));
        // Bracket 0 checks at epochs 1 and 3, bracket 1 at 3, bracket 2 never.
        assert_eq!((hb.rung_at(0, 1), hb.rung_at(0, 3), hb.rung_at(0, 9)), (Some(0), Some(1), None));
        assert_eq!((hb.rung_at(1, 1), hb.rung_at(1, 3)), (None, Some(0)));
        assert!((1..=9).all(|e| hb.rung_at(2, e).is_none()));
        assert_eq!(Hyperband::new(1).brackets(), 1);
        let counts = (0..1700).fold([0usize; 3], |mut c, n| {
            c[hb.bracket_of(n)] += 1;
            c
        });
        // 9 : 5 : 3 of the trials, within sampling noise.
        assert!(counts[0] > counts[1] && counts[1] > counts[2] && counts[2] > 200, "{counts:?}");
    }

    /// Synthetic learning curves `c / epoch`: the run with the larger c is
    /// worse at every epoch.
    fn curve(c: f64, epochs: usize) -> Vec<f64> {
        (1..=epochs).map(|e| c / e as f64).collect()
    }

    /// Runs trials through the pruner one after another; returns the epochs each ran.
    fn run(hb: &Hyperband, trials: &[(usize, f64)]) -> Vec<usize> {
        let mut rungs = Rungs::default();
        trials
            .iter()
            .map(|&(number, c)| {
                let values = curve(c, hb.max_epochs);
                for (epoch, v) in values.iter().enumerate() {
                    if hb.report(&mut rungs, number, epoch + 1, *v) == Decision::Prune {
                        return epoch + 1;
                    }
                }
                hb.max_epochs
            })
            .collect()
    }

    #[test]
    fn the_pruner_keeps_the_top_third_at_each_rung() {
        let hb = Hyperband::new(9);
        let aggressive: Vec<usize> = (0..200).filter(|&n| hb.bracket_of(n) == 0).take(6).collect();
        // Each trial worse than all before it: the first is alone at its
        // rungs and goes on; the second and third are outside the best
        // 1/3 (best one while fewer than 3) and stop at the first rung.
        let worse: Vec<(usize, f64)> = aggressive.iter().enumerate().map(|(i, &n)| (n, 10.0 + i as f64)).collect();
        assert_eq!(run(&hb, &worse), [9, 1, 1, 1, 1, 1]);
        // Each better than all before it: nobody is pruned.
        let better: Vec<(usize, f64)> = aggressive.iter().enumerate().map(|(i, &n)| (n, 10.0 - i as f64)).collect();
        assert_eq!(run(&hb, &better), [9; 6]);
        // Rung 0 holds 10, 11, 9 → the best third is {9}: 9.5 (4th) ranks
        // second of four and stops at epoch 1; 8 goes past rung 0 and meets
        // rung 1 (epoch 3) with 10/3 and 9/3 there, and goes on as the best.
        let mixed: Vec<(usize, f64)> =
            aggressive.iter().zip([10.0, 11.0, 9.0, 9.5, 8.0]).map(|(&n, c)| (n, c)).collect();
        assert_eq!(run(&hb, &mixed), [9, 1, 9, 1, 9]);
    }

    #[test]
    fn the_safe_bracket_never_prunes_and_replay_restores_the_rungs() {
        let hb = Hyperband::new(9);
        let safe: Vec<(usize, f64)> = (0..200)
            .filter(|&n| hb.bracket_of(n) == 2)
            .take(4)
            .enumerate()
            .map(|(i, n)| (n, 10.0 + i as f64))
            .collect();
        assert_eq!(run(&hb, &safe), [9; 4]);

        let aggressive: Vec<usize> = (0..200).filter(|&n| hb.bracket_of(n) == 0).take(2).collect();
        let mut rungs = Rungs::default();
        hb.replay(&mut rungs, aggressive[0], &curve(10.0, 9));
        assert_eq!(hb.report(&mut rungs, aggressive[1], 1, 11.0), Decision::Prune);
    }
}
