#!/usr/bin/env python3
"""Writes the PyTorch fixtures of `tests/torch_import.rs`: small networks of the
three importable kinds, saved with `torch.save(model.state_dict())`, and the
outputs PyTorch gives for fixed inputs.

    python3 -m venv /tmp/tv && /tmp/tv/bin/pip install torch
    /tmp/tv/bin/python tools/make_torch_fixtures.py tests/fixtures/torch

Sizes are tiny on purpose (the files are committed); the layouts are the ones
`ik-studio import-torch` documents.
"""
import json
import sys
from pathlib import Path

import torch
from torch import nn


class IkNetOriginal(nn.Module):
    """IKNet as in its repository: nn.Sequential of Linear, ReLU, Dropout."""

    def __init__(self, hidden, dof):
        super().__init__()
        widths = [7] + hidden
        parts = []
        for i, o in zip(widths, widths[1:]):
            parts += [nn.Linear(i, o), nn.ReLU(), nn.Dropout(0.1)]
        parts.append(nn.Linear(widths[-1], dof))
        self.layers = nn.Sequential(*parts)

    def forward(self, x):
        return self.layers(x)


class CycleIk(nn.Module):
    """CycleIK's generator/MLP: a ModuleList of Linear layers, GELU, last n tanh."""

    def __init__(self, inputs, hidden, dof, n_tanh):
        super().__init__()
        widths = [inputs] + hidden + [dof]
        self.layers = nn.ModuleList(nn.Linear(i, o) for i, o in zip(widths, widths[1:]))
        self.n_tanh = n_tanh

    def forward(self, x):
        first_tanh = len(self.layers) - self.n_tanh
        for k, layer in enumerate(self.layers):
            x = layer(x)
            x = torch.tanh(x) if k >= first_tanh else nn.functional.gelu(x)
        return x


def fixture(out: Path, name: str, model: nn.Module, inputs: torch.Tensor, meta: dict):
    model.eval()
    with torch.no_grad():
        outputs = model(inputs)
    torch.save(model.state_dict(), out / f"{name}.pth")
    # A checkpoint dict holding the state dict under a key, as training scripts save them.
    # (Named so that no stem is 21 characters long: see `torch_import.rs` on the zip crate.)
    torch.save({"epoch": 3, "model_state_dict": model.state_dict()}, out / f"{name}-checkpoint.pth")
    record = dict(meta, inputs=inputs.tolist(), outputs=outputs.tolist(), torch=torch.__version__)
    (out / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/torch")
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(20261121)
    rows = 6

    # OpenManipulator-X (4 joints), raw pose in.
    iknet = IkNetOriginal([24, 20, 16, 12, 8], 4)
    pose = torch.cat([torch.rand(rows, 3) * 0.4 - 0.2, nn.functional.normalize(torch.randn(rows, 4), dim=1)], 1)
    fixture(out, "iknet-original", iknet, pose, {"model": "iknet-original", "robot": "omx"})

    # NICOL right arm (8 joints), normalised pose in [-1, 1] (plus noise in [0, 1) for the GAN).
    mlp = CycleIk(7, [32, 24, 16], 8, 2)
    fixture(out, "cycleik-mlp", mlp, torch.rand(rows, 7) * 2 - 1,
            {"model": "cycleik-mlp", "robot": "nicol-right", "n_tanh": 2})
    gan = CycleIk(7 + 3, [32, 24, 16], 8, 3)
    gan_in = torch.cat([torch.rand(rows, 7) * 2 - 1, torch.rand(rows, 3)], 1)
    fixture(out, "cycleik-gan", gan, gan_in, {"model": "cycleik-gan", "robot": "nicol-right", "n_tanh": 3})


if __name__ == "__main__":
    main()
