"""One run, start to finish: the record every script fills, and what follows its predictions."""

from __future__ import annotations

import argparse
import contextlib
import errno
import math
import os
import signal
import sys
from dataclasses import dataclass, field

import numpy as np

import common
from repro import cli, compare, files, plots, training
from repro.backend import import_keras
from repro.study import run_study as seeds_study


@contextlib.contextmanager
def start(
    script: str | None,
    argv=None,
    add_arguments=None,
    check=None,
):
    """`with start(SCRIPT, argv) as args:` an article script's run. Parses and checks the flags
    (bad input: one line, exit 2), then imports Keras, seeded.

    With --json -, standard output is kept for the JSON alone: inside the block what the script
    prints goes to standard error, and the JSON to the real standard output (args.stdout). However
    the block ends (returned, failed, interrupted), sys.stdout is then what it was before: in a
    terminal, a notebook or a plain Python caller alike."""
    _closed_streams_to_devnull()
    args = cli.parse_args(script, argv, add_arguments, check)
    args.stdout = sys.stdout
    to_stderr = args.json == "-"
    with contextlib.redirect_stdout(sys.stderr) if to_stderr else contextlib.nullcontext():
        keras = import_keras(args)
        args.floatx = keras.config.floatx()  # the precision every model of the run computes in
        yield args


def _in_a_kernel() -> bool:
    """Whether this runs in a Jupyter kernel (a notebook), where a picture shows under its cell."""
    ipython = sys.modules.get("IPython")
    return getattr(ipython and ipython.get_ipython(), "kernel", None) is not None


def _show(draw) -> None:
    """In a notebook: the run's picture under the cell, drawn by draw(path) as --plot draws it."""
    import tempfile

    from IPython.display import Image, display

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "picture.png")
        draw(path)
        display(Image(filename=path))


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


def _terminate(signum, frame) -> None:
    """SIGTERM: end as Ctrl-C does (nothing half-written left behind), then exit with 143."""
    _terminated.append(signum)
    raise KeyboardInterrupt("terminated")


_terminated: list = []


def run_program(main) -> None:
    """Run main(sys.argv[1:]) as a terminal program and exit with its status: Ctrl-C prints
    one line and exits with 130 (SIGTERM: 143), leaving no half-written file; a closed pipe
    (`| head`) ends it quietly."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        status = main(sys.argv[1:])
        sys.stdout.flush()
    except KeyboardInterrupt as e:  # training says at which epoch; elsewhere there is no epoch
        said = str(e) or "interrupted"
        if _terminated:
            said = "terminated" + said.removeprefix("interrupted").removeprefix("terminated")
        print(said, file=sys.stderr)
        status = 143 if _terminated else 130
    except BrokenPipeError:  # Keras' summary (rich) handles its own the same way
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):  # nothing more to say, and nothing for Python to fail on at exit
            os.dup2(devnull, fd)
        status = 1
    except OSError as e:  # standard output refused what the run printed (a full disk, /dev/full)
        if e.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EIO) or e.filename is not None:
            raise  # a file of its own (those name themselves): not this case
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nothing for Python to fail on at exit
        print(f"error: cannot write to standard output: {e.strerror}", file=sys.stderr)
        status = 1
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
    study: dict | None = None  # with --seeds: the study of the further seeds (echo_record)

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

    def draw(self, path: str) -> None:
        """The PNG of this run: the loss per epoch (one curve per seed of a study, or past 20
        seeds a histogram of their errors) and the predictions against the targets."""
        args, section = self.args, self.args.script
        histories, errors, by_budget = {args.seed: self.history}, None, None
        if self.study:
            histories = {r["seed"]: r["history"] for r in self.study["seeds"]}
            errors = [r["max_abs_error"] for r in self.study["seeds"]]
            by_budget = self.study["by_budget"]
        plots.plot(
            path,
            f"{args.program}: {common.ARTICLE[section].title}",
            histories,
            self.predictions,
            self.targets,
            "sample" if section == "one_to_one" else "time step",
            self.tolerance,
            errors,
            by_budget,
        )

    def train(self, model) -> None:
        """fit and predict with the run's settings, as the scripts do (for the apparatus)."""
        args = self.args
        self.fit(model, self.X, self.y, args.epochs, args.batch_size, args.verbose)
        self.predicted(model.predict(self.X, batch_size=args.batch_size, verbose=0))


def finish(run: Run, build) -> int:
    """The end of an article script: the parameter check, the derivation and the side-by-side
    block; the study (which builds a model with build() for every seed); plot
    and JSON. Returns the exit status: 1 under --check when something is a MISMATCH, else 0."""
    args, model, targets = run.args, run.model, run.targets
    if diverged(run):
        return 1
    rows = common.layer_rows(model)
    known = compare.known_differences(args)
    comparison = compare.comparison_rows(
        args, rows, run.predictions, targets, known, run.tolerance, max(3, run.digits + 1)
    )
    counts_ok = all(r["params"] == r["formula_params"] for r in rows)
    passed = counts_ok and all(c["verdict"] != "MISMATCH" for c in comparison)
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
    record = echo_record(run, build)
    results = {
        "script": args.program,
        "section": common.ARTICLE[args.script].title,
        "config": {k: getattr(args, k) for k in cli.CONFIG_KEYS},
        "backend": args.backend,
        "floatx": args.floatx,
        "versions": files.versions(),
        **record,
        "comparison": comparison,
        "check_passed": passed,
        **run.extra,
        "seconds": run.seconds,
    }
    print_seconds(run.seconds)
    status = save(args, results, run.draw)
    if args.check and not passed:
        print("check failed: see MISMATCH (or DIFFERENT) above", file=sys.stderr)
        return 1
    return status


def diverged(run: Run) -> bool:
    """Say so (one line, stderr) if a prediction is not finite: the model has diverged, whatever
    its last loss said."""
    bad = int(np.sum(~np.isfinite(run.predictions)))
    if bad:
        print(
            f"error: training diverged: {bad} of {len(run.predictions)} predictions are not "
            f"finite (final loss {run.history[-1]:.6g}); try a smaller --lr or scaled inputs",
            file=sys.stderr,
        )
    return bool(bad)


def echo_record(run: Run, build, study: bool = True) -> dict:
    """What a run of an echo model gives, for the JSON file: layers and counts, predictions and
    targets, the loss of every epoch; with --seeds, the study of the further seeds (trained and
    printed here, each built by build())."""
    args, targets = run.args, run.targets
    rows = common.layer_rows(run.model)
    record = {
        "layers": rows,
        "total_params": sum(r["params"] for r in rows),
        "predictions": [float(p) for p in run.predictions],
        "printed": [common.fmt(p, run.digits) for p in run.predictions],
        "targets": [float(t) for t in targets],
        "max_abs_error": compare.max_error(run.predictions, targets),
        "final_loss": run.history[-1],
        "loss_history": run.history,
    }
    if args.scaling is not None:
        record["values"] = {
            "values": args.scaling.values,
            **args.scaling.describe(),
            "predictions_scaled": [float(p) for p in run.scaled_predictions],
            "targets_scaled": [float(t) for t in args.sequence],
        }
    if args.seeds > 1 and study:
        with run.timed("study"):
            run.study = record["study"] = seeds_study(run, build)
    return record


def print_seconds(seconds: dict) -> None:
    """The run's timings, on stderr: never on stdout, so two runs print the same bytes."""
    if seconds:
        print("seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in seconds.items()), file=sys.stderr)


def save(args, results: dict, draw=None) -> int:
    """Write the --plot file (by draw(path)) and the --json file, if asked for; with --json -,
    the JSON goes to the real standard output (args.stdout). Returns 0, or 1 when an output
    could not be written: one line on stderr says which, and where the result was kept."""
    status = 0
    outputs = []
    if getattr(args, "plot", None) and draw is not None:
        outputs.append(lambda: draw(args.plot))
    if args.json:
        outputs.append(lambda: files.write_json(args.json, results, args.stdout))
    if draw is not None and _in_a_kernel():
        outputs.append(lambda: _show(draw))
    for write in outputs:
        try:
            write()
        except files.OutputFailed as e:
            print(f"error: {e}", file=sys.stderr)
            status = 1
    return status
