"""The command line: defaults, every validation path (one line, exit 2), Keras not imported."""

import os
import subprocess
import sys

import pytest

import common
from conftest import ALL_SCRIPTS, ROOT
from repro import cli
from repro.backend import BACKENDS

# --- the command line ---------------------------------------------------------------------------


def parse_error(script, argv, capsys):
    with pytest.raises(SystemExit) as e:
        cli.parse_args(script, argv)
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert len(err.strip().splitlines()) == 1, err  # one line, no usage block or traceback
    return err


def test_defaults_are_the_articles():
    for script, section in common.ARTICLE.items():
        args = cli.parse_args(script, ["--backend", "tensorflow"])
        assert (args.length, args.units, args.epochs, args.batch_size, args.lr) == (
            5,
            5,
            section.epochs,
            section.batch_size,
            0.001,
        )
        assert args.seed == cli.DEFAULT_SEEDS["tensorflow"][script]
        assert not args.custom


def test_units_follow_length_and_batch_follows_samples():
    args = cli.parse_args("one_to_one", ["--length", "8"])
    assert args.units == 8 and args.batch_size == 8 and args.custom
    assert cli.parse_args("one_to_one", ["--length", "8", "--units", "3"]).units == 3


@pytest.mark.parametrize(
    "script, argv, flag",
    [
        ("one_to_one", ["--length", "abc"], "--length"),
        ("one_to_one", ["--length", "0"], "--length"),
        ("one_to_one", ["--length", "-3"], "--length"),
        ("one_to_one", ["--length", "2.5"], "--length"),
        ("one_to_one", ["--units", "0"], "--units"),
        ("many_to_one", ["--epochs", "0"], "--epochs"),
        ("many_to_one", ["--epochs", "x"], "--epochs"),
        ("many_to_many", ["--batch-size", "0"], "--batch-size"),
        ("many_to_many", ["--batch-size", "2"], "--batch-size"),  # only one sample
        ("one_to_one", ["--batch-size", "6"], "--batch-size"),  # five samples
        ("one_to_one", ["--lr", "0"], "--lr"),
        ("one_to_one", ["--lr", "-0.1"], "--lr"),
        ("one_to_one", ["--lr", "nan"], "--lr"),
        ("one_to_one", ["--lr", "inf"], "--lr"),
        ("one_to_one", ["--lr", "fast"], "--lr"),
        ("one_to_one", ["--seed", "-1"], "--seed"),
        ("one_to_one", ["--seed", str(2**32)], "--seed"),
        ("one_to_one", ["--seeds", "0"], "--seeds"),
        ("one_to_one", ["--verbose", "3"], "--verbose"),
        ("one_to_one", ["--fit", "slow"], "--fit"),
        ("one_to_one", ["--backend", "theano"], "--backend"),
        ("one_to_one", ["--length", "82600"], "--units"),  # the reader who ran out of memory
        ("many_to_many", ["--units", "20000"], "--units"),
        ("one_to_one", ["--json", "/nonexistent-dir/out.json"], "--json"),
        ("one_to_one", ["--json", "/"], "--json"),
        ("one_to_one", ["--plot", "/nonexistent-dir/p.png"], "--plot"),
        ("one_to_one", ["--plot", "plot.jpg"], "--plot"),
        ("one_to_one", ["--no-such-flag"], "--no-such-flag"),
    ],
)
def test_bad_input_is_one_line_naming_the_flag(script, argv, flag, capsys):
    err = parse_error(script, argv, capsys)
    assert flag in err


def test_loss_histories_count_against_the_memory_cap(capsys):
    """Every epoch of every seed is kept: 1000 seeds of 10^6 epochs would be 10^9 losses."""
    err = parse_error("many_to_one", ["--seeds", "1000", "--epochs", "1000000"], capsys)
    assert "--seeds/--epochs" in err and "GiB cap" in err
    assert cli.parse_args("many_to_one", ["--seeds", "1000", "--epochs", "1000"]).seeds == 1000


def test_memory_refusal_suggests_units(capsys):
    err = parse_error("one_to_one", ["--length", "82600"], capsys)
    assert "GiB" in err and "--units 5" in err
    # the same length with few units is small enough to run
    assert cli.parse_args("one_to_one", ["--length", "82600", "--units", "5"]).units == 5


@pytest.fixture
def keras_not_imported(monkeypatch):
    """As in a fresh process, where the flags are read before Keras is imported."""
    monkeypatch.delitem(sys.modules, "keras", raising=False)


def test_backend_defaults_to_keras_backend(keras_not_imported, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert cli.parse_args("one_to_one", []).backend == "jax"
    assert cli.parse_args("one_to_one", ["--backend", "torch"]).backend == "torch"
    monkeypatch.delenv("KERAS_BACKEND")
    assert cli.parse_args("one_to_one", []).backend == "tensorflow"
    monkeypatch.setenv("KERAS_BACKEND", "openvino")
    assert "KERAS_BACKEND='openvino'" in parse_error("one_to_one", [], capsys)
    assert cli.parse_args("one_to_one", ["--backend", "torch"]).backend == "torch"


def test_missing_backend_is_a_usage_error(keras_not_imported, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "jax", None)  # how Python marks a package as unavailable
    err = parse_error("one_to_one", ["--backend", "jax"], capsys)
    assert "pip install jax" in err


def test_a_process_that_runs_keras_reports_its_backend_and_refuses_another(monkeypatch, capsys):
    import keras

    running = keras.backend.backend()  # tensorflow in this test process
    other = next(b for b in BACKENDS if b != running)
    err = parse_error("many_to_one", ["--backend", other], capsys)
    assert f"already runs Keras on {running} and cannot switch to {other}" in err
    monkeypatch.setenv("KERAS_BACKEND", other)  # the default, not a request: the running one
    args = cli.parse_args("many_to_one", [])
    assert args.backend == running and args.seed == cli.DEFAULT_SEEDS[running]["many_to_one"]
    assert cli.parse_args("many_to_one", ["--backend", running]).backend == running


@pytest.mark.parametrize("script", [p for p in ALL_SCRIPTS.values() if p.startswith("questions/")])
def test_a_question_starts_as_a_program_from_any_folder(script, tmp_path):
    """By its full path from another folder (PYTHONPATH empty), the script finds the project's
    modules itself; from the project root, as the README runs it, its `__main__` block exits
    with main's status (bad input: 2, one line)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = {"capture_output": True, "text": True, "env": env}
    proc = subprocess.run([sys.executable, str(ROOT / script), "--help"], cwd=tmp_path, **run)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.startswith(f"usage: {script}")
    bad = subprocess.run([sys.executable, script, "--epochs", "0"], cwd=ROOT, **run)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--epochs" in bad.stderr


@pytest.mark.parametrize("script", ["one_to_one.py", "many_to_one.py", "many_to_many_td.py"])
@pytest.mark.parametrize("argv", [["--help"], ["--lr", "0"], ["--length", "82600"]])
def test_help_and_bad_input_answer_without_importing_keras(script, argv):
    """Each script run as a program: it answers, and keras, tensorflow, jax and torch are never
    imported (the check runs at exit, whatever ended the program)."""
    code = (
        "import atexit, runpy, sys\n"
        "atexit.register(lambda: print('imported:', *sorted({'keras', 'tensorflow', 'jax', "
        "'torch'} & set(sys.modules)), file=sys.stderr))\n"
        f"sys.argv = [{script!r}, *{argv!r}]\n"
        f"runpy.run_path({script!r}, run_name='__main__')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert proc.stderr.strip().splitlines()[-1] == "imported:"
    if argv == ["--help"]:
        assert proc.returncode == 0 and "--epochs" in proc.stdout and "default" in proc.stdout
    else:
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 2
