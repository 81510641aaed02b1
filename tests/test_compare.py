"""The comparison with the article: verdicts, custom-size rows, the echo tolerance."""

import argparse
import math

import pytest

from repro import compare

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
    assert compare.verdict(kind, article, ours).split(":")[0] == expected


def test_verdict_known_difference_applies_only_to_the_value_it_names():
    known = {"time_distributed_1": ("dense", "a plain Dense")}
    assert compare.verdict("name", "time_distributed_1", "dense", known) == "differs: a plain Dense"
    assert compare.verdict("name", "time_distributed_1", "dense_3", known).startswith("differs")
    # any other value in that row is not the known difference
    assert compare.verdict("name", "time_distributed_1", "lstm", known) == "MISMATCH"
    assert compare.verdict("name", "time_distributed_1", "time_distributed", known) == (
        "differs: Keras 2 numbered names from _1; Keras 3 numbers only repeats"
    )


def test_comparison_rows_custom_size_uses_formulas_and_targets():
    args = argparse.Namespace(custom=True, script="one_to_one")
    rows = [{"formula_params": 4 * 3 * 5, "params": 60}, {"formula_params": 4, "params": 4}]
    out = compare.comparison_rows(args, rows, [0.01, 0.49], [0.0, 0.5])
    assert [(c["quantity"], c["verdict"]) for c in out] == [
        ("layer 1 params", "same"),
        ("layer 2 params", "same"),
        ("total params", "same"),
        ("prediction 1", "same"),
        ("prediction 2", "same"),
    ]
    out = compare.comparison_rows(args, rows, [0.01, 0.3], [0.0, 0.5])
    assert out[-1]["verdict"] == "MISMATCH"
    # a target on a rounding boundary (length 8: 0.25 prints as 0.2) and a prediction just above
    # it (prints as 0.3) still echo it
    out = compare.comparison_rows(args, rows, [0.0, 0.2500001], [0.0, 0.25])
    assert out[-1]["verdict"] == "same" and compare.reproduced([0.0, 0.2500001], [0.0, 0.25])


def test_a_nan_prediction_is_never_reproduced_wherever_it_comes():
    for predictions in ([0.1, math.nan], [math.nan, 0.1]):
        assert math.isnan(compare.max_error(predictions, [0.0, 0.0]))
        assert not compare.reproduced(predictions, [0.1, 0.1])


def test_max_error_and_reproduced():
    assert math.isclose(compare.max_error([0.01, 0.2], [0.0, 0.25]), 0.05)
    assert compare.reproduced([-1e-9, 0.21], [0.0, 0.2])
    assert not compare.reproduced([0.06, 0.2], [0.0, 0.2])


@pytest.mark.parametrize("custom", [False, True])
def test_a_missing_or_extra_prediction_is_an_error_not_a_shorter_table(custom):
    args = argparse.Namespace(custom=custom, script="many_to_one")
    rows = [{"name": "lstm", "output_shape": "(None, 5)", "params": 140, "formula_params": 140}]
    rows.append({"name": "dense", "output_shape": "(None, 5)", "params": 30, "formula_params": 30})
    targets = [0.0, 0.2, 0.4, 0.6, 0.8]
    for predictions in ([0.0], [0.0, 0.2, 0.4, 0.6, 0.8, 1.0], []):
        with pytest.raises(ValueError, match="predictions for"):
            compare.comparison_rows(args, rows, predictions, targets)
        with pytest.raises(ValueError, match="predictions for"):
            compare.max_error(predictions, targets)
        with pytest.raises(ValueError, match="predictions for"):
            compare.reproduced(predictions, targets)
    full = compare.comparison_rows(args, rows, targets, targets)
    assert sum(c["quantity"].startswith("prediction") for c in full) == 5
