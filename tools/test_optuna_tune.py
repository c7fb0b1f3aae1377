#!/usr/bin/env python3
"""End-to-end test of tools/optuna_tune.py: two workers started together on one SQLite study.

Run by .ci/run inside a virtual environment with Optuna (the install failing fails CI):

    python3 tools/test_optuna_tune.py --ik-studio target/release/ik-studio

Checks: both workers exit 0; the study holds every trial of both (4), each finished
(complete or pruned, none failed) with its parameters inside the space; complete
trials left a checkpoint folder with a card.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import optuna

SPACE = {"learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}, "batch_size": {"low": 100, "high": 300, "step": 50}}


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ik-studio", required=True)
    args = p.parse_args()
    tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optuna_tune.py")
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "omx.ikd")
        run([args.ik_studio, "dataset", "--robot", "omx", "--workspace", "full", "--samples", "6000",
             "--seed", "3", "--out", data])
        space = os.path.join(tmp, "space.json")
        with open(space, "w") as f:
            json.dump(SPACE, f)
        out = os.path.join(tmp, "study")
        workers = [
            subprocess.Popen(
                [sys.executable, tool, "--ik-studio", args.ik_studio, "--robot", "omx", "--model", "iknet-original",
                 "--data", data, "--space", space, "--trials", "2", "--epochs", "3", "--seed", str(seed),
                 "--out", out, "--threads", "1"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for seed in (1, 2)
        ]
        logs = [w.communicate(timeout=600)[0] for w in workers]
        for w, log in zip(workers, logs):
            assert w.returncode == 0, f"a worker failed:\n{log}"
        study = optuna.load_study(study_name="ik-studio-iknet-original-omx",
                                  storage=f"sqlite:///{os.path.join(out, 'optuna.db')}")
        states = [t.state for t in study.trials]
        assert len(study.trials) == 4, f"expected 4 trials, found {len(study.trials)}"
        finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        assert all(s in finished for s in states), f"trial states {states}"
        for t in study.trials:
            lr, batch = t.params["learning_rate"], t.params["batch_size"]
            assert 1e-4 <= lr <= 1e-2 and 100 <= batch <= 300 and batch % 50 == 0, t.params
            if t.state == optuna.trial.TrialState.COMPLETE:
                assert t.value > 0, t.value
                card = os.path.join(t.user_attrs["checkpoint"], "card.json")
                assert os.path.isfile(card), f"trial {t.number} left no checkpoint"
        print(f"optuna_tune: 2 workers, {len(states)} trials "
              f"({sum(s == optuna.trial.TrialState.COMPLETE for s in states)} complete), one SQLite study: ok")


if __name__ == "__main__":
    main()
