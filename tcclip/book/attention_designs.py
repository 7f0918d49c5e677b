"""Ways to let the frames of a video talk inside a CLIP ViT layer (paper Sec. 1, Figs. 1 to 3).

The book's chapter 3 compares the token interactions that video extensions of CLIP allow in
one self-attention layer. A clip has ``T`` frames of ``N`` tokens each (one ``[CLS]`` plus
``P`` patches); flattened, token ``(t, n)`` sits at position ``t * N + n``. The designs:

``"frame"``
    Frame-wise attention, the ViFi-CLIP baseline: a token sees the ``N`` tokens of its own
    frame only; the frames meet once, when their features are averaged at the end.
``"cross_frame_cls"``
    Cross-frame ``[CLS]`` attention, in the spirit of X-CLIP and Vita-CLIP (paper Fig. 1(a)):
    a token sees its own frame plus the ``[CLS]`` tokens of the other ``T - 1`` frames.
    (X-CLIP routes this through separate message tokens; sharing the ``[CLS]`` keys is the
    simplest form of the same idea and is what the figure draws.)
``"window"``
    Temporal window expansion, after Open-VCLIP (Fig. 1(b)): a token sees every token of the
    frames ``t - w .. t + w`` (clamped at the ends of the clip, no wrap-around).
``"joint"``
    Joint space-time attention, as in TimeSformer's joint variant (Fig. 1(c)): every token
    sees all ``T * N`` tokens.
``"tc"``
    Temporal contextualization (TC-CLIP, Sec. 3.2): a token sees its own frame plus ``k``
    context tokens shared by the whole video. It runs through the package's
    :class:`~tcclip.models.attention.BiasAugmentedAttention`; the context tokens come from the
    previous layer (chapters 4 and 5), here they are simply given.

Every design has two implementations that a test keeps equal: a *dense* one that builds
the full ``[T*N, T*N (+k)]`` boolean mask of :func:`key_mask` and masks a full attention
(:func:`dense_attention`, simple, quadratic in ``T * N``, and the source of the attention
maps the chapter draws), and an *efficient* one that only gathers the keys each query may
see (:func:`attend`, whose cost is what the chapter measures). :func:`num_query_key_pairs`
and :func:`attention_flops` give the cost in closed form.
"""

from __future__ import annotations

import math
from typing import Literal, Optional

import torch
import torch.nn.functional as F

from tcclip.models.attention import Attention, BiasAugmentedAttention, merge_heads

__all__ = [
    "DESIGNS",
    "Design",
    "key_mask",
    "num_query_key_pairs",
    "attention_flops",
    "dense_attention",
    "attend",
    "time_designs",
]

Design = Literal["frame", "cross_frame_cls", "window", "joint", "tc"]
#: Every design, in the order the book draws them.
DESIGNS: tuple[str, ...] = ("frame", "cross_frame_cls", "window", "joint", "tc")


def _check(design: str, frames: int, tokens: int, window: int, num_context: int) -> None:
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}; choose one of {DESIGNS}")
    if frames < 1 or tokens < 1:
        raise ValueError(f"need at least one frame and one token, got frames={frames}, tokens={tokens}")
    if window < 0:
        raise ValueError(f"window must be >= 0 (0 is frame-wise attention), got {window}")
    if num_context < 0:
        raise ValueError(f"num_context must be >= 0, got {num_context}")
    if design == "tc" and num_context == 0:
        raise ValueError("the 'tc' design needs num_context > 0 context tokens")


def key_mask(design: Design, frames: int, tokens: int, window: int = 1, num_context: int = 0) -> torch.Tensor:
    """Which keys each query may see: bool ``[T*N, T*N]``, or ``[T*N, T*N + k]`` for ``"tc"``.

    Row ``t * N + n`` is the query of token ``n`` of frame ``t``; columns are the keys in the
    same order, then (``"tc"`` only) the ``k`` context tokens. ``window`` is used by
    ``"window"`` only, ``num_context`` by ``"tc"`` only.
    """
    _check(design, frames, tokens, window, num_context)
    frame_of = torch.arange(frames * tokens) // tokens  # frame of each flattened token
    is_cls = torch.arange(frames * tokens) % tokens == 0
    same_frame = frame_of[:, None] == frame_of[None, :]
    if design == "frame":
        return same_frame
    if design == "joint":
        return torch.ones(frames * tokens, frames * tokens, dtype=torch.bool)
    if design == "window":
        return (frame_of[:, None] - frame_of[None, :]).abs() <= window
    if design == "cross_frame_cls":
        return same_frame | is_cls[None, :]
    # "tc": own frame, then k context columns that every query sees
    return torch.cat([same_frame, torch.ones(frames * tokens, num_context, dtype=torch.bool)], dim=1)


def num_query_key_pairs(design: Design, frames: int, tokens: int, window: int = 1, num_context: int = 0) -> int:
    """How many (query, key) products one head computes: the number of True in `key_mask`."""
    _check(design, frames, tokens, window, num_context)
    t, n = frames, tokens
    if design == "frame":
        return t * n * n
    if design == "joint":
        return (t * n) ** 2
    if design == "window":
        seen_frames = sum(min(i + window, t - 1) - max(i - window, 0) + 1 for i in range(t))
        return seen_frames * n * n
    if design == "cross_frame_cls":
        return t * n * (n + t - 1)
    return t * n * (n + num_context)


def attention_flops(
    design: Design, frames: int, tokens: int, width: int, window: int = 1, num_context: int = 0, batch: int = 1
) -> int:
    """Floating-point operations of one attention layer (2 per multiply-add), as counted by
    ``torch.utils.flop_counter``: the q/k/v and output projections, the key/value projection
    of the context tokens (``"tc"``), and ``q k^T`` plus ``softmax(.) v`` over the visible pairs.
    Softmax, masking and biases are not counted (they are linear in the pairs and small).
    """
    t, n, d = frames, tokens, width
    projections = 2 * t * n * d * 3 * d + 2 * t * n * d * d
    if design == "tc":
        projections += 2 * num_context * d * 2 * d
    products = 2 * 2 * num_query_key_pairs(design, frames, tokens, window, num_context) * d
    return batch * (projections + products)


# --------------------------------------------------------------------------------------
# The dense reference: full attention over all tokens, masked
# --------------------------------------------------------------------------------------


def dense_attention(
    x: torch.Tensor,
    attn: Attention,
    mask: torch.Tensor,
    context: Optional[torch.Tensor] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked attention over the flattened clip; returns ``(out [B,T,N,D], probs [B,H,TN,M])``.

    ``x``: ``[B, T, N, D]`` (already layer-normalised, as attention sees it); ``mask`` from
    :func:`key_mask`; ``context``: ``[B, k, D]`` extra keys/values (the ``"tc"`` design),
    which also brings in the local/global bias of a `BiasAugmentedAttention` (Eq. 10).
    Written by hand (not ``scaled_dot_product_attention``) because the chapter draws the
    probabilities, which the fused kernel does not return.
    """
    batch, frames, tokens, width = x.shape
    flat = x.reshape(batch, frames * tokens, width)
    keys = flat if context is None else torch.cat([flat, context.to(flat.dtype)], dim=1)
    if mask.shape != (flat.shape[1], keys.shape[1]):
        raise ValueError(f"mask {tuple(mask.shape)} does not fit {flat.shape[1]} queries and {keys.shape[1]} keys")
    q = attn.project_q(flat)  # [B, H, TN, d]
    k, v = attn.project_kv(keys)  # [B, H, M, d]
    logits = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if context is not None and isinstance(attn, BiasAugmentedAttention):
        bias = attn.key_bias(flat.shape[1], context.shape[1])  # [H, 1, TN + k] or None
        if bias is not None:
            logits = logits + bias.to(logits.dtype)
    logits = logits.masked_fill(~mask.to(logits.device), float("-inf"))
    probs = logits.softmax(dim=-1)
    out = attn.out_proj(merge_heads(probs @ v))
    return out.reshape(batch, frames, tokens, width), probs


# --------------------------------------------------------------------------------------
# The efficient versions: gather only the keys each query sees
# --------------------------------------------------------------------------------------


def _window_keys(k: torch.Tensor, v: torch.Tensor, window: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keys/values of frames t-w..t+w for every frame t: ``[B, T, H, (2w+1) N, d]`` and the
    bool validity ``[T, 1, 1, (2w+1) N]`` (False on the zero padding past the clip's ends)."""
    frames, tokens = k.shape[1], k.shape[-2]
    span = 2 * window + 1

    def stack(z: torch.Tensor) -> torch.Tensor:
        padded = F.pad(z, (0, 0, 0, 0, 0, 0, window, window))  # pad the frame axis (dim 1)
        win = padded.unfold(1, span, 1)  # [B, T, H, N, d, span]
        win = win.permute(0, 1, 2, 5, 3, 4)  # [B, T, H, span, N, d]
        return win.reshape(*win.shape[:3], span * tokens, win.shape[-1])

    offsets = torch.arange(frames, device=k.device)[:, None] + torch.arange(-window, window + 1, device=k.device)
    valid = ((offsets >= 0) & (offsets < frames)).repeat_interleave(tokens, dim=1)
    return stack(k), stack(v), valid[:, None, None, :]


def attend(
    x: torch.Tensor,
    attn: Attention,
    design: Design,
    window: int = 1,
    context: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """One attention layer under ``design``: ``x [B, T, N, D] -> [B, T, N, D]``.

    Each design computes only the products its mask allows (the cost the chapter measures),
    except ``"window"``, which computes zero-padded keys past the clip's ends and masks
    them (``2w + 1`` frames for every frame, so that all frames run as one batch).
    ``"tc"`` needs ``context [B, k, D]`` and a `BiasAugmentedAttention`.
    """
    batch, frames, tokens, width = x.shape
    _check(design, frames, tokens, window, 0 if context is None else context.shape[1])
    if design == "tc":
        if context is None or not isinstance(attn, BiasAugmentedAttention):
            raise ValueError("design 'tc' needs context tokens [B, k, D] and a BiasAugmentedAttention")
        out, _ = attn.forward_frames(x, context, seed_metric=None)
        return out
    if design == "frame":
        return attn(x)  # the leading [B, T] dims make every frame its own sequence
    if design == "joint":
        return attn(x.reshape(batch, frames * tokens, width)).reshape(batch, frames, tokens, width)
    q, k, v = attn.project_qkv(x)  # [B, T, H, N, d]
    mask = None
    if design == "window":
        window = min(window, frames - 1)  # wider windows see the same frames
        k, v, mask = _window_keys(k, v, window)
    else:  # "cross_frame_cls": append the [CLS] keys/values of the other frames
        others = torch.tensor([[s for s in range(frames) if s != t] for t in range(frames)], dtype=torch.long,
                              device=x.device).reshape(frames, frames - 1)
        cls_k, cls_v = k[:, :, :, 0], v[:, :, :, 0]  # [B, T, H, d]
        k = torch.cat([k, cls_k[:, others].transpose(2, 3)], dim=-2)  # [B, T, H, N + T - 1, d]
        v = torch.cat([v, cls_v[:, others].transpose(2, 3)], dim=-2)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return attn.out_proj(merge_heads(out))


# --------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------


def time_designs(
    frames: list[int],
    tokens: int,
    width: int,
    heads: int,
    designs: tuple[str, ...] = DESIGNS,
    window: int = 1,
    num_context: int = 16,
    batch: int = 1,
    rounds: int = 7,
    target_seconds: float = 0.002,
    seed: int = 0,
    threads: int = 1,
) -> list[dict]:
    """Wall time of one attention layer (:func:`attend`, no grad) per design and clip length.

    Returns rows ``{design, frames, seconds, flops, pairs}``. Each (design, T) is timed
    ``rounds`` times on ``threads`` threads, each time as the mean over enough calls to last
    about ``target_seconds``; the rounds are interleaved across all designs and lengths, and
    the *fastest* round is kept: on a shared machine other processes only ever add time, so
    interleaving spreads their noise over every design and the minimum is the most
    repeatable statistic. Timed with a plain ``perf_counter`` loop rather than
    ``torch.utils.benchmark``, whose per-measurement set-up costs more than these small
    layers. Indicative numbers for the machine at hand; the repository's benchmark scripts
    are where performance claims come from.
    """
    import time

    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    generator = torch.Generator().manual_seed(seed)
    attn = BiasAugmentedAttention(width, heads, with_bias_table=True).eval()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            cases = []
            for t in frames:
                x = torch.randn(batch, t, tokens, width, generator=generator)
                context = torch.randn(batch, num_context, width, generator=generator)
                for design in designs:
                    kwargs = dict(window=window, context=context if design == "tc" else None)
                    start = time.perf_counter()  # one warm-up call, which also sizes the loop
                    attend(x, attn, design, **kwargs)
                    once = time.perf_counter() - start
                    cases.append((design, t, x, kwargs, max(1, int(target_seconds / max(once, 1e-7)))))
            best = [float("inf")] * len(cases)
            for _ in range(rounds):
                for i, (design, _, x, kwargs, number) in enumerate(cases):
                    start = time.perf_counter()
                    for _ in range(number):
                        attend(x, attn, design, **kwargs)
                    best[i] = min(best[i], (time.perf_counter() - start) / number)
    finally:
        torch.set_num_threads(previous_threads)
    rows = []
    for (design, t, *_), seconds in zip(cases, best):
        k = num_context if design == "tc" else 0
        rows.append(
            dict(
                design=design,
                frames=t,
                seconds=seconds,
                flops=attention_flops(design, t, tokens, width, window, k, batch),
                pairs=num_query_key_pairs(design, t, tokens, window, k),
            )
        )
    return rows
