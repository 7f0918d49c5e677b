"""Loading CLIP through open_clip: named models, pretrained tags, weight files, tiny configs."""
from __future__ import annotations

import contextlib
import logging
import os
from importlib import resources
from typing import Iterator, Optional

from torch import nn

log = logging.getLogger("tcclip")

TINY_MODELS = ("TC-Tiny",)


def register_tiny_configs() -> None:
    """Make the project's small CPU configs (tcclip/model_configs/*.json) known to open_clip."""
    import open_clip

    if all(name in open_clip.list_models() for name in TINY_MODELS):
        return
    open_clip.add_model_config(str(resources.files("tcclip") / "model_configs"))


def looks_like_path(pretrained: str) -> bool:
    """A weights file (present or not) rather than an open_clip tag."""
    return os.path.isfile(pretrained) or os.sep in pretrained or pretrained.endswith((".pt", ".pth", ".bin", ".safetensors"))


def uses_quick_gelu(clip: str, pretrained: Optional[str]) -> bool:
    """OpenAI's weights (and weight files in their layout, present or not) were trained with QuickGELU."""
    import open_clip

    if pretrained and not looks_like_path(pretrained):
        return bool(open_clip.get_pretrained_cfg(clip, pretrained).get("quick_gelu", False))
    return True


#: What open_clip.create_model logs (root logger, WARNING) whenever it loaded no weights itself.
OPEN_CLIP_RANDOM_NOTICE = "initialized randomly"


def _not_the_random_init_notice(record: logging.LogRecord) -> bool:
    return OPEN_CLIP_RANDOM_NOTICE not in record.getMessage()


@contextlib.contextmanager
def silence_random_init_notice() -> Iterator[None]:
    """Silence open_clip's "No pretrained weights loaded for model ... Model initialized randomly."
    where it misleads: while creating a model whose weights are set right after (a checkpoint is
    loaded, pretraining starts) or a random baseline that is reported as such. Readers took such
    models for random. Every other open_clip message still comes through, and a model built with
    ``pretrained=None`` outside this block still gets the notice.
    """
    root = logging.getLogger()  # open_clip logs through the logging module's functions
    root.addFilter(_not_the_random_init_notice)
    try:
        yield
    finally:
        root.removeFilter(_not_the_random_init_notice)


def load_clip(clip: str = "ViT-B-16", pretrained: Optional[str] = "openai",
              load_weights: bool = True) -> tuple[nn.Module, object]:
    """An open_clip CLIP model and its tokenizer.

    ``pretrained``: "openai" or any open_clip tag for ``clip`` (downloaded by open_clip), a path
    to a weights file in open_clip / OpenAI state-dict layout, or None for random weights (open_clip
    then logs that the model is initialized randomly, unless inside `silence_random_init_notice`).
    ``load_weights=False`` builds the architecture ``pretrained`` implies (its activation)
    with random weights, reading and downloading nothing.
    """
    import open_clip

    register_tiny_configs()
    if clip not in open_clip.list_models():
        raise ValueError(f"unknown CLIP model {clip!r}; open_clip knows e.g. ViT-B-16, ViT-B-32, ViT-L-14, TC-Tiny")
    if load_weights and pretrained is not None and not os.path.isfile(pretrained):
        tags = open_clip.list_pretrained_tags_by_model(clip)
        if pretrained not in tags:
            hint = "no such file" if looks_like_path(pretrained) else f"known tags for {clip}: {tags}"
            raise ValueError(f"pretrained={pretrained!r}: {hint}")
    model = open_clip.create_model(
        clip, pretrained=pretrained if load_weights else None, force_quick_gelu=uses_quick_gelu(clip, pretrained),
        load_weights=load_weights and pretrained is not None,
    )
    tokenizer = open_clip.get_tokenizer(clip)
    return model.float().eval(), tokenizer
