"""`build_model`: the one way to make a model; the paper's defaults, every ablation switch."""
from __future__ import annotations

import dataclasses
from typing import Any, Optional, Sequence

from .backbone import load_clip
from .video_clip import VideoCLIP
from .vision import TCConfig

MODEL_NAMES = ("clip", "vifi_clip", "tc_clip")

_TC_FIELDS = {f.name for f in dataclasses.fields(TCConfig)}
_MODEL_FIELDS = {"prompt_mode", "num_prompts", "video_prompting", "vp_source", "context_length", "clean_classnames"}

# Each model is a set of switches over one implementation; options override them.
PRESETS: dict[str, dict[str, Any]] = {
    # vanilla CLIP: frame features averaged, the class name as the whole prompt, no training
    "clip": dict(temporal_context=False, video_prompting=False, prompt_mode="none"),
    # ViFi-CLIP: the same encoders fully fine-tuned, prompt "a photo of a {name}."
    "vifi_clip": dict(temporal_context=False, video_prompting=False, prompt_mode="fixed"),
    # TC-CLIP: temporal contextualization + video-conditional prompting + 4 learnable prompts
    "tc_clip": dict(temporal_context=True, video_prompting=True, prompt_mode="learnable"),
}


def build_model(
    name: str,
    classnames: Sequence[str],
    clip: str = "ViT-B-16",
    pretrained: Optional[str] = "openai",
    num_frames: int = 16,
    **options: Any,
) -> VideoCLIP:
    """Build "clip", "vifi_clip" or "tc_clip" from an open_clip ViT CLIP.

    Options (defaults reproduce the paper): num_context (k=96), seed_ratio (0.3), seed_metric
    ("cls_attention" | "key_norm" | "none"), merge ("bipartite" | "kmeans" | "random" | "tube" |
    "none"), merge_per_round (100), local_global_bias (True), positional_embedding ("spatial" |
    "joint"), temporal_context, video_prompting, vp_source ("context" | "cls" | "gap"),
    num_prompts (4), prompt_mode ("learnable" | "fixed" | "none"), context_length (30),
    clean_classnames (True).
    """
    if name not in PRESETS:
        raise ValueError(f"unknown model {name!r}; choose one of {MODEL_NAMES}")
    unknown = set(options) - _TC_FIELDS - _MODEL_FIELDS
    if unknown:
        raise TypeError(f"unknown option(s) {sorted(unknown)}; valid: {sorted(_TC_FIELDS | _MODEL_FIELDS)}")
    settings = {**PRESETS[name], **options}
    tc = TCConfig(**{k: v for k, v in settings.items() if k in _TC_FIELDS})
    clip_model, tokenizer = load_clip(clip, pretrained)
    model = VideoCLIP(
        clip_model, tokenizer, classnames, tc=tc, num_frames=num_frames,
        **{k: v for k, v in settings.items() if k in _MODEL_FIELDS},
    )
    # kept so that checkpoints can rebuild the model and WiSE-FT knows its starting point
    model.build_args = dict(name=name, clip=clip, pretrained=pretrained, num_frames=num_frames, options=dict(options))
    return model
