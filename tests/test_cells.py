"""questions/cells.py: the article's models with an LSTM, a GRU or a SimpleRNN, each layer's count
against its formula and Keras' own weight shapes, and the reproduction rates."""

import json

import numpy as np
import pytest
from scipy.stats import beta

from checks import ended_well
from conftest import QUICK_FLAGS, ROOT, quick_run_fixture, run_main, run_script, said_out_of_turn
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


quick = quick_run_fixture("cells")


def test_one_cell_in_the_three_sections(quick):
    proc, result = quick  # conftest's QUICK_FLAGS
    assert QUICK_FLAGS["cells"] == ["--cell", "GRU", "--seeds", "2", "--epochs", "40"]
    ended_well("cells", proc, result)
    assert proc.returncode == 0, proc.stderr
    assert (proc.folder / "cells.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stdout, rows = proc.stdout, result["results"]["cells"]
    assert [(r["cell"], r["section"]) for r in rows] == [
        ("GRU", "one_to_one"),
        ("GRU", "many_to_one"),
        ("GRU", "many_to_many"),
    ]
    n = 2
    for r in rows:
        assert r["params"] == r["formula_params"] == 3 * (1 * 5 + 5 * 5 + 2 * 5)  # 120
        assert r["n"] == len(r["max_abs_errors"]) == n and r["epochs"] == 40
        k = sum(e < 0.05 for e in r["max_abs_errors"])  # recounted: every value prints its target
        assert r["reproduced"] == k
        low = beta.ppf(0.025, k, n - k + 1) if k else 0.0  # Clopper-Pearson, by hand
        high = beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
        np.testing.assert_allclose(r["ci95"], [low, high], rtol=1e-9, atol=1e-12)
    assert stdout.strip().splitlines()[-1].startswith("Answer: the same procedure works")


def test_a_batch_one_section_refuses_is_refused_before_any_training(capsys):
    """--batch-size 2 suits one-to-one's five samples, not the others' one: refused at once."""
    code, out, err = run_main(cells, ["--cell", "LSTM", "--batch-size", "2"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "--batch-size" in err
    code, out, err = run_main(cells, ["--length", "1500", "--units", "2"], capsys)
    assert code == 2 and out == "" and "TimeDistributed" in err  # many-to-many's head


@pytest.mark.slow
def test_every_cell_on_jax_trains_its_seeds_together(tmp_path):
    out = tmp_path / "c.json"
    argv = ["--backend", "jax", "--seeds", "3", "--epochs", "30", "--verbose", "0"]
    proc = run_script("questions/cells.py", *argv, "--json", str(out), backend="jax")
    assert proc.returncode == 0, proc.stderr
    assert said_out_of_turn(proc.stderr) == []
    rows = json.loads(out.read_text())["results"]["cells"]
    assert len(rows) == 9
    one_to_one = {r["cell"]: r["params"] for r in rows if r["section"] == "one_to_one"}
    assert one_to_one == {"LSTM": 140, "GRU": 120, "SimpleRNN": 35}  # 4, 3 and 1 gates
    assert "draws initial weights differently" not in proc.stderr  # replayed, not built


def test_the_readme_row_gives_the_one_to_one_counts():
    readme = (ROOT / "README.md").read_text()
    row = next(line for line in readme.splitlines() if "`python questions/cells.py" in line)
    for cell in cells.CELLS:
        assert f"{cell} {cells.GATES[cell]} ({cells.cell_params(cell, 1, 5)})" in row
