"""questions/sequence_label.py: the two rules and the best guess from a prefix against sampling,
the two models' shared initial weights, Keras' refusal of (N, 2) targets, and each claim behind
the answer shown able to fail."""

import types

import numpy as np
import pytest

from checks import MAX_ANSWER_WORDS, ended_well
from conftest import quick_run_fixture, run_main
from questions import sequence_label as sl

LATE, EARLY = sl.RULES  # "sum > 5", "first > last"
quick = quick_run_fixture(
    "sequence_label", "--epochs", "3", "--seeds", "2", "--samples", "16", "--units", "2"
)


@pytest.mark.slow  # five models traced on TensorFlow: 10-14 s here, however small the run
def test_the_quick_run_ends_well_and_its_answer_quotes_its_table(quick):
    proc, result = quick
    ended_well("sequence_label", proc, result)
    assert (proc.folder / "sequence_label.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    accuracy, by_step, refused = result["tables"].values()
    last, f = accuracy[-1], result["figures"]
    assert [r["epochs"] for r in accuracy] == [3]  # under half the reference budget: one read
    assert (f["l1"], f["l2"]) == (last[f"{LATE}: one label"], last[f"{LATE}: every step"])
    assert (f["e1"], f["v1"]) == (last[f"{EARLY}: one label"], last[f"{EARLY}: every step"])
    assert f["v1"] == by_step[-1][f"{EARLY}: model"]  # the every-step model's last step
    assert [r[f"{LATE}: best"] for r in by_step][-1] == 1.0  # the last step knows the class
    assert refused == [{"Keras": refused[0]["Keras"], "weights moved": False}]
    assert refused[0]["Keras"].startswith("ValueError: ")


def test_the_rules_are_balanced_and_read_the_values_they_name():
    X = np.random.default_rng(0).uniform(0, 1, (4000, sl.LENGTH, 1)).astype("float32")
    sums, firsts, lasts = X[:, :, 0].sum(axis=1), X[:, 0, 0], X[:, -1, 0]
    assert (sl.RULES[LATE](X) == (sums > 5)).all()
    assert (sl.RULES[EARLY](X) == (firsts > lasts)).all()
    for label in sl.RULES.values():  # balanced by symmetry: chance is one half
        assert abs(label(X).mean() - sl.CHANCE) < 0.03


@pytest.mark.parametrize("rule", list(sl.RULES))
def test_the_best_guess_from_a_prefix_is_the_class_most_completions_end_in(rule):
    """For a few prefixes, the rest of the sequence drawn 20,000 times: the likelier class."""
    rng = np.random.default_rng(1)
    prefixes = rng.uniform(0, 1, (12, sl.LENGTH, 1)).astype("float32")
    guess = sl.best_guess(rule, prefixes)
    for t in (1, 4, sl.LENGTH - 1):
        rest = rng.uniform(0, 1, (20000, sl.LENGTH - t, 1)).astype("float32")
        for prefix, g in zip(prefixes, guess[:, t - 1], strict=True):
            whole = np.concatenate([np.broadcast_to(prefix[:t], (20000, t, 1)), rest], axis=1)
            share = sl.RULES[rule](whole).mean()
            if abs(share - 0.5) > 0.02:  # nearer one half, sampling could not tell
                assert g == (share > 0.5)
    assert (guess[:, -1] == sl.RULES[rule](prefixes)).all()  # the last step: the class


def test_both_models_start_from_the_same_weights_under_a_seed():
    from repro.backend import seed_everything

    weights = []
    for every_step in (False, True):
        seed_everything(7)
        model = sl.build_model(every_step, 3, 0.01)
        out = model(np.zeros((2, sl.LENGTH, 1), "float32"))
        assert tuple(out.shape) == ((2, sl.LENGTH, 2) if every_step else (2, 2))
        weights.append(model.get_weights())
    assert [w.shape for w in weights[0]] == [(1, 12), (3, 12), (12,), (3, 2), (2,)]
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_keras_refuses_one_label_a_sequence_and_takes_one_a_step():
    X = np.random.default_rng(2).uniform(0, 1, (8, sl.LENGTH, 1)).astype("float32")
    y = sl.RULES[LATE](X).astype("int32")
    said, moved = sl.shape_error(2, X, y)
    assert said.startswith("ValueError: ") and f"{sl.LENGTH}, 2)" in said and not moved
    import keras

    model = sl.build_model(True, 2, 0.01)  # the class at every step, (N, 10, 2): a loss a step
    at_every_step = np.eye(2)[np.repeat(y[:, None], sl.LENGTH, axis=1)]
    loss = keras.losses.categorical_crossentropy(at_every_step, model(X))
    assert tuple(loss.shape) == (8, sl.LENGTH)


class Run:
    """What report() needs of a lesson's run: its tables, claims and answer, kept here."""

    def __init__(self, seeds: int):
        self.args = types.SimpleNamespace(seeds=seeds, samples=64)
        self.claims = {}

    def table(self, title, rows):
        pass

    def expect(self, holds, claim):
        self.claims[claim] = bool(holds)

    def answer(self, template, draw=None, **figures):
        self.text = template.format(**figures)
        return 0


def figures(change=None):
    """A run whose figures bear out every claim (3 seeds, 3 budgets), changed by `change`."""
    seeds, budgets = 3, [20, 40, 60]
    level = {(LATE, False): 0.97, (LATE, True): 0.965, (EARLY, False): 0.95, (EARLY, True): 0.8}
    accuracy = {key: np.full((seeds, len(budgets)), v) for key, v in level.items()}
    best = {LATE: np.linspace(0.6, 1, sl.LENGTH), EARLY: np.r_[np.full(sl.LENGTH - 1, 0.75), 1]}
    at_steps = {rule: np.r_[b[:-1], level[rule, True]] for rule, b in best.items()}
    refused = ("ValueError: Arguments `target` and `output` must have the same rank", False)
    parts = dict(accuracy=accuracy, at_steps=at_steps, best=best, refused=refused)
    if change:
        change(parts)
    run = Run(seeds)
    sl.report(run, budgets, **parts)
    return run


def test_figures_that_bear_out_the_answer_pass_every_claim():
    run = figures()
    assert all(run.claims.values()) and len(run.claims) == 6
    assert "learns sooner and better, 0.95 against 0.80 at 20 epochs" in run.text
    assert len(run.text.split()) <= MAX_ANSWER_WORDS


def test_the_answer_says_when_the_curves_meet_and_stays_short():
    def meet(p):
        p["accuracy"][EARLY, True][:, 1:] = 0.95

    run = figures(meet)
    assert "learns sooner (met at 40)" in run.text
    assert len(run.text.split()) <= MAX_ANSWER_WORDS


def near_chance(p):
    p["accuracy"][EARLY, True][:, -1] = 0.65


def behind_on_a_seed(p):
    p["accuracy"][EARLY, True][1, 0] = 0.96


def late_gap_large(p):
    p["accuracy"][LATE, True][:] = 0.85


def early_steps_off(p):
    p["at_steps"][LATE][3] += 0.06


def last_step_leaves_the_guess(p):
    p["at_steps"][EARLY][-1] = 0.9


def accepted(p):
    p["refused"] = ("accepted", True)


@pytest.mark.parametrize(
    "change, claim",
    [
        (near_chance, "both models learn both rules well above chance"),
        (behind_on_a_seed, f"{EARLY}: one label ahead on every seed and budget"),
        (late_gap_large, f"{LATE}'s gap is under half {EARLY}'s"),
        (early_steps_off, "the every-step model's earlier steps score the best guess"),
        (last_step_leaves_the_guess, "last step is nearer its guess than the one label"),
        (accepted, "fit refuses (N, 2) before training"),
    ],
)
def test_each_claim_fails_when_its_figures_say_otherwise(change, claim):
    failed = [c for c, holds in figures(change).claims.items() if not holds]
    assert len(failed) == 1 and claim in failed[0], failed


def test_bad_input_is_one_line_and_exit_2(capsys):
    for argv in (["--samples", "4"], ["--seeds", "0"], ["--lr", "0"], ["--steps", "10"]):
        code, out, err = run_main(sl, argv, capsys)
        assert code == 2 and out == "" and err.count("\n") == 1, (argv, err)
