"""Top-k classes for video files, as the test split of ``tcclip.data.VideoDataset`` sees them.

    from tcclip.predict import predict_videos
    results = predict_videos(model, ["clip.mp4"], classnames=["archery", "bowling"], topk=5)

The command line (``python -m tcclip predict``) is ``tcclip.cli.predict``; the figures of what
TC-CLIP's tokens look at (``--explain``) are ``tcclip.book.explain``. A video that cannot be
read is reported in its result; the others are still predicted.
"""
from __future__ import annotations

import logging
import math
import os
from typing import Any, Optional, Sequence

from .data.sampling import ViewSpec

import torch
from torch import nn

log = logging.getLogger("tcclip")

__all__ = ["model_input_size", "load_clip_views", "predict_videos", "format_table"]


def model_input_size(model: nn.Module) -> tuple[int, int]:
    """(frames, image size) the model was built for, read off the model itself."""
    frames = int(model.num_frames)
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


