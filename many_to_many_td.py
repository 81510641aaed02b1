"""Many-to-many LSTM for sequence prediction, with TimeDistributed: the article's third section.

The echo sequence 0.0 0.2 0.4 0.6 0.8 is framed as one sample of five time steps, as in
many_to_one.py, but the LSTM now returns its output at every step (return_sequences=True) and one
small Dense layer, wrapped in TimeDistributed, turns each step's output into that step's value.
The same 6 weights serve every step, which is why this model is smaller than the many-to-one one.

    python many_to_many_td.py               # the article's settings: 1000 epochs, batch size 1
    python many_to_many_td.py --head dense  # the article's 2019 note: a plain Dense does the same
    python many_to_many_td.py --help        # every flag, with its default

Expected: the model summary (140 + 6 = 146 parameters), then 0.0 0.2 0.4 0.6 0.8 one per line,
then a comparison of output heads (how many weights each has and what it does with time).
"""

import sys

import common
from repro.cli import UsageError
from repro.run import Run, finish, run_program, start

SCRIPT = "many_to_many"


def add_arguments(parser) -> None:
    parser.add_argument(
        "--head",
        choices=("timedistributed", "dense"),
        default="timedistributed",
        help="output layer: TimeDistributed(Dense(1)) as in the article (default), or a plain "
        "Dense(1), which Keras applies to every time step with the same 6 weights",
    )
    parser.add_argument(
        "--no-heads", action="store_true", help="skip the comparison of output heads"
    )


# Keras 3's TimeDistributed calls the wrapped layer once per time step in the training graph, so
# the graph grows with the length: at 1000 steps one epoch takes some 30 s to compile and 1.4 GB.
MAX_TIMEDISTRIBUTED_STEPS = 1000


def check_arguments(args) -> None:
    """Refuse a TimeDistributed head too long to compile here, and say when it is slow; Dense
    does the same math (README, "TimeDistributed or Dense, measured")."""
    if args.head == "timedistributed" and 200 <= args.length <= MAX_TIMEDISTRIBUTED_STEPS:
        print(
            f"hint: at {args.length} steps the TimeDistributed head compiles one Dense call per "
            "step and takes much longer to start than --head dense, which computes the same "
            "outputs with the same 6 weights",
            file=sys.stderr,
        )
    if args.head == "timedistributed" and args.length > MAX_TIMEDISTRIBUTED_STEPS:
        raise UsageError(
            f"argument --length: TimeDistributed in Keras 3 builds one Dense call per time step, "
            f"so {args.length} steps would take many minutes and GiBs to compile; pass --head "
            f"dense (the same 6 weights on every step, the same outputs) or at most "
            f"--length {MAX_TIMEDISTRIBUTED_STEPS}"
        )


def build_model(args):
    """LSTM(units, return_sequences=True) -> TimeDistributed(Dense(1)): one output per step."""
    import keras  # imported here so that --help and bad input never wait for it
    from keras import layers

    head = layers.Dense(1)
    if args.head == "timedistributed":
        head = layers.TimeDistributed(head)  # the same Dense applied to each step's output
    model = keras.Sequential(
        [
            keras.Input(shape=(args.length, 1)),  # (time steps, features) of one sample
            layers.LSTM(args.units, return_sequences=True),  # an output for every step
            head,
        ]
    )
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(args.lr))
    return model


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
    same, for Flatten and Conv2D they are not. Output shapes and weight counts, from Keras."""
    import keras
    from keras import layers

    def built(layer, input_shape) -> tuple[str, int | None]:
        inputs = keras.Input(shape=input_shape)
        try:
            outputs = layer(inputs)
        except ValueError as e:  # the layer cannot take a sequence (Keras' words vary by version)
            return f"refused by Keras: {str(e).splitlines()[0][:200]}", None
        return str(tuple(outputs.shape)), keras.Model(inputs, outputs).count_params()

    cases = [
        ("Dense(1)", lambda: layers.Dense(1), (steps, 5), "the same: Dense works on the last axis"),
        ("Flatten()", layers.Flatten, (steps, 8, 8), "alone, it merges the time axis away"),
        (
            "Conv2D(4, 3)",
            lambda: layers.Conv2D(4, 3),
            (steps, 8, 8, 1),
            "alone, it takes one image, not a sequence of them",
        ),
    ]
    rows = []
    for name, make, input_shape, note in cases:
        wrapped, wrapped_params = built(layers.TimeDistributed(make()), input_shape)
        alone, alone_params = built(make(), input_shape)
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


def main(argv: list[str] | None = None) -> int:
    """Run with these command-line arguments (none: the article's settings); the exit status."""
    args = start(
        SCRIPT, argv, add_arguments, check_arguments
    )  # flags checked, then Keras imported and seeded

    ## Data: X (1, length, 1) = one sample of length steps; y (1, length, 1) = a value per step
    X, y = common.make_data(SCRIPT, args.length, args.sequence)  # sequence: --values, scaled

    ## Model
    run = Run(args, X, y)
    with run.timed("build"):
        model = build_model(args)
    model.summary()  # before training: afterwards Keras 3 adds the optimizer's variables

    ## Train: one sample, so each epoch is exactly one weight update
    run.train(model)

    ## Evaluate
    common.print_predictions(run.predictions, run.digits)
    run.extra["head"] = args.head
    if not args.no_heads:
        run.extra["heads"] = compare_heads(model, X)
        run.extra["wrapper"] = where_the_wrapper_matters()
        print_heads(run.extra["heads"], run.extra["wrapper"])
    if args.head == "dense":
        run.known = {
            "time_distributed_1": ("dense", "--head dense: a plain Dense, as the 2019 note allows")
        }
    return finish(run, build_model)


if __name__ == "__main__":
    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
