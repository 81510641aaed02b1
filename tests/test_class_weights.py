"""questions/class_weights.py: what Keras 3 says to each way of weighting the steps of 3D targets,
per-step weights against hand counts, and balanced weights against none over the budgets."""

import argparse
import re

import numpy as np
import pytest

from checks import ended_well
from conftest import quick_run_fixture, run_main
from questions import class_weights

quick = quick_run_fixture("class_weights", "--samples", "64", "--epochs", "10")
DATASET = "fit(tf.data.Dataset, class_weight=...)"
APART = "one epoch, largest weight difference from {}"


def test_the_quick_run_ends_well(quick):
    proc, result = quick
    ended_well("class_weights", proc, result)
    assert (proc.folder / "class_weights.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def said(result) -> dict:
    rows = next(rows for title, rows in result["tables"].items() if title.startswith("Keras 3"))
    return {row["weighting"]: row["Keras 3"] for row in rows}


def test_keras_3_refuses_sample_weight_mode_and_class_weight_on_numpy_arrays(quick):
    _, result = quick
    table = said(result)
    refused = table['compile(sample_weight_mode="temporal")']
    assert refused.startswith("TypeError: ") and "'sample_weight_mode'" in refused
    numpy = table["fit(X, Y, class_weight=...), NumPy arrays"]
    assert numpy.startswith("TypeError: ") and "(raised in class_weight_to_sample_weights)" in numpy


def test_class_weight_on_a_dataset_trains_as_per_step_weights_do(quick):
    """On TensorFlow the dataset's epoch lands on the per-step weights' model, not near the
    unweighted one; elsewhere the run says it did not try."""
    _, result = quick
    table = said(result)
    if result["backend"] != "tensorflow":
        assert table[DATASET] == "not tried on this backend"
        return
    assert table[DATASET] == "trains"
    assert table[APART.format("balanced per-step weights")] <= 1e-6
    assert table[APART.format("no weights")] > 1e-3


def test_the_balanced_weights_are_scikit_learns(quick):
    """The class weights the run prints (2 decimals), from the seed's training labels drawn
    again: compute_class_weight("balanced")."""
    from sklearn.utils.class_weight import compute_class_weight

    _, result = quick
    title = next(t for t in result["tables"] if t.startswith("Each class's recall"))
    printed = [float(w) for w in re.findall(r"\d: (\d+\.\d\d)", title)]
    _, y = class_weights.make_sequences(np.random.default_rng(result["config"]["seed"]), 64)
    expected = compute_class_weight("balanced", classes=np.arange(5), y=y.ravel())
    np.testing.assert_allclose(printed, expected, atol=0.005)


def test_sequences_label_each_step_with_the_token_before_it():
    X, y = class_weights.make_sequences(np.random.default_rng(0), 2000)
    assert X.shape == y.shape == (2000, class_weights.LENGTH)
    assert (y[:, 0] == 0).all() and (y[:, 1:] == X[:, :-1]).all()
    assert np.mean(X == 1) == pytest.approx(class_weights.COMMON, abs=0.01)


def test_per_step_sample_weights_weigh_each_steps_cross_entropy():
    """Keras' loss with (samples, steps) weights is the weighted per-step cross-entropy summed and
    divided by the number of steps, by hand from the outputs."""
    from repro.backend import seed_everything

    seed_everything(3)
    model = class_weights.build_model(4, 0.01)
    X, y = class_weights.make_sequences(np.random.default_rng(3), 16)
    weights = np.random.default_rng(4).uniform(0, 3, size=y.shape).astype("float32")
    Y = np.eye(5, dtype="float32")[y]
    said = model.evaluate(X, Y, sample_weight=weights, batch_size=16, verbose=0)
    probs = np.asarray(model.predict(X, verbose=0), "float64")
    cross_entropy = -np.log(np.take_along_axis(probs, y[..., None], axis=-1)[..., 0])
    assert said == pytest.approx((weights * cross_entropy).sum() / y.size, rel=1e-5)


class FixedModel:
    def __init__(self, predicted):
        self.probabilities = np.eye(5)[predicted]

    def predict(self, X, verbose=0):
        return self.probabilities


def test_recall_is_the_hand_count_per_class():
    y = np.array([[0, 1, 1, 2], [0, 1, 3, 4]])
    predicted = np.array([[0, 1, 2, 2], [1, 1, 3, 1]])
    figures = class_weights.recall(FixedModel(predicted), None, y)
    right = {c: np.mean(predicted[y == c] == c) for c in range(5)}  # 1/2, 2/3, 1, 1, 0
    assert [figures[f"class {c}"] for c in range(5)] == pytest.approx(list(right.values()))
    assert figures["worst"] == 0


## The claims, each shown failing for the reason it names (report() on made-up figures)

BUDGETS = [1, 5, 10, 15, 20, 30]
SAID = {
    'compile(sample_weight_mode="temporal")': "TypeError: unexpected keyword",
    "fit(X, Y, sample_weight=(samples, steps))": "trains (the balanced model here)",
    "fit(X, Y, class_weight=...), NumPy arrays": "TypeError: only 0-dimensional arrays",
    DATASET: "trains",
    APART.format("no weights"): 0.5,
    APART.format("balanced per-step weights"): 0.0,
}


def seen(plain=(0, 0, 0, 0.3, 0.6, 0.96), weighted=(0, 0.6, 0.8, 0.95, 0.97, 0.97)) -> list:
    records = []
    for way, worst in zip(class_weights.WAYS, (plain, weighted), strict=True):
        for epochs, r in zip(BUDGETS, worst, strict=True):
            classes = {f"class {c}": 1.0 if c < 2 else r for c in range(5)}
            records.append({"seed": 1, "way": way, "epochs": epochs, **classes, "worst": r})
    return records


def report(table: dict, records: list):
    from repro.lesson import Lesson

    args = argparse.Namespace(seed=1, seeds=1, backend="tensorflow", verbose=0, check=True)
    args.__dict__.update(prog="questions/class_weights.py", config_keys=[], floatx="float32")
    args.__dict__.update(plot=None, json=None)
    run = Lesson(class_weights.__doc__, args)
    status = class_weights.report(run, BUDGETS, table, records, 1, {c: 1.0 for c in range(5)})
    return status, [c["claim"] for c in run.claims if not c["holds"]]


def test_made_up_figures_consistent_with_the_claims_pass(capsys):
    assert report(SAID, seen()) == (0, [])
    answer = capsys.readouterr().out.strip().splitlines()[-1]
    assert "0.80 against 0.00 at 10 epochs, 0.97 against 0.96 at 30: they have met." in answer


@pytest.mark.parametrize(
    "changes, records, claim",
    [
        ({'compile(sample_weight_mode="temporal")': "trains"}, seen(), "compile refuses"),
        ({"fit(X, Y, class_weight=...), NumPy arrays": "trains"}, seen(), "NumPy refuses"),
        (
            {APART.format("balanced per-step weights"): 0.01},
            seen(),
            "weights each step as class_weight[label]",
        ),
        (
            {APART.format("no weights"): 0.0},
            seen(),
            "weights each step as class_weight[label]",
        ),  # no check at all
        ({}, seen(weighted=(0, 0, 0, 0.3, 0.6, 0.95)), "balanced weights ahead at 10 epochs"),
        ({}, seen(weighted=(0, 0.6, 0.8, 0.95, 0.97, 0.9)), "no weights not ahead"),
    ],
)
def test_each_claim_fails_when_its_figures_contradict_it(changes, records, claim, capsys):
    status, failed = report({**SAID, **changes}, records)
    assert status == 1 and any(claim in c for c in failed), failed


def test_bad_input_is_refused_in_one_line(capsys):
    code, out, err = run_main(class_weights, ["--samples", "4"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "--samples" in err
