"""questions/outputs_length.py: the weights and output shapes against closed forms, the forecast
fed back against a step-by-step loop, the run's tables recomputed, Keras' shape error, and each
claim shown failing."""

import argparse

import numpy as np
import pytest

from checks import ended_well
from conftest import quick_run_fixture, run_main
from questions import outputs_length as ol
from questions.forecast import windows
from repro import lesson

quick = quick_run_fixture("outputs_length", "--epochs", "20", "--seeds", "2")


def test_the_quick_run_ends_well(quick):
    proc, result = quick
    ended_well("outputs_length", proc, result)
    assert (proc.folder / "outputs_length.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def table(result, start: str) -> list:
    return next(rows for title, rows in result["tables"].items() if title.startswith(start))


def test_the_outputs_and_weights_are_the_closed_forms(quick):
    """An LSTM(16) on 2 values: 4 gates x (2 + 16 + 1) x 16; the decoder's on 16: 4 x (16 + 16 +
    1) x 16; Dense(n) on 16: 17 n. The shapes: predict's, at the run's end."""
    _, result = quick
    lstm_2, lstm_16 = 4 * (2 + 16 + 1) * 16, 4 * (16 + 16 + 1) * 16
    rows = {r["model"]: (r["output"], r["weights"]) for r in table(result, "Each model's")}
    assert rows == {
        "vector": ("('samples', 20)", lstm_2 + 17 * 20),
        "encoder-decoder": ("('samples', 10, 2)", lstm_2 + lstm_16 + 17 * 2),
        "fed back": ("('samples', 10, 2)", lstm_2 + 17 * 2),
    }


def test_persistence_and_the_ratios_recomputed_from_the_windows(quick):
    _, result = quick
    _, held = windows((ol.TRAIN, ol.HELD_OUT), 110, 2, result["config"]["seed"])
    steps = table(result, "Held-out MSE at each step ahead")
    expected = np.mean((held[:, 99:100] - held[:, 100:]) ** 2, axis=(0, 2))
    np.testing.assert_allclose([r["persistence"] for r in steps], expected, rtol=1e-5)
    last = table(result, "Held-out MSE over 10 steps")[-1]
    for name in ol.MODELS:
        ratio = np.mean([r[name] for r in steps]) / expected.mean()
        assert last[name] == pytest.approx(ratio, rel=1e-5)


def test_a_step_axis_output_fit_to_flat_targets_is_refused_before_training(quick):
    _, result = quick
    (row,) = table(result, "Fit to flat")
    assert row["weights kept"] is True
    if result["backend"] in ("tensorflow", "jax"):  # PyTorch's is a RuntimeError
        assert row["Keras"].startswith("ValueError: ")
    if result["backend"] == "tensorflow":  # TensorFlow's words, without its graph node's name
        assert row["Keras"].endswith("with input shapes: [256,20], [256,10,2].")


def test_fed_back_forecasts_each_step_from_the_window_and_its_own_forecasts_before_it():
    """Forecast k of predict() is what the one-step model (training=True, from a zero state)
    says having read the window followed by forecasts 1 to k-1."""
    import keras

    model = ol.build_model("fed back", 4, 0.01)
    window = np.random.default_rng(0).random((3, 100, 2)).astype("float32")
    rolled = model.predict(window, verbose=0)
    assert rolled.shape == (3, 10, 2)
    for k in range(10):
        read = np.concatenate([window, rolled[:, :k]], axis=1)
        step = keras.ops.convert_to_numpy(model(read, training=True))
        np.testing.assert_allclose(step, rolled[:, k], atol=1e-5)


## The claims, each shown failing for the reason it names (report() on made-up figures)

BUDGETS = [50, 100, 150]
PERSISTENCE = np.linspace(0.05, 0.4, 10)
GROWING = np.linspace(0.002, 0.1, 10)  # fed back: each step's error on the last one's


def report(changes: dict, said="ValueError: shapes", unchanged=True) -> tuple:
    args = argparse.Namespace(seed=1, seeds=1, backend="jax", verbose=0, check=True, epochs=150)
    args.__dict__.update(prog="questions/outputs_length.py", config_keys=[], floatx="float32")
    args.__dict__.update(plot=None, json=None)
    run = lesson.Lesson(ol.__doc__, args)
    errors = {  # (budgets, 10 steps)
        "vector": np.outer([0.4, 0.2, 0.1], PERSISTENCE),
        "encoder-decoder": np.outer([0.4, 0.1, 0.03], PERSISTENCE),
        "fed back": np.stack([GROWING * 2, GROWING * 1.5, GROWING]),
    } | changes
    outputs = dict.fromkeys(ol.MODELS, (("samples", 10, 2), 1))
    status = ol.report(run, BUDGETS, outputs, PERSISTENCE, errors, said, unchanged)
    return status, [c["claim"] for c in run.claims if not c["holds"]]


def test_consistent_figures_pass_and_fill_the_answer(capsys):
    assert report({}) == (0, [])
    answer = capsys.readouterr().out.strip().splitlines()[-1]
    assert (
        "First under 0.05 x: encoder-decoder (150 epochs); vector and fed back not by 150" in answer
    )
    assert "errors compound (0.0020 at step 1, 0.10 at step 10)" in answer
    assert len(answer.split()) - 1 <= 60


@pytest.mark.parametrize(
    "changes, said, unchanged, claim",
    [
        ({"vector": np.outer([1, 1, 1.1], PERSISTENCE)}, "ValueError", True, "beats persistence"),
        ({"encoder-decoder": np.outer([1, 1, 0.2], PERSISTENCE)}, "ValueError", True, "gets under"),
        ({"fed back": np.full((3, 10), 0.01)}, "ValueError", True, "the errors compound"),
        ({}, "no error", True, "fit refuses flat targets"),
        ({}, "ValueError", False, "fit refuses flat targets"),
    ],
)
def test_each_claim_fails_when_its_figures_contradict_it(changes, said, unchanged, claim):
    status, failed = report(changes, said, unchanged)
    assert status == 1 and len(failed) == 1 and claim in failed[0], failed


@pytest.mark.parametrize("argv", [["--units", "0"], ["--lr", "0"], ["--features", "3"]])
def test_bad_input_is_refused_in_one_line(argv, capsys):
    code, out, err = run_main(ol, argv, capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and argv[0] in err
