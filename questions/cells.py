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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # common, repro, the scripts

import common  # noqa: E402
from repro import cli  # noqa: E402
from repro.backend import seed_everything  # noqa: E402
from repro.run import Run, run_program, save, start  # noqa: E402
from repro.study import interval, run_study  # noqa: E402

PROG = "questions/cells.py"
CELLS = ("LSTM", "GRU", "SimpleRNN")
GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}  # a kernel, a recurrent kernel and biases each
BIASES = {"LSTM": 1, "GRU": 2, "SimpleRNN": 1}  # GRU, reset_after=True: input and recurrent bias
SEEDS = {"jax": 100, "tensorflow": 10, "torch": 10}  # --seeds' default: about 2 minutes


def cell_params(cell: str, inputs: int, units: int) -> int:
    """Weights of one recurrent layer: gates x (kernel + recurrent kernel + biases)."""
    return GATES[cell] * (inputs * units + units * units + BIASES[cell] * units)


def cell_formula(cell: str, inputs: int, units: int) -> str:
    biases = f"{BIASES[cell]}*{units}" if BIASES[cell] > 1 else f"{units}"
    return f"{GATES[cell]}*({inputs}*{units} + {units}*{units} + {biases})"


def answer(rows: list[dict]) -> str:
    """The table's verdict in one line, from its numbers."""
    sizes = ", ".join(f"{r['cell']} {GATES[r['cell']]} ({r['params']})" for r in rows[::3])
    echo = ", ".join(
        f"{r['cell']} {r['reproduced']}/{r['n']}" for r in rows if r["section"] == "many_to_many"
    )
    return (
        "Answer: the same procedure works with every cell; the gates set the size (gates and "
        f"weights per layer: {sizes}). The many-to-many echo at {rows[2]['epochs']} epochs "
        f"reproduced in: {echo} seeds."
    )


def check_arguments(args) -> None:
    """--seeds by backend, enough for the interval to say something in about two minutes."""
    if args.plot:
        raise cli.UsageError("argument --plot: questions/cells.py draws no plot; use --json")
    args.seeds = args.seeds or SEEDS[args.backend]
    cli.check_seed_range(args)


def add_arguments(parser) -> None:
    parser.add_argument(
        "--cell",
        choices=(*CELLS, "all"),
        default="all",
        help="the recurrent layer in place of the LSTM (default: all three, one after another)",
    )
    per_backend = ", ".join(f"{n} on {b}" for b, n in SEEDS.items())
    cli.seeds_by_backend(parser, f"seeds per cell and section, from --seed on ({per_backend})")


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


def study(section: str, cell: str, argv: list[str]) -> dict:
    """One cell in one section: the first seed trained as the article's script trains it, the
    others by the study; the layer's count against the formula, and the reproduction rate."""
    args = cli.parse_args(section, argv, add_arguments, check_arguments, PROG)
    args.cell = cell
    seq = common.echo_sequence(args.length) if args.sequence is None else args.sequence
    framing = common.FRAMINGS[section]
    X, y = seq.reshape(framing.x_shape(args.length)), seq.reshape(framing.y_shape(args.length))
    run = Run(args, X, y)
    seed_everything(args.seed)  # as a run of its own, whatever the sections before drew
    model = build_model(args)
    run.fit(model, X, y, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
    run.predicted(model.predict(X, batch_size=args.batch_size, verbose=0))
    rate = run_study(run, build_model, quiet=True)  # the first seed is this run
    layer = model.layers[0]
    return {
        "cell": cell,
        "section": section,
        "params": layer.count_params(),
        "formula_params": cell_params(cell, 1, args.units),
        "formula": cell_formula(cell, 1, args.units),
        "reproduced": rate["reproduced"],
        "n": rate["n"],
        "ci95": rate["ci95"],
        "median_final_loss": rate["median_final_loss"],
        "max_abs_errors": [s["max_abs_error"] for s in rate["seeds"]],
        "epochs": args.epochs,
    }


def main(argv: list[str] | None = None) -> int:
    """Run with these command-line arguments (none: every cell); the exit status."""
    argv = [] if argv is None else list(argv)
    description = __doc__.splitlines()[0]
    args = start("one_to_one", argv, add_arguments, check_arguments, PROG, description)
    cells = CELLS if args.cell == "all" else (args.cell,)
    rows = []
    for cell in cells:
        for section in common.ARTICLE:
            rows.append(study(section, cell, argv))
            r = rows[-1]
            print(f"{cell} {section}: {r['reproduced']}/{r['n']} reproduced", file=sys.stderr)
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
    print("\n" + answer(rows))
    counts_ok = all(r["params"] == r["formula_params"] for r in rows)
    save(args, {"script": PROG, "cells": rows, "check_passed": counts_ok})
    if args.check and not counts_ok:
        print("check failed: a count differs from its formula", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
