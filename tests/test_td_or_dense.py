"""questions/td_or_dense.py: Dense(1) and TimeDistributed(Dense(1)) against a NumPy oracle, the
layers tried against their closed-form shapes and BatchNormalization's statistics, and each claim
able to fail."""

import argparse

import numpy as np
import pytest

import common
import many_to_many_td
from checks import ended_well
from conftest import quick_run_fixture, run_main
from questions import td_or_dense
from repro import lesson

quick = quick_run_fixture("td_or_dense", "--length", "7", "--units", "3")


def test_the_quick_run_ends_well(quick):
    proc, result = quick
    ended_well("td_or_dense", proc, result)
    assert result["check_passed"]
    assert (result["config"]["length"], result["config"]["units"]) == (7, 3)


def tables(result):
    heads, layers = result["tables"].values()
    return heads, {r["layer"]: r for r in layers}


def test_both_heads_have_a_weight_per_unit_and_a_bias(quick):
    heads, _ = tables(quick[1])
    assert [h["weights"] for h in heads] == [3 + 1, 3 + 1]  # units 3
    assert [h["shapes"] for h in heads] == ["(3, 1) + (1,)"] * 2
    assert [h["output"] for h in heads] == ["(None, 7, 1)"] * 2  # a value for each of 7 steps


def test_the_layers_tried_have_their_closed_form_shapes_and_weights(quick):
    _, rows = tables(quick[1])
    batch, steps = td_or_dense.SAMPLES, 7
    flatten = rows["Flatten"]  # each step's 8x8 flattened, or the whole sequence at once
    assert flatten["TimeDistributed"] == f"({batch}, {steps}, 64), 0 weights"
    assert flatten["alone"] == f"({batch}, {steps * 64}), 0 weights"
    conv = rows["Conv2D(4, 3)"]  # a 3x3 kernel per filter, shared by the steps
    assert conv["TimeDistributed"] == f"({batch}, {steps}, 6, 6, 4), {3 * 3 * 4 + 4} weights"
    sub = rows["LSTM(4) over sub-sequences"]  # one LSTM reads each step's 6 sub-steps
    assert sub["TimeDistributed"] == f"({batch}, {steps}, 4), {common.lstm_params(1, 4)} weights"
    cnn = rows["a CNN-LSTM"]  # 8 values -> 6 windows x 4 filters = 24 inputs a step to the LSTM
    assert cnn["TimeDistributed"] == f"({batch}, 4), {16 + common.lstm_params(24, 4)} weights"
    assert [r["alone"] for r in (conv, sub, cnn)] == ["refused"] * 3
    assert rows["BatchNormalization in training"]["alone"] == f"({batch}, {steps}, 4), 16 weights"


def test_the_answer_is_the_runs_figures(quick):
    heads, rows = tables(quick[1])
    answer = quick[1]["answer"]
    assert f"(largest difference {heads[1]['max |difference|']:.1g})" in answer
    bn = rows["BatchNormalization in training"]["max |difference|"]
    assert f"up to {bn:.1f} apart" in answer and "the same 4 weights" in answer
    for name, row in rows.items():  # each layer tried named once, on the side its row shows
        side = answer.split("; ")[1] if row["max |difference|"] == 0 else answer.split("; ")[0]
        assert name.split(" at ")[0] in side


@pytest.mark.parametrize("wrapped", [True, False])
def test_each_head_is_x_times_kernel_plus_bias_at_every_step(wrapped):
    """The NumPy oracle: whatever the wrapper, step t's value is the LSTM's output at t times the
    kernel, plus the bias."""
    import keras

    model = many_to_many_td.build_model(6, 4, wrapped=wrapped)
    head = model.layers[-1]
    kernel, bias = head.get_weights()
    head.set_weights([kernel, np.float32([0.3])])  # a bias that is not 0
    x = np.random.default_rng(0).uniform(size=(3, 6, 1)).astype("float32")
    steps = keras.ops.convert_to_numpy(model.layers[0](x))  # (3, 6, 4)
    expected = np.einsum("stu,uo->sto", steps.astype("float64"), kernel) + 0.3
    got = keras.ops.convert_to_numpy(model(x))
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_batchnormalization_in_training_uses_each_steps_statistics():
    """At inference both use the moving statistics (0 and 1 before training). In training,
    wrapped, the batch statistics are each step's (over the samples); alone, over the samples and
    steps together: NumPy's means and variances, with Keras' epsilon."""
    import keras

    x = np.random.default_rng(1).normal(size=(16, 5, 3)).astype("float32")
    x += np.arange(5, dtype="float32").reshape(1, 5, 1)  # each step its own level
    eps = keras.layers.BatchNormalization().epsilon
    wrapped = keras.layers.TimeDistributed(keras.layers.BatchNormalization())
    alone = keras.layers.BatchNormalization()
    per_step = (x - x.mean(0)) / np.sqrt(x.var(0) + eps)
    pooled = (x - x.mean((0, 1))) / np.sqrt(x.var((0, 1)) + eps)
    at_inference = x / np.sqrt(1 + eps)  # the moving statistics (0 and 1) before training
    np.testing.assert_allclose(wrapped(x, training=False), at_inference, atol=1e-5)
    np.testing.assert_allclose(alone(x, training=False), at_inference, atol=1e-5)
    np.testing.assert_allclose(wrapped(x, training=True), per_step, atol=1e-4)
    np.testing.assert_allclose(alone(x, training=True), pooled, atol=1e-4)


def fake_run(check: bool = True, **flags) -> lesson.Lesson:
    args = argparse.Namespace(
        prog="questions/td_or_dense.py",
        config_keys=[],
        backend="tensorflow",
        floatx="float32",
        verbose=0,
        json=None,
        plot=None,
        check=check,
        seed=1,
        **flags,
    )
    return lesson.Lesson(td_or_dense.__doc__, args)


@pytest.mark.parametrize(
    "claim, spoil",
    [
        ("weights", lambda heads, rows: heads[1].update(weights=5)),
        ("outputs agree", lambda heads, rows: heads[1].update({"max |difference|": 1e-3})),
        ("LayerNormalization", lambda heads, rows: rows[1].update({"max |difference|": 0.2})),
        ("in training differs", lambda heads, rows: rows[-1].update({"max |difference|": 0.0})),
        ("change shape", lambda heads, rows: rows[3].update({"max |difference|": 0.5})),
    ],
)
def test_each_claim_fails_when_its_figure_says_otherwise(quick, capsys, claim, spoil):
    heads, rows = (list(t) for t in quick[1]["tables"].values())
    heads, rows = [dict(h) for h in heads], [dict(r) for r in rows]
    assert td_or_dense.report(fake_run(length=7, units=3), heads, rows) == 0
    spoil(heads, rows)
    run = fake_run(length=7, units=3)
    assert td_or_dense.report(run, heads, rows) == 1
    failed = [c["claim"] for c in run.claims if not c["holds"]]
    assert any(claim in c for c in failed), failed
    assert "check failed" in capsys.readouterr().err


def test_a_length_past_the_shared_bound_is_refused_before_keras(capsys):
    code, out, err = run_main(td_or_dense, ["--length", "1500", "--units", "2"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "--length" in err
