"""The Keras backend: importing Keras on the chosen one, quietly; seeding; deterministic ops.

TensorFlow's C++ start-up writes several lines to standard error (file descriptor 2) before it
reads any setting that would silence them, on every run that worked: oneDNN and CUDA notices,
a CPU feature note, on some machines 'E' lines about cuInit or cuFFT/cuDNN/cuBLAS factories.
While the backend starts, descriptor 2 goes through a pipe to a small process of its own that
writes each line on as it arrives, leaving out what is known to be noise: TensorFlow's INFO and
WARNING records (told by their level letter), and ERROR records known to be harmless. Any other
line, ERROR and FATAL records among them, is written out as it came, so a real error is never
hidden, even when the process dies during the start. --verbose 2 shows them all.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import logging
import os
import re
import subprocess
import sys
import types

BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}  # backend -> package
FLOATX = "float32"  # the precision of every run, whatever keras.json asks: the article's

# A record of TensorFlow's C++ logging and its level letter (Info, Warning, Error, Fatal): TF 2.17
# and later write "I0000 00:00:1795896426.660209    5141 port.cc:153] ...", TF 2.16
# "2026-11-28 20:07:15.191992: I tensorflow/core/util/port.cc:113] ...".
_RECORD = re.compile(r"(?:([IWEF])\d{4} [\d:.]+\s+\d+ |\d{4}-\d\d-\d\d [\d:.]+: ([IWEF]) )\S+\] ")
# ERROR records known to be harmless: TF 2.16's CUDA plugins registered twice, on any machine
_HARMLESS_ERROR = re.compile(  # then: masks on oneDNN, and TF 2.21's attribute under determinism
    r"Unable to register cu(?:FFT|DNN|BLAS) factory: |oneDNN supports DT_BOOL only on platforms"
    r"|NodeDef mentions attribute use_unbounded_threadpool"
)
# and cuInit failing where there is no NVIDIA device to find (with one, it is a driver failure)
_NO_DEVICE_ERROR = re.compile(r"failed call to cuInit: ")
_ABSL_WARNING = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
)
_CPU_NOTE = "This TensorFlow binary is optimized to use available CPU instructions"
_CPU_NOTE_SECOND_LINE = re.compile(
    r"To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler "
    r"flags\."
)


def nvidia_device() -> bool:
    """Whether this machine shows an NVIDIA GPU to programs (Linux, or WSL's /dev/dxg)."""
    return bool(glob.glob("/dev/nvidia[0-9]*")) or os.path.exists("/dev/dxg")


def is_startup_noise(line: str, previous: str = "", gpu: bool = False) -> bool:
    """Whether TensorFlow's start-up line `line` (after `previous`) is noise: an INFO or WARNING
    record, an ERROR record known to be harmless (cuInit's only where `gpu` is False), absl's
    notice that logging is not set up yet, or the second line of the CPU feature note."""
    line = line.rstrip("\r\n")
    record = _RECORD.match(line)
    if record:
        level, message = record.group(1) or record.group(2), line[record.end() :]
        harmless = _HARMLESS_ERROR.match(message) or (not gpu and _NO_DEVICE_ERROR.match(message))
        return level in "IW" or (level == "E" and bool(harmless))
    if line == _ABSL_WARNING:
        return True
    return _CPU_NOTE in previous and _CPU_NOTE_SECOND_LINE.fullmatch(line) is not None


def drop_startup_lines(text: str, gpu: bool = False) -> str:
    """`text` without the lines is_startup_noise finds; every other line is kept as it was."""
    kept, previous = [], ""
    for line in text.splitlines(keepends=True):
        if not is_startup_noise(line, previous, gpu):
            kept.append(line)
        previous = line
    return "".join(kept)


def forward_startup_lines(gpu: bool) -> None:
    """The filter's own process: copy standard input to standard output, line by line as each
    arrives, without the start-up noise, until the pipe closes. Once standard output cannot
    take a line (closed meanwhile), reading goes on without writing, so the writer never
    blocks."""
    previous, pending, writing = "", b"", True

    def forward(raw: bytes) -> None:
        nonlocal previous, writing
        line = raw.decode(errors="replace")
        if writing and not is_startup_noise(line, previous, gpu):
            writing = _write_all(1, raw)
        previous = line

    while chunk := os.read(0, 65536):
        *lines, pending = (pending + chunk).split(b"\n")
        for raw in lines:
            forward(raw + b"\n")
    if pending:
        forward(pending)  # a last line without its newline


def _write_all(fd: int, data: bytes) -> bool:
    """Write all of `data` to `fd`; False if it cannot take it."""
    try:
        while data:
            data = data[os.write(fd, data) :]
    except OSError:
        return False
    return True


@contextlib.contextmanager
def startup_lines_dropped():
    """Send file descriptor 2 through forward_startup_lines in a process of its own for the
    with-block. The process forwards each line as it arrives and, being separate, everything
    written before this one dies (an abort, a segfault, TensorFlow's LOG(FATAL) mid-import);
    after the block it is waited for, so its last lines come before anything printed later."""
    try:
        os.fstat(2)
    except OSError:  # no standard error (closed): nothing to show, nothing to filter
        yield
        return
    if sys.stderr is not None:
        sys.stderr.flush()
    read_end, write_end = os.pipe()
    # this very file as a script: it imports only the standard library, so the filter needs
    # neither the project on its path nor site-packages
    gpu = "gpu" if nvidia_device() else "cpu"
    try:  # its own session: a Ctrl-C at the terminal ends this process, and the pipe, not it
        reader = subprocess.Popen(
            [sys.executable, "-I", "-S", os.path.abspath(__file__), gpu],
            stdin=read_end,
            stdout=2,
            start_new_session=True,
        )
    except OSError:  # no interpreter to start (an embedded Python): unfiltered, then
        os.close(read_end)
        os.close(write_end)
        yield
        return
    os.close(read_end)
    saved = os.dup(2)
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        if sys.stderr is not None:
            sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last write end closes: the reader reads to its end
        os.close(saved)
        with contextlib.suppress(subprocess.TimeoutExpired):
            reader.wait(timeout=5)  # longer only if a process started meanwhile holds the pipe


def import_keras(args: argparse.Namespace):
    """Select the backend, import keras quietly, and seed everything for args.seed.

    Every run computes in float32 (args.floatx), whatever keras.json asks for: what it asked,
    if anything else, is args.floatx_config and a note on stderr. A keras.json that Keras
    refuses at import is one line and exit status 2.

    TF_CPP_MIN_LOG_LEVEL is not set: TensorFlow reads it once, at import, so a level set for
    the start would hide every later C++ error of the run. It ends as it was before the start
    (JAX, which Keras imports when it is installed, sets it to 1 if unset), so that a process
    this one starts later logs as this one does."""
    again = "keras" in sys.modules  # a second run in this process (a notebook run again)
    os.environ["KERAS_BACKEND"] = args.backend
    if args.verbose == 2:  # everything, as TensorFlow writes it
        quiet = contextlib.nullcontext()
    else:
        quiet = startup_lines_dropped()
    config = keras_json()
    with quiet, _variable_kept("TF_CPP_MIN_LOG_LEVEL"):
        try:
            import keras
        except ImportError as e:
            print(
                f"error: cannot import keras with the {args.backend} backend: {e}", file=sys.stderr
            )
            raise SystemExit(2) from None
        except Exception as e:  # Keras validates keras.json as it is imported
            if not _raised_in_keras_config(e):
                raise
            reason = " ".join(str(e).split())
            print(
                f"error: cannot import keras: {_shown(config)} is invalid: {reason}; fix the file "
                "or remove it",
                file=sys.stderr,
            )
            raise SystemExit(2) from None
        if again:  # layers named afresh (lstm, not lstm_1), as in a run of its own
            keras.utils.clear_session()
        # keras.json's floatx would build every model in another precision: float16 echoes
        # nothing the article printed. The suite computes as the article did.
        keras.config.set_floatx(FLOATX)
        if args.backend == "tensorflow":
            import tensorflow as tf

            tf.config.experimental.enable_op_determinism()
            logging.getLogger("tensorflow").addFilter(_expected_retracing)
        seed_everything(args.seed)
        keras.ops.convert_to_numpy(keras.ops.ones(1))  # the first op: TF's device lines come here
    args.floatx, args.floatx_config = FLOATX, _floatx_asked(config)
    if args.floatx_config:
        print(
            f"note: {_shown(config)} asks for floatx {args.floatx_config}; this run uses "
            f"{FLOATX}, as the article did",
            file=sys.stderr,
        )
    return keras


def keras_json() -> str:
    """The keras.json Keras reads when it is imported: in $KERAS_HOME, else in ~/.keras (in
    /tmp/.keras where the home folder is not writable), as keras/src/backend/config.py finds it."""
    if "KERAS_HOME" in os.environ:
        folder = os.environ["KERAS_HOME"]
    else:
        home = os.path.expanduser("~")
        folder = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    return os.path.expanduser(os.path.join(folder, "keras.json"))


def _shown(path: str) -> str:
    """`path` as a reader would type it: ~/.keras/keras.json."""
    home = os.path.expanduser("~")
    return "~" + path[len(home) :] if path.startswith(home.rstrip(os.sep) + os.sep) else path


def _floatx_asked(path: str) -> str | None:
    """The floatx the keras.json at `path` asks for, when it is not FLOATX; None otherwise (no
    file, or one Keras ignores: it reads unparsable JSON as {})."""
    try:
        with open(path) as f:
            asked = json.load(f).get("floatx")
    except (OSError, ValueError, AttributeError):
        return None
    return asked if asked not in (None, FLOATX) else None


def _raised_in_keras_config(error: BaseException) -> bool:
    """Whether `error` came from the module of Keras that reads keras.json."""
    tb = error.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(os.path.join("backend", "config.py")) and "keras" in name:
            return True
        tb = tb.tb_next
    return False


@contextlib.contextmanager
def _variable_kept(name: str):
    """Put environment variable `name` back as it was before the with-block."""
    before = os.environ.get(name)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def _expected_retracing(record: logging.LogRecord) -> bool:
    """Drop TensorFlow's warning that a function was traced again: a script that trains several
    models compiles each one's loop once, as intended (repro/training.py)."""
    return "triggered tf.function retracing" not in record.getMessage()


# Where Keras 3 (3.5 to 3.15 at least) asks whether TensorFlow is installed, through a lazy
# module `tf` whose `available` imports it: set_random_seed (to seed tf.data) and Bidirectional
# (which copies its layer through serialization_lib). On JAX and PyTorch that import costs 3-4 s,
# some 450 MB and TensorFlow's start-up lines, for nothing the run uses.
# tests/test_backends.py fails once Keras no longer imports TensorFlow there.
ASKS_FOR_TENSORFLOW = ("keras.src.utils.rng_utils", "keras.src.saving.serialization_lib")


@contextlib.contextmanager
def tensorflow_hidden():
    """For the with-block, Keras is told TensorFlow is absent, unless TensorFlow is the backend or
    imported already (see ASKS_FOR_TENSORFLOW); where Keras is laid out otherwise, nothing
    changes."""
    import importlib

    import keras

    swapped = []
    if keras.backend.backend() != "tensorflow" and "tensorflow" not in sys.modules:
        for name in ASKS_FOR_TENSORFLOW:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            if hasattr(module, "tf"):
                swapped.append((module, module.tf))
                module.tf = types.SimpleNamespace(available=False)
    try:
        yield
    finally:
        for module, tf in swapped:
            module.tf = tf


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend, so the same seed builds the same initial weights
    (keras.utils.set_random_seed, without importing TensorFlow on another backend)."""
    import keras

    with tensorflow_hidden():
        keras.utils.set_random_seed(seed)


if __name__ == "__main__":  # the filter's process, started by startup_lines_dropped
    forward_startup_lines(gpu=sys.argv[1:] == ["gpu"])
