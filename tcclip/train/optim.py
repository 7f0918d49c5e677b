"""AdamW with the paper's parameter groups, and the per-step warm-up + cosine schedule."""
from __future__ import annotations

import functools
import math

import torch
from torch import nn

__all__ = ["param_groups", "build_optimizer", "build_scheduler", "is_prompt_param", "is_positional_param",
           "lr_factor"]


def _bare(name: str) -> str:
    return name.removeprefix("module.").removeprefix("_orig_mod.")


def is_prompt_param(name: str) -> bool:
    """Prompt vectors and the VP layer train at prompt_lr_mult x the base rate."""
    name = _bare(name)
    return name == "prompt_learner.ctx" or name.startswith("prompt_generator.")


def is_positional_param(name: str) -> bool:
    """The vision encoder's positional embedding (spatial [N, D], or joint [T, N, D])."""
    return _bare(name) == "visual.positional_embedding"


def param_groups(model: nn.Module, lr: float, weight_decay: float, prompt_lr_mult: float = 10.0,
                 positional_lr_mult: float = 1.0) -> list[dict]:
    """Groups {decay, no decay} x {each lr multiplier in use}; 1-D params and biases get no decay.

    Prompt parts train at ``prompt_lr_mult`` x the base rate (the recipe); the vision positional
    embedding at ``positional_lr_mult`` x (1 in the recipe; an ablation of the joint space-time
    embedding, whose per-frame copies start identical, raises it). With the defaults these are
    the recipe's four groups, in the same order as always (optimizer states of older checkpoints
    still line up).
    """
    groups: dict[tuple[bool, float], list] = {}
    names: dict[tuple[bool, float], list[str]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        no_decay = p.ndim <= 1 or name.endswith(".bias")
        mult = prompt_lr_mult if is_prompt_param(name) else positional_lr_mult if is_positional_param(name) else 1.0
        key = (no_decay, float(mult))
        groups.setdefault(key, []).append(p)
        names.setdefault(key, []).append(name)
    out = []
    for (no_decay, mult), params in sorted(groups.items()):
        out.append({"params": params, "weight_decay": 0.0 if no_decay else weight_decay, "lr": lr * mult,
                    "lr_scale": mult, "names": names[(no_decay, mult)]})
    return out


def build_optimizer(model: nn.Module, lr: float, weight_decay: float = 0.001, betas=(0.9, 0.98), eps: float = 1e-8,
                    prompt_lr_mult: float = 10.0, positional_lr_mult: float = 1.0) -> torch.optim.AdamW:
    groups = param_groups(model, lr, weight_decay, prompt_lr_mult, positional_lr_mult)
    if not groups:
        raise ValueError("the model has no trainable parameters (model=clip is evaluation only: use `eval`)")
    for g in groups:
        g.pop("names")
    return torch.optim.AdamW(groups, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)


def lr_factor(step: int, total_steps: int, warmup_steps: int, min_ratio: float) -> float:
    """Multiplier of the base lr at optimizer step ``step`` (0-based).

    Linear warm-up reaching the base lr at the end of warm-up, then a half cosine down to
    ``min_ratio`` x base at ``total_steps``. Written by hand (a few lines) rather than with
    timm's CosineLRScheduler because timm writes one lr into every group, while the prompt
    groups must stay at 10x the others; a multiplier on each group's own lr keeps that.
    """
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_scheduler(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int, lr: float,
                    min_lr: float) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step schedule: call ``.step()`` after every optimizer step."""
    ratio = min_lr / lr if lr else 0.0
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, functools.partial(lr_factor, total_steps=total_steps, warmup_steps=warmup_steps, min_ratio=ratio))
