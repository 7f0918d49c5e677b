"""How long the synthetic world takes to generate, with 1 and 2 worker processes.

    python benchmarks/bench_world.py [--size default|tiny]

Prints a table of wall time and clips/s; each setting writes a fresh world in a temporary folder.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

from tcclip.world.synthetic import generate_video_world


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="default", choices=["default", "tiny"])
    args = parser.parse_args(argv)
    print(f"\nsynthetic world '{args.size}' on {os.cpu_count()} CPUs\n")
    print("| workers | clips | seconds | clips/s |")
    print("|---|---|---|---|")
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            info = generate_video_world(os.path.join(tmp, "synthetic"), size=args.size, workers=workers)
            seconds = time.perf_counter() - start
        clips = sum(info.counts.values())
        print(f"| {workers} | {clips} | {seconds:.1f} | {clips / seconds:.0f} |")


if __name__ == "__main__":
    main()
