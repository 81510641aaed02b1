"""The reproduction study: one run over seeds seed .. seed+N-1, tabulated with a 95% interval.

The seeds after the first train in the fastest way measured here (docs/reproduction.md, "Seeds
at scale"): on JAX together, in one vectorized program (repro.seeds); on TensorFlow and PyTorch
one after another, each reusing the first seed's compiled loop.
"""

from __future__ import annotations

import itertools
import math
import sys

import common
from repro import seeds as many
from repro.backend import seed_everything
from repro.cli import estimate_memory
from repro.compare import max_error, reproduced
from repro.training import (
    MAX_SCAN_BATCHES,
    TrainingDiverged,
    load_initial_state,
    predict,
    train,
)


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def trains_together(args) -> bool:
    """Whether the study's seeds train in one vectorized program: on JAX, with the fast loop,
    when an epoch is one compiled scan (as in training._fit_jax)."""
    samples = common.FRAMINGS[args.script].x_shape(args.length)[0]
    batches = math.ceil(samples / args.batch_size)
    return args.backend == "jax" and args.fit == "fast" and batches <= MAX_SCAN_BATCHES


def train_one_by_one(run, build_model, seeds):
    """Each seed in turn: its own initial weights, the compiled loop of run.model reused."""
    args, model = run.args, run.model
    for seed in seeds:
        seed_everything(seed)
        load_initial_state(model, build_model(args))  # as new, without compiling again
        try:
            history = train(model, run.X, run.y, args.epochs, args.batch_size, args.fit)
            predictions = predict(model, run.X, args.batch_size)
        except TrainingDiverged as e:
            history, predictions = e.history, [math.nan] * len(run.targets)
        yield seed, history, predictions


def train_together(run, build_model, seeds, progress=_progress):
    """All seeds in vectorized chunks on JAX; a seed whose loss turns NaN stops there."""
    import numpy as np

    args = run.args
    initial = many.InitialWeights(build_model, args, seeds[0], seeds[-1])
    if not initial.replayed:
        _progress("note: this Keras draws initial weights differently: building every seed")
    chunk = many.seeds_per_chunk(len(seeds), estimate_memory(args.script, args.length, args.units))
    histories, predictions = many.train_together_jax(
        initial, seeds, run.X, run.y, args.batch_size, args.epochs, chunk, progress
    )
    for seed, history, prediction in zip(seeds, histories, predictions, strict=True):
        bad = np.flatnonzero(~np.isfinite(history))
        if len(bad):  # as a run of its own: the history ends at the first NaN loss
            history, prediction = history[: bad[0] + 1], [math.nan] * len(prediction)
        yield seed, [float(v) for v in history], prediction


def _rounds_to_an_end(p: float) -> bool:
    """Whether p in whole percent would read 0 or 100 without being it: 99.6% is not 100%, which
    would claim every seed (or none) when a thousand seeds cannot."""
    return f"{100 * p:.0f}" in ("0", "100") and p not in (0.0, 1.0)


def interval(low: float, high: float) -> str:
    """The interval in percent, "low-high%": whole numbers, or both bounds with one decimal when
    either needs it (0.0-0.6%, 99.4-100.0%, not 0.0-1% nor 99-100.0%)."""
    digits = 1 if _rounds_to_an_end(low) or _rounds_to_an_end(high) else 0
    return f"{100 * low:.{digits}f}-{100 * high:.{digits}f}%"


def run_study(run, build_model, quiet: bool = False) -> dict:
    """Train seeds seed..seed+N-1 and summarise them. The first seed is `run`, already trained;
    each other one starts from the weights build_model(args) makes under its seed. Prints a
    line per seed on stderr and the table on stdout, unless `quiet` (a script that runs several
    studies and prints its own table)."""
    import pandas as pd
    from scipy.stats import binomtest

    args, targets = run.args, run.targets
    others = list(range(args.seed + 1, args.seed + args.seeds))
    together = trains_together(args) and len(others) >= 2  # replay: learnt on one, checked on one
    if together:
        progress = (lambda _: None) if quiet else _progress
        trained, way = train_together(run, build_model, others, progress), "together (jax.vmap)"
    else:  # TensorFlow, PyTorch: a second process paid only in long studies (docs/reproduction.md)
        trained, way = train_one_by_one(run, build_model, others), "one by one"
    results = []
    first = [(args.seed, run.history, run.scaled_predictions)]
    for k, (seed, history, predictions) in enumerate(itertools.chain(first, trained)):
        predictions = run.in_user_units(predictions)
        diverged = not math.isfinite(history[-1])
        results.append(
            {
                "seed": seed,
                "final_loss": history[-1],
                "max_abs_error": math.nan if diverged else max_error(predictions, targets),
                "reproduced": not diverged and reproduced(predictions, targets, run.tolerance),
                "predictions": [float(p) for p in predictions],
                "history": history,
            }
        )
        r = results[-1]
        if not quiet and (not together or k == 0):  # together, the chunks report as they go
            _progress(
                f"seed {k + 1}/{args.seeds} (--seed {seed}): "
                f"{'reproduced' if r['reproduced'] else 'not reproduced'}, "
                f"max error {r['max_abs_error']:.3f}"
            )
    table = pd.DataFrame(results).drop(columns=["history", "predictions"]).set_index("seed")
    k = int(table["reproduced"].sum())
    ci = binomtest(k, args.seeds).proportion_ci(confidence_level=0.95, method="exact")
    summary = f"reproduced in {k}/{args.seeds} seeds (95% CI {interval(ci.low, ci.high)})"
    if not quiet:
        first = f"--seed {args.seed}, {args.epochs} epochs"
        print(f"\nReproduction study: {args.seeds} seeds from {first}")
        print(
            table.to_string(
                formatters={"final_loss": "{:.3g}".format, "max_abs_error": "{:.3f}".format}
            )
        )
        print(summary)
    return {
        "seeds": results,
        "reproduced": k,
        "n": args.seeds,
        "ci95": [ci.low, ci.high],
        "trained": way,
        "median_final_loss": float(table["final_loss"].median()),
        "summary": summary,
    }
