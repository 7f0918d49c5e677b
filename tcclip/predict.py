"""Top-k classes for video files, and figures of what TC-CLIP's tokens look at.

    python -m tcclip predict clip.mp4 other.mp4 --classes "a red square moving left,a blue circle growing"
    python -m tcclip predict clip.mp4 --labels labels.csv --checkpoint run/best.pt --explain fig.png

Without ``--checkpoint`` the model is the profile's (``tcclip.assets.build_profile_model``:
in the tiny profile, TC-Tiny with its mini-pretrained weights). A checkpoint of this project
rebuilds its own model (``tcclip.model_from_checkpoint``); a reference-release ``.pth``
carries no build arguments, so ``--model``/``--clip``/``--frames`` say what to build before
``tcclip.load_checkpoint``. Frames are decoded, sampled and transformed exactly as the test
split of ``tcclip.data.VideoDataset`` does. A video that cannot be read is reported on its
own line; the others are still predicted and the exit status is non-zero.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch
from torch import nn

log = logging.getLogger("tcclip")

__all__ = [
    "ViewSpec",
    "parse_views",
    "model_input_size",
    "load_clip_views",
    "predict_videos",
    "group_ids_from_sources",
    "explain_video",
    "format_table",
    "main",
]


@dataclass(frozen=True)
class ViewSpec:
    """Test views: ``clips`` temporal clips x ``crops`` spatial crops (the paper's "2x1")."""

    clips: int = 1
    crops: int = 1

    @property
    def count(self) -> int:
        return self.clips * self.crops


def parse_views(text: str) -> ViewSpec:
    """``"2x1"`` -> ViewSpec(2, 1); crops must be 1 or 3 (the test transform's choices)."""
    try:
        clips, crops = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"views must look like CLIPSxCROPS, e.g. 1x1 or 2x3; got {text!r}") from None
    if clips < 1 or crops not in (1, 3):
        raise ValueError(f"views {text!r}: need at least one clip and 1 or 3 crops")
    return ViewSpec(clips, crops)


def model_input_size(model: nn.Module) -> tuple[int, int]:
    """(frames, image size) the model was built for, read off the model itself."""
    frames = int(getattr(model, "build_args", {}).get("num_frames") or getattr(model, "num_frames"))
    visual = model.visual
    patch = visual.conv1.kernel_size[0]
    side = math.isqrt(visual.positional_embedding.shape[0] - 1)
    return frames, patch * side


def load_clip_views(path: str | os.PathLike, num_frames: int, size: int, views: ViewSpec = ViewSpec(),
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """One video as the test split samples it: float [V, T, 3, S, S] (CLIP-normalised,
    clip-major as in ``VideoDataset``) and the uint8 frames of the first clip [T, 3, H, W].

    Raises ``tcclip.data.VideoDecodeError`` for a missing or undecodable file.
    """
    from .data import build_transform, read_video_frames, test_view_indices

    transform = build_transform(False, size, num_crops=views.crops)
    chosen: list[torch.Tensor] = []

    def choose(n: int) -> torch.Tensor:  # decides the frames once the length is known (one open)
        chosen.extend(test_view_indices(n, num_frames, views.clips))
        return torch.cat(chosen)

    frames = read_video_frames(path, choose)  # [clips * T, 3, H, W]
    clips = frames.view(views.clips, num_frames, *frames.shape[1:])
    tensors = torch.cat([transform(clip) for clip in clips])  # [clips * crops, T, 3, S, S]
    return tensors, clips[0]


def _resolve_classnames(model: nn.Module, classnames: Optional[Sequence[str]]) -> list[str]:
    if classnames is not None:
        names = [str(c) for c in classnames]
        if list(getattr(model, "classnames", [])) != names:
            model.set_classnames(names)
    return list(model.classnames)


@torch.no_grad()
def predict_videos(
    model: nn.Module,
    paths: Sequence[str | os.PathLike],
    classnames: Optional[Sequence[str]] = None,
    topk: int = 5,
    views: ViewSpec = ViewSpec(),
) -> list[dict[str, Any]]:
    """Top-``topk`` classes of each video; one dict per path, in order.

    ``{"video": path, "top": [{"class": name, "prob": p}, ...], "error": None}``, where
    ``prob`` is the softmax over all classes averaged over the test views; for a video that
    cannot be read, ``top`` is empty and ``error`` says why.
    """
    from .data import VideoDecodeError

    names = _resolve_classnames(model, classnames)
    frames, size = model_input_size(model)
    k = max(1, min(topk, len(names)))
    device = next(model.parameters()).device
    model.eval()
    results = []
    for path in paths:
        entry: dict[str, Any] = {"video": str(path), "top": [], "error": None}
        try:
            video, _ = load_clip_views(path, frames, size, views)
        except (VideoDecodeError, ValueError) as error:
            entry["error"] = f"{error} (check the path, and that the file plays, e.g. with ffprobe)"
            results.append(entry)
            continue
        logits = model(video.to(device))  # every view of one video as a batch: [V, C]
        probs = logits.float().softmax(-1).mean(0).cpu()
        top = probs.topk(k)
        entry["top"] = [{"class": names[int(i)], "prob": round(float(p), 6)} for p, i in zip(top.values, top.indices)]
        results.append(entry)
    return results


def format_table(results: Sequence[dict[str, Any]]) -> str:
    """The predictions as a plain-text table: one block per video, one row per rank."""
    lines = []
    for r in results:
        lines.append(str(r["video"]))
        if r["error"]:
            lines.append(f"  ERROR: {r['error']}")
            continue
        width = max(len(t["class"]) for t in r["top"])
        lines.append(f"  {'rank':>4}  {'class':<{width}}  {'prob':>6}")
        for rank, t in enumerate(r["top"], 1):
            lines.append(f"  {rank:>4}  {t['class']:<{width}}  {t['prob']:>6.3f}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Explanation figures
# --------------------------------------------------------------------------------------


def group_ids_from_sources(source_map: torch.Tensor) -> torch.Tensor:
    """[k, T, P] 0/1 source map -> [T, P] context-token id of each patch, -1 for none.

    A patch belongs to at most one context token (merging partitions the seed tokens),
    so the argmax over ``k`` is that token wherever any weight is set.
    """
    held = source_map.sum(0) > 0
    return torch.where(held, source_map.argmax(0), torch.full_like(held, -1, dtype=torch.long))


def _distinct_colour_groups(frames: np.ndarray, ids: np.ndarray, grid: int, alpha: float = 0.7) -> np.ndarray:
    """Each context token's patches tinted with its own palette colour (by hand: the
    plotting helpers tint one colour or a score map, not a categorical one)."""
    import matplotlib

    palette = matplotlib.colormaps["tab20"].colors
    out = frames.copy()
    t, h, w, _ = frames.shape
    ph, pw = h // grid, w // grid
    for f in range(t):
        for p in range(grid * grid):
            g = int(ids[f, p])
            if g < 0:
                continue
            r, c = divmod(p, grid)
            block = out[f, r * ph:(r + 1) * ph, c * pw:(c + 1) * pw]
            block[:] = (1 - alpha) * block + alpha * np.asarray(palette[g % len(palette)], np.float32)
    return out


@torch.no_grad()
def explain_video(model: nn.Module, path: str | os.PathLike, out: str | os.PathLike,
                  classnames: Optional[Sequence[str]] = None, layer: int = -1, dpi: int = 150) -> Path:
    """Save a figure of one video: its sampled frames, the seed tokens of ``layer`` (default
    the last) highlighted, and the context-token groups (which patches of which frames each
    context token summarises) in the paper's Fig. 6 style and in one colour per token.

    Needs a model with temporal contextualization (``tc_clip``). Written atomically.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .models.vision import source_patch_map
    from .plotting import colour_by_group, overlay_patches, set_book_style, show_image, to_display

    names = _resolve_classnames(model, classnames)
    num_frames, size = model_input_size(model)
    video, _ = load_clip_views(path, num_frames, size)
    device = next(model.parameters()).device
    model.eval()
    output = model(video[:1].to(device), return_details=True)
    layers = output.vision.layers
    usable = [i for i, d in enumerate(layers) if d.seed_indices is not None and d.sources is not None]
    if not usable:
        raise ValueError("--explain needs a model with temporal contextualization (seed and context tokens): "
                         "use --model tc_clip or a tc_clip checkpoint")
    index = layer if layer >= 0 else len(layers) + layer
    if index not in usable:
        raise ValueError(f"layer {layer} records no seed/context tokens; choose one of {usable} (or -1 for the last)")
    details = layers[index]
    grid = size // model.visual.conv1.kernel_size[0]
    num_patches = grid * grid
    seeds = torch.zeros(num_frames, num_patches, dtype=torch.bool)
    seeds.scatter_(1, details.seed_indices[0].cpu(), True)
    groups = group_ids_from_sources(source_patch_map(details, num_frames, num_patches)[0].cpu())
    frames = to_display(video[0].cpu(), clip_normalized=True)  # [T, S, S, 3], what the model saw
    fig6 = colour_by_group(frames, groups.numpy(), grid=grid)
    distinct = _distinct_colour_groups(frames, groups.numpy(), grid)
    probs = output.logits[0].float().softmax(-1).cpu()
    best = int(probs.argmax())

    set_book_style()
    rows = [("frames", frames), (f"seed tokens (layer {index})", None), ("context groups (Fig. 6 style)", fig6),
            ("context groups (one colour each)", distinct)]
    fig, axes = plt.subplots(len(rows), num_frames, figsize=(1.4 * num_frames, 1.5 * len(rows) + 0.6), squeeze=False)
    for r, (title, images) in enumerate(rows):
        for t in range(num_frames):
            image = (overlay_patches(frames[t], seeds[t].numpy(), grid=grid, colour=(0.0, 0.85, 1.0), dim_unselected=0.4)
                     if images is None else images[t])
            show_image(image, ax=axes[r, t], title=f"t={t}" if r == 0 else None)
        axes[r, 0].set_ylabel(title, rotation=0, ha="right", va="center", fontsize="small")
    k = len(groups.unique()) - int((groups < 0).any())
    fig.suptitle(f"{Path(path).name}: top-1 '{names[best]}' (p={float(probs[best]):.2f}); "
                 f"{int(seeds.sum())} seed patches, {k} context tokens", fontsize="medium")
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.stem}.{os.getpid()}.part{out_path.suffix or '.png'}")
    try:
        fig.savefig(tmp, dpi=dpi, format=(out_path.suffix.lstrip(".") or "png"))
        os.replace(tmp, out_path)
    finally:
        plt.close(fig)
        if tmp.exists():
            tmp.unlink()
    return out_path


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def _classnames_from_args(args: argparse.Namespace) -> Optional[list[str]]:
    from .data import load_classnames

    if args.classes:
        names = [c.strip() for c in args.classes.split(",") if c.strip()]
        if not names:
            raise ValueError("--classes is empty; give comma-separated class names")
        return names
    if args.labels:
        return list(load_classnames(args.labels))
    return None


def _load_model(args: argparse.Namespace, classnames: Optional[list[str]]) -> nn.Module:
    from .checkpoint import CheckpointError, load_checkpoint, model_from_checkpoint

    if args.checkpoint is None:
        if classnames is None:
            raise ValueError("give the classes to choose from: --classes 'a,b,c' or --labels FILE")
        from .assets import build_profile_model

        return build_profile_model(args.model, classnames)
    try:
        return model_from_checkpoint(args.checkpoint, classnames=classnames, trust_pickle=args.trust_pickle)
    except CheckpointError as error:
        if "does not record how its model was built" not in str(error):
            raise
    # A reference-release file: build what the options describe, then load into it.
    if classnames is None:
        raise ValueError(f"{args.checkpoint} stores no class names: pass --classes or --labels")
    from .assets import clip_weights
    from .models import build_model
    from .profile import get_profile

    profile = get_profile()
    clip = args.clip or profile.clip_model
    pretrained = args.pretrained if args.pretrained is not None else (clip_weights(profile) if clip == profile.clip_model else "openai")
    frames = args.frames or profile.num_frames
    model = build_model(args.model, classnames, clip=clip, pretrained=pretrained, num_frames=frames)
    load_checkpoint(model, args.checkpoint, trust_pickle=args.trust_pickle)
    return model


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
