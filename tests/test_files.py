"""Result files: written atomically, never half a file."""

import os

import pytest

from repro import files

# --- files ------------------------------------------------------------------------------------


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
