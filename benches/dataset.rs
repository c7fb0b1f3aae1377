//! Dataset sampling (with workspace and collision filter) and writing.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ik_studio::data::{self, SampleConfig};
use ik_studio::robots;

fn sampling(c: &mut Criterion) {
    let robot = robots::builtin("nicol-right").unwrap();
    let workspace = robot.workspace("full").unwrap().clone();
    let n = 200_000;
    let mut group = c.benchmark_group("dataset/nicol-right-full");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("sample_200k", |b| {
        b.iter(|| data::sample_dataset(&robot, &workspace, &SampleConfig::new(n, 1), &|_| {}).unwrap())
    });
    let (dataset, _) = data::sample_dataset(&robot, &workspace, &SampleConfig::new(n, 1), &|_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.ikd");
    group.bench_function("write_200k", |b| b.iter(|| data::write_dataset(&dataset, &path).unwrap()));
    group.bench_function("read_200k", |b| b.iter(|| data::read_dataset(&path).unwrap()));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = sampling
}
criterion_main!(benches);
