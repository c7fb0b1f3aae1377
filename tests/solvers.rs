//! The solver interface and numeric IK.

use std::time::Duration;

use ik_studio::robots;
use ik_studio::solvers::{GoalMask, NumericSolver, SolveRequest, SolveState, Solver, Tolerance};
use nalgebra::{Isometry3, Translation3, UnitQuaternion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_q(chain: &ik_studio::Chain, rng: &mut ChaCha8Rng) -> Vec<f64> {
    chain.joints.iter().map(|j| rng.random_range(j.limits.lower..=j.limits.upper)).collect()
}

#[test]
fn numeric_ik_reaches_random_reachable_poses_within_limits() {
    for (name, mask) in [("nicol-right", GoalMask::Full), ("nicol-left", GoalMask::Full), ("omx", GoalMask::Position)] {
        let chain = robots::builtin(name).unwrap().chain;
        let solver = NumericSolver::new(chain.clone());
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let trials = 100;
        let mut solved = 0;
        for _ in 0..trials {
            let target = chain.fk(&random_q(&chain, &mut rng)).unwrap();
            let req = SolveRequest { mask, budget: Duration::from_millis(200), ..SolveRequest::new(target) };
            let result = solver.solve(&req);
            let best = result.best().unwrap();
            assert!(chain.within_limits(&best.joints), "{name}: limits violated");
            if result.state == SolveState::Solved {
                assert!(best.meets(req.tolerance));
                solved += 1;
            }
        }
        assert!(solved >= 98, "{name}: solved {solved}/{trials}");
    }
}

#[test]
fn omx_position_plus_pitch_goal_is_met() {
    // A 4-DoF arm can meet position + pitch (rotation about its own y) for reachable poses.
    let chain = robots::builtin("omx").unwrap().chain;
    let solver = NumericSolver::new(chain.clone());
    let target = chain.fk(&[0.0, 0.3, -0.2, 0.5]).unwrap();
    let req = SolveRequest { mask: GoalMask::PositionAnd([false, true, false]), ..SolveRequest::new(target) };
    let result = solver.solve(&req);
    assert_eq!(result.state, SolveState::Solved, "{:?}", result.best());
}

#[test]
fn out_of_reach_target_returns_best_approximation_flagged_unreachable() {
    let chain = robots::builtin("nicol-right").unwrap().chain;
    let solver = NumericSolver::new(chain.clone());
    let far = Isometry3::from_parts(Translation3::new(3.0, -0.5, 1.0), UnitQuaternion::identity());
    let req = SolveRequest { budget: Duration::from_millis(50), ..SolveRequest::new(far) };
    let result = solver.solve(&req);
    assert_eq!(result.state, SolveState::Unreachable);
    let best = result.best().expect("an approximation is returned");
    assert!(chain.within_limits(&best.joints));
    // The arm stretches towards the target: about 3 m away minus its reach (< 1 m).
    assert!(best.position_error_mm > 2000.0 && best.position_error_mm < 3100.0, "{}", best.position_error_mm);

    // The 4-DoF OMX cannot roll its hand: a reachable position with the hand rolled by
    // 10° is out of tolerance but within 10 mm / 20°, i.e. "approximate".
    let omx = robots::builtin("omx").unwrap().chain;
    let reachable = omx.fk(&[0.3, 0.2, -0.4, 0.6]).unwrap();
    let rolled = reachable.rotation * UnitQuaternion::from_axis_angle(&nalgebra::Vector3::x_axis(), 10f64.to_radians());
    let req = SolveRequest {
        budget: Duration::from_millis(20),
        ..SolveRequest::new(Isometry3::from_parts(reachable.translation, rolled))
    };
    let result = NumericSolver::new(omx).solve(&req);
    assert_eq!(result.state, SolveState::Approximate, "{:?}", result.best());
}

#[test]
fn seed_configuration_is_used_first() {
    let chain = robots::builtin("nicol-right").unwrap().chain;
    let solver = NumericSolver::new(chain.clone());
    let q = vec![1.0, 0.2, -0.5, 0.3, 0.2, 0.1, 0.1, 0.0];
    let target = chain.fk(&q).unwrap();
    let req = SolveRequest { seed: Some(q.clone()), ..SolveRequest::new(target) };
    let result = solver.solve(&req);
    assert_eq!(result.state, SolveState::Solved);
    // Starting at the answer, the solver stays there.
    assert!(result.best().unwrap().joints.iter().zip(&q).all(|(a, b)| (a - b).abs() < 1e-9));
}

#[test]
fn ga_improves_over_generations_and_seeding_converges_faster() {
    use ik_studio::solvers::GeneticSolver;
    let chain = robots::builtin("nicol-right").unwrap().chain;
    let ga = GeneticSolver::new(chain.clone());
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    let (mut seeded_total, mut unseeded_total) = (0, 0);
    for _ in 0..5 {
        let q = random_q(&chain, &mut rng);
        let mut req = SolveRequest::new(chain.fk(&q).unwrap());
        req.tolerance = Tolerance::SUCCESS;
        req.budget = Duration::from_secs(20);
        let (result, report) = ga.solve_seeded(&req, &[]);
        // Fitness never gets worse (elitism) and improves overall.
        assert!(report.best_fitness.windows(2).all(|w| w[1] <= w[0]));
        assert!(report.best_fitness.last().unwrap() < &report.best_fitness[0]);
        assert_eq!(result.state, SolveState::Solved, "{:?}", result.best());
        assert!(chain.within_limits(&result.best().unwrap().joints));
        unseeded_total += report.generations;
        // Seeds as a network would give them: near the answer, not on it.
        let seeds: Vec<Vec<f64>> =
            (0..10).map(|_| q.iter().map(|v| v + rng.random_range(-0.08..0.08)).collect()).collect();
        let (result, report) = ga.solve_seeded(&req, &seeds);
        assert_eq!(result.state, SolveState::Solved);
        seeded_total += report.generations;
        // A seed that already meets the tolerance ends the run before any generation.
        let (result, report) = ga.solve_seeded(&req, &[seeds[0].clone(), q.clone(), seeds[1].clone()]);
        assert_eq!((report.generations, result.state), (0, SolveState::Solved));
        assert_eq!(result.best().unwrap().joints, q);
    }
    assert!(seeded_total * 3 < unseeded_total, "seeded {seeded_total} vs unseeded {unseeded_total} generations");
}
