"""Does the trained model learn the echo, or memorise its one training sequence?

Fed other values, the article's trained models give the training sequence back. This script
trains the article's three models at the article's settings (each on its training data: the ramp
0.0 0.2 0.4 0.6 0.8, as five one-step samples for one-to-one and as ONE five-step sample for
many-to-one and many-to-many), then feeds them sequences they never saw: the ramp permuted,
`0.9 0.1 0.5 0.3 0.7`, a constant, the ramp shifted up a step, values beyond 1 and held-out random
sequences. For each output it measures the mean |output - input| per value (echo distance: 0 for
an echo) and the mean |output - ramp| (memorise distance: 0 for returning the training sequence).
An input's own distance from the ramp is what either one would score on the other's measure.
Then the same three architectures, from the same initial weights, train on --sequences random
sequences in 0-1 (each its own sample; one value each for one-to-one) and meet the same probes.

    python questions/echo_or_memorise.py                # seeds 1-5, 300 random sequences
    python questions/echo_or_memorise.py --seeds 20     # medians over more initial weights
    python questions/echo_or_memorise.py --plot eom.png # the probes, and what each model gave

Expected: trained on its one sample, many-to-one returns the ramp whatever it is fed (memorise
distance a tenth of the echo distance) and many-to-many stays closer to the ramp than to its
input; one-to-one is a function of the current value, so it echoes values it was trained near and
drifts beyond them. Trained on random sequences, all three echo (echo distance under 0.05).
"""

import argparse
import sys
from dataclasses import dataclass
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
from repro.training import load_initial_state

QUESTION = __doc__.splitlines()[0]
PROG = "questions/echo_or_memorise.py"
SECTIONS = tuple(common.ARTICLE)  # one_to_one, many_to_one, many_to_many
BUILD = {
    "one_to_one": one_to_one.build_model,
    "many_to_one": many_to_one.build_model,
    "many_to_many": many_to_many_td.build_model,
}
LENGTH = common.ARTICLE_LENGTH  # 5 values a sequence, and 5 LSTM units, as in the article
TRAININGS = ("ramp", "random")  # the article's one training sequence; many random ones
KEYS = tuple((section, training) for section in SECTIONS for training in TRAININGS)
PROBES = {  # name -> what the models are fed (held_out: random sequences, drawn per run)
    "ramp": "the ramp itself",
    "permuted": "0.8 0.2 0.6 0.0 0.4",
    "constant": "0.4 0.4 0.4 0.4 0.4",
    "interleaved": "0.9 0.1 0.5 0.3 0.7",
    "shifted": "0.2 0.4 0.6 0.8 1.0",
    "beyond": "1.0 1.2 1.4 1.6 1.8",
    "held_out": "held-out random",
}
NOVEL = ("permuted", "constant", "interleaved", "shifted", "held_out")  # never seen, in 0-1
HELD_OUT = 100  # random sequences no model trained on
EPOCHS, LR = 100, 0.01  # the random sequences' training: converged in about a second a model
UPDATES = 10  # weight updates per epoch on random sequences (at most 16: one compiled scan on JAX)
SEEDS = {"tensorflow": 5, "jax": 5, "torch": 2}  # --seeds' default: well under a minute
SAME_VALUE = 1e-5  # a function of the current value: the same input, the same output to this


## Data: the ramp, sequences never seen, and random sequences to learn the echo from


def probes(seed: int) -> dict:
    """Every probe as (sequences, 5) float32: the named ones, and HELD_OUT random sequences."""
    named = {"ramp": common.echo_sequence(LENGTH)[None]}
    for name, values in PROBES.items():
        if name not in named and name != "held_out":
            named[name] = np.array([values.split()], "float32")
    held = np.random.default_rng([seed, 1]).uniform(0, 1, (HELD_OUT, LENGTH))
    return {**named, "held_out": held.astype("float32")}


def random_sequences(n: int, seed: int) -> np.ndarray:
    """n sequences of 5 values drawn uniformly in 0-1 (another stream than the held-out ones)."""
    return np.random.default_rng([seed, 0]).uniform(0, 1, (n, LENGTH)).astype("float32")


def framed(section: str, sequences: np.ndarray):
    """X and y of (sequences, 5) as `section` frames its input: 5 one-step samples a sequence
    for one_to_one, one 5-step sample a sequence for the others; the targets are the inputs."""
    n = len(sequences)
    if section == "one_to_one":
        return sequences.reshape(n * LENGTH, 1, 1), sequences.reshape(n * LENGTH, 1)
    y_shape = (n, LENGTH) if section == "many_to_one" else (n, LENGTH, 1)
    return sequences.reshape(n, LENGTH, 1), sequences.reshape(y_shape)


## Model: the article's three, built by its scripts


@dataclass(frozen=True)
class Settings:
    """How one model trains: the article's settings on the ramp, this script's on random data."""

    epochs: int
    batch_size: int
    lr: float


def settings(args, section: str, training: str) -> Settings:
    """On the ramp: the article's epochs and batch (one update an epoch) and Keras' learning rate;
    on random sequences: --epochs and --lr, UPDATES updates an epoch."""
    if training == "ramp":
        article = common.ARTICLE[section]
        return Settings(article.epochs, article.batch_size, common.ARTICLE_LR)
    samples = args.sequences * (LENGTH if section == "one_to_one" else 1)
    return Settings(args.epochs, max(1, samples // UPDATES), args.lr)


def build_model(section: str, lr: float):
    """The article's model for `section` (5 units, TimeDistributed head), Adam at `lr`."""
    args = argparse.Namespace(length=LENGTH, units=LENGTH, lr=lr, head="timedistributed")
    return BUILD[section](args)


def fresh_model(models: dict, key: tuple, lr: float, seed: int):
    """The model for key (section, training data) with `seed`'s initial weights: a second seed
    keeps the first one's compiled training loop and starts from its own weights."""
    seed_everything(seed)  # the same initial weights on the ramp and on random sequences
    fresh = build_model(key[0], lr)
    if key in models:
        load_initial_state(models[key], fresh)
    else:
        models[key] = fresh
    return models[key]


## Train: the article's settings on the ramp; a few seconds' training on random sequences


def train(model, section, training, args, sequences, seconds: dict, seed: int) -> list:
    """Train `model` as settings() says, on the ramp or on the random `sequences`, with the
    article scripts' fast loop; the loss of every epoch. Its wall time adds to seconds["fit"]."""
    how = settings(args, section, training)
    data = common.echo_sequence(LENGTH)[None] if training == "ramp" else sequences
    X, y = framed(section, data)
    run = Run(args, X, y)
    run.fit(model, X, y, epochs=how.epochs, batch_size=how.batch_size, verbose=args.verbose // 2)
    seconds["fit"] = round(seconds.get("fit", 0.0) + run.seconds["fit"], 4)
    if args.verbose:
        print(
            f"seed {seed} {section} on the {training} data: {how.epochs} epochs, final loss "
            f"{run.history[-1]:.2g}, {run.seconds['fit']:.1f} s",
            file=sys.stderr,
        )
    return run.history


## Evaluate: how far each output is from its input (an echo) and from the ramp (memorised)


def outputs(model, section: str, sequences: np.ndarray) -> np.ndarray:
    """The model's output for each sequence, framed as `section` frames it: (sequences, 5)."""
    import keras

    X, _ = framed(section, sequences)
    return keras.ops.convert_to_numpy(model(X, training=False)).reshape(len(sequences), LENGTH)


def distances(output: np.ndarray, fed: np.ndarray) -> dict:
    """Mean |output - input| (echo) and mean |output - ramp| (memorise), per value."""
    ramp = common.echo_sequence(LENGTH)
    return {
        "echo": float(np.abs(output - fed).mean()),
        "memorise": float(np.abs(output - ramp).mean()),
    }


def same_value_spread(out: dict, fed: dict) -> float:
    """The largest difference between the outputs for one input value met at other steps or in
    other named probes: 0 (to float rounding) for a function of the current value alone."""
    values, given = [], []
    for name in PROBES:
        if name != "held_out":
            values += fed[name].ravel().round(6).tolist()
            given += np.asarray(out[name]).ravel().tolist()
    spreads = [
        np.ptp([g for v, g in zip(values, given, strict=True) if v == value])
        for value in set(values)
    ]
    return float(max(spreads))


def probe(model, section: str, fed: dict, seed: int, history: list) -> dict:
    """One trained model's outputs for every probe (all in one call), and their distances."""
    given = outputs(model, section, np.concatenate(list(fed.values())))
    ends = np.cumsum([len(seqs) for seqs in fed.values()])
    out = dict(zip(fed, np.split(given, ends[:-1]), strict=True))
    return {
        "seed": seed,
        "final_loss": history[-1],
        "outputs": {name: o.tolist() for name, o in out.items()},
        "distances": {name: distances(out[name], fed[name]) for name in fed},
        "same_value_spread": same_value_spread(out, fed),
    }


def main(argv: list[str] | None = None) -> int:
    """Run with these command-line arguments (none: the defaults); the exit status."""
    with start(None, argv, add_arguments, check_arguments, PROG, QUESTION, SHARED) as args:
        ## Data: the probes, and the random sequences the second models learn from
        fed, sequences = probes(args.seed), random_sequences(args.sequences, args.seed)

        ## Model and Train: each section's model from each seed, on the ramp and on random data
        models, runs, seconds = {}, {key: [] for key in KEYS}, {}
        for seed in range(args.seed, args.seed + args.seeds):
            for section, training in KEYS:
                lr = settings(args, section, training).lr
                model = fresh_model(models, (section, training), lr, seed)
                history = train(model, section, training, args, sequences, seconds, seed)
                ## Evaluate: what the trained model gives for every probe
                runs[section, training].append(probe(model, section, fed, seed, history))

        results = record(args, fed, sequences, runs, models)
        answer = report(args, results)
        draw = partial(plot, args, results)  # draw(path), with --plot
        return conclude(args, answer, results, failed(results), draw, seconds)


## Report: the runs' record, their tables, the answer and the picture


def summary(runs: list, names: tuple) -> dict:
    """Per measure, each seed's mean over the probes `names`, and their median and range."""
    out = {}
    for measure in ("echo", "memorise"):
        per_seed = [float(np.mean([r["distances"][n][measure] for n in names])) for r in runs]
        out[measure] = {
            "seeds": per_seed,
            "median": float(np.median(per_seed)),
            "range": [min(per_seed), max(per_seed)],
        }
    return out


def record(args, fed: dict, sequences: np.ndarray, runs: dict, models: dict) -> dict:
    """The run's results: the probes and training data, and per section and training data its
    settings, every seed's raw outputs and distances, and the summaries the answer quotes."""
    ramp = common.echo_sequence(LENGTH)
    apart = {name: float(np.abs(seqs - ramp).mean()) for name, seqs in fed.items()}
    sections = {}
    for (section, training), rs in runs.items():
        how = settings(args, section, training)
        entry = sections.setdefault(section, {"params": models[section, training].count_params()})
        entry[training] = {
            **vars(how),
            "runs": rs,
            "novel": summary(rs, NOVEL),
            **{name: summary(rs, (name,)) for name in PROBES},
            "same_value_spread": max(r["same_value_spread"] for r in rs),
        }
    return {
        "seeds": list(range(args.seed, args.seed + args.seeds)),
        "ramp": ramp.tolist(),
        "probes": {name: seqs.tolist() for name, seqs in fed.items()},
        "input_vs_ramp": {**apart, "novel": float(np.mean([apart[name] for name in NOVEL]))},
        "novel": list(NOVEL),
        "random_sequences": sequences.tolist(),
        "sections": sections,
    }


def spread(s: dict, digits: int = 3) -> str:
    """A median with its range over seeds: 0.031 (0.024-0.050)."""
    low, high = s["range"]
    text = f"{s['median']:.{digits}f}"
    return text if low == high else f"{text} ({low:.{digits}f}-{high:.{digits}f})"


def report(args, results: dict) -> str:
    """Print a table per section; return the answer they give, every figure from the run."""
    seeds = results["seeds"]
    named = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    print(
        "Echo: mean |output - input| per value (0 for an echo). Memorise: mean |output - ramp|\n"
        "(0 for the ramp 0.0 0.2 0.4 0.6 0.8 given back, whatever the input). |input - ramp| is\n"
        "what an echo scores as memorise, and the ramp given back as echo. Median (min-max) over\n"
        f"{named}."
    )
    for section, entry in results["sections"].items():
        ramp, rnd = entry["ramp"], entry["random"]
        print(
            f"\n{section} ({entry['params']} weights), trained on the ramp alone "
            f"({ramp['epochs']} epochs, batch {ramp['batch_size']})\n  and on {args.sequences} "
            f"random sequences ({rnd['epochs']} epochs, batch {rnd['batch_size']}, "
            f"lr {rnd['lr']:g}):"
        )
        rows = []
        for training, label in ((ramp, "the ramp"), (rnd, f"{args.sequences} random")):
            for name in (*PROBES, "novel"):
                fed = PROBES.get(name, "never seen, in 0-1 (mean)")
                rows.append(
                    [
                        label if name == "ramp" else "",
                        f"{HELD_OUT} {fed}" if name == "held_out" else fed,
                        f"{results['input_vs_ramp'][name]:.2f}",
                        spread(training[name]["echo"]),
                        spread(training[name]["memorise"]),
                    ]
                )
        common.print_table(["trained on", "fed", "|input-ramp|", "echo", "memorise"], rows)
        print(
            "  one input value met at other steps or in other probes: outputs apart by up to "
            f"{ramp['same_value_spread']:.2g}\n  ramp-trained, {rnd['same_value_spread']:.2g} "
            "random-trained (0 for a function of the current value alone)"
        )
    return answer(args, results, named)


def answer(args, results: dict, named: str) -> str:
    """The Answer: line, one clause per section."""
    s = results["sections"]

    def med(section: str, training: str, probe: str = "novel", measure: str = "echo") -> str:
        value = s[section][training][probe][measure]["median"]
        return f"{value:.3f}" if value < 0.05 else f"{value:.2f}"

    def epochs(section: str) -> str:
        return f"{s[section]['ramp']['epochs']} epochs"

    def learnt(section: str) -> str:  # what the random-trained copy does, in the figures' words
        echoes = s[section]["random"]["novel"]["echo"]["median"] < ECHO_TOLERANCE
        return "echoes" if echoes else "does not echo yet"

    o, m1, mm = "one_to_one", "many_to_one", "many_to_many"
    shifted = s[mm]["ramp"]["shifted"]
    follows = shifted["echo"]["median"] < shifted["memorise"]["median"]
    spread = s[o]["ramp"]["same_value_spread"]
    same = "the same output" if spread == 0 else f"outputs at most {spread:.1g} apart"
    random = ", ".join(f"{name} {learnt(name)} ({med(name, 'random')})" for name in (o, m1, mm))
    beyond = ", ".join(med(name, "random", "beyond") for name in (o, m1, mm))
    return (
        f"Answer: trained on the one sequence 0.0-0.8, {m1} ({epochs(m1)}) memorises it "
        f"(fed sequences in 0-1 it never saw, its outputs are "
        f"{med(m1, 'ramp', measure='memorise')} from that sequence, {med(m1, 'ramp')} from their "
        f"inputs) and {mm} ({epochs(mm)}) leans to it "
        f"({med(mm, 'ramp', measure='memorise')} from it, {med(mm, 'ramp')} from the input; the "
        f"ramp shifted a step it {'follows' if follows else 'does not follow'}); {o} "
        f"({epochs(o)} on five value pairs) is a function of the current value ({same} for one "
        "value anywhere) "
        f"and echoes in 0-1 ({med(o, 'ramp')}) but drifts beyond ({med(o, 'ramp', 'beyond')} at "
        f"1.0-1.8). Trained on {args.sequences} random sequences for {args.epochs} epochs: "
        f"{random} from the input in 0-1, and drift beyond it ({beyond} at 1.0-1.8) (mean "
        f"|difference| per value, median of {named})."
    )


def failed(results: dict) -> str | None:
    """Why the figures would not support the answer (--check), or None when they do: a one-sample
    sequence model whose outputs are not closer to the ramp than to the input, one-to-one not a
    function of the current value or not echoing in 0-1, or a random-trained model whose echo
    distance passes ECHO_TOLERANCE (0.05: the '%.1f' rounding the article's echo is judged by)."""
    s = results["sections"]
    for section in ("many_to_one", "many_to_many"):
        novel = s[section]["ramp"]["novel"]
        if not novel["memorise"]["median"] < novel["echo"]["median"]:
            return f"{section} trained on the ramp is not closer to it than to its input"
    one = s["one_to_one"]["ramp"]
    if not one["same_value_spread"] <= SAME_VALUE:
        return f"one_to_one's outputs for one input value differ by {one['same_value_spread']:.2g}"
    if not one["novel"]["echo"]["median"] < ECHO_TOLERANCE:
        return "one_to_one trained on the ramp does not echo values in 0-1"
    for section in SECTIONS:
        echo = s[section]["random"]["novel"]["echo"]["median"]
        if not echo < ECHO_TOLERANCE:
            return f"{section} trained on random sequences is {echo:.3f} from its input"
    return None


SHOWN = ("interleaved", "permuted")  # the probes the picture shows


def plot(args, results: dict, path: str) -> None:
    """The PNG: for two probes and each section, the input, the ramp, and what every seed's model
    gave, trained on the ramp alone and on random sequences, against the step."""
    fig, axes = plots.figure(len(SHOWN), len(SECTIONS), height=7.0)
    steps = np.arange(1, LENGTH + 1)
    trained = (
        ("ramp", "tab:red", "x", "the ramp alone"),
        ("random", "tab:blue", "+", f"{args.sequences} random sequences"),
    )
    for row, name in zip(axes, SHOWN, strict=True):
        for ax, section in zip(row, SECTIONS, strict=True):
            ax.plot(steps, results["ramp"], color="0.5", ls=":", lw=2, label="the ramp 0.0-0.8")
            ax.plot(  # wide and pale: an echo's outputs lie on it
                steps,
                results["probes"][name][0],
                "o-",
                color="black",
                lw=5,
                ms=10,
                alpha=0.25,
                label="the input (an echo gives it back)",
            )
            for training, color, marker, data in trained:
                for k, r in enumerate(results["sections"][section][training]["runs"]):
                    ax.plot(
                        steps,
                        r["outputs"][name][0],
                        color=color,
                        marker=marker,
                        lw=1,
                        alpha=0.8,
                        label=None if k else f"trained on {data}: output, each seed",
                    )
            ax.set(
                title=f"{section}, fed {PROBES[name]}",
                ylim=(-0.1, 1.05),
                xticks=steps,
                xlabel="sample (one value each)" if section == "one_to_one" else "time step",
                ylabel="value",
            )
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside lower center", ncol=2)
    fig.suptitle(
        "Trained on the ramp alone, many_to_one and many_to_many give (close to) the ramp back;\n"
        f"trained on {args.sequences} random sequences, all three echo (fed two sequences none "
        f"saw; {len(results['seeds'])} seeds)"
    )
    plots.save(path, fig)


## Flags: the run's own, the random sequences' count, and the memory it takes

SHARED = {
    **cli.seeds_by_backend(SEEDS, "initial weights seed..seed+N-1 for every model (default: {})"),
    "epochs": {
        "help": "epochs on the random sequences (default: %(default)s; the article's "
        "models train at its 1000, 500 and 1000)"
    },
    "lr": {
        "help": "Adam learning rate on the random sequences (default: %(default)s; the "
        "article's models at Keras' 0.001)"
    },
    "seed": {"help": "the first seed, and the random sequences' (default: 1)"},
    "check": {
        "help": "exit with status 1 unless the one-sample many_to_one and many_to_many "
        "models are closer to the ramp than to their input, one_to_one gives one value one "
        "output, and every random-trained model echoes to under 0.05"
    },
    "plot": {"help": "also draw two probes, and what each model gave, to a PNG"},
}
FLAGS = {"--sequences": (10, 10**5, 300, "random sequences of 5 values to train on")}
BYTES_PER_VALUE = 64  # a value kept for the JSON file: a Python float in a list, then its text


def add_arguments(parser) -> None:
    cli.add_flags(parser, FLAGS)
    parser.set_defaults(epochs=EPOCHS, lr=LR)


def check_arguments(args) -> None:
    """--seeds by backend; the memory of the random sequences (framed, float32, a few copies, and
    kept for the JSON file) and of every model's outputs for every probe, kept for the JSON too."""
    cli.default_seeds(args, SEEDS)
    values = args.sequences * LENGTH
    outputs = args.seeds * len(KEYS) * (HELD_OUT + len(PROBES) - 1) * LENGTH
    need = values * (4 * 4 + BYTES_PER_VALUE) + outputs * BYTES_PER_VALUE
    cli.check_memory(
        "--sequences/--seeds",
        need,
        f"{args.sequences:,} sequences and {args.seeds} seeds' outputs need",
        "pass fewer --sequences or --seeds",
    )


if __name__ == "__main__":
    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
