"""questions/no_dense.py: the article's models with and without their Dense head. Their counts
against Keras' weight shapes, the bound on an LSTM's output on weights no training made, the
quick run's answer against its own tables, and each claim shown able to fail."""

import math

import numpy as np
import pytest

import common
from checks import ended_well
from conftest import quick_run_fixture, run_main
from questions import no_dense
from repro import lesson

# (section, head) -> weights, worked by hand: an LSTM 4 * ((1 + 1) * units + units**2), a Dense
# units * outputs + outputs; without the head the LSTM has a unit per output
WEIGHTS = {
    ("many_to_one", True): 140 + 30,
    ("many_to_one", False): 140,  # LSTM(5): its last output holds the 5 values
    ("many_to_many", True): 140 + 6,
    ("many_to_many", False): 4 * (2 * 1 + 1),  # LSTM(1, return_sequences=True): 12
}
SCRIPT = "questions/no_dense.py"
BUDGETS = [500, 1000, 1500, 2000, 3000]
SECTION = {"many_to_one": "many_to_one", "many_to_many": "many_to_many", "doubled": "many_to_one"}
GOOD = {  # (echo, head) -> seeds reproduced at BUDGETS, of 100: as MEASURED.md has them
    ("many_to_one", True): [100] * 5,
    ("many_to_one", False): [41, 100, 100, 100, 100],
    ("many_to_many", True): [0, 21, 97, 100, 100],
    ("many_to_many", False): [0, 2, 9, 25, 38],
    ("doubled", True): [93, 100, 100, 100, 100],
    ("doubled", False): [0] * 5,
}


@pytest.mark.parametrize("section, head", WEIGHTS)
def test_each_model_has_its_closed_form_count_and_the_targets_shape(section, head):
    model = no_dense.build_model(section, head, 5, 5, 0.001)
    count, written = no_dense.formula(section, head)
    assert model.count_params() == WEIGHTS[section, head] == count == eval(written)
    lstm = model.layers[0]
    units = 5 if head or section == "many_to_one" else 1
    kernel, recurrent, bias = lstm.get_weights()  # 4 gates side by side, as Keras stores them
    assert (kernel.shape, recurrent.shape, bias.shape) == (
        (1, 4 * units),
        (units, 4 * units),
        (4 * units,),
    )
    _, y = common.make_data(section, 5)
    assert model.predict(np.zeros((1, 5, 1)), verbose=0).shape == y.shape
    assert len(model.layers) == (2 if head else 1)


@pytest.mark.parametrize("section", no_dense.SECTIONS)
def test_a_headless_output_never_leaves_minus_one_to_one_whatever_the_weights(section):
    """o * tanh(c) for weights no training gives (100 times Keras' draw), inputs up to 1000, and
    every gate saturated open (kernels 0, biases 50: c grows by 1 a step, the output is tanh)."""
    import keras

    model = no_dense.build_model(section, False, 5, 5, 0.001)
    X = np.random.default_rng(0).uniform(-1000, 1000, (256, 5, 1)).astype("float32")
    model.set_weights([100 * w for w in model.get_weights()])
    assert np.abs(keras.ops.convert_to_numpy(model(X))).max() <= no_dense.BOUND
    kernel, recurrent, bias = model.get_weights()
    model.set_weights([0 * kernel, 0 * recurrent, 0 * bias + 50])  # i = f = o = 1, g = 1
    out = keras.ops.convert_to_numpy(model(X)).reshape(len(X), -1)
    wanted = [math.tanh(t) for t in range(1, 6)]  # tanh(t) at step t
    np.testing.assert_allclose(out[0], wanted if section == "many_to_many" else 5 * wanted[-1:])
    assert out.max() <= no_dense.BOUND


quick = quick_run_fixture("no_dense", "--epochs", "40", "--seeds", "2")


@pytest.mark.slow  # six models compiled on TensorFlow: some 20 s
def test_the_quick_run_ends_well_and_fails_only_for_the_doubled_echo(quick):
    proc, result = quick
    ended_well("no_dense", proc, result)
    failed = [c["claim"] for c in result["claims"] if not c["holds"]]
    assert failed == ["only the head reproduces the doubled echo"]  # 40 epochs cannot reach 1.6
    assert (proc.folder / "no_dense.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_the_quick_runs_answer_is_its_tables(quick):
    _, result = quick
    (counts,) = [t for title, t in result["tables"].items() if title.startswith("Each model")]
    for row in counts:
        assert row["keras"] == row["="] == eval(row["formula"])
        if row["model"].endswith("alone"):
            assert float(row["largest |output|"]) <= 1
    (rates,) = [t for title, t in result["tables"].items() if title.startswith("Seeds")]
    assert [r["epochs"] for r in rates] == [40]
    last = {case: int(k.split("/")[0]) for case, k in rates[-1].items() if case != "epochs"}
    figures = result["figures"]
    assert (figures["head"], figures["bare"], figures["n"]) == (
        last["doubled head"],
        last["doubled alone"],
        2,
    )
    doubled = next(r for r in counts if r["echo"] == "doubled" and r["model"].endswith("alone"))
    assert f"{figures['largest']:.4f}" == doubled["largest |output|"]


def claims(capsys, reproduced=GOOD, largest=None, params=None) -> tuple:
    """(claim -> holds, the Answer line) that report() makes of these figures, of 100 seeds."""
    largest = {c: 1.6 if c[1] else 0.998 for c in GOOD} | (largest or {})
    params = {(e, h): WEIGHTS[SECTION[e], h] for e, h in GOOD} | (params or {})
    argv = ["--seeds", "100", "--epochs", "3000"]
    with lesson.start(no_dense.__doc__, argv, SCRIPT, seeds=1, epochs=1000, lr=0.001) as run:
        no_dense.report(run, BUDGETS, params, GOOD | reproduced, largest)
    answer = capsys.readouterr().out.splitlines()[-1]
    return {c["claim"]: c["holds"] for c in run.claims}, answer


def test_the_measured_figures_hold_every_claim_and_say_sooner(capsys):
    held, answer = claims(capsys)
    assert all(held.values())
    assert "converges sooner: many_to_one at 500 epochs 100/100, LSTM(5) alone 41/100, " in answer
    assert "meeting by 1000; many_to_many at 1500 epochs 97/100, LSTM(1) alone 9/100, " in answer
    assert (
        "not met by 3000 (38/100)" in answer
        and "0.998 (0/100), the head reproduces 100/100" in answer
    )


@pytest.mark.parametrize(
    "change, claim",
    [
        ({"params": {("many_to_one", False): 141}}, "every count is its formula's"),
        (
            {"largest": {("many_to_many", False): 1.01}},
            "every headless output stays inside (-1, 1)",
        ),
        (
            {"reproduced": {("many_to_many", False): [0, 22, 9, 25, 38]}},
            "with its head no model is behind its LSTM alone at any budget",
        ),
        (
            {"reproduced": {("doubled", False): [0, 0, 0, 0, 1]}},
            "only the head reproduces the doubled echo",
        ),
        (
            {"reproduced": {("doubled", True): [0, 0, 0, 0, 94]}},
            "only the head reproduces the doubled echo",
        ),
    ],
)
def test_each_claim_fails_on_figures_that_contradict_it(capsys, change, claim):
    held, _ = claims(capsys, **change)
    assert [c for c, holds in held.items() if not holds] == [claim]


def test_bad_input_is_one_line_before_any_training(capsys):
    for argv, flag in ((["--seeds", "0"], "--seeds"), (["--lr", "nan"], "--lr")):
        code, out, err = run_main(no_dense, argv, capsys)
        assert code == 2 and out == "" and err.count("\n") == 1 and flag in err, err
