"""The reproduction study: one run over seeds seed .. seed+N-1, tabulated with a 95% interval."""

from __future__ import annotations

import sys

from repro.backend import seed_everything
from repro.compare import max_error, reproduced
from repro.training import fit_and_predict, load_initial_state


def run_study(run, build_model) -> dict:
    """Train seeds seed..seed+N-1 and summarise them. The first seed is `run`, already trained;
    each other one starts from the weights build_model(args) makes under its seed, and reuses the
    training loop that run.model has already compiled."""
    import pandas as pd
    from scipy.stats import binomtest

    args, model, targets = run.args, run.model, run.targets
    results = []
    for k in range(args.seeds):
        seed = args.seed + k
        if k == 0:
            history, predictions = run.history, run.predictions
        else:
            seed_everything(seed)
            load_initial_state(model, build_model(args))  # as new, without compiling again
            history, predictions = fit_and_predict(args, model, run.X, run.y, verbose=0)
            predictions = run.in_user_units(predictions)
        results.append(
            {
                "seed": seed,
                "final_loss": history[-1],
                "max_abs_error": max_error(predictions, targets),
                "reproduced": reproduced(predictions, targets, run.tolerance),
                "predictions": [float(p) for p in predictions],
                "history": history,
            }
        )
        r = results[-1]
        print(
            f"seed {k + 1}/{args.seeds} (--seed {seed}): "
            f"{'reproduced' if r['reproduced'] else 'not reproduced'}, "
            f"max error {r['max_abs_error']:.3f}",
            file=sys.stderr,
            flush=True,
        )
    table = pd.DataFrame(results).drop(columns=["history", "predictions"]).set_index("seed")
    k = int(table["reproduced"].sum())
    ci = binomtest(k, args.seeds).proportion_ci(confidence_level=0.95, method="exact")
    print(f"\nReproduction study: {args.seeds} seeds from --seed {args.seed}, {args.epochs} epochs")
    print(
        table.to_string(
            formatters={"final_loss": "{:.3g}".format, "max_abs_error": "{:.3f}".format}
        )
    )
    summary = (
        f"reproduced in {k}/{args.seeds} seeds (95% CI {100 * ci.low:.0f}-{100 * ci.high:.0f}%)"
    )
    print(summary)
    return {
        "seeds": results,
        "reproduced": k,
        "n": args.seeds,
        "ci95": [ci.low, ci.high],
        "summary": summary,
    }
