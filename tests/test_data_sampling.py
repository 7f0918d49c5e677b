"""Segment sampling: one frame per segment, random in training, centred and fixed in testing."""
from __future__ import annotations

import pytest
import torch

from tcclip.data.sampling import segment_indices, test_view_indices


def segment_bounds(num_video_frames: int, num_frames: int, i: int) -> tuple[float, float]:
    length = num_video_frames / num_frames
    return i * length, (i + 1) * length


@pytest.mark.parametrize("num_video_frames", [16, 17, 50, 301])
def test_train_offsets_stay_inside_their_segments(num_video_frames):
    generator = torch.Generator().manual_seed(0)
    for _ in range(50):
        indices = segment_indices(num_video_frames, 8, "train", generator=generator)
        assert indices.dtype == torch.long and indices.shape == (8,)
        for i, index in enumerate(indices.tolist()):
            start, end = segment_bounds(num_video_frames, 8, i)
            assert int(start) <= index < end


def test_train_sampling_is_random_but_reproducible():
    draws = [segment_indices(300, 8, "train", generator=torch.Generator().manual_seed(s)) for s in (1, 1, 2)]
    assert torch.equal(draws[0], draws[1])
    assert not torch.equal(draws[0], draws[2])
    # over many draws every frame of a segment gets picked (uniform offsets, not a fixed one)
    generator = torch.Generator().manual_seed(3)
    firsts = {int(segment_indices(40, 4, "train", generator=generator)[0]) for _ in range(400)}
    assert firsts == set(range(10))


def test_test_mode_takes_segment_centres():
    assert segment_indices(80, 8, "test").tolist() == [5, 15, 25, 35, 45, 55, 65, 75]
    indices = segment_indices(37, 5, "test")
    for i, index in enumerate(indices.tolist()):
        start, end = segment_bounds(37, 5, i)
        assert abs(index + 0.5 - (start + end) / 2) <= 0.5 + 1e-9


def test_test_mode_ignores_the_rng():
    torch.manual_seed(0)
    first = segment_indices(123, 16, "test")
    torch.manual_seed(1)
    assert torch.equal(first, segment_indices(123, 16, "test"))


@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("num_video_frames", [1, 3, 7])
def test_videos_shorter_than_the_clip_repeat_frames(mode, num_video_frames):
    indices = segment_indices(num_video_frames, 8, mode, generator=torch.Generator().manual_seed(0))
    assert indices.shape == (8,)
    assert indices.min() >= 0 and indices.max() < num_video_frames
    assert torch.all(indices[1:] >= indices[:-1])
    if num_video_frames > 1 and mode == "test":
        assert indices.unique().numel() == num_video_frames  # still spread over the whole video


def test_view_counts_and_determinism():
    views = test_view_indices(64, 8, 4)
    assert len(views) == 4 and all(v.shape == (8,) for v in views)
    again = test_view_indices(64, 8, 4)
    assert all(torch.equal(a, b) for a, b in zip(views, again, strict=True))
    # views interleave inside each segment: clip k is at (k + 0.5) / 4 of every segment
    assert views[0].tolist() == [1, 9, 17, 25, 33, 41, 49, 57]
    assert views[3].tolist() == [7, 15, 23, 31, 39, 47, 55, 63]
    stacked = torch.stack(views)
    assert torch.all(stacked[1:] > stacked[:-1])


def test_single_view_equals_centre_sampling():
    for n in (5, 16, 99):
        assert torch.equal(test_view_indices(n, 8, 1)[0], segment_indices(n, 8, "test"))


def test_two_views_differ_and_stay_in_segments():
    first, second = test_view_indices(100, 10, 2)
    assert not torch.equal(first, second)
    for view in (first, second):
        for i, index in enumerate(view.tolist()):
            start, end = segment_bounds(100, 10, i)
            assert start <= index < end


@pytest.mark.parametrize("args", [(0, 8), (10, 0)])
def test_invalid_sizes_are_rejected(args):
    with pytest.raises(ValueError):
        segment_indices(*args)
    with pytest.raises(ValueError):
        segment_indices(10, 8, "val")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        test_view_indices(10, 8, 0)
