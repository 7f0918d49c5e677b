"""Captioned stills: the stand-in for CLIP's web pretraining (``tcclip.world.pretrain`` reads them).

The stills name every word of every class and show change the way a photograph can (faint
copies of where the object was); only the videos show several moments as separate frames.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

import numpy as np

from tcclip.io import atomic_path

from .classes import COLOURS, DIRECTIONS, SHAPES
from .render import draw_nuisance, paint, shape_mask, to_uint8
from .version import GENERATOR_VERSION, params_hash

__all__ = [
    "POSITIONS",
    "STILL_OBJECT_SCALE",
    "captions_file_name",
    "generate_image_captions",
    "load_image_captions",
    "render_caption_image",
]

#: The position phrases of the captions and where each puts the object (fractions of the frame).
POSITIONS: dict[str, tuple[float, float]] = {
    "on the left": (0.25, 0.5), "on the right": (0.75, 0.5), "at the top": (0.5, 0.25),
    "at the bottom": (0.5, 0.75), "in the center": (0.5, 0.5),
}
#: Fraction of the captions per kind. "object" names colour, shape and position; the other
#: kinds name what the video classes need (staying still, motion, growing, rotating,
#: changing colour, two objects...) and show it the way a photograph can: see
#: ``render_caption_image``.
_CAPTION_KINDS = (("object", 0.34), ("still", 0.08), ("pair", 0.08), ("move", 0.16),
                  ("size", 0.09), ("rotate", 0.09), ("recolour", 0.07), ("two_move", 0.09))
#: Objects in the stills are larger than in the videos (web photos frame their subject;
#: video frames show it small among clutter): a domain gap that fine-tuning closes.
STILL_OBJECT_SCALE = 1.25


def _trail_alphas(n: int) -> np.ndarray:
    """Opacity of the ``n`` past copies of a trail, oldest (faintest) first."""
    return np.linspace(0.25, 0.7, n)


def render_caption_image(rng: np.random.Generator, image_size: int = 64
                         ) -> tuple[np.ndarray, str]:
    """One still image and its caption.

    Stills ground the appearance words (colours, shapes, positions, "two") directly, and the
    words of change the way a long-exposure photograph or a comic panel shows it: faint
    copies of where the object *was* behind the solid object where it *is* ("moving left":
    copies to its right; "growing": smaller outlines inside it; "shrinking": larger outlines
    around it; "rotating clockwise": copies turned counterclockwise from it; "approaching
    each other": copies on the outer sides). "Changing colour" is a two-coloured object,
    "staying still" an object with no trail. So every word of every class name is grounded,
    but only in stills: no still shows several moments as separate frames, which is what
    the video chapters add.
    """
    kinds, probs = zip(*_CAPTION_KINDS)
    kind = kinds[int(rng.choice(len(kinds), p=np.array(probs)))]
    colour = list(COLOURS)[int(rng.integers(len(COLOURS)))]
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    nz = draw_nuisance(rng, image_size, image_size, (1, 1))
    scale = float(image_size)
    yy, xx = np.mgrid[0:image_size, 0:image_size].astype(np.float32)
    xx, yy = xx[None] + 0.5, yy[None] + 0.5
    canvas = (nz.background + nz.noise[0])[None].copy()
    col = np.array(COLOURS[colour], np.float32) + nz.colour_jitter
    one = lambda v: np.full((1, 1, 1), v, np.float32)  # noqa: E731
    r = nz.radius * scale * STILL_OBJECT_SCALE
    centre = scale / 2 + rng.uniform(-0.12, 0.12, size=2) * scale

    def mask(cx: float, cy: float, radius: float = r, angle: float = nz.angle0,
             which: str = shape) -> np.ndarray:
        return shape_mask(which, xx, yy, one(cx), one(cy), one(radius), one(angle))

    def ghost(m: np.ndarray, alpha: float, outline: bool) -> None:
        """A faint copy: filled (a streak, drawn under the object) or an outline on top."""
        if outline:  # the copy's edge: its mask minus the mask shifted inwards by a pixel
            inner = np.zeros_like(m)
            inner[:, 1:-1, 1:-1] = m[:, 1:-1, 1:-1] & m[:, :-2, 1:-1] & m[:, 2:, 1:-1] \
                & m[:, 1:-1, :-2] & m[:, 1:-1, 2:]
            m = m & ~inner
            tint = 0.5 * col + 0.5 * 255.0
        else:
            tint = col
        np.copyto(canvas, alpha * tint + (1 - alpha) * canvas, where=m[..., None])

    if kind in ("object", "still"):
        pos = list(POSITIONS)[int(rng.integers(len(POSITIONS)))]
        px, py = POSITIONS[pos]
        px, py = px + rng.uniform(-0.08, 0.08), py + rng.uniform(-0.08, 0.08)
        paint(canvas, mask(px * scale, py * scale), col)
        what = pos if kind == "object" else "staying still"
        return to_uint8(canvas[0]), f"a photo of a {colour} {shape} {what}"
    if kind == "pair":
        close = bool(rng.integers(2))
        sep = (2.4 * r if close else 0.55 * scale)
        c, s = np.cos(nz.axis_angle), np.sin(nz.axis_angle)
        for sign in (-1, 1):
            paint(canvas, mask(scale / 2 + sign * sep / 2 * c, scale / 2 + sign * sep / 2 * s), col)
        where = "close together" if close else "far apart"
        return to_uint8(canvas[0]), f"a photo of two {colour} {shape}s {where}"
    if kind == "move":
        direction = DIRECTIONS[int(rng.integers(len(DIRECTIONS)))]
        step = np.array({"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}[direction])
        end = centre + step * 0.2 * scale
        for alpha, back in zip(_trail_alphas(5), np.linspace(0.4, 0.08, 5) * scale):
            ghost(mask(*(end - step * back)), alpha, outline=False)
        paint(canvas, mask(*end), col)
        axis = "horizontally" if direction in ("left", "right") else "vertically"
        said = direction if rng.integers(2) else axis
        return to_uint8(canvas[0]), f"a photo of a {colour} {shape} moving {said}"
    if kind == "size":
        growing = bool(rng.integers(2))
        now = r * (1.3 if growing else 0.7)
        paint(canvas, mask(*centre, radius=now), col)
        for alpha, k in zip(_trail_alphas(3), (3, 2, 1)):  # oldest first
            past = now * (1 - 0.22 * k) if growing else now * (1 + 0.35 * k)
            ghost(mask(*centre, radius=past), alpha, outline=True)
        return to_uint8(canvas[0]), f"a photo of a {colour} {shape} {'growing' if growing else 'shrinking'}"
    if kind == "rotate":
        which = ("striped circle", "checkered circle")[int(rng.integers(2))]
        clockwise = bool(rng.integers(2))
        big = r * 1.2
        for alpha, k in zip(_trail_alphas(3), (3, 2, 1)):
            # clockwise on screen = increasing angle (y down): the past lies at smaller angles;
            # faint copies at earlier angles, under the object, show through its gaps as
            # stripes turned back from its own
            past = nz.angle0 - (1 if clockwise else -1) * np.deg2rad(20.0 * k)
            ghost(mask(*centre, radius=big, angle=past, which=which), alpha, outline=False)
        paint(canvas, mask(*centre, radius=big, which=which), col)
        sense = "clockwise" if clockwise else "counterclockwise"
        return to_uint8(canvas[0]), f"a photo of a {colour} {which} rotating {sense}"
    if kind == "recolour":
        other = [c for c in COLOURS if c != colour][int(rng.integers(len(COLOURS) - 1))]
        whole = mask(*centre)
        cos, sin = np.cos(nz.axis_angle), np.sin(nz.axis_angle)
        side = (cos * (xx - centre[0]) + sin * (yy - centre[1])) > 0
        paint(canvas, whole & ~side, col)
        paint(canvas, whole & side, np.array(COLOURS[other], np.float32) + nz.colour_jitter)
        return to_uint8(canvas[0]), f"a photo of a {shape} changing colour"
    # two_move: two objects with trails on their outer sides (approaching) or inner sides
    approaching = bool(rng.integers(2))
    c, s = np.cos(nz.axis_angle), np.sin(nz.axis_angle)
    sep_now = (2.6 * r if approaching else 0.55 * scale)
    sep_past = np.linspace(0.55 * scale, 2.6 * r, 5) if approaching else np.linspace(2.6 * r, 0.55 * scale, 5)
    for sign in (-1, 1):
        for alpha, sep in zip(_trail_alphas(4), sep_past[:4]):
            ghost(mask(scale / 2 + sign * sep / 2 * c, scale / 2 + sign * sep / 2 * s), alpha, outline=False)
    for sign in (-1, 1):
        paint(canvas, mask(scale / 2 + sign * sep_now / 2 * c, scale / 2 + sign * sep_now / 2 * s), col)
    motion = "approaching each other" if approaching else "moving apart"
    return to_uint8(canvas[0]), f"a photo of two {colour} {shape}s {motion}"


def _captions_params(seed: int, n: int, image_size: int) -> dict:
    return {"kind": "image_captions", "version": GENERATOR_VERSION, "seed": seed, "n": n, "image_size": image_size}


def captions_file_name(seed: int = 0, n: int = 4000, image_size: int = 64) -> str:
    """The file name of the captioned stills of these parameters (it changes with the generator's version)."""
    return f"image_captions_{params_hash(_captions_params(seed, n, image_size))}.npz"


def generate_image_captions(root: str | os.PathLike, seed: int = 0, n: int = 4000,
                            image_size: int = 64, progress: bool = False) -> Path:
    """Write ``n`` captioned stills to ``root/image_captions_<hash>.npz``; return the path.

    The file holds ``images`` (uint8, N x S x S x 3) and ``captions`` (unicode array); a
    ``captions.csv``-style text copy is not needed because ``load_image_captions`` reads
    it without pickle. Reuses the file when the same parameters were generated before.
    """
    if image_size % 2 or image_size < 16:
        raise ValueError(f"image_size must be even and >= 16, got {image_size}")
    params = _captions_params(seed, n, image_size)
    out = Path(root).resolve() / captions_file_name(seed, n, image_size)
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    images = np.empty((n, image_size, image_size, 3), np.uint8)
    captions: list[str] = []
    it: Iterable[int] = range(n)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="captioned stills", unit="img")
    for i in it:
        images[i], cap = render_caption_image(np.random.default_rng([seed, 7, i]), image_size)
        captions.append(cap)
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:  # a file object: numpy adds no ".npz" to it
        np.savez(fh, images=images, captions=np.array(captions), params=json.dumps(params))
    return out


def load_image_captions(path: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    """Images (uint8 N x S x S x 3) and captions written by ``generate_image_captions``."""
    with np.load(path, allow_pickle=False) as data:
        return data["images"], [str(c) for c in data["captions"]]
