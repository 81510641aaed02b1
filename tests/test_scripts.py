"""Smoke tests: each script run as a user runs it, checked against the echo targets and the
closed-form parameter counts (never against numbers copied from an earlier run)."""

import json

import numpy as np
import pytest

import common
import many_to_one
import one_to_one
from conftest import SCRIPTS, printed_predictions, run_main, run_script

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


@pytest.mark.parametrize("name", SCRIPTS)
def test_default_run_echoes_the_sequence(default_runs, name):
    proc, result = default_runs[name]
    assert proc.returncode == 0, proc.stderr[-2000:]
    targets = [common.fmt(v) for v in common.echo_sequence(5)]
    assert printed_predictions(proc.stdout) == targets
    assert np.max(np.abs(np.array(result["predictions"]) - result["targets"])) <= 0.03
    assert result["targets"] == [float(v) for v in common.echo_sequence(5)]
    assert "Traceback" not in proc.stderr and "input_shape" not in proc.stderr


@pytest.mark.parametrize("name", SCRIPTS)
def test_default_run_prints_the_counts(default_runs, name):
    proc, result = default_runs[name]
    counts = EXPECTED_COUNTS[name]
    assert [layer["params"] for layer in result["layers"]] == counts
    assert result["total_params"] == sum(counts)
    assert f"Total params: {sum(counts)} (" in proc.stdout  # Keras' own summary, before training
    assert proc.stdout.index("Total params") < proc.stdout.index("Predictions:")
    for count in counts:
        assert f" {count}  " in proc.stdout.split("Parameter check")[1]


@pytest.mark.parametrize("name", SCRIPTS)
def test_side_by_side_block(default_runs, name):
    proc, result = default_runs[name]
    block = proc.stdout.split("Side by side with the article")[1]
    assert "0 mismatch(es)" in block and "MISMATCH" not in block
    assert "differs: Keras 2.0 printed counts as floats" in block
    verdicts = {c["quantity"]: c["verdict"] for c in result["comparison"]}
    assert all(verdicts[f"prediction {i}"] == "same" for i in range(1, 6))
    assert result["check_passed"] is True


def test_json_fields(default_runs):
    _, result = default_runs["many_to_many"]
    for key in (
        "script",
        "config",
        "backend",
        "versions",
        "layers",
        "total_params",
        "predictions",
        "targets",
        "final_loss",
        "loss_history",
        "seconds",
        "heads",
    ):
        assert key in result
    assert len(result["loss_history"]) == result["config"]["epochs"] == 1000
    assert result["final_loss"] == result["loss_history"][-1]
    assert set(result["seconds"]) == {"build", "fit", "predict"}
    assert result["versions"]["keras"].startswith("3.")
    assert [layer["output_shape"] for layer in result["layers"]] == ["(None, 5, 5)", "(None, 5, 1)"]


def test_same_seed_same_stdout(default_runs):
    first, _ = default_runs["many_to_many"]
    again, _ = default_runs["again"]  # the same flags, in another process
    assert again.returncode == 0 and again.stdout == first.stdout


# The remaining runs call the scripts' main() in this process: the same code path after the
# imports, without paying for a fresh TensorFlow each time.


def test_check_fails_when_training_cannot_converge(capsys):
    code, out, err = run_main(one_to_one, ["--epochs", "1", "--check", "--verbose", "0"], capsys)
    assert code == 1
    assert "MISMATCH" in out and "check failed" in err


def test_nan_loss_stops_with_exit_1(tmp_path, capsys):
    out = tmp_path / "r.json"
    argv = ["--lr", "1e38", "--epochs", "50", "--json", str(out), "--plot", str(tmp_path / "p.png")]
    code, _, err = run_main(many_to_one, argv, capsys)
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("error: training stopped: the loss became")
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_study_table_interval_and_plot(tmp_path, capsys):
    png, out, alone = tmp_path / "loss.png", tmp_path / "r.json", tmp_path / "alone.json"
    short = ["--epochs", "30", "--verbose", "0"]
    argv = ["--seeds", "2", *short, "--plot", str(png), "--json", str(out)]
    code, stdout, stderr = run_main(many_to_one, argv, capsys)
    assert code == 0
    study = json.loads(out.read_text())["study"]
    assert [r["seed"] for r in study["seeds"]] == [1, 2]
    assert study["n"] == 2 and 0 <= study["ci95"][0] <= study["ci95"][1] <= 1
    assert "max_abs_error" in stdout and "reproduced in " in stdout and "95% CI" in stdout
    assert stderr.count("(--seed ") == 2  # progress, one line per seed
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the study reuses the compiled loop for seed 2: it must train exactly as a run of its own
    assert run_main(many_to_one, ["--seed", "2", *short, "--json", str(alone)], capsys)[0] == 0
    second, single = study["seeds"][1], json.loads(alone.read_text())
    assert second["history"] == single["loss_history"]
    assert second["predictions"] == single["predictions"]


def test_bad_plot_path_fails_before_training(tmp_path):
    proc = run_script("one_to_one", "--plot", str(tmp_path / "missing" / "p.png"))
    assert proc.returncode == 2 and "--plot" in proc.stderr
    assert proc.stdout == ""  # nothing built, nothing trained
