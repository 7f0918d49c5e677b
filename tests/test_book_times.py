"""Every chapter of the built book executes within a minute on the CI machine (2 CPU cores, no GPU).

Reads the execution times the build recorded (``tools/book_times.py``); a chapter over the limit
fails here, so the cause of a slow chapter is found when it appears. Profile it with
``python tools/book_times.py profile notebooks/<chapter>.md``. Without a build the test skips,
except in CI (``CI=true``) where it fails.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]


def load_tool():
    spec = importlib.util.spec_from_file_location("book_times", ROOT / "tools" / "book_times.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


book_times = load_tool()


def chapters() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    return [f for f in files if f.startswith("notebooks/")]


def recorded_times() -> dict[str, dict]:
    try:
        return book_times.chapter_times()
    except FileNotFoundError as err:
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail(f"{err} (CI=true: the book must be built before the tests)")
        pytest.skip(str(err))


def test_every_chapter_was_executed_successfully():
    times = recorded_times()
    missing = [c for c in chapters() if c not in times]
    failed = [c for c in chapters() if c in times and not times[c].get("succeeded")]
    assert not missing and not failed, f"not executed: {missing}; failed: {failed}"


def test_every_chapter_executes_within_the_limit():
    times = recorded_times()
    slow = {c: round(times[c]["runtime"], 1) for c in chapters()
            if c in times and times[c].get("runtime") is not None and times[c]["runtime"] > book_times.CHAPTER_LIMIT_S}
    assert not slow, (
        f"chapters over {book_times.CHAPTER_LIMIT_S:.0f} s: {slow} (load average now {os.getloadavg()}). "
        "Find the slow cells with: python tools/book_times.py profile notebooks/<chapter>.md\n"
        + book_times.table(times))


def test_table_lists_the_slowest_chapter_first_and_flags_it():
    times = {"notebooks/a": dict(runtime=3.0, mtime=0, succeeded=True),
             "notebooks/b": dict(runtime=book_times.CHAPTER_LIMIT_S + 1, mtime=0, succeeded=True)}
    lines = book_times.table(times).splitlines()
    assert "notebooks/b" in lines[2] and "over" in lines[2]
    assert "notebooks/a" in lines[3] and "over" not in lines[3]
