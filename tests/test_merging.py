"""Bipartite merging against a slow, literal reference written here with Python lists."""
from __future__ import annotations


import pytest
import torch

from tcclip.models.merging import (
    MergeState, kmeans_context, merge_bipartite, merge_schedule, merge_to_context, tube_context,
)
from tcclip.models.seed_selection import gather_seed_tokens, num_seed_tokens, select_seed_tokens


def literal_round(tokens, sizes, sources, r):
    """One ToMe round on one video, token by token (lists of 1-D tensors)."""
    a = list(range(0, len(tokens), 2))
    b = list(range(1, len(tokens), 2))

    def cos(i, j):
        return float(torch.dot(tokens[i], tokens[j]) / (tokens[i].norm() * tokens[j].norm()))

    best = []
    for i in a:
        sims = [cos(i, j) for j in b]
        top = max(range(len(b)), key=lambda n: (sims[n], -n))  # first maximum
        best.append((sims[top], i, b[top]))
    ranked = sorted(best, key=lambda s: -s[0])  # Python's sort is stable
    merged, kept = ranked[:r], ranked[r:]
    b_tok = {j: tokens[j] * sizes[j] for j in b}
    b_size = {j: sizes[j] for j in b}
    b_src = {j: set(sources[j]) for j in b}
    for _, i, j in merged:
        b_tok[j] = b_tok[j] + tokens[i] * sizes[i]
        b_size[j] = b_size[j] + sizes[i]
        b_src[j] |= sources[i]
    order = [i for _, i, _ in kept]
    new_tokens = [tokens[i] for i in order] + [b_tok[j] / b_size[j] for j in b]
    new_sizes = [sizes[i] for i in order] + [b_size[j] for j in b]
    new_sources = [set(sources[i]) for i in order] + [b_src[j] for j in b]
    return new_tokens, new_sizes, new_sources


def literal_merge(x, k, per_round=100):
    tokens = list(x)
    sizes = [1.0] * len(tokens)
    sources = [{i} for i in range(len(tokens))]
    rounds = []
    while len(tokens) > k:
        remaining_constant = (x.shape[0] - k) // per_round - len(rounds)
        r = min(per_round, len(tokens) // 2) if remaining_constant > 0 else min(len(tokens) - k, len(tokens) // 2)
        tokens, sizes, sources = literal_round(tokens, sizes, sources, r)
        rounds.append(r)
    return torch.stack(tokens), torch.tensor(sizes, dtype=x.dtype), sources, rounds


def test_schedule_matches_spec():
    assert merge_schedule(16 * 58, 96) == [100] * 8 + [32]
    assert merge_schedule(8 * 58, 96) == [100] * 3 + [68]
    counts = [928]
    for r in merge_schedule(928, 96):
        counts.append(counts[-1] - r)
    assert counts == [928, 828, 728, 628, 528, 428, 328, 228, 128, 96]
    assert merge_schedule(50, 96) == []
    for n, k in [(152, 16), (300, 7), (97, 96), (1000, 1)]:
        sched = merge_schedule(n, k)
        assert n - sum(sched) == k
        count = n
        for r in sched:  # never more than half in a round
            assert r <= count // 2
            count -= r


def test_seed_count():
    assert num_seed_tokens(196, 0.3) == 58
    with pytest.raises(ValueError):
        num_seed_tokens(196, 0.0)


@pytest.mark.parametrize("n,k,per_round,batch", [(928, 96, 100, 1), (37, 5, 8, 3), (40, 30, 100, 3)])
def test_bipartite_matches_literal_reference(n, k, per_round, batch):
    torch.manual_seed(n)
    x = torch.randn(batch, n, 16, dtype=torch.float64)
    state = merge_to_context(x, k, per_round, track_sources=True)
    assert state.tokens.shape == (batch, k, 16)
    for b in range(batch):
        tokens, sizes, sources, rounds = literal_merge(x[b], k, per_round)
        assert rounds == merge_schedule(n, k, per_round)
        torch.testing.assert_close(state.tokens[b], tokens, rtol=0, atol=1e-12)  # values AND order
        torch.testing.assert_close(state.sizes[b, :, 0], sizes)
        for row, expected in zip(state.sources[b], sources):
            assert set(torch.nonzero(row).flatten().tolist()) == expected
    assert torch.all(state.sizes.sum(1) == n)  # size bookkeeping: every seed counted once
    assert torch.all(state.sources.sum((1, 2)) == n)


def test_sixteen_frame_schedule_928_to_96():
    torch.manual_seed(0)
    scores = torch.rand(2, 16, 196, dtype=torch.float64)
    seed_idx = select_seed_tokens(scores, 0.3)
    assert seed_idx.shape == (2, 16, 58)
    assert torch.all(scores.gather(-1, seed_idx).diff(dim=-1) <= 0)  # highest first
    patches = torch.randn(2, 16, 196, 8, dtype=torch.float64)
    seeds = gather_seed_tokens(patches, seed_idx)
    assert seeds.shape == (2, 928, 8)
    torch.testing.assert_close(seeds[1, 58 * 3 + 2], patches[1, 3, seed_idx[1, 3, 2]])  # frame-major
    assert merge_to_context(seeds, 96).tokens.shape == (2, 96, 8)


def test_merge_is_a_weighted_mean_and_differentiable():
    x = torch.randn(1, 10, 4, dtype=torch.float64, requires_grad=True)
    state = merge_bipartite(MergeState.start(x, track_sources=True), 3)
    # each output token is the mean of the inputs it holds
    expected = (state.sources[0] @ x[0]) / state.sources[0].sum(-1, keepdim=True)
    torch.testing.assert_close(state.tokens[0], expected)
    state.tokens.sum().backward()
    torch.testing.assert_close(x.grad.sum(), torch.tensor(7.0 * 4, dtype=torch.float64))


def test_too_many_merges_in_a_round():
    with pytest.raises(ValueError, match="at most half"):
        merge_bipartite(MergeState.start(torch.randn(1, 6, 2)), 4)


def test_kmeans_tube_shapes_and_bookkeeping():
    torch.manual_seed(0)
    seeds = torch.randn(2, 50, 8, dtype=torch.float64)
    km = kmeans_context(seeds, 6, track_sources=True)
    assert km.tokens.shape == (2, 6, 8)
    assert torch.all(km.sources.sum(1) == 1)  # hard assignment: every seed in one cluster
    nonempty = km.sizes[0, :, 0] > 0
    torch.testing.assert_close(km.tokens[0][nonempty], (km.sources[0] @ seeds[0])[nonempty] / km.sizes[0][nonempty])
    patches = torch.randn(2, 4, 16, 8, dtype=torch.float64)
    tube = tube_context(patches, 5, track_sources=True)
    assert tube.tokens.shape == (2, 5, 8)
    # a tube holds the same spatial positions in every frame
    src = tube.sources[0].reshape(5, 4, 16)
    assert torch.all(src == src[:, :1])
    torch.testing.assert_close(tube.tokens[0, 0], patches[0, :, src[0, 0].bool()].mean((0, 1)))
