"""The PNG of a run: loss per epoch (one curve per seed) and the echo against its targets; with
many seeds, the distribution of each seed's largest error in place of the loss curves. And the
two calls every question's own picture is drawn between: figure() and save()."""

from __future__ import annotations

import math

from repro.files import write_output

MANY_CURVES = 20  # more seeds than this: a histogram of their errors, not a curve each


def plot(
    path: str,
    title: str,
    histories: dict,
    predictions,
    targets,
    x_label: str,
    tolerance: float = 0.05,
    errors: list | None = None,
    by_budget: list | None = None,
) -> None:
    """Loss per epoch (log scale; one curve per seed) and prediction vs target, as a PNG; the
    band around the targets is where a prediction reproduces its target. With more than
    MANY_CURVES seeds, the left panel is a histogram of `errors` (each seed's largest error)."""
    fig, (left, right) = figure(1, 2)
    if by_budget and len(by_budget) > 1:
        _rates(left, by_budget)
    elif errors is not None and len(errors) > MANY_CURVES:
        _histogram(left, errors, tolerance)
    else:
        _curves(left, histories)
    steps = list(range(1, len(targets) + 1))
    right.fill_between(
        steps,
        targets - tolerance,
        targets + tolerance,
        color="tab:blue",
        alpha=0.12,
        label="reproduces the target" if tolerance != 0.05 else "prints as the target with '%.1f'",
    )
    right.plot(steps, targets, "o-", label="target (the input, echoed)")
    right.plot(steps, predictions, "x--", label=f"prediction (seed {next(iter(histories))})")
    right.set(title="Echo after training", xlabel=x_label, ylabel="value")
    if len(steps) <= 20:
        right.set_xticks(steps)
    right.legend(fontsize="small")
    fig.suptitle(title)

    save(path, fig)


def figure(rows: int = 1, columns: int = 1, height: float = 4.0):
    """A new matplotlib figure and its axes, as wide as every picture of the suite (10 x
    `height` inches at 80 dpi: 800 pixels, the README's width), drawn without a display."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    return plt.subplots(rows, columns, figsize=(10, height), constrained_layout=True)


def save(path: str, fig) -> None:
    """Write `fig` as a PNG to `path` (whole or not at all, see repro.files), then free it."""
    import matplotlib.pyplot as plt

    try:
        write_output(path, lambda f: fig.savefig(f, format="png", dpi=80), flag="--plot")
    finally:
        plt.close(fig)


def _curves(ax, histories: dict) -> None:
    for seed, history in histories.items():
        ax.plot(
            range(1, len(history) + 1),
            history,
            lw=1.2 if len(histories) == 1 else 0.8,
            label=f"seed {seed}",
        )
    ax.set_yscale("log")
    ax.set(title="Training loss (mean squared error)", xlabel="epoch", ylabel="loss (log scale)")
    ax.legend(fontsize="small", ncol=2 if len(histories) > 6 else 1)


def _rates(ax, by_budget: list) -> None:
    """A study's share of seeds reproduced at each training budget, with its 95% interval."""
    epochs = [b["epochs"] for b in by_budget]
    share = [100 * b["reproduced"] / b["n"] for b in by_budget]
    ax.plot(epochs, share, "o-")
    low, high = ([100 * b["ci95"][i] for b in by_budget] for i in (0, 1))
    ax.fill_between(epochs, low, high, alpha=0.15)
    for x, s, b in zip(epochs, share, by_budget, strict=True):
        ax.annotate(
            f"{b['reproduced']}/{b['n']}",
            (x, s),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            fontsize="small",
        )
    ax.set(
        title="Seeds that reproduce, by training budget",
        xlabel="epochs (each seed read at every budget)",
        ylabel="seeds reproduced (%)",
        ylim=(-5, 110),
        xticks=epochs,
    )


def _histogram(ax, errors: list, tolerance: float) -> None:
    """How far each seed's worst prediction lands from its target, and where reproducing ends."""
    finite = [e for e in errors if math.isfinite(e)]
    diverged = len(errors) - len(finite)
    ax.hist(finite, bins=40, color="tab:gray")
    ax.axvline(tolerance, color="tab:red", ls="--", label=f"{tolerance:g}: reproduces to the left")
    inside = sum(e < tolerance for e in finite)
    ax.set(
        title=f"Largest error per seed: {inside} of {len(errors)} seeds reproduce",
        xlabel="max |prediction - target| of a seed"
        + (f" ({diverged} diverged, not shown)" if diverged else ""),
        ylabel="seeds",
    )
    ax.legend(fontsize="small")


def budget_curves(path: str, title: str, budgets, curves: dict, ylabel: str, marks=None) -> None:
    """One line per model over the training budgets (epochs): `curves` maps a label to its
    values, or to (values, lows, highs) for a band; `marks` (epochs -> label) draws dashed
    lines at budgets worth naming, such as the article's epochs."""
    fig, ax = figure(height=3.8)
    for label, curve in curves.items():
        values, *band = curve if isinstance(curve, tuple) else (curve,)
        line = ax.plot(budgets, values, "o-", label=label)[0]
        if band:
            ax.fill_between(budgets, band[0], band[1], color=line.get_color(), alpha=0.12)
    for epochs, label in (marks or {}).items():
        ax.axvline(epochs, color="gray", ls="--", lw=1)
        ax.annotate(
            label,
            (epochs, 0.02),
            xycoords=("data", "axes fraction"),
            rotation=90,
            ha="right",
            va="bottom",
            fontsize="small",
            color="gray",
        )
    ax.set(
        xlabel="training budget (epochs; one run per seed, read at each)",
        ylabel=ylabel,
        title=title,
        xticks=list(budgets),
    )
    ax.legend(fontsize="small")
    save(path, fig)
