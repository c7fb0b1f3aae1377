#!/usr/bin/env python3
"""The `ik-studio tune` search through Optuna, for studies shared by several machines.

Optuna's TPE sampler proposes each trial, Optuna's Hyperband pruner judges it
after every epoch (unlike `ik-studio tune`, trial 0 is not the preset).
Each trial runs

    ik-studio train ... --params '{"width_1": 200, ...}' --events jsonl

reads its one-JSON-object-per-epoch stream, reports the validation position
error (mm) of the best epoch so far, and kills the process when the pruner says
so. The study lives in an Optuna storage: a SQLite file by default, or a
PostgreSQL / MySQL URL when several machines share it; every machine runs the
same command and Optuna hands out the trials.

    python3 tools/optuna_tune.py --robot omx --model iknet-original --data omx.ikd \
        --space study/study.json --trials 12 --epochs 4 --out optuna-study \
        [--storage sqlite:///optuna-study/optuna.db] [--study-name NAME]

`--space` takes a search space in `ik-studio tune`'s format
({"learning_rate": {"low": 1e-5, "high": 1e-3, "log": true}, ...}; whole-number
parameters need their "step") or a study
folder's `study.json` (its "space"). Needs `pip install optuna` (plus psycopg2 /
pymysql for those storages).
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ik-studio", default="target/release/ik-studio", help="the ik-studio binary")
    p.add_argument("--robot", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--preset", default="compact")
    p.add_argument("--data", required=True)
    p.add_argument("--space", required=True, help="space JSON or a study.json of `ik-studio tune`")
    p.add_argument("--trials", type=int, required=True, help="trials this worker runs")
    p.add_argument("--epochs", type=int, default=9)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="folder for the trials' checkpoints")
    p.add_argument("--storage", help="Optuna storage URL (default: sqlite:///OUT/optuna.db)")
    p.add_argument("--study-name", default=None, help="default: ik-studio-MODEL-ROBOT")
    p.add_argument("--threads", type=int, default=None, help="RAYON_NUM_THREADS of each training")
    args = p.parse_args()
    if args.trials < 1:
        p.error("--trials must be at least 1")
    return args


def load_space(path):
    with open(path) as f:
        space = json.load(f)
    space = space.get("space", space)
    if not isinstance(space, dict) or not space:
        sys.exit(f"error: {path}: the search space is empty")
    for name, r in space.items():
        if not (isinstance(r, dict) and "low" in r and "high" in r) or r["low"] >= r["high"]:
            sys.exit(f"error: {path}: `{name}` needs a range with low < high")
    return space


def suggest(trial, space):
    """A trial's values; widths past its layer count are left out, as ik-studio does."""
    params = {}
    for name, r in sorted(space.items()):
        # Whole-number parameters carry a step (as in ik-studio's default spaces).
        step = r.get("step")
        if step is not None:
            params[name] = trial.suggest_int(name, int(r["low"]), int(r["high"]), step=int(step))
        else:
            params[name] = trial.suggest_float(name, r["low"], r["high"], log=bool(r.get("log")))
    layers = params.get("layers")
    if layers is not None:
        params = {k: v for k, v in params.items() if not (k.startswith("width_") and int(k[6:]) > layers)}
    return params


def run_trial(trial, args, params, optuna):
    out = os.path.join(args.out, "trials", f"{trial.number:04d}")
    cmd = [
        args.ik_studio, "train", "--robot", args.robot, "--model", args.model, "--preset", args.preset,
        "--data", args.data, "--epochs", str(args.epochs), "--seed", str(args.seed), "--out", out,
        "--params", json.dumps(params), "--events", "jsonl",
    ]
    env = dict(os.environ)
    if args.threads:
        env["RAYON_NUM_THREADS"] = str(args.threads)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    best = None
    try:
        for line in proc.stdout:
            event = json.loads(line)
            if event.get("event") != "epoch":
                continue
            # The checkpoint keeps the best epoch (by validation loss): report its error.
            if event["improved"] or best is None:
                best = event["position_mm"]
            trial.report(best, event["epoch"] + 1)
            if trial.should_prune():
                proc.kill()
                proc.wait()
                raise optuna.TrialPruned()
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0 or best is None:
        raise RuntimeError(f"trial {trial.number}: {proc.stderr.read().strip() or 'no epoch finished'}")
    trial.set_user_attr("checkpoint", out)
    return best


def open_study(optuna, name, storage, args):
    """Creates the study or joins it; workers started together race to create the storage's
    tables and the study, so the losers wait and try again."""
    for attempt in range(20):
        try:
            return optuna.create_study(
                study_name=name,
                storage=storage,
                load_if_exists=True,
                direction="minimize",
                sampler=optuna.samplers.TPESampler(seed=args.seed),
                pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=args.epochs, reduction_factor=3),
            )
        except Exception:  # noqa: BLE001 - SQLAlchemy's IntegrityError, Optuna's DuplicatedStudyError, ...
            if attempt == 19:
                raise
            time.sleep(0.2 + random.random())


def main():
    args = parse_args()
    try:
        import optuna
    except ImportError:
        sys.exit("error: Optuna is not installed (pip install optuna)")
    space = load_space(args.space)
    os.makedirs(args.out, exist_ok=True)
    storage = args.storage or f"sqlite:///{os.path.join(args.out, 'optuna.db')}"
    name = args.study_name or f"ik-studio-{args.model}-{args.robot}"
    study = open_study(optuna, name, storage, args)
    study.optimize(lambda t: run_trial(t, args, suggest(t, space), optuna), n_trials=args.trials,
                   catch=(RuntimeError,))
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    print(f"{name}: {len(study.trials)} trials, {len(done)} complete, {len(pruned)} pruned")
    if done:
        best = study.best_trial
        print(f"best: trial {best.number} at {best.value:.3f} mm, {best.params}, {best.user_attrs.get('checkpoint')}")


if __name__ == "__main__":
    main()
