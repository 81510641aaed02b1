"""Outputs of another length: 100 steps in, 10 out: a vector, an encoder-decoder, or feedback?

Three ways to forecast the next 10 steps (two values each) of sine waves from their last 100:
the LSTM's last state into Dense(20), one flat vector; an encoder-decoder (LSTM, RepeatVector,
LSTM, TimeDistributed(Dense(2)): two values at each of 10 steps); and a model trained on the next
step alone, fed its own forecasts back. Each is judged on held-out windows against persistence
(the last values again) at several training budgets. Then Keras' shape error: a (samples, 10, 2)
output fit to flat (samples, 20) targets. Look at which gets close sooner, and at how each one's
error grows with the steps ahead.

    python questions/outputs_length.py                                       # one seed
    python questions/outputs_length.py --backend jax --seeds 5 --epochs 300  # twice as long
"""

import re

import numpy as np

from questions.forecast import windows
from repro import lesson, plots
from repro.study import at_budgets

STEPS_IN, STEPS_OUT, FEATURES = 100, 10, 2  # the readers' 100 in, 10 out; 2 values a step
TRAIN, HELD_OUT = 256, 256  # windows, each set from its own random stream
BASE_EPOCHS = 50  # Adam at 0.01, the whole set a batch; read at 0.5x, 1x, 1.5x, 2x, 3x this
CLOSE = 0.05  # a forecast is close once its error is under 0.05 x persistence's
UNITS = (16, 1, 256, "LSTM units")  # --units: default, lowest, highest, help
MODELS = ("vector", "encoder-decoder", "fed back")
GRAPH_NODE = r" for '\{\{node .*?\}\}.*?' with"  # in TensorFlow's message: not the reader's


def main(argv: list[str] | None = None) -> int:
    with lesson.start(__doc__, argv, seeds=1, epochs=3 * BASE_EPOCHS, units=UNITS, lr=0.01) as run:
        args = run.args

        ## Data: 110 steps of 2 values; the first 100 go in, the last 10 are the future
        train, held = windows((TRAIN, HELD_OUT), STEPS_IN + STEPS_OUT, FEATURES, args.seed)
        X, future = train[:, :STEPS_IN], train[:, STEPS_IN:]
        X_held, future_held = held[:, :STEPS_IN], held[:, STEPS_IN:]
        targets = {
            "vector": future.reshape(TRAIN, STEPS_OUT * FEATURES),  # flat: (samples, 20)
            "encoder-decoder": future,  # with a step axis: (samples, 10, 2)
            "fed back": future[:, 0],  # the next step alone: (samples, 2)
        }

        ## Model: see build_model below
        models = {name: build_model(name, args.units, args.lr) for name in MODELS}

        ## Train: each model from the same seeds, each run read at every budget
        seeds = range(args.seed, args.seed + args.seeds)
        budgets = lesson.budgets(args.epochs, BASE_EPOCHS)
        errors, outputs = {}, {}  # errors: (budgets, 10), held-out MSE each step, seeds' median
        for name in MODELS:
            _, predicted = at_budgets(
                lambda name=name: build_model(name, args.units, args.lr),
                X,
                targets[name],
                seeds,
                budgets,
                batch_size=TRAIN,  # the whole set a batch
                inputs=X_held,  # predicted at every budget: fed back, 10 steps
            )
            ## Evaluate: every forecast as (seeds, budgets, samples, 10, 2)
            outputs[name] = ("samples", *predicted.shape[3:]), models[name].count_params()
            forecast = predicted.reshape(*predicted.shape[:3], STEPS_OUT, FEATURES)
            errors[name] = np.median(np.mean((forecast - future_held) ** 2, axis=(2, 4)), axis=0)
            run.say(f"{name}: {args.seeds} seed(s) to {args.epochs} epochs")
        persistence = np.mean((X_held[:, -1:] - future_held) ** 2, axis=(0, 2))  # (10,)

        ## Train on the wrong shape: a (samples, 10, 2) output fit to flat (samples, 20) targets
        model = models["encoder-decoder"]
        before = model.get_weights()  # to see whether any changed
        try:
            model.fit(X, targets["vector"], epochs=1, batch_size=TRAIN, verbose=0)
            said = "no error"
        except Exception as e:  # Keras compares the shapes before the first update
            said = re.sub(GRAPH_NODE, " with", f"{type(e).__name__}: {str(e).splitlines()[0]}")
        kept = map(np.array_equal, before, model.get_weights())
        return report(run, budgets, outputs, persistence, errors, said, all(kept))


def build_model(name: str, units: int, lr: float):
    """100 steps of 2 values in; 10 steps of 2 out: one flat vector, decoded step by step, or one
    step at a time fed back."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(STEPS_IN, FEATURES))
    if name == "vector":  # return_sequences=False: the last state, then 20 numbers
        model = keras.Sequential([inputs, layers.LSTM(units), layers.Dense(STEPS_OUT * FEATURES)])
    elif name == "encoder-decoder":
        model = keras.Sequential(
            [
                inputs,
                layers.LSTM(units),  # the encoder: its last state
                layers.RepeatVector(STEPS_OUT),  # that state at each of the 10 output steps
                layers.LSTM(units, return_sequences=True),  # the decoder
                layers.TimeDistributed(layers.Dense(FEATURES)),  # 2 values at each step
            ]
        )
    else:
        model = fed_back(units)
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(lr))
    return model


def fed_back(units: int):
    """LSTM -> Dense(2), trained on the next step. Asked to predict, it reads the window, then
    takes each forecast as its next input step, 10 times (as TensorFlow's time series tutorial's
    FeedBack model: the LSTM's cell carries its state on)."""
    import keras
    from keras import layers, ops

    class FedBack(keras.Model):
        def __init__(self):
            super().__init__()
            self.cell, self.dense = layers.LSTMCell(units), layers.Dense(FEATURES)
            self.lstm = layers.RNN(self.cell, return_state=True)  # LSTM(units), and its state

        def build(self, input_shape):
            self.lstm.build(input_shape)
            self.dense.build((None, units))

        def call(self, window, training=False):
            output, *state = self.lstm(window)
            steps = [self.dense(output)]
            if training:  # fit: the next step alone
                return steps[0]
            for _ in range(STEPS_OUT - 1):  # predict: each forecast is the next input step
                output, state = self.cell(steps[-1], state)
                steps.append(self.dense(output))
            return ops.stack(steps, axis=1)

    model = FedBack()
    model.build((None, STEPS_IN, FEATURES))
    return model


## Report


def report(run, budgets, outputs: dict, persistence, errors: dict, said, unchanged) -> int:
    args = run.args
    ratio = {n: e.mean(axis=-1) / persistence.mean() for n, e in errors.items()}
    run.table(
        "Each model's output (what predict gives) and weights",
        [{"model": n, "output": str(shape), "weights": w} for n, (shape, w) in outputs.items()],
    )
    run.table(
        f"Held-out MSE at each step ahead, {budgets[-1]} epochs (median of {args.seeds} seed(s))",
        [
            {"step": t + 1, "persistence": float(persistence[t])}
            | {n: float(errors[n][-1][t]) for n in MODELS}
            for t in range(STEPS_OUT)
        ],
    )
    run.table(
        "Held-out MSE over 10 steps / persistence's, by training budget",
        [{"epochs": b, **{n: float(ratio[n][i]) for n in MODELS}} for i, b in enumerate(budgets)],
    )
    run.table("Fit to flat (samples, 20) targets", [{"Keras": said, "weights kept": unchanged}])
    close = {n: [b for b, r in zip(budgets, ratio[n], strict=True) if r < CLOSE] for n in MODELS}
    at = {n: close[n][0] if close[n] else None for n in MODELS}  # the first budget it is close
    order = sorted(MODELS, key=lambda n: at[n] or np.inf)  # the soonest close first
    fed = errors["fed back"][-1]
    run.expect(all(ratio[n][-1] < 1 for n in MODELS), "every model beats persistence")
    run.expect(at[order[0]] is not None, f"a model gets under {CLOSE} x persistence's error")
    run.expect(fed[-1] > 5 * fed[0], "fed back, the errors compound over the steps")
    run.expect(said != "no error" and unchanged, "fit refuses flat targets before training")
    reached = ", ".join(f"{n} ({at[n]} epochs)" for n in order if at[n])
    late = " and ".join(n for n in order if at[n] is None)
    return run.answer(
        "held-out error over 10 steps at {epochs} epochs: {ratios} x persistence's. First under "
        "{close} x: {sooner}. Fed back, errors compound ({f1} at step 1, {f10} at step 10). An "
        "output (samples, 10, 2) fit to flat (samples, 20) targets: {error} before training.",
        draw=lambda path: picture(path, args, budgets, ratio),
        epochs=budgets[-1],
        ratios=", ".join(f"{n} {ratio[n][-1]:.2f}" for n in MODELS),
        close=CLOSE,
        sooner="; ".join(filter(None, [reached, late and f"{late} not by {budgets[-1]}"])),
        f1=f"{fed[0]:#.2g}",
        f10=f"{fed[-1]:#.2g}",
        error=said.split(":")[0],
    )


def picture(path: str, args, budgets, ratio: dict) -> None:
    plots.budget_curves(
        path,
        f"100 steps in, 10 out: held-out error, median of {args.seeds} seed(s) ({args.backend})",
        budgets,
        {n: list(ratio[n]) for n in MODELS},
        "MSE over 10 steps / persistence's",
    )


if __name__ == "__main__":
    from repro.run import run_program

    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
