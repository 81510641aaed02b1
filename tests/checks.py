"""What every script's run must show, checked the same way in each test file: a question's
ending (status, stderr, its JSON's shared fields, its Answer line) and an echo script's record."""

import re

import common
from conftest import ALL_SCRIPTS, QUICK_EPOCHS, SCRIPTS, printed_predictions, said_out_of_turn

QUESTION_FIELDS = [  # every question's JSON, in this order (repro.lesson.Lesson.answer)
    *("script", "question", "config", "backend", "floatx", "versions", "answer", "figures"),
    *("claims", "check_passed", "tables", "seconds"),
]
MAX_ANSWER_WORDS = 60


def ended_well(name: str, proc, result) -> None:
    """What every script's quick run must show, with --check: status 0 when the check passed,
    else 1 with the failed claim as the last line of stderr; no traceback or warning on stderr;
    a question's JSON with the shared fields, its Answer line (at most 60 words) the last of
    stdout, and check_passed what its claims say."""
    assert said_out_of_turn(proc.stderr) == []
    assert result["script"] == ALL_SCRIPTS[name]
    if result["check_passed"]:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode == 1 and proc.stderr.splitlines()[-1].startswith("check failed")
    if name not in SCRIPTS:
        assert list(result) == QUESTION_FIELDS
        assert proc.stdout.splitlines()[-1] == result["answer"]
        assert result["answer"].startswith("Answer: ")
        assert len(result["answer"].split()) - 1 <= MAX_ANSWER_WORDS, result["answer"]
        assert result["check_passed"] == all(c["holds"] for c in result["claims"])


def echoed_and_recorded(name: str, proc, result) -> None:
    """What an article script's quick run must show: only its timings on stderr; the printed
    predictions the JSON's; a falling loss of QUICK_EPOCHS epochs; Keras' counts the formulas'
    at the run's length and units; the targets the echo sequence; the summary and the
    side-by-side block."""
    record = result
    said = proc.stderr.splitlines()[: None if result["check_passed"] else -1]  # less its reason
    assert len(said) == 1 and re.fullmatch(r"seconds: fit [\d.]+", said[0])  # TensorFlow's: none
    assert record["printed"] == printed_predictions(proc.stdout)
    assert record["printed"] == [common.fmt(p) for p in record["predictions"]]
    history = record["loss_history"]
    assert len(history) == QUICK_EPOCHS and history[-1] < history[0]
    section = name
    length, units = result["config"]["length"], result["config"]["units"]
    outputs = length if section == "many_to_one" else 1
    counts = [common.lstm_params(1, units), common.dense_params(units, outputs)]
    assert [r["params"] for r in record["layers"]] == counts
    assert record["targets"] == [float(v) for v in common.echo_sequence(length)]
    assert "Side by side" in proc.stdout and "Model: " in proc.stdout  # summary before training
