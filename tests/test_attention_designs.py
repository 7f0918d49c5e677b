"""The attention designs of chapter 3: masks, their counts, and the efficient layers."""

from __future__ import annotations

import pytest
import torch

from tcclip.book.attention_designs import (
    DESIGNS,
    attend,
    attention_flops,
    dense_attention,
    key_mask,
    num_query_key_pairs,
    time_designs,
)
from tcclip.book.benchmarking import count_flops
from tcclip.models.attention import Attention, BiasAugmentedAttention

WIDTH, HEADS = 16, 2


def make_attn(with_bias: bool = False, seed: int = 0) -> BiasAugmentedAttention:
    torch.manual_seed(seed)
    attn = BiasAugmentedAttention(WIDTH, HEADS, with_bias_table=with_bias).double()
    with torch.no_grad():  # a non-zero bias, so the test can tell whether it is applied
        attn.in_proj_bias.normal_()
        if with_bias:
            attn.local_global_bias_table.copy_(torch.tensor([[[0.7, -1.3]], [[-0.4, 2.0]]]))
    return attn


def video(batch=2, frames=3, tokens=5, seed=1) -> torch.Tensor:
    return torch.randn(batch, frames, tokens, WIDTH, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ----- masks ---------------------------------------------------------------------------


def test_frame_mask_is_block_diagonal():
    mask = key_mask("frame", 3, 4)
    expected = torch.block_diag(*[torch.ones(4, 4)] * 3).bool()
    assert torch.equal(mask, expected)


def test_cross_frame_cls_mask_adds_exactly_the_other_cls_columns():
    frames, tokens = 4, 3
    mask = key_mask("cross_frame_cls", frames, tokens)
    extra = mask & ~key_mask("frame", frames, tokens)
    # every query gains the [CLS] keys (columns 0, 3, 6, 9) of the other frames, nothing else
    cols = torch.nonzero(extra.any(0)).flatten().tolist()
    assert cols == [0, 3, 6, 9]
    assert extra.sum(1).tolist() == [frames - 1] * frames * tokens


def test_window_mask_neighbours_and_clamping():
    mask = key_mask("window", 5, 2, window=1)
    frames_seen = mask[::2, ::2]  # one token per frame: a frame x frame adjacency
    expected = torch.tensor(
        [[1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 0, 1, 1]], dtype=torch.bool
    )
    assert torch.equal(frames_seen, expected)


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("frames,tokens,window,k", [(1, 3, 1, 2), (4, 5, 1, 3), (6, 2, 2, 4), (3, 4, 0, 1)])
def test_pair_counts_match_masks(design, frames, tokens, window, k):
    mask = key_mask(design, frames, tokens, window=window, num_context=k if design == "tc" else 0)
    assert int(mask.sum()) == num_query_key_pairs(design, frames, tokens, window, k if design == "tc" else 0)


def test_masks_nest():
    """frame <= cross-frame [CLS] <= joint, and frame <= window <= joint."""
    f, c, w, j = (key_mask(d, 5, 4, window=1) for d in ("frame", "cross_frame_cls", "window", "joint"))
    assert bool((f <= c).all() and (c <= j).all() and (f <= w).all() and (w <= j).all())
    assert int(f.sum()) < int(c.sum()) < int(j.sum()) and int(f.sum()) < int(w.sum()) < int(j.sum())


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="unknown design"):
        key_mask("global", 2, 2)
    with pytest.raises(ValueError, match="window"):
        key_mask("window", 2, 2, window=-1)
    with pytest.raises(ValueError, match="num_context"):
        key_mask("tc", 2, 2)
    with pytest.raises(ValueError, match="BiasAugmentedAttention"):
        attend(video(), Attention(WIDTH, HEADS).double(), "tc", context=torch.zeros(2, 2, WIDTH, dtype=torch.float64))


# ----- the efficient layers equal the masked dense reference -----------------------------


@pytest.mark.parametrize("design", ["frame", "cross_frame_cls", "window", "joint"])
@pytest.mark.parametrize("frames,window", [(1, 1), (2, 1), (5, 1), (5, 2), (4, 7)])
def test_attend_equals_masked_dense_attention(design, frames, window):
    attn, x = make_attn(), video(frames=frames)
    expected, probs = dense_attention(x, attn, key_mask(design, frames, x.shape[2], window=window))
    torch.testing.assert_close(attend(x, attn, design, window=window), expected)
    torch.testing.assert_close(probs.sum(-1), torch.ones_like(probs.sum(-1)))


@pytest.mark.parametrize("with_bias", [False, True])
def test_tc_equals_masked_dense_attention_with_context(with_bias):
    attn, x = make_attn(with_bias), video(frames=4)
    context = torch.randn(2, 3, WIDTH, dtype=torch.float64)
    expected, probs = dense_attention(x, attn, key_mask("tc", 4, x.shape[2], num_context=3), context=context)
    torch.testing.assert_close(attend(x, attn, "tc", context=context), expected)
    assert probs.shape == (2, HEADS, 4 * x.shape[2], 4 * x.shape[2] + 3)


def test_bias_table_changes_the_dense_result():
    """Guards the test above: with a non-zero table the bias must matter."""
    x, context = video(frames=2), torch.randn(2, 3, WIDTH, dtype=torch.float64)
    mask = key_mask("tc", 2, x.shape[2], num_context=3)
    plain = make_attn(False)
    biased = make_attn(True)
    biased.load_state_dict({**plain.state_dict(), "local_global_bias_table": biased.local_global_bias_table.data})
    a, _ = dense_attention(x, plain, mask, context=context)
    b, _ = dense_attention(x, biased, mask, context=context)
    assert not torch.allclose(a, b)


def test_degenerate_designs_equal_frame_wise():
    attn = make_attn()
    x = video(frames=4)
    frame = attend(x, attn, "frame")
    torch.testing.assert_close(attend(x, attn, "window", window=0), frame)  # window 0 = own frame
    one = video(frames=1)
    for design in ("joint", "cross_frame_cls", "window"):  # one frame: nothing else to see
        torch.testing.assert_close(attend(one, attn, design), attend(one, attn, "frame"))
    torch.testing.assert_close(attend(x, attn, "window", window=3), attend(x, attn, "joint"))  # covers the clip


def test_designs_differ_when_frames_differ():
    attn, x = make_attn(), video(frames=3)
    outs = {d: attend(x, attn, d) for d in ("frame", "cross_frame_cls", "window", "joint")}
    for a in outs:
        for b in outs:
            if a < b:
                assert not torch.allclose(outs[a], outs[b]), (a, b)


# ----- cost -----------------------------------------------------------------------------


@pytest.mark.parametrize("design", ["frame", "cross_frame_cls", "joint", "tc"])
def test_flops_formula_matches_flop_counter(design):
    frames, tokens, k = 4, 5, 3
    attn = make_attn(design == "tc")
    x = video(batch=1, frames=frames, tokens=tokens)
    context = torch.randn(1, k, WIDTH, dtype=torch.float64) if design == "tc" else None
    counted = count_flops(lambda: attend(x, attn, design, context=context))  # attention on the math backend
    assert counted == attention_flops(design, frames, tokens, WIDTH, num_context=k if context is not None else 0)


def test_joint_cost_grows_quadratically_and_tc_linearly():
    tokens, width = 197, 768
    joint = [attention_flops("joint", t, tokens, width) for t in (4, 8, 16)]
    tc = [attention_flops("tc", t, tokens, width, num_context=96) for t in (4, 8, 16)]
    assert joint[2] / joint[1] > 1.7 and tc[2] / tc[1] < 2.01
    assert num_query_key_pairs("joint", 16, tokens) / num_query_key_pairs("frame", 16, tokens) == 16


def test_time_designs_rows():
    rows = time_designs([1, 2], tokens=5, width=WIDTH, heads=HEADS, num_context=2, rounds=2, target_seconds=1e-4)
    assert [(r["design"], r["frames"]) for r in rows] == [(d, t) for t in (1, 2) for d in DESIGNS]
    assert all(0 < r["seconds"] < 1 and r["flops"] > 0 for r in rows)
    with pytest.raises(ValueError, match="rounds"):
        time_designs([1], tokens=5, width=WIDTH, heads=HEADS, rounds=0)
