"""Can TimeDistributed give a class at every step, and do the padded steps count?

Sequences of 3 to 8 tokens (1-4), padded with 0 at the end, each step labelled with the token one
step earlier, go through Embedding -> LSTM(return_sequences=True) -> TimeDistributed(Dense(5,
softmax)). Three ways with the padding train from the same initial weights: counted (no mask),
Embedding(mask_zero=True), and sample weights 0 on it; labels -1 with ignore_class=-1 are scored
on the masked model. Each is read at several budgets: the accuracy Keras reports (metrics=,
weighted_metrics=) against scikit-learn's on the real steps. Look for how long padding inflates it.

    python questions/label_steps.py                           # one seed, on TensorFlow
    python questions/label_steps.py --backend jax --seeds 20  # the mean of 20 seeds
    python questions/label_steps.py --min-length 8            # no padding: nothing to count
"""

from itertools import pairwise

import numpy as np

from repro import cli, lesson, plots
from repro.backend import seed_everything, startup_lines_dropped
from repro.training import load_initial_state

VOCAB = 4  # tokens 1..4; 0 pads the end and labels the first step: 5 classes
PAD, IGNORED = 0, -1  # the padding token; a padded step's label for ignore_class
EMBEDDING, BATCH = 8, 32
SHORT = 10  # the old answer's epochs: the curves are read at 0.5x, 1x, 1.5x, 2x and 3x it
FLAGS = dict(seeds=1, epochs=3 * SHORT, samples=256, units=16, lr=0.01)
FLAGS.update(min_length=(3, 2, 1000, "fewest tokens"), max_length=(8, 2, 1000, "most tokens"))
WAYS = ("counted", "mask", "zero weights")  # the padded steps: no mask, a mask, sample weights 0


def main(argv: list[str] | None = None) -> int:
    # startup_lines_dropped: TensorFlow's harmless ERROR line as a mask first meets oneDNN
    with lesson.start(__doc__, argv, check=check, **FLAGS) as run, startup_lines_dropped():
        args, budgets, seen = run.args, lesson.budgets(run.args.epochs, SHORT), []
        models = {m: build_model(m, args.max_length, args.units, args.lr) for m in (False, True)}
        fitting = dict(batch_size=BATCH, shuffle=False, verbose=2 if args.verbose == 2 else 0)
        for seed in range(args.seed, args.seed + args.seeds):
            ## Data: tokens padded with 0 at the end, each step labelled with the token before it
            rng = np.random.default_rng(seed)
            X, y = make_sequences(rng, args.samples, args.min_length, args.max_length)
            X_held, y_held = make_sequences(rng, args.samples, args.min_length, args.max_length)

            for way in WAYS:
                ## Model: every way from the seed's initial weights (and a new Adam)
                model, mask = models[way == "mask"], way == "mask"
                seed_everything(seed)
                load_initial_state(model, build_model(mask, args.max_length, args.units, args.lr))

                ## Train: model.fit, read at every budget
                w = step_weights(way, X)
                for start, end in pairwise([0, *budgets]):
                    model.fit(X, y, sample_weight=w, epochs=end, initial_epoch=start, **fitting)

                    ## Evaluate: what Keras reports, and scikit-learn on the real steps
                    figures = measure(model, way, X_held, y_held)
                    seen.append({"seed": seed, "way": way, "epochs": end, **figures})
            run.say(f"seed {seed}: {', '.join(WAYS)} trained to {budgets[-1]} epochs")
        return report(run, budgets, seen, X[0], y[0])


def make_sequences(rng, n: int, shortest: int, longest: int):
    """n sequences of shortest..longest tokens padded with PAD to `longest`, and their labels:
    the token one step earlier (PAD at the first step and on the padding)."""
    lengths = rng.integers(shortest, longest + 1, size=n)
    tokens = rng.integers(1, VOCAB + 1, size=(n, longest))
    X = np.where(np.arange(longest) < lengths[:, None], tokens, PAD)
    y = np.pad(X[:, :-1], ((0, 0), (1, 0)))  # shifted a step: PAD first
    return X, np.where(X == PAD, PAD, y)


def build_model(mask: bool, length: int, units: int, lr: float):
    """Embedding -> LSTM(return_sequences=True) -> a softmax over the 5 classes at every step."""
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input(shape=(length,), dtype="int32"),
            layers.Embedding(VOCAB + 1, EMBEDDING, mask_zero=mask),
            layers.LSTM(units, return_sequences=True),
            layers.TimeDistributed(layers.Dense(VOCAB + 1, activation="softmax")),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(lr),
        loss="sparse_categorical_crossentropy",  # integer targets (samples, steps)
        metrics=["accuracy"],  # every step that is not masked, whatever its weight
        weighted_metrics=["accuracy"],  # each step by its sample weight
    )
    return model


def step_weights(way: str, X):
    """0 on the padding for "zero weights", else 1 at every step: the same as no weights."""
    return (X != PAD if way == "zero weights" else np.ones(X.shape)).astype("float32")


def measure(model, way: str, X, y) -> dict:
    """Keras' evaluate; scikit-learn's accuracy on the real and the padded steps; on the model's
    outputs, without a mask, the loss of labels -1 on the padding with ignore_class=-1, and of
    integer (samples, steps) and one-hot (samples, steps, 5) targets over every step."""
    import keras
    from sklearn.metrics import accuracy_score

    w, one_batch = step_weights(way, X), len(X)  # one batch: the loss is the mean of all steps
    said = model.evaluate(X, y, sample_weight=w, batch_size=one_batch, verbose=0, return_dict=True)
    probs = model.predict(X, batch_size=one_batch, verbose=0)
    predicted, real = probs.argmax(-1), X != PAD
    ignoring = keras.losses.SparseCategoricalCrossentropy(ignore_class=IGNORED)
    return {
        "loss": said["loss"],
        "metrics=": said["accuracy"],
        "weighted_metrics=": said["weighted_accuracy"],
        "real steps": accuracy_score(y[real], predicted[real]),
        "padded steps": accuracy_score(y[~real], predicted[~real]) if (~real).any() else np.nan,
        "ignore_class loss": float(ignoring(np.where(real, y, IGNORED), probs)),
        "integer loss": float(keras.losses.SparseCategoricalCrossentropy()(y, probs)),
        "one-hot loss": float(keras.losses.CategoricalCrossentropy()(np.eye(VOCAB + 1)[y], probs)),
        "padded share": float(np.mean(~real)),
    }


def check(args) -> None:
    if args.min_length > args.max_length:
        raise cli.UsageError(
            f"argument --min-length: {args.min_length} is over --max-length {args.max_length}"
        )
    need = 4 * 2 * args.samples * args.max_length * (8 * args.units + EMBEDDING + 3 * VOCAB)
    cli.check_memory("--samples/--max-length/--units", need, "training needs", "pass smaller ones")


## Report

PADDING = {"counted": "no mask", "mask": "Embedding(mask_zero=True)", "zero weights": "weights 0"}
SHOWN = ["loss", "metrics=", "weighted_metrics=", "real steps", "padded steps", "ignore_class loss"]
WEIGHTS = (
    "With 0 weights on the padding, metrics= says {metrics:.3f}, weighted_metrics= {weighted:.3f}."
)
AGREE = "With sample weights, metrics= and weighted_metrics= agree ({metrics:.3f}, {weighted:.3f})."


def report(run, budgets, seen: list, x, y) -> int:
    import pandas as pd

    df, named = pd.DataFrame(seen), {"input": x, "label": y}
    rows = [{"": k, **{str(t): int(v) for t, v in enumerate(seq)}} for k, seq in named.items()]
    run.table(f"A training sequence (seed {run.args.seed})", rows)
    mean = df.drop(columns="seed").groupby(["way", "epochs"]).mean()  # of the seeds
    curves = {  # held-out accuracy over the budgets
        "counted: Keras": mean.loc["counted", "metrics="],
        **{f"{w}: real steps": mean.loc[w, "real steps"] for w in WAYS},
        "zero weights: metrics=": mean.loc["zero weights", "metrics="],
    }
    seeds = f"seed {run.args.seed}" if run.args.seeds == 1 else f"mean of {run.args.seeds} seeds"
    padded, rows = df["padded share"].mean(), pd.DataFrame(curves).reset_index()
    run.table(f"Held-out accuracy ({seeds}, {padded:.0%} of steps padded)", rows.to_dict("records"))
    last = mean.xs(budgets[-1], level="epochs").loc[list(WAYS), SHOWN].reset_index()
    last.insert(1, "the padding", last["way"].map(PADDING))
    run.table(f"At {budgets[-1]} epochs, what Keras and scikit-learn say", last.to_dict("records"))

    way, share, real_steps = df["way"], df["padded share"], df["real steps"]
    mixed = (1 - share) * real_steps + share * df["padded steps"].fillna(0)  # every step counted
    alone = df["metrics="].where(way == "mask", df["weighted_metrics="])  # should be real steps
    counts = np.allclose(df["metrics="][way != "mask"], mixed[way != "mask"], atol=1e-4)
    run.expect(counts, "without a mask, metrics= counts the padded steps, sample weight 0 or not")
    leaves = np.allclose(alone[way != "counted"], real_steps[way != "counted"], atol=1e-4)
    run.expect(leaves, "a mask, and weighted_metrics= with 0 weights, report the real steps alone")
    masked = df[way == "mask"]
    ignored = np.allclose(masked["ignore_class loss"], masked["loss"], rtol=1e-5)
    run.expect(ignored, "labels -1 with ignore_class=-1 give the mask's loss")
    targets = np.allclose(df["integer loss"], df["one-hot loss"], rtol=1e-5)
    run.expect(targets, "one-hot and integer targets give the same loss")
    real = curves["counted: real steps"].to_numpy()
    apart = np.maximum(curves["counted: Keras"], curves["mask: real steps"]).to_numpy() - real
    meet = next((b for i, b in enumerate(budgets) if apart[i:].max() < 0.005), None)
    run.expect(meet, "without a mask, the real steps catch up with the mask's within the budgets")

    s, title = budgets.index(SHORT) if SHORT in budgets else 0, f"Held-out accuracy ({seeds})"
    return run.answer(
        "yes, a softmax at every step gives each step a class (one-hot or integer targets: the "
        "same loss). {padding}: at {epochs} epochs {said:.3f} reported, {real:.3f} on the real "
        "steps (masked: {mask:.3f}); {until}. " + (WEIGHTS if padded else AGREE),
        draw=lambda path: plots.budget_curves(path, title, budgets, curves, "accuracy"),
        padding="Unmasked padding inflates Keras' accuracy" if padded else "No step is padded",
        epochs=budgets[s],
        said=curves["counted: Keras"].iloc[s],
        real=real[s],
        mask=curves["mask: real steps"].iloc[s],
        until=f"all three agree from {meet} epochs on" if meet else "they still differ at the end",
        metrics=curves["zero weights: metrics="].iloc[-1],
        weighted=mean.loc["zero weights", "weighted_metrics="].iloc[-1],
    )


if __name__ == "__main__":
    from repro.run import run_program

    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
