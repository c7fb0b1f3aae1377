//! A genetic algorithm over joint vectors, in the spirit of the CycleIK
//! paper's: population within limits, tournament selection, blend crossover,
//! Gaussian mutation, elitism; fitness = position error (mm) + orientation
//! error (deg). Seeds (e.g. network solutions) fill half the initial
//! population, repeated in turn when there are fewer; the rest is uniform
//! within limits. The seeds are scored first: one that already meets the
//! tolerance ends the run before any generation, as the termination test on
//! the whole initial population would.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::{Solution, SolveRequest, SolveResult, Solver, combined_error, pose_errors};
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
    position_error_mm: f64,
    orientation_error_deg: f64,
    fitness: f64,
}

impl GeneticSolver {
    pub fn new(chain: Chain) -> Self {
        Self { chain, config: GaConfig::default() }
    }

    fn individual(&self, genes: Vec<f64>, req: &SolveRequest) -> Individual {
        let (position_error_mm, orientation_error_deg) = pose_errors(&self.chain, &genes, &req.target, req.mask);
        Individual {
            genes,
            position_error_mm,
            orientation_error_deg,
            fitness: combined_error(position_error_mm, orientation_error_deg),
        }
    }

    /// Runs the GA with `seeds` filling half the initial population (repeated
    /// when fewer, the first half of the population when more).
    pub fn solve_seeded(&self, req: &SolveRequest, seeds: &[Vec<f64>]) -> (SolveResult, GaReport) {
        let start = Instant::now();
        // A NaN or huge target would make every fitness NaN and the search ranges empty.
        if req.validate().is_err() {
            return (SolveResult::from_solutions(Vec::new(), req.tolerance, start.elapsed()), GaReport::default());
        }
        let cfg = &self.config;
        let dof = self.chain.dof();
        let limits = self.chain.limits();
        let seed = req.target.translation.vector.iter().fold(0x9a_u64, |h, v| h.rotate_left(13) ^ v.to_bits());
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let clamp = |genes: &mut [f64]| genes.iter_mut().zip(&limits).for_each(|(g, l)| *g = l.clamp(*g));
        let solved = |best: &Individual| req.tolerance.admits(best.position_error_mm, best.orientation_error_deg);
        let finish = |best: Individual, report| {
            let best = Solution {
                joints: best.genes,
                position_error_mm: best.position_error_mm,
                orientation_error_deg: best.orientation_error_deg,
            };
            (SolveResult::from_solutions(vec![best], req.tolerance, start.elapsed()), report)
        };

        // The seeds, each scored once.
        let mut population: Vec<Individual> = Vec::with_capacity(cfg.population);
        let usable = |s: &&Vec<f64>| s.len() == dof && s.iter().all(|v| v.is_finite());
        for genes in seeds.iter().filter(usable).take(cfg.population / 2) {
            let mut genes = genes.clone();
            clamp(&mut genes);
            population.push(self.individual(genes, req));
        }
        let best_seed = (0..population.len()).min_by(|&a, &b| population[a].fitness.total_cmp(&population[b].fitness));
        if let Some(i) = best_seed
            && solved(&population[i])
        {
            let best = population.swap_remove(i);
            let best_fitness = vec![best.fitness];
            return finish(best, GaReport { generations: 0, best_fitness });
        }
        // Copies of them up to half the population, then random configurations.
        let distinct = population.len();
        for k in distinct..if distinct > 0 { cfg.population / 2 } else { 0 } {
            let twin = &population[k % distinct];
            population.push(Individual { genes: twin.genes.clone(), ..*twin });
        }
        while population.len() < cfg.population {
            let genes = self.chain.random_configuration(&mut rng);
            population.push(self.individual(genes, req));
        }
        population.sort_by(|a, b| a.fitness.total_cmp(&b.fitness));
        let mut report = GaReport { generations: 0, best_fitness: vec![population[0].fitness] };
        let unit = Normal::new(0.0, 1.0).expect("valid normal");
        while report.generations < cfg.max_generations && !solved(&population[0]) && start.elapsed() < req.budget {
            // σ shrinks with the best error so the search refines near a solution.
            let sigma = cfg.mutation_sigma * (population[0].fitness / 100.0).clamp(0.002, 1.0);
            let mut next: Vec<Individual> = Vec::with_capacity(cfg.population);
            for elite in population.iter().take(cfg.elites) {
                next.push(Individual { genes: elite.genes.clone(), ..*elite });
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
                next.push(self.individual(child, req));
            }
            next.sort_by(|a, b| a.fitness.total_cmp(&b.fitness));
            population = next;
            report.generations += 1;
            report.best_fitness.push(population[0].fitness);
        }
        finish(population.swap_remove(0), report)
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
