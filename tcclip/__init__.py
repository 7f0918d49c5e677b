"""tcclip: TC-CLIP (Kim et al., ECCV 2024) as a tested package.

    import tcclip
    model = tcclip.build_model("tc_clip", ["archery", "bowling"], clip="ViT-B-16", pretrained="openai")
    logits = model(video)  # video: [B, T, 3, 224, 224], CLIP-normalised
    model.spec             # tcclip.ModelSpec: what was built, saved in every checkpoint
    model = tcclip.load_model("runs/x/best.pt")  # any checkpoint of this project, rebuilt and loaded

The names below are imported lazily (PEP 562 ``__getattr__``), so that light modules such as
``tcclip.data.registry`` or ``tcclip.io`` can be used without importing torch (the dataset
scripts run on download machines that may have only the standard library).
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "build_model": "tcclip.models",
    "VideoCLIP": "tcclip.models",
    "ModelOutput": "tcclip.models",
    "MODEL_NAMES": "tcclip.models",
    "ModelSpec": "tcclip.models",
    "load_checkpoint": "tcclip.checkpoint",
    "load_model": "tcclip.checkpoint",
    "CheckpointError": "tcclip.checkpoint",
    "save_checkpoint": "tcclip.checkpoint",
    "video_text_loss": "tcclip.loss",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'tcclip' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later lookups bypass __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
