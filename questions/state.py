"""Do the samples in a batch share state? How is the one-to-one model sequential at all?

Trains the article's one-to-one model (one_to_one.build_model, the article's settings), then
measures three things. Which LSTM weights training never moved: with one time step and a zero
initial state, the recurrent kernel multiplies a zero state and the forget gate scales a zero cell,
so their gradients are exactly zero and Adam leaves them where they started. Whether a sample's
prediction depends on the others in its batch: each sample alone, in the batch of five, and in
reverse order. And what stateful=True changes: a copy of the trained model with a batch of one,
fed the five samples in order and in reverse, without and with reset_states() between them.

    python questions/state.py           # the article's one-to-one model and settings
    python questions/state.py --help    # the article scripts' flags

Expected: 110 of the LSTM's 140 weights unchanged (the recurrent kernel's largest change 0.0), no
difference between a sample alone and in a batch beyond float32 rounding, and a clear difference
with stateful=True until the state is reset.
"""

import numpy as np

import common
import many_to_one
import one_to_one
from repro import plots, training
from repro.backend import seed_everything
from repro.run import Run, conclude, echo_record, run_program, start

QUESTION = __doc__.splitlines()[0]
SECTION = "one_to_one"
PROG = "questions/state.py"
PARTS = ("kernel", "recurrent_kernel", "bias")  # an LSTM's weights, in Keras' order
ROUNDING = 4 * 2.0**-23  # float32 rounding of outputs near 1, summed in another order


## Model: the article's one-to-one model, and a stateful copy of it


def stateful_copy(model, units: int):
    """The trained model rebuilt with stateful=True and a batch of one: the LSTM's state after
    one call is where the next call starts, until reset_states()."""
    import keras
    from keras import layers

    copy = keras.Sequential(
        [
            keras.Input(batch_shape=(1, 1, 1)),
            layers.LSTM(units, stateful=True),
            layers.Dense(1),
        ]
    )
    copy.set_weights(model.get_weights())
    return copy


## Evaluate: the weights that never moved, and what each sample's prediction depends on


def untouched(before: list, after: list, units: int) -> list[dict]:
    """Per part and gate: how many weights training left exactly as they were, and the largest
    change. Keras keeps the four gates side by side along the last axis of each part."""
    rows = []
    for part, old, new in zip(PARTS, before, after, strict=True):
        for g, gate in enumerate(common.LSTM_GATES):
            cut = slice(g * units, (g + 1) * units)
            change = np.abs(new[..., cut] - old[..., cut])
            rows.append(
                {
                    "part": part,
                    "gate": gate,
                    "weights": int(change.size),
                    "unchanged": int(np.sum(change == 0)),
                    "max_change": float(change.max()),
                }
            )
    return rows


def one_at_a_time(model, X, order, reset: bool) -> np.ndarray:
    """Each sample's prediction, fed one call per sample in `order`; returned in sample order."""
    import keras

    out = np.zeros(len(X))
    model.layers[0].reset_states()
    for i in order:
        if reset:
            model.layers[0].reset_states()
        out[i] = float(keras.ops.convert_to_numpy(model(X[i : i + 1], training=False))[0, 0])
    return out


def measure(model, X, before: list) -> dict:
    """The question's figures for the trained one-to-one `model` and its initial LSTM weights."""
    lstm = model.layers[0]
    units = lstm.units
    parts = untouched(before, lstm.get_weights(), units)
    batch = model.predict(X, batch_size=len(X), verbose=0).ravel()
    alone = np.array(
        [model.predict(X[i : i + 1], batch_size=1, verbose=0)[0, 0] for i in range(len(X))]
    )
    reverse = model.predict(X[::-1], batch_size=len(X), verbose=0).ravel()[::-1]
    stateful = stateful_copy(model, units)
    forward, backward = range(len(X)), range(len(X) - 1, -1, -1)
    carried = [one_at_a_time(stateful, X, order, reset=False) for order in (forward, backward)]
    reset = [one_at_a_time(stateful, X, order, reset=True) for order in (forward, backward)]
    recurrent = [r for r in parts if r["part"] == "recurrent_kernel"]
    return {
        "parts": parts,
        "untouched_weights": sum(r["unchanged"] for r in parts),
        "lstm_weights": sum(r["weights"] for r in parts),
        "recurrent_kernel_max_change": max(r["max_change"] for r in recurrent),
        "batch_vs_alone_max_difference": float(np.max(np.abs(batch - alone))),
        "stateless_order_max_difference": float(np.max(np.abs(batch - reverse))),
        "stateful_order_max_difference": float(np.max(np.abs(carried[0] - carried[1]))),
        "stateful_reset_order_max_difference": float(np.max(np.abs(reset[0] - reset[1]))),
        "stateful_reset_vs_alone_max_difference": float(np.max(np.abs(reset[0] - alone))),
    }


def many_to_one_moved(args) -> dict:
    """The article's many-to-one model, trained as many_to_one.py trains it from the same seed:
    which of its LSTM weights moved. Five steps a sample: after the first step the state is no
    longer zero, so the recurrent kernel and the forget gate get gradients too."""
    section = common.ARTICLE["many_to_one"]
    X, y = common.make_data("many_to_one", args.length, args.sequence)
    seed_everything(args.seed)
    model = many_to_one.build_model(args)
    before = [w.copy() for w in model.layers[0].get_weights()]
    training.train(model, X, y, section.epochs, section.batch_size, args.fit)
    parts = untouched(before, model.layers[0].get_weights(), args.units)
    recurrent = [r for r in parts if r["part"] == "recurrent_kernel"]
    return {
        "steps": args.length,
        "epochs": section.epochs,
        "parts": parts,
        "untouched_weights": sum(r["unchanged"] for r in parts),
        "recurrent_kernel_max_change": max(r["max_change"] for r in recurrent),
    }


def main(argv: list[str] | None = None) -> int:
    """Run with these command-line arguments (none: the article's settings); the exit status."""
    with start(SECTION, argv, prog=PROG, description=QUESTION) as args:
        ## Data: the article's one-to-one framing, five samples of one step each
        seq = common.echo_sequence(args.length) if args.sequence is None else args.sequence
        X, y = seq.reshape(len(seq), 1, 1), seq.reshape(len(seq), 1)

        ## Train: the article's model, as one_to_one.py trains it
        run = Run(args, X, y)
        model = one_to_one.build_model(args)
        before = [w.copy() for w in model.layers[0].get_weights()]
        run.fit(model, X, y, epochs=args.epochs, batch_size=args.batch_size, verbose=args.verbose)
        result = model.predict(X, batch_size=args.batch_size, verbose=0)
        common.print_predictions(run.predicted(result), run.digits)

        ## Evaluate
        figures = measure(model, X, before)
        figures["many_to_one"] = many_to_one_moved(args)
        record = echo_record(run, one_to_one.build_model)
        answer = report(figures)
        draw = picture(figures)  # draw(path), with --plot
        return conclude(args, answer, {**record, **figures}, failed(figures), draw, run.seconds)


## Report


def report(m: dict) -> str:
    """Print the figures' tables; return the answer they give."""
    print("\nLSTM weights that training never moved (one step per sample, zero initial state):")
    common.print_table(
        ["part", "gate", "unchanged", "largest change"],
        [
            [r["part"], r["gate"], f"{r['unchanged']}/{r['weights']}", f"{r['max_change']:.3g}"]
            for r in m["parts"]
        ],
    )
    print(
        f"  {m['untouched_weights']} of {m['lstm_weights']} unchanged; the recurrent kernel's "
        f"largest change {m['recurrent_kernel_max_change']}"
    )
    print("\nDoes a sample's prediction depend on the others? (largest |difference|)")
    rows = [
        ("each sample alone vs in the batch", "batch_vs_alone_max_difference"),
        ("the batch in order vs in reverse order", "stateless_order_max_difference"),
        ("stateful=True, batch of 1: in order vs in reverse", "stateful_order_max_difference"),
        ("the same, reset_states() before each sample", "stateful_reset_order_max_difference"),
    ]
    common.print_table(["comparison", "difference"], [[t, f"{m[k]:.1e}"] for t, k in rows])
    many = m["many_to_one"]
    print(
        f"\nThe many-to-one LSTM (one sample of {many['steps']} steps, {many['epochs']} epochs, "
        "the same seed): weights training never moved"
    )
    common.print_table(
        ["part", "one-to-one unchanged", "many-to-one unchanged", "many-to-one largest change"],
        [
            [
                part,
                *(
                    f"{sum(r['unchanged'] for r in rows if r['part'] == part)}/"
                    f"{sum(r['weights'] for r in rows if r['part'] == part)}"
                    for rows in (m["parts"], many["parts"])
                ),
                f"{max(r['max_change'] for r in many['parts'] if r['part'] == part):.3g}",
            ]
            for part in PARTS
        ],
    )
    return (
        "Answer: a stateless LSTM starts every sample from a zero state, so samples in a batch "
        "share nothing; with one step per sample the recurrent weights are never used and the "
        f"LSTM is a small feed-forward network ({m['untouched_weights']} of its "
        f"{m['lstm_weights']} weights never train). State carries from one call to the next only "
        "with stateful=True, until reset_states(). The many-to-one LSTM is not crippled: over "
        f"its {many['steps']} steps {m['lstm_weights'] - many['untouched_weights']} of its "
        f"{m['lstm_weights']} weights train (the recurrent kernel's largest change "
        f"{many['recurrent_kernel_max_change']:.2g})."
    )


def picture(m: dict):
    """draw(path): which LSTM weights never moved, per matrix and gate, in one-to-one and in
    many-to-one (the share unchanged, and the count)."""

    def draw(path: str) -> None:
        fig, axes = plots.figure(1, 2, height=3.2)
        many = m["many_to_one"]
        runs = [("one-to-one (1 step)", m["parts"])]
        runs.append((f"many-to-one ({many['steps']} steps)", many["parts"]))
        for ax, (name, parts) in zip(axes, runs, strict=True):
            cell = {(r["part"], r["gate"]): r for r in parts}
            share = [
                [cell[p, g]["unchanged"] / cell[p, g]["weights"] for g in common.LSTM_GATES]
                for p in PARTS
            ]
            ax.imshow(share, vmin=0, vmax=1, cmap="Greys")
            for i, part in enumerate(PARTS):
                for j, gate in enumerate(common.LSTM_GATES):
                    r = cell[part, gate]
                    ax.text(
                        j,
                        i,
                        f"{r['unchanged']}/{r['weights']}",
                        ha="center",
                        va="center",
                        color="white" if share[i][j] > 0.5 else "black",
                    )
            ax.set_xticks(range(len(common.LSTM_GATES)), common.LSTM_GATES)
            ax.set_xlabel("gate")
            ax.set_yticks(range(len(PARTS)), PARTS)
            unchanged = sum(r["unchanged"] for r in parts)
            ax.set_title(f"{name}: {unchanged}/{sum(r['weights'] for r in parts)} never moved")
        fig.suptitle("LSTM weights training never moved, per matrix and gate (dark: unchanged)")
        plots.save(path, fig)

    return draw


def failed(m: dict) -> str | None:
    """Why the figures would not support the answer (--check), or None when they do."""
    if m["recurrent_kernel_max_change"] != 0.0:
        return f"the recurrent kernel moved by {m['recurrent_kernel_max_change']:.1e}"
    if not m["batch_vs_alone_max_difference"] <= ROUNDING:
        return f"a sample alone and in the batch differ by {m['batch_vs_alone_max_difference']:.1e}"
    if not m["stateful_order_max_difference"] > 100 * ROUNDING:
        return "the stateful copy gave the same outputs in either order"
    if m["many_to_one"]["untouched_weights"]:
        return (
            f"the many-to-one LSTM left {m['many_to_one']['untouched_weights']} weights unchanged"
        )
    return None


if __name__ == "__main__":
    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
