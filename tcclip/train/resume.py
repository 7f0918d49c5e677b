"""What a training run needs to continue exactly: its state, RNGs, and which checkpoint to read.

``resume`` in the config: ``auto`` (``<output>/last.pt`` if present), ``none`` (start over),
``fallback`` (as auto, but a damaged ``last.pt`` falls back to the newest readable one of
``last.prev.pt`` and ``best.pt``), or a checkpoint path. Every write of ``last.pt`` keeps its
predecessor as ``last.prev.pt`` (a hard link: no copy, but the old file's space stays in use),
so there is always an older good state to fall back to.
"""
from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from omegaconf import DictConfig

from ..checkpoint import DamagedCheckpointError, read_checkpoint
from ..io import atomic_copy
from .distributed import DistInfo

__all__ = ["TrainState", "rng_state", "set_rng_state", "resolve_resume", "read_resume_checkpoint",
           "keep_previous", "previous_checkpoint", "restore_training"]

log = logging.getLogger("tcclip.train")


@dataclass
class TrainState:
    step: int = 0  # optimizer steps done
    epochs_done: int = 0  # epochs finished (trained and validated)
    best_metric: float = -math.inf
    best_epoch: int = -1
    skipped_videos: int = 0


def rng_state() -> dict:
    """Global RNG states as tensors/ints (loadable with torch.load(weights_only=True))."""
    np_state = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)),
             "numpy_pos": int(np_state[2]), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(("MT19937", state["numpy_keys"].numpy().astype(np.uint32), state["numpy_pos"], 0, 0.0))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def previous_checkpoint(path: Path) -> Path:
    """``last.pt`` -> ``last.prev.pt``: the state before the latest write."""
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def keep_previous(path: Path) -> None:
    """Before ``path`` is replaced, keep what it holds now as :func:`previous_checkpoint`."""
    if path.is_file():
        atomic_copy(path, previous_checkpoint(path))


def resolve_resume(cfg: DictConfig, output: Path) -> Optional[Path]:
    """--resume PATH, or output/last.pt when resume=auto|fallback and it exists, or None."""
    value = str(cfg.resume) if cfg.resume is not None else "none"
    if value in ("none", "false", "False", ""):
        return None
    if value in ("auto", "fallback"):
        last = output / "last.pt"
        return last if last.is_file() else None
    path = Path(value)
    if not path.is_file():
        raise FileNotFoundError(f"resume checkpoint {path} does not exist (resume=auto picks {output / 'last.pt'})")
    return path


def read_resume_checkpoint(path: Path, cfg: DictConfig, output: Path) -> tuple[Path, dict]:
    """(path, payload) of the checkpoint to resume from.

    A damaged file is an error naming it and the way out; with ``resume=fallback`` the newest
    readable of ``last.prev.pt`` and ``best.pt`` is used instead (and said so).
    """
    try:
        return path, read_checkpoint(path)
    except DamagedCheckpointError as err:
        damaged = err
    older = [p for p in (previous_checkpoint(output / "last.pt"), output / "best.pt") if p.is_file() and p != path]
    if str(cfg.resume) != "fallback":
        way_out = (f"resume=fallback continues from the newest readable of {', '.join(map(str, older))}; "
                   if older else "no older checkpoint of this run is kept; ")
        raise DamagedCheckpointError(f"cannot resume: {damaged} {way_out}resume=none starts over") from None
    readable = []
    for candidate in older:
        try:
            readable.append((candidate, read_checkpoint(candidate)))
        except DamagedCheckpointError as err:
            log.warning("%s", err)
    if not readable:
        raise DamagedCheckpointError(f"cannot resume: {damaged} No readable older checkpoint either "
                                     f"({', '.join(map(str, older)) or 'none kept'}); resume=none starts over")
    chosen, payload = max(readable, key=lambda item: int(item[1].get("step", -1)))
    log.warning("%s is damaged; resume=fallback: continuing from %s (step %s)", path, chosen, payload.get("step"))
    return chosen, payload


def restore_training(payload: dict, path: Path, schedule: Any, model: torch.nn.Module,
                     optimizer: torch.optim.Optimizer, scheduler: Any, scaler: torch.amp.GradScaler,
                     info: DistInfo) -> tuple[TrainState, list[dict], list[dict]]:
    """Load a checkpoint to continue exactly: weights, optimizer, schedule, scaler, RNG; returns state and logs."""
    saved = payload.get("schedule", {})
    for key in ("accumulation", "steps_per_epoch", "world_size", "batch_per_gpu"):
        if saved and saved.get(key) != getattr(schedule, key):
            raise ValueError(f"cannot resume {path} exactly: it was trained with {key}={saved.get(key)}, "
                             f"this run has {getattr(schedule, key)}; use the same world size and batch settings "
                             "(or resume=none to start over)")
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    if payload.get("scaler"):
        scaler.load_state_dict(payload["scaler"])
    state = TrainState(**payload["train_state"])
    if not info.is_main:
        state.skipped_videos = 0  # the saved count is the total over ranks; rank 0 carries it
    rng = payload["rng"]
    set_rng_state(rng[min(info.rank, len(rng) - 1)] if isinstance(rng, list) else rng)
    if info.is_main:
        log.info("resumed from %s at step %d (epoch %d)", path, state.step, state.epochs_done)
    return state, list(payload.get("history", [])), list(payload.get("validations", []))
