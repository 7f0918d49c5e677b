"""Video data: decoding, frame sampling, transforms, datasets, the dataset registry and checks.

The names below are imported lazily (PEP 562 ``__getattr__``): ``import tcclip.data.registry``
or ``tcclip.world.synthetic`` should not pay for importing torchvision, timm and open_clip.

    from tcclip.data import VideoDataset, get_split
    split = get_split("hmdb51", protocol="few_shot", split=1, shots=2, subset="train")
    dataset = VideoDataset(split.list_file, split.video_root, split.label_file, mode="train")
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # decoding
    "VideoDecodeError": "decoding",
    "read_video_frames": "decoding",
    "count_frames": "decoding",
    "write_video": "decoding",
    "video_info": "decoding",
    "resolve_backend": "decoding",
    # sampling
    "segment_indices": "sampling",
    "test_view_indices": "sampling",
    # transforms
    "build_transform": "transforms",
    "build_mixup": "transforms",
    "TrainAugment": "transforms",
    "VideoMixup": "transforms",
    "three_crop": "transforms",
    "CLIP_MEAN": "transforms",
    "CLIP_STD": "transforms",
    # datasets
    "VideoDataset": "datasets",
    "VideoRecord": "lists",
    "TooManyCorruptVideosError": "datasets",
    "load_classnames": "lists",
    "parse_annotation_list": "lists",
    # registry
    "get_split": "registry",
    "list_datasets": "registry",
    "dataset_dir": "registry",
    "SplitPaths": "registry",
    "DatasetNotPreparedError": "registry",
    "DATASET_LAYOUT": "registry",
    "DATASET_SPECS": "registry",
    "DATA_ROOT_ENV": "registry",
    # check
    "check_dataset": "check",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'tcclip.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module_name}"), name)
    globals()[name] = value  # cache: later lookups bypass __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
