"""How long each chapter of the book took to execute, and where a slow chapter spends its time.

    python tools/book_times.py                           # table of the last build (_build), slowest first
    python tools/book_times.py profile notebooks/05_bipartite_merging.md   # time every cell of a chapter

The times are those myst-nb recorded when the build executed (or, for a chapter taken from the
jupyter-cache, when it was last executed): Sphinx keeps them in its environment
(``_build/.doctrees/environment.pickle``, ``env.nb_metadata[docname]["exec_data"]``).
``make book`` prints the table; ``tests/test_book_times.py`` fails when a chapter exceeds
``CHAPTER_LIMIT_S``. Timings on a shared CPU are inflated: the table gives the load average.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import pickle
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
#: The most one chapter may take to execute on a 2-core CPU without a GPU (the CI machine).
CHAPTER_LIMIT_S = 60.0


def chapter_times(build: Path = BUILD) -> dict[str, dict]:
    """``{docname: {"runtime": s, "mtime": epoch s, "method": ..., "succeeded": bool, ...}}`` of
    every executed page of the build; FileNotFoundError when there is no build."""
    env_file = build / ".doctrees" / "environment.pickle"
    if not env_file.is_file():
        raise FileNotFoundError(f"no book build at {build} (run `make book`)")
    with env_file.open("rb") as fh:
        env = pickle.load(fh)  # Sphinx's own cache of this build, written by the build itself
    metadata = getattr(env, "nb_metadata", {}) or {}
    return {doc: dict(data["exec_data"]) for doc, data in sorted(metadata.items()) if data.get("exec_data")}


def table(times: dict[str, dict]) -> str:
    """Markdown table, slowest first, with the total and the load average of this machine now."""
    rows = sorted(times.items(), key=lambda item: -(item[1].get("runtime") or 0.0))
    width = max([len("chapter")] + [len(doc) for doc in times])
    lines = [f"| {'chapter':<{width}} | seconds | executed         | ok  |",
             f"|{'-' * (width + 2)}|--------:|------------------|-----|"]
    for doc, data in rows:
        runtime = data.get("runtime")
        when = dt.datetime.fromtimestamp(data["mtime"]).strftime("%Y-%m-%d %H:%M") if data.get("mtime") else "-"
        seconds = f"{runtime:7.1f}" if runtime is not None else "      -"
        flag = "" if runtime is None or runtime <= CHAPTER_LIMIT_S else f"  <- over {CHAPTER_LIMIT_S:.0f} s"
        lines.append(f"| {doc:<{width}} | {seconds} | {when} | {'yes' if data.get('succeeded') else 'NO ':<3} |{flag}")
    total = sum(data.get("runtime") or 0.0 for data in times.values())
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines.append(f"{len(times)} chapters, {total:.0f} s in all; limit {CHAPTER_LIMIT_S:.0f} s per chapter; "
                 f"load average now {load} on {os.cpu_count()} CPUs")
    return "\n".join(lines)


def profile(chapter: Path, timeout: int = 900) -> tuple[list[tuple[int, float, float, str]], dict[str, float]]:
    """Execute ``chapter`` (a jupytext .md) in a fresh kernel the way the build does (cwd: its
    folder). Returns ``(cell index, seconds as the client waited, seconds the kernel reported,
    first line)`` for every code cell, slowest first, and the seconds of the phases around the
    cells (``kernel start``, ``cells``, ``kernel shutdown``): a chapter can be slow outside its cells."""
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(chapter)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(chapter.parent)}})
    phases: dict[str, float] = {}
    waited: dict[int, float] = {}
    start = time.perf_counter()
    with client.setup_kernel():
        phases["kernel start"] = time.perf_counter() - start
        for index, cell in enumerate(nb.cells):
            begin = time.perf_counter()
            client.execute_cell(cell, index)
            waited[index] = time.perf_counter() - begin
        phases["cells"] = sum(waited.values())
        shutdown = time.perf_counter()
    phases["kernel shutdown"] = time.perf_counter() - shutdown
    out = []
    for index, cell in enumerate(nb.cells):
        stamps = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type == "code" and stamps:
            begin, end = (dt.datetime.fromisoformat(stamps[key].replace("Z", "+00:00"))
                          for key in ("iopub.execute_input", "shell.execute_reply"))
            first = next((line for line in cell.source.splitlines() if line.strip() and not line.startswith((":", "---"))), "")
            out.append((index, waited[index], (end - begin).total_seconds(), first[:80]))
    return sorted(out, key=lambda row: -row[1]), phases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", type=Path, default=BUILD, help="the build folder (default: _build)")
    sub = parser.add_subparsers(dest="command")
    prof = sub.add_parser("profile", help="time every code cell of one chapter")
    prof.add_argument("chapter", type=Path)
    prof.add_argument("--top", type=int, default=10)
    args = parser.parse_args(argv)
    if args.command == "profile":
        start = time.perf_counter()
        cells, phases = profile(args.chapter.resolve())
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"{args.chapter}: {time.perf_counter() - start:.1f} s in all; "
              + "; ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items()) + f" (load average {load})")
        print("  cell  waited  kernel  first line")
        for index, waited, ran, first in cells[: args.top]:
            print(f"  {index:4d} {waited:7.2f} {ran:7.2f}  {first}")
        return 0
    try:
        times = chapter_times(args.build)
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return 1
    print("Chapter execution times (myst-nb, from the build's environment):")
    print(table(times))
    return 0


if __name__ == "__main__":
    sys.exit(main())
