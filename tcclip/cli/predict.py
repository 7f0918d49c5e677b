"""``python -m tcclip predict VIDEO... (--classes ... | --labels FILE) [options]``.

    python -m tcclip predict clip.mp4 other.mp4 --classes "a red square moving left,a blue circle growing"
    python -m tcclip predict clip.mp4 --labels labels.csv --checkpoint run/best.pt --explain fig.png

Without ``--checkpoint`` the model is the profile's (``tcclip.world.assets.build_profile_model``:
in the tiny profile, TC-Tiny with its mini-pretrained weights). A checkpoint of this project
rebuilds its own model (``tcclip.load_model``); a reference-release ``.pth`` records no
model, so ``--model``/``--clip``/``--pretrained``/``--frames`` say what to build (a
``tcclip.ModelSpec``). A video that cannot be read is reported on its own line; the
others are still predicted and the exit status is non-zero.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

from torch import nn

from tcclip.data.sampling import parse_views
from tcclip.predict import format_table, predict_videos

__all__ = ["build_parser", "main"]


def _classnames_from_args(args: argparse.Namespace) -> Optional[list[str]]:
    from tcclip.data import load_classnames

    if args.classes:
        names = [c.strip() for c in args.classes.split(",") if c.strip()]
        if not names:
            raise ValueError("--classes is empty; give comma-separated class names")
        return names
    if args.labels:
        return list(load_classnames(args.labels))
    return None


def _load_model(args: argparse.Namespace, classnames: Optional[list[str]]) -> nn.Module:
    from tcclip.checkpoint import MissingModelSpecError, load_model

    if args.checkpoint is None:
        if classnames is None:
            raise ValueError("give the classes to choose from: --classes 'a,b,c' or --labels FILE")
        from tcclip.world.assets import build_profile_model

        return build_profile_model(args.model, classnames)
    try:
        return load_model(args.checkpoint, classnames, trust_pickle=args.trust_pickle)
    except MissingModelSpecError:
        pass
    # A reference-release file: build what the options describe, then load into it.
    if classnames is None:
        raise ValueError(f"{args.checkpoint} stores no class names: pass --classes or --labels")
    from tcclip.models import ModelSpec
    from tcclip.world.assets import clip_weights
    from tcclip.world.profile import get_profile

    profile = get_profile()
    clip = args.clip or profile.clip_model
    pretrained = args.pretrained if args.pretrained is not None else (clip_weights(profile) if clip == profile.clip_model else "openai")
    spec = ModelSpec(args.model, clip, pretrained, args.frames or profile.num_frames)
    return load_model(args.checkpoint, classnames, spec=spec, trust_pickle=args.trust_pickle)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tcclip predict", description=__doc__.split("\n\n")[0])
    parser.add_argument("videos", nargs="+", help="video files")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--classes", help="comma-separated class names")
    which.add_argument("--labels", help="a label file (labels.csv 'id,name' or one name per line)")
    parser.add_argument("--checkpoint", help="this project's checkpoint, or a reference-release .pth")
    parser.add_argument("--model", default="tc_clip", choices=("clip", "vifi_clip", "tc_clip"),
                        help="model to build without a checkpoint, or for a reference .pth (default tc_clip)")
    parser.add_argument("--clip", help="open_clip model of a reference .pth (default: the profile's)")
    parser.add_argument("--pretrained", help="CLIP weights to build a reference .pth's model from (default: the profile's)")
    parser.add_argument("--frames", type=int, help="frames per clip of a reference .pth's model (default: the profile's)")
    parser.add_argument("--trust-pickle", action="store_true", help="allow pickled (non-tensor) entries in old checkpoints")
    parser.add_argument("--topk", type=int, default=5)
    parser.add_argument("--views", default="1x1", help="test views CLIPSxCROPS, e.g. 2x1 (default 1x1)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--explain", metavar="OUT.png", help="save seed/context-token figures (one per video: OUT-<n>.png when several)")
    parser.add_argument("--layer", type=int, default=-1, help="layer whose tokens --explain shows (default -1, the last)")
    return parser


def _explain_path(out: str, index: int, count: int) -> Path:
    path = Path(out)
    return path if count == 1 else path.with_name(f"{path.stem}-{index}{path.suffix or '.png'}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m tcclip predict VIDEO... (--classes ... | --labels FILE) [options]``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        views = parse_views(args.views)
        if args.topk < 1:
            raise ValueError(f"--topk must be >= 1, got {args.topk}")
        classnames = _classnames_from_args(args)
        model = _load_model(args, classnames)
    except (ValueError, FileNotFoundError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    results = predict_videos(model, args.videos, topk=args.topk, views=views)
    failed = [r for r in results if r["error"]]
    for r in failed:
        print(f"error: {r['error']}", file=sys.stderr)
    if args.explain:
        from tcclip.book.explain import explain_video

        readable = [r for r in results if not r["error"]]
        for i, r in enumerate(readable):
            try:
                r["explain"] = str(explain_video(model, r["video"], _explain_path(args.explain, i, len(readable)),
                                                 layer=args.layer))
            except ValueError as error:
                print(f"error: --explain: {error}", file=sys.stderr)
                return 2
    print(json.dumps(results, indent=1) if args.json else format_table(results))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
