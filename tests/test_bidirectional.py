"""questions/bidirectional.py: Bidirectional(LSTM) with TimeDistributed(Dense) or Dense, its
shapes and counts against Keras' own weights, its outputs against an LSTM in NumPy run both ways,
and its reproduction rate against the article's model."""

import argparse
import json

import numpy as np
import pytest
from scipy.stats import beta, hypergeom

import common
from checks import QUESTION_FIELDS
from conftest import run_main, run_script, said_out_of_turn
from questions import bidirectional
from repro import training
from repro.backend import seed_everything

FLOAT32_ROUNDING = 2 * float(np.finfo(np.float32).eps)
assert bidirectional.FLOAT32_ROUNDING == FLOAT32_ROUNDING  # --check's bound is the same


def model_args(length: int = 5, units: int = 5, head: str = "timedistributed"):
    return argparse.Namespace(length=length, units=units, lr=0.001, head=head)


@pytest.fixture(scope="module")
def trained():
    """A Bidirectional model trained a little (so no weight is its initial zero) on the echo."""
    seed_everything(5)
    model = bidirectional.build_model(model_args())
    X, y = common.make_data("many_to_many", 5)
    training.train(model, X, y, 20, 1)
    return model, X


@pytest.mark.parametrize("inputs, units, steps", [(1, 5, 5), (3, 2, 7), (1, 1, 1)])
def test_counts_and_shapes_match_keras_weights(inputs, units, steps):
    import keras

    layer = keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True))
    inputs_ = keras.Input(shape=(steps, inputs))
    out = layer(inputs_)
    assert tuple(out.shape) == (None, steps, 2 * units)  # forward and backward side by side
    shapes = [w.shape for w in layer.get_weights()]
    one_direction = [(inputs, 4 * units), (units, 4 * units), (4 * units,)]  # the 4 gates
    assert shapes == one_direction * 2
    by_hand = 2 * sum(int(np.prod(s)) for s in one_direction)
    assert layer.count_params() == by_hand == 2 * common.lstm_params(inputs, units)
    count, text = common.formula_params(layer)
    assert count == by_hand and eval(text.replace(" x ", " * ")) == by_hand
    head = keras.layers.Dense(1)
    head(out)
    assert [w.shape for w in head.get_weights()] == [(2 * units, 1), (1,)]


def test_the_article_sizes_give_280_and_11():
    rows = common.layer_rows(bidirectional.build_model(model_args()))
    assert [r["output_shape"] for r in rows] == ["(None, 5, 10)", "(None, 5, 1)"]
    assert [r["params"] for r in rows] == [r["formula_params"] for r in rows] == [280, 11]
    assert [r["class"] for r in rows] == ["Bidirectional", "TimeDistributed"]


def lstm_numpy(x, weights) -> np.ndarray:
    """An LSTM over the steps of one sequence x (steps, inputs) in NumPy: every step's output."""
    kernel, recurrent, bias = (np.asarray(w, "float64") for w in weights)
    units = recurrent.shape[0]
    h = c = np.zeros(units)
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    out = []
    for step in x:
        i, f, g, o = np.split(step @ kernel + h @ recurrent + bias, 4)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        out.append(h)
    return np.array(out)


def test_the_backward_half_is_an_lstm_over_the_reversed_sequence(trained):
    import keras

    model, X = trained
    weights = model.layers[0].get_weights()
    forward = lstm_numpy(X[0], weights[:3])
    backward = lstm_numpy(X[0][::-1], weights[3:])[::-1]  # read from the end, put back in order
    out = keras.ops.convert_to_numpy(model.layers[0](X))[0]
    np.testing.assert_allclose(out, np.concatenate([forward, backward], axis=1), atol=1e-6)
    kernel, bias = (np.asarray(w, "float64") for w in model.layers[1].get_weights())
    by_hand = np.concatenate([forward, backward], axis=1) @ kernel + bias
    np.testing.assert_allclose(model.predict(X, verbose=0)[0], by_hand, atol=1e-6)


def test_the_two_heads_give_the_same_outputs(trained):
    model, X = trained
    h = bidirectional.same_outputs(model_args(), model, X)
    assert h["timedistributed_params"] == h["dense_params"] == common.dense_params(10, 1)
    assert h["dense_output_shape"] == "(None, 5, 1)"
    assert h["max_abs_difference"] <= FLOAT32_ROUNDING


def test_each_direction_is_moved_only_by_the_steps_it_has_read(trained):
    model, X = trained
    forward, backward = bidirectional.nudged(model.layers[0], X, 5)
    steps = np.arange(5)
    later = steps[None, :] > steps[:, None]  # [output step, input step]
    assert np.all(forward[later] == 0) and np.all(forward[~later] > 0)
    assert np.all(backward[later.T] == 0) and np.all(backward[~later.T] > 0)
    assert bidirectional.reach(backward) == [[t, 5] for t in range(1, 6)]
    assert bidirectional.reach(forward) == [[1, t] for t in range(1, 6)]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    import contextlib
    import io

    folder = tmp_path_factory.mktemp("bidirectional")
    argv = ["--epochs", "30", "--seeds", "3", "--length", "4", "--units", "3", "--check"]
    argv += ["--json", str(folder / "b.json"), "--plot", str(folder / "b.png")]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = bidirectional.main(argv)
    return code, out.getvalue(), err.getvalue(), folder


def test_the_quick_run_records_what_it_printed(quick):
    code, out, err, folder = quick
    assert code == 0, err
    assert said_out_of_turn(err) == []
    data = json.loads((folder / "b.json").read_text())
    assert list(data) == QUESTION_FIELDS and data["check_passed"]
    assert out.splitlines()[-1] == data["answer"] and data["answer"].startswith("Answer: ")
    assert (folder / "b.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = data["results"]
    units, steps = 3, 4
    article, bi = r["models"]["article"], r["models"]["bidirectional"]
    assert [x["params"] for x in article["layers"]] == [common.lstm_params(1, units), units + 1]
    assert [x["params"] for x in bi["layers"]] == [2 * common.lstm_params(1, units), 2 * units + 1]
    assert bi["count_params"] == 2 * common.lstm_params(1, units) + 2 * units + 1
    assert bi["layers"][0]["output_shape"] == f"(None, {steps}, {2 * units})"
    assert f"(None, {steps}, {2 * units})" in data["answer"]
    assert r["targets"] == [float(v) for v in common.echo_sequence(steps)]
    assert r["constant_loss"] == pytest.approx(np.var(common.echo_sequence(steps)), rel=1e-6)


def test_the_quick_runs_rates_recomputed_from_each_seed(quick):
    _, out, _, folder = quick
    r = json.loads((folder / "b.json").read_text())["results"]
    counts = []
    for m in r["models"].values():
        n = len(r["seeds"])
        assert m["n"] == len(m["max_abs_errors"]) == len(m["final_losses"]) == n == 3
        k = sum(e < r["tolerance"] for e in m["max_abs_errors"])  # every value within 0.05
        assert m["reproduced"] == k
        low = beta.ppf(0.025, k, n - k + 1) if k else 0.0  # Clopper-Pearson, by hand
        high = beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
        np.testing.assert_allclose(m["ci95"], [low, high], rtol=1e-9, atol=1e-12)
        assert m["median_final_loss"] == pytest.approx(float(np.median(m["final_losses"])))
        assert f"{k}/{n}" in out
        counts.append(k)
    # Fisher's exact test, two-sided, by hand: the tables as likely as the one seen, or less
    total, n = sum(counts), len(r["seeds"])
    dist = hypergeom(2 * n, total, n)
    seen = dist.pmf(counts[0])
    p = sum(dist.pmf(k) for k in range(total + 1) if dist.pmf(k) <= seen * (1 + 1e-7))
    assert r["fisher_p"] == pytest.approx(min(1.0, p), rel=1e-6)


def test_bad_input_is_one_line_before_training(capsys):
    for argv, word in (
        (["--seeds", "0"], "--seeds"),
        (["--length", "1500", "--units", "2"], "TimeDistributed"),
        (["--units", "3200"], "in each direction"),  # one LSTM fits the cap, two do not
    ):
        code, out, err = run_main(bidirectional, argv, capsys)
        assert code == 2 and out == "" and err.count("\n") == 1 and word in err, err


@pytest.mark.slow  # the defaults: 8 seeds of each model at 1000 epochs on TensorFlow
def test_the_default_run_bidirectional_reproduces_more_often_than_the_article(tmp_path):
    path = tmp_path / "b.json"
    proc = run_script("questions/bidirectional.py", "--check", "--json", str(path))
    assert proc.returncode == 0, proc.stderr
    assert said_out_of_turn(proc.stderr) == []
    data = json.loads(path.read_text())
    r = data["results"]
    article, bi = r["models"]["article"], r["models"]["bidirectional"]
    assert r["seeds"] == list(range(1, 9)) and r["epochs"] == 1000
    # the claim, against the article's model from the same seeds: more seeds reproduce
    assert bi["reproduced"] > article["reproduced"]
    assert ("reproduces more often" in data["answer"]) == (r["fisher_p"] < 0.05)
    # and every seed of both learnt far beyond a constant (the mean)
    assert max(bi["final_losses"] + article["final_losses"]) < r["constant_loss"] / 10
    assert r["reach"]["backward"][0] == [1, 5] and r["reach"]["forward"][0] == [1, 1]


@pytest.mark.slow  # starts JAX in a process of its own
def test_on_jax_the_seeds_train_together_without_importing_tensorflow(tmp_path):
    path = tmp_path / "b.json"
    argv = ["--backend", "jax", "--seeds", "3", "--epochs", "30", "--check", "--json", str(path)]
    proc = run_script("questions/bidirectional.py", *argv, backend="jax")
    assert proc.returncode == 0, proc.stderr
    assert said_out_of_turn(proc.stderr) == []  # Bidirectional would import TensorFlow: its lines
    assert "draws initial weights differently" not in proc.stderr  # replayed, not built
    models = json.loads(path.read_text())["results"]["models"]
    assert [m["trained"] for m in models.values()] == ["together (jax.vmap)"] * 2
