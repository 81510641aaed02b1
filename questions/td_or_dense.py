"""TimeDistributed(Dense) or plain Dense: what is the difference?

The article puts TimeDistributed(Dense(1)) after LSTM(return_sequences=True); a plain Dense(1)
works on the last axis of its 3D input. The article's many-to-many model is built both ways and
given the same weights: compare their weight counts and their outputs. Then other layers are
tried on a batch of noisy echo ramps with and without the wrapper, with the same weights: look
for the layers that give the same outputs either way, and for those the wrapper changes (a shape,
a refusal, or BatchNormalization's statistics while training, computed per step).

    python questions/td_or_dense.py             # the article's model, then the layers tried
    python questions/td_or_dense.py --units 20  # another size: the two heads still agree
"""

import numpy as np

import common
import many_to_many_td
from repro import lesson

SAMPLES = 32  # a batch of sequences: BatchNormalization's statistics need more than one
NOISE = 0.1  # spread of each sample around the ramp 0.0 0.2 ... 0.8
SAME = 1e-6  # float32 rounding: the same sums in another order differ by less than this


def main(argv: list[str] | None = None) -> int:
    with lesson.start(__doc__, argv, length=5, units=5) as run:
        import keras
        from keras import layers

        ## Data: the echo, and a batch of noisy ramps (step t near t/length)
        length, units = run.args.length, run.args.units
        echo = common.echo_sequence(length).reshape(1, length, 1)
        rng = np.random.default_rng(run.args.seed)

        def ramps(*step):  # SAMPLES sequences of `length` steps, each step of shape `step`
            level = common.echo_sequence(length).reshape(1, length, *[1] * len(step))
            return (level + NOISE * rng.normal(size=(SAMPLES, length, *step))).astype("float32")

        def outputs(model, x, training=False):
            return keras.ops.convert_to_numpy(model(x, training=training))

        ## Model: the article's model with and without the wrapper, the same weights in both
        wrapped = many_to_many_td.build_model(length, units, wrapped=True)
        plain = many_to_many_td.build_model(length, units, wrapped=False)
        plain.set_weights(wrapped.get_weights())

        ## Evaluate: the echo and the ramps through both
        batch = ramps(1)
        apart = max(np.abs(outputs(wrapped, x) - outputs(plain, x)).max() for x in (echo, batch))
        heads = [head_row(wrapped.layers[-1], "-"), head_row(plain.layers[-1], float(apart))]

        ## Model: other layers with and without TimeDistributed, on sequences of `length` steps
        tried = {  # name -> (the input of one step, the layers given the wrapper)
            "Dense(1)": ((4,), lambda w: [w(layers.Dense(1))]),
            "LayerNormalization": ((4,), lambda w: [w(layers.LayerNormalization())]),
            "BatchNormalization at inference": ((4,), lambda w: [w(layers.BatchNormalization())]),
            "Flatten": ((8, 8), lambda w: [w(layers.Flatten())]),
            "Conv2D(4, 3)": ((8, 8, 1), lambda w: [w(layers.Conv2D(4, 3))]),
            "LSTM(4) over sub-sequences": ((6, 1), lambda w: [w(layers.LSTM(4))]),
            "a CNN-LSTM": (  # a convolution on each step's window, an LSTM across the steps
                (8, 1),
                lambda w: [w(layers.Conv1D(4, 3)), w(layers.Flatten()), layers.LSTM(4)],
            ),
            "BatchNormalization in training": ((4,), lambda w: [w(layers.BatchNormalization())]),
        }

        ## Evaluate: each one both ways on the same batch, with the same weights
        rows = []
        for name, (step, stack) in tried.items():
            x, training = ramps(*step), "training" in name
            td = keras.Sequential([keras.Input(x.shape[1:]), *stack(layers.TimeDistributed)])
            try:
                alone = keras.Sequential([keras.Input(x.shape[1:]), *stack(lambda layer: layer)])
            except ValueError:  # a layer that takes one step, not a sequence, is refused
                alone, y_alone = None, None
            else:
                alone.set_weights(td.get_weights())  # where it builds, its weights fit
                y_alone = outputs(alone, x, training)
            y_td = outputs(td, x, training)
            rows.append(layer_row(name, x, (td, y_td), (alone, y_alone)))

        return report(run, heads, rows)


def head_row(layer, apart) -> dict:
    """A head of the article's model: its name, its weights and their shapes, and how far its
    outputs are from the wrapped head's."""
    return {
        "head": "TimeDistributed(Dense(1))" if hasattr(layer, "layer") else "Dense(1)",
        "weights": layer.count_params(),
        "shapes": " + ".join(str(tuple(w.shape)) for w in layer.weights),
        "output": str(tuple(layer.output.shape)),
        "max |difference|": apart,
    }


def layer_row(name: str, x, wrapped: tuple, alone: tuple) -> dict:
    """A layer tried: its output and weights each way, and how far apart the outputs are ("-"
    when the shapes differ or Keras refuses the layer alone)."""
    (td, y_td), (alone, y_alone) = wrapped, alone
    same_shape = alone is not None and y_alone.shape == y_td.shape
    return {
        "layer": name,
        "input": str(x.shape),
        "TimeDistributed": f"{y_td.shape}, {td.count_params()} weights",
        "alone": "refused" if alone is None else f"{y_alone.shape}, {alone.count_params()} weights",
        "max |difference|": float(np.abs(y_td - y_alone).max()) if same_shape else "-",
    }


## Report


def report(run, heads: list[dict], rows: list[dict]) -> int:
    args = run.args
    run.table(f"The article's model both ways ({args.length} steps, {args.units} units)", heads)
    title = f"The layers tried, with TimeDistributed and alone ({SAMPLES} noisy ramps)"
    run.table(title, rows)
    td, plain = heads
    run.expect(
        td["weights"] == plain["weights"] == common.dense_params(args.units, 1),
        "both heads have the formula's units + 1 weights",
    )
    run.expect(
        plain["max |difference|"] <= SAME, "given the same weights, the heads' outputs agree"
    )
    apart = {r["layer"]: r["max |difference|"] for r in rows}
    same = [name for name, d in apart.items() if d != "-" and d <= SAME]
    changed = [name for name in apart if name not in same]
    run.expect(
        same == ["Dense(1)", "LayerNormalization", "BatchNormalization at inference"],
        "Dense, LayerNormalization and BatchNormalization at inference give the same outputs",
    )
    bn = apart["BatchNormalization in training"]
    run.expect(bn != "-" and bn > 0.1, "BatchNormalization in training differs (per step)")
    run.expect(
        all(apart[name] == "-" for name in changed if "Batch" not in name),
        "Flatten, Conv2D and the LSTMs change shape or are refused without the wrapper",
    )
    return run.answer(
        "after LSTM(return_sequences=True), Dense(1) and TimeDistributed(Dense(1)) have the same "
        "{weights} weights and, given them, the same outputs (largest difference {apart:.1g}): "
        "one layer. Of the layers tried, the wrapper changes {changed} (per-step statistics, up "
        "to {bn:.1f} apart); {same} give the same outputs.",
        weights=td["weights"],
        apart=plain["max |difference|"],
        changed=listed(changed),
        bn=bn if bn != "-" else float("nan"),
        same=listed(same),
    )


def listed(names: list[str]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


if __name__ == "__main__":
    from repro.run import run_program

    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
