"""Shared test helpers: run scripts as a user would, and read what they printed.

The tests run in two workers, a file to a worker (`-n 2 --dist loadfile` in pyproject.toml), so
the tests that share a run live in one file: each file that needs a script's quick run makes its
own module fixture with quick_run_fixture(name), and the article settings' runs live in
tests/test_default_runs.py. Tests that train at the article's settings, start TensorFlow on
other backends or a Jupyter kernel are marked slow one by one.
"""

import contextlib
import importlib
import io
import json
import os
import re
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

import common

ROOT = Path(__file__).resolve().parent.parent

SCRIPTS = {  # the article's sections and their scripts
    "one_to_one": "one_to_one.py",
    "many_to_one": "many_to_one.py",
    "many_to_many": "many_to_many_td.py",
}
QUESTIONS = {  # the readers' questions that train an article section's model, by that section
    "td_or_dense": ("questions/td_or_dense.py", "many_to_many"),
    "state": ("questions/state.py", "one_to_one"),
}
ECHO_SCRIPTS = {**SCRIPTS, **{name: path for name, (path, _) in QUESTIONS.items()}}
OWN_DATA = {  # the questions with data or studies of their own
    "cells": "questions/cells.py",
    "forecast": "questions/forecast.py",
    "label_steps": "questions/label_steps.py",
    "echo_or_memorise": "questions/echo_or_memorise.py",
}
ALL_SCRIPTS = {**ECHO_SCRIPTS, **OWN_DATA}
QUICK_EPOCHS = 30  # enough for a loss to fall, too few for every prediction to print its target
QUICK_FLAGS = {  # the quick runs' own flags (after --epochs QUICK_EPOCHS): other sizes, and for
    # the questions with data of their own a few seeds, epochs or samples
    "many_to_many": ["--length", "7", "--units", "3"],
    "td_or_dense": ["--length", "7", "--units", "3"],
    "state": ["--units", "3"],
    "cells": ["--cell", "GRU", "--seeds", "2", "--epochs", "40"],
    "forecast": ["--window", "3", "--horizon", "2", "--epochs", "5"],
    "label_steps": ["--epochs", "2", "--samples", "64"],
    "echo_or_memorise": ["--seeds", "2", "--epochs", "5", "--sequences", "20"],
}
# The quick tier starts this one as a user does, `python SCRIPT`; the others run through
# main(argv) in the test's process, as a notebook runs them: what they print to sys.stdout and
# sys.stderr is theirs, but TensorFlow's own lines (on file descriptor 2) are not seen there. The
# slow tier starts every script in a process of its own and checks those too (said_out_of_turn)
IN_A_PROCESS = ("one_to_one",)


def user_env() -> dict:
    """This environment as a user's shell has it: without the TF_CPP_MIN_LOG_LEVEL of this
    environment (JAX, which Keras imports, sets it when unset), which would quiet TensorFlow
    before the scripts' own filter could be seen to work."""
    return {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}


def start_script(name: str, *args: str, backend: str = "tensorflow", env: dict | None = None):
    """Start one script in a fresh Python process, as `python SCRIPT ARGS` would."""
    env = dict(user_env(), KERAS_BACKEND=backend, PYTHONHASHSEED="0", **(env or {}))
    return subprocess.Popen(
        [sys.executable, str(ROOT / ALL_SCRIPTS.get(name, name)), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def finish(proc, timeout: int = 600) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def run_script(name: str, *args: str, **kw) -> subprocess.CompletedProcess:
    """Run one script and wait for it."""
    return finish(start_script(name, *args, **kw))


def run_all(jobs: dict) -> dict:
    """Run several scripts at once (they spend most of their time importing, one core each)."""
    started = {key: start_script(*args, **kw) for key, (args, kw) in jobs.items()}
    return {key: finish(proc) for key, proc in started.items()}


def run_main(module, argv: list[str], capsys) -> tuple:
    """Call a script's main(argv) in this process; returns (exit status, stdout, stderr)."""
    try:
        code = module.main(argv)
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def printed_predictions(stdout: str) -> list[str]:
    """The lines between 'Predictions:' and the next blank line."""
    lines = stdout.splitlines()
    start = lines.index("Predictions:") + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


def said_out_of_turn(stderr: str) -> list[str]:
    """The lines of a run's stderr that a quiet run must not have: TensorFlow's log records
    (`E0000 00:00:...`, absl's `WARNING: All log messages...`), Python's warnings, tracebacks."""
    pattern = r"^[IWEF]\d{4} |WARNING|Warning: |Traceback"
    return [line for line in stderr.splitlines() if re.search(pattern, line)]


def default_runs_on(backend: str, folder: Path, again=("many_to_many",), also=()) -> dict:
    """Each script at its defaults with --check and --json (the article's, and those in `also`),
    plus a second run of the scripts in `again` with the same flags (for the determinism tests),
    all started together."""
    jobs = {}
    for name in [*SCRIPTS, *also, *(f"again {script}" for script in again)]:
        script = name.removeprefix("again ")
        json_path = str(folder / f"{name.replace(' ', '_')}.json")
        jobs[name] = ((script, "--backend", backend, "--check", "--json", json_path), {})
    procs = run_all(jobs)
    results = {}
    for name, proc in procs.items():
        path = folder / f"{name.replace(' ', '_')}.json"
        results[name] = (proc, json.loads(path.read_text()) if path.exists() else None)
    return results


def script_module(path: str):
    """The module of a script, by its path from the project root: questions/state.py -> ..."""
    return importlib.import_module(path.removesuffix(".py").replace("/", "."))


def run_in_process(name: str, argv: list[str]) -> subprocess.CompletedProcess:
    """Call a script's main(argv) here, with what it prints to sys.stdout and sys.stderr kept."""
    module = script_module(ALL_SCRIPTS[name])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = module.main(argv)
        except SystemExit as e:
            code = e.code
        except Exception:  # as a process would end: its traceback on stderr, status 1
            traceback.print_exc()
            code = 1
    return subprocess.CompletedProcess([name, *argv], code, out.getvalue(), err.getvalue())


def quick_run(name: str, folder: Path) -> tuple:
    """(the run, its JSON or None) of one script at QUICK_EPOCHS epochs and its QUICK_FLAGS,
    with --check, --json and --plot into `folder` (the run's .folder): IN_A_PROCESS's in a
    process of its own, the others through main()."""
    path = folder / f"{name}.json"
    argv = ["--epochs", str(QUICK_EPOCHS), "--check", "--json", str(path)]
    argv += ["--plot", str(folder / f"{name}.png"), *QUICK_FLAGS.get(name, [])]
    done = finish(start_script(name, *argv)) if name in IN_A_PROCESS else run_in_process(name, argv)
    done.folder = folder  # where its files are
    return done, json.loads(path.read_text()) if path.exists() else None


def quick_run_fixture(name: str):
    """A module fixture of the file's quick run of `name` (see quick_run), run on first use."""

    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory):
        return quick_run(name, tmp_path_factory.mktemp(name))

    return fixture


QUESTION_FIELDS = [  # every question's JSON, in this order (repro.run.conclude)
    *("script", "question", "config", "backend", "floatx", "versions", "answer"),
    *("check_passed", "results", "seconds"),
]


def ended_well(name: str, proc, result) -> None:
    """What every script's quick run must show, with --check: status 0 when the check passed,
    else 1 with the reason as the last line of stderr; no traceback or warning on stderr; a
    question's JSON with the shared fields, its Answer: line the last of stdout."""
    assert said_out_of_turn(proc.stderr) == []
    assert result["script"] == ALL_SCRIPTS[name]
    if result["check_passed"]:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode == 1 and proc.stderr.splitlines()[-1].startswith("check failed")
    if name not in SCRIPTS:
        assert list(result) == QUESTION_FIELDS
        assert proc.stdout.splitlines()[-1] == result["answer"]
        assert result["answer"].startswith("Answer: ")


def echoed_and_recorded(name: str, proc, result) -> None:
    """What an echo script's quick run must show (the article's and the questions that train its
    models): only its timings on stderr; the printed predictions the JSON's; a falling loss of
    QUICK_EPOCHS epochs; Keras' counts the formulas' at the run's length and units; the targets
    the echo sequence; the article's summary and side-by-side block from its scripts alone."""
    record = result if name in SCRIPTS else result["results"]
    said = proc.stderr.splitlines()[: None if result["check_passed"] else -1]  # less its reason
    assert len(said) == 1 and re.fullmatch(r"seconds: fit [\d.]+", said[0])  # TensorFlow's: none
    assert record["printed"] == printed_predictions(proc.stdout)
    assert record["printed"] == [common.fmt(p) for p in record["predictions"]]
    history = record["loss_history"]
    assert len(history) == QUICK_EPOCHS and history[-1] < history[0]
    section = name if name in SCRIPTS else QUESTIONS[name][1]
    length, units = result["config"]["length"], result["config"]["units"]
    outputs = length if section == "many_to_one" else 1
    counts = [common.lstm_params(1, units), common.dense_params(units, outputs)]
    assert [r["params"] for r in record["layers"]] == counts
    assert record["targets"] == [float(v) for v in common.echo_sequence(length)]
    assert ("Side by side" in proc.stdout) == (name in SCRIPTS)  # the article's, or another size
    assert ("Model: " in proc.stdout) == (name in SCRIPTS)  # the summary, before training
