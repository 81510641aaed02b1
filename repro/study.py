"""The reproduction study: one run over seeds seed .. seed+N-1, tabulated with a 95% interval.

The seeds after the first train in the fastest way measured here (docs/reproduction.md, "Seeds
at scale"): on JAX together, in one vectorized program (repro.seeds); on TensorFlow and PyTorch
one after another, each reusing the first seed's compiled loop.
"""

from __future__ import annotations

import math
import sys

import common
from repro import seeds as many
from repro.backend import seed_everything
from repro.compare import ECHO_TOLERANCE, max_error, reproduced
from repro.training import (
    MAX_SCAN_BATCHES,
    Interrupted,
    TrainingDiverged,
    load_initial_state,
    train,
)

BUDGET_MULTIPLES = (0.5, 1, 1.5, 2, 3)  # of the article's epochs: where the curves are read


def budgets(epochs: int, article_epochs: int) -> list[int]:
    """The training budgets a curve is read at: 0.5x, 1x, 1.5x, 2x and 3x the article's epochs
    up to `epochs`, and `epochs` itself."""
    steps = {int(m * article_epochs) for m in BUDGET_MULTIPLES if 0 < m * article_epochs < epochs}
    return sorted(steps | {epochs})


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def trains_together(args) -> bool:
    """Whether the study's seeds train in one vectorized program: on JAX, with the fast loop,
    when an epoch is one compiled scan (as in training._fit_jax)."""
    samples = common.FRAMINGS[args.script].x_shape(args.length)[0]
    batches = math.ceil(samples / args.batch_size)
    return args.backend == "jax" and args.fit == "fast" and batches <= MAX_SCAN_BATCHES


def at_budgets(
    build,
    X,
    y,
    seeds,
    budgets,
    batch_size=None,
    inputs=None,
    progress=None,
    fit="fast",
    together=None,
):
    """Train a model from each seed once, to the largest of `budgets` (epochs), and predict
    `inputs` (X unless given) after each budget: one run per seed read at checkpoints.

    Each seed is seed_everything(seed), build(), then Adam's updates as model.fit makes them. On
    JAX the seeds train together (one vectorized program); elsewhere (or `together` False) one
    after another, reusing the first model's compiled loop. Returns (loss histories, a list per
    seed; predictions, an array (seeds, budgets, *the model's output)); a seed whose loss
    turns NaN stops there, its predictions NaN from then on."""
    import keras
    import numpy as np

    seeds, budgets = list(seeds), list(budgets)
    progress = progress or (lambda _: None)
    batch_size = batch_size or len(X)
    shown = X if inputs is None else inputs
    batches = math.ceil(len(X) / batch_size)
    can = keras.backend.backend() == "jax" and fit == "fast" and batches <= MAX_SCAN_BATCHES
    if can and len(seeds) >= 2 and together is not False:
        initial = many.InitialWeights(build, seeds[0], seeds[-1])
        if not initial.replayed:
            _progress("note: this Keras draws initial weights differently: building every seed")
        per_seed = _bytes_per_seed(initial.model, X, batch_size)
        chunk = many.seeds_per_chunk(len(seeds), per_seed)
        histories, predictions = many.train_together_jax(
            initial, seeds, X, y, batch_size, budgets, chunk, progress, shown
        )
        out = []
        for history, seen in zip(histories, predictions, strict=True):
            bad = np.flatnonzero(~np.isfinite(history))
            if len(bad):  # as a run of its own: the history ends at the first NaN loss
                history = history[: bad[0] + 1]
                seen[np.searchsorted(budgets, bad[0] + 1) :] = np.nan
            out.append([float(v) for v in history])
        return out, predictions
    model, histories, predictions = None, [], []
    for seed in seeds:
        seed_everything(seed)
        fresh = build()
        if model is None:
            model = fresh
        else:
            load_initial_state(model, fresh)  # as new, without compiling again
        history, seen, done = [], [], 0
        for budget in budgets:
            try:
                if done == len(history):
                    try:
                        history += train(model, X, y, budget - done, batch_size, fit)
                    except Interrupted as e:  # say where in the whole run, not in this stretch
                        raise Interrupted(
                            f"interrupted at epoch {done + e.epoch} of {budgets[-1]} (seed {seed})"
                        ) from None
                    # the model called, not model.predict: predict's tf.data pipeline logs a
                    # harmless C++ error on TensorFlow 2.21 once start-up's filter has gone
                    out = model(keras.ops.convert_to_tensor(shown), training=False)
                    seen.append(np.asarray(keras.ops.convert_to_numpy(out), "float64"))
                else:
                    seen.append(np.full_like(seen[-1], np.nan))
            except TrainingDiverged as e:
                history += e.history
                shape = seen[-1].shape if seen else (len(shown), *np.shape(model(shown[:1]))[1:])
                seen.append(np.full(shape, np.nan))
            done = budget
        histories.append(history)
        predictions.append(np.stack(seen))
        progress(f"seed {seed}: trained to epoch {len(history)}")
    return histories, np.stack(predictions)


def _bytes_per_seed(model, X, batch_size: int) -> int:
    """Rough memory of one seed trained with the others: its weights, gradients and Adam's two
    moments in float32, and one batch's activations kept for backpropagation (8 values per
    step and unit: an LSTM's gates and states), for the widest layer."""
    try:
        width = max(int(layer.output.shape[-1] or 1) for layer in model.layers)
    except (AttributeError, ValueError, TypeError):  # a layer without one output
        width = 64
    steps = X.shape[1] if X.ndim > 2 else 1
    return 16 * model.count_params() + 4 * 8 * batch_size * steps * width


def reproduced_at(predictions, targets, tolerance: float = ECHO_TOLERANCE):
    """Per seed and budget, whether every prediction is within `tolerance` of its target:
    a boolean array (seeds, budgets), from at_budgets' predictions of the echo."""
    import numpy as np

    seeds, budgets = predictions.shape[:2]
    flat = predictions.reshape(seeds, budgets, -1)
    target = np.asarray(targets, "float64").reshape(1, 1, -1)
    return np.all(np.abs(flat - target) < tolerance, axis=-1)


def ci95(k: int, n: int) -> tuple[float, float]:
    """The exact (Clopper-Pearson) 95% interval of k successes in n, from scipy."""
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return float(ci.low), float(ci.high)


def _rounds_to_an_end(p: float) -> bool:
    """Whether p in whole percent would read 0 or 100 without being it: 99.6% is not 100%, which
    would claim every seed (or none) when a thousand seeds cannot."""
    return f"{100 * p:.0f}" in ("0", "100") and p not in (0.0, 1.0)


def interval(low: float, high: float) -> str:
    """The interval in percent, "low-high%": whole numbers, or both bounds with one decimal when
    either needs it (0.0-0.6%, 99.4-100.0%, not 0.0-1% nor 99-100.0%)."""
    digits = 1 if _rounds_to_an_end(low) or _rounds_to_an_end(high) else 0
    return f"{100 * low:.{digits}f}-{100 * high:.{digits}f}%"


def run_study(run, build, quiet: bool = False) -> dict:
    """Train seeds seed..seed+N-1 (each seed_everything(seed), then build()) and summarise them,
    read at every budget up to --epochs (0.5x, 1x, 1.5x, 2x, 3x the article's epochs). Prints a
    line per seed on stderr and the tables on stdout, unless `quiet`."""
    import numpy as np
    import pandas as pd

    args, targets = run.args, run.targets
    seeds = list(range(args.seed, args.seed + args.seeds))
    read_at = budgets(args.epochs, common.ARTICLE[args.script].epochs)
    together = trains_together(args) and len(seeds) >= 2
    progress = (lambda _: None) if quiet else _progress
    histories, seen = at_budgets(
        build, run.X, run.y, seeds, read_at, args.batch_size, progress=progress, fit=args.fit
    )
    way = "together (jax.vmap)" if together else "one by one"
    results = []
    for seed, history, at in zip(seeds, histories, seen, strict=True):
        predictions = run.in_user_units(at[-1].ravel())
        diverged = not math.isfinite(history[-1]) or len(history) < args.epochs
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
    user = np.stack(
        [[run.in_user_units(at.ravel()) for at in s.reshape(len(read_at), -1)] for s in seen]
    )
    rates = reproduced_at(user, targets, run.tolerance).sum(axis=0)
    by_budget = []
    for epochs, k in zip(read_at, rates, strict=True):
        low, high = ci95(int(k), args.seeds)
        by_budget.append(
            {"epochs": epochs, "reproduced": int(k), "n": args.seeds, "ci95": [low, high]}
        )
    table = pd.DataFrame(results).drop(columns=["history", "predictions"]).set_index("seed")
    k = int(table["reproduced"].sum())
    low, high = ci95(k, args.seeds)
    summary = f"reproduced in {k}/{args.seeds} seeds (95% CI {interval(low, high)})"
    if not quiet:
        print(f"\nReproduction study: {args.seeds} seeds from --seed {args.seed}")
        if args.seeds <= 20:
            print(
                table.to_string(
                    formatters={"final_loss": "{:.3g}".format, "max_abs_error": "{:.3f}".format}
                )
            )
        print("\nSeeds reproduced by training budget (one run per seed, read at each):")
        for b in by_budget:
            print(
                f"  {b['epochs']:>7} epochs  {b['reproduced']}/{b['n']}  "
                f"(95% CI {interval(*b['ci95'])})"
            )
        curve = ", ".join(f"{b['reproduced']}/{b['n']} at {b['epochs']}" for b in by_budget)
        print(f"Seeds reproduced: {curve} epochs")
    return {
        "seeds": results,
        "reproduced": k,
        "n": args.seeds,
        "ci95": [low, high],
        "by_budget": by_budget,
        "trained": way,
        "median_final_loss": float(table["final_loss"].median()),
        "summary": summary,
    }


def first_budget(budgets, counts, n: int, share: float = 0.95):
    """The first budget at which at least `share` of the n seeds reproduce, or None."""
    return next((b for b, k in zip(budgets, counts, strict=True) if k >= share * n), None)


def rate_rows(budgets, counts: dict, n: int) -> list[dict]:
    """A table: a row per budget, a column per model with its seeds reproduced (k/n)."""
    return [
        {"epochs": b, **{name: f"{k[i]}/{n}" for name, k in counts.items()}}
        for i, b in enumerate(budgets)
    ]
