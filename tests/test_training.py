"""The fast training loop does the same updates as plain model.fit."""

import argparse
import gc
import types
import weakref

import pytest

import common
from repro import training
from repro.backend import seed_everything


def _model(script, seed):
    import importlib

    args = argparse.Namespace(length=5, units=5, lr=0.001, head="timedistributed")
    seed_everything(seed)
    return importlib.import_module(common.SCRIPT_MODULES[script]).build_model(args)


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


@pytest.mark.parametrize("jit_compile", [True, False])
def test_fast_loop_compiles_with_xla_exactly_when_fit_would(jit_compile):
    """fit compiles its step with XLA when model.jit_compile is true, as Keras makes it on a GPU
    without op determinism; no such machine is here, so a stand-in model says so."""
    X, y = common.make_data("many_to_one", 5)
    model = types.SimpleNamespace(jit_compile=jit_compile)  # the loop is built, not run
    loop = training._tensorflow_loop(model, X, y, 1)
    assert loop._jit_compile is jit_compile


@pytest.mark.parametrize("fit", ["fast", "naive"])
def test_run_fit_returns_what_model_fit_returns(fit):
    """run.fit(model, X, y, epochs=, batch_size=, verbose=) stands for model.fit: a History with
    the same epochs, params and per-epoch losses as model.fit's own from the same weights."""
    import numpy as np

    from repro import cli
    from repro.run import Run

    args = cli.parse_args("many_to_one", ["--epochs", "7", "--fit", fit])
    X, y = common.make_data("many_to_one", 5)
    ours = _model("many_to_one", 4)
    history = Run(args, X, y).fit(ours, X, y, epochs=7, batch_size=1, verbose=0)
    theirs = _model("many_to_one", 4).fit(X, y, epochs=7, batch_size=1, verbose=0, shuffle=False)
    assert type(history) is type(theirs)
    assert history.epoch == theirs.epoch == list(range(7))
    assert history.params == theirs.params
    assert history.model is ours
    np.testing.assert_allclose(history.history["loss"], theirs.history["loss"], rtol=1e-5)
