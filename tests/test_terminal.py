"""As a terminal meets the scripts: a quiet start, Ctrl-C, a closed pipe, --json -, a closed
stdout or stderr, and main() called with no arguments from Python (a notebook or a REPL)."""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading

import pytest

import one_to_one
from conftest import ROOT, printed_predictions, run_main, user_env
from repro.backend import drop_startup_lines

# Lines as TensorFlow wrote them on this project's machines (CPU only, no GPU): TF 2.21.0 with
# Keras 3.15.1, TF 2.16.1 with Keras 3.5.0, and TF 2.16.2 (the cuFFT, cuDNN and cuBLAS lines).
TF_2_21 = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1795896426.660209    5141 port.cc:153] oneDNN custom operations are on. You may see \
slightly different numerical results due to floating-point round-off errors from different \
computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.
I0000 00:00:1795896426.660525    5141 cudart_stub.cc:31] Could not find cuda drivers on your \
machine, GPU will not be used.
I0000 00:00:1795896426.708591    5141 cpu_feature_guard.cc:227] This TensorFlow binary is \
optimized to use available CPU instructions in performance-critical operations.
To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 AVX_VNNI FMA, in other \
operations, rebuild TensorFlow with the appropriate compiler flags.
E0000 00:00:1795896428.620284    5141 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA \
error: Failed call to cuInit: UNKNOWN ERROR (303)
"""
TF_2_16 = """\
2026-11-28 20:07:15.191992: I tensorflow/core/util/port.cc:113] oneDNN custom operations are on. \
You may see slightly different numerical results due to floating-point round-off errors from \
different computation orders. To turn them off, set the environment variable \
`TF_ENABLE_ONEDNN_OPTS=0`.
2026-11-28 20:07:15.192497: I external/local_tsl/tsl/cuda/cudart_stub.cc:32] Could not find cuda \
drivers on your machine, GPU will not be used.
2026-11-28 20:07:15.340264: I tensorflow/core/platform/cpu_feature_guard.cc:210] This TensorFlow \
binary is optimized to use available CPU instructions in performance-critical operations.
To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 AVX_VNNI FMA, in other \
operations, rebuild TensorFlow with the appropriate compiler flags.
2026-11-28 20:07:17.432759: W tensorflow/compiler/tf2tensorrt/utils/py_utils.cc:38] TF-TRT \
Warning: Could not find TensorRT
2026-11-28 19:23:59.516073: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:479] Unable \
to register cuFFT factory: Attempting to register factory for plugin cuFFT when one has already \
been registered
2026-11-28 19:23:59.530885: E external/local_xla/xla/stream_executor/cuda/cuda_dnn.cc:10575] \
Unable to register cuDNN factory: Attempting to register factory for plugin cuDNN when one has \
already been registered
2026-11-28 19:23:59.530950: E external/local_xla/xla/stream_executor/cuda/cuda_blas.cc:1442] \
Unable to register cuBLAS factory: Attempting to register factory for plugin cuBLAS when one has \
already been registered
"""
UNKNOWN = [
    "E0000 00:00:1795896428.620284    5141 some_op.cc:12] a real error nobody expected\n",
    "2026-11-28 20:07:17.432759: E tensorflow/core/kernels/x.cc:1] Out of memory\n",
    "To enable the following instructions: AVX2, rebuild TensorFlow with the appropriate "
    "compiler flags.\n",  # the CPU note's second line, but not after its first
    "UserWarning: something from Python\n",
]


@pytest.mark.parametrize("log", [TF_2_21, TF_2_16], ids=["tf-2.21", "tf-2.16"])
def test_tensorflows_startup_lines_are_dropped_and_no_other(log):
    assert drop_startup_lines(log) == ""
    lines = log.splitlines(keepends=True)
    mixed = [UNKNOWN[0], *lines[:2], UNKNOWN[1], *lines[2:], UNKNOWN[2], UNKNOWN[3]]
    assert drop_startup_lines("".join(mixed)) == "".join(UNKNOWN)


def _start_unbuffered(*args):
    return subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=dict(user_env(), KERAS_BACKEND="tensorflow", PYTHONUNBUFFERED="1"),
        # a shell's background job ignores SIGINT, and Python would too: give it the default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _start_in_a_shell(command: str):
    """Start `python COMMAND` from a shell, as typed (`2>&-` closes the script's stderr)."""
    return subprocess.Popen(
        f"{shlex.quote(sys.executable)} {command}",
        shell=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=dict(user_env(), KERAS_BACKEND="tensorflow"),
    )


BARE_START = (  # what TensorFlow writes at start-up on this machine, with nothing in the way
    "import os; os.environ['KERAS_BACKEND'] = 'tensorflow'; import keras; "
    "keras.ops.convert_to_numpy(keras.ops.ones(1))"
)


@pytest.fixture(scope="module")
def terminal(tmp_path_factory):
    """Runs at once: one with --json - --verbose 2, left alone; one whose reader goes away
    (as `| head` does) while it trains more seeds, so that its next line finds the pipe closed;
    one stopped by Ctrl-C as soon as training reports (5000 epochs, so that the signal surely
    finds it training); one with stderr closed and one with stdout closed (`2>&-`, `>&-`); and
    Keras imported on TensorFlow with nothing else, for what TensorFlow writes."""
    folder = tmp_path_factory.mktemp("interrupted")
    json_run = _start_unbuffered("many_to_one.py", "--epochs", "3", "--verbose", "2", "--json", "-")
    piped = _start_unbuffered("one_to_one.py", "--epochs", "300", "--seeds", "4", "--verbose", "0")
    outputs = ["--json", str(folder / "r.json"), "--plot", str(folder / "p.png")]
    stopped = _start_unbuffered("many_to_many_td.py", "--epochs", "5000", *outputs)
    closed = {
        "no stderr": _start_in_a_shell("many_to_one.py --epochs 30 2>&-"),
        "no stdout": _start_in_a_shell("many_to_one.py --epochs 30 >&-"),
    }
    bare = _start_unbuffered("-c", BARE_START)
    results = {}

    def close_pipe():
        for line in piped.stdout:
            if line.startswith("max |prediction - target|"):  # the last line before the study
                break
        piped.stdout.close()
        err = piped.stderr.read()
        results["piped"] = (piped.wait(timeout=300), err)

    def press_ctrl_c():
        for line in stopped.stdout:
            if line.startswith("epoch "):  # training has begun
                break
        stopped.send_signal(signal.SIGINT)
        err = stopped.communicate(timeout=300)[1]
        results["stopped"] = (stopped.returncode, err, os.listdir(folder))

    readers = [threading.Thread(target=close_pipe), threading.Thread(target=press_ctrl_c)]
    for reader in readers:
        reader.start()
    json_out, json_err = json_run.communicate(timeout=300)
    results["json"] = (json_run.returncode, json_out, json_err)
    for name, proc in [*closed.items(), ("bare", bare)]:
        out, err = proc.communicate(timeout=300)
        results[name] = (proc.returncode, out, err)
    for reader in readers:
        reader.join(timeout=300)
    return results


@pytest.mark.slow  # real processes in a terminal
def test_json_dash_is_the_json_alone_on_stdout(terminal):
    code, out, err = terminal["json"]
    assert code == 0
    result = json.loads(out)  # all of stdout is one JSON document
    assert result["printed"] == printed_predictions(err)  # what was printed went to stderr
    assert "Model: " in err and "Side by side" in err


def _records(stderr: str) -> list[str]:
    """stderr's lines without the time and thread of TensorFlow's log records."""
    prefix = r"^(?:([IWEF])\d{4} [\d:.]+\s+\d+ |\d{4}-\d\d-\d\d [\d:.]+: ([IWEF]) )"
    return [re.sub(prefix, r"\1\2 ", line) for line in stderr.splitlines()]


@pytest.mark.slow  # real processes in a terminal
def test_verbose_2_shows_everything_tensorflow_writes(terminal):
    _, _, err = terminal["json"]
    code, _, written = terminal["bare"]
    assert code == 0, written[-2000:]
    # every line TensorFlow writes when Keras starts on it alone, in its order (timestamps aside)
    shown = iter(_records(err))
    missing = [line for line in _records(written) if line not in shown]
    assert missing == []
    assert "Epoch 3/3" in err


@pytest.mark.slow  # real processes in a terminal
def test_a_closed_stderr_or_stdout_is_no_failure(terminal):
    code, out, err = terminal["no stderr"]  # python many_to_one.py 2>&-
    assert (code, err) == (0, "")
    assert "Predictions:" in out and out.startswith('Model: "sequential"')
    assert re.search(r"\nmax \|prediction - target\| = .*; final loss .*\n$", out)  # the last
    code, out, err = terminal["no stdout"]  # python many_to_one.py >&-
    assert (code, out) == (0, "")
    assert re.fullmatch(r"seconds: fit [\d.]+\n", err)


@pytest.mark.slow  # real processes in a terminal
def test_ctrl_c_during_training_is_one_line_and_status_130(terminal):
    code, err, left = terminal["stopped"]
    assert code == 130
    assert re.fullmatch(r"interrupted at epoch \d+ of 5000\n", err), err
    assert left == []  # no --json or --plot file, whole or half


@pytest.mark.slow  # real processes in a terminal
def test_a_closed_pipe_ends_quietly(terminal):
    code, err = terminal["piped"]
    assert code == 1
    assert "Traceback" not in err and "Exception ignored" not in err and "Error" not in err


def test_main_with_no_arguments_runs_the_defaults_whatever_sys_argv_holds(monkeypatch, capsys):
    # a Jupyter kernel's own command line, as main() would find it in a notebook
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "/tmp/kernel-1.json"])
    code, out, _ = run_main(one_to_one, None, capsys)
    assert code == 0
    assert printed_predictions(out) == ["0.0", "0.2", "0.4", "0.6", "0.8"]
