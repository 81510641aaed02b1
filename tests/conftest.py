"""Shared test helpers: run scripts as a user would, and read what they printed."""

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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCRIPTS = {  # the article's sections and their scripts
    "one_to_one": "one_to_one.py",
    "many_to_one": "many_to_one.py",
    "many_to_many": "many_to_many_td.py",
}
QUESTIONS = {  # the readers' questions and their scripts, by the article section each trains
    "td_or_dense": ("questions/td_or_dense.py", "many_to_many"),
    "state": ("questions/state.py", "one_to_one"),
}
ECHO_SCRIPTS = {**SCRIPTS, **{name: path for name, (path, _) in QUESTIONS.items()}}
OWN_DATA = {  # the questions with data or studies of their own
    "cells": "questions/cells.py",
    "forecast": "questions/forecast.py",
    "label_steps": "questions/label_steps.py",
}
ALL_SCRIPTS = {**ECHO_SCRIPTS, **OWN_DATA}
QUICK_FLAGS = {  # the quick tier's runs' own flags (after --epochs QUICK_EPOCHS): other sizes,
    # and for the questions with data of their own a few seeds, epochs or samples
    "many_to_many": ["--length", "7", "--units", "3"],
    "td_or_dense": ["--length", "7", "--units", "3"],
    "state": ["--units", "3"],
    "cells": ["--cell", "GRU", "--seeds", "2", "--epochs", "40"],
    "forecast": ["--window", "3", "--horizon", "2", "--epochs", "5"],
    "label_steps": ["--epochs", "2", "--samples", "64"],
}
# Fixtures that run scripts at the article's settings, on other backends or in a Jupyter kernel:
# every test that uses one is in the slow tier (python -m pytest -m "not slow" leaves it out)
SLOW_FIXTURES = {
    "default_runs",
    "backend_runs",
    "fast_and_naive",
    "together",
    "terminal",
    "notebook",
}


@pytest.hookimpl(wrapper=True)  # before any other: -m deselects, xdist reads the groups
def pytest_collection_modifyitems(items):
    for item in items:
        if SLOW_FIXTURES.intersection(item.fixturenames):
            item.add_marker(pytest.mark.slow)
    # pytest-xdist (-n 2 --dist loadgroup in pyproject.toml) sends the tests of one xdist_group
    # to one worker: every test that shares a module or session fixture with another, directly
    # or through a third, is in one group, so each such fixture runs once; a group set by hand
    # (on_quick_run) names the tests it meets that way
    parent = {}  # union-find over "group NAME" (by hand) and "BASEID::FIXTURE" keys

    def root(key):
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    def join(a, b):
        a, b = root(a), root(b)
        if a == b:
            return
        if b.startswith("group "):  # a group set by hand names the tests it meets
            a, b = b, a
        if b.startswith("group "):
            raise pytest.UsageError(f"tests of xdist groups {a[6:]} and {b[6:]} share a fixture")
        parent[b] = a

    first = {}
    for item in items:
        defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
        keys = [f"group {m.args[0]}" for m in item.iter_markers("xdist_group")]
        keys += [  # ours (pytest's and plugins' own, such as tmp_path_factory, have no baseid)
            f"{d[-1].baseid}::{name}"
            for name, d in defs.items()
            if d and d[-1].baseid and d[-1].scope != "function" and name != "quick_runs"
        ]  # quick_runs runs each script when asked: its tests are grouped by script
        for key in keys[1:]:
            join(keys[0], key)
        first[item] = keys[:1]
    for item, keys in first.items():
        if keys and not any(item.iter_markers("xdist_group")):
            name = root(keys[0])
            item.add_marker(
                pytest.mark.xdist_group(
                    name[6:] if name.startswith("group ") else name.rsplit("::", 1)[-1]
                )
            )
    return (yield)


def user_env() -> dict:
    """This environment as a user's shell has it: without the TF_CPP_MIN_LOG_LEVEL of this
    environment (JAX, which Keras imports, sets it when unset), which would quiet TensorFlow
    before the scripts' own filter could be seen to work."""
    return {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}


def start_script(name: str, *args: str, backend: str = "tensorflow", pythonpath: str = ""):
    """Start one script in a fresh Python process, as `python SCRIPT ARGS` would."""
    env = dict(user_env(), KERAS_BACKEND=backend, PYTHONHASHSEED="0", PYTHONPATH=pythonpath)
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


@pytest.fixture(scope="session")
def default_runs(tmp_path_factory):
    """TensorFlow: each script once at its defaults (the article's settings), and the questions
    that train the article's model, each in a process of its own; shared by tests."""
    folder = tmp_path_factory.mktemp("tensorflow")
    return default_runs_on("tensorflow", folder, again=SCRIPTS, also=QUESTIONS)


def said_out_of_turn(stderr: str) -> list[str]:
    """The lines of a run's stderr that a quiet run must not have: TensorFlow's log records
    (`E0000 00:00:...`, absl's `WARNING: All log messages...`), Python's warnings, tracebacks."""
    pattern = r"^[IWEF]\d{4} |WARNING|Warning: |Traceback"
    return [line for line in stderr.splitlines() if re.search(pattern, line)]


QUICK_EPOCHS = 30  # enough for a loss to fall, too few for every prediction to print its target
# The quick tier starts this one as a user does, `python SCRIPT`; the others run through
# main(argv) in the test's process, as a notebook runs them: what they print to sys.stdout and
# sys.stderr is theirs, but TensorFlow's own lines (on file descriptor 2) are not seen there. The
# slow tier starts every script in a process of its own and checks those too (said_out_of_turn)
IN_A_PROCESS = ("one_to_one",)


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


class QuickRuns(dict):
    """Script name -> (its run, its JSON or None), each run when a test first asks for it: at
    QUICK_EPOCHS epochs and its QUICK_FLAGS, with --check and --json, one_to_one with --plot
    too; IN_A_PROCESS's in processes of their own, the others through main()."""

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder

    def __missing__(self, name: str):
        path = self.folder / f"{name}.json"
        argv = ["--epochs", str(QUICK_EPOCHS), "--check", "--json", str(path)]
        if name == "one_to_one":
            argv += ["--plot", str(self.folder / "one_to_one.png")]
        argv += QUICK_FLAGS.get(name, [])
        if name in IN_A_PROCESS:
            done = finish(start_script(name, *argv))
        else:
            done = run_in_process(name, argv)
        self[name] = (done, json.loads(path.read_text()) if path.exists() else None)
        return self[name]


@pytest.fixture(scope="session")
def quick_runs(tmp_path_factory) -> QuickRuns:
    """The quick tier's end-to-end runs, every script once: see QuickRuns. A test that reads
    one carries on_quick_run(name), so that its script's tests share one xdist worker."""
    return QuickRuns(tmp_path_factory.mktemp("quick"))


def on_quick_run(name: str):
    """The mark for a test that reads quick_runs[name]."""
    return pytest.mark.xdist_group(f"quick_{name}")


def each_quick_run(names) -> list:
    """Parameters for a test over several scripts' quick runs, each with its on_quick_run."""
    return [pytest.param(name, marks=on_quick_run(name)) for name in names]
