"""Is it the same with a GRU or a SimpleRNN? The article's three models with each cell.

Builds each of the article's three models (one-to-one, many-to-one, many-to-many) with an LSTM, a
GRU and a SimpleRNN in place of the LSTM, counts each recurrent layer's weights against its formula
with the number of gates written out (the LSTM's 4, the GRU's 3, the SimpleRNN's 1; Keras 3's GRU
has reset_after=True, so two biases a gate), and trains each from --seeds seeds at the article's
settings: how often each one echoes the sequence, with a 95% interval.

    python questions/cells.py --backend jax      # every cell and section; JAX trains seeds together
    python questions/cells.py --cell GRU         # one cell
    python questions/cells.py --help             # the article scripts' flags, and --cell

Expected: 140, 120 and 35 weights in the one-to-one LSTM, GRU and SimpleRNN layers.
"""

import sys

import common
from repro import cli, plots
from repro.backend import seed_everything
from repro.run import Run, conclude, run_program, start
from repro.study import interval, run_study

QUESTION = __doc__.splitlines()[0]
PROG = "questions/cells.py"
CELLS = ("LSTM", "GRU", "SimpleRNN")
GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}  # a kernel, a recurrent kernel and biases each
BIASES = {"LSTM": 1, "GRU": 2, "SimpleRNN": 1}  # GRU, reset_after=True: input and recurrent bias
SEEDS = {"jax": 100, "tensorflow": 10, "torch": 10}  # --seeds' default: about 2 minutes


## Model: the article's model for a section, with another recurrent layer


def cell_params(cell: str, inputs: int, units: int) -> int:
    """Weights of one recurrent layer: gates x (kernel + recurrent kernel + biases)."""
    return GATES[cell] * (inputs * units + units * units + BIASES[cell] * units)


def cell_formula(cell: str, inputs: int, units: int) -> str:
    biases = f"{BIASES[cell]}*{units}" if BIASES[cell] > 1 else f"{units}"
    return f"{GATES[cell]}*({inputs}*{units} + {units}*{units} + {biases})"


def build_model(args):
    """The article's model for args.script (its section) with args.cell as the recurrent layer."""
    import keras
    from keras import layers

    steps = 1 if args.script == "one_to_one" else args.length
    head = layers.Dense(args.length if args.script == "many_to_one" else 1)
    if args.script == "many_to_many":
        head = layers.TimeDistributed(head)
    model = keras.Sequential(
        [
            keras.Input(shape=(steps, 1)),
            getattr(layers, args.cell)(args.units, return_sequences=args.script == "many_to_many"),
            head,
        ]
    )
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(args.lr))
    return model


## Train and evaluate: one cell in one section, from many seeds


def study(args, cell: str) -> dict:
    """One cell in one section (args, parsed for that section): the first seed trained as the
    article's script trains it, the others by the study; the layer's count against the formula,
    and the reproduction rate."""
    args.cell = cell
    seq = common.echo_sequence(args.length) if args.sequence is None else args.sequence
    X, y = common.make_data(args.script, args.length, seq)
    run = Run(args, X, y)
    seed_everything(args.seed)  # as a run of its own, whatever the sections before drew
    model = build_model(args)
    run.fit(model, X, y, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
    run.predicted(model.predict(X, batch_size=args.batch_size, verbose=0))
    rate = run_study(run, build_model, quiet=True)  # the first seed is this run
    print(f"{cell} {args.script}: {rate['reproduced']}/{rate['n']} reproduced", file=sys.stderr)
    return {
        "cell": cell,
        "section": args.script,
        "params": model.layers[0].count_params(),
        "formula_params": cell_params(cell, 1, args.units),
        "formula": cell_formula(cell, 1, args.units),
        "reproduced": rate["reproduced"],
        "n": rate["n"],
        "ci95": rate["ci95"],
        "median_final_loss": rate["median_final_loss"],
        "max_abs_errors": [s["max_abs_error"] for s in rate["seeds"]],
        "epochs": args.epochs,
        "seconds": run.seconds["fit"],
    }


def main(argv: list[str] | None = None) -> int:
    """Run with these command-line arguments (none: every cell); the exit status."""
    with start("one_to_one", argv, add_arguments, check_arguments, PROG, QUESTION, SHARED) as args:
        cells = CELLS if args.cell == "all" else (args.cell,)
        rows = [study(args.sections[s], cell) for cell in cells for s in common.ARTICLE]
        answer = report(args, rows)
        counts_ok = all(r["params"] == r["formula_params"] for r in rows)
        failed = None if counts_ok else "a count differs from its formula"
        draw = plots_of(rows, args.backend)
        seconds = {"fit": round(sum(r.pop("seconds") for r in rows), 4)}
        return conclude(args, answer, {"cells": rows}, failed, draw, seconds)


## Report


def report(args, rows: list[dict]) -> str:
    """Print the table; return the answer it gives."""
    epochs = "/".join(str(r["epochs"]) for r in rows[:3])
    print(f"The article's three models with each cell ({args.units} units; {epochs} epochs):")
    common.print_table(
        ["cell", "section", "params", "formula", "reproduced", "95% CI", "median loss"],
        [
            [
                r["cell"],
                r["section"],
                r["params"],
                f"{r['formula']} = {r['formula_params']}",
                f"{r['reproduced']}/{r['n']}",
                interval(*r["ci95"]),
                f"{r['median_final_loss']:.2g}",
            ]
            for r in rows
        ],
    )
    sizes = ", ".join(f"{r['cell']} {GATES[r['cell']]} ({r['params']})" for r in rows[::3])
    echo = ", ".join(
        f"{r['cell']} {r['reproduced']}/{r['n']}" for r in rows if r["section"] == "many_to_many"
    )
    return (
        "Answer: the same procedure works with every cell; the gates set the size (gates and "
        f"weights per layer: {sizes}). The many-to-many echo at {rows[2]['epochs']} epochs "
        f"reproduced in: {echo} seeds."
    )


def plots_of(rows: list[dict], backend: str):
    """draw(path): each cell's reproduction rate per section, with its 95% interval."""

    def draw(path: str) -> None:
        fig, ax = plots.figure(height=3.6)
        sections = list(common.ARTICLE)
        cells = list(dict.fromkeys(r["cell"] for r in rows))
        width = 0.8 / len(cells)
        for k, cell in enumerate(cells):
            mine = [r for r in rows if r["cell"] == cell]
            x = [sections.index(r["section"]) + (k - (len(cells) - 1) / 2) * width for r in mine]
            rate = [100 * r["reproduced"] / r["n"] for r in mine]
            low = [r - 100 * c["ci95"][0] for r, c in zip(rate, mine, strict=True)]
            high = [100 * c["ci95"][1] - r for r, c in zip(rate, mine, strict=True)]
            bars = ax.bar(x, rate, width, label=f"{cell} ({mine[0]['params']} weights)")
            ax.errorbar(x, rate, yerr=[low, high], fmt="none", ecolor="black", capsize=3)
            labels = [f"{r['reproduced']}/{r['n']}" for r in mine]
            ax.bar_label(bars, labels, label_type="center", color="white", fontsize="small")
        ax.set_xticks(range(len(sections)), sections)
        ax.set(
            ylim=(0, 105),
            ylabel="seeds that reproduce (%)",
            title=f"How often each cell prints the article's 0.0 0.2 0.4 0.6 0.8 "
            f"({rows[0]['n']} seeds each, {backend}), with 95% intervals",
        )
        ax.legend(fontsize="small", ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.1))
        plots.save(path, fig)

    return draw


## Flags: the article scripts', and --cell

SHARED = {
    **cli.seeds_by_backend(SEEDS, "seeds per cell and section, from --seed on ({})"),
    "verbose": {
        "help": "not used: the studies train quietly, a line per cell and section on stderr"
    },
}


def add_arguments(parser) -> None:
    parser.add_argument(
        "--cell",
        choices=(*CELLS, "all"),
        default="all",
        help="the recurrent layer in place of the LSTM (default: all three, one after another)",
    )


def check_section(args) -> None:
    """One section's flags: --seeds by backend, and the TimeDistributed head's length."""
    cli.default_seeds(args, SEEDS)
    if args.script == "many_to_many":
        cli.check_timedistributed(args.length)


def check_arguments(args) -> None:
    """Every section's flags, now: each has its own defaults (epochs, batch size), and a flag
    that one section refuses (--batch-size 2 with one sample) must not wait for its turn."""
    check_section(args)
    args.sections = {
        section: cli.parse_args(
            section, args.argv, add_arguments, check_section, PROG, QUESTION, SHARED
        )
        for section in common.ARTICLE
    }


if __name__ == "__main__":
    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
