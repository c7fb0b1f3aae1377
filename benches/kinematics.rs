//! Forward kinematics and Jacobian throughput of the built-in chains.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ik_studio::robots;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_joints(chain: &ik_studio::Chain, n: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    (0..n)
        .flat_map(|_| {
            chain.joints.iter().map(|j| rng.random_range(j.limits.lower..=j.limits.upper)).collect::<Vec<_>>()
        })
        .collect()
}

fn fk(c: &mut Criterion) {
    for name in ["nicol-right", "omx"] {
        let chain = robots::builtin(name).unwrap().chain;
        let n = 100_000;
        let joints = random_joints(&chain, n);
        let mut out = vec![0.0; n * 7];
        let mut group = c.benchmark_group(format!("fk/{name}"));
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function("batch_one_core", |b| b.iter(|| chain.fk_batch(black_box(&joints), &mut out).unwrap()));
        group.bench_function("batch_all_cores", |b| {
            b.iter(|| chain.fk_batch_par(black_box(&joints), &mut out).unwrap())
        });
        group.finish();

        let q = &joints[..chain.dof()];
        c.bench_function(&format!("fk/{name}/single"), |b| b.iter(|| chain.fk_unchecked(black_box(q))));
        let mut jac = nalgebra::Matrix6xX::zeros(chain.dof());
        c.bench_function(&format!("jacobian/{name}"), |b| b.iter(|| chain.jacobian_into(black_box(q), &mut jac)));
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = fk
}
criterion_main!(benches);
