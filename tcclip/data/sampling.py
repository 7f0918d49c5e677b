"""Segment-based frame sampling (TSN style), the sampling TC-CLIP uses.

A video of ``n`` frames is cut into ``T`` equal segments (of ``n / T`` frames, a real number,
so no frame is favoured by rounding) and one frame is taken from each: at a random offset in
training (temporal jitter as augmentation), at the segment centre in testing (deterministic).
Videos shorter than ``T`` frames still work: the segments are shorter than a frame, so indices
repeat in order.

Multi-view testing takes ``num_clips`` deterministic clips: clip ``k`` takes the frame at
fraction ``(k + 0.5) / num_clips`` of each segment, so the clips interleave evenly and one clip
equals the centre sampling. Spatial crops of a view are made in ``transforms``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

SamplingMode = Literal["train", "test"]


def _validate(num_video_frames: int, num_frames: int) -> None:
    if num_video_frames <= 0:
        raise ValueError(f"a video needs at least one frame, got num_video_frames={num_video_frames}")
    if num_frames <= 0:
        raise ValueError(f"num_frames must be positive, got {num_frames}")


def _indices_at_fractions(num_video_frames: int, num_frames: int, fractions: torch.Tensor) -> torch.Tensor:
    """Frame index at position ``fractions[i]`` in [0, 1) of segment ``i``."""
    segment_length = num_video_frames / num_frames
    starts = torch.arange(num_frames, dtype=torch.float64) * segment_length
    positions = starts + fractions.to(torch.float64) * segment_length
    return positions.floor().long().clamp_(0, num_video_frames - 1)


def segment_indices(
    num_video_frames: int,
    num_frames: int,
    mode: SamplingMode = "train",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One frame index per equal segment -> ``torch.long [num_frames]``, non-decreasing.

    ``mode="train"``: uniform random offset per segment (drawn from ``generator`` if given);
    ``mode="test"``: the centre of each segment.
    """
    _validate(num_video_frames, num_frames)
    if mode == "train":
        fractions = torch.rand(num_frames, generator=generator, dtype=torch.float64)
    elif mode == "test":
        fractions = torch.full((num_frames,), 0.5, dtype=torch.float64)
    else:
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    return _indices_at_fractions(num_video_frames, num_frames, fractions)


def test_view_indices(num_video_frames: int, num_frames: int, num_clips: int) -> list[torch.Tensor]:
    """Deterministic indices of ``num_clips`` temporal views, each ``torch.long [num_frames]``.

    Clip ``k`` samples each segment at fraction ``(k + 0.5) / num_clips``; with one clip this
    is exactly ``segment_indices(..., mode="test")``.
    """
    _validate(num_video_frames, num_frames)
    if num_clips <= 0:
        raise ValueError(f"num_clips must be positive, got {num_clips}")
    views = []
    for clip in range(num_clips):
        fraction = (clip + 0.5) / num_clips
        fractions = torch.full((num_frames,), fraction, dtype=torch.float64)
        views.append(_indices_at_fractions(num_video_frames, num_frames, fractions))
    return views


# pytest collects functions named test_* from imported modules' namespaces in test files;
# this marker keeps `from tcclip.data.sampling import test_view_indices` from being collected.
test_view_indices.__test__ = False  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ViewSpec:
    """Test views: ``clips`` temporal clips x ``crops`` spatial crops (the paper's "2x1")."""

    clips: int = 1
    crops: int = 1

    @property
    def count(self) -> int:
        return self.clips * self.crops


def parse_views(text: str) -> ViewSpec:
    """``"2x1"`` -> ViewSpec(2, 1); crops must be 1 or 3 (the test transform's choices).

    The one parser of the paper's "clips x crops" notation (``eval --views``, ``predict --views``).
    """
    try:
        clips, crops = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"views must look like CLIPSxCROPS, e.g. 1x1 or 2x3; got {text!r}") from None
    if clips < 1 or crops not in (1, 3):
        raise ValueError(f"views {text!r}: need at least one clip and 1 or 3 crops")
    return ViewSpec(clips, crops)
