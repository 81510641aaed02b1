"""The same model and printout on JAX and PyTorch (TensorFlow is covered by test_scripts.py)."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import common
from conftest import ROOT, SCRIPTS, printed_predictions, run_all, run_script
from repro.backend import BACKENDS
from repro.cli import DEFAULT_SEEDS


def _installed(backend: str) -> bool:
    return importlib.util.find_spec(BACKENDS[backend]) is not None


# Every backend runs in the full environment; the lowest-versions one (.ci/run) has no PyTorch.
INSTALLED = [b for b in ("jax", "torch") if _installed(b)]
OTHER_BACKENDS = [
    pytest.param(b, marks=pytest.mark.skipif(not _installed(b), reason=f"{b} is not installed"))
    for b in ("jax", "torch")
]


LAYERS = {  # Keras 3's names and output shapes for the article's three models, on any backend
    "one_to_one": [("lstm", "(None, 5)"), ("dense", "(None, 1)")],
    "many_to_one": [("lstm", "(None, 5)"), ("dense", "(None, 5)")],
    "many_to_many": [("lstm", "(None, 5, 5)"), ("time_distributed", "(None, 5, 1)")],
}


def default_runs_on(backend: str, folder, again=("many_to_many",), also=()) -> dict:
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


@pytest.fixture(scope="module", params=OTHER_BACKENDS)
def backend_runs(request, tmp_path_factory):
    # KERAS_BACKEND is tensorflow in these processes: --backend must win over it
    backend = request.param
    return backend, default_runs_on(backend, tmp_path_factory.mktemp(backend))


@pytest.mark.slow  # other backends, in processes of their own
@pytest.mark.parametrize("name", SCRIPTS)
def test_same_counts_and_echo_on_every_backend(backend_runs, name):
    backend, runs = backend_runs
    proc, result = runs[name]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert result["backend"] == backend and backend in result["versions"]
    assert printed_predictions(proc.stdout) == [common.fmt(v) for v in common.echo_sequence(5)]
    assert result["max_abs_error"] < 0.04  # the default seed reproduces with a margin
    layers = result["layers"]  # the same layers as on TensorFlow, counted as the formulas say
    assert [(r["name"], r["output_shape"]) for r in layers] == LAYERS[name]
    assert [r["params"] for r in layers] == [r["formula_params"] for r in layers]
    assert result["config"]["seed"] == DEFAULT_SEEDS[backend][name]


@pytest.mark.slow  # other backends, in processes of their own
def test_same_seed_same_stdout_on_every_backend(backend_runs):
    backend, runs = backend_runs
    first, _ = runs["many_to_many"]
    again, _ = runs["again many_to_many"]
    assert again.returncode == 0 and again.stdout == first.stdout
    assert f"(Keras 3, {backend})" in first.stdout


def test_missing_backend_is_refused_before_anything_is_built(tmp_path):
    # a stand-in 'jax' package that is not importable, as on a machine without JAX
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['jax'] = None\n")
    proc = run_script("many_to_many", "--backend", "jax", env={"PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "many_to_many_td.py: error: argument --backend: jax is not installed; "
        "install it with 'pip install jax'"
    ]


@pytest.fixture(scope="module")
def fast_and_naive():
    """tests/backend_worker.py on every backend, one process each, all started together."""
    procs = {
        backend: subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "backend_worker.py"), backend],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=dict(os.environ, KERAS_BACKEND=backend),
        )
        for backend in ["tensorflow", *INSTALLED]
    }
    results = {}
    for backend, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
        results[backend] = json.loads(out.strip().splitlines()[-1])
    return results


@pytest.mark.slow  # other backends, in processes of their own
@pytest.mark.parametrize("backend", ["tensorflow", *OTHER_BACKENDS])
def test_fast_loop_matches_fit_at_the_articles_settings(fast_and_naive, backend):
    rows = fast_and_naive[backend]["rows"]  # benchmarks/fit_speed.py's comparison
    assert [r["script"] for r in rows] == list(SCRIPTS)
    assert [r["epochs"] for r in rows] == [common.ARTICLE[s].epochs for s in SCRIPTS]
    assert all(r["same_history"] for r in rows), rows


@pytest.mark.parametrize("backend", ["tensorflow", *OTHER_BACKENDS])
@pytest.mark.parametrize(
    "case", ["several batches an epoch", "more than 16 batches an epoch", "fast loop after fit"]
)
@pytest.mark.slow  # other backends, in processes of their own
def test_fast_loop_matches_fit(fast_and_naive, backend, case):
    """Several updates an epoch (JAX steps batch by batch past 16), and a model that plain fit
    has already trained: every epoch's loss is the one fit reports."""
    history = fast_and_naive[backend]["cases"][case]
    assert len(history["fast"]) == len(history["naive"]) > 1
    np.testing.assert_allclose(history["fast"], history["naive"], rtol=1e-5, atol=0)


@pytest.mark.slow  # other backends, in processes of their own
@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_seeding_jax_and_torch_does_not_import_tensorflow(fast_and_naive, backend):
    """keras.utils.set_random_seed would import TensorFlow (3-4 s) only to seed it."""
    assert fast_and_naive[backend]["tensorflow_imported"] is False
    assert fast_and_naive["tensorflow"]["tensorflow_imported"] is True  # the check can tell


HIDDEN = """
import sys
import keras
from repro.backend import tensorflow_hidden
with tensorflow_hidden():
    keras.utils.set_random_seed(1)
    keras.layers.Bidirectional(keras.layers.LSTM(2))
hidden = "tensorflow" in sys.modules
keras.utils.set_random_seed(1)
keras.layers.Bidirectional(keras.layers.LSTM(2))
print(hidden, "tensorflow" in sys.modules)
"""


@pytest.mark.skipif(not _installed("jax"), reason="jax is not installed")
def test_the_tensorflow_workaround_is_still_needed_and_works():
    """repro.backend.tensorflow_hidden keeps Keras from importing TensorFlow on JAX when it seeds
    and when Bidirectional copies its layer. Without it this Keras imports TensorFlow: the day it
    no longer does, this test fails and the workaround can go (ASKS_FOR_TENSORFLOW)."""
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    proc = subprocess.run(
        [sys.executable, "-c", HIDDEN], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["False", "True"]  # hidden: not imported; without: imported
