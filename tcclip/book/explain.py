"""Figures of what TC-CLIP's tokens look at in one video (``python -m tcclip predict --explain``).

The sampled frames, the seed tokens of a layer, and the context-token groups (which patches of
which frames each context token summarises) in the paper's Fig. 6 style and in one colour per
token.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

from tcclip.io import atomic_path
from tcclip.predict import _resolve_classnames, load_clip_views, model_input_size

__all__ = ["group_ids_from_sources", "explain_video"]


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

    from tcclip.models.vision import source_patch_map

    from .plotting import (
        colour_by_group,
        overlay_patches,
        set_book_style,
        show_image,
        to_display,
    )

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
    try:
        with atomic_path(out_path) as tmp:
            fig.savefig(tmp, dpi=dpi, format=(out_path.suffix.lstrip(".") or "png"))
    finally:
        plt.close(fig)
    return out_path
