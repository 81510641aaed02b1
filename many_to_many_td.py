"""Many-to-many LSTM for sequence prediction, with TimeDistributed: the article's third section.

The echo sequence 0.0 0.2 0.4 0.6 0.8 is one sample of five time steps, as in many_to_one.py, but
the LSTM returns its output at every step (return_sequences=True) and one Dense layer, wrapped in
TimeDistributed, turns each step's output into that step's value with the same 6 weights.

    python many_to_many_td.py               # the article's settings: 1000 epochs, batch size 1
    python many_to_many_td.py --head dense  # the article's 2019 note: a plain Dense does the same
    python questions/td_or_dense.py         # TimeDistributed or Dense? other heads, measured

Expected: the model summary (140 + 6 = 146 parameters), then 0.0 0.2 0.4 0.6 0.8 one per line.
"""

import numpy as np

import common
from repro.cli import check_head_length
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


def build_model(length: int = 5, n_neurons: int = 5, lr: float = 0.001, wrapped: bool = True):
    """LSTM(n_neurons, return_sequences=True) -> TimeDistributed(Dense(1)): an output per step."""
    import keras  # imported here so that --help and bad input never wait for it
    from keras import layers

    head = layers.Dense(1)
    if wrapped:  # the article's; without it, Dense(1) works on the last axis all the same
        head = layers.TimeDistributed(head)  # the same Dense applied to each step's output
    model = keras.Sequential(
        [
            keras.Input(shape=(length, 1)),  # (time steps, features) of one sample
            layers.LSTM(n_neurons, return_sequences=True),  # an output for every step
            head,
        ]
    )
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(lr))
    return model


def main(argv: list[str] | None = None) -> int:
    """Run with these command-line arguments (none: the article's settings); the exit status."""
    with start(SCRIPT, argv, add_arguments, check_head_length) as args:  # flags checked, then Keras
        ## Data: one sample of five time steps; a target for every step, as the steps are framed
        length = args.length  # 5, or the number of --values
        seq = np.array([i / length for i in range(length)], "float32")  # the article's 0.0 ... 0.8
        if args.sequence is not None:  # --values: a reader's own sequence, scaled for the network
            seq = args.sequence
        X = seq.reshape(1, length, 1)
        y = seq.reshape(1, length, 1)

        ## Model
        run = Run(args, X, y)
        n_neurons = args.units  # the article's n_neurons = length (5)
        wrapped = args.head == "timedistributed"
        model = build_model(length, n_neurons, args.lr, wrapped)
        model.summary()  # before training: afterwards Keras 3 adds the optimizer's variables

        ## Train
        n_epoch = args.epochs  # the article's 1000
        n_batch = args.batch_size  # 1: the one sample, so each epoch is exactly one weight update
        # model.fit's updates and losses, without its per-epoch overhead (--fit naive: model.fit)
        run.fit(model, X, y, epochs=n_epoch, batch_size=n_batch, verbose=args.verbose)

        ## Evaluate
        result = model.predict(X, batch_size=n_batch, verbose=0)
        common.print_predictions(run.predicted(result), run.digits)
        run.extra["head"] = args.head  # with --head dense, the side-by-side expects a Dense there
        return finish(run, lambda: build_model(length, n_neurons, args.lr, wrapped))  # --seeds


if __name__ == "__main__":
    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
