"""questions/heads.py: each head's count against Keras' own weight shapes, the shared head against
the article's model, the rates and the answer recomputed, and each claim able to fail."""

import argparse
import json
import re

import numpy as np
import pytest

import many_to_many_td
from checks import ended_well
from conftest import quick_run_fixture, run_script, said_out_of_turn
from questions import heads
from repro import lesson

quick = quick_run_fixture("heads", "--epochs", "40", "--seeds", "2")


def test_the_quick_run_ends_well(quick):
    proc, result = quick
    ended_well("heads", proc, result)
    assert (proc.folder / "heads.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    counts, rates = result["tables"].values()
    assert [r["keras"] for r in counts] == [6, 30, 130, 30]
    assert rates == [{"epochs": 40, **{name: "0/2" for name, _ in heads.HEADS.values()}}]
    assert not result["check_passed"]  # 40 epochs: no head reproduces yet
    assert "the curves do not meet: under 95% for all four" in result["answer"]


@pytest.mark.parametrize("head", heads.HEADS)
@pytest.mark.parametrize("units", [5, 2])
def test_each_heads_formula_counts_keras_weight_shapes(head, units):
    model = heads.build_model(head, units, 0.001)
    lstm = model.get_layer("lstm")
    shapes = [w.shape for w in model.weights if not any(w is v for v in lstm.weights)]
    count, formula = heads.head_params(head, units)
    assert count == sum(int(np.prod(s)) for s in shapes) == eval(formula)
    if head == "flatten":  # every step's output to every output value
        assert shapes == [(heads.LENGTH * units, heads.LENGTH), (heads.LENGTH,)]
    if head == "unshared":  # a kernel and a bias for each step
        assert shapes == [(units, 1), (1,)] * heads.LENGTH
    assert model.output.shape[1] == heads.LENGTH  # a value for every step of the echo


def test_at_each_seed_every_head_starts_from_the_same_lstm():
    """The heads are compared from the same LSTM: at a seed, its initial weights are the same
    whatever the head; and the shared head has the article's model's weight shapes."""
    from repro.backend import seed_everything

    def lstm_weights(head):
        seed_everything(3)
        return heads.build_model(head, 5, 0.001).get_layer("lstm").get_weights()

    first = lstm_weights("shared")
    for head in list(heads.HEADS)[1:]:
        for a, b in zip(first, lstm_weights(head), strict=True):
            np.testing.assert_array_equal(a, b)
    article = many_to_many_td.build_model(5, 5, 0.001)
    shared = heads.build_model("shared", 5, 0.001)
    assert [w.shape for w in shared.weights] == [w.shape for w in article.weights]


def fake_run(seeds: int) -> lesson.Lesson:
    args = argparse.Namespace(
        prog="questions/heads.py",
        config_keys=[],
        backend="jax",
        floatx="float32",
        verbose=0,
        json=None,
        plot=None,
        check=True,
        seed=1,
        seeds=seeds,
        units=5,
    )
    return lesson.Lesson(heads.__doc__, args)


BUDGETS = [500, 1000, 1500, 2000, 3000]
PARAMS = {"shared": 6, "last": 30, "flatten": 130, "unshared": 30}
MEASURED = {  # /work/shared/MEASURED.md's shape: the shared head later, all meet by 1500
    "shared": [0, 20, 97, 100, 100],
    "last": [100] * 5,
    "flatten": [100] * 5,
    "unshared": [100] * 5,
}


def test_curves_that_meet_give_sooner_not_better(capsys):
    run = fake_run(100)
    assert heads.report(run, BUDGETS, PARAMS, MEASURED) == 0
    answer = capsys.readouterr().out.strip().splitlines()[-1]
    assert "reproduces 20/100; last state -> Dense(5) 100/100" in answer
    assert "weights of their own for each output converge sooner" in answer
    assert answer.endswith("All four reproduce in 95% of seeds by 1500 epochs: sooner, not better.")
    assert len(answer.split()) - 1 <= 60


def test_a_head_that_never_reaches_95_percent_fails_the_check(capsys):
    run = fake_run(100)
    late = {**MEASURED, "shared": [0, 20, 50, 70, 94]}
    assert heads.report(run, BUDGETS, PARAMS, late) == 1
    out, err = capsys.readouterr()
    assert "do not meet: under 95% for TimeDistributed(Dense(1))." in out
    assert "better" not in out and err.splitlines()[-1] == (
        "check failed: every head reproduces in 95% of seeds within the budgets"
    )


def test_a_count_that_is_not_the_formulas_fails_the_check(capsys):
    run = fake_run(100)
    assert heads.report(run, BUDGETS, {**PARAMS, "flatten": 131}, MEASURED) == 1
    assert "Flatten -> Dense(5)'s count is its formula's" in capsys.readouterr().err


def test_a_head_sooner_only_for_some_is_named(capsys):
    run = fake_run(10)
    rates = {"shared": [9, 10], "last": [10, 10], "flatten": [5, 10], "unshared": [9, 10]}
    assert heads.report(run, [500, 1000], PARAMS, rates) == 0
    answer = capsys.readouterr().out.strip().splitlines()[-1]
    assert ": last state -> Dense(5) converges sooner. All four" in answer


@pytest.mark.slow  # 4 heads x 4 seeds to 1500 epochs on JAX, in a process of its own
def test_on_jax_the_shared_head_lags_then_catches_up(tmp_path):
    out = tmp_path / "h.json"
    argv = ["--backend", "jax", "--seeds", "4", "--epochs", "1500", "--verbose", "0"]
    proc = run_script("questions/heads.py", *argv, "--json", str(out), backend="jax")
    assert proc.returncode in (0, 1), proc.stderr
    assert said_out_of_turn(proc.stderr) == []
    result = json.loads(out.read_text())
    rates = result["tables"]["Seeds reproduced (4 from --seed 1, jax)"]
    assert [r["epochs"] for r in rates] == [500, 1000, 1500]
    first = rates[0]  # MEASURED.md: 0/100 at 500 epochs against 100/100 for the others
    assert first["TimeDistributed(Dense(1))"] == "0/4"
    assert all(first[name] == "4/4" for name, _ in list(heads.HEADS.values())[1:])
    shared = [int(re.match(r"\d+", r["TimeDistributed(Dense(1))"])[0]) for r in rates]
    assert f"reproduces {shared[1]}/4;" in result["answer"]
