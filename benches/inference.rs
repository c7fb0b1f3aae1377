//! Inference latency of every compact model: burn (flex backend) against the
//! fast CPU path with f32, f16 and int8 weights, at batch 1 and batch 500, on
//! the calling thread.

use std::hint::black_box;

use burn::tensor::{Tensor, TensorData};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ik_studio::models::{FastMlp, ModelKind, Precision, Preset, cpu_device, preset_spec};

fn inference(c: &mut Criterion) {
    let device = cpu_device();
    for (kind, dof) in [
        (ModelKind::IknetOriginal, 4),
        (ModelKind::IknetImproved, 4),
        (ModelKind::IknetFocused, 4),
        (ModelKind::CycleikMlp, 8),
        (ModelKind::CycleikGan, 8),
    ] {
        let architecture = preset_spec(kind, Preset::Compact, dof).unwrap().architecture;
        let network = architecture.init(&device);
        let width = architecture.input_dim();
        let fast: Vec<FastMlp> =
            Precision::ALL.into_iter().filter_map(|p| FastMlp::with_precision(&network, p)).collect();
        let mut group = c.benchmark_group(format!("infer/{kind}"));
        for batch in [1usize, 500] {
            let input: Vec<f32> = (0..batch * width).map(|i| ((i % 13) as f32 - 6.0) / 7.0).collect();
            group.bench_with_input(BenchmarkId::new("burn", batch), &batch, |b, &batch| {
                b.iter(|| {
                    let x = Tensor::<2>::from_data(TensorData::new(input.clone(), [batch, width]), &device);
                    black_box(network.forward(x).into_data())
                })
            });
            for fast in &fast {
                let mut out = Vec::with_capacity(batch * dof);
                let name = format!("fast-{}", fast.precision());
                group.bench_with_input(BenchmarkId::new(name, batch), &batch, |b, &batch| {
                    b.iter(|| {
                        out.clear();
                        fast.forward(black_box(&input), batch, &mut out);
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = inference
}
criterion_main!(benches);
