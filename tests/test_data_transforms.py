"""Transforms: one random draw per clip, deterministic test crops, video mixup / cutmix."""
from __future__ import annotations

import open_clip
import pytest
import torch

from tcclip.data.transforms import CLIP_MEAN, CLIP_STD, build_mixup, build_transform, three_crop


def constant_clip(frames: int = 6, height: int = 40, width: int = 56, seed: int = 0) -> torch.Tensor:
    """A clip whose frames are all the same random picture."""
    picture = torch.randint(0, 256, (1, 3, height, width), dtype=torch.uint8,
                            generator=torch.Generator().manual_seed(seed))
    return picture.expand(frames, -1, -1, -1).contiguous()


def test_train_transform_applies_the_same_params_to_every_frame():
    transform = build_transform(train=True, size=24)
    clip = constant_clip()
    outputs = []
    torch.manual_seed(0)
    for _ in range(30):
        out = transform(clip)
        assert out.shape == (6, 3, 24, 24) and out.dtype == torch.float32
        assert all(torch.equal(out[0], out[t]) for t in range(1, 6))
        outputs.append(out[0])
    # ... and it is random from clip to clip (crop, flip, jitter differ between calls)
    assert len({o.sum().item() for o in outputs}) > 20


def test_train_transform_is_reproducible_under_a_seed():
    transform = build_transform(train=True, size=24)
    clip = torch.randint(0, 256, (4, 3, 40, 56), dtype=torch.uint8)
    torch.manual_seed(5)
    first = transform(clip)
    torch.manual_seed(5)
    assert torch.equal(first, transform(clip))


def test_clip_normalisation_constants_come_from_open_clip():
    assert CLIP_MEAN == tuple(open_clip.OPENAI_DATASET_MEAN)
    assert CLIP_STD == tuple(open_clip.OPENAI_DATASET_STD)
    transform = build_transform(train=False, size=8)
    grey = torch.full((2, 3, 8, 8), 128, dtype=torch.uint8)
    out = transform(grey)[0, 0, :, 0, 0]
    expected = (128 / 255 - torch.tensor(CLIP_MEAN)) / torch.tensor(CLIP_STD)
    assert torch.allclose(out, expected.float(), atol=1e-5)


def test_test_transform_is_deterministic_centre_crop():
    transform = build_transform(train=False, size=16, num_crops=1)
    clip = torch.randint(0, 256, (5, 3, 16, 40), dtype=torch.uint8)  # short side already 16
    torch.manual_seed(0)
    first = transform(clip)
    torch.manual_seed(1)
    assert torch.equal(first, transform(clip))
    assert first.shape == (1, 5, 3, 16, 16)
    reference = build_transform(train=False, size=16, num_crops=1)(clip[..., 12:28])
    assert torch.allclose(first, reference)


def test_test_transform_resizes_the_short_side():
    clip = torch.randint(0, 256, (3, 3, 48, 96), dtype=torch.uint8)
    out = build_transform(train=False, size=16, num_crops=3)(clip)
    assert out.shape == (3, 3, 3, 16, 16)


@pytest.mark.parametrize("height,width", [(16, 40), (40, 16)])
def test_three_crops_cover_start_centre_and_end_of_the_long_side(height, width):
    clip = torch.arange(height * width, dtype=torch.float32).reshape(1, 1, height, width).expand(2, 3, -1, -1)
    crops = three_crop(clip, 16)
    assert crops.shape == (3, 2, 3, 16, 16)
    if width > height:
        starts = [crop[0, 0, 0, 0].item() for crop in crops]
        assert starts == [0.0, float((width - 16) // 2), float(width - 16)]
    else:
        starts = [crop[0, 0, 0, 0].item() / width for crop in crops]
        assert starts == [0.0, float((height - 16) // 2), float(height - 16)]


def test_invalid_inputs_are_rejected():
    with pytest.raises(ValueError):
        build_transform(train=False, size=16, num_crops=2)
    with pytest.raises(ValueError):
        build_transform(train=True, size=16)(torch.zeros(4, 16, 16, 3, dtype=torch.uint8))  # channels last
    with pytest.raises(ValueError):
        build_transform(train=True, size=16)(torch.zeros(4, 3, 16, 16))  # float input


def test_mixup_is_consistent_across_frames_and_targets_are_soft():
    torch.manual_seed(0)
    num_classes, batch, frames = 7, 4, 5
    mixup = build_mixup(num_classes)
    # every frame of a clip identical: a mix that differs between frames would break this
    pictures = torch.randn(batch, 1, 3, 16, 16)
    labels = torch.tensor([0, 3, 5, 6])
    saw_cutmix = saw_mixup = False
    for _ in range(40):
        videos = pictures.expand(-1, frames, -1, -1, -1).clone()
        mixed, targets = mixup(videos, labels)
        assert mixed.shape == (batch, frames, 3, 16, 16)
        assert all(torch.equal(mixed[:, 0], mixed[:, t]) for t in range(1, frames))
        assert targets.shape == (batch, num_classes)
        assert torch.allclose(targets.sum(dim=1), torch.ones(batch))
        assert torch.all(targets > 0)  # label smoothing puts mass on every class
        # the partner of sample i is sample B-1-i; the mix is a convex combination of both
        partner_is_cut = (mixed[0] == pictures[3]).any() and not torch.allclose(mixed[0], pictures[0])
        exact_pixels = ((mixed[0, 0] == pictures[0, 0]) | (mixed[0, 0] == pictures[3, 0])).float().mean().item()
        if exact_pixels == 1.0 and partner_is_cut:
            saw_cutmix = True
        elif exact_pixels < 0.5:
            saw_mixup = True
            assert torch.allclose(mixed[0, 0], lam_to_mix(pictures, targets, labels), atol=1e-5)
    assert saw_cutmix and saw_mixup


def lam_to_mix(pictures: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The mixup image of sample 0 implied by its soft target (undoing label smoothing)."""
    num_classes = targets.shape[1]
    off = 0.1 / num_classes
    lam = (targets[0, labels[0]].item() - off) / (1 - 0.1)
    return lam * pictures[0, 0] + (1 - lam) * pictures[3, 0]


def test_mixup_pairs_frames_at_the_same_time_with_one_box():
    """With frames that change over time, frame t must mix with the partner's frame t."""
    torch.manual_seed(1)
    mixup = build_mixup(3, label_smoothing=0.0)
    videos = torch.rand(2, 4, 3, 12, 12)
    labels = torch.tensor([0, 2])
    kinds = set()
    for _ in range(30):
        mixed, targets = mixup(videos.clone(), labels)
        lam = targets[0, 0].item()  # no smoothing: weight of sample 0's own label
        from_self = mixed[0] == videos[0]
        from_partner = mixed[0] == videos[1]
        if bool((from_self | from_partner).all()) and not bool(from_self.all()):
            kinds.add("cutmix")
            box = from_partner[0, 0] & ~from_self[0, 0]
            for t in range(4):
                assert torch.equal(from_partner[t].all(dim=0) & ~from_self[t].all(dim=0), box)
            assert abs(1 - box.float().mean().item() - lam) < 1e-6
        elif not bool(from_self.all()):
            kinds.add("mixup")
            assert torch.allclose(mixed[0], lam * videos[0] + (1 - lam) * videos[1], atol=1e-6)
    assert kinds == {"cutmix", "mixup"}
