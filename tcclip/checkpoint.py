"""Checkpoints: this project's files and the reference release's ``.pth`` files (spec Sec. 6).

Loading never executes pickled code unless the caller says so: files are read with
``torch.load(weights_only=True)``; the OmegaConf ``config`` entry of the reference files is
admitted by allow-listing omegaconf's own container classes, and anything else is refused with
a message naming it. A checkpoint that does not fit the model is an error that names the keys.
"""
from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any, Optional, Union

import torch
from torch import nn

from .io import atomic_torch_save

FORMAT = "tcclip"
# The reference stores the class-name embeddings of its training classes; they are rebuilt from
# the classes being evaluated, so they are dropped on load.
STALE_REFERENCE_KEYS = re.compile(r"^prompt_learner\.(token_prefix|token_suffix|tokenized_prompts)$")
# Not stored by the reference: they come from the CLIP weights the model was built from.
FROM_CLIP_KEYS = ("text.token_embedding.weight",)
# WiSE-FT keeps these fine-tuned: they have no counterpart in CLIP.
NOT_BLENDED = re.compile(r"(local_global_bias_table|^prompt_learner\.ctx$|^prompt_generator\.)")


# (this package's prefix, the reference release's prefix); the most specific reference prefix
# comes first so that renaming towards this package tries it before "text_encoder.".
RENAMED_PREFIXES = (
    ("prompt_generator.", "text_encoder.prompt_generation_layer.0."),
    ("visual.", "image_encoder."),
    ("text.", "text_encoder."),
)


def _rename(key: str, to_reference: bool) -> str:
    for ours, theirs in RENAMED_PREFIXES:
        old, new = (ours, theirs) if to_reference else (theirs, ours)
        if key.startswith(old):
            return new + key[len(old):]
    return key


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded into the model; the message says why and what to do."""


def save_checkpoint(path: Union[str, Path], model: nn.Module, **extra: Any) -> Path:
    """Write atomically (temporary file + rename): a crash never leaves a half-written file."""
    payload = {
        "format": FORMAT,
        "model": model.state_dict(),
        "build_args": getattr(model, "build_args", None),
        "classnames": list(getattr(model, "classnames", [])),
        **extra,
    }
    return atomic_torch_save(payload, path)


def _omegaconf_globals(names: list[str]) -> list[Any]:
    import importlib

    objects = []
    for name in names:
        module, _, attr = name.rpartition(".")
        objects.append(getattr(importlib.import_module(module), attr))
    return objects


def read_checkpoint(path: Union[str, Path], trust_pickle: bool = False) -> dict:
    """The checkpoint's dictionary, read without executing arbitrary pickled code."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    if trust_pickle:
        return torch.load(path, map_location="cpu", weights_only=False)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
        allowed = [g for g in unsafe if g.startswith("omegaconf.") or g in ("typing.Any", "builtins.dict", "builtins.list", "collections.defaultdict")]
        refused = sorted(set(unsafe) - set(allowed))
        if refused:
            raise CheckpointError(
                f"{path} contains pickled objects that loading would have to execute: {refused}. "
                "Load it with trust_pickle=True only if you trust where the file came from."
            ) from None
        try:
            classes = _omegaconf_globals(allowed)
        except ImportError as err:
            raise CheckpointError(f"{path} stores an OmegaConf config; install omegaconf to read it ({err})") from None
        with torch.serialization.safe_globals(classes):
            return torch.load(path, map_location="cpu", weights_only=True)


def is_reference_layout(state: dict) -> bool:
    return any(k.startswith(("module.", "image_encoder.", "text_encoder.")) for k in state)


def convert_reference_state_dict(state: dict) -> tuple[dict, list[str]]:
    """Rename the reference release's keys to this package's; join its split q/k/v projections.

    Returns the converted state dict and the stale keys that were dropped.
    """
    out: dict[str, torch.Tensor] = {}
    dropped: list[str] = []
    qkv: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        key = key.removeprefix("module.")
        if STALE_REFERENCE_KEYS.match(key):
            dropped.append(key)
            continue
        key = _rename(key, to_reference=False)
        split = re.match(r"^(.*\.attn)\.([qkv])_proj\.(weight|bias)$", key)
        if split:
            prefix, which, kind = split.groups()
            qkv.setdefault(f"{prefix}.in_proj_{kind}", {})[which] = value
            continue
        out[key] = value
    for key, parts in qkv.items():
        if set(parts) != {"q", "k", "v"}:
            raise CheckpointError(f"{key}: the checkpoint has only the {sorted(parts)} projections of q/k/v")
        out[key] = torch.cat([parts["q"], parts["k"], parts["v"]], dim=0)
    return out, dropped


def to_reference_state_dict(state: dict) -> dict:
    """This package's state dict in the reference release's layout (the inverse of the above).

    For running a model trained here with the reference code, and for building reference-layout
    files in the book and tests. The token embedding is left out, as the reference files do.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key in FROM_CLIP_KEYS:
            continue
        key = _rename(key, to_reference=True)
        fused = re.match(r"^(image_encoder\..*\.attn)\.in_proj_(weight|bias)$", key)
        if fused:
            for part, chunk in zip("qkv", value.chunk(3, dim=0)):
                out[f"module.{fused.group(1)}.{part}_proj.{fused.group(2)}"] = chunk.clone()
            continue
        out[f"module.{key}"] = value
    return out


def load_checkpoint(
    model: nn.Module,
    path_or_state: Union[str, Path, dict],
    wise_ft: Optional[float] = None,
    trust_pickle: bool = False,
) -> dict:
    """Load this project's checkpoint or a reference release ``.pth`` into ``model``.

    ``wise_ft=a`` blends instead: every parameter becomes (1 - a) * CLIP + a * fine-tuned, except
    the TC bias tables, the prompt vectors and the VP layer, which keep their fine-tuned values
    (WiSE-FT, Wortsman et al. 2022). The CLIP side is the model's current weights, so the model
    must be freshly built from CLIP. Returns the checkpoint's other entries (epoch, ...).
    """
    if wise_ft is not None:
        if not 0.0 <= wise_ft <= 1.0:
            raise ValueError(f"wise_ft must lie in [0, 1], got {wise_ft}")
        if getattr(model, "_loaded_checkpoint", None):
            raise CheckpointError(
                "WiSE-FT blends with the CLIP weights the model was built from, but this model has already "
                f"loaded {model._loaded_checkpoint}: build a fresh model with tcclip.build_model first."
            )
    name = str(path_or_state) if not isinstance(path_or_state, dict) else "<state dict>"
    payload = path_or_state if isinstance(path_or_state, dict) else read_checkpoint(path_or_state, trust_pickle)
    state = payload.get("model", payload) if isinstance(payload, dict) else payload
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{name}: no state dict of tensors found (expected a 'model' entry)")
    allowed_missing: tuple[str, ...] = ()
    if is_reference_layout(state):
        state, _ = convert_reference_state_dict(state)
        allowed_missing = FROM_CLIP_KEYS
    current = model.state_dict()
    missing = [k for k in current if k not in state and k not in allowed_missing]
    unexpected = [k for k in state if k not in current]
    wrong_shape = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(current[k].shape)}"
                   for k in state if k in current and state[k].shape != current[k].shape]
    if missing or unexpected or wrong_shape:
        lines = [f"{name} does not fit this model ({type(model).__name__}):"]
        for title, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", wrong_shape)):
            if keys:
                shown = ", ".join(keys[:12]) + (f", ... ({len(keys)} in all)" if len(keys) > 12 else "")
                lines.append(f"  {title}: {shown}")
        lines.append("Build the model with the options the checkpoint was trained with (e.g. tcclip.build_model('tc_clip', ...) "
                     "with the same CLIP and TC/VP switches).")
        raise CheckpointError("\n".join(lines))
    merged = {}
    for key, value in state.items():
        value = value.to(dtype=current[key].dtype)
        if wise_ft is not None and not NOT_BLENDED.search(key) and current[key].is_floating_point():
            value = (1.0 - wise_ft) * current[key].to(value.device) + wise_ft * value
        merged[key] = value
    model.load_state_dict(merged, strict=False)
    model._loaded_checkpoint = name
    return {k: v for k, v in payload.items() if k != "model"} if isinstance(payload, dict) else {}


def model_from_checkpoint(
    path: Union[str, Path],
    classnames: Optional[list[str]] = None,
    pretrained: Optional[str] = "unchanged",
    trust_pickle: bool = False,
) -> nn.Module:
    """Rebuild the model a checkpoint of this project was trained as, and load it.

    ``classnames`` replaces the stored class list (e.g. zero-shot on another dataset). The CLIP
    weights the model is first built from are those recorded in the file (``pretrained``
    overrides them; None skips them, which is fine since the checkpoint holds every weight).
    Reference-release files carry no build arguments: build with `build_model` and call
    `load_checkpoint` instead.
    """
    from .models import build_model
    from .models.backbone import silence_random_init_notice

    payload = read_checkpoint(path, trust_pickle)
    args = payload.get("build_args") if isinstance(payload, dict) else None
    if not args:
        raise CheckpointError(
            f"{path} does not record how its model was built (a reference-release file?): use "
            "tcclip.build_model(...) with the matching options, then tcclip.load_checkpoint(model, path)."
        )
    names = classnames or payload.get("classnames")
    weights = args["pretrained"] if pretrained == "unchanged" else pretrained
    if weights is not None and weights != "openai" and os.sep in str(weights) and not os.path.isfile(weights):
        weights = None  # the CLIP file it started from is gone; the checkpoint holds every weight
    with silence_random_init_notice():  # the checkpoint below sets every weight
        model = build_model(args["name"], names, clip=args["clip"], pretrained=weights, num_frames=args["num_frames"],
                            **args["options"])
    model.to(payload["model"]["logit_scale"].dtype)  # in the precision it was saved in
    load_checkpoint(model, payload)
    model._loaded_checkpoint = str(path)
    return model
