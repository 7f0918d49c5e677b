"""The synthetic world: a CPU-sized stand-in for Kinetics / HMDB-51 / UCF-101.

Every chapter and test of this project needs video data with the *structure* of the real
benchmarks (natural-language class names, train/val/test lists, few-shot, base-to-novel
and zero-shot protocol views) but none of their size. The world draws small procedural
videos of coloured shapes whose class names are short English phrases built from a small
vocabulary ("a ring moving horizontally"), and writes them as real ``.mp4`` files in the same
on-disk layout as the prepared real datasets, so the decoding, sampling and evaluation code
is exercised end to end.

This module is the world's public face and its command line; the parts live beside it:

* :mod:`tcclip.world.classes` - the vocabulary, the class families, the class table, the sizes;
* :mod:`tcclip.world.render` - the nuisance, the objects' masks and paths, one clip or frame;
* :mod:`tcclip.world.encode` - writing clips as ``.mp4``;
* :mod:`tcclip.world.stills` - the captioned stills (the tiny CLIP's pretraining data);
* :mod:`tcclip.world.generate` - the world on disk: clips, protocol lists, manifest;
* :mod:`tcclip.world.version` - the generator's version.

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
from typing import Sequence

from .classes import CLASS_FAMILIES, COLOURS, SHAPES, SIZES, ClassSpec, WorldSize, build_classes, check_zero_shot
from .encode import encode_mp4
from .generate import WorldInfo, class_dir_name, generate_video_world, made_by_other_generator
from .render import (
    EDGE,
    Nuisance,
    object_colours,
    render_object_frame,
    render_video,
    render_video_with_nuisance,
)
from .stills import captions_file_name, generate_image_captions, load_image_captions, render_caption_image
from .version import GENERATOR_VERSION

__all__ = [
    "CLASS_FAMILIES",
    "COLOURS",
    "EDGE",
    "GENERATOR_VERSION",
    "SHAPES",
    "SIZES",
    "ClassSpec",
    "Nuisance",
    "WorldInfo",
    "WorldSize",
    "build_classes",
    "captions_file_name",
    "check_zero_shot",
    "class_dir_name",
    "encode_mp4",
    "generate_image_captions",
    "generate_video_world",
    "load_image_captions",
    "made_by_other_generator",
    "main",
    "object_colours",
    "render_caption_image",
    "render_object_frame",
    "render_video",
    "render_video_with_nuisance",
]


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
