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
) -> None:
    """Loss per epoch (log scale; one curve per seed) and prediction vs target, as a PNG; the
    band around the targets is where a prediction reproduces its target. With more than
    MANY_CURVES seeds, the left panel is a histogram of `errors` (each seed's largest error)."""
    fig, (left, right) = figure(1, 2)
    if errors is not None and len(errors) > MANY_CURVES:
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
