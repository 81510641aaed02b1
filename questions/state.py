"""Do samples in a batch share state? Is one-to-one sequential at all? Is many-to-one crippled?

The article's one-to-one model (five samples of one step) trains at its settings; we count, per
matrix and gate, the LSTM weights left exactly where they started. With one step from a zero
state the recurrent kernel multiplies zeros and the forget gate scales a zero cell: no gradient
reaches them (a copy trained with AdamW shows weight decay moving them anyway). Each sample is
predicted alone, in the batch, reversed, and by a stateful=True copy one sample a call, with and
without reset_states(). Then many-to-one (one sample of five steps): which of its weights move?
Look for the weights that never move, and the only outputs that depend on earlier samples.

    python questions/state.py
"""

import numpy as np

import common
import many_to_one
import one_to_one
from repro import lesson, plots
from repro.backend import seed_everything
from repro.training import train

LENGTH = common.ARTICLE_LENGTH  # five samples of one value; five steps for many-to-one
PARTS = ("kernel", "recurrent_kernel", "bias")  # an LSTM's weights, in Keras' order
ROUNDING = 4 * 2.0**-23  # float32 rounding of outputs near 1, summed in another order


def main(argv: list[str] | None = None) -> int:
    with lesson.start(__doc__, argv, epochs=1000, units=5, lr=0.001) as run:
        ## Data: the article's one-to-one framing (5 samples, 1 step), and many-to-one's (1, 5)
        args = run.args
        X, y = common.make_data("one_to_one", LENGTH)
        X5, y5 = common.make_data("many_to_one", LENGTH)

        ## Model: the article's models, from the same seed; one compiled with AdamW instead
        import keras

        seed_everything(args.seed)
        adam = one_to_one.build_model(args.units, args.lr)
        seed_everything(args.seed)  # the same initial weights
        adamw = one_to_one.build_model(args.units, args.lr)
        adamw.compile(loss="mean_squared_error", optimizer=keras.optimizers.AdamW(args.lr))
        seed_everything(args.seed)
        many = many_to_one.build_model(LENGTH, args.units, args.lr)
        models = {"one-to-one, Adam": adam, "one-to-one, AdamW": adamw, "many-to-one, Adam": many}
        before = {name: [w.copy() for w in m.layers[0].get_weights()] for name, m in models.items()}

        ## Train: at the article's settings (each at most --epochs), the whole set in a batch
        one, five = common.ARTICLE["one_to_one"], common.ARTICLE["many_to_one"]
        for model in (adam, adamw):
            train(model, X, y, min(args.epochs, one.epochs), one.batch_size)
        train(many, X5, y5, min(args.epochs, five.epochs), five.batch_size)

        ## Evaluate: per matrix and gate, the weights left exactly as they were (Adam steps
        # about lr a weight whose gradient is not zero: unchanged, it never received one)
        kept = {
            name: unchanged(before[name], m.layers[0].get_weights(), args.units)
            for name, m in models.items()
        }
        # and whether a sample's prediction depends on the samples beside it or before it
        batch = outputs(adam, X)
        alone = np.concatenate([outputs(adam, X[i : i + 1]) for i in range(LENGTH)])
        reverse = outputs(adam, X[::-1])[::-1]
        stateful = stateful_copy(adam, args.units)
        orders = (range(LENGTH), range(LENGTH - 1, -1, -1))
        carried = [one_at_a_time(stateful, X, order) for order in orders]
        reset = [one_at_a_time(stateful, X, order, reset=True) for order in orders]
        differences = {
            "each sample alone vs in the batch": batch - alone,
            "the batch in order vs reversed": batch - reverse,
            "stateful=True, one sample a call: in order vs reversed": carried[0] - carried[1],
            "the same, reset_states() before each sample": reset[0] - reset[1],
        }
        return report(run, kept, {k: float(np.abs(d).max()) for k, d in differences.items()})


def outputs(model, X) -> np.ndarray:
    """The model's predictions for X, one call, as a flat array."""
    import keras

    return keras.ops.convert_to_numpy(model(X, training=False)).ravel().astype("float64")


def unchanged(before: list, after: list, units: int) -> dict:
    """Per (part, gate): (weights exactly as they were, weights). Keras keeps the four gates side
    by side along the last axis of each part."""
    counts = {}
    for part, old, new in zip(PARTS, before, after, strict=True):
        for g, gate in enumerate(common.LSTM_GATES):
            cut = slice(g * units, (g + 1) * units)
            counts[part, gate] = (int(np.sum(new[..., cut] == old[..., cut])), new[..., cut].size)
    return counts


def stateful_copy(model, units: int):
    """The trained model rebuilt with stateful=True and a batch of one: the LSTM's state after
    one call is where the next call starts, until reset_states()."""
    import keras
    from keras import layers

    copy = keras.Sequential(
        [keras.Input(batch_shape=(1, 1, 1)), layers.LSTM(units, stateful=True), layers.Dense(1)]
    )
    copy.set_weights(model.get_weights())
    return copy


def one_at_a_time(model, X, order, reset: bool = False) -> np.ndarray:
    """Each sample's prediction, fed one call a sample in `order`, returned in sample order."""
    out = np.zeros(len(X))
    model.layers[0].reset_states()
    for i in order:
        if reset:
            model.layers[0].reset_states()
        out[i] = outputs(model, X[i : i + 1])[0]
    return out


## Report


def report(run, kept: dict, largest: dict) -> int:
    run.table(
        "LSTM weights left exactly where they started, per matrix and gate",
        [
            {"part": part, "gate": gate, "weights": kept["one-to-one, Adam"][part, gate][1]}
            | {name: counts[part, gate][0] for name, counts in kept.items()}
            for part, gate in kept["one-to-one, Adam"]
        ],
    )
    run.table(
        "Does a sample's prediction depend on the others? (largest |difference|)",
        [{"comparison": k, "difference": v} for k, v in largest.items()],
        {"difference": "{:.1e}"},
    )
    total = {name: sum(k for k, _ in counts.values()) for name, counts in kept.items()}
    cells = kept["one-to-one, Adam"]
    still = {key: k / n for key, (k, n) in cells.items() if k}  # (part, gate): share unchanged
    no_gradient = {key: 1.0 for key in cells if key[0] == "recurrent_kernel" or key[1] == "forget"}
    run.expect(still == no_gradient, "one-to-one: the recurrent kernel and forget gate stay put")
    run.expect(total["one-to-one, AdamW"] == 0, "with AdamW's weight decay every weight moves")
    run.expect(total["many-to-one, Adam"] == 0, "many-to-one: every weight of its LSTM moves")
    alone, reverse, carried, reset = largest.values()
    run.expect(max(alone, reverse) <= ROUNDING, "a sample's output is the same alone or in a batch")
    run.expect(carried > 100 * ROUNDING, "the stateful copy's outputs depend on the order")
    run.expect(reset <= ROUNDING, "reset_states() before each sample: the order does not matter")
    return run.answer(
        "a stateless LSTM starts every sample from zeros: alone, in the batch or reversed, a "
        "sample's output is the same ({same:.0e} apart). One step a sample, {frozen} of "
        "one-to-one's {weights} LSTM weights (recurrent kernel, forget gate) receive no gradient; "
        "AdamW's decay still moves them. Only stateful=True carries state across calls "
        "({carried:.2f} apart). Many-to-one is not crippled: all {weights} move.",
        draw=lambda path: picture(path, kept),
        same=max(alone, reverse),
        frozen=total["one-to-one, Adam"],
        weights=sum(n for _, n in cells.values()),
        carried=carried,
    )


def picture(path: str, kept: dict) -> None:
    """Per run, a grid of matrix x gate: the share of weights left where they started."""
    fig, axes = plots.figure(1, len(kept), height=3.2)
    for ax, (name, counts) in zip(axes, kept.items(), strict=True):
        share = [[counts[p, g][0] / counts[p, g][1] for g in common.LSTM_GATES] for p in PARTS]
        ax.imshow(share, vmin=0, vmax=1, cmap="Greys")
        for i, part in enumerate(PARTS):
            for j, gate in enumerate(common.LSTM_GATES):
                k, n = counts[part, gate]
                color = "white" if share[i][j] > 0.5 else "black"
                ax.text(j, i, f"{k}/{n}", ha="center", va="center", color=color)
        ax.set_xticks(range(4), common.LSTM_GATES, fontsize="small")
        ax.set_yticks(range(len(PARTS)), PARTS if ax is axes[0] else [""] * len(PARTS))
        ax.set_title(f"{name}: {sum(k for k, _ in counts.values())} unchanged", fontsize="medium")
    fig.suptitle("LSTM weights training left exactly where they started (dark: unchanged)")
    plots.save(path, fig)


if __name__ == "__main__":
    from repro.run import run_program

    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
