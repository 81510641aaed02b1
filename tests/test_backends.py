"""The same model and printout on JAX and PyTorch (TensorFlow is covered by test_scripts.py)."""

import json

import pytest

import common
from conftest import SCRIPTS, printed_predictions, run_script

OTHER_BACKENDS = ["jax", "torch"]


@pytest.fixture(scope="module", params=OTHER_BACKENDS)
def backend_runs(request, tmp_path_factory):
    backend = request.param
    runs = {}
    for name in SCRIPTS:
        path = tmp_path_factory.mktemp(f"{backend}-{name}") / "r.json"
        proc = run_script(name, "--backend", backend, "--check", "--json", str(path))
        runs[name] = (proc, json.loads(path.read_text()) if path.exists() else None)
    return backend, runs


@pytest.mark.parametrize("name", SCRIPTS)
def test_same_counts_and_echo_on_every_backend(backend_runs, default_runs, name):
    backend, runs = backend_runs
    proc, result = runs[name]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert result["backend"] == backend and backend in result["versions"]
    assert printed_predictions(proc.stdout) == [common.fmt(v) for v in common.echo_sequence(5)]
    _, tf_result = default_runs[name]
    same = ("name", "output_shape", "params", "formula_params")
    assert [{k: r[k] for k in same} for r in result["layers"]] == [
        {k: r[k] for k in same} for r in tf_result["layers"]
    ]
    assert result["config"]["seed"] == common.DEFAULT_SEEDS[backend][name]


def test_same_seed_same_stdout_on_every_backend(backend_runs, tmp_path):
    backend, runs = backend_runs
    first, _ = runs["one_to_one"]
    again = run_script("one_to_one", "--backend", backend, "--check", "--json", str(tmp_path / "r"))
    assert again.stdout == first.stdout


def test_backend_flag_overrides_environment():
    proc = run_script(
        "one_to_one", "--backend", "jax", "--epochs", "2", "--verbose", "0", backend="torch"
    )
    assert "(Keras 3, jax)" in proc.stdout


def test_missing_backend_is_refused_before_anything_is_built(tmp_path):
    # a stand-in 'jax' package that is not importable, as on a machine without JAX
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['jax'] = None\n")
    proc = run_script("many_to_many", "--backend", "jax", pythonpath=str(tmp_path))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "many_to_many_td.py: error: argument --backend: jax is not installed; "
        "install it with 'pip install jax'"
    ]
