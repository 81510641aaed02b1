"""What every question does around its lesson: its flags, its tables, its answer and its claims.

    with lesson.start(__doc__, argv, seeds=20, epochs=3000) as run:
        ...                                   # the lesson: data, model, training, evaluation
        run.table("Share of seeds reproduced", rows)
        run.expect(rate[-1] == 1, "every seed reproduces by the last budget")
        return run.answer("the GRU converges sooner ({gru})", gru="86/100")

Flags are keyword defaults: a name from BOUNDS (`seeds=20`) takes its bounds and help from
there; a question's own flag is `name=(default, lowest, highest, help)`. Every question also
takes --backend, --verbose, --json, --plot and --check. The JSON holds the tables, the answer
with its figures and each claim with whether it held; --check fails when a claim does not hold.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import time

import numpy as np

from repro import cli, files
from repro.backend import BACKENDS, import_keras
from repro.study import budgets  # noqa: F401  (questions read it from here)

BOUNDS = {  # flag -> (lowest, highest, what it sets): the flags questions share
    "seed": (0, cli.MAX_SEED, "the first random seed"),
    "seeds": (1, cli.MAX_SEEDS, "seeds per model, from --seed on"),
    "epochs": (1, cli.MAX_EPOCHS, "training epochs (the longest budget)"),
    "units": (1, 10_000, "LSTM units"),
    "length": (2, 1_000, "time steps per sequence"),
    "samples": (8, 100_000, "training sequences"),
    "lr": (0.0, 10.0, "Adam's learning rate"),
}
BYTES_PER_NUMBER = 64  # a number kept for the JSON file: a Python float in a list, then its text


def _number(low, high, kind):
    def parse(text: str):
        if not text.isascii() or "_" in text:  # int() reads other scripts' digits, and 1_000
            raise argparse.ArgumentTypeError(f"must be written in plain digits, got {text!r}")
        try:
            value = kind(text)
        except ValueError:
            value = None
        if kind is float:
            ok = value is not None and math.isfinite(value) and low < value <= high
            ok = ok and np.float32(value) > 0  # a rate that is 0 in float32 trains nothing
            if not ok:
                raise argparse.ArgumentTypeError(
                    f"must be a number above {low:g} (and above 0 in float32) up to {high:g}, "
                    f"got {text!r}"
                )
        elif value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high:,}, got {text!r}"
            )
        return value

    return parse


def parser(doc: str, prog: str, flags: dict) -> argparse.ArgumentParser:
    """The question's command line: its own flags, then the ones every question takes."""
    p = cli._Parser(prog=prog, description=doc.strip().splitlines()[0], allow_abbrev=False)
    for name, spec in {"seed": 1, **flags}.items():
        default, low, high, meaning = spec if isinstance(spec, tuple) else (spec, *BOUNDS[name])
        kind = float if isinstance(default, float) else int
        p.add_argument(
            "--" + name.replace("_", "-"),
            type=_number(low, high, kind),
            default=default,
            metavar="N" if kind is int else "X",
            help=f"{meaning} (default: %(default)s)",
        )
    p.add_argument(
        "--backend",
        choices=tuple(BACKENDS),
        help="Keras backend (default: $KERAS_BACKEND if set, else tensorflow)",
    )
    p.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=1,
        help="0 quiet; 1 a line per model trained, on stderr (default); 2 also Keras'",
    )
    p.add_argument(
        "--json",
        metavar="PATH",
        help="also write the tables, answer and claims as "
        "JSON to PATH; '-' writes the JSON alone on stdout, the rest to stderr",
    )
    p.add_argument("--plot", metavar="PATH", help="also draw the run's picture to a PNG")
    p.add_argument(
        "--check",
        action="store_true",
        help="exit with status 1 if a claim behind the Answer line does not hold (the claims "
        "are about the default budgets: a much shorter run may fail them)",
    )
    return p


MODELS_AT_ONCE = 4  # a question compares a few models: each holds its weights while it trains


def memory_needed(args) -> int:
    """One guard for every question: the numbers a run keeps (a loss per epoch and seed), the
    activations one training step keeps (samples x steps x units x 8 gates and states), and the
    weights of an LSTM of --units (4 x units**2 and more, each with its gradient and Adam's two
    moments: 16 bytes) in each of a few models."""
    get = lambda name: getattr(args, name, None) or 1  # noqa: E731
    kept = BYTES_PER_NUMBER * get("seeds") * get("epochs")
    weights = MODELS_AT_ONCE * 16 * 4 * get("units") * (get("units") + 2)
    return kept + weights + 4 * 8 * get("samples") * get("length") * get("units")


class Lesson:
    """One question's run: its flags (args) and what it reports."""

    def __init__(self, doc: str, args: argparse.Namespace):
        self.doc, self.args = doc, args
        self.tables: dict[str, list[dict]] = {}
        self.claims: list[dict] = []
        self.started = time.perf_counter()
        self.answered = False

    def _afresh(self) -> None:
        """After an answer, the next table or claim starts a new report (a notebook's report
        cell run again), not a longer one."""
        if self.answered:
            self.tables, self.claims, self.answered = {}, [], False

    def say(self, text: str) -> None:
        """A progress line on stderr (--verbose 1 or 2)."""
        if self.args.verbose:
            print(text, file=sys.stderr, flush=True)

    def table(self, title: str, rows: list[dict], formats: dict | None = None) -> None:
        """Print `rows` (dicts with the same keys) under `title`, and keep them for the JSON.
        Floats print with 3 significant digits unless `formats` gives a column its own."""
        formats = formats or {}
        self._afresh()
        self.tables[title] = rows
        columns = list(rows[0])

        def cell(key, value):
            if key in formats:
                return formats[key].format(value)
            return f"{value:.3g}" if isinstance(value, float) else str(value)

        print(f"\n{title}:")
        body = [[cell(k, r[k]) for k in columns] for r in rows]
        cells = [columns, *body]
        widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
        for row in cells:
            print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())

    def expect(self, holds, claim: str) -> bool:
        """A claim the answer rests on; --check fails if it does not hold. Returns it."""
        holds = bool(holds)
        self._afresh()
        self.claims.append({"claim": claim, "holds": holds})
        return holds

    def answer(self, template: str, draw=None, **figures) -> int:
        """Print `Answer: ` and the template filled with `figures`; draw the picture (--plot,
        by draw(path)) and write the JSON (--json); return the exit status."""
        args = self.args
        text = "Answer: " + template.format(**figures)
        print("\n" + text)
        failed = [c["claim"] for c in self.claims if not c["holds"]]
        seconds = round(time.perf_counter() - self.started, 2)
        print(f"seconds: {seconds:.2f}", file=sys.stderr)
        data = {
            "script": args.prog,
            "question": self.doc.strip().splitlines()[0],
            "config": {k: v for k, v in vars(args).items() if k in args.config_keys},
            "backend": args.backend,
            "floatx": args.floatx,
            "versions": files.versions(),
            "answer": text,
            "figures": figures,
            "claims": self.claims,
            "check_passed": not failed,
            "tables": self.tables,
            "seconds": seconds,
        }
        from repro.run import save  # the plot and the JSON, as an article script writes them

        status = save(args, data, draw)
        self.answered = True  # a notebook may run the report again: it starts afresh
        if args.check and failed:
            print(f"check failed: {failed[0]}", file=sys.stderr)
            return 1
        return status


@contextlib.contextmanager
def start(doc: str, argv=None, prog: str | None = None, check=None, **flags):
    """`with start(__doc__, argv, seeds=20, ...) as run:` a question's run. Parses and checks the
    flags (bad input: one line, exit 2; `check(args)` may raise cli.UsageError), then imports
    Keras, seeded with --seed. argv None means the defaults, not sys.argv (a notebook's kernel
    has its own). With --json -, what the lesson prints goes to stderr, the JSON to stdout."""
    from repro.run import _closed_streams_to_devnull

    _closed_streams_to_devnull()
    prog = prog or _script_of(doc)
    p = parser(doc, prog, flags)
    try:
        args = p.parse_args([] if argv is None else list(argv))
        args.prog, args.config_keys = prog, ["seed", *flags, "backend"]
        cli._validate_run(None, args)  # backend installed, output paths writable
        cli.check_memory(
            "--"
            + "/--".join(
                k for k in ("seeds", "epochs", "samples", "length", "units") if k in flags
            ),
            memory_needed(args),
            "this run keeps",
            "pass smaller values",
        )
        if check:
            check(args)
    except cli.UsageError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    args.stdout = sys.stdout
    with contextlib.redirect_stdout(sys.stderr) if args.json == "-" else contextlib.nullcontext():
        import_keras(args)
        yield Lesson(doc, args)


def _script_of(doc: str) -> str:
    """questions/NAME.py: the file of the module whose docstring is `doc` (a script run, one
    imported, or the one a notebook imported its __doc__ from), else the caller's."""
    for name, module in list(sys.modules.items()):
        if name == "__main__" or name.startswith("questions."):
            if getattr(module, "__doc__", None) is doc and getattr(module, "__file__", None):
                return _folder_and_name(module.__file__)
    return _caller_path()


def _folder_and_name(path: str) -> str:
    path = os.path.abspath(path)
    return os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path))


def _caller_path() -> str:
    """questions/NAME.py, for the script that called start() (the first frame outside this
    module and contextlib)."""
    frame = sys._getframe(1)
    while frame.f_code.co_filename in (__file__, contextlib.__file__):
        frame = frame.f_back
    return _folder_and_name(frame.f_code.co_filename)
