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

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # common, repro, the scripts

import numpy as np  # noqa: E402

import common  # noqa: E402
import one_to_one  # noqa: E402
from repro.run import Run, finish, run_program, start  # noqa: E402

SECTION = "one_to_one"
PROG = "questions/state.py"
PARTS = ("kernel", "recurrent_kernel", "bias")  # an LSTM's weights, in Keras' order


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


ROUNDING = 4 * 2.0**-23  # float32 rounding of outputs near 1, summed in another order


def not_as_answered(m: dict) -> str | None:
    """Why the figures would not support the printed answer (--check), or None when they do."""
    if m["recurrent_kernel_max_change"] != 0.0:
        return f"the recurrent kernel moved by {m['recurrent_kernel_max_change']:.1e}"
    if not m["batch_vs_alone_max_difference"] <= ROUNDING:
        return f"a sample alone and in the batch differ by {m['batch_vs_alone_max_difference']:.1e}"
    if not m["stateful_order_max_difference"] > 100 * ROUNDING:
        return "the stateful copy gave the same outputs in either order"
    return None


def print_results(m: dict) -> None:
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
    print(
        "\nAnswer: a stateless LSTM starts every sample from a zero state, so samples in a batch "
        "share nothing; with one step per sample the recurrent weights are never used and the "
        f"LSTM is a small feed-forward network ({m['untouched_weights']} of its "
        f"{m['lstm_weights']} weights never train). State carries from one call to the next only "
        "with stateful=True, until reset_states()."
    )


def main(argv: list[str] | None = None) -> int:
    """Run with these command-line arguments (none: the article's settings); the exit status."""
    args = start(SECTION, argv, prog=PROG, description=__doc__.splitlines()[0])

    ## Data: the article's one-to-one framing, five samples of one step each
    seq = common.echo_sequence(args.length) if args.sequence is None else args.sequence
    X = seq.reshape(len(seq), 1, 1)
    y = seq.reshape(len(seq), 1)

    ## Model: the article's, trained as one_to_one.py trains it
    run = Run(args, X, y)
    model = one_to_one.build_model(args)
    before = [w.copy() for w in model.layers[0].get_weights()]
    run.fit(model, X, y, epochs=args.epochs, batch_size=args.batch_size, verbose=args.verbose)
    result = model.predict(X, batch_size=args.batch_size, verbose=0)
    common.print_predictions(run.predicted(result), run.digits)

    ## Results
    figures = measure(model, X, before)
    run.extra.update(figures)
    print_results(figures)
    return finish(run, one_to_one.build_model, report=False, failed=not_as_answered(figures))


if __name__ == "__main__":
    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
