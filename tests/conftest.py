"""Shared test helpers: run a script as a user would, and read what it printed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCRIPTS = {
    "one_to_one": "one_to_one.py",
    "many_to_one": "many_to_one.py",
    "many_to_many": "many_to_many_td.py",
}


def run_script(
    name: str, *args: str, backend: str = "tensorflow", pythonpath: str = "", timeout: int = 300
):
    """Run one script in a fresh Python process; returns the CompletedProcess."""
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONHASHSEED="0", PYTHONPATH=pythonpath)
    return subprocess.run(
        [sys.executable, str(ROOT / SCRIPTS.get(name, name)), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def printed_predictions(stdout: str) -> list[str]:
    """The lines between 'Predictions:' and the next blank line."""
    lines = stdout.splitlines()
    start = lines.index("Predictions:") + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


@pytest.fixture(scope="session")
def default_runs(tmp_path_factory):
    """Each script once at its defaults (the article's settings), with --json; shared by tests."""
    out = {}
    for name in SCRIPTS:
        path = tmp_path_factory.mktemp(name) / "result.json"
        proc = run_script(name, "--json", str(path), "--check")
        out[name] = (proc, json.loads(path.read_text()) if path.exists() else None)
    return out
