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

ROOT = Path(__file__).resolve().parent.parent

SCRIPTS = {  # the article's sections and their scripts
    "one_to_one": "one_to_one.py",
    "many_to_one": "many_to_one.py",
    "many_to_many": "many_to_many_td.py",
}
QUESTIONS = {  # the readers' questions, one script each: name -> path
    path.stem: f"questions/{path.name}"
    for path in sorted((ROOT / "questions").glob("*.py"))
    if path.name != "__init__.py"
}
ALL_SCRIPTS = {**SCRIPTS, **QUESTIONS}
QUICK_EPOCHS = 30  # enough for a loss to fall, too few for every prediction to print its target
QUICK_FLAGS = {  # the article scripts' quick runs' own flags (after --epochs QUICK_EPOCHS)
    "many_to_many": ["--length", "7", "--units", "3"],
}
# The quick tier starts this one as a user does, `python SCRIPT`; the others run through
# main(argv) in the test's process, as a notebook runs them: what they print to sys.stdout and
# sys.stderr is theirs, but TensorFlow's own lines (on file descriptor 2) are not seen there. The
# slow tier starts every script in a process of its own and checks those too (said_out_of_turn)
IN_A_PROCESS = ("one_to_one",)


def article_model(script: str, length: int = 5, units: int = 5, lr: float = 0.001):
    """The article's model for `script` (a section), built by its script's build_model."""
    module = importlib.import_module(common_modules()[script])
    if script == "one_to_one":
        return module.build_model(units, lr)
    return module.build_model(length, units, lr)


def common_modules() -> dict:
    import common

    return common.SCRIPT_MODULES


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


def quick_run(name: str, folder: Path, flags: list[str] | None = None) -> tuple:
    """(the run, its JSON or None) of one script with --check, --json and --plot into `folder`
    (the run's .folder), and `flags` (for an article script: --epochs QUICK_EPOCHS and its
    QUICK_FLAGS): IN_A_PROCESS's in a process of its own, the others through main()."""
    path = folder / f"{name}.json"
    if flags is None:
        flags = ["--epochs", str(QUICK_EPOCHS), *QUICK_FLAGS.get(name, [])]
    argv = ["--check", "--json", str(path), "--plot", str(folder / f"{name}.png"), *flags]
    done = finish(start_script(name, *argv)) if name in IN_A_PROCESS else run_in_process(name, argv)
    done.folder = folder  # where its files are
    return done, json.loads(path.read_text()) if path.exists() else None


def quick_run_fixture(name: str, *flags: str):
    """A module fixture of the file's quick run of `name` with `flags` (see quick_run), run on
    first use."""

    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory):
        return quick_run(name, tmp_path_factory.mktemp(name), list(flags) if flags else None)

    return fixture


def rendered(name: str, tmp_path_factory) -> tuple:
    """(the process, its JSON as written, the page's text) of repro.pages' page `name`, rendered
    into the session's folder once, whatever the file or worker that asks: the first renders it
    under a lock, the others read what it left (pytest-xdist's recipe for a fixture run once)."""
    from filelock import FileLock

    from repro import pages

    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "rendered"
    folder.mkdir(exist_ok=True)
    page = next(p for p in pages.PAGES if p.name == name)
    saved = folder / f"{name}.run.json"
    with FileLock(str(folder / f"{name}.lock")):
        if not saved.exists():
            proc, data, text = pages.render(page, folder)
            run = {"args": proc.args, "code": proc.returncode, "out": proc.stdout}
            saved.write_text(json.dumps({**run, "err": proc.stderr, "data": data, "text": text}))
    s = json.loads(saved.read_text())
    proc = subprocess.CompletedProcess(s["args"], s["code"], s["out"], s["err"])
    return proc, s["data"], s["text"]


def differing(theirs: dict, ours: dict) -> list[str]:
    """The libraries whose recorded version (theirs: a stored page's or notebook's) differs
    from this run's (ours), one phrase each, for a skip's reason."""
    return [
        f"{k} {theirs.get(k)} (stored) vs {ours.get(k)} (here)"
        for k in sorted(set(ours) | set(theirs))
        if ours.get(k) != theirs.get(k)
    ]
