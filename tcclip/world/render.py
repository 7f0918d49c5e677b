"""Rendering the world's clips: the nuisance drawn per video, the objects' masks and paths, the
painting, and one clip (or one still frame) of a class. Vectorised over frames and pixels.

Nuisance (background tint + texture, per-frame noise, object size, start position, speed
jitter, distractor shapes, clip length) is drawn per video, so no single pixel gives the class
away. Objects keep ``EDGE`` clear of the borders, so that mild crops keep them whole. A
reversed-time class is rendered by rendering its partner with the same nuisance and reversing
the frames, which makes the pair symmetric by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .classes import COLOURS, SHAPES, ClassSpec, build_classes

__all__ = [
    "EDGE",
    "SPAN",
    "STRIPE_PERIOD",
    "Nuisance",
    "draw_nuisance",
    "object_colours",
    "paint",
    "render_object_frame",
    "render_video",
    "render_video_with_nuisance",
    "shape_mask",
    "to_uint8",
]

#: Stripe period of the patterned discs, in pixels at 64x64 (half of it coloured).
STRIPE_PERIOD = 6.0


@dataclass(frozen=True)
class Nuisance:
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


def draw_nuisance(rng: np.random.Generator, height: int, width: int,
                   frames: tuple[int, int]) -> Nuisance:
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
    return Nuisance(t, bg, noise, radius, start, jitter, angle0, colour_jitter,
                     distractors, cut, axis_angle, (names[first], names[second]), forward, rest)


def shape_mask(shape: str, xx: np.ndarray, yy: np.ndarray, cx: np.ndarray, cy: np.ndarray,
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


def _trajectory(spec: ClassSpec, nz: Nuisance, t: np.ndarray) -> dict[str, np.ndarray]:
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


def paint(canvas: np.ndarray, mask: np.ndarray, colour: np.ndarray) -> None:
    """Write ``colour`` (3,) or (T,1,1,3) into ``canvas`` (T,H,W,3) where ``mask`` holds."""
    colour = np.broadcast_to(colour, canvas.shape)
    np.copyto(canvas, colour, where=mask[..., None])


def object_colours(spec: ClassSpec, nz: Nuisance) -> tuple[str, str]:
    """(before, after) colour names of the main object: equal unless it changes colour."""
    if spec.action == "recolour":
        return nz.colours
    colour = spec.colour or nz.colours[0]
    return colour, colour


def _forward_frames(spec: ClassSpec, nz: Nuisance, height: int, width: int
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
        paint(canvas, np.broadcast_to(mask, (T, height, width)), np.array(col, np.float32))

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
            mask = shape_mask(spec.shape, xx, yy, col(cx), col(cy),
                               col(np.full_like(t, radius * scale)), col(traj["angle"]))
            paint(canvas, mask, colour)
            objects = mask if sign < 0 else objects | mask
    else:
        mask = shape_mask(spec.shape, xx, yy, col(traj["cx"] * width),
                           col(traj["cy"] * height), col(traj["r"] * scale), col(traj["angle"]))
        if spec.action == "recolour":
            late = np.array(COLOURS[after], np.float32) + nz.colour_jitter
            per_frame = np.where((t < nz.cut)[:, None], colour[None], late[None])
            paint(canvas, mask, per_frame.reshape(T, 1, 1, 3))
        else:
            paint(canvas, mask, colour)
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
                               ) -> tuple[np.ndarray, Nuisance, np.ndarray]:
    """``render_video``, the nuisance it drew and the (T, H, W) mask of the class's object(s)
    (the tests measure colours, positions and sizes with them)."""
    if isinstance(rng, (int, np.integer)):
        rng = np.random.default_rng(int(rng))
    if height % 2 or width % 2:
        raise ValueError(f"height and width must be even for yuv420p video, got "
                         f"{height}x{width}; use e.g. 64x64")
    forward = spec
    if spec.reverse_of:
        table = {c.name: c for c in (classes or build_classes())}
        if spec.reverse_of not in table:
            table.update({c.name: c for c in build_classes()})
        forward = table[spec.reverse_of]
    nz = draw_nuisance(rng, height, width, frames)
    out, objects = _forward_frames(forward, nz, height, width)
    if spec.reverse_of:
        out, objects = out[::-1], objects[::-1]
    return to_uint8(out), nz, np.ascontiguousarray(objects)


def render_object_frame(colour: str, shape: str, rng: np.random.Generator | int, height: int = 64,
                        width: int = 64) -> np.ndarray:
    """One uint8 (H, W, 3) frame of a static ``colour`` ``shape`` with the videos' nuisance.

    The first frame of a clip of "a {colour} {shape} staying still", a class the world need not
    have (any colour of ``COLOURS`` with any shape of ``SHAPES``): probes of what a single frame
    can teach (``tools/frame_probe.py``) draw their frames with it.
    """
    if colour not in COLOURS:
        raise ValueError(f"unknown colour {colour!r}; expected one of {list(COLOURS)}")
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")
    spec = ClassSpec(f"a {colour} {shape} staying still", "appearance", colour, shape, "still")
    return render_video(spec, rng, height, width, frames=(1, 1))[0]


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Float pixels rounded and clipped to uint8."""
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)
