"""Why a Dense after the LSTM at all: can the LSTM's own output be the prediction?

Every model in the article ends with a Dense layer. Take it away and the LSTM's own output has to
be the prediction, so the LSTM needs one unit per value it predicts: LSTM(5) for many-to-one (the
5 units' last output are the 5 predictions), LSTM(1, return_sequences=True) for many-to-many (one
unit's output at every step) and LSTM(1) for one-to-one. Each section's model is trained with and
without its head from the same seeds at the article's settings: its weights (the closed form
against Keras' count), how often it reproduces the echo (every prediction within 0.05) with a 95%
interval, and its median final loss. Then the reason: an LSTM's output is o * tanh(c), with the
output gate o in (0, 1), so it never leaves (-1, 1). The many-to-one model, with and without its
head, is trained on the echo doubled, 0.0 0.4 0.8 1.2 1.6: the head is linear and can reach 1.6.

    python questions/no_dense.py                  # every section, with and without the head
    python questions/no_dense.py --backend jax    # JAX trains the seeds together: 100 each
    python questions/no_dense.py --plot nd.png    # the rates, and the doubled echo, drawn
    python questions/no_dense.py --backend jax --epochs 5000   # every model five times longer

Expected: the headless models have 12, 140 and 12 weights against 146, 170 and 146, and at the
article's epochs reproduce less often; one-to-one's never does, as one step from a zero state
keeps its output under tanh(1) = 0.762, hardly above the 0.75 that 0.8 needs. On the doubled
echo the headless model's largest output stays under 1, so 1.2 and 1.6 are out of its reach,
while the model with its Dense head reproduces it. Five times longer (JAX, seeds 1-100, 5000
epochs) headless many-to-one reproduced in 100/100 like its headed model, many-to-many in 46/100
against 100/100, one-to-one in 0/100; on the doubled echo its loss settled at the floor, 0.08.
"""

import argparse
import math
import sys
from functools import partial

import numpy as np

import common
import many_to_many_td
import many_to_one
import one_to_one
from repro import cli, plots
from repro.backend import seed_everything
from repro.compare import ECHO_TOLERANCE
from repro.run import Run, conclude, run_program, start
from repro.study import interval, run_study

QUESTION = __doc__.splitlines()[0]
PROG = "questions/no_dense.py"
SECTIONS = tuple(common.ARTICLE)  # one_to_one, many_to_one, many_to_many
BUILD = {  # the article's models, with their heads, as its scripts build them
    "one_to_one": one_to_one.build_model,
    "many_to_one": many_to_one.build_model,
    "many_to_many": many_to_many_td.build_model,
}
VARIANTS = ("head", "no_head")
TIMES = 2  # the doubled echo, 0.0 0.4 0.8 1.2 1.6: its last two values out of an LSTM's reach
# One step from a zero state: c = i * g with i, g inside (-1, 1), so |o * tanh(c)| < tanh(1)
ONE_STEP_BOUND = math.tanh(1.0)
ROUNDING = 2.0**-22  # two float32 steps near 1: a saturated gate may round onto the bound
SEEDS = {"tensorflow": 4, "jax": 100, "torch": 2}  # --seeds' default: under a minute


## Data: the article's echo, and the echo doubled


def echo_data(args, times: int = 1):
    """X and y of the echo as args.script (a section) frames it; times 2: the doubled echo,
    inputs and targets alike."""
    X, y = common.make_data(args.script, args.length)
    return times * X, times * y


## Model: the article's model, or its LSTM alone


def outputs_wanted(section: str, length: int) -> int:
    """Values a sample's output holds at a step: many-to-one's last step all `length`, else 1."""
    return length if section == "many_to_one" else 1


def headless(args):
    """The LSTM alone, its output the prediction: one unit per value wanted at a step."""
    import keras
    from keras import layers

    steps = 1 if args.script == "one_to_one" else args.length
    model = keras.Sequential(
        [
            keras.Input(shape=(steps, 1)),
            layers.LSTM(
                outputs_wanted(args.script, args.length),  # no Dense: the units are the outputs
                return_sequences=args.script == "many_to_many",
            ),
        ]
    )
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(args.lr))
    return model


def build_model(args):
    """args.variant "head": the article's model for args.script; "no_head": its LSTM alone."""
    if args.variant == "no_head":
        return headless(args)
    return BUILD[args.script](argparse.Namespace(**vars(args), head="timedistributed"))


## Train and evaluate: one model from many seeds, against what its outputs can reach


def output_bound(section: str, variant: str) -> float:
    """How far from 0 the model's outputs can go: an LSTM's o * tanh(c) stays inside (-1, 1),
    and after one step from a zero state inside (-tanh(1), tanh(1)); a Dense head is linear."""
    if variant == "head":
        return math.inf
    return ONE_STEP_BOUND if section == "one_to_one" else 1.0


def loss_floor(targets, bound: float) -> float:
    """The lowest mean squared error of outputs inside (-bound, bound): each target clipped."""
    t = np.asarray(targets, "float64")
    return float(np.mean((t - np.clip(t, -bound, bound)) ** 2))


def mean_baseline(targets) -> float:
    """The loss of predicting the targets' mean every time: a model that learnt nothing."""
    t = np.asarray(targets, "float64")
    return float(np.mean((t - t.mean()) ** 2))


def study(args, variant: str, times: int = 1) -> dict:
    """One section's model with or without its head, on the echo (times 2: doubled): the first
    seed trained as the article's script trains it, the others by the study; its weights against
    the formulas, every seed's predictions, the reproduction rate and the median final loss."""
    args = argparse.Namespace(**vars(args), variant=variant)
    X, y = echo_data(args, times)
    run = Run(args, X, y)
    seed_everything(args.seed)  # every model from the same seeds
    model = build_model(args)
    run.fit(model, X, y, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
    run.predicted(model.predict(X, batch_size=args.batch_size, verbose=0))
    with run.timed("study"):
        rate = run_study(run, build_model, quiet=True)  # the first seed is this run
    outputs = outputs_wanted(args.script, args.length)
    formula = [common.lstm_params(1, outputs if variant == "no_head" else args.units)]
    if variant == "head":
        formula.append(common.dense_params(args.units, outputs))
    bound = output_bound(args.script, variant)
    predictions = [s["predictions"] for s in rate["seeds"]]
    name = f"{args.script}{'' if times == 1 else f' times {times}'} {variant}"
    if args.verbose:
        print(f"{name}: {rate['summary']}", file=sys.stderr)
    return {
        "section": args.script,
        "variant": variant,
        "times": times,
        "layers": [type(layer).__name__ for layer in model.layers],
        "units": model.layers[0].units,
        "params": model.count_params(),
        "formula_params": sum(formula),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "targets": [float(t) for t in run.targets],
        "seeds": [s["seed"] for s in rate["seeds"]],
        "predictions": predictions,
        "final_losses": [s["final_loss"] for s in rate["seeds"]],
        "reproduced": rate["reproduced"],
        "n": rate["n"],
        "ci95": rate["ci95"],
        "median_final_loss": rate["median_final_loss"],
        "largest_output": float(np.nanmax(np.abs(predictions))),
        "output_bound": None if math.isinf(bound) else bound,
        "loss_floor": loss_floor(run.targets, bound),
        "mean_baseline": mean_baseline(run.targets),
        "seconds": run.seconds["fit"] + run.seconds["study"],
    }


def main(argv: list[str] | None = None) -> int:
    """Run with these command-line arguments (none: the article's settings); the exit status."""
    with start("one_to_one", argv, None, check_arguments, PROG, QUESTION, SHARED) as args:
        ## Train: every section with and without its head, then many-to-one on the doubled echo
        rows = [study(args.sections[s], v) for s in SECTIONS for v in VARIANTS]
        doubled = [study(args.sections["many_to_one"], v, TIMES) for v in VARIANTS]

        ## Evaluate
        results = {"seeds": seed_list(args), "echo": rows, "doubled": doubled}
        answer = report(args, results)
        seconds = {"fit": round(sum(r.pop("seconds") for r in rows + doubled), 4)}
        draw = partial(plot, args, results)  # draw(path), with --plot
        return conclude(args, answer, results, failed(results), draw, seconds)


## Report


def seed_list(args) -> list[int]:
    return list(range(args.seed, args.seed + args.seeds))


def model_name(r: dict) -> str:
    """What a row trained, in Keras' words: LSTM(5) -> Dense(5), or LSTM(1) alone."""
    sequences = ", return_sequences=True" if r["section"] == "many_to_many" else ""
    lstm = f"LSTM({r['units']}{sequences})"
    if r["variant"] == "no_head":
        return f"{lstm} alone"
    head = f"Dense({outputs_wanted(r['section'], len(r['targets']))})"
    wrapped = "TimeDistributed" in r["layers"]
    return f"{lstm} -> " + (f"TimeDistributed({head})" if wrapped else head)


def rate(r: dict) -> str:
    return f"{r['reproduced']}/{r['n']}"


def largest(r: dict) -> str:
    """The largest |output| of any seed, with the digits to tell 0.9999 from 1."""
    value = r["largest_output"]
    return f"{value:.4f}" if 0.99 < value < 1 else f"{value:.3f}"


def bound(r: dict) -> str:
    return "none (linear)" if r["output_bound"] is None else f"{r['output_bound']:.3f}"


def row(r: dict) -> list:
    """A table row: the model, its weights, how it trained and what it reached."""
    return [
        model_name(r),
        f"{r['params']} (formula {r['formula_params']})",
        rate(r),
        interval(*r["ci95"]),
        f"{r['median_final_loss']:.2g}",
        f"{r['loss_floor']:.2g}",
        largest(r),
        bound(r),
    ]


COLUMNS = ["model", "weights", "reproduced", "95% CI", "median loss", "loss floor", "largest |out|"]


def report(args, results: dict) -> str:
    """Print the two tables; return the answer they give, every figure from the run."""
    rows, doubled, seeds = results["echo"], results["doubled"], results["seeds"]
    named = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    epochs = "/".join(str(r["epochs"]) for r in rows[::2])
    print(
        f"The article's models with and without their Dense head ({args.backend}, {named}, "
        f"{epochs} epochs).\nReproduced: every prediction within {ECHO_TOLERANCE} of its target. "
        "Loss floor: the least loss of outputs\ninside the bound (an LSTM's o * tanh(c): 1, and "
        f"tanh(1) = {ONE_STEP_BOUND:.3f} after one step from a zero state).\nPredicting the "
        f"targets' mean every time scores loss {rows[0]['mean_baseline']:.2g}."
    )
    for section in SECTIONS:
        print(f"\n{section}:")
        common.print_table([*COLUMNS, "bound"], [row(r) for r in rows if r["section"] == section])
    targets = " ".join(f"{t:.1f}" for t in doubled[0]["targets"])
    print(
        f"\nmany_to_one on the echo times {TIMES}, {targets} (inputs and targets; "
        f"{doubled[0]['epochs']} epochs); predicting\nthe mean every time scores loss "
        f"{doubled[0]['mean_baseline']:.2g}:"
    )
    common.print_table([*COLUMNS, "bound"], [row(r) for r in doubled])
    for r in doubled:
        print(f"  {model_name(r)}: last prediction {last_prediction(r)}")
    return answer(args, results, named)


def last_prediction(r: dict) -> str:
    """The last value's prediction: median (min-max) over seeds, and its target."""
    last = [p[-1] for p in r["predictions"]]
    low, high = min(last), max(last)
    return f"{np.median(last):.3f} ({low:.3f}-{high:.3f}) for {r['targets'][-1]:.1f}"


def answer(args, results: dict, named: str) -> str:
    """The Answer: line, one clause per section, then what the doubled echo shows."""
    by = {(r["section"], r["variant"]): r for r in results["echo"]}
    head, bare = results["doubled"]

    def clause(s: str) -> str:
        alone, full = by[s, "no_head"], by[s, "head"]
        return (
            f"{s} {rate(alone)} without the head ({model_name(alone)}, {alone['params']} weights, "
            f"largest |output| {largest(alone)}) against {rate(full)} with it "
            f"({full['params']} weights)"
        )

    can = [s for s in SECTIONS if by[s, "no_head"]["reproduced"]]
    less = all(by[s, "no_head"]["reproduced"] < by[s, "head"]["reproduced"] for s in SECTIONS)
    lead = "in none of these runs; at best"
    if can:
        lead = f"with one LSTM unit per output it can ({', '.join(can)} reproduced without it),"
        lead += " less often than with the head, and" if less else " but"
    heads = "/".join(str(by[s, "head"]["params"] - lstm_weights(by[s, "head"])) for s in SECTIONS)
    return (
        f"Answer: on {args.backend}, {named}, {epochs_said(results)}, {lead} only inside (-1, 1) "
        f"(after one step from a zero state, inside tanh(1) = {ONE_STEP_BOUND:.3f}). Reproduced: "
        f"{'; '.join(clause(s) for s in SECTIONS)}. The head adds a linear output that can "
        f"leave (-1, 1) and its own weights per output (a weight per unit and a bias: {heads}), "
        f"so the LSTM's width is free of the output's: on the echo times {TIMES} (up to "
        f"{head['targets'][-1]:.1f}) the headless many_to_one's largest output was "
        f"{largest(bare)} and it reproduced in {rate(bare)} (median loss "
        f"{bare['median_final_loss']:.2g}, floor {bare['loss_floor']:.2g}), with its Dense head "
        f"in {rate(head)} (largest output {largest(head)})."
    )


def epochs_said(results: dict) -> str:
    """The epochs every section trained, "the article's" when they are."""
    rows = results["echo"][::2]
    epochs = "/".join(str(r["epochs"]) for r in rows)
    article = all(r["epochs"] == common.ARTICLE[r["section"]].epochs for r in rows)
    return f"the article's {epochs} epochs" if article else f"{epochs} epochs"


def lstm_weights(r: dict) -> int:
    return common.lstm_params(1, r["units"])


def failed(results: dict) -> str | None:
    """Why the figures would not support the answer (--check), or None when they do: a count
    that differs from its formula, a headless output beyond its bound, a headless model that
    reproduced the doubled echo, or a model with a head that did not (in any seed)."""
    for r in results["echo"] + results["doubled"]:
        if r["params"] != r["formula_params"]:
            return f"{model_name(r)} has {r['params']} weights, the formula {r['formula_params']}"
        beyond = (
            r["output_bound"] is not None and r["largest_output"] > r["output_bound"] + ROUNDING
        )
        if beyond:
            return f"{model_name(r)} gave |output| {r['largest_output']:.4f}, over {bound(r)}"
    head, bare = results["doubled"]
    if bare["reproduced"]:
        return f"the headless many_to_one reproduced the doubled echo in {rate(bare)} seeds"
    if not head["reproduced"]:
        return "many_to_one with its Dense head reproduced the doubled echo in no seed"
    return None


def plot(args, results: dict, path: str) -> None:
    """The PNG: each section's reproduction rate with and without the head (95% intervals), and
    what many-to-one gave for the doubled echo with and without it, every seed, against 1."""
    fig, (left, right) = plots.figure(1, 2, height=5.0)
    width, colors = 0.38, {"head": "tab:blue", "no_head": "tab:orange"}
    for k, variant in enumerate(VARIANTS):
        mine = [r for r in results["echo"] if r["variant"] == variant]
        x = np.arange(len(mine)) + (k - 0.5) * width
        share = np.array([100 * r["reproduced"] / r["n"] for r in mine])
        top = np.array([100 * r["ci95"][1] for r in mine])
        low = share - [100 * r["ci95"][0] for r in mine]
        label = "with the Dense head" if variant == "head" else "the LSTM alone (no Dense)"
        left.bar(x, share, width, color=colors[variant], label=label)
        left.errorbar(x, share, yerr=[low, top - share], fmt="none", ecolor="black", capsize=3)
        for xi, t, r in zip(x, top, mine, strict=True):  # above the interval: nothing hidden
            text = f"{rate(r)}\n{r['params']} w"
            left.text(xi, t + 2, text, ha="center", va="bottom", fontsize="small")
    left.set_xticks(range(len(SECTIONS)), SECTIONS)
    left.set(ylim=(0, 130), yticks=range(0, 101, 20), ylabel="seeds that reproduce the echo (%)")
    n = results["echo"][0]["n"]
    left.set_title(f"The echo 0.0-0.8: {n} seeds each, 95% intervals, weights (w)")
    left.legend(fontsize="small", loc="lower center", bbox_to_anchor=(0.5, -0.24), ncol=2)
    doubled = results["doubled"]
    steps = np.arange(1, len(doubled[0]["targets"]) + 1)
    for r in doubled:
        for j, p in enumerate(r["predictions"]):
            label = None if j else f"{model_name(r)}: each seed"
            right.plot(steps, p, "x-", color=colors[r["variant"]], alpha=0.6, lw=1, label=label)
    right.plot(steps, doubled[0]["targets"], "ko", ms=8, mfc="none", label="target (the input)")
    right.axhline(1, color="tab:red", ls="--", label="1: an LSTM's output stays below it")
    right.set(xticks=steps, xlabel="time step", ylabel="prediction")
    right.set_title(f"many_to_one on the echo times {TIMES} ({doubled[0]['epochs']} epochs)")
    right.legend(fontsize="small", loc="upper left")
    fig.suptitle(
        "Without a Dense head the prediction is the LSTM's own output o*tanh(c): inside (-1, 1) "
        f"({args.backend})"
    )
    plots.save(path, fig)


## Flags: the article scripts' (every section parsed with its own defaults), less --values

SHARED = {
    **cli.seeds_by_backend(SEEDS, "seeds per model, from --seed on (default: {})"),
    "seed": {"default": 1, "help": "the first seed of every model (default: %(default)s)"},
    "epochs": {"help": "epochs of every model (default: the article's, 1000, 500 and 1000)"},
    "batch_size": {"help": "samples per weight update (default: the article's, 5, 1 and 1)"},
    "verbose": {"help": "0 quiet; 1 or 2 a line per model trained, on stderr (default: 1)"},
    "values": {"help": "refused here: the question trains the article's echo and its double"},
    "scale": {"help": "refused here, as --values"},
    "plot": {"help": "also draw the rates and what the doubled echo gave to a PNG"},
    "check": {
        "help": "exit with status 1 unless every count is its formula's, every headless output "
        "stays inside its bound, and on the doubled echo the headless many_to_one reproduces in "
        "no seed and the one with its Dense head in at least one"
    },
}


def check_section(args) -> None:
    """One section's flags: --seeds by backend; no --values (the question is about the range of
    the model's own outputs: a reader's values are scaled into 0-1 and back)."""
    if args.values is not None:
        raise cli.UsageError(
            "argument --values: this question trains the article's echo and its double; "
            "try your values with many_to_one.py --values"
        )
    cli.default_seeds(args, SEEDS)
    if args.script == "many_to_many":
        cli.check_timedistributed(args.length)


def check_arguments(args) -> None:
    """Every section's flags, now, each with its own defaults (epochs, batch size): a flag one
    section refuses (--batch-size 2 with one sample) is refused before any training."""
    check_section(args)
    args.sections = {
        section: cli.parse_args(section, args.argv, None, check_section, PROG, QUESTION, SHARED)
        for section in SECTIONS
    }


if __name__ == "__main__":
    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
