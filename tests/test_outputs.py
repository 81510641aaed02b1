"""The outputs and settings a user's run meets from the command line, each in a process of its
own as a user starts it: result paths that cannot take a result (refused before training),
outputs that fail after it (one line, the JSON kept elsewhere), and keras.json."""

import json
import os
import shutil
import socket
import stat
import subprocess
import sys

import pytest

from conftest import ROOT, user_env

SCRIPT = str(ROOT / "one_to_one.py")


def run(*args: str, cwd=ROOT, env=None, timeout=600, **kw) -> subprocess.CompletedProcess:
    """`python one_to_one.py ARGS`, as a user would type it (from `cwd`)."""
    return subprocess.run(
        [sys.executable, SCRIPT, *args],
        cwd=cwd,
        env=env or user_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


def refused(done: subprocess.CompletedProcess, flag: str = "--json") -> str:
    """The one line a bad output path gets: exit 2, nothing on stdout, no traceback."""
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"one_to_one.py: error: argument {flag}: ")
    return done.stderr


def test_a_fifo_that_nothing_reads_is_refused_before_training(tmp_path):
    """It hung after training, with nothing said before."""
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    done = run("--json", fifo, timeout=60)  # before the fix: trained, then waited for good
    assert "a FIFO that nothing reads; start its reader first" in refused(done)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_socket_is_refused_before_training(tmp_path):
    """It trained, then ended in an OSError traceback."""
    path = tmp_path / "s.json"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        assert "is a socket" in refused(run("--json", path))
    finally:
        server.close()


@pytest.mark.skipif(not os.path.exists("/dev/tty"), reason="needs /dev/tty")
def test_dev_tty_without_a_terminal_is_refused_before_training():
    """`setsid python one_to_one.py --json /dev/tty </dev/null` trained, then a traceback."""
    done = run("--json", "/dev/tty", start_new_session=True)
    assert "cannot write '/dev/tty': No such device or address" in refused(done)


def test_a_read_only_file_is_refused_not_replaced(tmp_path):
    """`chmod 444 r.json` was replaced all the same (mode 0644 after); root is refused too."""
    path = tmp_path / "r.json"
    path.write_text('{"kept": true}')
    os.chmod(path, 0o444)
    assert "is read-only" in refused(run("--json", path))
    assert path.read_text() == '{"kept": true}' and stat.S_IMODE(os.stat(path).st_mode) == 0o444


@pytest.mark.slow  # trains, in a TensorFlow process of its own
def test_a_json_whose_folder_goes_during_training_is_kept_and_said_in_one_line(tmp_path):
    """Today a FileNotFoundError '.tmp-' traceback, and the result lost. The folder is removed
    once training has printed its first loss line; the JSON goes to the current folder and
    the last line of stderr says so. (Needs repro/run.py to catch files.OutputFailed.)"""
    folder = tmp_path / "results"
    folder.mkdir()
    target = folder / "r.json"
    proc = subprocess.Popen(
        [sys.executable, SCRIPT, "--epochs", "10000", "--verbose", "1", "--json", str(target)],
        cwd=tmp_path,
        env=dict(user_env(), PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in proc.stdout:
            if line.startswith("epoch "):  # the first of ten: training is under way
                shutil.rmtree(folder)
                break
        out, err = proc.communicate(timeout=600)
    finally:
        proc.kill()
    assert "Traceback" not in err, err[-3000:]
    assert proc.returncode not in (0, None)
    [kept] = [name for name in os.listdir(tmp_path) if name.startswith("r.kept-")]
    assert err.splitlines()[-1] == (
        f"error: --json {str(target)!r} was not written: its folder {str(folder)!r} no longer "
        f"exists; the results were written to {str(tmp_path / kept)!r} instead"
    )
    assert json.loads((tmp_path / kept).read_text())["script"] == "one_to_one.py"


@pytest.mark.slow  # trains, in a TensorFlow process of its own
@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_outputs_on_a_full_disk_are_one_line_each_and_the_json_is_kept(tmp_path):
    """--plot and --json to nodes of /dev/full (a disk with no space left): they pass the check
    (they open), then fail after training: one line each, the JSON in the current folder."""
    full = tmp_path / "full"
    full.mkdir()
    for name in ("p.png", "r.json"):
        os.mknod(full / name, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    plot, target = str(full / "p.png"), str(full / "r.json")
    done = run("--epochs", "3", "--verbose", "0", "--plot", plot, "--json", target, cwd=tmp_path)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 1
    [kept] = [name for name in os.listdir(tmp_path) if name.startswith("r.kept-")]
    assert done.stderr.splitlines()[-2:] == [
        f"error: --plot {plot!r} was not written: No space left on device",
        f"error: --json {target!r} was not written: No space left on device; the results were "
        f"written to {str(tmp_path / kept)!r} instead",
    ]
    assert json.loads((tmp_path / kept).read_text())["loss_history"]
    assert sorted(os.listdir(full)) == ["p.png", "r.json"]  # still the devices, never renamed over


def keras_home(tmp_path, text: str) -> dict:
    """An environment whose Keras reads `text` as its keras.json."""
    (tmp_path / "keras.json").write_text(text)
    return dict(user_env(), KERAS_HOME=str(tmp_path))


@pytest.mark.slow  # trains, in a TensorFlow process of its own
def test_a_keras_json_asking_for_float16_is_said_and_the_run_stays_float32(tmp_path):
    """With "floatx": "float16" the default --check printed wrong predictions and exited 1,
    nothing saying why."""
    env = keras_home(tmp_path, '{"floatx": "float16"}')
    done = run("--check", "--verbose", "0", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    note = (
        f"note: {tmp_path / 'keras.json'} asks for floatx float16; this run uses float32, as the "
        "article did"
    )
    assert note in done.stderr.splitlines()


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"floatx": "float8"}', "Received: floatx=float8"),
        ('{"floatx": "bfloat16"}', "Received: floatx=bfloat16"),  # set_floatx's, not keras.json's
        ('{"epsilon": 1}', "Received: epsilon=1"),
    ],
)
def test_a_keras_json_keras_refuses_is_one_line_and_exit_2(tmp_path, text, words):
    """It ended in a traceback at import. Keras refuses it in its first module, before the
    backend is imported: a quick run."""
    done = run("--epochs", "3", env=keras_home(tmp_path, text))
    assert (done.returncode, done.stdout) == (2, ""), done.stderr[-3000:]
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: cannot import keras: {tmp_path / 'keras.json'} ")
    assert words in done.stderr and done.stderr.endswith("; fix the file or remove it\n")


# --- what the run is told to do, checked with the flags (no training: each exits at once) -------


def test_the_same_file_for_json_and_plot_is_refused_by_name_or_through_a_link(tmp_path):
    (tmp_path / "alias.png").symlink_to(tmp_path / "x.png")
    for plot in ("x.png", "alias.png"):
        err = refused(run("--json", "x.png", "--plot", plot, cwd=tmp_path), "--plot")
        assert "is the --json file too" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.png"]  # nothing written


def test_an_empty_plot_path_is_refused_as_an_empty_json_path_is():
    assert "an empty path" in refused(run("--plot", ""), "--plot")


def test_a_timedistributed_length_too_long_to_compile_is_refused_at_once():
    """many_to_many_td.py refuses it by name; the questions' --length stops at the same 1000."""
    from repro.cli import MAX_TIMEDISTRIBUTED_STEPS
    from repro.lesson import BOUNDS

    done = run_other("many_to_many_td.py", "--length", "1200", "--units", "2")
    assert (done.returncode, done.stdout) == (2, "") and done.stderr.count("\n") == 1
    assert "argument --length: at " in done.stderr and "TimeDistributed" in done.stderr
    assert BOUNDS["length"][1] == MAX_TIMEDISTRIBUTED_STEPS


def run_other(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args], capture_output=True, text=True, timeout=60
    )


def test_a_keras_backend_that_is_not_installed_blames_the_variable_not_a_flag(tmp_path):
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['jax'] = None\n")
    env = dict(user_env(), KERAS_BACKEND="jax", PYTHONPATH=str(tmp_path))
    done = run(env=env)
    assert (done.returncode, done.stdout, done.stderr.count("\n")) == (2, "", 1)
    assert "KERAS_BACKEND=jax: jax is not installed" in done.stderr
    assert "--backend" not in done.stderr


def test_check_means_the_questions_own_answer_in_their_help():
    for script in sorted((ROOT / "questions").glob("[a-z]*.py")):
        done = run_other(f"questions/{script.name}", "--help")
        text = " ".join(done.stdout.split())
        assert "a claim behind the Answer line does not hold" in text, script.name
        assert "MISMATCH" not in text


@pytest.mark.slow  # trains twice, in a TensorFlow process of its own
def test_sys_stdout_is_given_back_after_a_failed_json_dash_run_in_plain_python(tmp_path):
    """A plain Python caller (no IPython): a --json - run that diverges, then another one; the
    second one's JSON reaches stdout, and print() after both goes to stdout."""
    code = (
        "import sys, many_to_one\n"
        "try:\n"
        "    many_to_one.main(['--epochs', '20', '--lr', '1e30', '--json', '-'])\n"
        "except SystemExit as e:\n"
        "    print('first exited', e.code, file=sys.stderr)\n"
        "assert sys.stdout is sys.__stdout__, sys.stdout\n"
        "many_to_one.main(['--epochs', '3', '--verbose', '0', '--json', '-'])\n"
        "print('after')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert "first exited 1" in done.stderr
    document, after = done.stdout.rsplit("}\n", 1)
    assert json.loads(document + "}")["config"]["epochs"] == 3 and after == "after\n"
