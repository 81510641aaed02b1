"""questions/td_or_dense.py: TimeDistributed(Dense) against Dense on 3D input, the other heads,
where the wrapper matters; many_to_many_td.py --head dense; and the framings table."""

import argparse
import json
import re

import numpy as np
import pytest

import common
import many_to_many_td
from checks import echoed_and_recorded, ended_well
from conftest import (
    QUICK_FLAGS,
    ROOT,
    printed_predictions,
    quick_run_fixture,
    run_main,
    run_script,
    said_out_of_turn,
)
from questions import td_or_dense
from repro import cli, training
from repro.backend import seed_everything

# docs/td-or-dense.md's bound: two units in the last place of a float32 near 1 (the two heads
# sum the same products in different orders)
FLOAT32_ROUNDING = 2 * float(np.finfo(np.float32).eps)
assert td_or_dense.FLOAT32_ROUNDING == FLOAT32_ROUNDING  # --check's bound is the same


@pytest.fixture(scope="module")
def heads():
    seed_everything(7)
    args = argparse.Namespace(length=5, units=5, lr=0.001, head="timedistributed")
    model = many_to_many_td.build_model(args)
    X, y = common.make_data("many_to_many", 5)
    training.train(model, X, y, 20, 1)  # any weights will do; trained ones are not all-zero biases
    return {h["head"]: h for h in td_or_dense.compare_heads(model, X)}


def test_dense_and_timedistributed_agree_with_the_same_weights(heads):
    assert heads["Dense(1) on the 3D output"]["max_abs_difference"] <= FLOAT32_ROUNDING


def test_head_counts_match_the_formulas(heads):
    steps, units = 5, 5
    assert [h["params"] for h in heads.values()] == [
        common.dense_params(units, 1),  # TimeDistributed(Dense(1)): 6
        common.dense_params(units, 1),  # Dense(1) on (steps, units): the same 6
        common.dense_params(units, steps),  # last state -> Dense(5): 30
        common.dense_params(steps * units, steps),  # Flatten -> Dense(5): 130
        steps * common.dense_params(units, 1),  # one Dense(1) per step: 30
    ]
    assert [h["params"] for h in heads.values()] == [6, 6, 30, 130, 30]


@pytest.mark.slow  # the article's 500 epochs
def test_dense_head_reproduces_the_echo_at_the_default_seed(capsys):
    argv = ["--head", "dense", "--check", "--verbose", "0"]
    code, out, _ = run_main(many_to_many_td, argv, capsys)
    assert code == 0
    assert printed_predictions(out) == [common.fmt(v) for v in common.echo_sequence(5)]
    assert "(Dense)" in out and "TimeDistributed" not in out.split("Predictions:")[0]
    assert "Total params: 146 (" in out


@pytest.mark.parametrize("framing", common.FRAMINGS)
def test_framing_param_counts_match_keras(framing):
    import keras

    X, _ = common.make_data(framing, 5)
    lstm = keras.layers.LSTM(5)
    lstm.build((None, *X.shape[1:]))
    assert lstm.count_params() == common.lstm_params(X.shape[2], 5)
    assert f"= {lstm.count_params()} |" in common.framings_markdown().split(f"`{framing}`")[1]


def test_readme_framings_table_is_the_generated_one():
    assert common.framings_markdown() in (ROOT / "README.md").read_text()


def test_large_heads_are_counted_not_built_past_their_size_limits(monkeypatch):
    import keras

    assert td_or_dense.heads_too_big(5, 5) is None
    assert td_or_dense.heads_too_big(400, 5) is None
    assert "weights" in td_or_dense.heads_too_big(10_000, 5)  # 500 million: 2 GiB
    assert "separate layers" in td_or_dense.heads_too_big(600, 2)
    steps, units = 600, 2
    args = argparse.Namespace(length=steps, units=units, lr=0.001, head="dense")
    model = many_to_many_td.build_model(args)
    X, _ = common.make_data("many_to_many", steps)
    built = []

    class Counted(keras.layers.Dense):  # every Dense the comparison makes, by its units
        def __init__(self, units, **kw):
            built.append(units)
            super().__init__(units, **kw)

    def no_flatten(*a, **kw):
        raise AssertionError("Flatten was built")

    monkeypatch.setattr(keras.layers, "Dense", Counted)
    monkeypatch.setattr(keras.layers, "Flatten", no_flatten)
    rows = td_or_dense.compare_heads(model, X)  # decided from the sizes, before building
    assert sorted(built) == [1, 1, steps]  # TimeDistributed's, the plain one, many-to-one's
    # kernel + bias by hand: 2*1 + 1; 2*600 + 600; (600*2)*600 + 600; 600 * (2*1 + 1)
    assert [h["params"] for h in rows] == [3, 3, 1800, 720_600, 1800]
    assert ["not built" in h["time_axis"] for h in rows] == [False, False, False, True, True]


def test_a_timedistributed_head_too_long_to_compile_is_refused_before_keras(capsys):
    def parse(*argv):
        return cli.parse_args(
            "many_to_many",
            list(argv),
            many_to_many_td.add_arguments,
            cli.check_head_length,
        )

    with pytest.raises(SystemExit) as e:
        parse("--length", "10000", "--units", "5")
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--head dense" in err[0]
    assert parse("--length", "10000", "--units", "5", "--head", "dense").length == 10000
    assert parse("--length", "1000", "--units", "5").head == "timedistributed"
    hint = capsys.readouterr().err
    assert hint.startswith("hint: at 1000 steps the TimeDistributed head")
    assert "the same 6 weights on every step" in hint  # units 5: a 5x1 kernel and a bias
    parse("--length", "100", "--units", "5")
    assert capsys.readouterr().err == ""  # short enough: no hint


def test_where_the_wrapper_still_matters():
    rows = {w["layer"]: w for w in td_or_dense.where_the_wrapper_matters(steps=5)}
    dense = rows["Dense(1)"]  # the article's case: the same layer either way
    assert dense["timedistributed"] == dense["alone"] == "(None, 5, 1)"
    assert dense["timedistributed_params"] == dense["alone_params"] == common.dense_params(5, 1)
    flatten = rows["Flatten()"]  # each step's 8x8 frame flattened, or the whole sequence at once
    assert (flatten["timedistributed"], flatten["alone"]) == ("(None, 5, 64)", "(None, 320)")
    conv = rows["Conv2D(4, 3)"]  # one 3x3 kernel per filter over one channel, shared by the steps
    assert conv["timedistributed"] == "(None, 5, 6, 6, 4)"
    assert conv["timedistributed_params"] == 3 * 3 * 1 * 4 + 4
    assert conv["alone"].startswith("refused by Keras: ") and conv["alone_params"] is None
    sub = rows["LSTM(4)"]  # one LSTM over each of the 5 sub-sequences of 6 steps, shared
    assert sub["timedistributed"] == "(None, 5, 4)"
    assert sub["timedistributed_params"] == common.lstm_params(1, 4)
    assert sub["alone"].startswith("refused by Keras: ")
    cnn = rows["Conv1D(4, 3) -> Flatten() -> LSTM(4)"]  # 8 values -> 6 windows x 4 filters = 24
    assert cnn["timedistributed"] == "(None, 4)"
    assert cnn["timedistributed_params"] == (3 * 1 * 4 + 4) + common.lstm_params(6 * 4, 4)
    assert cnn["alone"].startswith("refused by Keras: ")


quick = quick_run_fixture("td_or_dense")


def test_the_quick_run_ends_well_and_records_its_echo(quick):
    proc, result = quick
    ended_well("td_or_dense", proc, result)
    echoed_and_recorded("td_or_dense", proc, result)
    assert (proc.folder / "td_or_dense.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_question_prints_both_tables_and_writes_them_to_json(quick):
    proc, top = quick
    result = top["results"]
    assert QUICK_FLAGS["td_or_dense"] == ["--length", "7", "--units", "3"]
    assert proc.returncode == 0, proc.stderr  # with --check
    out = proc.stdout
    assert top["script"] == "questions/td_or_dense.py"
    dense = common.dense_params(3, 1)
    assert [h["params"] for h in result["heads"]] == [
        dense,  # TimeDistributed(Dense(1))
        dense,  # Dense(1) on the 3D output
        common.dense_params(3, 7),  # last state -> Dense(7)
        common.dense_params(7 * 3, 7),  # Flatten -> Dense(7)
        7 * dense,  # 7 unshared Dense(1)
    ]
    assert result["heads"][1]["max_abs_difference"] <= FLOAT32_ROUNDING
    assert [w["layer"] for w in result["wrapper"]] == [
        "Dense(1)",
        "Flatten()",
        "Conv2D(4, 3)",
        "LSTM(4)",
        "Conv1D(4, 3) -> Flatten() -> LSTM(4)",
    ]
    tables = out.split("Output heads on the same trained LSTM")[1]
    assert "Where TimeDistributed still changes the result" in tables
    for h in result["heads"]:  # each head's row: its name, count and formula as in the JSON
        assert re.search(
            rf"^  {re.escape(h['head'])} +{h['params']} +{re.escape(h['formula'])} ", tables, re.M
        )
    assert (
        "Side by side" not in out and "Model:" not in out
    )  # the question's tables, not the article's
    difference = f"{result['heads'][1]['max_abs_difference']:.1e}"
    assert out.strip().splitlines()[-1] == (
        "Answer: after return_sequences=True, Dense(1) on the 3D output has 4 weights like "
        f"TimeDistributed(Dense(1)) (4), and their outputs differ by at most {difference}: the "
        "same layer. The wrapper changes the result only for Flatten(), Conv2D(4, 3), LSTM(4), "
        "Conv1D(4, 3) -> Flatten() -> LSTM(4)."
    )


@pytest.mark.slow  # a benchmark, as the others (tests/backend_worker.py)
def test_the_td_vs_dense_benchmark_finds_the_same_outputs():
    from benchmarks import td_vs_dense

    rows = td_vs_dense.measure("tensorflow", [12], epochs=1, units=4)
    assert [(r["length"], r["head"]) for r in rows] == [(12, "timedistributed"), (12, "dense")]
    assert all(0 <= r["max_abs_difference"] <= FLOAT32_ROUNDING for r in rows)
    assert all(r["epoch_ms"] > 0 and r["build_and_compile_s"] >= 0 for r in rows)


def test_check_fails_only_when_the_heads_are_not_the_same():
    td = {"head": "TimeDistributed(Dense(1))", "params": 6}
    same = {"head": "Dense(1) on the 3D output", "params": 6, "max_abs_difference": 6e-8}
    assert td_or_dense.not_the_same([td, same]) is None
    apart = {**same, "max_abs_difference": 1e-3}
    assert "over float32 rounding" in td_or_dense.not_the_same([td, apart])
    bigger = {**same, "params": 7}
    assert "7" in td_or_dense.not_the_same([td, bigger])
    assert td_or_dense.not_the_same([td, {**same, "max_abs_difference": float("nan")}])


@pytest.mark.parametrize("name", td_or_dense.HEADS)
def test_each_trained_head_has_the_compared_heads_count(heads, name):
    """--train builds each head as a model of its own; its head has the weights the comparison
    counted for it (built another way: on the trained LSTM's outputs)."""
    args = argparse.Namespace(length=5, units=5, lr=0.001, trained_head=name)
    model = td_or_dense.build_head_model(args)
    lstm_weights = common.lstm_params(1, 5)
    row = list(heads.values())[td_or_dense.HEADS.index(name)]
    assert model.count_params() - lstm_weights == row["params"]
    assert model.output.shape[1] == 5  # an output for every step of the echo


@pytest.mark.slow
def test_train_gives_every_head_a_rate_from_the_same_seeds(tmp_path):
    out = tmp_path / "t.json"
    argv = ["--train", "--seeds", "3", "--epochs", "300", "--verbose", "0", "--json", str(out)]
    proc = run_script("questions/td_or_dense.py", *argv, backend="jax")
    assert proc.returncode == 0, proc.stderr
    assert said_out_of_turn(proc.stderr) == []
    heads = json.loads(out.read_text())["results"]["heads"]
    for h in heads:
        assert h["n"] == len(h["max_abs_errors"]) == 3
        assert h["reproduced"] == sum(e < 0.05 for e in h["max_abs_errors"])  # recounted
    # the same model with or without the wrapper, from the same seeds: the same training
    np.testing.assert_allclose(heads[0]["max_abs_errors"], heads[1]["max_abs_errors"], rtol=1e-5)
    assert "Every head trained on the echo" in proc.stdout
    answer = proc.stdout.strip().splitlines()[-1]
    assert answer.startswith("Answer: after return_sequences=True") and "most often" in answer
    assert "study" not in json.loads(out.read_text())["results"]  # the heads', not a sixth one
