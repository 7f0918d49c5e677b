"""``python -m tcclip check``: scan a dataset (list vs files, decodability, frame counts), or count
how many published protocol entries resolve to files (``--published``). The logic is
``tcclip.data.check``; this module only parses the command line.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from tcclip.data.check import (
    check_dataset,
    check_published,
    format_published_report,
    format_report,
    write_report,
)
from tcclip.io import atomic_write_json

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tcclip check", description="Check that a dataset list's videos exist and decode.")
    parser.add_argument("paths", nargs="*", metavar="PATH", help="LIST_FILE VIDEO_ROOT LABEL_FILE")
    parser.add_argument("--dataset", help="a registered dataset (tcclip.data.registry) instead of paths")
    parser.add_argument("--protocol", default="standard")
    parser.add_argument("--split", type=int, default=None)
    parser.add_argument("--shots", type=int, default=None)
    parser.add_argument("--subset", default="train")
    parser.add_argument("--classes", default=None, help="base or novel (base2novel only)")
    parser.add_argument("--root", default=None, help="data root (default $TCCLIP_DATA_ROOT)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", default="auto", choices=["auto", "decord", "pyav"])
    parser.add_argument("--num-frames", type=int, default=16, help="flag videos with fewer frames")
    parser.add_argument("--max-skip-rate", type=float, default=0.05,
                        help="the run's data.max_skip_rate: say whether the unreadable videos exceed it")
    parser.add_argument("--out", default="dataset_check", help="report path prefix (.json and .txt)")
    parser.add_argument("--published", action="store_true",
                        help="with --dataset: count how many entries of each published protocol list are on disk")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns 0 when the dataset is usable, 1 when problems were found."""
    args = _parser().parse_args(argv)
    if args.published:
        if not args.dataset:
            _parser().error("--published needs --dataset NAME")
        rows = check_published(args.dataset, root=args.root)
        out = Path(args.out).with_suffix(".json")
        atomic_write_json(out, rows)
        print(format_published_report(rows), end="")
        print(f"report written to {out}")
        return 0 if all(row["resolved"] == row["entries"] for row in rows) else 1
    if args.dataset:
        from tcclip.data.registry import get_split

        split = get_split(args.dataset, protocol=args.protocol, split=args.split, shots=args.shots,
                          subset=args.subset, classes=args.classes, root=args.root)
        list_file, video_root, label_file = split.list_file, split.video_root, split.label_file
    elif len(args.paths) == 3:
        list_file, video_root, label_file = (Path(p) for p in args.paths)
    else:
        _parser().error("give LIST_FILE VIDEO_ROOT LABEL_FILE, or --dataset NAME")
    report = check_dataset(list_file, video_root, label_file, num_workers=args.workers, backend=args.backend,
                           num_frames=args.num_frames, max_skip_rate=args.max_skip_rate)
    json_path, text_path = write_report(report, args.out)
    print(format_report(report), end="")
    print(f"report written to {json_path} and {text_path}")
    return 0 if report["ok"] else 1
