"""questions/label_steps.py: padded token sequences labelled at every step; what the mask, zero
sample weights and ignore_class keep out of Keras' loss and accuracy, against hand counts."""

import argparse

import numpy as np
import pytest

from checks import ended_well
from conftest import quick_run_fixture, run_main
from questions import label_steps

quick = quick_run_fixture("label_steps", "--samples", "64", "--epochs", "10")


def test_the_quick_run_ends_well(quick):
    proc, result = quick
    ended_well("label_steps", proc, result)
    assert (proc.folder / "label_steps.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sequences_are_padded_with_zeros_after_each_length():
    X, y = label_steps.make_sequences(np.random.default_rng(0), 500, 3, 8)
    assert X.shape == y.shape == (500, 8)
    lengths = (X != 0).sum(axis=1)
    assert lengths.min() == 3 and lengths.max() == 8  # both ends drawn
    for row, labels, n in zip(X, y, lengths, strict=True):
        assert (row[:n] >= 1).all() and (row[:n] <= 4).all() and (row[n:] == 0).all()
        assert labels[0] == 0 and (labels[n:] == 0).all()
        assert list(labels[1:n]) == list(row[: n - 1])  # the token one step earlier


def test_keras_figures_of_the_quick_run_are_the_hand_counts_mixed_by_the_padding(quick):
    """The held-out set drawn again from the seed gives the padded share; Keras' accuracy
    without a mask is real x (1 - share) + padded x share, with a mask the real steps'."""
    _, result = quick
    rng = np.random.default_rng(result["config"]["seed"])
    label_steps.make_sequences(rng, 64, 3, 8)  # the training set, then the held-out one
    X_held, _ = label_steps.make_sequences(rng, 64, 3, 8)
    share = np.mean(X_held == 0)
    rows = {r["way"]: r for r in next(v for k, v in result["tables"].items() if "Keras" in k)}
    for way, said in (("counted", "metrics="), ("zero weights", "metrics=")):
        r = rows[way]
        mixed = (1 - share) * r["real steps"] + share * r["padded steps"]
        assert r[said] == pytest.approx(mixed, abs=1e-4)
    assert rows["mask"]["metrics="] == pytest.approx(rows["mask"]["real steps"], abs=1e-4)
    assert rows["zero weights"]["weighted_metrics="] == pytest.approx(
        rows["zero weights"]["real steps"], abs=1e-4
    )


@pytest.fixture(scope="module")
def models():
    """A model with and one without a mask, the same weights, and a few padded sequences."""
    from repro.backend import seed_everything

    seed_everything(5)
    plain, masked = (label_steps.build_model(mask, 8, 4, 0.01) for mask in (False, True))
    masked.set_weights(plain.get_weights())
    X, y = label_steps.make_sequences(np.random.default_rng(5), 8, 3, 8)
    assert (X == 0).any()
    return plain, masked, X, y


def loss(model, X, y, weights=None) -> float:
    return float(model.evaluate(X, y, sample_weight=weights, batch_size=len(X), verbose=0)[0])


def test_the_mask_and_zero_weights_keep_a_padded_steps_label_out_of_the_loss(models):
    plain, masked, X, y = models
    relabelled = np.where(X == 0, 3, y)  # every padded step's label changed
    assert loss(masked, X, relabelled) == loss(masked, X, y)
    assert loss(plain, X, relabelled) != pytest.approx(loss(plain, X, y), abs=1e-4)
    zero = label_steps.step_weights("zero weights", X)
    assert loss(plain, X, relabelled, zero) == loss(plain, X, y, zero)


def test_the_masks_loss_is_the_mean_cross_entropy_of_the_real_steps(models):
    """By hand from the outputs: -log p(label), averaged over the real steps; the ignore_class
    loss measure() reports is the same number, without a mask."""
    _, masked, X, y = models
    probs = np.asarray(masked.predict(X, verbose=0), "float64")
    picked = np.take_along_axis(probs, y[..., None], axis=-1)[..., 0]
    by_hand = -np.log(picked[X != 0]).mean()
    assert loss(masked, X, y) == pytest.approx(by_hand, rel=1e-5)
    figures = label_steps.measure(masked, "mask", X, y)
    assert figures["ignore_class loss"] == pytest.approx(by_hand, rel=1e-5)
    assert figures["one-hot loss"] == pytest.approx(figures["integer loss"], rel=1e-6)


## The claims, each shown failing for the reason it names (report() on made-up figures)


def seen(share=0.3, changes=None, budgets=(5, 10, 15, 20, 30)) -> list:
    """Records as main() makes them, consistent with every claim; `changes` maps (way, figure)
    to a function of the epoch index giving another value."""
    records = []
    for way in label_steps.WAYS:
        for i, epochs in enumerate(budgets):
            real = min(1.0, 0.6 + 0.2 * i) if way == "counted" else min(1.0, 0.9 + 0.1 * i)
            padded = 1.0 if way == "counted" else 0.0
            mixed = (1 - share) * real + share * padded
            r = {"seed": 1, "way": way, "epochs": epochs, "loss": 0.1, "real steps": real}
            r.update({"metrics=": real if way == "mask" else mixed, "padded steps": padded})
            r.update({"weighted_metrics=": mixed if way == "counted" else real})
            r.update({"ignore_class loss": 0.1, "integer loss": 0.2, "one-hot loss": 0.2})
            r["padded share"] = share
            for (w, key), value in (changes or {}).items():
                if w == way:
                    r[key] = value(i)
            records.append(r)
    return records


def report(records, budgets=(5, 10, 15, 20, 30)):
    from repro.lesson import Lesson

    args = argparse.Namespace(seed=1, seeds=1, min_length=3, max_length=8, backend="tensorflow")
    args.__dict__.update(
        verbose=0, prog="questions/label_steps.py", config_keys=[], floatx="float32"
    )
    args.__dict__.update(plot=None, json=None, check=True)
    run = Lesson(label_steps.__doc__, args)
    status = label_steps.report(
        run, list(budgets), records, np.array([1, 2, 0]), np.array([0, 1, 0])
    )
    return status, {c["claim"]: c["holds"] for c in run.claims}


def failing(claims: dict) -> list:
    return [claim for claim, holds in claims.items() if not holds]


def test_made_up_figures_consistent_with_the_claims_pass(capsys):
    status, claims = report(seen())
    assert status == 0 and failing(claims) == []
    answer = capsys.readouterr().out.strip().splitlines()[-1]
    assert "at 10 epochs 0.860 reported, 0.800 on the real steps" in answer
    assert "all three agree from 15 epochs on" in answer


@pytest.mark.parametrize(
    "changes, claim",
    [
        ({("counted", "metrics="): lambda i: 0.5}, "metrics= counts the padded steps"),
        ({("zero weights", "metrics="): lambda i: 1.0}, "metrics= counts the padded steps"),
        ({("mask", "metrics="): lambda i: 0.5}, "report the real steps alone"),
        ({("zero weights", "weighted_metrics="): lambda i: 0.5}, "report the real steps alone"),
        ({("mask", "ignore_class loss"): lambda i: 0.2}, "ignore_class=-1 give the mask's loss"),
        ({("counted", "one-hot loss"): lambda i: 0.3}, "one-hot and integer targets"),
        ({("counted", "real steps"): lambda i: 0.6}, "catch up with the mask's"),
    ],
)
def test_each_claim_fails_when_its_figures_contradict_it(changes, claim, capsys):
    status, claims = report(seen(changes=changes))
    assert status == 1
    assert [c for c in failing(claims) if claim in c], failing(claims)


def test_without_padding_the_answer_claims_no_difference(capsys):
    """--min-length 8 --max-length 8: nothing padded, metrics= and weighted_metrics= equal; the
    old answer said "but not with metrics (0.456)" of two equal figures."""
    records = seen(share=0.0)
    for r in records:
        r.update({"padded steps": np.nan, "metrics=": r["real steps"]})
        r["weighted_metrics="] = r["real steps"]
    _, claims = report(records)
    answer = capsys.readouterr().out.strip().splitlines()[-1]
    assert "No step is padded" in answer and "inflates" not in answer and "but not" not in answer
    assert "metrics= and weighted_metrics= agree (1.000, 1.000)" in answer
    assert claims["without a mask, metrics= counts the padded steps, sample weight 0 or not"]


def test_bad_lengths_are_refused_in_one_line(capsys):
    code, out, err = run_main(label_steps, ["--min-length", "9"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "--max-length" in err
    code, _, err = run_main(label_steps, ["--max-length", "1001"], capsys)
    assert code == 2 and "--max-length" in err
