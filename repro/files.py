"""Result files: JSON and PNG written whole or not at all, wherever the path points; versions.

A path names one of three things. `-` is standard output. A stream, standard output or error
by another name (/dev/stdout, which may lead to the very file a shell redirected standard output
to) or a path that exists and is not a regular file (a FIFO, a device), is written in place, the
standard streams through their own descriptors: renaming over it would replace the device, or the
log the run is printing to, with the result alone. Anything else, a regular file or a new name,
is written to a temporary file beside it and renamed into place, so a failed run never leaves
half a file; through a symbolic link, the link's target is replaced and the link
stays. JSON has no NaN or infinity: such values (a diverged seed's loss) are written as null.
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
import sys
import tempfile


def _standard_fd(path: str) -> int | None:
    """1 or 2 if `path` is this process's standard output or error (as /dev/stdout is, or a
    path to the very file a shell redirected it to), else None."""
    try:
        here = os.stat(path)
    except OSError:
        return None
    for fd in (1, 2):
        try:
            there = os.fstat(fd)
        except OSError:  # closed
            continue
        if (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino):
            return fd
    return None


def _special(path: str) -> bool:
    """True for a stream: standard output or error by another name (/dev/stdout), or a path
    that exists and is not a regular file (after following links)."""
    if _standard_fd(path) is not None:
        return True
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:  # missing, or not reachable: output_problem says why
        return False


def write_atomically(path: str, write) -> None:
    """Call write(file_object) on a temporary file beside `path` (beside its target, for a
    link), flush it to disk, then rename it into place and flush the folder."""
    path = os.path.realpath(path)  # a link stays a link: its target is what gets replaced
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")  # short: any valid name fits
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; give it normal rights
        os.replace(tmp, path)
    except BaseException:
        os.remove(tmp)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)


def write_output(path: str, write, stdout=None) -> None:
    """Write a result file at `path` by calling write(binary_file): see the module docstring.
    `stdout` is the stream that `-` means (default: sys.stdout)."""
    if path == "-":
        stream = stdout or sys.stdout
        stream.flush()
        if hasattr(stream, "buffer"):
            write(stream.buffer)
            stream.buffer.flush()
        else:  # a text-only stream, such as a Jupyter kernel's
            data = io.BytesIO()
            write(data)
            stream.write(data.getvalue().decode())
            stream.flush()
    elif _standard_fd(path) is not None:  # through the descriptor itself: after what the run
        for stream in (sys.stdout, sys.stderr):  # printed, and before what it prints next
            if stream is not None:
                stream.flush()
        with open(_standard_fd(path), "wb", closefd=False) as f:
            write(f)
    elif _special(path):
        with open(path, "ab") as f:  # a FIFO or a device: never renamed over
            write(f)
    else:
        write_atomically(path, write)


def json_safe(value):
    """`value` with every NaN or infinite float replaced by None (JSON's null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_json(path: str, data: dict, stdout=None) -> None:
    """Write `data` as indented JSON, non-finite numbers as null (see write_output for what
    `path` may be)."""
    text = json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n"
    write_output(path, lambda f: f.write(text.encode()), stdout)


def output_problem(path: str, suffix: str = "", allow_stdout: bool = False) -> str | None:
    """Why `path` cannot be written (checked before any training), or None if it can."""
    if path == "-":
        return None if allow_stdout else "'-' (standard output) is only for --json"
    if not path:
        return "an empty path; give a file name, or '-' for standard output"
    if suffix and not path.lower().endswith(suffix):
        return f"{path!r} must end with {suffix}"
    if os.path.isdir(path):
        return f"{path!r} is a directory, not a file"
    try:
        os.stat(path)
    except FileNotFoundError:
        pass  # a new file: its folder must take it
    except OSError as e:  # not a directory on the way, a name too long, a loop of links ...
        return f"cannot write {path!r}: {e.strerror}"
    if _special(path):  # written in place: it only has to be writable
        return None if os.access(path, os.W_OK) else f"{path!r} is not writable"
    folder = os.path.dirname(os.path.realpath(path))
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".probe-")
    except OSError as e:
        return f"cannot write in {folder!r}: {e.strerror}"
    os.close(fd)
    os.remove(probe)
    return None


def versions() -> dict:
    """Versions of Python and of the libraries that computed the results."""
    import keras
    import numpy as np

    backend = keras.backend.backend()  # the backend's name is its package's name
    return {
        "python": sys.version.split()[0],
        "keras": keras.__version__,
        "numpy": np.__version__,
        backend: sys.modules[backend].__version__,
    }
