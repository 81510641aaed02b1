"""questions/no_dense.py: the article's models with and without their Dense head; the counts
against the closed forms and Keras' weight shapes, the bound on an LSTM's output checked on
weights no training made, and every figure recomputed from the raw predictions the JSON keeps."""

import argparse
import contextlib
import io
import json
import math
import subprocess

import numpy as np
import pytest
from scipy.stats import beta

from checks import QUESTION_FIELDS
from conftest import run_main, run_script, said_out_of_turn
from questions import no_dense

SCRIPT = "questions/no_dense.py"
ECHO = [0.0, 0.2, 0.4, 0.6, 0.8]  # the article's sequence, written out: not the script's
DOUBLED = [0.0, 0.4, 0.8, 1.2, 1.6]
QUICK = ["--seeds", "2", "--epochs", "20"]
# (section, variant) -> (weights, y shape of one sample), from the article and the closed forms
# 4 * ((1 + 1) * units + units**2) and units * outputs + outputs, worked by hand
MODELS = {
    ("one_to_one", "head"): (140 + 6, (1,)),
    ("one_to_one", "no_head"): (4 * (2 * 1 + 1), (1,)),  # LSTM(1): 12
    ("many_to_one", "head"): (140 + 30, (5,)),
    ("many_to_one", "no_head"): (140, (5,)),  # LSTM(5): its 5 units are the 5 outputs
    ("many_to_many", "head"): (140 + 6, (5, 1)),
    ("many_to_many", "no_head"): (12, (5, 1)),  # LSTM(1, return_sequences=True)
}


def model_args(section: str, variant: str) -> argparse.Namespace:
    return argparse.Namespace(script=section, variant=variant, length=5, units=5, lr=0.001)


@pytest.mark.parametrize("section, variant", MODELS)
def test_each_model_has_the_closed_form_count_and_the_targets_shape(section, variant):
    model = no_dense.build_model(model_args(section, variant))
    weights, y_shape = MODELS[section, variant]
    assert model.count_params() == weights
    steps = 1 if section == "one_to_one" else 5
    assert model.predict(np.zeros((1, steps, 1)), verbose=0).shape[1:] == y_shape
    lstm = model.layers[0]
    units = lstm.units
    kernel, recurrent, bias = lstm.get_weights()  # 4 gates side by side, as Keras stores them
    assert (kernel.shape, recurrent.shape, bias.shape) == (
        (1, 4 * units),
        (units, 4 * units),
        (4 * units,),
    )
    assert len(model.layers) == (1 if variant == "no_head" else 2)


@pytest.mark.parametrize("section", no_dense.SECTIONS)
def test_a_headless_output_stays_inside_its_bound_whatever_the_weights(section):
    """o * tanh(c) stays under 1, and under tanh(1) after one step from a zero state: for weights
    no training would give (100 times Keras' draw) and inputs of up to 1000, and for every gate
    saturated open (kernels 0, biases 50), where c grows by 1 a step and the output is tanh(t)."""
    import keras

    model = no_dense.build_model(model_args(section, "no_head"))
    steps = 1 if section == "one_to_one" else 5
    bound = math.tanh(1) if section == "one_to_one" else 1.0
    assert no_dense.output_bound(section, "no_head") == bound
    assert no_dense.output_bound(section, "head") == math.inf
    X = np.random.default_rng(0).uniform(-1000, 1000, (256, steps, 1)).astype("float32")
    model.set_weights([100 * w for w in model.get_weights()])
    assert np.abs(keras.ops.convert_to_numpy(model(X))).max() <= bound + no_dense.ROUNDING
    kernel, recurrent, bias = model.get_weights()
    model.set_weights([0 * kernel, 0 * recurrent, 0 * bias + 50])  # i = f = o = 1, g = 1
    out = keras.ops.convert_to_numpy(model(X)).reshape(len(X), -1)
    every_step = [math.tanh(t) for t in range(1, steps + 1)]  # tanh(t) reached at step t
    wanted = every_step if section == "many_to_many" else math.tanh(steps)  # else the last
    np.testing.assert_allclose(out[0], wanted, rtol=1e-6)
    assert out.max() <= bound + no_dense.ROUNDING  # float32 rounds tanh(1) up a little


def in_process(argv: list[str]) -> subprocess.CompletedProcess:
    """main(argv) in this process, with what it prints kept (a module fixture has no capsys)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = no_dense.main(argv)
        except SystemExit as e:
            code = e.code
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """2 seeds, 20 epochs for every model: too few for the head to reach 1.6."""
    folder = tmp_path_factory.mktemp("no_dense")
    argv = [*QUICK, "--check", "--json", str(folder / "r.json"), "--plot", str(folder / "r.png")]
    proc = in_process(argv)
    proc.folder = folder
    return proc, json.loads((folder / "r.json").read_text())


def test_the_quick_run_ends_as_a_question_does(quick):
    proc, result = quick
    assert said_out_of_turn(proc.stderr) == []
    assert list(result) == QUESTION_FIELDS and result["script"] == SCRIPT
    assert proc.stdout.splitlines()[-1] == result["answer"]
    assert result["answer"].startswith("Answer: on tensorflow, seeds 1-2, 20/20/20 epochs, ")
    # 20 epochs cannot take the head to 1.6: --check says so
    assert not result["check_passed"] and proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == (
        "check failed: many_to_one with its Dense head reproduced the doubled echo in no seed"
    )
    assert (proc.folder / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_model_trained_as_the_article_frames_it(quick):
    _, result = quick
    results = result["results"]
    assert results["seeds"] == [1, 2]
    rows = results["echo"]
    assert [(r["section"], r["variant"]) for r in rows] == list(MODELS)
    batches = {"one_to_one": 5, "many_to_one": 1, "many_to_many": 1}  # one update an epoch
    for r in rows + results["doubled"]:
        assert r["params"] == r["formula_params"] == MODELS[r["section"], r["variant"]][0]
        assert r["epochs"] == 20 and r["batch_size"] == batches[r["section"]]
        assert r["seeds"] == [1, 2] and len(r["predictions"]) == len(r["final_losses"]) == 2
        assert r["targets"] == pytest.approx(ECHO if r["times"] == 1 else DOUBLED)
    assert [(r["section"], r["variant"], r["times"]) for r in results["doubled"]] == [
        ("many_to_one", "head", 2),
        ("many_to_one", "no_head", 2),
    ]


def test_every_figure_is_recomputed_from_the_raw_predictions(quick):
    _, result = quick
    for r in result["results"]["echo"] + result["results"]["doubled"]:
        predictions, targets = np.array(r["predictions"]), np.array(r["targets"])
        errors = np.abs(predictions - targets).max(axis=1)
        k, n = int(np.sum(errors < 0.05)), len(errors)
        assert (r["reproduced"], r["n"]) == (k, n)
        low = beta.ppf(0.025, k, n - k + 1) if k else 0.0  # Clopper-Pearson, by hand
        high = beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
        np.testing.assert_allclose(r["ci95"], [low, high], rtol=1e-9, atol=1e-12)
        assert r["median_final_loss"] == pytest.approx(np.median(r["final_losses"]))
        assert r["largest_output"] == pytest.approx(np.abs(predictions).max())
        bound = {"head": None, "no_head": math.tanh(1) if r["section"] == "one_to_one" else 1}
        assert r["output_bound"] == bound[r["variant"]]
        clipped = (
            targets if bound[r["variant"]] is None else np.minimum(targets, bound[r["variant"]])
        )
        assert r["loss_floor"] == pytest.approx(np.mean((targets - clipped) ** 2), abs=1e-12)
        assert r["mean_baseline"] == pytest.approx(np.mean((targets - targets.mean()) ** 2))
        if r["variant"] == "no_head":  # the bound holds after any training, however short
            assert r["largest_output"] <= bound[r["variant"]] + no_dense.ROUNDING
    doubled = result["results"]["doubled"][1]
    assert doubled["loss_floor"] == pytest.approx((0.2**2 + 0.6**2) / 5)  # 1.2 and 1.6 cut to 1


def test_the_answer_and_tables_quote_the_json(quick):
    proc, result = quick
    results, answer = result["results"], result["answer"]
    for r in results["echo"]:
        assert f"{r['reproduced']}/{r['n']}" in answer and f"{r['params']} weights" in answer
    assert "6/30/6" in answer  # the heads' own weights: a weight per unit and a bias, per output
    for r in results["echo"] + results["doubled"]:
        assert f"{r['params']} (formula {r['formula_params']})" in proc.stdout


def test_values_and_a_batch_one_section_refuses_are_refused_before_any_training(capsys):
    code, out, err = run_main(no_dense, ["--values", "0 1 2 3 4"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "--values" in err
    code, out, err = run_main(no_dense, ["--batch-size", "2"], capsys)  # many-to-one has 1 sample
    assert code == 2 and out == "" and err.count("\n") == 1 and "--batch-size" in err


@pytest.mark.slow
def test_the_default_run_holds_its_answer(tmp_path):
    path = tmp_path / "r.json"
    proc = run_script(SCRIPT, "--check", "--json", str(path))
    assert proc.returncode == 0, proc.stderr
    assert said_out_of_turn(proc.stderr) == []
    result = json.loads(path.read_text())
    results = result["results"]
    head, bare = results["doubled"]
    floor = (0.2**2 + 0.6**2) / 5  # outputs inside (-1, 1) against 1.2 and 1.6
    mean = np.mean((np.array(DOUBLED) - 0.8) ** 2)  # predicting the mean every time: 0.32
    assert bare["reproduced"] == 0 and bare["largest_output"] < 1
    assert min(bare["final_losses"]) >= floor - 1e-6  # no seed beat the floor
    assert head["reproduced"] >= 1 and head["median_final_loss"] < 0.01 * mean
    assert max(max(p) for p in head["predictions"]) > 1.5  # the linear head leaves (-1, 1)
    by = {(r["section"], r["variant"]): r for r in results["echo"]}
    for section in no_dense.SECTIONS:
        assert (
            by[section, "head"]["median_final_loss"] < by[section, "no_head"]["median_final_loss"]
        )
    if "less often" in result["answer"]:
        assert all(
            by[s, "no_head"]["reproduced"] < by[s, "head"]["reproduced"] for s in no_dense.SECTIONS
        )
