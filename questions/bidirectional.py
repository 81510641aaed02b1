"""Bidirectional with TimeDistributed: what shapes come out, and is the wrapper needed?

On the article's many-to-many echo (one sample of five steps, 0.0 0.2 0.4 0.6 0.8), builds
Bidirectional(LSTM(5, return_sequences=True)) followed by TimeDistributed(Dense(1)) and by a plain
Dense(1): each layer's output shape and weight count against the closed-form formulas, and the two
heads' outputs with the same weights. The Bidirectional layer runs one LSTM forward and one
backward over the steps and puts their outputs side by side, so its last axis is twice the units.
Then it trains the Bidirectional model and the article's model (many_to_many_td.build_model) from
the same seeds at the article's settings (Adam 0.001, batch 1, 1000 epochs): how often each
echoes the sequence, with 95% intervals, and their final losses. Which input steps reach each
output step, measured by nudging one input at a time, shows what each direction has seen.

    python questions/bidirectional.py                        # seeds 1-8 on TensorFlow
    python questions/bidirectional.py --backend jax --seeds 100
    python questions/bidirectional.py --plot bi.png          # the rates and every seed's error

Expected: (None, 5, 10) from the Bidirectional layer, 2 x 140 = 280 weights; 10 x 1 + 1 = 11 in
either head, whose outputs agree to float32 rounding: the wrapper is not needed. At the first
step the backward LSTM has read the whole sequence, the forward one only the first value. Measured
on Keras 3.15, the Bidirectional model reproduced the echo more often: 8/8 seeds against the
article's 2/8 on TensorFlow, 99/100 against 21/100 on JAX.
"""

import argparse
import sys
import types
from functools import partial

import numpy as np

import common
import many_to_many_td
from repro import cli, plots
from repro.backend import seed_everything
from repro.run import Run, conclude, run_program, start
from repro.study import interval, run_study

QUESTION = __doc__.splitlines()[0]
SECTION = "many_to_many"  # the article's many-to-many settings: 1000 epochs, batch 1
PROG = "questions/bidirectional.py"
# Two units in the last place of a float32 near 1: the two heads sum the same products in
# different orders, so this far apart their outputs still count as the same
FLOAT32_ROUNDING = 2 * 2.0**-23
NUDGE = 0.1  # how far one input step is moved, to see which output steps it reaches
SEEDS = {"tensorflow": 8, "jax": 100, "torch": 5}  # --seeds' default: under a minute


## Model: the article's LSTM made bidirectional, with either head


def build_model(args):
    """Bidirectional(LSTM(units, return_sequences=True)) -> TimeDistributed(Dense(1)), or a plain
    Dense(1) with args.head == "dense"."""
    import keras
    from keras import layers

    head = layers.Dense(1)
    if args.head == "timedistributed":
        head = layers.TimeDistributed(head)
    model = keras.Sequential(
        [
            keras.Input(shape=(args.length, 1)),
            # one LSTM reads the steps forward, a copy reads them backward; each step's two
            # outputs are concatenated: (steps, 2 * units)
            layers.Bidirectional(layers.LSTM(args.units, return_sequences=True)),
            head,  # one Dense(1) on the 2 * units values of each step
        ]
    )
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(args.lr))
    return model


def without_tensorflow(build):
    """build(args), but on JAX and PyTorch with Keras told TensorFlow is absent: Bidirectional
    copies its layer through Keras' serialization, which asks whether TensorFlow is installed
    and so imports it (3-4 s, some 450 MB, and its start-up lines on stderr) on any backend."""

    def built(args):
        import keras
        from keras.src.saving import serialization_lib  # what asks; a LazyModule named tf

        asked = getattr(serialization_lib, "tf", None)
        if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules or not asked:
            return build(args)
        serialization_lib.tf = types.SimpleNamespace(available=False)
        try:
            return build(args)
        finally:
            serialization_lib.tf = asked

    return built


MODELS = {  # name -> what builds it; both are trained from the same seeds
    "article": many_to_many_td.build_model,  # LSTM(5, return_sequences=True) -> TD(Dense(1))
    "bidirectional": without_tensorflow(build_model),
}
LABELS = {"article": "the article's LSTM", "bidirectional": "Bidirectional(LSTM)"}


## Train: each model from the same seeds, as many_to_many_td.py trains the article's


def train(args, name: str, X, y) -> dict:
    """Model `name` trained from seeds seed..seed+N-1: the first seed as the article's script
    trains it (kept, for the tables), the others by the study, each from its own weights."""
    run = Run(args, X, y)
    seed_everything(args.seed)  # every model from the same seeds
    model = MODELS[name](args)
    run.fit(model, X, y, epochs=args.epochs, batch_size=args.batch_size, verbose=args.verbose)
    run.predicted(model.predict(X, batch_size=args.batch_size, verbose=0))
    with run.timed("study"):
        study = run_study(run, MODELS[name], quiet=True)  # the first seed is this run
    print(f"{LABELS[name]}: {study['summary']}", file=sys.stderr)
    return {"run": run, "model": model, "study": study}


## Evaluate: the heads with the same weights, and what each output step has seen


def same_outputs(args, model, X) -> dict:
    """The trained model's TimeDistributed(Dense(1)) head against a plain Dense(1) given the same
    weights: their counts and the largest difference between the two models' outputs."""
    dense = MODELS["bidirectional"](argparse.Namespace(**{**vars(args), "head": "dense"}))
    dense.set_weights(model.get_weights())  # the same Bidirectional and the same head weights
    wrapped, plain = (m.predict(X, batch_size=len(X), verbose=0).ravel() for m in (model, dense))
    return {
        "timedistributed_params": model.layers[-1].count_params(),
        "dense_params": dense.layers[-1].count_params(),
        "dense_output_shape": str(tuple(dense.layers[-1].output.shape)),
        "max_abs_difference": float(np.max(np.abs(wrapped - plain))),
    }


def nudged(layer, X, units: int) -> list:
    """How much each output step of a recurrent layer moves when one input step is moved by
    NUDGE: per half of its outputs (the first `units` values, and the rest if any), an array
    [output step, input step] of the largest change. Each sequence is a call of its own: in one
    batch, float rounding could differ by row and blur an exact zero."""
    import keras

    def outputs(x):  # (steps, outputs) for one sequence
        return keras.ops.convert_to_numpy(layer(x[None]))[0]

    steps = X.shape[1]
    plain = outputs(X[0])
    change = np.zeros((steps, steps, plain.shape[-1]))  # [input step, output step, output]
    for s in range(steps):
        x = X[0].copy()
        x[s, 0] += NUDGE
        change[s] = np.abs(outputs(x) - plain)
    halves = [change[..., :units], change[..., units:]]
    return [h.max(axis=-1).T for h in halves if h.shape[-1]]


def what_each_step_sees(article, bidirectional, X) -> dict:
    """Per recurrent output (the article's LSTM, the Bidirectional's forward and backward
    halves): the change at each output step when each input step is nudged."""
    units = article.layers[0].units
    (lstm,) = nudged(article.layers[0], X, units)
    forward, backward = nudged(bidirectional.layers[0], X, units)
    return {"article": lstm, "forward": forward, "backward": backward}


def reach(change) -> list[list[int]]:
    """Per output step, the first and last input step (from 1) whose nudge moved it at all."""
    moved = (np.flatnonzero(row) + 1 for row in change)
    return [[int(s[0]), int(s[-1])] if len(s) else [] for s in moved]


def blind(sees: dict) -> dict:
    """The largest change that should be none: the forward half's (and the article's LSTM's)
    from later input steps, the backward half's from earlier ones. Exactly 0: a direction's
    output at a step is computed before it reads those inputs."""
    ones = np.ones_like(sees["forward"])  # [output step, input step]
    later, earlier = np.triu(ones, 1), np.tril(ones, -1)  # inputs after, before the output step
    return {
        "article_from_later_steps": float(np.max(sees["article"] * later)),
        "forward_from_later_steps": float(np.max(sees["forward"] * later)),
        "backward_from_earlier_steps": float(np.max(sees["backward"] * earlier)),
    }


def main(argv: list[str] | None = None) -> int:
    """Run with these command-line arguments (none: seeds 1-8 on TensorFlow)."""
    with start(SECTION, argv, add_arguments, check_arguments, PROG, QUESTION, SHARED) as args:
        ## Data: the article's many-to-many echo, one sample of five steps
        X, y = common.make_data(SECTION, args.length, args.sequence)

        ## Model and Train: both models from the same seeds, at the article's settings
        trained = {name: train(args, name, X, y) for name in MODELS}

        ## Evaluate: the heads with the same weights; which input steps reach which outputs
        bi, article = trained["bidirectional"]["model"], trained["article"]["model"]
        heads = same_outputs(args, bi, X)
        sees = what_each_step_sees(article, bi, X)

        results = record(args, y, trained, heads, sees)
        answer = report(args, results)
        seconds = {f"{n} {k}": v for n, t in trained.items() for k, v in t["run"].seconds.items()}
        return conclude(
            args, answer, results, failed(results), partial(plot, args.backend, results), seconds
        )


## Report: the run's record, its tables, the answer and the picture


def record(args, y, trained: dict, heads: dict, sees: dict) -> dict:
    """The run's results: per model its layers, counts, first seed's predictions and every
    seed's final loss and error; the heads' comparison; the nudges' reach; the baselines."""
    from scipy.stats import fisher_exact

    models = {}
    for name, t in trained.items():
        run, study = t["run"], t["study"]
        models[name] = {
            "layers": common.layer_rows(t["model"]),
            "count_params": t["model"].count_params(),
            "predictions": [float(p) for p in run.predictions],
            "printed": [common.fmt(p, run.digits) for p in run.predictions],
            **{k: study[k] for k in ("reproduced", "n", "ci95", "median_final_loss", "trained")},
            "final_losses": [s["final_loss"] for s in study["seeds"]],
            "max_abs_errors": [s["max_abs_error"] for s in study["seeds"]],
        }
    rates = [[m["reproduced"], m["n"] - m["reproduced"]] for m in models.values()]
    run = trained["article"]["run"]
    return {
        "seeds": list(range(args.seed, args.seed + args.seeds)),
        "epochs": args.epochs,
        "units": args.units,
        "targets": [float(t) for t in run.targets],
        "printed_targets": [common.fmt(t, run.digits) for t in run.targets],
        "tolerance": run.tolerance,
        "constant_loss": float(np.var(y)),  # the MSE of predicting the mean at every step
        "fisher_p": float(fisher_exact(rates).pvalue),
        "models": models,
        "heads": heads,
        "nudge": NUDGE,
        "first_step_change": {k: v[0].tolist() for k, v in sees.items()},
        "reach": {k: reach(v) for k, v in sees.items()},
        "blind": blind(sees),
    }


def span(first_last: list[int]) -> str:
    """Input steps first-last, as the tables print them."""
    if not first_last:
        return "none"
    first, last = first_last
    return str(first) if first == last else f"{first}-{last}"


def report(args, r: dict) -> str:
    """Print the tables; return the answer they give, every figure from the run."""
    m = r["models"]
    print("Layers, output shapes and weights (Keras' count against the closed-form formula):")
    rows = [
        [LABELS[name], f"{x['name']} ({x['class']})", x["output_shape"], x["params"], x["formula"]]
        + [x["formula_params"], "ok" if x["params"] == x["formula_params"] else "DIFFERENT"]
        for name, model in m.items()
        for x in model["layers"]
    ]
    h = r["heads"]
    rows.append(["Bidirectional(LSTM)", "dense (Dense)", h["dense_output_shape"]])
    rows[-1] += [h["dense_params"], "the same head, unwrapped", "", ""]
    common.print_table(["model", "layer", "output shape", "keras", "formula", "=", ""], rows)
    totals = ", ".join(f"{LABELS[n]} {x['count_params']}" for n, x in m.items())
    print(f"  count_params(): {totals}")
    print(
        f"  TimeDistributed(Dense(1)) against Dense(1) with the same weights, on the trained "
        f"Bidirectional model: max |difference| {h['max_abs_difference']:.1e}"
    )

    steps = len(r["targets"])
    print(f"\nWhich input steps reach each output step (moved by {r['nudge']} one at a time):")
    names = {"article": "article's LSTM", "forward": "forward half", "backward": "backward half"}
    common.print_table(
        ["output step", *names.values()],
        [[t + 1, *(span(r["reach"][k][t]) for k in names)] for t in range(steps)],
    )
    first = r["first_step_change"]
    print(
        "  at step 1, the largest change per input step: backward half "
        + " ".join(f"{v:.1e}" for v in first["backward"])
        + "; forward half "
        + " ".join(f"{v:.0e}" if v else "0" for v in first["forward"])
    )

    seeds = r["seeds"]
    named = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    print(f"\nPredictions at --seed {seeds[0]} ('%.1f', as the article prints them):")
    common.print_table(
        ["step", "target", *(LABELS[n] for n in m)],
        [
            [t + 1, r["printed_targets"][t], *(x["printed"][t] for x in m.values())]
            for t in range(steps)
        ],
    )
    print(
        f"\nTrained on the echo at the article's settings ({args.backend}, {named}, "
        f"{r['epochs']} epochs, batch {args.batch_size}, Adam {args.lr:g}); reproduced: every "
        f"prediction within {r['tolerance']:g} of its target:"
    )
    common.print_table(
        ["model", "weights", "reproduced", "95% CI", "final loss: median", "min-max"],
        [
            [
                LABELS[n],
                x["count_params"],
                f"{x['reproduced']}/{x['n']}",
                interval(*x["ci95"]),
                f"{x['median_final_loss']:.2g}",
                f"{min(x['final_losses']):.2g}-{max(x['final_losses']):.2g}",
            ]
            for n, x in m.items()
        ],
    )
    print(
        f"  a constant (the mean) scores a loss of {r['constant_loss']:.2g}; Fisher's exact test "
        f"on the two rates: p = {r['fisher_p']:.2g}"
    )
    return answer(args, r, named)


def answer(args, r: dict, named: str) -> str:
    """The Answer: line."""
    m, h = r["models"], r["heads"]
    a, b = m["article"], m["bidirectional"]
    bi, td = b["layers"]

    def rate(x: dict) -> str:
        return f"{x['reproduced']}/{x['n']} seeds ({interval(*x['ci95'])})"

    test = f"Fisher's exact p = {r['fisher_p']:.2g}"
    if r["fisher_p"] >= 0.05:
        compared = f"no clear difference at {b['n']} seeds each ({test})"
    else:
        more = b["reproduced"] / b["n"] > a["reproduced"] / a["n"]
        compared = f"the Bidirectional one reproduces {'more' if more else 'less'} often ({test})"
    return (
        f"Answer: Bidirectional(LSTM({args.units}, return_sequences=True)) outputs "
        f"{bi['output_shape']}, the forward and backward outputs side by side, with "
        f"{bi['formula']} = {bi['params']} weights; Dense(1) on it gives {td['output_shape']} "
        f"with {h['dense_params']} weights, with or without TimeDistributed ({b['count_params']} "
        "in all, as count_params says), and the same outputs from the same weights (max "
        f"|difference| {h['max_abs_difference']:.1e}): the wrapper is not needed. Trained on the "
        f"echo ({args.backend}, {named}, {r['epochs']} epochs), the Bidirectional model "
        f"reproduced in {rate(b)}, median final loss {b['median_final_loss']:.2g}, the article's "
        f"LSTM in {rate(a)}, {a['median_final_loss']:.2g}: {compared}. At step 1 the backward "
        f"LSTM has read input steps {span(r['reach']['backward'][0])}, the forward one step "
        f"{span(r['reach']['forward'][0])}."
    )


def failed(r: dict) -> str | None:
    """Why the figures would not support the answer (--check), or None: every count its formula's,
    the Bidirectional's last axis twice the units, the two heads the same to float32 rounding,
    the forward half unmoved by later input steps and the backward half by earlier ones, and
    the backward half's first step moved by the last input."""
    for model in r["models"].values():
        for x in model["layers"]:
            if x["params"] != x["formula_params"]:
                return f"{x['name']} has {x['params']} weights, its formula {x['formula_params']}"
    bi = r["models"]["bidirectional"]["layers"][0]
    steps = len(r["targets"])
    if bi["output_shape"] != str((None, steps, 2 * r["units"])):
        return f"the Bidirectional layer outputs {bi['output_shape']}, not twice the units"
    h = r["heads"]
    if h["timedistributed_params"] != h["dense_params"]:
        return f"the heads have {h['timedistributed_params']} and {h['dense_params']} weights"
    if not h["max_abs_difference"] <= FLOAT32_ROUNDING:
        return f"the heads' outputs differ by {h['max_abs_difference']:.1e}, over float32 rounding"
    for key, what in (
        ("article_from_later_steps", "the article's LSTM moved with a later input step"),
        ("forward_from_later_steps", "the forward half moved with a later input step"),
        ("backward_from_earlier_steps", "the backward half moved with an earlier input step"),
    ):
        if r["blind"][key] != 0.0:
            return f"{what}, by {r['blind'][key]:.1e}"
    if steps > 1 and r["reach"]["backward"][0][-1:] != [steps]:
        return "the backward half at step 1 did not move with the last input step"
    return None


def plot(backend: str, r: dict, path: str) -> None:
    """The PNG: each model's reproduction rate with its 95% interval, and every seed's largest
    |prediction - target| against the tolerance."""
    fig, (left, right) = plots.figure(1, 2, height=4.2)
    m = r["models"]
    names = list(m)
    rates = [100 * m[n]["reproduced"] / m[n]["n"] for n in names]
    low = [p - 100 * m[n]["ci95"][0] for p, n in zip(rates, names, strict=True)]
    high = [100 * m[n]["ci95"][1] - p for p, n in zip(rates, names, strict=True)]
    bars = left.bar(range(len(names)), rates, color=["tab:gray", "tab:blue"], width=0.6)
    left.errorbar(range(len(names)), rates, yerr=[low, high], fmt="none", ecolor="k", capsize=6)
    left.set_xticks(
        range(len(names)),
        [
            f"{LABELS[n]}\n{m[n]['count_params']} weights: {m[n]['reproduced']}/{m[n]['n']}"
            for n in names
        ],
    )
    left.set(ylim=(0, 105), ylabel="seeds that reproduce (%)", title="Reproduced, with 95% CI")
    jitter = np.random.default_rng(0)
    for k, n in enumerate(names):
        errors = np.array(m[n]["max_abs_errors"], "float64")
        x = k + jitter.uniform(-0.15, 0.15, len(errors))
        right.scatter(x, errors, s=14, alpha=0.6, color=bars[k].get_facecolor())
    right.axhline(r["tolerance"], color="tab:red", ls="--", label=f"tolerance {r['tolerance']:g}")
    right.set_xticks(range(len(names)), [LABELS[n] for n in names])
    right.set(
        yscale="log",
        ylabel="max |prediction - target| (log)",
        title="Each seed's largest error",
    )
    right.legend(fontsize="small")
    seeds = r["seeds"]
    fig.suptitle(
        "The many-to-many echo: the article's LSTM against Bidirectional(LSTM), trained at the\n"
        f"article's settings from the same seeds ({backend}, seeds {seeds[0]}-{seeds[-1]}, "
        f"{r['epochs']} epochs)"
    )
    plots.save(path, fig)


## Flags: the article scripts' (its many-to-many settings), seeds from 1

SHARED = {
    **cli.seeds_by_backend(SEEDS, "seeds per model, from --seed on (default: {})"),
    "seed": {"default": 1, "help": "the first seed, for both models (default: %(default)s)"},
    "verbose": {
        "default": 0,
        "help": "0 the tables, and a line per model on stderr (default); 1 also a loss line "
        "every tenth of each model's first seed; 2 a line per epoch of it",
    },
    "check": {
        "help": "exit with status 1 unless every count is its formula's, the two heads give the "
        "same outputs to float32 rounding, the forward half is unmoved by later input steps and "
        "the backward half by earlier ones"
    },
    "plot": {"help": "also draw the reproduction rates and every seed's error to a PNG"},
}


def add_arguments(parser) -> None:
    parser.set_defaults(head="timedistributed")  # the article's head, for both models


def check_arguments(args) -> None:
    """--seeds by backend; the TimeDistributed head's length; two LSTMs' memory."""
    cli.default_seeds(args, SEEDS)
    cli.check_timedistributed(args.length)
    cli.check_memory(
        "--length/--units",
        2 * cli.estimate_memory(SECTION, args.length, args.units),
        f"length {args.length} with {args.units} units in each direction needs",
        "pass a smaller --units (units default to the length) or --length",
    )


if __name__ == "__main__":
    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
