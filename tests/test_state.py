"""questions/state.py: the weights one step per sample never trains, samples in a batch that share
no state, and a stateful copy whose state carries over; checked against an LSTM in NumPy."""

import argparse

import numpy as np
import pytest

import common
import one_to_one
from checks import echoed_and_recorded, ended_well
from conftest import QUICK_FLAGS, quick_run_fixture
from questions import state
from repro import training
from repro.backend import seed_everything

UNITS = 5


@pytest.fixture(scope="module")
def trained():
    """The one-to-one model, its initial LSTM weights, and state.measure's figures."""
    seed_everything(3)
    args = argparse.Namespace(length=5, units=UNITS, lr=0.01)
    model = one_to_one.build_model(args)
    X, y = common.make_data("one_to_one", 5)
    before = [w.copy() for w in model.layers[0].get_weights()]
    training.train(model, X, y, 40, 5)
    return model, X, before, state.measure(model, X, before)


def lstm_step(x, h, c, weights):
    """One LSTM step in NumPy, as the LSTM equations write it (gates i, f, g, o side by side)."""
    kernel, recurrent, bias = weights
    z = x @ kernel + h @ recurrent + bias
    i, f, g, o = np.split(z, 4, axis=-1)
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def numpy_predictions(model, X, order, carry: bool) -> np.ndarray:
    """The model's outputs computed by hand, feeding samples in `order`, the state carried from
    one sample to the next or started at zero for each."""
    lstm_weights = model.layers[0].get_weights()
    dense_kernel, dense_bias = model.layers[1].get_weights()
    h = c = np.zeros((1, UNITS))
    out = np.zeros(len(X))
    for i in order:
        if not carry:
            h = c = np.zeros((1, UNITS))
        h, c = lstm_step(X[i, 0][None, :].astype("float64"), h, c, lstm_weights)
        out[i] = (h @ dense_kernel + dense_bias)[0, 0]
    return out


def test_the_untouched_weights_are_the_recurrent_kernel_and_the_forget_gate(trained):
    _, _, _, m = trained
    unchanged = {(r["part"], r["gate"]): r["unchanged"] == r["weights"] for r in m["parts"]}
    zero_gradient = {  # a zero state meets the recurrent kernel; a zero cell the forget gate
        (part, gate): part == "recurrent_kernel" or gate == "forget"
        for part in state.PARTS
        for gate in common.LSTM_GATES
    }
    assert unchanged == zero_gradient
    inputs = 1
    assert m["untouched_weights"] == 4 * UNITS * UNITS + inputs * UNITS + UNITS  # 110
    assert m["lstm_weights"] == common.lstm_params(inputs, UNITS)
    assert m["recurrent_kernel_max_change"] == 0.0


def test_samples_in_a_batch_share_no_state(trained):
    model, X, _, m = trained
    by_hand = numpy_predictions(model, X, range(5), carry=False)
    np.testing.assert_allclose(model.predict(X, verbose=0).ravel(), by_hand, atol=1e-6)
    assert m["batch_vs_alone_max_difference"] <= 4 * np.finfo(np.float32).eps
    assert m["stateless_order_max_difference"] <= 4 * np.finfo(np.float32).eps


def test_a_stateful_copy_carries_its_state_until_reset(trained):
    model, X, _, m = trained
    forward = numpy_predictions(model, X, range(5), carry=True)
    backward = numpy_predictions(model, X, range(4, -1, -1), carry=True)
    expected = float(np.max(np.abs(forward - backward)))
    assert m["stateful_order_max_difference"] == pytest.approx(expected, abs=1e-5)
    assert m["stateful_order_max_difference"] > 100 * m["batch_vs_alone_max_difference"] + 1e-3
    assert m["stateful_reset_order_max_difference"] <= 4 * np.finfo(np.float32).eps
    assert m["stateful_reset_vs_alone_max_difference"] <= 4 * np.finfo(np.float32).eps


quick = quick_run_fixture("state")


def test_the_quick_run_ends_well_and_records_its_echo(quick):
    proc, result = quick
    ended_well("state", proc, result)
    echoed_and_recorded("state", proc, result)
    assert (proc.folder / "state.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_script_writes_the_figures_at_another_size(quick):
    proc, result = quick
    assert QUICK_FLAGS["state"] == ["--units", "3"]
    assert proc.returncode == 0, proc.stderr  # with --check
    stdout, result = proc.stdout, result["results"]
    assert result["untouched_weights"] == 4 * 3 * 3 + 3 + 3  # recurrent 36, forget kernel and bias
    assert result["lstm_weights"] == common.lstm_params(1, 3)
    assert result["recurrent_kernel_max_change"] == 0.0
    many = result["many_to_one"]  # five steps a sample: every weight gets a gradient, and moves
    assert many["untouched_weights"] == 0 and many["recurrent_kernel_max_change"] > 0
    assert sum(r["weights"] for r in many["parts"]) == common.lstm_params(1, 3)
    assert f"{result['untouched_weights']} of {result['lstm_weights']} unchanged" in stdout
    assert stdout.strip().splitlines()[-1].startswith("Answer: a stateless LSTM starts every")


def test_check_fails_when_a_figure_contradicts_the_answer(trained):
    *_, m = trained
    m = {**m, "many_to_one": {"untouched_weights": 0}}
    assert state.failed(m) is None
    assert "many-to-one" in state.failed({**m, "many_to_one": {"untouched_weights": 3}})
    assert "recurrent kernel" in state.failed({**m, "recurrent_kernel_max_change": 1e-9})
    assert "alone" in state.failed({**m, "batch_vs_alone_max_difference": 1e-3})
    assert "either order" in state.failed({**m, "stateful_order_max_difference": 0.0})
