"""Result files: written whole or not at all, and never in place of a link, a FIFO or a device."""

import errno
import io
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import ROOT
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
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader there before the check
    try:
        assert files.output_problem(str(fifo)) is None
        files.write_json(str(fifo), {"a": 1})
        assert json.loads(os.read(reader, 1 << 16)) == {"a": 1}
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still a FIFO, not renamed over


def test_a_fifo_reader_waits_through_training_for_the_whole_result(tmp_path):
    """`cat pipe.json` started first: the check opens the FIFO's write end and keeps it open,
    so cat does not see the end of its input at the check, but the JSON after training."""
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    received = tmp_path / "received.json"
    with open(received, "wb") as out:  # a file, not a pipe this test would have to empty
        cat = subprocess.Popen(["cat", str(fifo)], stdout=out)
    try:
        for _ in range(200):  # until cat has opened its end
            problem = files.output_problem(str(fifo))
            if problem is None:
                break
            assert "nothing reads" in problem
            time.sleep(0.05)
        assert problem is None
        time.sleep(0.2)  # training: cat must still be waiting, not done
        assert cat.poll() is None
        files.write_json(str(fifo), {"a": list(range(20000))})  # more than a pipe holds
        assert cat.wait(timeout=30) == 0
    finally:
        cat.kill()
    assert json.loads(received.read_text()) == {"a": list(range(20000))}


def test_a_fifo_without_reader_a_socket_and_a_device_that_cannot_open_are_refused(tmp_path):
    fifo, sock = tmp_path / "pipe.json", tmp_path / "s.json"
    os.mkfifo(fifo)
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(sock))
        assert "a FIFO that nothing reads" in files.output_problem(str(fifo))
        assert "is a socket" in files.output_problem(str(sock))
    finally:
        server.close()
    for path in ("/dev/null", "/dev/stdout"):
        assert files.output_problem(path) is None


@pytest.mark.skipif(not os.path.exists("/dev/tty"), reason="needs /dev/tty")
def test_dev_tty_without_a_terminal_is_refused():
    """In a session of its own (setsid) a process has no terminal: /dev/tty cannot be opened."""
    code = "from repro import files; print(files.output_problem('/dev/tty'))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        start_new_session=True,
    )
    assert done.stdout == "cannot write '/dev/tty': No such device or address\n", done.stderr


def test_same_file_by_name_link_and_hard_link(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.json").write_text("{}")
    os.symlink("r.json", "alias.png")
    os.link("r.json", "hard.png")
    os.symlink("new.json", "dangling.png")  # both name the file a run would create
    same = [("r.json", "./r.json"), ("r.json", str(tmp_path / "r.json")), ("r.json", "alias.png")]
    same += [("r.json", "hard.png"), ("new.json", "dangling.png"), ("-", "-")]
    for a, b in same:
        assert files.same_file(a, b) and files.same_file(b, a), (a, b)
    other = [("r.json", "new.json"), ("new.json", "other.png"), ("-", "r.json"), ("-", "new")]
    other += [("/dev/stdout", "-")]
    for a, b in other:
        assert not files.same_file(a, b) and not files.same_file(b, a), (a, b)


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

    def second_one_explodes(*args):
        model = original(*args)
        if len(built) == 2:  # the run's model, then the study's seeds 1, 2 (this one), 3
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
    assert out.strip().splitlines()[-1].startswith("Seeds reproduced: ")
    one, two, three = study["seeds"]
    assert [s["seed"] for s in (one, two, three)] == [1, 2, 3]
    assert not two["reproduced"] and two["max_abs_error"] is None
    assert two["history"][-1] is None and None not in two["history"][:-1]
    assert len(three["history"]) == 30 and None not in three["history"]
    assert three["max_abs_error"] is not None


def test_a_file_after_training_that_cannot_be_written_keeps_the_json_elsewhere(
    tmp_path, monkeypatch
):
    """The check passed; then the folder went (or a write failed): one line names --json and
    where the results are, beside the target if its folder takes them, else in the current
    folder; nothing half-written anywhere."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "out"
    folder.mkdir()
    target = str(folder / "r.json")
    assert files.output_problem(target) is None
    shutil.rmtree(folder)  # during training
    with pytest.raises(files.OutputFailed) as gone:
        files.write_json(target, {"a": 1})
    [kept] = os.listdir(tmp_path)
    assert str(gone.value) == (
        f"--json {target!r} was not written: its folder {str(folder)!r} no longer exists; "
        f"the results were written to {str(tmp_path / kept)!r} instead"
    )
    assert kept.startswith("r.kept-") and json.loads((tmp_path / kept).read_text()) == {"a": 1}

    folder.mkdir()

    def broken(path, write):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(files, "write_atomically", broken)
    with pytest.raises(files.OutputFailed, match="Input/output error; the results were written"):
        files.write_json(target, {"b": 2})
    [beside] = os.listdir(folder)
    assert json.loads((folder / beside).read_text()) == {"b": 2}


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_device_keeps_the_json_in_the_current_folder_else_on_stderr(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    assert files.output_problem("/dev/full") is None
    with pytest.raises(files.OutputFailed) as full:
        files.write_json("/dev/full", {"a": 1})
    [kept] = os.listdir(tmp_path)  # not in /dev
    assert str(full.value) == (
        "--json '/dev/full' was not written: No space left on device; the results were "
        f"written to {str(tmp_path / kept)!r} instead"
    )
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()  # no folder takes them: stderr does
    with pytest.raises(files.OutputFailed, match="the results are on stderr above instead$"):
        files.write_json("/dev/full", {"a": 1}, flag="--json")
    assert json.loads(capsys.readouterr().err) == {"a": 1}


def test_a_plot_that_cannot_be_written_says_so_and_leaves_nothing(tmp_path):
    path = str(tmp_path / "gone" / "p.png")
    with pytest.raises(files.OutputFailed) as e:
        files.write_output(path, lambda f: f.write(b"png"), flag="--plot")
    gone = str(tmp_path / "gone")
    assert str(e.value) == f"--plot {path!r} was not written: its folder {gone!r} no longer exists"
    assert os.listdir(tmp_path) == []


def test_a_replaced_file_keeps_its_mode_and_owner_and_a_file_without_write_bits_is_refused(
    tmp_path,
):
    path = tmp_path / "r.json"
    path.write_text("{}")
    os.chmod(path, 0o640)
    if os.geteuid() == 0:
        os.chown(path, 65534, 65534)  # a user's file, replaced by root: still the user's
    files.write_json(str(path), {"a": 1})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert os.stat(path).st_uid == (65534 if os.geteuid() == 0 else os.geteuid())
    os.chmod(path, 0o444)  # read-only: root may write it, and is refused all the same
    assert files.output_problem(str(path)) == (
        f"{str(path)!r} is read-only; make it writable (chmod u+w) or give another name"
    )


@pytest.fixture
def shared_folder():
    """A folder anyone may write in, reachable by every user (pytest's tmp_path is not)."""
    folder = tempfile.mkdtemp(prefix="repro-user-")
    os.chmod(folder, 0o777)
    yield folder
    shutil.rmtree(folder)


def as_a_user(code: str, folder: str) -> subprocess.CompletedProcess:
    """Python `code` run in `folder` by an ordinary user: nobody, when the tests run as root."""
    become = []
    if os.geteuid() == 0:
        if shutil.which("setpriv"):
            become = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        elif shutil.which("runuser"):
            become = ["runuser", "-u", "nobody", "--"]
        else:
            pytest.skip("needs setpriv or runuser to run as an ordinary user")
    prelude = "import os, sys\nos.umask(0o022)\n"  # the project is installed: no path to set
    return subprocess.run(
        [*become, sys.executable, "-B", "-c", prelude + code],
        cwd=folder,
        capture_output=True,
        text=True,
    )


def test_as_a_user_a_file_they_may_not_write_is_refused_and_a_replaced_one_keeps_its_mode(
    shared_folder,
):
    others = os.path.join(shared_folder, "others.json")
    with open(others, "w") as f:
        f.write("{}")
    os.chmod(others, 0o644)
    if os.geteuid() != 0:
        os.chmod(others, 0o444)  # a user cannot give a file away: make it read-only instead
    code = """
from repro import files
for name, mode in (("mine.json", 0o444), ("private.json", 0o600)):
    with open(name, "w") as f:
        f.write("{}")
    os.chmod(name, mode)
print(files.output_problem("others.json"))
print(files.output_problem("mine.json"))
files.write_json("private.json", {"a": 1})
files.write_json("new.json", {"a": 1})
print(oct(os.stat("private.json").st_mode & 0o777), oct(os.stat("new.json").st_mode & 0o777))
"""
    done = as_a_user(code, shared_folder)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "'others.json' is read-only; make it writable (chmod u+w) or give another name",
        "'mine.json' is read-only; make it writable (chmod u+w) or give another name",
        "0o600 0o644",
    ]
    with open(others) as f:
        assert f.read() == "{}"


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
    said = err.strip().splitlines()[-1]
    assert said == "error: cannot write to standard output: No space left on device"
    assert "Traceback" not in err
