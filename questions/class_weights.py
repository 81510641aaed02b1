"""Sample or class weights with 3D targets?

Keras 2 weighted each step of a sequence's target with compile(sample_weight_mode="temporal").
On Keras 3 this tries that argument, a sample_weight array of shape (samples, steps), and
class_weight with one-hot (samples, steps, classes) targets, as NumPy arrays and as a
tf.data.Dataset (TensorFlow only). The task: label each step with the token one step earlier,
token 1 drawn 85% of the time. What class_weight does to the dataset is checked against one epoch
of per-step weights class_weight[label] from the same initial weights; then balanced per-step
weights and none train on, read at several budgets: the worst class's held-out recall.

    python questions/class_weights.py                           # one seed, on TensorFlow
    python questions/class_weights.py --backend jax --seeds 20  # (no tf.data there)
"""

import traceback
from itertools import pairwise

import numpy as np

from repro import lesson, plots
from repro.backend import seed_everything
from repro.training import load_initial_state

VOCAB, LENGTH, COMMON = 4, 8, 0.85  # tokens 1..4, token 1 this often; 0 labels the first step
EMBEDDING, BATCH = 8, 32
SHORT = 10  # the old answer's epochs: the curves are read at 0.5x, 1x, 1.5x, 2x and 3x it
FLAGS = dict(seeds=1, epochs=3 * SHORT, samples=256, units=16, lr=0.01)
WAYS = ("no weights", "balanced per-step weights")


def main(argv: list[str] | None = None) -> int:
    with lesson.start(__doc__, argv, **FLAGS) as run:
        args, budgets, seen = run.args, sorted({1, *lesson.budgets(run.args.epochs, SHORT)}), []
        models = {way: build_model(args.units, args.lr) for way in WAYS}
        fitting = dict(batch_size=BATCH, shuffle=False, verbose=2 if args.verbose == 2 else 0)
        for seed in range(args.seed, args.seed + args.seeds):
            ## Data: each step labelled with the token before it; token 1 85% of the time
            rng = np.random.default_rng(seed)
            X, y = make_sequences(rng, args.samples)
            X_held, y_held = make_sequences(rng, args.samples)
            Y = np.eye(VOCAB + 1, dtype="float32")[y]  # one-hot targets (samples, steps, 5)
            # "balanced" class weights, as scikit-learn's: steps / (classes x the class's steps)
            balanced = y.size / (VOCAB + 1) / np.bincount(y.ravel(), minlength=VOCAB + 1)
            class_weight = dict(enumerate(balanced.tolist()))  # {class: weight}
            per_step = balanced[y].astype("float32")  # each step its label's: (samples, steps)

            ## Model: both ways from the seed's initial weights (and a new Adam)
            for model in models.values():
                seed_everything(seed)
                load_initial_state(model, build_model(args.units, args.lr))

            ## Train: model.fit with per-step sample weights or none, read at every budget
            for start, end in pairwise([0, *budgets]):
                for way, model in models.items():
                    w = per_step if way == WAYS[1] else None
                    model.fit(X, Y, sample_weight=w, epochs=end, initial_epoch=start, **fitting)
                if end == 1 and seed == args.seed:  # the other ways, from the same weights
                    said = tried(seed, args.units, args.lr, X, Y, class_weight, models)

                ## Evaluate: each class's recall on held-out steps (scikit-learn)
                for way, model in models.items():
                    figures = recall(model, X_held, y_held)
                    seen.append({"seed": seed, "way": way, "epochs": end, **figures})
            run.say(f"seed {seed}: trained to {budgets[-1]} epochs")
        return report(run, budgets, said, seen, seed, class_weight)


def make_sequences(rng, n: int):
    """n sequences of LENGTH tokens, token 1 drawn COMMON of the time, and their labels: the
    token one step earlier (0 at the first step)."""
    p = [COMMON, *[(1 - COMMON) / (VOCAB - 1)] * (VOCAB - 1)]
    X = rng.choice(np.arange(1, VOCAB + 1), size=(n, LENGTH), p=p)
    return X, np.pad(X[:, :-1], ((0, 0), (1, 0)))


def build_model(units: int, lr: float, **compile_args):
    """Embedding -> LSTM(return_sequences=True) -> a softmax over the 5 classes at every step."""
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input(shape=(LENGTH,), dtype="int32"),
            layers.Embedding(VOCAB + 1, EMBEDDING),
            layers.LSTM(units, return_sequences=True),
            layers.TimeDistributed(layers.Dense(VOCAB + 1, activation="softmax")),
        ]
    )
    optimizer = keras.optimizers.Adam(lr)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", **compile_args)
    return model


def tried(seed: int, units: int, lr: float, X, Y, class_weight: dict, models: dict) -> dict:
    """What Keras 3 says to Keras 2's compile argument and to class_weight with 3D targets; on a
    tf.data.Dataset, one epoch from the seed's initial weights against `models` after one."""
    import keras

    def fresh(**compile_args):
        seed_everything(seed)
        return build_model(units, lr, **compile_args)

    keras_2 = lambda: fresh(sample_weight_mode="temporal")  # noqa: E731
    said = {'compile(sample_weight_mode="temporal")': refused(keras_2)}
    said["fit(X, Y, sample_weight=(samples, steps))"] = "trains (the balanced model here)"
    numpy_fit = lambda: fresh().fit(X, Y, class_weight=class_weight, verbose=0)  # noqa: E731
    said["fit(X, Y, class_weight=...), NumPy arrays"] = refused(numpy_fit)
    if keras.backend.backend() != "tensorflow":  # Keras would import TensorFlow for tf.data
        return {**said, "fit(tf.data.Dataset, class_weight=...)": "not tried on this backend"}
    import tensorflow as tf

    dataset, model = tf.data.Dataset.from_tensor_slices((X, Y)).batch(BATCH), fresh()
    said["fit(tf.data.Dataset, class_weight=...)"] = refused(
        lambda: model.fit(dataset, class_weight=class_weight, epochs=1, shuffle=False, verbose=0)
    )
    for way, other in models.items():  # the largest weight difference after one epoch
        pairs = zip(model.get_weights(), other.get_weights(), strict=True)
        said[f"one epoch, largest weight difference from {way}"] = max(
            float(np.max(np.abs(a - b))) for a, b in pairs
        )
    return said


def refused(call) -> str:
    """What Keras raised (and in which of its functions), or "trains"."""
    try:
        call()
    except Exception as e:
        where = traceback.extract_tb(e.__traceback__)[-1].name  # "wrapper": compile's arguments
        return f"{type(e).__name__}: {e}" + ("" if where == "wrapper" else f" (raised in {where})")
    return "trains"


def recall(model, X, y) -> dict:
    """Each class's recall on the held-out steps (scikit-learn), and the lowest."""
    from sklearn.metrics import recall_score

    predicted = model.predict(X, verbose=0).argmax(-1)
    each = recall_score(y.ravel(), predicted.ravel(), labels=range(VOCAB + 1), average=None)
    return {**{f"class {c}": float(r) for c, r in enumerate(each)}, "worst": float(each.min())}


## Report

MET = 0.02  # two recalls this close have met
REFUSED = {"compile": "compile refuses sample_weight_mode", "NumPy": "NumPy refuses class_weight"}


def report(run, budgets, said: dict, seen: list, seed: int, class_weight: dict) -> int:
    import pandas as pd

    rows = [{"weighting": key, "Keras 3": value} for key, value in said.items()]
    run.table("Keras 3 and each way of weighting steps (the first seed)", rows)
    mean = pd.DataFrame(seen).drop(columns="seed").groupby(["way", "epochs"]).mean()
    curves = {way: mean.loc[way, "worst"] for way in WAYS}
    seeds = f"seed {run.args.seed}" if run.args.seeds == 1 else f"mean of {run.args.seeds} seeds"
    rows = pd.DataFrame(curves).reset_index().to_dict("records")
    title = f"The worst class's held-out recall ({seeds})"
    run.table(title, rows)
    last = mean.xs(budgets[-1], level="epochs").reset_index().to_dict("records")
    weights = ", ".join(f"{c}: {w:.2f}" for c, w in class_weight.items())
    run.table(
        f"Each class's recall at {budgets[-1]} epochs (seed {seed}'s weights {weights})", last
    )

    for key, claim in REFUSED.items():
        run.expect(next(v for k, v in said.items() if key in k).startswith("TypeError"), claim)
    apart = {way: said.get(f"one epoch, largest weight difference from {way}") for way in WAYS}
    if apart[WAYS[1]] is not None:  # the check can tell: a weightless epoch lands far off
        same = apart[WAYS[1]] <= 1e-6 < apart[WAYS[0]]
        run.expect(same, "class_weight on a dataset weights each step as class_weight[label]")
    weighted, plain = curves[WAYS[1]].to_numpy(), curves[WAYS[0]].to_numpy()
    s = budgets.index(SHORT) if SHORT in budgets else len(budgets) // 2
    run.expect(weighted[s] > plain[s] + MET, f"balanced weights ahead at {budgets[s]} epochs")
    run.expect(weighted[-1] >= plain[-1] - MET, "no weights not ahead at the last budget")

    met = abs(weighted[-1] - plain[-1]) < MET and min(weighted[-1], plain[-1]) > 0.9
    met = ": they have met" if met else ", not yet met"
    dataset = (
        "was not tried" if apart[WAYS[1]] is None else "weights each step by its label's class"
    )
    return run.answer(
        'Keras 3\'s compile refuses sample_weight_mode="temporal" (TypeError): pass fit a '
        "sample_weight of shape (samples, steps). class_weight with 3D targets: NumPy arrays "
        "raise TypeError; a tf.data.Dataset {dataset}. Balanced weights lift the worst class's "
        "held-out recall sooner: {at[1]:.2f} against {at[2]:.2f} at {at[0]} epochs, "
        "{end[1]:.2f} against {end[2]:.2f} at {end[0]}{met}.",
        draw=lambda path: plots.budget_curves(path, title, budgets, curves, "recall"),
        dataset=f"{dataset} on {run.args.backend}",
        at=[budgets[s], weighted[s], plain[s]],
        end=[budgets[-1], weighted[-1], plain[-1]],
        met=met,
    )


if __name__ == "__main__":
    from repro.run import run_program

    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
