"""One label per sequence, or the label repeated at every step with TimeDistributed?

A sequence of --steps values drawn uniformly in 0-1 is class 1 when its values sum to more than
half the number of steps, else class 0 (K = 2 classes, balanced by symmetry: chance 0.5). An LSTM
must read the whole sequence: at 10 steps the best guess from the first nine values is wrong for
a tenth of the sequences. From the
same seed and the same initial weights (every weight has the same shape in both) two models train
on the same sequences with the same settings:

  one label:  LSTM(units) -> Dense(2, softmax), y (samples,): a loss at the end only
  every step: LSTM(units, return_sequences=True) -> TimeDistributed(Dense(2, softmax)),
              y (samples, steps), the sequence's class at every step: a loss at each step

Both are judged on held-out sequences by the class they give the whole sequence (the every-step
model: its last step's), and the every-step model at each step against the best guess the values
so far allow (class 1 when they sum to more than half their number: the rest is symmetric about
its mean) and chance. Then one batch of one-hot (samples, 2) and of integer (samples,) targets is
fitted to the every-step model's (samples, steps, 2) output, to see what Keras says.

    python questions/sequence_label.py            # 3 seeds on TensorFlow, 10 steps, 512 sequences
    python questions/sequence_label.py --seeds 10 # medians and ranges over more seeds

TensorFlow's default run takes about 40 s here and JAX's about 70 s; PyTorch steps the
models one batch at a time in Python (some 8 s an epoch here): pass it far fewer --epochs.

Expected (TensorFlow, seeds 1-3, 512 sequences): the one label scores higher on every seed,
about 0.98 against 0.95 held-out; the every-step model's earlier steps score what the values so
far allow (about 0.62 at step 1, 0.89 at step 9), not chance and not the class; the mismatched
targets raise ValueError before any training. The every-step loss is a mean over the steps, the
earlier of which cannot be right: its last step is a tenth of it. With --samples 2048 the gap
mostly closes (one label ahead on 2 of 3 seeds, by 0.007 at the median).
"""

import sys
from functools import partial

import numpy as np

import common
from repro import cli, plots, training
from repro.backend import seed_everything
from repro.run import conclude, run_program, start
from repro.training import load_initial_state

QUESTION = __doc__.splitlines()[0]
PROG = "questions/sequence_label.py"
CLASSES = 2  # class 1: the values sum to more than half the steps; class 0: the rest
MODELS = {  # name: where the loss is taken
    "one_label": "a loss at the end: y (samples,)",
    "every_step": "a loss at each step: y (samples, steps), the class repeated",
}
EPOCHS, LR, UNITS, BATCH = 150, 0.003, 16, 32  # both converge; 16 updates an epoch at 512
CHECKPOINTS = 5  # held-out accuracy measured after every fifth of training: has it converged?
HELD_OUT = 2000  # held-out sequences a seed: a seed's accuracy to about 0.004
SEEDS = {"tensorflow": 3, "jax": 3, "torch": 1}  # --seeds' default: about a minute
TRAINED = 0.2  # --check: both models this far above chance
NEAR_BEST = 0.05  # --check: the every-step model's earlier steps this near the best guess


## Data: values in 0-1, the class their sum gives, and the best guess from the first t values


def make_sequences(rng, n: int, steps: int):
    """n sequences of `steps` values in 0-1, (n, steps, 1) float32, and their classes (n,)."""
    X = rng.uniform(0, 1, (n, steps, 1)).astype("float32")
    return X, (X.sum(axis=(1, 2)) > steps / 2).astype("int32")


def data(args, seed: int):
    """The seed's training and held-out sequences (two draws of one stream)."""
    rng = np.random.default_rng(seed)
    return make_sequences(rng, args.samples, args.steps), make_sequences(rng, HELD_OUT, args.steps)


def at_every_step(y, steps: int):
    """The sequence's class repeated at every step: (samples,) -> (samples, steps)."""
    return np.repeat(y[:, None], steps, axis=1)


def best_from_prefix(X) -> np.ndarray:
    """(samples, steps): at step t the best guess from the first t values, class 1 when they sum
    to more than t / 2 (the values still to come sum to as much above their mean as below)."""
    so_far = np.cumsum(X[..., 0], axis=1)
    return (so_far > np.arange(1, X.shape[1] + 1) / 2).astype("int32")


## Model: one softmax at the end, or one at every step; the same weights either way


def build_model(args, every_step: bool):
    """LSTM -> a softmax over the classes: at the end, or at every step (TimeDistributed)."""
    import keras
    from keras import layers

    head = layers.Dense(CLASSES, activation="softmax")
    model = keras.Sequential(
        [
            keras.Input(shape=(args.steps, 1)),
            layers.LSTM(args.units, return_sequences=every_step),
            layers.TimeDistributed(head) if every_step else head,
        ]
    )
    model.compile(  # integer targets: (samples,) at the end, (samples, steps) at every step
        optimizer=keras.optimizers.Adam(args.lr), loss="sparse_categorical_crossentropy"
    )
    return model


def seeded_pair(args, models: dict, seed: int) -> dict:
    """Both models with the seed's initial weights (the every-step model gets the one-label
    model's: LSTM and Dense weights of the same shapes). A later seed loads them into the first
    seed's models, which keep their compiled training loops."""
    seed_everything(seed)
    fresh = {name: build_model(args, name == "every_step") for name in MODELS}
    fresh["every_step"].set_weights(fresh["one_label"].get_weights())
    for name, model in fresh.items():
        if name in models:
            load_initial_state(models[name], model)
        else:
            models[name] = model
    return models


## Train: the same sequences, epochs, batches and Adam; a checkpoint every fifth of training


def train(args, model, X, y, X_held, y_held, seconds: dict) -> dict:
    """Train in CHECKPOINTS chunks; the loss of every epoch and the held-out sequence accuracy
    after each chunk."""
    losses, curve, chunk = [], [], args.epochs // CHECKPOINTS
    for k in range(CHECKPOINTS):
        epochs = chunk if k < CHECKPOINTS - 1 else args.epochs - len(losses)
        with training.timed(seconds, "fit"):
            losses += training.fit(args, model, X, y, epochs, BATCH, verbose=0)
        curve.append([len(losses), sequence_accuracy(model, X_held, y_held)])
    return {"loss_history": losses, "curve": curve}


## Evaluate: the class given to the whole sequence, and the every-step model at each step


def predicted_classes(model, X) -> np.ndarray:
    """The class each sequence gets, (samples,), or at each step, (samples, steps); by predict,
    whose compiled function is kept (on JAX, each model(X) would compile the LSTM's scan again)."""
    return model.predict(X, batch_size=len(X), verbose=0).argmax(axis=-1)


def sequence_accuracy(model, X, y) -> float:
    """Accuracy of the class the model gives the whole sequence (at its last step, if several)."""
    predicted = predicted_classes(model, X)
    return float(np.mean((predicted if predicted.ndim == 1 else predicted[:, -1]) == y))


def measure(args, models: dict, seed: int, seconds: dict) -> dict:
    """One seed: both models trained from its initial weights, and judged on held-out sequences."""
    (X, y), (X_held, y_held) = data(args, seed)
    targets = {"one_label": y, "every_step": at_every_step(y, args.steps)}
    out = {"seed": seed, "majority_share": float(max(y_held.mean(), 1 - y_held.mean()))}
    for name, model in seeded_pair(args, models, seed).items():
        out[name] = train(args, model, X, targets[name], X_held, y_held, seconds)
        predicted = predicted_classes(model, X_held)
        out[name]["predicted"] = predicted.tolist()  # for the JSON: every figure from these
        per_step = (predicted if predicted.ndim == 2 else predicted[:, None]) == y_held[:, None]
        out[name]["step_accuracy"] = per_step.mean(axis=0).tolist()
        out[name]["accuracy"] = out[name]["step_accuracy"][-1]
        if args.verbose:
            print(f"seed {seed} {name}: held-out {out[name]['accuracy']:.3f}", file=sys.stderr)
    out["best_from_prefix"] = np.mean(best_from_prefix(X_held) == y_held[:, None], 0).tolist()
    return out


def mismatched_targets(args, X, y) -> dict:
    """One batch of 2D targets for the every-step model's (samples, steps, K) output: what
    model.fit says, in Keras' words (its exception and first line), or what it computed."""
    tried = {
        "one-hot (samples, K), categorical_crossentropy": (np.eye(CLASSES)[y], "categorical"),
        "integers (samples,), sparse_categorical_crossentropy": (y, "sparse_categorical"),
    }
    said = {}
    for label, (target, loss) in tried.items():
        model = build_model(args, every_step=True)
        model.compile(optimizer="adam", loss=f"{loss}_crossentropy")
        try:
            history = model.fit(X[:BATCH], target[:BATCH], batch_size=BATCH, verbose=0)
        except Exception as e:
            said[label] = f"{type(e).__name__}: {str(e).strip().splitlines()[0]}"
        else:
            said[label] = f"accepted: fit ran, loss {history.history['loss'][-1]:.4f}"
    return said


def main(argv: list[str] | None = None) -> int:
    """Run with these command-line arguments (none: the defaults); the exit status."""
    with start(None, argv, add_arguments, check_arguments, PROG, QUESTION, SHARED) as args:
        ## Data: the rule, and one training sequence with its class
        (X, y), _ = data(args, args.seed)
        print_example(args, X[0, :, 0], y[0])

        ## Model, Train and Evaluate: both models from each seed's initial weights
        models, seconds = {}, {}
        seeds = range(args.seed, args.seed + args.seeds)
        runs = [measure(args, models, seed, seconds) for seed in seeds]

        ## Evaluate: 2D targets for the (samples, steps, K) output
        with training.timed(seconds, "mismatched"):
            mismatched = mismatched_targets(args, X, y)

        results = record(args, runs, mismatched)
        answer = report(args, results)
        return conclude(args, answer, results, failed(results), partial(draw, results), seconds)


## Report: the record, its tables, the answer, the --check verdict and the picture


def spread(values: list) -> dict:
    return {"median": float(np.median(values)), "range": [min(values), max(values)]}


def record(args, runs: list, mismatched: dict) -> dict:
    """The run's results: every seed's raw figures, and their medians and ranges."""
    difference = [r["one_label"]["accuracy"] - r["every_step"]["accuracy"] for r in runs]
    steps = range(args.steps)
    by_step = {
        "every_step": [spread([r["every_step"]["step_accuracy"][t] for r in runs]) for t in steps],
        "best_from_prefix": [spread([r["best_from_prefix"][t] for r in runs]) for t in steps],
    }
    return {
        "seeds": [r["seed"] for r in runs],
        "steps": args.steps,
        "classes": CLASSES,
        "samples": args.samples,
        "held_out": HELD_OUT,
        "batch_size": BATCH,
        "chance": 1 / CLASSES,
        "majority_share": spread([r["majority_share"] for r in runs]),
        "accuracy": {name: spread([r[name]["accuracy"] for r in runs]) for name in MODELS},
        "halfway": {  # the checkpoint nearest half of training: has the accuracy settled?
            name: spread([r[name]["curve"][CHECKPOINTS // 2 - 1][1] for r in runs])
            for name in MODELS
        },
        "one_label_minus_every_step": {
            **spread(difference),
            "ahead": sum(d > 0 for d in difference),
            "behind": sum(d < 0 for d in difference),
        },
        "by_step": by_step,
        "mismatched": mismatched,
        "per_seed": runs,
    }


def print_example(args, values, label) -> None:
    print(
        f"Rule: class 1 when the {args.steps} values (uniform in 0-1) sum to more than "
        f"{args.steps / 2:g}, else class 0.\n{args.samples} training and {HELD_OUT} held-out "
        f"sequences a seed. The first training sequence (sum {values.sum():.2f}, class {label}):"
    )
    steps = [str(t) for t in range(1, args.steps + 1)]
    common.print_table(["step", *steps], [["value", *(f"{v:.2f}" for v in values)]])


def shown(s: dict, digits: int = 3) -> str:
    """A median with its range over seeds: 0.978 (0.970-0.985)."""
    low, high = s["range"]
    text = f"{s['median']:.{digits}f}"
    return text if low == high else f"{text} ({low:.{digits}f}-{high:.{digits}f})"


def report(args, r: dict) -> str:
    """Print the tables; return the answer they give, every figure from the run."""
    seeds = r["seeds"]
    named = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    half = r["per_seed"][0]["one_label"]["curve"][CHECKPOINTS // 2 - 1][0]
    print(
        f"\n{args.backend}, {named}: median (range). LSTM({args.units}), Adam {args.lr:g}, "
        f"{args.epochs} epochs of batches of {BATCH}, the same initial weights for both models."
    )
    print("\nHeld-out accuracy of the sequence's class (the every-step model: its last step's)")
    common.print_table(
        ["model", "loss taken", f"epoch {half}", f"epoch {args.epochs}"],
        [
            [name, MODELS[name], shown(r["halfway"][name]), shown(r["accuracy"][name])]
            for name in MODELS
        ]
        + [["chance", "1/K; the majority class share", "", shown(r["majority_share"])]],
    )
    d = r["one_label_minus_every_step"]
    print(
        f"  one_label - every_step: {d['median']:.3f} ({d['range'][0]:.3f} to "
        f"{d['range'][1]:.3f}); one_label ahead on {d['ahead']} of "
        f"{len(seeds)} seeds, behind on {d['behind']}"
    )
    print("\nThe every-step model's held-out accuracy at each step, against the best guess from")
    print("the values so far (class 1 when they sum to more than half their number)")
    common.print_table(
        ["step", "every_step", "best from the values so far", "chance"],
        [
            [
                t + 1,
                shown(r["by_step"]["every_step"][t]),
                shown(r["by_step"]["best_from_prefix"][t]),
            ]
            + [f"{r['chance']:.2f}"]
            for t in range(r["steps"])
        ],
    )
    print("\nmodel.fit with 2D targets for the every-step model's (samples, steps, K) output:")
    for label, said in r["mismatched"].items():
        print(f"  {label}: {said}")
    return answer(args, r, named)


def answer(args, r: dict, named: str) -> str:
    """The Answer: line: which label wins (or that neither does on every seed), what the early
    steps score, and what Keras does with 2D targets; every figure from the run."""
    return (
        f"Answer: on {args.backend}, {named}, {args.epochs} epochs, {args.samples} training "
        f"sequences of {r['steps']} values (class: sum > {r['steps'] / 2:g}), {winner(r)}. "
        f"{early_steps(r)}. Given one-hot (samples, K) or integer (samples,) targets for its "
        f"(samples, steps, K) output, Keras' fit {mismatched_said(r['mismatched'])}."
    )


BY_STEP = ("every_step", "best_from_prefix")  # the model's accuracy at each step; the bound
NAMES = {"one_label": "one label per sequence", "every_step": "the label at every step"}


def winner(r: dict) -> str:
    """Which model gives the better sequence label, by how much over seeds."""
    a, d, n = r["accuracy"], r["one_label_minus_every_step"], len(r["seeds"])
    scores = (
        f"held-out accuracy {shown(a['one_label'])} for {NAMES['one_label']} against "
        f"{shown(a['every_step'])} for {NAMES['every_step']} judged at its last step"
    )
    if d["ahead"] < n and d["behind"] < n:
        return (
            f"neither gives the better sequence label on every seed: {scores} (one label ahead "
            f"on {d['ahead']} of {n} seeds, behind on {d['behind']}; chance {r['chance']:.2f})"
        )
    sign = 1 if d["ahead"] == n else -1
    better = NAMES["one_label" if sign == 1 else "every_step"]
    low, high = sorted(sign * v for v in d["range"])
    by = f"{sign * d['median']:.3f}" + (f" ({low:.3f} to {high:.3f})" if n > 1 else "")
    return (
        f"{better} gives the better sequence label on {'every seed' if n > 1 else 'the seed'}, "
        f"by {by}: {scores} (chance {r['chance']:.2f})"
    )


def early_steps(r: dict) -> str:
    """What the every-step model's steps before the last score, against the best guess."""
    steps, last = r["by_step"], r["steps"] - 1
    model, best = ([s["median"] for s in steps[key][:last]] for key in BY_STEP)

    def span(v: list) -> str:
        return f"{v[0]:.2f} at step 1" + (f" to {v[-1]:.2f} at step {last}" if last > 1 else "")

    near = off_best(r) <= NEAR_BEST
    said = "what the values so far allow, not chance" if near else "not what the values allow"
    return (
        f"The every-step model's earlier steps score {said}: {span(model)}, against "
        f"{span(best)} for the best guess from those values (chance {r['chance']:.2f})"
    )


def mismatched_said(mismatched: dict) -> str:
    """Keras' words for the 2D targets: the exceptions, and the one-hot one's first line."""
    said = list(mismatched.values())
    if any(s.startswith("accepted") for s in said):
        return "; ".join(f"{label}: {s}" for label, s in mismatched.items())
    raised = " / ".join(sorted({s.split(":")[0] for s in said}))
    return f'raises {raised} before training (one-hot: "{said[0].split(": ", 1)[-1]}")'


def off_best(r: dict) -> float:
    """How far the every-step model's steps before the last are from the best guess (medians)."""
    model, best = ([s["median"] for s in r["by_step"][key][:-1]] for key in BY_STEP)
    return max(abs(m - b) for m, b in zip(model, best, strict=True))


def failed(r: dict) -> str | None:
    """Why the figures would not support the answer (--check), or None when they do: a model not
    trained well past chance, a winner not ahead on every seed, the every-step model's earlier
    steps not near the best guess from the values so far, or a mismatched target accepted."""
    for name, s in r["accuracy"].items():
        if not s["range"][0] >= r["chance"] + TRAINED:
            return f"{name}'s held-out accuracy {s['range'][0]:.3f} is within {TRAINED} of chance"
    d = r["one_label_minus_every_step"]
    if not (d["ahead"] == len(r["seeds"]) or d["behind"] == len(r["seeds"])):
        return f"neither model is ahead on every seed ({d['ahead']} and {d['behind']})"
    if not off_best(r) <= NEAR_BEST:
        return (
            f"the every-step model's earlier steps are up to {off_best(r):.3f} off the best guess"
        )
    accepted = [label for label, said in r["mismatched"].items() if said.startswith("accepted")]
    if accepted:
        return f"Keras accepted {accepted[0]}"
    return None


def draw(r: dict, path: str) -> None:
    """--plot: held-out sequence accuracy during training, each model and seed; and the
    every-step model's accuracy at each step against the best guess from the values so far."""
    fig, (left, right) = plots.figure(1, 2, height=4.8)
    colors = {"one_label": "tab:blue", "every_step": "tab:orange"}
    for name, color in colors.items():
        for k, run in enumerate(r["per_seed"]):
            epochs, accuracy = zip(*run[name]["curve"], strict=True)
            left.plot(epochs, accuracy, "o-", color=color, lw=1, label=None if k else name)
    lowest = min(a for run in r["per_seed"] for name in MODELS for _, a in run[name]["curve"])
    left.set(  # zoomed in: chance is far below
        title=f"Held-out accuracy of the sequence's class (chance {r['chance']:.2f})",
        xlabel="epoch",
        ylabel="accuracy (every_step: its last step)",
        ylim=(max(0.0, lowest - 0.02), 1.0),
    )
    steps = np.arange(1, r["steps"] + 1)
    for key, color, label in (
        ("every_step", colors["every_step"], "every_step at each step (median, range)"),
        ("best_from_prefix", "black", "best guess from the values so far"),
    ):
        s = r["by_step"][key]
        median = [v["median"] for v in s]
        right.plot(steps, median, "o-" if key == "every_step" else "--", color=color, label=label)
        if key == "every_step":
            low, high = zip(*(v["range"] for v in s), strict=True)
            right.fill_between(steps, low, high, color=color, alpha=0.25)
    right.plot(
        steps[-1],
        r["accuracy"]["one_label"]["median"],
        "*",
        ms=14,
        color=colors["one_label"],
        label="one_label (one output, at the end)",
    )
    right.axhline(r["chance"], color="0.4", ls=":", label="chance")
    right.set(
        title="What each step can know",
        xlabel="time step",
        ylabel="held-out accuracy",
        xticks=steps if len(steps) <= 20 else None,
        ylim=(0.45, 1.02),
    )
    for ax in (left, right):
        ax.legend(fontsize="small", loc="lower right")
    fig.suptitle(
        f"One label per sequence or the label at every step ({len(r['seeds'])} seeds, "
        f"{r['steps']} steps, class: sum > {r['steps'] / 2:g})"
    )
    plots.save(path, fig)


## Flags: this script's own, and the shared ones that mean something else here

SHARED = {
    **cli.seeds_by_backend(
        SEEDS, "seeds seed..seed+N-1, each its data and initial weights (default: {})"
    ),
    "verbose": {"help": "0 quiet; 1 a line per model trained, on stderr (default)"},
    "check": {
        "help": f"exit with status 1 unless both models reach chance + {TRAINED}, one of them "
        "is ahead on every seed, the every-step model's earlier steps are within "
        f"{NEAR_BEST} of the best guess from the values so far, and Keras refuses the 2D targets"
    },
    "plot": {"help": "also draw the accuracy during training and at each step to a PNG"},
}
FLAGS = {  # this script's own: lowest, highest, default, meaning
    "--steps": (2, 1000, 10, "values a sequence"),
    "--samples": (BATCH, 10**6, 512, "training sequences a seed"),
    "--units": (1, 10**4, UNITS, "LSTM units"),
}
BYTES_PER_VALUE = 64  # a value kept for the JSON file: a Python number in a list, then its text


def add_arguments(parser) -> None:
    cli.add_flags(parser, FLAGS)
    parser.set_defaults(epochs=EPOCHS, lr=LR)


def check_arguments(args) -> None:
    """--seeds by backend; enough epochs for the checkpoints; the TimeDistributed head's length;
    the memory of the sequences, the LSTM's activations and the predictions kept for the JSON."""
    cli.default_seeds(args, SEEDS)
    if args.epochs < CHECKPOINTS:
        raise cli.UsageError(f"argument --epochs: at least {CHECKPOINTS} (a checkpoint a fifth)")
    cli.check_timedistributed(args.steps, "--steps")
    values = (args.samples + HELD_OUT) * args.steps
    activations = 4 * 8 * max(args.samples, HELD_OUT) * args.steps * args.units
    kept = args.seeds * HELD_OUT * (args.steps + 1) * BYTES_PER_VALUE
    cli.check_memory(
        "--samples/--steps/--units/--seeds",
        4 * 4 * values + activations + kept,
        f"{args.samples:,} sequences of {args.steps} steps with {args.units} units need",
        "pass fewer --samples, --steps, --units or --seeds",
    )


if __name__ == "__main__":
    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
