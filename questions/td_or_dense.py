"""TimeDistributed(Dense) or plain Dense? The question the article's readers asked most.

Trains the article's many-to-many model (many_to_many_td.build_model, the article's settings), then
puts five output heads on the trained LSTM's per-step outputs: TimeDistributed(Dense(1)) and a
plain Dense(1) with the same weights (their largest output difference), the many-to-one head, a
Flatten head and one unshared Dense per step, with their weight counts. A second table builds
Dense, Flatten and Conv2D on a sequence with and without the wrapper: where it still matters.

    python questions/td_or_dense.py          # the article's model and settings, then the tables
    python questions/td_or_dense.py --help   # the article scripts' flags

Expected: TimeDistributed(Dense(1)) and Dense(1) have 6 weights each and agree to float32
rounding; the wrapper changes the result for Flatten and Conv2D only.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # common, repro, the scripts

import common  # noqa: E402
import many_to_many_td  # noqa: E402
from repro import cli  # noqa: E402
from repro.backend import seed_everything  # noqa: E402
from repro.cli import check_head_length  # noqa: E402
from repro.run import Run, finish, run_program, start  # noqa: E402
from repro.study import interval, run_study  # noqa: E402

SECTION = "many_to_many"
PROG = "questions/td_or_dense.py"

# The Flatten head has steps * units * steps weights and the unshared head one layer per step, so
# past these sizes they are counted from the formulas, not built: at 10,000 steps the Flatten head
# alone would need 2 GiB, and building 10,000 layers takes minutes.
MAX_HEAD_WEIGHTS = 10**7
MAX_UNSHARED_STEPS = 500


def heads_too_big(steps: int, units: int) -> str | None:
    """Why the Flatten and unshared heads are not built at these sizes, or None if they are."""
    flat = common.dense_params(steps * units, steps)
    if flat > MAX_HEAD_WEIGHTS:
        return f"Flatten -> Dense({steps}) would have {flat:,} weights"
    if steps > MAX_UNSHARED_STEPS:
        return f"{steps} steps would need {steps} separate layers"
    return None


def compare_heads(model, X) -> list[dict]:
    """Put different output heads on the trained LSTM's per-step outputs and count their weights.

    TimeDistributed(Dense(1)) and Dense(1) get the trained head's weights, so their outputs can be
    compared; the other heads are only built, to show their sizes (the two largest only at sizes
    where that is cheap, see heads_too_big)."""
    import keras
    import numpy as np
    from keras import layers

    lstm = model.layers[0]
    steps, units = lstm.output.shape[1], lstm.output.shape[2]
    sequence = lstm(X)  # (samples, steps, units): what every head below receives
    trained = model.layers[1]
    weights = trained.get_weights()

    def head(*stack, copy=False):
        inputs = keras.Input(shape=(steps, units))
        outputs = inputs
        for layer in stack:
            outputs = layer(outputs)
        net = keras.Model(inputs, outputs)
        if copy:
            net.layers[-1].set_weights(weights)
        return net, keras.ops.convert_to_numpy(net(sequence))

    td, td_out = head(layers.TimeDistributed(layers.Dense(1)), copy=True)
    dense, dense_out = head(layers.Dense(1), copy=True)
    last, _ = head(layers.Lambda(lambda s: s[:, -1, :]), layers.Dense(steps))
    too_big = heads_too_big(steps, units)
    if too_big:
        flat_params = common.dense_params(steps * units, steps)
        per_step_params = steps * common.dense_params(units, 1)
    else:
        flat_params = head(layers.Flatten(), layers.Dense(steps))[0].count_params()
        step_inputs = keras.Input(shape=(steps, units))
        per_step = keras.Model(
            step_inputs,
            layers.Concatenate()([layers.Dense(1)(step_inputs[:, t, :]) for t in range(steps)]),
        )
        per_step_params = per_step.count_params()
    not_built = f" (counted, not built: {too_big})" if too_big else ""
    difference = float(np.max(np.abs(td_out - dense_out)))
    return [
        {
            "head": "TimeDistributed(Dense(1))",
            "params": td.count_params(),
            "formula": f"{units}*1 + 1",
            "time_axis": "one Dense shared by every step (the article)",
        },
        {
            "head": "Dense(1) on the 3D output",
            "params": dense.count_params(),
            "formula": f"{units}*1 + 1",
            "time_axis": f"the same, on the last axis; max |difference| {difference:.1e}",
            "max_abs_difference": difference,
        },
        {
            "head": f"last state -> Dense({steps})",
            "params": last.count_params(),
            "formula": f"{units}*{steps} + {steps}",
            "time_axis": "drops all but the last step (many_to_one.py)",
        },
        {
            "head": f"Flatten -> Dense({steps})",
            "params": flat_params,
            "formula": f"{steps * units}*{steps} + {steps}",
            "time_axis": "every step's output feeds every output step" + not_built,
        },
        {
            "head": f"{steps} unshared Dense(1)",
            "params": per_step_params,
            "formula": f"{steps}*({units}*1 + 1)",
            "time_axis": "a separate Dense for each step, nothing shared" + not_built,
        },
    ]


def where_the_wrapper_matters(steps: int = 5) -> list[dict]:
    """Layers built on a sequence with and without TimeDistributed: for Dense the two are the
    same; for Flatten, Conv2D, an LSTM over sub-sequences and a CNN-LSTM they are not. Output
    shapes and weight counts, from Keras."""
    import keras
    from keras import layers

    td = layers.TimeDistributed

    def built(stack, input_shape) -> tuple[str, int | None]:
        inputs = outputs = keras.Input(shape=input_shape)
        try:
            for layer in stack:
                outputs = layer(outputs)
        except ValueError as e:  # a layer cannot take a sequence (Keras' words vary by version)
            return f"refused by Keras: {str(e).splitlines()[0][:200]}", None
        return str(tuple(outputs.shape)), keras.Model(inputs, outputs).count_params()

    cases = [  # name, input (steps, ...), the layers wrapped, the same layers alone, note
        (
            "Dense(1)",
            (steps, 5),
            lambda: [td(layers.Dense(1))],
            lambda: [layers.Dense(1)],
            "the same: Dense works on the last axis",
        ),
        (
            "Flatten()",
            (steps, 8, 8),
            lambda: [td(layers.Flatten())],
            lambda: [layers.Flatten()],
            "alone, it merges the time axis away",
        ),
        (
            "Conv2D(4, 3)",
            (steps, 8, 8, 1),
            lambda: [td(layers.Conv2D(4, 3))],
            lambda: [layers.Conv2D(4, 3)],
            "alone, it takes one image, not a sequence of them",
        ),
        (
            "LSTM(4)",
            (steps, 6, 1),
            lambda: [td(layers.LSTM(4))],
            lambda: [layers.LSTM(4)],
            "wrapped, one LSTM reads each sub-sequence of 6 steps; alone, it takes one sequence",
        ),
        (
            "Conv1D(4, 3) -> Flatten() -> LSTM(4)",
            (steps, 8, 1),
            lambda: [td(layers.Conv1D(4, 3)), td(layers.Flatten()), layers.LSTM(4)],
            lambda: [layers.Conv1D(4, 3), layers.Flatten(), layers.LSTM(4)],
            "a CNN-LSTM: the convolution on each step's window, the LSTM across the steps",
        ),
    ]
    rows = []
    for name, input_shape, wrapped_stack, alone_stack, note in cases:
        wrapped, wrapped_params = built(wrapped_stack(), input_shape)
        alone, alone_params = built(alone_stack(), input_shape)
        rows.append(
            {
                "layer": name,
                "input": str(input_shape),
                "timedistributed": wrapped,
                "timedistributed_params": wrapped_params,
                "alone": alone,
                "alone_params": alone_params,
                "note": note,
            }
        )
    return rows


def print_heads(heads: list[dict], wrapper: list[dict]) -> None:
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


# Two units in the last place of a float32 near 1: the two heads sum the same products in
# different orders, so this far apart their outputs still count as the same
FLOAT32_ROUNDING = 2 * 2.0**-23


def not_the_same(heads: list[dict]) -> str | None:
    """Why TimeDistributed(Dense(1)) and Dense(1) would not be the same layer here (--check), or
    None: the same weight count, and outputs apart by float32 rounding at most."""
    td, dense = heads[0], heads[1]
    if td["params"] != dense["params"]:
        return f"{td['head']} has {td['params']} weights, {dense['head']} {dense['params']}"
    if not dense["max_abs_difference"] <= FLOAT32_ROUNDING:
        return f"their outputs differ by {dense['max_abs_difference']:.1e}, over float32 rounding"
    return None


def answer(heads: list[dict], wrapper: list[dict]) -> str:
    """The tables' verdict in one line, from their numbers."""
    td, dense = heads[0], heads[1]
    differs = [w["layer"] for w in wrapper if w["timedistributed"] != w["alone"]]
    return (
        f"Answer: after return_sequences=True, {dense['head']} has {dense['params']} weights "
        f"like {td['head']} ({td['params']}), and their outputs differ by at most "
        f"{dense['max_abs_difference']:.1e}: the same layer. The wrapper changes the result "
        f"only for {', '.join(differs) or 'none of the layers tried'}."
    )


# --train: every head trained as the article trains its model, from the same seeds (compare_heads'
# order); the heads whose output has a time axis learn (1, steps, 1) targets, the others (1, steps)
HEADS = ("timedistributed", "dense", "last", "flatten", "unshared")
SEEDS = {"jax": 100, "tensorflow": 10, "torch": 10}  # --train's default --seeds: about 2 minutes


def add_arguments(parser) -> None:
    many_to_many_td.add_arguments(parser)  # --head: the head of the model the tables start from
    parser.add_argument(
        "--train",
        action="store_true",
        help="also train every head on the echo from the same seeds (the article's 1000 epochs, "
        "or --epochs) and give each its reproduction rate",
    )
    per_backend = ", ".join(f"{n} on {b}" for b, n in SEEDS.items())
    cli.seeds_by_backend(
        parser, f"seeds from --seed on (default: 1; with --train, per head: {per_backend})"
    )


def check_arguments(args) -> None:
    check_head_length(args)
    args.seeds = args.seeds or (SEEDS[args.backend] if args.train else 1)
    cli.check_seed_range(args)


def build_head_model(args):
    """The article's LSTM with the head args.trained_head (one of HEADS), compiled as the article
    compiles its model: what --train trains, seed by seed."""
    import keras
    from keras import layers

    steps, units, name = args.length, args.units, args.trained_head
    inputs = keras.Input(shape=(steps, 1))
    if name == "last":  # the many-to-one model: only the last state reaches the head
        outputs = layers.Dense(steps)(layers.LSTM(units)(inputs))
    else:
        sequence = layers.LSTM(units, return_sequences=True)(inputs)
        if name == "timedistributed":
            outputs = layers.TimeDistributed(layers.Dense(1))(sequence)
        elif name == "dense":
            outputs = layers.Dense(1)(sequence)
        elif name == "flatten":
            outputs = layers.Dense(steps)(layers.Flatten()(sequence))
        else:  # unshared: a Dense(1) of its own for each step
            step_outputs = [layers.Dense(1)(sequence[:, t, :]) for t in range(steps)]
            outputs = layers.Concatenate()(step_outputs)
    model = keras.Model(inputs, outputs)
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(args.lr))
    return model


def train_heads(args, seq, heads: list[dict]) -> None:
    """--train: each head trained from seeds seed..seed+N-1 as the article trains its model; adds
    `reproduced`, `n`, `ci95` and `median_final_loss` to its row of `heads`."""
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


def print_trained(heads: list[dict], args) -> None:
    print(
        f"\nEvery head trained on the echo as the article trains its model ({args.seeds} seeds "
        f"from --seed {args.seed}, {args.epochs} epochs each):"
    )
    trained = [h for h in heads if "n" in h]
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
    article = trained[0]
    print(
        f"\nAnswer: most often reproduced: {best}, in {most}/{article['n']} seeds; the article's "
        f"{article['head']}, {article['params']} weights shared by every step: "
        f"{article['reproduced']}/{article['n']}."
    )


def main(argv: list[str] | None = None) -> int:
    """Run with these command-line arguments (none: the article's settings); the exit status."""
    description = __doc__.splitlines()[0]
    args = start(SECTION, argv, add_arguments, check_arguments, PROG, description)

    ## Data: the article's many-to-many framing
    seq = common.echo_sequence(args.length) if args.sequence is None else args.sequence
    X = seq.reshape(1, args.length, 1)
    y = seq.reshape(1, args.length, 1)

    ## Model: the article's, trained as many_to_many_td.py trains it
    run = Run(args, X, y)
    model = many_to_many_td.build_model(args)
    run.fit(model, X, y, epochs=args.epochs, batch_size=args.batch_size, verbose=args.verbose)
    result = model.predict(X, batch_size=args.batch_size, verbose=0)
    common.print_predictions(run.predicted(result), run.digits)

    ## Results: other heads on the trained LSTM, and where the wrapper still matters
    heads, wrapper = compare_heads(model, X), where_the_wrapper_matters()
    run.extra.update(head=args.head, heads=heads, wrapper=wrapper)
    print_heads(heads, wrapper)
    print("\n" + answer(heads, wrapper))
    if args.train:
        train_heads(args, seq, heads)
        print_trained(heads, args)
    failed = not_the_same(heads)
    return finish(run, many_to_many_td.build_model, False, failed, seeds=not args.train)


if __name__ == "__main__":
    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
