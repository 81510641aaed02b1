"""questions/echo_or_memorise.py: the article's framings, the distances against outputs written
by hand, each claim able to fail, and a default run whose answer quotes its own tables."""

from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest

import common
from checks import MAX_ANSWER_WORDS, ended_well
from conftest import quick_run_fixture, run_main
from questions import echo_or_memorise as eom

RAMP = np.array([0.0, 0.2, 0.4, 0.6, 0.8])  # the article's sequence, written out
FED = {  # the probes, written out: the ramp, the named ones, two "held-out" sequences
    "ramp": [RAMP],
    "permuted": [[0.8, 0.2, 0.6, 0.0, 0.4]],
    "constant": [[0.4] * 5],
    "interleaved": [[0.9, 0.1, 0.5, 0.3, 0.7]],
    "shifted": [[0.2, 0.4, 0.6, 0.8, 1.0]],
    "beyond": [[1.0, 1.2, 1.4, 1.6, 1.8]],
    "held_out": [[0.1, 0.9, 0.3, 0.3, 0.5], [0.7, 0.7, 0.2, 0.0, 0.6]],
}
FED = {name: np.array(v) for name, v in FED.items()}


def test_the_probes_and_framings_are_the_articles():
    assert {name: v.split() for name, v in eom.PROBES.items()} == {
        name: [f"{x:.1f}" for x in FED[name][0]] for name in eom.PROBES
    }
    for section in eom.SECTIONS:  # the ramp framed as the article frames each section
        X, y = eom.framed(section, common.echo_sequence(5)[None])
        X0, y0 = common.make_data(section, 5)
        assert X.shape == X0.shape and y.shape == y0.shape
        np.testing.assert_array_equal(X, X0)
        np.testing.assert_array_equal(y, y0)
    X, y = eom.framed("one_to_one", np.zeros((3, 5)))  # a value a sample, one step each
    assert X.shape == (15, 1, 1) and y.shape == (15, 1)


@pytest.mark.parametrize("section, outputs", [("one_to_one", 1), ("many_to_one", 5)])
def test_the_models_are_the_articles_at_the_rate_asked(section, outputs):
    model = eom.build_model(section, 0.01)
    assert model.count_params() == common.lstm_params(1, 5) + common.dense_params(5, outputs)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


def fake_outputs(kind: str, budgets: int = 1) -> np.ndarray:
    """What a model that echoes ("echo") or gives the ramp back ("ramp") outputs for FED, as
    (seeds 1, budgets, sequences, 5)."""
    given = np.concatenate([FED[n] if kind == "echo" else [RAMP] * len(FED[n]) for n in FED])
    return np.broadcast_to(given, (1, budgets, *given.shape))


def test_the_distances_are_those_written_out():
    echo, memorised = (
        eom.distances(fake_outputs("echo"), FED),
        eom.distances(fake_outputs("ramp"), FED),
    )
    for name, sequences in FED.items():
        apart = np.abs(sequences - RAMP).mean()  # what each scores on the other's measure
        assert echo[name]["echo"][0, 0] == memorised[name]["memorise"][0, 0] == 0
        assert echo[name]["memorise"][0, 0] == pytest.approx(apart)
        assert memorised[name]["echo"][0, 0] == pytest.approx(apart)
    assert echo["novel"]["memorise"][0, 0] == pytest.approx(  # 0.4 0.24 0.3 0.2 and held out
        np.mean([0.4, 0.24, 0.3, 0.2, np.abs(FED["held_out"] - RAMP).mean()])
    )


BUDGETS = {0.01: [50, 100, 300], 0.001: [50, 100, 300, 1000]}


def reported(changes: dict | None = None) -> tuple[dict, str]:
    """report() on fake outputs: the ramp-trained sequence models give the ramp back, one_to_one
    and the random-trained ones echo, except at lr 0.001 before 1000 epochs; `changes` says
    what else some (section, training) gives. Returns report()'s claims and answer."""
    kind = {("one_to_one", "ramp"): "echo", ("many_to_one", "ramp"): "ramp"}
    kind |= {("many_to_many", "ramp"): "ramp"} | {(s, 0.01): "echo" for s in eom.LEARNERS}
    kind |= {(s, 0.001): ("ramp", "ramp", "ramp", "echo") for s in eom.LEARNERS}
    out = {}
    for key, k in (kind | (changes or {})).items():
        k = [k] * (1 if key[1] == "ramp" else len(BUDGETS[key[1]])) if isinstance(k, str) else k
        out[key] = np.concatenate([fake_outputs(each) for each in k], axis=1)
    run = mock.Mock(args=SimpleNamespace(seeds=1, samples=300))  # the lesson's run
    eom.report(run, FED, BUDGETS, out, {key: eom.distances(o, FED) for key, o in out.items()})
    claims = {c.args[1]: c.args[0] for c in run.expect.call_args_list}
    return claims, run.answer.call_args.args[0].format(**run.answer.call_args.kwargs)


def test_the_answer_and_every_claim_hold_on_outputs_that_bear_them_out():
    claims, answer = reported()
    assert all(claims.values()) and len(claims) == 5, claims
    assert "learn the echo by 50 epochs" in answer and "echoes by 1000" in answer
    assert len(answer.split()) <= MAX_ANSWER_WORDS


@pytest.mark.parametrize(
    "kinds, claim",
    [
        ({("many_to_one", "ramp"): "echo"}, "many_to_one trained on the ramp returns it"),
        ({("many_to_many", "ramp"): "echo"}, "many_to_many trained on the ramp returns it"),
        ({("one_to_one", "ramp"): "ramp"}, "one_to_one trained on the ramp echoes in 0-1"),
        ({("many_to_one", 0.01): "ramp"}, "both sequence models trained on random sequences"),
        ({("many_to_one", 0.001): "echo", ("many_to_many", 0.001): "echo"}, "at lr 0.001"),
    ],
)
def test_each_claim_fails_when_the_outputs_contradict_it(kinds, claim):
    claims, _ = reported(kinds)
    failed = [c for c, holds in claims.items() if not holds]
    assert len(failed) == 1 and failed[0].startswith(claim), claims


def test_bad_input_is_one_line_and_exit_2(capsys):
    code, out, err = run_main(eom, ["--samples", "5"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "--samples" in err


default = quick_run_fixture("echo_or_memorise", "--seeds", "1")  # the default run, on TF: ~25 s


@pytest.mark.slow
def test_the_default_run_ends_well_and_its_answer_quotes_its_tables(default):
    proc, result = default
    ended_well("echo_or_memorise", proc, result)
    assert result["check_passed"]
    echo, memorise, random = result["tables"].values()
    never_seen = {"echo": echo[-1], "memorise": memorise[-1]}
    assert never_seen["echo"]["fed"] == "never seen (mean)"
    for name, figure in result["figures"].items():
        measure, _, section = name.partition("_")
        if measure in never_seen:
            assert figure == pytest.approx(never_seen[measure][section])
    # the baseline: an echo's memorise distance is its input's distance from the ramp
    assert [r["|fed - ramp|"] for r in echo[1:6]] == pytest.approx([0.4, 0.24, 0.3, 0.2, 1.0])
    worst = {(r["lr"], r["epochs"]): max(r[s] for s in eom.LEARNERS) for r in random}
    fast = min(epochs for (lr, epochs), e in worst.items() if lr == 0.01 and e < 0.05)
    assert f"learn the echo by {fast} epochs" in result["answer"]
    late = next(r for r in random if (r["lr"], r["epochs"]) == (0.001, fast))
    assert result["figures"]["x"] == pytest.approx(max(late[s] for s in eom.LEARNERS))
    assert (proc.folder / "echo_or_memorise.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
