"""One run, start to finish: the record every script fills, and what follows its predictions."""

from __future__ import annotations

import argparse
import errno
import math
import os
import sys
from dataclasses import dataclass, field

import numpy as np

import common
from repro import cli, compare, files, plots, study, training
from repro.backend import import_keras


def start(
    script: str, argv=None, add_arguments=None, check=None, prog=None, description=None
) -> argparse.Namespace:
    """Parse and check the flags (bad input: one line, exit 2), then import Keras, seeded.

    With --json -, standard output is kept for the JSON alone: until finish() writes it, what
    the script prints goes to standard error. A run that ends before that (an error, Ctrl-C, a
    diverged training) gets its standard output back all the same: from run_program in a
    terminal, when the cell ends in IPython or a Jupyter notebook."""
    _closed_streams_to_devnull()
    args = cli.parse_args(script, argv, add_arguments, check, prog, description)
    if args.json == "-":
        args.stdout, sys.stdout = sys.stdout, sys.stderr
        _swapped[:] = [args.stdout, sys.stdout]
        _after_the_cell(_stdout_back)
    import_keras(args)
    return args


_swapped = []  # [standard output, its stand-in] from start's --json - until it is put back


def _stdout_back(*_) -> None:
    """Undo start's --json - swap if save() has not (a run that failed halfway), unless
    something else has taken sys.stdout since."""
    if _swapped:
        stdout, stand_in = _swapped
        _swapped.clear()
        if sys.stdout is stand_in:
            sys.stdout = stdout


def _after_the_cell(action) -> None:
    """In IPython (a Jupyter kernel too), call action() once when the running cell has ended,
    however it ended; elsewhere do nothing."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return

    def once(*_):
        shell.events.unregister("post_run_cell", once)
        action()

    shell.events.register("post_run_cell", once)


def _closed_streams_to_devnull() -> None:
    """A closed standard output or error (`2>&-`) gets /dev/null: what would go there is
    dropped, no file the run opens takes its number, and print() and flush() work on it."""
    for fd, name in ((1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_WRONLY)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        if getattr(sys, name) is None:  # Python found it closed at start-up
            setattr(sys, name, open(fd, "w", buffering=1, errors="backslashreplace", closefd=False))


def run_program(main) -> None:
    """Run main(sys.argv[1:]) as a terminal program and exit with its status: Ctrl-C prints
    one line and exits with 130, and a closed pipe (`| head`) ends it quietly."""
    try:
        status = main(sys.argv[1:])
        sys.stdout.flush()
    except KeyboardInterrupt as e:  # training says at which epoch; elsewhere there is no epoch
        print(str(e) or "interrupted", file=sys.stderr)
        status = 130
    except BrokenPipeError:  # Keras' summary (rich) handles its own the same way
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):  # nothing more to say, and nothing for Python to fail on at exit
            os.dup2(devnull, fd)
        status = 1
    except OSError as e:  # standard output refused what the run printed (a full disk, /dev/full)
        if e.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EIO) or e.filename is not None:
            raise  # a file of its own (those name themselves): not this case
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nothing for Python to fail on at exit
        print(f"error: cannot write the output: {e.strerror}", file=sys.stderr)
        status = 1
    finally:
        _stdout_back()  # --json -, and the run ended before save() (%run in IPython, too)
    sys.exit(status)


@dataclass
class Run:
    """One script run: its settings and data, the model it built and what training gave."""

    args: argparse.Namespace
    X: object  # the inputs, framed as the script's section frames them
    y: object  # the targets: the inputs again (an echo)
    model: object = None
    history: list = field(default_factory=list)  # the loss of every epoch
    predictions: object = None  # one float per target, in the targets' units
    scaled_predictions: object = None  # as the model gave them (the same without --values)
    seconds: dict = field(default_factory=dict)  # wall time per phase: fit, and study
    extra: dict = field(default_factory=dict)  # the script's own results, for the JSON file

    @property
    def targets(self):
        """What the predictions should echo, in the reader's units (--values) if given."""
        scaling = self.args.scaling
        return self.y.ravel() if scaling is None else np.asarray(scaling.values, "float64")

    @property
    def tolerance(self) -> float:
        """How close a prediction must come to its target to reproduce it."""
        scaling = self.args.scaling
        return compare.ECHO_TOLERANCE if scaling is None else scaling.tolerance

    @property
    def digits(self) -> int:
        """Decimals to print predictions with: the article's one, or as --values are written."""
        return 1 if self.args.scaling is None else self.args.scaling.digits

    def in_user_units(self, predictions):
        """The model's (scaled) predictions in the units of the targets."""
        scaling = self.args.scaling
        return predictions if scaling is None else scaling.to_user_units(predictions)

    def timed(self, phase: str):
        """A with-block whose wall time is added to seconds[phase]."""
        return training.timed(self.seconds, phase)

    def fit(self, model, X, y, epochs: int, batch_size: int, verbose: int = 1):
        """model.fit(X, y, epochs=..., batch_size=..., verbose=...) done the run's --fit way: the
        fast loop (the same updates and per-epoch losses without Keras' per-epoch overhead) or
        model.fit itself (--fit naive). Returns a keras History, as model.fit does."""
        self.model = model
        with self.timed("fit"):
            self.history = training.fit(self.args, model, X, y, epochs, batch_size, verbose)
        steps = math.ceil(len(X) / batch_size)
        return training.as_history(model, self.history, epochs, steps, verbose)

    def predicted(self, result):
        """Keep model.predict's result; returns it flat, in the targets' units (--values)."""
        self.scaled_predictions = np.asarray(result, "float64").ravel()
        self.predictions = self.in_user_units(self.scaled_predictions)
        return self.predictions

    def train(self, model) -> None:
        """fit and predict with the run's settings, as the scripts do (for the apparatus)."""
        args = self.args
        self.fit(model, self.X, self.y, args.epochs, args.batch_size, args.verbose)
        self.predicted(model.predict(self.X, batch_size=args.batch_size, verbose=0))


def finish(
    run: Run, build_model, report: bool = True, failed: str | None = None, seeds: bool = True
) -> int:
    """Print the parameter check, the derivation and the side-by-side block; run the study
    (which rebuilds the model with `build_model` for every further seed); save plot and JSON.

    A question's script prints its own results and passes report=False, with `failed` saying why
    its answer does not hold (None when it does), and seeds=False if it ran its own studies.
    Returns the exit status: 1 under --check when something is a MISMATCH (for a question: when
    `failed`), else 0."""
    args, model, targets = run.args, run.model, run.targets
    bad = int(np.sum(~np.isfinite(run.predictions)))
    if bad:  # a model that gives NaN has diverged, whatever its last loss said
        print(
            f"error: training diverged: {bad} of {len(run.predictions)} predictions are not "
            f"finite (final loss {run.history[-1]:.6g}); try a smaller --lr or scaled inputs",
            file=sys.stderr,
        )
        return 1
    rows = common.layer_rows(model)
    known = compare.known_differences(args)
    comparison = compare.comparison_rows(
        args, rows, run.predictions, targets, known, run.tolerance, max(3, run.digits + 1)
    )
    counts_ok = all(r["params"] == r["formula_params"] for r in rows)
    passed = counts_ok and all(c["verdict"] != "MISMATCH" for c in comparison)
    if not report:
        passed = failed is None
    if report:
        common.print_parameter_check(rows)
        lstm = model.layers[0]
        print()
        print("\n".join(common.lstm_derivation(lstm.input.shape[-1], lstm.units)))
        compare.print_side_by_side(args, comparison, run.tolerance)
        print(
            f"max |prediction - target| = "
            f"{compare.max_error(run.predictions, targets):.{max(4, run.digits + 1)}f}; "
            f"final loss {run.history[-1]:.6g}"
        )
    results = {
        "script": args.program,
        "section": common.ARTICLE[args.script].title,
        "config": {k: getattr(args, k) for k in cli.CONFIG_KEYS},
        "backend": args.backend,
        "versions": files.versions(),
        "layers": rows,
        "total_params": sum(r["params"] for r in rows),
        "predictions": [float(p) for p in run.predictions],
        "printed": [common.fmt(p, run.digits) for p in run.predictions],
        "targets": [float(t) for t in targets],
        "max_abs_error": compare.max_error(run.predictions, targets),
        "final_loss": run.history[-1],
        "loss_history": run.history,
        "comparison": comparison,
        "check_passed": passed,
        **run.extra,
    }
    if args.scaling is not None:
        results["values"] = {
            "values": args.scaling.values,
            **args.scaling.describe(),
            "predictions_scaled": [float(p) for p in run.scaled_predictions],
            "targets_scaled": [float(t) for t in args.sequence],
        }
    histories, errors = {args.seed: run.history}, None
    if args.seeds > 1 and seeds:
        with run.timed("study"):
            results["study"] = study.run_study(run, build_model)
        histories = {r["seed"]: r["history"] for r in results["study"]["seeds"]}
        errors = [r["max_abs_error"] for r in results["study"]["seeds"]]
    results["seconds"] = run.seconds
    print("seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in run.seconds.items()), file=sys.stderr)
    if args.plot:
        plots.plot(
            args.plot,
            f"{args.program}: {common.ARTICLE[args.script].title}",
            histories,
            run.predictions,
            targets,
            "sample" if args.script == "one_to_one" else "time step",
            run.tolerance,
            errors,
        )
    save(args, results)
    if args.check and not passed:
        why = "see MISMATCH (or DIFFERENT) above" if report else failed
        print(f"check failed: {why}", file=sys.stderr)
        return 1
    return 0


def conclude(args, results: dict, failed: str | None) -> int:
    """The end of a question's script with results of its own: save the JSON, then the exit
    status, 1 under --check when `failed` says why its answer does not hold."""
    save(args, results)
    if args.check and failed:
        print(f"check failed: {failed}", file=sys.stderr)
        return 1
    return 0


def save(args, results: dict) -> None:
    """Write the --json file, if asked for; with --json -, standard output gets the JSON alone."""
    if args.json == "-":
        sys.stdout = args.stdout  # back from stderr, for the JSON alone
    if args.json:
        files.write_json(args.json, results)
