"""TimeDistributed(Dense(1)) against Dense(1) after LSTM(return_sequences=True), as sequences grow.

For every backend asked for (default: every installed one), a worker process builds
many_to_many_td.py's model with each head from the same seed and the same initial weights, at
each length, trains it twice for --epochs epochs and times: the second run per epoch; building
the model and tracing or compiling its training loop (the first run less its epochs); and one
prediction (after a first call that may trace). It also checks
that the two heads compute the same outputs: the Dense model gets the TimeDistributed model's
trained weights, and the largest |difference| of their predictions is reported.

    python benchmarks/td_vs_dense.py                               # lengths 5 50 200 500 1000
    python benchmarks/td_vs_dense.py --lengths 5 50 --epochs 5      # a quick run
"""

import argparse
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

HEADS = ("timedistributed", "dense")


def measure(backend: str, lengths: list[int], epochs: int, units: int) -> list[dict]:
    """Run in a process of its own: the backend is fixed once keras is imported."""
    os.environ["KERAS_BACKEND"] = backend
    import numpy as np

    import many_to_many_td
    from repro import training
    from repro.backend import import_keras, seed_everything

    import_keras(argparse.Namespace(backend=backend, seed=0, verbose=0))
    rows = []
    for length in lengths:
        X, y = common.make_data("many_to_many", length)
        models, first_weights = {}, None
        for head in HEADS:
            seed_everything(0)
            start = time.perf_counter()
            model = many_to_many_td.build_model(length, units, 0.001, head == "timedistributed")
            if first_weights is None:
                first_weights = model.get_weights()
            model.set_weights(first_weights)  # the same start for both heads
            training.train(model, X, y, epochs, 1)  # traces or compiles the training loop
            first = time.perf_counter() - start
            start = time.perf_counter()
            training.train(model, X, y, epochs, 1)  # the same compiled loop
            per_epoch = (time.perf_counter() - start) / epochs
            training.predict(model, X)  # the first call may trace
            start = time.perf_counter()
            training.predict(model, X)
            predict_s = time.perf_counter() - start
            models[head] = model
            rows.append(
                {
                    "backend": backend,
                    "length": length,
                    "head": head,
                    "build_and_compile_s": max(0.0, first - epochs * per_epoch),
                    "epoch_ms": 1000 * per_epoch,
                    "predict_ms": 1000 * predict_s,
                }
            )
        models["dense"].set_weights(models["timedistributed"].get_weights())
        difference = np.max(
            np.abs(
                training.predict(models["timedistributed"], X)
                - training.predict(models["dense"], X)
            )
        )
        rows[-1]["max_abs_difference"] = rows[-2]["max_abs_difference"] = float(difference)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", nargs="+", choices=tuple(BACKENDS), help="default: installed")
    p.add_argument("--lengths", nargs="+", type=int, default=[5, 50, 200, 500, 1000])
    p.add_argument("--epochs", type=int, default=20, help="epochs timed after the first (20)")
    p.add_argument("--units", type=int, default=10, help="LSTM units (10)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args()
    if min(args.lengths) < 1 or args.epochs < 1 or args.units < 1:
        p.error("lengths, --epochs and --units must be at least 1")
    if args.worker:
        print(json.dumps(measure(args.worker, args.lengths, args.epochs, args.units)))
        return
    rows = []
    for backend in args.backends or installed_backends():
        cmd = [sys.executable, __file__, "--worker", backend, "--epochs", str(args.epochs)]
        cmd += ["--units", str(args.units), "--lengths", *map(str, args.lengths)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        rows += json.loads(out.stdout.strip().splitlines()[-1])
    import pandas as pd

    table = pd.DataFrame(rows).set_index(["backend", "length", "head"])
    epoch = table["epoch_ms"].unstack("head")
    table["epoch_ratio_td_to_dense"] = (
        (epoch["timedistributed"] / epoch["dense"])
        .reindex(table.index.droplevel("head"))
        .to_numpy()
    )
    print(f"{os.cpu_count()} CPUs; --units {args.units}; {args.epochs} timed epochs")
    print(table.to_string(float_format="{:.3g}".format))


if __name__ == "__main__":
    main()
