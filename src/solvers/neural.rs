//! Solvers over trained networks, and the hybrids of the CycleIK paper: network
//! solutions seeding the GA (`<model>+ga`) or refined locally (`<model>+numeric`).

use std::sync::Arc;
use std::time::Instant;

use super::{GeneticSolver, NumericSolver, Solution, SolveRequest, SolveResult, Solver, score};
use crate::kinematics::Chain;
use crate::models::{LoadedModel, Precision};
use nalgebra::Isometry3;

/// A network used as a solver: one forward pass (the GAN: `samples` of them in one batch).
pub struct NeuralSolver {
    model: Arc<LoadedModel>,
    chain: Chain,
    name: String,
}

impl NeuralSolver {
    pub fn new(model: Arc<LoadedModel>, chain: Chain) -> Self {
        let name = match model.precision() {
            Precision::F32 => model.card.model.to_string(),
            reduced => format!("{}@{reduced}", model.card.model),
        };
        Self { model, chain, name }
    }

    pub fn model(&self) -> &Arc<LoadedModel> {
        &self.model
    }

    /// Every joint configuration the network gives for the request; those with
    /// a non-finite value (from an overflowing input or broken weights) are dropped.
    pub fn configurations(&self, req: &SolveRequest) -> Vec<Vec<f64>> {
        let pose = network_input(&req.target);
        let Ok(joints) = self.model.infer(&pose, req.samples.max(1)) else { return Vec::new() };
        joints.chunks_exact(self.chain.dof()).filter(|q| q.iter().all(|v| v.is_finite())).map(<[f64]>::to_vec).collect()
    }

    /// Every solution the network gives for the request, evaluated, unsorted.
    pub fn candidates(&self, req: &SolveRequest) -> Vec<Solution> {
        self.configurations(req)
            .into_iter()
            .map(|q| Solution::evaluate(&self.chain, q, &req.target, req.mask))
            .collect()
    }
}

impl Solver for NeuralSolver {
    fn name(&self) -> &str {
        &self.name
    }

    fn model(&self) -> Option<&LoadedModel> {
        Some(&self.model)
    }

    fn solve(&self, req: &SolveRequest) -> SolveResult {
        let start = Instant::now();
        let solutions = self.candidates(req);
        SolveResult::from_solutions(solutions, req.tolerance, start.elapsed())
    }
}

/// The network's best solution, refined by numeric IK within the budget.
pub struct NeuralNumeric {
    neural: NeuralSolver,
    numeric: NumericSolver,
    name: String,
}

impl NeuralNumeric {
    pub fn new(neural: NeuralSolver) -> Self {
        let name = format!("{}+numeric", neural.name);
        let numeric = NumericSolver::new(neural.chain.clone());
        Self { neural, numeric, name }
    }
}

impl Solver for NeuralNumeric {
    fn name(&self) -> &str {
        &self.name
    }

    fn model(&self) -> Option<&LoadedModel> {
        Some(&self.neural.model)
    }

    fn solve(&self, req: &SolveRequest) -> SolveResult {
        let start = Instant::now();
        let best = self.neural.candidates(req).into_iter().min_by(|a, b| score(a).total_cmp(&score(b)));
        let seed = best.map(|s| s.joints).or_else(|| req.seed.clone());
        let budget = req.budget.saturating_sub(start.elapsed());
        let mut result = self.numeric.solve(&SolveRequest { seed, budget, samples: 1, ..req.clone() });
        result.time = start.elapsed();
        result
    }
}

/// The GA with network solutions filling half of its initial population.
pub struct NeuralGa {
    neural: NeuralSolver,
    ga: GeneticSolver,
    name: String,
}

impl NeuralGa {
    pub fn new(neural: NeuralSolver) -> Self {
        let name = format!("{}+ga", neural.name);
        let ga = GeneticSolver::new(neural.chain.clone());
        Self { neural, ga, name }
    }
}

impl Solver for NeuralGa {
    fn name(&self) -> &str {
        &self.name
    }

    fn model(&self) -> Option<&LoadedModel> {
        Some(&self.neural.model)
    }

    fn solve(&self, req: &SolveRequest) -> SolveResult {
        let start = Instant::now();
        // A generator gives many distinct seeds, a single-solution network one
        // (the GA repeats it to fill half its population; mutation spreads the copies).
        let samples = self.ga.config.population / 2;
        let seeds = self.neural.configurations(&SolveRequest { samples, ..req.clone() });
        let budget = req.budget.saturating_sub(start.elapsed());
        let (mut result, _) = self.ga.solve_seeded(&SolveRequest { budget, ..req.clone() }, &seeds);
        result.time = start.elapsed();
        result
    }
}

/// The target as the network's input `x y z qx qy qz qw`, the quaternion with
/// the sign the caller gave: the model's card decides whether it is made w ≥ 0
/// (a network trained on raw recorded quaternions takes them as given).
fn network_input(target: &Isometry3<f64>) -> [f64; 7] {
    let (t, q) = (target.translation.vector, target.rotation.coords);
    [t.x, t.y, t.z, q[0], q[1], q[2], q[3]]
}
