"""Time plain model.fit against the fast loop, side by side, for each script's configuration.

For every backend asked for (default: every installed one) a worker process trains each script's
model twice from the same seed, once with plain `model.fit(X, y, epochs=E, batch_size=B)` and once
with the fast loop, and reports both times, their ratio and whether the loss histories agree
(rtol 1e-5). With --wall it also times each script end to end (`python SCRIPT --verbose 0`), which
includes importing the backend.

    python benchmarks/fit_speed.py                  # all installed backends, article settings
    python benchmarks/fit_speed.py --backends tensorflow --epochs 200
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import common
from repro import cli, training
from repro.backend import BACKENDS, import_keras, seed_everything

ROOT = Path(__file__).resolve().parent.parent

MODULES = common.SCRIPT_MODULES


def naive_and_fast(backend: str, epochs: int | None) -> list[dict]:
    """Each script's model trained with plain fit and with the fast loop, from the same seed.

    Run it in a process of its own: the backend is fixed once keras is imported."""
    import importlib

    import numpy as np

    rows = []
    for script, name in MODULES.items():
        module = importlib.import_module(name)
        args = cli.parse_args(
            script,
            ["--backend", backend, "--verbose", "0"]
            + (["--epochs", str(epochs)] if epochs else []),
            getattr(module, "add_arguments", None),
        )
        import_keras(args)
        build = module.build_model  # the article's sizes, by its defaults
        X, y = common.make_data(script, args.length)
        times, histories = {}, {}
        for fit in ("naive", "fast"):
            seed_everything(args.seed)
            model = build()
            start = time.perf_counter()
            histories[fit] = training.train(model, X, y, args.epochs, args.batch_size, fit)
            times[fit] = time.perf_counter() - start
        same = bool(np.allclose(histories["fast"], histories["naive"], rtol=1e-5, atol=0))
        rows.append(
            {
                "backend": backend,
                "script": script,
                "epochs": args.epochs,
                "naive_s": times["naive"],
                "fast_s": times["fast"],
                "ratio": times["naive"] / times["fast"],
                "same_history": same,
            }
        )
    return rows


def wall_time(backend: str, script: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(ROOT / f"{MODULES[script]}.py"),
            "--backend",
            backend,
            "--verbose",
            "0",
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def installed_backends() -> list[str]:
    import importlib.util

    return [b for b, package in BACKENDS.items() if importlib.util.find_spec(package)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--backends",
        nargs="+",
        choices=tuple(BACKENDS),
        help="backends to measure (default: every installed one)",
    )
    p.add_argument("--epochs", type=int, help="override the article's epochs (default: theirs)")
    p.add_argument("--wall", action="store_true", help="also time each script end to end")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(naive_and_fast(args.worker, args.epochs)))
        return
    rows = []
    for backend in args.backends or installed_backends():
        cmd = [sys.executable, __file__, "--worker", backend]
        if args.epochs:
            cmd += ["--epochs", str(args.epochs)]
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
        rows += json.loads(out.stdout.strip().splitlines()[-1])
        if args.wall:
            for row in rows[-len(MODULES) :]:
                row["wall_s"] = wall_time(backend, row["script"])
    import pandas as pd

    table = pd.DataFrame(rows).set_index(["backend", "script"])
    print(f"{os.cpu_count()} CPUs; " + ", ".join(f"{k} {v}" for k, v in common_versions().items()))
    print(table.to_string(float_format="{:.2f}".format))


def common_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": sys.version.split()[0]}
    for package in ("keras", "numpy", "tensorflow", "jax", "torch"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    return found


if __name__ == "__main__":
    main()
