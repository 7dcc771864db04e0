"""multicam.io: the one atomic write."""

from __future__ import annotations

import json
import os

import pytest

from multicam.io import atomic_path, write_json_atomic, write_text_atomic


def test_write_replaces_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "manifest.json"
    write_json_atomic(path, {"a": 1})
    write_json_atomic(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert path.read_text().endswith("}\n")
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


@pytest.mark.parametrize("existing", [None, "old text"])
def test_a_failed_write_keeps_the_old_file(tmp_path, existing):
    path = tmp_path / "report.html"
    if existing is not None:
        path.write_text(existing)
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("disk full")
    assert (path.read_text() if path.exists() else None) == existing
    assert list(tmp_path.iterdir()) == ([path] if existing else [])


def test_temporary_name_is_hidden_and_keeps_the_suffix(tmp_path):
    with atomic_path(tmp_path / "mosaic.mp4") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".mosaic.") and tmp.suffix == ".mp4"
        tmp.write_bytes(b"x")
    assert (tmp_path / "mosaic.mp4").read_bytes() == b"x"


def test_permission_bits_of_an_existing_file_are_kept(tmp_path):
    path = tmp_path / "prompts.yaml"
    path.write_text("a")
    os.chmod(path, 0o600)
    write_text_atomic(path, "b")
    assert path.read_text() == "b" and (path.stat().st_mode & 0o777) == 0o600
