"""Every chapter of the built book executes within a minute on the CI machine (2 CPU cores, no GPU).

Reads the execution times the build recorded (``tools/book_times.py``); a chapter over the limit
fails here, so the cause of a slow chapter is found when it appears. Profile it with
``python tools/book_times.py profile notebooks/<chapter>.md``. Without a build those tests skip,
except in CI (``CI=true``) where they fail.

One cause is known and kept out: nbclient (which the build executes chapters with) answers an
``ipywidgets`` Output widget (``interact`` uses one) on the kernel's shell socket while it waits
there for the cell's reply; the reply can then go unnoticed until the cell timeout (300 s), after
which the cell completes as if nothing happened (jupyter/nbclient#312). Chapter 01 took 307 s in a
fresh build that way. The live widget cells are hidden from the book anyway, so the build skips
them (tag ``skip-execution``); nbval and Jupyter still run them.
"""
from __future__ import annotations

import os
from pathlib import Path

import jupytext
import pytest
from conftest import load_tool
import yaml

ROOT = Path(__file__).resolve().parents[1]


book_times = load_tool("book_times")


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


@pytest.mark.book
def test_every_chapter_was_executed_successfully():
    times = recorded_times()
    missing = [c for c in chapters() if c not in times]
    failed = [c for c in chapters() if c in times and not times[c].get("succeeded")]
    assert not missing and not failed, f"not executed: {missing}; failed: {failed}"


@pytest.mark.book
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


def test_widget_cells_are_skipped_by_the_build():
    unskipped = []
    for chapter in chapters():
        nb = jupytext.read(ROOT / f"{chapter}.md")
        for index, cell in enumerate(nb.cells):
            tags = cell.metadata.get("tags", [])
            if cell.cell_type == "code" and "ipywidgets" in cell.source and "skip-execution" not in tags:
                unskipped.append(f"{chapter} cell {index} (tags {tags})")
    assert not unskipped, f"widget cells the book build would execute (tag them remove-cell, skip-execution): {unskipped}"
