"""Checkpoints: this project's files and the reference release's ``.pth`` files (spec Sec. 6).

    model = tcclip.load_model("runs/x/best.pt")                          # this project's file
    model = tcclip.load_model("best.pth", classes, spec=tcclip.ModelSpec("tc_clip"))  # a reference file
    tcclip.load_checkpoint(model, "best.pth", wise_ft=0.7)              # into a model you built

Loading never executes pickled code unless the caller says so: files are read with
``torch.load(weights_only=True)``; the OmegaConf ``config`` entry of the reference files is
admitted by allow-listing exactly the classes an OmegaConf config pickles to
(:data:`OMEGACONF_GLOBALS`), and anything else is refused with an error naming it. Every
failure is a :class:`CheckpointError` subclass (a ``ValueError``) that says what to do.
"""
from __future__ import annotations

import importlib
import os
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import torch
from torch import nn

from .io import atomic_torch_save
from .models.backbone import looks_like_path, silence_random_init_notice
from .models.factory import ModelSpec, instantiate

__all__ = ["CheckpointError", "DamagedCheckpointError", "UnsafeCheckpointError", "IncompatibleCheckpointError",
           "MissingModelSpecError", "ModelSpecMismatchError", "MissingClipWeightsError", "MissingClassnamesError",
           "OMEGACONF_GLOBALS", "read_checkpoint", "read_model_spec", "save_checkpoint", "load_checkpoint", "load_model",
           "convert_reference_state_dict", "to_reference_state_dict", "is_reference_layout"]

FORMAT = "tcclip"
#: Where a checkpoint of this project keeps its `ModelSpec` (a plain dict). Older files of this
#: project kept the same fields under "build_args"; both are read.
SPEC_KEY = "model_spec"
LEGACY_SPEC_KEY = "build_args"
#: Everything an OmegaConf config pickles to (checked against omegaconf 2.0-2.3's pickles of
#: Hydra configs), so the reference files' "config" entry loads, and nothing else. Unpickling may
#: call any admitted name, so no function is here: e.g. omegaconf._utils._get_class imports any
#: module by name. The classes below only store what they are given.
OMEGACONF_GLOBALS = (
    "omegaconf.dictconfig.DictConfig", "omegaconf.listconfig.ListConfig", "omegaconf.base.ContainerMetadata",
    "omegaconf.base.Metadata", "omegaconf.nodes.AnyNode", "omegaconf.nodes.StringNode", "omegaconf.nodes.IntegerNode",
    "omegaconf.nodes.FloatNode", "omegaconf.nodes.BooleanNode", "typing.Any", "typing.Dict", "typing.List",
    "builtins.dict", "builtins.list", "builtins.int", "builtins.float", "builtins.bool", "builtins.str",
    "collections.defaultdict",
)
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
    """A checkpoint that cannot be loaded; the message says why and what to do."""


class DamagedCheckpointError(CheckpointError):
    """The file is truncated, empty or not a checkpoint at all."""


class UnsafeCheckpointError(CheckpointError):
    """The file holds pickled objects that loading would have to execute."""


class IncompatibleCheckpointError(CheckpointError):
    """The weights do not fit the model (missing, unexpected or mis-shaped keys)."""


class MissingModelSpecError(CheckpointError):
    """The file does not say which model it holds (a reference-release file), and no spec was given."""


class ModelSpecMismatchError(CheckpointError):
    """The spec asked for is another model than the one the file records."""


class MissingClipWeightsError(CheckpointError):
    """WiSE-FT or a reference-release file needs the CLIP weights, and they are not where the spec says."""


class MissingClassnamesError(CheckpointError):
    """The file stores no class names and none were given."""


def save_checkpoint(path: Union[str, Path], model: nn.Module, **extra: Any) -> Path:
    """Write atomically (temporary file + rename): a crash never leaves a half-written file.

    Stores the weights, the model's `ModelSpec` (as a plain dict under "model_spec"), its class
    names and ``extra``; readable with ``torch.load(weights_only=True)``.
    """
    spec = getattr(model, "spec", None)
    payload = {
        "format": FORMAT,
        "model": model.state_dict(),
        SPEC_KEY: spec.to_dict() if spec is not None else None,
        "classnames": list(getattr(model, "classnames", [])),
        **extra,
    }
    return atomic_torch_save(payload, path)


def _allowed_globals(path: Path) -> list[Any]:
    """The objects for the globals ``path`` pickles, all from :data:`OMEGACONF_GLOBALS`, or an error."""
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    refused = sorted(set(unsafe) - set(OMEGACONF_GLOBALS))
    if refused:
        raise UnsafeCheckpointError(
            f"{path} contains pickled objects that loading would have to execute: {refused}. "
            "Load it with trust_pickle=True (command line: --trust-pickle) only if you trust where the file came from.")
    objects = []
    for name in unsafe:
        module, _, attr = name.rpartition(".")
        try:
            objects.append(getattr(importlib.import_module(module), attr))
        except (ImportError, AttributeError) as err:
            raise CheckpointError(f"{path} stores an OmegaConf config; install omegaconf to read it ({err})") from None
    return objects


def _load(path: Path, trust_pickle: bool) -> Any:
    if trust_pickle:
        return torch.load(path, map_location="cpu", weights_only=False)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # a global outside torch's own allow-list; maybe an OmegaConf config
        allowed = _allowed_globals(path)
        if not allowed:
            raise
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location="cpu", weights_only=True)


def read_checkpoint(path: Union[str, Path], trust_pickle: bool = False) -> dict:
    """The checkpoint's dictionary, read without executing arbitrary pickled code.

    Raises FileNotFoundError, :class:`UnsafeCheckpointError` (names the refused globals) or
    :class:`DamagedCheckpointError` (names the file: empty, truncated or not a checkpoint).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        return _load(path, trust_pickle)
    except CheckpointError:
        raise
    # what torch.load raises for a file that is empty (EOFError), cut short (RuntimeError from the
    # zip reader), or something else altogether (KeyError, UnpicklingError, ValueError, BadZipFile)
    except (EOFError, RuntimeError, KeyError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
        reason = str(err).strip().split("\n")[0][:200] or type(err).__name__
        raise DamagedCheckpointError(
            f"{path} is damaged or not a checkpoint ({path.stat().st_size} bytes; {reason}). A file cut short by "
            "a full disk, a kill during a copy or an unfinished download looks like this.") from None


def read_model_spec(source: Union[str, Path, dict]) -> Optional[ModelSpec]:
    """The `ModelSpec` a checkpoint of this project records; None for files that record none."""
    payload = source if isinstance(source, dict) else read_checkpoint(source)
    data = payload.get(SPEC_KEY) or payload.get(LEGACY_SPEC_KEY) if isinstance(payload, dict) else None
    if not data:
        return None
    try:
        return ModelSpec.from_dict(data)
    except (TypeError, ValueError) as err:
        name = "<state dict>" if isinstance(source, dict) else str(source)
        raise CheckpointError(f"{name} records a model spec that is not valid here: {err}") from None


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


def _state_dict(payload: Any, name: str) -> dict:
    state = payload.get("model", payload) if isinstance(payload, dict) else payload
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{name}: no state dict of tensors found (expected a 'model' entry)")
    return state


def _fitted(model: nn.Module, state: dict, name: str) -> dict:
    """``state`` in this package's layout, checked against ``model``: every key, every shape."""
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
        raise IncompatibleCheckpointError("\n".join(lines))
    return state


def _assign(model: nn.Module, state: dict, wise_ft: Optional[float], clip_state: Optional[dict]) -> None:
    """Copy ``state`` into ``model`` (in its dtype); with WiSE-FT, blend with ``clip_state``."""
    current = model.state_dict()
    merged = {}
    for key, value in state.items():
        value = value.to(dtype=current[key].dtype)
        if wise_ft is not None and not NOT_BLENDED.search(key) and current[key].is_floating_point():
            clip = clip_state[key].to(device=value.device, dtype=value.dtype)
            value = (1.0 - wise_ft) * clip + wise_ft * value
        merged[key] = value
    model.load_state_dict(merged, strict=False)


def _check_wise_ft(wise_ft: Optional[float]) -> None:
    if wise_ft is not None and not 0.0 <= wise_ft <= 1.0:
        raise ValueError(f"wise_ft must lie in [0, 1], got {wise_ft}")


def _require_clip_weights(spec: ModelSpec, why: str) -> None:
    """The one rule for missing CLIP weights: an error naming them and the fix."""
    fix = "pass spec=spec.replace(pretrained=PATH) (command line: model.pretrained=PATH) to point at a copy"
    if spec.pretrained is None:
        raise MissingClipWeightsError(f"{why}, but the model spec names none (pretrained=None): {fix}")
    if looks_like_path(spec.pretrained) and not os.path.isfile(spec.pretrained):
        raise MissingClipWeightsError(f"{why}, and {spec.pretrained} does not exist: {fix}")


def load_checkpoint(
    model: nn.Module,
    path_or_state: Union[str, Path, dict],
    wise_ft: Optional[float] = None,
    trust_pickle: bool = False,
) -> dict:
    """Load this project's checkpoint or a reference release ``.pth`` into ``model``.

    ``wise_ft=a`` blends instead: every parameter becomes (1 - a) * CLIP + a * fine-tuned, except
    the TC bias tables, the prompt vectors and the VP layer, which keep their fine-tuned values
    (WiSE-FT, Wortsman et al. 2022). The CLIP side is rebuilt from ``model.spec`` (the CLIP
    weights the model was built from), whatever the model holds now. A reference file lacks
    the token embedding: the model keeps its own, so build it from CLIP. Nothing is loaded
    unless every key fits. Returns the checkpoint's other entries (epoch, ...).
    """
    _check_wise_ft(wise_ft)
    name = str(path_or_state) if not isinstance(path_or_state, dict) else "<state dict>"
    payload = path_or_state if isinstance(path_or_state, dict) else read_checkpoint(path_or_state, trust_pickle)
    state = _fitted(model, _state_dict(payload, name), name)
    clip_state = None
    if wise_ft is not None:
        spec = getattr(model, "spec", None)
        if spec is None:
            raise MissingModelSpecError("WiSE-FT blends with the CLIP weights the model was built from, and this model "
                                        "does not say which (no model.spec): build it with tcclip.build_model")
        _require_clip_weights(spec, "WiSE-FT blends with the CLIP weights the model was built from")
        clip_state = instantiate(spec, model.classnames).state_dict()
    _assign(model, state, wise_ft, clip_state)
    return {k: v for k, v in payload.items() if k != "model"} if isinstance(payload, dict) else {}


def load_model(
    path: Union[str, Path],
    classnames: Optional[Sequence[str]] = None,
    *,
    spec: Optional[ModelSpec] = None,
    wise_ft: Optional[float] = None,
    trust_pickle: bool = False,
) -> nn.Module:
    """The model a checkpoint holds, rebuilt and loaded: this project's files and the reference's.

    Which model: the `ModelSpec` the file records (this project's files). A reference-release
    file records none; ``spec`` says what to build (:class:`MissingModelSpecError` without it).
    Given for a file that records one, ``spec`` must describe the same model
    (:class:`ModelSpecMismatchError` names the differences) and may change only ``pretrained``,
    i.e. where the CLIP weights are now. Which classes: ``classnames``, else the file's.

    Missing CLIP weights, one rule: this project's files hold every weight, so plain loading
    never reads (or downloads) the CLIP weights the spec names, and builds the model in the
    precision it was saved in. Two cases need those weights: WiSE-FT (``wise_ft=a`` blends with
    them, see `load_checkpoint`) and reference-release files (they lack the token embedding).
    There, weights that are not where the spec says are a :class:`MissingClipWeightsError`
    naming the file and the fix.
    """
    _check_wise_ft(wise_ft)
    payload = read_checkpoint(path, trust_pickle)
    recorded = read_model_spec(payload)
    if recorded is None and spec is None:
        raise MissingModelSpecError(
            f"{path} does not record which model it holds (a reference-release file?): pass "
            "spec=tcclip.ModelSpec('tc_clip', clip=..., pretrained=..., num_frames=...) with the options it was trained with")
    if recorded is not None and spec is not None and recorded.differences(spec):
        shown = ", ".join(f"{k}: file {a!r} vs asked {b!r}" for k, (a, b) in recorded.differences(spec).items())
        raise ModelSpecMismatchError(f"{path} holds another model than the spec asks for ({shown}); "
                                     "leave spec out to load the model the file records")
    spec = spec or recorded
    names = list(classnames) if classnames else list(payload.get("classnames") or [])
    if not names:
        raise MissingClassnamesError(f"{path} stores no class names: pass classnames=[...]")
    needs_clip = wise_ft is not None or recorded is None
    if wise_ft is not None:
        _require_clip_weights(spec, f"WiSE-FT blends {path} with the CLIP weights it was trained from")
    elif recorded is None:
        _require_clip_weights(spec, f"{path} lacks the token embedding, which comes from the CLIP weights")
    with silence_random_init_notice():  # every weight is set below; the notice would mislead
        model = instantiate(spec, names, load_weights=needs_clip)
    if recorded is not None:
        model.to(_state_dict(payload, str(path))["logit_scale"].dtype)  # in the precision it was saved in
    state = _fitted(model, _state_dict(payload, str(path)), str(path))
    _assign(model, state, wise_ft, model.state_dict() if wise_ft is not None else None)
    return model
