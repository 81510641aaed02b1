"""Mistakes a user makes, refused before any training in one line (exit 2), and a terminated run
that leaves nothing half-written: the fourth review's cases, each in a process of its own."""

import json
import shutil
import signal
import subprocess
import sys

import pytest

from conftest import ROOT, user_env


def run(script: str, *args: str, cwd=ROOT, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        cwd=cwd,
        env=user_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line(done: subprocess.CompletedProcess) -> str:
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    return done.stderr


@pytest.mark.parametrize("script", ["one_to_one.py", "questions/cells.py"])
def test_a_source_file_named_as_an_output_is_refused_and_kept(script, tmp_path):
    """`--json many_to_one.py` replaced the source file with JSON, and the run said nothing."""
    source = tmp_path / "many_to_one.py"
    source.write_text("print('mine')\n")
    said = one_line(run(ROOT / script, "--json", source))
    assert "exists and is not a JSON document; it is not replaced" in said
    picture = tmp_path / "notes.png"
    picture.write_text("my notes\n")
    assert "is not a PNG picture" in one_line(run(ROOT / script, "--plot", picture))
    assert source.read_text() == "print('mine')\n" and picture.read_text() == "my notes\n"


def test_what_the_suite_wrote_there_or_an_empty_file_may_be_replaced(tmp_path):
    from repro.files import output_problem

    (tmp_path / "old.json").write_text('{"script": "one_to_one.py"}')
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "list.json").write_text("[1, 2]")  # JSON, but no result of ours
    (tmp_path / "old.png").write_bytes(b"\x89PNG\r\n\x1a\n...")
    assert output_problem(str(tmp_path / "old.json"), kind="json") is None
    assert output_problem(str(tmp_path / "empty.json"), kind="json") is None
    assert output_problem(str(tmp_path / "old.png"), ".png", kind="png") is None
    assert "not a JSON document" in output_problem(str(tmp_path / "list.json"), kind="json")


@pytest.mark.parametrize("script", ["one_to_one.py", "questions/cells.py"])
def test_a_plot_on_standard_output_beside_json_dash_is_refused(script, tmp_path):
    """stdout held the PNG's bytes, then the JSON, and the run exited 0."""
    link = tmp_path / "out.png"
    link.symlink_to("/dev/stdout")
    said = one_line(run(ROOT / script, "--json", "-", "--plot", link))
    assert "argument --plot: " in said and "is standard output" in said


@pytest.mark.parametrize("script", ["one_to_one.py", "questions/cells.py"])
@pytest.mark.parametrize("flags", [["--lr", "1e-320"], ["--epochs", "٥"], ["--seed", "１"]])
def test_a_rate_zero_in_float32_and_non_ascii_digits_are_refused(script, flags):
    """1e-320 passed "finite, > 0" but is 0 in float32: nothing trained, a normal-looking run."""
    said = one_line(run(ROOT / script, *flags))
    assert f"argument {flags[0]}: " in said


def test_a_script_of_another_checkout_is_refused_not_run_with_this_ones_code(tmp_path):
    """With the editable install made from this checkout, a question run from a second checkout
    imported this one's common and repro, silently."""
    other = tmp_path / "other"
    shutil.copytree(ROOT / "questions", other / "questions")
    shutil.copytree(ROOT / "repro", other / "repro")
    shutil.copy(ROOT / "common.py", other / "common.py")
    said = one_line(run(other / "questions" / "cells.py", "--help", cwd=tmp_path))
    assert f"is in the checkout {other}" in said and str(ROOT) in said
    # a script at the top of the other checkout imports that checkout's own modules: it runs
    shutil.copy(ROOT / "one_to_one.py", other / "one_to_one.py")
    assert run(other / "one_to_one.py", "--help", cwd=tmp_path).returncode == 0


TERMINATED_MID_WRITE = """
import os, signal, time
from repro.files import write_output
from repro.run import run_program

def main(argv):
    def write(f):
        f.write(b"{")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
    write_output(os.path.join({folder!r}, "r.json"), write)
    return 0

run_program(main)
"""


def test_sigterm_while_writing_leaves_no_temporary_file(tmp_path):
    """SIGTERM killed the run outright: an empty .tmp-* file stayed beside the outputs."""
    code = TERMINATED_MID_WRITE.replace("{folder!r}", repr(str(tmp_path)))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert (done.returncode, done.stderr) == (128 + signal.SIGTERM, "terminated\n")
    assert list(tmp_path.iterdir()) == []


def test_json_results_of_a_question_are_valid_json(tmp_path):
    """The suite's own JSON is what --json accepts to replace next time."""
    from repro.files import not_ours, write_json

    path = tmp_path / "r.json"
    write_json(str(path), {"answer": "Answer: yes", "loss": float("nan")})
    assert json.loads(path.read_text())["loss"] is None and not not_ours(str(path), "json")
