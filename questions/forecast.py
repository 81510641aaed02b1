"""Can the trained model predict the next value? Option A or option B?

The article's many-to-many model, trained to echo, gives back the last value when asked for the
next. Trained on targets a step ahead ("option A") it forecasts. The author's "option B" (steps
1-3 in, steps 4-6 out, TimeDistributed at each) lines output t up with input t, so its first
output has read one value and must say what comes 3 steps later. Every model reads the same 3
steps of sine waves; each is judged on held-out windows against persistence (the last value
again), option B also against the best any model can do with what each output has read, and
against a Bidirectional LSTM and an encoder-decoder. Look at option B's first step.

    python questions/forecast.py                                       # one seed, TensorFlow
    python questions/forecast.py --backend jax --seeds 5 --epochs 1500  # to 5x the base budget
"""

import numpy as np

from repro import lesson, plots
from repro.study import at_budgets

STEPS_IN, STEPS_OUT = 3, 3  # the author's "steps 1-3 in, steps 4-6 out"
PERIODS = (6.0, 16.0)  # steps a cycle, drawn for each window: the next value is not the last
TRAIN, HELD_OUT, REFERENCE = 256, 1000, 200_000  # windows; REFERENCE: for option B's best
NEIGHBOURS = 50  # option B's best: the mean future of the 50 nearest reference windows
BASE_EPOCHS = 300  # Adam at 0.01, the whole set a batch; read at 0.5x, 1x, 1.5x, 2x, 3x this
UNITS = (16, 1, 256, "LSTM units")  # --units: default, lowest, highest, help
MODELS = ("echo", "option A", "option B", "Bidirectional", "encoder-decoder")


def main(argv: list[str] | None = None) -> int:
    with lesson.start(__doc__, argv, seeds=1, epochs=3 * BASE_EPOCHS, units=UNITS, lr=0.01) as run:
        args = run.args

        ## Data: windows of 6 steps scaled to 0-1; every model reads the first 3
        train, held, reference = windows((TRAIN, HELD_OUT, REFERENCE), 6, 1, args.seed)
        X, X_held, future = train[:, :STEPS_IN], held[:, :STEPS_IN], held[:, STEPS_IN:]
        targets = {  # what output t (of 3) learns to be: the alignment is the lesson
            "echo": train[:, 0:3],  # the article's: input t itself
            "option A": train[:, 1:4],  # the value after input t
            "option B": train[:, 3:6],  # the value 3 steps after input t
            "Bidirectional": train[:, 3:6],  # the same, but each output has read all 3
            "encoder-decoder": train[:, 3:6],  # the same, decoded after reading all 3
        }

        ## Model: the article's LSTM -> TimeDistributed(Dense(1)), and two that read all 3 first
        weights = {name: build_model(name, args.units, args.lr).count_params() for name in MODELS}

        ## Train: every model from the same seeds, each run read at every budget
        seeds = range(args.seed, args.seed + args.seeds)
        budgets = lesson.budgets(args.epochs, BASE_EPOCHS)
        errors = {}  # name -> (budgets, 3): held-out MSE at each output, median of seeds
        for name in MODELS:
            _, predicted = at_budgets(
                lambda name=name: build_model(name, args.units, args.lr),
                X,
                targets[name],
                seeds,
                budgets,
                batch_size=len(X),  # the whole set a batch
                inputs=X_held,  # predicted at every budget
            )
            ## Evaluate: held-out squared error at each output, against what it forecasts
            against = future
            if name in ("echo", "option A"):  # asked for the next value: their last output
                predicted, against = predicted[..., -1:, :], future[:, :1]
            errors[name] = np.median(np.mean((predicted - against) ** 2, axis=(2, 4)), axis=0)
            run.say(f"{name}: {args.seeds} seed(s) to {args.epochs} epochs")
        persistence = np.mean((X_held[:, -1:] - future) ** 2, axis=(0, 2))  # the last value
        best = framing_best(reference, held)  # option B's best at each of its outputs
        return report(run, budgets, weights, persistence, errors, best)


def windows(sizes, steps: int, features: int, seed: int) -> list:
    """Sets of `sizes` windows of sine waves, each set from its own random stream and each window
    its own period and phase (feature f a quarter cycle behind f-1), scaled to 0-1 by a
    MinMaxScaler fitted on the first set: arrays (windows, steps, features)."""
    from sklearn.preprocessing import MinMaxScaler

    sets = []
    for i, n in enumerate(sizes):
        rng = np.random.default_rng([seed, i])
        period = rng.uniform(*PERIODS, size=(n, 1, 1))
        phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
        t = np.arange(steps)[None, :, None]
        lag = np.arange(features)[None, None, :] * np.pi / 2
        sets.append(np.sin(2 * np.pi * t / period + phase - lag))
    scaler = MinMaxScaler().fit(sets[0].reshape(-1, features))
    return [
        scaler.transform(w.reshape(-1, features)).reshape(w.shape).astype("float32") for w in sets
    ]


def build_model(name: str, units: int, lr: float):
    """3 steps of one value in, 3 out: the article's many-to-many model (echo, options A and B),
    or with a Bidirectional LSTM, or an encoder-decoder."""
    import keras
    from keras import layers

    from repro.backend import tensorflow_hidden

    if name == "Bidirectional":
        with tensorflow_hidden():  # else Keras imports TensorFlow for it on JAX and PyTorch
            body = [layers.Bidirectional(layers.LSTM(units, return_sequences=True))]
    elif name == "encoder-decoder":
        body = [
            layers.LSTM(units),  # the encoder: all 3 steps into one vector
            layers.RepeatVector(STEPS_OUT),  # that vector at each output step
            layers.LSTM(units, return_sequences=True),  # the decoder
        ]
    else:
        body = [layers.LSTM(units, return_sequences=True)]  # output t has read inputs 1..t
    model = keras.Sequential(
        [keras.Input(shape=(STEPS_IN, 1)), *body, layers.TimeDistributed(layers.Dense(1))]
    )
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(lr))
    return model


def framing_best(reference: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Option B's best at each output t: the held-out error of the mean future of the nearest
    reference windows by the t values output t has read (the conditional mean, estimated)."""
    from sklearn.neighbors import KNeighborsRegressor

    errors = []
    for t in range(1, STEPS_OUT + 1):
        target = STEPS_IN + t - 1  # output t's value: 3 steps after input t
        knn = KNeighborsRegressor(NEIGHBOURS).fit(reference[:, :t, 0], reference[:, target, 0])
        errors.append(np.mean((knn.predict(held[:, :t, 0]) - held[:, target, 0]) ** 2))
    return np.array(errors, "float64")


## Report


def report(run, budgets, weights: dict, persistence, errors: dict, best) -> int:
    args = run.args
    ratio = {n: e.sum(axis=-1) / persistence[: e.shape[-1]].sum() for n, e in errors.items()}
    best_ratio = float(best.sum() / persistence.sum())
    per_step = lambda e: {f"output {t + 1}": float(v) for t, v in enumerate(e)}  # noqa: E731
    run.table(
        f"Held-out MSE at each output (3 steps after its input), {budgets[-1]} epochs",
        [
            {"model": "persistence", "weights": 0, **per_step(persistence), "/ persistence": 1.0},
            {"model": "option B's best", "weights": "-", **per_step(best)}
            | {"/ persistence": best_ratio},
            *(
                {"model": n, "weights": weights[n], **per_step(errors[n][-1])}
                | {"/ persistence": float(ratio[n][-1])}
                for n in MODELS[2:]
            ),
        ],
    )
    run.table(
        f"Held-out MSE / persistence's (echo, option A: the next value; median of {args.seeds})",
        [{"epochs": b, **{n: float(ratio[n][i]) for n in MODELS}} for i, b in enumerate(budgets)],
    )
    b1 = errors["option B"][:, 0]
    run.expect(0.9 < ratio["echo"][-1] < 1.1, "asked for the next value, the echo gives the last")
    run.expect(ratio["option A"][-1] < 0.5, "trained a step ahead, option A beats persistence")
    run.expect(all(b1 > persistence[0]), "option B's first output never beats persistence")
    run.expect(all(ratio["option B"] > best_ratio), "option B stays above its framing's best")
    run.expect(
        max(ratio["Bidirectional"][-1], ratio["encoder-decoder"][-1]) < best_ratio,
        "read whole, the same 3 inputs beat option B's best",
    )
    return run.answer(
        "asked for the next value, the echo model returns the last ({echo} x persistence's "
        "error); trained a step ahead (option A) it forecasts ({a} x). Option B's first output "
        "has read one value: {b1} error, persistence's {p1}, the best possible {best1}. So "
        "training longer leaves option B above {best} x persistence ({b} at {epochs} epochs); "
        "Bidirectional {bi}, encoder-decoder {ed}.",
        draw=lambda path: picture(path, args, budgets, ratio, best_ratio),
        echo=f"{ratio['echo'][-1]:.2f}",
        a=f"{ratio['option A'][-1]:.2f}",
        b1=f"{b1[-1]:.2g}",
        p1=f"{persistence[0]:.2g}",
        best1=f"{best[0]:.2g}",
        best=f"{best_ratio:.2f}",
        b=f"{ratio['option B'][-1]:.2f}",
        epochs=budgets[-1],
        bi=f"{ratio['Bidirectional'][-1]:.2f}",
        ed=f"{ratio['encoder-decoder'][-1]:.2f}",
    )


def picture(path: str, args, budgets, ratio: dict, best_ratio: float) -> None:
    curves = {n: list(ratio[n]) for n in MODELS}
    curves["option B's best"] = [best_ratio] * len(budgets)
    plots.budget_curves(
        path,
        f"Held-out error / persistence's, median of {args.seeds} seed(s) ({args.backend})",
        budgets,
        curves,
        "MSE / persistence's (echo, A: next value)",
    )


if __name__ == "__main__":
    from repro.run import run_program

    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
