"""Seeds per second in a reproduction study: one by one against together, per backend.

A study trains its first seed as a single run, then the others. For every backend asked for
(default: every installed one), a worker process does that first run and then times the others:
  one by one   each seed in turn, the first seed's compiled loop reused (every backend);
  2 processes  the same in two worker processes at once, half the seeds each (TF and torch);
  together     every seed in one vectorized program, jax.vmap (JAX; its time includes replaying
               the initial weights and compiling).
On JAX it also compares the seeds trained both ways: the largest relative difference of any
epoch's loss, the largest difference of a prediction, and how many verdicts differ.

    python benchmarks/seeds_speed.py                                  # 200 seeds, 40 one by one
    python benchmarks/seeds_speed.py --backends jax --seeds 1000 --one-by-one 999
"""

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import common
from benchmarks.fit_speed import installed_backends
from repro.backend import BACKENDS

ROOT = Path(__file__).resolve().parent.parent


def first_run(backend: str, script: str, argv: list[str]):
    """The script's run under argv, trained: (its Run, its build_model)."""
    from repro.cli import check_head_length
    from repro.run import Run, start

    module = importlib.import_module(common.SCRIPT_MODULES[script])
    add_arguments = getattr(module, "add_arguments", None)
    check = check_head_length if add_arguments else None  # many_to_many_td.py's --head
    args = start(
        module.SCRIPT, ["--backend", backend, "--verbose", "0", *argv], add_arguments, check
    )
    run = Run(args, *common.make_data(module.SCRIPT, args.length, args.sequence))
    run.train(module.build_model(args))
    return run, module.build_model


def measure(backend: str, script: str, argv: list[str], seeds: int, one_by_one: int) -> dict:
    """Run in a process of its own (the backend is fixed once keras is imported)."""
    import numpy as np

    from repro import study
    from repro.compare import reproduced

    run, build_model = first_run(backend, script, argv)
    others = list(range(run.args.seed + 1, run.args.seed + seeds))
    row = {"backend": backend, "script": script, "epochs": run.args.epochs}
    start = time.perf_counter()
    alone = list(study.train_one_by_one(run, build_model, others[:one_by_one]))
    row["one_by_one"] = {"seeds": len(alone), "seconds": time.perf_counter() - start}
    if not study.trains_together(run.args):
        return row
    start = time.perf_counter()
    together = list(study.train_together(run, build_model, others))
    row["together"] = {"seeds": len(together), "seconds": time.perf_counter() - start}
    rel, abs_, verdicts = 0.0, 0.0, 0
    targets, tolerance = run.targets, run.tolerance
    for (s1, h1, p1), (s2, h2, p2) in zip(alone, together, strict=False):
        assert s1 == s2
        h1, h2 = np.asarray(h1), np.asarray(h2)
        rel = max(rel, float(np.max(np.abs(h1 - h2) / np.abs(h1))))
        abs_ = max(abs_, float(np.max(np.abs(np.asarray(p1) - np.asarray(p2)))))
        p1, p2 = run.in_user_units(p1), run.in_user_units(p2)
        verdicts += reproduced(p1, targets, tolerance) != reproduced(p2, targets, tolerance)
    row["compared"] = {
        "seeds": min(len(alone), len(together)),
        "max_relative_loss_difference": rel,
        "max_abs_prediction_difference": abs_,
        "verdicts_differing": verdicts,
    }
    return row


def _worker(backend, script, argv, seeds, one_by_one) -> subprocess.Popen:
    cmd = [sys.executable, __file__, "--worker", backend, "--script", script]
    cmd += ["--seeds", str(seeds), "--one-by-one", str(one_by_one), "--", *argv]
    env = dict(os.environ, KERAS_BACKEND=backend)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _result(proc) -> dict:
    out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"worker failed:\n{err[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", nargs="+", choices=tuple(BACKENDS), help="default: installed")
    p.add_argument("--script", choices=tuple(common.SCRIPT_MODULES), default="many_to_many")
    p.add_argument("--seeds", type=int, default=200, help="seeds in the study (200)")
    p.add_argument("--one-by-one", type=int, default=40, help="of them timed one by one (40)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("argv", nargs="*", help="after --: the script's own flags, e.g. -- --epochs 500")
    args = p.parse_args()
    if args.seeds < 3 or not 1 <= args.one_by_one < args.seeds:
        p.error("--seeds must be at least 3 and --one-by-one between 1 and seeds - 1")
    if args.worker:
        row = measure(args.worker, args.script, args.argv, args.seeds, args.one_by_one)
        print(json.dumps(row))
        return
    rows, compared = [], []
    for backend in args.backends or installed_backends():
        row = _result(_worker(backend, args.script, args.argv, args.seeds, args.one_by_one))
        ways = {"one by one": row["one_by_one"]}
        if "together" in row:
            ways["together (jax.vmap)"] = row["together"]
        else:  # two processes at once, each with half the seeds (their own first seed apart)
            half = args.one_by_one // 2 + 1
            pair = [_worker(backend, args.script, args.argv, half + 1, half) for _ in range(2)]
            timed = [_result(proc)["one_by_one"] for proc in pair]
            ways["2 processes"] = {
                "seeds": sum(t["seeds"] for t in timed),
                "seconds": max(t["seconds"] for t in timed),
            }
        base = ways["one by one"]["seeds"] / ways["one by one"]["seconds"]
        for way, t in ways.items():
            rate = t["seeds"] / t["seconds"]
            rows.append(
                {
                    "backend": backend,
                    "way": way,
                    "seeds": t["seeds"],
                    "seconds": t["seconds"],
                    "seeds_per_s": rate,
                    "vs_one_by_one": rate / base,
                }
            )
        if "compared" in row:
            compared.append(f"{backend}, seeds trained both ways: " + json.dumps(row["compared"]))
    import pandas as pd

    print(f"{os.cpu_count()} CPUs; {args.script}; flags: {' '.join(args.argv) or 'defaults'}")
    print(pd.DataFrame(rows).set_index(["backend", "way"]).to_string(float_format="{:.3g}".format))
    print("\n".join(compared))


if __name__ == "__main__":
    main()
