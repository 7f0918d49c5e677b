"""`build_model`: the one way to make a model; `ModelSpec`: the one description of a model.

A `ModelSpec` says everything `build_model` needs except the class names (as open_clip's
model name + pretrained tag do): which model, which CLIP and CLIP weights, how many frames, and
the ablation switches. Every checkpoint of this project stores it (``tcclip.checkpoint``), so
``tcclip.load_model`` rebuilds the model a file was trained as.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from enum import Enum
from typing import Any, Mapping, Optional, Sequence, Union

from .backbone import load_clip
from .options import PromptMode, VPSource, parse_option
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


@functools.cache
def _option_types() -> dict[str, Any]:
    """Each option's type: TCConfig's annotations and VideoCLIP's keyword arguments."""
    types = {name: hint for name, hint in typing.get_type_hints(TCConfig).items() if name in _TC_FIELDS}
    types.update(prompt_mode=PromptMode, vp_source=VPSource)
    for name, param in inspect.signature(VideoCLIP.__init__).parameters.items():
        if name in _MODEL_FIELDS and name not in types:
            types[name] = type(param.default)
    return types


@functools.cache
def _option_defaults() -> dict[str, Any]:
    """Every switch's default: TCConfig's fields, then VideoCLIP's keyword arguments."""
    defaults = {f.name: f.default for f in dataclasses.fields(TCConfig)}
    for name, param in inspect.signature(VideoCLIP.__init__).parameters.items():
        if name in _MODEL_FIELDS:
            defaults[name] = param.default
    return {k: v.value if isinstance(v, Enum) else v for k, v in defaults.items()}


def _checked_option(name: str, value: Any, kind: Any) -> Any:
    """``value`` as a plain, serialisable value of ``kind``; a clear error otherwise."""
    if isinstance(kind, type) and issubclass(kind, str) and kind is not str:  # the str enums of options.py
        return parse_option(kind, value, name).value
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise ValueError(f"model option {name} must be of type {kind.__name__}; got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What to build, as one small value: ``build_model(spec, classnames)``.

    ``name``: "clip", "vifi_clip" or "tc_clip". ``clip``: the open_clip model (e.g. "ViT-B-16",
    "TC-Tiny"). ``pretrained``: the CLIP weights the model starts from ("openai", another
    open_clip tag, a weights file, or None for random); a trained model's own weights live in its
    checkpoint, but WiSE-FT blends with these. ``num_frames``: the clip length it is built for.
    ``options``: the ablation switches that differ from the preset of ``name`` (see
    `build_model`), checked here, when the spec is made: names, types, choices and ranges.

    Frozen and hashable; ``options`` is kept as sorted (name, value) pairs of plain values, so
    ``dict(spec.options)`` gives the keyword arguments. ``to_dict`` / ``from_dict`` convert to
    and from the plain dict that checkpoints store (``from_dict`` also reads the ``build_args``
    of this project's older files, which had the same fields).
    """

    name: str = "tc_clip"
    clip: str = "ViT-B-16"
    pretrained: Optional[str] = "openai"
    num_frames: int = 16
    options: Union[Mapping[str, Any], tuple[tuple[str, Any], ...]] = ()

    def __post_init__(self) -> None:
        if self.name not in PRESETS:
            raise ValueError(f"unknown model {self.name!r}; choose one of {MODEL_NAMES}")
        if not isinstance(self.clip, str) or not self.clip:
            raise ValueError(f"clip must name an open_clip model (e.g. 'ViT-B-16'); got {self.clip!r}")
        if self.pretrained is not None and not isinstance(self.pretrained, str):
            raise ValueError(f"pretrained must be an open_clip tag, a weights path or None; got {self.pretrained!r}")
        if isinstance(self.num_frames, bool) or not isinstance(self.num_frames, int) or self.num_frames < 1:
            raise ValueError(f"num_frames must be a positive integer; got {self.num_frames!r}")
        given = dict(self.options)
        types = _option_types()
        unknown = sorted(set(given) - set(types))
        if unknown:
            raise ValueError(f"unknown option(s) {unknown} for the model; valid: {sorted(types)}")
        checked = {k: _checked_option(k, v, types[k]) for k, v in given.items()}
        settings = {**PRESETS[self.name], **checked}
        TCConfig(**{k: v for k, v in settings.items() if k in _TC_FIELDS})  # ranges (k >= 1, 0 < ratio <= 1, ...)
        for key in ("num_prompts", "context_length"):
            if key in checked and checked[key] < 1:
                raise ValueError(f"model option {key} must be >= 1; got {checked[key]}")
        object.__setattr__(self, "options", tuple(sorted(checked.items())))

    def settings(self) -> dict[str, Any]:
        """Every switch of the model: defaults, then the preset of ``name``, then ``options``."""
        return {**_option_defaults(), **PRESETS[self.name], **dict(self.options)}  # a fresh dict: the cache stays

    def differences(self, other: "ModelSpec") -> dict[str, tuple[Any, Any]]:
        """What makes ``self`` and ``other`` different models: {field: (self's, other's)}.

        ``pretrained`` is left out: it says where the starting CLIP weights are, not what the
        model is.
        """
        out = {f: (getattr(self, f), getattr(other, f)) for f in ("name", "clip", "num_frames")
               if getattr(self, f) != getattr(other, f)}
        mine, theirs = self.settings(), other.settings()
        out.update({k: (mine[k], theirs[k]) for k in mine if mine[k] != theirs[k]})
        return out

    def replace(self, **changes: Any) -> "ModelSpec":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain types only, so ``torch.load(weights_only=True)`` reads it back."""
        return dict(name=self.name, clip=self.clip, pretrained=self.pretrained, num_frames=self.num_frames,
                    options=dict(self.options))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelSpec":
        unknown = set(data) - {"name", "clip", "pretrained", "num_frames", "options"}
        if unknown:
            raise ValueError(f"not a model spec: unknown fields {sorted(unknown)}")
        return cls(**{k: v for k, v in data.items() if k != "options"}, options=dict(data.get("options") or {}))


def build_model(
    name: Union[str, ModelSpec],
    classnames: Sequence[str],
    clip: str = "ViT-B-16",
    pretrained: Optional[str] = "openai",
    num_frames: int = 16,
    **options: Any,
) -> VideoCLIP:
    """Build "clip", "vifi_clip" or "tc_clip" from an open_clip ViT CLIP; or ``build_model(spec, classnames)``.

    Options (defaults reproduce the paper): num_context (k=96), seed_ratio (0.3), seed_metric
    ("cls_attention" | "key_norm" | "none"), merge ("bipartite" | "kmeans" | "random" | "tube" |
    "none"), merge_per_round (100), local_global_bias (True), positional_embedding ("spatial" |
    "joint"), temporal_context, video_prompting, vp_source ("context" | "cls" | "gap"),
    num_prompts (4), prompt_mode ("learnable" | "fixed" | "none"), context_length (30),
    clean_classnames (True). The model keeps its description as ``model.spec``.
    """
    if isinstance(name, ModelSpec):
        if options or (clip, pretrained, num_frames) != ("ViT-B-16", "openai", 16):
            raise TypeError("build_model(spec, classnames) takes no other settings: use spec.replace(...)")
        spec = name
    else:
        spec = ModelSpec(name, clip, pretrained, num_frames, options)
    return instantiate(spec, classnames)


def instantiate(spec: ModelSpec, classnames: Sequence[str], load_weights: bool = True) -> VideoCLIP:
    """The model ``spec`` describes; ``load_weights=False`` skips reading the CLIP weights.

    For ``tcclip.load_model``: a checkpoint that holds every weight needs only the architecture
    (the activation still follows ``spec.pretrained``: OpenAI-style weights use QuickGELU).
    """
    settings = {**PRESETS[spec.name], **dict(spec.options)}
    tc = TCConfig(**{k: v for k, v in settings.items() if k in _TC_FIELDS})
    clip_model, tokenizer = load_clip(spec.clip, spec.pretrained, load_weights=load_weights)
    model = VideoCLIP(
        clip_model, tokenizer, classnames, tc=tc, num_frames=spec.num_frames,
        **{k: v for k, v in settings.items() if k in _MODEL_FIELDS},
    )
    model.spec = spec
    return model
