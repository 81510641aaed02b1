"""questions/state.py against an LSTM in NumPy (weights, batches, state); each claim can fail."""

from unittest import mock

import numpy as np
import pytest

import common
import one_to_one
from checks import ended_well
from conftest import quick_run_fixture, run_main
from questions import state
from repro.backend import seed_everything
from repro.training import train

UNITS = 5
X, Y = common.make_data("one_to_one", 5)


def lstm_step(x, h, c, weights):
    """One LSTM step in NumPy, as the LSTM equations write it (gates i, f, g, o side by side)."""
    i, f, g, o = np.split(x @ weights[0] + h @ weights[1] + weights[2], 4, axis=-1)
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def by_hand(model, order, carry: bool) -> np.ndarray:
    """The one-to-one model's outputs in NumPy, fed in `order`, the state carried or not."""
    (lstm, dense), out = [layer.get_weights() for layer in model.layers], np.zeros(len(X))
    h = c = np.zeros((1, UNITS))
    for i in order:
        h, c = lstm_step(X[i].astype("float64"), h * carry, c * carry, lstm)
        out[i] = (h @ dense[0] + dense[1])[0, 0]
    return out


@pytest.fixture(scope="module")
def trained():
    """The one-to-one model after 40 epochs at lr 0.01, and its LSTM weights' unchanged counts."""
    seed_everything(3)
    model = one_to_one.build_model(UNITS, 0.01)
    before = [w.copy() for w in model.layers[0].get_weights()]
    train(model, X, Y, 40, 5)
    return model, state.unchanged(before, model.layers[0].get_weights(), UNITS)


def test_exactly_the_weights_that_cannot_change_the_output_stay_put(trained):
    """From a zero state, nudging the recurrent kernel or a forget-gate weight leaves the NumPy
    LSTM's output bit for bit the same; any other weight changes it, and Adam moves it."""
    weights = [np.random.default_rng(0).normal(size=(n, 4 * UNITS)) for n in (1, UNITS, 1)]
    zero, x = np.zeros((1, UNITS)), np.array([[0.6]])
    h, _ = lstm_step(x, zero, zero, weights)
    no_effect = {}
    for p, part in enumerate(state.PARTS):
        for g, gate in enumerate(common.LSTM_GATES):
            nudged = [w.copy() for w in weights]
            nudged[p][:, g * UNITS : (g + 1) * UNITS] += 0.1
            no_effect[part, gate] = np.array_equal(lstm_step(x, zero, zero, nudged)[0], h)
    _, kept = trained
    assert {key: k == n for key, (k, n) in kept.items()} == no_effect
    assert sum(k for k, _ in kept.values()) == 4 * UNITS * UNITS + 2 * UNITS  # 110
    assert sum(n for _, n in kept.values()) == common.lstm_params(1, UNITS)  # of 140


def test_samples_share_no_state_unless_the_copy_is_stateful(trained):
    model, _ = trained
    np.testing.assert_allclose(state.outputs(model, X), by_hand(model, range(5), False), atol=1e-6)
    np.testing.assert_allclose(state.outputs(model, X[::-1])[::-1], state.outputs(model, X))
    copy = state.stateful_copy(model, UNITS)
    for order in (range(5), range(4, -1, -1)):
        carried = state.one_at_a_time(copy, X, order)
        np.testing.assert_allclose(carried, by_hand(model, order, True), atol=1e-5)
        fresh = state.one_at_a_time(copy, X, order, reset=True)
        np.testing.assert_allclose(fresh, by_hand(model, order, False), atol=1e-6)


ADAM, ADAMW, MANY = "one-to-one, Adam", "one-to-one, AdamW", "many-to-one, Adam"
LARGEST = (3e-8, 0.0, 0.85, 0.0)  # alone vs batch, reversed, stateful, stateful reset


@pytest.mark.parametrize(
    "name, kept, largest, claim",
    [
        (ADAM, "frozen", LARGEST, None),
        (ADAM, "moved", LARGEST, "one-to-one: the recurrent kernel"),
        (ADAMW, "frozen", LARGEST, "with AdamW's weight decay"),
        (MANY, "frozen", LARGEST, "many-to-one: every weight"),
        (ADAM, "frozen", (1e-3, 0, 0.85, 0), "a sample's output is the same"),
        (ADAM, "frozen", (3e-8, 0, 1e-7, 0), "the stateful copy's outputs depend"),
        (ADAM, "frozen", (3e-8, 0, 0.85, 1e-3), "reset_states() before each sample"),
    ],
)
def test_each_claim_fails_when_a_figure_contradicts_it(trained, name, kept, largest, claim):
    frozen = trained[1]  # Keras' own counts: the recurrent kernel and forget gate unchanged
    moved = {key: (0, n) for key, (_, n) in frozen.items()}
    kept = {ADAM: frozen, ADAMW: moved, MANY: moved} | {name: frozen if kept == "frozen" else moved}
    run = mock.Mock()  # the lesson's run: what report() claims, and answers
    state.report(run, kept, dict(zip("abcd", largest, strict=True)))
    claims = {c.args[1]: c.args[0] for c in run.expect.call_args_list}
    failed = [c for c, holds in claims.items() if not holds]
    assert len(claims) == 6 and len(failed) == (claim is not None)
    assert all(c.startswith(claim) for c in failed)
    answer = run.answer.call_args.args[0].format(**run.answer.call_args.kwargs)
    assert claim or "110 of one-to-one's 140 LSTM weights" in answer


quick = quick_run_fixture("state", "--epochs", "40", "--units", "3")


def test_the_quick_run_ends_well_with_the_counts_of_three_units(quick):
    proc, result = quick
    ended_well("state", proc, result)
    weights, _ = result["tables"].values()
    assert result["check_passed"] and sum(r["weights"] for r in weights) == 60  # 4 * (2*3 + 9)
    assert sum(r["one-to-one, Adam"] for r in weights) == result["figures"]["frozen"] == 42
    assert (proc.folder / "state.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_input_is_one_line_and_exit_2(capsys):
    code, out, err = run_main(state, ["--units", "0"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "--units" in err
