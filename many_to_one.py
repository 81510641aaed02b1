"""Many-to-one LSTM for sequence prediction, without TimeDistributed: the article's second section.

The echo sequence 0.0 0.2 0.4 0.6 0.8 is framed as one sample of five time steps. The LSTM reads
the whole sequence and returns only its last state; a Dense layer with one output per time step
must then produce all five values at once from that single vector.

    python many_to_one.py           # the article's settings: 500 epochs, batch size 1
    python many_to_one.py --help    # every flag, with its default

Expected: the model summary (140 + 30 = 170 parameters), then 0.0 0.2 0.4 0.6 0.8 one per line.
"""

import numpy as np

import common
from repro.run import Run, finish, run_program, start

SCRIPT = "many_to_one"


def build_model(length: int = 5, n_neurons: int = 5, lr: float = 0.001):
    """LSTM(n_neurons) -> Dense(length): the last state in, the whole sequence out."""
    import keras  # imported here so that --help and bad input never wait for it
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input(shape=(length, 1)),  # (time steps, features) of one sample
            layers.LSTM(n_neurons),  # only the state after the last step
            layers.Dense(length),  # one output per time step, all from that state
        ]
    )
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(lr))
    return model


def main(argv: list[str] | None = None) -> int:
    """Run with these command-line arguments (none: the article's settings); the exit status."""
    with start(SCRIPT, argv) as args:  # flags checked, then Keras imported and seeded
        ## Data: one sample of five time steps; the target is the whole sequence as one vector
        length = args.length  # 5, or the number of --values
        seq = np.array([i / length for i in range(length)], "float32")  # the article's 0.0 ... 0.8
        if args.sequence is not None:  # --values: a reader's own sequence, scaled for the network
            seq = args.sequence
        X = seq.reshape(1, length, 1)
        y = seq.reshape(1, length)

        ## Model
        run = Run(args, X, y)
        n_neurons = args.units  # the article's n_neurons = length (5)
        model = build_model(length, n_neurons, args.lr)
        model.summary()  # before training: afterwards Keras 3 adds the optimizer's variables

        ## Train
        n_epoch = args.epochs  # the article's 500
        n_batch = args.batch_size  # 1: the one sample, so each epoch is exactly one weight update
        # model.fit's updates and losses, without its per-epoch overhead (--fit naive: model.fit)
        run.fit(model, X, y, epochs=n_epoch, batch_size=n_batch, verbose=args.verbose)

        ## Evaluate
        result = model.predict(X, batch_size=n_batch, verbose=0)
        common.print_predictions(run.predicted(result), run.digits)
        return finish(run, lambda: build_model(length, n_neurons, args.lr))  # --seeds


if __name__ == "__main__":
    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
