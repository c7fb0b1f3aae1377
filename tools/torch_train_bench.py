#!/usr/bin/env python3
"""PyTorch reference for `cargo bench --bench training`.

Trains the same CycleIK network as ik-studio's training step in PyTorch on the
CPU: the same layer widths (GELU hidden layers, the last `n_tanh` layers tanh),
outputs mapped linearly onto the joint limits, a differentiable batched FK of
the same chain (the joint constants ik-studio exported), L1 position + chordal
rotation loss with the same weights, Adam (eps 1e-8) at the same learning rate,
on the same batches. Prints one JSON object: samples/s per thread count (the
median of 5 windows of 20 steps after 10 warm-up steps) and the first and
last loss, so that a run that does not train shows.

    python3 tools/torch_train_bench.py target/training-bench/nicol-right-compact.json --threads 1 2

Needs: pip install torch numpy
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch

WARMUP, WINDOWS, STEPS = 10, 5, 20
SQRT_EPS = 1e-12


class ChainFk(torch.nn.Module):
    """Batched FK: frame_i = frame_{i-1} · origin_i · motion_i(q_i), as ik-studio's TensorFk.

    A revolute joint's `origin rotation · Rot(axis, q)` is `A + sin q · B + cos q · C`
    (Rodrigues, A B C constant), a prismatic joint slides along its axis.
    """

    def __init__(self, chain):
        super().__init__()
        self.kinds = [j["kind"] for j in chain["joints"]]
        eye = torch.eye(3)
        a, b, c, rot, axis, trans = [], [], [], [], [], []
        for j in chain["joints"]:
            r0 = torch.tensor(j["rotation"], dtype=torch.float32).reshape(3, 3)
            k = torch.tensor(j["axis"], dtype=torch.float32)
            km = torch.tensor([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
            k2 = km @ km
            a.append(r0 @ (eye + k2))
            b.append(r0 @ km)
            c.append(-(r0 @ k2))
            rot.append(r0)
            axis.append(r0 @ k)
            trans.append(torch.tensor(j["translation"], dtype=torch.float32))
        self.register_buffer("a", torch.stack(a))
        self.register_buffer("b", torch.stack(b))
        self.register_buffer("c", torch.stack(c))
        self.register_buffer("rot", torch.stack(rot))
        self.register_buffer("axis", torch.stack(axis))
        self.register_buffer("trans", torch.stack(trans))
        self.register_buffer("tip_rot", torch.tensor(chain["tip_rotation"], dtype=torch.float32).reshape(3, 3))
        self.register_buffer("tip_trans", torch.tensor(chain["tip_translation"], dtype=torch.float32))

    def forward(self, q):
        n = q.shape[0]
        r = torch.eye(3).expand(n, 3, 3)
        p = torch.zeros(n, 3)
        for i, kind in enumerate(self.kinds):
            p = p + r @ self.trans[i]
            qi = q[:, i].reshape(n, 1, 1)
            if kind == "revolute":
                r = r @ (self.a[i] + torch.sin(qi) * self.b[i] + torch.cos(qi) * self.c[i])
            else:  # prismatic (a fixed joint has a zero axis)
                p = p + (r @ self.axis[i]) * q[:, i:i + 1]
                r = r @ self.rot[i]
        return p + r @ self.tip_trans, r @ self.tip_rot


def network(inputs, hidden, dof, n_tanh):
    widths = [inputs] + hidden + [dof]
    layers = []
    first_tanh = len(widths) - 1 - n_tanh
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        layers.append(torch.nn.Tanh() if i >= first_tanh else torch.nn.GELU())  # exact (erf) GELU
    return torch.nn.Sequential(*layers)


def rate(spec, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    batch, dof = spec["batch"], spec["dof"]
    inputs = torch.tensor(np.array(spec["inputs"], dtype=np.float32).reshape(-1, 7))
    positions = torch.tensor(np.array(spec["positions"], dtype=np.float32).reshape(-1, 3))
    rotations = torch.tensor(np.array(spec["rotations"], dtype=np.float32).reshape(-1, 3, 3))
    batches = inputs.shape[0] // batch
    lower = torch.tensor(spec["lower"], dtype=torch.float32)
    upper = torch.tensor(spec["upper"], dtype=torch.float32)
    half_span, middle = 0.5 * (upper - lower), 0.5 * (upper + lower)
    net = network(7, spec["hidden"], dof, spec["n_tanh"])
    fk = ChainFk(spec["chain"])
    optimizer = torch.optim.Adam(net.parameters(), lr=spec["learning_rate"], eps=1e-8)
    wp, wr = spec["position_weight"], spec["rotation_weight"]
    losses = []

    def step(k):
        rows = slice((k % batches) * batch, (k % batches + 1) * batch)
        optimizer.zero_grad(set_to_none=True)
        q = net(inputs[rows]) * half_span + middle
        p, r = fk(q)
        position = (p - positions[rows]).abs().mean()
        rotation = ((r - rotations[rows]).square().reshape(-1, 9).sum(1) + SQRT_EPS).sqrt().mean()
        loss = wp * position + wr * rotation
        loss.backward()
        optimizer.step()
        losses.append(loss.item())  # the Rust trainer reads every step's loss too

    for k in range(WARMUP):
        step(k)
    rates = []
    for w in range(WINDOWS):
        started = time.perf_counter()
        for k in range(STEPS):
            step(WARMUP + w * STEPS + k)
        rates.append(STEPS * batch / (time.perf_counter() - started))
    return statistics.median(rates), losses[0], losses[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", help="the JSON that `cargo bench --bench training` writes")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with open(args.spec) as f:
        spec = json.load(f)
    report = {"torch": torch.__version__, "samples_per_second": {}, "loss": {}}
    for threads in args.threads:
        samples, first, last = rate(spec, threads)
        report["samples_per_second"][str(threads)] = samples
        report["loss"][str(threads)] = {"first": first, "last": last}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
