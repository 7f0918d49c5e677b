"""The synthetic world: a CPU-sized stand-in for Kinetics / HMDB-51 / UCF-101.

Every chapter and test of this project needs video data with the *structure* of the real
benchmarks (natural-language class names, train/val/test lists, few-shot, base-to-novel
and zero-shot protocol views) but none of their size. This module draws small procedural
videos of coloured shapes whose class names are short English phrases built from a small
vocabulary ("a ring moving horizontally"), and writes them as real ``.mp4`` files in the same
on-disk layout as the prepared real datasets, so the decoding, sampling and evaluation code
is exercised end to end.

Design choices (documented in ``book/synthetic_world.md``):

* Three class families, each a measurable question (``CLASS_FAMILIES``): *appearance*, where
  one frame decides (no other class draws the same object); *across_frames*, rings whose
  every single frame looks like a frame of the others (same distribution of position, size
  and colour) while the class is a relation between frames (still, moving horizontally or
  vertically, changing colour), so frame averaging is at chance and order does not matter;
  *time_direction*, exact time-reversed pairs (a reversed-time class is rendered by
  rendering its partner with the same nuisance and reversing the frames).
* Nuisance (background tint + texture, per-frame noise, object size, start position,
  speed jitter, distractor shapes, clip length) is drawn per video, so no single pixel
  gives the class away. Objects keep ``EDGE`` clear of the borders, so that mild crops
  keep them whole.
* Everything is deterministic: each video gets its own ``numpy`` generator seeded by
  ``(seed, class index, split, video index)``, so the content does not depend on the
  order or the number of workers.
* Names are compositional, so the zero-shot view can hold out colour x pattern combinations
  whose every word is seen in training.
* Captioned stills (the tiny CLIP's pretraining data) name every word of every class and
  show change the way a photograph can (faint copies of where the object was).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from tcclip.io import atomic_path, atomic_write_text
from tcclip.data.registry import (
    DATASET_LAYOUT,
    DATASET_SPECS,
    FEW_SHOT_SHOTS,
    SPLIT_IDS,
    VIDEOS_DIRNAME,
    SplitPaths,
    get_split,
)

__all__ = [
    "CLASS_FAMILIES",
    "captions_file_name",
    "COLOURS",
    "SHAPES",
    "SIZES",
    "ClassSpec",
    "WorldInfo",
    "WorldSize",
    "build_classes",
    "render_video",
    "encode_mp4",
    "generate_video_world",
    "generate_image_captions",
    "render_caption_image",
    "load_image_captions",
    "main",
]

# --------------------------------------------------------------------------------------
# Vocabulary and class families
# --------------------------------------------------------------------------------------

#: Class colours (RGB). Saturated and far apart (>= 110 in RGB distance from each other) so
#: that they survive yuv420p chroma subsampling and the colour jitter of the stills;
#: distractors and backgrounds only use muted colours, so these stay unique.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (225, 35, 35),
    "green": (35, 190, 60),
    "blue": (45, 85, 235),
    "yellow": (235, 215, 35),
    "purple": (170, 50, 215),
    "cyan": (40, 205, 215),
}
#: Objects of the one-frame classes (a disc, solid or with a fill pattern), and the ring of the
#: across-frames classes. World v2 drew circles, squares and triangles; the tiny CLIP never told
#: those apart (8-pixel patches on 15-22-pixel shapes: even trained with labels on single frames
#: its vision tower gets shape 56 % right after 1,000 steps, a fill pattern 93 % after 400;
#: results/miniature/learning/README.md). A fill pattern shows in every patch of the object.
SHAPES: tuple[str, ...] = ("circle", "striped circle", "checkered circle", "ring")
#: Stripe period of the patterned discs, in pixels at 64x64 (half of it coloured).
STRIPE_PERIOD = 6.0
DIRECTIONS: tuple[str, ...] = ("left", "right", "up", "down")
AXES: tuple[str, ...] = ("horizontally", "vertically")

#: What each family tests. Read by the book.
CLASS_FAMILIES: dict[str, str] = {
    "appearance": "One frame decides: a static disc whose colour and fill pattern name the class "
    "('a red striped circle staying still').",
    "across_frames": "Several frames decide, their order does not: a ring of a random colour "
    "staying still, moving horizontally or vertically, or changing colour; every single frame "
    "looks like a frame of the others ('a ring changing colour').",
    "time_direction": "Only the order decides: exact time-reversed pairs, the second class "
    "rendered as the first played backwards ('a red circle growing' / 'shrinking').",
}


@dataclass(frozen=True)
class ClassSpec:
    """One class: its name and the parameters the renderer needs.

    ``colour`` empty means a colour drawn per clip (the across-frames rings, whose names do
    not say it). ``direction``: "left" | "right" | "up" | "down" for a named direction,
    "horizontally" | "vertically" for an axis travelled either way. ``reverse_of`` names the
    class whose time-reversal this class is; the renderer draws that partner and flips the
    frames, which makes the pair symmetric by construction.
    """

    name: str
    family: str
    colour: str
    shape: str
    action: str  # "still" | "move" | "rotate" | "grow" | "recolour" | "approach"
    direction: str = ""
    reverse_of: str = ""

    @property
    def words(self) -> list[str]:
        """The words of the name; the zero-shot view checks every unseen class's words."""
        return self.name.split()

    @property
    def look(self) -> str:
        """What a single frame shows. Classes with the same look differ only across frames
        (the rings) or only in the order of the frames (a time-reversed pair), so a model
        that averages per-frame scores can at best tell the look."""
        if self.family == "across_frames":
            return f"a {self.shape}"
        return self.reverse_of or self.name


#: (colour, shape) of the time-direction pairs; the one-frame classes leave them out, so a
#: single frame tells which pair a clip belongs to (and only the order which member).
_PAIR_OBJECTS = (("red", "circle"), ("yellow", "striped circle"))


def _full_classes() -> list[ClassSpec]:
    """The default world's 26 classes, in label order (stable: it defines label ids)."""
    specs = [ClassSpec(f"a {colour} {shape} staying still", "appearance", colour, shape, "still")
             for colour in COLOURS for shape in SHAPES[:3] if (colour, shape) not in _PAIR_OBJECTS]
    specs += [
        ClassSpec("a ring staying still", "across_frames", "", "ring", "still"),
        ClassSpec("a ring moving horizontally", "across_frames", "", "ring", "move",
                  direction="horizontally"),
        ClassSpec("a ring moving vertically", "across_frames", "", "ring", "move",
                  direction="vertically"),
        ClassSpec("a ring changing colour", "across_frames", "", "ring", "recolour"),
        ClassSpec("a red circle growing", "time_direction", "red", "circle", "grow"),
        ClassSpec("a red circle shrinking", "time_direction", "red", "circle", "grow",
                  reverse_of="a red circle growing"),
        ClassSpec("a yellow striped circle rotating clockwise", "time_direction", "yellow",
                  "striped circle", "rotate"),
        ClassSpec("a yellow striped circle rotating counterclockwise", "time_direction", "yellow",
                  "striped circle", "rotate", reverse_of="a yellow striped circle rotating clockwise"),
        ClassSpec("two green circles approaching each other", "time_direction", "green",
                  "circle", "approach"),
        ClassSpec("two green circles moving apart", "time_direction", "green", "circle",
                  "approach", reverse_of="two green circles approaching each other"),
    ]
    return specs


#: Zero-shot hold-out of the default world: one static colour x pattern composition per
#: colour, two per pattern (a Latin-square-like diagonal); every word stays seen in training.
_DEFAULT_ZERO_SHOT = (
    "a red striped circle staying still",
    "a green checkered circle staying still",
    "a blue circle staying still",
    "a yellow checkered circle staying still",
    "a purple circle staying still",
    "a cyan striped circle staying still",
)

_TINY_CLASSES = (
    "a green circle staying still",
    "a blue striped circle staying still",
    "a blue circle staying still",
    "a green striped circle staying still",
    "a ring moving horizontally",
    "a ring changing colour",
    "a red circle growing",
    "a red circle shrinking",
)
_TINY_ZERO_SHOT = ("a blue circle staying still", "a green striped circle staying still")


@dataclass(frozen=True)
class WorldSize:
    """A preset of the world's size. ``frames`` is the (min, max) clip length."""

    classes: tuple[str, ...]
    zero_shot: tuple[str, ...]
    n_train: int
    n_val: int
    n_test: int
    frames: tuple[int, int]
    shots: tuple[int, ...]
    b2n_shots: int


SIZES: dict[str, WorldSize] = {
    "default": WorldSize(tuple(s.name for s in _full_classes()), _DEFAULT_ZERO_SHOT,
                         n_train=40, n_val=5, n_test=15, frames=(12, 24),
                         shots=FEW_SHOT_SHOTS, b2n_shots=16),
    # the same classes, four times the clips: the GPU plan of the experiments in miniature
    "large": WorldSize(tuple(s.name for s in _full_classes()), _DEFAULT_ZERO_SHOT,
                       n_train=160, n_val=20, n_test=60, frames=(12, 24),
                       shots=FEW_SHOT_SHOTS, b2n_shots=16),
    # 16 training clips per class so every registered few-shot K exists even here.
    "tiny": WorldSize(_TINY_CLASSES, _TINY_ZERO_SHOT, n_train=16, n_val=1, n_test=2,
                      frames=(8, 12), shots=FEW_SHOT_SHOTS, b2n_shots=4),
}


def build_classes(names: Sequence[str] | None = None) -> list[ClassSpec]:
    """The class specs for ``names`` (all 40 default classes when ``None``), in that order."""
    table = {s.name: s for s in _full_classes()}
    if names is None:
        return list(table.values())
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f"unknown synthetic class names {unknown}; pick from "
                         f"tcclip.world.synthetic.build_classes() names")
    return [table[n] for n in names]


# --------------------------------------------------------------------------------------
# Rendering (vectorised over frames and pixels)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Nuisance:
    """Per-video random draws that do not carry the class."""

    frames: int
    background: np.ndarray  # (H, W, 3) float32
    noise: np.ndarray  # (T, H, W, 3) float32
    radius: float
    start: tuple[float, float]  # (x, y) fractions in [0, 1]
    jitter: float  # multiplicative speed jitter
    angle0: float
    colour_jitter: np.ndarray  # (3,)
    distractors: list[tuple[float, float, float, float, tuple[int, int, int]]]
    cut: float  # event time as a fraction of the clip
    axis_angle: float  # two-object axis
    colours: tuple[str, str]  # two distinct class colours, for classes whose name has none
    forward: bool  # travel direction along an axis (classes that name the axis only)
    rest: tuple[float, float]  # where on its path a static object sits (fractions)


#: Objects keep this fraction of the frame clear at every edge, so that the tiny profile's
#: mild crops (scale >= 0.85, square: at most 7.8 % cut from a side) never cut one (tested).
EDGE = 0.1
#: Fraction of the frame a moving object travels over the clip (times the speed jitter).
SPAN = 0.42
#: Distance from the centre to the farthest point of each shape, in units of its radius
#: parameter, to keep whole shapes inside EDGE (every object of world v3 is a disc).
_REACH = {shape: 1.0 for shape in SHAPES}
#: The two objects of the two-object classes are smaller, so that they can travel far.
_PAIR_SCALE = 0.75


def _draw_nuisance(rng: np.random.Generator, height: int, width: int,
                   frames: tuple[int, int]) -> _Nuisance:
    """Draw everything that varies within a class, in a fixed order (determinism)."""
    t = int(rng.integers(frames[0], frames[1] + 1))
    grey = rng.uniform(30, 110)
    tint = rng.uniform(-12, 12, size=3)
    coarse = rng.normal(0, 14, size=(4, 4, 3))
    # Bilinear-ish upsample of a 4x4 texture by repetition + box blur, vectorised.
    rep = np.kron(coarse, np.ones((height // 4 + 1, width // 4 + 1, 1)))[:height, :width]
    bg = (grey + tint + rep).astype(np.float32)
    noise = rng.normal(0, 5, size=(t, height, width, 3)).astype(np.float32)
    radius = float(rng.uniform(0.12, 0.17))
    start = (float(rng.uniform(0, 1)), float(rng.uniform(0, 1)))
    jitter = float(rng.uniform(0.85, 1.15))
    angle0 = float(rng.uniform(0, 2 * np.pi))
    colour_jitter = rng.uniform(-18, 18, size=3)
    n_dis = int(rng.integers(1, 3))
    distractors = []
    for _ in range(n_dis):
        muted = tuple(int(v) for v in rng.uniform(90, 170) + rng.uniform(-15, 15, size=3))
        distractors.append((float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.1, 0.9)),
                            float(rng.uniform(0.04, 0.12)), float(rng.uniform(0.02, 0.04)),
                            muted))
    cut = float(rng.uniform(0.3, 0.7))
    axis_angle = float(rng.uniform(0, np.pi))
    names = list(COLOURS)
    first, second = rng.choice(len(names), size=2, replace=False)
    forward = bool(rng.integers(2))
    rest = (float(rng.uniform(0, 1)), float(rng.uniform(0, 1)))
    return _Nuisance(t, bg, noise, radius, start, jitter, angle0, colour_jitter,
                     distractors, cut, axis_angle, (names[first], names[second]), forward, rest)


def _shape_mask(shape: str, xx: np.ndarray, yy: np.ndarray, cx: np.ndarray, cy: np.ndarray,
                r: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Boolean (T, H, W) mask of one shape per frame; all parameters are (T, 1, 1) arrays."""
    dx, dy = xx - cx, yy - cy
    d2 = dx * dx + dy * dy
    if shape == "circle":
        return d2 <= r * r
    if shape == "ring":  # a thick ring: the hole shows the background (or what is behind)
        return (d2 <= r * r) & (d2 >= (0.5 * r) ** 2)
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")
    # patterned discs: stripes across the object's own axes (pixels), so turning the object
    # turns its stripes, which every patch it covers shows
    cos, sin = np.cos(angle), np.sin(angle)
    u, v = cos * dx + sin * dy, -sin * dx + cos * dy
    stripes_u = np.mod(u, STRIPE_PERIOD) < STRIPE_PERIOD / 2
    if shape == "striped circle":
        return (d2 <= r * r) & stripes_u
    return (d2 <= r * r) & (stripes_u ^ (np.mod(v, STRIPE_PERIOD) < STRIPE_PERIOD / 2))


def _trajectory(spec: ClassSpec, nz: _Nuisance, t: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame centre (fractions), radius and angle of the main object, forward time.

    ``t`` runs from 0 to 1 over the clip. Objects keep ``EDGE`` clear of every border.
    Rings (the across-frames classes) all place their object the same way, a path of
    length ``SPAN`` per axis: a moving ring travels it, a static one sits at a random point
    of it. So the position of a ring in any one frame has the same distribution whether
    the clip moves horizontally, vertically or not at all: only several frames tell.
    """
    r = np.full_like(t, nz.radius)
    angle = np.full_like(t, nz.angle0)
    margin = nz.radius * _REACH[spec.shape] + EDGE
    if spec.shape == "ring":
        span = min(SPAN * nz.jitter, 1 - 2 * margin)
        lo_x = margin + nz.start[0] * (1 - 2 * margin - span)
        lo_y = margin + nz.start[1] * (1 - 2 * margin - span)
        path = t if nz.forward else 1 - t
        along_x = path if spec.direction == "horizontally" else np.full_like(t, nz.rest[0])
        along_y = path if spec.direction == "vertically" else np.full_like(t, nz.rest[1])
        return {"cx": lo_x + span * along_x, "cy": lo_y + span * along_y, "r": r, "angle": angle}
    cx = np.full_like(t, margin + nz.start[0] * (1 - 2 * margin))
    cy = np.full_like(t, margin + nz.start[1] * (1 - 2 * margin))
    if spec.action == "move":
        span = min(SPAN * nz.jitter, 1 - 2 * margin)
        lo = margin + nz.start[0] * (1 - 2 * margin - span)
        lo_y = margin + nz.start[1] * (1 - 2 * margin - span)
        if spec.direction in ("left", "right"):
            cx = lo + span * (t if spec.direction == "right" else 1 - t)
        else:
            cy = lo_y + span * (t if spec.direction == "down" else 1 - t)
    elif spec.action == "rotate":
        # About 80 degrees over the clip: well below the stripes' 180-degree symmetry,
        # so the first and last frames differ and every step is unambiguous.
        # Increasing angle with y pointing down is clockwise on screen.
        angle = nz.angle0 + np.deg2rad(80 * nz.jitter) * t
        r = np.full_like(t, nz.radius * 1.2)
        m = nz.radius * 1.2 * _REACH[spec.shape] + EDGE
        cx = np.full_like(t, m + nz.start[0] * (1 - 2 * m))
        cy = np.full_like(t, m + nz.start[1] * (1 - 2 * m))
    elif spec.action == "grow":
        big = min(nz.radius * 2.6, 0.3)
        r = nz.radius * 0.45 + (big - nz.radius * 0.45) * t
        m = big + EDGE
        cx = np.full_like(t, m + nz.start[0] * (1 - 2 * m))
        cy = np.full_like(t, m + nz.start[1] * (1 - 2 * m))
    return {"cx": cx, "cy": cy, "r": r, "angle": angle}


def _paint(canvas: np.ndarray, mask: np.ndarray, colour: np.ndarray) -> None:
    """Write ``colour`` (3,) or (T,1,1,3) into ``canvas`` (T,H,W,3) where ``mask`` holds."""
    colour = np.broadcast_to(colour, canvas.shape)
    np.copyto(canvas, colour, where=mask[..., None])


def object_colours(spec: ClassSpec, nz: _Nuisance) -> tuple[str, str]:
    """(before, after) colour names of the main object: equal unless it changes colour."""
    if spec.action == "recolour":
        return nz.colours
    colour = spec.colour or nz.colours[0]
    return colour, colour


def _forward_frames(spec: ClassSpec, nz: _Nuisance, height: int, width: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Float (T, H, W, 3) frames of ``spec`` in forward time with nuisance ``nz``, and the
    (T, H, W) mask of the class's object(s)."""
    T = nz.frames
    t = np.linspace(0.0, 1.0, T, dtype=np.float32)
    scale = float(min(height, width))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    xx, yy = xx[None] + 0.5, yy[None] + 0.5  # (1, H, W)
    canvas = np.broadcast_to(nz.background, (T, height, width, 3)).copy()
    ones = np.ones((T, 1, 1), dtype=np.float32)
    for dx, dy, w, h, col in nz.distractors:  # static muted bars
        mask = (np.abs(xx - dx * width) <= w * scale) & (np.abs(yy - dy * height) <= h * scale)
        _paint(canvas, np.broadcast_to(mask, (T, height, width)), np.array(col, np.float32))

    before, after = object_colours(spec, nz)
    colour = np.array(COLOURS[before], np.float32) + nz.colour_jitter
    traj = _trajectory(spec, nz, t)
    col = lambda a: a.reshape(T, 1, 1) * ones  # noqa: E731  (T,) -> (T,1,1)
    if spec.action == "approach":
        # Two objects along a random axis: from far apart to almost touching.
        cos, sin = np.cos(nz.axis_angle), np.sin(nz.axis_angle)
        radius = nz.radius * _PAIR_SCALE
        sep = np.minimum((0.4 - (0.4 - 2.0 * radius) * t) * nz.jitter, 0.4)  # EDGE clear
        cxm = 0.5 + (nz.start[0] - 0.5) * 0.1
        cym = 0.5 + (nz.start[1] - 0.5) * 0.1
        for sign in (-1.0, 1.0):
            cx = (cxm + sign * 0.5 * sep * cos) * width
            cy = (cym + sign * 0.5 * sep * sin) * height
            mask = _shape_mask(spec.shape, xx, yy, col(cx), col(cy),
                               col(np.full_like(t, radius * scale)), col(traj["angle"]))
            _paint(canvas, mask, colour)
            objects = mask if sign < 0 else objects | mask
    else:
        mask = _shape_mask(spec.shape, xx, yy, col(traj["cx"] * width),
                           col(traj["cy"] * height), col(traj["r"] * scale), col(traj["angle"]))
        if spec.action == "recolour":
            late = np.array(COLOURS[after], np.float32) + nz.colour_jitter
            per_frame = np.where((t < nz.cut)[:, None], colour[None], late[None])
            _paint(canvas, mask, per_frame.reshape(T, 1, 1, 3))
        else:
            _paint(canvas, mask, colour)
        objects = mask
    return canvas + nz.noise, objects


def render_video(spec: ClassSpec, rng: np.random.Generator | int, height: int = 64,
                 width: int = 64, frames: tuple[int, int] = (12, 24),
                 classes: Sequence[ClassSpec] | None = None) -> np.ndarray:
    """Render one clip of ``spec`` as uint8 (T, H, W, 3), before any video compression.

    A reversed-time class draws its partner (looked up in ``classes``, default: all known
    classes) with the same generator state and flips time, so for one seed the two
    classes' clips are exact reverses of each other.
    """
    return render_video_with_nuisance(spec, rng, height, width, frames, classes)[0]


def render_video_with_nuisance(spec: ClassSpec, rng: np.random.Generator | int, height: int = 64,
                               width: int = 64, frames: tuple[int, int] = (12, 24),
                               classes: Sequence[ClassSpec] | None = None
                               ) -> tuple[np.ndarray, _Nuisance, np.ndarray]:
    """``render_video``, the nuisance it drew and the (T, H, W) mask of the class's object(s)
    (the tests measure colours, positions and sizes with them)."""
    if isinstance(rng, (int, np.integer)):
        rng = np.random.default_rng(int(rng))
    if height % 2 or width % 2:
        raise ValueError(f"height and width must be even for yuv420p video, got "
                         f"{height}x{width}; use e.g. 64x64")
    forward = spec
    if spec.reverse_of:
        table = {c.name: c for c in (classes or _full_classes())}
        if spec.reverse_of not in table:
            table.update({c.name: c for c in _full_classes()})
        forward = table[spec.reverse_of]
    nz = _draw_nuisance(rng, height, width, frames)
    out, objects = _forward_frames(forward, nz, height, width)
    if spec.reverse_of:
        out, objects = out[::-1], objects[::-1]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), nz, np.ascontiguousarray(objects)


# --------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------


def _pick_encoder() -> str:
    """libx264 when the PyAV wheel has it (what real datasets use), else MPEG-4 part 2."""
    import av

    for name in ("libx264", "mpeg4"):
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # noqa: BLE001  (PyAV raises several types across versions)
            continue
    raise RuntimeError("this PyAV build has neither libx264 nor mpeg4 encoders; "
                       "install the PyPI wheel: pip install 'av>=12'")


def encode_mp4(frames: np.ndarray, path: str | os.PathLike, fps: int = 8,
               codec: str | None = None) -> None:
    """Write uint8 (T, H, W, 3) RGB frames to ``path`` atomically (temp file + rename).

    Single-threaded constant-QP encoding keeps the bytes (hence the decoded frames)
    identical across runs, processes and worker counts with the same library versions;
    x264's CRF mode was seen to give different bytes for the same frames from one call to
    the next, so it is not used.
    """
    import av

    codec = codec or _pick_encoder()
    with atomic_path(path) as tmp:
        with av.open(str(tmp), "w", format="mp4") as container:
            stream = container.add_stream(codec, rate=fps)
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = "yuv420p"
            stream.codec_context.thread_count = 1
            if codec == "libx264":
                stream.options = {"qp": "12", "preset": "veryfast", "threads": "1"}
            else:
                stream.options = {"qscale": "2"}
            for frame in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)


# --------------------------------------------------------------------------------------
# The world on disk
# --------------------------------------------------------------------------------------

_SPLIT_IDS = {"train": 0, "val": 1, "test": 2}


@dataclass
class WorldInfo:
    """What ``generate_video_world`` produced; paths are absolute.

    ``views`` maps a view name to ``(list_file, labels_file)``: every protocol view is an
    annotation list (paths relative to ``video_root``) plus the labels file its ids index.
    Names: ``train``/``val``/``test``; ``few_shot_K{k}`` (``few_shot_K{k}_s{s}`` when the
    registry keeps several draws); ``b2n_train_s{s}``, ``b2n_test_base``,
    ``b2n_test_novel``; ``zero_shot_train``/``_val``/``_test``. The file names come from
    ``tcclip.data.registry`` (``get_split("synthetic", ...)``), so both always agree.
    """

    root: Path
    classes: list[str]
    families: dict[str, str]
    counts: dict[str, int]
    views: dict[str, tuple[Path, Path]]
    params: dict
    param_hash: str
    generated: bool = False
    seconds: float = 0.0
    zero_shot_seen: list[str] = field(default_factory=list)
    zero_shot_unseen: list[str] = field(default_factory=list)
    base_classes: list[str] = field(default_factory=list)
    novel_classes: list[str] = field(default_factory=list)
    video_root: Path = Path(".")


def class_dir_name(name: str) -> str:
    """Folder name for a class: words joined by underscores (as Kinetics folders are)."""
    return "_".join(name.split())


def _write_text(path: Path, lines: Iterable[str]) -> None:
    """Atomic text write: a crash never leaves a truncated list that looks complete."""
    atomic_write_text(path, "".join(f"{line}\n" for line in lines))


def _write_labels(path: Path, names: Sequence[str]) -> None:
    """``id,name`` csv with a header; ids are positions in ``names``."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "name"])
        for i, n in enumerate(names):
            writer.writerow([i, n])


#: The generator's version: a world or stills made by another version are regenerated (the
#: profile's cache) or refused (a root someone else owns). 3: discs with fill patterns.
GENERATOR_VERSION = 3


def made_by_other_generator(root: str | os.PathLike) -> bool:
    """Whether ``root`` holds a synthetic world written by another version of this generator."""
    try:
        old = json.loads((Path(root) / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return old.get("params", {}).get("version") != GENERATOR_VERSION


def _params(size: str, seed: int, height: int, width: int, fps: int,
            preset: WorldSize) -> dict:
    return {"kind": "video_world", "version": GENERATOR_VERSION, "size": size, "seed": seed,
            "height": height, "width": width, "fps": fps,
            "preset": dataclasses.asdict(preset),
            "layout": DATASET_LAYOUT["synthetic"]}  # a new file layout means regenerate


def _hash(params: dict) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


def _video_jobs(specs: Sequence[ClassSpec], preset: WorldSize
                ) -> list[tuple[int, str, int, str]]:
    """(class index, split, video index, path relative to videos/) of every clip."""
    jobs = []
    for split, n in (("train", preset.n_train), ("val", preset.n_val),
                     ("test", preset.n_test)):
        for ci, spec in enumerate(specs):
            for vi in range(n):
                jobs.append((ci, split, vi, f"{class_dir_name(spec.name)}/{split}_{vi:04d}.mp4"))
    return jobs


def _render_job(args: tuple) -> None:
    """Worker body (module level so it pickles): render + encode one clip if missing."""
    root, spec, classes, seed, ci, split, vi, rel, h, w, frames, fps = args
    out = Path(root) / VIDEOS_DIRNAME / rel
    if out.exists():
        return
    rng = np.random.default_rng([seed, ci, _SPLIT_IDS[split], vi])
    encode_mp4(render_video(spec, rng, h, w, frames, classes), out, fps=fps)


def _run_jobs(jobs: list[tuple], workers: int, progress: bool) -> None:
    """Run render jobs serially or in a process pool, with an optional tqdm bar."""
    bar: Callable[[Iterable], Iterable] = lambda it: it  # noqa: E731
    if progress:
        from tqdm.auto import tqdm

        bar = lambda it: tqdm(it, total=len(jobs), desc="synthetic videos", unit="clip")  # noqa: E731
    if workers <= 1:
        for job in bar(jobs):
            _render_job(job)
        return
    import multiprocessing as mp

    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ctx.Pool(workers) as pool:
        for _ in bar(pool.imap_unordered(_render_job, jobs, chunksize=16)):
            pass


def _few_shot(train: list[tuple[str, int]], n_classes: int, k: int,
              rng: np.random.Generator) -> list[tuple[str, int]]:
    """K clips per class drawn without replacement, kept in list order."""
    by_class: dict[int, list[int]] = {c: [] for c in range(n_classes)}
    for i, (_, label) in enumerate(train):
        by_class[label].append(i)
    keep: list[int] = []
    for c in range(n_classes):
        idx = by_class[c]
        if k > len(idx):
            raise ValueError(f"{k}-shot needs {k} training clips of class {c}, only "
                             f"{len(idx)}; lower the shots or raise n_train")
        keep += rng.choice(idx, size=k, replace=False).tolist()
    return [train[i] for i in sorted(keep)]


def _remap(items: list[tuple[str, int]], keep: Sequence[int]) -> list[tuple[str, int]]:
    """Keep clips of classes ``keep`` and renumber labels to positions in ``keep``."""
    pos = {c: i for i, c in enumerate(keep)}
    return [(p, pos[label]) for p, label in items if label in pos]


def _fmt(items: list[tuple[str, int]]) -> list[str]:
    return [f"{p} {label}" for p, label in items]


def _registry_split(root: Path, **kwargs: object) -> SplitPaths:
    """``get_split("synthetic", ...)`` for a world living in ``root`` (any folder name)."""
    env = {DATASET_SPECS["synthetic"].env_var: str(root)}
    return get_split("synthetic", environ=env, check_exists=False, **kwargs)  # type: ignore[arg-type]


def _few_shot_draws() -> tuple[int | None, ...]:
    """Draw ids of the few-shot lists: 1..3 if the registry's file name has {split}."""
    return SPLIT_IDS if "{split}" in DATASET_LAYOUT["synthetic"]["few_shot/train"] else (None,)


def _view_table(root: Path, preset: WorldSize) -> dict[str, tuple[Path, Path]]:
    """view -> (list, labels) paths, all asked from the registry (one source of names)."""
    views: dict[str, tuple[Path, Path]] = {}

    def put(key: str, paths: SplitPaths) -> None:
        views[key] = (paths.list_file, paths.label_file)

    for sub in _SPLIT_IDS:
        put(sub, _registry_split(root, protocol="standard", subset=sub))
    for k in preset.shots:
        for s in _few_shot_draws():
            put(f"few_shot_K{k}" + (f"_s{s}" if s else ""),
                _registry_split(root, protocol="few_shot", shots=k, split=s))
    for s in SPLIT_IDS:
        put(f"b2n_train_s{s}", _registry_split(root, protocol="base2novel", split=s))
    for side in ("base", "novel"):
        put(f"b2n_test_{side}", _registry_split(root, protocol="base2novel", subset="test",
                                                classes=side))
    for sub in _SPLIT_IDS:
        put(f"zero_shot_{sub}", _registry_split(root, protocol="zero_shot", subset=sub))
    return views


def _class_splits(names: list[str], preset: WorldSize, seed: int
                  ) -> tuple[list[int], list[int], list[int], list[int]]:
    """(base, novel, zero-shot seen, zero-shot unseen) class indices, sorted.

    Base / novel: a seeded random half (the real benchmarks split their class list in
    half as well). Zero-shot: the preset's held-out compositions.
    """
    n = len(names)
    perm = np.random.default_rng([seed, 2000]).permutation(n)
    base, novel = sorted(perm[: n // 2].tolist()), sorted(perm[n // 2:].tolist())
    unseen = sorted(names.index(u) for u in preset.zero_shot)
    seen = [i for i in range(n) if i not in unseen]
    return base, novel, seen, unseen


def _write_views(root: Path, names: list[str], preset: WorldSize, seed: int,
                 jobs: list[tuple[int, str, int, str]]) -> None:
    """Write the split lists and every protocol view named in ``_view_table``."""
    views = _view_table(root, preset)
    _write_labels(views["train"][1], names)
    # Clips live in root/videos/; list paths are relative to the registry's video root.
    video_root = _registry_split(root, protocol="standard").video_root
    prefix = Path(os.path.relpath(root / VIDEOS_DIRNAME, video_root))
    per_split: dict[str, list[tuple[str, int]]] = {"train": [], "val": [], "test": []}
    for ci, split, _, rel in jobs:
        per_split[split].append(((prefix / rel).as_posix(), ci))
    for split, items in per_split.items():
        _write_text(views[split][0], _fmt(items))

    n = len(names)
    for k in preset.shots:
        for s in _few_shot_draws():
            rng = np.random.default_rng([seed, 1000 + k, s or 1])
            _write_text(views[f"few_shot_K{k}" + (f"_s{s}" if s else "")][0],
                        _fmt(_few_shot(per_split["train"], n, k, rng)))

    base, novel, seen, unseen = _class_splits(names, preset, seed)
    _write_labels(views["b2n_test_base"][1], [names[i] for i in base])
    _write_labels(views["b2n_test_novel"][1], [names[i] for i in novel])
    base_train = _remap(per_split["train"], base)
    for s in SPLIT_IDS:
        rng = np.random.default_rng([seed, 3000 + s])
        _write_text(views[f"b2n_train_s{s}"][0],
                    _fmt(_few_shot(base_train, len(base), preset.b2n_shots, rng)))
    _write_text(views["b2n_test_base"][0], _fmt(_remap(per_split["test"], base)))
    _write_text(views["b2n_test_novel"][0], _fmt(_remap(per_split["test"], novel)))

    _write_labels(views["zero_shot_train"][1], [names[i] for i in seen])
    if views["zero_shot_val"][1] != views["zero_shot_train"][1]:
        _write_labels(views["zero_shot_val"][1], [names[i] for i in seen])
    _write_labels(views["zero_shot_test"][1], [names[i] for i in unseen])
    _write_text(views["zero_shot_train"][0], _fmt(_remap(per_split["train"], seen)))
    _write_text(views["zero_shot_val"][0], _fmt(_remap(per_split["val"], seen)))
    _write_text(views["zero_shot_test"][0], _fmt(_remap(per_split["test"], unseen)))


def _check_zero_shot(names: Sequence[str], unseen: Sequence[str]) -> None:
    """Unseen classes must be new combinations of seen words, or zero-shot is unfair."""
    missing = [u for u in unseen if u not in names]
    if missing:
        raise ValueError(f"zero-shot classes {missing} are not in the world's classes")
    seen_words = {w for n in names if n not in unseen for w in n.split()}
    for u in unseen:
        new = [w for w in u.split() if w not in seen_words]
        if new:
            raise ValueError(f"zero-shot class {u!r} has words never seen in training {new}; "
                             f"choose held-out classes that recombine seen words")


def _world_info(root: Path, specs: list[ClassSpec], preset: WorldSize, seed: int,
                params: dict, phash: str, generated: bool, seconds: float) -> WorldInfo:
    names = [s.name for s in specs]
    base, novel, seen, unseen = _class_splits(names, preset, seed)
    counts = {"train": preset.n_train * len(names), "val": preset.n_val * len(names),
              "test": preset.n_test * len(names)}
    return WorldInfo(root, names, {s.name: s.family for s in specs}, counts,
                     _view_table(root, preset), params, phash, generated, seconds,
                     [names[i] for i in seen], [names[i] for i in unseen],
                     [names[i] for i in base], [names[i] for i in novel],
                     _registry_split(root, protocol="standard").video_root)


def generate_video_world(root: str | os.PathLike, seed: int = 0, size: str = "default",
                         height: int = 64, width: int = 64, fps: int = 8,
                         workers: int = 1, progress: bool = False,
                         overwrite: bool = False) -> WorldInfo:
    """Write the synthetic video world into the dataset folder ``root``; describe it.

    ``root`` is the dataset directory itself (``registry.dataset_dir("synthetic")`` by
    convention): ``root/labels.csv``, ``root/train.txt``, ``root/videos/...``.
    Idempotent: a ``manifest.json`` records the parameters and their hash; when it matches
    and says the world is complete, nothing is redone. An interrupted run resumes (clips
    are written atomically, so existing ones are complete). A different world already in
    ``root`` is an error unless ``overwrite``; then its clips are removed first.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {sorted(SIZES)}")
    preset = SIZES[size]
    root = Path(root).resolve()
    specs = build_classes(preset.classes)
    names = [s.name for s in specs]
    _check_zero_shot(names, preset.zero_shot)
    params = _params(size, seed, height, width, fps, preset)
    phash = _hash(params)
    manifest = root / "manifest.json"
    if manifest.exists():
        old = json.loads(manifest.read_text())
        if old.get("param_hash") == phash and old.get("complete"):
            return _world_info(root, specs, preset, seed, params, phash, False, 0.0)
        if old.get("param_hash") != phash:
            if not overwrite:
                old_p = old.get("params", {})
                raise FileExistsError(
                    f"{root} holds a synthetic world with other parameters (size "
                    f"{old_p.get('size')!r}, seed {old_p.get('seed')}); pass overwrite=True "
                    f"(--overwrite) or choose another root")
            import shutil

            shutil.rmtree(root / VIDEOS_DIRNAME, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({"params": params, "param_hash": phash,
                                    "complete": False}, indent=1))
    start = time.perf_counter()
    jobs = _video_jobs(specs, preset)
    work = [(str(root), specs[ci], specs, seed, ci, split, vi, rel, height, width,
             preset.frames, fps) for ci, split, vi, rel in jobs]
    _run_jobs(work, workers, progress)
    _write_views(root, names, preset, seed, jobs)
    seconds = time.perf_counter() - start
    atomic_write_text(manifest, json.dumps({"params": params, "param_hash": phash, "complete": True,
                                            "classes": names, "seconds": round(seconds, 2)}, indent=1))
    return _world_info(root, specs, preset, seed, params, phash, True, seconds)


# --------------------------------------------------------------------------------------
# Image-caption pairs (the stand-in for CLIP's web pretraining)
# --------------------------------------------------------------------------------------

_POSITIONS: dict[str, tuple[float, float]] = {
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
    nz = _draw_nuisance(rng, image_size, image_size, (1, 1))
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
        return _shape_mask(which, xx, yy, one(cx), one(cy), one(radius), one(angle))

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
        pos = list(_POSITIONS)[int(rng.integers(len(_POSITIONS)))]
        px, py = _POSITIONS[pos]
        px, py = px + rng.uniform(-0.08, 0.08), py + rng.uniform(-0.08, 0.08)
        _paint(canvas, mask(px * scale, py * scale), col)
        what = pos if kind == "object" else "staying still"
        return _to_uint8(canvas[0]), f"a photo of a {colour} {shape} {what}"
    if kind == "pair":
        close = bool(rng.integers(2))
        sep = (2.4 * r if close else 0.55 * scale)
        c, s = np.cos(nz.axis_angle), np.sin(nz.axis_angle)
        for sign in (-1, 1):
            _paint(canvas, mask(scale / 2 + sign * sep / 2 * c, scale / 2 + sign * sep / 2 * s), col)
        where = "close together" if close else "far apart"
        return _to_uint8(canvas[0]), f"a photo of two {colour} {shape}s {where}"
    if kind == "move":
        direction = DIRECTIONS[int(rng.integers(len(DIRECTIONS)))]
        step = np.array({"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}[direction])
        end = centre + step * 0.2 * scale
        for alpha, back in zip(_trail_alphas(5), np.linspace(0.4, 0.08, 5) * scale):
            ghost(mask(*(end - step * back)), alpha, outline=False)
        _paint(canvas, mask(*end), col)
        axis = "horizontally" if direction in ("left", "right") else "vertically"
        said = direction if rng.integers(2) else axis
        return _to_uint8(canvas[0]), f"a photo of a {colour} {shape} moving {said}"
    if kind == "size":
        growing = bool(rng.integers(2))
        now = r * (1.3 if growing else 0.7)
        _paint(canvas, mask(*centre, radius=now), col)
        for alpha, k in zip(_trail_alphas(3), (3, 2, 1)):  # oldest first
            past = now * (1 - 0.22 * k) if growing else now * (1 + 0.35 * k)
            ghost(mask(*centre, radius=past), alpha, outline=True)
        return _to_uint8(canvas[0]), f"a photo of a {colour} {shape} {'growing' if growing else 'shrinking'}"
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
        _paint(canvas, mask(*centre, radius=big, which=which), col)
        sense = "clockwise" if clockwise else "counterclockwise"
        return _to_uint8(canvas[0]), f"a photo of a {colour} {which} rotating {sense}"
    if kind == "recolour":
        other = [c for c in COLOURS if c != colour][int(rng.integers(len(COLOURS) - 1))]
        whole = mask(*centre)
        cos, sin = np.cos(nz.axis_angle), np.sin(nz.axis_angle)
        side = (cos * (xx - centre[0]) + sin * (yy - centre[1])) > 0
        _paint(canvas, whole & ~side, col)
        _paint(canvas, whole & side, np.array(COLOURS[other], np.float32) + nz.colour_jitter)
        return _to_uint8(canvas[0]), f"a photo of a {shape} changing colour"
    # two_move: two objects with trails on their outer sides (approaching) or inner sides
    approaching = bool(rng.integers(2))
    c, s = np.cos(nz.axis_angle), np.sin(nz.axis_angle)
    sep_now = (2.6 * r if approaching else 0.55 * scale)
    sep_past = np.linspace(0.55 * scale, 2.6 * r, 5) if approaching else np.linspace(2.6 * r, 0.55 * scale, 5)
    for sign in (-1, 1):
        for alpha, sep in zip(_trail_alphas(4), sep_past[:4]):
            ghost(mask(scale / 2 + sign * sep / 2 * c, scale / 2 + sign * sep / 2 * s), alpha, outline=False)
    for sign in (-1, 1):
        _paint(canvas, mask(scale / 2 + sign * sep_now / 2 * c, scale / 2 + sign * sep_now / 2 * s), col)
    motion = "approaching each other" if approaching else "moving apart"
    return _to_uint8(canvas[0]), f"a photo of two {colour} {shape}s {motion}"


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _captions_params(seed: int, n: int, image_size: int) -> dict:
    return {"kind": "image_captions", "version": GENERATOR_VERSION, "seed": seed, "n": n, "image_size": image_size}


def captions_file_name(seed: int = 0, n: int = 4000, image_size: int = 64) -> str:
    """The file name of the captioned stills of these parameters (it changes with the generator's version)."""
    return f"image_captions_{_hash(_captions_params(seed, n, image_size))}.npz"


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


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tcclip.world.synthetic --root DIR [--size tiny] [--captions N]``."""
    parser = argparse.ArgumentParser(prog="python -m tcclip.world.synthetic",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="output folder of the world")
    parser.add_argument("--size", default="default", choices=sorted(SIZES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--height", type=int, default=64)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1, help="processes for encoding")
    parser.add_argument("--captions", type=int, default=0,
                        help="also write this many captioned stills (0: none)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a world generated with other parameters")
    args = parser.parse_args(argv)
    info = generate_video_world(args.root, seed=args.seed, size=args.size,
                                height=args.height, width=args.width, workers=args.workers,
                                progress=True, overwrite=args.overwrite)
    state = f"generated in {info.seconds:.1f}s" if info.generated else "already up to date"
    print(f"{info.root}: {len(info.classes)} classes, {info.counts} clips, {state}")
    if args.captions:
        path = generate_image_captions(args.root, seed=args.seed, n=args.captions,
                                       image_size=args.height, progress=True)
        print(f"captioned stills: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
