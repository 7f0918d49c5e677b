"""Figure helpers shared by the book's chapters.

* :func:`set_book_style` - one look for every figure (a seaborn theme).
* :func:`to_display` - any video/frame tensor or array -> float ``(..., H, W, 3)`` in [0, 1].
* :func:`frame_strip` - a clip as a row of frames, with optional titles.
* :func:`show_image` - one image on an axis, without ticks or grid.
* :func:`overlay_patches` - highlight ViT patches on a frame (a boolean mask, e.g. the seed
  tokens of Sec. 3.2.1, or per-patch scores as a heat map).
* :func:`colour_by_group` - context-token source maps in the style of the paper's Fig. 6:
  every patch that belongs to a group is painted with the mean colour of its group.

The array helpers return numpy arrays (so tests can check pixels); the figure helpers return
the matplotlib :class:`~matplotlib.figure.Figure` they drew on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "set_book_style",
    "to_display",
    "patch_grid",
    "frame_strip",
    "show_image",
    "overlay_patches",
    "colour_by_group",
]

# The CLIP normalisation constants, used to undo normalisation for display.
CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def set_book_style(context: str = "notebook", font_scale: float = 1.0) -> None:
    """Apply the book's figure style (seaborn ``whitegrid`` with a colour-blind palette)."""
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(context=context, style="whitegrid", palette="colorblind", font_scale=font_scale)
    mpl.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "axes.titlesize": "medium",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "image.interpolation": "nearest",
        }
    )


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch
        x = x.detach().to("cpu")
        if str(x.dtype) in {"torch.bfloat16", "torch.float16"}:
            x = x.float()
        x = x.numpy()
    return np.asarray(x)


def to_display(frames, clip_normalized: bool | None = None) -> np.ndarray:
    """Convert frames to float32 ``(..., H, W, 3)`` with values in [0, 1].

    Accepts torch tensors or numpy arrays, channel-first ``(..., 3, H, W)`` or channel-last
    ``(..., H, W, 3)``, ``uint8`` (0-255) or floating point. Grey frames ``(..., H, W)`` are
    repeated to three channels. For floats, ``clip_normalized=True`` undoes CLIP's mean/std
    normalisation; ``None`` (the default) does so only if values fall outside [0, 1], and any
    values still outside are then min-max rescaled.
    """
    a = _to_numpy(frames)
    if a.ndim < 2:
        raise ValueError(f"expected an image or a stack of images, got shape {a.shape}")
    is_int = np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_
    if a.ndim >= 3 and a.shape[-3] == 3 and a.shape[-1] != 3:
        a = np.moveaxis(a, -3, -1)  # channel-first -> channel-last
    elif a.ndim >= 3 and a.shape[-3] == 1 and a.shape[-1] != 1:
        a = np.moveaxis(a, -3, -1)
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    elif a.shape[-1] != 3:  # grey (..., H, W)
        a = np.repeat(a[..., None], 3, axis=-1)
    if is_int:
        out = a.astype(np.float32) / (1.0 if a.dtype == np.bool_ else 255.0)
    else:
        out = a.astype(np.float32)
        out_of_range = out.size > 0 and (out.min() < -1e-3 or out.max() > 1 + 1e-3)
        if clip_normalized or (clip_normalized is None and out_of_range):
            out = out * CLIP_STD + CLIP_MEAN
        if out.size > 0 and (out.min() < -1e-3 or out.max() > 1 + 1e-3):
            lo, hi = float(out.min()), float(out.max())
            out = (out - lo) / max(hi - lo, 1e-8)
    return np.clip(out, 0.0, 1.0)


def patch_grid(grid, num_patches: int | None = None) -> tuple[int, int]:
    """Normalise ``grid`` (an int, a pair, or None = square root of ``num_patches``)."""
    if grid is None:
        if num_patches is None:
            raise ValueError("give grid=(rows, cols) or the number of patches")
        side = int(round(num_patches**0.5))
        if side * side != num_patches:
            raise ValueError(f"{num_patches} patches are not a square grid; pass grid=(rows, cols)")
        return side, side
    if isinstance(grid, (int, np.integer)):
        return int(grid), int(grid)
    rows, cols = grid
    return int(rows), int(cols)


def _patch_slices(height: int, width: int, grid: tuple[int, int]):
    rows, cols = grid
    if height % rows or width % cols:
        raise ValueError(f"a {height}x{width} frame does not split into a {rows}x{cols} patch grid")
    ph, pw = height // rows, width // cols
    for i in range(rows):
        for j in range(cols):
            yield i * cols + j, slice(i * ph, (i + 1) * ph), slice(j * pw, (j + 1) * pw)


def frame_strip(
    video,
    titles: Sequence[str] | None = None,
    ax=None,
    gap: int = 2,
    title: str | None = None,
    frame_width: float = 1.6,
):
    """Draw a clip as one row of frames and return the figure.

    ``video``: ``(T, 3, H, W)`` or ``(T, H, W, 3)``, float or uint8, tensor or array (see
    :func:`to_display`). ``titles``: one label per frame (default ``t=0``, ``t=1``, ...;
    pass ``[]`` for none). ``gap``: white pixels between frames.
    """
    import matplotlib.pyplot as plt

    frames = to_display(video)
    if frames.ndim == 3:
        frames = frames[None]
    if frames.ndim != 4:
        raise ValueError(f"expected (T, 3, H, W) or (T, H, W, 3), got {frames.shape}")
    t, h, w, _ = frames.shape
    if titles is None:
        titles = [f"t={i}" for i in range(t)]
    if len(titles) not in (0, t):
        raise ValueError(f"{len(titles)} titles for {t} frames")
    strip = np.ones((h, t * w + (t - 1) * gap, 3), dtype=np.float32)
    for i in range(t):
        x0 = i * (w + gap)
        strip[:, x0 : x0 + w] = frames[i]

    if ax is None:
        fig, ax = plt.subplots(figsize=(max(frame_width * t, 2.0), frame_width * h / w + 0.5))
    else:
        fig = ax.figure
    ax.imshow(strip, interpolation="nearest")
    ax.grid(False)
    ax.set_yticks([])
    if len(titles):
        ax.set_xticks([i * (w + gap) + (w - 1) / 2 for i in range(t)])
        ax.set_xticklabels(list(titles))
        ax.tick_params(axis="x", length=0, labeltop=True, labelbottom=False)
    else:
        ax.set_xticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title)
    return fig


def show_image(image, ax=None, title: str | None = None, size: float = 2.5):
    """Draw one image (any layout :func:`to_display` accepts) without ticks or grid lines.

    Returns the axis, so that ``show_image(overlay_patches(...), ax=axes[0], title="seeds")``
    composes with :func:`overlay_patches` and :func:`colour_by_group`.
    """
    import matplotlib.pyplot as plt

    img = to_display(image)
    if img.ndim != 3:
        raise ValueError(f"expected one image, got shape {img.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(size, size * img.shape[0] / img.shape[1]))
    ax.imshow(img, interpolation="nearest")
    ax.grid(False)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def overlay_patches(
    frame,
    patch_mask_or_scores,
    grid=None,
    colour=(1.0, 0.15, 0.1),
    alpha: float = 0.55,
    cmap: str = "magma",
    dim_unselected: float = 0.0,
) -> np.ndarray:
    """Highlight patches of one frame; returns a float ``(H, W, 3)`` image in [0, 1].

    ``patch_mask_or_scores`` has one entry per patch, flat ``(P,)`` in row-major order or
    ``(rows, cols)``:

    * boolean (or 0/1 integers): the selected patches are tinted with ``colour`` (blend weight
      ``alpha``); the others keep their pixels, or are faded towards white by
      ``dim_unselected`` (0 = untouched, 1 = white).
    * float scores: painted with the colour map ``cmap`` (scores min-max scaled), blended with
      weight ``alpha`` everywhere.

    ``grid``: ``(rows, cols)``, an int for a square grid, or None to infer a square grid.
    """
    img = to_display(frame)
    if img.ndim != 3:
        raise ValueError(f"expected one frame, got shape {img.shape}")
    values = _to_numpy(patch_mask_or_scores)
    grid = patch_grid(grid if grid is not None else (values.shape if values.ndim == 2 else None), values.size)
    values = values.reshape(-1)
    if values.size != grid[0] * grid[1]:
        raise ValueError(f"{values.size} patch values for a {grid[0]}x{grid[1]} grid")
    out = img.copy()
    h, w, _ = img.shape
    is_mask = values.dtype == np.bool_ or (
        np.issubdtype(values.dtype, np.integer) and set(np.unique(values)) <= {0, 1}
    )
    if is_mask:
        mask = values.astype(bool)
        tint = np.asarray(colour, dtype=np.float32)
        for p, rs, cs in _patch_slices(h, w, grid):
            if mask[p]:
                out[rs, cs] = (1 - alpha) * img[rs, cs] + alpha * tint
            elif dim_unselected > 0:
                out[rs, cs] = (1 - dim_unselected) * img[rs, cs] + dim_unselected
    else:
        import matplotlib

        scores = values.astype(np.float32)
        lo, hi = float(scores.min()), float(scores.max())
        scaled = (scores - lo) / (hi - lo) if hi > lo else np.zeros_like(scores)
        colours = matplotlib.colormaps[cmap](scaled)[:, :3].astype(np.float32)
        for p, rs, cs in _patch_slices(h, w, grid):
            out[rs, cs] = (1 - alpha) * img[rs, cs] + alpha * colours[p]
    return np.clip(out, 0.0, 1.0)


def colour_by_group(
    frames,
    group_ids,
    grid=None,
    background: float | None = 0.85,
) -> np.ndarray:
    """Context-token source maps (paper Fig. 6); returns float ``(T, H, W, 3)`` in [0, 1].

    ``frames``: ``(T, 3, H, W)`` or ``(T, H, W, 3)`` (a single frame is accepted too).
    ``group_ids``: integers ``(T, P)`` or ``(T, rows, cols)``: for every patch of every frame,
    the context token it was merged into, or a negative number for patches that are not
    seed tokens. Each group is painted with the mean colour of all the pixels of all its
    source patches, across frames, so one context token reads as one flat colour wherever
    its sources lie. Patches outside every group are shown in grey, faded towards white by
    ``background`` (None keeps their original pixels).
    """
    imgs = to_display(frames)
    ids = _to_numpy(group_ids)
    if imgs.ndim == 3:
        imgs = imgs[None]
        ids = ids[None]
    t, h, w, _ = imgs.shape
    if ids.shape[0] != t:
        raise ValueError(f"group_ids has {ids.shape[0]} frames, frames has {t}")
    if grid is None and ids.ndim == 3:
        grid = ids.shape[1:]
    ids = ids.reshape(t, -1).astype(np.int64)
    grid = patch_grid(grid, ids.shape[1])
    if ids.shape[1] != grid[0] * grid[1]:
        raise ValueError(f"{ids.shape[1]} group ids per frame for a {grid[0]}x{grid[1]} grid")
    slices = list(_patch_slices(h, w, grid))

    # mean colour of each group over all its source pixels
    sums: dict[int, np.ndarray] = {}
    counts: dict[int, int] = {}
    for f in range(t):
        for p, rs, cs in slices:
            g = int(ids[f, p])
            if g < 0:
                continue
            block = imgs[f, rs, cs].reshape(-1, 3)
            sums[g] = sums.get(g, 0.0) + block.sum(axis=0)
            counts[g] = counts.get(g, 0) + block.shape[0]
    means = {g: sums[g] / counts[g] for g in sums}

    if background is None:
        out = imgs.copy()
    else:
        grey = imgs.mean(axis=-1, keepdims=True).repeat(3, axis=-1)
        out = (1 - background) * grey + background
    for f in range(t):
        for p, rs, cs in slices:
            g = int(ids[f, p])
            if g >= 0:
                out[f, rs, cs] = means[g]
    return np.clip(out, 0.0, 1.0).astype(np.float32)
