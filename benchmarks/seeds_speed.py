"""Seeds per second in a reproduction study: one by one against together, per backend.

For every backend asked for (default: every installed one), a worker process times
repro.study.at_budgets training the article's model from many seeds:
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


def measure(backend: str, script: str, argv: list[str], seeds: int, one_by_one: int) -> dict:
    """Run in a process of its own (the backend is fixed once keras is imported)."""
    import numpy as np

    from repro import study
    from repro.backend import import_keras
    from repro.compare import reproduced

    epochs = int(argv[argv.index("--epochs") + 1]) if "--epochs" in argv else None
    epochs = epochs or common.ARTICLE[script].epochs
    import_keras(argparse.Namespace(backend=backend, seed=1, verbose=0))
    module = importlib.import_module(common.SCRIPT_MODULES[script])
    build = module.build_model  # the article's sizes, by its defaults
    X, y = common.make_data(script, common.ARTICLE_LENGTH)
    batch = common.ARTICLE[script].batch_size
    targets = y.ravel()
    row = {"backend": backend, "script": script, "epochs": epochs}
    start = time.perf_counter()
    h1, p1 = study.at_budgets(
        build, X, y, range(1, 1 + one_by_one), [epochs], batch, together=False
    )
    row["one_by_one"] = {"seeds": one_by_one, "seconds": time.perf_counter() - start}
    if backend != "jax":
        return row
    start = time.perf_counter()
    h2, p2 = study.at_budgets(build, X, y, range(1, 1 + seeds), [epochs], batch)
    row["together"] = {"seeds": seeds, "seconds": time.perf_counter() - start}
    rel, abs_, verdicts = 0.0, 0.0, 0
    for a, b, x, z in zip(h1, h2, p1, p2, strict=False):
        a, b = np.asarray(a), np.asarray(b)
        rel = max(rel, float(np.max(np.abs(a - b) / np.abs(a))))
        abs_ = max(abs_, float(np.max(np.abs(x - z))))
        verdicts += reproduced(x.ravel(), targets) != reproduced(z.ravel(), targets)
    row["compared"] = {
        "seeds": one_by_one,
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
