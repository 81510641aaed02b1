"""The fast training loop does the same updates as plain model.fit."""

import gc
import weakref

import numpy as np
import pytest

import common
from conftest import article_model
from repro import training
from repro.backend import seed_everything


def _model(script, seed):
    seed_everything(seed)
    return article_model(script)


# The fast loop is compared with plain fit on every backend in test_backends.py.


def test_diverging_loss_raises():
    X, y = common.make_data("many_to_one", 5)
    model = _model("many_to_one", 1)
    model.optimizer.learning_rate.assign(1e38)  # steps so large the loss overflows
    with pytest.raises(training.TrainingDiverged, match="epoch"):
        training.train(model, X, y, 50, 1, fit="fast")


def test_a_trained_model_is_freed_with_its_loops():
    """The compiled loops refer to their model; they must not keep it alive once it is unused."""
    X, y = common.make_data("many_to_one", 5)
    model = _model("many_to_one", 1)
    training.train(model, X, y, 3, 1, fit="fast")
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None


XLA_RUN = """
import argparse, json
import keras, numpy as np
import common, many_to_one, one_to_one
from repro import training
out = {}
for module, name, batch in ((one_to_one, "one_to_one", 2), (many_to_one, "many_to_one", 1)):
    X, y = common.make_data(name, 5)
    histories = {}
    for fit in ("fast", "naive"):
        keras.utils.set_random_seed(1)
        model = module.build_model(*((5,) if name == "many_to_one" else ()), 5, 0.01)
        model.compile(loss="mse", optimizer=keras.optimizers.Adam(0.01), jit_compile=True)
        histories[fit] = training.train(model, X, y, 12, batch, fit)
    out[name] = {"jit_compile": model.jit_compile, **histories}
print(json.dumps(out))
"""


@pytest.mark.slow  # a TensorFlow process of its own, compiling with XLA
def test_fast_loop_under_xla_trains_as_fit_does():
    """fit compiles its step with XLA when model.jit_compile is true (as Keras sets it on a GPU
    without op determinism). In a fresh process, without op determinism, both loops train the
    same: one-to-one with a last batch of another size (2, 2, 1), many-to-one batch by batch."""
    import json
    import subprocess
    import sys

    from conftest import ROOT, user_env

    env = dict(user_env(), KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, "-c", XLA_RUN], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for name, run in json.loads(done.stdout.strip().splitlines()[-1]).items():
        assert run["jit_compile"] is True, name
        assert len(run["fast"]) == len(run["naive"]) == 12, name
        np.testing.assert_allclose(run["fast"], run["naive"], rtol=1e-5, err_msg=name)


@pytest.fixture(scope="module")
def model_fit():
    """model.fit's own History: many_to_one's model, seed 4, 7 epochs of batches of 1."""
    X, y = common.make_data("many_to_one", 5)
    return _model("many_to_one", 4).fit(X, y, epochs=7, batch_size=1, verbose=0, shuffle=False)


@pytest.mark.parametrize("fit", ["fast", "naive"])
def test_run_fit_returns_what_model_fit_returns(fit, model_fit):
    """run.fit(model, X, y, epochs=, batch_size=, verbose=) stands for model.fit: a History with
    the same epochs, params and per-epoch losses as model.fit's own from the same weights."""
    import numpy as np

    from repro import cli
    from repro.run import Run

    args = cli.parse_args("many_to_one", ["--epochs", "7", "--fit", fit])
    X, y = common.make_data("many_to_one", 5)
    ours = _model("many_to_one", 4)
    history, theirs = Run(args, X, y).fit(ours, X, y, epochs=7, batch_size=1, verbose=0), model_fit
    assert type(history) is type(theirs)
    assert history.epoch == theirs.epoch == list(range(7))
    assert history.params == theirs.params
    assert history.model is ours
    np.testing.assert_allclose(history.history["loss"], theirs.history["loss"], rtol=1e-5)


def test_naive_fit_at_verbose_2_prints_the_fast_loops_lines_without_timings(capsys):
    """Keras' own verbose-2 lines carry timings (`1/1 - 0s - 44ms/step - loss: ...`), so two
    runs of one seed printed different bytes; both loops print `1/1 - loss: ...` instead."""
    X, y = common.make_data("many_to_one", 5)
    printed = {}
    for fit in ("fast", "naive"):
        losses = training.train(_model("many_to_one", 1), X, y, 3, 5, fit=fit, verbose=2)
        printed[fit] = capsys.readouterr().out
        lines = [f"Epoch {e + 1}/3\n1/1 - loss: {loss:.4f}\n" for e, loss in enumerate(losses)]
        assert printed[fit] == "".join(lines)
    assert printed["naive"] == printed["fast"]
