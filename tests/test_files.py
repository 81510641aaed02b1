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


def test_package_modules_import_only_modules_above_them():
    """The order repro/__init__.py (and the README) gives: a module may use the ones above it,
    anywhere in its code, never one below it."""
    import ast

    from conftest import ROOT

    package = ROOT / "repro"
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
    order = [line.split()[0] for line in doc.splitlines() if line.startswith("    ")]
    assert sorted(order) == sorted(p.stem for p in package.glob("*.py") if p.stem != "__init__")
    for k, name in enumerate(order):
        used = set()
        for node in ast.walk(ast.parse((package / f"{name}.py").read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "repro":
                used |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("repro."):
                used.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                used |= {a.name.split(".")[1] for a in node.names if a.name.startswith("repro.")}
        below = used - set(order[:k])
        assert not below, f"repro/{name}.py imports {sorted(below)}, listed below it"
