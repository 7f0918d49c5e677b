"""tcclip.io: a failed write leaves the old file as it was and no temporary file behind."""
import json
import os

import pytest

from tcclip.io import atomic_path, atomic_write_json, atomic_write_text, remove_stale_temporaries


def test_write_replaces_the_file(tmp_path):
    target = tmp_path / "a" / "out.json"
    atomic_write_json(target, {"x": 1})
    atomic_write_json(target, {"x": 2})
    assert json.loads(target.read_text()) == {"x": 2}
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.json"]


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_temporary_keeps_the_suffix(tmp_path):
    with atomic_path(tmp_path / "fig.png") as tmp:
        assert tmp.suffix == ".tmp" and tmp.name.endswith(".png.tmp") and tmp.name.startswith(".fig.")
        tmp.write_bytes(b"x")


def test_remove_stale_temporaries_only_touches_its_own_names(tmp_path):
    stale = tmp_path / ".last.abc123.pt.tmp"
    stale.write_bytes(b"x")
    keep = [tmp_path / "last.pt", tmp_path / ".hidden", tmp_path / "notes.tmp"]
    for p in keep:
        p.write_bytes(b"x")
    fresh = tmp_path / ".best.xyz.pt.tmp"
    fresh.write_bytes(b"x")
    os.utime(stale, (0, 0))  # written long ago
    assert remove_stale_temporaries(tmp_path, older_than_s=3600) == [stale]
    assert all(p.exists() for p in keep) and fresh.exists()
