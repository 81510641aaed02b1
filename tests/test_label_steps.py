"""questions/label_steps.py: padded token sequences labeled at every step, the three ways of
treating the padding, what Keras reports against scikit-learn on the real steps, and bad input."""

import argparse
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from checks import ended_well
from conftest import QUICK_FLAGS, ROOT, quick_run_fixture, rendered, run_script, said_out_of_turn
from questions import label_steps

SCRIPT = "questions/label_steps.py"
DATA = argparse.Namespace(vocab=4, min_length=3, max_length=8)


def run_with_json(folder, *argv):
    path = folder / "l.json"
    proc = run_script(SCRIPT, *argv, "--json", str(path))
    return proc, json.loads(path.read_text()) if path.exists() else None


# The quick tier's run (conftest's QUICK_FLAGS, with --check, --json and --plot), too short to
# learn the rule: its check must fail
quick_run = quick_run_fixture("label_steps")


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The README's run, rendered once a session (conftest.rendered; its page, docs/runs/)."""
    return rendered("label_steps", tmp_path_factory)[:2]


def test_sequences_are_padded_with_zeros_after_each_length():
    X, y = label_steps.make_sequences(np.random.default_rng(0), 500, DATA)
    assert X.shape == y.shape == (500, 8)
    lengths = (X != 0).sum(axis=1)
    assert lengths.min() == 3 and lengths.max() == 8  # both ends drawn
    for row, labels, n in zip(X, y, lengths, strict=True):
        assert (row[:n] >= 1).all() and (row[:n] <= 4).all() and (row[n:] == 0).all()
        assert labels[0] == 0 and (labels[n:] == 0).all()
        assert list(labels[1:n]) == list(row[: n - 1])  # the token one step earlier


def test_the_same_seed_draws_the_same_sequences():
    args = argparse.Namespace(**vars(DATA), samples=16)
    first, second = label_steps.data(args, 3), label_steps.data(args, 3)
    for name in ("X", "y", "X_held", "y_held"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    assert not np.array_equal(first.X, first.X_held)  # held-out is another draw
    # the imbalanced variant goes on from the same stream: the same again, and token 1 common
    (X, _), _ = label_steps.imbalanced(args, first.rng)
    (X_again, _), _ = label_steps.imbalanced(args, second.rng)
    np.testing.assert_array_equal(X, X_again)
    assert np.mean(X[X != 0] == 1) > 0.6


@pytest.fixture(scope="module")
def models():
    """The script's model with and without a mask, the same initial weights, and a small batch
    of padded sequences."""
    from repro.backend import seed_everything

    seed_everything(5)
    args = argparse.Namespace(**vars(DATA), units=4, lr=0.01, samples=8)
    plain, masked = (label_steps.build_model(args, mask) for mask in (False, True))
    masked.set_weights(plain.get_weights())
    X, y = label_steps.make_sequences(np.random.default_rng(5), 8, args)
    assert (X == 0).any()
    return plain, masked, X, y


def keras_loss(model, X, y, weights=None) -> float:
    said = model.evaluate(X, y, sample_weight=weights, batch_size=len(X), verbose=0)
    return float(said[0])


def test_the_mask_keeps_a_padded_steps_label_out_of_the_loss(models):
    plain, masked, X, y = models
    relabeled = y.copy()
    relabeled[X == 0] = 3  # every padded step's label changed
    assert keras_loss(masked, X, relabeled) == keras_loss(masked, X, y)
    assert keras_loss(plain, X, relabeled) != pytest.approx(keras_loss(plain, X, y), abs=1e-4)
    zero_on_padding = label_steps.step_weights("sample_weight", X)
    assert keras_loss(plain, X, relabeled, zero_on_padding) == keras_loss(
        plain, X, y, zero_on_padding
    )


def test_ignore_class_on_labels_minus_1_gives_the_masks_loss_without_a_mask(models):
    """No mask, padded steps labeled -1, ignore_class=-1, the masked model's weights: the loss is
    the mask's (the padding comes after the real steps, whose outputs are then the same). Keras
    averages each over the steps it keeps, in float32: equal to rounding."""
    _, masked, X, y = models
    args = argparse.Namespace(**vars(DATA), units=4, lr=0.01, samples=8)
    ignoring = label_steps.build_model(args, mask=False, ignore_class=-1)
    ignoring.set_weights(masked.get_weights())
    minus_1 = np.where(X == 0, -1, y)
    assert keras_loss(ignoring, X, minus_1) == pytest.approx(keras_loss(masked, X, y), rel=1e-6)


def test_timedistributed_and_dense_heads_agree_with_the_same_weights(models):
    _, masked, X, _ = models
    args = argparse.Namespace(**vars(DATA), units=4, lr=0.01, samples=8)
    dense = label_steps.build_model(args, mask=True, head="dense")
    dense.set_weights(masked.get_weights())
    assert "TimeDistributed" in type(masked.layers[-1]).__name__
    assert type(dense.layers[-1]).__name__ == "Dense"
    difference = label_steps.probabilities(dense, X) - label_steps.probabilities(masked, X)
    assert np.max(np.abs(difference)) <= 1e-6


class FixedModel:
    """Stands in for a model: fixed class probabilities, nothing reported by Keras."""

    def __init__(self, predicted: np.ndarray, classes: int):
        self.probabilities = np.eye(classes, dtype="float32")[predicted]

    def __call__(self, X, training=False):
        return self.probabilities

    def evaluate(self, *args, **kwargs):
        return {"accuracy": 0.0, "weighted_accuracy": 0.0, "loss": 0.0}


def test_real_step_accuracy_is_the_hand_count_on_the_real_steps():
    X = np.array([[1, 2, 3, 0, 0], [4, 4, 0, 0, 0]])
    y = np.array([[0, 1, 2, 0, 0], [0, 4, 0, 0, 0]])
    predicted = np.array([[0, 1, 1, 0, 0], [3, 4, 0, 0, 2]])  # real: 3 of 5 right; padded: 4 of 5
    right = sum(predicted[i, t] == y[i, t] for i in range(2) for t in range(5) if X[i, t] != 0)
    real_steps = sum(X[i, t] != 0 for i in range(2) for t in range(5))
    figures = label_steps.measure(FixedModel(predicted, 5), X, y, None)
    assert (right, real_steps) == (3, 5)
    assert figures["real_step_accuracy"] == pytest.approx(right / real_steps)
    assert figures["padded_step_accuracy"] == pytest.approx(4 / 5)
    assert figures["padded_share"] == pytest.approx(5 / 10)


def test_bad_input_is_refused_in_one_line_before_keras_is_imported():
    """Bad input answers in one line with status 2, and Keras is never imported."""
    cases = [
        ["--vocab", "1"],
        ["--min-length", "1"],
        ["--max-length", "1"],
        ["--min-length", "6", "--max-length", "5"],
        ["--samples", "10000000", "--max-length", "1000"],
        ["--vocab", "1001"],
        ["--fit", "fast"],
    ]
    code = (
        "import contextlib, io, json, sys\n"
        "from questions import label_steps\n"
        "out = []\n"
        f"for argv in {cases!r}:\n"
        "    err = io.StringIO()\n"
        "    with contextlib.redirect_stderr(err):\n"
        "        try:\n"
        "            label_steps.main(argv)\n"
        "        except SystemExit as e:\n"
        "            out.append([e.code, err.getvalue(), 'keras' in sys.modules])\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert len(results) == len(cases)
    for argv, (status, err, keras_imported) in zip(cases, results, strict=True):
        assert status == 2, argv
        assert err.count("\n") == 1 and err.startswith(f"{SCRIPT}: error: argument "), err
        assert not keras_imported, argv
    assert "over --max-length 5" in results[3][1]
    assert "GiB cap" in results[4][1]


@pytest.mark.parametrize("argv", [["--vocab", "1"], ["--min-length", "9"]])
def test_bad_input_from_the_terminal_is_one_line_without_traceback(argv):
    proc = run_script(SCRIPT, *argv)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_the_quick_run_ends_well_and_draws_its_png(quick_run):
    proc, result = quick_run
    assert result is not None, proc.stderr
    ended_well("label_steps", proc, result)
    png = (proc.folder / "label_steps.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_the_json_file_has_the_issues_keys(quick_run):
    proc, result = quick_run
    assert result is not None, proc.stderr
    r = result["results"]
    assert [run["name"] for run in r["runs"]] == ["no_mask", "mask", "sample_weight"]
    for run in r["runs"]:
        for key in ("reported_accuracy", "real_step_accuracy", "loss"):
            assert isinstance(run[key], float) and isinstance(run["train"][key], float)
    for key in ("one_hot_vs_sparse_loss_difference", "td_vs_dense_max_difference"):
        assert isinstance(r[key], float)
    cw = r["class_weight"]
    assert cw["numpy_arrays"].startswith(("refused: ", "accepted"))
    assert cw["tf_data"].startswith(("refused: ", "accepted", "not tried on "))
    for key in ("loss", "mask_loss", "reported_accuracy", "real_step_accuracy"):
        assert isinstance(r["ignore_class"][key], float)
    assert len(cw["recall"]["unweighted"]) == len(cw["recall"]["per_step_weights"]) == 5
    assert r["example"]["input"][0] != 0 and r["example"]["labels"][0] == 0
    assert "range" not in r and "per_seed" not in r  # one seed
    assert result["script"] == SCRIPT and result["config"]["epochs"] == 2
    assert result["config"]["samples"] == 64 and "verbose" not in result["config"]
    assert result["question"] == label_steps.QUESTION


def test_keras_accuracy_counts_padded_steps_unless_masked_or_weighted(quick_run):
    """accuracy = real share x real-step accuracy + padded share x padded-step accuracy, for
    no_mask and for metrics= with sample weights; the real-step accuracy alone for the mask and
    for weighted_metrics=. Float32 sums: equal to 1e-5."""
    _, result = quick_run
    runs = {r["name"]: r for r in result["results"]["runs"]}
    for figures in (runs["no_mask"], runs["no_mask"]["train"], runs["sample_weight"]):
        share = figures["padded_share"]
        every_step = (1 - share) * figures["real_step_accuracy"]
        every_step += share * figures["padded_step_accuracy"]
        assert figures["reported_accuracy"] == pytest.approx(every_step, abs=1e-5)
    assert runs["mask"]["reported_accuracy"] == pytest.approx(
        runs["mask"]["real_step_accuracy"], abs=1e-5
    )
    weighted = runs["sample_weight"]
    assert weighted["weighted_accuracy"] == pytest.approx(weighted["real_step_accuracy"], abs=1e-5)


def test_check_fails_in_one_line_when_training_is_too_short(quick_run):
    assert QUICK_FLAGS["label_steps"] == ["--epochs", "2", "--samples", "64"]  # too short
    proc, result = quick_run
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("check failed: the masked run's")
    assert result["check_passed"] is False
    config = result["config"]
    held = f"Answer: at {config['epochs']} epochs, seed {config['seed']}, on {result['backend']}: "
    assert proc.stdout.strip().splitlines()[-1].startswith(held + "yes, a softmax")
    assert proc.stdout.strip().splitlines()[-1] == result["answer"]


def test_verbose_2_prints_a_line_per_epoch_without_timings(models, capsys):
    """Keras' own lines (model.fit(verbose=2)) carry the time each epoch took; these do not, so
    that two runs of one seed print the same: one pair of lines per epoch, of 8 / 32 = 1 batch."""
    plain, _, X, y = models
    args = argparse.Namespace(**vars(DATA), units=4, lr=0.01, samples=8, epochs=2, verbose=2)
    initial = plain.get_weights()
    label_steps.train(args, plain, initial, X, y, label_steps.step_weights("no_mask", X), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0::2] == ["Epoch 1/2", "Epoch 2/2"]
    assert all(re.fullmatch(r"1/1 - loss: \d+\.\d{4}", line) for line in lines[1::2]), lines
    plain.set_weights(initial)  # as the other tests of the fixture found it


def test_balanced_step_weights_are_scikit_learns_class_weights_on_the_real_steps():
    X = np.array([[1, 1, 1, 1, 0], [1, 1, 1, 1, 0]])  # the labels need not follow the rule here
    y = np.array([[0, 1, 1, 2, 0], [0, 1, 1, 1, 0]])
    weights = label_steps.balanced_step_weights(y, X != 0, 5)
    real = y[X != 0]  # 2 of class 0, 5 of class 1, 1 of class 2: n / (3 classes x count)
    by_hand = {0: 8 / (3 * 2), 1: 8 / (3 * 5), 2: 8 / (3 * 1)}
    np.testing.assert_allclose(weights[X != 0], [by_hand[c] for c in real], rtol=1e-6)
    assert (weights[X == 0] == 0).all()


def imbalanced_training_set(config: dict):
    """The quick run's imbalanced training sequences, drawn again from its seed."""
    args = argparse.Namespace(**{k: config[k] for k in ("vocab", "min_length", "max_length")})
    args.samples = config["samples"]
    (X, y), _ = label_steps.imbalanced(args, label_steps.data(args, config["seed"]).rng)
    return X, y


def test_numpy_arrays_with_class_weight_and_3d_targets_raise_a_type_error(quick_run):
    """Keras' array adapter makes one weight per sample, int() of a row of labels: a TypeError
    on every backend (the NumPy conversion is the same)."""
    _, result = quick_run
    said = result["results"]["class_weight"]["numpy_arrays"]
    assert said.startswith("refused: TypeError: "), said
    assert said.endswith("(raised in class_weight_to_sample_weights)")


def test_a_tf_dataset_with_class_weight_weights_each_step_by_its_labels_class(quick_run):
    """On TensorFlow: fit accepts the dataset, and the weights Keras' map gives the first
    sequence's steps are the balanced class weights, counted here by hand, at each step's label
    (the padding's label, 0, too). Elsewhere the run says it did not try."""
    _, result = quick_run
    cw = result["results"]["class_weight"]
    if result["backend"] != "tensorflow":
        assert cw["tf_data"] == f"not tried on {result['backend']}" and cw["example"] is None
        return
    assert cw["tf_data"] == "accepted: one epoch ran"
    X, y = imbalanced_training_set(result["config"])
    labels = y[X != 0]  # the real steps' labels: class c weighs n / (classes present x count_c)
    counts = np.bincount(labels, minlength=result["config"]["vocab"] + 1)
    by_hand = len(labels) / (np.count_nonzero(counts) * np.maximum(counts, 1)) * (counts > 0)
    example = cw["example"]
    assert example["input"] == X[0].tolist() and example["labels"] == y[0].tolist()
    np.testing.assert_allclose(example["class_weights"], by_hand, rtol=1e-6)
    np.testing.assert_allclose(example["weights"], by_hand[y[0]], rtol=1e-6)
    assert len(set(y[0].tolist())) > 1  # 0 at the first step, tokens after it


def test_ignore_class_reports_the_masks_loss_and_counts_minus_1_as_wrong(quick_run):
    """The run's own figures: the ignore_class loss is the mask's to float32 rounding, its real
    steps' accuracy is the mask's, and metrics= accuracy counts every -1 label as wrong."""
    _, result = quick_run
    r = result["results"]
    ignored, mask = r["ignore_class"], {run["name"]: run for run in r["runs"]}["mask"]
    assert ignored["loss"] == pytest.approx(ignored["mask_loss"], rel=1e-6)
    assert ignored["mask_loss"] == pytest.approx(mask["loss"], rel=1e-6)
    assert ignored["real_step_accuracy"] == mask["real_step_accuracy"]
    real_share = 1 - ignored["padded_share"]
    expected = real_share * ignored["real_step_accuracy"]
    assert ignored["reported_accuracy"] == pytest.approx(expected, abs=1e-5)


def test_check_needs_mask_and_weights_to_agree():
    def figures(mask: float, weighted: float) -> dict:
        accuracies = {"no_mask": 0.5, "mask": mask, "sample_weight": weighted}
        return {"runs": [{"name": n, "real_step_accuracy": a} for n, a in accuracies.items()]}

    assert label_steps.failed(figures(0.95, 0.96)) is None
    assert "0.9" in label_steps.failed(figures(0.85, 0.85))
    assert "differ" in label_steps.failed(figures(0.95, 0.92))


def test_across_gives_medians_and_ranges_of_every_figure():
    per_seed = [{"a": 1.0, "b": [2.0, 4.0], "s": "x"}, {"a": 3.0, "b": [0.0, 8.0], "s": "y"}]
    assert label_steps.across(per_seed, lambda v: float(np.median(v))) == {
        "a": 2.0,
        "b": [1.0, 6.0],
        "s": "x",
    }
    assert label_steps.across(per_seed, lambda v: [min(v), max(v)])["b"] == [[0.0, 2.0], [4.0, 8.0]]
    examples = [{"example": {"weights": [1.0, 2.0]}}, {"example": {"weights": [3.0, 4.0]}}]
    assert label_steps.across(examples, min) == examples[0]  # one sequence, the first seed's


@pytest.mark.slow
def test_the_default_run_passes_its_check(default_run):
    proc, result = default_run
    assert proc.returncode == 0, proc.stderr
    assert said_out_of_turn(proc.stderr) == []  # in a process of its own: TensorFlow's too
    r = result["results"]
    runs = {run["name"]: run for run in r["runs"]}
    assert runs["mask"]["real_step_accuracy"] >= 0.9
    gap = runs["mask"]["real_step_accuracy"] - runs["sample_weight"]["real_step_accuracy"]
    assert abs(gap) <= 0.02
    assert r["td_vs_dense_max_difference"] <= 1e-6
    assert r["one_hot_vs_sparse_loss_difference"] <= 1e-5


@pytest.mark.slow
def test_the_padded_steps_inflate_the_unmasked_runs_accuracy(default_run):
    """The README row's claim: at the defaults, no_mask reports more than its real steps earn,
    and metrics= with 0 sample weights reports less, while weighted_metrics= does not."""
    _, result = default_run
    runs = {r["name"]: r for r in result["results"]["runs"]}
    plain, weighted = runs["no_mask"], runs["sample_weight"]
    assert plain["reported_accuracy"] - plain["real_step_accuracy"] >= 0.01
    assert plain["padded_step_accuracy"] == 1.0
    assert weighted["reported_accuracy"] < weighted["weighted_accuracy"] - 0.1


@pytest.mark.slow
def test_per_step_weights_lift_the_rare_classes_recall(default_run):
    _, result = default_run
    recall = result["results"]["class_weight"]["recall"]
    rare = range(2, 5)
    assert min(recall["per_step_weights"][c] for c in rare) > min(
        recall["unweighted"][c] for c in rare
    )
