"""Clip-level image transforms and mixup / cutmix for video batches.

Why torchvision.transforms.v2 on ``tv_tensors.Video``: a v2 transform draws its random
parameters once per call and applies them to every frame of a ``Video`` tensor
``[T, 3, H, W]``, so a clip gets one crop, one flip and one colour jitter (jittering frames
independently would create motion that is not in the video).

Training (spec section 4): random resized crop, horizontal flip, colour jitter with p = 0.8,
grayscale with p = 0.2, then float in [0, 1] and CLIP's mean / std (taken from open_clip).
:class:`TrainAugment` holds those strengths; a dataset whose labels they would change (the
synthetic world names colours and is 64 pixels wide) chooses milder ones in its data config.
Testing: resize the short side, then one centre crop or three crops along the long side
(left / centre / right for landscape, top / centre / bottom for portrait), stacked as
``[num_crops, T, 3, size, size]``.

Mixup / cutmix use timm's ``Mixup``, which expects images ``[B, C, H, W]``; ``VideoMixup``
folds time into channels so a single cutmix box (and a single mixing weight) applies to all
frames of a clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import open_clip
import timm.data
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

CLIP_MEAN: tuple[float, float, float] = tuple(open_clip.OPENAI_DATASET_MEAN)  # type: ignore[assignment]
CLIP_STD: tuple[float, float, float] = tuple(open_clip.OPENAI_DATASET_STD)  # type: ignore[assignment]
# The reference release's loader normalises with ImageNet statistics instead; kept selectable
# so released checkpoints can be evaluated with the statistics they were trained with.
IMAGENET_MEAN: tuple[float, float, float] = tuple(timm.data.IMAGENET_DEFAULT_MEAN)  # type: ignore[assignment]
IMAGENET_STD: tuple[float, float, float] = tuple(timm.data.IMAGENET_DEFAULT_STD)  # type: ignore[assignment]
Normalization = Literal["clip", "imagenet"]


@dataclass(frozen=True)
class TrainAugment:
    """Strengths of the training augmentation (the recipe's values by default).

    The spec fixes the probabilities (colour jitter 0.8, grayscale 0.2); the crop scale is
    torchvision's default and the jitter strengths the usual SimCLR ones (brightness,
    contrast, saturation 0.4, hue 0.1). On Kinetics none of them changes a label; on a world
    whose labels are colours and whose objects cover two patches of a 64-pixel frame, a 8 %
    crop misses the object and a hue shift renames it, so ``configs/data/synthetic.yaml``
    sets milder values (and the tests check that they keep every label).
    """

    scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    color_jitter_p: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1
    grayscale_p: float = 0.2

    @classmethod
    def from_config(cls, values: Any) -> "TrainAugment":
        """From a mapping such as the run config's ``data.augment`` (lists become tuples)."""
        if values is not None and not isinstance(values, dict):  # an OmegaConf node
            from omegaconf import OmegaConf

            values = OmegaConf.to_container(values, resolve=True)
        items = dict(values or {})
        unknown = set(items) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown data.augment key(s) {sorted(unknown)}; "
                             f"valid: {sorted(cls.__dataclass_fields__)}")
        return cls(**{k: tuple(v) if isinstance(v, (list, tuple)) else float(v) for k, v in items.items()})


class RandomGrayscale(v2.RandomGrayscale):
    """``v2.RandomGrayscale`` that converts ``tv_tensors.Video`` too.

    torchvision (0.29 at least) registers no grayscale kernel for videos, and v2 passes a
    type without a kernel through unchanged: the stock transform is a silent no-op on the
    ``Video`` tensors this module uses. The plain-tensor kernel handles ``[..., 3, H, W]``,
    so a video is converted as a plain tensor and re-wrapped.
    """

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if isinstance(inpt, tv_tensors.Video):
            gray = v2.functional.rgb_to_grayscale(inpt.as_subclass(torch.Tensor),
                                                  num_output_channels=params["num_input_channels"])
            return tv_tensors.wrap(gray, like=inpt)
        return super().transform(inpt, params)


def _mean_std(normalization: Normalization) -> tuple[tuple[float, ...], tuple[float, ...]]:
    if normalization == "clip":
        return CLIP_MEAN, CLIP_STD
    if normalization == "imagenet":
        return IMAGENET_MEAN, IMAGENET_STD
    raise ValueError(f"normalization must be 'clip' or 'imagenet', got {normalization!r}")


def _check_video(video: torch.Tensor) -> None:
    if video.ndim != 4 or video.shape[1] != 3:
        raise ValueError(f"expected a video tensor [T, 3, H, W], got shape {tuple(video.shape)}")
    if video.dtype != torch.uint8:
        raise ValueError(f"expected a uint8 video, got {video.dtype}")


class TrainVideoTransform:
    """uint8 ``[T, 3, H, W]`` -> float ``[T, 3, size, size]``, one random draw per clip."""

    def __init__(self, size: int, flip: bool = True, augment: TrainAugment = TrainAugment(),
                 normalization: Normalization = "clip") -> None:
        mean, std = _mean_std(normalization)
        a = augment
        steps: list[v2.Transform] = [v2.RandomResizedCrop(size, scale=a.scale, ratio=a.ratio, antialias=True)]
        if flip:  # the reference disables flipping on SSv2, where left / right is the label
            steps.append(v2.RandomHorizontalFlip(p=0.5))
        jitter = v2.ColorJitter(brightness=a.brightness, contrast=a.contrast, saturation=a.saturation, hue=a.hue)
        steps += [
            v2.RandomApply([jitter], p=a.color_jitter_p),
            RandomGrayscale(p=a.grayscale_p),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=list(mean), std=list(std)),
        ]
        self.pipeline = v2.Compose(steps)
        self.size = size

    def __call__(self, video: torch.Tensor) -> torch.Tensor:
        _check_video(video)
        out = self.pipeline(tv_tensors.Video(video))
        return out.as_subclass(torch.Tensor)

    def __repr__(self) -> str:
        return f"TrainVideoTransform({self.pipeline})"


def three_crop(video: torch.Tensor, size: int) -> torch.Tensor:
    """Three ``size`` x ``size`` crops along the long side -> ``[3, T, C, size, size]``.

    Written by hand: torchvision has five- and ten-crop but no three-crop. The crops sit at
    the start, centre and end of the long side and are centred on the short side.
    """
    height, width = video.shape[-2:]
    if min(height, width) < size:
        raise ValueError(f"frames {height}x{width} are smaller than the crop size {size}")
    crops = []
    if width >= height:
        top = (height - size) // 2
        for left in (0, (width - size) // 2, width - size):
            crops.append(video[..., top:top + size, left:left + size])
    else:
        left = (width - size) // 2
        for top in (0, (height - size) // 2, height - size):
            crops.append(video[..., top:top + size, left:left + size])
    return torch.stack(crops)


class TestVideoTransform:
    """uint8 ``[T, 3, H, W]`` -> float ``[num_crops, T, 3, size, size]``, deterministic.

    The short side is resized to ``short_side`` (default ``size``), then one centre crop or
    three crops along the long side are taken. (The reference's single-crop test resizes the
    short side to 256/224 * size first; pass ``short_side`` to reproduce that.)
    """

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, size: int, num_crops: int = 1, short_side: int | None = None,
                 normalization: Normalization = "clip") -> None:
        if num_crops not in (1, 3):
            raise ValueError(f"num_crops must be 1 or 3, got {num_crops}")
        short_side = size if short_side is None else short_side
        if short_side < size:
            raise ValueError(f"short_side {short_side} is smaller than the crop size {size}")
        mean, std = _mean_std(normalization)
        self.size, self.num_crops, self.short_side = size, num_crops, short_side
        self.resize = v2.Resize(short_side, antialias=True)
        self.center_crop = v2.CenterCrop(size)
        self.to_float = v2.Compose([v2.ToDtype(torch.float32, scale=True),
                                    v2.Normalize(mean=list(mean), std=list(std))])

    def __call__(self, video: torch.Tensor) -> torch.Tensor:
        _check_video(video)
        resized = self.resize(tv_tensors.Video(video))
        if self.num_crops == 1:
            crops = self.center_crop(resized).as_subclass(torch.Tensor).unsqueeze(0)
        else:
            crops = three_crop(resized.as_subclass(torch.Tensor), self.size)
        return self.to_float(tv_tensors.Video(crops)).as_subclass(torch.Tensor)

    def __repr__(self) -> str:
        return f"TestVideoTransform(size={self.size}, short_side={self.short_side}, num_crops={self.num_crops})"


def build_transform(train: bool, size: int, num_crops: int = 1, *, flip: bool = True,
                    short_side: int | None = None, normalization: Normalization = "clip",
                    augment: TrainAugment = TrainAugment()) -> TrainVideoTransform | TestVideoTransform:
    """The training or the test transform (see the module docstring for what each does)."""
    if train:
        if num_crops != 1:
            raise ValueError("training uses a single random crop; num_crops must be 1")
        return TrainVideoTransform(size, flip=flip, augment=augment, normalization=normalization)
    return TestVideoTransform(size, num_crops=num_crops, short_side=short_side, normalization=normalization)


class VideoMixup(timm.data.Mixup):
    """timm's Mixup / CutMix for video batches ``[B, T, 3, H, W]`` (also accepts images).

    Time is folded into channels before calling timm, so the cutmix box and the mix weight
    are shared by every frame of a clip. The batch size must be even (timm pairs sample i
    with sample B - 1 - i). Returns the mixed batch (mixed in place) and soft targets
    ``[B, num_classes]`` whose rows sum to 1.
    """

    def __call__(self, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.ndim == 5:
            batch, frames, channels, height, width = x.shape
            folded = x.reshape(batch, frames * channels, height, width)
            mixed, soft_target = super().__call__(folded, target)
            return mixed.reshape(batch, frames, channels, height, width), soft_target
        return super().__call__(x, target)


def build_mixup(num_classes: int, mixup: float = 0.8, cutmix: float = 1.0, switch_prob: float = 0.5,
                label_smoothing: float = 0.1, prob: float = 1.0) -> VideoMixup:
    """Mixup (alpha 0.8) / CutMix (alpha 1.0) switched with probability 0.5, label smoothing 0.1."""
    return VideoMixup(mixup_alpha=mixup, cutmix_alpha=cutmix, prob=prob, switch_prob=switch_prob,
                      mode="batch", label_smoothing=label_smoothing, num_classes=num_classes)
