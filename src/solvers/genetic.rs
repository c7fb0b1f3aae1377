//! A genetic algorithm over joint vectors, in the spirit of the CycleIK
//! paper's: population within limits, tournament selection, blend crossover,
//! Gaussian mutation, elitism; fitness = position error (mm) + orientation
//! error (deg). Seeds (e.g. network solutions) fill up to half the initial
//! population, the rest is uniform within limits.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::{Solution, SolveRequest, SolveResult, Solver};
use crate::kinematics::Chain;

#[derive(Debug, Clone)]
pub struct GaConfig {
    pub population: usize,
    pub elites: usize,
    pub tournament: usize,
    /// Largest number of generations (the time budget may end the run first).
    pub max_generations: usize,
    /// Initial mutation σ as a fraction of each joint's range; it shrinks as the best improves.
    pub mutation_sigma: f64,
    pub mutation_rate: f64,
}

impl Default for GaConfig {
    fn default() -> Self {
        Self {
            population: 120,
            elites: 4,
            tournament: 3,
            max_generations: 2_000,
            mutation_sigma: 0.1,
            mutation_rate: 0.3,
        }
    }
}

/// How a run went (for tests, reports and the hybrid's bookkeeping).
#[derive(Debug, Clone, Default)]
pub struct GaReport {
    pub generations: usize,
    /// Best fitness after each generation (generation 0 = initial population).
    pub best_fitness: Vec<f64>,
}

#[derive(Debug, Clone)]
pub struct GeneticSolver {
    chain: Chain,
    pub config: GaConfig,
}

struct Individual {
    genes: Vec<f64>,
    fitness: f64,
}

impl GeneticSolver {
    pub fn new(chain: Chain) -> Self {
        Self { chain, config: GaConfig::default() }
    }

    fn fitness(&self, genes: &[f64], req: &SolveRequest) -> f64 {
        let s = Solution::evaluate(&self.chain, genes.to_vec(), &req.target, req.mask);
        s.position_error_mm + s.orientation_error_deg
    }

    /// Runs the GA with `seeds` in the initial population (at most half of it).
    pub fn solve_seeded(&self, req: &SolveRequest, seeds: &[Vec<f64>]) -> (SolveResult, GaReport) {
        let start = Instant::now();
        let cfg = &self.config;
        let dof = self.chain.dof();
        let limits = self.chain.limits();
        let seed = req.target.translation.vector.iter().fold(0x9a_u64, |h, v| h.rotate_left(13) ^ v.to_bits());
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let clamp = |genes: &mut [f64]| genes.iter_mut().zip(&limits).for_each(|(g, l)| *g = l.clamp(*g));

        let mut population: Vec<Individual> = seeds
            .iter()
            .filter(|s| s.len() == dof)
            .take(cfg.population / 2)
            .map(|s| {
                let mut genes = s.clone();
                clamp(&mut genes);
                genes
            })
            .chain(std::iter::repeat_with(|| self.chain.random_configuration(&mut rng)))
            .take(cfg.population)
            .map(|genes: Vec<f64>| Individual { fitness: self.fitness(&genes, req), genes })
            .collect();
        population.sort_by(|a, b| a.fitness.total_cmp(&b.fitness));
        let mut report = GaReport { generations: 0, best_fitness: vec![population[0].fitness] };
        let unit = Normal::new(0.0, 1.0).expect("valid normal");
        let solved = |best: &Individual| {
            Solution::evaluate(&self.chain, best.genes.clone(), &req.target, req.mask).meets(req.tolerance)
        };

        while report.generations < cfg.max_generations && !solved(&population[0]) && start.elapsed() < req.budget {
            // σ shrinks with the best error so the search refines near a solution.
            let sigma = cfg.mutation_sigma * (population[0].fitness / 100.0).clamp(0.002, 1.0);
            let mut next: Vec<Individual> = Vec::with_capacity(cfg.population);
            for elite in population.iter().take(cfg.elites) {
                next.push(Individual { genes: elite.genes.clone(), fitness: elite.fitness });
            }
            while next.len() < cfg.population {
                let a = tournament(&population, cfg.tournament, &mut rng);
                let b = tournament(&population, cfg.tournament, &mut rng);
                let mut child: Vec<f64> = (0..dof)
                    .map(|i| {
                        // BLX-0.5 blend of the parents' genes.
                        let (lo, hi) = (a.genes[i].min(b.genes[i]), a.genes[i].max(b.genes[i]));
                        let ext = 0.5 * (hi - lo);
                        rng.random_range(lo - ext..=hi + ext)
                    })
                    .collect();
                for (g, l) in child.iter_mut().zip(&limits) {
                    if rng.random::<f64>() < cfg.mutation_rate {
                        *g += unit.sample(&mut rng) * sigma * l.span();
                    }
                }
                clamp(&mut child);
                next.push(Individual { fitness: self.fitness(&child, req), genes: child });
            }
            next.sort_by(|a, b| a.fitness.total_cmp(&b.fitness));
            population = next;
            report.generations += 1;
            report.best_fitness.push(population[0].fitness);
        }
        let best = Solution::evaluate(&self.chain, population.swap_remove(0).genes, &req.target, req.mask);
        (SolveResult::from_solutions(vec![best], req.tolerance, start.elapsed()), report)
    }
}

fn tournament<'a>(population: &'a [Individual], k: usize, rng: &mut ChaCha8Rng) -> &'a Individual {
    (0..k.max(1))
        .map(|_| &population[rng.random_range(0..population.len())])
        .min_by(|a, b| a.fitness.total_cmp(&b.fitness))
        .expect("k ≥ 1")
}

impl Solver for GeneticSolver {
    fn name(&self) -> &str {
        "ga"
    }

    fn solve(&self, req: &SolveRequest) -> SolveResult {
        let seeds: Vec<Vec<f64>> = req.seed.iter().cloned().collect();
        self.solve_seeded(req, &seeds).0
    }
}
