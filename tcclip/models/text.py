"""CLIP's text encoder with an exact shortcut for video-conditional prompts (spec Sec. 3).

The reference release runs the whole text encoder once per (video, class). Two facts make
that redundant: the mask is causal and the prompt vectors precede the class name, so
(1) every layer below the last is independent of the video, and (2) the prompt positions'
hidden states never depend on the class. So `encode` runs layers 0..L-2 once per class set,
the VP layer once per video, and in the last block only the EOT query of each
(video, class) pair: same values, same gradients, a fraction of the cost.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .attention import Attention, causal_mask


class TextBlock(nn.Module):
    """CLIP's residual block with causal self-attention (names as in CLIP)."""

    def __init__(self, clip_block: nn.Module) -> None:
        super().__init__()
        width = clip_block.ln_1.normalized_shape[0]
        self.ln_1 = clip_block.ln_1
        self.attn = Attention(width, clip_block.attn.num_heads)
        self.attn.in_proj_weight = clip_block.attn.in_proj_weight
        self.attn.in_proj_bias = clip_block.attn.in_proj_bias
        self.attn.out_proj = clip_block.attn.out_proj
        self.ln_2 = clip_block.ln_2
        self.mlp = clip_block.mlp

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), attn_mask=mask)
        return x + self.mlp(self.ln_2(x))


class TextEncoder(nn.Module):
    def __init__(self, clip_model: nn.Module, context_length: int = 30) -> None:
        super().__init__()
        self.token_embedding = clip_model.token_embedding
        self.positional_embedding = clip_model.positional_embedding  # (77, W), as CLIP stores it
        self.transformer = nn.Module()
        self.transformer.resblocks = nn.ModuleList(TextBlock(b) for b in clip_model.transformer.resblocks)
        self.ln_final = clip_model.ln_final
        self.text_projection = clip_model.text_projection
        self.context_length = context_length
        if context_length > self.positional_embedding.shape[0]:
            raise ValueError(f"context length {context_length} exceeds CLIP's {self.positional_embedding.shape[0]}")

    @property
    def width(self) -> int:
        return self.positional_embedding.shape[1]

    @property
    def num_heads(self) -> int:
        return self.transformer.resblocks[0].attn.num_heads

    def project(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln_final(x) @ self.text_projection

    def embed_prompts(self, ids: torch.Tensor, ctx: torch.Tensor, prompt_slice: slice) -> torch.Tensor:
        """Token embeddings with the prompt vectors in place, plus positions: [C, L, W]."""
        with torch.no_grad():  # class-name embeddings are fixed, as in the reference (buffers there)
            x = self.token_embedding(ids)
        if ctx.numel():
            x = torch.cat([x[:, : prompt_slice.start], ctx.unsqueeze(0).expand(x.shape[0], -1, -1), x[:, prompt_slice.stop :]], 1)
        return x + self.positional_embedding[: ids.shape[1]].to(x.dtype)

    def run_blocks(self, x: torch.Tensor, blocks) -> torch.Tensor:
        mask = causal_mask(x.shape[-2], x.device, x.dtype)
        for block in blocks:
            x = block(x, mask)
        return x

    def encode_static(self, ids: torch.Tensor, eot: torch.Tensor, ctx: torch.Tensor, prompt_slice: slice) -> torch.Tensor:
        """Class features [C, E] when the prompt does not depend on the video."""
        x = self.run_blocks(self.embed_prompts(ids, ctx, prompt_slice), self.transformer.resblocks)
        return self.project(x[torch.arange(x.shape[0], device=x.device), eot])

    def encode_below_last(self, ids: torch.Tensor, ctx: torch.Tensor, prompt_slice: slice) -> torch.Tensor:
        """Hidden states [C, L, W] entering the last block (shared by every video)."""
        return self.run_blocks(self.embed_prompts(ids, ctx, prompt_slice), self.transformer.resblocks[:-1])

    def encode_last_eot(
        self, hidden: torch.Tensor, eot: torch.Tensor, prompts: torch.Tensor, prompt_slice: slice
    ) -> torch.Tensor:
        """The last block for the EOT query only, with per-video prompt states: [B, C, E].

        hidden: [C, L, W] entering the last block; prompts: [B, n, W] the VP-updated prompt
        positions of each video. Keys/values of SOS and the class-name positions come from
        ``hidden``; those of the prompt positions from ``prompts``.
        """
        block = self.transformer.resblocks[-1]
        attn = block.attn
        num_classes, length, width = hidden.shape
        classes = torch.arange(num_classes, device=hidden.device)
        q = attn.project_q(block.ln_1(hidden[classes, eot]).unsqueeze(1)).squeeze(2)  # [C, H, d]
        k_cls, v_cls = attn.project_kv(block.ln_1(hidden))  # [C, H, L, d]
        k_vid, v_vid = attn.project_kv(block.ln_1(prompts))  # [B, H, n, d]
        scale = 1.0 / math.sqrt(q.shape[-1])
        logits_cls = torch.einsum("chd,chld->chl", q, k_cls) * scale
        positions = torch.arange(length, device=hidden.device)
        hidden_keys = (positions[None, :] > eot[:, None]) | (
            (positions >= prompt_slice.start) & (positions < prompt_slice.stop)
        )[None, :]  # future keys (causal) and the prompt positions (replaced per video)
        logits_cls = logits_cls.masked_fill(hidden_keys[:, None, :], float("-inf"))
        logits_vid = torch.einsum("chd,bhnd->bchn", q, k_vid) * scale
        batch = prompts.shape[0]
        logits = torch.cat([logits_cls.unsqueeze(0).expand(batch, -1, -1, -1), logits_vid], dim=-1)
        probs = logits.softmax(dim=-1)
        out = torch.einsum("bchl,chld->bchd", probs[..., :length], v_cls) + torch.einsum(
            "bchn,bhnd->bchd", probs[..., length:], v_vid
        )
        out = attn.out_proj(out.flatten(-2))  # [B, C, W]
        x = hidden[classes, eot].unsqueeze(0) + out
        x = x + block.mlp(block.ln_2(x))
        return self.project(x)
