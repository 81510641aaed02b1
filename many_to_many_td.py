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
from repro.run import Run, finish, start

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


def compare_heads(model, X) -> list[dict]:
    """Put different output heads on the trained LSTM's per-step outputs and count their weights.

    TimeDistributed(Dense(1)) and Dense(1) get the trained head's weights, so their outputs can be
    compared; the other heads are only built, to show their sizes."""
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
    flat, _ = head(layers.Flatten(), layers.Dense(steps))
    step_inputs = keras.Input(shape=(steps, units))
    per_step = keras.Model(
        step_inputs,
        layers.Concatenate()([layers.Dense(1)(step_inputs[:, t, :]) for t in range(steps)]),
    )
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
            "params": flat.count_params(),
            "formula": f"{steps * units}*{steps} + {steps}",
            "time_axis": "every step's output feeds every output step",
        },
        {
            "head": f"{steps} unshared Dense(1)",
            "params": per_step.count_params(),
            "formula": f"{steps}*({units}*1 + 1)",
            "time_axis": "a separate Dense for each step, nothing shared",
        },
    ]


def print_heads(heads: list[dict]) -> None:
    print("\nOutput heads on the same trained LSTM (the article's 2019 note, made concrete):")
    common.print_table(
        ["head", "params", "formula", "what it does with the time axis"],
        [[h["head"], h["params"], h["formula"], h["time_axis"]] for h in heads],
    )


def main(argv=None) -> int:
    args = start(SCRIPT, argv, add_arguments)  # flags checked, then Keras imported and seeded

    ## Data: X (1, length, 1) = one sample of length steps; y (1, length, 1) = a value per step
    X, y = common.make_data(SCRIPT, args.length)

    ## Model
    run = Run(args, X, y)
    with run.timed("build"):
        model = build_model(args)
    model.summary()  # before training: afterwards Keras 3 adds the optimizer's variables

    ## Train: one sample, so each epoch is exactly one weight update
    run.train(model)

    ## Evaluate
    common.print_predictions(run.predictions)
    run.extra["head"] = args.head
    if not args.no_heads:
        run.extra["heads"] = compare_heads(model, X)
        print_heads(run.extra["heads"])
    if args.head == "dense":
        run.known = {"time_distributed_1": "--head dense: a plain Dense, as the 2019 note allows"}
    return finish(run, build_model)


if __name__ == "__main__":
    sys.exit(main())
