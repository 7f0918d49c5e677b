"""Multi-head attention with the TC-CLIP extensions (paper Sec. 3.2.3, Eq. 9-10).

One module serves every attention in the model so that its parameter names stay those of
CLIP (``in_proj_weight``, ``in_proj_bias``, ``out_proj``) and CLIP weights copy in unchanged:

* the frame-wise self-attention of the vision encoder, optionally with keys/values extended by
  a video's context tokens and a learnable local/global bias (`BiasAugmentedAttention`);
* the causal self-attention of the text encoder;
* the cross-attention of the video-conditional prompting layer.

The heavy product goes through ``scaled_dot_product_attention``; seed selection only needs
the probabilities of the [CLS] query, which `cls_attention_probs` computes on its own.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .options import SeedMetric, parse_option


def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """[..., L, D] -> [..., H, L, D/H]."""
    *lead, length, width = x.shape
    return x.reshape(*lead, length, num_heads, width // num_heads).transpose(-3, -2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """[..., H, L, d] -> [..., L, H*d]."""
    *lead, heads, length, dim = x.shape
    return x.transpose(-3, -2).reshape(*lead, length, heads * dim)


class Attention(nn.Module):
    """CLIP's attention weights (fused q/k/v projection) with functional entry points."""

    def __init__(self, width: int, num_heads: int) -> None:
        super().__init__()
        if width % num_heads:
            raise ValueError(f"width {width} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)
        nn.init.xavier_uniform_(self.in_proj_weight)

    @property
    def width(self) -> int:
        return self.in_proj_weight.shape[1]

    def project_q(self, x: torch.Tensor) -> torch.Tensor:
        w = self.width
        return split_heads(F.linear(x, self.in_proj_weight[:w], self.in_proj_bias[:w]), self.num_heads)

    def project_kv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w = self.width
        k, v = F.linear(x, self.in_proj_weight[w:], self.in_proj_bias[w:]).chunk(2, dim=-1)
        return split_heads(k, self.num_heads), split_heads(v, self.num_heads)

    def project_qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        return split_heads(q, self.num_heads), split_heads(k, self.num_heads), split_heads(v, self.num_heads)

    def forward(
        self,
        query: torch.Tensor,
        key_value: Optional[torch.Tensor] = None,
        attn_mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Self-attention (``key_value=None``) or cross-attention over [..., L, D] tensors."""
        if key_value is None:
            q, k, v = self.project_qkv(query)
        else:
            q = self.project_q(query)
            k, v = self.project_kv(key_value)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        return self.out_proj(merge_heads(out))


def causal_mask(length: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Additive causal mask, as CLIP's text encoder uses it."""
    return torch.full((length, length), float("-inf"), device=device, dtype=dtype).triu_(1)


def cls_attention_probs(
    q: torch.Tensor, k: torch.Tensor, bias: Optional[torch.Tensor] = None
) -> torch.Tensor:
    """Softmax attention row of the [CLS] query (position 0) only.

    q: [..., H, N, d]; k: [..., H, M, d]; bias: broadcastable to [..., H, 1, M].
    Returns [..., H, M]. The normalisation includes every key (context keys too), as the
    seed-selection rule of the paper requires.
    """
    logits = q[..., :1, :] @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if bias is not None:
        logits = logits + bias
    return logits.softmax(dim=-1).squeeze(-2)


class BiasAugmentedAttention(Attention):
    """Frame-wise attention whose keys/values also hold the video's context tokens (Eq. 9).

    The learnable table (H, 1, 2) adds one bias per head to the logits of the frame's own keys
    and another to those of the context keys (Eq. 10). It exists from the second layer on, as
    in the reference release, whose checkpoints store it as ``local_global_bias_table``.
    """

    def __init__(self, width: int, num_heads: int, with_bias_table: bool) -> None:
        super().__init__(width, num_heads)
        if with_bias_table:
            self.local_global_bias_table = nn.Parameter(torch.empty(num_heads, 1, 2))
            nn.init.trunc_normal_(self.local_global_bias_table, std=0.02)
        else:
            self.register_parameter("local_global_bias_table", None)

    def key_bias(self, num_frame_keys: int, num_context_keys: int) -> Optional[torch.Tensor]:
        """[H, 1, N + k] additive bias: table[h,0,0] on frame keys, table[h,0,1] on context keys."""
        table = self.local_global_bias_table
        if table is None or num_context_keys == 0:
            return None
        return torch.cat(
            [table[..., :1].expand(-1, -1, num_frame_keys), table[..., 1:].expand(-1, -1, num_context_keys)],
            dim=-1,
        )

    def forward_frames(
        self,
        x: torch.Tensor,
        context: Optional[torch.Tensor],
        seed_metric: Optional[SeedMetric] = SeedMetric.CLS_ATTENTION,
    ) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """x: [B, T, N, D] normalised frame tokens; context: [B, k, D] normalised, or None.

        Returns the attention output [B, T, N, D] and the per-patch seed scores [B, T, N-1]
        (None when ``seed_metric`` is None or ``SeedMetric.ALL_PATCHES``: no scores needed).
        """
        q, k, v = self.project_qkv(x)  # [B, T, H, N, d]
        num_frame_keys = k.shape[-2]
        bias = None
        if context is not None:
            kc, vc = self.project_kv(context)  # [B, H, k, d]: shared by every frame of the video
            frames = x.shape[1]
            k = torch.cat([k, kc.unsqueeze(1).expand(-1, frames, -1, -1, -1)], dim=-2)
            v = torch.cat([v, vc.unsqueeze(1).expand(-1, frames, -1, -1, -1)], dim=-2)
            bias = self.key_bias(num_frame_keys, kc.shape[-2])
            if bias is not None:
                bias = bias.to(q.dtype)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        out = self.out_proj(merge_heads(out))

        scores = None
        metric = None if seed_metric is None else parse_option(SeedMetric, seed_metric, "seed_metric")
        if metric is SeedMetric.CLS_ATTENTION:
            probs = cls_attention_probs(q, k, bias)  # [B, T, H, N + k]
            scores = probs[..., 1:num_frame_keys].mean(dim=-2)  # patches only, averaged over heads
        elif metric is SeedMetric.KEY_NORM:
            scores = k[..., 1:num_frame_keys, :].norm(dim=-1).mean(dim=-2)
        return out, scores
