"""TimeDistributed(Dense) or plain Dense? The question the article's readers asked most.

Trains the article's many-to-many model (many_to_many_td.build_model, the article's settings), then
puts five output heads on the trained LSTM's per-step outputs: TimeDistributed(Dense(1)) and a
plain Dense(1) with the same weights (their largest output difference), the many-to-one head, a
Flatten head and one unshared Dense per step, with their weight counts. A second table builds
Dense, Flatten and Conv2D on a sequence with and without the wrapper: where it still matters.

    python questions/td_or_dense.py          # the article's model and settings, then the tables
    python questions/td_or_dense.py --train  # also train every head on the echo, from many seeds
    python questions/td_or_dense.py --help   # the article scripts' flags

Expected: TimeDistributed(Dense(1)) and Dense(1) have 6 weights each and agree to float32
rounding; the wrapper changes the result for Flatten and Conv2D only.
"""

import argparse
import sys

import common
import many_to_many_td
from repro import cli
from repro.backend import seed_everything
from repro.run import Run, conclude, echo_record, run_program, start
from repro.study import interval, run_study

QUESTION = __doc__.splitlines()[0]
SECTION = "many_to_many"
PROG = "questions/td_or_dense.py"
# The Flatten head has steps * units * steps weights and the unshared head one layer per step, so
# past these sizes they are counted from the formulas, not built: at 10,000 steps the Flatten head
# alone would need 2 GiB, and building 10,000 layers takes minutes.
MAX_HEAD_WEIGHTS = 10**7
MAX_UNSHARED_STEPS = 500
# Two units in the last place of a float32 near 1: the two heads sum the same products in
# different orders, so this far apart their outputs still count as the same
FLOAT32_ROUNDING = 2 * 2.0**-23
SEEDS = {"jax": 100, "tensorflow": 10, "torch": 10}  # --train's default --seeds: about 2 minutes


## Model: five output heads for the LSTM's (samples, steps, units) outputs


def head(name: str, sequence, steps: int):
    """The output of head `name` on `sequence`, the LSTM's outputs at every step."""
    from keras import layers

    if name == "timedistributed":  # the article's: one Dense, applied to each step
        return layers.TimeDistributed(layers.Dense(1))(sequence)
    if name == "dense":  # the 2019 note's: Dense works on the last axis of any input
        return layers.Dense(1)(sequence)
    if name == "last":  # the many-to-one model: only the last step reaches the head
        return layers.Dense(steps)(sequence[:, -1, :])
    if name == "flatten":  # every step's output feeds every output step
        return layers.Dense(steps)(layers.Flatten()(sequence))
    # unshared: a Dense(1) of its own for each step
    return layers.Concatenate()([layers.Dense(1)(sequence[:, t, :]) for t in range(steps)])


def heads_table(steps: int, units: int) -> dict:
    """Each head: its name in the tables, its count from the formulas, written out, and what it
    does with the time axis."""
    one, last = common.dense_params(units, 1), common.dense_params(units, steps)
    flat = common.dense_params(steps * units, steps)
    return {
        "timedistributed": (
            "TimeDistributed(Dense(1))",
            one,
            f"{units}*1 + 1",
            "one Dense shared by every step (the article)",
        ),
        "dense": ("Dense(1) on the 3D output", one, f"{units}*1 + 1", "the same, on the last axis"),
        "last": (
            f"last state -> Dense({steps})",
            last,
            f"{units}*{steps} + {steps}",
            "drops all but the last step (many_to_one.py)",
        ),
        "flatten": (
            f"Flatten -> Dense({steps})",
            flat,
            f"{steps * units}*{steps} + {steps}",
            "every step's output feeds every output step",
        ),
        "unshared": (
            f"{steps} unshared Dense(1)",
            steps * one,
            f"{steps}*({units}*1 + 1)",
            "a separate Dense for each step, nothing shared",
        ),
    }


HEADS = tuple(heads_table(1, 1))  # the heads' names, in the tables' order


def heads_too_big(steps: int, units: int) -> str | None:
    """Why the Flatten and unshared heads are not built at these sizes, or None if they are."""
    flat = common.dense_params(steps * units, steps)
    if flat > MAX_HEAD_WEIGHTS:
        return f"Flatten -> Dense({steps}) would have {flat:,} weights"
    if steps > MAX_UNSHARED_STEPS:
        return f"{steps} steps would need {steps} separate layers"
    return None


def build_head_model(args):
    """The article's LSTM with the head args.trained_head (one of HEADS), compiled as the article
    compiles its model: what --train trains, seed by seed."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(args.length, 1))
    sequence = layers.LSTM(args.units, return_sequences=True)(inputs)
    model = keras.Model(inputs, head(args.trained_head, sequence, args.length))
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(args.lr))
    return model


## Evaluate: the heads on the trained LSTM, and where the wrapper matters


def compare_heads(model, X) -> list[dict]:
    """Put each head on the trained LSTM's per-step outputs and count its weights.

    TimeDistributed(Dense(1)) and Dense(1) get the trained head's weights, so their outputs can be
    compared; the other heads are only built, to show their sizes (the two largest only at sizes
    where that is cheap, see heads_too_big)."""
    import keras
    import numpy as np

    lstm = model.layers[0]
    steps, units = lstm.output.shape[1], lstm.output.shape[2]
    sequence = lstm(X)  # (samples, steps, units): what every head below receives
    too_big = heads_too_big(steps, units)
    rows, outputs = [], {}
    for name, (label, count, formula, time_axis) in heads_table(steps, units).items():
        if too_big and name in ("flatten", "unshared"):
            time_axis += f" (counted, not built: {too_big})"
        else:
            inputs = keras.Input(shape=(steps, units))
            net = keras.Model(inputs, head(name, inputs, steps))
            if name in ("timedistributed", "dense"):
                net.layers[-1].set_weights(model.layers[1].get_weights())
                outputs[name] = keras.ops.convert_to_numpy(net(sequence))
            count = net.count_params()
        rows.append({"head": label, "params": count, "formula": formula, "time_axis": time_axis})
    difference = float(np.max(np.abs(outputs["timedistributed"] - outputs["dense"])))
    rows[1]["time_axis"] += f"; max |difference| {difference:.1e}"
    rows[1]["max_abs_difference"] = difference
    return rows


# Layers built on a sequence of 5 steps with and without TimeDistributed: name, input (steps
# first), the layers (a function of the wrapper: identity, or TimeDistributed), and a note
WRAPPER_CASES = [
    ("Dense(1)", (5, 5), lambda w, L: [w(L.Dense(1))], "the same: Dense works on the last axis"),
    ("Flatten()", (5, 8, 8), lambda w, L: [w(L.Flatten())], "alone, it merges the time axis away"),
    (
        "Conv2D(4, 3)",
        (5, 8, 8, 1),
        lambda w, L: [w(L.Conv2D(4, 3))],
        "alone, it takes one image, not a sequence of them",
    ),
    (
        "LSTM(4)",
        (5, 6, 1),
        lambda w, L: [w(L.LSTM(4))],
        "wrapped, one LSTM reads each sub-sequence of 6 steps; alone, it takes one sequence",
    ),
    (
        "Conv1D(4, 3) -> Flatten() -> LSTM(4)",
        (5, 8, 1),
        lambda w, L: [w(L.Conv1D(4, 3)), w(L.Flatten()), L.LSTM(4)],
        "a CNN-LSTM: the convolution on each step's window, the LSTM across the steps",
    ),
]


def where_the_wrapper_matters(steps: int = 5) -> list[dict]:
    """WRAPPER_CASES built with and without TimeDistributed: for Dense the two are the same; for
    Flatten, Conv2D, an LSTM over sub-sequences and a CNN-LSTM they are not. Output shapes and
    weight counts, from Keras."""
    import keras
    from keras import layers

    def built(stack, input_shape) -> tuple[str, int | None]:
        inputs = outputs = keras.Input(shape=input_shape)
        try:
            for layer in stack:
                outputs = layer(outputs)
        except ValueError as e:  # a layer cannot take a sequence (Keras' words vary by version)
            return f"refused by Keras: {str(e).splitlines()[0][:200]}", None
        return str(tuple(outputs.shape)), keras.Model(inputs, outputs).count_params()

    rows = []
    for name, shape, stack, note in WRAPPER_CASES:
        shape = (steps, *shape[1:])
        wrapped, wrapped_params = built(stack(layers.TimeDistributed, layers), shape)
        alone, alone_params = built(stack(lambda layer: layer, layers), shape)
        rows.append(
            {
                "layer": name,
                "input": str(shape),
                "timedistributed": wrapped,
                "timedistributed_params": wrapped_params,
                "alone": alone,
                "alone_params": alone_params,
                "note": note,
            }
        )
    return rows


## Train (--train): every head on the echo, from the same seeds


def train_heads(args, seq, heads: list[dict]) -> None:
    """Each head trained from seeds seed..seed+N-1 as the article trains its model; adds
    `reproduced`, `n`, `ci95`, `median_final_loss` and `max_abs_errors` to its row of `heads`."""
    for name, row in zip(HEADS, heads, strict=True):
        if "not built" in row["time_axis"]:
            continue  # too large to build here, so too large to train
        head_args = argparse.Namespace(**{**vars(args), "trained_head": name})
        X = seq.reshape(1, args.length, 1)
        y = seq.reshape((1, args.length, 1) if name in ("timedistributed", "dense") else (1, -1))
        run = Run(head_args, X, y)
        seed_everything(args.seed)  # every head from the same seeds
        model = build_head_model(head_args)
        run.fit(model, X, y, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
        run.predicted(model.predict(X, batch_size=args.batch_size, verbose=0))
        rate = run_study(run, build_head_model, quiet=True)
        row.update({k: rate[k] for k in ("reproduced", "n", "ci95", "median_final_loss")})
        row["max_abs_errors"] = [s["max_abs_error"] for s in rate["seeds"]]
        print(f"{row['head']}: {rate['summary']}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run with these command-line arguments (none: the article's settings); the exit status."""
    with start(SECTION, argv, add_arguments, check_arguments, PROG, QUESTION, SHARED) as args:
        ## Data: the article's many-to-many framing
        seq = common.echo_sequence(args.length) if args.sequence is None else args.sequence
        X, y = seq.reshape(1, args.length, 1), seq.reshape(1, args.length, 1)

        ## Train: the article's model, as many_to_many_td.py trains it
        run = Run(args, X, y)
        model = many_to_many_td.build_model(args)
        run.fit(model, X, y, epochs=args.epochs, batch_size=args.batch_size, verbose=args.verbose)
        result = model.predict(X, batch_size=args.batch_size, verbose=0)
        common.print_predictions(run.predicted(result), run.digits)

        ## Evaluate: other heads on the trained LSTM, and where the wrapper still matters
        heads, wrapper = compare_heads(model, X), where_the_wrapper_matters()
        if args.train:
            train_heads(args, seq, heads)
        record = echo_record(run, many_to_many_td.build_model, study=not args.train)
        results = {**record, "head": args.head, "heads": heads, "wrapper": wrapper}
        answer = report(args, heads, wrapper)
        return conclude(args, answer, results, not_the_same(heads), run.draw, run.seconds)


## Report


def report(args, heads: list[dict], wrapper: list[dict]) -> str:
    """Print the tables; return the answer they give."""
    print("\nOutput heads on the same trained LSTM (the article's 2019 note, made concrete):")
    common.print_table(
        ["head", "params", "formula", "what it does with the time axis"],
        [[h["head"], h["params"], h["formula"], h["time_axis"]] for h in heads],
    )
    print("\nWhere TimeDistributed still changes the result (a sequence of 5 steps):")
    common.print_table(
        ["layer", "input (steps, ...)", "TimeDistributed(layer)", "layer alone", ""],
        [
            [
                w["layer"],
                w["input"],
                f"{w['timedistributed']}, {w['timedistributed_params']} params",
                "refused by Keras"
                if w["alone_params"] is None
                else f"{w['alone']}, {w['alone_params']} params",
                w["note"],
            ]
            for w in wrapper
        ],
    )
    td, dense = heads[0], heads[1]
    differs = [w["layer"] for w in wrapper if w["timedistributed"] != w["alone"]]
    answer = (
        f"Answer: after return_sequences=True, {dense['head']} has {dense['params']} weights "
        f"like {td['head']} ({td['params']}), and their outputs differ by at most "
        f"{dense['max_abs_difference']:.1e}: the same layer. The wrapper changes the result "
        f"only for {', '.join(differs) or 'none of the layers tried'}."
    )
    trained = [h for h in heads if "n" in h]
    if not trained:
        return answer
    print(
        f"\nEvery head trained on the echo as the article trains its model ({args.seeds} seeds "
        f"from --seed {args.seed}, {args.epochs} epochs each):"
    )
    common.print_table(
        ["head", "params", "reproduced", "95% CI", "median final loss"],
        [
            [
                h["head"],
                h["params"],
                f"{h['reproduced']}/{h['n']}",
                interval(*h["ci95"]),
                f"{h['median_final_loss']:.2g}",
            ]
            for h in trained
        ],
    )
    most = max(h["reproduced"] for h in trained)
    best = ", ".join(
        f"{h['head']} ({h['params']} weights)" for h in trained if h["reproduced"] == most
    )
    return (
        f"{answer} Trained on the echo ({args.backend}, {args.epochs} epochs), most often "
        f"reproduced: {best}, in {most}/{td['n']} seeds; the article's {td['head']}, "
        f"{td['params']} weights shared by every step: {td['reproduced']}/{td['n']}."
    )


def not_the_same(heads: list[dict]) -> str | None:
    """Why TimeDistributed(Dense(1)) and Dense(1) would not be the same layer here (--check), or
    None: the same weight count, and outputs apart by float32 rounding at most."""
    td, dense = heads[0], heads[1]
    if td["params"] != dense["params"]:
        return f"{td['head']} has {td['params']} weights, {dense['head']} {dense['params']}"
    if not dense["max_abs_difference"] <= FLOAT32_ROUNDING:
        return f"their outputs differ by {dense['max_abs_difference']:.1e}, over float32 rounding"
    return None


## Flags: the article scripts', --head, and --train

SHARED = cli.seeds_by_backend(
    SEEDS, "seeds from --seed on (default: 1; with --train, per head: {})"
)


def add_arguments(parser) -> None:
    many_to_many_td.add_arguments(parser)  # --head: the head of the model the tables start from
    parser.add_argument(
        "--train",
        action="store_true",
        help="also train every head on the echo from the same seeds (the article's 1000 epochs, "
        "or --epochs) and give each its reproduction rate",
    )


def check_arguments(args) -> None:
    cli.check_head_length(args)
    if args.train:  # --train trains the TimeDistributed head whatever --head says
        cli.check_timedistributed(args.length)
    cli.default_seeds(args, SEEDS if args.train else {b: 1 for b in SEEDS})


if __name__ == "__main__":
    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
