//! Single-query latency of the numeric solver and the GA on random reachable poses.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ik_studio::robots;
use ik_studio::solvers::{GeneticSolver, NumericSolver, SolveRequest, Solver, Tolerance};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn targets(chain: &ik_studio::Chain, n: usize) -> Vec<SolveRequest> {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    (0..n)
        .map(|_| {
            let q: Vec<f64> = chain.joints.iter().map(|j| rng.random_range(j.limits.lower..=j.limits.upper)).collect();
            SolveRequest { budget: Duration::from_millis(100), ..SolveRequest::new(chain.fk(&q).unwrap()) }
        })
        .collect()
}

fn solvers(c: &mut Criterion) {
    let chain = robots::builtin("nicol-right").unwrap().chain;
    let requests = targets(&chain, 64);
    let numeric = NumericSolver::new(chain.clone());
    let mut i = 0;
    c.bench_function("solve/nicol-right/numeric", |b| {
        b.iter(|| {
            i = (i + 1) % requests.len();
            numeric.solve(&requests[i])
        })
    });
    let ga = GeneticSolver::new(chain.clone());
    let success: Vec<SolveRequest> =
        requests.iter().map(|r| SolveRequest { tolerance: Tolerance::SUCCESS, ..r.clone() }).collect();
    c.bench_function("solve/nicol-right/ga_success_tolerance", |b| {
        b.iter(|| {
            i = (i + 1) % success.len();
            ga.solve(&success[i])
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = solvers
}
criterion_main!(benches);
