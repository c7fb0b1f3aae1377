//! Solvers by name, as the command line and the studio offer them.

use std::sync::Arc;

use thiserror::Error;

use super::{GeneticSolver, NumericSolver, Solver};
use crate::robots::Robot;

#[derive(Debug, Error)]
pub enum SolverError {
    #[error("unknown solver '{0}'; solvers: {known}", known = SOLVER_NAMES.join(", "))]
    Unknown(String),
}

/// Solvers that need no checkpoint.
pub const SOLVER_NAMES: &[&str] = &["numeric", "ga"];

/// The solver `name` for `robot`'s chain.
pub fn build(name: &str, robot: &Robot) -> Result<Arc<dyn Solver>, SolverError> {
    match name {
        "numeric" => Ok(Arc::new(NumericSolver::new(robot.chain.clone()))),
        "ga" => Ok(Arc::new(GeneticSolver::new(robot.chain.clone()))),
        other => Err(SolverError::Unknown(other.to_string())),
    }
}
