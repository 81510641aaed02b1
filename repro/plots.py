"""The PNG of a run: loss per epoch (one curve per seed) and the echo against its targets."""

from __future__ import annotations

from repro.files import write_output


def plot(
    path: str,
    title: str,
    histories: dict,
    predictions,
    targets,
    x_label: str,
    tolerance: float = 0.05,
) -> None:
    """Loss per epoch (log scale; one curve per seed) and prediction vs target, as a PNG; the
    band around the targets is where a prediction reproduces its target."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for seed, history in histories.items():
        left.plot(
            range(1, len(history) + 1),
            history,
            lw=1.2 if len(histories) == 1 else 0.8,
            label=f"seed {seed}",
        )
    left.set_yscale("log")
    left.set(title="Training loss (mean squared error)", xlabel="epoch", ylabel="loss (log scale)")
    left.legend(fontsize="small", ncol=2 if len(histories) > 6 else 1)
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

    def save(f):
        fig.savefig(f, format="png", dpi=80)

    write_output(path, save)
    plt.close(fig)
