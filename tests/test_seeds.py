"""Seeds trained together on JAX (repro/seeds.py) train as they would alone; the study chooses
that way only where it applies; the many-seed plot shows the errors' distribution."""

import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import common
from conftest import ROOT
from repro import plots, seeds, study, training
from repro.backend import seed_everything


@pytest.fixture(scope="module")
def together():
    pytest.importorskip("jax")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "seeds_worker.py")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, KERAS_BACKEND="jax"),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


@pytest.mark.slow  # JAX studies in a process of its own
@pytest.mark.parametrize("script", ["one_to_one", "many_to_many"])
def test_sampled_seeds_trained_together_equal_their_own_runs(together, script):
    found = together[0]["studies"][script]
    assert found["study"]["trained"] == "together (jax.vmap)"
    by_seed = {r["seed"]: r for r in found["study"]["seeds"]}
    assert len(found["alone"]) == 3
    for seed, alone in found["alone"].items():
        mine = by_seed[int(seed)]
        assert len(mine["history"]) == len(alone["history"]) == 200
        np.testing.assert_allclose(mine["history"], alone["history"], rtol=1e-5, atol=0)
        np.testing.assert_allclose(mine["predictions"], alone["predictions"], rtol=1e-5, atol=0)


@pytest.mark.slow  # JAX studies in a process of its own
def test_seeds_go_in_chunks_that_report_progress(together):
    """The worker asks for chunks of 3: the study's 9 seeds make 3 + 3 + 3, one chunk after the
    other, each a progress line per compiled call (one: 200 epochs, its only budget) naming its
    seeds, and no other progress lines: no other chunk, none twice."""
    expected = []
    for script in ("one_to_one", "many_to_many"):  # the worker's two studies, in its order
        seeds_ = [r["seed"] for r in together[0]["studies"][script]["study"]["seeds"]]
        first = seeds_[0]
        assert seeds_ == list(range(first, first + 9))
        for a, b in [(first, first + 2), (first + 3, first + 5), (first + 6, first + 8)]:
            expected += [f"seeds {a}-{b}: epoch 200/200"]
    assert re.findall(r"^seeds .*/200$", together[1], re.M) == expected


@pytest.mark.slow  # JAX studies in a process of its own
def test_replayed_initial_weights_equal_built_ones(together):
    replay = together[0]["replay"]
    assert replay["article"] == {"replayed": True, "same": [True] * 4}


@pytest.mark.slow  # JAX studies in a process of its own
def test_a_build_the_replay_cannot_follow_is_built_seed_by_seed(together):
    replay = together[0]["replay"]
    assert replay["unlike"] == {"replayed": False, "same": [True] * 4}


def _args(**kw):
    base = dict(script="many_to_many", backend="jax", fit="fast", length=5, batch_size=1)
    return argparse.Namespace(**{**base, **kw})


@pytest.mark.parametrize(
    "kw, expected",
    [
        ({}, True),
        ({"backend": "tensorflow"}, False),
        ({"backend": "torch"}, False),
        ({"fit": "naive"}, False),  # the article's fit, as asked
        ({"script": "one_to_one", "length": 16}, True),  # 16 batches: one scan per epoch
        ({"script": "one_to_one", "length": 17}, False),  # 17: steps batch by batch
        ({"script": "one_to_one", "length": 17, "batch_size": 2}, True),
    ],
)
def test_seeds_train_together_only_where_one_scan_per_epoch_runs_on_jax(kw, expected):
    assert study.trains_together(_args(**kw)) is expected


def test_chunks_fit_the_memory_budget():
    assert seeds.seeds_per_chunk(1000, 1000) == 1000  # all at once
    assert seeds.seeds_per_chunk(1000, 1 << 22, budget=1 << 30) == 256
    assert seeds.seeds_per_chunk(10, 1 << 31, budget=1 << 30) == 1  # never none


def test_many_seeds_plot_a_histogram_of_their_errors():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    errors = [0.01] * 7 + [0.049] * 3 + [0.051] * 10 + [0.2] * 5 + [float("nan")]
    fig, ax = plt.subplots()
    plots._histogram(ax, errors, 0.05)
    assert sum(p.get_height() for p in ax.patches) == 25  # every finite error, once
    assert [line.get_xdata()[0] for line in ax.get_lines()] == [0.05]
    assert ax.get_title() == "Largest error per seed: 10 of 26 seeds reproduce"
    assert "1 diverged" in ax.get_xlabel()
    plt.close(fig)


@pytest.mark.parametrize(
    "k, n, text",
    [
        (1, 1000, "0.0-0.6%"),  # not 0.0-1%
        (999, 1000, "99.4-100.0%"),  # not 99-100.0%
        (1000, 1000, "99.6-100.0%"),
        (0, 1000, "0.0-0.4%"),
        (939, 1000, "92-95%"),
        (3, 3, "29-100%"),  # 100 itself needs no decimal
        (0, 3, "0-71%"),
    ],
)
def test_both_bounds_of_an_interval_print_alike(k, n, text):
    """k of n seeds reproduced: the study's interval, both bounds with one decimal when either
    needs it (as the study computes the interval: exact, from SciPy)."""
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert study.interval(ci.low, ci.high) == text


@pytest.mark.slow  # JAX studies in a process of its own
def test_seeds_trained_together_stop_their_history_at_the_first_nan(together):
    for seed in together[0]["diverging"]:
        history = seed["history"]
        assert 1 <= len(history) < 30, seed["seed"]
        assert not np.isfinite(history[-1]) and np.isfinite(history[:-1]).all()
        assert np.isnan(seed["predictions"]).all()


@pytest.mark.slow  # builds a model of 260 layers twice
def test_the_replay_follows_a_model_with_more_initializers_than_draws():
    """260 Dense layers take 260 seeded initializers, more than DRAWS: the replay still finds
    each one's draw, rather than falling back to building every seed's model."""
    import keras

    from repro import seeds as many

    def build():
        layers = [keras.layers.Dense(1) for _ in range(many.DRAWS + 4)]
        return keras.Sequential([keras.Input(shape=(1,)), *layers])

    assert many.InitialWeights(build, 10, 20).replayed


def test_a_run_read_at_budgets_is_each_budgets_run_of_its_own():
    """at_budgets trains each seed once and reads it at every budget: what it predicts at 20
    epochs is what a model trained 20 epochs alone predicts, and so at 35 (TensorFlow here)."""
    import many_to_one

    X, y = common.make_data("many_to_one", 5)
    _, read = study.at_budgets(many_to_one.build_model, X, y, [3, 4], [20, 35], batch_size=1)
    assert read.shape == (2, 2, 1, 5)
    for i, seed in enumerate([3, 4]):
        for j, epochs in enumerate([20, 35]):
            seed_everything(seed)
            model = many_to_one.build_model()
            training.train(model, X, y, epochs, 1)
            alone = model.predict(X, verbose=0)
            np.testing.assert_allclose(read[i, j], alone, rtol=0, atol=1e-6)


def test_budgets_are_multiples_of_the_articles_epochs_up_to_the_longest():
    from repro.lesson import budgets

    assert budgets(3000, 1000) == [500, 1000, 1500, 2000, 3000]
    assert budgets(1000, 1000) == [500, 1000]
    assert budgets(1200, 500) == [250, 500, 750, 1000, 1200]
    assert budgets(100, 1000) == [100]
    assert seeds.epoch_step([500, 1000, 1500, 2000, 3000]) == 125  # one compiled size
    assert seeds.epoch_step([30]) == 30
