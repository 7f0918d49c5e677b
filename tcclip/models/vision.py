"""The TC vision encoder: CLIP's ViT with Temporal Contextualization in every layer (Sec. 3.2).

Parameter names follow CLIP's (``conv1``, ``class_embedding``, ``positional_embedding``,
``ln_pre``, ``transformer.resblocks.{i}.{ln_1,attn,ln_2,mlp}``, ``ln_post``, ``proj``), so CLIP
weights copy in unchanged and the reference release's checkpoints map onto them by renaming.
With ``temporal_context=False`` every frame is encoded on its own: the ViFi-CLIP baseline.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from .attention import BiasAugmentedAttention
from .merging import MergeState, kmeans_context, merge_to_context, tube_context
from .options import Merge, PositionalEmbedding, SeedMetric, parse_option
from .seed_selection import gather_seed_tokens, select_seed_tokens


@dataclass(frozen=True)
class TCConfig:
    """The switches the paper ablates (Table 6); defaults are the released configuration."""

    temporal_context: bool = True
    num_context: int = 96  # k
    seed_ratio: float = 0.3
    seed_metric: SeedMetric = SeedMetric.CLS_ATTENTION
    merge: Merge = Merge.BIPARTITE
    merge_per_round: int = 100
    local_global_bias: bool = True
    positional_embedding: PositionalEmbedding = PositionalEmbedding.SPATIAL

    def __post_init__(self) -> None:  # strings from configs become members here, once
        for name, kind in (("seed_metric", SeedMetric), ("merge", Merge), ("positional_embedding", PositionalEmbedding)):
            object.__setattr__(self, name, parse_option(kind, getattr(self, name), name))
        if self.num_context < 1 or not 0.0 < self.seed_ratio <= 1.0 or self.merge_per_round < 1:
            raise ValueError(f"need num_context >= 1, 0 < seed_ratio <= 1 and merge_per_round >= 1; got "
                             f"{self.num_context}, {self.seed_ratio}, {self.merge_per_round}")

    @property
    def scores_seeds(self) -> Optional[SeedMetric]:
        """The metric the attention must compute for seed selection; None when no scores are needed."""
        if self.merge is Merge.TUBE or self.seed_metric is SeedMetric.ALL_PATCHES:
            return None
        return self.seed_metric


def _merge_state(seeds: torch.Tensor, cfg: TCConfig, track_sources: bool) -> MergeState:
    """Seed tokens [B, n, D] -> context tokens, by the configured method (tube is handled apart)."""
    return CONTEXT_FROM_SEEDS[cfg.merge](seeds, cfg, track_sources)


#: The aggregators of Table 6 that start from seed tokens; tube takes all patches instead.
CONTEXT_FROM_SEEDS = {
    Merge.BIPARTITE: lambda seeds, cfg, track: merge_to_context(seeds, cfg.num_context, cfg.merge_per_round, track),
    Merge.RANDOM: lambda seeds, cfg, track: merge_to_context(seeds, cfg.num_context, cfg.merge_per_round, track,
                                                             random_scores=True),
    Merge.KMEANS: lambda seeds, cfg, track: kmeans_context(seeds, cfg.num_context, track_sources=track),
    Merge.NONE: lambda seeds, cfg, track: MergeState.start(seeds, track),
}


@dataclass
class LayerDetails:
    """What one layer did, for visualisation: seed patches [B, T, a], sources [B, k, n0]."""

    seed_indices: Optional[torch.Tensor] = None
    sources: Optional[torch.Tensor] = None
    seed_scores: Optional[torch.Tensor] = None


@dataclass
class VisionOutput:
    frame_features: torch.Tensor  # [B, T, E]: ln_post + proj of each frame's [CLS]
    context_tokens: Optional[torch.Tensor]  # [B, k, E]: last layer's context tokens, projected
    patch_features: torch.Tensor  # [B, T, E]: ln_post + proj of each frame's mean patch (GAP)
    layers: list[LayerDetails] = field(default_factory=list)


class TCBlock(nn.Module):
    """One residual block: bias-augmented attention, seed selection, merging, shared FFN."""

    def __init__(self, width: int, num_heads: int, mlp: nn.Module, ln_1: nn.Module, ln_2: nn.Module, with_bias_table: bool) -> None:
        super().__init__()
        self.ln_1 = ln_1
        self.attn = BiasAugmentedAttention(width, num_heads, with_bias_table)
        self.ln_2 = ln_2
        self.mlp = mlp

    def forward(
        self,
        x: torch.Tensor,
        context: Optional[torch.Tensor],
        cfg: TCConfig,
        make_context: bool,
        track_sources: bool = False,
    ) -> tuple[torch.Tensor, Optional[torch.Tensor], LayerDetails]:
        """x: [B, T, N, D]; context: [B, k, D] or None. Returns new x, new context, details."""
        details = LayerDetails()
        metric = cfg.scores_seeds if make_context else None
        attn_out, scores = self.attn.forward_frames(self.ln_1(x), self.ln_1(context) if context is not None else None, metric)
        x = x + attn_out  # the old context tokens leave the residual stream here
        new_context = None
        if make_context:
            new_context, details = self._summarise(x, scores, cfg, track_sources)
        if new_context is None:
            return x + self.mlp(self.ln_2(x)), None, details
        batch, frames, tokens, width = x.shape
        both = torch.cat([x.reshape(batch, frames * tokens, width), new_context], dim=1)
        both = both + self.mlp(self.ln_2(both))
        x, new_context = both[:, : frames * tokens].reshape(batch, frames, tokens, width), both[:, frames * tokens :]
        return x, new_context, details

    @staticmethod
    def _summarise(x: torch.Tensor, scores: Optional[torch.Tensor], cfg: TCConfig, track_sources: bool):
        patches = x[:, :, 1:]
        if cfg.merge is Merge.TUBE:
            state = tube_context(patches, cfg.num_context, track_sources)
            return state.tokens, LayerDetails(sources=state.sources)
        if scores is None:  # no selection: every patch is a seed, in raster order
            batch, frames, num_patches, _ = patches.shape
            seed_idx = torch.arange(num_patches, device=x.device).expand(batch, frames, -1)
        else:
            seed_idx = select_seed_tokens(scores, cfg.seed_ratio)
        state = _merge_state(gather_seed_tokens(patches, seed_idx), cfg, track_sources)
        return state.tokens, LayerDetails(seed_indices=seed_idx, sources=state.sources, seed_scores=scores)


class TCVisionEncoder(nn.Module):
    """CLIP ViT applied to videos [B, T, 3, H, W] with Temporal Contextualization."""

    def __init__(self, clip_visual: nn.Module, cfg: TCConfig, num_frames: int, make_context: bool) -> None:
        """Takes CLIP's visual tower (open_clip ``VisionTransformer``) and reuses its weights.

        ``make_context`` asks for context tokens even with TC off (VP from context tokens).
        """
        super().__init__()
        self.cfg = cfg
        self.make_context = make_context or cfg.temporal_context
        self.conv1 = clip_visual.conv1
        self.class_embedding = clip_visual.class_embedding
        self.ln_pre = clip_visual.ln_pre
        self.ln_post = clip_visual.ln_post
        self.proj = clip_visual.proj
        self.patch_size = self.conv1.kernel_size[0]
        self.grid_size = tuple(clip_visual.grid_size)
        spatial = clip_visual.positional_embedding
        if cfg.positional_embedding == "joint":
            # one learnable copy of the spatial table per frame, initialised identical
            self.positional_embedding = nn.Parameter(spatial.detach().clone().unsqueeze(0).repeat(num_frames, 1, 1))
        else:
            self.positional_embedding = spatial
        blocks = []
        for i, block in enumerate(clip_visual.transformer.resblocks):
            if not isinstance(block.ls_1, nn.Identity) or not isinstance(block.ls_2, nn.Identity):
                raise ValueError("layer-scale ViTs are not supported: TC-CLIP builds on OpenAI-style CLIP ViTs")
            width = block.ln_1.normalized_shape[0]
            tc_block = TCBlock(
                width, block.attn.num_heads, block.mlp, block.ln_1, block.ln_2,
                with_bias_table=cfg.temporal_context and cfg.local_global_bias and i > 0,
            )
            tc_block.attn.in_proj_weight = block.attn.in_proj_weight
            tc_block.attn.in_proj_bias = block.attn.in_proj_bias
            tc_block.attn.out_proj = block.attn.out_proj
            blocks.append(tc_block)
        self.transformer = nn.Module()
        self.transformer.resblocks = nn.ModuleList(blocks)
        self.grad_checkpointing = False

    @property
    def num_heads(self) -> int:
        return self.transformer.resblocks[0].attn.num_heads

    def positional_table(self, frames: int, grid: tuple[int, int]) -> torch.Tensor:
        """[N, D] (spatial) or [T, N, D] (joint), resampled to the input's grid and length."""
        pos = self.positional_embedding
        if grid != self.grid_size:
            from timm.layers import resample_abs_pos_embed

            flat = pos.reshape(-1, *pos.shape[-2:])
            flat = resample_abs_pos_embed(flat, list(grid), list(self.grid_size), num_prefix_tokens=1)
            pos = flat.reshape(*pos.shape[:-2], flat.shape[-2], flat.shape[-1])
        if pos.dim() == 3 and pos.shape[0] != frames:  # joint table trained for another clip length
            pos = F.interpolate(pos.permute(1, 2, 0), size=frames, mode="linear", align_corners=True).permute(2, 0, 1)
        return pos

    def embed(self, video: torch.Tensor) -> torch.Tensor:
        """[B, T, 3, H, W] -> ln_pre(tokens) [B, T, N, D]."""
        batch, frames, channels, height, width = video.shape
        if height % self.patch_size or width % self.patch_size:
            raise ValueError(f"frame size {height}x{width} is not a multiple of the patch size {self.patch_size}")
        x = self.conv1(video.reshape(batch * frames, channels, height, width).to(self.conv1.weight.dtype))
        grid = tuple(x.shape[-2:])
        x = x.flatten(2).transpose(1, 2)  # [BT, P, D]
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1).reshape(batch, frames, -1, x.shape[-1])
        x = x + self.positional_table(frames, grid).to(x.dtype)
        return self.ln_pre(x)

    def project(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.ln_post(tokens) @ self.proj

    def forward(self, video: torch.Tensor, return_details: bool = False) -> VisionOutput:
        if video.dim() != 5:
            raise ValueError(f"expected a video batch [B, T, 3, H, W], got shape {tuple(video.shape)}")
        x = self.embed(video)
        context: Optional[torch.Tensor] = None
        layers: list[LayerDetails] = []
        last = len(self.transformer.resblocks) - 1
        for i, block in enumerate(self.transformer.resblocks):
            make_context = self.cfg.temporal_context or (self.make_context and i == last)
            attend_context = context if self.cfg.temporal_context else None
            if self.grad_checkpointing and self.training:
                x, context, details = checkpoint(
                    block, x, attend_context, self.cfg, make_context, return_details, use_reentrant=False
                )
            else:
                x, context, details = block(x, attend_context, self.cfg, make_context, return_details)
            layers.append(details)
        return VisionOutput(
            frame_features=self.project(x[:, :, 0]),
            context_tokens=self.project(context) if context is not None else None,
            patch_features=self.project(x[:, :, 1:].mean(dim=2)),
            layers=layers if return_details else [],
        )


def source_patch_map(details: LayerDetails, frames: int, num_patches: int) -> torch.Tensor:
    """Which (frame, patch) each context token summarises: [B, k, T, P] (0/1 weights).

    Maps the merge sources (over seed tokens) back through the seed indices; for temporal
    tubes the sources already index every patch.
    """
    if details.sources is None:
        raise ValueError("run the model with return_details=True to record context-token sources")
    sources = details.sources
    batch, k, _ = sources.shape
    if details.seed_indices is None:
        return sources.reshape(batch, k, frames, num_patches)
    seed_idx = details.seed_indices  # [B, T, a]
    flat = (seed_idx + torch.arange(frames, device=seed_idx.device)[:, None] * num_patches).reshape(batch, 1, -1)
    out = sources.new_zeros(batch, k, frames * num_patches)
    out.scatter_(2, flat.expand(-1, k, -1), sources)
    return out.reshape(batch, k, frames, num_patches)
