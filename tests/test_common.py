"""Unit tests of common.py: data, parameter formulas against Keras, formatting, CLI, verdicts."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest

import common
from conftest import ROOT

# --- data -------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 2, 5, 10])
def test_echo_sequence_values(length):
    seq = common.echo_sequence(length)
    assert seq.dtype == np.float32
    np.testing.assert_allclose(seq, [i / length for i in range(length)], rtol=0, atol=1e-7)


def test_echo_sequence_is_the_articles():
    assert [common.fmt(v) for v in common.echo_sequence(5)] == ["0.0", "0.2", "0.4", "0.6", "0.8"]


@pytest.mark.parametrize("length", [1, 3, 5, 8])
@pytest.mark.parametrize(
    "framing, x, y",
    [
        ("one_to_one", lambda n: (n, 1, 1), lambda n: (n, 1)),
        ("many_to_one", lambda n: (1, n, 1), lambda n: (1, n)),
        ("many_to_many", lambda n: (1, n, 1), lambda n: (1, n, 1)),
        ("one_step_n_features", lambda n: (1, 1, n), lambda n: (1, n)),
    ],
)
def test_framings_shapes_and_echo(framing, x, y, length):
    X, Y = common.make_data(framing, length)
    assert X.shape == x(length) and Y.shape == y(length)
    # an echo: the targets are the inputs, in the same order
    np.testing.assert_array_equal(X.ravel(), Y.ravel())
    np.testing.assert_array_equal(X.ravel(), common.echo_sequence(length))


# --- parameter formulas against Keras' own layers ----------------------------------------------


def test_article_counts():
    assert common.lstm_params(1, 5) == 140
    assert common.dense_params(5, 1) == 6
    assert common.dense_params(5, 5) == 30
    assert common.lstm_params(5, 5) == 220  # the (1, 1, 5) framing readers asked about


def _lstm(inputs, units):
    from keras import layers

    layer = layers.LSTM(units)
    layer.build((None, 3, inputs))
    return layer


@pytest.mark.parametrize("inputs", [1, 2, 5])
@pytest.mark.parametrize("units", [1, 3, 5, 8])
def test_lstm_formula_and_anatomy_match_keras_weights(inputs, units):
    layer = _lstm(inputs, units)
    kernel, recurrent, bias = (w.shape for w in layer.weights)
    assert kernel == (inputs, 4 * units)
    assert recurrent == (units, 4 * units)
    assert bias == (4 * units,)
    anatomy = common.lstm_anatomy(inputs, units)
    assert [row["gate"] for row in anatomy] == ["input", "forget", "cell", "output"]
    # each gate owns a block of `units` columns of every weight matrix
    for row in anatomy:
        assert row["kernel"] == kernel[0] * (kernel[1] // 4)
        assert row["recurrent_kernel"] == recurrent[0] * (recurrent[1] // 4)
        assert row["bias"] == bias[0] // 4
        assert row["total"] == row["kernel"] + row["recurrent_kernel"] + row["bias"]
    total = sum(row["total"] for row in anatomy)
    assert total == layer.count_params() == 4 * units * (inputs + units + 1)
    assert common.lstm_params(inputs, units) == layer.count_params()


@pytest.mark.parametrize("inputs, outputs", [(1, 1), (5, 1), (5, 5), (3, 7), (25, 5)])
def test_dense_formula_matches_keras_weights(inputs, outputs):
    from keras import layers

    layer = layers.Dense(outputs)
    layer.build((None, inputs))
    assert [w.shape for w in layer.weights] == [(inputs, outputs), (outputs,)]
    assert common.dense_params(inputs, outputs) == layer.count_params()


def test_xor_pitfall_is_shown_in_the_derivation():
    text = "\n".join(common.lstm_derivation(1, 5))
    assert "4 * 35 = 140" in text and "5**2" in text
    assert f"= {4 * ((1 + 1) * 5 + (5 ^ 2))}, wrong" in text  # what '^' gives: 68


@pytest.mark.parametrize(
    "script, length, units", [("one_to_one", 5, 5), ("many_to_one", 7, 3), ("many_to_many", 4, 9)]
)
def test_formula_params_of_built_models(script, length, units):
    import argparse
    import importlib

    module = importlib.import_module(common.SCRIPT_MODULES[script])
    args = argparse.Namespace(length=length, units=units, lr=0.001, head="timedistributed")
    model = module.build_model(args)
    rows = common.layer_rows(model)
    assert [r["formula_params"] for r in rows] == [r["params"] for r in rows]
    assert model.count_params() == common.model_params(script, length, units)


# --- printing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (0.0, "0.0"),
        (-7e-9, "0.0"),
        (-0.04, "0.0"),
        (-0.06, "-0.1"),
        (0.2, "0.2"),
        (0.249, "0.2"),
        (0.7999, "0.8"),
        (np.float32(0.6), "0.6"),
        (-0.0, "0.0"),
    ],
)
def test_fmt_never_prints_negative_zero(value, text):
    assert common.fmt(value) == text


def test_fmt_more_digits():
    assert common.fmt(-4e-9, 3) == "0.000" and common.fmt(-0.0004, 3) == "0.000"
    assert common.fmt(0.12549, 3) == "0.125" and common.fmt(-0.0006, 3) == "-0.001"


def test_print_predictions_one_per_line(capsys):
    common.print_predictions(np.array([-1e-8, 0.21, 0.39, 0.61, 0.79]))
    assert capsys.readouterr().out == "Predictions:\n0.0\n0.2\n0.4\n0.6\n0.8\n"


# --- the command line ---------------------------------------------------------------------------


def parse_error(script, argv, capsys):
    with pytest.raises(SystemExit) as e:
        common.parse_args(script, argv)
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert len(err.strip().splitlines()) == 1, err  # one line, no usage block or traceback
    return err


def test_defaults_are_the_articles():
    for script, section in common.ARTICLE.items():
        args = common.parse_args(script, ["--backend", "tensorflow"])
        assert (args.length, args.units, args.epochs, args.batch_size, args.lr) == (
            5,
            5,
            section.epochs,
            section.batch_size,
            0.001,
        )
        assert args.seed == common.DEFAULT_SEEDS["tensorflow"][script]
        assert not args.custom


def test_units_follow_length_and_batch_follows_samples():
    args = common.parse_args("one_to_one", ["--length", "8"])
    assert args.units == 8 and args.batch_size == 8 and args.custom
    assert common.parse_args("one_to_one", ["--length", "8", "--units", "3"]).units == 3


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


def test_memory_refusal_suggests_units(capsys):
    err = parse_error("one_to_one", ["--length", "82600"], capsys)
    assert "GiB" in err and "--units 5" in err
    # the same length with few units is small enough to run
    assert common.parse_args("one_to_one", ["--length", "82600", "--units", "5"]).units == 5


def test_backend_defaults_to_keras_backend(monkeypatch, capsys):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert common.parse_args("one_to_one", []).backend == "jax"
    assert common.parse_args("one_to_one", ["--backend", "torch"]).backend == "torch"
    monkeypatch.delenv("KERAS_BACKEND")
    assert common.parse_args("one_to_one", []).backend == "tensorflow"
    monkeypatch.setenv("KERAS_BACKEND", "openvino")
    assert "KERAS_BACKEND='openvino'" in parse_error("one_to_one", [], capsys)
    assert common.parse_args("one_to_one", ["--backend", "torch"]).backend == "torch"


def test_missing_backend_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "jax", None)  # how Python marks a package as unavailable
    err = parse_error("one_to_one", ["--backend", "jax"], capsys)
    assert "pip install jax" in err


def test_help_and_bad_input_answer_without_importing_keras():
    code = (
        "import sys, common\n"
        "try: common.parse_args('one_to_one', ['--lr', '0'])\n"
        "except SystemExit as e: print(e.code, 'keras' in sys.modules, 'tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.split() == ["2", "False", "False"]
    for script in ("one_to_one.py", "many_to_one.py", "many_to_many_td.py"):
        proc = subprocess.run(
            [sys.executable, script, "--help"], capture_output=True, text=True, cwd=ROOT, timeout=30
        )
        assert proc.returncode == 0 and "--epochs" in proc.stdout and "default" in proc.stdout


# --- verdicts of the side-by-side block -------------------------------------------------------


@pytest.mark.parametrize(
    "kind, article, ours, expected",
    [
        ("params", "140", "140", "same"),
        ("params", "140", "141", "MISMATCH"),
        ("shape", "(None, 1, 5)", "(None, 5)", "differs"),  # Keras 2.0's one-to-one rows
        ("shape", "(None, 5, 5)", "(None, 5)", "MISMATCH"),  # a real time axis went missing
        ("shape", "(None, 5)", "(None, 5)", "same"),
        ("total", "146.0", "146", "differs"),
        ("total", "146.0", "147", "MISMATCH"),
        ("name", "lstm_1", "lstm", "differs"),
        ("name", "lstm_1", "dense", "MISMATCH"),
        ("name", "time_distributed_1", "time_distributed", "differs"),
        ("name", "lstm_1", "lstm_4", "differs"),  # a second model in one process
        ("name", "dense_1", "dense_1", "same"),
        ("prediction", "0.0", "0.0", "same"),
        ("prediction", "0.0", "0.1", "MISMATCH"),
    ],
)
def test_verdict(kind, article, ours, expected):
    assert common.verdict(kind, article, ours).split(":")[0] == expected


def test_verdict_known_difference():
    known = {"time_distributed_1": "a plain Dense"}
    assert common.verdict("name", "time_distributed_1", "dense", known) == "differs: a plain Dense"


def test_comparison_rows_custom_size_uses_formulas_and_targets():
    import argparse

    args = argparse.Namespace(custom=True, script="one_to_one")
    rows = [{"formula_params": 4 * 3 * 5, "params": 60}, {"formula_params": 4, "params": 4}]
    out = common.comparison_rows(args, rows, [0.01, 0.49], [0.0, 0.5])
    assert [(c["quantity"], c["verdict"]) for c in out] == [
        ("layer 1 params", "same"),
        ("layer 2 params", "same"),
        ("total params", "same"),
        ("prediction 1", "same"),
        ("prediction 2", "same"),
    ]
    out = common.comparison_rows(args, rows, [0.01, 0.3], [0.0, 0.5])
    assert out[-1]["verdict"] == "MISMATCH"
    # a target on a rounding boundary (length 8: 0.25 prints as 0.2) and a prediction just above
    # it (prints as 0.3) still echo it
    out = common.comparison_rows(args, rows, [0.0, 0.2500001], [0.0, 0.25])
    assert out[-1]["verdict"] == "same" and common.reproduced([0.0, 0.2500001], [0.0, 0.25])


# --- files ------------------------------------------------------------------------------------


def test_write_atomically_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")

    def fail(f):
        f.write(b"half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        common.write_atomically(str(target), fail)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.json"]
    common.write_json(str(target), {"x": [1.5]})
    assert target.read_text() == '{\n  "x": [\n    1.5\n  ]\n}\n'


def test_max_error_and_reproduced():
    assert math.isclose(common.max_error([0.01, 0.2], [0.0, 0.25]), 0.05)
    assert common.reproduced([-1e-9, 0.21], [0.0, 0.2])
    assert not common.reproduced([0.06, 0.2], [0.0, 0.2])
