"""questions/forecast.py: the windows, option B's first output reading one input, its framing's
best against other estimates, the weights against their formulas, the run's tables recomputed,
and each claim shown failing."""

import argparse

import numpy as np
import pytest

from checks import ended_well
from conftest import quick_run_fixture, run_main
from questions import forecast
from repro import lesson

quick = quick_run_fixture("forecast", "--epochs", "40", "--seeds", "2")


def test_the_quick_run_ends_well(quick):
    proc, result = quick
    ended_well("forecast", proc, result)
    assert (proc.folder / "forecast.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def table(result, start: str) -> list:
    return next(rows for title, rows in result["tables"].items() if title.startswith(start))


def test_persistence_and_the_ratios_recomputed_from_the_windows(quick):
    """Persistence, from the held-out windows drawn here: the third value against each of the
    next three; each model's ratio, its row's errors over persistence's."""
    _, result = quick
    _, held = forecast.windows((forecast.TRAIN, forecast.HELD_OUT), 6, 1, 1)
    rows = {r["model"]: r for r in table(result, "Held-out MSE at each output")}
    for t in range(3):
        expected = np.mean((held[:, 2, 0] - held[:, 3 + t, 0]) ** 2)
        assert rows["persistence"][f"output {t + 1}"] == pytest.approx(expected, rel=1e-5)
    total = sum(rows["persistence"][f"output {t}"] for t in (1, 2, 3))
    budget = table(result, "Held-out MSE / persistence's")[-1]
    for name in ("option B", "Bidirectional", "encoder-decoder"):
        ratio = sum(rows[name][f"output {t}"] for t in (1, 2, 3)) / total
        assert rows[name]["/ persistence"] == pytest.approx(ratio)
        assert budget[name] == pytest.approx(ratio)


def test_the_windows_are_sine_waves_scaled_on_the_training_set():
    train, held = forecast.windows((256, 1000), 6, 2, seed=3)
    assert train.shape == (256, 6, 2) and held.shape == (1000, 6, 2)
    assert train.min(axis=(0, 1)) == pytest.approx(0) and train.max(axis=(0, 1)) == pytest.approx(1)
    # feature 1 a quarter cycle behind feature 0: sin and -cos, so their squares add to 1
    raw = 2 * train - 1  # the training set spans -1 to 1 nearly
    np.testing.assert_allclose(raw[..., 0] ** 2 + raw[..., 1] ** 2, 1, atol=0.02)
    # the held-out set: its own draws, scaled by the training set's minimum and maximum only
    _, other = forecast.windows((64, 1000), 6, 2, seed=3)
    slope, intercept = np.polyfit(other[..., 0].ravel(), held[..., 0].ravel(), 1)
    np.testing.assert_allclose(held[..., 0], slope * other[..., 0] + intercept, atol=1e-5)
    assert not np.isin(held[:, 0, 0], train[:, 0, 0]).any()
    assert np.array_equal(forecast.windows((256,), 6, 2, seed=3)[0], train)


@pytest.mark.parametrize("name", forecast.MODELS)
def test_each_models_weights_are_its_formulas(name):
    """Keras' own weight shapes against closed forms: an LSTM(16) on one value has 4 gates x
    (1 + 16 + 1) x 16; TimeDistributed(Dense(1)) 16 + 1 (the Bidirectional's 32 + 1)."""
    lstm_1, lstm_16 = 4 * (1 + 16 + 1) * 16, 4 * (16 + 16 + 1) * 16
    formula = {
        "Bidirectional": 2 * lstm_1 + 33,
        "encoder-decoder": lstm_1 + lstm_16 + 17,
    }.get(name, lstm_1 + 17)
    model = forecast.build_model(name, 16, 0.01)
    assert sum(int(np.prod(w.shape)) for w in model.weights) == formula
    assert model.output_shape == (None, 3, 1)


def test_option_bs_first_output_has_read_the_first_input_alone():
    """Change inputs 2 and 3: option B's first output stays, as its second stays when input 3
    alone changes; the Bidirectional LSTM's and the encoder-decoder's first outputs move."""
    X = np.random.default_rng(0).random((8, 3, 1)).astype("float32")
    later = X.copy()
    later[:, 1:] += 0.5
    last = X.copy()
    last[:, 2:] += 0.5
    out = {n: forecast.build_model(n, 16, 0.01) for n in forecast.MODELS[2:]}
    b = out["option B"]
    np.testing.assert_allclose(b(later)[:, 0], b(X)[:, 0], atol=1e-6)
    np.testing.assert_allclose(b(last)[:, :2], b(X)[:, :2], atol=1e-6)
    for name in ("Bidirectional", "encoder-decoder"):
        assert np.abs(np.asarray(out[name](later)[:, 0] - out[name](X)[:, 0])).max() > 1e-4


def test_the_framings_best_is_zero_if_the_first_value_decides_and_the_variance_if_nothing_does():
    rng = np.random.default_rng(1)
    x = rng.random((20_000, 1, 1))
    decided = x ** np.arange(1, 7)[None, :, None]  # every step a function of the first
    np.testing.assert_allclose(forecast.framing_best(decided, decided[:500]), 0, atol=1e-4)
    noise = rng.random((20_000, 6, 1))  # independent steps: the mean is all one can say
    np.testing.assert_allclose(forecast.framing_best(noise, noise[:2000]), 1 / 12, rtol=0.1)


def test_the_framings_first_output_best_agrees_with_a_binned_conditional_mean():
    """Output 1 has read one value: the mean future of windows whose first value falls in the
    same one of 400 quantile bins, another estimate of the best, lands within 3%."""
    _, held, reference = forecast.windows((256, 1000, 200_000), 6, 1, seed=1)
    edges = np.quantile(reference[:, 0, 0], np.linspace(0, 1, 401)[1:-1])
    binned = np.digitize(reference[:, 0, 0], edges)
    means = np.bincount(binned, reference[:, 3, 0]) / np.bincount(binned)
    guess = means[np.digitize(held[:, 0, 0], edges)]
    best = np.mean((guess - held[:, 3, 0]) ** 2)
    assert forecast.framing_best(reference, held)[0] == pytest.approx(best, rel=0.03)
    assert best > 2 * np.mean((held[:, 2, 0] - held[:, 3, 0]) ** 2)  # behind persistence


## The claims, each shown failing for the reason it names (report() on made-up figures)

BUDGETS = [150, 300]
PERSISTENCE, BEST = np.array([0.05, 0.17, 0.3]), np.array([0.12, 0.004, 0.0])
ERRORS = {  # (budgets, outputs): the shape MEASURED.md gives
    "echo": np.array([[0.051], [0.05]]),
    "option A": np.array([[0.01], [0.002]]),
    "option B": np.array([[0.13, 0.06, 0.06], [0.12, 0.02, 0.006]]),
    "Bidirectional": np.array([[0.01, 0.02, 0.03], [0.0003, 0.003, 0.008]]),
    "encoder-decoder": np.array([[0.001, 0.001, 0.001], [0.0001, 0.0002, 0.0001]]),
}


def report(changes: dict) -> tuple:
    args = argparse.Namespace(seed=1, seeds=1, backend="jax", verbose=0, check=True, epochs=300)
    args.__dict__.update(prog="questions/forecast.py", config_keys=[], floatx="float32")
    args.__dict__.update(plot=None, json=None)
    run = lesson.Lesson(forecast.__doc__, args)
    weights = dict.fromkeys(forecast.MODELS, 1)
    status = forecast.report(run, BUDGETS, weights, PERSISTENCE, ERRORS | changes, BEST)
    return status, [c["claim"] for c in run.claims if not c["holds"]]


def test_figures_as_measured_pass_and_fill_the_answer(capsys):
    assert report({}) == (0, [])
    answer = capsys.readouterr().out.strip().splitlines()[-1]
    assert "has read one value: 0.12 error, persistence's 0.05, the best possible 0.12" in answer
    assert "above 0.24 x persistence (0.28 at 300 epochs); Bidirectional 0.02" in answer
    assert len(answer.split()) - 1 <= 60


@pytest.mark.parametrize(
    "name, errors, claim",
    [
        ("echo", [[0.05], [0.03]], "the echo gives the last"),
        ("option A", [[0.05], [0.04]], "option A beats persistence"),
        ("option B", [[0.04, 0.06, 0.06], [0.12, 0.02, 0.003]], "never beats persistence"),
        ("option B", [[0.13, 0.06, 0.06], [0.1, 0.001, 0.0]], "stays above its framing's best"),
        ("Bidirectional", [[0.1, 0.1, 0.1], [0.1, 0.03, 0.03]], "beat option B's best"),
    ],
)
def test_each_claim_fails_when_its_figures_contradict_it(name, errors, claim, capsys):
    status, failed = report({name: np.array(errors)})
    assert status == 1 and len(failed) == 1 and claim in failed[0], failed


@pytest.mark.parametrize("argv", [["--units", "300"], ["--seeds", "0"], ["--window", "6"]])
def test_bad_input_is_refused_in_one_line(argv, capsys):
    code, out, err = run_main(forecast, argv, capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and argv[0] in err
