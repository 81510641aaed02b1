"""One label per sequence, or the label repeated at every step with TimeDistributed?

Sequences of 10 values in 0-1 get a class by one of two rules: "sum > 5" (known only at the last
step) or "first > last" (the first value above the last: mostly known at step 1). From the same
seeds and initial weights, LSTM -> Dense(2, softmax) learns one label per sequence, and
LSTM(return_sequences=True) -> TimeDistributed(Dense(2, softmax)) the class at every step, judged
at its last. Held-out accuracy is read at 0.5x-3x the reference budget against chance (0.5), and
the every-step model at each step against the best guess from the values so far. Look for which
learns sooner, whether they meet, and what --samples changes. Last: fit given an (N, 2) target.

    python questions/sequence_label.py                     # TensorFlow, 2 seeds, 256 sequences
    python questions/sequence_label.py --backend jax --seeds 10  # and with --samples 2048
"""

from functools import partial

import numpy as np

from repro import lesson, plots
from repro.study import at_budgets

LENGTH = 10  # values a sequence
RULES = {  # the class of each sequence in X (samples, LENGTH, 1); both balanced: chance 0.5
    "sum > 5": lambda X: X.sum(axis=(1, 2)) > LENGTH / 2,  # needs every value, the last too
    "first > last": lambda X: X[:, 0, 0] > X[:, -1, 0],  # from step 1, right 3 times in 4
}
CHANCE = 0.5
HELD_OUT = 1000  # held-out sequences: a seed's accuracy to about 0.015
BATCHES = 4  # an epoch; on JAX an epoch is then one compiled scan, and the seeds train together
REFERENCE_EPOCHS = 40  # 160 updates, where the curves are read at 0.5x, 1x, 1.5x, 2x, 3x
MEET = 0.01  # the models meet when the median gap is this small (a seed's noise is larger)


def main(argv: list[str] | None = None) -> int:
    flags = dict(seeds=2, samples=256, epochs=3 * REFERENCE_EPOCHS, units=16, lr=0.01)
    with lesson.start(__doc__, argv, **flags) as run:
        args = run.args

        ## Data: one training and one held-out set (--seed draws them; each seed, the weights)
        rng = np.random.default_rng(args.seed)
        X = rng.uniform(0, 1, (args.samples, LENGTH, 1)).astype("float32")
        X_held = rng.uniform(0, 1, (HELD_OUT, LENGTH, 1)).astype("float32")

        ## Model: build_model below, the same initial weights for both under a seed

        ## Train: both models on each rule, from the same seeds, each run read at every budget
        seeds = range(args.seed, args.seed + args.seeds)
        budgets = lesson.budgets(args.epochs, REFERENCE_EPOCHS)
        batch = -(-args.samples // BATCHES)
        accuracy, at_steps, best = {}, {}, {}
        for rule, label in RULES.items():
            y, y_held = label(X).astype("int32"), label(X_held)
            for every_step in (False, True):
                target = np.repeat(y[:, None], LENGTH, axis=1) if every_step else y
                build = partial(build_model, every_step, args.units, args.lr)
                _, predicted = at_budgets(build, X, target, seeds, budgets, batch, inputs=X_held)
                ## Evaluate: the class given to the whole sequence (every step: its last step's)
                right = predicted.argmax(axis=-1) == (y_held[:, None] if every_step else y_held)
                score = right.mean(axis=2)  # (seeds, budgets), every step: (..., steps)
                accuracy[rule, every_step] = score[..., -1] if every_step else score
                run.say(f"{rule}, {'every step' if every_step else 'one label'}: trained")
            at_steps[rule] = np.median(score[:, -1], axis=0)  # every step's, last budget
            best[rule] = np.mean(best_guess(rule, X_held) == y_held[:, None], axis=0)

        ## Evaluate: one label per sequence given to the every-step model's (N, 10, 2) output
        refused = shape_error(args.units, X, RULES["sum > 5"](X).astype("int32"))
        return report(run, budgets, accuracy, at_steps, best, refused)


def build_model(every_step: bool, units: int, lr: float, loss="sparse_categorical_crossentropy"):
    """LSTM -> a softmax over the 2 classes, at the end (one label per sequence) or at every
    step (TimeDistributed). The weights have the same shapes and draws either way."""
    import keras
    from keras import layers

    head = layers.Dense(2, activation="softmax")
    model = keras.Sequential(
        [
            keras.Input(shape=(LENGTH, 1)),
            layers.LSTM(units, return_sequences=every_step),
            layers.TimeDistributed(head) if every_step else head,
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss)  # integer classes
    return model


def best_guess(rule: str, X) -> np.ndarray:
    """(samples, steps): the likelier class given the values so far (the rest are uniform, so
    symmetric about their mean); at the last step, the class itself."""
    v = X[..., 0]
    if rule == "sum > 5":
        guess = np.cumsum(v, axis=1) > np.arange(1, LENGTH + 1) / 2
    else:  # the first value x beats the last with probability x
        guess = np.repeat(v[:, :1] > 0.5, LENGTH, axis=1)
    guess[:, -1] = RULES[rule](X)
    return guess


def shape_error(units: int, X, y) -> tuple[str, bool]:
    """fit the every-step model on each sequence's one-hot class, (N, 2), for its (N, 10, 2)
    output: what Keras says, and whether any weight moved."""
    model = build_model(True, units, 0.01, loss="categorical_crossentropy")
    before = model.get_weights()
    try:
        model.fit(X, np.eye(2)[y], epochs=1, verbose=0)
        said = "accepted"
    except ValueError as e:
        said = f"ValueError: {str(e).strip().splitlines()[0]}"
    after = model.get_weights()
    return said, any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))


## Report


def report(run, budgets, accuracy: dict, at_steps: dict, best: dict, refused) -> int:
    n, late, early, models = run.args.seeds, *RULES, {"one label": False, "every step": True}
    median = {key: np.median(a, axis=0) for key, a in accuracy.items()}
    ahead = {rule: (accuracy[rule, False] > accuracy[rule, True]).sum(0) for rule in RULES}
    gap = {rule: median[rule, False] - median[rule, True] for rule in RULES}
    rows = [{"epochs": b} for b in budgets]
    for i, row in enumerate(rows):
        for rule in RULES:
            row |= {f"{rule}: {m}": median[rule, every][i] for m, every in models.items()}
            row[f"{rule}: one ahead"] = f"{ahead[rule][i]}/{n}"
    title = f"Held-out accuracy, median of {n} seeds on the same {run.args.samples} sequences"
    run.table(f"{title} (every step: at its last; chance {CHANCE})", rows)
    steps = [{"step": t + 1} for t in range(LENGTH)]
    for t, row in enumerate(steps):
        for r in RULES:
            row |= {f"{r}: model": at_steps[r][t], f"{r}: best": best[r][t]}
    run.table(
        f"The every-step model at each step ({budgets[-1]} epochs, median), against the best "
        "guess from the values so far",
        steps,
    )
    said, moved = refused
    run.table(
        f"fit given one-hot (N, 2) targets for the every-step (N, {LENGTH}, 2) output",
        [{"Keras": said, "weights moved": moved}],
    )
    guess, last = best[early][:-1].mean(), at_steps[early][-1]
    lowest = min(m[-1] for m in median.values())
    off = max(abs(at_steps[r][:-1] - best[r][:-1]).max() for r in RULES)
    run.expect(lowest >= CHANCE + 0.2, "both models learn both rules well above chance (+0.2)")
    run.expect(ahead[early].min() == n, f"{early}: one label ahead on every seed and budget")
    run.expect(abs(gap[late][-1]) < gap[early][-1] / 2, f"{late}'s gap is under half {early}'s")
    run.expect(off <= 0.05, "the every-step model's earlier steps score the best guess (0.05)")
    run.expect(
        last - guess < median[early, False][-1] - last,
        f"{early}: the every-step model's last step is nearer its guess than the one label",
    )
    run.expect(said.startswith("ValueError") and not moved, "fit refuses (N, 2) before training")
    met = next((b for b, g in zip(budgets, gap[early], strict=True) if g <= MEET), None)
    how = {None: "sooner and better", budgets[0]: "no sooner"}.get(met, f"sooner (met at {met})")
    return run.answer(
        "{samples} training sequences. Class decided at the last step ({late}): one label per "
        "sequence {l1:.3f} held-out, the label at every step {l2:.3f}. Decided mostly at step 1 "
        "({early}): one label learns {how}, {e0:.2f} against {v0:.2f} at {start} epochs, {e1:.2f} "
        "against {v1:.2f} at {epochs}; the every-step model keeps the first value's guess "
        "({guess:.2f} right).",
        draw=lambda path: picture(path, budgets, median, n),
        samples=run.args.samples,
        late=late,
        early=early,
        start=budgets[0],
        epochs=budgets[-1],
        l1=float(median[late, False][-1]),
        l2=float(median[late, True][-1]),
        how=how,
        e0=float(median[early, False][0]),
        v0=float(median[early, True][0]),
        e1=float(median[early, False][-1]),
        v1=float(last),
        guess=float(guess),
    )


def picture(path: str, budgets, median: dict, n: int) -> None:
    curves = {
        f"{r}: {'every step (its last)' if e else 'one label'}": list(m)
        for (r, e), m in median.items()
    }
    plots.budget_curves(
        path,
        f"One label per sequence or the class at every step ({n} seeds)",
        budgets,
        curves,
        "held-out accuracy (median of the seeds)",
        {REFERENCE_EPOCHS: "reference budget"},
    )


if __name__ == "__main__":
    from repro.run import run_program

    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
