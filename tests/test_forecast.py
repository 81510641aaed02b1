"""questions/forecast.py: the framings' shapes and sizes against their formulas, persistence and
the recursive forecast against hand computations, the run's table and JSON, and bad input."""

import argparse

import numpy as np
import pytest

import checks
from conftest import quick_run_fixture, rendered, said_out_of_turn
from questions import forecast

quick = quick_run_fixture("forecast")

SMALL = argparse.Namespace(window=4, horizon=2, features=2, units=3, lr=0.01, seed=5)


@pytest.mark.parametrize("name", forecast.TRAINED)
def test_each_framing_has_its_formulas_weights_and_its_targets_shape(name):
    model = forecast.build_model(name, SMALL)
    w = forecast.windows(7, SMALL.window + SMALL.horizon, SMALL.features, np.random.default_rng(0))
    X, y = forecast.framed(name, w, SMALL.window, SMALL.horizon)
    steps = SMALL.horizon if name == "option_b" else SMALL.window  # option B: the last H steps
    assert X.shape == (7, steps, SMALL.features)
    assert model(X).shape == y.shape  # the targets fit the head they train
    weights = sum(int(np.prod(v.shape)) for v in model.weights)  # Keras' own weight shapes
    formula = forecast.formula_params(name, SMALL.features, SMALL.horizon, SMALL.units)
    assert weights == model.count_params() == formula


def test_the_formulas_at_the_defaults():
    lstm = 4 * (1 * 16 + 16 * 16 + 16)  # gates x (kernel + recurrent kernel + bias)
    assert forecast.formula_params("many_to_one", 1, 3, 16) == lstm + 16 + 1
    assert forecast.formula_params("vector", 1, 3, 16) == lstm + 3 * (16 + 1)
    assert forecast.formula_params("encoder_decoder", 1, 3, 16) == (
        lstm + 4 * (16 * 16 + 16 * 16 + 16) + 16 + 1
    )
    assert forecast.formula_params("option_b", 1, 3, 16) == lstm + 16 + 1  # a Dense(1) a step


def test_the_framings_targets_come_from_the_right_steps():
    w = np.arange(6, dtype="float32").reshape(1, 6, 1)  # 0 1 2 3 | 4 5
    targets = {
        name: forecast.framed(name, w, 4, 2)[1].ravel().tolist() for name in forecast.TRAINED
    }
    assert targets == {
        "echo": [0, 1, 2, 3],
        "many_to_one": [4],
        "shifted": [1, 2, 3, 4],
        "vector": [4, 5],
        "encoder_decoder": [4, 5],
        "option_b": [4, 5],
    }


def test_option_b_maps_the_last_horizon_steps_to_the_horizon_after_them():
    w = np.arange(7, dtype="float32").reshape(1, 7, 1)  # 0 1 2 [3 4] | 5 6
    X, y = forecast.framed("option_b", w, 5, 2)  # window 0-4, its last 2 steps in; 5 6 out
    assert X.ravel().tolist() == [3, 4] and y.ravel().tolist() == [5, 6]
    assert (y - X).ravel().tolist() == [2, 2]  # output t is the value 2 (the horizon) after input t


def test_persistence_against_a_hand_computation():
    held = np.array([[0, 1, 2, 3, 4], [5, 5, 5, 6, 8]], "float32")[..., None]
    pred = forecast.forecasts("persistence", {}, held[:, :3], 2)
    assert pred[..., 0].tolist() == [[2, 2], [5, 5]]
    errors = forecast.score(pred, held[:, 3:])
    # position 1: (3-2)^2 and (6-5)^2; position 2: (4-2)^2 and (8-5)^2
    assert errors["mse_per_position"] == [1.0, 6.5]
    assert errors["mse"] == pytest.approx((1 + 1 + 4 + 9) / 4)


class AddTenth:
    """A stand-in many-to-one model: the next value is the last one plus 0.1."""

    def __call__(self, X, training=False):
        return X[:, -1] + 0.1


def test_recursive_feeds_its_own_predictions_back():
    X = np.array([[[0.0], [0.5], [1.0]]], "float32")
    pred = forecast.forecasts("recursive", {"many_to_one": AddTenth()}, X, 3)
    assert pred[0, :, 0] == pytest.approx([1.1, 1.2, 1.3])


def test_one_step_framings_are_judged_against_persistences_first_step():
    held = np.array([[0, 1, 2, 3, 4], [5, 5, 5, 6, 8]], "float32")[..., None]
    models = {name: AddTenth() for name in ("many_to_one",)}
    copy = lambda X, training=False: X  # noqa: E731  an echo: gives back its input
    models |= {"echo": copy, "shifted": copy}
    models |= {"vector": lambda X, training=False: np.repeat(X[:, -1:], 2, axis=1)[..., 0]}
    models |= {"encoder_decoder": lambda X, training=False: np.repeat(X[:, -1:], 2, axis=1)}
    models |= {"option_b": copy}  # its inputs again: steps 2-3 given as the forecast of 4-5
    scores = forecast.evaluate(models, held, 3, 2)
    # option B sees 1 2 and 5 5 for 3 4 and 6 8: (3-1)^2, (6-5)^2; (4-2)^2, (8-5)^2
    assert scores["option_b"]["mse_per_position"] == [2.5, 6.5]
    assert scores["echo"]["mse_vs_persistence"] == 1.0  # the last input again
    assert scores["vector"]["mse_vs_persistence"] == 1.0  # persistence, shaped as a vector
    assert scores["echo"]["mse"] == scores["persistence"]["mse_per_position"][0]


def test_the_data_are_scaled_on_the_training_windows_and_drawn_apart():
    args = argparse.Namespace(window=6, horizon=3, features=2, seed=4)
    train, held = forecast.make_data(args)
    assert train.shape == (forecast.TRAIN, 9, 2) and held.shape == (forecast.HELD_OUT, 9, 2)
    assert train.min(axis=(0, 1)) == pytest.approx(0) and train.max(axis=(0, 1)) == pytest.approx(1)
    assert not np.isin(held[:, 0, 0], train[:, 0, 0]).any()  # no window in both
    again, _ = forecast.make_data(args)
    assert np.array_equal(train, again)


def test_the_quick_run_ends_well_and_draws_its_picture(quick):
    proc, result = quick
    checks.ended_well("forecast", proc, result)
    png = proc.folder / "forecast.png"
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert result["config"]["window"] == 3 and result["config"]["horizon"] == 2
    assert result["seconds"]["fit"] > 0


def test_the_quick_run_records_every_framing(quick):
    proc, result = quick
    assert proc.returncode == (0 if result["check_passed"] else 1), proc.stderr
    rows = {r["name"]: r for r in result["results"]["framings"]}
    assert list(rows) == list(forecast.NAMES)
    for name, r in rows.items():
        assert r["params"] == r["formula_params"], name
        assert r["mse_vs_persistence"] == pytest.approx(
            r["mse"]
            / (
                rows["persistence"]["mse_per_position"][0]
                if name in forecast.ONE_STEP
                else rows["persistence"]["mse"]
            )
        )
        assert ("mse_per_position" in r) == (name not in forecast.ONE_STEP)
        assert r["x_shape"] == ["samples", 2 if name == "option_b" else 3, 1]
    assert len(rows["encoder_decoder"]["mse_per_position"]) == 2
    assert len(rows["option_b"]["mse_per_position"]) == 2
    assert rows["option_b"]["y_shape"] == ["samples", 2, 1]
    assert rows["option_b"]["params"] == forecast.formula_params("option_b", 1, 2, 16)
    assert rows["vector"]["y_shape"] == ["samples", 2]
    for name in forecast.NAMES:  # a row of the printed table for each
        assert any(line.split()[:1] == [name] for line in proc.stdout.splitlines())
    assert result["answer"] in proc.stdout


def test_the_plotted_windows_are_held_out_windows_and_their_forecasts(quick):
    """What the picture draws: the first held-out windows, split as the framings see them, and
    persistence's forecast the last value seen (an oracle independent of the models)."""
    _, result = quick
    examples, config = result["results"]["examples"], result["config"]
    _, held = forecast.make_data(argparse.Namespace(**config))
    L = config["window"]
    assert examples["input"] == held[: forecast.PLOTTED, :L, 0].tolist()  # JSON keeps floats
    assert examples["future"] == held[: forecast.PLOTTED, L:, 0].tolist()
    persistence = examples["forecasts"]["persistence"]
    for window, persisted in zip(examples["input"], persistence, strict=True):
        assert persisted == [window[-1]] * config["horizon"]
    for name in forecast.NAMES:
        steps = 1 if name in forecast.ONE_STEP else config["horizon"]
        assert [len(f) for f in examples["forecasts"][name]] == [steps] * forecast.PLOTTED


@pytest.fixture(scope="module")
def default_forecast(tmp_path_factory):
    """The README's run, rendered once a session (conftest.rendered; its page, docs/runs/)."""
    return rendered("forecast", tmp_path_factory)[:2]


@pytest.mark.slow
def test_the_default_run_answers_the_readers(default_forecast):
    """The echo model's next value is its input again; every framing trained to forecast beats
    persistence by far (--check says so with its exit status)."""
    proc, result = default_forecast
    assert proc.returncode == 0, proc.stderr
    assert said_out_of_turn(proc.stderr) == []  # in a process of its own: TensorFlow's too
    results = result["results"]
    ratio = {r["name"]: r["mse_vs_persistence"] for r in results["framings"]}
    assert 0.9 < ratio["echo"] < 1.1
    assert results["echo_vs_last_input_mean_abs"] < 0.05
    assert all(ratio[n] < 0.3 for n in forecast.NAMES[2:] if n != "option_b"), ratio
    per = {r["name"]: r.get("mse_per_position") for r in results["framings"]}
    # option B's first output has seen one input step and looks the horizon (3) ahead from it
    assert per["option_b"][0] > per["persistence"][0]
    assert all(b > 5 * e for b, e in zip(per["option_b"], per["encoder_decoder"], strict=True))
    assert ratio["option_b"] < 1  # over the three steps, still ahead of persistence
    assert result["check_passed"] is True
    assert "Dimensions must be equal" in results["keras_error"][0]  # TensorFlow's words
    assert "no error" in results["keras_error"][1]


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--window", "1"], "argument --window: must be a whole number from 2"),
        (["--horizon", "0"], "argument --horizon: must be a whole number from 1"),
        (["--features", "0"], "argument --features: must be a whole number from 1"),
        (
            ["--units", "5000", "--features", "5000"],
            "--units: 9 steps of 5000 values with 5000 units need",
        ),
        (["--window", "200", "--units", "5000"], "GiB cap"),
        (["--horizon", "201"], "argument --horizon: must be a whole number from 1 to 200"),
        (["--window", "3", "--horizon", "4"], "--horizon (4) must be at most --window (3)"),
        (["--plot", "p.txt"], "argument --plot: 'p.txt' must end with .png"),
        (["--length", "5"], "unrecognized arguments: --length"),
    ],
)
def test_bad_input_is_one_line_before_keras(argv, says, capsys, monkeypatch):
    import sys

    monkeypatch.delitem(sys.modules, "keras", raising=False)  # as in a fresh process
    with pytest.raises(SystemExit) as e:
        forecast.main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert err.startswith("questions/forecast.py: error: ") and err.count("\n") == 1
    assert says in err
    assert "keras" not in sys.modules
