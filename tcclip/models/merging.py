"""Temporal context summarisation: seed tokens -> k context tokens (paper Sec. 3.2.2).

The default aggregator is repeated bipartite soft matching (ToMe, Bolya et al. 2023), batched
over videos (every video of a batch has the same number of seed tokens, so no Python loop over
the batch). The ablation aggregators of the paper's Table 6 live here too: k-means, random
merge, temporal tubes and no merging.

Sizes are tracked so that a merged token is the size-weighted mean of the seeds it absorbed;
``sources`` ([B, n, n0], optional) records which of the n0 initial seeds each token holds, for
the paper's Fig. 6 style visualisations.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F


@dataclass
class MergeState:
    """Tokens being merged: values [B, n, D], sizes [B, n, 1], optional sources [B, n, n0]."""

    tokens: torch.Tensor
    sizes: torch.Tensor
    sources: Optional[torch.Tensor] = None

    @classmethod
    def start(cls, tokens: torch.Tensor, track_sources: bool = False) -> "MergeState":
        batch, count, _ = tokens.shape
        sizes = tokens.new_ones(batch, count, 1)
        sources = None
        if track_sources:
            sources = torch.eye(count, dtype=tokens.dtype, device=tokens.device).expand(batch, -1, -1)
        return cls(tokens, sizes, sources)


def merge_schedule(num_tokens: int, num_context: int, tokens_per_round: int = 100) -> list[int]:
    """How many tokens each bipartite round removes, as the reference release schedules it.

    Constant rounds of ``tokens_per_round`` (each capped at half the tokens) while
    int((start - k) / r) rounds remain, then rounds of min(count - k, count // 2) until k
    remain. 928 -> 96 (16 frames): eight rounds of 100, then 32.
    """
    if num_context < 1:
        raise ValueError("the number of context tokens must be at least 1")
    schedule: list[int] = []
    count = num_tokens
    for _ in range(max(0, (num_tokens - num_context) // tokens_per_round)):
        step = min(tokens_per_round, count // 2)
        schedule.append(step)
        count -= step
    while count > num_context:
        step = min(count - num_context, count // 2)
        schedule.append(step)
        count -= step
    return schedule


def _gather_rows(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def merge_bipartite(state: MergeState, r: int, scores: Optional[torch.Tensor] = None) -> MergeState:
    """One round of bipartite soft matching that removes ``r`` tokens.

    Even positions form set A, odd positions set B. Each A token finds its most similar B
    token (cosine); the r A tokens with the highest such similarity merge into their partners
    (size-weighted mean). The new order is: unmerged A tokens by decreasing similarity, then
    all B tokens in order. That order decides the next round's split, so it is part of the
    algorithm. ``scores`` ([B, |A|, |B|]) replaces the similarities (the random-merge ablation).
    """
    x, size = state.tokens, state.sizes
    if r <= 0:
        return state
    if r > x.shape[1] // 2:
        raise ValueError(f"cannot merge {r} of {x.shape[1]} tokens in one round (at most half)")
    with torch.no_grad():  # the matching is a discrete decision; gradients flow through the averages
        if scores is None:
            metric = F.normalize(x, dim=-1)
            scores = metric[:, ::2] @ metric[:, 1::2].transpose(-1, -2)
        best_score, best_partner = scores.max(dim=-1)  # [B, |A|]
        order = best_score.argsort(dim=-1, descending=True, stable=True)
        merged_a, kept_a = order[:, :r], order[:, r:]
        partner = best_partner.gather(1, merged_a)

    def combine(values: torch.Tensor) -> torch.Tensor:
        a, b = values[:, ::2], values[:, 1::2]
        src = _gather_rows(a, merged_a)
        b = b.scatter_add(1, partner.unsqueeze(-1).expand(-1, -1, values.shape[-1]), src)
        return torch.cat([_gather_rows(a, kept_a), b], dim=1)

    weighted = combine(x * size)
    new_size = combine(size)
    sources = combine(state.sources) if state.sources is not None else None
    return MergeState(weighted / new_size, new_size, sources)


def merge_to_context(
    tokens: torch.Tensor,
    num_context: int,
    tokens_per_round: int = 100,
    track_sources: bool = False,
    random_scores: bool = False,
) -> MergeState:
    """Repeated bipartite rounds following `merge_schedule` until ``num_context`` remain."""
    state = MergeState.start(tokens, track_sources)
    for r in merge_schedule(tokens.shape[1], num_context, tokens_per_round):
        scores = None
        if random_scores:
            count = state.tokens.shape[1]
            scores = torch.rand(tokens.shape[0], (count + 1) // 2, count // 2, device=tokens.device)
        state = merge_bipartite(state, r, scores)
    return state


def kmeans_context(tokens: torch.Tensor, num_context: int, iterations: int = 10, track_sources: bool = False) -> MergeState:
    """Hard k-means (cosine assignment) over the seed tokens, batched over videos.

    Written by hand because it must run batched on [B, n, D] tensors inside the forward pass,
    differentiably through the final cluster means; centroids start from evenly spaced seeds,
    so the result is deterministic.
    """
    batch, count, _ = tokens.shape
    k = min(num_context, count)
    start = torch.linspace(0, count - 1, k, device=tokens.device).round().long()
    with torch.no_grad():
        centroids = tokens[:, start]
        for _ in range(iterations):
            assign = (F.normalize(tokens, dim=-1) @ F.normalize(centroids, dim=-1).transpose(-1, -2)).argmax(-1)
            onehot = F.one_hot(assign, k).to(tokens.dtype)  # [B, n, k]
            members = onehot.sum(1).unsqueeze(-1)  # [B, k, 1]
            means = onehot.transpose(1, 2) @ tokens / members.clamp(min=1)
            centroids = torch.where(members > 0, means, centroids)  # an empty cluster keeps its centre
    onehot = onehot.transpose(1, 2)  # [B, k, n]
    sizes = onehot.sum(-1, keepdim=True)
    values = torch.where(sizes > 0, onehot @ tokens / sizes.clamp(min=1), centroids)
    return MergeState(values, sizes, onehot if track_sources else None)


def tube_context(patches: torch.Tensor, num_context: int, track_sources: bool = False) -> MergeState:
    """Temporal tubes: each context token averages a fixed group of patch positions over all frames.

    patches: [B, T, P, D]. The P positions (raster order) are cut into ``num_context`` contiguous
    groups, so a tube always holds the same spatial region in every frame; it ignores content,
    which is what the paper's ablation contrasts with content-based merging.
    """
    batch, frames, num_patches, width = patches.shape
    k = min(num_context, num_patches)
    group = torch.div(torch.arange(num_patches, device=patches.device) * k, num_patches, rounding_mode="floor")
    assign = F.one_hot(group, k).to(patches.dtype)  # [P, k]
    sizes = assign.sum(0) * frames  # [k]
    values = torch.einsum("btpd,pk->bkd", patches, assign) / sizes[:, None]
    sources = None
    if track_sources:
        sources = assign.t().repeat(1, frames).unsqueeze(0).expand(batch, -1, -1)  # [B, k, T*P]
    return MergeState(values, sizes.view(1, k, 1).expand(batch, -1, -1), sources)
