"""The fast training loop does the same updates as plain model.fit."""

import argparse

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


# The article's full-batch configurations are compared on every backend in test_backends.py;
# here, batches smaller than the set, where each epoch makes several updates.
@pytest.mark.parametrize("script, batch_size", [("one_to_one", 2), ("one_to_one", 4)])
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
