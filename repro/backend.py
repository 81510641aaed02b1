"""The Keras backend: importing Keras on the chosen one, quietly; seeding; deterministic ops.

TensorFlow's C++ start-up writes several lines to standard error (file descriptor 2) before it
reads any setting that would silence them, on every run that worked: oneDNN and CUDA notices,
a CPU feature note, on some machines 'E' lines about cuInit or cuFFT/cuDNN/cuBLAS factories.
While the backend starts, descriptor 2 is captured and those known lines are dropped; any other
line is written out as it came, so a real error is never hidden. --verbose 2 shows them all.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
import tempfile
import types

BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}  # backend -> package

# A glog line (TF 2.17 and later: "I0000 00:00:1795896426.660209    5141 port.cc:153] ...") or a
# TF 2.16 one ("2026-11-28 20:07:15.191992: I tensorflow/core/util/port.cc:113] ...").
_LOG_PREFIX = r"(?:[IWEF]\d{4} [\d:.]+\s+\d+ |\d{4}-\d\d-\d\d [\d:.]+: [IWEF] )\S+\.cc:\d+\] "
_CPU_NOTE = "This TensorFlow binary is optimized to use available CPU instructions"
_STARTUP_MESSAGES = (
    r"oneDNN custom operations are on\.",
    r"Could not find cuda drivers on your machine, GPU will not be used\.",
    r"failed call to cuInit: ",
    r"Unable to register cu(?:FFT|DNN|BLAS) factory: ",
    _CPU_NOTE,
    r"TF-TRT Warning: Could not find TensorRT",
)
_STARTUP_LINE = re.compile(_LOG_PREFIX + "(?:" + "|".join(_STARTUP_MESSAGES) + ")")
_ABSL_WARNING = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
)
_CPU_NOTE_SECOND_LINE = re.compile(
    r"To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler "
    r"flags\."
)


def drop_startup_lines(text: str) -> str:
    """`text` without TensorFlow's known start-up lines; every other line is kept as it was."""
    kept, after_cpu_note = [], False
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        known = bare == _ABSL_WARNING or _STARTUP_LINE.match(bare) is not None
        second = after_cpu_note and _CPU_NOTE_SECOND_LINE.fullmatch(bare) is not None
        if not (known or second):
            kept.append(line)
        after_cpu_note = known and _CPU_NOTE in bare
    return "".join(kept)


@contextlib.contextmanager
def startup_lines_dropped():
    """Capture file descriptor 2 in the with-block, then write out what drop_startup_lines
    keeps of it."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            log.seek(0)
            kept = drop_startup_lines(log.read().decode(errors="replace"))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def import_keras(args: argparse.Namespace):
    """Select the backend, import keras quietly, and seed everything for args.seed."""
    os.environ["KERAS_BACKEND"] = args.backend
    if args.verbose == 2:  # everything, as TensorFlow writes it
        quiet = contextlib.nullcontext()
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # its C++ logging, where it obeys
        quiet = startup_lines_dropped()
    with quiet:
        try:
            import keras
        except ImportError as e:
            print(
                f"error: cannot import keras with the {args.backend} backend: {e}", file=sys.stderr
            )
            raise SystemExit(2) from None
        if args.backend == "tensorflow":
            import tensorflow as tf

            tf.config.experimental.enable_op_determinism()
            logging.getLogger("tensorflow").addFilter(_expected_retracing)
        seed_everything(args.seed)
        keras.ops.convert_to_numpy(keras.ops.ones(1))  # the first op: TF's device lines come here
    return keras


def _expected_retracing(record: logging.LogRecord) -> bool:
    """Drop TensorFlow's warning that a function was traced again: a script that trains several
    models compiles each one's loop once, as intended (repro/training.py)."""
    return "triggered tf.function retracing" not in record.getMessage()


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend, so the same seed builds the same initial weights.

    keras.utils.set_random_seed also seeds TensorFlow whenever it is installed, for tf.data
    pipelines, which these scripts do not use. On JAX and PyTorch that would import TensorFlow
    (3-4 s and some 450 MB here) to seed nothing the run uses, so there it is told TensorFlow
    is absent, for the length of the call, unless TensorFlow is imported already."""
    import keras

    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        keras.utils.set_random_seed(seed)
        return
    try:
        from keras.src.utils import rng_utils  # where set_random_seed asks about TensorFlow
    except ImportError:
        rng_utils = None
    if not hasattr(rng_utils, "tf"):  # another layout: seed as Keras does, TensorFlow too
        keras.utils.set_random_seed(seed)
        return
    asked, rng_utils.tf = rng_utils.tf, types.SimpleNamespace(available=False)
    try:
        keras.utils.set_random_seed(seed)
    finally:
        rng_utils.tf = asked
