"""One-to-one LSTM for sequence prediction: the article's first section, on Keras 3.

The echo sequence 0.0 0.2 0.4 0.6 0.8 is framed as five samples of one time step each, so the LSTM
sees every value on its own and a Dense layer turns its state back into that value. The LSTM's
memory is never used: this is the baseline the other two scripts improve on.

    python one_to_one.py            # the article's settings: 1000 epochs, batch of all 5 samples
    python one_to_one.py --help     # every flag, with its default

Expected: the model summary (140 + 6 = 146 parameters), then 0.0 0.2 0.4 0.6 0.8 one per line.
"""

import numpy as np

import common
from repro.run import Run, finish, run_program, start

SCRIPT = "one_to_one"


def build_model(n_neurons: int = 5, lr: float = 0.001):
    """LSTM(n_neurons) -> Dense(1): one step of one feature in, one value out."""
    import keras  # imported here so that --help and bad input never wait for it
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input(shape=(1, 1)),  # (time steps, features) of one sample
            layers.LSTM(n_neurons),
            layers.Dense(1),
        ]
    )
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(lr))
    return model


def main(argv: list[str] | None = None) -> int:
    """Run with these command-line arguments (none: the article's settings); the exit status."""
    with start(SCRIPT, argv) as args:  # flags checked, then Keras imported and seeded
        ## Data: five samples of one time step and one feature each; the targets are the inputs
        length = args.length  # 5, or the number of --values
        seq = np.array([i / length for i in range(length)], "float32")  # the article's 0.0 ... 0.8
        if args.sequence is not None:  # --values: a reader's own sequence, scaled for the network
            seq = args.sequence
        X = seq.reshape(len(seq), 1, 1)
        y = seq.reshape(len(seq), 1)

        ## Model
        run = Run(args, X, y)
        n_neurons = args.units  # the article's n_neurons = length (5)
        model = build_model(n_neurons, args.lr)
        model.summary()  # before training: afterwards Keras 3 adds the optimizer's variables

        ## Train
        n_epoch = args.epochs  # the article's 1000
        n_batch = args.batch_size  # the whole set (5): each epoch is exactly one weight update
        # model.fit's updates and losses, without its per-epoch overhead (--fit naive: model.fit)
        run.fit(model, X, y, epochs=n_epoch, batch_size=n_batch, verbose=args.verbose)

        ## Evaluate
        result = model.predict(X, batch_size=n_batch, verbose=0)
        common.print_predictions(run.predicted(result), run.digits)
        return finish(run, lambda: build_model(n_neurons, args.lr))  # --seeds: one a seed


if __name__ == "__main__":
    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
