"""questions/echo_or_memorise.py: the article's models trained on the ramp alone give it back,
the same ones trained on random sequences echo; every figure recomputed here from the raw outputs
the JSON keeps, against probes written out by hand."""

import contextlib
import io
import json
import subprocess

import numpy as np
import pytest

import common
from checks import QUESTION_FIELDS
from conftest import rendered, run_all, run_main, said_out_of_turn
from questions import echo_or_memorise as eom

SCRIPT = "questions/echo_or_memorise.py"
RAMP = [0.0, 0.2, 0.4, 0.6, 0.8]  # the article's sequence, written out: not the script's
NAMED = {  # the probes the script must feed, written out
    "ramp": RAMP,
    "permuted": [0.8, 0.2, 0.6, 0.0, 0.4],
    "constant": [0.4] * 5,
    "interleaved": [0.9, 0.1, 0.5, 0.3, 0.7],
    "shifted": [0.2, 0.4, 0.6, 0.8, 1.0],
    "beyond": [1.0, 1.2, 1.4, 1.6, 1.8],
}
NOVEL = ("permuted", "constant", "interleaved", "shifted", "held_out")  # never seen, in 0-1
QUICK = ["--seeds", "2", "--epochs", "5", "--sequences", "20", "--verbose", "0"]


def in_process(argv: list[str]) -> subprocess.CompletedProcess:
    """main(argv) in this process, with what it prints kept (a module fixture has no capsys)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = eom.main(argv)
        except SystemExit as e:
            code = e.code
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """A small run (2 seeds; 5 epochs on 20 random sequences: too few to echo) with --check."""
    folder = tmp_path_factory.mktemp("echo_or_memorise")
    argv = [*QUICK, "--check", "--json", str(folder / "r.json"), "--plot", str(folder / "r.png")]
    proc = in_process(argv)
    proc.folder = folder
    return proc, json.loads((folder / "r.json").read_text())


def recomputed(results: dict) -> dict:
    """(section, training) -> per seed, per probe: (echo, memorise), from the raw outputs."""
    fed = {name: np.array(v) for name, v in results["probes"].items()}
    out = {}
    for section, entry in results["sections"].items():
        for training in ("ramp", "random"):
            out[section, training] = [
                {
                    name: (
                        np.abs(np.array(o) - fed[name]).mean(),
                        np.abs(np.array(o) - np.array(RAMP)).mean(),
                    )
                    for name, o in run["outputs"].items()
                }
                for run in entry[training]["runs"]
            ]
    return out


def novel_means(per_seed: list, measure: int) -> list:
    return [np.mean([seed[name][measure] for name in NOVEL]) for seed in per_seed]


def test_the_quick_run_ends_as_a_question_does(quick):
    proc, result = quick
    assert said_out_of_turn(proc.stderr) == []
    assert list(result) == QUESTION_FIELDS
    assert result["script"] == SCRIPT
    assert proc.stdout.splitlines()[-1] == result["answer"]
    assert result["answer"].startswith("Answer: ") and "seeds 1-2" in result["answer"]
    # 5 epochs on 20 random sequences cannot echo: --check says so, and the answer says "yet"
    assert not result["check_passed"] and proc.returncode == 1
    assert proc.stderr.splitlines()[-1].startswith("check failed: ")
    assert "trained on random sequences" in proc.stderr.splitlines()[-1]
    assert "does not echo yet" in result["answer"]
    assert (proc.folder / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_models_are_fed_the_probes_and_trained_as_the_article_says(quick):
    _, result = quick
    results = result["results"]
    assert results["ramp"] == pytest.approx(RAMP)
    for name, values in NAMED.items():
        assert results["probes"][name] == [pytest.approx(values)]
    held = np.array(results["probes"]["held_out"])
    trained_on = np.array(results["random_sequences"])
    assert held.shape == (100, 5) and trained_on.shape == (20, 5)
    assert held.min() >= 0 and held.max() < 1 and trained_on.min() >= 0 and trained_on.max() < 1
    assert not set(map(tuple, held)) & set(map(tuple, trained_on))  # held out: none trained on
    for section, entry in results["sections"].items():
        article = common.ARTICLE[section]
        ramp = entry["ramp"]
        assert (ramp["epochs"], ramp["batch_size"], ramp["lr"]) == (
            article.epochs,
            article.batch_size,
            common.ARTICLE_LR,
        )
        assert entry["random"]["epochs"] == 5 and entry["random"]["lr"] == 0.01
        outputs = 1 if section != "many_to_one" else 5
        assert entry["params"] == common.lstm_params(1, 5) + common.dense_params(5, outputs)
        assert [r["seed"] for r in ramp["runs"]] == [1, 2] == results["seeds"]


def test_every_distance_is_recomputed_from_the_raw_outputs(quick):
    _, result = quick
    results = result["results"]
    for (section, training), per_seed in recomputed(results).items():
        entry = results["sections"][section][training]
        for run, mine in zip(entry["runs"], per_seed, strict=True):
            for name, (echo, memorise) in mine.items():
                assert run["distances"][name]["echo"] == pytest.approx(echo, abs=1e-6)
                assert run["distances"][name]["memorise"] == pytest.approx(memorise, abs=1e-6)
        for measure, key in ((0, "echo"), (1, "memorise")):
            means = novel_means(per_seed, measure)
            assert entry["novel"][key]["median"] == pytest.approx(np.median(means), abs=1e-6)
            assert entry["novel"][key]["range"] == pytest.approx([min(means), max(means)])
    apart = {n: np.abs(np.array(v) - np.array(RAMP)).mean() for n, v in results["probes"].items()}
    for name, value in apart.items():  # the baseline: an echo's memorise, the ramp's echo
        assert results["input_vs_ramp"][name] == pytest.approx(value, abs=1e-6)


def test_one_to_one_gives_one_value_one_output_and_the_sequence_models_do_not(quick):
    _, result = quick
    results = result["results"]
    for section, entry in results["sections"].items():
        for training in ("ramp", "random"):
            spread = 0.0
            for run in entry[training]["runs"]:
                by_value = {}
                for name in NAMED:
                    for v, o in zip(NAMED[name], run["outputs"][name][0], strict=True):
                        by_value.setdefault(round(v, 6), []).append(o)
                spread = max(spread, max(np.ptp(outs) for outs in by_value.values()))
            assert entry[training]["same_value_spread"] == pytest.approx(spread, abs=1e-7)
            if section == "one_to_one":
                assert spread <= 1e-5
            elif training == "ramp":  # the same value at another step: another output
                assert spread > 0.1


def test_the_answer_quotes_the_recomputed_medians(quick):
    _, result = quick
    per_seed = recomputed(result["results"])
    answer = result["answer"]

    def shown(value: float) -> str:
        return f"{value:.3f}" if value < 0.05 else f"{value:.2f}"

    for key, measure in [
        (("many_to_one", "ramp"), 1),
        (("many_to_one", "ramp"), 0),
        (("many_to_many", "ramp"), 1),
        (("many_to_many", "random"), 0),
        (("one_to_one", "ramp"), 0),
    ]:
        assert shown(float(np.median(novel_means(per_seed[key], measure)))) in answer
    assert "1000 epochs" in answer and "500 epochs" in answer
    assert "Trained on 20 random sequences for 5 epochs" in answer


def test_framed_as_the_article_frames_each_section():
    ramp = common.echo_sequence(5)[None]
    for section in common.ARTICLE:
        X, y = eom.framed(section, ramp)
        X0, y0 = common.make_data(section, 5)
        assert X.shape == X0.shape and y.shape == y0.shape
        np.testing.assert_array_equal(X, X0)
        np.testing.assert_array_equal(y, y0)
    X, y = eom.framed("one_to_one", np.zeros((3, 5), "float32"))
    assert X.shape == (15, 1, 1) and y.shape == (15, 1)


@pytest.mark.parametrize(
    "argv, said",
    [
        (["--sequences", "5"], "argument --sequences: must be a whole number from 10"),
        (["--seeds", "0"], "argument --seeds: must be a whole number from 1"),
        (["--epochs", "ten"], "argument --epochs: must be a whole number"),
        (["--lr", "-1"], "argument --lr: must be a finite number greater than 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, said, capsys):
    code, out, err = run_main(eom, argv, capsys)
    assert code == 2 and out == ""
    assert err.splitlines() == [err.strip()] and err.startswith(f"{SCRIPT}: error: {said}")


def test_check_fails_when_a_figure_contradicts_the_answer(quick):
    _, result = quick
    results = json.loads(json.dumps(result["results"]))
    sections = results["sections"]
    for section in eom.SECTIONS:  # as if the random-trained copies echoed
        sections[section]["random"]["novel"]["echo"]["median"] = 0.01
    assert eom.failed(results) is None
    sections["many_to_one"]["ramp"]["novel"]["memorise"]["median"] = 0.9
    assert "many_to_one trained on the ramp" in eom.failed(results)
    sections["many_to_one"]["ramp"]["novel"]["memorise"]["median"] = 0.01
    sections["one_to_one"]["ramp"]["same_value_spread"] = 1e-3
    assert "one_to_one's outputs for one input value" in eom.failed(results)


@pytest.mark.slow
def test_the_default_run_memorises_on_the_ramp_and_echoes_on_random_sequences(tmp_path_factory):
    """The README's run (conftest.rendered: once a session) on TensorFlow, beside the article's
    scripts at seed 1: their printed predictions are this run's seed-1 outputs for the ramp."""
    tmp_path = tmp_path_factory.mktemp("articles")
    runs = run_all(
        {
            s: ((s, "--seed", "1", "--json", str(tmp_path / f"{s}.json")), {})
            for s in ("many_to_one", "many_to_many")
        }
    )
    proc, result, _ = rendered("echo_or_memorise", tmp_path_factory)
    assert proc.returncode == 0, proc.stderr
    assert said_out_of_turn(proc.stderr) == []
    assert result["check_passed"] and proc.stdout.splitlines()[-1] == result["answer"]
    results = result["results"]
    assert results["seeds"] == [1, 2, 3, 4, 5]
    per_seed = recomputed(results)
    for name in NOVEL:  # many_to_one: nearer the ramp than its input on every probe and seed
        for echo, memorise in (seed[name] for seed in per_seed["many_to_one", "ramp"]):
            assert memorise < echo
    for seed in per_seed["many_to_one", "ramp"]:  # and on average, by far
        assert np.mean([seed[n][1] for n in NOVEL]) < np.mean([seed[n][0] for n in NOVEL]) / 5
    for seed in per_seed["many_to_many", "ramp"]:  # on held-out sequences, and on average
        assert seed["held_out"][1] < seed["held_out"][0]
        assert np.mean([seed[n][1] for n in NOVEL]) < np.mean([seed[n][0] for n in NOVEL])
    for section in eom.SECTIONS:  # random-trained: an echo, far from the ramp
        for seed in per_seed[section, "random"]:
            assert seed["held_out"][0] < 0.05 and seed["held_out"][1] > 0.25
    for section in ("many_to_one", "many_to_many"):  # the article's models, as its scripts train
        assert runs[section].returncode == 0, runs[section].stderr
        article = json.loads((tmp_path / f"{section}.json").read_text())
        seed_1 = results["sections"][section]["ramp"]["runs"][0]["outputs"]["ramp"][0]
        np.testing.assert_allclose(seed_1, article["predictions"], atol=1e-5)
