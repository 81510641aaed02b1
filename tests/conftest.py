"""Shared test helpers: run scripts as a user would, and read what they printed."""

import json
import os
import subprocess
import sys
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
OWN_DATA = {  # the questions with data or studies of their own, and their quick tier's flags
    "cells": ("questions/cells.py", ["--cell", "SimpleRNN", "--seeds", "2", "--epochs", "5"]),
    "forecast": ("questions/forecast.py", ["--window", "3", "--horizon", "2", "--epochs", "5"]),
    "label_steps": ("questions/label_steps.py", ["--epochs", "2", "--samples", "64"]),
}
ALL_SCRIPTS = {**ECHO_SCRIPTS, **{name: path for name, (path, _) in OWN_DATA.items()}}
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


def pytest_collection_modifyitems(items):
    for item in items:
        if SLOW_FIXTURES.intersection(item.fixturenames):
            item.add_marker(pytest.mark.slow)


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


def default_runs_on(backend: str, folder: Path, again=("many_to_many",)) -> dict:
    """Each script at its defaults with --check and --json, plus a second run of the scripts in
    `again` with the same flags (for the determinism tests), all started together."""
    jobs = {}
    for name in [*SCRIPTS, *(f"again {script}" for script in again)]:
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
    """TensorFlow: each script once at its defaults (the article's settings); shared by tests."""
    return default_runs_on("tensorflow", tmp_path_factory.mktemp("tensorflow"), again=SCRIPTS)


QUICK_EPOCHS = 30  # enough for a loss to fall, too few for every prediction to print its target


@pytest.fixture(scope="session")
def quick_runs(tmp_path_factory):
    """The quick tier's end-to-end runs: every script, the article's and the questions', once in
    a process of its own at QUICK_EPOCHS epochs with --json (and one --plot), all started
    together (the questions with data of their own at their OWN_DATA flags)."""
    folder = tmp_path_factory.mktemp("quick")
    jobs = {}
    for name in ALL_SCRIPTS:
        argv = ["--epochs", str(QUICK_EPOCHS), "--json", str(folder / f"{name}.json")]
        if name == "one_to_one":
            argv += ["--plot", str(folder / "one_to_one.png")]
        if name in OWN_DATA:
            argv += OWN_DATA[name][1]
        jobs[name] = ((name, *argv), {})
    started = {key: start_script(*args, **kw) for key, (args, kw) in jobs.items()}
    results = {}
    for name, proc in started.items():
        done = finish(proc)
        path = folder / f"{name}.json"
        results[name] = (done, json.loads(path.read_text()) if path.exists() else None)
    results["folder"] = folder
    return results
