#!/usr/bin/env python3
"""Pareto front of generators: mean position error of all samples against their spread.

Each point is an `ik-studio eval --samples 500 --json` report of one generator, given as
FAMILY:LABEL=report.json (FAMILY names the diversity loss, e.g. paper or hinge), or as
FAMILY:LABEL=MM,RAD for a figure measured earlier. Needs matplotlib.

    python3 tools/gan_pareto.py --out checkpoints/gan-pareto.png \
        paper:w300=2.731,0.0067 hinge:s0.1=/tmp/eval-hinge-s0.1.json
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def point(spec):
    family_label, value = spec.split("=", 1)
    family, label = family_label.split(":", 1)
    if value.endswith(".json"):
        with open(value) as f:
            report = json.loads(f.readline())
        return family, label, report["mean_of_samples_position_mm"], report["sample_spread"]
    mm, rad = (float(v) for v in value.split(","))
    return family, label, mm, rad


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("points", nargs="+")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    points = [point(p) for p in args.points]
    # The whole range, and a zoom on the region of the target where the hinge runs cluster.
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), dpi=110)
    for ax, zoom in zip(axes, (False, True)):
        for family, marker in (("paper", "s"), ("hinge", "o")):
            chosen = sorted((p for p in points if p[0] == family), key=lambda p: p[3])
            if not chosen:
                continue
            ax.plot([p[3] for p in chosen], [p[2] for p in chosen], marker=marker, linestyle="none",
                     label=f"{family} loss")
            for _, label, mm, rad in chosen:
                if not zoom or (0.06 <= rad <= 0.14 and mm <= 4.5):
                    ax.annotate(label, (rad, mm), textcoords="offset points", xytext=(5, 4), fontsize=8)
        ax.axhspan(0, 3, color="green", alpha=0.08, label="target: ≤ 3 mm, ≥ 0.1 rad")
        ax.axvline(0.1, color="green", alpha=0.4, linestyle="--")
        ax.set_xlabel("spread: mean per-joint std of 500 samples (rad)")
        ax.set_ylabel("mean position error of all 500 samples (mm)")
        ax.grid(alpha=0.3)
        if zoom:
            ax.set_xlim(0.06, 0.14)
            ax.set_ylim(2.0, 4.5)
            ax.set_title("zoom: the hinge runs near the target", fontsize=10)
        else:
            ax.set_ylim(bottom=0)
            ax.set_xlim(left=0)
            ax.set_title("CycleIK GAN, NICOL right arm (Small workspace test split)", fontsize=10)
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out)


if __name__ == "__main__":
    main()
