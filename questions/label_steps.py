"""Can TimeDistributed give a class at every step, and do the padded steps count?

Token sequences of --min-length to --max-length tokens (1..--vocab), padded with 0 at the end,
each step labeled with the token one step earlier (a delayed echo: the LSTM must remember), go
through LSTM(return_sequences=True) -> TimeDistributed(Dense(vocab + 1, softmax)). From the same
seed and initial weights: no_mask, mask (Embedding(mask_zero=True)) and sample_weight (0 on the
padding), each with the accuracy Keras reports beside scikit-learn's on the real steps, on training
and held-out sequences; labels -1 on the padding with SparseCategoricalCrossentropy(ignore_class=-1)
against the mask; then Dense without the wrapper, one-hot against integer targets, and
class_weight with 3D targets (NumPy arrays, then a tf.data.Dataset) against per-step weights on
an imbalanced variant.

    python questions/label_steps.py             # vocabulary 4, 3 to 8 tokens, 256 sequences
    python questions/label_steps.py --seeds 5   # each figure's median and range over 5 seeds

Expected: no_mask's reported accuracy above its real steps' while training is short; mask and
sample_weight agree, and ignore_class=-1 gives the mask's loss; with sample weights
metrics=["accuracy"] counts the padded steps and weighted_metrics does not; class_weight refused on
NumPy arrays, accepted on a tf.data.Dataset (TensorFlow) with each step weighted by its class.
"""

import contextlib
import sys
from dataclasses import dataclass
from functools import partial

import numpy as np

import common
from repro import cli, plots, training
from repro.backend import seed_everything, startup_lines_dropped
from repro.run import conclude, run_program, start

QUESTION = __doc__.splitlines()[0]
PROG = "questions/label_steps.py"
PAD = 0  # the padding token, and the class of a step with no token before it
IGNORED = -1  # the label of a padded step for a loss with ignore_class=IGNORED
RUNS = {  # name: what happens to the padded steps
    "no_mask": "counted in the loss and the metrics",
    "mask": "left out by the mask of Embedding(mask_zero=True)",
    "sample_weight": "weighted 0 by 2D sample weights",
}
# A short run: the masked model is right on the real steps, the unmasked one not yet everywhere
EPOCHS, LR, UNITS, EMBEDDING, BATCH = 10, 0.01, 16, 8, 32
COMMON_TOKEN = 0.85  # the imbalanced variant: token 1 this often, the others share the rest
MUST_REACH, MUST_AGREE = 0.9, 0.02  # --check: masked real-step accuracy, and mask vs weights


## Data: token sequences padded with 0 at the end, each step labeled with the token before it


def make_sequences(rng, n: int, args, p=None):
    """n sequences of min..max tokens (drawn with probabilities p), padded with PAD at the end,
    and their labels: the token one step earlier (PAD at the first step and on the padding)."""
    lengths = rng.integers(args.min_length, args.max_length + 1, size=n)
    tokens = rng.choice(np.arange(1, args.vocab + 1), size=(n, args.max_length), p=p)
    X = np.where(np.arange(args.max_length) < lengths[:, None], tokens, PAD)
    y = np.zeros_like(X)
    y[:, 1:] = X[:, :-1]
    y[X == PAD] = PAD
    return X, y


@dataclass
class Sequences:
    """One seed's training and held-out sequences, and its random stream: the imbalanced
    variant is drawn from it next."""

    seed: int
    rng: np.random.Generator
    X: np.ndarray
    y: np.ndarray
    X_held: np.ndarray
    y_held: np.ndarray


def data(args, seed: int) -> Sequences:
    """The seed's training and held-out sequences (two draws of one stream)."""
    rng = np.random.default_rng(seed)
    (X, y), (X_held, y_held) = (make_sequences(rng, args.samples, args) for _ in range(2))
    return Sequences(seed, rng, X, y, X_held, y_held)


def imbalanced(args, rng) -> list:
    """Training and held-out sequences by the same rule, with token 1 COMMON_TOKEN of the time."""
    p = np.full(args.vocab, (1 - COMMON_TOKEN) / (args.vocab - 1))
    p[0] = COMMON_TOKEN
    return [make_sequences(rng, args.samples, args, p) for _ in range(2)]


def print_example(args, X, y) -> None:
    """The rule, and one sequence with its labels step by step."""
    print(
        f"Rule: each step's label is the token one step earlier (tokens 1-{args.vocab}; 0 at the "
        f"first step and on the padding). {args.samples} training and {args.samples} held-out "
        f"sequences of {args.min_length}-{args.max_length} tokens, padded with 0 at the end:"
    )
    steps = [str(t) for t in range(args.max_length)]
    common.print_table(["step", *steps], [["input", *X], ["label", *y]])


## Model: Embedding -> LSTM(return_sequences=True) -> a softmax over the classes at every step


def build_model(args, mask: bool, head: str = "timedistributed", ignore_class=None):
    """Embedding -> LSTM(return_sequences=True) -> a softmax over the K classes at every step;
    with ignore_class, the loss leaves out the steps labeled with it."""
    import keras
    from keras import layers

    classes = args.vocab + 1
    dense = layers.Dense(classes, activation="softmax")
    # An epoch's batches in one call: less Python between updates (PyTorch allows only one)
    per_call = 1 if keras.backend.backend() == "torch" else -(-args.samples // BATCH)
    model = keras.Sequential(
        [
            keras.Input(shape=(args.max_length,), dtype="int32"),
            layers.Embedding(classes, EMBEDDING, mask_zero=mask),
            layers.LSTM(args.units, return_sequences=True),
            layers.TimeDistributed(dense) if head == "timedistributed" else dense,
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(args.lr),
        # integer targets, (samples, steps); ignore_class=None counts every step
        loss=keras.losses.SparseCategoricalCrossentropy(ignore_class=ignore_class),
        metrics=["accuracy"],  # ignores sample weights
        weighted_metrics=["accuracy"],  # honours them; Keras names it weighted_accuracy
        steps_per_execution=per_call,
    )
    return model


def initial_weights(args, seed: int) -> list:
    """The seed's initial weights: every run of the seed starts from them."""
    seed_everything(seed)
    return build_model(args, mask=False).get_weights()


def probabilities(model, X) -> np.ndarray:
    import keras

    return keras.ops.convert_to_numpy(model(X, training=False))


## Train: model.fit with per-step sample weights, from the seed's initial weights


def step_weights(run: str, X) -> np.ndarray:
    """1 for every step, but 0 on the padding in the sample_weight run. The other runs pass ones
    (the same as no weights) so that runs of one model share its compiled training step: tracing
    it takes longer than the training."""
    counts = X != PAD if run == "sample_weight" else np.ones(X.shape, bool)
    return counts.astype("float32")


def balanced_class_weights(y, real, classes: int) -> np.ndarray:
    """Each class's weight, scikit-learn's "balanced" on the real steps' labels (steps / (classes
    present x that class's steps)); 0 for a class no real step has."""
    from sklearn.utils.class_weight import compute_class_weight

    present = np.unique(y[real])
    balanced = np.zeros(classes)
    balanced[present] = compute_class_weight("balanced", classes=present, y=y[real])
    return balanced


def balanced_step_weights(y, real, classes: int) -> np.ndarray:
    """Each real step weighted by its label's balanced class weight; 0 on the padding. What
    class_weight does on a tf.data.Dataset, less the padding's weight."""
    return (balanced_class_weights(y, real, classes)[y] * real).astype("float32")


def train(args, model, initial: list, X, y, weights, seconds: dict) -> None:
    """model.fit from the initial weights and a new Adam, both taken from a new model (a new
    one each time: on JAX, fit takes over the buffers of the values it starts from)."""
    fresh = build_model(args, mask=model.layers[0].mask_zero)
    fresh.set_weights(initial)
    training.load_initial_state(model, fresh)
    # --verbose 2: Keras' line per epoch without its timings, so that two runs print the same
    lines = [training.epoch_lines(args.epochs, -(-len(X) // BATCH))] if args.verbose == 2 else []
    options = {"batch_size": BATCH, "epochs": args.epochs, "verbose": 0, "callbacks": lines}
    with training.timed(seconds, "fit"):
        model.fit(X, y, sample_weight=weights, shuffle=False, **options)


def tensorflow_quiet(verbose: int):
    """TensorFlow logs harmless ERROR records when a mask first meets oneDNN, and for batches of
    other sizes: filtered as at the start (--verbose 2 shows them)."""
    return contextlib.nullcontext() if verbose == 2 else startup_lines_dropped()


## Evaluate: what Keras reports against scikit-learn on the real and the padded steps


def measure(model, X, y, weights) -> dict:
    """What Keras reports (evaluate), and scikit-learn's accuracy on the real and padded steps."""
    from sklearn.metrics import accuracy_score

    said = model.evaluate(X, y, sample_weight=weights, verbose=0, return_dict=True)
    predicted, real, padded = probabilities(model, X).argmax(-1), X != PAD, X == PAD
    return {
        "reported_accuracy": float(said["accuracy"]),
        "weighted_accuracy": float(said["weighted_accuracy"]),
        "real_step_accuracy": float(accuracy_score(y[real], predicted[real])),
        "padded_step_accuracy": float(accuracy_score(y[padded], predicted[padded]))
        if padded.any()
        else 1.0,
        "loss": float(said["loss"]),
        "padded_share": float(padded.mean()),
    }


def padding_runs(args, models: dict, s: Sequences, initial: list, seconds: dict) -> list:
    """Lesson 1, do the padded steps count: no_mask, mask and sample_weight, each trained from
    the seed's initial weights, measured on held-out and training sequences."""
    runs = []
    for name in RUNS:
        model = models[name == "mask"]
        train(args, model, initial, s.X, s.y, step_weights(name, s.X), seconds)
        held = measure(model, s.X_held, s.y_held, step_weights(name, s.X_held))
        seen = measure(model, s.X, s.y, step_weights(name, s.X))
        runs.append({"name": name, **held, "train": seen})
        if args.verbose:
            print(f"seed {s.seed} {name}: held-out loss {held['loss']:.4f}", file=sys.stderr)
    return runs


def labels_ignored(args, masked, s: Sequences) -> dict:
    """Padding without a mask: the padded steps labeled IGNORED and a loss with
    ignore_class=IGNORED, on the masked run's trained weights (padding comes after the real steps,
    so their outputs are the mask's): its loss against the mask's on the held-out sequences. The
    same loss gives the same gradients: training with it is training with the mask."""
    ones = step_weights("mask", s.X_held)
    model = build_model(args, mask=False, ignore_class=IGNORED)
    model.set_weights(masked.get_weights())
    ignored = measure(model, s.X_held, np.where(s.X_held == PAD, IGNORED, s.y_held), ones)
    said = masked.evaluate(s.X_held, s.y_held, sample_weight=ones, verbose=0, return_dict=True)
    return {**ignored, "mask_loss": float(said["loss"])}


def heads_and_targets(args, masked, s: Sequences) -> dict:
    """Lesson 2, on the trained masked model: labels IGNORED with ignore_class give its loss
    without a mask, a plain Dense with its weights the same outputs as TimeDistributed(Dense),
    and one-hot targets the same loss as integer ones."""
    import keras

    plain = build_model(args, mask=True, head="dense")
    plain.set_weights(masked.get_weights())
    probs = probabilities(masked, s.X_held)
    one_hot = keras.losses.categorical_crossentropy(np.eye(args.vocab + 1)[s.y_held], probs)
    sparse = keras.losses.sparse_categorical_crossentropy(s.y_held, probs)
    loss_gap = keras.ops.convert_to_numpy(one_hot - sparse)
    outputs_gap = probabilities(plain, s.X_held) - probs
    return {
        "ignore_class": labels_ignored(args, masked, s),
        "td_vs_dense_max_difference": float(np.max(np.abs(outputs_gap))),
        "one_hot_vs_sparse_loss_difference": float(np.max(np.abs(loss_gap))),
    }


def class_weights(args, masked, s: Sequences, initial: list, seconds: dict) -> dict:
    """Lesson 3, on the imbalanced variant: per-class recall on held-out real steps, trained as
    it comes and with per-step balanced weights; and what Keras says to class_weight."""
    from sklearn.metrics import recall_score

    (X, y), (X_held, y_held) = imbalanced(args, s.rng)
    real, held_real, classes = X != PAD, X_held != PAD, np.arange(args.vocab + 1)
    balanced = balanced_class_weights(y, real, len(classes))
    recall = {}
    for name, weights in (
        ("unweighted", real.astype("float32")),
        ("per_step_weights", balanced_step_weights(y, real, len(classes))),
    ):
        train(args, masked, initial, X, y, weights, seconds)
        predicted = probabilities(masked, X_held).argmax(-1)[held_real]
        truth = y_held[held_real]
        score = recall_score(truth, predicted, labels=classes, average=None, zero_division=0)
        recall[name] = score.tolist()
    return {
        **class_weight_with_3d_targets(args, X, y, dict(enumerate(balanced.tolist()))),
        "common_token_share": COMMON_TOKEN,
        "class_share": [float(np.mean(y[real] == c)) for c in classes],
        "recall": recall,
    }


def class_weight_with_3d_targets(args, X, y, class_weight: dict) -> dict:
    """model.fit with class_weight and one-hot (samples, steps, K) targets, as NumPy arrays and
    as a tf.data.Dataset of the same arrays: what Keras says to each, and for the dataset the
    weight Keras' own map (the one fit applies) gives each step of the first sequence."""
    model = build_model(args, mask=True)  # the mask keeps the padding (class 0 too) out
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    one_hot = np.eye(args.vocab + 1, dtype="float32")[y]
    said = {"numpy_arrays": fit_said(model, X, one_hot, class_weight)}
    if args.backend != "tensorflow":  # tf.data feeds the other backends by other paths
        return {**said, "tf_data": f"not tried on {args.backend}", "example": None}
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((X, one_hot)).batch(BATCH)
    said["tf_data"] = fit_said(model, dataset, None, class_weight)
    try:  # Keras' own map, not public: docs/layout.md lists it among the internals relied on
        from keras.src.trainers.data_adapters.tf_dataset_adapter import make_class_weight_map_fn
    except ImportError:
        return {**said, "example": None}
    _, _, weights = next(iter(dataset.map(make_class_weight_map_fn(class_weight))))
    example = {"input": X[0].tolist(), "labels": y[0].tolist()}
    example["weights"] = weights[0].numpy().tolist()
    example["class_weights"] = [class_weight[c] for c in sorted(class_weight)]
    return {**said, "example": example}


def fit_said(model, x, y, class_weight: dict) -> str:
    """One epoch of model.fit with class_weight: what Keras says, and where it raised."""
    import traceback

    try:
        model.fit(x, y, class_weight=class_weight, epochs=1, verbose=0, shuffle=False)
    except Exception as e:  # as Keras words it: the last line that is not a graph node's name
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        said = next((line for line in reversed(lines) if not line.startswith("[[")), "")
        where = traceback.extract_tb(e.__traceback__)[-1].name
        return f"refused: {type(e).__name__}: {said[:200]} (raised in {where})"
    return "accepted: one epoch ran"


def across(results: list, reduce):
    """Every float of the per-seed results reduced across seeds by `reduce`; the rest as the
    first seed has it."""
    first = results[0]
    if isinstance(first, dict):  # an example is one sequence: the first seed's, as it is
        return {
            k: first[k] if k == "example" else across([r[k] for r in results], reduce)
            for k in first
        }
    if isinstance(first, list):
        return [across(list(items), reduce) for items in zip(*results, strict=True)]
    return reduce(results) if isinstance(first, float) else first


def summarized(per_seed: list, X, y) -> dict:
    """The results: the example sequence, and each figure (its median over the seeds); with
    several seeds also each figure's range, and every seed's figures."""
    median = across(per_seed, lambda v: float(np.median(v)))
    results = {"example": {"input": X.tolist(), "labels": y.tolist()}, **median}
    del results["seed"]  # the seeds are in the config
    if len(per_seed) > 1:
        spread = across(per_seed, lambda v: [min(v), max(v)])
        del spread["seed"]
        results.update(range=spread, per_seed=per_seed)
    return results


def main(argv: list[str] | None = None) -> int:
    """Run with these command-line arguments (none: the defaults); the exit status."""
    with start(None, argv, add_arguments, check_arguments, PROG, QUESTION, SHARED) as args:
        ## Data: the rule, and the first training sequence
        first = data(args, args.seed)
        print_example(args, first.X[0], first.y[0])

        ## Model: one with a mask, one without; every run starts from the seed's initial weights
        models = {mask: build_model(args, mask) for mask in (False, True)}
        if args.verbose:
            models[True].summary()

        ## Train and evaluate, seed by seed: the three lessons in turn
        seconds, per_seed = {}, []
        with tensorflow_quiet(args.verbose):
            for seed in range(args.seed, args.seed + args.seeds):
                s, initial = data(args, seed), initial_weights(args, seed)
                runs = padding_runs(args, models, s, initial, seconds)
                heads = heads_and_targets(args, models[True], s)
                weights = class_weights(args, models[True], s, initial, seconds)
                per_seed.append({"seed": seed, "runs": runs, **heads, "class_weight": weights})

        results = summarized(per_seed, first.X[0], first.y[0])
        answer = report(args, results)
        return conclude(args, answer, results, failed(results), partial(draw, results), seconds)


## Report: the tables, the answer, the --check verdict and the picture

COLUMNS = ["run", "sequences", "loss", "accuracy", "weighted_accuracy", "real steps (sklearn)"]
FIGURES = ("loss", "reported_accuracy", "weighted_accuracy", "real_step_accuracy")


def report(args, r: dict) -> str:
    """Print the figures' tables (medians and ranges with --seeds); return the answer they give."""
    spread, seeds = r.get("range"), range(args.seed, args.seed + args.seeds)
    which = f"seeds {seeds[0]}-{seeds[-1]}: median (range)" if spread else f"seed {args.seed}"
    print(f"\n{args.epochs} epochs, {args.units} units, batches of {BATCH}, {which}")

    def shown(values: dict, lo_hi: dict | None) -> list[str]:
        ranges = [f" ({lo_hi[k][0]:.3f}-{lo_hi[k][1]:.3f})" if lo_hi else "" for k in FIGURES]
        return [f"{values[k]:.3f}{extra}" for k, extra in zip(FIGURES, ranges, strict=True)]

    rows = []
    for i, run in enumerate(r["runs"]):
        ranges = spread["runs"][i] if spread else {"train": None}
        rows.append([run["name"], "train", *shown(run["train"], ranges["train"])])
        rows.append([run["name"], "held-out", *shown(run, spread and ranges)])
    print("\nThe three runs: Keras' evaluate (accuracy from metrics=, weighted_accuracy from")
    print("weighted_metrics=) and scikit-learn's accuracy_score on the real steps alone")
    common.print_table(COLUMNS, rows)
    plain, mask, weighted = r["runs"]
    print(f"  Padded: {plain['train']['padded_share']:.0%} of the training steps, ", end="")
    print(f"{plain['padded_share']:.0%} of the held-out. ", end="")
    print("; ".join(f"{name}: {how}" for name, how in RUNS.items()))
    ig = r["ignore_class"]
    gap = abs(ig["loss"] - ig["mask_loss"])
    print(
        f"\nNo mask, labels {IGNORED} on the padding and SparseCategoricalCrossentropy(ignore_"
        f"class={IGNORED}), the mask run's trained weights:\n  held-out loss {ig['loss']:.6f}, "
        f"the mask's {ig['mask_loss']:.6f} (difference {gap:.1e}); real steps (sklearn) "
        f"{ig['real_step_accuracy']:.3f}, the mask's {mask['real_step_accuracy']:.3f}; "
        f"metrics=['accuracy'] counts the {IGNORED} labels as wrong: {ig['reported_accuracy']:.3f}"
    )

    cw, recall = r["class_weight"], r["class_weight"]["recall"]
    print(
        "\nTimeDistributed(Dense) and a plain Dense on the 3D output, the same weights: largest "
        f"output difference {r['td_vs_dense_max_difference']:.1e}\nOne-hot (samples, steps, K) "
        "targets with categorical_crossentropy and integer (samples, steps) targets with "
        f"sparse_categorical_crossentropy: largest loss difference "
        f"{r['one_hot_vs_sparse_loss_difference']:.1e}\n\nclass_weight (scikit-learn's "
        "balanced weights) with one-hot (samples, steps, K) targets, one epoch of model.fit:\n"
        f"  NumPy arrays: {cw['numpy_arrays']}\n  tf.data.Dataset of the same arrays: "
        f"{cw['tf_data']}"
    )
    if cw["example"]:
        ex = cw["example"]
        print(
            "  The weight Keras' own map (make_class_weight_map_fn, what fit applies to a "
            "dataset) gives each\n  step of the first sequence: its label's class weight, the "
            "padding's too (class 0; the mask leaves it out)"
        )
        common.print_table(
            ["step", *map(str, range(len(ex["input"])))],
            [
                ["input", *ex["input"]],
                ["label", *ex["labels"]],
                ["weight", *(f"{w:.2f}" for w in ex["weights"])],
            ],
        )
        weights = ", ".join(f"{c}: {w:.2f}" for c, w in enumerate(ex["class_weights"]))
        print(f"  class weights: {weights}")
    print(
        f"\nImbalanced variant (token 1 {cw['common_token_share']:.0%} of the time): recall of "
        "each class on held-out real steps (scikit-learn's recall_score)"
    )
    common.print_table(
        ["class", "share of labels", "unweighted", "per-step weights (balanced)"],
        [
            [str(c), f"{share:.2f}", *(f"{recall[k][c]:.2f}" for k in recall)]
            for c, share in enumerate(cw["class_share"])
        ],
    )

    reported, real = plain["reported_accuracy"], plain["real_step_accuracy"]
    rare = range(2, len(cw["class_share"]))  # the tokens other than the common one
    before, after = (min(recall[k][c] for c in rare) for k in recall)
    padded = (
        f"the {plain['padded_share']:.0%} padded steps {plain['padded_step_accuracy']:.0%} right"
        if plain["padded_share"] > 0
        else "no step is padded at these lengths"
    )
    refused = cw["numpy_arrays"].split(": ")
    numpy_said = f"{refused[0]} ({refused[1]})" if refused[0] == "refused" else refused[0]
    tf_said = cw["tf_data"].split(":")[0]
    if cw["example"]:
        ex = cw["example"]
        by_class = np.allclose(ex["weights"], np.array(ex["class_weights"])[ex["labels"]])
        tf_said += ", each step weighted by its label's class" if by_class else ", not by class"
    holds = f"seeds {seeds[0]}-{seeds[-1]} (medians)" if spread else f"seed {args.seed}"
    return (
        f"Answer: at {args.epochs} epochs, {holds}, on {args.backend}: yes, a softmax at every "
        "step labels every step (TimeDistributed or a plain Dense: the same outputs). Padded steps "
        "count in the accuracy Keras reports unless masked: without a mask "
        f"{reported - real:+.3f} here (reported {reported:.3f} held-out, real steps {real:.3f}; "
        f"{padded}); a mask reports the real steps' {mask['reported_accuracy']:.3f}, and so do "
        f"0 sample weights with weighted_metrics ({weighted['weighted_accuracy']:.3f}) but not "
        f"with metrics ({weighted['reported_accuracy']:.3f}); labels {IGNORED} with "
        f"ignore_class={IGNORED} give the mask's loss (difference "
        f"{gap:.1e}). class_weight with 3D targets: NumPy arrays "
        f"{numpy_said}, a tf.data.Dataset {tf_said}; the rare tokens' lowest held-out recall "
        f"was {before:.2f} unweighted, {after:.2f} with balanced per-step weights."
    )


def failed(r: dict) -> str | None:
    """Why the figures would not support the answer (--check), or None when they do."""
    real = {run["name"]: run["real_step_accuracy"] for run in r["runs"]}
    if not real["mask"] >= MUST_REACH:
        return f"the masked run's held-out real-step accuracy {real['mask']:.3f} < {MUST_REACH}"
    if not abs(real["mask"] - real["sample_weight"]) <= MUST_AGREE:
        return f"mask and sample_weight differ by over {MUST_AGREE} on the real steps"
    return None


BARS = {  # the left panel's bars for each run: label, figure
    "Keras: accuracy (metrics=)": "reported_accuracy",
    "Keras: weighted_accuracy (weighted_metrics=)": "weighted_accuracy",
    "scikit-learn: the real steps": "real_step_accuracy",
    "scikit-learn: the padded steps": "padded_step_accuracy",
}
TREATED = {"no_mask": "counted", "mask": "masked", "sample_weight": "weighted 0"}


def draw(results: dict, path: str) -> None:
    """--plot: held-out accuracy as Keras reports it and as the real and the padded steps earn it,
    for each run; and each class's recall on the imbalanced variant, unweighted and weighted."""
    fig, (left, right) = plots.figure(1, 2, height=5)
    left.get_gridspec().set_width_ratios([3, 2])  # four bars a run, two a class
    runs = results["runs"]
    width = 0.8 / len(BARS)
    for i, (label, key) in enumerate(BARS.items()):
        x = np.arange(len(runs)) + (i - (len(BARS) - 1) / 2) * width
        bars = left.bar(x, [run[key] for run in runs], width, label=label)
        left.bar_label(bars, fmt="%.2f", fontsize="small")
    names = [f"{run['name']}\n(padding {TREATED[run['name']]})" for run in runs]
    left.set_xticks(range(len(runs)), names)
    left.set(title="Held-out accuracy: reported and earned", xlabel="run", ylabel="accuracy")

    cw = results["class_weight"]
    classes = np.arange(len(cw["class_share"]))
    labels = {"unweighted": "unweighted", "per_step_weights": "per-step weights (balanced)"}
    for i, (key, recall) in enumerate(cw["recall"].items()):
        bars = right.bar(classes + (i - 0.5) * 0.4, recall, 0.4, label=labels[key])
        right.bar_label(bars, fmt="%.2f", fontsize="small")
    shares = [f"{c}\n{share:.0%}" for c, share in zip(classes, cw["class_share"], strict=True)]
    right.set_xticks(classes, shares)
    right.set(
        title=f"Token 1 {cw['common_token_share']:.0%} of the time: recall per class",
        xlabel="class, and its share of the labels",
        ylabel="recall on held-out real steps",
    )
    for ax in (left, right):  # the legend above the bars, which reach 1
        ax.set_ylim(0, 1.3)
        ax.set_yticks(np.linspace(0, 1, 6))
        ax.legend(loc="upper center", ncol=2, fontsize="small")
    seeds = f"medians of {len(results['per_seed'])} seeds" if "per_seed" in results else "one seed"
    fig.suptitle(f"{PROG}: do the padded steps count? ({seeds})")
    plots.save(path, fig)


## Flags: this script's own, and the shared ones that mean something else here

SHARED = {  # build_parser's overrides: dest -> what the shared flag says here
    "fit": {"help": "naive, the default and only choice: model.fit, which takes sample weights"},
    "verbose": {
        "help": "0 quiet; 1 the model summary, and a line per run on stderr (default); 2 also "
        "a loss line per epoch"
    },
    "seeds": {
        "help": "repeat with seeds seed..seed+N-1 and give each figure's median and range "
        "(default: 1)"
    },
    "check": {
        "help": f"exit with status 1 unless the masked run's held-out real-step accuracy reaches "
        f"{MUST_REACH} and the sample_weight run's is within {MUST_AGREE} of it"
    },
    "plot": {
        "help": "also draw the runs' held-out accuracy (Keras' against the real and the padded "
        "steps') and the recall per class to a PNG"
    },
}
FLAGS = {  # this script's own: lowest, highest, default, meaning
    "--vocab": (2, 1000, 4, "tokens 1..N; 0 pads, so there are N + 1 classes"),
    "--min-length": (2, 10**6, 3, "fewest tokens in a sequence"),
    "--max-length": (2, 1000, 8, "most tokens; shorter sequences are padded to it"),
    "--samples": (1, 10**7, 256, "training sequences, and as many held-out"),
    "--units": (1, 10**5, UNITS, "LSTM units"),
}


def add_arguments(parser) -> None:
    cli.add_flags(parser, FLAGS)
    parser.set_defaults(epochs=EPOCHS, lr=LR, fit="naive")


def check_arguments(args) -> None:
    if args.fit != "naive":
        raise cli.UsageError("argument --fit: the fast loop takes no sample weights; use naive")
    if args.min_length > args.max_length:
        raise cli.UsageError(
            f"argument --min-length: {args.min_length} is over --max-length {args.max_length}"
        )
    cli.check_timedistributed(args.max_length, "--max-length")
    classes, units = args.vocab + 1, args.units
    per_step = 8 * units + EMBEDDING + 3 * classes  # gates and states, embedding, scores, one-hot
    weights = classes * EMBEDDING + 4 * units * (EMBEDDING + units + 1) + (units + 1) * classes
    need = 4 * (2 * args.samples * args.max_length * per_step + 4 * weights)  # float32
    cli.check_memory(
        "--samples/--max-length/--vocab/--units",
        need,
        f"{args.samples:,} sequences of {args.max_length} steps need",
        "pass fewer --samples, or a smaller --max-length, --vocab or --units",
    )


if __name__ == "__main__":
    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
