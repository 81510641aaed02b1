"""questions/sequence_label.py: one label per sequence against the label at every step, from the
same initial weights; every figure recomputed here from the predictions the JSON keeps and the
sequences drawn again from the seed, the best guess from a prefix checked by sampling."""

import argparse
import contextlib
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from checks import QUESTION_FIELDS
from conftest import run_main, run_script, said_out_of_turn
from questions import sequence_label as sl

SCRIPT = "questions/sequence_label.py"
QUICK = ["--steps", "4", "--samples", "64", "--epochs", "5", "--seeds", "2", "--units", "4"]
HELD_OUT = 2000  # the script's held-out sequences a seed, written out


def in_process(argv: list[str]) -> subprocess.CompletedProcess:
    """main(argv) in this process, with what it prints kept (a module fixture has no capsys)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = sl.main(argv)
        except SystemExit as e:
            code = e.code
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """A small run (2 seeds, 4 steps, 5 epochs on 64 sequences) with --check, --json, --plot."""
    folder = tmp_path_factory.mktemp("sequence_label")
    argv = [*QUICK, "--check", "--json", str(folder / "r.json"), "--plot", str(folder / "r.png")]
    proc = in_process([*argv, "--verbose", "0"])
    proc.folder = folder
    return proc, json.loads((folder / "r.json").read_text())


def drawn_again(seed: int, samples: int, steps: int):
    """The seed's training and held-out sequences and classes, by the rule written out here: one
    stream, training first; class 1 when the values sum to more than half the steps."""
    rng = np.random.default_rng(seed)
    out = []
    for n in (samples, HELD_OUT):
        X = rng.uniform(0, 1, (n, steps, 1)).astype("float32")
        out.append((X, np.array([int(sum(row[:, 0]) > steps / 2) for row in X])))
    return out


def recomputed(results: dict) -> list[dict]:
    """Per seed, from the stored predictions and the sequences drawn again: each model's
    accuracy at each step, the best guess's at each step, and the majority class's share."""
    steps, out = results["steps"], []
    for run in results["per_seed"]:
        _, (X, y) = drawn_again(run["seed"], results["samples"], steps)
        one = np.array(run["one_label"]["predicted"])
        every = np.array(run["every_step"]["predicted"])
        assert one.shape == (HELD_OUT,) and every.shape == (HELD_OUT, steps)
        best = [
            np.mean([(X[i, : t + 1, 0].sum() > (t + 1) / 2) == y[i] for i in range(HELD_OUT)])
            for t in range(steps)
        ]
        out.append(
            {
                "one_label": np.mean(one == y),
                "every_step": [np.mean(every[:, t] == y) for t in range(steps)],
                "best": best,
                "majority": max(np.mean(y), 1 - np.mean(y)),
            }
        )
    return out


def test_the_classes_follow_the_sum_and_are_balanced():
    args = argparse.Namespace(samples=300, steps=6)
    (X, y), (X_held, y_held) = sl.data(args, 4)
    (X2, y2), (X2_held, y2_held) = drawn_again(4, 300, 6)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(X_held, X2_held)
    assert y.tolist() == y2.tolist() and y_held.tolist() == y2_held.tolist()
    assert X.shape == (300, 6, 1) and X.min() >= 0 and X.max() < 1
    assert abs(y_held.mean() - 0.5) < 0.05  # by symmetry: chance is one half
    repeated = sl.at_every_step(y, 6)
    assert repeated.shape == (300, 6) and (repeated == y[:, None]).all()


def test_the_best_guess_from_a_prefix_is_the_likelier_class():
    """For a few prefixes, the class most completions of the sequence end in (sampled here)."""
    rng = np.random.default_rng(0)
    steps = 6
    prefixes = rng.uniform(0, 1, (12, steps, 1))
    guess = sl.best_from_prefix(prefixes)
    for t in (1, 3, 5):
        rest = rng.uniform(0, 1, (20000, steps - t))
        for p, g in zip(prefixes, guess[:, t - 1], strict=True):
            share = np.mean(p[:t, 0].sum() + rest.sum(axis=1) > steps / 2)
            if abs(share - 0.5) > 0.02:  # near one half, sampling could not tell
                assert g == int(share > 0.5)
    assert (guess[:, -1] == (prefixes.sum(axis=(1, 2)) > steps / 2)).all()  # the last: the class


def test_both_models_start_from_the_same_weights_and_a_seed_gives_them_again():
    args = argparse.Namespace(steps=5, units=3, lr=0.01)
    models = sl.seeded_pair(args, {}, 7)
    one, every = models["one_label"], models["every_step"]
    x = np.zeros((1, 5, 1), "float32")
    assert tuple(one(x).shape) == (1, 2) and tuple(every(x).shape) == (1, 5, 2)
    first = one.get_weights()
    for a, b in zip(first, every.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert sl.seeded_pair(args, models, 8) is models  # the same models, another seed's weights
    assert not np.array_equal(models["one_label"].get_weights()[0], first[0])
    sl.seeded_pair(args, models, 7)
    for a, b in zip(first, models["every_step"].get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_keras_refuses_2d_targets_for_a_3d_output():
    args = argparse.Namespace(steps=5, units=3, lr=0.01)
    (X, y), _ = sl.data(argparse.Namespace(samples=40, steps=5), 1)
    said = sl.mismatched_targets(args, X, y)
    assert len(said) == 2
    for text in said.values():
        assert text.startswith("ValueError: ") and "(32, 5, 2)" in text


def test_the_quick_run_writes_the_shared_fields_and_ends_with_the_answer(quick):
    proc, result = quick
    assert list(result) == QUESTION_FIELDS
    assert result["script"] == SCRIPT
    assert proc.stdout.splitlines()[-1] == result["answer"]
    assert result["answer"].startswith("Answer: on ")
    assert proc.returncode == (0 if result["check_passed"] else 1)
    if not result["check_passed"]:
        assert proc.stderr.splitlines()[-1].startswith("check failed: ")
    assert said_out_of_turn(proc.stderr) == []
    assert result["results"]["seeds"] == [1, 2]
    assert (proc.folder / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_figure_follows_from_the_stored_predictions(quick):
    _, result = quick
    r = result["results"]
    again = recomputed(r)
    for run, mine in zip(r["per_seed"], again, strict=True):
        assert run["one_label"]["accuracy"] == pytest.approx(mine["one_label"])
        assert run["every_step"]["step_accuracy"] == pytest.approx(mine["every_step"])
        assert run["every_step"]["accuracy"] == pytest.approx(mine["every_step"][-1])
        assert run["best_from_prefix"] == pytest.approx(mine["best"])
        assert run["majority_share"] == pytest.approx(mine["majority"])
        assert len(run["one_label"]["loss_history"]) == 5
        assert [e for e, _ in run["one_label"]["curve"]] == [1, 2, 3, 4, 5]
    medians = {
        "one_label": np.median([m["one_label"] for m in again]),
        "every_step": np.median([m["every_step"][-1] for m in again]),
    }
    for name, value in medians.items():
        assert r["accuracy"][name]["median"] == pytest.approx(value)
    gap = [m["one_label"] - m["every_step"][-1] for m in again]
    assert r["one_label_minus_every_step"]["median"] == pytest.approx(np.median(gap))
    assert r["one_label_minus_every_step"]["ahead"] == sum(g > 0 for g in gap)
    for t in range(r["steps"]):
        median = np.median([m["every_step"][t] for m in again])
        assert r["by_step"]["every_step"][t]["median"] == pytest.approx(median)
    assert r["by_step"]["best_from_prefix"][-1]["range"] == [1.0, 1.0]  # the sum decides
    assert f"{r['accuracy']['one_label']['median']:.3f}" in result["answer"]


def test_check_fails_when_a_figure_contradicts_the_answer(quick):
    _, result = quick
    r = json.loads(json.dumps(result["results"]))
    for name in sl.MODELS:  # as if both had trained
        r["accuracy"][name]["range"][0] = 0.9
    r["one_label_minus_every_step"].update(ahead=2, behind=0)
    for model, best in zip(*(r["by_step"][k] for k in sl.BY_STEP), strict=True):
        model["median"] = best["median"]  # as if every step guessed as well as it can
    assert sl.failed(r) is None
    r["one_label_minus_every_step"].update(ahead=1, behind=1)
    assert "neither model is ahead on every seed" in sl.failed(r)
    r["one_label_minus_every_step"].update(ahead=0, behind=2)
    assert sl.failed(r) is None  # the other way round is an answer too
    r["by_step"]["every_step"][1]["median"] += 0.2
    assert "earlier steps are up to 0.200 off" in sl.failed(r)
    r["accuracy"]["every_step"]["range"][0] = 0.6
    assert "every_step's held-out accuracy" in sl.failed(r)


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--steps", "1"], "argument --steps: must be a whole number from 2 to 1000"),
        (["--samples", "10"], "argument --samples: must be a whole number from 32"),
        (["--epochs", "3"], "argument --epochs: at least 5"),
        (["--seeds", "0"], "argument --seeds: must be a whole number from 1"),
        (["--lr", "0"], "argument --lr: must be a finite number greater than 0"),
        (["--units", "10000", "--samples", "100000"], "GiB cap"),
        (["--length", "5"], "unrecognized arguments: --length"),
    ],
)
def test_bad_input_is_one_line_before_keras(argv, says, capsys, monkeypatch):
    monkeypatch.delitem(sys.modules, "keras", raising=False)  # as in a fresh process
    code, out, err = run_main(sl, argv, capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"{SCRIPT}: error: ") and err.count("\n") == 1
    assert says in err
    assert "keras" not in sys.modules


@pytest.mark.slow
def test_the_default_run_gives_one_label_the_better_sequence_class(tmp_path):
    """The defaults with --check on TensorFlow: one label per sequence beats the label at every
    step on every seed, both far above the majority class; the every-step model's early steps
    score the best guess from the values so far, below its last step."""
    path = tmp_path / "d.json"
    proc = run_script(SCRIPT, "--check", "--json", str(path))
    assert proc.returncode == 0, proc.stderr
    assert said_out_of_turn(proc.stderr) == []
    result = json.loads(path.read_text())
    assert result["check_passed"] and proc.stdout.splitlines()[-1] == result["answer"]
    r = result["results"]
    assert r["seeds"] == [1, 2, 3] and r["steps"] == 10
    for mine in recomputed(r):
        assert mine["one_label"] > mine["every_step"][-1]  # on every seed
        assert mine["every_step"][-1] > mine["majority"] + 0.3
        assert abs(mine["every_step"][0] - mine["best"][0]) < 0.05
        assert max(mine["every_step"][:-1]) < mine["every_step"][-1]
    assert (
        "one label per sequence gives the better sequence label on every seed" in result["answer"]
    )
    assert "raises ValueError before training" in result["answer"]
