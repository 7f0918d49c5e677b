"""Informative token selection (paper Sec. 3.2.1).

Each frame keeps the patches its [CLS] query attends to most: the top ``int(P * ratio)``
patches by the head-averaged attention probability, highest first.
"""
from __future__ import annotations

import torch


def num_seed_tokens(num_patches: int, ratio: float) -> int:
    """a = int(P * ratio): 58 of 196 patches at the default ratio 0.3."""
    count = int(num_patches * ratio)
    if not 1 <= count <= num_patches:
        raise ValueError(f"seed ratio {ratio} keeps {count} of {num_patches} patches; use 0 < ratio <= 1")
    return count


def select_seed_tokens(scores: torch.Tensor, ratio: float) -> torch.Tensor:
    """Indices [B, T, a] of each frame's seed patches, ordered by score, highest first.

    scores: [B, T, P] (e.g. averaged [CLS] attention over the patch keys).
    """
    count = num_seed_tokens(scores.shape[-1], ratio)
    return scores.topk(count, dim=-1, largest=True, sorted=True).indices


def gather_seed_tokens(patches: torch.Tensor, seed_idx: torch.Tensor) -> torch.Tensor:
    """Seed tokens in frame-major order: [B, T, P, D] + [B, T, a] -> [B, T*a, D]."""
    batch, frames, count = seed_idx.shape
    width = patches.shape[-1]
    seeds = patches.gather(2, seed_idx.unsqueeze(-1).expand(-1, -1, -1, width))
    return seeds.reshape(batch, frames * count, width)
