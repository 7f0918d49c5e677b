"""The synthetic world's classes: the vocabulary, the three class families, the class table and
the world's size presets.

Names are compositional (colour, fill pattern, motion), so the zero-shot view can hold out
colour x pattern combinations whose every word is seen in training (``check_zero_shot``). The
order of the class table defines the label ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from tcclip.data.registry import FEW_SHOT_SHOTS

__all__ = [
    "AXES",
    "CLASS_FAMILIES",
    "COLOURS",
    "DIRECTIONS",
    "SHAPES",
    "SIZES",
    "ClassSpec",
    "WorldSize",
    "build_classes",
    "check_zero_shot",
]

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
    # the across-frames family alone, 25 times its clips of the default world: with 40 clips a
    # class every model memorises its training rings (chapter 10); here it must learn the rule
    "across_frames": WorldSize(tuple(s.name for s in _full_classes() if s.family == "across_frames"), (),
                               n_train=1000, n_val=50, n_test=100, frames=(12, 24),
                               shots=FEW_SHOT_SHOTS, b2n_shots=16),
    # 16 training clips per class so every registered few-shot K exists even here.
    "tiny": WorldSize(_TINY_CLASSES, _TINY_ZERO_SHOT, n_train=16, n_val=1, n_test=2,
                      frames=(8, 12), shots=FEW_SHOT_SHOTS, b2n_shots=4),
}


def build_classes(names: Sequence[str] | None = None) -> list[ClassSpec]:
    """The class specs for ``names`` (all the default world's classes when ``None``), in that order."""
    table = {s.name: s for s in _full_classes()}
    if names is None:
        return list(table.values())
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f"unknown synthetic class names {unknown}; pick from "
                         f"tcclip.world.synthetic.build_classes() names")
    return [table[n] for n in names]


def check_zero_shot(names: Sequence[str], unseen: Sequence[str]) -> None:
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

