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

from conftest import ROOT
from repro import plots, seeds, study


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


def test_seeds_go_in_chunks_that_report_progress(together):
    """The worker asks for chunks of 3: 8 seeds after the first make 3 + 3 + 2, each chunk a
    progress line as its epochs go by, naming its seeds (not the one the last is padded with)."""
    stderr = together[1]
    for script in ("one_to_one", "many_to_many"):
        seeds_ = [r["seed"] for r in together[0]["studies"][script]["study"]["seeds"]]
        first = seeds_[0]
        assert seeds_ == list(range(first, first + 9))
        chunks = [(first + 1, first + 3), (first + 4, first + 6), (first + 7, first + 8)]
        finished = re.findall(r"^seeds (\d+)-(\d+): epoch 200/200$", stderr, re.M)
        assert all((str(a), str(b)) in finished for a, b in chunks)


def test_replayed_initial_weights_equal_built_ones(together):
    replay = together[0]["replay"]
    assert replay["article"] == {"replayed": True, "same": [True] * 4}


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


@pytest.mark.slow  # a TensorFlow study in two processes
def test_a_study_split_over_two_processes_equals_one_by_one(tmp_path, capsys, monkeypatch):
    """TensorFlow: with a second core and seeds enough, some seeds train in repro.helper. They
    must come back exactly as this process would have trained them (a reader's own values too,
    which the helper gets scaled)."""
    import many_to_one
    from conftest import run_main

    argv = ["--values", "3 1 4 1 5", "--seeds", "6", "--epochs", "100", "--verbose", "0"]
    monkeypatch.setattr(study, "usable_cores", lambda: 1)
    assert run_main(many_to_one, [*argv, "--json", str(tmp_path / "one.json")], capsys)[0] == 0
    monkeypatch.setattr(study, "usable_cores", lambda: 2)
    monkeypatch.setattr(study, "HELPER_START_S", 0.0)  # split even so short a study
    code, _, err = run_main(many_to_one, [*argv, "--json", str(tmp_path / "two.json")], capsys)
    assert code == 0
    one, two = (json.loads((tmp_path / f"{n}.json").read_text())["study"] for n in ("one", "two"))
    assert (one["trained"], two["trained"]) == ("one by one", "one by one, 2 processes")
    assert "seeds 4-6 train in a second process" in err  # ahead 0 s: half and half
    assert two["seeds"] == one["seeds"]


@pytest.mark.parametrize(
    "backend, others, seconds, cores, expected",
    [
        ("tensorflow", 39, 2.5, 2, True),
        ("torch", 39, 2.5, 2, True),
        ("tensorflow", 39, 2.5, 1, False),  # no second core
        ("tensorflow", 5, 2.5, 2, False),  # over before a helper could start
        ("jax", 39, 2.5, 2, False),  # JAX trains the seeds together instead
    ],
)
def test_a_second_process_only_where_it_saves_time(
    monkeypatch, backend, others, seconds, cores, expected
):
    monkeypatch.setattr(study, "usable_cores", lambda: cores)
    args = _args(backend=backend)
    assert study.trains_in_two_processes(args, others, seconds) is expected


@pytest.mark.parametrize(
    "p, text",
    [(0.0, "0"), (0.0036, "0.4"), (0.006, "1"), (0.2134, "21"), (0.996, "99.6"), (1.0, "100")],
)
def test_interval_bounds_near_the_edges_keep_a_decimal(p, text):
    """1000/1000 seeds give 99.6-100%: printed as 100-100% it would claim more than it shows."""
    assert study.percent(p) == text


def test_a_diverging_seed_is_recorded_and_the_study_goes_on(capsys):
    """One by one (TensorFlow here): seed 2's loss overflows; it is not reproduced, its history
    ends at the first NaN, and seed 3 still trains."""
    import math

    import common
    import many_to_one
    from repro.cli import parse_args
    from repro.run import Run

    args = parse_args("many_to_one", ["--epochs", "30", "--verbose", "0", "--seeds", "3"])
    run = Run(args, *common.make_data("many_to_one", 5))
    run.train(many_to_one.build_model(args))
    built = []

    def first_one_explodes(args):
        model = many_to_one.build_model(args)
        if not built:
            model.optimizer.learning_rate.assign(1e38)  # steps so large the loss overflows
        built.append(model)
        return model

    result = study.run_study(run, first_one_explodes)
    two, three = result["seeds"][1:]
    assert (two["seed"], three["seed"]) == (2, 3)
    assert not two["reproduced"] and math.isnan(two["max_abs_error"])
    assert not math.isfinite(two["history"][-1]) and all(map(math.isfinite, two["history"][:-1]))
    assert len(three["history"]) == 30 and all(map(math.isfinite, three["history"]))
    assert result["n"] == 3 and capsys.readouterr().out.strip().endswith(result["summary"])


def test_seeds_trained_together_stop_their_history_at_the_first_nan(together):
    for seed in together[0]["diverging"]:
        history = seed["history"]
        assert 1 <= len(history) < 30, seed["seed"]
        assert not np.isfinite(history[-1]) and np.isfinite(history[:-1]).all()
        assert np.isnan(seed["predictions"]).all()


def test_the_studys_second_process_trains_a_seed_as_a_run_of_its_own(quick_runs, tmp_path, capsys):
    """python -m repro.helper, given a job of seeds 3 and 4 (5 epochs of many_to_one.py), writes
    one JSON line per seed; seed 3 equals a run with --seed 3."""
    import many_to_one
    from conftest import run_main

    code, out, err = quick_runs["helper"]
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [seed for seed, _, _ in lines] == [3, 4]
    alone = tmp_path / "alone.json"
    argv = ["--epochs", "5", "--seed", "3", "--verbose", "0", "--json", str(alone)]
    assert run_main(many_to_one, argv, capsys)[0] == 0
    result = json.loads(alone.read_text())
    assert lines[0][1:] == [result["loss_history"], result["predictions"]]
    assert lines[1][1] != lines[0][1]  # seed 4 from its own initial weights
