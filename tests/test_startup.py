"""TensorFlow's start-up lines: which the filter drops (by what a line is), and the capture of
standard error that runs it, in processes of their own as a run meets them: one that dies
mid-start, one on a machine with a GPU, one that logs an error after the start."""

import re
import signal
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT, user_env
from repro.backend import drop_startup_lines

PLACER = (  # four of these on every default run of TensorFlow 2.19.0 / Keras 3.10.0 (issue 21)
    "W0000 00:00:1750000000.000000    4242 computation_placer.cc:177] computation placer already "
    "registered. Please check linkage and avoid linking the same target more than once.\n"
)
NOISE = [  # INFO and WARNING records, in both of TensorFlow's formats, none of them known here
    PLACER,
    "I0000 00:00:1750000000.000001    4242 some_new_notice.cc:9] a notice no version wrote yet\n",
    "2024-01-01 00:00:00.000000: I tensorflow/core/x.cc:1] an info line of TF 2.16's format\n",
    "2024-01-01 00:00:00.000000: W external/local_tsl/y.cc:2] and a warning of that format\n",
]
CUINIT = (  # on a machine without an NVIDIA device, at the first operation (TF 2.21)
    "E0000 00:00:1795896428.620284    5141 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n"
)
KEPT = [  # errors and fatal records nobody knows to be harmless, and what is not a record
    "E0000 00:00:1750000000.000002    4242 some_op.cc:12] a real error nobody expected\n",
    "F0000 00:00:1750000000.000003    4242 platform.cc:7] Check failed: a fatal one, then abort\n",
    "2024-01-01 00:00:00.000000: E tensorflow/core/kernels/x.cc:1] Out of memory\n",
    "2024-01-01 00:00:00.000000: F tensorflow/core/y.cc:3] Check failed: fatal, TF 2.16's way\n",
    "Fatal Python error: Aborted\n",
]


def test_info_and_warning_records_are_dropped_by_their_level_and_errors_kept():
    mixed = [NOISE[0], KEPT[0], NOISE[1], KEPT[1], NOISE[2], KEPT[2], NOISE[3], *KEPT[3:]]
    assert drop_startup_lines("".join(mixed)) == "".join(KEPT)
    assert drop_startup_lines(PLACER * 4) == ""


def test_cuinit_failing_is_dropped_only_where_there_is_no_gpu():
    assert drop_startup_lines(CUINIT, gpu=False) == ""
    assert drop_startup_lines(CUINIT, gpu=True) == CUINIT  # there, a driver that failed
    fatal = CUINIT.replace("E0000", "F0000")
    assert drop_startup_lines(fatal, gpu=False) == fatal  # known as an error, not as fatal


def _child(code: str, env=None) -> subprocess.Popen:
    """A Python process running `code` (the project is installed, so it imports repro)."""
    prelude = "import os, sys\n"
    return subprocess.Popen(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=env or user_env(),
    )


def test_every_line_reaches_stderr_when_the_process_dies_mid_start():
    """Lines written during the start, then an abort (as TensorFlow's LOG(FATAL) does): what the
    filter keeps is on stderr, nothing waits for a `finally` that never comes. Five at once, so
    that a forwarder which only wins a race would be caught."""
    lines = [*NOISE, *KEPT[:4]]
    code = f"""
        from repro.backend import startup_lines_dropped
        with startup_lines_dropped():
            os.write(2, {"".join(lines).encode()!r})
            os.abort()
    """
    children = [_child(code) for _ in range(5)]
    for child in children:
        _, err = child.communicate(timeout=60)
        assert child.returncode == -signal.SIGABRT
        assert err.decode() == "".join(KEPT[:4])


def test_a_machine_with_a_gpu_sees_cuinit_fail():
    """The capture itself, told the machine has an NVIDIA device (as /dev/nvidia0 would say)."""
    code = f"""
        import repro.backend
        repro.backend.nvidia_device = lambda: True
        with repro.backend.startup_lines_dropped():
            os.write(2, {(PLACER + CUINIT).encode()!r})
        print("after the start", file=sys.stderr)
    """
    child = _child(code)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 0
    assert err.decode() == CUINIT + "after the start\n"  # in the order written


@pytest.mark.slow  # imports TensorFlow
def test_the_start_is_quiet_and_a_later_cpp_error_shows():
    """A real TensorFlow start, then a C++ ERROR record logged after it: the start writes nothing
    on this machine, the later error shows (TensorFlow reads TF_CPP_MIN_LOG_LEVEL once, when it
    is imported: a level set for the start would hide it), and TF_CPP_MIN_LOG_LEVEL is as it
    was, unset."""
    code = """
        import argparse
        from repro.backend import import_keras
        import_keras(argparse.Namespace(backend="tensorflow", seed=1, verbose=0))
        print(os.environ.get("TF_CPP_MIN_LOG_LEVEL"), flush=True)
        import tensorflow as tf
        tf.print("an error after the start", output_stream=tf.compat.v1.logging.error)
    """
    child = _child(code, env=dict(user_env(), KERAS_BACKEND="tensorflow"))
    out, err = child.communicate(timeout=300)
    assert child.returncode == 0, err.decode()[-2000:]
    assert out.decode() == "None\n"
    record = r"(?:E\d{4} [\d:.]+\s+\d+ |[\d-]+ [\d:.]+: E )\S+\] "  # TF 2.17 on, TF 2.16
    assert re.fullmatch(record + r"an error after the start\n+", err.decode())


def test_the_filter_is_this_file_run_alone_without_the_project_on_its_path(tmp_path):
    """The filter's process runs repro/backend.py as a script, isolated (-I -S) and from
    another folder: no sys.path line, no site-packages, only the standard library."""
    import repro.backend

    lines = "".join([*NOISE, CUINIT, *KEPT])
    for gpu, kept in (("cpu", KEPT), ("gpu", [CUINIT, *KEPT])):
        done = subprocess.run(
            [sys.executable, "-I", "-S", repro.backend.__file__, gpu],
            input=lines.encode(),
            capture_output=True,
            cwd=tmp_path,
            timeout=60,
        )
        assert (done.returncode, done.stderr) == (0, b"")
        assert done.stdout.decode() == "".join(kept)
