"""questions/cells.py: each cell's count against its formula and Keras' own weight shapes, and the
share of seeds reproduced at every budget, recounted from the predictions."""

import pytest

from checks import ended_well
from conftest import quick_run_fixture, run_main
from questions import cells


@pytest.mark.parametrize("cell", cells.CELLS)
@pytest.mark.parametrize("inputs, units", [(1, 5), (3, 2), (1, 1)])
def test_each_cells_formula_matches_keras_weights(cell, inputs, units):
    import keras

    layer = getattr(keras.layers, cell)(units)
    layer.build((None, 4, inputs))
    assert layer.count_params() == cells.cell_params(cell, inputs, units)
    kernel, recurrent, bias = layer.get_weights()
    gates = cells.GATES[cell]  # side by side along the last axis, as Keras stores them
    assert kernel.shape == (inputs, gates * units)
    assert recurrent.shape == (units, gates * units)
    assert bias.shape == ((2, gates * units) if cell == "GRU" else (gates * units,))
    assert eval(cells.cell_formula(cell, inputs, units)) == layer.count_params()


quick = quick_run_fixture("cells", "--seeds", "2", "--epochs", "60", "--units", "3")


def test_the_quick_run_ends_well_with_a_curve_per_cell(quick):
    proc, result = quick
    ended_well("cells", proc, result)
    assert (proc.folder / "cells.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    counts, rates = result["tables"].values()
    assert [r["keras"] for r in counts] == [cells.cell_params(c, 1, 3) for c in cells.CELLS]
    assert [r["epochs"] for r in rates] == [60]  # under half the article's: one budget
    assert all(r[c] in ("0/2", "1/2", "2/2") for r in rates for c in cells.CELLS)


def test_rates_are_recounted_from_each_seeds_predictions():
    """at_budgets' predictions read at each budget, judged by the echo's rule, give the counts
    the script tabulates: a seed whose predictions all lie within 0.05 of their targets."""
    import numpy as np

    from repro.study import reproduced_at

    targets = np.array([0.0, 0.2, 0.4])
    near, far = targets + 0.049, targets + [0, 0, 0.051]
    predictions = np.stack([np.stack([far, near]), np.stack([near, near])])  # seeds x budgets
    assert reproduced_at(predictions, targets).sum(axis=0).tolist() == [1, 2]


def test_check_fails_when_no_cell_reaches_the_share_within_the_budgets(tmp_path, capsys):
    """Five epochs reproduce nothing: the claim that every cell gets there must fail."""
    argv = ["--seeds", "1", "--epochs", "5", "--check", "--verbose", "0"]
    code, out, err = run_main(cells, argv, capsys)
    assert code == 1 and err.splitlines()[-1].startswith("check failed: every cell reproduces")
    assert out.splitlines()[-1].startswith("Answer: ")


def test_bad_input_is_one_line_and_exit_2(capsys):
    for argv in (["--seeds", "0"], ["--epochs", "٥"], ["--lr", "1e-320"], ["--cell", "GRU"]):
        code, out, err = run_main(cells, argv, capsys)
        assert code == 2 and out == "" and err.count("\n") == 1, (argv, err)
