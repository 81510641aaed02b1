"""Result files: JSON and PNG written whole or not at all, wherever the path points; versions.

A path names one of three things. `-` is standard output. A stream, standard output or error
by another name (/dev/stdout, which may lead to the very file a shell redirected standard output
to) or a path that exists and is not a regular file (a FIFO, a device), is written in place, the
standard streams through their own descriptors: renaming over it would replace the device, or the
log the run is printing to, with the result alone. Anything else, a regular file or a new name,
is written to a temporary file beside it and renamed into place, so a failed run never leaves
half a file; through a symbolic link, the link's target is replaced and the link
stays, and a replaced file keeps its mode. JSON has no NaN or infinity: such values (a diverged
seed's loss) are written as null.

output_problem checks a path before training; whatever fails after it (a folder removed
meanwhile, a full disk) raises OutputFailed, and a JSON file's results are kept elsewhere.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import math
import os
import stat
import sys
import tempfile


class OutputFailed(Exception):
    """A result file could not be written after training. The message is one line that names
    the output (--json or --plot) and says where the result was kept instead, if anywhere."""


def same_file(a: str, b: str) -> bool:
    """Whether two output paths name one file: the same name, a link to it, or another name of
    it (a hard link). '-' (standard output) is never the same as a file."""
    if "-" in (a, b):
        return a == b
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        one, two = os.stat(a), os.stat(b)
    except OSError:  # a new name is no other file's
        return False
    return (one.st_dev, one.st_ino) == (two.st_dev, two.st_ino)


# FIFOs output_problem opened (real path -> write end), kept open until the result is written:
# a reader that came when the probe opened would otherwise see the end, and leave, at its close
_held_fifos: dict[str, int] = {}


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


def _give_rights(path: str, old: os.stat_result | None) -> None:
    """The mode (and, where allowed, the owner) of `old`, the file `path` replaces; for a new
    file, a new file's usual mode. mkstemp makes every file private (0600)."""
    if old is None:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(path, 0o666 & ~umask)
        return
    if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
        with contextlib.suppress(OSError):  # root replacing a user's file gives it back
            os.chown(path, old.st_uid, old.st_gid)
    os.chmod(path, stat.S_IMODE(old.st_mode))


def write_atomically(path: str, write) -> None:
    """Call write(file_object) on a temporary file beside `path` (beside its target, for a
    link), flush it to disk, then rename it into place, with the old file's mode, and flush the
    folder."""
    path = os.path.realpath(path)  # a link stays a link: its target is what gets replaced
    folder = os.path.dirname(path)
    try:
        old = os.stat(path)
    except OSError:
        old = None
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")  # short: any valid name fits
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        _give_rights(tmp, old)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # gone with its folder, if that went
            os.remove(tmp)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)


def _write_in_place(path: str, write) -> None:
    """A FIFO or a device: never renamed over; a FIFO through the end output_problem opened."""
    fd = _held_fifos.pop(os.path.realpath(path), None)
    with open(fd, "wb") if fd is not None else open(path, "ab") as f:
        write(f)


def _why(path: str, error: OSError) -> str:
    folder = os.path.dirname(os.path.realpath(path))
    if isinstance(error, FileNotFoundError) and not os.path.isdir(folder):
        return f"its folder {folder!r} no longer exists"
    return error.strerror or str(error)


def write_output(path: str, write, stdout=None, flag: str | None = None) -> None:
    """Write a result file at `path` by calling write(binary_file): see the module docstring.
    `stdout` is the stream that `-` means (default: sys.stdout). A file that cannot be written
    raises OutputFailed, its message naming the output by `flag` (--json, --plot) and path;
    standard output's own failures stay OSErrors, the run's output's (run.run_program)."""
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
    else:
        try:
            if _special(path):
                _write_in_place(path, write)
            else:
                write_atomically(path, write)
        except OSError as e:
            named = f"{flag} {path!r}" if flag else repr(path)
            raise OutputFailed(f"{named} was not written: {_why(path, e)}") from None


def json_safe(value):
    """`value` with every NaN or infinite float replaced by None (JSON's null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_json(path: str, data: dict, stdout=None, flag: str = "--json") -> None:
    """Write `data` as indented JSON, non-finite numbers as null (see write_output for what
    `path` may be). If the file cannot be written, the JSON is kept elsewhere (_keep_elsewhere)
    and OutputFailed says where."""
    text = json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n"
    try:
        write_output(path, lambda f: f.write(text.encode()), stdout, flag)
    except OutputFailed as e:
        raise OutputFailed(f"{e}; {_keep_elsewhere(path, text)}") from None
    except OSError as e:  # standard output refused it (a full disk); a closed pipe ends quietly
        if path != "-" or isinstance(e, BrokenPipeError):
            raise
        kept = _keep_elsewhere("results.json", text)
        raise OutputFailed(f"{flag} - was not written: {e.strerror}; {kept}") from None


def _keep_elsewhere(path: str, text: str) -> str:
    """Write `text` to a new file of its own beside `path` (not beside a FIFO or a device), else
    in the current folder, else on stderr, so that a training's result is never lost; says
    where. A new name every time: no other file is replaced."""
    stem = os.path.splitext(os.path.basename(path))[0][:100] or "results"
    folders = [os.curdir] if _special(path) else [os.path.dirname(path) or os.curdir, os.curdir]
    for folder in folders:
        try:
            fd, kept = tempfile.mkstemp(dir=folder, prefix=f"{stem}.kept-", suffix=".json")
        except OSError:
            continue
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(text.encode())
                f.flush()
                os.fsync(f.fileno())
            _give_rights(kept, None)
        except OSError:  # a full disk: not half a file either
            with contextlib.suppress(OSError):
                os.remove(kept)
            continue
        return f"the results were written to {kept!r} instead"
    sys.stderr.write(text)
    sys.stderr.flush()
    return "the results are on stderr above instead"


def is_stdout(path: str) -> bool:
    """Whether `path` names this process's standard output (/dev/stdout, or a link to it)."""
    return path == "-" or _standard_fd(path) == 1


def not_ours(path: str, kind: str) -> bool:
    """Whether the existing regular file `path` holds something this suite would not write
    there: it is not empty, and not a JSON document (kind "json") or a PNG (kind "png")."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return False  # unreadable: the write-permission check says why
    if not data:
        return False
    if kind == "png":
        return not data.startswith(b"\x89PNG\r\n\x1a\n")
    try:
        return not isinstance(json.loads(data), dict)
    except ValueError:
        return True


def output_problem(
    path: str, suffix: str = "", allow_stdout: bool = False, kind: str | None = None
) -> str | None:
    """Why `path` cannot be written (checked before any training), or None if it can. A FIFO's
    write end is opened here and kept open for write_output. An existing regular file is
    replaced only if it is what this suite writes there (`kind`: a JSON document or a PNG), or
    empty: a source file named by mistake is refused."""
    if path == "-":
        return None if allow_stdout else "'-' (standard output) is only for --json"
    if not path:
        return "an empty path; give a file name" + (", or '-' for standard output" * allow_stdout)
    if suffix and not path.lower().endswith(suffix):
        return f"{path!r} must end with {suffix}"
    if os.path.isdir(path):
        return f"{path!r} is a directory, not a file"
    try:
        found = os.stat(path)
    except FileNotFoundError:
        found = None  # a new file: its folder must take it
    except OSError as e:  # not a directory on the way, a name too long, a loop of links ...
        return f"cannot write {path!r}: {e.strerror}"
    if _standard_fd(path) is not None:  # written through the descriptor this process has
        return None
    if found is not None and not stat.S_ISREG(found.st_mode):
        return _stream_problem(path, found.st_mode)
    # Renaming over a file needs only its folder's permission, so the file's own is checked
    # here. Root may write any file (os.access says so), but one without a write bit at all
    # has been marked read-only by its owner: that is refused too.
    if found is not None and not (os.access(path, os.W_OK) and found.st_mode & 0o222):
        return f"{path!r} is read-only; make it writable (chmod u+w) or give another name"
    if found is not None and kind and not_ours(path, kind):
        what = "a JSON document" if kind == "json" else "a PNG picture"
        return (
            f"{path!r} exists and is not {what}; it is not replaced (remove it first, or give "
            "another name)"
        )
    folder = os.path.dirname(os.path.realpath(path))
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".probe-")
    except OSError as e:
        return f"cannot write in {folder!r}: {e.strerror}"
    os.close(fd)
    os.remove(probe)
    return None


def _stream_problem(path: str, mode: int) -> str | None:
    """Why the FIFO, device or socket `path` cannot be written now, by opening it as
    write_output will. O_NONBLOCK: a FIFO without a reader fails at once (ENXIO) instead of
    waiting for one; O_NOCTTY: a terminal opened here never becomes the process's own."""
    if stat.S_ISSOCK(mode):
        return f"{path!r} is a socket, which cannot be opened as a file; give a file name"
    key = os.path.realpath(path)
    if key in _held_fifos:
        return None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as e:
        if e.errno == errno.ENXIO and stat.S_ISFIFO(mode):
            return f"{path!r} is a FIFO that nothing reads; start its reader first"
        return f"cannot write {path!r}: {e.strerror}"  # ENXIO: /dev/tty without a terminal
    if stat.S_ISFIFO(mode):
        os.set_blocking(fd, True)  # the result is written whole, however slowly it is read
        _held_fifos[key] = fd
    else:
        os.close(fd)
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
