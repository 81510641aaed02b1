"""questions/bidirectional.py: Bidirectional(LSTM) with TimeDistributed(Dense) or Dense. Its
shapes and counts against Keras' own weights, its outputs against an LSTM in NumPy run both ways,
the quick run's answer against its tables, and each claim shown able to fail."""

import json

import numpy as np
import pytest

import common
import many_to_many_td
from checks import ended_well
from conftest import quick_run_fixture, run_main, run_script, said_out_of_turn
from questions import bidirectional
from repro import lesson

SCRIPT = "questions/bidirectional.py"
FLOAT32_ROUNDING = 2 * float(np.finfo(np.float32).eps)
BUDGETS = [500, 1000, 1500, 2000, 3000]
GOOD = {  # reproduced at BUDGETS, of 100 seeds: as MEASURED.md has them
    "the article's LSTM(5)": [0, 20, 97, 100, 100],
    "Bidirectional(LSTM(5))": [87, 100, 100, 100, 100],
    "Bidirectional(LSTM(3))": [67, 97, 100, 100, 100],
}


def drawn(model, seed: int = 0):
    """The model with weights drawn at random (biases too, unlike Keras' zeros), returned."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
    return model


@pytest.mark.parametrize("length, units", [(5, 5), (7, 3), (1, 1)])
def test_shapes_and_counts_match_keras_weights(length, units):
    model = bidirectional.build_model(length, units, 0.001)
    both, head = model.layers
    assert tuple(both.output.shape) == (None, length, 2 * units)  # the two directions side by side
    one_direction = [(1, 4 * units), (units, 4 * units), (4 * units,)]  # the 4 gates
    assert [w.shape for w in both.get_weights()] == one_direction * 2
    assert [w.shape for w in head.get_weights()] == [(2 * units, 1), (1,)]
    by_hand = 2 * 4 * ((1 + 1) * units + units**2) + 2 * units + 1
    assert model.count_params() == by_hand
    assert [r["params"] == r["formula_params"] for r in common.layer_rows(model)] == [True] * 2


def lstm_numpy(x, weights) -> np.ndarray:
    """An LSTM over the steps of one sequence x (steps, inputs) in NumPy: every step's output."""
    kernel, recurrent, bias = (np.asarray(w, "float64") for w in weights)
    h = c = np.zeros(recurrent.shape[0])
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    out = []
    for step in x:
        i, f, g, o = np.split(step @ kernel + h @ recurrent + bias, 4)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        out.append(h)
    return np.array(out)


def test_both_heads_are_the_forward_and_reversed_lstms_through_one_dense():
    model = drawn(bidirectional.build_model(5, 5, 0.001))
    plain = bidirectional.build_model(5, 5, 0.001, wrapped=False)
    plain.set_weights(model.get_weights())
    X = common.make_data("many_to_many", 5)[0]
    weights = model.layers[0].get_weights()
    forward = lstm_numpy(X[0], weights[:3])
    backward = lstm_numpy(X[0][::-1], weights[3:])[::-1]  # read from the end, put back in order
    kernel, bias = model.layers[1].get_weights()
    by_hand = np.concatenate([forward, backward], axis=1) @ kernel + bias
    wrapped, unwrapped = (m.predict(X, verbose=0)[0] for m in (model, plain))
    np.testing.assert_allclose(wrapped, by_hand, atol=1e-5)
    assert np.max(np.abs(wrapped - unwrapped)) <= FLOAT32_ROUNDING == bidirectional.FLOAT32_ROUNDING


def claims(capsys, models=None, difference=0.0, reproduced=GOOD) -> tuple:
    """(claim -> holds, the Answer line) that report() makes of these figures, of 100 seeds."""
    names = list(GOOD)
    models = models or {
        names[0]: many_to_many_td.build_model(5, 5, 0.001),
        names[1]: bidirectional.build_model(5, 5, 0.001),
        names[2]: bidirectional.build_model(5, 3, 0.001),
    }
    plain = bidirectional.build_model(5, 5, 0.001, wrapped=False)
    off = {names[0]: [80, 0, 0, 0, 0], names[1]: [0] * 5, names[2]: [3, 0, 0, 0, 0]}
    argv = ["--seeds", "100", "--epochs", "3000"]
    with lesson.start(bidirectional.__doc__, argv, SCRIPT, seeds=1, epochs=1000, lr=0.001) as run:
        bidirectional.report(run, BUDGETS, 1000, models, plain, difference, reproduced, off)
    answer = capsys.readouterr().out.splitlines()[-1]
    return {c["claim"]: c["holds"] for c in run.claims}, answer


def test_the_measured_figures_hold_every_claim_and_say_sooner(capsys):
    held, answer = claims(capsys)
    assert all(held.values())
    assert "outputs (None, 5, 10), 2 x 140 weights; Dense(1) on it adds 11 " in answer
    assert "it reproduces 100/100, Bidirectional(LSTM(3)) (127 weights) 97/100, " in answer
    assert "the article's LSTM 20/100 (80 of 80 misses off at step 1): " in answer
    assert "Bidirectional converges sooner; all meet by 1500." in answer


def failed(held: dict) -> list:
    return [claim for claim, holds in held.items() if not holds]


def test_each_claim_fails_on_figures_that_contradict_it(capsys, monkeypatch):
    names = list(GOOD)
    behind = {**GOOD, names[2]: [0, 19, 100, 100, 100]}
    assert failed(claims(capsys, reproduced=behind)[0]) == [
        "no Bidirectional model is behind the article's LSTM at any budget"
    ]
    assert failed(claims(capsys, difference=1e-6)[0]) == [
        "Dense(1) gives TimeDistributed(Dense(1))'s outputs"
    ]
    larger = {
        names[0]: many_to_many_td.build_model(5, 5, 0.001),
        names[1]: bidirectional.build_model(5, 5, 0.001),
        names[2]: bidirectional.build_model(5, 4, 0.001),  # 2 x 96 + 9 = 201 weights
    }
    assert failed(claims(capsys, models=larger)[0]) == [
        "Bidirectional(LSTM(3)) has fewer weights than LSTM(5)"
    ]
    longer = {**larger, names[1]: bidirectional.build_model(6, 5, 0.001)}  # (None, 6, 10)
    longer[names[2]] = bidirectional.build_model(6, 3, 0.001)
    assert failed(claims(capsys, models=longer)[0]) == ["(None, 5, 10) comes out"]
    monkeypatch.setattr(common, "lstm_params", lambda inputs, units: 0)  # a formula that is wrong
    assert failed(claims(capsys)[0]) == ["every count is its formula's"]


quick = quick_run_fixture("bidirectional", "--epochs", "40", "--seeds", "2")


@pytest.mark.slow  # three models compiled on TensorFlow: some 20 s
def test_the_quick_run_ends_well_and_its_answer_is_its_tables(quick):
    proc, result = quick
    ended_well("bidirectional", proc, result)
    assert (proc.folder / "bidirectional.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tables = list(result["tables"].values())
    layers, rates, off = tables
    assert [r["output_shape"] for r in layers if r["class"] == "Bidirectional"] == [
        "(None, 5, 10)",
        "(None, 5, 6)",
    ]
    assert all(r["params"] == r["="] for r in layers)
    (row,) = rates  # one budget: the 40 epochs
    figures = result["figures"]
    assert row["epochs"] == figures["epochs"] == 40
    names = list(GOOD)
    assert [int(row[n].split("/")[0]) for n in names] == [
        figures["article"],
        figures["both"],
        figures["fewer"],
    ]
    assert figures["misses"] == 2 - figures["article"] and figures["first"] == off[0]["step 1"]


def test_bad_input_is_one_line_before_any_training(capsys):
    for argv, flag in ((["--seeds", "0"], "--seeds"), (["--epochs", "x"], "--epochs")):
        code, out, err = run_main(bidirectional, argv, capsys)
        assert code == 2 and out == "" and err.count("\n") == 1 and flag in err, err


@pytest.mark.slow  # starts JAX in a process of its own
def test_on_jax_the_seeds_train_together_without_importing_tensorflow(tmp_path):
    path = tmp_path / "b.json"
    argv = ["--backend", "jax", "--seeds", "3", "--epochs", "30", "--json", str(path)]
    proc = run_script("questions/bidirectional.py", *argv, backend="jax")
    assert proc.returncode == 0, proc.stderr
    assert said_out_of_turn(proc.stderr) == []  # TensorFlow's start-up lines, had it been imported
    assert "draws initial weights differently" not in proc.stderr  # replayed, not built
    assert json.loads(path.read_text())["figures"]["n"] == 3
