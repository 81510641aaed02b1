"""The reproduction study: one run over seeds seed .. seed+N-1, tabulated with a 95% interval.

The seeds after the first train in the fastest way measured here (docs/reproduction.md, "Seeds
at scale"): on JAX together, in one vectorized program (repro.seeds); on TensorFlow and PyTorch
one after another reusing the compiled loop, in two processes at once when that pays
(repro.helper).
"""

from __future__ import annotations

import inspect
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

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


HELPER_START_S = 8.0  # a helper's import of Keras and first compiled loop, measured here


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def trains_in_two_processes(args, others: int, seconds_per_seed: float) -> bool:
    """Whether some seeds go to a second process: on TensorFlow and PyTorch (their loops use
    about one core), given a second core, when the seeds take long enough one by one that a
    helper, which must import Keras and compile its loop again, saves time."""
    return (
        args.backend in ("tensorflow", "torch")
        and usable_cores() >= 2
        and others >= 4
        and others * seconds_per_seed > 3 * HELPER_START_S
    )


def train_in_two_processes(run, build_model, seeds, seconds_per_seed: float):
    """The first seeds here, one by one; the others in repro.helper at the same time. This
    process takes more, as many as it can train while the helper starts, so both end together."""
    ahead = HELPER_START_S / max(seconds_per_seed, 1e-3)
    mine = min(len(seeds) - 1, max(1, round((len(seeds) + ahead) / 2)))
    mine, theirs = seeds[:mine], seeds[mine:]
    settings = {k: v for k, v in vars(run.args).items() if k not in ("scaling", "stdout")}
    where = [inspect.getfile(build_model), build_model.__name__]  # the study's model, not a guess
    if run.args.sequence is not None:
        settings["sequence"] = [float(v) for v in run.args.sequence]
    _progress(f"seeds {theirs[0]}-{theirs[-1]} train in a second process at the same time")
    with tempfile.TemporaryFile() as output:  # a file: a pipe would fill and stall the helper
        helper = subprocess.Popen(
            [sys.executable, "-m", "repro.helper"],
            stdin=subprocess.PIPE,
            stdout=output,
            cwd=Path(__file__).resolve().parent.parent,
            text=True,
        )
        try:
            data = [run.X.tolist(), run.y.tolist()]  # as framed for this model
            job = {"args": settings, "seeds": theirs, "build_model": where, "data": data}
            helper.stdin.write(json.dumps(job))
            helper.stdin.close()
            yield from train_one_by_one(run, build_model, mine)
            if helper.wait() != 0:
                raise SystemExit(
                    f"error: the study's second process failed (status {helper.returncode})"
                )
            output.seek(0)
            for line in output.read().decode().splitlines():
                yield tuple(json.loads(line))
        finally:
            if helper.poll() is None:
                helper.kill()
                helper.wait()


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


def percent(p: float) -> str:
    """A bound of the interval in percent: whole numbers, but 99.6 is not rounded up to 100 nor
    0.4 down to 0, which would claim every seed (or none) when a thousand seeds cannot."""
    text = f"{100 * p:.0f}"
    return f"{100 * p:.1f}" if text in ("0", "100") and p not in (0.0, 1.0) else text


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
    elif trains_in_two_processes(args, len(others), run.seconds.get("fit", 0.0)):
        trained = train_in_two_processes(run, build_model, others, run.seconds["fit"])
        way = "one by one, 2 processes"
    else:
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
    summary = f"reproduced in {k}/{args.seeds} seeds (95% CI {percent(ci.low)}-{percent(ci.high)}%)"
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
