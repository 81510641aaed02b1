"""The fast training loop does the same updates as plain model.fit."""

import argparse
import gc
import weakref

import numpy as np
import pytest

import common
from repro import training
from repro.backend import seed_everything


def _model(script, seed):
    import importlib

    args = argparse.Namespace(length=5, units=5, lr=0.001, head="timedistributed")
    seed_everything(seed)
    return importlib.import_module(common.SCRIPT_MODULES[script]).build_model(args)


# The fast loop is compared with fit on every backend in test_backends.py; here, in this process
# (TensorFlow), batches of 4 of 5 samples: a full batch and a last one of 1.
@pytest.mark.parametrize("script, batch_size", [("one_to_one", 4)])
def test_fast_loop_matches_fit(script, batch_size):
    X, y = common.make_data(script, 5)
    naive = training.train(_model(script, 3), X, y, 40, batch_size, fit="naive")
    fast_model = _model(script, 3)
    fast = training.train(fast_model, X, y, 40, batch_size, fit="fast")
    assert len(fast) == len(naive) == 40
    np.testing.assert_allclose(fast, naive, rtol=1e-5, atol=0)
    assert fast[-1] < fast[0]  # it learned something


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
    """fit compiles with XLA when model.jit_compile is true, as Keras makes it on a GPU without
    op determinism; this machine has neither, so the attribute is set as such a machine would."""
    X, y = common.make_data("many_to_one", 5)
    model = _model("many_to_one", 1)
    model.jit_compile = jit_compile
    loop = training._tensorflow_loop(model, X, y, 1)  # built, not run
    assert loop._jit_compile is jit_compile
