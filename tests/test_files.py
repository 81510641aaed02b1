"""Result files: written whole or not at all, and never in place of a link, a FIFO or a device."""

import io
import json
import os
import stat
import threading

import pytest

from repro import files


def test_write_atomically_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")

    def fail(f):
        f.write(b"half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        files.write_atomically(str(target), fail)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.json"]
    files.write_json(str(target), {"x": [1.5]})
    assert target.read_text() == '{\n  "x": [\n    1.5\n  ]\n}\n'


def test_a_regular_file_is_flushed_to_disk_before_and_after_the_rename(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    files.write_json(str(tmp_path / "r.json"), {"a": 1})
    assert synced == [False, True]  # the file, then its folder


@pytest.mark.parametrize("dangling", [False, True])
def test_through_a_symlink_the_target_is_replaced_and_the_link_stays(tmp_path, dangling):
    target, link = tmp_path / "results" / "target.json", tmp_path / "link.json"
    target.parent.mkdir()
    if not dangling:
        target.write_text("old")
    link.symlink_to(target)
    files.write_json(str(link), {"a": 1})
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text()) == {"a": 1}
    assert sorted(os.listdir(target.parent)) == ["target.json"]  # no temporary file left


def test_a_fifo_is_written_in_place(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    assert files.output_problem(str(fifo)) is None
    files.write_json(str(fifo), {"a": 1})
    reader.join(timeout=10)
    assert json.loads(received[0]) == {"a": 1}
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still a FIFO, not renamed over


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_character_device_is_written_in_place_never_replaced(tmp_path):
    device = tmp_path / "null"  # a node of the /dev/null device, in a folder of our own
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    assert files.output_problem(str(device)) is None
    files.write_json(str(device), {"a": 1})
    assert stat.S_ISCHR(os.lstat(device).st_mode)
    assert os.listdir(tmp_path) == ["null"]


def test_dash_is_standard_output_for_json_only():
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw)
    files.write_json("-", {"a": [1, 2]}, stdout=out)
    assert json.loads(raw.getvalue()) == {"a": [1, 2]}
    assert files.output_problem("-", allow_stdout=True) is None
    assert "only for --json" in files.output_problem("-", ".png")


def test_dash_writes_to_a_text_only_stream_as_a_jupyter_kernels():
    out = io.StringIO()  # like ipykernel's OutStream: text, no .buffer
    assert not hasattr(out, "buffer")
    files.write_json("-", {"a": [1, 2]}, stdout=out)
    assert json.loads(out.getvalue()) == {"a": [1, 2]}


def test_non_finite_numbers_are_written_as_null(tmp_path):
    path = tmp_path / "r.json"
    nan, inf = float("nan"), float("inf")
    files.write_json(str(path), {"loss": [0.5, nan], "errors": {"max": inf, "min": -inf}})
    assert json.loads(path.read_text()) == {
        "loss": [0.5, None],
        "errors": {"max": None, "min": None},
    }


def test_a_diverging_seed_in_a_study_still_gets_its_json(tmp_path, capsys, monkeypatch):
    """Through the script's main and finish, seeds one by one (TensorFlow here): seed 2's loss
    overflows; it is not reproduced, its history ends at the first NaN, seed 3 still trains,
    and the JSON file holds the whole study with null where the numbers are not finite."""
    import many_to_one
    from conftest import run_main

    built = []

    def second_one_explodes(args):
        model = original(args)
        if len(built) == 1:
            model.optimizer.learning_rate.assign(1e38)  # steps so large the loss overflows
        built.append(model)
        return model

    original = many_to_one.build_model
    monkeypatch.setattr(many_to_one, "build_model", second_one_explodes)
    path = tmp_path / "study.json"
    argv = ["--epochs", "30", "--verbose", "0", "--seeds", "3", "--json", str(path)]
    code, out, err = run_main(many_to_one, argv, capsys)
    assert code == 0, err
    study = json.loads(path.read_text())["study"]
    assert study["trained"] == "one by one" and study["n"] == 3
    assert out.strip().endswith(study["summary"])
    one, two, three = study["seeds"]
    assert [s["seed"] for s in (one, two, three)] == [1, 2, 3]
    assert not two["reproduced"] and two["max_abs_error"] is None
    assert two["history"][-1] is None and None not in two["history"][:-1]
    assert len(three["history"]) == 30 and None not in three["history"]
    assert three["max_abs_error"] is not None


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda tmp: str(tmp / "file.txt" / "out.json"), "Not a directory"),
        (lambda tmp: str(tmp / ("a" * 300 + ".json")), "File name too long"),
        (lambda tmp: str(tmp / "loop1"), "Too many levels of symbolic links"),
    ],
)
def test_an_unwritable_path_is_one_line_and_exit_2_before_training(tmp_path, capsys, make, words):
    import one_to_one
    from conftest import run_main

    (tmp_path / "file.txt").write_text("a file, not a folder")
    os.symlink(tmp_path / "loop2", tmp_path / "loop1")
    os.symlink(tmp_path / "loop1", tmp_path / "loop2")
    code, out, err = run_main(one_to_one, ["--json", make(tmp_path)], capsys)
    assert code == 2 and out == ""
    assert err.startswith("one_to_one.py: error: argument --json: cannot write ")
    assert words in err and err.count("\n") == 1


def test_a_name_near_the_limit_is_written(tmp_path):
    """The temporary file beside it must not be longer than the name itself."""
    path = tmp_path / ("a" * 250 + ".json")
    assert files.output_problem(str(path)) is None
    files.write_json(str(path), {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1}


@pytest.mark.slow  # a script in a shell of its own, twice
@pytest.mark.parametrize("redirect", [">>", ">"])
def test_json_to_dev_stdout_keeps_the_redirected_log(tmp_path, redirect):
    """`python many_to_one.py --json /dev/stdout >> run.log 2>&1` (or `>`): the log keeps its
    first line (with >>) and everything the run printed, then the JSON whole, then the line
    --check writes after it."""
    import subprocess
    import sys

    from conftest import ROOT, user_env

    log = tmp_path / "run.log"
    log.write_text("an earlier line\n")
    command = (
        f"'{sys.executable}' many_to_one.py --epochs 3 --check --json /dev/stdout "
        f"{redirect} '{log}' 2>&1"
    )
    done = subprocess.run(command, shell=True, cwd=ROOT, env=user_env(), capture_output=True)
    assert done.returncode == 1, done.stderr  # 3 epochs do not echo the sequence
    text = log.read_text()
    first = "an earlier line\nModel: " if redirect == ">>" else "Model: "
    assert text.startswith(first) and "Predictions:" in text
    start, end = text.index("\n{\n"), text.rindex("\n}\n") + 3
    assert json.loads(text[start:end])["script"] == "many_to_one.py"
    assert text[end:].startswith("check failed: ")


def test_a_regular_file_under_dev_is_replaced_not_appended_to(tmp_path):
    """/dev/shm holds regular files: written whole, as anywhere else."""
    path = "/dev/shm/repro-test.json" if os.path.isdir("/dev/shm") else str(tmp_path / "r.json")
    try:
        with open(path, "w") as f:
            f.write('{"old": 1}')
        assert files.output_problem(path) is None
        files.write_json(path, {"new": 2})
        with open(path) as f:
            assert json.load(f) == {"new": 2}
    finally:
        os.remove(path)


def test_a_nan_prediction_is_a_diverged_run_whatever_the_loss(tmp_path, capsys, monkeypatch):
    """The model predicts NaN though training reported finite losses: exit 1, one line."""
    import keras
    import numpy as np

    import many_to_one
    from conftest import run_main

    monkeypatch.setattr(keras.Model, "predict", lambda self, X, **kw: np.full((len(X), 5), np.nan))
    path = tmp_path / "r.json"
    code, _, err = run_main(many_to_one, ["--epochs", "3", "--json", str(path)], capsys)
    assert code == 1
    assert err.splitlines()[-1].startswith("error: training diverged: 5 of 5 predictions")
    assert not path.exists()


@pytest.mark.slow  # a script in a shell of its own
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_standard_output_is_one_line_not_a_traceback():
    import subprocess
    import sys

    from conftest import ROOT, user_env

    command = f"'{sys.executable}' many_to_one.py --epochs 2 > /dev/full"
    done = subprocess.run(command, shell=True, cwd=ROOT, env=user_env(), capture_output=True)
    err = done.stderr.decode()
    assert done.returncode == 1
    assert err.strip().splitlines()[-1] == "error: cannot write the output: No space left on device"
    assert "Traceback" not in err
