"""Result files: JSON, written so that a failed run never leaves half a file; library versions."""

from __future__ import annotations

import json
import os
import sys
import tempfile


def write_atomically(path: str, write) -> None:
    """Call write(file_object) on a temporary file beside `path`, then rename it into place, so
    a failed run never leaves a half-written file."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; give it normal rights
        os.replace(tmp, path)
    except BaseException:
        os.remove(tmp)
        raise


def write_json(path: str, data: dict) -> None:
    """Write `data` as indented JSON, atomically."""
    text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    write_atomically(path, lambda f: f.write(text.encode()))


def output_problem(path: str, suffix: str = "") -> str | None:
    """Why `path` cannot be written (checked before any training), or None if it can."""
    if suffix and not path.lower().endswith(suffix):
        return f"{path!r} must end with {suffix}"
    if os.path.isdir(path):
        return f"{path!r} is a directory, not a file"
    folder = os.path.dirname(os.path.abspath(path))
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
