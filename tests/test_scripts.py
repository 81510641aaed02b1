"""Smoke tests: each script run as a user runs it, checked against the echo targets and the
closed-form parameter counts (never against numbers copied from an earlier run)."""

import json
import re

import numpy as np
import pytest

import common
import many_to_one
import one_to_one
from checks import echoed_and_recorded, ended_well
from conftest import QUICK_FLAGS, SCRIPTS, printed_predictions, quick_run, run_main, run_script

EXPECTED_COUNTS = {  # from the formulas, layer by layer
    "one_to_one": [common.lstm_params(1, 5), common.dense_params(5, 1)],
    "many_to_one": [common.lstm_params(1, 5), common.dense_params(5, 5)],
    "many_to_many": [common.lstm_params(1, 5), common.dense_params(5, 1)],
}


def test_the_formulas_give_the_articles_counts():
    assert {k: (*v, sum(v)) for k, v in EXPECTED_COUNTS.items()} == {
        "one_to_one": (140, 6, 146),
        "many_to_one": (140, 30, 170),
        "many_to_many": (140, 6, 146),
    }


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory) -> dict:
    """The article scripts' quick runs (conftest's quick_run), each on first use."""

    class Runs(dict):
        def __missing__(self, name):
            self[name] = quick_run(name, tmp_path_factory.mktemp(name))
            return self[name]

    return Runs()


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_runs_end_to_end_at_a_few_epochs(quick_runs, name):
    """The quick tier's pass over the article's scripts (one_to_one.py in a process of its own,
    the others through main() as a notebook calls it), with --check: the exit status is 0 when
    the check passes, else 1 with the reason as the last line; on stderr (sys.stderr's, for the
    runs through main()) no traceback and no warning. Each question's file does the same."""
    proc, result = quick_runs[name]
    ended_well(name, proc, result)


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_echo_script_prints_and_records_its_predictions(quick_runs, name):
    proc, result = quick_runs[name]
    echoed_and_recorded(name, proc, result)


def test_the_plot_of_a_quick_run_is_a_png(quick_runs):
    proc, _ = quick_runs["one_to_one"]
    assert (proc.folder / "one_to_one.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def parameter_check_rows(stdout: str) -> dict:
    """The rows of the printed parameter check: label -> (keras count, formula text, verdict)."""
    block = stdout.split("Parameter check (Keras' count vs the closed-form formula):\n")[1]
    rows = {}
    for line in block.split("\n\n")[0].splitlines()[1:]:  # below the header
        label, keras_count, formula, verdict = re.split(r"\s{2,}", line.strip())
        rows[label] = (int(keras_count), formula, verdict)
    return rows


# The remaining runs call the scripts' main() in this process: the same code path after the
# imports, without paying for a fresh TensorFlow each time.


def test_check_fails_when_training_is_too_short(quick_runs):
    proc, result = quick_runs["one_to_one"]  # QUICK_EPOCHS of the article's 1000
    assert proc.returncode == 1 and result["check_passed"] is False
    assert "MISMATCH" in proc.stdout
    assert proc.stderr.splitlines()[-1] == "check failed: see MISMATCH (or DIFFERENT) above"


def test_nan_loss_stops_with_exit_1_and_leaves_files_alone(tmp_path, capsys):
    out, png = tmp_path / "r.json", tmp_path / "p.png"
    out.write_text('{"an earlier run": "its results"}')
    argv = ["--lr", "1e38", "--epochs", "50", "--json", str(out), "--plot", str(png)]
    code, _, err = run_main(many_to_one, argv, capsys)
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("error: training stopped: the loss became")
    assert out.read_text() == '{"an earlier run": "its results"}'  # neither replaced nor half
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # no plot, no temporary file


@pytest.mark.slow  # several trainings: the quick tier trains a study and fit elsewhere
def test_study_counts_and_interval_are_right(tmp_path, capsys):
    from scipy.stats import beta

    png, out, alone = tmp_path / "loss.png", tmp_path / "r.json", tmp_path / "alone.json"
    short = ["--epochs", "250", "--verbose", "0"]  # few enough epochs that some seeds miss
    argv = ["--seeds", "4", *short, "--plot", str(png), "--json", str(out)]
    code, stdout, stderr = run_main(many_to_one, argv, capsys)
    assert code == 0
    study = json.loads(out.read_text())["study"]
    seeds, targets = study["seeds"], common.echo_sequence(5)
    assert [r["seed"] for r in seeds] == [1, 2, 3, 4]
    # recount from the predictions: reproduced means every value prints as its target
    printed_as_targets = [
        [common.fmt(p) for p in r["predictions"]] == [common.fmt(t) for t in targets] for r in seeds
    ]
    assert [r["reproduced"] for r in seeds] == printed_as_targets
    k, n = sum(printed_as_targets), 4
    assert 0 < k < n  # a mix, so the interval is a real one
    assert (study["reproduced"], study["n"]) == (k, n)
    # Clopper-Pearson from the beta distribution, not from scipy's binomtest
    low, high = beta.ppf(0.025, k, n - k + 1), beta.ppf(0.975, k + 1, n - k)
    np.testing.assert_allclose(study["ci95"], [low, high], rtol=1e-9)
    summary = f"reproduced in {k}/{n} seeds (95% CI {100 * low:.0f}-{100 * high:.0f}%)"
    assert {round(100 * low), round(100 * high)}.isdisjoint({0, 100})  # edges: test_seeds.py
    assert study["summary"] == summary
    assert stdout.strip().splitlines()[-1] == f"Seeds reproduced: {k}/{n} at 250 epochs"
    assert study["by_budget"] == [{"epochs": 250, "reproduced": k, "n": n, "ci95": study["ci95"]}]
    assert stderr.count(": trained to epoch 250") == 4  # progress, one line per seed
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the study reuses the compiled loop for seed 2: it must train exactly as a run of its own
    assert run_main(many_to_one, ["--seed", "2", *short, "--json", str(alone)], capsys)[0] == 0
    second, single = seeds[1], json.loads(alone.read_text())
    assert second["history"] == single["loss_history"]
    assert second["predictions"] == single["predictions"]


@pytest.mark.slow  # several trainings: the quick tier trains a study and fit elsewhere
def test_verbose_levels_and_naive_fit_from_the_command_line(tmp_path, capsys):
    epochs = ["--epochs", "20"]
    _, quiet, _ = run_main(one_to_one, [*epochs, "--verbose", "0"], capsys)
    assert "loss" not in quiet.split("Predictions:")[0].split("Non-trainable params")[1]
    _, tenth, _ = run_main(one_to_one, [*epochs, "--verbose", "1"], capsys)
    assert re.findall(r"^epoch +(\d+)/20  loss \S+$", tenth, re.M) == [
        str(e) for e in range(2, 21, 2)
    ]
    fast_json, naive_json = tmp_path / "fast.json", tmp_path / "naive.json"
    _, every, _ = run_main(
        one_to_one, [*epochs, "--verbose", "2", "--json", str(fast_json)], capsys
    )
    assert re.findall(r"^Epoch (\d+)/20$", every, re.M) == [str(e) for e in range(1, 21)]
    assert len(re.findall(r"^1/1 - loss: \d\.\d{4}$", every, re.M)) == 20
    argv = [*epochs, "--verbose", "2", "--fit", "naive", "--json", str(naive_json)]
    _, keras_lines, _ = run_main(one_to_one, argv, capsys)
    assert re.findall(r"^Epoch (\d+)/20$", keras_lines, re.M) == [str(e) for e in range(1, 21)]
    # model.fit itself at verbose 0, printing the fast loop's lines: no timings to differ
    assert len(re.findall(r"^1/1 - loss: \d\.\d{4}$", keras_lines, re.M)) == 20
    assert "ms/step" not in keras_lines
    fast, naive = (json.loads(p.read_text()) for p in (fast_json, naive_json))
    assert naive["config"]["fit"] == "naive" and fast["config"]["fit"] == "fast"
    np.testing.assert_allclose(fast["loss_history"], naive["loss_history"], rtol=1e-5, atol=0)


def test_a_whole_run_at_another_size(quick_runs):
    proc, result = quick_runs["many_to_many"]
    assert QUICK_FLAGS["many_to_many"] == ["--length", "7", "--units", "3"]
    stdout = proc.stdout
    assert "Side by side (--length 7 --units 3 is not the article's setup" in stdout
    lstm, dense = common.lstm_params(1, 3), common.dense_params(3, 1)
    rows = {c["quantity"]: c for c in result["comparison"]}
    assert [rows[q]["reference"] for q in ("layer 1 params", "layer 2 params", "total params")] == [
        str(lstm),
        str(dense),
        str(lstm + dense),
    ]
    targets = common.echo_sequence(7)
    assert [rows[f"prediction {i + 1}"]["reference"] for i in range(7)] == [
        common.fmt(t, 3) for t in targets
    ]
    for i, p in enumerate(result["predictions"]):  # 30 epochs: some miss, and are called so
        close = abs(p - targets[i]) < 0.05
        assert rows[f"prediction {i + 1}"]["verdict"] == ("same" if close else "MISMATCH")
    assert len(printed_predictions(stdout)) == 7


def test_bad_plot_path_fails_before_training(tmp_path):
    proc = run_script("one_to_one", "--plot", str(tmp_path / "missing" / "p.png"))
    assert proc.returncode == 2 and "--plot" in proc.stderr
    assert proc.stdout == ""  # nothing built, nothing trained
